"""Smoothly falling mass spectra for pseudo-experiments: analytic densities integrated over bins.

The dijet function of ATLAS/CMS resonance searches, ``f(x) = p0 (1 - x)^p1 x^-(p2 + p3 ln x)`` with
``x = m / sqrt(s)``, gives realistic falling backgrounds; :func:`expected_counts` turns any density (events
per GeV) into expected counts per bin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hepbump.constants import SQRT_S_13TEV_GEV
from hepbump.errors import InputError
from hepbump.histogram import bin_quadrature

__all__ = ["DijetShape", "expected_counts"]


@dataclass(frozen=True)
class DijetShape:
    """Dijet-function density ``p1, p2, p3`` shape, normalised to ``total`` events over ``[lo, hi]`` GeV."""

    p1: float = 10.0
    p2: float = 4.0
    p3: float = 0.0
    sqrt_s: float = SQRT_S_13TEV_GEV

    def unnormalised(self, mass: np.ndarray) -> np.ndarray:
        x = np.asarray(mass, dtype=float) / self.sqrt_s
        if np.any((x <= 0) | (x >= 1)):
            raise InputError("dijet function: masses must lie in (0, sqrt(s))")
        return (1.0 - x) ** self.p1 * x ** (-(self.p2 + self.p3 * np.log(x)))


def expected_counts(
    edges: np.ndarray, density: Callable[[np.ndarray], np.ndarray], total: float | None = None
) -> np.ndarray:
    """Integrate ``density`` over each bin (Gauss-Legendre); rescale to ``total`` events if given.

    >>> expected_counts(np.array([0.0, 1.0, 2.0]), lambda m: 2.0 * m).tolist()
    [1.0, 3.0]
    """
    nodes, weights = bin_quadrature(edges)
    counts = np.sum(weights * density(nodes), axis=1)
    if total is not None:
        counts = counts * (float(total) / counts.sum())
    return counts
