"""Calorimeter model of the SHiP ALP search: resolution presets and seeded smearing of the two photons.

The ECO/EPO paper (section 2.2) does not simulate showers: the truth photon energies, calorimeter hit
positions and incidence angles are smeared with Gaussian resolutions and forced back into their physical
ranges. Units: energies in GeV, lengths in metres, angles in radians.

Measured quantities of one photon: energy E (GeV), hit position (x, y) on the calorimeter face (m), polar
angle theta of the photon direction to the beam axis and azimuth phi (rad). The ten features per event are
``[ln E1, ln E2, x1, y1, x2, y2, ln theta1, ln theta2, phi1, phi2]`` (photon 1 = higher measured energy) and
the reconstructed diphoton mass m_gg; both are computed in :mod:`hepbump.alp.features`.

>>> res = get_resolution("poor")
>>> res.sigma_e_rel, res.sigma_theta_rad, res.sigma_hit_m
(0.1, 0.01, 0.001)
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import vector
from scipy.special import ndtri

from hepbump import constants as C
from hepbump.alp.geometry import Geometry, get_geometry
from hepbump.errors import InputError, MissingEntryError
from hepbump.rng import PHILOX_WORDS_PER_BLOCK, event_rng

__all__ = [
    "TRUTH_FIELDS",
    "DRAWS_PER_EVENT",
    "Resolution",
    "RESOLUTION_PRESETS",
    "get_resolution",
    "PhotonPair",
    "truth_photons",
    "smear",
    "smearing_rng",
]

log = logging.getLogger(__name__)

#: Fields of the simulated events (``hepbump.alp.simulate``) that the detector model reads.
TRUTH_FIELDS: tuple[str, ...] = (
    "g1_E",
    "g1_px",
    "g1_py",
    "g1_pz",
    "g2_E",
    "g2_px",
    "g2_py",
    "g2_pz",
    "g1_x",
    "g1_y",
    "g2_x",
    "g2_y",
)

#: Uniform draws consumed per event by :func:`smear`: 10 used (E, x, y, theta, phi for two photons), padded
#: to 12 = three Philox blocks, so that :func:`smearing_rng` can start any event range at its own counter.
DRAWS_PER_EVENT = 3 * PHILOX_WORDS_PER_BLOCK
_USED_DRAWS = 10
# Generator.random() lies in [0, 1); a uniform of exactly 0 (probability 2**-53) would give an infinite
# deviate, so deviates are bounded below by the one of 2**-54 (-8.3 sigma).
_Z_MIN = float(ndtri(2.0**-54))


@dataclass(frozen=True)
class Resolution:
    """Gaussian resolutions of the calorimeter.

    Attributes
    ----------
    sigma_e_rel:
        Relative energy resolution sigma_E / E (dimensionless).
    sigma_theta_rad, sigma_phi_rad:
        Absolute resolutions of the polar and azimuthal incidence angles, rad.
    sigma_hit_m:
        Resolution of each hit coordinate x and y, metres.
    name:
        Preset name, or ``"custom"``.

    >>> Resolution(0.05, 0.005, 0.005, 0.001).name
    'custom'
    >>> Resolution(-0.1, 0.005, 0.005, 0.001)
    Traceback (most recent call last):
    ...
    hepbump.errors.InputError: resolution field sigma_e_rel must be a finite number >= 0, got -0.1
    """

    sigma_e_rel: float
    sigma_theta_rad: float
    sigma_phi_rad: float
    sigma_hit_m: float
    name: str = "custom"

    def __post_init__(self) -> None:
        for field in ("sigma_e_rel", "sigma_theta_rad", "sigma_phi_rad", "sigma_hit_m"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise InputError(f"resolution field {field} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise InputError(f"resolution field {field} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, field, float(value))

    def with_overrides(self, **values: float | None) -> Resolution:
        """A copy with the given fields replaced (``None`` keeps a field); renamed ``custom`` if anything changed.

        >>> get_resolution("good").with_overrides(sigma_e_rel=0.02).name
        'custom'
        """
        changes = {k: v for k, v in values.items() if v is not None}
        unknown = sorted(set(changes) - {"sigma_e_rel", "sigma_theta_rad", "sigma_phi_rad", "sigma_hit_m"})
        if unknown:
            raise InputError(f"unknown resolution fields {unknown}")
        if not changes:
            return self
        return dataclasses.replace(self, name="custom", **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable record (for file metadata)."""
        return dataclasses.asdict(self)


