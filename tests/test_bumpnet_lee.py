"""Global significance of BumpNet's Z_max: toys, brute-force p, Gross-Vitells upcrossings, importance sampling,
bad input."""

from dataclasses import asdict

import numpy as np
import pytest
import torch
from scipy.stats import norm, poisson
from torch import nn

from hepbump.bumpnet import BumpNet, ModelConfig
from hepbump.bumpnet.lee import (
    MAX_IS_RELATIVE_ERROR,
    MIN_IS_ABOVE,
    GlobalSignificance,
    count_upcrossings,
    expected_upcrossings,
    global_p_bruteforce,
    global_significance,
    gross_vitells,
    gross_vitells_from_curves,
    lag1_correlation,
    toy_z,
    toy_zmax,
)
from hepbump.bumpnet.leecal import Response, _Proposal, importance_sampling, probe_response
from hepbump.bumpnet.predict import predict
from hepbump.errors import InputError
from hepbump.spectra import DijetShape, expected_counts
from hepbump.stats import lr_significance, z_to_p

SMALL = ModelConfig(channels=4, kernel_sizes=(3, 9), layers_per_stack=2, mlp_hidden=(8,))
EDGES = np.linspace(500.0, 2000.0, 61)
BKG = expected_counts(EDGES, DijetShape().unnormalised, total=2e4)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return BumpNet(SMALL)


class Oracle(nn.Module):
    """A perfectly calibrated 'network': the LR significance of each count against a fixed known background."""

    def __init__(self, background, scale=1.0):
        super().__init__()
        self.b = torch.as_tensor(background, dtype=torch.float64)
        self.scale = scale

    def forward(self, counts, mask=None):
        return (self.scale * lr_significance(counts.double(), self.b)).float()


class Tail(nn.Module):
    """Calibrated, except that the last 8 bins amplify upward fluctuations (``Z = s + 0.2 s^2``): a heavy tail of
    ``Z_max`` from a few bins, as in the shipped network."""

    def __init__(self, background):
        super().__init__()
        self.b = torch.as_tensor(background, dtype=torch.float64)

    def forward(self, counts, mask=None):
        s = lr_significance(counts.double(), self.b)
        s[:, -8:] = s[:, -8:] + 0.2 * torch.clamp(s[:, -8:], min=0.0) ** 2
        return s.float()


class FarPair(nn.Module):
    """Every bin reports ``min(s_15, s_45)``: large only when two distant bins fluctuate up together, which the
    importance sampling's proposal (one bin, or a bin and its neighbour) does not make."""

    def __init__(self, background):
        super().__init__()
        self.b = torch.as_tensor(background, dtype=torch.float64)

    def forward(self, counts, mask=None):
        s = lr_significance(counts.double(), self.b)
        return torch.minimum(s[:, 15], s[:, 45]).unsqueeze(1).expand(-1, s.shape[1]).float()


class Fixed(nn.Module):
    """Returns the same Z curve for every histogram."""

    def __init__(self, z):
        super().__init__()
        self.z = torch.as_tensor(z, dtype=torch.float32)

    def forward(self, counts, mask=None):
        return self.z.expand(counts.shape[0], -1).clone()


# --- toys -------------------------------------------------------------------------------------------------------


def test_toys_reproducible_by_seed_and_independent_of_batch(net):
    a = toy_z(net, BKG, 37, rng=5)
    assert a.shape == (37, BKG.size) and a.dtype == np.float64
    np.testing.assert_array_equal(a, toy_z(net, BKG, 37, rng=np.random.default_rng(5)))
    # the same toys in other batches (the network's float32 sums may differ in the last digit)
    np.testing.assert_allclose(a, toy_z(net, BKG, 37, rng=5, batch=8), rtol=0, atol=1e-6)
    np.testing.assert_allclose(a, toy_z(net, BKG, 37, rng=5, batch=1), rtol=0, atol=1e-6)
    assert not np.array_equal(a, toy_z(net, BKG, 37, rng=6))
    zmax = toy_zmax(net, BKG, 37, rng=5)
    assert zmax.shape == (37,)
    np.testing.assert_array_equal(zmax, a[:, 6:].max(axis=1))  # floor(0.1 * 60) = 6 bins left out
    np.testing.assert_array_equal(toy_zmax(net, BKG, 37, rng=5, exclude_first=0.0), a.max(axis=1))


