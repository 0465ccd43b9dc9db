"""ALP event simulation: physics invariants of accepted events, unweighting against a hand-integrated
acceptance, modes, the candidate cap, reproducibility, bad input, event files and the CLI."""

from __future__ import annotations

import dataclasses
import math
import warnings

import awkward as ak
import numpy as np
import pytest
from scipy.integrate import quad

from hepbump.alp.bmesons import BMesonTable, write_bmeson_table
from hepbump.alp.geometry import Geometry, get_geometry
from hepbump.alp.io import read_events, read_run_info, write_events
from hepbump.alp.priors import ALPPrior, LogUniform
from hepbump.alp.simulate import (
    EVENT_FIELDS,
    AcceptanceCapWarning,
    SimulationConfig,
    simulate,
    simulate_pairs,
    simulate_signal,
)

M_B0, M_K0 = 5.27972, 0.497611  # PDG, GeV


@pytest.fixture(scope="module")
def signal():
    return simulate("signal", 3000, seed=7, mass_gev=1.0, ctau_over_m=1.0)


def _p4(ev, prefix):
    return {c: np.asarray(ev[f"{prefix}_{c}"]) for c in ("E", "px", "py", "pz")}


def test_signal_events_satisfy_kinematics_and_selection(signal):
    ev = signal
    assert len(ev) == 3000 and list(ev.columns)[: len(EVENT_FIELDS)] == list(EVENT_FIELDS)
    assert np.all(ev["m_a"] == 1.0) and np.all(ev["ctau_over_m"] == 1.0) and np.all(ev["group"] == 0)
    g1, g2, a = _p4(ev, "g1"), _p4(ev, "g2"), _p4(ev, "a")
    # photons sum to the ALP, which has mass m_a; the pair's invariant mass is m_a
    for c in ("E", "px", "py", "pz"):
        np.testing.assert_allclose(g1[c] + g2[c], a[c], rtol=1e-8, atol=1e-8)
    m_pair = np.sqrt((g1["E"] + g2["E"]) ** 2 - sum((g1[c] + g2[c]) ** 2 for c in ("px", "py", "pz")))
    np.testing.assert_allclose(m_pair, 1.0, rtol=1e-5)
    # the ALP comes from B -> K a: its energy is below the B energy at ~ (E_B/m_B) * E*_a at most 400 GeV beam
    assert np.all(a["E"] > 1.0) and np.all(a["E"] < 400.0)
    # ordering and selection
    assert np.all(g1["E"] >= g2["E"]) and np.all(g2["E"] >= 1.0)
    assert np.all(g1["pz"] > 0) and np.all(g2["pz"] > 0) and np.all(a["pz"] > 0)
    geo = get_geometry("default")
    assert np.all(geo.in_decay_volume(ev["vtx_x"], ev["vtx_y"], ev["vtx_z"]))
    assert np.all(geo.on_calorimeter(ev["g1_x"], ev["g1_y"]) & geo.on_calorimeter(ev["g2_x"], ev["g2_y"]))
    assert np.all(np.hypot(ev["g1_x"] - ev["g2_x"], ev["g1_y"] - ev["g2_y"]) >= 0.1)
    # the vertex lies on the ALP line of flight from the target
    p = np.sqrt(a["px"] ** 2 + a["py"] ** 2 + a["pz"] ** 2)
    r = np.sqrt(ev["vtx_x"] ** 2 + ev["vtx_y"] ** 2 + ev["vtx_z"] ** 2)
    np.testing.assert_allclose(ev["vtx_x"] / r, a["px"] / p, atol=1e-12)
    np.testing.assert_allclose(ev["vtx_z"] / r, a["pz"] / p, rtol=1e-12)
    # hits: straight lines from the vertex to z = 93 m
    t = (93.0 - ev["vtx_z"]) / g2["pz"]
    np.testing.assert_allclose(ev["g2_x"], ev["vtx_x"] + t * g2["px"], rtol=1e-12, atol=1e-12)
    assert ev.stats.n_accepted == 3000 and 0.01 < ev.stats.acceptance < 0.2


def test_to_awkward_has_flat_contract_fields(signal):
    arr = signal.to_awkward()
    assert isinstance(arr, ak.Array) and len(arr) == 3000
    assert set(arr.fields) == set(EVENT_FIELDS)
    assert str(ak.type(arr.group)).endswith("int64")


@pytest.fixture(scope="module")
def b_at_rest_table(tmp_path_factory):
    """A B-meson 'table' of B0 at rest: the ALP has fixed |p*| and an isotropic direction."""
    path = tmp_path_factory.mktemp("bt") / "rest.npz"
    z = np.zeros(4)
    write_bmeson_table(BMesonTable(np.full(4, 511, np.int32), z, z, z, np.arange(4, dtype=np.int32)), {}, path)
    return path