#: The named presets: ``good``/``poor`` as stated in the paper's text, ``good-ref``/``poor-ref`` as used by
#: the public code behind the paper's tables.
RESOLUTION_PRESETS: Mapping[str, Resolution] = {
    "good": Resolution(
        C.ALP_RES_GOOD_SIGMA_E_REL,
        C.ALP_RES_GOOD_SIGMA_ANGLE_RAD,
        C.ALP_RES_GOOD_SIGMA_ANGLE_RAD,
        C.ALP_RES_SIGMA_HIT_M,
        "good",
    ),
    "poor": Resolution(
        C.ALP_RES_POOR_SIGMA_E_REL,
        C.ALP_RES_POOR_SIGMA_ANGLE_RAD,
        C.ALP_RES_POOR_SIGMA_ANGLE_RAD,
        C.ALP_RES_SIGMA_HIT_M,
        "poor",
    ),
    "good-ref": Resolution(
        C.ALP_RES_GOOD_REF_SIGMA_E_REL,
        C.ALP_RES_GOOD_SIGMA_ANGLE_RAD,
        C.ALP_RES_GOOD_SIGMA_ANGLE_RAD,
        C.ALP_RES_SIGMA_HIT_M,
        "good-ref",
    ),
    "poor-ref": Resolution(
        C.ALP_RES_POOR_REF_SIGMA_E_REL,
        C.ALP_RES_POOR_SIGMA_ANGLE_RAD,
        C.ALP_RES_POOR_SIGMA_ANGLE_RAD,
        C.ALP_RES_SIGMA_HIT_M,
        "poor-ref",
    ),
}


def get_resolution(spec: str | Resolution) -> Resolution:
    """A preset by name (``good``, ``poor``, ``good-ref``, ``poor-ref``) or a :class:`Resolution` unchanged.

    >>> get_resolution("good-ref").sigma_e_rel
    0.01
    >>> get_resolution("perfect")
    Traceback (most recent call last):
    ...
    hepbump.errors.InputError: unknown resolution preset 'perfect'; known presets: good, good-ref, poor, poor-ref
    """
    if isinstance(spec, Resolution):
        return spec
    try:
        return RESOLUTION_PRESETS[spec]
    except (KeyError, TypeError):
        known = ", ".join(sorted(RESOLUTION_PRESETS))
        raise InputError(f"unknown resolution preset {spec!r}; known presets: {known}") from None


@dataclass(frozen=True)
class PhotonPair:
    """Measured (or truth) quantities of the two photons of each event; 1-D float arrays of equal length.

    Energies ``E1``, ``E2`` in GeV; hits ``x1``, ``y1``, ``x2``, ``y2`` in metres on the calorimeter face;
    polar angles ``theta1``, ``theta2`` to the beam axis and azimuths ``phi1``, ``phi2`` in rad.
    """

    E1: np.ndarray
    E2: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    theta1: np.ndarray
    theta2: np.ndarray
    phi1: np.ndarray
    phi2: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for f in dataclasses.fields(self):
            arr = np.asarray(getattr(self, f.name), dtype=np.float64)
            if arr.ndim != 1:
                raise InputError(f"photon quantity {f.name} must be one-dimensional, got shape {arr.shape}")
            if n is not None and arr.shape[0] != n:
                raise InputError(f"photon quantity {f.name} has {arr.shape[0]} entries, expected {n}")
            n = arr.shape[0]
            object.__setattr__(self, f.name, arr)

    def __len__(self) -> int:
        return int(self.E1.shape[0])

    def select(self, mask: np.ndarray) -> PhotonPair:
        """The events where ``mask`` is true (or the rows given by an index array)."""
        return PhotonPair(**{f.name: getattr(self, f.name)[mask] for f in dataclasses.fields(self)})

    def swapped_where(self, mask: np.ndarray) -> PhotonPair:
        """Exchange photons 1 and 2 in the events where ``mask`` is true."""
        out = {}
        for a, b in (("E1", "E2"), ("x1", "x2"), ("y1", "y2"), ("theta1", "theta2"), ("phi1", "phi2")):
            va, vb = getattr(self, a), getattr(self, b)
            out[a], out[b] = np.where(mask, vb, va), np.where(mask, va, vb)
        return PhotonPair(**out)


