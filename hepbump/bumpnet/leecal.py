"""Calibrated fast global p-value of a BumpNet ``Z_max``: importance sampling steered by a per-bin response fit.

The Gross-Vitells extrapolation of :mod:`hepbump.bumpnet.lee` needs the network's Z to be a unit Gaussian field
under the background-only hypothesis. A trained network need not be one where it matters: in sparse bins its Z
may overshoot the bin's own LR significance, and it may react strongly to some two- and three-bin patterns;
then the tail of ``Z_max`` that decides ``p_global`` at high z is heavier than the Gaussian extrapolation, yet
invisible in the ~100 toys that GV counts upcrossings in, and calibrating the bulk of the field (per-bin mean and
width, or an effective scale fitted to the upcrossings of several low levels) does not see it either.
``benchmarks/README.md`` measures this for the shipped network.

This module estimates ``p_global = P(max_i Z_i >= u | background)`` with no assumption on the network, by
importance sampling: toys are drawn from a proposal ``q`` that makes large upward fluctuations of single bins
common, and each toy carries the Poisson likelihood ratio ``w = p(x) / q(x)`` of its counts ``x``, so that

    p_global ~= mean_t(w_t 1[max_i Z_i(x_t) >= u]),    error = std_t(w_t 1[...]) / sqrt(n_toys),

is unbiased whatever the network computes; how the network responds only changes the variance. Two stages
(:func:`importance_sampling`):

1. **probe** (:func:`probe_response`, ``n_probe`` toys): in each toy every 15th scanned bin is raised, its Poisson
   mean set to ``b_j + s sqrt(b_j)`` with ``s`` uniform in ``[0.5, 1.2] * max(u, 1)``. The network's Z in each
   raised bin against that bin's LR significance ``s_j`` (:func:`hepbump.stats.lr_significance`) gives one
   least-squares line per bin, ``Z_j ~ a_j + g_j s_j + N(0, sigma_j^2)`` (:class:`Response`; ~18 points a bin
   with the default 270 toys). With the exact Poisson law of the bin's count it gives
   ``Phi_j(x) = P(Z_j >= u | x_j = x)`` and ``P_j = sum_x Pois(x; b_j) Phi_j(x)``.
2. **sampling** (``n_toys`` toys) from the mixture

       q = alpha p + (1 - alpha) [beta U + (1 - beta) ((1 - gamma) T + gamma T')],

   * ``alpha = 0.2``: plain background toys (defensive: no weight exceeds ``1 / alpha``);
   * ``U`` (``beta = 0.2``): one scanned bin, uniformly, raised to ``b_j + s sqrt(b_j)`` with ``s`` in
     ``{0.6, 0.85, 1.1} * max(u, 1)``, so that a bin the fit misjudges is still visited;
   * ``T``: bin ``j`` with probability proportional to ``c_j = sum_x Pois(x; b_j) sqrt(Phi_j(x))`` and its count
     drawn from ``Pois(x; b_j) sqrt(Phi_j(x)) / c_j``. The square root is the minimum-variance proposal for one
     bin when, given ``x_j``, the exceedance is itself random (``Z_j`` also depends on the other bins): the
     variance of the one-bin estimator, ``sum_x p^2 Phi / q - P_j^2``, is smallest for ``q`` proportional to
     ``p sqrt(Phi)``;
   * ``T'`` (``gamma = 0.3``, two-bin patterns): bin ``j`` as in ``T`` but its count drawn for the lower level
     ``u - 1.5``, and one neighbour (previous or next) raised by 1.5 or lowered by 2.5 standard deviations of
     its count, for networks whose large Z values come from a moderately high bin next to a deficit or on the
     shoulder of a broader excess.

   Each component changes one or two bins, so ``q / p`` is a sum of one- and two-bin ratios and the weights
   are exact.

The result is a :class:`~hepbump.bumpnet.lee.GlobalSignificance` with ``method="is"``, ``n_toys`` the sampling
toys, ``n_probe`` the probe toys and ``n_above`` the sampling toys with ``Z_max >= u``; it is ``reliable`` when
``n_above >= 10`` and the relative error is at most 0.5 (the weights then are not dominated by a handful of
toys). It keeps the assumptions of the toys themselves: the bins are independent Poisson counts of the given
background (``global_significance`` takes its fit of the observed histogram as the truth).

Limits: the estimate is unbiased, but its variance depends on how well ``q`` covers the configurations that
push the network over ``u``. Where a modest raise sometimes sends a network's Z far above its fitted line,
such configurations are rare under ``q``, the weights have a heavy tail, a typical estimate is somewhat low and
its reported error misses the rare large weights (``benchmarks/README.md`` has the figures for the shipped
network).

>>> import numpy as np
>>> from hepbump.bumpnet.model import BumpNet, ModelConfig
>>> net = BumpNet(ModelConfig(channels=4, kernel_sizes=(3, 9), layers_per_stack=2, mlp_hidden=(8,)))
>>> r = importance_sampling(net, np.full(60, 50.0), 1.0, n_toys=40, n_probe=30, rng=0)
>>> r.method, r.n_toys, r.n_probe, 0.0 <= r.p_global <= 1.0
('is', 40, 30, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm, poisson

from hepbump.bumpnet.lee import (
    DEFAULT_PROBE_TOYS,
    DEFAULT_TOYS,
    GlobalSignificance,
    _background,
    _finite,
    _first_bin,
    _generator,
    _positive_int,
)
from hepbump.errors import InputError
from hepbump.stats import lr_significance, p_to_z, z_to_p

__all__ = [
    "DEFAULT_IS_BATCH",
    "DEFAULT_IS_TOYS",
    "Response",
    "importance_sampling",
    "probe_response",
]

#: Default number of importance-sampling toys (``DEFAULT_PROBE_TOYS`` = 270 probe toys run on top: ~18 raised
#: points per scanned bin).
DEFAULT_IS_TOYS = DEFAULT_TOYS["is"]
#: Toys per forward pass: the default sampling toys go in one pass (large passes cost less per toy on a CPU).
DEFAULT_IS_BATCH = 2048
#: Bins raised together in one probe toy are this many bins apart.
PROBE_SPACING = 15
#: Range of the probe's raise, in units of ``max(u, 1)`` standard deviations of the bin's count.
PROBE_RANGE = (0.5, 1.2)
#: Raises of the uniform component ``U`` of the proposal, in units of ``max(u, 1)`` standard deviations.
UNIFORM_SHIFTS = (0.6, 0.85, 1.1)
#: Share ``alpha`` of plain background toys in the proposal.
DEFENSIVE_SHARE = 0.2
#: Share ``beta`` of the uniform component among the raised toys.
UNIFORM_SHARE = 0.2
#: Share ``gamma`` of the two-bin patterns among the toys drawn from the fitted response.
PATTERN_SHARE = 0.3
#: The centre of a pattern is drawn for the level ``u - PATTERN_DROP``: a neighbour helps it over ``u``.
PATTERN_DROP = 1.5
#: A pattern raises or lowers one neighbour of its centre by these many standard deviations of its count.
NEIGHBOUR_SHIFTS = (1.5, -2.5)
#: A lowered neighbour keeps at least this fraction of its expected count.
MIN_LOWERED = 0.05
#: Floor of the fitted spread ``sigma_j`` of a bin's response (a bin with no spread still gets a smooth ``Phi_j``).
MIN_SPREAD = 0.1
#: A bin's response is fitted from at least this many probe points (else: ``a = 0``, ``g = 1``, ``sigma = 1``).
MIN_POINTS = 4


@dataclass(frozen=True)
class Response:
    """Per-bin linear response of a network to a raised bin: ``Z_j ~ offset + gain * s_j + N(0, spread^2)``.

    ``bins``: the scanned bins with expected background > 0 (those the proposal can raise); ``s_j`` is the LR
    significance of bin ``j``'s count; ``n_points``: probe points behind each fit (bins with fewer than
    ``MIN_POINTS`` keep the calibrated default ``offset = 0, gain = 1, spread = 1``).
    """

    bins: np.ndarray
    offset: np.ndarray
    gain: np.ndarray
    spread: np.ndarray
    n_points: np.ndarray


def _checked(background: Any, exclude_first: float, level: float, n_toys: int, name: str):
    b = _background(background)
    first = _first_bin(b.size, exclude_first)
    u = _finite("z_obs", level)
    n = _positive_int(name, n_toys)
    bins = np.flatnonzero(b[first:] > 0) + first
    if bins.size == 0:
        raise InputError("no scanned bin has an expected background > 0: nothing can fluctuate")
    return b, first, u, n, bins


def _net_z(model: Any, counts: np.ndarray, batch: int) -> np.ndarray:
    """The network's Z for each row of ``counts``, ``batch`` rows per forward pass."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, counts.shape[0], batch):
            chunk = torch.from_numpy(np.ascontiguousarray(counts[start : start + batch], dtype=np.float32))
            out.append(model(chunk).numpy().astype(np.float64))
    return np.concatenate(out, axis=0)


