"""Smooth "mother" background histograms: a 4th-order log-polynomial fitted by binned Poisson likelihood.

The BumpNet paper (section 2.2.2) smooths every histogram with ``ln y = sum_{k<=4} P_k x^k``. Here the
density is modelled, ``f(m) = exp(sum_k P_k t^k)`` with ``t`` the mass rescaled to [-1, 1] over the histogram
range (conditioning), and the expected count of a bin is the integral of ``f`` over the bin (three-point
Gauss-Legendre), so variable-width (resolution) binning is handled. The fit minimises the Poisson deviance
with iminuit (analytic gradient), starting from a weighted linear least-squares fit of ``ln n``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from iminuit import Minuit

from hepbump.errors import InputError
from hepbump.histogram import as_binned, bin_quadrature

__all__ = ["LogPolyModel", "SmoothFit", "smooth_background", "poisson_deviance"]

log = logging.getLogger(__name__)

_MAX_EXPONENT = 700.0


def poisson_deviance(n: np.ndarray, mu: np.ndarray) -> float:
    """``2 sum(mu - n + n ln(n/mu))``: twice the Poisson negative log-likelihood up to a constant."""
    with np.errstate(divide="ignore", invalid="ignore"):
        nlog = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / mu), 0.0)
    return float(2.0 * np.sum(mu - n + nlog))


@dataclass(frozen=True)
class LogPolyModel:
    """Expected bin counts of ``exp(poly(t))`` integrated over bins with edges ``edges``.

    ``design`` has shape ``(n_bins, 3, order + 1)``: powers of ``t`` at the Gauss-Legendre nodes of each bin.
    """

    edges: np.ndarray
    order: int = 4

    def __post_init__(self) -> None:
        lo, hi = float(self.edges[0]), float(self.edges[-1])
        object.__setattr__(self, "center", 0.5 * (lo + hi))
        object.__setattr__(self, "half_range", 0.5 * (hi - lo))
        nodes, weights = bin_quadrature(self.edges)
        object.__setattr__(self, "design", self.to_t(nodes)[..., None] ** np.arange(self.order + 1))
        object.__setattr__(self, "bin_weights", weights)

    def to_t(self, mass: np.ndarray) -> np.ndarray:
        """Mass (GeV) to the fit variable ``t`` in [-1, 1]."""
        return (np.asarray(mass, dtype=float) - self.center) / self.half_range  # type: ignore[attr-defined]

    def density(self, params: np.ndarray, mass: np.ndarray) -> np.ndarray:
        """Fitted density (events per GeV) at ``mass``."""
        t = self.to_t(mass)
        return np.exp(np.clip(np.polyval(np.asarray(params)[::-1], t), -_MAX_EXPONENT, _MAX_EXPONENT))

    def node_values(self, params: np.ndarray) -> np.ndarray:
        expo = np.clip(self.design @ params, -_MAX_EXPONENT, _MAX_EXPONENT)  # type: ignore[attr-defined]
        return np.exp(expo) * self.bin_weights  # type: ignore[attr-defined]

    def expected(self, params: np.ndarray) -> np.ndarray:
        """Expected counts per bin."""
        return self.node_values(params).sum(axis=1)

    def expected_and_jacobian(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected counts and their derivatives with respect to the parameters, shape ``(n_bins, order+1)``."""
        vals = self.node_values(params)
        jac = np.einsum("bn,bnk->bk", vals, self.design)  # type: ignore[attr-defined]
        return vals.sum(axis=1), jac

    def start_values(self, counts: np.ndarray) -> np.ndarray:
        """Weighted least squares of ``ln((n + 0.5)/width)`` at bin centres: a robust starting point."""
        widths = np.diff(self.edges)
        t = self.to_t(0.5 * (self.edges[1:] + self.edges[:-1]))
        basis = t[:, None] ** np.arange(self.order + 1)
        y = np.log((counts + 0.5) / widths)
        w = np.sqrt(counts + 1.0)
        coef, *_ = np.linalg.lstsq(basis * w[:, None], y * w, rcond=None)
        return coef


@dataclass(frozen=True)
class SmoothFit:
    """Result of :func:`smooth_background`.

    ``expected`` are the fitted counts per bin; ``params`` the coefficients ``P_k`` of ``ln f`` in the rescaled
    variable ``t = (m - centre)/half_range``; ``deviance`` is ``2 (NLL - NLL_saturated)``.
    """

    expected: np.ndarray
    params: np.ndarray
    errors: np.ndarray
    deviance: float
    ndof: int
    model: LogPolyModel
    minuit: Any

    def density(self, mass: np.ndarray) -> np.ndarray:
        """Fitted density in events per GeV at ``mass`` (GeV)."""
        return self.model.density(self.params, mass)


def _make_cost(model: LogPolyModel, counts: np.ndarray):
    def cost(params: np.ndarray) -> float:
        return poisson_deviance(counts, np.maximum(model.expected(params), 1e-300))

    def grad(params: np.ndarray) -> np.ndarray:
        mu, jac = model.expected_and_jacobian(params)
        return 2.0 * ((1.0 - counts / np.maximum(mu, 1e-300)) @ jac)

    return cost, grad


def smooth_background(histogram: Any, *, order: int = 4) -> SmoothFit:
    """Fit a log-polynomial of degree ``order`` (default 4) to a histogram with a binned Poisson likelihood.

    ``histogram`` is any UHI histogram or ``(counts, edges)``. Returns a :class:`SmoothFit`; raises
    ``ValueError`` for unusable input and ``RuntimeError`` with Minuit's reason when the fit fails.

    >>> import numpy as np
    >>> edges = np.linspace(100.0, 1000.0, 61)
    >>> truth = 1e5 * np.exp(-edges[:-1] / 150.0) * (1 - np.exp(-np.diff(edges) / 150.0))
    >>> fit = smooth_background((np.round(truth), edges))
    >>> bool(np.allclose(fit.expected[:10], truth[:10], rtol=0.02))
    True
    """
    b = as_binned(histogram)
    counts = b.counts
    if np.any(counts < 0):
        raise InputError("smooth_background: negative bin contents cannot be fitted with a Poisson likelihood")
    if counts.sum() <= 0:
        raise InputError("smooth_background: the histogram is empty")
    if len(counts) < order + 2:
        raise InputError(f"smooth_background: {len(counts)} bins are too few for a degree-{order} fit")
    model = LogPolyModel(b.edges, order)
    cost, grad = _make_cost(model, counts)
    m = Minuit(cost, model.start_values(counts), grad=grad, name=[f"P{k}" for k in range(order + 1)])
    m.errordef = Minuit.LEAST_SQUARES
    m.migrad()
    if not m.valid:
        m.migrad()  # one restart from the end point usually converges
    if not m.valid:
        raise InputError(
            f"smooth_background: the log-polynomial fit of the histogram did not converge (EDM {m.fmin.edm:.3g}); "
            "is it a smoothly falling spectrum? Otherwise give the known background (--background)"
        )
    params = np.array(m.values)
    return SmoothFit(
        expected=model.expected(params),
        params=params,
        errors=np.array(m.errors),
        deviance=float(m.fval),
        ndof=len(counts) - (order + 1),
        model=model,
        minuit=m,
    )
