"""Mass axes like the ones BumpNet meets, drawn in batches with a common bin count.

Three kinds of axis over a range ``[lo, hi]`` (GeV):

* ``uniform``: equal widths;
* ``log``: widths proportional to the mass (geometric edges);
* ``resolution``: widths proportional to a detector-like mass resolution,
  ``w(m) ~ sqrt(N^2 + S^2 m + C^2 m^2 + D^2 m^4)`` (noise, stochastic, constant and tracker-curvature terms, as
  the paper's resolution binning of section 2.2.2 gives for jets, photons, electrons and muons). The terms are
  drawn per axis; only their ratios matter because the overall scale is set so that exactly ``n_bins`` bins
  fill ``[lo, hi]`` (the edges are the points where ``integral dm / w(m)`` crosses ``k / n_bins`` of its total).

The range is drawn as in the paper's analytic backgrounds: ``lo < hi`` uniform in ``x_range`` with
``hi - lo >= min_span``; the centres of the extreme bins (the anchors ``x1``, ``x2`` of the functions of
:mod:`hepbump.bumpnet.functions`) are then at least ``min_span (1 - 1/n_bins)`` apart for uniform axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AXIS_KINDS", "AxisConfig", "draw_axes", "resolution_edges"]

#: Axis kinds, in the order of their index in :func:`draw_axes`' output.
AXIS_KINDS = ("uniform", "log", "resolution")

_GRID = 513  # points of the ln(m) grid on which integral dm / w(m) is tabulated for resolution axes


@dataclass(frozen=True)
class AxisConfig:
    """How mass axes are drawn. Masses in GeV.

    ``kind_probs``: probabilities of ``uniform``, ``log``, ``resolution``. The resolution terms are drawn
    uniformly in the given ranges: ``noise_gev`` (GeV), ``stochastic_sqrtgev`` (sqrt(GeV)), ``constant``
    (dimensionless), ``curvature_per_gev`` (1/GeV).
    """

    x_range_gev: tuple[float, float] = (10.0, 5000.0)
    min_span_gev: float = 100.0
    kind_probs: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)
    noise_gev: tuple[float, float] = (0.0, 10.0)
    stochastic_sqrtgev: tuple[float, float] = (0.0, 1.0)
    constant: tuple[float, float] = (0.005, 0.05)
    curvature_per_gev: tuple[float, float] = (0.0, 2e-4)

    def __post_init__(self) -> None:
        lo, hi = self.x_range_gev
        if not 0 < lo < hi or self.min_span_gev >= hi - lo:
            raise ValueError(f"AxisConfig: need 0 < lo < hi and min_span < hi - lo, got {self.x_range_gev}")
        if len(self.kind_probs) != 3 or min(self.kind_probs) < 0 or not np.isclose(sum(self.kind_probs), 1.0):
            raise ValueError(f"AxisConfig.kind_probs must be three probabilities summing to 1, got {self.kind_probs}")
        if self.constant[0] <= 0:
            raise ValueError("AxisConfig.constant must be > 0 (it keeps every width positive)")


def _batched_interp(levels: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Row-wise ``np.interp(levels[i], xp[i], fp[i])`` for increasing rows ``xp`` in [0, 1]."""
    rows, grid = xp.shape
    offset = 2.0 * np.arange(rows)[:, None]
    idx = np.searchsorted((xp + offset).ravel(), (levels + offset).ravel()).reshape(levels.shape)
    idx = np.clip(idx - np.arange(rows)[:, None] * grid, 1, grid - 1)
    x0 = np.take_along_axis(xp, idx - 1, axis=1)
    x1 = np.take_along_axis(xp, idx, axis=1)
    f0 = np.take_along_axis(fp, idx - 1, axis=1)
    f1 = np.take_along_axis(fp, idx, axis=1)
    t = np.where(x1 > x0, (levels - x0) / np.where(x1 > x0, x1 - x0, 1.0), 0.0)
    return f0 + t * (f1 - f0)


