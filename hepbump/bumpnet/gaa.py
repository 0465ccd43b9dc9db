"""The Global Analysis Algorithm (GAA) of the BumpNet paper, section 4.2: families of correlated excesses.

Many histograms are scanned, so some show large false-positive excesses (the look-elsewhere effect). A real
resonance, though, shows up "at the same mass value and for the same object combination in statistically
uncorrelated histograms", which "is highly unlikely to result from random false-positive fluctuations". The GAA
keeps only excesses that come in such families. The paper's description, and the rules implemented here
(:func:`run_gaa`, :func:`find_families`, settings in :class:`GAAConfig`):

1. **Seeds.** "The GAA starts with a list of 'seed' histograms that have a maximal significance predicted by
   BumpNet above a certain threshold, which is selected to be 5 sigma": rows of the scan with
   ``Z_max >= seed_threshold`` (default 5), taken in decreasing ``Z_max``.

2. **Members.** "It then iterates through all other histograms with a maximal significance exceeding another,
   potentially lower threshold, within the same mass region as the seed histogram (in this paper, 5 sigma is
   also used for that threshold). A tolerance of two histogram bins is used to define a 'family'": every other
   histogram with ``Z_max >= member_threshold`` (default 5) whose mass at ``Z_max`` (its bin centre) lies within
   ``mass_tolerance_bins`` (default 2) bins of the seed's bin, counted in the seed's binning: in
   ``[edges[b - 2], edges[b + 3])`` for the seed's bin ``b`` (clipped to the histogram). The bins are about the
   mass resolution wide (half of it, paper section 2.2.2), so the tolerance is in resolution units at any mass.

3. **Common object combination.** "The GAA then examines all histograms in a family to determine whether there
   is a common combination of objects of the same type used in computing the invariant-mass (e.g., the
   invariant-mass of a lepton and a b-jet). For example, electrons and muons are considered objects of the same
   type, as are b-jets and generic jets. Histograms that do not share the same object combination for the mass
   calculation as the majority in the family are rejected." The *signature* of a histogram is the multiset of
   the types of the objects of its mass, with ``e`` and ``mu`` both ``lepton`` and ``j``, ``b`` and ``lj``
   (any, b-tagged and light standard jets) all ``jet`` (:data:`DEFAULT_OBJECT_CLASSES`; other types, ``gamma``,
   ``Z``, ``Vh``, ``top``, ``HM``, stay themselves), plus ``MET`` for a MassMET histogram: ``mu0_b0`` and
   ``e1_j0`` are both ``jet+lepton``, ``mu0_b0_MET`` is ``jet+lepton+MET``. The objects come from the histogram
   metadata ``objects``/``with_met`` written by ``hepbump dm histograms`` (else from the name,
   ``CATEGORY__COMBINATION``); histograms whose objects are unknown share the signature ``unknown``. The
   majority is counted in statistically independent histograms (after rule 4 within each signature), so that
   one fluctuation copied into nested selections does not outvote independent histograms; a tie goes to the
   seed's signature, then to the signature of the highest ``Z_max``. Histograms of the other signatures leave
   the family and stay available to later seeds.

4. **Correlated selections.** "If pairs of histograms within a family are statistically correlated - which can
   occur due to some selections being inclusive - only one of the correlated histograms is retained." Two
   histograms are correlated when their events can overlap: same source file, same channel and same *base*
   category (the exclusive object-count category, e.g. ``2mu_OS``), and overlapping standard-jet multiplicities.
   Within a base category every kinematic selection (b-jet, MET and leading-pT thresholds) is a lower threshold,
   so any two of them share events (``2mu_OS_3j`` contains ``2mu_OS_1b_3j``); the jet-multiplicity
   subcategories ``0j, 1j, ..., geKj`` are exclusive (the paper exploits "correlations of true BSM signals
   occurring at the same mass value and object combination across neighboring jet bins", e.g. its exclusive
   2-jet and 3-jet W' histograms, "statistically uncorrelated"), so ``2mu_OS_1b_2j`` and ``2mu_OS_1b_3j`` are
   independent while ``2mu_OS_ge2j`` and ``2mu_OS_1b_3j`` are not. Histograms of different base categories
   (``1e_1mu_OS`` and ``2mu_OS``) or different files are independent. With
   ``correlated_same_combination_only=True`` only histograms of the same combination name (``mu0_b0``) are
   deduplicated. Of each set of correlated histograms the most significant is kept (greedily, in decreasing
   ``Z_max``: a histogram is kept unless it is correlated with one already kept). Histograms without category
   information are independent of all others.

5. **Families of at least two.** "The GAA requires at least two histograms to establish a correlation":
   a family survives with at least ``min_family_size`` (default 2) histograms left after rules 3 and 4. Its
   histograms (kept and correlated copies) are then used up; a seed that fails is used up with its correlated
   copies, its other candidates stay available to later seeds.

>>> import numpy as np
>>> from hepbump.bumpnet.scan import ScanTable
>>> names = ("2mu_OS_1b_2j__mu0_b0", "2mu_OS_1b_3j__mu1_b0", "2mu_OS_3j__mu0_j0")
>>> edges, n = np.linspace(100.0, 1100.0, 51), len(names)
>>> table = ScanTable(names, ("f.root",) * n, np.array([7.0, 6.0, 5.5]), np.array([20, 21, 20]), np.zeros(n, int),
...                   (np.zeros(50),) * n, (np.ones(50),) * n, (edges,) * n, ({},) * n)
>>> [(f.names, f.signature, [m.name for m, _ in f.rejected_correlated]) for f in find_families(table)]
[(('2mu_OS_1b_2j__mu0_b0', '2mu_OS_1b_3j__mu1_b0'), 'jet+lepton', ['2mu_OS_3j__mu0_j0'])]
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepbump.bumpnet.scan import ScanTable
from hepbump.errors import InputError

__all__ = [
    "DEFAULT_OBJECT_CLASSES",
    "Family",
    "GAAConfig",
    "GAAResult",
    "HistogramInfo",
    "Member",
    "describe",
    "find_families",
    "run_gaa",
]

log = logging.getLogger(__name__)

#: Object types considered the same in the combination rule: electrons ~ muons, b-tagged ~ light ~ any jets.
DEFAULT_OBJECT_CLASSES: tuple[tuple[str, str], ...] = (
    ("e", "lepton"),
    ("mu", "lepton"),
    ("j", "jet"),
    ("b", "jet"),
    ("lj", "jet"),
)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class GAAConfig:
    """Settings of the GAA (defaults: the paper's, section 4.2).

    ``object_classes`` maps object types (``e``, ``mu``, ``j``, ``b``, ``lj``, ``gamma``, ``Z``, ``Vh``,
    ``top``, ``HM``) to the class used by the combination rule; unlisted types are their own class.

    >>> GAAConfig().seed_threshold, GAAConfig().member_threshold, GAAConfig().mass_tolerance_bins
    (5.0, 5.0, 2)
    """

    seed_threshold: float = 5.0
    member_threshold: float = 5.0
    mass_tolerance_bins: int = 2
    min_family_size: int = 2
    object_classes: tuple[tuple[str, str], ...] = DEFAULT_OBJECT_CLASSES
    correlated_same_combination_only: bool = False

    def __post_init__(self) -> None:
        for name in ("seed_threshold", "member_threshold"):
            if not np.isfinite(getattr(self, name)):
                raise InputError(f"GAAConfig.{name} must be a finite number")
        if self.mass_tolerance_bins < 0:
            raise InputError("GAAConfig.mass_tolerance_bins must be >= 0")
        if self.min_family_size < 1:
            raise InputError("GAAConfig.min_family_size must be >= 1")
        object.__setattr__(self, "object_classes", tuple((str(a), str(b)) for a, b in self.object_classes))

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed_threshold": self.seed_threshold,
            "member_threshold": self.member_threshold,
            "mass_tolerance_bins": self.mass_tolerance_bins,
            "min_family_size": self.min_family_size,
            "object_classes": dict(self.object_classes),
            "correlated_same_combination_only": self.correlated_same_combination_only,
        }


@dataclass(frozen=True)
class HistogramInfo:
    """What the GAA needs to know of a histogram besides its excess (from its metadata or name).

    ``objects``: the object labels of the mass (``("mu0", "b0")``, empty if unknown); ``base``: the exclusive
    base category key (``None`` if unknown); ``jets``: the standard-jet multiplicity range ``(lo, hi)``
    (``hi`` may be ``inf``).
    """

    objects: tuple[str, ...]
    with_met: bool
    combination: str | None
    category: str | None
    base: str | None
    jets: tuple[float, float]
    channel: str | None


@functools.lru_cache(maxsize=4096)
def _parse_category(key: str) -> tuple[str, tuple[float, float]] | None:
    from hepbump.darkmachines.categories import Category

    try:
        cat = Category.from_key(key)
    except ValueError:
        return None
    return cat.base.key, _jet_range(cat.n_jets, cat.jets_inclusive)


def _jet_range(n_jets: Any, lower_bound: Any) -> tuple[float, float]:
    if n_jets is None:
        return (0.0, float("inf"))
    return (float(n_jets), float("inf") if lower_bound else float(n_jets))


@functools.lru_cache(maxsize=4096)
def _parse_combination(name: str) -> tuple[tuple[str, ...], bool] | None:
    from hepbump.darkmachines.massbins import Combination

    try:
        combo = Combination.from_name(name)
    except ValueError:
        return None
    return combo.objects, combo.met


def describe(name: str, metadata: Mapping[str, Any]) -> HistogramInfo:
    """The :class:`HistogramInfo` of a histogram from its DM metadata, falling back on its name.

    >>> info = describe("2mu_OS_1b_ge3j__mu0_b0_MET", {})
    >>> info.objects, info.with_met, info.base, info.jets
    (('mu0', 'b0'), True, '2mu_OS', (3.0, inf))
    """
    head, sep, tail = name.partition("__")
    category = metadata.get("category") if isinstance(metadata.get("category"), str) else (head if sep else None)
    combination = (
        metadata.get("combination") if isinstance(metadata.get("combination"), str) else (tail if sep else None)
    )
    objects: tuple[str, ...] = ()
    with_met = bool(metadata.get("with_met", False))
    if isinstance(metadata.get("objects"), (list, tuple)):
        objects = tuple(str(o) for o in metadata["objects"])
    elif combination is not None:
        parsed = _parse_combination(combination)
        if parsed is not None:
            objects, with_met = parsed
    base = metadata.get("base_category") if isinstance(metadata.get("base_category"), str) else None
    selection = metadata.get("selection") if isinstance(metadata.get("selection"), Mapping) else None
    jets = (0.0, float("inf"))
    if selection is not None and "n_jets" in selection:
        jets = _jet_range(selection.get("n_jets"), selection.get("n_jets_is_lower_bound"))
    parsed_cat = _parse_category(category) if category is not None else None
    if parsed_cat is not None:
        base = base or parsed_cat[0]
        if selection is None or "n_jets" not in selection:
            jets = parsed_cat[1]
    channel = metadata.get("channel")
    return HistogramInfo(
        objects, with_met, combination, category, base, jets, None if channel is None else str(channel)
    )


def _signature(info: HistogramInfo, classes: Mapping[str, str]) -> str:
    from hepbump.darkmachines.massbins import split_label

    if not info.objects:
        return UNKNOWN
    try:
        types = [split_label(label)[0] for label in info.objects]
    except ValueError:
        return UNKNOWN
    parts = sorted(classes.get(t, t) for t in types)
    return "+".join(parts + (["MET"] if info.with_met else []))


@dataclass(frozen=True)
class Member:
    """A histogram examined by the GAA: its scan row (``rank`` is 1-based) and signature."""

    name: str
    source: str
    rank: int
    z_max: float
    mass: float
    bin: int
    category: str | None
    combination: str | None
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Family:
    """A family: the seed, the mass window, the common signature, the histograms kept and those rejected.

    ``members`` are the independent histograms kept (decreasing ``Z_max``); ``rejected_combination`` those of
    another signature than the majority; ``rejected_correlated`` pairs ``(histogram, name of the kept histogram
    it is correlated with)``. ``accepted``: at least ``min_family_size`` members.
    """

    seed: Member
    mass_window: tuple[float, float]
    signature: str
    members: tuple[Member, ...]
    rejected_combination: tuple[Member, ...] = ()
    rejected_correlated: tuple[tuple[Member, str], ...] = ()
    accepted: bool = True

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    @property
    def mass(self) -> float:
        """The seed's mass at ``Z_max`` (GeV)."""
        return self.seed.mass

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed.name,
            "mass": self.mass,
            "mass_window": list(self.mass_window),
            "signature": self.signature,
            "size": self.size,
            "accepted": self.accepted,
            "members": [m.to_dict() for m in self.members],
            "rejected_combination": [m.to_dict() for m in self.rejected_combination],
            "rejected_correlated": [dict(m.to_dict(), correlated_with=w) for m, w in self.rejected_correlated],
        }


