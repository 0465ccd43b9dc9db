"""The fast parametric DM-format generator: reproducibility, thresholds, channel cuts, line shapes, weights."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from typer.testing import CliRunner

from hepbump import constants as C
from hepbump.cli import app, main
from hepbump.darkmachines.format import read_csv
from hepbump.darkmachines.generate import DMGeneratorConfig, SignalInjection, generate, write_sample
from hepbump.darkmachines.generate.channels import CHANNELS, EventSummary, channel, summarize
from hepbump.darkmachines.generate.kinematics import FallingSpectrum, breit_wigner_mass, p4_from_pt_y_phi_m
from hepbump.darkmachines.generate.model import (
    KIND_B_SEMILEPTONIC,
    KIND_ELECTRON,
    KIND_MUON,
    KIND_NEUTRINO,
    choose_channels,
    count_final_state,
    draw_decays,
    max_charged_leptons,
    n_slots,
    top_quark,
    w_boson,
    z_boson,
)
from hepbump.darkmachines.generate.signals import SIGNALS
from hepbump.darkmachines.read import read_events, read_provenance
from hepbump.kinematics import two_body_decay


def _objects(events, *types):
    """(pt, eta, phi, E) of the objects of the given types, jagged, computed independently of the generator."""
    sel = np.zeros(0)
    o = events.objects
    sel = o["type"] == types[0]
    for t in types[1:]:
        sel = sel | (o["type"] == t)
    return o[sel]


def _mass(a, b):
    """Invariant mass of two objects given as records with E, pt, eta, phi (GeV)."""
    px = a.pt * np.cos(a.phi) + b.pt * np.cos(b.phi)
    py = a.pt * np.sin(a.phi) + b.pt * np.sin(b.phi)
    pz = a.pt * np.sinh(a.eta) + b.pt * np.sinh(b.eta)
    e = a.E + b.E
    return np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))


@pytest.fixture(scope="module")
def sample_2b():
    cfg = DMGeneratorConfig(channel="2b", n_events=1500, seed=11, signals=(SignalInjection("lq600_bmu", 1.0),))
    return generate(cfg)


# --- kinematics building blocks ---------------------------------------------------------------------------------


def test_falling_spectrum_matches_power_law_by_hand():
    s = FallingSpectrum(a=-5.0, c=0.0, b=0.0, d=0.0)  # dsigma/dpT ~ pT^-5  ->  sigma(> x) ~ x^-4
    assert s.fraction_above(300.0, reference=150.0) == pytest.approx(2.0**-4, rel=1e-3)
    x = s.sample(np.random.default_rng(1), 200_000, pt_min=150.0)
    assert x.min() >= 150.0
    assert np.mean(x > 300.0) == pytest.approx(1 / 16, abs=0.003)


def test_breit_wigner_and_two_body_decay():
    rng = np.random.default_rng(2)
    m = breit_wigner_mass(rng, 200_000, C.M_Z_GEV, C.GAMMA_Z_GEV)
    assert np.median(m) == pytest.approx(C.M_Z_GEV, abs=0.03)
    # half of a Breit-Wigner lies within +- Gamma/2 of the peak
    assert np.mean(np.abs(m - C.M_Z_GEV) < C.GAMMA_Z_GEV / 2) == pytest.approx(0.5, abs=0.02)
    parent = p4_from_pt_y_phi_m(np.full(5, 300.0), np.linspace(-2, 2, 5), np.zeros(5), np.full(5, 172.5))
    d1, d2 = two_body_decay(parent, np.full(5, 4.78), np.full(5, 80.4), rng)
    np.testing.assert_allclose((d1 + d2).mass, 172.5, rtol=1e-9)
    np.testing.assert_allclose(d1.mass, 4.78, rtol=1e-6)
    np.testing.assert_allclose((d1 + d2).pt, 300.0, rtol=1e-9)


def test_decay_tree_lepton_counting():
    rng = np.random.default_rng(3)
    z = z_boson(("ee",))
    choices: dict = {}
    choose_channels(z, "Z", 10, rng, choices)
    assert count_final_state(z, "Z", choices, 10, (KIND_ELECTRON,)).tolist() == [2] * 10
    assert max_charged_leptons(top_quark()) == 1 and max_charged_leptons(z_boson()) == 2
    assert n_slots(w_boson()) == 3  # W -> tau nu -> (e/mu/tau jet) nu nu
    w = w_boson(("munu",))
    choose_channels(w, "W", 4, rng, choices)
    assert count_final_state(w, "W", choices, 4, (KIND_MUON, KIND_NEUTRINO)).tolist() == [2] * 4


def test_count_final_state_by_hand():
    # t -> b W, W -> tau nu, tau -> mu nu: choices set by hand (channel and kind indices)
    top = top_quark()
    choices = {
        "t": np.zeros(3, np.int8),
        "t/0.0": np.array([0, 1, 0], np.int8),
        "t/0.1": np.array([1, 2, 3], np.int8),
        "t/0.1/2.0": np.array([1, 1, 2], np.int8),
    }
    # W channels enu, munu, taunu, qq; tau channels e nu, mu nu, tau_h nu; b kinds b, b semileptonic
    assert count_final_state(top, "t", choices, 3, (KIND_MUON,)).tolist() == [1, 1, 0]
    assert count_final_state(top, "t", choices, 3, (KIND_NEUTRINO, KIND_B_SEMILEPTONIC)).tolist() == [1, 3, 0]


def test_count_table_agrees_with_the_tree_for_every_process():
    # The lookup-table count and the count down the decay tree agree on every SM and signal tree, for all kinds.
    from hepbump.darkmachines.generate.model import _count_by_recursion
    from hepbump.darkmachines.generate.processes import SM_PROCESSES

    trees = {leg for p in SM_PROCESSES for leg in p.legs + tuple(x.particle for x in p.extras)}
    trees |= {leg for s in SIGNALS.values() for leg in s.process.legs}
    rng = np.random.default_rng(2)
    for kinds in ((KIND_ELECTRON, KIND_MUON), (KIND_NEUTRINO, KIND_B_SEMILEPTONIC), (0, 1, 7, 8)):
        for tree in trees:
            choices: dict = {}
            choose_channels(tree, "X", 500, rng, choices)
            expected = _count_by_recursion(tree, "X", choices, 500, kinds)
            assert np.array_equal(count_final_state(tree, "X", choices, 500, kinds), expected), tree.name


def test_draw_decays_keeps_exactly_the_events_with_enough_leptons():
    # W Z (all decays) drawn without and with the requirement of 3 charged leptons: the kept events are those
    # (and only those) with >= 3, at the rate and with the W flavour mixture of the unbiased draw.
    nodes = [("W", w_boson()), ("Z", z_boson())]
    n = 200_000
    full, rows, everything = draw_decays(nodes, n, np.random.default_rng(5))
    assert rows == n and everything.size == n
    n_lep = sum(count_final_state(p, path, full, n, (KIND_ELECTRON, KIND_MUON)) for path, p in nodes)
    choices, rows, kept = draw_decays(nodes, n, np.random.default_rng(6), min_leptons=3)
    n_kept = sum(count_final_state(p, path, choices, rows, (KIND_ELECTRON, KIND_MUON)) for path, p in nodes)
    assert rows < n / 5  # the first choices (W -> l nu, Z -> ll) already decide for most events
    assert np.all(n_kept[kept] >= 3) and np.sum(n_kept >= 3) == kept.size
    expected = np.mean(n_lep >= 3)
    assert 0.005 < expected < 0.05
    assert abs(kept.size / n - expected) < 5 * np.sqrt(expected / n)
    tau_w_full = np.mean(full["W"][n_lep >= 3] == 2)  # W -> tau nu among the selected events
    tau_w_kept = np.mean(choices["W"][kept] == 2)
    assert abs(tau_w_full - tau_w_kept) < 0.03


# --- channels -------------------------------------------------------------------------------------------------


def test_channel_definitions_by_hand():
    s = EventSummary(
        ht=np.array([700.0, 700.0, 700.0, 100.0, 40.0]),
        met=np.array([250.0, 120.0, 250.0, 60.0, 60.0]),
        n_leptons=np.array([0, 0, 0, 2, 3]),
        n_jets_ch1=np.array([4, 4, 3, 0, 0]),
        leading_jet_pt=np.array([250.0, 250.0, 250.0, 60.0, 40.0]),
    )
    assert CHANNELS["1"].passes(s).tolist() == [True, False, False, False, False]  # MET/HT 0.36 ok; 120 < 200
    assert CHANNELS["3"].passes(s).tolist() == [True, True, True, False, False]
    assert CHANNELS["2b"].passes(s).tolist() == [False, False, False, True, False]  # HT 40 < 50
    assert CHANNELS["2a"].passes(s).tolist() == [False, False, False, False, True]
    assert CHANNELS["none"].passes(s).all()
    with pytest.raises(ValueError, match="unknown Dark Machines channel '4'"):
        channel("4")


# --- generated samples ------------------------------------------------------------------------------------------


def test_reproducible_by_seed(tmp_path):
    cfg = DMGeneratorConfig(channel="2b", n_events=300, seed=5, signals=(SignalInjection("zp50_3mu", 2.0),))
    write_sample(cfg, tmp_path / "a.csv")
    write_sample(cfg, tmp_path / "b.csv")
    write_sample(DMGeneratorConfig(channel="2b", n_events=300, seed=6), tmp_path / "c.csv")
    a, b, c = ((tmp_path / f"{x}.csv").read_bytes() for x in "abc")
    assert a == b and a != c
    assert a.count(b"\n") >= 300


def test_thresholds_hold_on_generated_events(tmp_path):
    write_sample(
        DMGeneratorConfig(channel="none", n_events=3000, seed=8, processes=("ttbar", "z_jets", "gam_jets")),
        tmp_path / "none.csv",
    )
    ev = read_csv(tmp_path / "none.csv")  # through the real format
    assert ak.max(ak.num(ev.objects)) <= C.DM_MAX_OBJECTS
    for types, pt_min, eta_max in (
        (("j", "b"), C.DM_JET_PT_MIN_GEV, C.DM_JET_ABS_ETA_MAX),
        (("e-", "e+"), C.DM_ELECTRON_PT_MIN_GEV, C.DM_ELECTRON_ABS_ETA_MAX),
        (("m-", "m+"), C.DM_MUON_PT_MIN_GEV, C.DM_MUON_ABS_ETA_MAX),
        (("g",), C.DM_PHOTON_PT_MIN_GEV, C.DM_PHOTON_ABS_ETA_MAX),
    ):
        obj = ak.flatten(_objects(ev, *types))
        assert len(obj) > 0, types
        assert ak.min(obj.pt) > pt_min - 1e-3 and ak.max(abs(obj.eta)) < eta_max + 1e-5, types
    o = ak.flatten(ev.objects)
    assert ak.all(o.E >= o.pt * np.cosh(o.eta) * (1 - 1e-5))  # E >= |p|: non-negative masses
    b_jets = ak.sum(ev.objects["type"] == "b")
    assert 0 < b_jets < ak.sum(ev.objects["type"] == "j")


@pytest.mark.parametrize("name,n", [("2a", 150), ("2b", 400), ("3", 150)])
def test_channel_selection_holds(name, n):
    ev, prov = generate(DMGeneratorConfig(channel=name, n_events=n, seed=9))
    o = ev.objects
    jets = o[(o["type"] == "j") | (o["type"] == "b")]
    ht = ak.to_numpy(ak.sum(jets.pt, axis=1))
    n_lep = ak.to_numpy(
        ak.sum((o["type"] == "e-") | (o["type"] == "e+") | (o["type"] == "m-") | (o["type"] == "m+"), axis=1)
    )
    met = ak.to_numpy(ev.MET)
    ch = CHANNELS[name]
    assert np.all(ht >= ch.ht_min) and np.all(met >= ch.met_min) and np.all(n_lep >= ch.n_leptons_min)
    assert len(ev) == n and prov["luminosity_pb"] > 0
    # the selection sculpts: just above the thresholds there are events
    if ch.met_min:
        assert np.min(met) < 1.5 * ch.met_min


@pytest.mark.slow
def test_channel_1_selection_holds():
    ev, _ = generate(DMGeneratorConfig(channel="1", n_events=60, seed=9))
    s = summarize(ev)
    assert np.all(s.ht >= 600) and np.all(s.met >= 200) and np.all(s.met >= 0.2 * s.ht)
    assert np.all(s.n_jets_ch1 >= 4) and np.all(s.leading_jet_pt >= 200)


def test_lepton_channels_have_no_multijet_or_w_jets(sample_2b):
    ev, prov = sample_2b
    assert set(prov["processes"]).isdisjoint({"njets", "w_jets", "gam_jets"})
    assert {"ttbar", "z_jets/ll"} <= set(prov["processes"])
    assert set(ev.process.tolist()) <= {
        "ttbar",
        "z_jets",
        "wtop",
        "ww",
        "zw",
        "zz",
        "Zgam",
        "ttbarGam",
        "ttbarZ",
        "ttbarW",
        "lq600_bmu",
    }


def test_weights_luminosity_and_signal_injection(sample_2b):
    ev, prov = sample_2b
    assert np.all(ak.to_numpy(ev.weight) == 1.0)
    n_sm = int(ak.sum(ev.process != "lq600_bmu"))
    assert n_sm == 1500 and prov["n_events"] == len(ev)
    lumi = prov["luminosity_pb"]
    # L = generated SM events / generated cross section (the last batch thinned to the requested count)
    n_gen = sum(p["n_generated"] for p in prov["processes"].values())
    sigma = sum(p["sigma_generated_pb"] for p in prov["processes"].values())
    assert lumi <= n_gen / sigma * (1 + 1e-9)
    sig = prov["signals"]["lq600_bmu"]
    expected = SIGNALS["lq600_bmu"].sigma_ref_pb * lumi
    assert abs(sig["n_generated"] - expected) < 5 * np.sqrt(expected) + 5
    assert sig["n_selected"] == int(ak.sum(ev.process == "lq600_bmu")) > 0
    assert sig["n_selected"] <= sig["n_generated"]


def test_signal_only_weights_are_sigma_over_n():
    ev, prov = generate(
        DMGeneratorConfig(
            channel="2b", n_events=2000, background=False, seed=3, signals=(SignalInjection("lq600_be", 0.5),)
        )
    )
    assert prov["luminosity_pb"] is None
    np.testing.assert_allclose(ak.to_numpy(ev.weight), 0.5 * 0.16 / 2000)
    assert set(ev.process.tolist()) == {"lq600_be"}


def test_z_peak_in_z_jets():
    ev, _ = generate(DMGeneratorConfig(channel="none", n_events=6000, processes=("z_jets",), seed=12))
    masses = []
    for neg, pos in (("e-", "e+"), ("m-", "m+")):
        a, b = _objects(ev, neg), _objects(ev, pos)
        ok = (ak.num(a) == 1) & (ak.num(b) == 1)
        masses.append(ak.to_numpy(_mass(a[ok][:, 0], b[ok][:, 0])))
    m = np.concatenate(masses)
    assert m.size > 500
    core = m[np.abs(m - 91.19) < 10]
    assert np.median(core) == pytest.approx(91.19, abs=0.5)
    counts, edges = np.histogram(m, bins=np.arange(61.0, 121.0, 2.0))
    assert 89.0 <= edges[np.argmax(counts)] <= 91.0
    assert np.all(ev.process == "z_jets")


def test_leptoquark_b_muon_mass_peaks_at_600():
    ev, _ = generate(
        DMGeneratorConfig(
            channel="2b", n_events=3000, background=False, seed=21, signals=(SignalInjection("lq600_bmu", 1.0),)
        )
    )
    b, mu = _objects(ev, "b"), _objects(ev, "m-", "m+")
    ok = (ak.num(b) >= 2) & (ak.num(mu) >= 2)
    b, mu = b[ok], mu[ok]
    # pairing with the smaller mass difference of the two b-mu pairs
    m11, m22 = _mass(b[:, 0], mu[:, 0]), _mass(b[:, 1], mu[:, 1])
    m12, m21 = _mass(b[:, 0], mu[:, 1]), _mass(b[:, 1], mu[:, 0])
    straight = abs(m11 - m22) < abs(m12 - m21)
    m = np.concatenate([ak.to_numpy(ak.where(straight, m11, m12)), ak.to_numpy(ak.where(straight, m22, m21))])
    assert m.size > 300
    counts, edges = np.histogram(m, bins=np.arange(300.0, 900.0, 25.0))
    assert 550.0 <= edges[np.argmax(counts)] + 12.5 <= 650.0
    assert np.median(m[np.abs(m - 600) < 150]) == pytest.approx(600.0, abs=20.0)
    # the two leptons of a pair come with opposite charges
    assert ak.all(ak.sum(mu.charge[:, :2], axis=1) == 0)


def test_merging_of_hadronic_decays_by_hand():
    # four events, a W along x (pT 500 GeV) and two decay products at given (eta, phi) from the W direction:
    # 0: two quarks close -> one massive jet; 1: one quark at Delta R = 0.5 -> kept apart; 2: a lepton close ->
    # kept apart; 3: second product absent (padding), the first close -> merged.
    from hepbump.darkmachines.generate.model import KIND_B, KIND_LIGHT, Slot, _merge, w_boson
    from hepbump.kinematics import four_vectors

    r = C.DM_GEN_JET_RADIUS
    parent = p4_from_pt_y_phi_m(np.full(4, 500.0), np.zeros(4), np.zeros(4), np.full(4, 80.4))

    def slot(phi, kind, valid):
        v = p4_from_pt_y_phi_m(np.full(4, 250.0), np.zeros(4), np.asarray(phi), np.zeros(4))
        s = Slot.from_p4(v, np.asarray(kind, np.int8), np.zeros(4, np.int8))
        s.valid = np.asarray(valid)
        return s

    q1 = slot([0.1 * r, 0.1 * r, 0.1 * r, 0.1 * r], [KIND_LIGHT] * 4, [True] * 4)
    q2 = slot(
        [-0.1 * r, 0.5 + r, -0.1 * r, 0.0], [KIND_B, KIND_LIGHT, KIND_ELECTRON, KIND_LIGHT], [True, True, True, False]
    )
    _merge(w_boson(), parent, [q1, q2])
    assert q1.merged_mass[[0, 3]] == pytest.approx([80.4, 80.4])
    assert np.isnan(q1.merged_mass[[1, 2]]).all()
    assert q2.valid.tolist() == [False, True, True, False]
    merged_p4 = four_vectors(q1.px, q1.py, q1.pz, q1.energy)
    assert np.asarray(merged_p4.mass)[[0, 3]] == pytest.approx([80.4, 80.4], rel=1e-6)
    assert np.asarray(merged_p4.pt)[1] == pytest.approx(250.0)  # unmerged quark unchanged


def test_boosted_jets_occur_at_a_small_rate():
    ev, _ = generate(DMGeneratorConfig(channel="3", n_events=300, seed=4))
    j = ak.flatten(_objects(ev, "j", "b"))
    m = ak.to_numpy(np.sqrt(np.maximum(j.E**2 - (j.pt * np.cosh(j.eta)) ** 2, 0.0)))
    frac_vh = np.mean((m > 60) & (m < 110))
    assert 0.002 < frac_vh < 0.15
    assert np.mean(m < 60) > 0.8


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"channel": "4"}, "unknown Dark Machines channel"),
        ({"n_events": -1}, r"number of events \(--events\) must be a positive integer"),
        ({"n_events": 0}, r"number of events \(--events\) must be a positive integer"),
        ({"n_events": 10, "luminosity_pb": 5.0}, "exactly one of n_events and luminosity_pb"),
        ({"processes": ("nope",)}, "unknown SM process 'nope'"),
        ({"background": False}, "signal-only sample"),
        ({"batch_size": 0}, "batch_size must be positive"),
    ],
)
def test_bad_configuration(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DMGeneratorConfig(**kwargs)


@pytest.mark.parametrize(
    "spec,message",
    [
        ("lq700_bmu:1", "unknown signal benchmark 'lq700_bmu'"),
        ("lq600_bmu:abc", "is not a number"),
        ("lq600_bmu:-1", "strength must be a finite number >= 0"),
    ],
)
def test_bad_signal_spec(spec, message):
    with pytest.raises(ValueError, match=message):
        SignalInjection.parse(spec)


def test_luminosity_mode_and_root_output(tmp_path):
    prov = write_sample(
        DMGeneratorConfig(channel="2b", n_events=None, luminosity_pb=200.0, seed=1), tmp_path / "s.root"
    )
    flat = read_events(tmp_path / "s.root")
    assert len(flat) == prov["n_events"] > 0
    assert read_provenance(tmp_path / "s.root")["luminosity_pb"] == pytest.approx(200.0, rel=0.02)
    assert np.all(ak.to_numpy(flat.nElectron + flat.nMuon) >= 2)


runner = CliRunner()


def test_cli_generate_dm(tmp_path):
    out = tmp_path / "dm_2b.csv"
    r = runner.invoke(
        app,
        [
            "dm",
            "generate",
            "--channel",
            "2b",
            "--events",
            "300",
            "--signal",
            "lq600_bmu:0.5",
            "--seed",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "channel 2b" in r.output and "lq600_bmu" in r.output
    prov = read_provenance(out)
    assert prov["seed"] == 1 and prov["signals"]["lq600_bmu"]["strength"] == 0.5
    assert len(read_csv(out)) == prov["n_events"]


def test_cli_generate_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        "sys.argv", ["hepbump", "dm", "generate", "--signal", "nope:1", "--out", str(tmp_path / "x.csv")]
    )
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unknown signal benchmark 'nope'" in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()
