"""Object combinations, resolution-binned mass axes, trimming and selection of the DM mass histograms.

BumpNet paper, section 2.2.2: in every subcategory, one invariant-mass histogram per combination of at least two
objects among the category objects (e, mu, gamma, Z, V_h, top, HM) and the four leading standard jets, plus the
*MassMET* histogram of the same objects and the MET four-vector (pz = 0, m = 0). When the selection requires
b-jets, combinations are also built with flavour-labelled jets (leading b-tagged ``b0, b1`` and light
``lj0, lj1`` standard jets). Opposite-charge same-flavour dilepton masses go into two histograms, 10-76 GeV and
> 106 GeV (around the Z window); same-sign pairs into the full-range one.

Object labels are a type and a 0-based pT rank: ``mu0`` the leading non-Z muon, ``j2`` the third standard jet,
``b0`` the leading b-tagged standard jet. Combination names join labels with ``_`` and add ``_MET`` for MassMET,
``_m10to76`` / ``_m106up`` for the dilepton ranges, e.g. ``mu0_b0``, ``e0_j0_j1_MET``, ``mu0_mu1_m106up``.

Bin edges follow :func:`~hepbump.darkmachines.resolution.resolution_bin_edges`. The MET term of a MassMET histogram
is the quadratic sum over the objects of the category (its e, mu, gamma, Z, V_h, top, HM) and the jets of the
combination: standard jets outside the combination are left out so that the binning does not depend on the
jet-multiplicity split, which is decided after filling on the whole dataset.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

import numpy as np

from hepbump import constants as C
from hepbump.darkmachines.categories import Category, effective_events
from hepbump.darkmachines.objects import OBJECT_TYPES
from hepbump.darkmachines.resolution import resolution_bin_edges
from hepbump.errors import InputError

__all__ = [
    "JET_LABEL_TYPES",
    "Combination",
    "combinations_for",
    "trim_after_maximum",
    "passes_selection",
]

#: Label types of standard jets: any flavour, light (not b-tagged), b-tagged.
JET_LABEL_TYPES = ("j", "lj", "b")
_LABEL_RE = re.compile(r"^(" + "|".join(OBJECT_TYPES + JET_LABEL_TYPES) + r")(\d+)$")
_RANGES = {"full": "", "low": "_m10to76", "high": "_m106up"}


@functools.cache
def split_label(label: str) -> tuple[str, int]:
    """``"mu1"`` -> ``("mu", 1)``; unknown labels raise ``ValueError``."""
    m = _LABEL_RE.match(label)
    if not m:
        raise InputError(f"invalid object label {label!r}")
    return m.group(1), int(m.group(2))


@dataclass(frozen=True)
class Combination:
    """Objects whose summed four-momentum gives the mass, with or without MET, and the mass range.

    >>> c = Combination.from_name("mu0_mu1_m106up")
    >>> c.objects, c.met, c.mass_range, c.range_gev
    (('mu0', 'mu1'), False, 'high', (106.0, 8000.0))
    >>> Combination(("e0", "b0"), met=True).name
    'e0_b0_MET'
    """

    objects: tuple[str, ...]
    met: bool = False
    mass_range: str = "full"

    def __post_init__(self) -> None:
        object.__setattr__(self, "objects", tuple(self.objects))
        if len(self.objects) < 2 or len(set(self.objects)) != len(self.objects):
            raise InputError(f"a combination needs at least two distinct objects, got {self.objects}")
        for label in self.objects:
            split_label(label)
        if self.mass_range not in _RANGES:
            raise InputError(f"mass_range must be one of {tuple(_RANGES)}, got {self.mass_range!r}")
        if self.mass_range != "full" and (self.met or not self.is_same_flavour_dilepton):
            raise InputError("the split mass ranges apply to same-flavour dilepton masses without MET only")

    @property
    def name(self) -> str:
        return "_".join(self.objects) + ("_MET" if self.met else "") + _RANGES[self.mass_range]

    @classmethod
    def from_name(cls, name: str) -> Combination:
        parts = name.split("_")
        mass_range = "full"
        for key, suffix in _RANGES.items():
            if suffix and name.endswith(suffix):
                mass_range, parts = key, parts[:-1]
        met = bool(parts) and parts[-1] == "MET"
        if met:
            parts = parts[:-1]
        try:
            return cls(tuple(parts), met, mass_range)
        except ValueError as exc:
            raise InputError(f"invalid combination name {name!r}: {exc}") from None

    @functools.cached_property
    def types(self) -> tuple[str, ...]:
        return tuple(split_label(label)[0] for label in self.objects)

    @property
    def is_same_flavour_dilepton(self) -> bool:
        types = self.types
        return len(types) == 2 and types[0] == types[1] and types[0] in ("e", "mu")

    @property
    def is_flavour_aware(self) -> bool:
        return any(t in ("b", "lj") for t in self.types)

    @property
    def range_gev(self) -> tuple[float, float]:
        if self.mass_range == "low":
            return C.DILEPTON_LOW_RANGE_GEV
        if self.mass_range == "high":
            return (C.DILEPTON_HIGH_MIN_GEV, C.MASS_HIST_MAX_GEV)
        return (C.MASS_HIST_MIN_GEV, C.MASS_HIST_MAX_GEV)

    def edges(self, category: Category) -> np.ndarray:
        """Resolution-based bin edges (GeV) of this combination in ``category`` (read-only, cached)."""
        return _edges(self, category.counts)


def _edges(combination: Combination, counts: tuple[int, ...]) -> np.ndarray:
    types = tuple(sorted("j" if t in JET_LABEL_TYPES else t for t in combination.types))
    met_types = None
    if combination.met:
        met_types = tuple(t for t, n in zip(OBJECT_TYPES, counts) for _ in range(n)) + tuple(
            t for t in types if t == "j"
        )
    return _edges_signature(types, met_types, combination.mass_range)


@functools.lru_cache(maxsize=65536)
def _edges_signature(types: tuple[str, ...], met_types: tuple[str, ...] | None, mass_range: str) -> np.ndarray:
    lo, hi = Combination(("e0", "e1"), mass_range=mass_range).range_gev
    edges = resolution_bin_edges(types, lo, hi, met_types)
    if mass_range == "low":
        # A closed range: the last bin ends at the range's upper edge.
        edges = np.append(edges[edges < hi], hi)
        edges.flags.writeable = False
    return edges


@functools.lru_cache(maxsize=16384)
def combinations_for(
    category: Category,
    flavour_aware: bool,
    max_jets: int = C.COMBINATION_MAX_JETS,
    flavour_jets: int = C.COMBINATION_FLAVOUR_JETS,
    max_per_type: int = C.COMBINATION_MAX_PER_TYPE,
    max_objects: int = C.COMBINATION_MAX_OBJECTS,
) -> tuple[Combination, ...]:
    """All combinations to fill for the events of a base ``category``.

    ``flavour_aware=False``: the category objects (at most ``max_per_type`` leading ones per type) and the
    ``max_jets`` leading standard jets. ``True``: the combinations that contain at least one flavour-labelled jet
    (``b0..``, ``lj0..``, ``flavour_jets`` of each). Between 2 and ``max_objects`` objects; each also with MET.

    >>> cat = Category.from_key("2mu_OS")
    >>> names = [c.name for c in combinations_for(cat, False, max_jets=1)]
    >>> names[:5]
    ['mu0_mu1_m10to76', 'mu0_mu1_m106up', 'mu0_mu1_MET', 'mu0_j0', 'mu0_j0_MET']
    >>> names[5:]
    ['mu1_j0', 'mu1_j0_MET', 'mu0_mu1_j0', 'mu0_mu1_j0_MET']
    """
    labels = [f"{t}{i}" for t, n in zip(OBJECT_TYPES, category.counts) for i in range(min(n, max_per_type))]
    if flavour_aware:
        jets = [f"b{i}" for i in range(flavour_jets)] + [f"lj{i}" for i in range(flavour_jets)]
    else:
        jets = [f"j{i}" for i in range(max_jets)]
    n_same = {t: n for t, n in zip(OBJECT_TYPES, category.counts)}
    out: list[Combination] = []
    for size in range(2, max_objects + 1):
        for objects in itertools.combinations(labels + jets, size):
            combo = Combination(objects)
            if flavour_aware and not combo.is_flavour_aware:
                continue
            if combo.is_same_flavour_dilepton:
                # Two leptons: the category's charge tells; three or more: both signs occur.
                opposite = category.charge != "SS" or n_same[combo.types[0]] > 2
                same = category.charge != "OS" or n_same[combo.types[0]] > 2
                if same:
                    out.append(combo)
                if opposite:
                    out += [Combination(objects, mass_range="low"), Combination(objects, mass_range="high")]
            else:
                out.append(combo)
            out.append(Combination(objects, met=True))
    return tuple(out)


def trim_after_maximum(counts, variances, edges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the bins from the histogram maximum (first one if tied) to the last non-empty bin, inclusive.

    BumpNet looks for bumps on falling spectra: the rising part before the maximum is dropped, and so are the
    empty bins beyond the last filled one.

    >>> c, v, e = trim_after_maximum([1, 5, 3, 0, 2, 0, 0], [1, 5, 3, 0, 2, 0, 0], [0, 1, 2, 3, 4, 5, 6, 7])
    >>> c.tolist(), e.tolist()
    ([5.0, 3.0, 0.0, 2.0], [1.0, 2.0, 3.0, 4.0, 5.0])
    """
    counts = np.asarray(counts, dtype=float)
    variances = np.asarray(variances, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if counts.size == 0 or not np.any(counts != 0):
        return counts[:0], variances[:0], edges[:1]
    first = int(np.argmax(counts))
    last = int(np.flatnonzero(counts != 0)[-1])
    return counts[first : last + 1], variances[first : last + 1], edges[first : last + 2]


def passes_selection(counts, variances, min_events: float = C.HIST_MIN_EVENTS, min_bins: int = C.HIST_MIN_BINS) -> bool:
    """At least ``min_events`` effective events ``(sum w)^2 / sum w^2`` and at least ``min_bins`` bins.

    >>> passes_selection(np.ones(31) * 4, np.ones(31) * 4), passes_selection(np.ones(30) * 4, np.ones(30) * 4)
    (True, False)
    """
    counts = np.asarray(counts, dtype=float)
    if counts.size < min_bins:
        return False
    return bool(effective_events(counts.sum(), np.sum(variances)) >= min_events)
