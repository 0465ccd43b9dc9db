import numpy as np
import pytest

from hepbump.spectra import DijetShape, expected_counts
from hepbump.stats import smooth_background


def exponential_counts(edges, norm, slope):
    """Exact bin integrals of norm * exp(-m / slope)."""
    return norm * slope * (np.exp(-edges[:-1] / slope) - np.exp(-edges[1:] / slope))


def test_recovers_exact_log_polynomial_on_variable_bins():
    edges = np.concatenate([np.linspace(100, 300, 21), np.linspace(320, 1000, 35)])  # variable widths
    truth = exponential_counts(edges, 500.0, 120.0)  # ln f is linear: exactly representable
    fit = smooth_background((truth, edges))
    np.testing.assert_allclose(fit.expected, truth, rtol=2e-4)
    assert fit.deviance < 1e-4
    assert fit.ndof == len(truth) - 5
    np.testing.assert_allclose(fit.density(np.array([200.0])), 500.0 * np.exp(-200.0 / 120.0), rtol=2e-3)


def test_poisson_fluctuated_fit_is_statistically_sound():
    rng = np.random.default_rng(7)
    edges = np.linspace(500.0, 2000.0, 101)
    truth = expected_counts(edges, DijetShape().unnormalised, total=1e5)
    devs = []
    for _ in range(20):
        fit = smooth_background((rng.poisson(truth).astype(float), edges))
        devs.append(fit.deviance)
    # deviance of a good fit ~ chi2(ndof = 95): the mean over 20 toys lies within ~4 sigma of 95
    assert abs(np.mean(devs) - 95) < 4 * np.sqrt(2 * 95 / 20)


def test_handles_empty_bins_in_the_tail():
    rng = np.random.default_rng(3)
    edges = np.linspace(0.0, 1000.0, 51)
    truth = exponential_counts(edges, 200.0, 60.0)
    data = rng.poisson(truth).astype(float)
    assert (data == 0).sum() > 10
    fit = smooth_background((data, edges))
    assert np.all(np.isfinite(fit.expected)) and fit.expected[0] == pytest.approx(truth[0], rel=0.1)


@pytest.mark.parametrize(
    "counts,match",
    [(np.zeros(10), "empty"), (-np.ones(10), "negative"), (np.ones(5), "too few")],
)
def test_bad_input(counts, match):
    with pytest.raises(ValueError, match=match):
        smooth_background((counts, np.arange(len(counts) + 1.0)))