def test_unweighting_reproduces_hand_integrated_acceptance(b_at_rest_table):
    """With an (effectively) unbounded detector and no photon cuts, the accepted fraction of candidates is
    <w> = 1/2 int_0^1 [exp(-z_f/(c lam)) - exp(-z_b/(c lam))] dc (c = cos theta of the ALP), and accepted
    events have cos theta distributed as w(c)."""
    m_a, ctau_over_m = 0.1, 15.0
    e_a = (M_B0**2 + m_a**2 - M_K0**2) / (2 * M_B0)
    lam = ctau_over_m * math.sqrt(e_a**2 - m_a**2)  # ~ 39.5 m
    huge = Geometry(name="open", front_width_x_m=1e6, front_height_y_m=1e6, back_width_x_m=1e6,
                    back_height_y_m=1e6, calorimeter_width_x_m=1e8, calorimeter_height_y_m=1e8,
                    photon_energy_min_gev=0.0, min_hit_separation_m=0.0)  # fmt: skip

    def w(c):
        return math.exp(-32.0 / (c * lam)) - math.exp(-82.0 / (c * lam)) if c > 0 else 0.0

    expected = 0.5 * quad(w, 0.0, 1.0)[0]
    mean_cos = quad(lambda c: c * w(c), 0.0, 1.0)[0] / quad(w, 0.0, 1.0)[0]
    cfg = SimulationConfig(geometry=huge, bmeson_table=str(b_at_rest_table))
    ev = simulate_signal(m_a, ctau_over_m, 20_000, seed=3, config=cfg)
    s = ev.stats
    sigma = math.sqrt(expected * (1 - expected) / s.n_candidates)
    # photons going backwards in z (about 1e-3 of the ALPs at large angles) are the only other loss
    assert abs(s.acceptance - expected) < 4 * sigma + 2e-3 * expected
    p = np.sqrt(ev["a_px"] ** 2 + ev["a_py"] ** 2 + ev["a_pz"] ** 2)
    np.testing.assert_allclose(p, math.sqrt(e_a**2 - m_a**2), rtol=1e-9)
    cos = ev["a_pz"] / p
    assert abs(cos.mean() - mean_cos) < 4 * cos.std() / math.sqrt(len(cos))


def test_background_and_prior_modes_draw_parameters_per_event():
    bkg = simulate("background", 40, seed=2)
    assert len(bkg) == 40 and np.array_equal(bkg["group"], np.arange(40))
    assert len(np.unique(bkg["m_a"])) == 40
    assert np.all((bkg["m_a"] >= 0.1) & (bkg["m_a"] <= 4.5))
    assert np.all((bkg["ctau_over_m"] >= 0.05) & (bkg["ctau_over_m"] <= 500.0))
    narrow = ALPPrior(LogUniform(0.5, 0.6), LogUniform(1.0, 2.0))
    pri = simulate("prior", 30, seed=2, config=SimulationConfig(prior=narrow))
    assert pri.run_info["mode"] == "prior" and np.all((pri["m_a"] >= 0.5) & (pri["m_a"] <= 0.6))
    # background mode uses the background prior, not the training prior
    bkg2 = simulate("background", 30, seed=2, config=SimulationConfig(prior=narrow))
    assert bkg2["m_a"].max() > 0.6 or bkg2["m_a"].min() < 0.5


def test_pairs_mode_labels_and_shared_groups():
    ev = simulate_pairs(40, seed=4, config=SimulationConfig(pairs_same_fraction=0.25))
    assert len(ev) == 80
    group, label = ev["group"], ev["pair_label"]
    assert np.array_equal(group, np.repeat(np.arange(40), 2))
    assert np.array_equal(label[0::2], label[1::2]) and label.dtype == np.int8
    assert int(label[0::2].sum()) == 10  # round(0.25 * 40)
    same = label[0::2] == 1
    assert np.array_equal(ev["m_a"][0::2][same], ev["m_a"][1::2][same])
    assert np.all(ev["ctau_over_m"][0::2][~same] != ev["ctau_over_m"][1::2][~same])
    assert not np.all(same[:10])  # labels are shuffled, not in blocks


def test_seed_reproducibility():
    a = simulate("pairs", 10, seed=9)
    b = simulate("pairs", 10, seed=9)
    c = simulate("pairs", 10, seed=10)
    for k in a.columns:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["g1_E"], c["g1_E"])
    s1 = simulate_signal(0.5, 3.0, 50, seed=1)
    s2 = simulate_signal(0.5, 3.0, 50, seed=1)
    np.testing.assert_array_equal(s1["vtx_z"], s2["vtx_z"])


