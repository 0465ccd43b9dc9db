"""The ten features and the diphoton mass of measured ALP events (ECO/EPO paper, sections 2.2 and 3.2).

Per event ``[ln E1, ln E2, x1, y1, x2, y2, ln theta1, ln theta2, phi1, phi2]`` (photon 1 = higher measured
energy; GeV, metres, rad) and m_gg^2 = 2 E1 E2 (1 - cos alpha), alpha the opening angle of the measured
directions, histogrammed on :func:`mgg_axis`.
"""

from __future__ import annotations

import hist
import numpy as np
import vector

from hepbump import constants as C
from hepbump.alp.detector import PhotonPair
from hepbump.errors import InputError

__all__ = ["FEATURE_NAMES", "features", "photons_from_features", "opening_angle", "diphoton_mass", "mgg_axis"]

#: Names of the ten per-event features, in the order of the columns of :func:`features`.
FEATURE_NAMES: tuple[str, ...] = (
    "ln_E1",
    "ln_E2",
    "x1",
    "y1",
    "x2",
    "y2",
    "ln_theta1",
    "ln_theta2",
    "phi1",
    "phi2",
)


def features(pair: PhotonPair) -> np.ndarray:
    """The (n, 10) float64 feature matrix, columns :data:`FEATURE_NAMES`.

    >>> p = PhotonPair(*[np.array([v]) for v in (20.0, 5.0, 0.1, -0.2, 0.3, 0.4, 0.01, 0.02, 1.0, -2.0)])
    >>> features(p).round(4).tolist()
    [[2.9957, 1.6094, 0.1, -0.2, 0.3, 0.4, -4.6052, -3.912, 1.0, -2.0]]
    """
    if np.any(pair.E1 <= 0) or np.any(pair.E2 <= 0) or np.any(pair.theta1 <= 0) or np.any(pair.theta2 <= 0):
        raise InputError("features need positive energies and polar angles (logarithms are taken)")
    return np.column_stack(
        [
            np.log(pair.E1),
            np.log(pair.E2),
            pair.x1,
            pair.y1,
            pair.x2,
            pair.y2,
            np.log(pair.theta1),
            np.log(pair.theta2),
            pair.phi1,
            pair.phi2,
        ]
    )


def opening_angle(pair: PhotonPair) -> np.ndarray:
    """Opening angle alpha (rad) between the two photon directions given by (theta, phi), with ``vector``.

    >>> import math
    >>> p = PhotonPair(*[np.array([v]) for v in (2.0, 2.0, 0, 0, 0, 0, 0.25, 0.25, 0.0, math.pi)])
    >>> round(float(opening_angle(p)[0]), 12)
    0.5
    """
    d1 = vector.array({"rho": np.sin(pair.theta1), "phi": pair.phi1, "theta": pair.theta1})
    d2 = vector.array({"rho": np.sin(pair.theta2), "phi": pair.phi2, "theta": pair.theta2})
    return np.asarray(d1.deltaangle(d2), dtype=np.float64)


def diphoton_mass(pair: PhotonPair) -> np.ndarray:
    """Reconstructed diphoton mass m_gg = sqrt(2 E1 E2 (1 - cos alpha)) in GeV, alpha from :func:`opening_angle`.

    1 - cos alpha is evaluated as 2 sin^2(alpha/2) to avoid cancellation at small opening angles.

    >>> import math
    >>> p = PhotonPair(*[np.array([v]) for v in (2.0, 2.0, 0, 0, 0, 0, 0.25, 0.25, 0.0, math.pi)])
    >>> round(float(diphoton_mass(p)[0]), 6)  # alpha = 0.5 rad: m = 2 sqrt(4) sin(0.25)
    0.989616
    """
    return 2.0 * np.sqrt(pair.E1 * pair.E2) * np.sin(0.5 * opening_angle(pair))


def mgg_axis() -> hist.axis.Regular:
    """The m_gg axis of every ALP histogram: log-spaced, log10(m_gg/GeV) in [-1.5, 0.8] (paper section 3.2).

    >>> ax = mgg_axis()
    >>> len(ax), round(float(ax.edges[0]), 4), round(float(ax.edges[-1]), 3)
    (92, 0.0316, 6.31)
    """
    return hist.axis.Regular(
        C.ALP_MGG_BINS,
        10.0**C.ALP_MGG_LOG10_MIN,
        10.0**C.ALP_MGG_LOG10_MAX,
        transform=hist.axis.transform.log,
        name="m_gg",
        label=r"$m_{\gamma\gamma}$ [GeV]",
    )


def photons_from_features(matrix: np.ndarray) -> PhotonPair:
    """Inverse of :func:`features`: the photon pairs of an (n, 10) feature matrix.

    >>> p = photons_from_features(np.array([[0.0, 1.0, 0.1, 0.2, 0.3, 0.4, -3.0, -2.0, 0.5, -0.5]]))
    >>> float(p.E1[0]), round(float(p.theta2[0]), 6), float(p.phi2[0])
    (1.0, 0.135335, -0.5)
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != len(FEATURE_NAMES):
        raise InputError(f"expected an (n, {len(FEATURE_NAMES)}) feature matrix, got shape {m.shape}")
    return PhotonPair(
        E1=np.exp(m[:, 0]),
        E2=np.exp(m[:, 1]),
        x1=m[:, 2],
        y1=m[:, 3],
        x2=m[:, 4],
        y2=m[:, 5],
        theta1=np.exp(m[:, 6]),
        theta2=np.exp(m[:, 7]),
        phi1=m[:, 8],
        phi2=m[:, 9],
    )
