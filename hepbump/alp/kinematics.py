"""Kinematics specific to the ALP simulation, vectorised over numpy arrays (GeV, metres).

Two-body decays and boosts are in :mod:`hepbump.kinematics`; here:

* the decay point of a long-lived particle: the exponential decay-length distribution truncated to a path
  interval [l_min, l_max] (inverse CDF) and the probability to decay inside it;
* straight-line propagation to a plane of constant z.

>>> round(float(lab_decay_length_m(1.0, 20.0)), 6)  # c tau / m = 1 m/GeV, |p| = 20 GeV
20.0
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "lab_decay_length_m",
    "decay_probability",
    "truncated_exponential_inverse_cdf",
    "propagate_to_plane",
]

ArrayLike = np.ndarray | float


def lab_decay_length_m(ctau_over_m_m_per_gev: ArrayLike, p_abs_gev: ArrayLike) -> np.ndarray:
    """Mean lab decay length lambda = beta gamma c tau = (c tau / m) |p|, metres (c tau/m in m/GeV, |p| in GeV)."""
    return np.asarray(ctau_over_m_m_per_gev, dtype=np.float64) * np.asarray(p_abs_gev, dtype=np.float64)


def decay_probability(decay_length_m: ArrayLike, l_min_m: ArrayLike, l_max_m: ArrayLike) -> np.ndarray:
    """Probability to decay between path lengths l_min and l_max: exp(-l_min/lambda) - exp(-l_max/lambda).

    Evaluated as exp(-l_min/lambda) * (1 - exp(-(l_max - l_min)/lambda)) with ``expm1``, accurate for very
    long and very short decay lengths.

    >>> round(float(decay_probability(10.0, 10.0, 20.0)), 6)  # exp(-1) - exp(-2)
    0.232544
    """
    lam = np.asarray(decay_length_m, dtype=np.float64)
    l_min = np.asarray(l_min_m, dtype=np.float64)
    return np.exp(-l_min / lam) * -np.expm1(-(np.asarray(l_max_m) - l_min) / lam)


def truncated_exponential_inverse_cdf(
    u: ArrayLike, decay_length_m: ArrayLike, l_min_m: ArrayLike, l_max_m: ArrayLike
) -> np.ndarray:
    """Inverse CDF of the exponential exp(-l/lambda) truncated to [l_min, l_max], at u in [0, 1] (metres).

    l(u) = l_min - lambda ln(1 - u (1 - exp(-(l_max - l_min)/lambda))); u = 0 gives l_min, u = 1 gives l_max.

    >>> [round(float(truncated_exponential_inverse_cdf(u, 5.0, 32.0, 82.0)), 9) for u in (0.0, 1.0)]
    [32.0, 82.0]
    """
    lam = np.asarray(decay_length_m, dtype=np.float64)
    l_min = np.asarray(l_min_m, dtype=np.float64)
    span = np.asarray(l_max_m, dtype=np.float64) - l_min
    fraction = -np.expm1(-span / lam)
    return np.minimum(l_min - lam * np.log1p(-np.asarray(u) * fraction), l_min + span)


def propagate_to_plane(
    x0: ArrayLike, y0: ArrayLike, z0: ArrayLike, px: ArrayLike, py: ArrayLike, pz: ArrayLike, z_plane: float
) -> tuple[np.ndarray, np.ndarray]:
    """Where a straight line from (x0, y0, z0) along (px, py, pz) crosses z = ``z_plane`` (metres; needs p_z > 0).

    >>> propagate_to_plane(0.0, 0.0, 90.0, 1.0, -2.0, 3.0, 93.0)
    (1.0, -2.0)
    """
    t = (z_plane - np.asarray(z0)) / np.asarray(pz)
    x = np.asarray(x0) + t * np.asarray(px)
    y = np.asarray(y0) + t * np.asarray(py)
    return (float(x), float(y)) if np.ndim(x) == 0 else (x, y)
