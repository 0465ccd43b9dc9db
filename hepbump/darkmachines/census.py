"""What a Dark Machines histogram production is made of: the histogram count broken down by category ingredients.

``hepbump dm histograms`` writes one histogram per (category, mass combination) with at least 100 events and more
than 30 bins. How many there are depends on the base categories (object counts and charges), the kinematic
thresholds (b-jets, MET, leading-object pT), the jet-multiplicity subcategories and the mass combinations
(flavour-labelled jets ``b0``/``lj1``, third and fourth jets, MassMET). :func:`histogram_features` reads those
ingredients from a histogram's metadata (or its name ``CATEGORY__COMBINATION``); :func:`breakdown` counts the
histograms per ingredient; :func:`restriction_ladder` says how many would remain with one ingredient removed;
:func:`bins_margin` how many pass a stricter bin-count cut. Used to compare our histogram counts with the BumpNet
paper's (``benchmarks/bench_bumpnet_background.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_LADDER",
    "HistogramFeatures",
    "MERGED_JETS",
    "bins_margin",
    "breakdown",
    "format_counter",
    "histogram_features",
    "restriction_ladder",
]


@dataclass(frozen=True)
class HistogramFeatures:
    """The category ingredients of one DM histogram.

    ``base``: the exclusive object-count category (``2mu_OS``); ``kinematic``: with its thresholds
    (``2mu_OS_1b_met150``); ``min_b``, ``min_met``, ``min_lead_pt``: the kinematic lower thresholds (b-jets,
    GeV, GeV); ``jets``: the jet-multiplicity subcategory (``"3j"``, ``"ge4j"``, ``"any"``); ``jet_tail``: the
    merged ``>= K`` tail; ``combination``: the name of the mass combination; ``n_objects``: objects in the mass
    (MET not counted); ``with_met``: a MassMET histogram; ``flavour_aware``: uses b-tagged/light jet labels
    (``b0``, ``lj1``); ``highest_jet``: the highest pT rank of a standard jet in the mass (-1: no jet);
    ``mass_range``: ``full``, ``low`` (10-76 GeV) or ``high`` (> 106 GeV); ``n_bins``, ``effective_events``:
    of the histogram when known (else ``None``).
    """

    name: str
    base: str | None
    kinematic: str | None
    min_b: int
    min_met: int
    min_lead_pt: int
    jets: str
    jet_tail: bool
    combination: str | None
    n_objects: int
    with_met: bool
    flavour_aware: bool
    highest_jet: int
    mass_range: str
    object_types: str
    n_bins: int | None = None
    effective_events: float | None = None

    @property
    def n_thresholds(self) -> int:
        """How many of the three kinematic thresholds are applied (non-zero)."""
        return int(self.min_b > 0) + int(self.min_met > 0) + int(self.min_lead_pt > 0)


def histogram_features(name: str, metadata: Mapping[str, Any] | None = None, n_bins: int | None = None):
    """The :class:`HistogramFeatures` of a DM histogram from its metadata, or from its name
    ``CATEGORY__COMBINATION`` where the metadata lacks a key.

    >>> f = histogram_features("2mu_OS_1b_met150_ge3j__mu0_b0_j2_MET")
    >>> f.base, f.kinematic, f.min_b, f.min_met, f.min_lead_pt, f.jets, f.jet_tail
    ('2mu_OS', '2mu_OS_1b_met150', 1, 150, 0, 'ge3j', True)
    >>> f.n_objects, f.with_met, f.flavour_aware, f.highest_jet, f.mass_range, f.object_types, f.n_thresholds
    (3, True, True, 2, 'full', 'b+j+mu', 2)
    """
    from hepbump.darkmachines.categories import Category
    from hepbump.darkmachines.massbins import Combination, split_label

    meta = dict(metadata or {})
    head, sep, tail = name.partition("__")
    cat_key = meta.get("category") if isinstance(meta.get("category"), str) else (head if sep else None)
    combo_name = meta.get("combination") if isinstance(meta.get("combination"), str) else (tail if sep else None)
    cat = None
    if cat_key is not None:
        try:
            cat = Category.from_key(cat_key)
        except ValueError:
            cat = None
    combo = None
    if combo_name is not None:
        try:
            combo = Combination.from_name(combo_name)
        except ValueError:
            combo = None
    if cat is None:
        min_b = min_met = min_pt = 0
        base = meta.get("base_category") if isinstance(meta.get("base_category"), str) else None
        kinematic = meta.get("kinematic_category") if isinstance(meta.get("kinematic_category"), str) else None
        jets, jet_tail = "any", False
    else:
        min_b, min_met, min_pt = cat.min_b, cat.min_met, cat.min_lead_pt
        base, kinematic = cat.base.key, cat.kinematic.key
        jet_tail = bool(cat.jets_inclusive)
        jets = "any" if cat.n_jets is None else f"{'ge' if jet_tail else ''}{cat.n_jets}j"
    if combo is None:
        objects: tuple[str, ...] = tuple(str(o) for o in meta.get("objects", ()) or ())
        with_met = bool(meta.get("with_met", False))
        mass_range = "full"
    else:
        objects, with_met, mass_range = combo.objects, combo.met, combo.mass_range
    types, ranks = [], []
    for label in objects:
        try:
            t, r = split_label(label)
        except ValueError:
            t, r = "unknown", -1
        types.append(t)
        if t in ("j", "b", "lj"):
            ranks.append(r)
    effective = meta.get("effective_events")
    return HistogramFeatures(
        name=name,
        base=base,
        kinematic=kinematic,
        min_b=int(min_b),
        min_met=int(min_met),
        min_lead_pt=int(min_pt),
        jets=jets,
        jet_tail=jet_tail,
        combination=combo_name,
        n_objects=len(objects),
        with_met=with_met,
        flavour_aware=any(t in ("b", "lj") for t in types),
        highest_jet=max(ranks, default=-1),
        mass_range=mass_range,
        object_types="+".join(sorted(set(types))) if types else "unknown",
        n_bins=None if n_bins is None else int(n_bins),
        effective_events=None if effective is None else float(effective),
    )


def _jet_order(label: str) -> tuple[int, int]:
    if label == "any":
        return (999, 0)
    tail = label.startswith("ge")
    return (int(label[2:-1] if tail else label[:-1]), int(tail))


def breakdown(features: Iterable[HistogramFeatures]) -> dict[str, Counter]:
    """The histogram count by each category ingredient: one :class:`~collections.Counter` per ingredient.

    Keys: ``base category``, ``b-jet threshold``, ``MET threshold [GeV]``, ``leading-pT threshold [GeV]``,
    ``kinematic thresholds applied``, ``jet subcategory``, ``objects in the mass``, ``MassMET``,
    ``flavour-labelled jets``, ``highest standard-jet rank in the mass``, ``dilepton mass range``,
    ``object types``.

    >>> fs = [histogram_features(n) for n in ("1Z_2j__Z0_j0", "1Z_2j__Z0_j0_MET", "1Z_met150_ge3j__Z0_j0_j1")]
    >>> b = breakdown(fs)
    >>> dict(b["MET threshold [GeV]"]), dict(b["jet subcategory"]), dict(b["MassMET"])
    ({0: 2, 150: 1}, {'2j': 2, 'ge3j': 1}, {'no': 2, 'yes': 1})
    """
    out: dict[str, Counter] = {
        k: Counter()
        for k in (
            "base category",
            "b-jet threshold",
            "MET threshold [GeV]",
            "leading-pT threshold [GeV]",
            "kinematic thresholds applied",
            "jet subcategory",
            "objects in the mass",
            "MassMET",
            "flavour-labelled jets",
            "highest standard-jet rank in the mass",
            "dilepton mass range",
            "object types",
        )
    }
    for f in features:
        out["base category"][f.base] += 1
        out["b-jet threshold"][f.min_b] += 1
        out["MET threshold [GeV]"][f.min_met] += 1
        out["leading-pT threshold [GeV]"][f.min_lead_pt] += 1
        out["kinematic thresholds applied"][f.n_thresholds] += 1
        out["jet subcategory"][f.jets] += 1
        out["objects in the mass"][f.n_objects] += 1
        out["MassMET"]["yes" if f.with_met else "no"] += 1
        out["flavour-labelled jets"]["yes" if f.flavour_aware else "no"] += 1
        out["highest standard-jet rank in the mass"]["none" if f.highest_jet < 0 else f"j{f.highest_jet}"] += 1
        out["dilepton mass range"][f.mass_range] += 1
        out["object types"][f.object_types] += 1
    for key, counter in out.items():  # keys in their natural order (counts sorted later where wanted)
        order = _jet_order if key == "jet subcategory" else _natural
        out[key] = Counter({k: counter[k] for k in sorted(counter, key=order)})
    return out


def _natural(key: Any) -> tuple:
    """Numbers first, in order, then everything else by its text."""
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return (0, key, "")
    return (1, 0, str(key))


#: Restrictions of :func:`restriction_ladder`, in the order they are applied cumulatively; each removes one of the
#: choices that multiply the histogram count.
DEFAULT_LADDER: tuple[tuple[str, Callable[[HistogramFeatures], bool]], ...] = (
    ("no leading-pT thresholds", lambda f: f.min_lead_pt == 0),
    ("no MET thresholds", lambda f: f.min_met == 0),
    ("no flavour-labelled jets (b0, lj0, ...)", lambda f: not f.flavour_aware),
    ("no b-jet thresholds", lambda f: f.min_b == 0),
    ("only the two leading jets (j0, j1) in the mass", lambda f: f.highest_jet < 2),
    ("at most 3 objects in the mass", lambda f: f.n_objects <= 3),
)

#: Label of the last step of :func:`restriction_ladder` with ``merge_jets``.
MERGED_JETS = "jet subcategories merged (distinct kinematic category + combination)"


def _merged(features: Iterable[HistogramFeatures]) -> int:
    return len({(f.kinematic, f.combination) for f in features})


def restriction_ladder(
    features: Sequence[HistogramFeatures],
    steps: Sequence[tuple[str, Callable[[HistogramFeatures], bool]]] = DEFAULT_LADDER,
    *,
    merge_jets: bool = True,
) -> list[tuple[str, int, int]]:
    """Histogram counts under restrictions: ``[("all", N, N), (label, cumulative, alone), ...]``.

    ``cumulative``: the histograms passing this restriction and all the earlier ones; ``alone``: passing this
    one only. A restriction by threshold keeps exactly the histograms a production without that threshold would
    make (the looser categories do not depend on the tighter ones), and so does one on the jets or objects of the
    mass. With ``merge_jets`` a last step counts the distinct (kinematic category, combination) pairs: one
    histogram per combination instead of one per jet-multiplicity subcategory, a *lower* estimate of what merging
    the subcategories would give (a merged histogram can pass the selection when none of its parts did).

    >>> fs = [histogram_features(n) for n in ("1Z_2j__Z0_j0", "1Z_3j__Z0_j0", "1Z_met150_2j__Z0_j0", "1Z_2j__Z0_j3")]
    >>> for row in restriction_ladder(fs, DEFAULT_LADDER[1:2] + DEFAULT_LADDER[4:5]):
    ...     print(row)
    ('all', 4, 4)
    ('no MET thresholds', 3, 3)
    ('only the two leading jets (j0, j1) in the mass', 2, 3)
    ('jet subcategories merged (distinct kinematic category + combination)', 1, 3)
    """
    features = list(features)
    kept = features
    out = [("all", len(features), len(features))]
    for label, keep in steps:
        kept = [f for f in kept if keep(f)]
        out.append((label, len(kept), sum(1 for f in features if keep(f))))
    if merge_jets:
        out.append((MERGED_JETS, _merged(kept), _merged(features)))
    return out


def bins_margin(
    n_bins: Iterable[int], min_bins: int = 31, factors: Sequence[float] = (1.5, 2.0, 3.0)
) -> list[tuple[float, int]]:
    """How many histograms would keep at least ``min_bins`` bins with bins ``factor`` times wider.

    An approximation that divides each histogram's number of bins by ``factor`` (the bins widen with the mass,
    the trimmed range stays the same). ``[(1.0, n passing now), (factor, n), ...]``.

    >>> bins_margin([31, 46, 47, 62, 100], 31, (1.5, 2.0))
    [(1.0, 5), (1.5, 3), (2.0, 2)]
    """
    n = np.asarray(list(n_bins), dtype=float)
    return [(1.0, int(np.count_nonzero(n >= min_bins)))] + [
        (float(k), int(np.count_nonzero(np.floor(n / k + 1e-9) >= min_bins))) for k in factors
    ]


def format_counter(title: str, counter: Mapping[Any, int], total: int | None = None, top: int | None = None) -> str:
    """One line per key with its count and share of ``total`` (default: the sum), the ``top`` largest only
    when given (then sorted by count, with the rest summed).

    >>> print(format_counter("MassMET", {"no": 3, "yes": 1}))
    MassMET:
      no                                          3  (75.0%)
      yes                                         1  (25.0%)
    """
    total = sum(counter.values()) if total is None else total
    items = list(counter.items())
    rest = 0
    if top is not None and len(items) > top:
        items.sort(key=lambda kv: -kv[1])
        rest = sum(v for _, v in items[top:])
        n_rest = len(items) - top
        items = items[:top]
    lines = [f"{title}:"]
    for key, value in items:
        share = f"  ({100 * value / total:.1f}%)" if total else ""
        lines.append(f"  {str(key):<38} {value:>6}{share}")
    if rest:
        share = f"  ({100 * rest / total:.1f}%)" if total else ""
        lines.append(f"  {f'({n_rest} others)':<38} {rest:>6}{share}")
    return "\n".join(lines)
