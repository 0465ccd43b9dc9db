"""hepbump: finding new particles in collider and beam-dump data with machine learning,
cross-checked by exact likelihood fits.

Sub-packages: :mod:`hepbump.stats` (significances, likelihood-ratio scans, pyhf cross-checks),
:mod:`hepbump.io` (ROOT and event-file I/O).
"""

from hepbump._version import __version__

__all__ = ["__version__"]
