"""Likelihood-ratio bump scans: the ideal test BumpNet is compared against.

For each signal position (one per bin centre) the background-only and the background + Gaussian hypotheses
are fitted to the histogram with binned Poisson likelihoods; ``q0 = -2 ln(L_b / L_s+b)`` and the signed local
significance ``Z = sign(s_hat) sqrt(q0)`` (positive for excesses, negative for deficits) follow.

Two cases:

* background **fitted** (:func:`lr_scan` with ``background=None``): the 4th-order log-polynomial of
  :mod:`hepbump.stats.smoothing` is refitted with the signal yield by iminuit at each position;
* background **known** (``background=`` counts, or :func:`lr_significance_known`): only the signal yield is
  free; its maximum-likelihood value solves a one-dimensional concave problem, done for all positions at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from iminuit import Minuit

from hepbump.errors import InputError
from hepbump.histogram import as_binned
from hepbump.stats.significance import z_from_q0
from hepbump.stats.smoothing import LogPolyModel, SmoothFit, poisson_deviance, smooth_background
from hepbump.stats.templates import WidthSpec, gaussian_templates, signal_widths

__all__ = ["LRScanResult", "YieldFit", "lr_scan", "lr_significance_known", "fit_yield_known_background"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class YieldFit:
    """Maximum-likelihood signal yield(s) on a known background and the discovery statistic.

    Arrays have one entry per signal template. ``signal_yield`` is in events.
    """

    z: np.ndarray
    q0: np.ndarray
    signal_yield: np.ndarray
    signal_yield_error: np.ndarray


@dataclass(frozen=True)
class LRScanResult:
    """Result of :func:`lr_scan`: one entry per scanned position (bin centre, GeV).

    ``background`` holds the background expectation of the background-only hypothesis (fitted or given);
    ``sigma`` the Gaussian widths (GeV) used at each position.
    """

    positions: np.ndarray
    z: np.ndarray
    q0: np.ndarray
    signal_yield: np.ndarray
    signal_yield_error: np.ndarray
    sigma: np.ndarray
    background: np.ndarray
    background_fit: SmoothFit | None = None

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.z))

    @property
    def best_position(self) -> float:
        """Position (GeV) of the largest positive local significance."""
        return float(self.positions[self.best_index])

    @property
    def max_z(self) -> float:
        return float(self.z[self.best_index])


def _loglike(n: np.ndarray, mu: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(np.where(n > 0, n * np.log(np.where(mu > 0, mu, 1e-300)), 0.0) - mu, axis=-1)


def fit_yield_known_background(counts: Any, background: Any, templates: Any, *, iterations: int = 100) -> YieldFit:
    """Fit the yield ``s`` of each template on a known background: ``mu_i = b_i + s g_i``.

    ``templates`` has shape ``(n_templates, n_bins)`` (or ``(n_bins,)``); each row is normalised internally so
    that ``s`` is the number of signal events in the histogram range. The log-likelihood is concave in ``s``;
    its maximum is bracketed by ``[-min_i b_i/g_i, N/G]`` (N = counts where g > 0, G = sum g) and found by
    bisection on the score for all templates at once. Negative yields (deficits) are allowed down to the
    point where an expectation reaches zero.

    >>> fit = fit_yield_known_background([100.0, 150.0, 100.0], [100.0, 100.0, 100.0], [0.0, 1.0, 0.0])
    >>> round(float(fit.signal_yield[0]), 6), round(float(fit.z[0]), 4)
    (50.0, 4.6518)
    """
    n = np.asarray(counts, dtype=float)
    b = np.asarray(background, dtype=float)
    g = np.atleast_2d(np.asarray(templates, dtype=float))
    if n.ndim != 1 or b.shape != n.shape or g.shape[1] != n.size:
        raise InputError(f"shape mismatch: counts {n.shape}, background {b.shape}, templates {g.shape}")
    if np.any(~np.isfinite(b)) or np.any(b <= 0):
        raise InputError("the known background must be finite and > 0 in every bin")
    if np.any(~np.isfinite(n)) or np.any(n < 0):
        raise InputError("observed counts must be finite and >= 0")
    norm = g.sum(axis=1)
    if np.any(g < 0) or np.any(norm <= 0):
        raise InputError("signal templates must be non-negative with a positive sum")
    g = g / norm[:, None]
    with np.errstate(over="ignore"):
        ratio = np.divide(b[None, :], g, out=np.full(g.shape, np.inf), where=g > 0)
    lo = -ratio.min(axis=1) * (1.0 - 1e-9)
    hi = np.maximum((n[None, :] * (g > 0)).sum(axis=1) / g.sum(axis=1), 0.0) + 1e-9

    def score(s: np.ndarray) -> np.ndarray:
        mu = b[None, :] + s[:, None] * g
        return np.sum(n[None, :] * g / mu, axis=1) - 1.0

    # the score decreases monotonically in s; bisection is exact to double precision after ~100 halvings
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        positive = score(mid) > 0
        lo = np.where(positive, mid, lo)
        hi = np.where(positive, hi, mid)
    s_hat = 0.5 * (lo + hi)
    mu_hat = b[None, :] + s_hat[:, None] * g
    q0 = np.clip(2.0 * (_loglike(n, mu_hat) - _loglike(n, b[None, :])), 0.0, None)
    info = np.sum(n[None, :] * g**2 / mu_hat**2, axis=1)
    info = np.where(info > 0, info, np.sum(g**2 / mu_hat, axis=1))  # expected information if no data in reach
    return YieldFit(
        z=z_from_q0(q0, s_hat) * np.ones_like(s_hat), q0=q0, signal_yield=s_hat, signal_yield_error=1.0 / np.sqrt(info)
    )


def lr_significance_known(histogram: Any, background: Any, signal: Any) -> YieldFit:
    """Signed LR significance of a signal template with free yield on a known background shape.

    ``histogram``: observed counts (UHI histogram or ``(counts, edges)``); ``background``: expected counts per
    bin; ``signal``: the signal template (counts or shape; only its shape matters). Returns a
    :class:`YieldFit` with one entry.

    >>> import numpy as np
    >>> fit = lr_significance_known(([130.0], [0.0, 1.0]), [100.0], [1.0])
    >>> round(float(fit.z[0]), 4)
    2.8661
    """
    b = as_binned(histogram)
    return fit_yield_known_background(b.counts, background, signal)


def _signal_plus_background_cost(model: LogPolyModel, counts: np.ndarray, g: np.ndarray):
    """Poisson deviance of log-polynomial + ``s * g`` and its gradient in ``(P_0..P_k, s)``."""
    k = model.order + 1

    def cost(p: np.ndarray) -> float:
        mu = model.expected(p[:k]) + p[k] * g
        return poisson_deviance(counts, np.maximum(mu, 1e-300))

    def grad(p: np.ndarray) -> np.ndarray:
        mu_b, jac = model.expected_and_jacobian(p[:k])
        r = 2.0 * (1.0 - counts / np.maximum(mu_b + p[k] * g, 1e-300))
        return np.append(r @ jac, r @ g)

    return cost, grad


def _scan_fitted_background(
    counts: np.ndarray, bfit: SmoothFit, templates: np.ndarray, start_yields: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Refit log-polynomial + Gaussian yield at each position with iminuit; returns (q0, s_hat, s_err)."""
    model: LogPolyModel = bfit.model
    d_b = bfit.deviance
    k = model.order + 1
    q0 = np.empty(len(templates))
    s_hat = np.empty(len(templates))
    s_err = np.empty(len(templates))
    for j, g in enumerate(templates):
        with np.errstate(over="ignore"):
            s_min = -np.min(np.divide(bfit.expected, g, out=np.full(g.shape, np.inf), where=g > 0)) * 0.999

        cost, grad = _signal_plus_background_cost(model, counts, g)
        start = np.append(bfit.params, np.clip(start_yields[j], 0.9 * s_min, None))
        m = Minuit(cost, start, grad=grad)
        m.errordef = Minuit.LEAST_SQUARES
        m.limits[k] = (s_min, None)
        m.migrad()
        if not m.valid:
            m.migrad()
        d_sb = float(m.fval)
        if d_sb > d_b + 1e-6:  # the nested fit cannot be worse than background-only: restart at s = 0
            m.values = np.append(bfit.params, 0.0)
            m.migrad()
            d_sb = min(float(m.fval), d_b)
        q0[j] = max(d_b - d_sb, 0.0)
        s_hat[j] = m.values[k]
        s_err[j] = m.errors[k]
    return q0, s_hat, s_err


