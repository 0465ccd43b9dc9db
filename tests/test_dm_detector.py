"""The DM generator's detector response: the compiled kernel on hand-computed cases, and the smearing,
semileptonic b decays, charges and thresholds of :func:`simulate_detector` on many particles."""

from __future__ import annotations

import numpy as np
import pytest

from hepbump import constants as C
from hepbump.darkmachines.format import OBJECT_CODES
from hepbump.darkmachines.generate.detector import simulate_detector
from hepbump.darkmachines.generate.detector_kernel import (
    CATEGORY_ELECTRON,
    CATEGORY_JET,
    CATEGORY_MUON,
    CATEGORY_NONE,
    CATEGORY_PHOTON,
    detector_parameters,
    directions,
    respond,
)
from hepbump.darkmachines.generate.model import (
    KIND_B,
    KIND_B_SEMILEPTONIC,
    KIND_ELECTRON,
    KIND_LIGHT,
    KIND_MUON,
    KIND_NEUTRINO,
    TruthParticles,
)
from hepbump.darkmachines.resolution import relative_resolution

CODES = np.array(
    [-1, OBJECT_CODES.index("j"), OBJECT_CODES.index("e-"), OBJECT_CODES.index("m-"), OBJECT_CODES.index("g")],
    dtype=np.int8,
)


def _respond(event, category, pt, eta, phi, z=None, u_victim=None, u_id=None, tail=(0.0, 0.0), z_soft=None):
    m, n = len(event), len(tail)
    pt, eta, phi = (np.asarray(x, float) for x in (pt, eta, phi))
    sigma = np.full(m, 0.1)
    return respond(
        np.asarray(event, np.int64),
        np.asarray(category, np.int8),
        pt,
        np.abs(eta),
        np.cos(phi),
        np.sin(phi),
        sigma,
        np.zeros(m) if z is None else np.asarray(z, float),
        np.zeros(m) if u_victim is None else np.asarray(u_victim, float),
        np.full(m, 0.5) if u_id is None else np.asarray(u_id, float),
        np.asarray(tail, float),
        np.zeros((n, 2)) if z_soft is None else np.asarray(z_soft, float),
        detector_parameters(),
        CODES,
    )