def _column(events: Any, name: str) -> np.ndarray:
    return np.asarray(events[name], dtype=np.float64)


def _field_names(events: Any) -> set[str]:
    if hasattr(events, "fields"):
        return set(events.fields)
    if hasattr(events, "keys"):
        return set(events.keys())
    if hasattr(events, "dtype") and events.dtype.names:
        return set(events.dtype.names)
    raise TypeError(f"cannot read fields from {type(events).__name__}: pass an ak.Array, a mapping or a record array")


def truth_photons(events: Any, *, source: str = "events") -> PhotonPair:
    """Truth photon quantities of simulated events (fields :data:`TRUTH_FIELDS`), angles from the momenta.

    ``events`` is an ``ak.Array`` with flat fields, a mapping of column name to array, or a numpy record
    array; ``source`` names it (a file) in the error for missing fields. theta and phi are the polar and
    azimuthal angles of the photon momentum (computed with ``vector``).

    >>> ev = {"g1_E": [10.0], "g1_px": [0.0], "g1_py": [0.1], "g1_pz": [9.9995], "g2_E": [5.0],
    ...       "g2_px": [0.05], "g2_py": [0.0], "g2_pz": [4.99975], "g1_x": [0.93], "g1_y": [0.1],
    ...       "g2_x": [-0.2], "g2_y": [0.3]}
    >>> p = truth_photons(ev)
    >>> round(float(p.phi1[0]), 6), round(float(p.theta2[0]), 6)
    (1.570796, 0.01)
    """
    missing = [f for f in TRUTH_FIELDS if f not in _field_names(events)]
    if missing:
        raise MissingEntryError(
            f"{source}: missing field(s) {', '.join(missing)} (the detector model needs {', '.join(TRUTH_FIELDS)})"
        )
    angles = {}
    for i in (1, 2):
        p = vector.array(
            {
                "px": _column(events, f"g{i}_px"),
                "py": _column(events, f"g{i}_py"),
                "pz": _column(events, f"g{i}_pz"),
                "E": _column(events, f"g{i}_E"),
            }
        )
        angles[f"theta{i}"] = np.asarray(p.theta, dtype=np.float64)
        angles[f"phi{i}"] = np.asarray(p.phi, dtype=np.float64)
    return PhotonPair(
        E1=_column(events, "g1_E"),
        E2=_column(events, "g2_E"),
        x1=_column(events, "g1_x"),
        y1=_column(events, "g1_y"),
        x2=_column(events, "g2_x"),
        y2=_column(events, "g2_y"),
        **angles,
    )


def _wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap angles to (-pi, pi].

    >>> _wrap_phi(np.array([math.pi + 0.1, -math.pi, 3 * math.pi])).round(6).tolist()
    [-3.041593, 3.141593, 3.141593]
    """
    wrapped = np.mod(phi + math.pi, 2.0 * math.pi) - math.pi  # in [-pi, pi)
    return np.where(wrapped <= -math.pi, math.pi, wrapped)


def _normal_deviates(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 10) standard normal deviates from exactly :data:`DRAWS_PER_EVENT` uniforms per event (inverse CDF)."""
    u = rng.random((n, DRAWS_PER_EVENT))[:, :_USED_DRAWS]
    return np.maximum(ndtri(u), _Z_MIN)