def test_toys_are_poisson_fluctuations_of_the_background(net):
    # Z of each toy equals the prediction for that toy's counts: draw the same counts by hand
    counts = np.random.default_rng(3).poisson(BKG, size=(4, BKG.size)).astype(float)
    np.testing.assert_allclose(toy_z(net, BKG, 4, rng=3), np.stack(predict(net, list(counts))), atol=1e-6)


def test_first_bins_are_excluded_from_the_maximum():
    z = np.zeros(50)
    z[:5] = 9.0  # only in the first 10%
    z[30] = 2.0
    fixed = Fixed(z)
    np.testing.assert_array_equal(toy_zmax(fixed, np.ones(50), 3), [2.0] * 3)
    np.testing.assert_array_equal(toy_zmax(fixed, np.ones(50), 3, exclude_first=0.0), [9.0] * 3)
    np.testing.assert_array_equal(toy_zmax(fixed, np.ones(50), 3, exclude_first=0.08), [9.0] * 3)  # 4 bins out
    # the upcrossing counts start at the first scanned bin too
    z[:5] = [0.0, 0.0, 9.0, 0.0, 0.0]
    curves = np.tile(z, (2, 1))
    assert count_upcrossings(curves, 1.0).tolist() == [2, 2]
    assert count_upcrossings(curves, 1.0, first=5).tolist() == [1, 1]


# --- brute force ----------------------------------------------------------------------------------------------


def test_bruteforce_p_and_binomial_error_by_hand():
    zmax = np.array([0.5, 3.2, 1.0, 4.1, 2.9, 3.0, 0.1, 5.0, 2.2, 1.7])
    p, err = global_p_bruteforce(3.0, zmax)  # 3.0 (ties count), 3.2, 4.1, 5.0
    assert p == 0.4 and err == pytest.approx(np.sqrt(0.4 * 0.6 / 10))
    p, err = global_p_bruteforce(np.array([0.0, 6.0, 4.5]), zmax)
    np.testing.assert_allclose(p, [1.0, 0.0, 0.1])
    np.testing.assert_allclose(err, [0.0, 0.0, np.sqrt(0.1 * 0.9 / 10)])


# --- Gross-Vitells ------------------------------------------------------------------------------------------------


def _cosines(n_curves, n_bins, periods, amplitude=3.0):
    i = np.arange(n_bins)
    return np.tile(-amplitude * np.cos(2 * np.pi * periods * i / n_bins), (n_curves, 1))


def test_upcrossings_of_sinusoids():
    curves = _cosines(3, 200, 4)  # starts at the minimum: 4 upcrossings of any level inside the amplitude
    for level in (-2.3, 0.1, 1.0, 2.9):
        assert count_upcrossings(curves, level).tolist() == [4, 4, 4]
    assert count_upcrossings(curves, 3.5).tolist() == [0, 0, 0]
    assert count_upcrossings(curves, 0.1, first=100).tolist() == [2, 2, 2]  # second half: 2 periods
    assert count_upcrossings(curves[0], 0.1) == 4


def test_gv_formula_on_sinusoids():
    curves = _cosines(10, 200, 4)
    for z_obs in (2.0, 3.0, 4.0):
        r = gross_vitells_from_curves(curves, z_obs, reference_level=0.5, exclude_first=0.0, rate="continuous")
        expected = z_to_p(z_obs) + 4 * np.exp(-(z_obs**2 - 0.25) / 2)
        assert r.p_global == pytest.approx(min(1.0, expected), rel=1e-12)
        assert r.n_upcrossings_ref == 4 and r.n_upcrossings_ref_error == 0 and r.error == 0
        assert np.isnan(r.lag1_correlation) and r.method == "gv" and r.n_toys == 10
    r = gross_vitells_from_curves(curves, 4.0, reference_level=0.5, exclude_first=0.5, rate="continuous")
    assert r.n_upcrossings_ref == 2
    # discrete rate: for smooth curves (rho -> 1) it becomes the continuous one; random phases, so that the
    # correlation over the toys is that of neighbouring bins, cos(2 pi 4 / 200)
    phase = np.random.default_rng(0).uniform(0, 2 * np.pi, size=(400, 1))
    curves = -3.0 * np.cos(2 * np.pi * 4 * np.arange(200) / 200 + phase)
    d = gross_vitells_from_curves(curves, 4.0, reference_level=0.5, exclude_first=0.0)
    assert d.lag1_correlation == pytest.approx(np.cos(2 * np.pi * 4 / 200), abs=1e-3)
    c = gross_vitells_from_curves(curves, 4.0, reference_level=0.5, exclude_first=0.0, rate="continuous")
    assert d.p_global == pytest.approx(c.p_global, rel=0.1)
    assert d.n_upcrossings_ref == c.n_upcrossings_ref == pytest.approx(4.0, abs=1.0)


