"""Evaluating BumpNet as in the paper's section 3 (figures 5-13): test sets, headline figures, PNG + CSV.

:func:`evaluate` generates test sets with :func:`hepbump.bumpnet.data.generate` (independent of the training
data: own seeds, and the held-out "test" mothers for the data-like shapes), predicts them with
:func:`hepbump.bumpnet.predict.predict`, and writes one figure per family of the paper's figures (PNG, drawn by
:mod:`hepbump.bumpnet.evalplots`) with its numbers (CSV), a per-histogram table and ``summary.json``. The
computations are pure functions of arrays (targets, predictions), so that they can be checked without a
network.

**Definitions** (per histogram of ``n`` bins; the first ``k = floor(exclude_first * n)`` bins, 10% by default
as in the paper's section 3.1, are excluded from every maximum unless said otherwise):

* the *target* ``Z_i = lr_significance(n_i, b_i)`` against the true expected background ``b`` (see
  :mod:`hepbump.bumpnet.data`); ``Z_max(LR) = max_{i >= k} Z_i``, ``Z_max(pred) = max_{i >= k} z_pred_i`` and
  ``dZ_max = Z_max(pred) - Z_max(LR)``. The two maxima may sit in different bins (the paper's definition).
* ``sigma(dZ_max)``: the standard deviation of ``dZ_max`` over a signal test set (every histogram, all
  ``Z_max(LR)``, as the paper's 0.53 / 0.75); the robust width (half the 16-84% interval) is reported too.
* *position*: ``argmax`` of the same maxima, in bins; the *relative position* is ``(argmax + 0.5) / n`` (bins,
  not GeV). *Position accuracy* = the fraction of histograms with ``|argmax pred - argmax LR| <= 1`` bin
  (``position_tolerance``) among those with ``Z_max(LR) >= 2`` (the paper's Fig. 7b: below that the maximum
  is often a background fluctuation); the exact-bin fraction and the fraction over all histograms are given too.
* *false > 5 sigma rate*: the fraction of background-only histograms with ``Z_max(pred) > 5`` (the same for
  ``Z_max(LR)`` is given for reference: the per-bin maximum of pure fluctuations).
* *ROC* (Fig. 9): test statistic ``Z_max(pred)`` on the signal set against the background-only set of the
  same shapes, and the "ideal LR test" ``Z_max(LR)`` (the per-bin LR target with the known background) on the
  same histograms; AUC = P(score_signal > score_background) (ties count one half).
* *Signal sets* have a signal in every histogram: Gaussian, 1 bin wide unless said otherwise, the Asimov
  significance of the peak bin uniform in ``DataConfig.z_range`` (0-10), the position uniform over all bins
  (as in training: a signal in the excluded first bins leaves ``Z_max(LR)`` to the fluctuations elsewhere).
  Background-only sets are the same shapes without signal.
* *Data-like shapes*: the test mothers (held out from training, 25%, paper section 3.2.1) at their own yield
  (``mother_scale_range = (1, 1)``, within the training range); with training mothers too, Fig. 10 compares
  shapes seen and unseen in training.
* *Distortions* (Fig. 11, section 3.2.2), applied to the *expected* background before the signal and the
  fluctuations, so the target is the LR significance against the distorted truth while the network was trained
  on undistorted shapes; with ``i = 0 .. N-1`` the bin index (0-based, so the last bin keeps a factor
  ``1/N`` rather than 0) and ``N`` the number of bins: standard ``b'_i = 1.5 (N - i)/N b_i``, reverse
  ``b'_i = 0.5 (N - i)/N b_i``, inferior ``b'_i = 0.5 b_i``, superior ``b'_i = 1.5 b_i`` (floored at
  ``DataConfig.min_expected``). They distort the data-like test shapes (the paper) or, without test mothers,
  the analytic ones.
* *Sparse tails* (Fig. 12): histograms whose last ``sparse_tail_fraction`` (25%) of the bins all have
  ``b < 1`` expected event and whose injected signal peaks in that tail; drawn by rejection from analytic
  backgrounds with log-uniform ``y1 > y2`` in ``DataConfig.y_range`` (``log_y_fraction = 1``) and, when test
  mothers are given, from them for half of the draws (before the selection). The *sparse-tail bias* is the
  median ``dZ_max`` of those whose ``Z_max(LR)`` bin has ``b < 1``; "no bias growth" means ``|bias| <= 0.15``,
  the nominal bias floor (``bias_growth_sparse_tail``, the difference to the analytic nominal median, is given
  too).
* *Signal widths* (Fig. 13): analytic backgrounds with 1-, 2- and 3-bin Gaussians. ``dZ_max`` uses the per-bin
  target, the network's training target for every width (the headline); the paper compares with the LR
  significance of the whole known signal shape (yield fitted on the known background, as
  :func:`hepbump.stats.lr_significance_known`), given as ``Z_window`` and ``Z_max(pred) - Z_window``.

Headline figures (``summary.json``, each with the paper's floor and the stricter target, and pass flags):
``sigma(dZ_max) <= 0.53 / 0.40`` (analytic), ``<= 0.75 / 0.60`` (data-like), ``|median dZ_max| <= 0.15``,
false > 5 sigma rates ``<= 0.05% / 0.13%`` (paper: 0.048% and 0.129%), ``|median dZ_max| <= 0.15`` in sparse
tails and for 2- and 3-bin signals (targets beyond the paper). Figures not reached are listed in
``not_reached``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr
from scipy.stats import beta, rankdata

from hepbump.bumpnet.data import DataConfig, HistogramBatch, MotherBank, analytic_backgrounds, generate, inject_signals
from hepbump.errors import InputError
from hepbump.io.atomic import atomic_path

__all__ = [
    "DISTORTIONS",
    "EvaluateConfig",
    "EvaluationSummary",
    "MaxComparison",
    "Metric",
    "SetResult",
    "compare_maxima",
    "distort",
    "dz_statistics",
    "evaluate",
    "false_rate",
    "first_bins",
    "position_accuracy",
    "profile",
    "roc_auc",
    "roc_curve",
    "sparse_tail_mask",
    "window_significance",
]

log = logging.getLogger(__name__)

#: The four systematic distortions of the paper's section 3.2.2, in its order.
DISTORTIONS = ("standard", "reverse", "inferior", "superior")

#: The paper's figures (section 3.1) and the stricter targets of the project.
PAPER_SIGMA = {"function": 0.53, "dm": 0.75}
TARGET_SIGMA = {"function": 0.40, "dm": 0.60}
PAPER_FALSE_RATE = {"function": 0.00048, "dm": 0.00129}
FLOOR_FALSE_RATE = {"function": 0.0005, "dm": 0.0013}
MEDIAN_FLOOR = 0.15

_Z_EDGES = tuple(float(x) for x in np.round(np.arange(0.0, 12.01, 0.5), 6))


@dataclass(frozen=True)
class EvaluateConfig:
    """What :func:`evaluate` generates and how it bins the profiles (see the module docstring).

    Sizes: ``n_nominal`` histograms per nominal signal set (analytic, data-like), ``n_background`` per
    background-only set, ``n_shape`` per other set (each distortion, each extra signal width, sparse tails, the
    training shapes of Fig. 10). ``data`` is the base recipe (axes, bin counts, yields) that each set modifies.
    ``figures=False`` writes the CSVs and the summary only; ``per_histogram_csv`` adds ``histograms.csv.gz``.
    """

    n_nominal: int = 20_000
    n_background: int = 20_000
    n_shape: int = 10_000
    seed: int = 0
    exclude_first: float = 0.1
    z_edges: tuple[float, ...] = _Z_EDGES
    position_bins: int = 20
    dz_range: tuple[float, float] = (-4.0, 4.0)
    discovery_z: float = 5.0
    position_tolerance: int = 1
    position_min_z: float = 2.0
    widths: tuple[float, ...] = (1.0, 2.0, 3.0)
    mother_scale_range: tuple[float, float] = (1.0, 1.0)
    sparse_tail_fraction: float = 0.25
    sparse_max_expected: float = 1.0
    per_histogram_csv: bool = True
    figures: bool = True
    data: DataConfig = field(default_factory=DataConfig)

    def __post_init__(self) -> None:
        for name in ("n_nominal", "n_background", "n_shape", "position_bins"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InputError(f"EvaluateConfig.{name} must be a positive integer, got {value!r}")
        _check_fraction(self.exclude_first)
        z = np.asarray(self.z_edges, dtype=float)
        if z.ndim != 1 or z.size < 2 or np.any(~np.isfinite(z)) or np.any(np.diff(z) <= 0):
            raise InputError("EvaluateConfig.z_edges must be at least two increasing finite numbers")
        if not self.dz_range[0] < self.dz_range[1]:
            raise InputError(f"EvaluateConfig.dz_range must be (low, high) with low < high, got {self.dz_range}")
        if not self.widths or any(not (np.isfinite(w) and w > 0) for w in self.widths):
            raise InputError(f"EvaluateConfig.widths must be positive numbers of bins, got {self.widths}")
        if not 0 < self.mother_scale_range[0] <= self.mother_scale_range[1]:
            raise InputError(f"EvaluateConfig.mother_scale_range must be 0 < lo <= hi, got {self.mother_scale_range}")
        if not 0 < self.sparse_tail_fraction <= 1 or not self.sparse_max_expected > 0:
            raise InputError("EvaluateConfig: need 0 < sparse_tail_fraction <= 1 and sparse_max_expected > 0")
        if self.position_tolerance < 0:
            raise InputError("EvaluateConfig.position_tolerance must be >= 0")

    @classmethod
    def quick(cls, **kwargs: Any) -> EvaluateConfig:
        """A small evaluation (2000 histograms per nominal set): minutes on one CPU thread."""
        return cls(**{"n_nominal": 2000, "n_background": 2000, "n_shape": 1000, **kwargs})

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "data"}
        out["data"] = self.data.to_dict()
        return out


def _check_fraction(exclude_first: float) -> None:
    if not (isinstance(exclude_first, (int, float)) and 0.0 <= exclude_first < 1.0):
        raise InputError(f"exclude_first must be in [0, 1), got {exclude_first!r}")


# --- pure computations ------------------------------------------------------------------------------------------


def first_bins(n_bins: Any, exclude_first: float = 0.1) -> np.ndarray:
    """Index of the first bin entering the maxima: ``floor(exclude_first * n)`` (as ``bumpnet scan``).

    >>> first_bins([30, 35, 40, 9]).tolist()
    [3, 3, 4, 0]
    """
    _check_fraction(exclude_first)
    return np.floor(exclude_first * np.asarray(n_bins, dtype=np.int64) + 1e-9).astype(np.int64)


@dataclass(frozen=True)
class MaxComparison:
    """Per-histogram maxima of the target (LR) and of the prediction, their bins, and the bin counts."""

    z_lr: np.ndarray
    z_pred: np.ndarray
    pos_lr: np.ndarray
    pos_pred: np.ndarray
    n_bins: np.ndarray
    first: np.ndarray

    @property
    def dz(self) -> np.ndarray:
        """``dZ_max = Z_max(pred) - Z_max(LR)``."""
        return self.z_pred - self.z_lr

    @property
    def rel_pos_lr(self) -> np.ndarray:
        """Relative position ``(argmax LR + 0.5) / n`` of ``Z_max(LR)`` in the histogram."""
        return (self.pos_lr + 0.5) / self.n_bins

    @property
    def dpos(self) -> np.ndarray:
        """``argmax pred - argmax LR`` in bins."""
        return self.pos_pred - self.pos_lr


def _as_rows(x: Any, what: str) -> list[np.ndarray]:
    if isinstance(x, np.ndarray) and x.ndim == 2:
        return list(np.asarray(x, dtype=float))
    if isinstance(x, np.ndarray) and x.ndim != 2:
        raise InputError(f"{what}: expected a 2D array or a sequence of 1D arrays, got shape {x.shape}")
    rows = [np.asarray(r, dtype=float) for r in x]
    if any(r.ndim != 1 or r.size == 0 for r in rows):
        raise InputError(f"{what}: every histogram must be a non-empty 1D array")
    return rows


def _pad(rows: list[np.ndarray], fill: float) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([r.size for r in rows], dtype=np.int64)
    out = np.full((len(rows), int(lengths.max()) if len(rows) else 0), fill)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return out, lengths


def compare_maxima(targets: Any, predictions: Any, exclude_first: float = 0.1) -> MaxComparison:
    """Maxima and their bins of the targets and of the predictions, the first ``exclude_first`` of bins left out.

    ``targets`` and ``predictions``: 2D arrays ``(B, n)`` or sequences of 1D arrays of matching lengths.

    >>> t = np.array([[9.0, 0.0, 1.0, 3.0, 0.5], [0.0, 2.0, 0.0, 0.0, 0.0]])
    >>> c = compare_maxima(t, t + [[0, 0, 0, 0.5, 0], [0, 0, 0, 0, 2.5]], exclude_first=0.2)
    >>> c.z_lr.tolist(), c.pos_lr.tolist(), c.dz.tolist(), c.dpos.tolist()
    ([3.0, 2.0], [3, 1], [0.5, 0.5], [0, 3])
    """
    t_rows, p_rows = _as_rows(targets, "targets"), _as_rows(predictions, "predictions")
    if len(t_rows) != len(p_rows):
        raise InputError(f"{len(t_rows)} targets but {len(p_rows)} predictions")
    if not t_rows:
        raise InputError("no histograms to compare")
    if any(t.size != p.size for t, p in zip(t_rows, p_rows)):
        raise InputError("each prediction must have the bin count of its target")
    t, lengths = _pad(t_rows, -np.inf)
    p, _ = _pad(p_rows, -np.inf)
    if np.isnan(t).any() or np.isnan(p).any() or np.isinf(t[t != -np.inf]).any() or np.isinf(p[p != -np.inf]).any():
        raise InputError("targets and predictions must be finite")
    first = first_bins(lengths, exclude_first)
    excluded = np.arange(t.shape[1])[None, :] < first[:, None]
    t = np.where(excluded, -np.inf, t)
    p = np.where(excluded, -np.inf, p)
    rows = np.arange(len(t_rows))
    pos_lr, pos_pred = np.argmax(t, axis=1), np.argmax(p, axis=1)
    return MaxComparison(t[rows, pos_lr], p[rows, pos_pred], pos_lr, pos_pred, lengths, first)


def dz_statistics(dz: Any) -> dict[str, float]:
    """``n``, mean, median, standard deviation, 16/84% quantiles and robust sigma (half their distance).

    >>> dz_statistics([0.0, 0.0])["std"]
    0.0
    """
    d = np.asarray(dz, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        nan = float("nan")
        return {"n": 0, "mean": nan, "median": nan, "std": nan, "q16": nan, "q84": nan, "robust_sigma": nan}
    q16, q50, q84 = np.quantile(d, [0.15865, 0.5, 0.84135])
    return {
        "n": int(d.size),
        "mean": float(d.mean()),
        "median": float(q50),
        "std": float(d.std()),
        "q16": float(q16),
        "q84": float(q84),
        "robust_sigma": float(0.5 * (q84 - q16)),
    }


def profile(x: Any, y: Any, edges: Any) -> dict[str, np.ndarray]:
    """Statistics of ``y`` in bins of ``x`` (``edges``; values outside are left out): a column per statistic.

    Columns ``x_lo, x_hi, n, mean, median, std, q16, q84`` (NaN in empty bins).

    >>> p = profile([0.5, 0.5, 1.5], [1.0, 3.0, 5.0], [0.0, 1.0, 2.0, 3.0])
    >>> p["n"].tolist(), p["median"].tolist()[:2]
    ([2, 1, 0], [2.0, 5.0])
    """
    x, y, edges = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(edges, dtype=float)
    if x.shape != y.shape:
        raise InputError(f"profile: x {x.shape} and y {y.shape} differ in shape")
    idx = np.searchsorted(edges, x, side="right") - 1
    idx = np.where(x == edges[-1], len(edges) - 2, idx)  # the last edge belongs to the last bin
    inside = (idx >= 0) & (idx < len(edges) - 1) & np.isfinite(y)
    nb = len(edges) - 1
    cols = {k: np.full(nb, np.nan) for k in ("mean", "median", "std", "q16", "q84")}
    n = np.bincount(idx[inside], minlength=nb)
    order = np.argsort(idx[inside], kind="stable")
    ys = y[inside][order]
    starts = np.concatenate([[0], np.cumsum(n)])
    for j in np.flatnonzero(n):
        v = ys[starts[j] : starts[j + 1]]
        q16, q50, q84 = np.quantile(v, [0.15865, 0.5, 0.84135])
        cols["mean"][j], cols["median"][j], cols["std"][j] = v.mean(), q50, v.std()
        cols["q16"][j], cols["q84"][j] = q16, q84
    return {"x_lo": edges[:-1], "x_hi": edges[1:], "n": n, **cols}


def position_accuracy(pos_pred: Any, pos_lr: Any, tolerance: int = 1) -> float:
    """Fraction of histograms with ``|pos_pred - pos_lr| <= tolerance`` bins (NaN for none).

    >>> position_accuracy([3, 5, 9], [3, 6, 1], tolerance=1)
    0.6666666666666666
    """
    a, b = np.asarray(pos_pred), np.asarray(pos_lr)
    if a.shape != b.shape:
        raise InputError("position_accuracy: the two position arrays differ in shape")
    return float(np.mean(np.abs(a - b) <= tolerance)) if a.size else float("nan")


def false_rate(z_max: Any, threshold: float = 5.0) -> float:
    """Fraction of (background-only) histograms with ``Z_max > threshold`` (NaN for none).

    >>> false_rate([0.5, 6.0, 2.0, 5.0])
    0.25
    """
    z = np.asarray(z_max, dtype=float)
    return float(np.mean(z > threshold)) if z.size else float("nan")


def roc_curve(signal: Any, background: Any, n_points: int = 400) -> dict[str, np.ndarray]:
    """True- against false-positive rate of the cut ``score >= threshold``, at up to ``n_points + 2`` thresholds.

    Thresholds are quantiles of the pooled scores (plus ``+inf``, giving (0, 0), and the minimum, giving (1, 1)).
    Returns ``threshold, fpr, tpr`` (increasing rates).
    """
    s, b = np.sort(np.asarray(signal, dtype=float)), np.sort(np.asarray(background, dtype=float))
    if s.size == 0 or b.size == 0:
        raise InputError("roc_curve needs signal and background scores")
    pooled = np.concatenate([s, b])
    thr = np.unique(np.quantile(pooled, np.linspace(0.0, 1.0, n_points + 1)))[::-1]
    thr = np.concatenate([[np.inf], thr])
    tpr = 1.0 - np.searchsorted(s, thr, side="left") / s.size
    fpr = 1.0 - np.searchsorted(b, thr, side="left") / b.size
    return {"threshold": thr, "fpr": fpr, "tpr": tpr}


def roc_auc(signal: Any, background: Any) -> float:
    """Area under the ROC curve: ``P(signal > background) + P(equal) / 2`` (Mann-Whitney).

    >>> roc_auc([2.0, 3.0], [1.0, 2.0])
    0.875
    """
    s, b = np.asarray(signal, dtype=float), np.asarray(background, dtype=float)
    if s.size == 0 or b.size == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([s, b]))
    return float((ranks[: s.size].sum() - s.size * (s.size + 1) / 2) / (s.size * b.size))


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


def sparse_tail_mask(
    background: np.ndarray, signal_bin: np.ndarray, tail_fraction: float = 0.25, max_expected: float = 1.0
) -> np.ndarray:
    """Rows ``(B, n)`` whose last ``ceil(tail_fraction * n)`` bins all expect ``< max_expected`` events and whose
    signal peaks in that tail (``signal_bin`` ``-1``, no signal: the tail condition only).

    >>> b = np.array([[50.0, 5.0, 0.5, 0.1], [50.0, 5.0, 2.0, 0.1]])
    >>> sparse_tail_mask(b, np.array([3, 3]), 0.5).tolist()
    [True, False]
    """
    b = np.asarray(background, dtype=float)
    n = b.shape[1]
    start = n - max(1, math.ceil(tail_fraction * n))
    sparse = np.all(b[:, start:] < max_expected, axis=1)
    sb = np.asarray(signal_bin)
    return sparse & ((sb < 0) | (sb >= start))


def window_significance(
    counts: np.ndarray, background: np.ndarray, edges: np.ndarray, mean: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """LR significance of a Gaussian of known mean and width with a free yield on the known background, per row.

    The same statistic as :func:`hepbump.stats.fit_yield_known_background` (one template per histogram),
    computed for rows ``(B, n)`` at once by bisection on the score; NaN where ``mean`` is NaN (no signal).
    """
    n = np.asarray(counts, dtype=float)
    b = np.asarray(background, dtype=float)
    has = np.isfinite(mean) & np.isfinite(sigma) & (np.asarray(sigma) > 0)
    out = np.full(n.shape[0], np.nan)
    if not has.any():
        return out
    n, b, e = n[has], b[has], np.asarray(edges, dtype=float)[has]
    m, s = np.asarray(mean, dtype=float)[has], np.asarray(sigma, dtype=float)[has]
    g = np.diff(ndtr((e - m[:, None]) / s[:, None]), axis=1)
    norm = g.sum(axis=1)
    ok = norm > 0
    g = g / np.where(ok, norm, 1.0)[:, None]
    with np.errstate(divide="ignore", over="ignore"):
        ratio = np.where(g > 0, b / np.where(g > 0, g, 1.0), np.inf)
    lo = -ratio.min(axis=1) * (1.0 - 1e-9)
    hi = np.maximum((n * (g > 0)).sum(axis=1), 0.0) + 1e-9
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        positive = np.sum(n * g / (b + mid[:, None] * g), axis=1) - 1.0 > 0
        lo, hi = np.where(positive, mid, lo), np.where(positive, hi, mid)
    s_hat = 0.5 * (lo + hi)
    mu = b + s_hat[:, None] * g
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.where(n > 0, n * (np.log(np.where(mu > 0, mu, 1e-300)) - np.log(b)), 0.0) - (mu - b)
    q0 = np.clip(2.0 * ll.sum(axis=1), 0.0, None)
    out[np.flatnonzero(has)] = np.where(ok, np.sign(s_hat) * np.sqrt(q0), np.nan)
    return out


# --- test sets --------------------------------------------------------------------------------------------------

#: Per-histogram columns of a :class:`SetResult` (and of ``histograms.csv.gz``, with the set name first).
_COLUMNS = (
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
    """Per-histogram numbers of one test set: ``columns[name]`` is an array per entry of ``_COLUMNS``.

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
class _Spec:
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


