"""One-dimensional binned data: accept any UHI histogram or ``(counts, edges)``, return ``hist.Hist``.

Every function of hepbump that takes a histogram goes through :func:`as_binned`, so ``hist.Hist``,
``boost_histogram.Histogram``, an uproot-read ``TH1`` or a plain ``(counts, edges)`` pair all work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import hist
import numpy as np

from hepbump.errors import InputError

__all__ = ["Binned", "as_binned", "make_hist", "bin_quadrature"]


@dataclass(frozen=True)
class Binned:
    """Counts of a 1D histogram with its bin edges (no under/overflow).

    ``variances`` is ``None`` when the source has plain (Poisson) counts.
    """

    counts: np.ndarray
    edges: np.ndarray
    variances: np.ndarray | None = None
    label: str = ""

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.edges)

    def __len__(self) -> int:
        return len(self.counts)


def _validate(counts: np.ndarray, edges: np.ndarray, where: str) -> None:
    if counts.ndim != 1:
        raise InputError(f"{where}: expected a one-dimensional histogram, got counts of shape {counts.shape}")
    if edges.shape != (counts.size + 1,):
        raise InputError(f"{where}: {counts.size} bins need {counts.size + 1} edges, got {edges.size}")
    if counts.size == 0:
        raise InputError(f"{where}: histogram has no bins")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise InputError(f"{where}: bin edges must be finite and strictly increasing")
    if not np.all(np.isfinite(counts)):
        raise InputError(f"{where}: counts contain NaN or infinity")


def _axis_edges(axis: Any) -> np.ndarray:
    """Bin edges of a UHI axis (``edges`` attribute, ``edges()`` method, or the protocol's bin intervals)."""
    edges = getattr(axis, "edges", None)
    if callable(edges):
        edges = edges()
    if edges is None:
        intervals = np.array([axis[i] for i in range(len(axis))], dtype=float)
        edges = np.append(intervals[:, 0], intervals[-1, 1])
    return np.asarray(edges, dtype=float)


def as_binned(obj: Any) -> Binned:
    """Convert a UHI histogram (hist, boost-histogram, uproot TH1) or ``(counts, edges)`` to :class:`Binned`.

    >>> b = as_binned(([1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]))
    >>> b.counts.tolist(), b.centers.tolist()
    ([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    >>> import hist
    >>> h = hist.Hist.new.Reg(4, 0, 4, name="m").Double().fill([0.5, 0.5, 3.2])
    >>> as_binned(h).counts.tolist()
    [2.0, 0.0, 0.0, 1.0]
    """
    if isinstance(obj, Binned):
        return obj
    if isinstance(obj, tuple) and len(obj) == 2:
        counts = np.asarray(obj[0], dtype=float)
        edges = np.asarray(obj[1], dtype=float)
        _validate(counts, edges, "(counts, edges)")
        return Binned(counts, edges)
    if hasattr(obj, "values") and hasattr(obj, "axes"):
        axes = obj.axes
        if len(axes) != 1:
            raise InputError(f"expected a one-dimensional histogram, got {len(axes)} axes")
        axis = axes[0]
        edges = _axis_edges(axis)
        counts = np.asarray(obj.values(), dtype=float)
        variances = obj.variances() if hasattr(obj, "variances") else None
        variances = None if variances is None else np.asarray(variances, dtype=float)
        label = str(getattr(axis, "label", "") or getattr(axis, "name", "") or "")
        _validate(counts, edges, type(obj).__name__)
        if variances is not None and np.allclose(variances, counts):
            variances = None
        return Binned(counts, edges, variances, label)
    raise TypeError(
        f"cannot read {type(obj).__name__} as a histogram: pass a UHI histogram (hist.Hist, "
        "boost-histogram, uproot TH1) or a (counts, edges) tuple"
    )


def make_hist(
    counts: np.ndarray,
    edges: np.ndarray,
    variances: np.ndarray | None = None,
    *,
    name: str = "mass",
    label: str = "Mass [GeV]",
) -> hist.Hist:
    """Build a ``hist.Hist`` with a variable axis and Weight storage from counts and edges.

    >>> h = make_hist([3.0, 1.0], [0.0, 1.0, 3.0])
    >>> h.values().tolist(), h.variances().tolist()
    ([3.0, 1.0], [3.0, 1.0])
    """
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    _validate(counts, edges, "make_hist")
    variances = counts.copy() if variances is None else np.asarray(variances, dtype=float)
    h = hist.Hist(hist.axis.Variable(edges, name=name, label=label), storage=hist.storage.Weight())
    h.view().value = counts
    h.view().variance = variances
    return h


_GL_NODES = np.array([-np.sqrt(0.6), 0.0, np.sqrt(0.6)])
_GL_WEIGHTS = np.array([5.0, 8.0, 5.0]) / 18.0  # sum to 1: the average over a bin


def bin_quadrature(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Three-point Gauss-Legendre nodes and weights per bin: ``integral_bin f ~ sum(weights * f(nodes), axis=1)``.

    Exact for polynomials of degree <= 5 within a bin. Shapes ``(n_bins, 3)``.

    >>> nodes, weights = bin_quadrature(np.array([0.0, 2.0]))
    >>> float(np.sum(weights * nodes**2))  # integral of x^2 from 0 to 2
    2.666666666666667
    """
    edges = np.asarray(edges, dtype=float)
    mid = 0.5 * (edges[1:] + edges[:-1])
    half = 0.5 * np.diff(edges)
    nodes = mid[:, None] + half[:, None] * _GL_NODES[None, :]
    weights = np.diff(edges)[:, None] * _GL_WEIGHTS[None, :]
    return nodes, weights
