"""The detector resolution model of hepbump, in one place, and the resolution-based mass binning.

Relative transverse-momentum resolutions ``sigma_pT / pT`` per elementary object kind (all momenta in GeV):

* ``"photon"``: the Delphes ATLAS-card ECAL, ``sigma_E/E = sqrt(C^2 + S^2/E)`` with ``E = pT cosh(eta)``.
* ``"electron"``: the Delphes ATLAS-card track resolution ``sqrt(a^2 + (b pT)^2)`` combined with the ECAL
  measurement by inverse-variance weighting (``1/r^2 = 1/r_track^2 + 1/r_ECAL^2``).
* ``"muon"``: the Delphes ATLAS-card muon resolution ``sqrt(a^2 + (b pT)^2)`` per ``|eta|`` region.
* ``"jet"``: an ATLAS-like jet energy resolution ``N/pT (+) S/sqrt(pT) (+) C`` (added in quadrature).

The numbers live in :mod:`hepbump.constants`. ``eta`` defaults to 0 (central detector); values beyond the last
tabulated ``|eta|`` region use that region's parameters.

Mass binning (BumpNet paper, section 2.2.2): a bin starting at mass ``m`` has the width

    width(m) = 0.5 * sqrt( sum_i sigma_i^2(pT = m/2) ),   sigma_i(pT) = pT * relative_resolution(kind_i, pT)

summed over the elementary constituents of the objects in the combination (:data:`COMPOSITION`: a ``Vh`` is two
jets, ``top`` and ``HM`` three jets, a ``Z`` one electron and one muon, i.e. the mean of the ee and mumu pair
resolutions) and, for a MassMET histogram, over the constituents of all objects in the event (the MET resolution
is the quadratic sum of the resolutions of all objects in the event).

>>> round(float(relative_resolution("jet", 100.0)), 5)  # sqrt((3.5/100)^2 + 0.75^2/100 + 0.025^2)
0.08646
>>> edges = resolution_bin_edges(["j", "j"], 100.0, 110.0)
>>> bool(np.isclose(edges[1] - edges[0], bin_width(["j", "j"], 100.0)))
True
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from hepbump import constants as C
from hepbump.errors import InputError

__all__ = [
    "KINDS",
    "COMPOSITION",
    "relative_resolution",
    "constituents",
    "mass_resolution",
    "bin_width",
    "resolution_bin_edges",
]

#: Elementary object kinds with a resolution.
KINDS = ("electron", "muon", "photon", "jet")

#: Elementary constituents of every object type that enters a mass combination. Keys are the object-type names
#: used throughout hepbump (``e``, ``mu``, ``gamma``, ``Z``, ``Vh``, ``top``, ``HM``; ``j`` any standard jet,
#: ``lj`` a light (not b-tagged) standard jet, ``b`` a b-tagged standard jet).
COMPOSITION: dict[str, tuple[str, ...]] = {
    "e": ("electron",),
    "mu": ("muon",),
    "gamma": ("photon",),
    "Z": ("electron", "muon"),
    "Vh": ("jet", "jet"),
    "top": ("jet", "jet", "jet"),
    "HM": ("jet", "jet", "jet"),
    "j": ("jet",),
    "lj": ("jet",),
    "b": ("jet",),
}


def _quadratic(pt: np.ndarray, abs_eta: np.ndarray, table: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """``sqrt(a^2 + (b pT)^2)`` with ``(a, b)`` chosen by ``|eta|`` region (beyond the table: last region)."""
    upper = np.array([row[0] for row in table])
    region = np.minimum(np.searchsorted(upper, abs_eta, side="left"), len(table) - 1)
    a = np.array([row[1] for row in table])[region]
    b = np.array([row[2] for row in table])[region]
    return np.sqrt(a**2 + (b * pt) ** 2)


def _ecal(pt: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    energy = pt * np.cosh(abs_eta)
    return np.sqrt(C.ECAL_CONSTANT_TERM**2 + C.ECAL_STOCHASTIC_TERM_SQRTGEV**2 / energy)


def relative_resolution(kind: str, pt, eta=0.0) -> np.ndarray:
    """Relative transverse-momentum resolution ``sigma_pT / pT`` (dimensionless) of an object of ``kind``.

    ``pt`` in GeV (array-like, > 0), ``eta`` (array-like, broadcast against ``pt``). Returns a float array of the
    broadcast shape.

    >>> np.round(relative_resolution("muon", [10.0, 1000.0]), 4).tolist()  # sqrt(0.01^2 + (1e-4 pT)^2)
    [0.01, 0.1005]
    >>> round(float(relative_resolution("photon", 101.0)), 5)  # sqrt(0.0017^2 + 0.101^2/101)
    0.01019
    """
    pt_arr, eta_arr = np.broadcast_arrays(np.asarray(pt, dtype=float), np.asarray(eta, dtype=float))
    if not np.all(np.isfinite(pt_arr)) or np.any(pt_arr <= 0):
        raise InputError(f"relative_resolution({kind!r}): pT must be finite and > 0 GeV")
    if not np.all(np.isfinite(eta_arr)):
        raise InputError(f"relative_resolution({kind!r}): eta must be finite")
    abs_eta = np.abs(eta_arr)
    if kind == "photon":
        return _ecal(pt_arr, abs_eta)
    if kind == "electron":
        track = _quadratic(pt_arr, abs_eta, C.ELECTRON_TRACK_RESOLUTION)
        return 1.0 / np.sqrt(1.0 / track**2 + 1.0 / _ecal(pt_arr, abs_eta) ** 2)
    if kind == "muon":
        return _quadratic(pt_arr, abs_eta, C.MUON_RESOLUTION)
    if kind == "jet":
        return np.sqrt(
            (C.JET_NOISE_TERM_GEV / pt_arr) ** 2 + C.JET_STOCHASTIC_TERM_SQRTGEV**2 / pt_arr + C.JET_CONSTANT_TERM**2
        )
    raise InputError(f"unknown object kind {kind!r} for the resolution model; known: {', '.join(KINDS)}")


def constituents(object_types: Iterable[str]) -> Counter:
    """Count the elementary kinds making up ``object_types`` (names of :data:`COMPOSITION`).

    >>> sorted(constituents(["Vh", "e", "b"]).items())
    [('electron', 1), ('jet', 3)]
    """
    counts: Counter = Counter()
    for name in object_types:
        try:
            counts.update(COMPOSITION[name])
        except KeyError:
            raise InputError(
                f"unknown object type {name!r} in a mass combination; known: {', '.join(COMPOSITION)}"
            ) from None
    return counts


def _sigma2(kinds: Counter, m: np.ndarray) -> np.ndarray:
    half = 0.5 * m
    total = np.zeros_like(half)
    for kind, n in kinds.items():
        total += n * (half * relative_resolution(kind, half)) ** 2
    return total


def mass_resolution(object_types: Iterable[str], m, met_types: Iterable[str] | None = None) -> np.ndarray:
    """Approximate resolution ``sigma(m)`` in GeV of the invariant mass ``m`` (GeV) of a combination.

    ``sigma(m)^2 = sum_i sigma_i^2(pT = m/2)`` over the constituents of ``object_types``; with ``met_types`` (all
    object types of the event) the MET term, itself the quadratic sum over those objects, is added.

    >>> round(float(mass_resolution(["j", "j"], 200.0)), 3)  # sqrt(2) * 100 GeV * 0.08646
    12.227
    """
    m_arr = np.asarray(m, dtype=float)
    if np.any(~np.isfinite(m_arr)) or np.any(m_arr <= 0):
        raise InputError("mass_resolution: masses must be finite and > 0 GeV")
    total = _sigma2(constituents(object_types), m_arr)
    if met_types is not None:
        total = total + _sigma2(constituents(met_types), m_arr)
    return np.sqrt(total)


def bin_width(object_types: Iterable[str], m, met_types: Iterable[str] | None = None) -> np.ndarray:
    """Width in GeV of the bin starting at mass ``m``: half of :func:`mass_resolution`."""
    return 0.5 * mass_resolution(object_types, m, met_types)


#: Points per e-fold of the geometric mass grid on which sigma^2(m) is tabulated for the edge recursion
#: (linear interpolation; relative precision of the widths better than 1e-6).
_GRID_PER_EFOLD = 1000


@functools.lru_cache(maxsize=64)
def _kind_tables(m_min: float, m_max: float) -> tuple[float, float, dict[str, np.ndarray]]:
    """Geometric grid ``m_min * ratio**i`` up to ``2 m_max`` and sigma^2(pT = m/2) of one object of each kind."""
    # The last bin may start just below m_max and reach up to ~m_max + width(m_max); tabulate beyond it.
    top = 2.0 * m_max
    n = int(_GRID_PER_EFOLD * np.log(top / m_min)) + 2
    grid = np.geomspace(m_min, top, n)
    tables = {kind: _sigma2(Counter({kind: 1}), grid) for kind in KINDS}
    return float(np.log(grid[1] / grid[0])), float(n), tables


@functools.lru_cache(maxsize=4096)
def _edges_cached(kinds: tuple[tuple[str, int], ...], m_min: float, m_max: float, max_bins: int) -> np.ndarray:
    log_step, n_grid, tables = _kind_tables(m_min, m_max)
    sigma2 = np.zeros(int(n_grid))
    for kind, count in kinds:
        sigma2 += count * tables[kind]
    half_width = (0.5 * np.sqrt(sigma2)).tolist()
    last = len(half_width) - 2
    edges = [m_min]
    m = m_min
    log_min = math.log(m_min)
    while m < m_max:
        if len(edges) > max_bins:
            raise InputError(
                f"resolution binning of {dict(kinds)} over [{m_min}, {m_max}] GeV needs more than {max_bins} bins"
            )
        x = (math.log(m) - log_min) / log_step
        i = min(int(x), last)
        lo = m_min * math.exp(i * log_step)
        hi = m_min * math.exp((i + 1) * log_step)
        t = (m - lo) / (hi - lo)
        m = m + half_width[i] + t * (half_width[i + 1] - half_width[i])
        edges.append(m)
    out = np.array(edges)
    out.flags.writeable = False
    return out


def resolution_bin_edges(
    object_types: Sequence[str],
    m_min: float = C.MASS_HIST_MIN_GEV,
    m_max: float = C.MASS_HIST_MAX_GEV,
    met_types: Sequence[str] | None = None,
    *,
    max_bins: int = 20000,
) -> np.ndarray:
    """Variable bin edges (GeV) from ``m_min`` upward, each bin as wide as :func:`bin_width` at its lower edge.

    The last edge is the first one at or beyond ``m_max``. Results are cached (the array is read-only); the
    edges depend only on the multiset of elementary constituents (plus the MET constituents, if any).

    >>> e = resolution_bin_edges(["mu", "mu"], 100.0, 101.0)
    >>> [round(float(x), 4) for x in e[:2]]  # 100 + 0.5 * sqrt(2) * 50 * sqrt(0.01^2 + 0.005^2)
    [100.0, 100.3953]
    """
    if not (np.isfinite(m_min) and np.isfinite(m_max) and 0 < m_min < m_max):
        raise InputError(f"resolution_bin_edges: need 0 < m_min < m_max, got [{m_min}, {m_max}] GeV")
    kinds = constituents(object_types)
    if met_types is not None:
        kinds = kinds + constituents(met_types)
    if not kinds:
        raise InputError("resolution_bin_edges: the combination has no objects")
    return _edges_cached(tuple(sorted(kinds.items())), float(m_min), float(m_max), int(max_bins))