@dataclass(frozen=True)
class GAAResult:
    """Output of :func:`run_gaa`: surviving ``families`` and ``rejected`` ones (too few independent members),
    both in the order of their seeds; ``n_seeds``/``n_candidates``: histograms above the seed/member thresholds."""

    families: tuple[Family, ...]
    rejected: tuple[Family, ...]
    config: GAAConfig
    n_histograms: int
    n_seeds: int
    n_candidates: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_family_histograms(self) -> int:
        return sum(f.size for f in self.families)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "n_histograms": self.n_histograms,
            "n_seeds": self.n_seeds,
            "n_candidates": self.n_candidates,
            "n_families": len(self.families),
            "n_family_histograms": self.n_family_histograms,
            "families": [f.to_dict() for f in self.families],
            "rejected_families": [f.to_dict() for f in self.rejected],
            **self.extra,
        }


def _correlated(a: HistogramInfo, sa: str, b: HistogramInfo, sb: str, same_combination: bool) -> bool:
    if a.base is None or b.base is None or sa != sb or a.base != b.base or a.channel != b.channel:
        return False
    if same_combination and a.combination != b.combination:
        return False
    return a.jets[0] <= b.jets[1] and b.jets[0] <= a.jets[1]


def _deduplicate(
    idx: list[int], infos: list[HistogramInfo], sources: tuple[str, ...], same_combination: bool
) -> tuple[list[int], list[tuple[int, int]]]:
    """Greedy in the given order (decreasing Z): keep ``i`` unless correlated with a kept one."""
    kept: list[int] = []
    dropped: list[tuple[int, int]] = []
    for i in idx:
        twin = next(
            (k for k in kept if _correlated(infos[i], sources[i], infos[k], sources[k], same_combination)), None
        )
        if twin is None:
            kept.append(i)
        else:
            dropped.append((i, twin))
    return kept, dropped


