"""Statistics core of hepbump, used by every other part of the project.

* :func:`lr_significance`, :func:`asimov_significance`: per-bin signed LR significance (one definition);
* :func:`smooth_background`: the 4th-order log-polynomial "mother" fit (binned Poisson likelihood, iminuit);
* :func:`lr_scan`, :func:`lr_significance_known`: likelihood-ratio bump scans (the ideal test);
* :func:`pyhf_discovery`: the pyhf cross-check.

>>> import numpy as np
>>> from hepbump import stats
>>> round(float(stats.lr_significance(150, 100)), 3)
4.652
"""

from hepbump.stats.pyhf_check import DiscoveryResult, pyhf_discovery
from hepbump.stats.scan import LRScanResult, YieldFit, fit_yield_known_background, lr_scan, lr_significance_known
from hepbump.stats.significance import asimov_significance, lr_significance, p_to_z, z_from_q0, z_to_p
from hepbump.stats.smoothing import SmoothFit, smooth_background
from hepbump.stats.templates import gaussian_template, gaussian_templates, signal_widths, window_around

__all__ = [
    "DiscoveryResult",
    "LRScanResult",
    "SmoothFit",
    "YieldFit",
    "asimov_significance",
    "fit_yield_known_background",
    "gaussian_template",
    "gaussian_templates",
    "lr_scan",
    "lr_significance",
    "lr_significance_known",
    "p_to_z",
    "pyhf_discovery",
    "signal_widths",
    "smooth_background",
    "z_from_q0",
    "window_around",
    "z_to_p",
]
