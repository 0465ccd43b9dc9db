"""Cleaning of an event sample by pairwise compatibility (ECO/EPO paper, section 4.1, Fig. 2).

Given the compatibility scores C_ij in [0, 1] of every pair of events (ECO or EPO), each event gets the mean
score ``s_i = 1/(k-1) sum_{j != i} C_ij`` over the k events still retained. While the lowest s_i is below the
threshold (0.68 by default, appendix B), that event is discarded and the scores are recomputed over the rest.
The test statistic is the number of retained events: 0 for no events, and a single remaining event counts 1
(a mean over no partners is undefined, so the last event is never discarded).

:func:`clean_many` computes the TS of many experiments at once from their padded sub-matrices (the
pseudo-experiments of the sensitivity studies), with the same passes vectorised over the experiments.

Ties of the lowest score are broken towards the lowest index. Only the off-diagonal of ``C`` is read; the
matrix should be symmetric (the ECO and EPO scores are), otherwise row i is the score of event i.

>>> C = np.array([[1, .9, .8, .1], [.9, 1, .9, .2], [.8, .9, 1, .1], [.1, .2, .1, 1]])
>>> r = clean(C)
>>> r.retained.tolist(), r.removed.tolist(), r.ts
([0, 1, 2], [3], 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepbump.errors import InputError

__all__ = [
    "DEFAULT_THRESHOLD",
    "CleaningStep",
    "CleaningResult",
    "mean_compatibility",
    "clean",
    "test_statistic",
    "clean_many",
]

#: The paper's compatibility threshold (section 4.1, appendix B).
DEFAULT_THRESHOLD = 0.68


@dataclass(frozen=True)
class CleaningStep:
    """One pass: the events still in (``active``, original indices), their mean scores, and the event removed
    after it (``None`` on the last pass)."""

    active: np.ndarray
    scores: np.ndarray
    removed: int | None


@dataclass(frozen=True)
class CleaningResult:
    """Retained event indices (increasing), removed indices in order of removal, the passes, the threshold."""

    retained: np.ndarray
    removed: np.ndarray
    history: tuple[CleaningStep, ...]
    threshold: float

    @property
    def ts(self) -> int:
        """The test statistic: the number of retained events."""
        return int(self.retained.size)


def _check_matrix(compatibility: np.ndarray) -> np.ndarray:
    c = np.asarray(compatibility, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise InputError(f"the compatibility matrix must be square, got shape {c.shape}")
    off = c[~np.eye(c.shape[0], dtype=bool)]
    if not np.all(np.isfinite(off)):
        raise InputError("the compatibility matrix has non-finite off-diagonal scores")
    return c


def mean_compatibility(compatibility: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
    """s_i = mean over j != i (j in ``active``) of C_ij, for each i in ``active`` (all events by default).

    >>> mean_compatibility(np.array([[1.0, 0.2, 0.4], [0.2, 1.0, 0.6], [0.4, 0.6, 1.0]])).round(3).tolist()
    [0.3, 0.4, 0.5]
    """
    c = _check_matrix(compatibility)
    idx = np.arange(c.shape[0]) if active is None else np.asarray(active, dtype=np.int64)
    k = idx.size
    if k < 2:
        return np.full(k, np.nan)
    sub = np.where(np.eye(k, dtype=bool), 0.0, c[np.ix_(idx, idx)])
    return sub.sum(axis=1) / (k - 1)


def clean(compatibility: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> CleaningResult:
    """Iteratively discard the least compatible event while its mean score is below ``threshold``."""
    c = _check_matrix(compatibility)
    if not np.isfinite(threshold):
        raise InputError(f"the threshold must be a finite number, got {threshold}")
    active = np.arange(c.shape[0])
    removed: list[int] = []
    history: list[CleaningStep] = []
    while active.size >= 2:
        s = mean_compatibility(c, active)
        worst = int(np.argmin(s))
        if s[worst] >= threshold:
            history.append(CleaningStep(active, s, None))
            break
        history.append(CleaningStep(active, s, int(active[worst])))
        removed.append(int(active[worst]))
        active = np.delete(active, worst)
    else:
        history.append(CleaningStep(active, np.full(active.size, np.nan), None))
    return CleaningResult(active, np.asarray(removed, dtype=np.int64), tuple(history), float(threshold))


def test_statistic(compatibility: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> int:
    """The number of events retained by :func:`clean` (0 for an empty sample).

    >>> test_statistic(np.zeros((0, 0))), test_statistic(np.ones((1, 1))), test_statistic([[1, 0.1], [0.1, 1]])
    (0, 1, 1)
    """
    return clean(compatibility, threshold).ts


test_statistic.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name


def clean_many(blocks: np.ndarray, sizes: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """The TS of many experiments at once: ``blocks`` (E, K, K) holds each experiment's compatibility matrix in
    its first ``sizes[e]`` rows and columns (the rest is padding, never read), ``sizes`` (E,) the numbers of
    events. Returns (E,) ``clean(blocks[e, :n, :n], threshold).ts`` (the same passes and tie-breaking; the mean
    scores are summed in another order, so a score within ~1e-15 of the threshold may be judged differently).

    >>> C = np.array([[1, .9, .8, .1], [.9, 1, .9, .2], [.8, .9, 1, .1], [.1, .2, .1, 1]])
    >>> clean_many(np.stack([C, C]), np.array([4, 2])).tolist()
    [3, 2]
    """
    c = np.asarray(blocks, dtype=np.float64)
    n = np.asarray(sizes, dtype=np.int64).reshape(-1)
    if c.ndim != 3 or c.shape[1] != c.shape[2] or c.shape[0] != n.size:
        raise InputError(f"expected (E, K, K) blocks and E sizes, got shapes {c.shape} and {n.shape}")
    if not np.isfinite(threshold):
        raise InputError(f"the threshold must be a finite number, got {threshold}")
    k = c.shape[1]
    if n.size and (n.min() < 0 or n.max() > k):
        raise InputError(f"experiment sizes must lie in [0, {k}]")
    active = np.arange(k)[None, :] < n[:, None]
    pair = active[:, :, None] & active[:, None, :] & ~np.eye(k, dtype=bool)[None]
    if not np.all(np.isfinite(c[pair])):
        raise InputError("a compatibility matrix has non-finite off-diagonal scores")
    c = np.where(pair, c, 0.0)
    count = n.copy()
    running = np.flatnonzero(count >= 2)
    while running.size:
        a = active[running]
        s = (c[running] * a[:, None, :]).sum(axis=2) / (count[running] - 1)[:, None]
        s = np.where(a, s, np.inf)
        worst = np.argmin(s, axis=1)
        low = s[np.arange(running.size), worst] < threshold
        drop = running[low]
        active[drop, worst[low]] = False
        count[drop] -= 1
        running = drop[count[drop] >= 2]
    return count
