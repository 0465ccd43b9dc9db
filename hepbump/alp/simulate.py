"""Unweighted ALP events at SHiP: B -> K a from the Pythia B-meson table, a -> gamma gamma, acceptance.

Each candidate (vectorised over whole chunks, no per-event Python loop):

1. draws a B meson from the table; B -> K a isotropically in the B rest frame with
   |p*|^2 = lambda(m_B, m_K, m_a) / (4 m_B^2) (B0 -> K0, B+- -> K+-), boosted to the lab with ``vector``;
2. needs p_z(a) > 0; the ALP flies straight from the target (origin); its lab decay length is
   lambda = (c tau / m) |p_a|; the path lengths to the decay-volume planes are l_min = z_front |p| / p_z and
   l_max = z_back |p| / p_z. The candidate is kept with probability w = exp(-l_min/lambda) - exp(-l_max/lambda)
   (unweighting: accepted events carry unit weight) and decays at l drawn from the exponential truncated
   to [l_min, l_max] (inverse CDF);
3. needs the vertex inside the decay volume; a -> gamma gamma isotropically (E = m_a/2 each in the ALP
   frame), boosted with ``vector``; photons ordered E1 >= E2 and propagated to the calorimeter plane;
4. accepted if both photons have p_z > 0, E >= 1 GeV, hit the calorimeter, and the hits are >= 0.1 m apart.

Events are generated per *parameter point* until the point has its requested number of accepted events, so
accepted events are distributed as p(x | theta, accepted) and, in ``background``/``prior``/``pairs`` mode,
the parameters of the accepted events follow the prior exactly (the scheme of the paper's public code).

Cap (never loops forever): a point stops after ``max_candidates_per_event`` x (events requested for it)
candidates, and the whole call after ``max_candidates`` candidates. A point that stops short gets an
:class:`AcceptanceCapWarning` with its measured acceptance; its events (signal) or the parameter points
(background/prior/pairs: these points are dropped) are missing from the output, which is reported.

Modes: ``signal`` (fixed m_a, c tau/m; group 0), ``background`` (parameters per event from
``config.background``), ``prior`` (parameters per event from ``config.prior``), ``pairs`` (pairs of events
sharing one group id; ``pair_label`` 1 = same parameters, 0 = independent parameters, both from the prior).
Reproducible: the same seed and configuration give identical events.

>>> ev = simulate("signal", 20, seed=1, mass_gev=1.0, ctau_over_m=1.0)
>>> len(ev), bool(np.all(ev["g1_E"] >= ev["g2_E"])), ev.run_info["mode"]
(20, True, 'signal')
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from hepbump._version import __version__
from hepbump.alp.bmesons import load_bmeson_table, meson_masses_gev
from hepbump.alp.geometry import GEOMETRIES, Geometry, get_geometry
from hepbump.alp.io import EVENT_FIELDS, INT_FIELDS, PAIR_LABEL_FIELD
from hepbump.alp.kinematics import (
    decay_probability,
    lab_decay_length_m,
    propagate_to_plane,
    truncated_exponential_inverse_cdf,
)
from hepbump.alp.priors import ALPPrior
from hepbump.constants import ALP_SIM_MAX_CANDIDATES, ALP_SIM_MAX_CANDIDATES_PER_EVENT
from hepbump.errors import InputError
from hepbump.kinematics import boost_to_lab, four_vectors, two_body_rest_frame

__all__ = [
    "MODES",
    "SimulationConfig",
    "SimulationStats",
    "SimulatedEvents",
    "AcceptanceCapWarning",
    "validate_parameters",
    "simulate",
    "simulate_signal",
    "simulate_background",
    "simulate_prior",
    "simulate_pairs",
]

log = logging.getLogger(__name__)

MODES = ("signal", "background", "prior", "pairs")
#: Candidates tried per requested event in the first round for a point without an acceptance estimate.
_FIRST_ROUND_PER_EVENT = 4
#: Interval of the INFO progress lines of a simulation when stderr is not a terminal (seconds).
PROGRESS_LOG_SECONDS = 5.0
#: Over-allocation factor of later rounds relative to the measured acceptance.
_SAFETY = 1.2


class AcceptanceCapWarning(RuntimeWarning):
    """A parameter point hit the candidate cap before reaching its requested number of accepted events."""


@dataclass(frozen=True)
class SimulationConfig:
    """Settings of the simulation (all have defaults).

    ``geometry``: a :class:`Geometry` or preset name; ``prior``: parameters of ``prior`` and ``pairs`` mode;
    ``background``: parameters of ``background`` mode; ``chunk_size``: candidates per vectorised step (memory
    ~ 1 kB per candidate); ``max_candidates_per_event``: cap per parameter point, times its requested events
    (acceptances below ~1/cap are not reached); ``max_candidates``: cap for the whole call;
    ``pairs_same_fraction``: fraction of same-parameter pairs; ``bmeson_table``: path of a B-meson table
    (default: the package data); ``show_progress``: a tqdm bar over accepted events (without it, and when
    stderr is not a terminal, progress is logged at INFO every :data:`PROGRESS_LOG_SECONDS`);
    ``give_up_seconds``: after the first chunk the acceptance and the time per candidate are measured; a run
    projected to stop at a cap (so to return fewer events than requested) *and* to take longer than this is
    refused at once with an :class:`~hepbump.errors.InputError` giving the estimate (``None``: never refuse;
    a projected run over this time that does complete is announced with a warning).
    """

    geometry: Geometry | str = "default"
    prior: ALPPrior = field(default_factory=ALPPrior)
    background: ALPPrior = field(default_factory=ALPPrior)
    chunk_size: int = 1 << 18
    max_candidates_per_event: int = ALP_SIM_MAX_CANDIDATES_PER_EVENT
    max_candidates: int = ALP_SIM_MAX_CANDIDATES
    pairs_same_fraction: float = 0.5
    bmeson_table: str | None = None
    show_progress: bool = False
    give_up_seconds: float | None = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "geometry", get_geometry(self.geometry))
        if self.give_up_seconds is not None and not self.give_up_seconds > 0:
            raise InputError(f"SimulationConfig.give_up_seconds must be > 0 or None, got {self.give_up_seconds}")
        for name in ("chunk_size", "max_candidates_per_event", "max_candidates"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"SimulationConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.pairs_same_fraction <= 1.0:
            raise InputError(f"SimulationConfig.pairs_same_fraction must be in [0, 1], got {self.pairs_same_fraction}")
        limit = meson_masses_gev().max_alp_mass_gev
        for name in ("prior", "background"):
            high = getattr(self, name).mass_gev.high
            if high >= limit:
                raise InputError(
                    f"SimulationConfig.{name}: mass range reaches {high} GeV, beyond the kinematic limit "
                    f"m_B - m_K = {limit:.5f} GeV"
                )


@dataclass(frozen=True)
class SimulationStats:
    """Bookkeeping of one call: events requested and accepted, candidates tried, points stopped by the cap."""

    n_requested: int
    n_accepted: int
    n_candidates: int
    n_candidates_accepted: int
    n_points: int
    n_points_capped: int

    @property
    def acceptance(self) -> float:
        """Accepted / tried candidates (B -> K a decays), including the decay probability; 0 if none tried."""
        return self.n_candidates_accepted / self.n_candidates if self.n_candidates else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "acceptance": self.acceptance}


@dataclass
class SimulatedEvents:
    """Accepted events as flat numpy columns (:data:`EVENT_FIELDS`), with run information and statistics."""

    columns: dict[str, np.ndarray]
    run_info: dict[str, Any]
    stats: SimulationStats

    def __len__(self) -> int:
        return len(self.columns["group"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def fields(self) -> list[str]:
        return list(self.columns)

    def to_awkward(self) -> ak.Array:
        """One record per event with the flat fields of the contract."""
        return ak.Array(dict(self.columns))


def validate_parameters(mass_gev: float, ctau_over_m: float) -> None:
    """Raise :class:`ValueError` unless 0 < m_a < m_B - m_K and 0 < c tau / m < inf.

    >>> validate_parameters(5.0, 1.0)
    Traceback (most recent call last):
    ...
    hepbump.errors.InputError: ALP mass 5 GeV outside (0, 4.78211) GeV: B -> K a needs m_a < m_B - m_K
    """
    limit = meson_masses_gev().max_alp_mass_gev
    if not (np.isfinite(mass_gev) and 0.0 < mass_gev < limit):
        raise InputError(f"ALP mass {mass_gev:g} GeV outside (0, {limit:.5f}) GeV: B -> K a needs m_a < m_B - m_K")
    if not (np.isfinite(ctau_over_m) and ctau_over_m > 0.0):
        raise InputError(f"c tau / m must be positive and finite (m/GeV), got {ctau_over_m:g}")


@dataclass(frozen=True)
class _Source:
    """The B-meson table with per-row masses and energies (GeV)."""

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    energy: np.ndarray
    m_b: np.ndarray
    m_k: np.ndarray

    @classmethod
    def load(cls, path: str | None) -> _Source:
        table = load_bmeson_table(path)
        m_b, m_k = table.masses_gev()
        energy = np.sqrt(table.px**2 + table.py**2 + table.pz**2 + m_b**2)
        return cls(table.px, table.py, table.pz, energy, m_b, m_k)


def _candidates(
    point: np.ndarray, m_a_pt: np.ndarray, ctau_pt: np.ndarray, src: _Source, geo: Geometry, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Simulate one chunk of candidates (``point`` = parameter-point index per candidate); return the accepted."""
    b = rng.integers(0, len(src.px), len(point))
    m_a = m_a_pt[point]
    alp_rest, _ = two_body_rest_frame(src.m_b[b], m_a, src.m_k[b], rng)  # daughter 1 = ALP, 2 = kaon
    alp = boost_to_lab(alp_rest, four_vectors(src.px[b], src.py[b], src.pz[b], src.energy[b]))
    apx, apy, apz, a_e = alp.px, alp.py, alp.pz, alp.E

    fwd = np.flatnonzero(apz > 0.0)
    point, m_a, apx, apy, apz, a_e = point[fwd], m_a[fwd], apx[fwd], apy[fwd], apz[fwd], a_e[fwd]
    p_abs = np.sqrt(apx * apx + apy * apy + apz * apz)
    l_min, l_max = geo.path_interval_m(p_abs, apz)
    lam = lab_decay_length_m(ctau_pt[point], p_abs)
    keep = np.flatnonzero(rng.random(len(point)) < decay_probability(lam, l_min, l_max))
    point, m_a, apx, apy, apz, a_e, p_abs = (v[keep] for v in (point, m_a, apx, apy, apz, a_e, p_abs))
    length = truncated_exponential_inverse_cdf(rng.random(len(point)), lam[keep], l_min[keep], l_max[keep])
    scale = length / p_abs
    vx, vy, vz = apx * scale, apy * scale, apz * scale
    inside = np.flatnonzero(geo.in_decay_volume(vx, vy, vz))
    point, m_a, apx, apy, apz, a_e, vx, vy, vz = (v[inside] for v in (point, m_a, apx, apy, apz, a_e, vx, vy, vz))

    alp = four_vectors(apx, apy, apz, a_e)
    zeros = np.zeros(len(point))
    g_rest1, g_rest2 = two_body_rest_frame(m_a, zeros, zeros, rng)
    g1, g2 = boost_to_lab(g_rest1, alp), boost_to_lab(g_rest2, alp)
    g1 = {"E": g1.E, "px": g1.px, "py": g1.py, "pz": g1.pz}
    g2 = {"E": g2.E, "px": g2.px, "py": g2.py, "pz": g2.pz}
    swap = g2["E"] > g1["E"]
    for k in g1:
        g1[k], g2[k] = np.where(swap, g2[k], g1[k]), np.where(swap, g1[k], g2[k])
    with np.errstate(divide="ignore", invalid="ignore"):  # p_z <= 0 photons are rejected below
        x1, y1 = propagate_to_plane(vx, vy, vz, g1["px"], g1["py"], g1["pz"], geo.calorimeter_z_m)
        x2, y2 = propagate_to_plane(vx, vy, vz, g2["px"], g2["py"], g2["pz"], geo.calorimeter_z_m)
        ok = geo.photons_accepted(g1["E"], g2["E"], g1["pz"], g2["pz"], (x1, y1), (x2, y2))
    sel = np.flatnonzero(ok)
    return {
        "point": point[sel],
        **{f"g1_{k}": v[sel] for k, v in g1.items()},
        **{f"g2_{k}": v[sel] for k, v in g2.items()},
        "g1_x": x1[sel], "g1_y": y1[sel], "g2_x": x2[sel], "g2_y": y2[sel],
        "vtx_x": vx[sel], "vtx_y": vy[sel], "vtx_z": vz[sel],
        "a_px": apx[sel], "a_py": apy[sel], "a_pz": apz[sel], "a_E": a_e[sel],
    }  # fmt: skip


