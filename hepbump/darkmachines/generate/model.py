"""Particles, decay trees and their vectorised realisation for the DM-format generator (truth level).

A :class:`Particle` is either final state (a quark/gluon, lepton, photon or neutrino) or decays through one of
its :class:`DecayChannel` s, chosen per event with the channel weights (branching fractions), into two
daughters, isotropically in its rest frame (:func:`hepbump.kinematics.two_body_decay`). Decay trees are
realised in two steps so that events which cannot pass a selection are dropped before any kinematics:

1. :func:`draw_decays` draws the decay channel of every node of the trees (and the flavour of quarks that
   may be b quarks) for every event (cheap integers), dropping events that cannot give enough charged leptons
   as early as possible; :func:`count_final_state` then counts, e.g., the electrons and muons or the
   neutrinos each event will contain;
2. :func:`realize` builds the four-momenta of the final-state particles as :class:`Slot` arrays.

Hadronic W/Z/top decays whose quarks all lie within the jet radius of the parent direction become one massive
jet (``merged_mass`` = the parent's mass), so boosted V and top jets appear at a realistic rate. Tau leptons decay
to e/mu/a tau jet plus a neutrino (two-body, isotropic: the visible momentum fraction is uniform, as for
tau -> pi nu; a simplification for the three-body leptonic decays).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import vector

from hepbump import constants as C
from hepbump.darkmachines.generate.kinematics import breit_wigner_mass
from hepbump.kinematics import four_vectors, two_body_decay

__all__ = [
    "KIND_LIGHT", "KIND_B", "KIND_ELECTRON", "KIND_MUON", "KIND_TAU", "KIND_NEUTRINO", "KIND_PHOTON",
    "KIND_TAU_JET", "KIND_B_SEMILEPTONIC", "Slot", "TruthParticles", "quark_kinds", "Particle", "DecayChannel",
    "n_slots",
    "choose_channels", "draw_decays", "count_final_state", "max_charged_leptons", "CHARGED_LEPTON_KINDS",
    "realize", "SAME", "NEG", "POS", "ZERO", "JET", "B_QUARK", "ELECTRON", "MUON", "NEUTRINO", "PHOTON", "TAU",
    "w_boson", "z_boson", "top_quark",
]  # fmt: skip

#: Final-state kinds (int8) of the truth record.
KIND_LIGHT, KIND_B, KIND_ELECTRON, KIND_MUON, KIND_TAU, KIND_NEUTRINO, KIND_PHOTON, KIND_TAU_JET = range(8)
#: A b quark that decays semileptonically (part of its momentum goes to a neutrino; a b jet otherwise).
KIND_B_SEMILEPTONIC = 8
_QUARK_LIKE = (KIND_LIGHT, KIND_B, KIND_B_SEMILEPTONIC)
#: Kinds counted by the lepton requirements of the channels (tau leptons count through their decays).
CHARGED_LEPTON_KINDS = (KIND_ELECTRON, KIND_MUON)
#: Charge rules of daughters: inherit the parent's sign, negative, positive, neutral.
SAME, NEG, POS, ZERO = "same", "neg", "pos", "zero"


@dataclass
class Slot:
    """One final-state particle per event (arrays of equal length; GeV). Invalid entries are padding."""

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    energy: np.ndarray
    kind: np.ndarray
    charge: np.ndarray
    valid: np.ndarray
    merged_mass: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Slot:
        z = np.zeros(n)
        return cls(
            z,
            z.copy(),
            z.copy(),
            z.copy(),
            np.zeros(n, np.int8),
            np.zeros(n, np.int8),
            np.zeros(n, bool),
            np.full(n, np.nan),
        )

    @classmethod
    def from_p4(cls, v: vector.MomentumNumpy4D, kind: np.ndarray, charge: np.ndarray) -> Slot:
        n = len(v)
        return cls(
            np.asarray(v.px, float),
            np.asarray(v.py, float),
            np.asarray(v.pz, float),
            np.asarray(v.E, float),
            np.broadcast_to(np.asarray(kind, np.int8), (n,)).copy(),
            np.broadcast_to(np.asarray(charge, np.int8), (n,)).copy(),
            np.ones(n, bool),
            np.full(n, np.nan),
        )

    @property
    def p4(self) -> vector.MomentumNumpy4D:
        return four_vectors(self.px, self.py, self.pz, self.energy)

    def assign(self, where: np.ndarray, other: Slot) -> None:
        """Copy ``other`` (of length ``len(where)``) into the entries ``where`` of this slot."""
        for name in ("px", "py", "pz", "energy", "kind", "charge", "valid", "merged_mass"):
            getattr(self, name)[where] = getattr(other, name)


@dataclass
class TruthParticles:
    """The final-state particles of a batch as flat arrays (GeV), ``event`` giving each particle's event."""

    event: np.ndarray
    kind: np.ndarray
    charge: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    energy: np.ndarray
    merged_mass: np.ndarray

    @classmethod
    def from_slots(cls, slots: list[Slot]) -> TruthParticles:
        """The valid entries of ``slots`` (of equal length; entry ``i`` belongs to event ``i``)."""
        picks = [np.flatnonzero(s.valid) for s in slots]
        fields = {
            name: np.concatenate([getattr(s, name)[i] for s, i in zip(slots, picks)] or [np.zeros(0)])
            for name in _PARTICLE_FIELDS
        }
        return cls(event=np.concatenate(picks or [np.zeros(0, np.int64)]), **fields)

    @classmethod
    def concatenate(cls, parts: list[TruthParticles]) -> TruthParticles:
        return cls(
            **{name: np.concatenate([getattr(p, name) for p in parts]) for name in ("event",) + _PARTICLE_FIELDS}
        )

    @classmethod
    def from_pt_y_phi(
        cls, event: np.ndarray, kind: np.ndarray, pt: np.ndarray, y: np.ndarray, phi: np.ndarray
    ) -> TruthParticles:
        """Massless neutral particles from transverse momentum, rapidity and azimuth."""
        return cls(
            event,
            np.asarray(kind, np.int8),
            np.zeros(event.size, np.int8),
            pt * np.cos(phi),
            pt * np.sin(phi),
            pt * np.sinh(y),
            pt * np.cosh(y),
            np.full(event.size, np.nan),
        )