def lr_scan(
    histogram: Any,
    width: WidthSpec = 1.0,
    *,
    background: Any = None,
    positions: Any = None,
    order: int = 4,
) -> LRScanResult:
    """Scan a histogram for Gaussian bumps with the likelihood-ratio test, one signal position per bin centre.

    Parameters
    ----------
    histogram:
        any UHI histogram or ``(counts, edges)`` (masses in GeV).
    width:
        signal width: a number in units of the local bin width (default 1 bin, as BumpNet's training
        signals), or a callable ``sigma(m)`` in GeV (a resolution function of mass).
    background:
        known background expectation per bin; if omitted, the background is a log-polynomial of degree
        ``order`` refitted at every position.
    positions:
        masses (GeV) to scan; default the bin centres.

    >>> import numpy as np
    >>> edges = np.linspace(0.0, 100.0, 51)
    >>> bkg = np.full(50, 400.0)
    >>> from hepbump.stats.templates import gaussian_template
    >>> data = bkg + 120.0 * gaussian_template(edges, 51.0, 2.0)  # Asimov data, one-bin-wide signal
    >>> res = lr_scan((data, edges), background=bkg)
    >>> res.best_position, round(res.max_z, 3), round(float(res.signal_yield[res.best_index]), 3)
    (51.0, 3.076, 120.0)
    """
    b = as_binned(histogram)
    counts = b.counts
    if np.any(counts < 0):
        raise InputError("lr_scan: negative bin contents cannot be fitted with a Poisson likelihood")
    pos = b.centers if positions is None else np.atleast_1d(np.asarray(positions, dtype=float))
    if np.any(pos < b.edges[0]) or np.any(pos > b.edges[-1]):
        raise InputError("lr_scan: scan positions must lie inside the histogram range")
    sigma = signal_widths(b.edges, pos, width)
    templates = gaussian_templates(b.edges, pos, sigma)
    keep = templates.sum(axis=1) > 0
    templates = np.where(keep[:, None], templates, 1.0 / len(counts))

    if background is not None:
        bkg = np.asarray(background, dtype=float)
        fit = fit_yield_known_background(counts, bkg, templates)
        return LRScanResult(pos, fit.z, fit.q0, fit.signal_yield, fit.signal_yield_error, sigma, bkg)

    bfit = smooth_background(b, order=order)
    start = fit_yield_known_background(counts, np.maximum(bfit.expected, 1e-12), templates)
    norm = templates / templates.sum(axis=1, keepdims=True)
    q0, s_hat, s_err = _scan_fitted_background(counts, bfit, norm, start.signal_yield)
    return LRScanResult(pos, z_from_q0(q0, s_hat), q0, s_hat, s_err, sigma, bfit.expected, bfit)