def test_x_tapered_geometry_is_used():
    ev = simulate_signal(1.0, 1.0, 300, seed=5, config=SimulationConfig(geometry="x-tapered"))
    assert ev.run_info["geometry_preset"] == "x-tapered" and ev.run_info["geometry"]["front_height_y_m"] == 6.0
    xt = get_geometry("x-tapered")
    assert np.all(xt.in_decay_volume(ev["vtx_x"], ev["vtx_y"], ev["vtx_z"]))
    # With the 6 m-high calorimeter the photons rarely come from |y| beyond the default pyramid; a tall
    # calorimeter exposes the difference between the two decay volumes.
    tall = dataclasses.replace(xt, name="tall", calorimeter_height_y_m=40.0)
    ev = simulate_signal(4.0, 5.0, 2000, seed=5, config=SimulationConfig(geometry=tall))
    outside_default = ~get_geometry("default").in_decay_volume(ev["vtx_x"], ev["vtx_y"], ev["vtx_z"])
    assert outside_default.any() and np.all(np.abs(ev["vtx_y"]) <= 3.0)
    assert np.all(np.abs(ev["vtx_x"]) <= xt.half_width_x_m(ev["vtx_z"]))


def test_cap_stops_with_warning_and_reports_acceptance():
    # a heavy, very short-lived ALP: acceptance far below 1 / (50 candidates per event)
    cfg = SimulationConfig(max_candidates_per_event=50)
    with pytest.warns(AcceptanceCapWarning, match=r"acceptance .* stopped at the cap of max_candidates_per_event=50"):
        ev = simulate_signal(4.4, 0.05, 100, seed=1, config=cfg)
    assert len(ev) < 100 and ev.stats.n_points_capped == 1
    assert ev.stats.n_candidates == 50 * 100
    with pytest.warns(AcceptanceCapWarning, match="max_candidates=1000"):
        ev = simulate("background", 50, seed=1, config=SimulationConfig(max_candidates=1000))
    assert ev.stats.n_candidates <= 1000 and len(ev) < 50
    assert np.array_equal(np.unique(ev["group"]), ev["group"])  # dropped points leave gaps, no duplicates


def test_no_warning_when_complete_and_zero_events():
    with warnings.catch_warnings():
        warnings.simplefilter("error", AcceptanceCapWarning)
        ev = simulate_signal(2.0, 10.0, 0, seed=1)
    assert len(ev) == 0 and set(ev.columns) == set(EVENT_FIELDS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "signal", "mass_gev": 0.0, "ctau_over_m": 1.0}, "ALP mass 0 GeV outside"),
        ({"mode": "signal", "mass_gev": -1.0, "ctau_over_m": 1.0}, "outside"),
        ({"mode": "signal", "mass_gev": 4.79, "ctau_over_m": 1.0}, r"m_a < m_B - m_K"),
        ({"mode": "signal", "mass_gev": 1.0, "ctau_over_m": 0.0}, "c tau / m must be positive"),
        ({"mode": "signal", "mass_gev": 1.0, "ctau_over_m": -2.0}, "c tau / m must be positive"),
        ({"mode": "signal", "mass_gev": 1.0, "ctau_over_m": float("nan")}, "c tau / m must be positive"),
        ({"mode": "signal", "mass_gev": 1.0}, "signal mode needs"),
        ({"mode": "background", "mass_gev": 1.0}, "do not give a mass"),
        ({"mode": "bump"}, "unknown simulation mode 'bump'"),
    ],
)
def test_bad_parameters(kwargs, match):
    mode = kwargs.pop("mode")
    with pytest.raises(ValueError, match=match):
        simulate(mode, 10, seed=1, **kwargs)


def test_bad_configuration():
    with pytest.raises(ValueError, match="unknown geometry"):
        SimulationConfig(geometry="cylinder")
    with pytest.raises(ValueError, match="chunk_size"):
        SimulationConfig(chunk_size=0)
    with pytest.raises(ValueError, match="pairs_same_fraction"):
        SimulationConfig(pairs_same_fraction=1.5)
    with pytest.raises(ValueError, match="kinematic limit"):
        SimulationConfig(prior=ALPPrior(mass_gev=LogUniform(0.1, 4.9)))
    with pytest.raises(ValueError, match="non-negative integer"):
        simulate("background", -3, seed=1)
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        simulate_signal(1.0, 1.0, 5, seed=1, config=SimulationConfig(bmeson_table="/nowhere.npz"))