def smear(
    truth: PhotonPair,
    resolution: str | Resolution,
    rng: np.random.Generator,
    geometry: str | Geometry = "default",
) -> PhotonPair:
    """Gaussian smearing of both photons with the given resolution, forced into physical ranges.

    - E -> E (1 + sigma_E/E z), floored at the photon energy threshold of the selection
      (``geometry.photon_energy_min_gev``, 1 GeV);
    - x, y -> x + sigma_hit z, clipped into the calorimeter face (``geometry.calorimeter_width_x_m`` x
      ``geometry.calorimeter_height_y_m``, 4 m x 6 m, centred on the beam axis);
    - theta -> theta + sigma_theta z, kept in [theta_min, pi/2] with theta_min = sigma_theta (the angular
      resolution; :data:`hepbump.constants.ALP_THETA_FLOOR_MIN_RAD` when sigma_theta is zero), as in the
      public code behind the paper's tables; this keeps ln theta finite and is needed to reproduce the
      published m_gg of light ALPs (poor-ref, m_a = 0.2 GeV: median 0.30 GeV; clipping at ~0 or reflecting
      negative theta gives 0.33-0.34 GeV, see tests/test_alp_validation.py);
    - phi -> phi + sigma_phi z, wrapped to (-pi, pi].

    Photons are then re-labelled so that photon 1 has the higher *measured* energy (a detector cannot know
    the truth ordering). ``rng`` supplies :data:`DRAWS_PER_EVENT` uniforms per event, in event order.
    """
    res = get_resolution(resolution)
    geo = get_geometry(geometry)
    half_x, half_y = 0.5 * geo.calorimeter_width_x_m, 0.5 * geo.calorimeter_height_y_m
    n = len(truth)
    z = _normal_deviates(rng, n)
    theta_min = max(res.sigma_theta_rad, C.ALP_THETA_FLOOR_MIN_RAD)
    out = {}
    for i, k in ((1, 0), (2, 5)):
        energy = getattr(truth, f"E{i}")
        out[f"E{i}"] = np.maximum(energy * (1.0 + res.sigma_e_rel * z[:, k]), geo.photon_energy_min_gev)
        out[f"x{i}"] = np.clip(getattr(truth, f"x{i}") + res.sigma_hit_m * z[:, k + 1], -half_x, half_x)
        out[f"y{i}"] = np.clip(getattr(truth, f"y{i}") + res.sigma_hit_m * z[:, k + 2], -half_y, half_y)
        theta = getattr(truth, f"theta{i}") + res.sigma_theta_rad * z[:, k + 3]
        out[f"theta{i}"] = np.clip(theta, theta_min, 0.5 * math.pi)
        out[f"phi{i}"] = _wrap_phi(getattr(truth, f"phi{i}") + res.sigma_phi_rad * z[:, k + 4])
    measured = PhotonPair(**out)
    return measured.swapped_where(measured.E2 > measured.E1)


def smearing_rng(seed: int, stream: int | tuple[int, ...] = 0, first_entry: int = 0) -> np.random.Generator:
    """The random stream :func:`smear` draws from, positioned at event ``first_entry`` (:func:`hepbump.rng.event_rng`).

    :func:`smear` consumes exactly :data:`DRAWS_PER_EVENT` uniforms per event, so smearing entries [a, b) with
    ``smearing_rng(seed, s, a)`` gives the same numbers as smearing [0, b) in one go and keeping the tail: the
    result does not depend on how a file is split into chunks, or on the executor.
    """
    return event_rng(seed, stream, first_entry, draws_per_event=DRAWS_PER_EVENT)