def test_discrete_rate_by_hand():
    # independent bins: P(Z_{i-1} <= u < Z_i) = Phi(u) (1 - Phi(u))
    u, u0 = 3.5, 1.0
    ratio = norm.cdf(u) * norm.sf(u) / (norm.cdf(u0) * norm.sf(u0))
    assert expected_upcrossings(u, 7.0, u0, rho=0.0) == pytest.approx(7.0 * ratio, rel=1e-10)
    assert expected_upcrossings(u, 7.0, u0, rate="continuous") == pytest.approx(7.0 * np.exp(-(u**2 - u0**2) / 2))
    np.testing.assert_allclose(expected_upcrossings(np.array([u0, u]), 2.0, u0, rho=0.3)[0], 2.0)


@pytest.mark.parametrize("rho", [0.0, 0.6])
def test_gv_agrees_with_bruteforce_on_gaussian_sequences(rho):
    # stationary AR(1) Gaussian sequences of unit variance: GV from 200 curves vs brute force on 40000
    rng = np.random.default_rng(11)
    n, m = 40_000, 90
    e = rng.standard_normal((n, m))
    z = np.empty_like(e)
    z[:, 0] = e[:, 0]
    for i in range(1, m):
        z[:, i] = rho * z[:, i - 1] + np.sqrt(1 - rho**2) * e[:, i]
    assert lag1_correlation(z[:2000]) == pytest.approx(rho, abs=0.03)
    for u in (3.0, 3.5):  # p_global ~ 0.1 and 0.02: the bound is tight there
        p, err = global_p_bruteforce(u, z.max(axis=1))
        gv = gross_vitells_from_curves(z[:200], u, exclude_first=0.0)
        assert abs(gv.p_global - p) < 3 * np.hypot(err, gv.error) + 0.1 * p
        assert abs(gv.check_pull) < 3 and gv.reliable and gv.check_level == 2.0
    if rho == 0.0:  # the textbook continuous rate overestimates a white sequence by ~u / u0
        cont = gross_vitells_from_curves(z[:200], 3.0, exclude_first=0.0, rate="continuous")
        assert cont.p_global > 1.8 * global_p_bruteforce(3.0, z.max(axis=1))[0]


def test_gv_with_a_calibrated_network_agrees_with_toys():
    oracle = Oracle(BKG)
    zmax = toy_zmax(oracle, BKG, 20_000, rng=1)
    curves = toy_z(oracle, BKG, 200, rng=2)
    for u in (3.0, 3.5):
        p, err = global_p_bruteforce(u, zmax)
        gv = gross_vitells_from_curves(curves, u)
        assert abs(gv.p_global - p) < 3 * np.hypot(err, gv.error) + 0.1 * p
        assert gv.n_toys == 200 and gv.n_upcrossings_ref > 5
        assert gv.reliable


def test_self_check_flags_a_miscalibrated_network(caplog):
    # Z wider than N(0, 1) in the last 15 bins: few upcrossings of u0 there, many far above
    z = np.random.default_rng(2).standard_normal((300, 90))
    z[:, -15:] *= 1.5
    gv = gross_vitells_from_curves(z, 4.0, exclude_first=0.0)
    assert gv.check_pull > 3 and not gv.reliable
    assert "self-check failed" in caplog.text
    bf = global_p_bruteforce(4.0, z.max(axis=1))[0]
    assert gv.p_global < 0.5 * bf  # what the check protects against
    # a grossly miscalibrated network: GV's check fails; importance sampling ("auto") needs no calibration
    counts = np.random.default_rng(8).poisson(BKG).astype(float)
    wide = Oracle(BKG, scale=1.6)
    assert not global_significance(wide, (counts, EDGES), method="gv", rng=1).reliable
    auto = global_significance(wide, (counts, EDGES), method="auto", fallback_toys=300, rng=1)
    assert auto.method == "is" and auto.reliable
    toys = global_significance(wide, (counts, EDGES), method="toys", n_toys=4000, rng=1)
    assert abs(auto.p_global - toys.p_global) < 3 * np.hypot(auto.error, toys.error) + 0.1 * toys.p_global
    good = global_significance(Oracle(BKG), (counts, EDGES), method="gv", rng=1)
    assert good.method == "gv" and good.reliable