def _fit_lines(index: np.ndarray, s: np.ndarray, z: np.ndarray, n_bins: int) -> tuple[np.ndarray, ...]:
    """Least-squares lines ``z = a + g s`` per group ``index`` (0..n_bins-1), with the residual spread."""
    n = np.bincount(index, minlength=n_bins).astype(float)
    safe = np.maximum(n, 1.0)
    ms = np.bincount(index, s, n_bins) / safe
    mz = np.bincount(index, z, n_bins) / safe
    ds, dz = s - ms[index], z - mz[index]  # centred per group: no cancellation
    vss = np.bincount(index, ds * ds, n_bins)
    vsz = np.bincount(index, ds * dz, n_bins)
    vzz = np.bincount(index, dz * dz, n_bins)
    ok = (n >= MIN_POINTS) & (vss > 1e-9)
    gain = np.where(ok, vsz / np.where(ok, vss, 1.0), 1.0)
    offset = np.where(ok, mz - gain * ms, 0.0)
    rss = np.maximum(vzz - gain * vsz, 0.0)
    spread = np.where(ok, np.sqrt(rss / np.maximum(n - 2, 1.0)), 1.0)
    return offset, gain, np.maximum(spread, MIN_SPREAD), n.astype(int)


def probe_response(
    model: Any,
    background: Any,
    level: float,
    n_toys: int = DEFAULT_PROBE_TOYS,
    *,
    rng: Any = 0,
    exclude_first: float = 0.1,
    batch: int = DEFAULT_IS_BATCH,
) -> Response:
    """Fit the per-bin response of ``model`` from ``n_toys`` toys with every 15th scanned bin raised (stage 1).

    ``level`` (the ``u`` of the module docstring) sets the size of the raises; see the module docstring.
    """
    b, _, u, n, bins = _checked(background, exclude_first, level, n_toys, "n_probe")
    batch = _positive_int("batch", batch)
    gen = _generator(rng)
    scale = max(u, 1.0)
    period = min(PROBE_SPACING, bins.size)
    counts = gen.poisson(b, size=(n, b.size)).astype(float)
    rows, cols = [], []
    for offset in range(period):
        toys = np.arange(offset, n, period)
        raised = bins[offset::period]
        rows.append(np.repeat(toys, raised.size))
        cols.append(np.tile(raised, toys.size))
    r, c = np.concatenate(rows), np.concatenate(cols)
    shift = scale * (PROBE_RANGE[0] + (PROBE_RANGE[1] - PROBE_RANGE[0]) * gen.random(r.size))
    counts[r, c] = gen.poisson(b[c] + shift * np.sqrt(b[c]))
    z = _net_z(model, counts, batch)
    s = np.asarray(lr_significance(counts[r, c], b[c]), dtype=float)
    index = np.searchsorted(bins, c)
    offset_, gain, spread, n_points = _fit_lines(index, s, z[r, c], bins.size)
    return Response(bins=bins, offset=offset_, gain=gain, spread=spread, n_points=n_points)


