"""Performance measures of the hunt (ECO/EPO paper, sections 4.2 and 5.1, appendix B); pure, vectorised numpy.

Test-statistic distributions are probability vectors over TS = 0, 1, ..., N_max (:func:`ts_distribution`).
Under the background-only distribution ``p_b``:

* eq. (2): ``p(l) = sum_{m >= l} p_b(m)`` (:func:`p_values`);
* eq. (3): ``L_p(l) = sum_{m >= l} log p_b(m)`` (:func:`log_p_sums`; not log p(l); terms with p_b(m) = 0
  are -inf, as the sum is written);
* ``Z(l) = sqrt(2) erfinv(1 - p(l))`` (:func:`significance`; the paper's two-sided convention, computed with
  the project's one definition :func:`hepbump.stats.p_to_z` as ``p_to_z(p / 2)``);
* eq. (4), (5): ``-<L_p>_s`` and ``<Z>_s`` under the signal + background distribution ``p_s``
  (:func:`expected_minus_log_p`, :func:`expected_significance`), and the mean log p-value ``-<ln p>_s``
  (:func:`expected_minus_ln_p_value`, which is what reproduces the paper's quoted Fig. 3 values);
* eq. (10): ``<L_p,0>`` (:func:`expected_lp0`);
* the Wasserstein (earth mover's) distance of two TS distributions (:func:`ts_wasserstein`).

Pair separation (section 5.1): ROC of pair scores (:func:`pair_roc`), :func:`auc` (Mann-Whitney, ties count
one half), background rejection 1/eps_b at a signal efficiency (:func:`rejection_at`).

Pseudo-experiments (:func:`draw_counts`, :func:`pseudo_experiments`): n_b ~ Pois(mu_b), n_s ~ Pois(mu_s)
events drawn without replacement within one experiment from simulated pools; a pool smaller than the
Poisson quantile :data:`POOL_QUANTILE` of its mean is an :class:`~hepbump.errors.InputError`, never a
silent truncation. The background-only reference has the same expected total ``mu_b + mu_s`` by default
(``reference="same-total"``, the paper's Fig. 3 convention) or ``mu_b`` (``reference="mu_b"``).

>>> pb = np.array([0.5, 0.25, 0.25])
>>> p_values(pb).tolist()
[1.0, 0.5, 0.25]
>>> round(float(significance(0.3173105078629141)), 6)
1.0
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.stats

from hepbump.errors import InputError
from hepbump.stats import p_to_z

__all__ = [
    "POOL_QUANTILE",
    "REFERENCES",
    "ts_distribution",
    "p_values",
    "log_p_sums",
    "significance",
    "expected_significance",
    "expected_minus_log_p",
    "expected_minus_ln_p_value",
    "expected_lp0",
    "ts_wasserstein",
    "Roc",
    "pair_roc",
    "auc",
    "rejection_at",
    "separation_summary",
    "required_pool",
    "draw_counts",
    "PseudoExperiments",
    "pseudo_experiments",
    "SensitivityResult",
    "sensitivity",
    "sensitivity_map",
    "threshold_scan",
    "fixed_count_ts",
    "lp0_scan",
]

log = logging.getLogger(__name__)

#: Poisson quantile up to which a pool must cover the drawn counts (1 - 1e-6).
POOL_QUANTILE = 1.0 - 1e-6
#: Conventions of the background-only reference of a signal + background point.
REFERENCES = ("same-total", "mu_b")


# -- test-statistic distributions ---------------------------------------------------------------------------
def _prob(p: Any, name: str = "distribution") -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim < 1 or p.shape[-1] == 0 or np.any(~np.isfinite(p)) or np.any(p < 0):
        raise InputError(f"the {name} must be a non-empty vector of non-negative probabilities")
    if not np.allclose(p.sum(axis=-1), 1.0, atol=1e-9):
        raise InputError(f"the {name} must sum to 1 (sums to {p.sum(axis=-1)})")
    return p


def ts_distribution(ts: Any, n_max: int | None = None) -> np.ndarray:
    """Empirical probabilities of TS = 0 .. n_max from integer outcomes (``n_max`` default: the largest).

    >>> ts_distribution([0, 2, 2, 1]).tolist()
    [0.25, 0.25, 0.5]
    """
    t = np.asarray(ts).reshape(-1)
    if t.size == 0 or np.any(t < 0) or np.any(t != np.round(t)):
        raise InputError("the test statistics must be a non-empty set of non-negative integers")
    t = t.astype(np.int64)
    top = int(t.max()) if n_max is None else int(n_max)
    if t.max() > top:
        raise InputError(f"a TS of {int(t.max())} exceeds n_max = {top}")
    return np.bincount(t, minlength=top + 1) / t.size


def _pad(p: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([p, np.zeros(p.shape[:-1] + (n - p.shape[-1],))], axis=-1) if p.shape[-1] < n else p


def p_values(p_b: Any) -> np.ndarray:
    """Eq. (2): p(l) = P_b(TS >= l) for l = 0 .. N_max (a reversed cumulative sum; p(0) = 1)."""
    p = _prob(p_b, "background TS distribution")
    return np.minimum(np.cumsum(p[..., ::-1], axis=-1)[..., ::-1], 1.0)


def log_p_sums(p_b: Any) -> np.ndarray:
    """Eq. (3): L_p(l) = sum_{m >= l} log p_b(m) (-inf where a term has p_b(m) = 0).

    >>> log_p_sums([0.5, 0.5]).round(4).tolist()
    [-1.3863, -0.6931]
    """
    p = _prob(p_b, "background TS distribution")
    with np.errstate(divide="ignore"):
        lg = np.log(p)
    return np.cumsum(lg[..., ::-1], axis=-1)[..., ::-1]


def significance(p: Any) -> Any:
    """Z = sqrt(2) erfinv(1 - p) of the paper (= Phi^-1(1 - p/2); Z(1) = 0), via :func:`hepbump.stats.p_to_z`.

    >>> round(float(significance(0.0455)), 3), float(significance(1.0))
    (2.0, 0.0)
    """
    p = np.asarray(p, dtype=np.float64)
    if np.any(~(p >= 0) | (p > 1)):
        raise InputError("p-values must lie in [0, 1]")
    return p_to_z(0.5 * p)


def _floor(p_floor: float | None) -> float:
    if p_floor is None:
        return 0.0
    if not 0.0 < p_floor < 1.0:
        raise InputError(f"the probability floor must lie in (0, 1), got {p_floor}")
    return float(p_floor)


def expected_significance(p_s: Any, p_b: Any, p_floor: float | None = None) -> float:
    """Eq. (5): <Z>_s = sum_l p_s(l) Z(l), Z from the background distribution ``p_b``.

    TS values never seen under the background have p = 0 and Z = inf, so a signal distribution that puts
    weight on them gives <Z>_s = inf; ``p_floor`` (e.g. 1 / the number of background pseudo-experiments, their
    resolution) replaces p by max(p, p_floor).

    >>> expected_significance([0.0, 1.0], [1.0, 0.0]), round(expected_significance([0.0, 1.0], [1.0, 0.0], 0.0455), 3)
    (inf, 2.0)
    """
    ps, pb = _prob(p_s, "signal TS distribution"), _prob(p_b, "background TS distribution")
    n = max(ps.shape[-1], pb.shape[-1])
    z = significance(np.maximum(p_values(_pad(pb, n)), _floor(p_floor)))
    ps = _pad(ps, n)
    with np.errstate(invalid="ignore"):
        terms = np.where(ps > 0, ps * z, 0.0)
    return float(terms.sum(axis=-1))


def expected_minus_log_p(p_s: Any, p_b: Any, p_floor: float | None = None) -> float:
    """Eq. (4): -<L_p>_s = -sum_l p_s(l) L_p(l), the sums of eq. (3) running to the largest TS of either
    distribution; a term with p_b(m) = 0 is -inf, or log(``p_floor``) with a floor."""
    ps, pb = _prob(p_s, "signal TS distribution"), _prob(p_b, "background TS distribution")
    n = max(ps.shape[-1], pb.shape[-1])
    pb = _pad(pb, n)
    if p_floor is not None:
        pb = np.maximum(pb, _floor(p_floor))
        pb = pb / pb.sum()
    lp = log_p_sums(pb)
    ps = _pad(ps, n)
    with np.errstate(invalid="ignore"):
        terms = np.where(ps > 0, ps * lp, 0.0)
    return float(-terms.sum(axis=-1))


def expected_minus_ln_p_value(p_s: Any, p_b: Any, p_floor: float | None = None) -> float:
    """-<ln p>_s = -sum_l p_s(l) ln p(l), the mean log p-value (eq. 2) under signal + background.

    Not eq. (4) (whose L_p(l) sums log p_b(m) over m >= l), but the measure that reproduces the values the
    paper quotes for its Fig. 3 (1.6 bump hunt, 2.8 ECO); given next to eq. (4) for that comparison.

    >>> round(expected_minus_ln_p_value([0.0, 1.0], [0.5, 0.5]), 4)
    0.6931
    """
    ps, pb = _prob(p_s, "signal TS distribution"), _prob(p_b, "background TS distribution")
    n = max(ps.shape[-1], pb.shape[-1])
    pv = np.maximum(p_values(_pad(pb, n)), _floor(p_floor))
    ps = _pad(ps, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(ps > 0, ps * np.log(pv), 0.0)
    return float(-terms.sum(axis=-1))


def expected_lp0(p_n: Any, p_0: Any, p_floor: float | None = None) -> float:
    """Eq. (10): <L_p,0> = sum_{l >= 1} p_n(l) sum_{m >= l} L_p,0(m), with L_p,0 = :func:`log_p_sums` of the
    TS distribution ``p_0`` of samples without signal (same n_obs) and ``p_n`` that with n signal events.

    A TS value that ``p_0`` never reaches makes the sums -inf; ``p_floor`` (e.g. 1 / the number of
    experiments) replaces p_0 by max(p_0, p_floor), renormalised, as in :func:`expected_minus_log_p`.

    >>> round(expected_lp0([0.0, 0.0, 1.0], [0.5, 0.25, 0.25]), 4)
    -1.3863
    >>> round(expected_lp0([0.0, 0.0, 1.0], [0.5, 0.5, 0.0], 0.01), 4)
    -4.6151
    """
    pn, p0 = _prob(p_n, "TS distribution with signal"), _prob(p_0, "TS distribution without signal")
    n = max(pn.shape[-1], p0.shape[-1])
    p0 = _pad(p0, n)
    if p_floor is not None:
        p0 = np.maximum(p0, _floor(p_floor))
        p0 = p0 / p0.sum()
    lp0 = log_p_sums(p0)
    with np.errstate(invalid="ignore"):
        tail = np.cumsum(lp0[::-1])[::-1]
        pn = _pad(pn, n)
        terms = np.where(pn[1:] > 0, pn[1:] * tail[1:], 0.0)
    return float(terms.sum())


def ts_wasserstein(p_a: Any, p_b: Any) -> float:
    """Wasserstein-1 distance of two TS distributions on 0, 1, 2, ... (scipy.stats.wasserstein_distance).

    >>> ts_wasserstein([1.0, 0.0], [0.0, 1.0])
    1.0
    """
    pa, pb = _prob(p_a), _prob(p_b)
    n = max(pa.shape[-1], pb.shape[-1])
    v = np.arange(n, dtype=np.float64)
    return float(scipy.stats.wasserstein_distance(v, v, _pad(pa, n), _pad(pb, n)))


# -- pair separation ---------------------------------------------------------------------------------------
def _scores(s: Any, name: str) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64).reshape(-1)
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise InputError(f"the {name} scores must be a non-empty set of finite numbers")
    return s


@dataclass(frozen=True)
class Roc:
    """ROC of pair scores: per threshold (decreasing), signal efficiency and background efficiency
    (fraction of pairs with score >= threshold); ``rejection`` = 1/eps_b (inf where eps_b = 0)."""

    thresholds: np.ndarray
    eps_s: np.ndarray
    eps_b: np.ndarray

    @property
    def rejection(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return 1.0 / self.eps_b


def pair_roc(signal: Any, background: Any) -> Roc:
    """ROC of signal-pair against background-pair scores, one point per distinct score (plus the origin).

    >>> r = pair_roc([0.9, 0.8], [0.1, 0.85])
    >>> r.eps_s.tolist(), r.eps_b.tolist()
    ([0.0, 0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5, 1.0])
    """
    s, b = _scores(signal, "signal"), _scores(background, "background")
    t = np.unique(np.r_[s, b])[::-1]
    ss, bs = np.sort(s), np.sort(b)
    eps_s = (s.size - np.searchsorted(ss, t, side="left")) / s.size
    eps_b = (b.size - np.searchsorted(bs, t, side="left")) / b.size
    return Roc(np.r_[np.inf, t], np.r_[0.0, eps_s], np.r_[0.0, eps_b])


def auc(signal: Any, background: Any) -> float:
    """P(score of a signal pair > score of a background pair) + 1/2 P(equal) (Mann-Whitney U / (n_s n_b)).

    >>> auc([2, 3], [0, 1]), auc([1, 1], [1, 1]), auc([0], [1])
    (1.0, 0.5, 0.0)
    """
    s, b = _scores(signal, "signal"), _scores(background, "background")
    ranks = scipy.stats.rankdata(np.r_[s, b])
    u = ranks[: s.size].sum() - s.size * (s.size + 1) / 2.0
    return float(u / (s.size * b.size))


def rejection_at(signal: Any, background: Any, eps_s: float) -> float:
    """1/eps_b at the signal efficiency ``eps_s``: the threshold keeps the top ``eps_s`` of the signal pairs
    (score >= threshold) and eps_b is the fraction of background pairs it keeps (inf if none).

    >>> rejection_at([1, 2, 3, 4], [0, 0, 0, 3.5], 0.5)
    4.0
    """
    s, b = _scores(signal, "signal"), _scores(background, "background")
    if not 0.0 < eps_s <= 1.0:
        raise InputError(f"the signal efficiency must lie in (0, 1], got {eps_s}")
    k = int(np.ceil(eps_s * s.size - 1e-9))
    threshold = np.sort(s)[::-1][k - 1]
    eb = float(np.mean(b >= threshold))
    return np.inf if eb == 0 else 1.0 / eb


def separation_summary(signal: Any, background: Any, threshold: float | None = 0.68) -> dict[str, float]:
    """AUC, 1/eps_b at eps_s = 0.8 and 0.9 and (with ``threshold``) eps_s, eps_b at that score (JSON-able)."""
    s, b = _scores(signal, "signal"), _scores(background, "background")
    out = {
        "n_signal_pairs": int(s.size),
        "n_background_pairs": int(b.size),
        "auc": round(auc(s, b), 5),
        "rejection_eps_s_0.8": round(rejection_at(s, b, 0.8), 4),
        "rejection_eps_s_0.9": round(rejection_at(s, b, 0.9), 4),
    }
    if threshold is not None:
        out["threshold"] = float(threshold)
        out["eps_s_at_threshold"] = round(float(np.mean(s >= threshold)), 5)
        out["eps_b_at_threshold"] = round(float(np.mean(b >= threshold)), 5)
    return out


# -- pseudo-experiments -----------------------------------------------------------------------------------
def required_pool(mu: float, quantile: float = POOL_QUANTILE) -> int:
    """Events a pool needs so that one experiment's Pois(``mu``) count is covered up to ``quantile``.

    >>> required_pool(0.0), required_pool(6.0)
    (0, 21)
    """
    if not (np.isfinite(mu) and mu >= 0):
        raise InputError(f"the expected number of events must be finite and >= 0, got {mu}")
    if not 0.0 < quantile < 1.0:
        raise InputError(f"the quantile must lie in (0, 1), got {quantile}")
    return 0 if mu == 0 else int(scipy.stats.poisson.ppf(quantile, mu))


def draw_counts(
    mu: float, n_experiments: int, pool_size: int, rng: np.random.Generator, *, quantile: float = POOL_QUANTILE
) -> np.ndarray:
    """(n_experiments,) Pois(``mu``) counts; InputError if ``pool_size`` is below the ``quantile`` of Pois(mu)
    (or below a drawn count): counts are never truncated to the pool."""
    need = required_pool(mu, quantile)
    if pool_size < need:
        raise InputError(
            f"a pool of {pool_size} events is too small for Pois({mu:g}) counts up to the {quantile} quantile "
            f"({need} events); simulate a larger pool"
        )
    n = rng.poisson(mu, size=int(n_experiments))
    if n.size and n.max() > pool_size:
        raise InputError(f"a drawn count of {int(n.max())} exceeds the pool of {pool_size} events")
    return n


def _take(pool_size: int, counts: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Event indices (distinct within each experiment) and experiment labels for ``counts`` per experiment."""
    total = int(counts.sum())
    exp = np.repeat(np.arange(counts.size), counts)
    if total == 0:
        return np.zeros(0, np.int64), exp
    # Events are distinct within an experiment: draw with replacement, redraw the collisions (rare for a pool
    # much larger than the counts, which the pool check ensures).
    idx = rng.integers(0, pool_size, size=total)
    for _ in range(100):
        key = exp * pool_size + idx
        order = np.argsort(key, kind="stable")
        dup = np.zeros(total, bool)
        dup[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not dup.any():
            return idx, exp
        idx[dup] = rng.integers(0, pool_size, size=int(dup.sum()))
    raise InputError("could not draw distinct events within experiments (the pool is too small)")


@dataclass(frozen=True)
class PseudoExperiments:
    """Events of many experiments: ``background``/``signal`` pool indices with their ``*_experiment`` labels,
    the per-experiment counts, and the expectations and reference convention used."""

    n_experiments: int
    background: np.ndarray
    background_experiment: np.ndarray
    signal: np.ndarray
    signal_experiment: np.ndarray
    n_background: np.ndarray
    n_signal: np.ndarray
    mu_b: float
    mu_s: float

    def experiment(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Background and signal pool indices of experiment ``k``."""
        return self.background[self.background_experiment == k], self.signal[self.signal_experiment == k]


def pseudo_experiments(
    mu_b: float,
    mu_s: float,
    n_experiments: int,
    background_pool: int,
    signal_pool: int,
    rng: np.random.Generator,
    *,
    quantile: float = POOL_QUANTILE,
) -> PseudoExperiments:
    """Draw ``n_experiments`` experiments of Pois(mu_b) background and Pois(mu_s) signal events from pools of
    ``background_pool`` and ``signal_pool`` events (indices; events distinct within an experiment)."""
    nb = draw_counts(mu_b, n_experiments, background_pool, rng, quantile=quantile)
    ns = draw_counts(mu_s, n_experiments, signal_pool, rng, quantile=quantile)
    bi, be = _take(background_pool, nb, rng)
    si, se = _take(signal_pool, ns, rng)
    return PseudoExperiments(int(n_experiments), bi, be, si, se, nb, ns, float(mu_b), float(mu_s))


@dataclass(frozen=True)
class SensitivityResult:
    """TS distributions of signal + background (``p_s``) and of the background-only reference (``p_b``), and
    the measures of eqs. (4), (5) and the Wasserstein distance; ``reference`` says which background-only
    expectation was used (``mu_ref``), ``p_floor`` the floor of the background probabilities."""

    mu_b: float
    mu_s: float
    reference: str
    mu_ref: float
    p_s: np.ndarray
    p_b: np.ndarray
    z_mean: float
    minus_lp_mean: float
    wasserstein: float
    p_floor: float | None = None
    minus_ln_p_mean: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mu_b": self.mu_b,
            "mu_s": self.mu_s,
            "reference": self.reference,
            "mu_ref": self.mu_ref,
            "p_s": self.p_s.tolist(),
            "p_b": self.p_b.tolist(),
            "Z_mean": self.z_mean,
            "minus_Lp_mean": self.minus_lp_mean,
            "wasserstein": self.wasserstein,
            "p_floor": self.p_floor,
            "minus_ln_p_mean": self.minus_ln_p_mean,
        }


def _reference_mu(mu_b: float, mu_s: float, reference: str) -> float:
    if reference not in REFERENCES:
        raise InputError(f"unknown background-only reference {reference!r}; choose one of: {', '.join(REFERENCES)}")
    return mu_b + mu_s if reference == "same-total" else mu_b


#: A test statistic of one experiment from pool indices: ``ts(background_idx, signal_idx) -> int``. An object
#: that also has ``many(pe: PseudoExperiments) -> (E,) TS`` is evaluated on all experiments at once.
TSFunction = Callable[[np.ndarray, np.ndarray], int]


def _ts_many(ts: TSFunction, pe: PseudoExperiments) -> np.ndarray:
    many = getattr(ts, "many", None)  # a vectorised TS of all experiments (hepbump.hunt.analysis.PoolCleaningTS)
    if many is not None:
        return np.asarray(many(pe), dtype=np.int64).reshape(pe.n_experiments)
    bo = np.argsort(pe.background_experiment, kind="stable")
    so = np.argsort(pe.signal_experiment, kind="stable")
    bsplit = np.split(pe.background[bo], np.cumsum(pe.n_background)[:-1])
    ssplit = np.split(pe.signal[so], np.cumsum(pe.n_signal)[:-1])
    return np.array([ts(b, s) for b, s in zip(bsplit, ssplit, strict=True)], dtype=np.int64)


def sensitivity(
    ts: TSFunction,
    mu_b: float,
    mu_s: float,
    n_experiments: int,
    background_pool: int,
    signal_pool: int,
    rng: np.random.Generator,
    *,
    reference: str = "same-total",
    quantile: float = POOL_QUANTILE,
    p_floor: float | None | str = "auto",
) -> SensitivityResult:
    """<Z>_s, -<L_p>_s and the Wasserstein distance at (mu_b, mu_s) from pseudo-experiments.

    ``ts(background_idx, signal_idx)`` computes the TS of one experiment from indices into the two pools
    (e.g. cleaning a compatibility matrix precomputed on the pools). The background-only experiments draw
    Pois(mu_ref) events from the background pool, mu_ref per ``reference``. ``p_floor``: floor of the
    background probabilities in <Z>_s and -<L_p>_s (:func:`expected_significance`); ``"auto"``: 1 /
    ``n_experiments``, the resolution of the background pseudo-experiments; None: none (inf where the signal
    reaches TS values the background experiments never did).

    >>> rng = np.random.default_rng(1)
    >>> r = sensitivity(lambda b, s: b.size + s.size, 1.0, 2.0, 2000, 50, 50, rng)
    >>> r.reference, r.mu_ref, r.wasserstein < 0.2
    ('same-total', 3.0, True)
    """
    mu_ref = _reference_mu(mu_b, mu_s, reference)
    sb = pseudo_experiments(mu_b, mu_s, n_experiments, background_pool, signal_pool, rng, quantile=quantile)
    bo = pseudo_experiments(mu_ref, 0.0, n_experiments, background_pool, signal_pool, rng, quantile=quantile)
    t_s, t_b = _ts_many(ts, sb), _ts_many(ts, bo)
    n = int(max(t_s.max(initial=0), t_b.max(initial=0)))
    p_s, p_b = ts_distribution(t_s, n), ts_distribution(t_b, n)
    floor = 1.0 / n_experiments if p_floor == "auto" else p_floor
    return SensitivityResult(
        float(mu_b),
        float(mu_s),
        reference,
        float(mu_ref),
        p_s,
        p_b,
        expected_significance(p_s, p_b, floor),
        expected_minus_log_p(p_s, p_b, floor),
        ts_wasserstein(p_s, p_b),
        floor,
        expected_minus_ln_p_value(p_s, p_b, floor),
    )


def sensitivity_map(
    ts: TSFunction,
    mu_b: Any,
    mu_s: Any,
    n_experiments: int,
    background_pool: int,
    signal_pool: int,
    rng: np.random.Generator,
    *,
    reference: str = "same-total",
) -> dict[str, Any]:
    """<Z>_s, -<L_p>_s, -<ln p>_s and Wasserstein distance on the grid ``mu_b`` x ``mu_s`` (Figs. 4, 5; the
    paper's ranges are mu_b in [0, 6], mu_s in [0, 4]); arrays of shape (len(mu_b), len(mu_s)) and the
    convention used."""
    mb, ms = np.asarray(mu_b, dtype=np.float64), np.asarray(mu_s, dtype=np.float64)
    out = {k: np.empty((mb.size, ms.size)) for k in ("Z_mean", "minus_Lp_mean", "minus_ln_p_mean", "wasserstein")}
    for i, b in enumerate(mb):
        for j, s in enumerate(ms):
            r = sensitivity(ts, b, s, n_experiments, background_pool, signal_pool, rng, reference=reference)
            out["Z_mean"][i, j], out["minus_Lp_mean"][i, j], out["wasserstein"][i, j] = (
                r.z_mean,
                r.minus_lp_mean,
                r.wasserstein,
            )
            out["minus_ln_p_mean"][i, j] = r.minus_ln_p_mean
    return {"mu_b": mb, "mu_s": ms, "reference": reference, **out}


def threshold_scan(
    make_ts: Callable[[float], TSFunction],
    thresholds: Any,
    mu_b: float,
    mu_s: float,
    n_experiments: int,
    background_pool: int,
    signal_pool: int,
    seed: int,
    *,
    reference: str = "same-total",
) -> dict[str, Any]:
    """<Z>_s against the compatibility threshold at fixed (mu_b, mu_s) (Fig. 11). ``make_ts(threshold)`` gives
    the TS function; every threshold sees the same pseudo-experiments (generator seeded with ``seed``).

    >>> r = threshold_scan(lambda t: (lambda b, s: s.size if t > 0.5 else b.size + s.size), [0.2, 0.8],
    ...                    2.0, 2.0, 500, 40, 40, seed=1)
    >>> bool(r["Z_mean"][1] > r["Z_mean"][0])
    True
    """
    th = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    z = np.empty(th.size)
    lp = np.empty(th.size)
    lnp = np.empty(th.size)
    for k, t in enumerate(th):
        rng = np.random.default_rng(seed)
        r = sensitivity(
            make_ts(float(t)), mu_b, mu_s, n_experiments, background_pool, signal_pool, rng, reference=reference
        )
        z[k], lp[k], lnp[k] = r.z_mean, r.minus_lp_mean, r.minus_ln_p_mean
    return {
        "thresholds": th,
        "Z_mean": z,
        "minus_Lp_mean": lp,
        "minus_ln_p_mean": lnp,
        "mu_b": mu_b,
        "mu_s": mu_s,
        "reference": reference,
    }


def fixed_count_ts(
    ts: TSFunction,
    n_obs: int,
    n_signal: int,
    n_experiments: int,
    background_pool: int,
    signal_pool: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """TS of experiments with exactly ``n_obs`` events of which ``n_signal`` are signal (appendix B)."""
    if not 0 <= n_signal <= n_obs:
        raise InputError(f"need 0 <= n_signal <= n_obs, got {n_signal} and {n_obs}")
    if n_obs - n_signal > background_pool or n_signal > signal_pool:
        raise InputError(f"pools of {background_pool}/{signal_pool} events cannot hold {n_obs - n_signal}/{n_signal}")
    nb = np.full(int(n_experiments), n_obs - n_signal)
    ns = np.full(int(n_experiments), n_signal)
    bi, be = _take(background_pool, nb, rng)
    si, se = _take(signal_pool, ns, rng)
    return _ts_many(ts, PseudoExperiments(int(n_experiments), bi, be, si, se, nb, ns, float(nb[0]), float(ns[0])))


def lp0_scan(
    make_ts: Callable[[float], TSFunction],
    thresholds: Any,
    n_obs: int,
    n_signal: int,
    n_experiments: int,
    background_pool: int,
    signal_pool: int,
    seed: int,
    *,
    p_floor: float | None = None,
) -> dict[str, Any]:
    """<L_p,0> (eq. 10) against the threshold for samples of ``n_obs`` events with ``n_signal`` signal events
    against samples without signal (Fig. 12); the same pseudo-experiments for every threshold. ``p_floor``: as
    in :func:`expected_lp0` (None: TS values never seen without signal give -inf)."""
    th = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    out = np.empty(th.size)
    for k, t in enumerate(th):
        rng = np.random.default_rng(seed)
        ts = make_ts(float(t))
        t_n = fixed_count_ts(ts, n_obs, n_signal, n_experiments, background_pool, signal_pool, rng)
        t_0 = fixed_count_ts(ts, n_obs, 0, n_experiments, background_pool, signal_pool, rng)
        out[k] = expected_lp0(ts_distribution(t_n, n_obs), ts_distribution(t_0, n_obs), p_floor)
    return {"thresholds": th, "Lp0_mean": out, "n_obs": n_obs, "n_signal": n_signal, "p_floor": p_floor}
