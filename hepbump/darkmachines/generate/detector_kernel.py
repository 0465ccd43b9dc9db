"""Compiled (numba) inner loop of the DM-format generator's detector response.

:func:`respond` turns flat truth particles with their resolutions and pre-drawn random numbers into measured
transverse momenta, object codes, MET and the per-event quantities the channel selections use, in two passes
over the particles (no sorting, no temporary arrays per operation). It is deterministic: every random number
comes in as an argument, drawn by :func:`hepbump.darkmachines.generate.detector.simulate_detector` from the caller's
:class:`numpy.random.Generator`, so a sample is reproduced by its seed. The physics (what the numbers mean) is
documented in :mod:`hepbump.darkmachines.generate.detector`; the thresholds arrive as :class:`DetectorParameters`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from hepbump import constants as C

__all__ = [
    "CATEGORY_NONE",
    "CATEGORY_JET",
    "CATEGORY_ELECTRON",
    "CATEGORY_MUON",
    "CATEGORY_PHOTON",
    "DetectorParameters",
    "detector_parameters",
    "directions",
    "respond",
]

#: Detector categories of truth particles (invisible particles are CATEGORY_NONE).
CATEGORY_NONE, CATEGORY_JET, CATEGORY_ELECTRON, CATEGORY_MUON, CATEGORY_PHOTON = range(5)


class DetectorParameters(NamedTuple):
    """Thresholds and efficiencies of the detector response (GeV); a tuple so that numba can take it."""

    calorimeter_abs_eta_max: float
    jet_pt_min: float
    jet_abs_eta_max: float
    electron_pt_min: float
    electron_abs_eta_max: float
    electron_efficiency: float
    muon_pt_min: float
    muon_abs_eta_max: float
    muon_efficiency: float
    photon_pt_min: float
    photon_abs_eta_max: float
    photon_efficiency: float
    met_soft_term: float
    met_soft_stochastic: float
    ch1_jet_pt_min: float
    response_min: float


def detector_parameters() -> DetectorParameters:
    """The detector parameters of :mod:`hepbump.constants`."""
    return DetectorParameters(
        C.DM_GEN_CALORIMETER_ABS_ETA_MAX,
        C.DM_JET_PT_MIN_GEV,
        C.DM_JET_ABS_ETA_MAX,
        C.DM_ELECTRON_PT_MIN_GEV,
        C.DM_ELECTRON_ABS_ETA_MAX,
        C.DM_GEN_ELECTRON_EFFICIENCY,
        C.DM_MUON_PT_MIN_GEV,
        C.DM_MUON_ABS_ETA_MAX,
        C.DM_GEN_MUON_EFFICIENCY,
        C.DM_PHOTON_PT_MIN_GEV,
        C.DM_PHOTON_ABS_ETA_MAX,
        C.DM_GEN_PHOTON_EFFICIENCY,
        C.DM_GEN_MET_SOFT_TERM_GEV,
        C.DM_GEN_MET_SOFT_STOCHASTIC_SQRTGEV,
        C.DM_CH1_JET_PT_MIN_GEV,
        C.DM_GEN_RESPONSE_MIN,
    )


@numba.njit(cache=True, nogil=True)
def directions(px, py, pz):  # pragma: no cover - compiled; tested through simulate_detector
    """Transverse momentum, pseudorapidity (+-inf along the beam), cos(phi) and sin(phi) of momenta (GeV)."""
    m = px.size
    pt = np.empty(m)
    eta = np.empty(m)
    cos_phi = np.ones(m)
    sin_phi = np.zeros(m)
    for i in range(m):
        p = math.hypot(px[i], py[i])
        pt[i] = p
        if p > 0.0:
            eta[i] = math.asinh(pz[i] / p)
            cos_phi[i] = px[i] / p
            sin_phi[i] = py[i] / p
        else:
            eta[i] = math.copysign(math.inf, pz[i])
    return pt, eta, cos_phi, sin_phi


@numba.njit(cache=True, nogil=True)
def respond(
    event,
    category,
    pt_true,
    abs_eta,
    cos_phi,
    sin_phi,
    sigma,
    z,
    u_victim,
    u_id,
    tail,
    z_soft,
    params,
    code_of_category,
):  # pragma: no cover - compiled; tested through simulate_detector
    """Measured pT, object code (-1: not listed) per particle; MET components, HT, number of leptons, number of
    jets above the channel-1 threshold and leading jet pT per event.

    Per particle ``i`` of event ``event[i]``: measured if ``abs_eta < calorimeter_abs_eta_max`` and not
    CATEGORY_NONE; response ``1 + sigma * z`` (``z`` pre-truncated), except for the one jet per event with
    ``tail > 0`` that has the largest ``u_victim``, whose response is ``1 - tail``; responses are floored at
    ``response_min``. MET is minus the sum of the measured transverse momenta plus the soft term
    ``sqrt(a^2 + b^2 sum pT) * z_soft``. Objects pass their pT and |eta| thresholds and, for leptons and photons,
    ``u_id < efficiency``; ``code_of_category`` gives their code (charged leptons: the negative code; the caller
    adds the sign)."""
    n = tail.size
    m = event.size
    calo = params.calorimeter_abs_eta_max
    response = np.ones(m)
    best = np.full(n, -1.0)
    victim = np.full(n, -1, np.int64)
    for i in range(m):
        c = category[i]
        if c == CATEGORY_NONE or abs_eta[i] >= calo:
            continue
        response[i] = 1.0 + sigma[i] * z[i]
        e = event[i]
        if c == CATEGORY_JET and tail[e] > 0.0 and u_victim[i] > best[e]:
            best[e] = u_victim[i]
            victim[e] = i
    for e in range(n):
        if victim[e] >= 0:
            response[victim[e]] = 1.0 - tail[e]

    pt = np.empty(m)
    code = np.full(m, -1, np.int8)
    mx = np.zeros(n)
    my = np.zeros(n)
    sum_pt = np.zeros(n)
    ht = np.zeros(n)
    n_leptons = np.zeros(n, np.int64)
    n_jets_ch1 = np.zeros(n, np.int64)
    leading = np.zeros(n)
    for i in range(m):
        p = pt_true[i] * max(response[i], params.response_min)
        pt[i] = p
        c = category[i]
        a = abs_eta[i]
        if c == CATEGORY_NONE or a >= calo:
            continue
        e = event[i]
        mx[e] -= p * cos_phi[i]
        my[e] -= p * sin_phi[i]
        sum_pt[e] += p
        if c == CATEGORY_JET:
            if p > params.jet_pt_min and a < params.jet_abs_eta_max:
                code[i] = code_of_category[c]
                ht[e] += p
                if p > params.ch1_jet_pt_min:
                    n_jets_ch1[e] += 1
                if p > leading[e]:
                    leading[e] = p
        elif c == CATEGORY_ELECTRON:
            if p > params.electron_pt_min and a < params.electron_abs_eta_max and u_id[i] < params.electron_efficiency:
                code[i] = code_of_category[c]
                n_leptons[e] += 1
        elif c == CATEGORY_MUON:
            if p > params.muon_pt_min and a < params.muon_abs_eta_max and u_id[i] < params.muon_efficiency:
                code[i] = code_of_category[c]
                n_leptons[e] += 1
        elif c == CATEGORY_PHOTON:
            if p > params.photon_pt_min and a < params.photon_abs_eta_max and u_id[i] < params.photon_efficiency:
                code[i] = code_of_category[c]
    a2 = params.met_soft_term**2
    b2 = params.met_soft_stochastic**2
    for e in range(n):
        soft = math.sqrt(a2 + b2 * sum_pt[e])
        mx[e] += soft * z_soft[e, 0]
        my[e] += soft * z_soft[e, 1]
    return pt, code, mx, my, ht, n_leptons, n_jets_ch1, leading
