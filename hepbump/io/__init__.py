"""Input and output: ROOT histograms, event files, atomic writes."""

from hepbump.io.atomic import atomic_path

__all__ = ["atomic_path"]
