"""Generic input and output: atomic writes, ROOT histogram files, and the one event-file layer.

* :mod:`hepbump.io.atomic`: write to a temporary file, then rename;
* :mod:`hepbump.io.rootio`: 1D histograms with their metadata in ROOT files;
* :mod:`hepbump.io.events`: event files of every pipeline (format from the suffix, checked opening, JSON records).
"""

from hepbump.io.atomic import atomic_path

__all__ = ["atomic_path"]