def test_p_global_decreases_with_z_obs(net):
    oracle = Oracle(BKG)
    curves = toy_z(oracle, BKG, 100, rng=4)
    zs = np.linspace(1.0, 7.0, 25)
    for rate in ("discrete", "continuous"):
        results = [gross_vitells_from_curves(curves, z, rate=rate) for z in zs]
        p = np.array([r.p_global for r in results])
        assert np.all(np.diff(p) <= 0) and np.all(np.diff(p[p < 1]) < 0)
        assert np.all(np.diff([r.z_global for r in results if r.p_global < 1]) > 0)
        assert all(r.p_global >= r.p_local for r in results)
        assert all(r.trials_factor >= 1 for r in results)
    # the same toys through gross_vitells
    r = gross_vitells(oracle, BKG, 3.0, n_toys=100, rng=4)
    assert r == gross_vitells_from_curves(curves, 3.0)
    # a BumpNet: reference level where its Z curves cross
    z = toy_z(net, BKG, 50, rng=0)
    u0 = float(np.median(z))
    ps = [gross_vitells(net, BKG, u0 + d, n_toys=50, reference_level=u0, rng=0).p_global for d in (0.1, 0.2, 0.4)]
    assert ps[0] >= ps[1] >= ps[2]


def test_global_significance_of_a_histogram():
    counts = np.random.default_rng(8).poisson(BKG).astype(float)
    counts[30] += round(3.5 * np.sqrt(BKG[30]))  # a local excess of ~3.5 sigma
    oracle = Oracle(BKG)
    gv = global_significance(oracle, (counts, EDGES), method="gv", rng=3)
    assert isinstance(gv, GlobalSignificance) and gv.method == "gv" and gv.n_toys == 100
    assert gv.z_local == pytest.approx(float(np.max(lr_significance(counts, BKG)[6:])), abs=1e-5)
    assert gv.p_local == pytest.approx(z_to_p(gv.z_local))
    assert gv == global_significance(oracle, (counts, EDGES), method="gv", rng=3)  # seeded
    toys = global_significance(oracle, (counts, EDGES), method="toys", n_toys=2000, rng=3)
    assert toys.method == "toys" and toys.n_toys == 2000 and toys.z_local == gv.z_local
    assert toys.error == pytest.approx(np.sqrt(toys.p_global * (1 - toys.p_global) / 2000))
    assert toys.n_above == round(toys.p_global * 2000)
    assert abs(gv.p_global - toys.p_global) < 4 * np.hypot(gv.error, toys.error) + 0.1 * toys.p_global
    # the default: importance sampling
    imp = global_significance(oracle, (counts, EDGES), rng=3)
    assert imp.method == "is" and imp.n_toys == 1200 and imp.n_probe == 270 and imp.reliable
    assert imp.z_local == gv.z_local and imp.n_above >= 10 and np.isnan(imp.n_upcrossings_ref)
    assert abs(imp.p_global - toys.p_global) < 4 * np.hypot(imp.error, toys.error) + 0.1 * toys.p_global
    np.testing.assert_equal(asdict(imp), asdict(global_significance(oracle, (counts, EDGES), rng=3)))  # seeded
    # a plain array of counts (unit bins) gives the same as equal-width edges
    assert global_significance(oracle, counts, method="gv", rng=3).p_global == pytest.approx(gv.p_global, rel=1e-3)
    assert global_significance(oracle, counts, n_toys=300, n_probe=100, rng=3).n_probe == 100


# --- importance sampling -----------------------------------------------------------------------------------------


def _oracle_zmax(net, n, seed):
    counts = np.random.default_rng(seed).poisson(BKG, size=(n, BKG.size)).astype(float)
    with torch.no_grad():
        return net(torch.from_numpy(counts)).numpy()[:, 6:].max(axis=1)


