"""Detector model of the ALP search: presets, smearing statistics and ranges, features, m_gg, seeds, bad input."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from hepbump.alp.detector import (
    DRAWS_PER_EVENT,
    PhotonPair,
    Resolution,
    get_resolution,
    smear,
    smearing_rng,
    truth_photons,
)
from hepbump.alp.features import FEATURE_NAMES, diphoton_mass, features
from hepbump.alp.geometry import Geometry

HALF_X, HALF_Y = 2.0, 3.0  # the paper's 4 m x 6 m calorimeter (geometry preset 'default')
FEATURE_NAMES_RAW = ("E1", "E2", "x1", "y1", "x2", "y2", "theta1", "theta2", "phi1", "phi2")


def _pair(n, **values):
    base = dict(E1=30.0, E2=10.0, x1=0.5, y1=-0.5, x2=-0.5, y2=0.5, theta1=0.3, theta2=0.2, phi1=0.5, phi2=-1.0)
    base.update(values)
    return PhotonPair(**{k: np.full(n, float(v)) for k, v in base.items()})


def _smear(pair, res, seed=0):
    return smear(pair, res, np.random.default_rng(seed))


# --- presets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("good", (0.05, 0.005, 0.005, 0.001)),
        ("poor", (0.10, 0.010, 0.010, 0.001)),
        ("good-ref", (0.01, 0.005, 0.005, 0.001)),
        ("poor-ref", (0.05, 0.010, 0.010, 0.001)),
    ],
)
def test_presets_have_the_papers_numbers(name, expected):
    res = get_resolution(name)
    assert (res.sigma_e_rel, res.sigma_theta_rad, res.sigma_phi_rad, res.sigma_hit_m) == expected
    assert res.name == name


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown resolution preset 'great'.*good, good-ref, poor, poor-ref"):
        get_resolution("great")


@pytest.mark.parametrize("field", ["sigma_e_rel", "sigma_theta_rad", "sigma_phi_rad", "sigma_hit_m"])
@pytest.mark.parametrize("bad", [-0.01, float("nan"), float("inf")])
def test_bad_resolution_values_are_rejected(field, bad):
    values = dict(sigma_e_rel=0.05, sigma_theta_rad=0.005, sigma_phi_rad=0.005, sigma_hit_m=0.001)
    values[field] = bad
    with pytest.raises(ValueError, match=field):
        Resolution(**values)


def test_custom_overrides():
    res = get_resolution("poor").with_overrides(sigma_e_rel=0.2, sigma_hit_m=None)
    assert (res.sigma_e_rel, res.sigma_theta_rad, res.name) == (0.2, 0.01, "custom")
    assert get_resolution("poor").with_overrides() is get_resolution("poor")
    with pytest.raises(ValueError, match="sigma_e_rel"):
        get_resolution("poor").with_overrides(sigma_e_rel=-1.0)


# --- smearing statistics ------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["good", "poor"])
def test_smearing_widths_match_the_preset(preset):
    n = 100_000
    res = get_resolution(preset)
    truth = _pair(n)
    m = _smear(truth, res, seed=11)
    # relative error of a sample standard deviation is 1/sqrt(2n) = 0.22 %; allow 5 of those
    tol = 5.0 / math.sqrt(2 * n)
    checks = {
        "E1": (m.E1 / 30.0 - 1.0, res.sigma_e_rel),
        "E2": (m.E2 / 10.0 - 1.0, res.sigma_e_rel),
        "theta1": (m.theta1 - 0.3, res.sigma_theta_rad),
        "theta2": (m.theta2 - 0.2, res.sigma_theta_rad),
        "phi1": (m.phi1 - 0.5, res.sigma_phi_rad),
        "phi2": (m.phi2 + 1.0, res.sigma_phi_rad),
        "x1": (m.x1 - 0.5, res.sigma_hit_m),
        "y2": (m.y2 - 0.5, res.sigma_hit_m),
    }
    for name, (delta, sigma) in checks.items():
        assert abs(np.std(delta) / sigma - 1.0) < tol, name
        assert abs(np.mean(delta)) < 5.0 * sigma / math.sqrt(n), name


def test_deviates_are_independent_between_quantities():
    m = _smear(_pair(50_000), "poor", seed=3)
    cols = np.column_stack([m.E1, m.E2, m.x1, m.y1, m.x2, m.y2, m.theta1, m.theta2, m.phi1, m.phi2])
    corr = np.corrcoef(cols, rowvar=False)
    off = corr[~np.eye(10, dtype=bool)]
    assert np.max(np.abs(off)) < 5.0 / math.sqrt(50_000)


# --- floors and ranges --------------------------------------------------------------------------------------


def test_energy_floor_at_one_gev():
    m = _smear(_pair(20_000, E1=1.05, E2=1.0), "poor", seed=5)
    assert m.E1.min() >= 1.0 and m.E2.min() >= 1.0
    # truth 1.0 GeV with 10 % resolution: half of the smeared values fall below and are floored
    floored = np.mean(np.concatenate([m.E1, m.E2]) == 1.0)
    assert 0.3 < floored < 0.75


def test_theta_kept_in_range_with_resolution_floor():
    m = _smear(_pair(20_000, theta1=1e-4, theta2=0.5 * math.pi - 1e-4), "poor", seed=6)
    assert m.theta1.min() >= 0.01  # floored at sigma_theta, never zero or negative
    assert np.mean(m.theta1 == 0.01) > 0.4  # most of a 0.1 mrad truth angle smears below 10 mrad
    assert m.theta2.max() <= 0.5 * math.pi and m.theta2.min() > 0
    assert np.all(np.isfinite(features(m)))


def test_hits_stay_inside_the_calorimeter():
    m = _smear(_pair(20_000, x1=HALF_X, y1=-HALF_Y, x2=-HALF_X + 1e-4, y2=HALF_Y), "poor", seed=7)
    for arr, half in ((m.x1, HALF_X), (m.x2, HALF_X), (m.y1, HALF_Y), (m.y2, HALF_Y)):
        assert np.all(np.abs(arr) <= half)
    assert np.mean(m.x1 == HALF_X) > 0.4 and np.mean(m.y1 == -HALF_Y) > 0.4


def test_phi_is_wrapped_not_clipped():
    n = 40_000
    m = _smear(_pair(n, phi1=math.pi - 0.002, phi2=-math.pi + 0.002), "poor", seed=8)
    for phi in (m.phi1, m.phi2):
        assert np.all(phi > -math.pi) and np.all(phi <= math.pi)
    # about P(z > 0.2) = 42 % of photon 1 cross +pi and reappear just above -pi
    wrapped = np.mean(m.phi1 < 0)
    assert abs(wrapped - 0.4207) < 0.02
    # the circular residual keeps the full Gaussian width: nothing piles up at the boundary
    residual = np.angle(np.exp(1j * (m.phi1 - (math.pi - 0.002))))
    assert abs(np.std(residual) / 0.01 - 1.0) < 0.02
    assert np.mean(np.abs(m.phi1) == math.pi) < 1e-3


def test_photons_relabelled_by_measured_energy():
    m = _smear(_pair(20_000, E1=10.2, E2=10.0), "poor", seed=9)
    assert np.all(m.E1 >= m.E2)
    # the pair swaps together with its other measurements: photon 1 keeps a consistent (x, y)
    swapped = m.x1 < 0
    assert 0.2 < swapped.mean() < 0.5
    assert np.all(m.y1[swapped] > 0) and np.all(m.y1[~swapped] < 0)


# --- features and m_gg --------------------------------------------------------------------------------------


def test_features_order_and_values_by_hand():
    values = (math.e**3, math.e, 1.5, -2.5, -0.25, 0.75, math.e**-4, math.e**-5, 3.0, -0.5)
    pair = PhotonPair(*[np.array([v]) for v in values])
    row = features(pair)[0]
    assert FEATURE_NAMES == ("ln_E1", "ln_E2", "x1", "y1", "x2", "y2", "ln_theta1", "ln_theta2", "phi1", "phi2")
    np.testing.assert_allclose(row, [3.0, 1.0, 1.5, -2.5, -0.25, 0.75, -4.0, -5.0, 3.0, -0.5], rtol=1e-12)


def test_features_reject_nonpositive_inputs():
    with pytest.raises(ValueError, match="positive"):
        features(_pair(2, theta1=0.0))


def _events_from_decay(mass, e1, e2, alpha, rotate=0.3):
    """Two massless photons with energies e1, e2 and opening angle alpha, tilted away from the beam axis."""

    def direction(theta, phi):
        return np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])

    # photon 1 at polar angle `rotate`, photon 2 in the same azimuthal plane at `rotate + alpha`
    d1, d2 = direction(rotate, 0.7), direction(rotate + alpha, 0.7)
    return ak.Array(
        {
            "g1_E": [e1],
            "g1_px": [e1 * d1[0]],
            "g1_py": [e1 * d1[1]],
            "g1_pz": [e1 * d1[2]],
            "g2_E": [e2],
            "g2_px": [e2 * d2[0]],
            "g2_py": [e2 * d2[1]],
            "g2_pz": [e2 * d2[2]],
            "g1_x": [0.1],
            "g1_y": [0.2],
            "g2_x": [-0.1],
            "g2_y": [0.3],
            "m_a": [mass],
        }
    )


def test_truth_angles_and_mass_of_hand_built_pair():
    # m = 1 GeV from E1 = 8, E2 = 2 GeV: 1 - cos(alpha) = m^2 / (2 E1 E2) = 1/32
    alpha = math.acos(1.0 - 1.0 / 32.0)
    ev = _events_from_decay(1.0, 8.0, 2.0, alpha, rotate=0.02)
    truth = truth_photons(ev)
    assert truth.theta1[0] == pytest.approx(0.02, rel=1e-12)
    assert truth.theta2[0] == pytest.approx(0.02 + alpha, rel=1e-12)
    assert truth.phi1[0] == pytest.approx(0.7, rel=1e-12)
    assert diphoton_mass(truth)[0] == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("mass, e1, e2", [(0.2, 40.0, 3.0), (4.0, 30.0, 25.0), (0.1, 150.0, 1.5)])
def test_unsmeared_mass_equals_true_mass(mass, e1, e2):
    alpha = 2.0 * math.asin(mass / (2.0 * math.sqrt(e1 * e2)))
    ev = _events_from_decay(mass, e1, e2, alpha)
    perfect = Resolution(0.0, 0.0, 0.0, 0.0)
    measured = _smear(truth_photons(ev), perfect)
    assert diphoton_mass(measured)[0] == pytest.approx(mass, rel=1e-9)


def test_smearing_broadens_the_mass():
    alpha = 2.0 * math.asin(1.0 / (2.0 * math.sqrt(20.0 * 10.0)))
    ev = _events_from_decay(1.0, 20.0, 10.0, alpha)
    truth = truth_photons(ev)
    many = PhotonPair(**{f: np.repeat(getattr(truth, f), 20_000) for f in FEATURE_NAMES_RAW})
    good = diphoton_mass(_smear(many, "good", seed=1))
    poor = diphoton_mass(_smear(many, "poor", seed=1))
    assert abs(np.median(good) - 1.0) < 0.05
    assert np.std(poor) > 1.5 * np.std(good)


# --- seeds and streams --------------------------------------------------------------------------------------


def test_same_seed_same_result_other_seed_other_result():
    truth = _pair(1000)
    a, b, c = _smear(truth, "good", 4), _smear(truth, "good", 4), _smear(truth, "good", 5)
    assert np.array_equal(features(a), features(b))
    assert not np.array_equal(features(a), features(c))


def test_counter_based_streams_do_not_depend_on_chunking():
    truth = _pair(1000, E1=20.0)
    truth = PhotonPair(**{f: getattr(truth, f) * np.linspace(1.0, 1.1, 1000) for f in FEATURE_NAMES_RAW})
    whole = features(smear(truth, "poor", smearing_rng(42, 17, 0)))
    parts = []
    for start, stop in ((0, 333), (333, 334), (334, 1000)):
        chunk = PhotonPair(**{f: getattr(truth, f)[start:stop] for f in FEATURE_NAMES_RAW})
        parts.append(features(smear(chunk, "poor", smearing_rng(42, 17, start))))
    assert np.array_equal(whole, np.concatenate(parts))
    other_stream = features(smear(truth, "poor", smearing_rng(42, 18, 0)))
    assert not np.array_equal(whole, other_stream)
    assert DRAWS_PER_EVENT % 4 == 0


# --- bad input ----------------------------------------------------------------------------------------------


def test_missing_fields_named_with_source():
    ev = _events_from_decay(1.0, 8.0, 2.0, 0.25)
    broken = ev[[f for f in ev.fields if f not in ("g2_pz", "g1_y")]]
    with pytest.raises(KeyError, match=r"run7\.root: missing field\(s\) g2_pz, g1_y"):
        truth_photons(broken, source="run7.root")


def test_bad_shapes():
    with pytest.raises(ValueError, match="E2 has 2 entries"):
        PhotonPair(*([np.ones(3), np.ones(2)] + [np.ones(3)] * 8))


def test_geometry_sets_calorimeter_and_floor():
    geo = Geometry(name="small", calorimeter_width_x_m=1.0, calorimeter_height_y_m=1.0, photon_energy_min_gev=2.0)
    m = smear(_pair(5000, x1=0.5, y1=0.5, E2=2.0), "poor", np.random.default_rng(1), geo)
    assert np.abs(m.x1).max() <= 0.5 and np.abs(m.y1).max() <= 0.5
    assert m.E2.min() == 2.0
    with pytest.raises(ValueError, match="unknown geometry"):
        smear(_pair(3), "good", np.random.default_rng(0), "round")


# --- plots --------------------------------------------------------------------------------------------------


def test_plots_write_files_and_reject_bad_input(tmp_path):
    import hist

    from hepbump.alp.features import mgg_axis
    from hepbump.alp.plots import plot_mgg, plot_photon_kinematics

    pair = _smear(_pair(500), "poor", seed=2)
    h = hist.Hist(mgg_axis(), storage=hist.storage.Weight()).fill(diphoton_mass(pair))
    plot_mgg({"array": diphoton_mass(pair), "hist": h}, tmp_path / "m.png", true_masses_gev=[1.0])
    plot_photon_kinematics({"poor": pair}, tmp_path / "k.png", styles={"poor": {"color": "k"}})
    assert (tmp_path / "m.png").stat().st_size > 0 and (tmp_path / "k.png").stat().st_size > 0
    with pytest.raises(ValueError, match="at least one sample"):
        plot_mgg({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="binning"):
        plot_mgg({"bad": hist.Hist.new.Reg(10, 0, 5).Double()}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_a_zero_uniform_gives_a_finite_deviate():
    class ZeroGenerator:
        def random(self, shape):
            return np.zeros(shape)

    m = smear(_pair(3), "poor", ZeroGenerator())
    # every deviate is the -8.3 sigma bound: E -> E (1 - 0.83), theta floored, all finite
    assert np.all(np.isfinite(features(m)))
    np.testing.assert_allclose(m.E1, 30.0 * (1.0 - 0.1 * 8.2924), rtol=1e-4)
