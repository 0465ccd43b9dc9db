"""hepbump: finding new particles in collider and beam-dump data with machine learning,
cross-checked by exact likelihood fits.

Sub-packages: :mod:`hepbump.stats` (significances, likelihood-ratio scans, pyhf cross-checks),
:mod:`hepbump.io` (atomic writes, ROOT histograms, event files), :mod:`hepbump.darkmachines` (the Dark Machines
analysis: events -> objects and categories -> mass histograms), :mod:`hepbump.alp` (ALPs at the SHiP beam dump:
simulation, detector, features); shared pieces in :mod:`hepbump.errors`, :mod:`hepbump.rng`,
:mod:`hepbump.constants`, :mod:`hepbump.histogram` and :mod:`hepbump.kinematics`.
"""

from hepbump._version import __version__

__all__ = ["__version__"]
