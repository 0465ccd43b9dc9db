"""The BumpNet evaluation's metrics: pure functions of arrays (targets, predictions, scores), checked without a
network.

Per-histogram maxima of the target and of the prediction (:func:`compare_maxima`, the first bins left out as
:func:`hepbump.bumpnet.scan.first_bin` says), their statistics (:func:`dz_statistics`, :func:`profile`), the
position accuracy, the false > 5 sigma rate, the ROC curve and its area, the sparse-tail selection and the LR
significance of a known signal shape (:func:`window_significance`). The definitions are in
:mod:`hepbump.bumpnet.evaluate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr
from scipy.stats import rankdata

from hepbump.bumpnet.scan import first_bin
from hepbump.errors import InputError

__all__ = [
    "MaxComparison",
    "compare_maxima",
    "dz_statistics",
    "false_rate",
    "position_accuracy",
    "profile",
    "roc_auc",
    "roc_curve",
    "sparse_tail_mask",
    "window_significance",
]


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
    first = first_bin(lengths, exclude_first)
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