def _generate_set(spec: _Spec, config: EvaluateConfig) -> list[HistogramBatch]:
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


def _set_specs(
    config: EvaluateConfig, test_mothers: MotherBank | None, train_mothers: MotherBank | None
) -> list[_Spec]:
    one = {"signal_fraction": 1.0, "signal_width_bins": (1.0,), "signal_width_probs": (1.0,)}
    base = replace(config.data, mother_scale_range=config.mother_scale_range)
    fn = replace(base, mother_fraction=0.0, **one)
    dm = replace(base, mother_fraction=1.0, **one)
    specs = [
        _Spec("function", config.n_nominal, fn, window=True),
        _Spec("function_bkg", config.n_background, replace(fn, signal_fraction=0.0), signal=False),
    ]
    if test_mothers is not None:
        specs += [
            _Spec("dm", config.n_nominal, dm, test_mothers),
            _Spec("dm_bkg", config.n_background, replace(dm, signal_fraction=0.0), test_mothers, signal=False),
        ]
    if train_mothers is not None:
        specs.append(_Spec("dm_train", config.n_shape, dm, train_mothers))
    for kind in DISTORTIONS:
        cfg, bank = (dm, test_mothers) if test_mothers is not None else (fn, None)
        specs.append(_Spec(f"distort_{kind}", config.n_shape, cfg, bank, distortion=kind))
    sparse_cfg = replace(base, log_y_fraction=1.0, mother_fraction=0.5 if test_mothers is not None else 0.0, **one)
    specs.append(_Spec("sparse", config.n_shape, sparse_cfg, test_mothers, sparse=True))
    for w in config.widths:
        if w == 1.0:
            continue  # the nominal analytic set
        specs.append(
            _Spec(
                f"width_{w:g}",
                config.n_shape,
                replace(fn, signal_width_bins=(float(w),), signal_width_probs=(1.0,)),
                window=True,
            )
        )
    return specs


