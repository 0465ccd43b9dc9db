"""Binned Gaussian signal templates: the fraction of a normal distribution falling in each bin.

This is the one definition of the signal shape used by the LR scan, the pyhf cross-check, the demo and
signal injection, with the window of bins around a signal (:func:`window_around`) that the cross-checks test.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

from hepbump.errors import InputError

__all__ = ["gaussian_template", "gaussian_templates", "signal_widths", "window_around"]

WidthSpec = float | Callable[[np.ndarray], np.ndarray]


def gaussian_templates(edges: np.ndarray, means: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Bin fractions of Gaussians, shape ``(len(means), n_bins)``: ``Phi((e_{i+1}-m)/s) - Phi((e_i-m)/s)``.

    >>> gaussian_templates(np.array([-1.0, 0.0, 1.0]), np.array([0.0]), np.array([1.0])).round(4).tolist()
    [[0.3413, 0.3413]]
    """
    edges = np.asarray(edges, dtype=float)
    means = np.atleast_1d(np.asarray(means, dtype=float))
    sigmas = np.broadcast_to(np.asarray(sigmas, dtype=float), means.shape)
    if np.any(~np.isfinite(sigmas)) or np.any(sigmas <= 0):
        raise InputError("Gaussian widths must be finite and > 0")
    cdf = ndtr((edges[None, :] - means[:, None]) / sigmas[:, None])
    return np.diff(cdf, axis=1)


def gaussian_template(edges: np.ndarray, mean: float, sigma: float) -> np.ndarray:
    """Bin fractions of one Gaussian of mean ``mean`` and width ``sigma`` (same units as ``edges``)."""
    return gaussian_templates(edges, np.array([mean]), np.array([sigma]))[0]


def signal_widths(edges: np.ndarray, positions: np.ndarray, width: WidthSpec) -> np.ndarray:
    """Gaussian widths (mass units) at ``positions``.

    ``width`` is either a number, the width in units of the local bin width (BumpNet's signals are one bin
    wide), or a callable ``sigma(m)`` returning the mass resolution in GeV.

    >>> signal_widths(np.array([0.0, 1.0, 3.0]), np.array([0.5, 2.0]), 1.0).tolist()
    [1.0, 2.0]
    """
    edges = np.asarray(edges, dtype=float)
    positions = np.asarray(positions, dtype=float)
    if callable(width):
        sig = np.broadcast_to(np.asarray(width(positions), dtype=float), positions.shape).copy()
    else:
        w = float(width)
        if not np.isfinite(w) or w <= 0:
            raise InputError(f"signal width must be > 0 (in bins), got {width!r}")
        idx = np.clip(np.searchsorted(edges, positions, side="right") - 1, 0, len(edges) - 2)
        sig = w * np.diff(edges)[idx]
    if np.any(~np.isfinite(sig)) or np.any(sig <= 0):
        raise InputError("the signal width function returned non-positive or non-finite widths")
    return sig


def window_around(edges: np.ndarray, mass: float, sigma: float, n_sigma: float) -> slice:
    """Slice of the bins whose centres lie within ``mass +- n_sigma * sigma`` (at least the bin of ``mass``).

    >>> window_around(np.arange(11.0), 5.5, 1.0, 2.0)
    slice(3, 8, None)
    """
    if not (np.isfinite(n_sigma) and n_sigma > 0):
        raise InputError(f"the window half-width (--n-sigma) must be a positive number of signal sigmas, got {n_sigma}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise InputError(f"the signal width must be positive, got sigma = {sigma}")
    centres = 0.5 * (edges[1:] + edges[:-1])
    inside = np.flatnonzero(np.abs(centres - mass) <= n_sigma * sigma)
    if inside.size == 0:
        inside = np.array([np.clip(np.searchsorted(edges, mass) - 1, 0, len(centres) - 1)])
    return slice(int(inside[0]), int(inside[-1]) + 1)
