"""ALP kinematics and geometry against hand-computed numbers: two-body momenta, boosts, truncated exponential,
decay probability, propagation, acceptance edges, priors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepbump.alp.geometry import GEOMETRIES, Geometry, get_geometry
from hepbump.alp.kinematics import (
    decay_probability,
    lab_decay_length_m,
    propagate_to_plane,
    truncated_exponential_inverse_cdf,
)
from hepbump.alp.priors import ALPPrior, LogUniform
from hepbump.kinematics import (
    boost_to_lab,
    four_vectors,
    isotropic_directions,
    kallen_lambda,
    two_body_momentum_gev,
    two_body_rest_frame,
)

# --- two-body momentum ----------------------------------------------------------------------------------------


def test_kallen_lambda_hand_values():
    # (M^2 - (m1+m2)^2)(M^2 - (m1-m2)^2): (100 - 36)(100 - 0) = 6400; (25 - 9)(25 - 9) = 256
    assert kallen_lambda(10.0, 3.0, 3.0) == pytest.approx(6400.0)
    assert kallen_lambda(5.0, 3.0, 0.0) == pytest.approx(256.0)


@pytest.mark.parametrize(
    ("m_parent", "m1", "m2", "expected"),
    [
        (10.0, 3.0, 3.0, 4.0),  # E = 5 each, p = sqrt(25 - 9)
        (5.0, 3.0, 0.0, 1.6),  # p = (M^2 - m1^2) / (2 M) = 16 / 10
        (1.0, 0.0, 0.0, 0.5),  # massless pair: E = p = M/2
        (2.0, 1.0, 1.0, 0.0),  # at threshold
    ],
)
def test_two_body_momentum_hand_values(m_parent, m1, m2, expected):
    assert two_body_momentum_gev(m_parent, m1, m2) == pytest.approx(expected, abs=1e-12)


def test_two_body_momentum_b0_to_k0_alp():
    # B0 -> K0 a with m_a = 1 GeV (PDG masses 5.27972, 0.497611 GeV), by hand via the daughter energy:
    # E_a = (M^2 + m_a^2 - m_K^2) / (2 M) = (27.87544 + 1 - 0.24762) / 10.55944 = 2.71115; p = sqrt(E_a^2 - 1)
    assert two_body_momentum_gev(5.27972, 1.0, 0.497611) == pytest.approx(2.51994, abs=2e-5)
    # symmetric in the daughters
    assert two_body_momentum_gev(5.27972, 0.497611, 1.0) == pytest.approx(2.51994, abs=2e-5)


@pytest.mark.parametrize(("m_parent", "m1", "m2"), [(1.0, 0.6, 0.6), (5.0, -0.1, 1.0), (0.0, 0.0, 0.0)])
def test_two_body_momentum_rejects_unphysical(m_parent, m1, m2):
    with pytest.raises(ValueError):
        two_body_momentum_gev(m_parent, m1, m2)


def test_rest_frame_decay_is_back_to_back_with_right_energies():
    rng = np.random.default_rng(3)
    d1, d2 = two_body_rest_frame(10.0, 3.0, 1.0, rng, n=1000)
    # E1 = (100 + 9 - 1) / 20 = 5.4, E2 = 4.6, |p| = sqrt(5.4^2 - 9) = 4.4900
    np.testing.assert_allclose(d1.E, 5.4)
    np.testing.assert_allclose(d2.E, 4.6)
    np.testing.assert_allclose(d1.p, math.sqrt(5.4**2 - 9.0), rtol=1e-12)
    np.testing.assert_allclose(d1.mass, 3.0, rtol=1e-9)
    np.testing.assert_allclose(d2.mass, 1.0, rtol=1e-9)
    np.testing.assert_allclose((d1 + d2).px, 0.0, atol=1e-12)
    np.testing.assert_allclose((d1 + d2).pz, 0.0, atol=1e-12)


def test_isotropic_directions_moments():
    ux, uy, uz = isotropic_directions(np.random.default_rng(5), 200_000)
    np.testing.assert_allclose(ux**2 + uy**2 + uz**2, 1.0, rtol=1e-12)
    # uniform on the sphere: <u_i> = 0, <u_i^2> = 1/3 (standard errors 0.0013 and 0.0007)
    for u in (ux, uy, uz):
        assert abs(u.mean()) < 0.006
        assert abs((u * u).mean() - 1.0 / 3.0) < 0.004


# --- boosts ------------------------------------------------------------------------------------------------------


def test_boost_along_z_hand_values():
    # ALP m = 1 GeV with p_z = 0.75 GeV: E = 1.25, gamma = 1.25, beta = 0.6
    alp = four_vectors(np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.0, 0.0]), np.array([0.75] * 3), np.array([1.25] * 3))
    # photons of E = 0.5 in the rest frame: forward, backward, transverse (+x)
    rest = four_vectors(np.array([0.0, 0.0, 0.5]), np.zeros(3), np.array([0.5, -0.5, 0.0]), np.full(3, 0.5))
    lab = boost_to_lab(rest, alp)
    # E' = gamma (E + beta p_z): 1.25 * 0.8 = 1.0; 1.25 * 0.2 = 0.25; 1.25 * 0.5 = 0.625
    np.testing.assert_allclose(lab.E, [1.0, 0.25, 0.625], rtol=1e-12)
    # p_z' = gamma (p_z + beta E): 1.0; -0.25; 0.375. p_x unchanged.
    np.testing.assert_allclose(lab.pz, [1.0, -0.25, 0.375], rtol=1e-12)
    np.testing.assert_allclose(lab.px, [0.0, 0.0, 0.5], atol=1e-15)


def test_boosted_photon_pair_keeps_mass_and_conserves_four_momentum():
    rng = np.random.default_rng(11)
    n = 5000
    m_a = rng.uniform(0.1, 4.5, n)
    p = rng.uniform(1.0, 300.0, (3, n)) * rng.choice([-1.0, 1.0], (3, n))
    alp = four_vectors(p[0], p[1], p[2], np.sqrt((p**2).sum(0) + m_a**2))
    g1, g2 = two_body_rest_frame(m_a, np.zeros(n), np.zeros(n), rng)
    l1, l2 = boost_to_lab(g1, alp), boost_to_lab(g2, alp)
    pair = l1 + l2
    np.testing.assert_allclose(pair.mass, m_a, rtol=1e-6)
    np.testing.assert_allclose(pair.E, alp.E, rtol=1e-8)
    for c in ("px", "py", "pz"):
        np.testing.assert_allclose(getattr(pair, c), getattr(alp, c), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(l1.mass, 0.0, atol=1e-5 * l1.E.max())


# --- decay length, truncated exponential, decay probability ------------------------------------------------------


def test_lab_decay_length():
    # lambda = (c tau / m) |p| = 2 m/GeV * 30 GeV
    assert lab_decay_length_m(2.0, 30.0) == pytest.approx(60.0)


def test_decay_probability_hand_values():
    # lambda = 40 m between 32 m and 82 m: exp(-0.8) - exp(-2.05) = 0.449329 - 0.128735
    assert decay_probability(40.0, 32.0, 82.0) == pytest.approx(0.320594, abs=1e-6)
    # very long-lived: ~ (l_max - l_min) / lambda = 50 / 1e9
    assert decay_probability(1.0e9, 32.0, 82.0) == pytest.approx(5.0e-8, rel=1e-6)
    # very short-lived: vanishes without overflow or NaN
    assert decay_probability(0.01, 32.0, 82.0) == 0.0


def _truncated_mean(lam, a, b):
    """Mean of exp(-l/lam) on [a, b], by hand: a + lam - (b - a) e^{-(b-a)/lam} / (1 - e^{-(b-a)/lam})."""
    d = b - a
    return a + lam - d * math.exp(-d / lam) / (1.0 - math.exp(-d / lam))


@pytest.mark.parametrize("lam", [2.0, 20.0, 60.0, 500.0])
def test_truncated_exponential_mean_matches_analytic(lam):
    a, b = 32.0, 82.0
    u = (np.arange(200_000) + 0.5) / 200_000  # midpoint rule over the unit interval
    sample = truncated_exponential_inverse_cdf(u, lam, a, b)
    assert sample.min() >= a and sample.max() <= b
    assert sample.mean() == pytest.approx(_truncated_mean(lam, a, b), rel=1e-6)


def test_truncated_exponential_limits_and_cdf():
    a, b, lam = 32.0, 82.0, 20.0
    assert truncated_exponential_inverse_cdf(0.0, lam, a, b) == pytest.approx(a)
    assert truncated_exponential_inverse_cdf(1.0, lam, a, b) == pytest.approx(b)
    # the median l solves (1 - e^{-(l-a)/lam}) / (1 - e^{-(b-a)/lam}) = 1/2
    med = truncated_exponential_inverse_cdf(0.5, lam, a, b)
    assert (1 - math.exp(-(med - a) / lam)) / (1 - math.exp(-(b - a) / lam)) == pytest.approx(0.5)
    # very long-lived: uniform on [a, b]; very short-lived: piles up at a
    assert truncated_exponential_inverse_cdf(0.25, 1e12, a, b) == pytest.approx(a + 0.25 * (b - a), rel=1e-6)
    assert truncated_exponential_inverse_cdf(0.5, 1e-3, a, b) == pytest.approx(a + 1e-3 * math.log(2), rel=1e-6)


def test_propagation_to_calorimeter_plane():
    # from (0.1, -0.2, 50) along (0.03, 0.04, 1): 43 m to z = 93
    x, y = propagate_to_plane(np.array([0.1]), np.array([-0.2]), np.array([50.0]), 0.03, 0.04, 1.0, 93.0)
    assert x[0] == pytest.approx(0.1 + 43 * 0.03) and y[0] == pytest.approx(-0.2 + 43 * 0.04)


# --- geometry and acceptance edges -------------------------------------------------------------------------------


def test_decay_volume_edges_default():
    g = get_geometry("default")
    eps = 1e-6
    # faces: z = 32 and 82 are inside, just beyond is outside
    assert g.in_decay_volume(0.0, 0.0, 32.0) and not g.in_decay_volume(0.0, 0.0, 32.0 - eps)
    assert g.in_decay_volume(0.0, 0.0, 82.0) and not g.in_decay_volume(0.0, 0.0, 82.0 + eps)
    # front face 1.2 m x 3.5 m: |x| <= 0.6, |y| <= 1.75
    assert g.in_decay_volume(0.6 - eps, 1.75 - eps, 32.0)
    assert not g.in_decay_volume(0.6 + eps, 0.0, 32.0) and not g.in_decay_volume(0.0, -1.75 - eps, 32.0)
    # back face 3.9 m x 6 m: |x| <= 1.95, |y| <= 3
    assert g.in_decay_volume(-1.95 + eps, 3.0 - eps, 82.0)
    assert not g.in_decay_volume(1.95 + eps, 0.0, 82.0) and not g.in_decay_volume(0.0, 3.0 + eps, 82.0)
    # z = 42 m (t = 0.2): half-width 0.6 + 0.2 * 1.35 = 0.87, half-height 1.75 + 0.2 * 1.25 = 2.0
    assert g.in_decay_volume(0.87 - eps, 2.0 - eps, 42.0)
    assert not g.in_decay_volume(0.87 + eps, 0.0, 42.0) and not g.in_decay_volume(0.0, 2.0 + eps, 42.0)


def test_x_tapered_variant_only_tapers_x():
    g = get_geometry("x-tapered")
    eps = 1e-6
    assert g.in_decay_volume(0.0, 3.0 - eps, 32.0) and not g.in_decay_volume(0.0, 3.0 + eps, 32.0)
    assert not get_geometry("default").in_decay_volume(0.0, 3.0 - eps, 32.0)
    assert g.in_decay_volume(0.6 - eps, 0.0, 32.0) and not g.in_decay_volume(0.6 + eps, 0.0, 32.0)
    assert g.on_calorimeter(1.9, 2.9) and g.calorimeter_z_m == 93.0


def test_calorimeter_edges_and_photon_cuts():
    g = get_geometry("default")
    eps = 1e-6
    # calorimeter 4 m x 6 m centred on the axis
    assert g.on_calorimeter(2.0 - eps, 3.0 - eps) and g.on_calorimeter(-2.0, -3.0)
    assert not g.on_calorimeter(2.0 + eps, 0.0) and not g.on_calorimeter(0.0, -3.0 - eps)

    def accepted(e1=5.0, e2=5.0, pz1=1.0, pz2=1.0, hit1=(0.0, 0.0), hit2=(0.5, 0.0)):
        return bool(g.photons_accepted(e1, e2, pz1, pz2, hit1, hit2))

    assert accepted()
    assert accepted(e2=1.0 + eps) and not accepted(e2=1.0 - eps)  # E >= 1 GeV
    assert not accepted(e1=1.0 - eps)
    assert accepted(hit2=(0.1 + eps, 0.0)) and not accepted(hit2=(0.06, 0.08 - eps))  # separation >= 0.1 m
    assert accepted(hit1=(1.0, -3.0 + eps), hit2=(-2.0 + eps, 0.0))
    assert not accepted(hit1=(2.0 + eps, 0.0)) and not accepted(hit2=(0.0, 3.0 + eps))
    assert not accepted(pz2=-0.1) and not accepted(pz1=0.0)


def test_path_interval_and_geometry_errors():
    g = get_geometry("default")
    lo, hi = g.path_interval_m(np.array([10.0]), np.array([8.0]))  # cos theta = 0.8
    assert lo[0] == pytest.approx(40.0) and hi[0] == pytest.approx(102.5)
    assert set(GEOMETRIES) == {"default", "x-tapered"}
    with pytest.raises(ValueError, match="unknown geometry 'pyramid'"):
        get_geometry("pyramid")
    with pytest.raises(ValueError, match="z_front_m"):
        Geometry(z_front_m=90.0, z_back_m=82.0)
    with pytest.raises(ValueError, match="calorimeter_width_x_m"):
        Geometry(calorimeter_width_x_m=0.0)
    with pytest.raises(ValueError, match="photon_energy_min_gev"):
        Geometry(photon_energy_min_gev=-1.0)


# --- priors -------------------------------------------------------------------------------------------------------


def test_log_uniform_prior_quantiles_and_defaults():
    d = LogUniform(0.05, 500.0)
    # log-uniform: the median is the geometric mean sqrt(0.05 * 500) = 5
    assert d.quantile(0.5) == pytest.approx(5.0)
    draws = d.sample(np.random.default_rng(2), 100_000)
    assert np.all(d.contains(draws))
    assert np.mean(draws < 5.0) == pytest.approx(0.5, abs=0.005)
    prior = ALPPrior()
    assert (prior.mass_gev.low, prior.mass_gev.high) == (0.1, 4.5)
    assert (prior.ctau_over_m_m_per_gev.low, prior.ctau_over_m_m_per_gev.high) == (0.05, 500.0)
    for low, high in ((0.0, 1.0), (2.0, 1.0), (-1.0, 1.0), (1.0, math.inf)):
        with pytest.raises(ValueError, match="log-uniform"):
            LogUniform(low, high)
