"""Parametric detector response of the DM-format generator (a fast stand-in for Delphes, not Delphes).

From the truth particles of :func:`hepbump.darkmachines.generate.processes.generate_truth`:

* semileptonic b decays (drawn with the quark flavours, probability 0.2 per b): a neutrino takes a fraction
  U(0, 0.4) of the b quark's momentum;
* momenta are smeared with THE resolution model of hepbump, :func:`hepbump.darkmachines.resolution.relative_resolution`
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

The loop over particles is compiled (:mod:`hepbump.darkmachines.generate.detector_kernel`); the random numbers are drawn
here from the caller's generator, so a sample is reproduced by its seed. All numbers are in
:mod:`hepbump.constants` (``DM_GEN_*``, ``DM_*`` thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepbump import constants as C
from hepbump.darkmachines.format import OBJECT_CODES
from hepbump.darkmachines.generate.channels import EventSummary
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
from hepbump.darkmachines.generate.kinematics import truncated_normal
from hepbump.darkmachines.generate.model import (
    KIND_B,
    KIND_B_SEMILEPTONIC,
    KIND_ELECTRON,
    KIND_LIGHT,
    KIND_MUON,
    KIND_NEUTRINO,
    KIND_PHOTON,
    KIND_TAU_JET,
    TruthParticles,
)
from hepbump.darkmachines.resolution import relative_resolution

__all__ = ["RecoEvents", "simulate_detector"]

_J, _B, _EM, _EP, _MM, _MP, _G = (OBJECT_CODES.index(c) for c in ("j", "b", "e-", "e+", "m-", "m+", "g"))
assert (_EP, _MP) == (_EM + 1, _MM + 1), "positive lepton codes must follow the negative ones"
#: Detector category of each truth kind (index: KIND_*), the object code of each category and the resolution
#: model of each measured category.
_CATEGORY_OF_KIND = np.full(max(KIND_B_SEMILEPTONIC, KIND_TAU_JET, KIND_NEUTRINO) + 1, CATEGORY_NONE, np.int8)
_CATEGORY_OF_KIND[[KIND_LIGHT, KIND_B, KIND_TAU_JET]] = CATEGORY_JET
_CATEGORY_OF_KIND[KIND_ELECTRON] = CATEGORY_ELECTRON
_CATEGORY_OF_KIND[KIND_MUON] = CATEGORY_MUON
_CATEGORY_OF_KIND[KIND_PHOTON] = CATEGORY_PHOTON
_CODE_OF_CATEGORY = np.array([-1, _J, _EM, _MM, _G], dtype=np.int8)
_RESOLUTION_OF_CATEGORY = (
    ("jet", CATEGORY_JET),
    ("electron", CATEGORY_ELECTRON),
    ("muon", CATEGORY_MUON),
    ("photon", CATEGORY_PHOTON),
)
_PARAMETERS = detector_parameters()
_TAU_JET_MASS_RANGE_GEV = (0.14, C.M_TAU_GEV)


@dataclass
class RecoEvents:
    """Reconstructed events of a batch. Listed objects are flat arrays with the index ``event`` of their event;
    ``code`` is the index in :data:`hepbump.darkmachines.format.OBJECT_CODES` (jets as ``j`` until
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
            new_index[self.event[obj]],
            self.code[obj],
            self.pt[obj],
            self.eta[obj],
            self.phi[obj],
            self.kind[obj],
            self.merged_mass[obj],
            self.met[mask],
            self.metphi[mask],
            EventSummary(s.ht[mask], s.met[mask], s.n_leptons[mask], s.n_jets_ch1[mask], s.leading_jet_pt[mask]),
        )

    def flat_objects(self, rng: np.random.Generator, max_objects: int = C.DM_MAX_OBJECTS) -> dict[str, np.ndarray]:
        """Jet masses, energies and b-tags, then the listed objects, at most ``max_objects`` per event by
        decreasing pT: ``counts`` per event and flat ``code``, ``energy``, ``pt``, ``eta``, ``phi``."""
        code, kind, pt = self.code.copy(), self.kind, self.pt
        jet = code == _J
        merged = jet & np.isfinite(self.merged_mass)
        mass = np.zeros(code.size)
        mass[merged] = np.clip(
            self.merged_mass[merged]
            * (1.0 + C.DM_GEN_MERGED_JET_MASS_RESOLUTION * truncated_normal(rng, int(merged.sum()))),
            0.0,
            None,
        )
        plain = jet & ~merged & (kind != KIND_TAU_JET)
        median = np.where(
            kind[plain] == KIND_B, C.DM_GEN_B_JET_MASS_OVER_PT_MEDIAN, C.DM_GEN_LIGHT_JET_MASS_OVER_PT_MEDIAN
        )
        mass[plain] = (
            pt[plain] * median * np.exp(C.DM_GEN_JET_LN_MASS_OVER_PT_WIDTH * rng.standard_normal(int(plain.sum())))
        )
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