_PARTICLE_FIELDS = ("kind", "charge", "px", "py", "pz", "energy", "merged_mass")


@dataclass(frozen=True)
class Particle:
    """A node of a decay tree: final state (no ``channels``) or decaying (mass, width in GeV).

    ``kind`` is the final-state kind, or ``kind_choices`` ((probability, kind), ...) draws it per event (quark
    flavours, semileptonic b decays); ``mergeable`` marks hadronically decaying W/Z/top that may form one
    massive jet.
    """

    name: str
    mass: float = 0.0
    width: float = 0.0
    kind: int = KIND_LIGHT
    channels: tuple[DecayChannel, ...] = ()
    kind_choices: tuple[tuple[float, int], ...] = ()
    mergeable: bool = False

    @property
    def stable(self) -> bool:
        return not self.channels


@dataclass(frozen=True)
class DecayChannel:
    """Two-body decay channel with relative ``weight`` and the daughters' charge rules."""

    weight: float
    daughters: tuple[Particle, Particle]
    charges: tuple[str, str] = (ZERO, ZERO)


def quark_kinds(b_fraction: float) -> tuple[tuple[float, int], ...]:
    """Kind choices of a quark that is a b quark in ``b_fraction`` of events (semileptonic b decays included)."""
    p = C.DM_GEN_B_SEMILEPTONIC_PROBABILITY
    return ((1.0 - b_fraction, KIND_LIGHT), (b_fraction * (1 - p), KIND_B), (b_fraction * p, KIND_B_SEMILEPTONIC))


