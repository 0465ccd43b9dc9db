"""Turn the merged fill accumulator into the final DM mass histograms with metadata.

After all chunks are merged (:func:`hepbump.darkmachines.fill.fill_chunk` outputs added together):

1. per base category, the nested kinematic categories are sums over cells (:meth:`CellGrid.inclusive_sums`);
   a kinematic category whose events are exactly those of a looser parent is skipped (its histograms would be
   copies);
2. its jet-multiplicity cap ``K`` is decided on the whole dataset (:func:`jet_multiplicity_cap`): exclusive
   ``0j .. (K-1)j`` and the merged tail ``geKj``;
3. subcategories with fewer than ``HIST_MIN_EVENTS`` raw events cannot give a histogram and are skipped; the
   others get every filled combination, trimmed after the maximum (:func:`trim_after_maximum`) and kept when
   they pass :func:`passes_selection` (effective events and bins).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import hist
import numpy as np
from tqdm.auto import tqdm

from hepbump import constants as C
from hepbump.darkmachines.categories import Category, CellGrid, effective_events, jet_multiplicity_cap
from hepbump.darkmachines.fill import BIN_STRIDE, SparseStore, parse_block_name
from hepbump.darkmachines.massbins import passes_selection, trim_after_maximum
from hepbump.histogram import make_hist

__all__ = ["HistogramConfig", "HistogramSet", "Subcategory", "subcategories", "assemble"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistogramConfig:
    """Settings of the DM histogram production: the cell grid (thresholds, jet fill maximum), the channel label
    written to the metadata, and the selection (effective events and bins of a histogram, events of the tail
    jet subcategory)."""

    grid: CellGrid = field(default_factory=CellGrid)
    channel: str | None = None
    min_events: float = C.HIST_MIN_EVENTS
    min_bins: int = C.HIST_MIN_BINS
    category_min_events: float = C.CATEGORY_MIN_EVENTS


@dataclass(frozen=True)
class Subcategory:
    """A jet subcategory with its cell selection: threshold indices, jet range ``[nj_lo, nj_hi]``, counts."""

    category: Category
    ib: int
    imet: int
    ipt: int
    nj_lo: int
    nj_hi: int
    n_raw: float
    n_eff: float
    jet_cap: int
    process_content: dict[str, float] | None = None


@dataclass
class HistogramSet:
    """Final histograms (name -> ``hist.Hist``), their metadata, and counts for the report."""

    hists: dict[str, hist.Hist] = field(default_factory=dict)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _dense_tables(events: SparseStore | None, grid: CellGrid) -> dict[int, dict[str, np.ndarray]]:
    """``{base code: {process: array grid.shape + (3,)}}`` of (sum w, sum w^2, n) per cell."""
    out: dict[int, dict[str, np.ndarray]] = defaultdict(dict)
    for name, keys, values in events.blocks() if events is not None else ():
        code, process = name.split("|", 1)
        dense = np.zeros((grid.n_cells, 3))
        dense[keys] = values
        out[int(code)][process] = dense.reshape(grid.shape + (3,))
    return out


def subcategories(
    code: int,
    tables: dict[str, np.ndarray],
    grid: CellGrid,
    *,
    min_events: float = C.HIST_MIN_EVENTS,
    category_min_events: float = C.CATEGORY_MIN_EVENTS,
    simulated: bool = True,
) -> list[Subcategory]:
    """Jet subcategories of base category ``code`` with at least ``min_events`` raw events.

    ``tables``: per process, (sum w, sum w^2, n) per cell (shape ``grid.shape + (3,)``).
    """
    base = Category.from_base_code(code)
    per_process = {p: grid.inclusive_sums(t) for p, t in tables.items()}
    total = sum(per_process.values())
    out: list[Subcategory] = []
    for ib, imet, ipt in np.ndindex(*grid.shape[:3]):
        sums = total[ib, imet, ipt]  # (nj, 3)
        n_all = sums[:, 2].sum()
        if n_all < min_events:
            continue
        parents = [(ib - 1, imet, ipt), (ib, imet - 1, ipt), (ib, imet, ipt - 1)]
        if any(min(p) >= 0 and total[p][:, 2].sum() == n_all for p in parents):
            continue  # same events as a looser category
        cap = jet_multiplicity_cap(sums[:, 0], sums[:, 1], category_min_events)
        kin = grid.variant(base, ib, imet, ipt)
        ranges = [(k, k, replace(kin, n_jets=k)) for k in range(cap)]
        ranges.append((cap, grid.njets_max, replace(kin, n_jets=cap, jets_inclusive=True)))
        for lo, hi, cat in ranges:
            sel = sums[lo : hi + 1].sum(axis=0)
            if sel[2] < min_events:
                continue
            content = None
            if simulated:
                content = {
                    p: float(t[ib, imet, ipt, lo : hi + 1, 0].sum())
                    for p, t in sorted(per_process.items())
                    if t[ib, imet, ipt, lo : hi + 1, 2].sum() > 0
                }
            out.append(
                Subcategory(
                    cat, ib, imet, ipt, lo, hi, float(sel[2]), float(effective_events(sel[0], sel[1])), cap, content
                )
            )
    return out


def _category_metadata(sub: Subcategory, grid: CellGrid, channel: str | None, datasets: list[str]) -> dict[str, Any]:
    """The part of a histogram's metadata shared by every histogram of the subcategory ``sub``."""
    cat = sub.category
    return {
        "category": cat.key,
        "kinematic_category": cat.kinematic.key,
        "base_category": cat.base.key,
        "nested_in": [p.key for p in cat.parents(grid.min_bjets, grid.min_met, grid.min_lead_pt)],
        "jet_multiplicity_cap": sub.jet_cap,
        "selection": cat.selection(),
        "channel": channel,
        "datasets": datasets,
        "process_content": sub.process_content,
        "process_content_scope": "subcategory events, sum of weights" if sub.process_content is not None else None,
        "subcategory_events": sub.n_raw,
        "binning": "resolution: width(m) = 0.5 sigma(m), hepbump.darkmachines.resolution; bins from the maximum on",
    }


