"""The B-meson source of the ALP simulation: a table of B0 / B+- momenta from Pythia 8, and meson masses.

The table lists every B0, anti-B0, B+ and B- (PDG ids +-511, +-521) produced by Pythia 8 in 400 GeV protons
on protons at rest with ``HardQCD:hardbbbar = on`` (ECO/EPO paper, section 2.1, following ALPINIST). It ships
as package data (``hepbump/data/bmesons_pp400.npz`` plus a JSON card with the Pythia version, settings, seed,
number of events, command and date), so the simulation needs no Pythia; :func:`generate_bmeson_table`
regenerates it where ``pythia8mc`` is installed (``pip install 'hepbump[pythia]'``).

B0 and B+- are made stable in Pythia (``511:mayDecay = off``, ``521:mayDecay = off``): each physical B meson
then appears exactly once in the event record, as a final-state particle (with decays on, B0 - anti-B0 mixing
adds a second record entry for oscillated mesons). Decays of heavier states (B*, B**, ...) into B0/B+- stay on.

Masses come from the ``particle`` package (PDG) and are read here only: :func:`meson_masses_gev`.

>>> table = load_bmeson_table()
>>> bool(set(np.unique(np.abs(table.pdg_id))) == {511, 521})
True
>>> round(meson_masses_gev().b0 - meson_masses_gev().k0, 3)
4.782
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import importlib.resources
import json
import logging
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepbump._version import __version__
from hepbump.constants import (
    MEV_TO_GEV,
    PDG_ID_B0,
    PDG_ID_B_PLUS,
    PDG_ID_K0,
    PDG_ID_K_PLUS,
    SHIP_BEAM_MOMENTUM_GEV,
)
from hepbump.errors import HepbumpError, InputError, InputNotFoundError, MissingEntryError
from hepbump.io.atomic import atomic_path

__all__ = [
    "BMesonTable",
    "MesonMasses",
    "meson_masses_gev",
    "load_bmeson_table",
    "default_table_path",
    "card_path_for",
    "pythia_settings",
    "generate_bmeson_table",
    "write_bmeson_table",
    "PYTHIA_INSTALL_HINT",
]

log = logging.getLogger(__name__)

#: File names of the shipped table and its card inside the ``hepbump.data`` package directory.
TABLE_RESOURCE = "bmesons_pp400.npz"
#: Proton mass used for the fixed-target beam energies, GeV (from ``particle``, PDG id 2212).
_PROTON_PDG_ID = 2212
_COLUMNS = ("pdg_id", "px", "py", "pz", "event")
PYTHIA_INSTALL_HINT = "Pythia 8 is not installed: pip install 'hepbump[pythia]' (pythia8mc==8.317.2)"


class PythiaNotInstalledError(HepbumpError, RuntimeError):
    """Pythia 8 (the optional ``pythia`` extra) is needed and not installed."""


@dataclass(frozen=True)
class MesonMasses:
    """Masses of the mesons of B -> K a, GeV."""

    b0: float
    b_plus: float
    k0: float
    k_plus: float

    def for_b_ids(self, pdg_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(m_B, m_K) per row for B PDG ids: neutral B -> K0, charged B -> K+- (GeV).

        >>> m = meson_masses_gev()
        >>> mb, mk = m.for_b_ids(np.array([511, -521]))
        >>> bool(mb[0] == m.b0 and mk[1] == m.k_plus)
        True
        """
        abs_id = np.abs(np.asarray(pdg_id))
        bad = ~np.isin(abs_id, (PDG_ID_B0, PDG_ID_B_PLUS))
        if bad.any():
            raise InputError(f"not a B0 or B+- PDG id: {np.asarray(pdg_id)[bad][:5].tolist()}")
        neutral = abs_id == PDG_ID_B0
        return np.where(neutral, self.b0, self.b_plus), np.where(neutral, self.k0, self.k_plus)

    @property
    def max_alp_mass_gev(self) -> float:
        """Kinematic limit of B -> K a over both channels, min(m_B0 - m_K0, m_B+ - m_K+), GeV."""
        return min(self.b0 - self.k0, self.b_plus - self.k_plus)