def _draw(probabilities: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices drawn with the given (normalised) probabilities, int8."""
    choice = np.zeros(n, dtype=np.int8)
    if probabilities.size > 1:
        u = rng.random(n, dtype=np.float32)
        for edge in np.cumsum(probabilities)[:-1]:
            choice += u >= edge
    return choice


def _kind_table(node: Particle) -> np.ndarray:
    return np.array([k for _, k in node.kind_choices], dtype=np.int8)


def n_slots(node: Particle) -> int:
    """Number of final-state slots of a particle (the largest over its channels)."""
    if node.stable:
        return 1
    return max(sum(n_slots(d) for d in ch.daughters) for ch in node.channels)


def _weights(node: Particle) -> np.ndarray:
    """Probabilities of the choice drawn at ``node``: its decay channels, or its kinds if final state."""
    w = np.array([q for q, _ in node.kind_choices] if node.stable else [ch.weight for ch in node.channels], float)
    return w / w.sum()


def _drawn(node: Particle) -> bool:
    """Is a choice (channel or kind) drawn at this node?"""
    return not node.stable or bool(node.kind_choices)


def choose_channels(node: Particle, path: str, n: int, rng: np.random.Generator, out: dict[str, np.ndarray]) -> None:
    """Draw the decay channel of ``node`` and of every node below it for ``n`` events into ``out[path...]``.

    For a final-state particle with ``kind_choices`` the choice is the index of its kind."""
    if _drawn(node):
        out[path] = _draw(_weights(node), n, rng)
    for c, ch in enumerate(node.channels):
        for k, d in enumerate(ch.daughters):
            choose_channels(d, f"{path}/{c}.{k}", n, rng, out)


def draw_decays(
    nodes: list[tuple[str, Particle]], n: int, rng: np.random.Generator, min_leptons: int = 0
) -> tuple[dict[str, np.ndarray], int, np.ndarray]:
    """Draw the decays of the trees ``nodes`` ((path, particle) pairs) for ``n`` events and keep the events with
    at least ``min_leptons`` electrons and muons: ``(choices, n_rows, events)``, where the choice arrays have
    ``n_rows`` rows and ``events`` are the rows kept.

    Exact, in two stages: the first choice of every tree is drawn for all ``n`` events; events whose first
    choices cannot give ``min_leptons`` (the rest of each tree counted at its maximum) are dropped, and only
    then are the deeper choices drawn, for the remaining events (so the choice arrays may be shorter than
    ``n``: their rows are the events that survived, in order). Cheap when the first choices decide, as for W Z
    -> 3 leptons.
    """
    choices: dict[str, np.ndarray] = {}
    for path, node in nodes:  # the first choice of every tree
        if _drawn(node):
            choices[path] = _draw(_weights(node), n, rng)
    if min_leptons > 0:
        bound = sum(
            (
                _choice_max(node, CHARGED_LEPTON_KINDS)[choices[path]]
                if _drawn(node)
                else _max_count(node, CHARGED_LEPTON_KINDS)
            )
            for path, node in nodes
        )
        rows = np.flatnonzero(np.asarray(bound) >= min_leptons)
        choices = {path: values[rows] for path, values in choices.items()}
        n = rows.size
    for path, node in nodes:
        for c, ch in enumerate(node.channels):
            for k, d in enumerate(ch.daughters):
                choose_channels(d, f"{path}/{c}.{k}", n, rng, choices)
    if min_leptons == 0:
        return choices, n, np.arange(n)
    n_leptons = sum(count_final_state(node, path, choices, n, CHARGED_LEPTON_KINDS) for path, node in nodes)
    return choices, n, np.flatnonzero(np.asarray(n_leptons) >= min_leptons)


@functools.cache
def _max_count(node: Particle, kinds: tuple[int, ...]) -> int:
    """Largest number of final-state particles of ``kinds`` that ``node`` can produce."""
    if node.stable:
        return max(int(k in kinds) for k in (_kind_table(node).tolist() if node.kind_choices else (node.kind,)))
    return max(sum(_max_count(d, kinds) for d in ch.daughters) for ch in node.channels)


@functools.cache
def _choice_max(node: Particle, kinds: tuple[int, ...]) -> np.ndarray:
    """Per choice at ``node`` (channel or kind): the largest number of final-state ``kinds`` below it."""
    if node.stable:
        table = np.isin(_kind_table(node), kinds).astype(np.int16)
    else:
        table = np.array([sum(_max_count(d, kinds) for d in ch.daughters) for ch in node.channels], dtype=np.int16)
    table.setflags(write=False)  # cached: shared by every caller
    return table


#: Largest number of choice combinations of a decay tree tabulated by :func:`count_final_state`.
_MAX_TABLE_SIZE = 4096


@functools.cache
def _all_drawn(node: Particle) -> tuple[tuple[str, Particle], ...]:
    """(path relative to ``node``, node) of every node below and including ``node`` at which a choice is drawn."""
    out = [("", node)] if _drawn(node) else []
    for c, ch in enumerate(node.channels):
        for k, d in enumerate(ch.daughters):
            out += [(f"/{c}.{k}{rel}", x) for rel, x in _all_drawn(d)]
    return tuple(out)


@functools.cache
def _subtree_choices(node: Particle) -> tuple[tuple[str, int], ...]:
    """Relative path and number of possible choices of the nodes of :func:`_all_drawn` with more than one."""
    return tuple((rel, _weights(x).size) for rel, x in _all_drawn(node) if _weights(x).size > 1)


@functools.cache
def _count_table(node: Particle, kinds: tuple[int, ...]) -> np.ndarray | None:
    """The count of final-state ``kinds`` below ``node`` for every combination of its choices (index: the
    mixed-radix number of the choices of :func:`_subtree_choices`, first one most significant), or None if
    there are more than ``_MAX_TABLE_SIZE`` combinations."""
    sizes = [size for _, size in _subtree_choices(node)]
    if math.prod(sizes) > _MAX_TABLE_SIZE:
        return None
    grid = np.indices(sizes).reshape(len(sizes), -1) if sizes else np.zeros((0, 1), np.int64)
    combos = {rel: np.zeros(grid.shape[1], np.int8) for rel, _ in _all_drawn(node)}  # single choices: 0
    combos.update({rel: grid[j].astype(np.int8) for j, (rel, _) in enumerate(_subtree_choices(node))})
    table = _count_by_recursion(node, "", combos, grid.shape[1], kinds)
    table.setflags(write=False)  # cached: shared by every caller
    return table


def count_final_state(
    node: Particle, path: str, choices: dict[str, np.ndarray], n: int, kinds: tuple[int, ...]
) -> np.ndarray:
    """Number of final-state particles of the given ``kinds`` each event will contain below ``node``
    (following the drawn ``choices``; tau leptons count through their decay products), int16.

    By table lookup: the choices below ``node`` form one mixed-radix index into the counts of every
    combination (:func:`_count_table`, built once per tree and ``kinds``)."""
    kinds = tuple(kinds)
    table = _count_table(node, kinds)
    if table is None:
        return _count_by_recursion(node, path, choices, n, kinds)
    index = np.zeros(n, dtype=np.int32)
    for rel, size in _subtree_choices(node):
        index *= size
        index += choices[path + rel]
    return table[index]


def _count_by_recursion(
    node: Particle, path: str, choices: dict[str, np.ndarray], n: int, kinds: tuple[int, ...]
) -> np.ndarray:
    """:func:`count_final_state`, computed down the tree."""
    if not _drawn(node):
        return np.full(n, int(node.kind in kinds), dtype=np.int16)
    chosen = choices[path]
    if node.stable:
        return _choice_max(node, kinds)[chosen]
    # Daughters that are final state without a choice count as constants per channel; the others are added
    # where their channel was taken.
    constant = np.array(
        [sum(int(d.kind in kinds) for d in ch.daughters if not _drawn(d)) for ch in node.channels], dtype=np.int16
    )
    total = constant[chosen]
    for c, ch in enumerate(node.channels):
        for k, d in enumerate(ch.daughters):
            if _drawn(d) and _max_count(d, kinds) > 0:
                total += np.where(
                    chosen == c, _count_by_recursion(d, f"{path}/{c}.{k}", choices, n, kinds), np.int16(0)
                )
    return total


def max_charged_leptons(node: Particle) -> int:
    """Largest number of electrons and muons (including from tau decays) that ``node`` can produce."""
    return _max_count(node, CHARGED_LEPTON_KINDS)


def _charge(rule: str, parent: np.ndarray) -> np.ndarray:
    if rule == SAME:
        return parent
    return np.full(parent.shape, {NEG: -1, POS: 1, ZERO: 0}[rule], dtype=np.int8)


def _daughter_masses(ch: DecayChannel, parent_mass: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    n = parent_mass.size
    masses = []
    for d in ch.daughters:
        if d.width > 0:
            masses.append(breit_wigner_mass(rng, n, d.mass, d.width))
        else:
            masses.append(np.full(n, d.mass))
    # Keep off-shell daughters kinematically allowed (caps the rare far tails of the Breit-Wigner).
    room = parent_mass - 1e-3
    excess = masses[0] + masses[1] - room
    over = excess > 0
    if over.any():
        heavier = 0 if ch.daughters[0].width >= ch.daughters[1].width else 1
        masses[heavier][over] = np.maximum(masses[heavier][over] - excess[over], 0.0)
    return masses


def _merge(node: Particle, parent: vector.MomentumNumpy4D, slots: list[Slot]) -> None:
    """Replace the slots of a hadronic decay whose quarks all lie within the jet radius by one massive jet."""
    merged = slots[0].valid.copy()
    for s in slots:
        merged &= ~s.valid | np.isin(s.kind, _QUARK_LIKE)
    candidates = np.flatnonzero(merged)  # all decay products quark-like: now check the angles
    for s in slots:
        if candidates.size == 0:
            return
        close = (
            four_vectors(s.px[candidates], s.py[candidates], s.pz[candidates], s.energy[candidates]).deltaR(
                parent[candidates]
            )
            < C.DM_GEN_JET_RADIUS
        )
        ok = ~s.valid[candidates] | close
        merged[candidates[~ok]] = False
        candidates = candidates[ok]
    if candidates.size == 0:
        return
    first = slots[0]
    first.px[merged], first.py[merged] = parent.px[merged], parent.py[merged]
    first.pz[merged], first.energy[merged] = parent.pz[merged], parent.E[merged]
    first.kind[merged] = KIND_LIGHT
    first.charge[merged] = 0
    first.merged_mass[merged] = parent.mass[merged]
    for s in slots[1:]:
        s.valid[merged] = False


def realize(
    node: Particle,
    path: str,
    momentum: vector.MomentumNumpy4D,
    charge: np.ndarray,
    events: np.ndarray,
    choices: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> list[Slot]:
    """Final-state slots (``n_slots(node)`` of them) of ``node`` with four-momentum ``momentum``.

    ``events`` are the indices of these entries in the batch (to look up ``choices``), ``charge`` the sign
    carried by the node (int8).
    """
    m = len(momentum)
    if node.stable:
        if node.kind_choices:
            kind = _kind_table(node)[choices[path][events]]
        else:
            kind = np.full(m, node.kind, dtype=np.int8)
        return [Slot.from_p4(momentum, kind, charge)]
    out = [Slot.empty(m) for _ in range(n_slots(node))]
    chosen = choices[path][events]
    parent_mass = np.asarray(momentum.mass, dtype=float)
    for c, ch in enumerate(node.channels):
        sel = np.flatnonzero(chosen == c)
        if sel.size == 0:
            continue
        par = momentum[sel]
        m1, m2 = _daughter_masses(ch, parent_mass[sel], rng)
        d1, d2 = two_body_decay(par, m1, m2, rng)
        slots: list[Slot] = []
        for k, (d, dp) in enumerate(zip(ch.daughters, (d1, d2))):
            slots += realize(d, f"{path}/{c}.{k}", dp, _charge(ch.charges[k], charge[sel]), events[sel], choices, rng)
        if node.mergeable:
            _merge(node, par, slots)
        for target, s in zip(out, slots):
            target.assign(sel, s)
    return out


# --- The Standard Model particles ---------------------------------------------------------------------------

JET = Particle("q", kind=KIND_LIGHT)
B_QUARK = Particle("b", mass=C.M_B_QUARK_GEV, kind=KIND_B, kind_choices=quark_kinds(1.0)[1:])
ELECTRON = Particle("e", kind=KIND_ELECTRON)
MUON = Particle("mu", kind=KIND_MUON)
NEUTRINO = Particle("nu", kind=KIND_NEUTRINO)
PHOTON = Particle("gamma", kind=KIND_PHOTON)
_TAU_JET = Particle("tau_h", kind=KIND_TAU_JET)
_BR_TAU_HADRONIC = 1.0 - C.BR_TAU_TO_E - C.BR_TAU_TO_MU
TAU = Particle(
    "tau",
    mass=C.M_TAU_GEV,
    kind=KIND_TAU,
    channels=(
        DecayChannel(C.BR_TAU_TO_E, (ELECTRON, NEUTRINO), (SAME, ZERO)),
        DecayChannel(C.BR_TAU_TO_MU, (MUON, NEUTRINO), (SAME, ZERO)),
        DecayChannel(_BR_TAU_HADRONIC, (_TAU_JET, NEUTRINO), (SAME, ZERO)),
    ),
)

_BR_W_HADRONS = 1.0 - 3 * C.BR_W_TO_LNU_PER_FLAVOUR
_W_CHANNELS = {
    "enu": DecayChannel(C.BR_W_TO_LNU_PER_FLAVOUR, (ELECTRON, NEUTRINO), (SAME, ZERO)),
    "munu": DecayChannel(C.BR_W_TO_LNU_PER_FLAVOUR, (MUON, NEUTRINO), (SAME, ZERO)),
    "taunu": DecayChannel(C.BR_W_TO_LNU_PER_FLAVOUR, (TAU, NEUTRINO), (SAME, ZERO)),
    "qq": DecayChannel(_BR_W_HADRONS, (JET, JET)),
}
_Z_CHANNELS = {
    "ee": DecayChannel(C.BR_Z_TO_LL_PER_FLAVOUR, (ELECTRON, ELECTRON), (NEG, POS)),
    "mumu": DecayChannel(C.BR_Z_TO_LL_PER_FLAVOUR, (MUON, MUON), (NEG, POS)),
    "tautau": DecayChannel(C.BR_Z_TO_LL_PER_FLAVOUR, (TAU, TAU), (NEG, POS)),
    "nunu": DecayChannel(C.BR_Z_TO_INVISIBLE, (NEUTRINO, NEUTRINO)),
    "qq": DecayChannel(C.BR_Z_TO_HADRONS - C.BR_Z_TO_BB, (JET, JET)),
    "bb": DecayChannel(C.BR_Z_TO_BB, (B_QUARK, B_QUARK)),
}
W_MODES_ALL = tuple(_W_CHANNELS)
Z_MODES_ALL = tuple(_Z_CHANNELS)


def w_boson(modes: tuple[str, ...] = W_MODES_ALL) -> Particle:
    """A W boson (Breit-Wigner line shape) restricted to the decay ``modes`` (names of the W channels:
    ``enu``, ``munu``, ``taunu``, ``qq``), with their relative branching fractions."""
    return Particle("W", C.M_W_GEV, C.GAMMA_W_GEV, channels=tuple(_W_CHANNELS[m] for m in modes), mergeable=True)


def z_boson(
    modes: tuple[str, ...] = Z_MODES_ALL, mass: float = C.M_Z_GEV, width: float = C.GAMMA_Z_GEV, name: str = "Z"
) -> Particle:
    """A Z boson (Breit-Wigner 91.1876 / 2.4952 GeV) restricted to ``modes`` (``ee``, ``mumu``, ``tautau``,
    ``nunu``, ``qq``, ``bb``)."""
    return Particle(name, mass, width, channels=tuple(_Z_CHANNELS[m] for m in modes), mergeable=True)


def top_quark(w_modes: tuple[str, ...] = W_MODES_ALL) -> Particle:
    """A top quark decaying to b W (W restricted to ``w_modes``); the W carries the top's charge sign."""
    return Particle(
        "t",
        C.M_TOP_GEV,
        C.GAMMA_TOP_GEV,
        channels=(DecayChannel(1.0, (B_QUARK, w_boson(w_modes)), (ZERO, SAME)),),
        mergeable=True,
    )
