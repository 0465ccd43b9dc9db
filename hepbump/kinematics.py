"""Relativistic two-body kinematics shared by every generator in hepbump, vectorised over numpy arrays (GeV).

Four-momenta are :mod:`vector` ``MomentumNumpy4D`` arrays. Two-body decays: the Kaellen function, the rest-frame
momentum ``|p*| = sqrt(lambda(M, m1, m2)) / (2 M)``, isotropic back-to-back daughters in the parent rest frame and
boosts to the lab.

>>> round(float(two_body_momentum_gev(5.27972, 0.497611, 1.0)), 4)  # B0 -> K0 a, m_a = 1 GeV
2.5199
"""

from __future__ import annotations

import numpy as np
import vector

from hepbump.errors import InputError

__all__ = [
    "kallen_lambda",
    "two_body_momentum_gev",
    "isotropic_directions",
    "two_body_rest_frame",
    "boost_to_lab",
    "two_body_decay",
    "four_vectors",
]


ArrayLike = np.ndarray | float


def kallen_lambda(m_parent: ArrayLike, m1: ArrayLike, m2: ArrayLike) -> np.ndarray:
    """Kaellen function of the squared masses, lambda(M^2, m1^2, m2^2) = (M^2 - (m1+m2)^2)(M^2 - (m1-m2)^2), GeV^4.

    >>> float(kallen_lambda(3.0, 1.0, 1.0))  # (9 - 4) * (9 - 0)
    45.0
    """
    m_parent, m1, m2 = (np.asarray(v, dtype=np.float64) for v in (m_parent, m1, m2))
    msq = m_parent * m_parent
    return (msq - (m1 + m2) ** 2) * (msq - (m1 - m2) ** 2)


def two_body_momentum_gev(m_parent: ArrayLike, m1: ArrayLike, m2: ArrayLike) -> np.ndarray:
    """Daughter momentum in the rest frame of a parent of mass M decaying to masses m1 + m2, GeV.

    |p*| = sqrt(lambda(M, m1, m2)) / (2 M). Raises :class:`ValueError` for negative masses or where the decay is
    kinematically forbidden (m1 + m2 > M).

    >>> float(two_body_momentum_gev(3.0, 1.0, 1.0)) == float(np.sqrt(45.0) / 6.0)
    True
    >>> two_body_momentum_gev(1.0, 0.6, 0.6)
    Traceback (most recent call last):
    ...
    hepbump.errors.InputError: two-body decay forbidden: m1 + m2 = 1.2 GeV exceeds the parent mass 1 GeV
    """
    m_parent, m1, m2 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (m_parent, m1, m2)))
    if np.any(m1 < 0) or np.any(m2 < 0) or np.any(m_parent <= 0):
        raise InputError("two-body decay needs a positive parent mass and non-negative daughter masses")
    forbidden = m1 + m2 > m_parent
    if np.any(forbidden):
        i = np.flatnonzero(forbidden.ravel())[0]
        raise InputError(
            f"two-body decay forbidden: m1 + m2 = {(m1 + m2).ravel()[i]:.6g} GeV exceeds the parent mass "
            f"{m_parent.ravel()[i]:.6g} GeV"
        )
    return np.sqrt(np.maximum(kallen_lambda(m_parent, m1, m2), 0.0)) / (2.0 * m_parent)


def isotropic_directions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` unit vectors distributed uniformly on the sphere (cos theta uniform in [-1, 1], phi in [0, 2 pi))."""
    cos_theta = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_theta = np.sqrt(1.0 - cos_theta * cos_theta)
    return sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta


def four_vectors(px: ArrayLike, py: ArrayLike, pz: ArrayLike, energy: ArrayLike) -> vector.MomentumNumpy4D:
    """A ``vector`` momentum 4-vector array from components (GeV)."""
    return vector.array({"px": px, "py": py, "pz": pz, "E": energy})


def two_body_rest_frame(
    m_parent: ArrayLike, m1: ArrayLike, m2: ArrayLike, rng: np.random.Generator, n: int | None = None
) -> tuple[vector.MomentumNumpy4D, vector.MomentumNumpy4D]:
    """Isotropic two-body decays in the parent rest frame: back-to-back daughters with |p| = |p*|.

    The first returned daughter has mass ``m1``, the second ``m2``.

    Energies E1 = (M^2 + m1^2 - m2^2) / (2 M) and E2 = M - E1 (GeV). ``n`` is the number of decays when all
    masses are scalars.

    >>> d1, d2 = two_body_rest_frame(1.0, 0.0, 0.0, np.random.default_rng(1), n=3)
    >>> d1.E.tolist(), bool(np.allclose((d1 + d2).px, 0.0))
    ([0.5, 0.5, 0.5], True)
    """
    shape = np.broadcast_shapes(np.shape(m_parent), np.shape(m1), np.shape(m2))
    if n is None:
        if len(shape) != 1:
            raise InputError("two_body_rest_frame: give n when all masses are scalars")
        n = shape[0]
    m_parent, m1, m2 = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for v in (m_parent, m1, m2))
    p_star = two_body_momentum_gev(m_parent, m1, m2)
    e1 = (m_parent * m_parent + m1 * m1 - m2 * m2) / (2.0 * m_parent)
    ux, uy, uz = isotropic_directions(rng, n)
    d1 = four_vectors(p_star * ux, p_star * uy, p_star * uz, e1)
    d2 = four_vectors(-p_star * ux, -p_star * uy, -p_star * uz, m_parent - e1)
    return d1, d2


def boost_to_lab(p4_rest: vector.MomentumNumpy4D, parent_lab: vector.MomentumNumpy4D) -> vector.MomentumNumpy4D:
    """Boost 4-momenta from the rest frame of ``parent_lab`` to the lab (velocity beta = p / E of the parent)."""
    return p4_rest.boost_beta3(parent_lab.to_beta3())


def two_body_decay(
    parent: vector.MomentumNumpy4D, m1: np.ndarray, m2: np.ndarray, rng: np.random.Generator
) -> tuple[vector.MomentumNumpy4D, vector.MomentumNumpy4D]:
    """Isotropic two-body decays of lab-frame ``parent`` four-momenta into daughters of masses ``m1``, ``m2`` (GeV),
    returned in the lab frame (rest-frame decay, then a boost with the parent's velocity).

    >>> parent = four_vectors(np.array([30.0]), np.array([0.0]), np.array([40.0]), np.array([100.0]))
    >>> a, b = two_body_decay(parent, np.zeros(1), np.zeros(1), np.random.default_rng(1))
    >>> bool(np.allclose((a + b).mass, parent.mass)), bool(np.allclose((a + b).px, 30.0))
    (True, True)
    """
    m_parent = np.asarray(parent.mass, dtype=np.float64)
    d1, d2 = two_body_rest_frame(m_parent, m1, m2, rng, n=m_parent.size)
    return boost_to_lab(d1, parent), boost_to_lab(d2, parent)