def _evaluate_set(
    spec: _Spec,
    batches: list[HistogramBatch],
    predictor: Callable[[list[HistogramBatch]], list[np.ndarray]],
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
    return SetResult(spec.name, {k: np.concatenate([p.columns[k] for p in parts]) for k in _COLUMNS})


# --- summary ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One headline figure with the paper's floor and the project's target (``value <= floor``; ``absolute``:
    ``|value| <= floor``). Pass flags are ``None`` where there is no floor or no value."""

    name: str
    value: float
    description: str
    paper: float | None = None
    target: float | None = None
    absolute: bool = False

    def _passes(self, floor: float | None) -> bool | None:
        if floor is None or not np.isfinite(self.value):
            return None
        return bool((abs(self.value) if self.absolute else self.value) <= floor)

    @property
    def paper_pass(self) -> bool | None:
        return self._passes(self.paper)

    @property
    def target_pass(self) -> bool | None:
        return self._passes(self.target)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "value": _finite(self.value),
            "description": self.description,
            "criterion": "|value| <= floor" if self.absolute else "value <= floor",
            "paper_floor": self.paper,
            "paper_pass": self.paper_pass,
            "target": self.target,
            "target_pass": self.target_pass,
        }


def _finite(x: float) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


@dataclass(frozen=True)
class EvaluationSummary:
    """What :func:`evaluate` found: headline metrics, per-set statistics, the files written."""

    out_dir: Path
    model: str
    metrics: tuple[Metric, ...]
    sets: dict[str, dict[str, Any]]
    files: tuple[str, ...]
    skipped: tuple[str, ...]
    config: dict[str, Any]

    @property
    def not_reached(self) -> tuple[str, ...]:
        """One line per floor or target not reached (or not evaluated)."""
        out = []
        for m in self.metrics:
            for label, floor, ok in (("paper", m.paper, m.paper_pass), ("target", m.target, m.target_pass)):
                if floor is None:
                    continue
                v = f"|{m.value:.4g}|" if m.absolute else f"{m.value:.4g}"
                if ok is None:
                    out.append(f"{m.name}: not evaluated ({label} floor {floor:g})")
                elif not ok:
                    out.append(f"{m.name} = {v} > {floor:g} ({label})")
        return tuple(out)

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "out_dir": str(self.out_dir),
            "metrics": [m.to_dict() for m in self.metrics],
            "not_reached": list(self.not_reached),
            "sets": _jsonable(self.sets),
            "skipped": list(self.skipped),
            "files": list(self.files),
            "config": _jsonable(self.config),
        }

    def format(self) -> str:
        """A plain-text table of the headline metrics."""
        lines = [f"{'metric':34s} {'value':>10s} {'paper':>8s} {'pass':>5s} {'target':>8s} {'pass':>5s}"]

        def flag(ok: bool | None) -> str:
            return "-" if ok is None else ("yes" if ok else "NO")

        for m in self.metrics:
            lines.append(
                f"{m.name:34s} {m.value:>10.4g} {'-' if m.paper is None else f'{m.paper:g}':>8s} "
                f"{flag(m.paper_pass):>5s} {'-' if m.target is None else f'{m.target:g}':>8s} "
                f"{flag(m.target_pass):>5s}"
            )
        return "\n".join(lines)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return _finite(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


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
    else:
        stats["false_rate_pred"] = false_rate(r["z_max_pred"], config.discovery_z)
        stats["false_rate_lr"] = false_rate(r["z_max_lr"], config.discovery_z)
        k = int(np.sum(r["z_max_pred"] > config.discovery_z))
        stats["n_false_pred"] = k
        stats["false_rate_pred_upper95"] = float(beta.ppf(0.95, k + 1, max(len(r) - k, 1)))  # Clopper-Pearson
    return stats


def sparse_bias(r: SetResult, max_expected: float = 1.0) -> dict[str, float]:
    """Median ``dZ_max`` of the histograms whose ``Z_max(LR)`` bin expects ``< max_expected`` events."""
    sel = r["b_at_max"] < max_expected
    return {"n": int(sel.sum()), **{k: v for k, v in dz_statistics(r["dz_max"][sel]).items() if k != "n"}}


def headline_metrics(results: dict[str, SetResult], config: EvaluateConfig) -> tuple[Metric, ...]:
    """The headline figures of the available sets (see the module docstring)."""
    out: list[Metric] = []
    for name, label in (("function", "analytic"), ("dm", "data-like (held-out mothers)")):
        if name not in results:
            continue
        st = dz_statistics(results[name]["dz_max"])
        out.append(
            Metric(
                f"sigma_dz_{name}", st["std"], f"std of dZ_max, {label} shapes", PAPER_SIGMA[name], TARGET_SIGMA[name]
            )
        )
        out.append(
            Metric(f"median_dz_{name}", st["median"], f"median dZ_max, {label}", MEDIAN_FLOOR, MEDIAN_FLOOR, True)
        )
        out.append(Metric(f"robust_sigma_dz_{name}", st["robust_sigma"], f"half 16-84% width of dZ_max, {label}"))
        r = results[name]
        strong = r["z_max_lr"] >= config.position_min_z
        out.append(
            Metric(
                f"position_accuracy_{name}",
                position_accuracy(r["pos_pred"][strong], r["pos_lr"][strong], config.position_tolerance),
                f"fraction |argmax pred - argmax LR| <= {config.position_tolerance} bin, Z_max(LR) >= "
                f"{config.position_min_z:g}, {label}",
            )
        )
    for name, label in (("function_bkg", "function"), ("dm_bkg", "dm")):
        if name not in results:
            continue
        r = results[name]
        out.append(
            Metric(
                f"false_rate_{label}",
                false_rate(r["z_max_pred"], config.discovery_z),
                f"fraction of background-only histograms with Z_max(pred) > {config.discovery_z:g} "
                f"(paper {PAPER_FALSE_RATE[label]:.5f})",
                FLOOR_FALSE_RATE[label],
            )
        )
        sig = results.get(label)
        if sig is not None:
            out.append(Metric(f"auc_pred_{label}", roc_auc(sig["z_max_pred"], r["z_max_pred"]), "ROC AUC, BumpNet"))
            out.append(Metric(f"auc_lr_{label}", roc_auc(sig["z_max_lr"], r["z_max_lr"]), "ROC AUC, ideal LR test"))
    if "sparse" in results:
        sb = sparse_bias(results["sparse"], config.sparse_max_expected)
        out.append(
            Metric(
                "median_dz_sparse_tail",
                sb["median"],
                f"median dZ_max where the Z_max(LR) bin expects < {config.sparse_max_expected:g} event "
                f"({sb['n']} histograms)",
                None,
                MEDIAN_FLOOR,
                True,
            )
        )
        if "function" in results:
            growth = sb["median"] - dz_statistics(results["function"]["dz_max"])["median"]
            out.append(Metric("bias_growth_sparse_tail", growth, "median dZ_max sparse tails minus analytic nominal"))
    for w in config.widths:
        name = "function" if w == 1.0 else f"width_{w:g}"
        if name not in results:
            continue
        st = dz_statistics(results[name]["dz_max"])
        target = MEDIAN_FLOOR if w != 1.0 else None
        out.append(
            Metric(f"median_dz_width_{w:g}", st["median"], f"median dZ_max, {w:g}-bin signals", None, target, True)
        )
        out.append(Metric(f"sigma_dz_width_{w:g}", st["std"], f"std of dZ_max, {w:g}-bin signals"))
        zw = dz_statistics(results[name]["z_max_pred"] - results[name]["z_window"])
        out.append(
            Metric(f"median_dz_window_width_{w:g}", zw["median"], f"median Z_max(pred) - Z_window, {w:g}-bin signals")
        )
    for kind in DISTORTIONS:
        name = f"distort_{kind}"
        if name in results:
            st = dz_statistics(results[name]["dz_max"])
            out.append(Metric(f"median_dz_{kind}", st["median"], f"median dZ_max, {kind} distortion"))
            out.append(Metric(f"sigma_dz_{kind}", st["std"], f"std of dZ_max, {kind} distortion"))
    return tuple(out)


# --- output -----------------------------------------------------------------------------------------------------


def _csv_text(columns: dict[str, Any]) -> str:
    keys = list(columns)
    cols = [np.asarray(columns[k]) if not isinstance(columns[k], str) else columns[k] for k in keys]
    n = max((len(c) for c in cols if not isinstance(c, str)), default=0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for i in range(n):
        w.writerow([c if isinstance(c, str) else _cell(c[i]) for c in cols])
    return buf.getvalue()


def _cell(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else f"{float(v):.6g}"
    if isinstance(v, np.integer):
        return int(v)
    return v


def write_csv(path: Path, tables: Sequence[dict[str, Any]]) -> None:
    """Write long-format tables (dicts of equal-length columns; a ``str`` value is a constant column)."""
    text = ""
    for k, t in enumerate(tables):
        body = _csv_text(t)
        text += body if k == 0 else body.split("\n", 1)[1]
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _profile_table(labels: dict[str, str], x: Any, y: Any, edges: Any) -> dict[str, Any]:
    return {**labels, **profile(x, y, edges)}


def _log_edges(values: np.ndarray, lo: float = 1e-3, per_decade: int = 4) -> np.ndarray:
    v = values[np.isfinite(values) & (values > 0)]
    top = max(float(v.max()) if v.size else 10.0, lo * 10)
    return np.logspace(
        np.log10(lo), math.ceil(np.log10(top)), per_decade * (math.ceil(np.log10(top)) - int(np.log10(lo))) + 1
    )


def evaluate(
    model: Any,
    out_dir: str | Path,
    config: EvaluateConfig = EvaluateConfig(),
    *,
    test_mothers: MotherBank | None = None,
    train_mothers: MotherBank | None = None,
    progress: bool = False,
    model_name: str = "",
    predictor: Callable[[list[HistogramBatch]], list[np.ndarray]] | None = None,
) -> EvaluationSummary:
    """Generate the test sets, predict them with ``model``, write figures, CSVs and ``summary.json`` to ``out_dir``.

    Without ``test_mothers`` the data-like sets are skipped (and the distortions use analytic shapes); without
    ``train_mothers`` Fig. 10 shows only the held-out shapes. ``predictor`` (the batches of a test set -> one
    prediction per histogram, in order) replaces ``predict(model, counts)``; ``model`` may then be ``None``
    (a "perfect" predictor returns the targets: tests).
    """
    from tqdm.auto import tqdm

    from hepbump.bumpnet import evalplots

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if predictor is None:
        if model is None:
            raise InputError("evaluate: give a model or a predictor")
        from hepbump.bumpnet.predict import predict

        def predictor(batches: list[HistogramBatch]) -> list[np.ndarray]:
            return predict(model, [row for b in batches for row in b.counts])

    for bank, what in ((test_mothers, "test"), (train_mothers, "training")):
        if bank is not None and len(bank) == 0:
            raise InputError(f"the {what} mother bank is empty")
    specs = _set_specs(config, test_mothers, train_mothers)
    results: dict[str, SetResult] = {}
    for spec in tqdm(specs, desc="evaluate", unit="set", disable=not progress):
        batches = _generate_set(spec, config)
        if not batches:
            log.warning("test set %s: no histograms", spec.name)
            continue
        results[spec.name] = _evaluate_set(spec, batches, predictor, config)
        log.info("test set %s: %d histograms", spec.name, len(results[spec.name]))
    signal_sets = {s.name: s.signal for s in specs}

    skipped = []
    if test_mothers is None:
        skipped.append("data-like sets (dm, dm_bkg) and Fig. 10: no test mothers given; distortions on analytic shapes")
    if train_mothers is None:
        skipped.append("Fig. 10a (data-like shapes seen in training): no training mothers given")

    files: list[Path] = []
    dz_edges = np.linspace(*config.dz_range, 81)
    z_edges = np.asarray(config.z_edges)
    pos_edges = np.linspace(0.0, 1.0, config.position_bins + 1)

    def panel(title: str, name: str, x: str, edges: Any, xlabel: str, y: str = "dz_max", logx: bool = False):
        r = results[name]
        return evalplots.Panel(title, r[x], r[y], np.asarray(edges), xlabel, profile(r[x], r[y], edges), logx)

    def emit(stem: str, tables: list[dict[str, Any]], draw: Callable[[Path], None]) -> None:
        csv_path, png_path = out / f"{stem}.csv", out / f"{stem}.png"
        write_csv(csv_path, tables)
        files.append(csv_path)
        if config.figures:
            draw(png_path)
            files.append(png_path)

    nominal = [n for n in ("function", "dm") if n in results]
    label = {"function": "analytic shapes", "dm": "data-like shapes (held out)", "dm_train": "data-like (training)"}

    # Fig. 5: dZ_max vs relative position, all bins / first 10% excluded
    tables, panels = [], []
    for excl, x, y in (("all_bins", "rel_pos_lr_all", "dz_max_all"), ("exclude_first", "rel_pos_lr", "dz_max")):
        for n in nominal:
            tables.append(_profile_table({"set": n, "bins": excl}, results[n][x], results[n][y], pos_edges))
        xs = np.concatenate([results[n][x] for n in nominal])
        ys = np.concatenate([results[n][y] for n in nominal])
        tables.append(_profile_table({"set": "combined", "bins": excl}, xs, ys, pos_edges))
        title = "all bins" if excl == "all_bins" else f"first {config.exclude_first:.0%} of bins excluded"
        panels.append(
            evalplots.Panel(title, xs, ys, pos_edges, "relative position of $Z^{LR}_{max}$", profile(xs, ys, pos_edges))
        )
    emit(
        "fig05_dz_vs_position",
        tables,
        lambda p: evalplots.plot_panels(panels, p, ylabel=r"$\Delta Z_{max}$", y_edges=dz_edges),
    )

    # Fig. 6: dZ_max vs Z_max(LR)
    tables = [_profile_table({"set": n}, results[n]["z_max_lr"], results[n]["dz_max"], z_edges) for n in nominal]
    panels6 = [panel(label[n], n, "z_max_lr", z_edges, r"$Z^{LR}_{max}$") for n in nominal]
    emit(
        "fig06_dz_vs_zlr",
        tables,
        lambda p: evalplots.plot_panels(panels6, p, ylabel=r"$\Delta Z_{max}$", y_edges=dz_edges),
    )

    # Fig. 7: position difference vs position, all and Z_max(LR) >= 2
    dpos_edges = np.arange(-10.5, 11.0, 1.0)
    xs = np.concatenate([results[n]["rel_pos_lr"] for n in nominal])
    dpos = np.concatenate([results[n]["pos_pred"] - results[n]["pos_lr"] for n in nominal])
    zl = np.concatenate([results[n]["z_max_lr"] for n in nominal])
    tables, panels7 = [], []
    for sel_name, sel in (
        ("all", np.ones_like(zl, bool)),
        (f"z_lr_ge_{config.position_min_z:g}", zl >= config.position_min_z),
    ):
        prof = profile(xs[sel], dpos[sel], pos_edges)
        idx = np.clip(np.searchsorted(pos_edges, xs[sel], side="right") - 1, 0, len(pos_edges) - 2)
        within = np.abs(dpos[sel]) <= config.position_tolerance
        frac = np.bincount(idx, weights=within, minlength=len(pos_edges) - 1) / np.maximum(prof["n"], 1)
        exact = np.bincount(idx, weights=dpos[sel] == 0, minlength=len(pos_edges) - 1) / np.maximum(prof["n"], 1)
        tables.append({"selection": sel_name, **prof, "frac_within_tolerance": frac, "frac_exact": exact})
        title = "all" if sel_name == "all" else rf"$Z^{{LR}}_{{max}} \geq {config.position_min_z:g}$"
        panels7.append(
            evalplots.Panel(title, xs[sel], dpos[sel], pos_edges, "relative position of $Z^{LR}_{max}$", prof)
        )
    emit(
        "fig07_position",
        tables,
        lambda p: evalplots.plot_panels(panels7, p, ylabel="pred - LR position [bins]", y_edges=dpos_edges),
    )

    # Fig. 8: dZ_max vs entries of the first bin
    first_edges = np.logspace(0, 6, 25)
    tables = [
        _profile_table({"set": n}, results[n]["count_first_bin"], results[n]["dz_max"], first_edges) for n in nominal
    ]
    panels8 = [
        panel(label[n], n, "count_first_bin", first_edges, "entries in the first bin", logx=True) for n in nominal
    ]
    emit(
        "fig08_dz_vs_first_bin",
        tables,
        lambda p: evalplots.plot_panels(panels8, p, ylabel=r"$\Delta Z_{max}$", y_edges=dz_edges),
    )

    # Fig. 9: Z_max distributions (signal / background only) and ROC curves
    z_hist_edges = np.linspace(-2.0, 15.0, 69)
    dist_tables, roc_tables, roc_sets = [], [], []
    for n in nominal:
        bkg = f"{n}_bkg"
        if bkg not in results:
            continue
        roc_sets.append(n)
        for kind, r in (("signal", results[n]), ("background", results[bkg])):
            for stat in ("pred", "lr"):
                h, _ = np.histogram(np.clip(r[f"z_max_{stat}"], z_hist_edges[0], z_hist_edges[-1]), z_hist_edges)
                dist_tables.append(
                    {
                        "set": n,
                        "sample": kind,
                        "statistic": stat,
                        "z_lo": z_hist_edges[:-1],
                        "z_hi": z_hist_edges[1:],
                        "count": h,
                    }
                )
        for stat in ("pred", "lr"):
            roc = roc_curve(results[n][f"z_max_{stat}"], results[bkg][f"z_max_{stat}"])
            roc_tables.append({"set": n, "statistic": stat, **roc})
    if roc_sets:
        write_csv(out / "fig09_roc.csv", roc_tables)
        files.append(out / "fig09_roc.csv")
        emit(
            "fig09_background_only",
            dist_tables,
            lambda p: evalplots.plot_background_only(dist_tables, roc_tables, roc_sets, p, config.discovery_z),
        )

    # Fig. 10: data-like shapes seen / unseen in training
    fig10 = [n for n in ("dm_train", "dm") if n in results]
    if fig10:
        tables = [_profile_table({"set": n}, results[n]["z_max_lr"], results[n]["dz_max"], z_edges) for n in fig10]
        panels10 = [panel(label[n], n, "z_max_lr", z_edges, r"$Z^{LR}_{max}$") for n in fig10]
        emit(
            "fig10_dm_seen_unseen",
            tables,
            lambda p: evalplots.plot_panels(panels10, p, ylabel=r"$\Delta Z_{max}$", y_edges=dz_edges),
        )

    # Fig. 11: distortions
    kinds = [k for k in DISTORTIONS if f"distort_{k}" in results]
    if kinds:
        tables = [
            _profile_table(
                {"distortion": k}, results[f"distort_{k}"]["z_max_lr"], results[f"distort_{k}"]["dz_max"], z_edges
            )
            for k in kinds
        ]
        ex_edges, ex_b = _example_background(test_mothers, config)
        examples = {k: (ex_edges, ex_b, np.maximum(distort(ex_b, k), config.data.min_expected)) for k in kinds}
        panels11 = [panel(k, f"distort_{k}", "z_max_lr", z_edges, r"$Z^{LR}_{max}$") for k in kinds]
        emit(
            "fig11_distortions",
            tables,
            lambda p: evalplots.plot_distortions(examples, panels11, p, ylabel=r"$\Delta Z_{max}$", y_edges=dz_edges),
        )

    # Fig. 12: sparse tails (and the reverse distortion): vs position and vs background in the Z_max(LR) bin
    sparse_sets = [n for n in ("sparse", "distort_reverse") if n in results]
    if sparse_sets:
        b_edges = _log_edges(np.concatenate([results[n]["b_at_max"] for n in sparse_sets]))
        tables, panels12 = [], []
        for n in sparse_sets:
            nice = "sparse tails" if n == "sparse" else "reverse distortion"
            tables.append(
                _profile_table(
                    {"set": n, "variable": "rel_pos_lr"}, results[n]["rel_pos_lr"], results[n]["dz_max"], pos_edges
                )
            )
            tables.append(
                _profile_table(
                    {"set": n, "variable": "b_at_max"}, results[n]["b_at_max"], results[n]["dz_max"], b_edges
                )
            )
            panels12.append(panel(nice, n, "rel_pos_lr", pos_edges, "relative position of $Z^{LR}_{max}$"))
            panels12.append(
                panel(nice, n, "b_at_max", b_edges, "expected background in the $Z^{LR}_{max}$ bin", logx=True)
            )
        emit(
            "fig12_sparse_tails",
            tables,
            lambda p: evalplots.plot_panels(panels12, p, ylabel=r"$\Delta Z_{max}$", y_edges=dz_edges, ncols=2),
        )

    # Fig. 13: signal widths
    wsets = [(w, "function" if w == 1.0 else f"width_{w:g}") for w in config.widths]
    wsets = [(w, n) for w, n in wsets if n in results]
    if wsets:
        tables, panels13 = [], []
        for w, n in wsets:
            r = results[n]
            tables.append(
                _profile_table({"width_bins": f"{w:g}", "reference": "per_bin"}, r["z_max_lr"], r["dz_max"], z_edges)
            )
            tables.append(
                _profile_table(
                    {"width_bins": f"{w:g}", "reference": "window"},
                    r["z_window"],
                    r["z_max_pred"] - r["z_window"],
                    z_edges,
                )
            )
            panels13.append(panel(f"{w:g}-bin signals", n, "z_max_lr", z_edges, r"$Z^{LR}_{max}$ (per bin)"))
        for w, n in wsets:
            r = results[n]
            y = r["z_max_pred"] - r["z_window"]
            panels13.append(
                evalplots.Panel(
                    f"{w:g}-bin signals vs whole-signal LR",
                    r["z_window"],
                    y,
                    z_edges,
                    r"$Z^{LR}$ (known signal shape)",
                    profile(r["z_window"], y, z_edges),
                )
            )
        emit(
            "fig13_widths",
            tables,
            lambda p: evalplots.plot_panels(
                panels13, p, ylabel=r"$\Delta Z_{max}$", y_edges=dz_edges, ncols=len(wsets)
            ),
        )

    # per-histogram table
    if config.per_histogram_csv:
        path = out / "histograms.csv.gz"
        tables = [{"set": name, **r.columns} for name, r in results.items()]
        text = "".join(_csv_text(t) if k == 0 else _csv_text(t).split("\n", 1)[1] for k, t in enumerate(tables))
        with atomic_path(path) as tmp:
            with gzip.open(tmp, "wt") as f:
                f.write(text)
        files.append(path)

    sets = {name: set_statistics(r, config, signal=signal_sets[name]) for name, r in results.items()}
    if "sparse" in results:
        sets["sparse"]["tail_bias"] = sparse_bias(results["sparse"], config.sparse_max_expected)
    summary = EvaluationSummary(
        out_dir=out,
        model=model_name,
        metrics=headline_metrics(results, config),
        sets=sets,
        files=tuple(str(p) for p in [*files, out / "summary.json"]),
        skipped=tuple(skipped),
        config=config.to_dict(),
    )
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary.to_dict(), indent=1) + "\n")
    return summary


def _example_background(test_mothers: MotherBank | None, config: EvaluateConfig) -> tuple[np.ndarray, np.ndarray]:
    """A background to draw the distortions on: the first test mother of >= 60 bins, else an analytic one."""
    if test_mothers is not None:
        for e, b in zip(test_mothers.edges, test_mothers.expected):
            if len(b) >= 60:
                return e, b
    rng = np.random.default_rng([config.seed, 11])
    cfg = replace(config.data, log_y_fraction=0.0)
    b, e, *_ = analytic_backgrounds(rng, 1, 100, cfg)
    return e[0], b[0]
