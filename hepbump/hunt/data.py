"""Measured event samples for the hunt: simulate -> smear -> features (and m_gg), seeded and vectorised.

:func:`simulate_sample` runs :func:`hepbump.alp.simulate.simulate` in any mode, smears the photons with a
resolution preset (:func:`hepbump.alp.detector.smear`, random stream :data:`SMEARING_STREAM` of the same seed)
and returns the ten features, the reconstructed diphoton mass and the truth parameters as an
:class:`EventSample`. The same ``(mode, n, seed, resolution)`` always gives the same sample.

>>> s = simulate_sample("signal", 5, "poor-ref", seed=3, mass_gev=1.0, ctau_over_m=1.0)
>>> s.features.shape, len(s), s.record["resolution"]
((5, 10), 5, 'poor-ref')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hepbump.alp.detector import Resolution, get_resolution, smear, smearing_rng, truth_photons
from hepbump.alp.features import diphoton_mass, features
from hepbump.alp.simulate import SimulatedEvents, SimulationConfig, simulate
from hepbump.rng import stream_key

__all__ = ["SMEARING_STREAM", "EventSample", "simulate_sample", "measure", "measure_events"]

log = logging.getLogger(__name__)

#: Random stream of the smearing of hunt samples (independent of the simulation's generator).
SMEARING_STREAM = stream_key("hepbump.hunt.smearing")


@dataclass(frozen=True)
class EventSample:
    """Measured events: ``features`` (n, 10), ``m_gg`` (n,) GeV, truth ``mass_gev`` and ``ctau_over_m`` (n,),
    ``group`` (n,) and ``pair_label`` (n,; -1 outside pairs mode); ``record``: how it was made (JSON-able)."""

    features: np.ndarray
    m_gg: np.ndarray
    mass_gev: np.ndarray
    ctau_over_m: np.ndarray
    group: np.ndarray
    pair_label: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def log10_mass(self) -> np.ndarray:
        return np.log10(self.mass_gev)

    def select(self, index: np.ndarray) -> EventSample:
        """The rows ``index`` (boolean mask or integer indices)."""
        return EventSample(
            self.features[index],
            self.m_gg[index],
            self.mass_gev[index],
            self.ctau_over_m[index],
            self.group[index],
            self.pair_label[index],
            dict(self.record),
        )


def measure(
    columns: Any, resolution: str | Resolution, seed: int, *, stream: int = SMEARING_STREAM, geometry: Any = "default"
) -> tuple[np.ndarray, np.ndarray]:
    """Smear simulated events (columns with the truth photon fields) -> (features (n, 10), m_gg (n,))."""
    measured = smear(truth_photons(columns), resolution, smearing_rng(seed, stream, 0), geometry)
    return features(measured), diphoton_mass(measured)


def simulate_sample(
    mode: str,
    n_events: int,
    resolution: str | Resolution,
    *,
    seed: int,
    mass_gev: float | None = None,
    ctau_over_m: float | None = None,
    sim_config: SimulationConfig | None = None,
) -> EventSample:
    """Simulate ``n_events`` (pairs in ``pairs`` mode) in ``mode`` and measure them with ``resolution``."""
    cfg = sim_config or SimulationConfig()
    ev = simulate(mode, n_events, seed, mass_gev=mass_gev, ctau_over_m=ctau_over_m, config=cfg)
    return measure_events(ev, resolution, seed=seed, n_requested=n_events, geometry=cfg.geometry)


def measure_events(
    events: SimulatedEvents,
    resolution: str | Resolution,
    *,
    seed: int,
    n_requested: int | None = None,
    geometry: Any = "default",
) -> EventSample:
    """Measure already simulated events with ``resolution`` (smearing stream of ``seed``).

    ``measure_events(simulate(mode, n, seed, ...), res, seed=seed)`` is ``simulate_sample(mode, n, res,
    seed=seed, ...)``: one simulation can be measured with several resolutions.
    """
    res = get_resolution(resolution)
    x, m_gg = measure(events.columns, res, seed, geometry=geometry)
    cols = events.columns
    n = len(events)
    info = events.run_info
    pair_label = np.asarray(cols["pair_label"], np.int8) if "pair_label" in cols else np.full(n, -1, np.int8)
    mode = info.get("mode")
    record = {
        "mode": mode,
        "n_requested": int(n_requested) if n_requested is not None else info.get("n_pairs_requested", n),
        "n_events": n,
        "seed": int(seed),
        "resolution": res.name,
        "resolution_parameters": res.to_dict(),
        "mass_gev": info.get("mass_gev"),
        "ctau_over_m": info.get("ctau_over_m"),
        "simulation": events.stats.to_dict(),
    }
    log.info("measured %d %s events (seed %d) with %s", n, mode, seed, res.name)
    return EventSample(
        x,
        m_gg,
        np.asarray(cols["m_a"], np.float64),
        np.asarray(cols["ctau_over_m"], np.float64),
        np.asarray(cols["group"], np.int64),
        pair_label,
        record,
    )
