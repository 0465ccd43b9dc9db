"""Combinations, binning, trimming, selection, filling and assembly of the DM mass histograms."""

import math
import pickle

import numpy as np
import pytest
from coffea.processor import accumulate

from _dm_flat import flat_events, random_flat_events
from hepbump.darkmachines.categories import Category, CellGrid, classify_events
from hepbump.darkmachines.fill import SparseStore, fill_chunk
from hepbump.darkmachines.histograms import HistogramConfig, assemble
from hepbump.darkmachines.massbins import Combination, combinations_for, passes_selection, trim_after_maximum
from hepbump.darkmachines.objects import build_objects

PI = math.pi


def test_trim_after_maximum_hand_case():
    counts = [1, 5, 3, 5, 0, 2, 0, 0]
    c, v, e = trim_after_maximum(counts, np.array(counts) * 2.0, np.arange(9.0))
    assert c.tolist() == [5, 3, 5, 0, 2]  # from the first maximum to the last filled bin
    assert v.tolist() == [10, 6, 10, 0, 4]
    assert e.tolist() == [1, 2, 3, 4, 5, 6]
    c, v, e = trim_after_maximum([0, 0], [0, 0], [0, 1, 2])
    assert c.size == 0 and e.tolist() == [0.0]


def test_selection_rule():
    hundred = np.array([4.0] * 25 + [0.0] * 6)  # 100 events in 31 bins
    assert passes_selection(hundred, hundred)
    hundred[0] = 3.0
    assert not passes_selection(hundred, hundred)
    assert not passes_selection(np.full(30, 10.0), np.full(30, 10.0))  # 30 bins is not > 30
    # weighted: 300 in sum of weights but n_eff = 300^2 / 3000 = 30
    assert not passes_selection(np.full(40, 7.5), np.full(40, 75.0))


def test_combination_names_round_trip():
    for name in ["mu0_b0", "e0_j0_j1_MET", "mu0_mu1_m106up", "e1_e2_m10to76", "Z0_Vh0_top0_HM0_gamma0_lj1"]:
        assert Combination.from_name(name).name == name
    with pytest.raises(ValueError, match="invalid object label 'tau0'"):
        Combination.from_name("tau0_mu0")
    with pytest.raises(ValueError, match="at least two distinct objects"):
        Combination.from_name("mu0")
    with pytest.raises(ValueError, match="same-flavour dilepton"):
        Combination.from_name("e0_mu0_m106up")


def test_combinations_for_categories():
    names = [c.name for c in combinations_for(Category.from_key("2mu_OS"), False, max_jets=1)]
    assert names == [
        "mu0_mu1_m10to76",
        "mu0_mu1_m106up",
        "mu0_mu1_MET",
        "mu0_j0",
        "mu0_j0_MET",
        "mu1_j0",
        "mu1_j0_MET",
        "mu0_mu1_j0",
        "mu0_mu1_j0_MET",
    ]
    ss = [c.name for c in combinations_for(Category.from_key("2mu_SS"), False, max_jets=0)]
    assert ss == ["mu0_mu1", "mu0_mu1_MET"]
    three = [c.name for c in combinations_for(Category.from_key("3e"), False, max_jets=0)]
    assert three[:4] == ["e0_e1", "e0_e1_m10to76", "e0_e1_m106up", "e0_e1_MET"]
    flav = combinations_for(Category.from_key("1e"), True, flavour_jets=1)
    assert [c.name for c in flav][:4] == ["e0_b0", "e0_b0_MET", "e0_lj0", "e0_lj0_MET"]
    assert all(c.is_flavour_aware for c in flav)
    # 4 jets + 2 leptons, up to 6 objects: 2^6 - 1 - 6 = 57 subsets, one of them split in two, each with MET
    assert len(combinations_for(Category.from_key("1e_1mu_OS"), False)) == 57 * 2


def test_edges_of_met_and_low_range():
    cat = Category.from_key("2mu_OS")
    met = Combination.from_name("mu0_mu1_MET").edges(cat)
    # sigma^2 = 2 s_mu^2 (the pair) + 2 s_mu^2 (MET from the two muons of the category), s_mu at pT = 5 GeV
    s_mu = 5.0 * math.sqrt(1e-4 + (5e-4) ** 2)
    assert met[1] - met[0] == pytest.approx(0.5 * 2 * s_mu, rel=1e-6)
    low = Combination.from_name("mu0_mu1_m10to76").edges(cat)
    high = Combination.from_name("mu0_mu1_m106up").edges(cat)
    assert (low[0], low[-1], high[0]) == (10.0, 76.0, 106.0)


def _fill(events, grid=None, process=None, names=()):
    objects = build_objects(events)
    classes = classify_events(objects, grid)
    return fill_chunk(objects, classes, process, names, grid)


def _dimuon_events(masses, charges=(+1, -1), jets=()):
    """Back-to-back central muons with the given pair masses (massless approximation m = 2 pT)."""
    return [
        {"mu": [(m / 2, 0.0, 0.0, charges[0]), (m / 2, 0.0, PI, charges[1])], "jets": list(jets), "met": (10.0, 0.0)}
        for m in masses
    ]