def test_proposal_weights_are_exact():
    # samples of the proposal, weighted by p / q, reproduce Poisson probabilities of one and two bins
    bins = np.arange(6, BKG.size)
    rng = np.random.default_rng(0)
    response = Response(
        bins=bins,
        offset=rng.normal(0.0, 0.3, bins.size),
        gain=rng.uniform(0.8, 1.5, bins.size),
        spread=rng.uniform(0.1, 0.7, bins.size),
        n_points=np.full(bins.size, 20),
    )
    proposal = _Proposal(BKG, response, 3.5)
    counts = proposal.sample(60_000, np.random.default_rng(1))
    w = 1.0 / proposal.ratio(counts)
    assert w.max() <= 1.0 / 0.2 + 1e-9  # the defensive share bounds the weights
    assert abs(w.mean() - 1.0) < 4 * w.std() / np.sqrt(w.size)
    b58, b59 = BKG[58], BKG[59]
    hi, lo = np.ceil(b58 + 3 * np.sqrt(b58)), np.floor(b59 - 2 * np.sqrt(b59))
    events = {
        "one bin up": (counts[:, 58] >= hi, poisson.sf(hi - 1, b58)),
        "one bin down": (counts[:, 59] <= lo, poisson.cdf(lo, b59)),
        "up next to down": (
            (counts[:, 58] >= hi) & (counts[:, 59] <= lo),
            poisson.sf(hi - 1, b58) * poisson.cdf(lo, b59),
        ),
    }
    for name, (f, exact) in events.items():
        y = w * f
        assert abs(y.mean() - exact) < 4 * y.std() / np.sqrt(y.size), name
    assert 0 < proposal.p_model < 1


def test_probe_fits_the_response():
    r = probe_response(Oracle(BKG), BKG, 3.0, rng=0)
    np.testing.assert_array_equal(r.bins, np.arange(6, BKG.size))
    assert np.all(r.n_points >= 10) and r.n_points.sum() > 270
    np.testing.assert_allclose(r.gain, 1.0, atol=0.02)
    np.testing.assert_allclose(r.offset, 0.0, atol=0.05)
    np.testing.assert_allclose(r.spread, 0.1)  # exact: at the floor
    wide = probe_response(Oracle(BKG, scale=1.6), BKG, 3.0, rng=0)
    np.testing.assert_allclose(wide.gain, 1.6, atol=0.03)
    # too few points for a line: the calibrated default
    few = probe_response(Oracle(BKG), BKG, 3.0, 10, rng=0)
    assert np.all(few.n_points < 4) and np.all(few.gain == 1.0) and np.all(few.spread == 1.0)


@pytest.mark.parametrize("kind", ["oracle", "wide", "tail"])
def test_importance_sampling_agrees_with_bruteforce(kind):
    net = {"oracle": Oracle(BKG), "wide": Oracle(BKG, scale=1.6), "tail": Tail(BKG)}[kind]
    zmax = _oracle_zmax(net, 40_000, 5)
    for u in (3.5, 4.5):
        p, err = global_p_bruteforce(u, zmax)
        r = importance_sampling(net, BKG, u, rng=6)
        assert r.method == "is" and r.n_toys == 1200 and r.n_probe == 270 and r.reliable
        assert abs(r.p_global - p) < 3 * np.hypot(err, r.error) + 0.1 * p, (u, r.p_global, p)
        assert r.z_global == pytest.approx(float(norm.isf(r.p_global)))
    if kind == "tail":  # GV's Gaussian extrapolation misses the tail of the last bins by far
        gv = gross_vitells(net, BKG, 4.5, rng=6)
        assert gv.p_global < 0.2 * global_p_bruteforce(4.5, zmax)[0]


def test_importance_sampling_on_the_shipped_network():
    net = BumpNet.pretrained()
    edges = np.linspace(500.0, 2000.0, 101)
    b = expected_counts(edges, DijetShape().unnormalised, total=1e5)
    p, err = global_p_bruteforce(3.5, toy_zmax(net, b, 3000, rng=1))
    r = importance_sampling(net, b, 3.5, rng=2)
    assert r.reliable and abs(r.p_global - p) < 3 * np.hypot(err, r.error) + 0.1 * p


def test_importance_sampling_seeded_and_flagged(caplog):
    r = importance_sampling(Oracle(BKG), BKG, 3.0, n_toys=200, n_probe=60, rng=4)
    same = importance_sampling(Oracle(BKG), BKG, 3.0, n_toys=200, n_probe=60, rng=np.random.default_rng(4))
    np.testing.assert_equal(asdict(r), asdict(same))  # (NaN fields compare equal here)
    assert r.p_global != importance_sampling(Oracle(BKG), BKG, 3.0, n_toys=200, n_probe=60, rng=5).p_global
    # a network whose excesses the proposal does not make: few toys above, not reliable; "auto" falls back
    pair = FarPair(BKG)
    r = importance_sampling(pair, BKG, 3.0, rng=0)
    assert r.n_above < MIN_IS_ABOVE and not r.reliable
    counts = np.random.default_rng(8).poisson(BKG).astype(float)
    counts[[15, 45]] += np.round(3.2 * np.sqrt(BKG[[15, 45]]))
    auto = global_significance(pair, (counts, EDGES), method="auto", fallback_toys=500, rng=1)
    assert auto.method == "toys" and auto.n_toys == 500 and auto.reliable
    assert "falling back to 500 brute-force toys" in caplog.text


