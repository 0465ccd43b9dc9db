"""Parametric detector response of the DM-format generator (a fast stand-in for Delphes, not Delphes).

From the truth particles of :func:`hepbump.generate.dm_processes.generate_truth`:

* semileptonic b decays (drawn with the quark flavours, probability 0.2 per b): a neutrino takes a fraction
  U(0, 0.4) of the b quark's momentum;
* momenta are smeared with THE resolution model of hepbump, :func:`hepbump.resolution.relative_resolution`
  (Gaussian core truncated at 5 sigma); in a fraction of events (``DM_GEN_MISMEASURED_EVENT_PROBABILITY``,
  30 %) one jet, chosen at random, has a low response ``1 - |N(0, 0.35)|`` (the loss is drawn with the event's
  other latent variables), standing in for punch-through, dead material and cracks: the source of the large
  fake MET of multijet events;
* jet masses: boosted W/Z/top jets keep their parent's mass smeared by 10 %; quark/gluon jets get
  ``m = pT * r``, ``r`` log-normal (median 0.07, b jets 0.09, width 0.45 in ``ln r``); tau jets 0.14-1.78 GeV;
* identification efficiencies (e, mu 95 %, photons 90 %), b-tagging (70 % for b jets with |eta| < 2.5, 1 %
  mistag of other jets; merged V/top jets are not tagged) and the DM object thresholds;
* MET: minus the vector sum of all measured visible particles (any pT, |eta| < 4.9) plus a Gaussian soft term
  of ``sqrt(a^2 + b^2 sum pT)`` per component. Events are balanced at truth level, so MET comes from neutrinos,
  particles beyond the calorimeter and mismeasurement.

All numbers are in :mod:`hepbump.constants` (``DM_GEN_*``, ``DM_*`` thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import vector

from hepbump import constants as C
from hepbump.generate.dm_channels import EventSummary
from hepbump.generate.dm_model import (
    KIND_B,
    KIND_B_SEMILEPTONIC,
    KIND_ELECTRON,
    KIND_LIGHT,
    KIND_MUON,
    KIND_NEUTRINO,
    KIND_PHOTON,
    KIND_TAU_JET,
    Slot,
)
from hepbump.generate.kinematics import truncated_normal
from hepbump.io.darkmachines import OBJECT_CODES
from hepbump.resolution import relative_resolution

__all__ = ["RecoEvents", "simulate_detector"]

_J, _B, _EM, _EP, _MM, _MP, _G = (OBJECT_CODES.index(c) for c in ("j", "b", "e-", "e+", "m-", "m+", "g"))
_TAU_JET_MASS_RANGE_GEV = (0.14, C.M_TAU_GEV)


@dataclass
class RecoEvents:
    """Reconstructed events of a batch. Listed objects are flat arrays with the index ``event`` of their event;
    ``code`` is the index in :data:`hepbump.io.darkmachines.OBJECT_CODES` (jets as ``j`` until
    :meth:`flat_objects` b-tags them). GeV, radians. Masses, energies and b-tags, which no selection uses, are
    computed by :meth:`flat_objects` only for the events kept."""

    event: np.ndarray
    code: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    kind: np.ndarray
    merged_mass: np.ndarray
    met: np.ndarray
    metphi: np.ndarray
    summary: EventSummary

    def __len__(self) -> int:
        return int(self.met.size)

    def select(self, mask: np.ndarray) -> RecoEvents:
        """The events where ``mask`` is true (renumbered 0, 1, ...)."""
        s = self.summary
        new_index = np.cumsum(mask) - 1
        obj = mask[self.event]
        return RecoEvents(
            new_index[self.event[obj]], self.code[obj], self.pt[obj], self.eta[obj], self.phi[obj], self.kind[obj],
            self.merged_mass[obj], self.met[mask], self.metphi[mask],
            EventSummary(s.ht[mask], s.met[mask], s.n_leptons[mask], s.n_jets_ch1[mask], s.leading_jet_pt[mask]),
        )

    def flat_objects(self, rng: np.random.Generator, max_objects: int = C.DM_MAX_OBJECTS) -> dict[str, np.ndarray]:
        """Jet masses, energies and b-tags, then the listed objects, at most ``max_objects`` per event by
        decreasing pT: ``counts`` per event and flat ``code``, ``energy``, ``pt``, ``eta``, ``phi``."""
        code, kind, pt = self.code.copy(), self.kind, self.pt
        jet = code == _J
        merged = jet & np.isfinite(self.merged_mass)
        mass = np.zeros(code.size)
        mass[merged] = np.clip(self.merged_mass[merged] * (1.0 + C.DM_GEN_MERGED_JET_MASS_RESOLUTION
                                                           * truncated_normal(rng, int(merged.sum()))), 0.0, None)
        plain = jet & ~merged & (kind != KIND_TAU_JET)
        median = np.where(kind[plain] == KIND_B, C.DM_GEN_B_JET_MASS_OVER_PT_MEDIAN,
                          C.DM_GEN_LIGHT_JET_MASS_OVER_PT_MEDIAN)
        mass[plain] = pt[plain] * median * np.exp(C.DM_GEN_JET_LN_MASS_OVER_PT_WIDTH
                                                  * rng.standard_normal(int(plain.sum())))
        tau_jet = jet & (kind == KIND_TAU_JET)
        mass[tau_jet] = rng.uniform(*_TAU_JET_MASS_RANGE_GEV, int(tau_jet.sum()))
        energy = np.sqrt((pt * np.cosh(self.eta)) ** 2 + mass**2)
        tag_prob = np.where((kind == KIND_B) & ~merged, C.DM_GEN_BTAG_EFFICIENCY, C.DM_GEN_LIGHT_MISTAG_RATE)
        btag = jet & ~merged & (np.abs(self.eta) < C.DM_GEN_BTAG_ABS_ETA_MAX) & (rng.uniform(size=code.size) < tag_prob)
        code[btag] = _B

        order = np.lexsort((-pt, self.event))
        event = self.event[order]
        counts = np.bincount(event, minlength=len(self))
        first = np.zeros(counts.size, dtype=np.int64)
        np.cumsum(counts[:-1], out=first[1:])
        keep = order[np.arange(order.size) - first[event] < max_objects]
        out = {"counts": np.minimum(counts, max_objects), "code": code[keep]}
        for name, values in (("energy", energy), ("pt", pt), ("eta", self.eta), ("phi", self.phi)):
            out[name] = values[keep]
        return out


def simulate_detector(slots: list[Slot], tail: np.ndarray, rng: np.random.Generator) -> RecoEvents:
    """Smear and identify the truth particles of a batch (``slots`` of equal length), compute MET and the
    selection quantities. In events with ``tail > 0`` one jet, chosen at random, has the response ``1 - tail``."""
    n = tail.size
    # Flatten the visible particles (neutrinos and padding dropped).
    picks = [np.flatnonzero(s.valid & (s.kind != KIND_NEUTRINO)) for s in slots]
    event = np.concatenate(picks)

    def gather(name: str) -> np.ndarray:
        return np.concatenate([getattr(s, name)[i] for s, i in zip(slots, picks)])

    kind, charge, merged_mass = gather("kind"), gather("charge"), gather("merged_mass")
    px, py, pz, energy = gather("px"), gather("py"), gather("pz"), gather("energy")

    # Semileptonic b decays: the neutrino's share of the momentum is lost; the rest is an ordinary b jet.
    semi = np.flatnonzero(kind == KIND_B_SEMILEPTONIC)
    keep = 1.0 - rng.uniform(0.0, C.DM_GEN_B_NEUTRINO_FRACTION_MAX, semi.size)
    for arr in (px, py, pz, energy):
        arr[semi] *= keep
    kind[semi] = KIND_B
    v = vector.array({"px": px, "py": py, "pz": pz, "E": energy})
    pt_true, eta, phi = np.asarray(v.pt), np.asarray(v.eta), np.asarray(v.phi)
    abs_eta = np.abs(eta)
    measured = abs_eta < C.DM_GEN_CALORIMETER_ABS_ETA_MAX
    is_jet = measured & np.isin(kind, (KIND_LIGHT, KIND_B, KIND_TAU_JET))
    is_e, is_mu = measured & (kind == KIND_ELECTRON), measured & (kind == KIND_MUON)
    is_gamma = measured & (kind == KIND_PHOTON)

    response = np.ones(kind.size)
    for name, mask in (("electron", is_e), ("muon", is_mu), ("photon", is_gamma), ("jet", is_jet)):
        idx = np.flatnonzero(mask)
        if idx.size:
            sigma = relative_resolution(name, pt_true[idx], eta[idx])
            response[idx] = 1.0 + sigma * truncated_normal(rng, idx.size, C.DM_GEN_RESPONSE_TRUNCATION_SIGMA)
    # One randomly chosen jet of each event with a tail loses that fraction of its momentum: among the event's
    # jets, the one with the largest uniform score.
    jets = np.flatnonzero(is_jet & (tail[event] > 0))
    if jets.size:
        order = jets[np.lexsort((rng.uniform(size=jets.size), event[jets]))]
        last = np.r_[event[order][1:] != event[order][:-1], True]
        victim = order[last]
        response[victim] = 1.0 - tail[event[victim]]
    pt = pt_true * np.clip(response, 0.01, None)

    # MET from all measured visible particles plus the soft term.
    pt_meas = np.where(measured, pt, 0.0)
    mx = -np.bincount(event, weights=pt_meas * np.cos(phi), minlength=n)
    my = -np.bincount(event, weights=pt_meas * np.sin(phi), minlength=n)
    sum_pt = np.bincount(event, weights=pt_meas, minlength=n)
    soft = np.sqrt(C.DM_GEN_MET_SOFT_TERM_GEV**2 + C.DM_GEN_MET_SOFT_STOCHASTIC_SQRTGEV**2 * sum_pt)
    mx, my = mx + soft * rng.standard_normal(n), my + soft * rng.standard_normal(n)

    # Identification and thresholds.
    u = rng.uniform(size=kind.size)
    jet_ok = is_jet & (pt > C.DM_JET_PT_MIN_GEV) & (abs_eta < C.DM_JET_ABS_ETA_MAX)
    e_ok = is_e & (pt > C.DM_ELECTRON_PT_MIN_GEV) & (abs_eta < C.DM_ELECTRON_ABS_ETA_MAX) & (
        u < C.DM_GEN_ELECTRON_EFFICIENCY)
    mu_ok = is_mu & (pt > C.DM_MUON_PT_MIN_GEV) & (abs_eta < C.DM_MUON_ABS_ETA_MAX) & (u < C.DM_GEN_MUON_EFFICIENCY)
    g_ok = is_gamma & (pt > C.DM_PHOTON_PT_MIN_GEV) & (abs_eta < C.DM_PHOTON_ABS_ETA_MAX) & (
        u < C.DM_GEN_PHOTON_EFFICIENCY)
    if np.any((e_ok | mu_ok) & (charge == 0)):
        raise RuntimeError("generator bug: a charged lepton without charge")
    code = np.full(kind.size, -1, dtype=np.int8)
    code[jet_ok] = _J
    code[e_ok] = np.where(charge[e_ok] < 0, _EM, _EP)
    code[mu_ok] = np.where(charge[mu_ok] < 0, _MM, _MP)
    code[g_ok] = _G

    jet_pt = np.where(jet_ok, pt, 0.0)
    leading = np.zeros(n)
    np.maximum.at(leading, event[jet_ok], pt[jet_ok])
    summary = EventSummary(
        ht=np.bincount(event, weights=jet_pt, minlength=n), met=np.hypot(mx, my),
        n_leptons=np.bincount(event, weights=e_ok | mu_ok, minlength=n).astype(np.int64),
        n_jets_ch1=np.bincount(event, weights=jet_pt > C.DM_CH1_JET_PT_MIN_GEV, minlength=n).astype(np.int64),
        leading_jet_pt=leading,
    )
    listed = np.flatnonzero(code >= 0)
    return RecoEvents(event[listed], code[listed], pt[listed], eta[listed], phi[listed], kind[listed],
                      merged_mass[listed], summary.met, np.arctan2(my, mx), summary)