@functools.cache
def meson_masses_gev() -> MesonMasses:
    """PDG masses of B0, B+, K0, K+ from the ``particle`` package, GeV (the one place they are read)."""
    from particle import Particle

    def mass(pdg_id: int) -> float:
        return float(Particle.from_pdgid(pdg_id).mass) * MEV_TO_GEV

    return MesonMasses(mass(PDG_ID_B0), mass(PDG_ID_B_PLUS), mass(PDG_ID_K0), mass(PDG_ID_K_PLUS))


def _distribution_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


@functools.cache
def _proton_mass_gev() -> float:
    from particle import Particle

    return round(float(Particle.from_pdgid(_PROTON_PDG_ID).mass) * MEV_TO_GEV, 12)


@dataclass(frozen=True)
class BMesonTable:
    """B-meson momenta in the lab frame (target proton at rest, beam along +z).

    ``pdg_id`` (int32, +-511 / +-521), ``px``, ``py``, ``pz`` (GeV, float64), ``event`` (int32, Pythia event
    number, so B mesons of one collision can be identified).
    """

    pdg_id: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    event: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.pdg_id)
        for name in _COLUMNS:
            if np.asarray(getattr(self, name)).shape != (n,):
                shape = np.shape(getattr(self, name))
                raise InputError(f"B-meson table column {name!r} has shape {shape}, expected ({n},)")

    def __len__(self) -> int:
        return len(self.pdg_id)

    def masses_gev(self) -> tuple[np.ndarray, np.ndarray]:
        """(m_B, m_K) per row, GeV."""
        return meson_masses_gev().for_b_ids(self.pdg_id)


def default_table_path() -> Path:
    """Path of the shipped table inside the installed package."""
    return Path(str(importlib.resources.files("hepbump").joinpath("data", TABLE_RESOURCE)))


def card_path_for(table_path: str | os.PathLike[str]) -> Path:
    """The card next to a table: ``x.npz`` -> ``x.card.json``."""
    return Path(table_path).with_suffix(".card.json")


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime_ns: int) -> BMesonTable:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npz B-meson table ({exc})") from exc
    missing = [c for c in _COLUMNS if c not in arrays]
    if missing:
        raise MissingEntryError(f"{path}: B-meson table lacks the field(s) {missing} (has {sorted(arrays)})")
    try:
        table = BMesonTable(
            pdg_id=arrays["pdg_id"].astype(np.int32),
            px=arrays["px"].astype(np.float64),
            py=arrays["py"].astype(np.float64),
            pz=arrays["pz"].astype(np.float64),
            event=arrays["event"].astype(np.int32),
        )
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc
    if len(table) == 0:
        raise InputError(f"{path}: the B-meson table is empty")
    bad = ~np.isin(np.abs(table.pdg_id), (PDG_ID_B0, PDG_ID_B_PLUS))
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(f"{path}: field 'pdg_id' row {row} is {int(table.pdg_id[row])}, not +-511/+-521")
    for name in ("px", "py", "pz"):
        col = getattr(table, name)
        if not np.all(np.isfinite(col)):
            raise InputError(f"{path}: field {name!r} row {int(np.argmax(~np.isfinite(col)))} is not finite")
    for name in _COLUMNS:  # the cached table is shared: make it immutable
        getattr(table, name).flags.writeable = False
    return table


def load_bmeson_table(path: str | os.PathLike[str] | None = None) -> BMesonTable:
    """Load a B-meson table (default: the package data file); cached per path and modification time."""
    p = Path(path) if path is not None else default_table_path()
    if not p.is_file():
        hint = " (reinstall hepbump or regenerate it: hepbump alp bmesons)" if path is None else ""
        raise InputNotFoundError(f"B-meson table {p} not found{hint}")
    return _load_cached(str(p.resolve()), p.stat().st_mtime_ns)


def pythia_settings(seed: int, beam_momentum_gev: float = SHIP_BEAM_MOMENTUM_GEV) -> list[str]:
    """Pythia 8 settings: ``beam_momentum_gev`` protons on protons at rest, hard b-bbar production.

    Beam A has energy sqrt(p^2 + m_p^2), beam B is at rest (energy m_p), ``Beams:frameType = 2``.

    >>> pythia_settings(7)[3]
    'Beams:eA = 400.0011004416285'
    """
    if not 0 <= seed <= 900_000_000:
        raise InputError(f"Pythia seed must be in [0, 900000000], got {seed}")
    m_p = _proton_mass_gev()
    return [
        "Beams:frameType = 2",
        "Beams:idA = 2212",
        "Beams:idB = 2212",
        f"Beams:eA = {float(np.hypot(beam_momentum_gev, m_p))!r}",
        f"Beams:eB = {m_p!r}",
        "HardQCD:hardbbbar = on",
        "PhaseSpace:pTHatMin = 0.3",
        f"{PDG_ID_B0}:mayDecay = off",
        f"{PDG_ID_B_PLUS}:mayDecay = off",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Next:numberCount = 0",
        "Next:numberShowEvent = 0",
        "Next:numberShowInfo = 0",
        "Next:numberShowProcess = 0",
    ]