def test_fill_and_assemble_by_hand():
    rng = np.random.default_rng(5)
    masses = 110.0 + rng.exponential(60.0, 400)  # above the Z window, falling
    low = rng.uniform(15.0, 70.0, 30)
    events = _dimuon_events(masses) + _dimuon_events(low)
    process = np.zeros(len(events), dtype=np.int64)
    result = assemble(_fill(flat_events(events), None, process, ("z_jets",)), HistogramConfig(channel="2b"))
    # every event: 2mu_OS with no jets -> jet cap 0 -> "2mu_OS_ge0j"; MET 10 < 150, lead pt < 100 for most
    name = "2mu_OS_ge0j__mu0_mu1_m106up"
    assert name in result.hists
    h = result.hists[name]
    edges = h.axes[0].edges
    # independent count: masses from the first kept edge on (the muon mass shifts m by < 1e-3 GeV)
    expected = np.histogram(masses, bins=edges)[0]
    assert h.values() == pytest.approx(expected, abs=0)
    assert np.argmax(h.values()) == 0 and h.values()[-1] > 0
    md = result.metadata[name]
    assert md["category"] == "2mu_OS_ge0j" and md["objects"] == ["mu0", "mu1"] and md["channel"] == "2b"
    assert md["mass_range_GeV"] == [106.0, 8000.0] and md["process_content"] == {"z_jets": 430.0}
    assert md["selection"]["n_mu"] == 2 and md["selection"]["lepton_charge"] == "OS"
    # the 30 low-mass pairs are too few for their own histogram; no same-sign ("mu0_mu1") histogram exists
    assert "2mu_OS_ge0j__mu0_mu1_m10to76" not in result.hists
    assert "2mu_OS_ge0j__mu0_mu1" not in result.hists
    assert result.summary["n_events"] == 430


def test_opposite_and_same_sign_pairs_in_three_lepton_events():
    # mu+ mu- mu-: mu0 mu1 OS at 150, so it goes to the high-mass histogram; an SS pair goes to the plain one
    # (the third muon is soft and collinear with the first: no pair falls in the Z window)
    ev = flat_events(
        [
            {"mu": [(75.0, 0.0, 0.0, 1), (74.0, 0.0, PI, -1), (10.0, 0.0, 0.0, -1)]},
            {"mu": [(75.0, 0.0, 0.0, -1), (74.0, 0.0, PI, -1), (10.0, 0.0, 0.0, 1)]},
        ]
    )
    acc = _fill(ev)
    names = {name for name, _, _ in acc["hists"].blocks()}
    code = Category.from_key("3mu").base_code
    assert f"{code}|mu0_mu1_m106up" in names and f"{code}|mu0_mu1" in names
    assert f"{code}|mu0_mu1_m10to76" not in names


def test_results_do_not_depend_on_chunking():
    events = random_flat_events(1200, seed=11)
    grid = CellGrid()
    whole = _fill(events, grid)
    parts = [_fill(events[i : i + 300], grid) for i in range(0, 1200, 300)]
    merged = pickle.loads(pickle.dumps(accumulate(parts)))  # as the executors do, through pickling
    for key in ("hists", "events"):
        a = sorted(whole[key].blocks(), key=lambda b: b[0])
        b = sorted(merged[key].blocks(), key=lambda b: b[0])
        assert len(a) == len(b) > 10
        for (na, ka, va), (nb, kb, vb) in zip(a, b):
            assert na == nb and np.array_equal(ka, kb) and np.array_equal(va, vb)
    one, four = assemble(whole), assemble(merged)
    assert one.hists.keys() == four.hists.keys() and one.metadata == four.metadata
    for name, h in one.hists.items():
        assert np.array_equal(h.values(), four.hists[name].values())


def test_sparse_store_rejects_bad_keys_and_mismatched_columns():
    store = SparseStore(2)
    with pytest.raises(ValueError, match=r"\[0, 2\^32\)"):
        store.add_entries(["x"], np.array([0]), np.array([-1]), np.array([[1.0, 1.0]]))
    with pytest.raises(TypeError, match="2 columns"):
        store + SparseStore(3)


def test_fill_rejects_unknown_process_codes():
    ev = flat_events(_dimuon_events([150.0]))
    objects = build_objects(ev)
    with pytest.raises(ValueError, match="processID 5 has no process name"):
        fill_chunk(objects, classify_events(objects), np.array([5]), ("a", "b"))


def test_flavour_aware_histograms_need_b_jets():
    rng = np.random.default_rng(2)
    # e + b jet with a falling mass, in events with one b jet; and events without b jets
    events = []
    for pt in 60.0 + rng.exponential(80.0, 260):
        events.append({"e": [(pt, 0.0, 0.0, 1)], "jets": [(pt, 0.0, PI, 10.0, True)], "met": (30.0, 0.0)})
    for pt in 60.0 + rng.exponential(80.0, 150):
        events.append({"e": [(pt, 0.0, 0.0, 1)], "jets": [(pt, 0.0, PI, 10.0, False)], "met": (30.0, 0.0)})
    result = assemble(_fill(flat_events(events)))
    flavour = [n for n in result.hists if "b0" in n or "lj0" in n]
    assert flavour and all(result.metadata[n]["selection"]["min_bjets"] >= 1 for n in flavour)
    h = result.hists["1e_1b_ge1j__e0_b0"]
    assert h.values().sum() <= 260
    assert "1e_ge1j__e0_j0" in result.hists
