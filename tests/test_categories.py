"""Categories: keys and their round trip, nesting, event classification, jet-multiplicity cap."""

import math

import numpy as np
import pytest

from _dm_flat import flat_events
from hepbump.darkmachines.categories import Category, CellGrid, classify_events, effective_events, jet_multiplicity_cap
from hepbump.darkmachines.histograms import subcategories
from hepbump.darkmachines.objects import build_objects

PI = math.pi


@pytest.mark.parametrize(
    "key",
    [
        "2mu_OS_1b_met150_3j",
        "0obj",
        "0obj_met300",
        "1e_1mu_SS_1gamma_2Z_pt250_ge4j",
        "3mu_1Vh_1top_1HM_2b_0j",
        "1e_2Z_met500_pt500_ge10j",
        "2e_SS",
    ],
)
def test_key_round_trip(key):
    cat = Category.from_key(key)
    assert cat.key == key
    assert Category.from_key(cat.kinematic.key).n_jets is None
    assert Category.from_base_code(cat.base_code).key == cat.base.key


def test_key_fields():
    cat = Category.from_key("1e_1mu_OS_1gamma_2b_met300_pt100_ge4j")
    assert cat.counts == (1, 1, 1, 0, 0, 0, 0)
    assert (cat.charge, cat.min_b, cat.min_met, cat.min_lead_pt, cat.n_jets, cat.jets_inclusive) == (
        "OS",
        2,
        300,
        100,
        4,
        True,
    )
    sel = cat.selection()
    assert sel["n_e"] == 1 and sel["n_gamma"] == 1 and sel["min_met_GeV"] == 300 and sel["n_jets_is_lower_bound"]
    assert Category((0, 0, 0, 1, 0, 0, 0), n_jets=2).key == "1Z_2j"


@pytest.mark.parametrize(
    "key, message",
    [
        ("2mu", "charge must be 'OS' or 'SS'"),
        ("1mu_OS", "charge must be"),
        ("OS_2mu", "canonical"),
        ("2mu_OS_1tau", "unknown part '1tau'"),
        ("2mu_OS_met150_1b", "canonical"),
        ("", "empty"),
        ("0obj_met_3j", "unknown part 'met'"),
    ],
)
def test_bad_keys(key, message):
    with pytest.raises(ValueError, match=message):
        Category.from_key(key)


def test_nesting_parents():
    parents = [p.key for p in Category.from_key("2mu_OS_2b_met300_pt100_3j").parents()]
    assert parents == ["2mu_OS_1b_met300_pt100", "2mu_OS_2b_met150_pt100", "2mu_OS_2b_met300"]
    assert Category.from_key("1gamma").parents() == []


def test_cell_grid_and_inclusive_sums():
    grid = CellGrid(min_bjets=(0, 1), min_met=(0, 100), min_lead_pt=(0,), njets_max=2)
    cells = grid.cell(
        np.array([0, 3, 1]), np.array([50.0, 100.0, 99.9]), np.array([10.0, 10.0, 10.0]), np.array([0, 7, 1])
    )
    assert [tuple(int(x) for x in c) for c in zip(*grid.decode(cells))] == [(0, 0, 0, 0), (1, 1, 0, 2), (1, 0, 0, 1)]
    per_cell = np.zeros(grid.shape)
    for c in cells:
        per_cell[np.unravel_index(c, grid.shape)] += 1
    incl = grid.inclusive_sums(per_cell)
    assert incl[0, 0, 0].tolist() == [1, 1, 1]  # everything, per jet multiplicity
    assert incl[1, 0, 0].tolist() == [0, 1, 1]  # >= 1 b
    assert incl[1, 1, 0].tolist() == [0, 0, 1]  # >= 1 b and MET >= 100
    with pytest.raises(ValueError, match="start at 0"):
        CellGrid(min_met=(50, 100))


