"""Scan a histogram for bumps and cross-check the best candidate with pyhf.

python examples/scan_a_histogram.py
"""

import numpy as np

from hepbump import stats
from hepbump.histogram import make_hist
from hepbump.spectra import DijetShape, expected_counts

rng = np.random.default_rng(42)
edges = np.linspace(500.0, 2000.0, 101)
background = expected_counts(edges, DijetShape().unnormalised, total=1e5)
signal = 60.0 * stats.gaussian_template(edges, 1512.5, 15.0)
h = make_hist(rng.poisson(background + signal), edges, name="mjj", label="m_jj [GeV]")

scan = stats.lr_scan(h, width=1.0)
print(f"max local Z = {scan.max_z:.2f} at {scan.best_position:.1f} GeV")
template = stats.gaussian_template(edges, scan.best_position, scan.sigma[scan.best_index])
check = stats.pyhf_discovery(h, scan.background, template)
print(f"pyhf (whole histogram, background fixed to the fit): Z = {check.z:.2f}, p0 = {check.p0:.2e}")