def simulate_detector(truth: TruthParticles, tail: np.ndarray, rng: np.random.Generator) -> RecoEvents:
    """Smear and identify the truth particles of a batch of ``tail.size`` events, compute MET and the selection
    quantities. In events with ``tail > 0`` one jet, chosen at random, has the response ``1 - tail``.

    The per-particle loop runs compiled (:func:`~hepbump.darkmachines.generate.detector_kernel.respond`); the random
    numbers are drawn here, from ``rng``, and the resolutions come from
    :func:`~hepbump.darkmachines.resolution.relative_resolution`."""
    n, m = tail.size, truth.event.size
    event, kind = truth.event, truth.kind.copy()
    pt_true, eta, cos_phi, sin_phi = directions(truth.px, truth.py, truth.pz)
    # Semileptonic b decays: the neutrino's share of the momentum is lost; the rest is an ordinary b jet (the
    # direction, hence eta and phi, is unchanged).
    semi = np.flatnonzero(kind == KIND_B_SEMILEPTONIC)
    pt_true[semi] *= 1.0 - C.DM_GEN_B_NEUTRINO_FRACTION_MAX * rng.random(semi.size)
    kind[semi] = KIND_B
    abs_eta = np.abs(eta)
    category = _CATEGORY_OF_KIND[kind]  # neutrinos: CATEGORY_NONE
    measured_category = np.where(abs_eta < C.DM_GEN_CALORIMETER_ABS_ETA_MAX, category, CATEGORY_NONE)
    sigma = np.zeros(m)
    for name, cat in _RESOLUTION_OF_CATEGORY:
        idx = np.flatnonzero(measured_category == cat)
        if idx.size:
            sigma[idx] = relative_resolution(name, pt_true[idx], eta[idx])
    z = truncated_normal(rng, m, C.DM_GEN_RESPONSE_TRUNCATION_SIGMA)
    u_victim, u_id = rng.random(m), rng.random(m)
    z_soft = rng.standard_normal((n, 2))
    pt, code, mx, my, ht, n_leptons, n_jets_ch1, leading = respond(
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
        _PARAMETERS,
        _CODE_OF_CATEGORY,
    )
    listed = np.flatnonzero(code >= 0)
    code, charge = code[listed], truth.charge[listed]
    lepton = (code == _EM) | (code == _MM)
    if np.any(lepton & (charge == 0)):
        raise RuntimeError("generator bug: a charged lepton without charge")
    code += (lepton & (charge > 0)).astype(np.int8)  # e+ and mu+ follow e- and mu- in OBJECT_CODES
    met = np.hypot(mx, my)
    summary = EventSummary(ht=ht, met=met, n_leptons=n_leptons, n_jets_ch1=n_jets_ch1, leading_jet_pt=leading)
    return RecoEvents(
        event[listed],
        code,
        pt[listed],
        eta[listed],
        np.arctan2(sin_phi[listed], cos_phi[listed]),
        kind[listed],
        truth.merged_mass[listed],
        met,
        np.arctan2(my, mx),
        summary,
    )
