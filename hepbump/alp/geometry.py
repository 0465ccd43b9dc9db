"""SHiP geometry and event selection for ALP -> gamma gamma: one :class:`Geometry` dataclass with named presets.

Coordinates: target at the origin, beam along +z, metres. The decay volume spans z in [z_front, z_back]; its
half-width in x and half-height in y vary linearly in z between the front and back faces (a truncated
pyramid). Photons are recorded where they cross the calorimeter plane z = ``calorimeter_z_m``.

Presets (numbers in :mod:`hepbump.constants`):

* ``default``: the paper's truncated pyramid, 1.2 m x 3.5 m at z = 32 m to 3.9 m x 6 m at z = 82 m;
* ``x-tapered``: only x tapered (1.2 m -> 3.9 m), |y| <= 3 m at every z, the configuration behind the
  published numbers.

Both share the 4 m x 6 m calorimeter at z = 93 m, E_gamma >= 1 GeV and hit separation >= 0.1 m.

>>> g = get_geometry("default")
>>> float(g.half_width_x_m(57.0)), float(g.half_height_y_m(57.0))
(1.275, 2.375)
>>> bool(g.in_decay_volume(1.27, 0.0, 57.0)), bool(g.in_decay_volume(1.28, 0.0, 57.0))
(True, False)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hepbump.constants import (
    ALP_PHOTON_ENERGY_MIN_GEV,
    ALP_PHOTON_MIN_SEPARATION_M,
    SHIP_CALORIMETER_HEIGHT_Y_M,
    SHIP_CALORIMETER_WIDTH_X_M,
    SHIP_CALORIMETER_Z_M,
    SHIP_DECAY_VOLUME_BACK_HEIGHT_Y_M,
    SHIP_DECAY_VOLUME_BACK_WIDTH_X_M,
    SHIP_DECAY_VOLUME_FRONT_HEIGHT_Y_M,
    SHIP_DECAY_VOLUME_FRONT_WIDTH_X_M,
    SHIP_DECAY_VOLUME_Z_BACK_M,
    SHIP_DECAY_VOLUME_Z_FRONT_M,
    SHIP_XTAPERED_HEIGHT_Y_M,
)
from hepbump.errors import InputError

__all__ = ["Geometry", "GEOMETRIES", "get_geometry"]


@dataclass(frozen=True)
class Geometry:
    """Decay volume, calorimeter and photon selection (metres, GeV); boundaries count as inside.

    Widths and heights are full sizes (the volume is centred on the beam axis).
    """

    name: str = "custom"
    z_front_m: float = SHIP_DECAY_VOLUME_Z_FRONT_M
    z_back_m: float = SHIP_DECAY_VOLUME_Z_BACK_M
    front_width_x_m: float = SHIP_DECAY_VOLUME_FRONT_WIDTH_X_M
    front_height_y_m: float = SHIP_DECAY_VOLUME_FRONT_HEIGHT_Y_M
    back_width_x_m: float = SHIP_DECAY_VOLUME_BACK_WIDTH_X_M
    back_height_y_m: float = SHIP_DECAY_VOLUME_BACK_HEIGHT_Y_M
    calorimeter_z_m: float = SHIP_CALORIMETER_Z_M
    calorimeter_width_x_m: float = SHIP_CALORIMETER_WIDTH_X_M
    calorimeter_height_y_m: float = SHIP_CALORIMETER_HEIGHT_Y_M
    photon_energy_min_gev: float = ALP_PHOTON_ENERGY_MIN_GEV
    min_hit_separation_m: float = ALP_PHOTON_MIN_SEPARATION_M

    def __post_init__(self) -> None:
        if not 0.0 < self.z_front_m < self.z_back_m <= self.calorimeter_z_m:
            raise InputError(
                f"geometry {self.name!r}: need 0 < z_front_m < z_back_m <= calorimeter_z_m, got "
                f"{self.z_front_m}, {self.z_back_m}, {self.calorimeter_z_m}"
            )
        for field in (
            "front_width_x_m",
            "front_height_y_m",
            "back_width_x_m",
            "back_height_y_m",
            "calorimeter_width_x_m",
            "calorimeter_height_y_m",
        ):
            if not getattr(self, field) > 0.0:
                raise InputError(f"geometry {self.name!r}: {field} must be positive, got {getattr(self, field)}")
        for field in ("photon_energy_min_gev", "min_hit_separation_m"):
            if not getattr(self, field) >= 0.0:
                raise InputError(f"geometry {self.name!r}: {field} must be >= 0, got {getattr(self, field)}")

    def _interpolate(self, front: float, back: float, z: np.ndarray | float) -> np.ndarray:
        t = (np.asarray(z, dtype=np.float64) - self.z_front_m) / (self.z_back_m - self.z_front_m)
        return 0.5 * (front + (back - front) * t)

    def half_width_x_m(self, z: np.ndarray | float) -> np.ndarray:
        """Half-width of the decay volume in x at ``z`` (metres), linear between the faces."""
        return self._interpolate(self.front_width_x_m, self.back_width_x_m, z)

    def half_height_y_m(self, z: np.ndarray | float) -> np.ndarray:
        """Half-height of the decay volume in y at ``z`` (metres), linear between the faces."""
        return self._interpolate(self.front_height_y_m, self.back_height_y_m, z)

    def in_decay_volume(self, x: np.ndarray | float, y: np.ndarray | float, z: np.ndarray | float) -> np.ndarray:
        """True where the point (x, y, z) (metres) lies inside the decay volume, faces included."""
        z = np.asarray(z, dtype=np.float64)
        return (
            (z >= self.z_front_m)
            & (z <= self.z_back_m)
            & (np.abs(x) <= self.half_width_x_m(z))
            & (np.abs(y) <= self.half_height_y_m(z))
        )

    def on_calorimeter(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """True where a hit (x, y) on the calorimeter plane (metres) lies on the calorimeter, edges included."""
        return (np.abs(x) <= 0.5 * self.calorimeter_width_x_m) & (np.abs(y) <= 0.5 * self.calorimeter_height_y_m)

    def photons_accepted(
        self,
        e1: np.ndarray,
        e2: np.ndarray,
        pz1: np.ndarray,
        pz2: np.ndarray,
        hit1: tuple[np.ndarray, np.ndarray],
        hit2: tuple[np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """Photon part of the selection: both p_z > 0, both E >= E_min (GeV), both hits (x, y) on the
        calorimeter and the hits at least ``min_hit_separation_m`` apart (metres).

        >>> g = get_geometry("default")
        >>> g.photons_accepted(np.array([1.0, 0.999]), 5.0, 1.0, 1.0, (0.0, 0.0), (0.1, 0.0)).tolist()
        [True, False]
        """
        (x1, y1), (x2, y2) = hit1, hit2
        ok = (np.asarray(pz1) > 0.0) & (np.asarray(pz2) > 0.0)
        ok &= (np.asarray(e1) >= self.photon_energy_min_gev) & (np.asarray(e2) >= self.photon_energy_min_gev)
        ok &= self.on_calorimeter(x1, y1) & self.on_calorimeter(x2, y2)
        return ok & (np.hypot(np.subtract(x1, x2), np.subtract(y1, y2)) >= self.min_hit_separation_m)

    def path_interval_m(self, p_abs: np.ndarray, pz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Path lengths from the origin to the planes z = z_front and z = z_back along the momentum (metres).

        A straight line from the target along direction p reaches z after l = z |p| / p_z (p_z > 0).

        >>> lo, hi = get_geometry("default").path_interval_m(np.array([5.0]), np.array([4.0]))
        >>> float(lo[0]), float(hi[0])
        (40.0, 102.5)
        """
        scale = np.asarray(p_abs) / np.asarray(pz)
        return self.z_front_m * scale, self.z_back_m * scale

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-serialisable dict (stored with simulated events)."""
        return asdict(self)


#: Named presets; ``get_geometry`` looks names up here.
GEOMETRIES: dict[str, Geometry] = {
    "default": Geometry(name="default"),
    "x-tapered": Geometry(
        name="x-tapered",
        front_height_y_m=SHIP_XTAPERED_HEIGHT_Y_M,
        back_height_y_m=SHIP_XTAPERED_HEIGHT_Y_M,
    ),
}


def get_geometry(geometry: str | Geometry) -> Geometry:
    """A preset by name (``default``, ``x-tapered``), or a :class:`Geometry` passed through.

    >>> get_geometry("round")
    Traceback (most recent call last):
    ...
    hepbump.errors.InputError: unknown geometry 'round'; choose one of: default, x-tapered
    """
    if isinstance(geometry, Geometry):
        return geometry
    try:
        return GEOMETRIES[geometry]
    except (KeyError, TypeError):
        raise InputError(f"unknown geometry {geometry!r}; choose one of: {', '.join(GEOMETRIES)}") from None
