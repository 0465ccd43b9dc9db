"""Physics objects of the Dark Machines analysis (BumpNet paper, section 2.2.2), vectorised with awkward + vector.

From the NanoAOD-style flat branches of :mod:`hepbump.darkmachines.format` (``Electron_pt``, ``Jet_E``, ...; GeV)
:func:`build_objects` makes, per event, ``vector`` Momentum4D collections ordered by decreasing pT:

* ``Z``: Z-boson candidates, same-flavour opposite-charge lepton pairs with ``|m_ll - 91.18 GeV| < 15 GeV``.
  Several per event when they share no lepton; a lepton that could belong to two candidates goes to the pair
  whose mass is closest to m_Z (greedy by closeness, :func:`z_candidates`). Field ``flavour``: 11 or 13.
* ``e``, ``mu``: the electrons and muons not used by a Z candidate (field ``charge``); ``gamma``: photons.
* ``Vh`` (60 <= m < 110 GeV), ``top`` (110 <= m < 200 GeV), ``HM`` (m >= 200 GeV): jets tagged by their mass
  (:func:`jet_mass_class`); ``j``: the standard jets (m < 60 GeV), b-tagged or not (field ``btag``).
* ``MET``: the missing transverse momentum as a Momentum4D with pz = 0 and m = 0.

Object masses follow from E and p: ``m^2 = E^2 - (pT cosh eta)^2``, clipped at 0.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import awkward as ak
import numpy as np
import vector

from hepbump import constants as C
from hepbump.darkmachines.format import COLLECTION_FIELDS
from hepbump.errors import InputError, MissingEntryError

vector.register_awkward()

__all__ = [
    "OBJECT_TYPES",
    "JET_CLASSES",
    "required_branches",
    "check_branches",
    "mass_from_energy",
    "jet_mass_class",
    "z_candidates",
    "build_objects",
]

log = logging.getLogger(__name__)

#: Object types that define the exclusive categories, in the order used by category keys.
OBJECT_TYPES = ("e", "mu", "gamma", "Z", "Vh", "top", "HM")
#: Jet classes returned by :func:`jet_mass_class` (index = code).
JET_CLASSES = ("j", "Vh", "top", "HM")

#: Flat collections of the on-disk format read here.
_INPUTS = ("Electron", "Muon", "Photon", "Jet")


def required_branches() -> tuple[str, ...]:
    """Branch names :func:`build_objects` needs (the on-disk contract of :mod:`hepbump.darkmachines.format`)."""
    names = ["weight", "MET_pt", "MET_phi"]
    for coll in _INPUTS:
        names += [f"{coll}_{f}" for f in COLLECTION_FIELDS[coll]]
    return tuple(names)


def check_branches(fields: Iterable[str], source: str = "events") -> None:
    """Raise :class:`~hepbump.errors.MissingEntryError` naming every required branch missing from ``fields``.

    ``fields`` are the branches of ``source`` (a file name, used in the message).

    >>> check_branches(["weight", "MET_pt"], "x.root")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hepbump.errors.MissingEntryError: x.root: missing branches MET_phi, Electron_pt, Electron_eta, ...
    """
    have = set(fields)
    missing = [b for b in required_branches() if b not in have]
    if missing:
        raise MissingEntryError(f"{source}: missing branches {', '.join(missing)}")


def mass_from_energy(energy, pt, eta):
    """Invariant mass in GeV from energy, transverse momentum (GeV) and pseudorapidity; ``m^2 < 0`` -> 0.

    >>> float(mass_from_energy(5.0, 3.0, 0.0))
    4.0
    >>> float(mass_from_energy(1.0, 3.0, 0.0))
    0.0
    """
    p = pt * np.cosh(eta)
    return np.sqrt(np.maximum((energy - p) * (energy + p), 0.0))


def jet_mass_class(mass) -> np.ndarray:
    """Class code of jets by mass (GeV): 0 standard (< 60), 1 V_h [60, 110), 2 top [110, 200), 3 HM (>= 200).

    Intervals are closed below, open above.

    >>> jet_mass_class([59.99, 60.0, 109.99, 110.0, 199.99, 200.0]).tolist()
    [0, 1, 1, 2, 2, 3]
    """
    return np.digitize(np.asarray(mass, dtype=float), C.JET_MASS_CLASS_EDGES_GEV, right=False).astype(np.int8)


def _check_finite(events: ak.Array, branches: Iterable[str], source: str) -> None:
    for name in branches:
        values = ak.to_numpy(ak.flatten(events[name], axis=None))
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            raise InputError(f"{source}: branch {name} contains NaN or infinite values")


def _momenta(events: ak.Array, coll: str, extra: dict[str, str]) -> ak.Array:
    pt = ak.values_astype(events[f"{coll}_pt"], np.float64)
    eta = ak.values_astype(events[f"{coll}_eta"], np.float64)
    energy = ak.values_astype(events[f"{coll}_E"], np.float64)
    fields = {
        "pt": pt,
        "eta": eta,
        "phi": ak.values_astype(events[f"{coll}_phi"], np.float64),
        "mass": mass_from_energy(energy, pt, eta),
    }
    for name, branch in extra.items():
        fields[name] = events[branch]
    return ak.zip(fields, with_name="Momentum4D")


def _sort_pt(objects: ak.Array) -> ak.Array:
    return objects[ak.argsort(objects.pt, axis=1, ascending=False, stable=True)]


def z_candidates(leptons: ak.Array, window_gev: float = C.Z_WINDOW_GEV) -> tuple[ak.Array, ak.Array]:
    """Z candidates among same-flavour ``leptons`` (Momentum4D with ``charge``), and the leptons they use.

    Opposite-charge pairs with ``|m - M_Z_CANDIDATE_GEV| < window_gev`` are accepted greedily: in each round
    every event takes its available pair closest to m_Z, and pairs sharing a lepton with it become unavailable.
    Rounds are array operations over all events; their number is bounded by half the largest lepton count.
    Returns ``(pairs, used)``: ``pairs`` jagged records ``i``, ``j`` (lepton indices) and
    ``used`` a jagged boolean per lepton.

    >>> mu = ak.zip({"pt": [[45.0, 45.0, 40.0]], "eta": [[0.0, 0.0, 1.0]], "phi": [[0.0, 3.1, 1.5]],
    ...              "mass": [[0.1, 0.1, 0.1]], "charge": [[1, -1, -1]]}, with_name="Momentum4D")
    >>> pairs, used = z_candidates(mu)
    >>> pairs.i.tolist(), pairs.j.tolist(), used.tolist()
    ([[0]], [[1]], [[True, True, False]])
    """
    pairs = ak.argcombinations(leptons, 2, fields=["i", "j"], axis=1)
    first, second = leptons[pairs.i], leptons[pairs.j]
    distance = abs((first + second).mass - C.M_Z_CANDIDATE_GEV)
    available = (first.charge * second.charge < 0) & (distance < window_gev)
    accepted = ak.zeros_like(available)
    pair_index = ak.local_index(available, axis=1)
    n_rounds = 0
    while ak.any(available):
        n_rounds += 1
        has = ak.any(available, axis=1)
        best = ak.where(has, ak.fill_none(ak.argmin(ak.where(available, distance, np.inf), axis=1), -1), -1)
        chosen = pair_index == best
        accepted = accepted | chosen
        bi = ak.fill_none(ak.firsts(pairs.i[chosen]), -1)
        bj = ak.fill_none(ak.firsts(pairs.j[chosen]), -1)
        shares = (pairs.i == bi) | (pairs.i == bj) | (pairs.j == bi) | (pairs.j == bj)
        available = available & ~chosen & ~shares
    log.debug("Z candidates: %d greedy rounds", n_rounds)
    chosen_pairs = pairs[accepted]
    lepton_index = ak.local_index(leptons.pt, axis=1)
    grid = ak.cartesian([lepton_index, ak.concatenate([chosen_pairs.i, chosen_pairs.j], axis=1)], nested=True)
    used = ak.any(grid["0"] == grid["1"], axis=2)
    return chosen_pairs, used


def _z_from(leptons: ak.Array, flavour: int) -> tuple[ak.Array, ak.Array]:
    pairs, used = z_candidates(leptons)
    z = leptons[pairs.i] + leptons[pairs.j]
    z = ak.zip(
        {"pt": z.pt, "eta": z.eta, "phi": z.phi, "mass": z.mass, "flavour": ak.full_like(z.pt, flavour, dtype=np.int8)},
        with_name="Momentum4D",
    )
    return z, leptons[~used]


def build_objects(events: ak.Array, source: str = "events") -> ak.Array:
    """All analysis objects of each event from the flat branches (see the module docstring).

    Returns an ``ak.Array`` of records with fields ``e``, ``mu``, ``gamma``, ``Z``, ``Vh``, ``top``, ``HM``,
    ``j`` (Momentum4D collections ordered by decreasing pT), ``MET`` (Momentum4D) and ``weight``.
    Missing branches raise ``KeyError`` and non-finite kinematics ``ValueError``, naming ``source``.
    """
    check_branches(ak.fields(events), source)
    _check_finite(events, [b for b in required_branches() if not b.endswith(("charge", "btag"))], source)
    electrons = _momenta(events, "Electron", {"charge": "Electron_charge"})
    muons = _momenta(events, "Muon", {"charge": "Muon_charge"})
    photons = _momenta(events, "Photon", {})
    jets = _momenta(events, "Jet", {"btag": "Jet_btag"})

    z_ee, electrons = _z_from(electrons, 11)
    z_mm, muons = _z_from(muons, 13)
    z_all = _sort_pt(ak.concatenate([z_ee, z_mm], axis=1))

    jet_class = ak.unflatten(jet_mass_class(ak.to_numpy(ak.flatten(jets.mass))), ak.num(jets, axis=1))
    met_pt = ak.values_astype(events["MET_pt"], np.float64)
    met = ak.zip(
        {
            "pt": met_pt,
            "eta": ak.zeros_like(met_pt),
            "phi": ak.values_astype(events["MET_phi"], np.float64),
            "mass": ak.zeros_like(met_pt),
        },
        with_name="Momentum4D",
    )
    out = {
        "e": electrons,
        "mu": muons,
        "gamma": photons,
        "Z": z_all,
        "Vh": jets[jet_class == 1],
        "top": jets[jet_class == 2],
        "HM": jets[jet_class == 3],
        "j": jets[jet_class == 0],
        "MET": met,
        "weight": ak.values_astype(events["weight"], np.float64),
    }
    return ak.zip(out, depth_limit=1)