def test_reliability_of_an_importance_sampling_result():
    def result(p, error, n_above):
        return GlobalSignificance(
            3.0, 1e-3, p, 2.0, error, "is", 1000, np.nan, np.nan, np.nan, np.nan, n_probe=100, n_above=n_above
        )

    assert result(0.01, 0.002, MIN_IS_ABOVE).reliable
    assert not result(0.01, 0.002, MIN_IS_ABOVE - 1).reliable
    assert result(0.01, MAX_IS_RELATIVE_ERROR * 0.01, 50).reliable
    assert not result(0.01, 0.0051, 50).reliable
    assert not result(0.0, 0.0, 50).reliable


# --- bad input --------------------------------------------------------------------------------------------------


def test_bad_input(net):
    curves = toy_z(net, BKG, 5, rng=0)
    with pytest.raises(InputError, match="1D array"):
        toy_z(net, np.ones((2, 3)), 3)
    with pytest.raises(InputError, match="finite and >= 0"):
        toy_zmax(net, np.array([1.0, -1.0, 2.0]), 3)
    with pytest.raises(InputError, match="finite and >= 0"):
        toy_z(net, np.array([1.0, np.nan]), 3)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="n_toys"):
            toy_zmax(net, BKG, bad)
    with pytest.raises(InputError, match="batch"):
        toy_z(net, BKG, 3, batch=0)
    for bad in (1.0, -0.1, "0.1"):
        with pytest.raises(InputError, match="exclude_first"):
            toy_zmax(net, BKG, 3, exclude_first=bad)
    with pytest.raises(InputError, match="rng"):
        toy_z(net, BKG, 3, rng="seed")
    with pytest.raises(InputError, match="z_obs"):
        global_p_bruteforce(np.nan, np.ones(3))
    with pytest.raises(InputError, match="zmax_toys"):
        global_p_bruteforce(1.0, np.ones((2, 2)))
    with pytest.raises(InputError, match="z_obs"):
        gross_vitells_from_curves(curves, float("inf"))
    with pytest.raises(InputError, match="reference_level"):
        gross_vitells(net, BKG, 3.0, reference_level=np.nan)
    with pytest.raises(InputError, match="rate"):
        gross_vitells_from_curves(curves, 3.0, rate="smooth")
    with pytest.raises(InputError, match="n_toys >= 2"):
        gross_vitells_from_curves(curves[:1], 3.0)
    with pytest.raises(InputError, match="at least 2 toys"):
        gross_vitells(net, BKG, 3.0, n_toys=1)
    with pytest.raises(InputError, match="no upcrossing"):
        gross_vitells_from_curves(curves, 3.0, reference_level=50.0)
    with pytest.raises(InputError, match="check_level"):
        gross_vitells_from_curves(curves, 3.0, check_level=np.nan)
    with pytest.raises(InputError, match="fallback_toys"):
        global_significance(net, BKG, method="auto", fallback_toys=0)
    with pytest.raises(InputError, match="method"):
        global_significance(net, BKG, method="asymptotic")
    with pytest.raises(InputError, match="finite and >= 0"):
        global_significance(net, np.array([1.0, -2.0, 3.0]))
    with pytest.raises(InputError, match="n_probe"):
        importance_sampling(net, BKG, 3.0, n_probe=0)
    with pytest.raises(InputError, match="n_probe"):
        global_significance(net, BKG, n_probe=-1)
    with pytest.raises(InputError, match="at least 2 toys"):
        importance_sampling(net, BKG, 3.0, n_toys=1)
    with pytest.raises(InputError, match="z_obs"):
        importance_sampling(net, BKG, np.nan)
    with pytest.raises(InputError, match="no scanned bin"):
        importance_sampling(net, np.r_[np.ones(5), np.zeros(45)], 3.0)
    with pytest.raises(InputError, match="1D array"):
        probe_response(net, np.ones((3, 3)), 3.0)