# --- event files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".root", ".parquet"])
def test_event_file_round_trip(tmp_path, suffix):
    ev = simulate("pairs", 6, seed=3)
    path = tmp_path / f"pairs{suffix}"
    write_events(path, ev)
    arr = read_events(path)
    assert len(arr) == 12 and set(arr.fields) == set(EVENT_FIELDS) | {"pair_label"}
    for k in ev.columns:
        np.testing.assert_array_equal(ak.to_numpy(arr[k]), ev[k])
    assert ak.to_numpy(arr.group).dtype == np.int64 and ak.to_numpy(arr.pair_label).dtype == np.int8
    info = read_run_info(path)
    assert info["mode"] == "pairs" and info["seed"] == 3 and info["geometry"]["calorimeter_z_m"] == 93.0
    assert info["stats"]["n_accepted"] == 12 and info["format_version"] == 1
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


def test_event_file_errors(tmp_path, signal):
    with pytest.raises(ValueError, match="unknown event-file type '.csv'"):
        write_events(tmp_path / "x.csv", signal)
    with pytest.raises(FileNotFoundError, match="missing.root"):
        read_events(tmp_path / "missing.root")
    broken = dict(signal.columns)
    del broken["g2_y"]
    with pytest.raises(KeyError, match="g2_y"):
        write_events(tmp_path / "b.root", broken)
    assert not any(tmp_path.iterdir())
    import uproot

    with uproot.recreate(tmp_path / "partial.root") as f:
        columns = {k: signal[k] for k in EVENT_FIELDS if k != "vtx_z"}
        f.mktree("alp", {k: v.dtype for k, v in columns.items()}).extend(columns)
    with pytest.raises(KeyError, match=r"partial.root: the events lack the field\(s\) vtx_z"):
        read_events(tmp_path / "partial.root")
    with pytest.raises(KeyError, match="no run record"):
        read_run_info(tmp_path / "partial.root")
    (tmp_path / "junk.root").write_bytes(b"not a root file")
    with pytest.raises(ValueError, match="junk.root"):
        read_events(tmp_path / "junk.root")


# --- command line ---------------------------------------------------------------------------------------------


def _run_cli(monkeypatch, *args):
    from hepbump.cli import main

    monkeypatch.setattr("sys.argv", ["hepbump", *args])
    try:
        main()
    except SystemExit as exc:
        return exc.code
    return 0


def test_cli_simulate_signal_and_errors(monkeypatch, tmp_path, capsys):
    out = tmp_path / "sig.root"
    code = _run_cli(monkeypatch, "alp", "simulate", "--mode", "signal", "--mass", "1.0", "--ctau-over-m", "1.0",
                    "--events", "200", "--seed", "1", "--out", str(out))  # fmt: skip
    assert code in (0, None) and len(read_events(out)) == 200
    info = read_run_info(out)
    assert info["seed"] == 1 and info["mass_gev"] == 1.0 and "alp simulate" in info["command"]
    np.testing.assert_array_equal(ak.to_numpy(read_events(out).g1_E), simulate_signal(1.0, 1.0, 200, 1)["g1_E"])
    out2 = tmp_path / "bkg.parquet"
    assert _run_cli(monkeypatch, "alp", "simulate", "--mode", "background", "--events", "20",
                    "--geometry", "x-tapered", "--out", str(out2)) in (0, None)  # fmt: skip
    assert read_run_info(out2)["geometry_preset"] == "x-tapered"
    capsys.readouterr()
    for args, msg in (
        (("--mass", "5.0", "--ctau-over-m", "1"), "outside (0, 4.78"),
        (("--mass", "1.0", "--ctau-over-m", "-1"), "c tau / m must be positive"),
        (("--mass", "1.0", "--ctau-over-m", "1", "--geometry", "round"), "unknown geometry 'round'"),
        (("--mode", "bump"), "unknown simulation mode"),
    ):
        code = _run_cli(monkeypatch, "alp", "simulate", *args, "--events", "5", "--out", str(tmp_path / "e.root"))
        assert code == 2
        assert msg in capsys.readouterr().err
    assert not (tmp_path / "e.root").exists()
    code = _run_cli(monkeypatch, "alp", "simulate", "--mass", "4.4", "--ctau-over-m", "0.05", "--events", "50",
                    "--max-candidates-per-event", "20", "--out", str(tmp_path / "cap.root"))  # fmt: skip
    err = capsys.readouterr().err
    assert code in (0, None) and "hepbump: warning: signal m_a=4.4 GeV" in err and "acceptance" in err
    assert read_run_info(tmp_path / "cap.root")["stats"]["n_points_capped"] == 1