def _logl(x: np.ndarray, b: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``log Pois(x; lam) - log Pois(x; b)``; 0 where ``b = 0`` (such a bin is never changed)."""
    pos = b > 0
    safe_b = np.where(pos, b, 1.0)
    return np.where(pos, x * np.log(np.where(pos, lam, 1.0) / safe_b) - (lam - b), 0.0)


class _Table:
    """``log sqrt(Phi_j(x))`` at one level on a window of counts per bin, and ``log c_j = log sum_x p sqrt(Phi)``."""

    def __init__(self, bj: np.ndarray, x0: np.ndarray, width: int, response: Response, level: float):
        x = x0[:, None] + np.arange(width)[None, :]
        s = np.asarray(lr_significance(x.astype(float), bj[:, None]), dtype=float)
        arg = (level - response.offset[:, None] - response.gain[:, None] * s) / response.spread[:, None]
        log_phi = norm.logsf(arg)
        log_p = poisson.logpmf(x, bj[:, None])
        self.x0 = x0
        self.half_log_phi = 0.5 * log_phi
        self.log_r = log_p + self.half_log_phi
        self.log_c = logsumexp(self.log_r, axis=1)
        self.log_p_exceed = logsumexp(log_p + log_phi, axis=1)  # log P_j

    def sample(self, rows: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        """One count from ``p sqrt(Phi) / c`` for each bin index in ``rows``."""
        out = np.empty(rows.size, dtype=float)
        v = gen.random(rows.size)
        for j in np.unique(rows):
            sel = rows == j
            cdf = np.cumsum(np.exp(self.log_r[j] - self.log_c[j]))
            pos = np.minimum(np.searchsorted(cdf, v[sel] * cdf[-1], side="right"), cdf.size - 1)
            out[sel] = self.x0[j] + pos
        return out

    def log_ratio(self, x: np.ndarray) -> np.ndarray:
        """``log sqrt(Phi_j(x_j))`` for toys ``x`` of shape ``(n, bins)`` (counts outside the window clipped)."""
        pos = np.clip(x.astype(int) - self.x0[None, :], 0, self.half_log_phi.shape[1] - 1)
        return self.half_log_phi[np.arange(x.shape[1])[None, :], pos]


class _Proposal:
    """The mixture ``q`` of the module docstring for level ``u``, with its sampler and ``q / p``."""

    def __init__(self, b: np.ndarray, response: Response, u: float):
        self.b, self.bins = b, response.bins
        bj = b[self.bins]
        scale = max(u, 1.0)
        # U: Poisson tilts of one bin to b + s sqrt(b)
        self.lam = bj[:, None] + scale * np.asarray(UNIFORM_SHIFTS)[None, :] * np.sqrt(bj)[:, None]
        # T (single bin at level u) and T' (pattern centre at level u - PATTERN_DROP) on a common count window
        root = np.sqrt(bj)
        x0 = np.floor(np.maximum(bj - 10.0 * root - 10.0, 0.0)).astype(int)
        top = np.ceil(bj + (1.5 * scale + 10.0) * root + 20.0).astype(int)
        width = int(np.max(top - x0)) + 1
        self.single = _Table(bj, x0, width, response, u)
        self.log_c_total = float(logsumexp(self.single.log_c))
        self.has_t = bool(np.isfinite(self.log_c_total))
        self.beta = UNIFORM_SHARE if self.has_t else 1.0
        if self.has_t:
            self.pattern = _Table(bj, x0, width, response, u - PATTERN_DROP)
            self.pick = np.exp(self.single.log_c - self.log_c_total)
            self.pick /= self.pick.sum()
            # pattern neighbours: (bin, Poisson mean) for previous/next bin raised/lowered; -1 where no such bin
            self.nb_bins, self.nb_lam = [], []
            for step in (-1, 1):
                k = self.bins + step
                ok = (k >= 0) & (k < b.size)
                k = np.where(ok, k, 0)
                ok &= b[k] > 0
                for shift in NEIGHBOUR_SHIFTS:
                    lam = np.maximum(b[k] + shift * np.sqrt(b[k]), MIN_LOWERED * b[k])
                    self.nb_bins.append(np.where(ok, k, -1))
                    self.nb_lam.append(lam)

    @property
    def p_model(self) -> float:
        """``1 - prod_j (1 - P_j)``: the fitted response's own estimate (a diagnostic)."""
        p_j = np.minimum(np.exp(self.single.log_p_exceed), 1.0 - 1e-16)
        return float(-np.expm1(np.sum(np.log1p(-p_j))))

    def sample(self, n: int, gen: np.random.Generator) -> np.ndarray:
        counts = gen.poisson(self.b, size=(n, self.b.size)).astype(float)
        kind = gen.random(n)
        raised = (kind - DEFENSIVE_SHARE) / (1.0 - DEFENSIVE_SHARE)  # uniform in [0, 1) for the raised toys
        uniform = (kind >= DEFENSIVE_SHARE) & (raised < self.beta)
        iu = np.flatnonzero(uniform)
        j = gen.integers(0, self.bins.size, size=iu.size)
        k = gen.integers(0, self.lam.shape[1], size=iu.size)
        counts[iu, self.bins[j]] = gen.poisson(self.lam[j, k])
        if self.has_t:
            tabled = (kind >= DEFENSIVE_SHARE) & ~uniform
            is_pattern = raised >= self.beta + (1.0 - self.beta) * (1.0 - PATTERN_SHARE)
            for mask, table in ((tabled & ~is_pattern, self.single), (tabled & is_pattern, self.pattern)):
                it = np.flatnonzero(mask)
                j = gen.choice(self.bins.size, size=it.size, p=self.pick)
                counts[it, self.bins[j]] = table.sample(j, gen)
                if table is self.pattern:
                    which = gen.integers(0, len(self.nb_bins), size=it.size)
                    for w in range(len(self.nb_bins)):
                        sel = (which == w) & (self.nb_bins[w][j] >= 0)
                        jj = j[sel]
                        counts[it[sel], self.nb_bins[w][jj]] = gen.poisson(self.nb_lam[w][jj])
        return counts

    def ratio(self, counts: np.ndarray) -> np.ndarray:
        """``q(x) / p(x)`` for each toy (row of ``counts``)."""
        x = counts[:, self.bins]
        bj = self.b[self.bins]
        log_l = _logl(x[:, :, None], bj[None, :, None], self.lam[None])
        out = self.beta * np.exp(logsumexp(log_l.reshape(x.shape[0], -1), axis=1) - np.log(self.lam.size))
        if self.has_t:
            single = np.exp(logsumexp(self.single.log_ratio(x), axis=1) - self.log_c_total)
            nb = np.zeros_like(x)  # mean over the four neighbour changes of their likelihood ratio
            for bins, lam in zip(self.nb_bins, self.nb_lam, strict=True):
                ok = bins >= 0
                k = np.where(ok, bins, 0)
                nb += np.where(ok[None, :], np.exp(_logl(counts[:, k], self.b[k][None, :], lam[None, :])), 1.0)
            with np.errstate(divide="ignore"):
                log_pattern = (
                    (self.single.log_c - self.log_c_total)[None, :]  # log pick_j
                    + self.pattern.log_ratio(x)
                    - self.pattern.log_c[None, :]  # log r'_j(x_j) / p_j(x_j)
                    + np.log(nb / len(self.nb_bins))
                )
            pattern = np.exp(logsumexp(log_pattern, axis=1))
            out = out + (1.0 - self.beta) * ((1.0 - PATTERN_SHARE) * single + PATTERN_SHARE * pattern)
        return DEFENSIVE_SHARE + (1.0 - DEFENSIVE_SHARE) * out


def importance_sampling(
    model: Any,
    background: Any,
    z_obs: float,
    *,
    n_toys: int = DEFAULT_IS_TOYS,
    n_probe: int = DEFAULT_PROBE_TOYS,
    rng: Any = 0,
    exclude_first: float = 0.1,
    batch: int = DEFAULT_IS_BATCH,
) -> GlobalSignificance:
    """Global significance of ``z_obs`` by importance sampling (``n_probe`` probe + ``n_toys`` weighted toys).

    Unbiased for any network (see the module docstring); returns a
    :class:`~hepbump.bumpnet.lee.GlobalSignificance` with ``method="is"``.
    """
    b, first, u, n, _ = _checked(background, exclude_first, z_obs, n_toys, "n_toys")
    if n < 2:
        raise InputError("importance sampling needs at least 2 toys")
    n_probe = _positive_int("n_probe", n_probe)
    batch = _positive_int("batch", batch)
    gen = _generator(rng)
    response = probe_response(model, b, u, n_probe, rng=gen, exclude_first=exclude_first, batch=batch)
    proposal = _Proposal(b, response, u)
    counts = proposal.sample(n, gen)
    above = _net_z(model, counts, batch)[:, first:].max(axis=1) >= u
    y = np.where(above, 1.0 / proposal.ratio(counts), 0.0)
    p = float(min(1.0, y.mean()))
    err = float(y.std(ddof=1) / np.sqrt(n))
    nan = float("nan")
    return GlobalSignificance(
        z_local=u,
        p_local=z_to_p(u),
        p_global=p,
        z_global=p_to_z(p),
        error=err,
        method="is",
        n_toys=n,
        reference_level=nan,
        n_upcrossings_ref=nan,
        n_upcrossings_ref_error=nan,
        lag1_correlation=nan,
        n_probe=n_probe,
        n_above=int(above.sum()),
    )
