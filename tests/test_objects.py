"""Objects: Z pairing (with the shared-lepton conflict), jet mass tagging, MET, bad input."""

import math

import awkward as ak
import numpy as np
import pytest

from _dm_flat import flat_events
from hepbump.darkmachines.objects import (
    build_objects,
    check_branches,
    jet_mass_class,
    mass_from_energy,
    required_branches,
)

PI = math.pi


def test_jet_mass_class_edges():
    assert jet_mass_class([0.0, 59.999, 60.0, 109.999, 110.0, 199.999, 200.0, 1e4]).tolist() == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
    ]


def test_mass_from_energy():
    # E = 13, pT = 5, eta = 0 -> m = 12; E < p -> 0
    assert mass_from_energy(np.array([13.0, 4.0]), np.array([5.0, 5.0]), np.array([0.0, 0.0])).tolist() == [12.0, 0.0]
    # eta = 1: p = pT cosh(1)
    p = 10 * math.cosh(1.0)
    assert float(mass_from_energy(math.hypot(p, 3.0), 10.0, 1.0)) == pytest.approx(3.0)


def _mumu_mass(pt1, pt2, dphi):
    """Mass of two (nearly massless) central muons, for reference: m^2 = 2 pT1 pT2 (1 - cos dphi)."""
    return math.sqrt(2 * pt1 * pt2 * (1 - math.cos(dphi)))


def test_single_z_and_lepton_removal():
    ev = flat_events(
        [{"mu": [(45.6, 0.0, 0.0, +1), (45.6, 0.0, PI, -1), (30.0, 0.5, 1.0, -1)], "e": [(40.0, 0.1, 0.2, +1)]}]
    )
    obj = build_objects(ev)
    assert ak.num(obj.Z, axis=1).tolist() == [1]
    assert float(obj.Z.mass[0, 0]) == pytest.approx(91.2, abs=0.01)
    assert obj.Z.flavour.tolist() == [[13]]
    assert obj.mu.pt.tolist() == [[30.0]]  # the third muon stays
    assert obj.mu.charge.tolist() == [[-1]]
    assert obj.e.pt.tolist() == [[40.0]]


def test_shared_lepton_goes_to_pair_closest_to_mz():
    # A(+, 50 GeV, phi 0) with B(-, 50 GeV, phi pi): m = 100, |100 - 91.18| = 8.8
    # A with C(-, 42 GeV, phi pi): m = 2 sqrt(50 * 42) = 91.65, closer -> Z = A + C, B stays a muon
    assert _mumu_mass(50, 50, PI) == pytest.approx(100.0)
    assert _mumu_mass(50, 42, PI) == pytest.approx(91.65, abs=0.01)
    ev = flat_events([{"mu": [(50.0, 0.0, 0.0, +1), (50.0, 0.0, PI, -1), (42.0, 0.0, PI, -1)]}])
    obj = build_objects(ev)
    assert float(obj.Z.mass[0, 0]) == pytest.approx(91.65, abs=0.01)
    assert ak.num(obj.Z, axis=1).tolist() == [1]
    assert obj.mu.pt.tolist() == [[50.0]]
    assert obj.mu.charge.tolist() == [[-1]]


def test_two_z_without_shared_leptons_and_greedy_blocking():
    events = [
        # two disjoint pairs near m_Z (A+B: 91.2, C+D: 90 in another direction); cross pairs far away
        {"e": [(45.6, 0.0, 0.0, +1), (45.6, 0.0, PI, -1), (45.0, 2.0, PI / 2, +1), (45.0, 2.0, -PI / 2, -1)]},
        # A+ with B- (m 91.2, best) and C+ with B- (m 93.7): C would need B -> one Z, C remains
        {"e": [(45.6, 0.0, 0.0, +1), (45.6, 0.0, PI, -1), (48.1, 0.0, 0.0, +1)]},
        # same sign at m_Z, and e mu at m_Z: no Z
        {"e": [(45.6, 0.0, 0.0, +1), (45.6, 0.0, PI, +1)]},
        {"e": [(45.6, 0.0, 0.0, +1)], "mu": [(45.6, 0.0, PI, -1)]},
        # just outside / inside the 15 GeV window: m = 76.0 (no), m = 77.0 (yes)
        {"mu": [(38.0, 0.0, 0.0, +1), (38.0, 0.0, PI, -1)]},
        {"mu": [(38.5, 0.0, 0.0, +1), (38.5, 0.0, PI, -1)]},
    ]
    obj = build_objects(flat_events(events))
    assert ak.num(obj.Z, axis=1).tolist() == [2, 1, 0, 0, 0, 1]
    assert ak.num(obj.e, axis=1).tolist() == [0, 1, 2, 1, 0, 0]
    assert obj.e.pt[1].tolist() == [48.1]
    assert ak.num(obj.mu, axis=1).tolist() == [0, 0, 0, 1, 2, 0]
    assert obj.Z.flavour.tolist() == [[11, 11], [11], [], [], [], [13]]
    # Z candidates are ordered by decreasing pT
    assert np.all(np.diff(ak.to_numpy(obj.Z.pt[0])) <= 0)


def test_jets_by_mass_and_met():
    ev = flat_events(
        [
            {
                "jets": [
                    (300.0, 0.0, 0.0, 59.0, True),
                    (250.0, 0.5, 1.0, 61.0, False),
                    (200.0, 1.0, 2.0, 150.0, False),
                    (150.0, -1.0, -2.0, 250.0, True),
                    (100.0, 0.2, 3.0, 10.0, False),
                ],
                "met": (120.0, 0.7),
            }
        ]
    )
    obj = build_objects(ev)
    assert obj.j.pt.tolist() == [[300.0, 100.0]]
    assert obj.j.btag.tolist() == [[True, False]]
    assert obj.Vh.pt.tolist() == [[250.0]]
    assert obj.top.pt.tolist() == [[200.0]]
    assert obj.HM.pt.tolist() == [[150.0]]
    assert float(obj.HM.mass[0, 0]) == pytest.approx(250.0, rel=1e-5)
    met = obj.MET[0]
    assert (met.pt, met.pz, met.mass) == pytest.approx((120.0, 0.0, 0.0))
    assert met.px == pytest.approx(120.0 * math.cos(0.7))


def test_missing_branches_are_named():
    ev = flat_events([{"mu": [(30.0, 0.0, 0.0, 1)]}])
    broken = ak.zip({k: ev[k] for k in ak.fields(ev) if k not in ("Jet_btag", "MET_phi")}, depth_limit=1)
    with pytest.raises(KeyError, match=r"in\.root: missing branches MET_phi, Jet_btag"):
        build_objects(broken, "in.root")
    check_branches(required_branches(), "ok")  # complete: no error


def test_non_finite_kinematics_are_named():
    ev = flat_events([{"mu": [(30.0, 0.0, 0.0, 1)]}])
    bad = ak.with_field(ev, ak.Array([[np.nan]]), "Muon_pt")
    with pytest.raises(ValueError, match="f.root: branch Muon_pt contains NaN"):
        build_objects(bad, "f.root")
