"""The test sets of the BumpNet evaluation: their recipes, their generation and their per-histogram numbers.

:func:`set_specs` lists the sets an evaluation generates (nominal analytic and data-like signal sets and their
background-only twins, data-like shapes seen in training, the paper's four :data:`DISTORTIONS`, sparse tails,
wider signals), :func:`generate_set` draws one with :func:`hepbump.bumpnet.data.generate` (its own seed, from
the set's name) and :func:`evaluate_set` predicts it and keeps the per-histogram maxima as a :class:`SetResult`,
which :func:`set_statistics` and :func:`sparse_bias` summarise. The definitions are in
:mod:`hepbump.bumpnet.evaluate`.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import beta

from hepbump.bumpnet.data import DataConfig, HistogramBatch, MotherBank, analytic_backgrounds, generate, inject_signals
from hepbump.bumpnet.evalmetrics import (
    MaxComparison,
    compare_maxima,
    dz_statistics,
    false_rate,
    position_accuracy,
    sparse_tail_mask,
    window_significance,
)
from hepbump.bumpnet.scan import first_bin
from hepbump.errors import InputError

if TYPE_CHECKING:  # evaluate imports this module
    from hepbump.bumpnet.evaluate import EvaluateConfig

__all__ = [
    "COLUMNS",
    "DISTORTIONS",
    "Predictor",
    "SetResult",
    "SetSpec",
    "distort",
    "edge_mask",
    "evaluate_set",
    "generate_set",
    "set_result",
    "set_specs",
    "set_statistics",
    "sparse_bias",
]

log = logging.getLogger(__name__)

#: The four systematic distortions of the paper's section 3.2.2, in its order.
DISTORTIONS = ("standard", "reverse", "inferior", "superior")

#: Predicts the batches of a test set: one prediction (per-bin significances) per histogram, in order.
Predictor = Callable[[list[HistogramBatch]], list[np.ndarray]]


def distort(background: Any, kind: str) -> np.ndarray:
    """The paper's distortion ``kind`` (:data:`DISTORTIONS`) of expected backgrounds along the last axis.

    >>> distort(np.full(4, 10.0), "standard").tolist()
    [15.0, 11.25, 7.5, 3.75]
    >>> distort(np.full(4, 10.0), "inferior").tolist()
    [5.0, 5.0, 5.0, 5.0]
    """
    b = np.asarray(background, dtype=float)
    n = b.shape[-1]
    ramp = (n - np.arange(n)) / n
    factors = {"standard": 1.5 * ramp, "reverse": 0.5 * ramp, "inferior": 0.5, "superior": 1.5}
    if kind not in factors:
        raise InputError(f"unknown distortion {kind!r}; expected one of {', '.join(DISTORTIONS)}")
    return b * factors[kind]


#: Per-histogram columns of a :class:`SetResult` (and of ``histograms.csv.gz``, with the set name first).
COLUMNS = (
    "n_bins",
    "z_max_lr",
    "z_max_pred",
    "dz_max",
    "pos_lr",
    "pos_pred",
    "rel_pos_lr",
    "b_at_max",
    "count_first_bin",
    "z_max_lr_all",
    "z_max_pred_all",
    "dz_max_all",
    "rel_pos_lr_all",
    "z_peak",
    "signal_bin",
    "signal_width_bins",
    "z_window",
    "source",
)


@dataclass(frozen=True)
class SetResult:
    """Per-histogram numbers of one test set: ``columns[name]`` is an array per entry of ``COLUMNS``.

    ``*_all`` columns include the first bins (Fig. 5a); ``b_at_max`` is the expected background in the bin of
    ``Z_max(LR)``; ``z_window`` is NaN except for signal-width sets.
    """

    name: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns["dz_max"])

    def __getitem__(self, key: str) -> np.ndarray:
        return self.columns[key]


def set_result(
    name: str,
    comparison: MaxComparison,
    comparison_all: MaxComparison,
    *,
    b_at_max: Any = None,
    count_first_bin: Any = None,
    z_peak: Any = None,
    signal_bin: Any = None,
    signal_width_bins: Any = None,
    z_window: Any = None,
    source: Any = None,
) -> SetResult:
    """A :class:`SetResult` from the two comparisons (first bins excluded / included) and optional metadata."""
    n = len(comparison.z_lr)

    def col(v: Any, fill: float = np.nan) -> np.ndarray:
        return np.full(n, fill, dtype=float) if v is None else np.asarray(v, dtype=float)

    c, a = comparison, comparison_all
    return SetResult(
        name,
        {
            "n_bins": c.n_bins.astype(float),
            "z_max_lr": c.z_lr,
            "z_max_pred": c.z_pred,
            "dz_max": c.dz,
            "pos_lr": c.pos_lr.astype(float),
            "pos_pred": c.pos_pred.astype(float),
            "rel_pos_lr": c.rel_pos_lr,
            "b_at_max": col(b_at_max),
            "count_first_bin": col(count_first_bin),
            "z_max_lr_all": a.z_lr,
            "z_max_pred_all": a.z_pred,
            "dz_max_all": a.dz,
            "rel_pos_lr_all": a.rel_pos_lr,
            "z_peak": col(z_peak),
            "signal_bin": col(signal_bin, -1.0),
            "signal_width_bins": col(signal_width_bins, 0.0),
            "z_window": col(z_window),
            "source": col(source, -1.0),
        },
    )


@dataclass(frozen=True)
class SetSpec:
    """One test set: ``n`` histograms drawn with ``data`` (and ``bank``'s mothers), the background distorted
    (``distortion``), kept only with a sparse tail (``sparse``), with ``Z_window`` (``window``); ``signal``:
    every histogram has a signal (``False``: background only)."""

    name: str
    n: int
    data: DataConfig
    bank: MotherBank | None = None
    distortion: str | None = None
    sparse: bool = False
    window: bool = False
    signal: bool = True


def _take(batch: HistogramBatch, index: np.ndarray) -> HistogramBatch:
    return HistogramBatch(**{f.name: getattr(batch, f.name)[index] for f in fields(HistogramBatch)})


def _distorted_bank(bank: MotherBank, kind: str, floor: float) -> MotherBank:
    return MotherBank(bank.edges, tuple(np.maximum(distort(b, kind), floor) for b in bank.expected), bank.names)


def _analytic_distorted(rng: np.random.Generator, n: int, cfg: DataConfig, kind: str) -> list[HistogramBatch]:
    """Analytic samples as :func:`generate` draws them, with the background distorted before injection."""
    out, done = [], 0
    lo, hi = cfg.n_bins_range
    while done < n:
        m = min(cfg.chunk_size, n - done)
        b, e, fam, st, axis_kind = analytic_backgrounds(rng, m, int(rng.integers(lo, hi + 1)), cfg)
        b = np.maximum(distort(b, kind), cfg.min_expected)
        out.append(
            HistogramBatch(
                background=b,
                edges=e,
                source=fam,
                stretched=st,
                axis_kind=axis_kind,
                mother=np.full(m, -1, dtype=np.int32),
                **inject_signals(rng, b, e, cfg),
            )
        )
        done += m
    return out


def generate_set(spec: SetSpec, config: EvaluateConfig) -> list[HistogramBatch]:
    """The histograms of ``spec``, seeded by ``config.seed`` and the set's name."""
    rng = np.random.default_rng([config.seed, zlib.crc32(spec.name.encode())])
    cfg = spec.data
    if spec.distortion is not None:
        if spec.bank is not None:
            return list(generate(rng, spec.n, cfg, _distorted_bank(spec.bank, spec.distortion, cfg.min_expected)))
        return _analytic_distorted(rng, spec.n, cfg, spec.distortion)
    if not spec.sparse:
        return list(generate(rng, spec.n, cfg, spec.bank))
    kept: list[HistogramBatch] = []
    n_kept, drawn, limit = 0, 0, 200 * spec.n
    while n_kept < spec.n and drawn < limit:
        m = max(4 * (spec.n - n_kept), 256)
        for batch in generate(rng, m, cfg, spec.bank):
            mask = sparse_tail_mask(
                batch.background, batch.signal_bin, config.sparse_tail_fraction, config.sparse_max_expected
            )
            idx = np.flatnonzero(mask)[: spec.n - n_kept]
            if idx.size:
                kept.append(_take(batch, idx))
                n_kept += idx.size
        drawn += m
    if n_kept < spec.n:
        log.warning("sparse-tail set: %d of %d histograms found in %d draws", n_kept, spec.n, drawn)
    return kept


def set_specs(
    config: EvaluateConfig, test_mothers: MotherBank | None, train_mothers: MotherBank | None
) -> list[SetSpec]:
    """The test sets of an evaluation, in order (the data-like ones only with ``test_mothers``, Fig. 10a only
    with ``train_mothers``; the distortions on the test mothers, else on analytic shapes)."""
    one = {"signal_fraction": 1.0, "signal_width_bins": (1.0,), "signal_width_probs": (1.0,)}
    base = replace(config.data, mother_scale_range=config.mother_scale_range)
    fn = replace(base, mother_fraction=0.0, **one)
    dm = replace(base, mother_fraction=1.0, **one)
    specs = [
        SetSpec("function", config.n_nominal, fn, window=True),
        SetSpec("function_bkg", config.n_background, replace(fn, signal_fraction=0.0), signal=False),
    ]
    if test_mothers is not None:
        specs += [
            SetSpec("dm", config.n_nominal, dm, test_mothers),
            SetSpec("dm_bkg", config.n_background, replace(dm, signal_fraction=0.0), test_mothers, signal=False),
        ]
    if train_mothers is not None:
        specs.append(SetSpec("dm_train", config.n_shape, dm, train_mothers))
    for kind in DISTORTIONS:
        cfg, bank = (dm, test_mothers) if test_mothers is not None else (fn, None)
        specs.append(SetSpec(f"distort_{kind}", config.n_shape, cfg, bank, distortion=kind))
    sparse_cfg = replace(base, log_y_fraction=1.0, mother_fraction=0.5 if test_mothers is not None else 0.0, **one)
    specs.append(SetSpec("sparse", config.n_shape, sparse_cfg, test_mothers, sparse=True))
    for w in config.widths:
        if w == 1.0:
            continue  # the nominal analytic set
        specs.append(
            SetSpec(
                f"width_{w:g}",
                config.n_shape,
                replace(fn, signal_width_bins=(float(w),), signal_width_probs=(1.0,)),
                window=True,
            )
        )
    return specs


def evaluate_set(
    spec: SetSpec,
    batches: list[HistogramBatch],
    predictor: Predictor,
    config: EvaluateConfig,
) -> SetResult:
    """Predict every histogram of a set and compare per batch (rectangular arrays)."""
    if not batches:
        raise InputError(f"test set {spec.name!r} is empty")
    predictions = predictor(batches)
    if len(predictions) != sum(len(b) for b in batches):
        raise InputError(f"test set {spec.name!r}: the predictor returned {len(predictions)} predictions")
    parts: list[SetResult] = []
    start = 0
    for b in batches:
        pred = np.asarray(predictions[start : start + len(b)])
        start += len(b)
        c = compare_maxima(b.target, pred, config.exclude_first)
        a = compare_maxima(b.target, pred, 0.0)
        rows = np.arange(len(b))
        zw = None
        if spec.window:
            zw = window_significance(b.counts, b.background, b.edges, b.signal_mean_gev, b.signal_sigma_gev)
        parts.append(
            set_result(
                spec.name,
                c,
                a,
                b_at_max=b.background[rows, c.pos_lr],
                count_first_bin=b.counts[:, 0],
                z_peak=b.z_peak,
                signal_bin=b.signal_bin,
                signal_width_bins=b.signal_width_bins,
                z_window=zw,
                source=b.source,
            )
        )
    return SetResult(spec.name, {k: np.concatenate([p.columns[k] for p in parts]) for k in COLUMNS})


def set_statistics(r: SetResult, config: EvaluateConfig, *, signal: bool) -> dict[str, Any]:
    """Per-set figures for ``summary.json``."""
    stats: dict[str, Any] = {"n": len(r), "dz_max": dz_statistics(r["dz_max"])}
    stats["dz_max_all_bins"] = dz_statistics(r["dz_max_all"])
    if signal:
        strong = r["z_max_lr"] >= config.position_min_z
        pos = (r["pos_pred"], r["pos_lr"])
        stats["position_accuracy"] = position_accuracy(
            r["pos_pred"][strong], r["pos_lr"][strong], config.position_tolerance
        )
        stats["position_accuracy_all"] = position_accuracy(*pos, config.position_tolerance)
        stats["position_exact"] = position_accuracy(r["pos_pred"][strong], r["pos_lr"][strong], 0)
        if np.isfinite(r["z_window"]).any():
            stats["dz_window"] = dz_statistics(r["z_max_pred"] - r["z_window"])
        edge = edge_mask(r, config.exclude_first, config.edge_window)
        stats["dz_max_edge"] = dz_statistics(r["dz_max"][edge])
        stats["dz_max_interior"] = dz_statistics(r["dz_max"][~edge])
    else:
        stats["false_rate_pred"] = false_rate(r["z_max_pred"], config.discovery_z)
        stats["false_rate_lr"] = false_rate(r["z_max_lr"], config.discovery_z)
        k = int(np.sum(r["z_max_pred"] > config.discovery_z))
        stats["n_false_pred"] = k
        stats["false_rate_pred_upper95"] = float(beta.ppf(0.95, k + 1, max(len(r) - k, 1)))  # Clopper-Pearson
    return stats


def edge_mask(r: SetResult, exclude_first: float, window: int) -> np.ndarray:
    """True for the histograms whose ``Z_max(LR)`` lies within ``window`` bins of either end of the scanned range.

    The scanned range of a histogram of ``n`` bins is ``[first_bin(n), n - 1]``; a maximum at bin ``p`` is at the
    edge when ``p - first_bin(n) < window`` or ``n - 1 - p < window``.

    >>> cols = {"n_bins": np.array([100.0, 100.0, 100.0]), "pos_lr": np.array([12.0, 50.0, 95.0])}
    >>> edge_mask(SetResult("x", cols), 0.1, 5).tolist()
    [True, False, True]
    """
    if isinstance(window, bool) or not (isinstance(window, (int, np.integer)) and window >= 1):
        raise InputError(f"edge window must be a positive number of bins, got {window!r}")
    n = r["n_bins"].astype(np.int64)
    pos = r["pos_lr"].astype(np.int64)
    return (pos - first_bin(n, exclude_first) < window) | (n - 1 - pos < window)


def sparse_bias(r: SetResult, max_expected: float = 1.0) -> dict[str, float]:
    """Median ``dZ_max`` of the histograms whose ``Z_max(LR)`` bin expects ``< max_expected`` events."""
    sel = r["b_at_max"] < max_expected
    return {"n": int(sel.sum()), **{k: v for k, v in dz_statistics(r["dz_max"][sel]).items() if k != "n"}}