def run_gaa(table: ScanTable, config: GAAConfig | None = None) -> GAAResult:
    """Apply the GAA (module docstring) to a scan; returns surviving and rejected families."""
    config = config or GAAConfig()
    classes = dict(config.object_classes)
    n = len(table)
    z = np.asarray(table.z_max, dtype=float)
    masses = table.masses if n else np.empty(0)
    infos = [describe(name, meta) for name, meta in zip(table.names, table.metadata)]
    signatures = [_signature(info, classes) for info in infos]
    same_combo = config.correlated_same_combination_only

    def member(i: int) -> Member:
        return Member(
            table.names[i],
            table.sources[i],
            i + 1,
            float(z[i]),
            float(masses[i]),
            int(table.bins[i]),
            infos[i].category,
            infos[i].combination,
            signatures[i],
        )

    used = np.zeros(n, dtype=bool)
    above = z >= config.member_threshold
    seeds = [int(i) for i in sorted(np.flatnonzero(z >= config.seed_threshold), key=lambda i: (-z[i], i))]
    families: list[Family] = []
    rejected: list[Family] = []
    tol = config.mass_tolerance_bins
    for s in seeds:
        if used[s]:
            continue  # already used up
        edges = table.edges[s]
        b = int(table.bins[s])
        lo, hi = float(edges[max(b - tol, 0)]), float(edges[min(b + tol + 1, len(edges) - 1)])
        in_window = above & ~used & (masses >= lo) & (masses < hi)
        in_window[s] = True
        cand = sorted(np.flatnonzero(in_window).tolist(), key=lambda i: (-z[i], i))
        by_signature: dict[str, list[int]] = {}
        for i in cand:
            by_signature.setdefault(signatures[i], []).append(i)
        dedup = {sig: _deduplicate(idx, infos, table.sources, same_combo) for sig, idx in by_signature.items()}
        chosen = max(
            dedup,
            key=lambda sig: (len(dedup[sig][0]), sig == signatures[s], max(z[i] for i in by_signature[sig])),
        )
        kept, dropped = dedup[chosen]
        others = [i for i in cand if signatures[i] != chosen]
        family = Family(
            seed=member(s),
            mass_window=(lo, hi),
            signature=chosen,
            members=tuple(member(i) for i in kept),
            rejected_combination=tuple(member(i) for i in others),
            rejected_correlated=tuple((member(i), table.names[k]) for i, k in dropped),
            accepted=len(kept) >= config.min_family_size,
        )
        if family.accepted:
            families.append(family)
            used[by_signature[chosen]] = True
        else:
            rejected.append(family)
            used[s] = True
            used[[i for i, k in dropped if k == s]] = True
        log.debug("seed %s: %s family of %d (%s)", table.names[s], family.accepted, family.size, chosen)
    return GAAResult(
        families=tuple(families),
        rejected=tuple(rejected),
        config=config,
        n_histograms=n,
        n_seeds=len(seeds),
        n_candidates=int(np.count_nonzero(z >= config.member_threshold)),
    )


def find_families(table: ScanTable, config: GAAConfig | None = None) -> list[Family]:
    """The families that survive the GAA (:func:`run_gaa`), in the order of their seeds."""
    return list(run_gaa(table, config).families)


def format_families(result: GAAResult) -> str:
    """A text summary: one block per surviving family."""
    c = result.config
    lines = [
        f"{result.n_histograms} histograms, {result.n_candidates} with Z_max >= {c.member_threshold:g}, "
        f"{result.n_seeds} seeds with Z_max >= {c.seed_threshold:g}: {len(result.families)} families "
        f"({result.n_family_histograms} histograms), {len(result.rejected)} seeds without a family"
    ]
    for k, fam in enumerate(result.families, 1):
        lo, hi = fam.mass_window
        lines.append(
            f"family {k}: m = {fam.mass:.4g} GeV (window {lo:.4g}-{hi:.4g}), {fam.signature}, "
            f"{fam.size} histograms; rejected: {len(fam.rejected_combination)} by combination, "
            f"{len(fam.rejected_correlated)} correlated"
        )
        for m in fam.members:
            lines.append(f"    Z = {m.z_max:6.2f}  m = {m.mass:8.4g}  {m.name}")
    return "\n".join(lines)