def resolution_edges(lo, hi, n_bins: int, noise, stochastic, constant, curvature) -> np.ndarray:
    """Edges ``(batch, n_bins + 1)`` over ``[lo, hi]`` with widths proportional to the resolution model.

    >>> e = resolution_edges(np.array([100.0]), np.array([1000.0]), 50, np.zeros(1), np.zeros(1),
    ...                      np.full(1, 0.02), np.zeros(1))
    >>> bool(np.allclose(e, np.geomspace(100.0, 1000.0, 51), rtol=1e-5))  # constant term only: log axis
    True
    """
    lo, hi = np.asarray(lo, dtype=float)[:, None], np.asarray(hi, dtype=float)[:, None]
    noise, stochastic, constant, curvature = (
        np.asarray(v, dtype=float)[:, None] for v in (noise, stochastic, constant, curvature)
    )
    t = np.linspace(0.0, 1.0, _GRID)[None, :]
    m = lo * (hi / lo) ** t
    width = np.sqrt(noise**2 + stochastic**2 * m + constant**2 * m**2 + curvature**2 * m**4)
    f = m / width  # d(bins)/d(ln m), up to the overall scale
    dlnm = np.log(hi / lo) / (_GRID - 1)
    cum = np.concatenate([np.zeros((m.shape[0], 1)), np.cumsum(0.5 * (f[:, 1:] + f[:, :-1]) * dlnm, axis=1)], axis=1)
    cum /= cum[:, -1:]
    levels = np.broadcast_to(np.linspace(0.0, 1.0, n_bins + 1)[None, :], (m.shape[0], n_bins + 1))
    log_edges = _batched_interp(levels, cum, np.log(m))
    edges = np.exp(log_edges)
    edges[:, 0], edges[:, -1] = lo[:, 0], hi[:, 0]
    return edges


def draw_axes(rng: np.random.Generator, n: int, n_bins: int, config: AxisConfig = AxisConfig()):
    """Draw ``n`` mass axes with ``n_bins`` bins: returns ``(edges (n, n_bins + 1), kind (n,))`` (GeV, int8).

    >>> edges, kind = draw_axes(np.random.default_rng(1), 4, 30)
    >>> edges.shape, bool(np.all(np.diff(edges, axis=1) > 0)), bool(np.all(edges[:, -1] - edges[:, 0] >= 100))
    ((4, 31), True, True)
    """
    lo_x, hi_x = config.x_range_gev
    ends = np.sort(rng.uniform(lo_x, hi_x, size=(n, 2)), axis=1)
    bad = ends[:, 1] - ends[:, 0] < config.min_span_gev
    while bad.any():  # rejection, vectorised over the rejected rows (accepts ~96% per pass)
        ends[bad] = np.sort(rng.uniform(lo_x, hi_x, size=(int(bad.sum()), 2)), axis=1)
        bad = ends[:, 1] - ends[:, 0] < config.min_span_gev
    lo, hi = ends[:, 0], ends[:, 1]
    kind = rng.choice(3, size=n, p=np.asarray(config.kind_probs)).astype(np.int8)
    params = [
        rng.uniform(*r, size=n)
        for r in (config.noise_gev, config.stochastic_sqrtgev, config.constant, config.curvature_per_gev)
    ]
    frac = np.linspace(0.0, 1.0, n_bins + 1)[None, :]
    edges = np.empty((n, n_bins + 1))
    sel = kind == 0
    edges[sel] = lo[sel, None] + (hi - lo)[sel, None] * frac
    sel = kind == 1
    edges[sel] = lo[sel, None] * (hi / lo)[sel, None] ** frac
    sel = kind == 2
    if sel.any():
        edges[sel] = resolution_edges(lo[sel], hi[sel], n_bins, *(p[sel] for p in params))
    return edges, kind
