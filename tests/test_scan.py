import numpy as np
import pytest
from scipy.special import ndtr

from hepbump.spectra import DijetShape, expected_counts
from hepbump.stats import gaussian_template, lr_scan, lr_significance, lr_significance_known, signal_widths


def test_single_bin_template_reduces_to_per_bin_significance():
    edges = np.arange(11.0)
    b = np.full(10, 50.0)
    n = b.copy()
    n[4] = 75.0
    g = np.zeros(10)
    g[4] = 1.0
    fit = lr_significance_known((n, edges), b, g)
    assert fit.z[0] == pytest.approx(lr_significance(75.0, 50.0), rel=1e-10)
    assert fit.signal_yield[0] == pytest.approx(25.0, rel=1e-10)
    assert fit.signal_yield_error[0] == pytest.approx(np.sqrt(75.0), rel=1e-8)  # Fisher information n / mu^2


def test_deficit_gives_negative_z_and_zero_counts_are_fine():
    edges = np.arange(4.0)
    fit = lr_significance_known((np.array([10.0, 0.0, 10.0]), edges), np.full(3, 10.0), np.array([0.0, 1.0, 0.0]))
    # yield -> -10 (expectation 0 in the middle bin): q0 = 2 * 10 exactly
    assert fit.signal_yield[0] == pytest.approx(-10.0, abs=1e-6)
    assert fit.z[0] == pytest.approx(-np.sqrt(20.0), rel=1e-6)


def test_known_background_scan_on_asimov_data():
    edges = np.linspace(0.0, 100.0, 51)
    bkg = np.full(50, 400.0)
    data = bkg + 120.0 * gaussian_template(edges, 51.0, 2.0)
    res = lr_scan((data, edges), background=bkg)
    assert res.best_position == 51.0
    assert res.signal_yield[res.best_index] == pytest.approx(120.0, rel=1e-9)
    # independent: q0 on Asimov data is 2 * sum((s+b) ln(1 + s/b) - s)
    s = data - bkg
    q0 = 2 * np.sum((s + bkg) * np.log1p(s / bkg) - s)
    assert res.max_z == pytest.approx(np.sqrt(q0), rel=1e-9)
    assert len(res.positions) == 50 and res.z.shape == (50,)


def test_fitted_background_finds_injected_bump():
    rng = np.random.default_rng(11)
    edges = np.linspace(500.0, 2000.0, 101)
    bkg = expected_counts(edges, DijetShape().unnormalised, total=1e5)
    sig = 300.0 * gaussian_template(edges, 1212.5, 15.0)
    res = lr_scan((rng.poisson(bkg + sig).astype(float), edges))
    assert abs(res.best_position - 1212.5) <= 15.0
    assert res.max_z > 5.0
    j = res.best_index
    assert abs(res.signal_yield[j] - 300.0) < 3 * res.signal_yield_error[j]
    assert res.background_fit is not None


def test_fitted_scan_agrees_with_known_background_for_large_statistics():
    # with an exactly representable background the profiled fit loses little information
    edges = np.linspace(100.0, 600.0, 61)
    bkg = 1e4 * 80.0 * (np.exp(-edges[:-1] / 80.0) - np.exp(-edges[1:] / 80.0))
    data = bkg + 200.0 * gaussian_template(edges, 304.1666666666667, 8.333333333333334)
    known = lr_scan((data, edges), background=bkg)
    fitted = lr_scan((data, edges))
    assert fitted.best_position == known.best_position
    # profiling the five log-polynomial parameters costs some sensitivity, but not much
    assert fitted.max_z == pytest.approx(known.max_z, rel=0.2)
    assert fitted.max_z <= known.max_z + 1e-6  # profiling nuisance parameters cannot add significance


def test_null_scan_has_no_large_excess():
    rng = np.random.default_rng(5)
    edges = np.linspace(500.0, 2000.0, 101)
    bkg = expected_counts(edges, DijetShape().unnormalised, total=1e5)
    zmax = [lr_scan((rng.poisson(bkg).astype(float), edges)).max_z for _ in range(4)]
    assert max(zmax) < 4.5


def test_width_as_resolution_function():
    edges = np.linspace(0.0, 100.0, 101)
    sig = signal_widths(edges, np.array([10.0, 50.0]), lambda m: 0.1 * m)
    np.testing.assert_allclose(sig, [1.0, 5.0])
    data = np.full(100, 100.0) + 500 * np.diff(ndtr((edges - 50.5) / 5.05))
    res = lr_scan((data, edges), width=lambda m: 0.1 * m, background=np.full(100, 100.0))
    assert res.best_position == 50.5
    np.testing.assert_allclose(res.sigma, 0.1 * res.positions)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"width": -1.0}, "width must be > 0"),
        ({"width": lambda m: -m}, "non-positive"),
        ({"positions": [1e6]}, "inside the histogram range"),
        ({"background": np.zeros(20)}, "background must be finite and > 0"),
        ({"background": np.ones(7)}, "shape mismatch"),
    ],
)
def test_bad_input(kwargs, match):
    edges = np.linspace(0.0, 20.0, 21)
    with pytest.raises(ValueError, match=match):
        lr_scan((np.full(20, 10.0), edges), **kwargs)


def test_negative_counts_rejected():
    with pytest.raises(ValueError, match="negative"):
        lr_scan((np.array([1.0, -1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), np.arange(8.0)))