def _allocation(need: np.ndarray, got: np.ndarray, tried: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Candidates per point for the next round: from the measured acceptance, or doubling while none accepted."""
    remaining = np.maximum(need - got, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        from_rate = np.ceil(_SAFETY * remaining * tried / np.maximum(got, 1)) + 1
    k = np.where(tried == 0, _FIRST_ROUND_PER_EVENT * remaining, np.where(got > 0, from_rate, tried))
    k = np.minimum(k, cap - tried)
    k[(remaining == 0) | (tried >= cap)] = 0
    return k.astype(np.int64)


def _run_points(
    m_a: np.ndarray, ctau: np.ndarray, need: np.ndarray, rng: np.random.Generator, config: SimulationConfig, what: str
) -> tuple[dict[str, np.ndarray], np.ndarray, SimulationStats]:
    """Simulate until every point has ``need`` accepted events or hits a cap.

    Returns the accepted events (at most ``need`` per point, ordered by point, with a ``point`` column), a
    boolean mask of completed points, and the statistics.
    """
    from tqdm.auto import tqdm

    src = _Source.load(config.bmeson_table)
    geo = config.geometry
    n_pts = len(m_a)
    need = need.astype(np.int64)
    tried = np.zeros(n_pts, np.int64)
    got = np.zeros(n_pts, np.int64)
    cap = need * int(config.max_candidates_per_event)
    pieces: list[dict[str, np.ndarray]] = []
    total = 0
    bar = tqdm(total=int(need.sum()), desc=f"simulating {what}", unit="ev", leave=False,
               disable=None if config.show_progress else True)  # fmt: skip
    log_progress = not (config.show_progress and sys.stderr.isatty())
    t0 = last_log = last_check = time.monotonic()
    estimated = False
    done_before = 0
    while total < config.max_candidates:
        k = _allocation(need, got, tried, cap)
        if not k.any():
            break
        # candidate j of this round belongs to point searchsorted(bounds, j, "right"); built chunk by chunk
        bounds = np.cumsum(k)
        n_round = int(min(bounds[-1], config.max_candidates - total))
        active = np.flatnonzero(k)
        for start in range(0, n_round, config.chunk_size):
            stop = min(start + config.chunk_size, n_round)
            chunk = np.searchsorted(bounds, np.arange(start, stop), side="right")
            out = _candidates(chunk, m_a, ctau, src, geo, rng)
            pieces.append(out)
            tried += np.bincount(chunk, minlength=n_pts)
            got += np.bincount(out["point"], minlength=n_pts)
            total += len(chunk)
            done = int(np.minimum(got, need).sum())
            bar.update(done - done_before)
            done_before = done
            now = time.monotonic()
            if not estimated or now - last_check >= PROGRESS_LOG_SECONDS:
                _estimate(what, need, got, tried, cap, total, now - t0, config, announce=not estimated)
                estimated, last_check = True, now
            if log_progress and now - last_log >= PROGRESS_LOG_SECONDS:
                last_log = now
                log.info(
                    "simulating %s: %d/%d events, %d candidates (acceptance %.3g), %.0f s",
                    what,
                    done,
                    int(need.sum()),
                    total,
                    got.sum() / max(total, 1),
                    now - t0,
                )
            if np.all(got[active] >= need[active]):
                break
        log.debug("%s: round done, %d candidates, %d/%d events", what, total, done_before, int(need.sum()))
    bar.close()

    columns = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]} if pieces else None
    if columns is None:
        columns = _candidates(np.zeros(0, np.int64), m_a, ctau, src, geo, rng)
    order = np.argsort(columns["point"], kind="stable")
    pts = columns["point"][order]
    first = np.searchsorted(pts, pts, side="left")
    rank = np.arange(len(pts)) - first
    order = order[rank < need[pts]]
    columns = {k: v[order] for k, v in columns.items()}
    complete = got >= need
    stats = SimulationStats(
        n_requested=int(need.sum()),
        n_accepted=len(order),
        n_candidates=int(total),
        n_candidates_accepted=int(got.sum()),
        n_points=n_pts,
        n_points_capped=int((~complete).sum()),
    )
    if stats.n_points_capped:
        _warn_capped(what, m_a, ctau, need, got, tried, complete, stats, config)
    return columns, complete, stats


def _estimate(
    what: str,
    need: np.ndarray,
    got: np.ndarray,
    tried: np.ndarray,
    cap: np.ndarray,
    total: int,
    elapsed: float,
    config: SimulationConfig,
    announce: bool = True,
) -> None:
    """After the first chunk, and again every few seconds: project the run from the measured acceptance and
    speed; refuse a hopeless one (projected to stop at a cap after more than ``config.give_up_seconds``).

    Per point, the candidates still needed are (events missing) / acceptance, bounded by the point's cap
    (an acceptance of 0 so far is taken as below 1 / candidates tried); the run is the sum, bounded by
    ``max_candidates``.
    """
    per_candidate = elapsed / max(total, 1)
    missing = np.maximum(need - got, 0)
    tried_f = np.maximum(tried, 1).astype(float)
    rate = np.where(got > 0, got / tried_f, 0.5 / tried_f)  # zero so far: optimistic half an event per tries
    wanted = np.where(missing > 0, missing / rate, 0.0)
    room = np.maximum(cap - tried, 0)
    projected = float(min(np.minimum(wanted, room).sum(), config.max_candidates - total))
    short = bool(np.any(wanted > room)) or float(wanted.sum()) > config.max_candidates - total
    seconds = projected * per_candidate
    acceptance = got.sum() / max(total, 1)
    if short and config.give_up_seconds is not None and seconds > config.give_up_seconds:
        raise InputError(
            f"simulating {what}: acceptance {acceptance:.3g} on the first {total} candidates; the "
            f"{int(need.sum())} requested events would need ~{float(wanted.sum()):.3g} candidates, beyond the cap, "
            f"and the run would stop at the cap after ~{seconds / 60:.1f} min with too few events; request fewer "
            "events, raise max_candidates/max_candidates_per_event, or choose parameters with a higher acceptance"
        )
    if not announce:
        return
    if seconds > (config.give_up_seconds or 60.0):
        log.warning(
            "simulating %s: acceptance %.3g; about %.3g more candidates, estimated %.1f min",
            what,
            acceptance,
            projected,
            seconds / 60,
        )
    else:
        log.debug(
            "simulating %s: acceptance %.3g; about %.3g more candidates, estimated %.1f s",
            what,
            acceptance,
            projected,
            seconds,
        )


def _warn_capped(what, m_a, ctau, need, got, tried, complete, stats: SimulationStats, config) -> None:
    short = ~complete
    acc = got[short] / np.maximum(tried[short], 1)
    if stats.n_candidates >= config.max_candidates:
        budget = f"the total cap max_candidates={config.max_candidates}"
    else:
        budget = f"the cap of max_candidates_per_event={config.max_candidates_per_event} candidates per requested event"
    if len(m_a) == 1:
        msg = (
            f"{what} m_a={m_a[0]:g} GeV, c tau/m={ctau[0]:g} m/GeV: acceptance {acc[0]:.3g} "
            f"({got[0]} accepted of {tried[0]} candidates); stopped at {budget}; "
            f"returning {min(got[0], need[0])} of {need[0]} requested events"
        )
    else:
        msg = (
            f"{what}: {int(short.sum())} of {len(m_a)} parameter points stopped at {budget} before reaching "
            f"their events (measured acceptance <= {acc.max():.3g}; m_a in [{m_a[short].min():.3g}, "
            f"{m_a[short].max():.3g}] GeV, c tau/m in [{ctau[short].min():.3g}, {ctau[short].max():.3g}] m/GeV); "
            f"these points are dropped, so regions of acceptance below ~1/cap are under-represented"
        )
    warnings.warn(msg, AcceptanceCapWarning, stacklevel=4)


def _finish(
    columns: dict[str, np.ndarray],
    m_a: np.ndarray,
    ctau: np.ndarray,
    group_of_point: np.ndarray,
    stats: SimulationStats,
    run_info: dict[str, Any],
    extra: dict[str, np.ndarray] | None = None,
) -> SimulatedEvents:
    pt = columns.pop("point")
    out: dict[str, np.ndarray] = {"m_a": m_a[pt], "ctau_over_m": ctau[pt], "group": group_of_point[pt]}
    out.update({k: columns[k] for k in EVENT_FIELDS if k not in out})
    for k, v in (extra or {}).items():
        out[k] = v[pt]
    for k, v in out.items():
        out[k] = np.ascontiguousarray(v, dtype=INT_FIELDS.get(k, np.float64))
    run_info = {**run_info, "stats": stats.to_dict()}
    log.info("%s: %d events, acceptance %.3g", run_info["mode"], len(pt), stats.acceptance)
    return SimulatedEvents(out, run_info, stats)


def _run_info(mode: str, seed: int, config: SimulationConfig, **extra: Any) -> dict[str, Any]:
    geo = config.geometry
    preset = next((name for name, g in GEOMETRIES.items() if g == geo), None)
    return {
        "mode": mode,
        "seed": int(seed),
        "geometry": geo.to_dict(),
        "geometry_preset": preset,
        "hepbump_version": __version__,
        "bmeson_table": config.bmeson_table or "package:hepbump/data/bmesons_pp400.npz",
        **extra,
    }


def _check_count(n: int, what: str) -> int:
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise InputError(f"number of {what} must be a non-negative integer, got {n!r}")
    return int(n)


def simulate_signal(
    mass_gev: float, ctau_over_m: float, n_events: int, seed: int, config: SimulationConfig | None = None
) -> SimulatedEvents:
    """``n_events`` accepted events at one parameter point (m_a in GeV, c tau / m in m/GeV); group 0."""
    config = config or SimulationConfig()
    validate_parameters(mass_gev, ctau_over_m)
    n = _check_count(n_events, "events")
    rng = np.random.default_rng(seed)
    m_a, ctau = np.array([float(mass_gev)]), np.array([float(ctau_over_m)])
    columns, _, stats = _run_points(m_a, ctau, np.array([n]), rng, config, "signal")
    info = _run_info("signal", seed, config, mass_gev=float(mass_gev), ctau_over_m=float(ctau_over_m))
    return _finish(columns, m_a, ctau, np.zeros(1, np.int64), stats, info)


def _per_event(mode: str, prior: ALPPrior, n_events: int, seed: int, config: SimulationConfig) -> SimulatedEvents:
    n = _check_count(n_events, "events")
    rng = np.random.default_rng(seed)
    m_a, ctau = prior.sample(rng, n)
    columns, _, stats = _run_points(m_a, ctau, np.ones(n, np.int64), rng, config, mode)
    info = _run_info(mode, seed, config, prior=prior.to_dict())
    return _finish(columns, m_a, ctau, np.arange(n, dtype=np.int64), stats, info)


def simulate_background(n_events: int, seed: int, config: SimulationConfig | None = None) -> SimulatedEvents:
    """``n_events`` events, each with its own parameters from ``config.background``; group = event index."""
    config = config or SimulationConfig()
    return _per_event("background", config.background, n_events, seed, config)


def simulate_prior(n_events: int, seed: int, config: SimulationConfig | None = None) -> SimulatedEvents:
    """``n_events`` single events with parameters from ``config.prior`` (posterior training); group = index."""
    config = config or SimulationConfig()
    return _per_event("prior", config.prior, n_events, seed, config)


def simulate_pairs(n_pairs: int, seed: int, config: SimulationConfig | None = None) -> SimulatedEvents:
    """``n_pairs`` pairs of events (2 rows each, adjacent, sharing ``group`` = pair index).

    A fraction ``config.pairs_same_fraction`` (rounded) of the pairs, at random positions, share one parameter
    point (``pair_label`` 1); the others have independent parameters (``pair_label`` 0), all from
    ``config.prior``. Pairs of which an event hit the cap are dropped whole.
    """
    config = config or SimulationConfig()
    n = _check_count(n_pairs, "pairs")
    rng = np.random.default_rng(seed)
    n_same = int(round(config.pairs_same_fraction * n))
    label = rng.permutation(np.r_[np.ones(n_same, np.int8), np.zeros(n - n_same, np.int8)])
    # Points: one per same pair (2 events), two per different pair (1 event each), in pair order.
    n_pts_per_pair = np.where(label == 1, 1, 2)
    pair_of_point = np.repeat(np.arange(n, dtype=np.int64), n_pts_per_pair)
    need = np.where(label[pair_of_point] == 1, 2, 1)
    m_a, ctau = config.prior.sample(rng, len(pair_of_point))
    columns, complete, stats = _run_points(m_a, ctau, need, rng, config, "pairs")
    pair_complete = np.ones(n, bool)
    np.logical_and.at(pair_complete, pair_of_point, complete)
    keep = pair_complete[pair_of_point[columns["point"]]]
    columns = {k: v[keep] for k, v in columns.items()}
    info = _run_info(
        "pairs",
        seed,
        config,
        prior=config.prior.to_dict(),
        pairs_same_fraction=config.pairs_same_fraction,
        n_pairs_requested=n,
        n_pairs=int(pair_complete.sum()),
    )
    return _finish(columns, m_a, ctau, pair_of_point, stats, info, {PAIR_LABEL_FIELD: label[pair_of_point]})


def simulate(
    mode: str,
    n_events: int,
    seed: int,
    *,
    mass_gev: float | None = None,
    ctau_over_m: float | None = None,
    config: SimulationConfig | None = None,
) -> SimulatedEvents:
    """Dispatch on ``mode`` (:data:`MODES`); ``n_events`` counts pairs in ``pairs`` mode.

    ``mass_gev`` and ``ctau_over_m`` are required for ``signal`` and rejected otherwise.
    """
    if mode not in MODES:
        raise InputError(f"unknown simulation mode {mode!r}; choose one of: {', '.join(MODES)}")
    if mode == "signal":
        if mass_gev is None or ctau_over_m is None:
            raise InputError("signal mode needs the ALP mass (GeV) and c tau / m (m/GeV)")
        return simulate_signal(mass_gev, ctau_over_m, n_events, seed, config)
    if mass_gev is not None or ctau_over_m is not None:
        raise InputError(f"{mode} mode draws the ALP parameters from the prior; do not give a mass or c tau / m")
    return {"background": simulate_background, "prior": simulate_prior, "pairs": simulate_pairs}[mode](
        n_events, seed, config
    )
