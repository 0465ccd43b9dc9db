"""The conventional bump hunt of the ECO/EPO paper (section 3.2): the largest count in a sliding m_gg window.

log10(m_gg / GeV) in [-1.5, 0.8] is split into N equal subintervals; windows are three adjacent
subintervals (k, k+1, k+2), k = 0 .. N-3, so neighbouring windows overlap by two subintervals. The test
statistic is the largest window count (0 for no events). The paper speaks of "N overlapping bins"; the two
extra windows that would be clipped at the range edges (one or two subintervals) are contained in the first
or last full window, so they never change the largest count and are left out. Events outside the range (and
non-positive or non-finite masses) are not counted; log10 m_gg = 0.8 exactly belongs to the last subinterval.

N per benchmark (:data:`BENCHMARK_SUBINTERVALS`, chosen in the paper to maximise the expected sensitivity):
4 for m_a = 0.2 GeV and 11 for 1 GeV (both resolutions), 48 (good) and 30 (poor) for 4 GeV.

>>> m = 10 ** np.array([-1.4, -0.5, -0.4, -0.3, 0.5])
>>> window_counts(m, 5).tolist()   # subintervals of width 0.46: counts [1, 0, 3, 0, 1]
[4, 3, 4]
>>> bump_hunt_ts(m, 5), bump_hunt_ts(np.array([]), 5)
(4, 0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepbump.alp.detector import Resolution, get_resolution
from hepbump.constants import ALP_MGG_LOG10_MAX, ALP_MGG_LOG10_MIN
from hepbump.errors import InputError

__all__ = [
    "LOG10_RANGE",
    "BENCHMARK_SUBINTERVALS",
    "benchmark_subintervals",
    "subinterval_edges",
    "window_edges",
    "subinterval_index",
    "window_counts",
    "window_counts_many",
    "bump_hunt_ts",
    "BumpHuntResult",
    "bump_hunt",
]

#: The m_gg range of the bump hunt, log10(m_gg / GeV).
LOG10_RANGE = (ALP_MGG_LOG10_MIN, ALP_MGG_LOG10_MAX)
#: Subintervals per benchmark (m_a in GeV, resolution class "good"/"poor"), paper section 3.2.
BENCHMARK_SUBINTERVALS: dict[tuple[float, str], int] = {
    (0.2, "good"): 4,
    (0.2, "poor"): 4,
    (1.0, "good"): 11,
    (1.0, "poor"): 11,
    (4.0, "good"): 48,
    (4.0, "poor"): 30,
}


def benchmark_subintervals(mass_gev: float, resolution: str | Resolution) -> int:
    """The paper's N for a benchmark; ``good-ref``/``poor-ref`` count as ``good``/``poor``.

    >>> benchmark_subintervals(4.0, "poor-ref"), benchmark_subintervals(1.0, "good")
    (30, 11)
    """
    name = get_resolution(resolution).name
    cls = name.removesuffix("-ref")
    key = (float(mass_gev), cls)
    if key not in BENCHMARK_SUBINTERVALS:
        known = ", ".join(f"{m} GeV/{r}" for m, r in BENCHMARK_SUBINTERVALS)
        raise InputError(
            f"no benchmark number of subintervals for m_a = {mass_gev} GeV, resolution {name!r} "
            f"(known: {known}); give the number of subintervals"
        )
    return BENCHMARK_SUBINTERVALS[key]


def _check_n(n_sub: int) -> int:
    if isinstance(n_sub, bool) or int(n_sub) != n_sub or int(n_sub) < 3:
        raise InputError(f"the bump hunt needs an integer number of subintervals >= 3, got {n_sub}")
    return int(n_sub)


def subinterval_edges(n_sub: int, log10_range: tuple[float, float] = LOG10_RANGE) -> np.ndarray:
    """The N + 1 edges of the subintervals in log10 m_gg."""
    return np.linspace(log10_range[0], log10_range[1], _check_n(n_sub) + 1)


def window_edges(n_sub: int, log10_range: tuple[float, float] = LOG10_RANGE) -> np.ndarray:
    """(N - 2, 2) lower and upper edges of the windows in log10 m_gg.

    >>> window_edges(9, (-1.5, 0.75))[:2].round(3).tolist()
    [[-1.5, -0.75], [-1.25, -0.5]]
    """
    e = subinterval_edges(n_sub, log10_range)
    return np.column_stack([e[:-3], e[3:]])


def subinterval_index(m_gg: np.ndarray, n_sub: int, log10_range: tuple[float, float] = LOG10_RANGE) -> np.ndarray:
    """Subinterval of each m_gg (GeV), -1 outside the range or for non-positive/non-finite values."""
    e = subinterval_edges(n_sub, log10_range)
    m = np.asarray(m_gg, dtype=np.float64).reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(m > 0, np.log10(np.where(m > 0, m, 1.0)), np.nan)
    idx = np.searchsorted(e, v, side="right") - 1
    idx = np.where(v == e[-1], e.size - 2, idx)
    inside = np.isfinite(v) & (v >= e[0]) & (v <= e[-1])
    return np.where(inside, idx, -1)


def _windows_from_subintervals(counts: np.ndarray) -> np.ndarray:
    return counts[..., :-2] + counts[..., 1:-1] + counts[..., 2:]


def window_counts(m_gg: np.ndarray, n_sub: int, log10_range: tuple[float, float] = LOG10_RANGE) -> np.ndarray:
    """Event counts of the N - 2 windows for one experiment (m_gg in GeV)."""
    idx = subinterval_index(m_gg, n_sub, log10_range)
    counts = np.bincount(idx[idx >= 0], minlength=_check_n(n_sub))
    return _windows_from_subintervals(counts)


def window_counts_many(
    m_gg: np.ndarray,
    experiment: np.ndarray,
    n_experiments: int,
    n_sub: int,
    log10_range: tuple[float, float] = LOG10_RANGE,
) -> np.ndarray:
    """(n_experiments, N - 2) window counts of many pseudo-experiments at once; ``experiment`` labels each event.

    >>> window_counts_many(10 ** np.array([-1.4, -1.3, 0.5]), np.array([0, 1, 1]), 3, 5).tolist()
    [[1, 0, 0], [1, 0, 1], [0, 0, 0]]
    """
    idx = subinterval_index(m_gg, n_sub, log10_range)
    exp = np.asarray(experiment, dtype=np.int64).reshape(-1)
    if exp.shape != idx.shape:
        raise InputError(f"{idx.size} masses but {exp.size} experiment labels")
    if exp.size and (exp.min() < 0 or exp.max() >= n_experiments):
        raise InputError(f"experiment labels must lie in [0, {n_experiments})")
    keep = idx >= 0
    flat = np.bincount(exp[keep] * n_sub + idx[keep], minlength=int(n_experiments) * n_sub)
    return _windows_from_subintervals(flat.reshape(int(n_experiments), n_sub))


def bump_hunt_ts(m_gg: np.ndarray, n_sub: int, log10_range: tuple[float, float] = LOG10_RANGE) -> int:
    """The largest window count (0 for no events)."""
    return int(window_counts(m_gg, n_sub, log10_range).max())


@dataclass(frozen=True)
class BumpHuntResult:
    """Outcome of :func:`bump_hunt`: TS, the first window with the largest count, its edges (log10 m_gg), and
    the events inside it (``selected``, a boolean mask: the bump hunt's "signal" events, section 5)."""

    ts: int
    window: int
    edges: tuple[float, float]
    selected: np.ndarray


def bump_hunt(m_gg: np.ndarray, n_sub: int, log10_range: tuple[float, float] = LOG10_RANGE) -> BumpHuntResult:
    """TS, the window that gives it (the lowest such window on ties) and the events it contains.

    >>> r = bump_hunt(10 ** np.array([-1.4, -0.5, -0.4, -0.3, 0.5]), 5)
    >>> r.ts, r.window, r.selected.tolist()
    (4, 0, [True, True, True, True, False])
    """
    counts = window_counts(m_gg, n_sub, log10_range)
    k = int(np.argmax(counts))
    idx = subinterval_index(m_gg, n_sub, log10_range)
    lo, hi = window_edges(n_sub, log10_range)[k]
    return BumpHuntResult(int(counts[k]), k, (float(lo), float(hi)), (idx >= k) & (idx <= k + 2))
