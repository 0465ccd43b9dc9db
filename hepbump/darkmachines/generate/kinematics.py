"""Vectorised kinematics for the parametric event generators: spectra and line shapes (two-body decays and
boosts come from :mod:`hepbump.kinematics`).

Four-momenta are :mod:`vector` ``MomentumNumpy4D`` arrays (GeV); every function works on whole batches of
events (one array entry per event) and takes an explicit :class:`numpy.random.Generator`.

>>> parent = p4_from_pt_y_phi_m(np.array([50.0]), np.array([0.3]), np.array([1.0]), np.array([91.19]))
>>> round(float(parent.mass[0]), 6), round(float(parent.pt[0]), 6)
(91.19, 50.0)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import vector

from hepbump import constants as C
from hepbump.kinematics import four_vectors

__all__ = [
    "BREIT_WIGNER_HALF_RANGE",
    "FallingSpectrum",
    "p4_from_pt_y_phi_m",
    "breit_wigner_mass",
    "truncated_normal",
]


def p4_from_pt_y_phi_m(pt: np.ndarray, y: np.ndarray, phi: np.ndarray, m: np.ndarray) -> vector.MomentumNumpy4D:
    """Four-momenta from transverse momentum, rapidity ``y`` (not pseudorapidity), azimuth and mass (GeV).

    >>> v = p4_from_pt_y_phi_m(np.array([3.0]), np.array([0.0]), np.array([0.0]), np.array([4.0]))
    >>> float(v.E[0]), float(v.px[0])
    (5.0, 3.0)
    """
    mt = np.sqrt(pt**2 + m**2)
    return four_vectors(pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y), mt * np.cosh(y))


def truncated_normal(rng: np.random.Generator, size: int | tuple[int, ...], limit: float = 5.0) -> np.ndarray:
    """Standard normal numbers restricted to ``|z| < limit`` (redrawn where outside)."""
    z = rng.standard_normal(size)
    out = np.abs(z) >= limit
    while out.any():
        z[out] = rng.standard_normal(int(out.sum()))
        out = np.abs(z) >= limit
    return z


#: Breit-Wigner masses are drawn within M -/+ this many widths unless other limits are given.
BREIT_WIGNER_HALF_RANGE = 30.0


def breit_wigner_mass(
    rng: np.random.Generator, n: int, mass: float, width: float, lo: float | None = None, hi: float | None = None
) -> np.ndarray:
    """Masses (GeV) from a relativistic Breit-Wigner ``1 / ((s - M^2)^2 + M^2 Gamma^2)`` in ``s = m^2``,
    truncated to ``[lo, hi]`` (default ``M -/+ 30 Gamma``) by inverse-CDF sampling of ``atan``.

    >>> m = breit_wigner_mass(np.random.default_rng(0), 200_000, 91.1876, 2.4952)
    >>> abs(float(np.median(m)) - 91.1876) < 0.05
    True
    """
    if width <= 0:
        return np.full(n, float(mass))
    lo = mass - BREIT_WIGNER_HALF_RANGE * width if lo is None else lo
    hi = mass + BREIT_WIGNER_HALF_RANGE * width if hi is None else hi
    lo = max(lo, 0.0)
    a_lo = np.arctan((lo**2 - mass**2) / (mass * width))
    a_hi = np.arctan((hi**2 - mass**2) / (mass * width))
    s = mass**2 + mass * width * np.tan(rng.uniform(a_lo, a_hi, n))
    return np.sqrt(s)


@dataclass(frozen=True)
class FallingSpectrum:
    """A smoothly falling transverse-momentum spectrum of a 2 -> 2 process (or of an extra emission), GeV:

        dsigma/dpT  proportional to  pT^a * (pT^2 + c^2)^(-b) * (1 - 2 pT / sqrt(s))^d,   pT in [0, sqrt(s)/2)

    ``c`` sets the turn-over (about the mass scale of the produced system), ``2b - a`` the power-law tail and
    ``d`` the suppression near the kinematic limit. Sampling uses a tabulated inverse CDF on a logarithmic grid.

    >>> s = FallingSpectrum(a=-4.5, c=0.0, b=0.0, d=0.0)  # a pure pT^-4.5 power law
    >>> round(s.fraction_above(200.0, reference=100.0), 4)  # (200/100)^-3.5
    0.0884
    >>> x = s.sample(np.random.default_rng(3), 200_000, pt_min=100.0)
    >>> bool(x.min() >= 100.0), round(float(np.mean(x > 200.0)), 2)
    (True, 0.09)
    """

    a: float
    c: float
    b: float
    d: float = 6.0
    sqrt_s: float = C.SQRT_S_13TEV_GEV
    floor: float = 0.1

    def density(self, pt: np.ndarray) -> np.ndarray:
        pt = np.asarray(pt, dtype=float)
        x = np.clip(1.0 - 2.0 * pt / self.sqrt_s, 0.0, 1.0)
        return pt**self.a * (pt**2 + self.c**2) ** (-self.b) * x**self.d

    @functools.cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        grid = np.geomspace(self.floor, 0.5 * self.sqrt_s * (1 - 1e-9), 6000)
        f = self.density(grid)
        # Cumulative integral from the top down (trapezoid in pT), so that tails keep full relative precision.
        seg = 0.5 * (f[1:] + f[:-1]) * np.diff(grid)
        upper = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
        # log(pT) as a function of log(integral above pT), for sampling by table look-up.
        positive = upper > 0
        return grid, upper, np.log(upper[positive])

    def integral_above(self, pt_min: float) -> float:
        """Integral of the (unnormalised) density above ``pt_min``."""
        grid, upper, _ = self._table
        return float(np.interp(max(pt_min, self.floor), grid, upper))

    def fraction_above(self, pt_min: float, reference: float = 0.0) -> float:
        """sigma(pT > pt_min) / sigma(pT > reference)."""
        return self.integral_above(pt_min) / self.integral_above(reference)

    @functools.lru_cache(maxsize=64)  # noqa: B019 (frozen, hashable spectra that live as long as the process table)
    def _inverse(self, pt_min: float) -> tuple[np.ndarray, float]:
        """pT at 2^14 + 1 equally spaced quantiles of ln(integral above pT), for pT above ``pt_min``."""
        grid, upper, log_upper = self._table
        top = np.log(self.integral_above(pt_min))
        lo = log_upper[-1]
        q = np.linspace(top, lo, 2**14 + 1)
        pts = np.interp(q, log_upper[::-1], np.log(grid[: log_upper.size])[::-1])
        return np.exp(pts), top

    def sample(self, rng: np.random.Generator, n: int, pt_min: float = 0.0) -> np.ndarray:
        """``n`` values of pT (GeV) above ``pt_min`` distributed as :meth:`density`.

        Inverse-CDF sampling: linear interpolation between 2^14 + 1 quantiles equally spaced in
        ln(integral above pT)."""
        pt_min = max(float(pt_min), self.floor)
        table, top = self._inverse(pt_min)
        log_upper = self._table[2]
        # ln(integral above pT) is uniform-in-integral: target = ln(u * I(pt_min)).
        target = np.log(rng.random(n)) + top
        x = np.clip((top - target) * ((table.size - 1) / (top - log_upper[-1])), 0.0, table.size - 1.0)
        i = np.minimum(x.astype(np.int64), table.size - 2)
        pt = table[i] + (x - i) * (table[i + 1] - table[i])
        return np.maximum(pt, pt_min)