def assemble(
    accumulator: dict[str, Any], config: HistogramConfig | None = None, *, datasets: list[str] | None = None
) -> HistogramSet:
    """Build the selected, trimmed histograms and their metadata from a merged fill accumulator."""
    config = config or HistogramConfig()
    grid, channel = config.grid, config.channel
    min_events, min_bins, category_min_events = config.min_events, config.min_bins, config.category_min_events
    datasets = sorted(datasets or [])
    tables = _dense_tables(accumulator.get("events"), grid)
    subs: dict[int, list[Subcategory]] = {}
    for code, per_process in tables.items():
        simulated = set(per_process) != {"data"}
        subs[code] = subcategories(
            code, per_process, grid, min_events=min_events, category_min_events=category_min_events, simulated=simulated
        )
    common = {id(sub): _category_metadata(sub, grid, channel, datasets) for group in subs.values() for sub in group}
    result = HistogramSet()
    n_candidates = 0
    store = accumulator.get("hists")
    blocks = sorted(store.blocks() if store is not None else (), key=lambda b: b[0])
    for name, keys, values in tqdm(blocks, desc="histograms", unit="block", disable=None, leave=False):
        base, combo = parse_block_name(name)
        candidates = subs.get(base.base_code, [])
        if not candidates:
            continue
        edges = combo.edges(base)
        cells, bins = np.divmod(keys, BIN_STRIDE)
        ib, imet, ipt, nj = grid.decode(cells)
        for sub in candidates:
            if combo.is_flavour_aware and sub.category.min_b < 1:
                continue
            n_candidates += 1
            sel = (ib >= sub.ib) & (imet >= sub.imet) & (ipt >= sub.ipt) & (nj >= sub.nj_lo) & (nj <= sub.nj_hi)
            if not sel.any():
                continue
            nbins = len(edges) - 1
            counts = np.bincount(bins[sel], weights=values[sel, 0], minlength=nbins)
            variances = np.bincount(bins[sel], weights=values[sel, 1], minlength=nbins)
            counts, variances, kept_edges = trim_after_maximum(counts, variances, edges)
            if not passes_selection(counts, variances, min_events, min_bins):
                continue
            hname = f"{sub.category.key}__{combo.name}"
            label = f"m({', '.join(combo.objects)}{', MET' if combo.met else ''}) [GeV]"
            result.hists[hname] = make_hist(counts, kept_edges, variances, name="mass", label=label)
            sumw, sumw2 = float(counts.sum()), float(variances.sum())
            result.metadata[hname] = {
                **common[id(sub)],
                "combination": combo.name,
                "objects": list(combo.objects),
                "with_met": combo.met,
                "mass_range_GeV": list(combo.range_gev),
                "sum_weights": sumw,
                "effective_events": sumw**2 / sumw2 if sumw2 > 0 else 0.0,
            }
    all_subs = [s for group in subs.values() for s in group]
    result.summary = {
        "n_events": int(accumulator.get("n_events", 0)),
        "n_base_categories": len(tables),
        "n_kinematic_categories": len({s.category.kinematic.key for s in all_subs}),
        "n_subcategories": len(all_subs),
        "n_histograms_considered": n_candidates,
        "n_histograms": len(result.hists),
    }
    log.info("histograms: %s", result.summary)
    return result