def test_classify_events_by_hand():
    events = [
        # two OS muons (no Z: m = 130 GeV), one b jet, two light jets, MET 160 -> 2mu_OS, >=1b, met150, lead pt 200
        {
            "mu": [(200.0, 0.0, 0.0, 1), (30.0, 0.0, 2.0, -1)],
            "jets": [(80.0, 0.0, 1.0, 10.0, True), (60.0, 1.0, 2.0, 10.0, False), (40.0, 1.0, 3.0, 5.0, False)],
            "met": (160.0, 0.0),
        },
        # Z -> ee plus a photon, no jets, MET 20 -> 1gamma_1Z; lead pt = max(pT of Z, photon) = 120
        {"e": [(45.6, 0.0, 0.0, 1), (45.6, 0.0, PI, -1)], "gamma": [(120.0, 0.5, 1.0)], "met": (20.0, 0.0)},
        # only jets: lead pt from the leading standard jet; a 150 GeV-mass jet is a top candidate
        {"jets": [(300.0, 0.0, 0.0, 150.0, False), (260.0, 0.0, 2.0, 20.0, False)], "met": (600.0, 1.0)},
        # two same-sign electrons
        {"e": [(50.0, 0.0, 0.0, -1), (40.0, 1.0, 2.0, -1)], "met": (0.0, 0.0)},
    ]
    classes = classify_events(build_objects(flat_events(events)))
    keys = [Category.from_base_code(int(c)).key for c in classes.base_code]
    assert keys == ["2mu_OS", "1gamma_1Z", "1top", "2e_SS"]
    assert classes.n_b.tolist() == [1, 0, 0, 0]
    assert classes.n_jets.tolist() == [3, 0, 1, 0]
    assert classes.lead_pt.tolist() == pytest.approx([200.0, 120.0, 300.0, 50.0])
    grid = CellGrid()
    ib, imet, ipt, nj = grid.decode(classes.cell)
    assert ib.tolist() == [1, 0, 0, 0]
    assert imet.tolist() == [1, 0, 3, 0]  # 160 -> 150, 20 -> 0, 600 -> 500
    assert ipt.tolist() == [1, 1, 2, 0]  # 200 -> 100, 120 -> 100, 300 -> 250, 50 -> 0


def test_jet_multiplicity_cap():
    # tails >= k: 1040, 540, 240, 90, 30 -> K = 2
    assert jet_multiplicity_cap([500, 300, 150, 60, 30], [500, 300, 150, 60, 30]) == 2
    # the tail of 100 exactly passes
    assert jet_multiplicity_cap([10, 0, 100], [10, 0, 100]) == 2
    assert jet_multiplicity_cap([99], [99]) == 0
    # weighted: 200 events of weight 1 and 1 event of weight 100 in nj = 1: n_eff = 300^2 / 10200 = 8.8
    assert jet_multiplicity_cap([150, 300], [150, 200 + 1e4]) == 0
    assert effective_events(300.0, 10200.0) == pytest.approx(90000 / 10200)


def test_subcategories_skip_copies_and_split_jets():
    grid = CellGrid(min_bjets=(0, 1), min_met=(0, 100), min_lead_pt=(0,), njets_max=3)
    table = np.zeros(grid.shape + (3,))
    # all events have MET >= 100 (so met100 is a copy of met0); 150 with 0 b, 250 with >= 1 b
    table[0, 1, 0, :] = [[50, 50, 50], [100, 100, 100], [0, 0, 0], [0, 0, 0]]
    table[1, 1, 0, :] = [[0, 0, 0], [30, 30, 30], [120, 120, 120], [100, 100, 100]]
    code = Category.from_key("1mu").base_code
    subs = subcategories(code, {"ttbar": table}, grid, min_events=100, category_min_events=100)
    keys = [s.category.key for s in subs]
    # inclusive: tails 400, 350, 220, 100 -> K = 3: 0j (50, dropped < 100), 1j (130), 2j (120), ge3j (100)
    # >= 1b: tails 250, 250, 220, 100 -> K = 3: 1j (30, dropped), 2j (120), ge3j (100); met100 variants are copies
    assert keys == ["1mu_1j", "1mu_2j", "1mu_ge3j", "1mu_1b_2j", "1mu_1b_ge3j"]
    assert [s.n_raw for s in subs] == [130, 120, 100, 120, 100]
    assert subs[0].process_content == {"ttbar": 130.0}
