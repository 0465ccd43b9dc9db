"""The resolution model and the bin-width rule, against hand-computed numbers."""

import math

import numpy as np
import pytest

from hepbump.darkmachines.resolution import (
    COMPOSITION,
    bin_width,
    mass_resolution,
    relative_resolution,
    resolution_bin_edges,
)


def test_jet_resolution_hand_value():
    # sqrt((3.5/100)^2 + 0.75^2/100 + 0.025^2) = sqrt(0.001225 + 0.005625 + 0.000625)
    assert float(relative_resolution("jet", 100.0)) == pytest.approx(math.sqrt(0.007475), rel=1e-12)


def test_muon_resolution_by_eta_region():
    # |eta| <= 0.5: sqrt(0.01^2 + (1e-4 pT)^2); 0.5 < |eta| <= 1.5: sqrt(0.015^2 + (1.5e-4 pT)^2)
    got = relative_resolution("muon", [10.0, 1000.0, 100.0], [0.0, 0.3, -1.0])
    assert got == pytest.approx(
        [math.sqrt(1e-4 + 1e-6), math.sqrt(1e-4 + 1e-2), math.sqrt(2.25e-4 + 2.25e-4)], rel=1e-12
    )


def test_photon_and_electron_resolution():
    # ECAL at E = 101 GeV: sqrt(0.0017^2 + 0.101^2 / 101)
    assert float(relative_resolution("photon", 101.0)) == pytest.approx(math.sqrt(2.89e-6 + 1.01e-4), rel=1e-12)
    # at eta = 1 the energy is pT cosh(1)
    e = 50.0 * math.cosh(1.0)
    assert float(relative_resolution("photon", 50.0, 1.0)) == pytest.approx(math.sqrt(2.89e-6 + 0.010201 / e))
    # electron at 50 GeV, central: track sqrt(0.03^2 + 0.065^2) combined with ECAL sqrt(2.89e-6 + 0.010201/50)
    track, ecal = math.sqrt(0.0009 + 0.004225), math.sqrt(2.89e-6 + 0.010201 / 50)
    combined = 1.0 / math.sqrt(1 / track**2 + 1 / ecal**2)
    assert float(relative_resolution("electron", 50.0)) == pytest.approx(combined, rel=1e-12)
    assert combined < ecal  # the combination is better than either measurement


def test_relative_resolution_is_vectorised():
    pt = np.linspace(20.0, 500.0, 12).reshape(3, 4)
    out = relative_resolution("jet", pt)
    assert out.shape == (3, 4)
    assert np.all(np.diff(out.ravel()) < 0)  # the jet resolution improves with pT


def test_bin_width_rule_hand_case():
    # two jets at m = 200 GeV: each at pT = 100 GeV, sigma_i = 100 * 0.086458...
    sigma_jet = 100.0 * math.sqrt(0.007475)
    assert float(bin_width(["j", "j"], 200.0)) == pytest.approx(0.5 * math.sqrt(2) * sigma_jet, rel=1e-12)
    # a V_h counts as two jets, top and HM as three
    assert float(mass_resolution(["Vh"], 300.0)) == pytest.approx(float(mass_resolution(["j", "j"], 300.0)))
    assert float(mass_resolution(["top"], 300.0)) == pytest.approx(float(mass_resolution(["j", "j", "j"], 300.0)))
    assert COMPOSITION["HM"] == ("jet", "jet", "jet")


def test_met_term_adds_all_event_objects():
    # mu mu + MET with the event's two muons: sigma^2 = 2 s_mu^2 + 2 s_mu^2 at pT = m/2 = 5 GeV
    s_mu = 5.0 * math.sqrt(1e-4 + (5e-4) ** 2)
    assert float(bin_width(["mu", "mu"], 10.0, ["mu", "mu"])) == pytest.approx(0.5 * 2 * s_mu, rel=1e-12)


def test_edges_follow_the_recursion():
    edges = resolution_bin_edges(["mu", "mu"], 100.0, 101.0)
    # 100 + 0.5 sqrt(2) * 50 * sqrt(0.01^2 + 0.005^2)
    assert edges[1] == pytest.approx(100.0 + 0.5 * math.sqrt(2) * 50 * math.sqrt(1.25e-4), rel=1e-7)
    full = resolution_bin_edges(["e", "j", "Vh"], 10.0, 3000.0)
    widths = np.diff(full)
    assert widths == pytest.approx(bin_width(["e", "j", "Vh"], full[:-1]), rel=1e-6)
    assert full[0] == 10.0 and full[-2] < 3000.0 <= full[-1]
    assert not full.flags.writeable


def test_bad_input():
    with pytest.raises(ValueError, match="unknown object kind 'tau'"):
        relative_resolution("tau", 10.0)
    with pytest.raises(ValueError, match="pT must be finite and > 0"):
        relative_resolution("jet", [10.0, 0.0])
    with pytest.raises(ValueError, match="pT must be finite"):
        relative_resolution("muon", np.nan)
    with pytest.raises(ValueError, match="unknown object type 'tau'"):
        bin_width(["tau", "e"], 100.0)
    with pytest.raises(ValueError, match="0 < m_min < m_max"):
        resolution_bin_edges(["e", "e"], 100.0, 50.0)
    with pytest.raises(ValueError, match="no objects"):
        resolution_bin_edges([], 10.0, 50.0)
    with pytest.raises(ValueError, match="more than 5 bins"):
        resolution_bin_edges(["e", "e"], 10.0, 50.0, max_bins=5)
