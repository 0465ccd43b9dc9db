import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hepbump.stats import (
    asimov_significance,
    gaussian_template,
    lr_scan,
    lr_significance,
    lr_significance_known,
    pyhf_discovery,
)


@settings(max_examples=25, deadline=None)
@given(b=st.floats(0.5, 5e4), excess=st.floats(0.2, 8.0), s_scale=st.floats(0.01, 100.0))
def test_single_bin_agrees_with_lr_and_asimov(b, excess, s_scale):
    n = b + excess * np.sqrt(b)
    res = pyhf_discovery([n], [b], [s_scale])
    assert res.z == pytest.approx(lr_significance(n, b), abs=1e-3)
    assert res.z == pytest.approx(asimov_significance(n - b, b), abs=1e-3)
    # the fitted yield agrees to 1% of its statistical uncertainty sqrt(n) (pyhf minimiser precision)
    assert res.signal_yield == pytest.approx(n - b, abs=1e-2 * np.sqrt(n))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_multibin_agrees_with_known_background_lr(seed):
    rng = np.random.default_rng(seed)
    edges = np.linspace(0.0, 30.0, 31)
    bkg = rng.uniform(20.0, 500.0, 30)
    sig = gaussian_template(edges, rng.uniform(5.0, 25.0), 1.5)
    data = rng.poisson(bkg + rng.uniform(3.0, 6.0) * np.sqrt(bkg.mean()) * 3 * sig).astype(float)
    fit = lr_significance_known((data, edges), bkg, sig)
    res = pyhf_discovery(data, bkg, sig)
    assert res.z == pytest.approx(max(float(fit.z[0]), 0.0), abs=1e-3)


def test_window_matches_lr_scan_with_known_background():
    edges = np.linspace(0.0, 100.0, 51)
    bkg = np.full(50, 400.0)
    data = bkg + 150.0 * gaussian_template(edges, 51.0, 2.0)
    scan = lr_scan((data, edges), background=bkg)
    j = scan.best_index
    template = gaussian_template(edges, scan.best_position, scan.sigma[j])
    res = pyhf_discovery(data, bkg, template)
    assert res.z == pytest.approx(scan.max_z, abs=1e-3)
    assert res.signal_yield == pytest.approx(scan.signal_yield[j], rel=1e-3)
    # a window cuts some signal bins, so the window significance is a little lower but close
    windowed = pyhf_discovery(data, bkg, template, window=slice(j - 2, j + 3))
    assert scan.max_z - 0.05 < windowed.z <= scan.max_z + 1e-3


def test_deficit_gives_zero():
    res = pyhf_discovery([80.0], [100.0], [5.0])
    assert res.z == 0.0 and res.p0 == pytest.approx(0.5, abs=1e-6)
    assert res.mu_hat < 0


@pytest.mark.parametrize(
    "data,bkg,sig,match",
    [
        ([1.0, 2.0], [1.0], [1.0], "shapes differ"),
        ([1.0], [0.0], [1.0], "background must be"),
        ([-1.0], [1.0], [1.0], "data must be"),
        ([1.0], [1.0], [0.0], "signal template"),
    ],
)
def test_bad_input(data, bkg, sig, match):
    with pytest.raises(ValueError, match=match):
        pyhf_discovery(data, bkg, sig)