def test_kernel_by_hand_thresholds_met_and_summary():
    # Event 0: a central 100 GeV jet along x, a 30 GeV electron along y, a 10 GeV muon (below threshold), a
    # 50 GeV photon at eta 3 (measured, not listed), an invisible particle. Event 1: a 60 GeV jet at eta 2.9
    # (measured, beyond the jet |eta| cut) and a jet at eta 5 (beyond the calorimeter).
    event = [0, 0, 0, 0, 0, 1, 1]
    category = [
        CATEGORY_JET,
        CATEGORY_ELECTRON,
        CATEGORY_MUON,
        CATEGORY_PHOTON,
        CATEGORY_NONE,
        CATEGORY_JET,
        CATEGORY_JET,
    ]
    pt = [100.0, 30.0, 10.0, 50.0, 70.0, 60.0, 40.0]
    eta = [0.0, 0.5, -1.0, 3.0, 0.0, 2.9, 5.0]
    phi = [0.0, np.pi / 2, 0.0, np.pi, 0.0, 0.0, 0.0]
    out_pt, code, mx, my, ht, n_lep, n_ch1, leading = _respond(event, category, pt, eta, phi)
    np.testing.assert_allclose(out_pt, pt)  # z = 0: response 1
    assert code.tolist() == [CODES[1], CODES[2], -1, -1, -1, -1, -1]
    np.testing.assert_allclose(mx, [-(100.0 + 10.0 - 50.0), -60.0], atol=1e-9)
    np.testing.assert_allclose(my, [-30.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(ht, [100.0, 0.0])
    assert n_lep.tolist() == [1, 0] and n_ch1.tolist() == [1, 0]
    np.testing.assert_allclose(leading, [100.0, 0.0])
    # an identification draw above the efficiency loses the electron; the soft term adds sqrt(a^2 + b^2 sum pT) z
    _, code, mx, my, *_ = _respond(
        event, category, pt, eta, phi, u_id=[0.5, 0.99, 0.5, 0.5, 0.5, 0.5, 0.5], z_soft=[[1.0, -2.0], [0.0, 0.0]]
    )
    assert code[1] == -1
    soft = np.sqrt(C.DM_GEN_MET_SOFT_TERM_GEV**2 + C.DM_GEN_MET_SOFT_STOCHASTIC_SQRTGEV**2 * 190.0)
    np.testing.assert_allclose([mx[0], my[0]], [-60.0 + soft, -30.0 - 2 * soft])


def test_kernel_smearing_and_the_badly_measured_jet():
    event = [0, 0, 0, 1]
    category = [CATEGORY_JET, CATEGORY_JET, CATEGORY_JET, CATEGORY_JET]
    pt, eta, phi = [200.0, 100.0, 80.0, 50.0], [0.0, 1.0, 5.5, 0.0], [0.0, 0.0, 0.0, 0.0]
    z = [1.0, -2.0, 0.0, 0.0]
    # event 0 has a tail of 0.4: among its measured jets (not the one at eta 5.5, even with the largest score)
    # the one with the largest u_victim (the second) gets response 0.6; the first is smeared by 1 + 0.1 z.
    out, _, mx, *_ = _respond(event, category, pt, eta, phi, z=z, u_victim=[0.2, 0.7, 0.9, 0.1], tail=(0.4, 0.0))
    np.testing.assert_allclose(out[:2], [200.0 * 1.1, 100.0 * 0.6])
    np.testing.assert_allclose(mx[0], -(220.0 + 60.0))
    # a loss above 100 % is floored at the minimum response
    out, *_ = _respond(event, category, pt, eta, phi, u_victim=[0.9, 0.1, 0.0, 0.1], tail=(1.3, 0.0))
    assert out[0] == pytest.approx(200.0 * detector_parameters().response_min)


def test_directions_by_hand():
    pt, eta, cos_phi, sin_phi = directions(np.array([3.0, 0.0]), np.array([4.0, 0.0]), np.array([0.0, -2.0]))
    assert pt.tolist() == [5.0, 0.0] and eta[0] == 0.0 and eta[1] == -np.inf
    np.testing.assert_allclose([cos_phi[0], sin_phi[0]], [0.6, 0.8])


def _particles(kind, pt, eta, charge, n_events):
    m = len(kind)
    event = np.arange(m) % n_events
    phi = np.random.default_rng(0).uniform(-np.pi, np.pi, m)
    return TruthParticles(
        event,
        np.asarray(kind, np.int8),
        np.asarray(charge, np.int8),
        pt * np.cos(phi),
        pt * np.sin(phi),
        pt * np.sinh(eta),
        pt * np.cosh(eta),
        np.full(m, np.nan),
    )


def test_simulate_detector_resolution_charges_and_semileptonic_b():
    rng = np.random.default_rng(7)
    m = 40_000
    kinds = np.array([KIND_LIGHT, KIND_ELECTRON, KIND_MUON, KIND_NEUTRINO, KIND_B_SEMILEPTONIC])[np.arange(m) % 5]
    charge = np.where((kinds == KIND_ELECTRON) | (kinds == KIND_MUON), np.where(np.arange(m) % 2, 1, -1), 0)
    truth = _particles(kinds, np.full(m, 100.0), np.zeros(m), charge, n_events=m)
    reco = simulate_detector(truth, np.zeros(m), rng)
    listed_kind = truth.kind[reco.event]
    assert not np.any(listed_kind == KIND_NEUTRINO)
    jets = listed_kind == KIND_LIGHT
    spread = np.std(reco.pt[jets] / 100.0 - 1.0)
    assert spread == pytest.approx(float(relative_resolution("jet", 100.0)), rel=0.05)
    # semileptonic b jets keep U(0.6, 1) of their momentum, then are smeared; they come out as b jets
    semi = listed_kind == KIND_B_SEMILEPTONIC
    assert np.all(reco.kind[semi] == KIND_B)
    assert np.mean(reco.pt[semi]) == pytest.approx(100.0 * (1 - C.DM_GEN_B_NEUTRINO_FRACTION_MAX / 2), rel=0.02)
    for kind, neg, pos in ((KIND_ELECTRON, "e-", "e+"), (KIND_MUON, "m-", "m+")):
        sel = listed_kind == kind
        q = truth.charge[reco.event[sel]]
        expected = np.where(q < 0, OBJECT_CODES.index(neg), OBJECT_CODES.index(pos))
        assert np.array_equal(reco.code[sel], expected)
    efficiency = np.sum(listed_kind == KIND_ELECTRON) / np.sum(kinds == KIND_ELECTRON)
    assert efficiency == pytest.approx(C.DM_GEN_ELECTRON_EFFICIENCY, abs=0.01)
    # one particle per event: an event with only a neutrino has MET from the soft term alone (5 GeV per
    # component: mean sqrt(pi / 2) * 5 GeV), a jet, electron or muon of 100 GeV (identified or not) is balanced by MET
    invisible = kinds == KIND_NEUTRINO
    assert np.mean(reco.met[invisible]) == pytest.approx(np.sqrt(np.pi / 2) * C.DM_GEN_MET_SOFT_TERM_GEV, rel=0.05)
    full = (kinds == KIND_LIGHT) | (kinds == KIND_ELECTRON) | (kinds == KIND_MUON)
    assert np.mean(reco.met[full]) == pytest.approx(100.0, rel=0.02)


def test_simulate_detector_rejects_a_charged_lepton_without_charge():
    truth = _particles([KIND_ELECTRON], np.array([50.0]), np.zeros(1), [0], n_events=1)
    with pytest.raises(RuntimeError, match="without charge"):
        simulate_detector(truth, np.zeros(1), np.random.default_rng(1))