def generate_bmeson_table(
    n_events: int, seed: int, *, command: str = "", show_progress: bool = False
) -> tuple[BMesonTable, dict[str, Any]]:
    """Run Pythia 8 for ``n_events`` collisions and collect every B0 / B+- (one Python call per event).

    Returns the table and its card (a JSON-serialisable dict). Raises :class:`RuntimeError` with installation
    advice when ``pythia8mc`` is missing.
    """
    if n_events <= 0:
        raise InputError(f"number of Pythia events must be positive, got {n_events}")
    try:
        import pythia8mc
    except ImportError as exc:
        raise PythiaNotInstalledError(PYTHIA_INSTALL_HINT) from exc
    from tqdm.auto import tqdm

    settings = pythia_settings(seed)
    pythia = pythia8mc.Pythia("", False)
    for line in settings:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected the setting {line!r}")
    if not pythia.init():
        raise RuntimeError("Pythia initialisation failed")
    wanted = (PDG_ID_B0, PDG_ID_B_PLUS)
    rows: list[tuple[int, float, float, float, int]] = []
    n_failed = 0
    for i_event in tqdm(range(n_events), desc="Pythia events", disable=None if show_progress else True, leave=False):
        if not pythia.next():
            n_failed += 1
            continue
        event = pythia.event
        for j in range(event.size()):
            particle = event[j]
            if abs(particle.id()) in wanted and particle.isFinal():
                rows.append((particle.id(), particle.px(), particle.py(), particle.pz(), i_event))
    info = pythia.infoPython()
    arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
    table = BMesonTable(
        pdg_id=arr[:, 0].astype(np.int32),
        px=arr[:, 1],
        py=arr[:, 2],
        pz=arr[:, 3],
        event=arr[:, 4].astype(np.int32),
    )
    ids, counts = np.unique(table.pdg_id, return_counts=True)
    card = {
        "description": "B0, anti-B0, B+ and B- (PDG +-511, +-521) from Pythia 8: 400 GeV protons on protons at rest, "
        "hard b-bbar production; one row per meson",
        "generator": "Pythia 8 (pythia8mc)",
        "pythia_version": f"{pythia.settings.parm('Pythia:versionNumber'):.3f}",
        "pythia8mc_version": _distribution_version("pythia8mc"),
        "settings": settings,
        "seed": seed,
        "n_events": n_events,
        "n_events_failed": n_failed,
        "sigma_gen_mb": float(info.sigmaGen()),
        "n_b_mesons": {str(int(i)): int(c) for i, c in zip(ids, counts)},
        "columns": {
            "pdg_id": "PDG id (int32)",
            "px": "GeV, lab frame",
            "py": "GeV, lab frame",
            "pz": "GeV, lab frame, beam along +z",
            "event": "Pythia event number (int32)",
        },
        "stored_as": "float32 momenta in a compressed .npz",
        "command": command or f"hepbump alp bmesons --events {n_events} --seed {seed}",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hepbump_version": __version__,
        "python": platform.python_version(),
    }
    log.info("Pythia: %d events, %d B mesons, %d failed", n_events, len(table), n_failed)
    return table, card


def write_bmeson_table(table: BMesonTable, card: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the table (compressed .npz, float32 momenta) and its card (``.card.json``), atomically.

    The card gets the SHA-256 of the written table. Returns the card path.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise InputError(f"B-meson table file must end in .npz, got {path}")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                pdg_id=table.pdg_id.astype(np.int32),
                px=table.px.astype(np.float32),
                py=table.py.astype(np.float32),
                pz=table.pz.astype(np.float32),
                event=table.event.astype(np.int32),
            )
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    card = {**card, "table_file": path.name, "table_sha256": digest}
    card_path = card_path_for(path)
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    return card_path
