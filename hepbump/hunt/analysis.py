"""One hunt on observed events (ECO/EPO paper, sections 4.1 and 6, Fig. 2): compatibility, cleaning, TS, its
p-value and significance under the background-only hypothesis, and the combined mass posterior.

:func:`hunt` takes the events' features (n, 10) and m_gg (n,) and a method:

* ``epo`` / ``eco``: C_ij from the pair classifier, :func:`~hepbump.hunt.clean.clean` with the threshold
  (0.68), TS = number of retained events;
* ``bump``: TS = largest count in a sliding m_gg window (:func:`~hepbump.hunt.bumphunt.bump_hunt`, N
  subintervals), the retained events are those of that window.

The background-only TS distribution comes from pseudo-experiments drawn from a simulated background pool
(:func:`background_ts`): each experiment has Pois(mu_ref) background events with, by default, mu_ref = n_obs
(the observed total as the expected total: the paper's same-total convention of Fig. 3), or a given mu_ref.
p = P_b(TS >= TS_obs) (eq. 2) and Z = sqrt(2) erfinv(1 - p) (:func:`~hepbump.hunt.metrics.significance`).
A TS above every background experiment has p = 0 and Z = inf at the resolution of the pseudo-experiments;
the result then also gives the bound p < 1 / n_experiments.

The retained events' posteriors combine as in eq. (9); :func:`mass_estimate` gives the posterior median of
m_a and the central 68 % credible interval.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepbump.errors import InputError
from hepbump.hunt.bumphunt import bump_hunt, bump_hunt_ts, window_counts_many
from hepbump.hunt.clean import DEFAULT_THRESHOLD, CleaningResult, clean, clean_many
from hepbump.hunt.metrics import (
    POOL_QUANTILE,
    PseudoExperiments,
    p_values,
    pseudo_experiments,
    significance,
    ts_distribution,
)
from hepbump.hunt.posterior import MassPosterior, combine_log_posteriors, trapezoid_log_weights

__all__ = [
    "METHODS",
    "HuntConfig",
    "HuntResult",
    "load_models",
    "mass_estimate",
    "background_ts",
    "hunt",
    "pool_ts",
    "PoolCleaningTS",
    "PoolBumpTS",
    "experiment_rows",
]

log = logging.getLogger(__name__)

#: Methods of :func:`hunt`.
METHODS = ("epo", "eco", "bump")


@dataclass(frozen=True)
class HuntConfig:
    """``method`` (:data:`METHODS`); ``threshold`` of the cleaning; ``subintervals`` N of the bump hunt;
    ``n_experiments`` background-only pseudo-experiments from a pool of ``pool_size`` background events;
    ``mu_ref``: expected events of a background-only experiment (None: the observed number)."""

    method: str = "epo"
    threshold: float = DEFAULT_THRESHOLD
    subintervals: int = 11
    n_experiments: int = 2000
    pool_size: int = 1000
    mu_ref: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown hunt method {self.method!r}; choose one of: {', '.join(METHODS)}")
        if int(self.n_experiments) < 1 or int(self.pool_size) < 1:
            raise InputError("the hunt needs >= 1 pseudo-experiment and a pool of >= 1 event")
        if self.mu_ref is not None and not (np.isfinite(self.mu_ref) and self.mu_ref >= 0):
            raise InputError(f"mu_ref must be finite and >= 0, got {self.mu_ref}")


def mass_estimate(log_posterior: np.ndarray, grid: np.ndarray, level: float = 0.68) -> dict[str, float]:
    """Posterior median of m_a (GeV) and the central ``level`` interval, from a log density in log10 m.

    >>> g = np.linspace(-1.0, 1.0, 2001)
    >>> e = mass_estimate(-0.5 * (g / 0.1) ** 2, g)
    >>> abs(round(e["log10_mass"], 3)), round(e["log10_low"], 3), round(e["log10_high"], 3)
    (0.0, -0.099, 0.099)
    """
    g = np.asarray(grid, dtype=np.float64)
    lp = np.asarray(log_posterior, dtype=np.float64)
    dens = np.exp(lp - lp.max())
    # cumulative trapezoid integral, normalised
    cdf = np.r_[0.0, np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(g))]
    cdf /= cdf[-1]
    trapezoid_log_weights(g)  # validates the grid
    q = np.interp([0.5 - level / 2, 0.5, 0.5 + level / 2], cdf, g)
    return {
        "log10_mass": float(q[1]),
        "log10_low": float(q[0]),
        "log10_high": float(q[2]),
        "mass_gev": float(10 ** q[1]),
        "mass_low_gev": float(10 ** q[0]),
        "mass_high_gev": float(10 ** q[2]),
        "level": float(level),
    }


def load_models(method: str, resolution: str) -> tuple[MassPosterior, Any]:
    """The shipped posterior and (for ``eco``/``epo``) pair classifier of a resolution preset."""
    if method == "epo":
        from hepbump.hunt.epo import EpoClassifier

        epo = EpoClassifier.pretrained(resolution)
        return epo.posterior, epo
    posterior = MassPosterior.pretrained(resolution)
    if method == "eco":
        from hepbump.hunt.eco import EcoClassifier

        return posterior, EcoClassifier.pretrained(resolution)
    return posterior, None


def _compatibility(method: str, classifier: Any, features: np.ndarray, log_posterior: np.ndarray) -> np.ndarray:
    if method == "epo":
        return classifier.matrix_from_log_posterior(log_posterior)
    return classifier.matrix(features)


def _ts_of(method: str, config: HuntConfig, c: np.ndarray | None, m_gg: np.ndarray) -> int:
    if method == "bump":
        return bump_hunt(m_gg, config.subintervals).ts if m_gg.size else 0
    return clean(c, config.threshold).ts


def background_ts(
    config: HuntConfig,
    mu_ref: float,
    pool_features: np.ndarray,
    pool_m_gg: np.ndarray,
    classifier: Any,
    posterior: MassPosterior | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """TS of ``config.n_experiments`` background-only experiments of Pois(``mu_ref``) events from the pool
    (the pool's compatibility matrix is computed once; each experiment cleans its sub-matrix)."""
    n_pool = pool_features.shape[0]
    pe = pseudo_experiments(mu_ref, 0.0, config.n_experiments, n_pool, 1, rng, quantile=POOL_QUANTILE)
    c = None
    if config.method != "bump":
        lp = posterior.log_posterior(pool_features) if config.method == "epo" else None
        c = _compatibility(config.method, classifier, pool_features, lp)
    order = np.argsort(pe.background_experiment, kind="stable")
    parts = np.split(pe.background[order], np.cumsum(pe.n_background)[:-1])
    out = np.empty(len(parts), dtype=np.int64)
    for k, idx in enumerate(parts):
        out[k] = _ts_of(config.method, config, None if c is None else c[np.ix_(idx, idx)], pool_m_gg[idx])
    return out


@dataclass(frozen=True)
class HuntResult:
    """Everything of one hunt; :meth:`to_dict` is the JSON report."""

    method: str
    n_events: int
    ts: int
    p_value: float
    z: float
    p_value_bound: float
    retained: np.ndarray
    grid: np.ndarray
    log_posteriors: np.ndarray
    combined_log_posterior: np.ndarray | None
    estimate: dict[str, float] | None
    compatibility: np.ndarray | None
    cleaning: CleaningResult | None
    background: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        steps = None
        if self.cleaning is not None:
            steps = [
                {"active": s.active.tolist(), "mean_scores": np.round(s.scores, 6).tolist(), "removed": s.removed}
                for s in self.cleaning.history
            ]
        return {
            "method": self.method,
            "n_events": self.n_events,
            "TS": self.ts,
            "p_value": self.p_value,
            "Z": self.z,
            "p_value_bound": self.p_value_bound,
            "retained": self.retained.tolist(),
            "removed": [] if self.cleaning is None else self.cleaning.removed.tolist(),
            "cleaning_steps": steps,
            "compatibility": None if self.compatibility is None else np.round(self.compatibility, 6).tolist(),
            "mass_estimate": self.estimate,
            "background_only": self.background,
            **self.extra,
        }


def hunt(
    features: np.ndarray,
    m_gg: np.ndarray,
    config: HuntConfig,
    posterior: MassPosterior,
    classifier: Any,
    pool_features: np.ndarray,
    pool_m_gg: np.ndarray,
    rng: np.random.Generator,
) -> HuntResult:
    """Run the hunt of ``config`` on the observed events; the pool holds simulated background events."""
    x = np.asarray(features, dtype=np.float64)
    m = np.asarray(m_gg, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != m.size:
        raise InputError(f"features {x.shape} and m_gg {m.shape} do not describe the same events")
    if config.method != "bump" and classifier is None:
        raise InputError(f"the {config.method} hunt needs its pair classifier")
    n = x.shape[0]
    lp = posterior.log_posterior(x) if n else np.zeros((0, posterior.grid.size))
    c = cleaning = None
    if config.method == "bump":
        if n:
            bh = bump_hunt(m, config.subintervals)
            ts, retained = bh.ts, np.flatnonzero(bh.selected)
            extra: dict[str, Any] = {"subintervals": config.subintervals, "window_log10_mgg": list(bh.edges)}
        else:
            ts, retained, extra = 0, np.zeros(0, np.int64), {"subintervals": config.subintervals}
    else:
        c = _compatibility(config.method, classifier, x, lp) if n else np.zeros((0, 0))
        cleaning = clean(c, config.threshold)
        ts, retained = cleaning.ts, cleaning.retained
        extra = {"threshold": config.threshold}
    mu_ref = float(n) if config.mu_ref is None else float(config.mu_ref)
    t_b = background_ts(config, mu_ref, pool_features, pool_m_gg, classifier, posterior, rng)
    p_b = ts_distribution(t_b, max(int(t_b.max(initial=0)), ts))
    p = float(p_values(p_b)[ts])
    combined = estimate = None
    if retained.size:
        combined = combine_log_posteriors(lp[retained], posterior.grid)
        estimate = mass_estimate(combined, posterior.grid)
    background = {
        "convention": "same-total (mu_ref = n_obs)" if config.mu_ref is None else "given mu_ref",
        "mu_ref": mu_ref,
        "n_experiments": int(config.n_experiments),
        "pool_size": int(pool_features.shape[0]),
        "ts_distribution": p_b.round(6).tolist(),
    }
    log.info("%s hunt: %d events, TS %d, p %.4g", config.method, n, ts, p)
    return HuntResult(
        config.method,
        n,
        int(ts),
        p,
        float(significance(p)),
        1.0 / config.n_experiments,
        np.asarray(retained, dtype=np.int64),
        posterior.grid,
        lp,
        combined,
        estimate,
        c,
        cleaning,
        background,
        extra,
    )


def experiment_rows(pe: PseudoExperiments, n_background: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the joint pool (background pool first, ``n_background`` events, then the signal pool) of every
    pseudo-experiment, padded: (E, K) indices (-1 beyond an experiment's events; its background events first,
    then its signal events, in the order of ``pe``) and (E,) numbers of events.

    >>> from hepbump.hunt.metrics import PseudoExperiments
    >>> pe = PseudoExperiments(2, np.array([4, 1]), np.array([0, 1]), np.array([0]), np.array([0]),
    ...                        np.array([1, 1]), np.array([1, 0]), 1.0, 0.5)
    >>> rows, n = experiment_rows(pe, 5)
    >>> rows.tolist(), n.tolist()
    ([[4, 5], [1, -1]], [2, 1])
    """
    rows = np.r_[np.asarray(pe.background, np.int64), int(n_background) + np.asarray(pe.signal, np.int64)]
    exp = np.r_[np.asarray(pe.background_experiment, np.int64), np.asarray(pe.signal_experiment, np.int64)]
    order = np.argsort(exp, kind="stable")
    rows, exp = rows[order], exp[order]
    sizes = np.bincount(exp, minlength=pe.n_experiments).astype(np.int64)
    start = np.r_[0, np.cumsum(sizes)[:-1]]
    out = np.full((pe.n_experiments, int(sizes.max(initial=0))), -1, dtype=np.int64)
    out[exp, np.arange(rows.size) - start[exp]] = rows
    return out, sizes


class PoolCleaningTS:
    """The TS function of :mod:`hepbump.hunt.metrics` (``ts(background_idx, signal_idx) -> int``) for pools whose
    joint compatibility matrix is ``compatibility`` (background pool first, ``n_background`` events, then the
    signal pool): cleaning of the experiment's sub-matrix. :meth:`many` gives the TS of all pseudo-experiments
    at once (:func:`~hepbump.hunt.clean.clean_many`), which :mod:`hepbump.hunt.metrics` uses when present."""

    def __init__(self, compatibility: np.ndarray, n_background: int, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.compatibility = np.asarray(compatibility, dtype=np.float64)
        self.n_background = int(n_background)
        self.threshold = float(threshold)

    def __call__(self, background_idx: np.ndarray, signal_idx: np.ndarray) -> int:
        idx = np.r_[background_idx, self.n_background + np.asarray(signal_idx)].astype(np.int64)
        return clean(self.compatibility[np.ix_(idx, idx)], self.threshold).ts

    def many(self, pe: PseudoExperiments, chunk: int = 4096) -> np.ndarray:
        rows, sizes = experiment_rows(pe, self.n_background)
        out = np.empty(rows.shape[0], dtype=np.int64)
        for a in range(0, rows.shape[0], chunk):
            r = np.maximum(rows[a : a + chunk], 0)
            out[a : a + chunk] = clean_many(
                self.compatibility[r[:, :, None], r[:, None, :]], sizes[a : a + chunk], self.threshold
            )
        return out


class PoolBumpTS:
    """The bump hunt's TS (largest window count, ``n_sub`` subintervals) of pool events with diphoton masses
    ``m_gg_background`` and ``m_gg_signal`` (GeV); :meth:`many`: all pseudo-experiments at once."""

    def __init__(self, m_gg_background: np.ndarray, m_gg_signal: np.ndarray, n_sub: int) -> None:
        self.m_gg_background = np.asarray(m_gg_background, dtype=np.float64).reshape(-1)
        self.m_gg = np.r_[self.m_gg_background, np.asarray(m_gg_signal, dtype=np.float64).reshape(-1)]
        self.n_sub = int(n_sub)

    def __call__(self, background_idx: np.ndarray, signal_idx: np.ndarray) -> int:
        idx = np.r_[background_idx, self.m_gg_background.size + np.asarray(signal_idx)].astype(np.int64)
        return bump_hunt_ts(self.m_gg[idx], self.n_sub)

    def many(self, pe: PseudoExperiments) -> np.ndarray:
        rows = np.r_[np.asarray(pe.background, np.int64), self.m_gg_background.size + np.asarray(pe.signal, np.int64)]
        exp = np.r_[np.asarray(pe.background_experiment, np.int64), np.asarray(pe.signal_experiment, np.int64)]
        counts = window_counts_many(self.m_gg[rows], exp, pe.n_experiments, self.n_sub)
        return counts.max(axis=1, initial=0)


def pool_ts(compatibility: np.ndarray, n_background: int, threshold: float = DEFAULT_THRESHOLD) -> PoolCleaningTS:
    """The TS function of :mod:`hepbump.hunt.metrics` (``ts(background_idx, signal_idx) -> int``) for pools whose
    joint compatibility matrix is ``compatibility`` (background pool first, ``n_background`` events, then the
    signal pool): cleaning of the experiment's sub-matrix (a :class:`PoolCleaningTS`).

    >>> c = np.full((4, 4), 0.1); c[2:, 2:] = 0.9
    >>> ts = pool_ts(c, 2)
    >>> ts(np.array([0, 1]), np.array([0, 1]))
    2
    """
    return PoolCleaningTS(compatibility, n_background, threshold)
