"""Hard processes of the DM-format generator: production model and the Standard Model process table.

A :class:`Process` produces one resonance (at rest transversely) or two particles back to back in the transverse
plane with a smoothly falling ``pT_hat`` spectrum
(:class:`~hepbump.darkmachines.generate.kinematics.FallingSpectrum`) and Gaussian rapidities, plus optional extra
emissions (the photon of tt+gamma, the Z of ttZ, ...) and a Poisson number of initial-state-radiation jets. The legs
share equally the transverse recoil against the extra emissions and ISR jets (rapidities and masses unchanged), so
every event balances in the transverse plane. All particles then decay through their decay trees
(:mod:`hepbump.darkmachines.generate.model`).

Generation is two-staged (:func:`generate_truth`): the cheap latent variables of each event are drawn first
(decay channels, flavours, pT_hat, ISR jets, the mismeasured-jet loss) and events that cannot pass the channel
selection are dropped before any four-momentum is built (:class:`GenerationCuts`: exact lepton-count and HT
bounds, plus validated pT_hat cuts).

Cross sections are approximate 13 TeV values (pb, times the branching fraction of the included decay modes), for
``pT_hat > pt_ref``; they set the relative mixture of processes and the luminosity a sample corresponds to. The
table covers 16 of the 26 Dark Machines background processes (not: single Higgs, tt+H, four tops, tt+WW, tZ, and
the charge-conjugate processes wtopbar, single_topbar, atop, atopbar that DM lists separately: here wtop and
single_top include both charges). No fake leptons are modelled. This is a fast parametric generator, not
MadGraph + Pythia + Delphes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from hepbump import constants as C
from hepbump.darkmachines.generate.kinematics import (
    BREIT_WIGNER_HALF_RANGE,
    FallingSpectrum,
    breit_wigner_mass,
    p4_from_pt_y_phi_m,
)
from hepbump.darkmachines.generate.model import (
    KIND_B,
    KIND_B_SEMILEPTONIC,
    KIND_LIGHT,
    KIND_NEUTRINO,
    KIND_TAU_JET,
    PHOTON,
    Particle,
    Slot,
    TruthParticles,
    count_final_state,
    draw_decays,
    quark_kinds,
    realize,
    top_quark,
    w_boson,
    z_boson,
)
from hepbump.darkmachines.resolution import relative_resolution
from hepbump.errors import InputError

__all__ = [
    "Extra",
    "Process",
    "GenerationCuts",
    "TruthEvents",
    "generate_truth",
    "SM_PROCESSES",
    "SM_PROCESS_NAMES_GENERATED",
    "sm_processes",
]

#: Most ISR jets per event (the Poisson number is truncated here).
MAX_ISR_JETS = 6
#: Lowest generated ISR jet pT, GeV (below the 20 GeV jet threshold so that smearing can migrate upwards).
ISR_PT_MIN_GEV = 15.0
#: ISR jets: rapidity spread and b-quark fraction (gluon splitting); their pT spectrum is dN/dpT ~ pT^-3.
ISR_RAPIDITY_WIDTH = 1.8
ISR_B_FRACTION = 0.03
#: "Quiet" events (see GenerationCuts) have no leg or ISR parton beyond this |rapidity| (forward particles that
#: escape the calorimeter, |eta| > 4.9, make real MET).
QUIET_ABS_Y_MAX = 4.0
_JET_KINDS = (KIND_LIGHT, KIND_B, KIND_B_SEMILEPTONIC, KIND_TAU_JET)
_ISR_KIND_CHOICES = quark_kinds(ISR_B_FRACTION)
_ISR_KINDS = np.array([k for _, k in _ISR_KIND_CHOICES], dtype=np.int8)
_ISR_KIND_CDF = np.cumsum([p for p, _ in _ISR_KIND_CHOICES])[:-1].astype(np.float32)
#: W+ fraction of singly produced W bosons at the LHC.
W_PLUS_FRACTION = 0.58
#: Charge rules of the produced legs.
PLUS, MINUS, RANDOM, OPPOSITE = "+", "-", "random", "opposite"


@dataclass(frozen=True)
class Extra:
    """An extra emission (photon, W, Z) with its own pT spectrum above ``pt_min`` (GeV)."""

    particle: Particle
    spectrum: FallingSpectrum
    pt_min: float = 0.0
    charge: str = RANDOM


@dataclass(frozen=True)
class Process:
    """A hard process: one resonance (``spectrum`` None) or a 2 -> 2 pair, with cross section ``sigma_pb`` for
    ``pT_hat > pt_ref`` (GeV). ``isr_strength`` scales the mean ISR multiplicity ``k * ln(1 + Q / 20 GeV)`` with
    the hard scale ``Q = pT_hat + (sum of leg masses) / 2``. ``pt_hat_min`` is the lowest generated ``pT_hat``
    (processes of massless particles: their objects need pT >= 20 GeV), ``pt_hat_min_high_ht`` the generation
    cut used in the HT >= 600 GeV channels (validated to lose a negligible fraction of selected events, see
    ``benchmarks/bench_dm_generate.py --validate-cuts``).
    """

    name: str
    sigma_pb: float
    legs: tuple[Particle, ...]
    charges: tuple[str, ...]
    spectrum: FallingSpectrum | None = None
    pt_ref: float = 0.0
    rapidity_width: float = 1.2
    isr_strength: float = 0.6
    extras: tuple[Extra, ...] = ()
    pt_hat_min: float = 0.0
    pt_hat_min_high_ht: float = 0.0
    part: str = ""

    def __post_init__(self) -> None:
        if len(self.legs) not in (1, 2) or len(self.charges) != len(self.legs):
            raise InputError(f"process {self.name}: one or two legs with one charge rule each")
        if (self.spectrum is None) != (len(self.legs) == 1):
            raise InputError(f"process {self.name}: a pT_hat spectrum exactly for two-leg processes")
        if self.sigma_pb < 0:
            raise InputError(f"process {self.name}: negative cross section")

    @property
    def key(self) -> str:
        """Unique key: the DM process ID, plus ``/part`` for processes generated in several parts."""
        return f"{self.name}/{self.part}" if self.part else self.name

    def sigma_above(self, pt_hat_min: float) -> float:
        """Cross section (pb) of the generated phase space ``pT_hat > max(pt_hat_min, self.pt_hat_min)``."""
        if self.spectrum is None:
            return self.sigma_pb
        return self.sigma_pb * self.spectrum.fraction_above(max(pt_hat_min, self.pt_hat_min), self.pt_ref)


@dataclass(frozen=True)
class GenerationCuts:
    """Cuts applied while generating, before any kinematics (GeV).

    * ``pt_hat_min``: lowest generated ``pT_hat`` (validated for the HT >= 600 GeV channels);
    * ``min_leptons``: events whose drawn decays give fewer electrons/muons are not generated (exact; fake
      leptons are not modelled);
    * ``ht_min``: events of processes whose jets are all known before the decays (multijets, photon + jets)
      are not generated if their largest possible reconstructed HT is below this (exact, given the truncation of
      the Gaussian jet response at ``DM_GEN_RESPONSE_TRUNCATION_SIGMA``);
    * ``quiet_pt_hat_min``: "quiet" events (no neutrino, no semileptonic b decay, no forward parton and no jet
      response loss that can exceed ``quiet_tail_loss_max`` GeV, i.e. MET mostly from Gaussian smearing) are
      generated only above this ``pT_hat`` (validated, ``benchmarks/bench_dm_generate.py --validate-cuts``).
    """

    pt_hat_min: float = 0.0
    min_leptons: int = 0
    quiet_pt_hat_min: float = 0.0
    quiet_tail_loss_max: float = 10.0
    ht_min: float = 0.0


@dataclass
class TruthEvents:
    """Final-state particles of the events kept by :func:`generate_truth`, their generated ``pT_hat``, the
    response loss ``tail`` of one badly measured jet (0 for most events; the detector applies it to a jet chosen
    at random) and whether they are "quiet" (see :class:`GenerationCuts`)."""

    particles: TruthParticles
    pt_hat: np.ndarray
    tail: np.ndarray
    quiet: np.ndarray

    def __len__(self) -> int:
        return int(self.pt_hat.size)


def _leg_charges(rules: tuple[str, ...], n: int, rng: np.random.Generator) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for rule in rules:
        if rule == PLUS:
            q = np.ones(n, np.int8)
        elif rule == MINUS:
            q = -np.ones(n, np.int8)
        elif rule == OPPOSITE:
            q = -out[0]
        else:
            q = np.where(rng.uniform(size=n) < W_PLUS_FRACTION, 1, -1).astype(np.int8)
        out.append(q)
    return out


def _masses(particle: Particle, n: int, rng: np.random.Generator) -> np.ndarray:
    if particle.width > 0:
        return breit_wigner_mass(rng, n, particle.mass, particle.width)
    return np.full(n, particle.mass)


def _isr_particles(plan: _Plan) -> TruthParticles:
    """The ISR jets of the planned events (kinds, pT, rapidity quantiles and azimuths drawn at planning)."""
    y = ISR_RAPIDITY_WIDTH * ndtri(plan.isr_y_quantile)
    return TruthParticles.from_pt_y_phi(plan.isr_event, plan.isr_kind, plan.isr_pt, y, plan.isr_phi)


def _subset(values: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[mask]


_EVENT_FIELDS = ("events", "pt_hat", "leg_phi", "leg_y_quantile", "n_isr", "tail", "quiet")
_ISR_FIELDS = ("isr_kind", "isr_pt", "isr_phi", "isr_y_quantile")


@dataclass
class _Plan:
    """The cheap latent variables of the events still being generated (``events`` index the batch). ISR jets
    are flat arrays (grouped by event, ``isr_event`` gives the event)."""

    events: np.ndarray
    pt_hat: np.ndarray
    leg_phi: np.ndarray | None
    leg_y_quantile: np.ndarray
    n_isr: np.ndarray
    tail: np.ndarray
    quiet: np.ndarray
    isr_event: np.ndarray
    isr_kind: np.ndarray
    isr_pt: np.ndarray
    isr_phi: np.ndarray | None
    isr_y_quantile: np.ndarray

    def keep(self, mask: np.ndarray) -> _Plan:
        """The plan restricted to the events where ``mask`` is true."""
        flat = mask[self.isr_event]
        fields = {name: _subset(getattr(self, name), mask) for name in _EVENT_FIELDS}
        fields.update({name: _subset(getattr(self, name), flat) for name in _ISR_FIELDS})
        fields["isr_event"] = (np.cumsum(mask) - 1)[self.isr_event[flat]]
        return _Plan(**fields)

    def draw_azimuths(self, rng: np.random.Generator) -> None:
        """Draw the azimuths of the legs and ISR jets (no generation cut needs them: drawn for the survivors)."""
        self.leg_phi = rng.uniform(-np.pi, np.pi, self.events.size)
        self.isr_phi = rng.uniform(-np.pi, np.pi, self.isr_event.size)

    def isr_first(self) -> np.ndarray:
        first = np.zeros(self.n_isr.size, dtype=np.int64)
        np.cumsum(self.n_isr[:-1], out=first[1:])
        return first

    def isr_any(self, flags: np.ndarray) -> np.ndarray:
        """Per event: does any ISR jet have ``flags`` (flat boolean)?"""
        return np.bincount(self.isr_event[flags], minlength=self.n_isr.size) > 0

    def isr_vector(self) -> tuple[np.ndarray, np.ndarray]:
        """Sum of the ISR transverse momenta (x, y), GeV."""
        n = self.n_isr.size
        return (
            np.bincount(self.isr_event, self.isr_pt * np.cos(self.isr_phi), minlength=n),
            np.bincount(self.isr_event, self.isr_pt * np.sin(self.isr_phi), minlength=n),
        )


def _plan(process: Process, events: np.ndarray, cuts: GenerationCuts, rng: np.random.Generator) -> _Plan:
    n = events.size
    if process.spectrum is None:
        pt_hat = np.zeros(n)
    else:
        pt_hat = process.spectrum.sample(rng, n, max(cuts.pt_hat_min, process.pt_hat_min))
    hard_scale = pt_hat + 0.5 * sum(leg.mass for leg in process.legs)
    n_isr = np.minimum(rng.poisson(process.isr_strength * np.log1p(hard_scale / 20.0)), MAX_ISR_JETS)
    isr_event = np.repeat(np.arange(n), n_isr)
    # ISR pT ~ pT^-3 between 15 GeV and max(Q, 15 GeV): inverse CDF (lo + u (hi - lo))^(-1/2) with lo = 15^-2.
    lo = ISR_PT_MIN_GEV**-2.0
    hi = (1.0 / np.square(np.maximum(hard_scale, ISR_PT_MIN_GEV)))[isr_event]
    isr_pt = 1.0 / np.sqrt(lo + rng.random(isr_event.size) * (hi - lo))
    if cuts.ht_min > 0 and _jets_known(process):
        # A first, looser HT bound before drawing anything else: |leg pT| <= pT_hat + (sum of ISR pT) / 2.
        isr_sum = np.bincount(isr_event, isr_pt, minlength=n)
        n_jet_legs = sum(leg.kind == KIND_LIGHT for leg in process.legs)
        loose = np.bincount(isr_event, _reco_pt_max(isr_pt), minlength=n) + n_jet_legs * _reco_pt_max(
            pt_hat + 0.5 * isr_sum
        )
        ok = loose >= cuts.ht_min
        events, pt_hat, n_isr = events[ok], pt_hat[ok], n_isr[ok]
        isr_pt = isr_pt[ok[isr_event]]
        n = events.size
        isr_event = np.repeat(np.arange(n), n_isr)
    m = isr_event.size
    mismeasured = np.flatnonzero(rng.random(n, dtype=np.float32) < C.DM_GEN_MISMEASURED_EVENT_PROBABILITY)
    tail = np.zeros(n)
    tail[mismeasured] = np.abs(rng.normal(0.0, C.DM_GEN_JET_TAIL_WIDTH, mismeasured.size))
    return _Plan(
        events=events,
        pt_hat=pt_hat,
        leg_phi=None,
        # Rapidities as Gaussian quantiles of uniform numbers: whether a parton is forward is known early.
        leg_y_quantile=rng.random((n, len(process.legs))),
        n_isr=n_isr,
        tail=tail,
        quiet=np.zeros(n, dtype=bool),
        isr_event=isr_event,
        isr_kind=_ISR_KINDS[np.searchsorted(_ISR_KIND_CDF, rng.random(m, dtype=np.float32), side="right")],
        isr_pt=isr_pt,
        isr_phi=None,
        isr_y_quantile=rng.random(m),
    )


def _leg_transverse(process: Process, plan: _Plan) -> list[tuple[np.ndarray, np.ndarray]]:
    """Transverse momentum (x, y) of each leg: back to back with ``pT_hat``, sharing equally the recoil against
    the ISR jets (the extra emissions are added by the caller)."""
    qx, qy = plan.isr_vector()
    n_legs = len(process.legs)
    return [
        (
            plan.pt_hat * np.cos(plan.leg_phi + k * math.pi) - qx / n_legs,
            plan.pt_hat * np.sin(plan.leg_phi + k * math.pi) - qy / n_legs,
        )
        for k in range(n_legs)
    ]


def _jet_pt_upper_bound(
    process: Process, plan: _Plan, nodes: list[tuple[str, Particle]], choices: dict[str, np.ndarray], n_rows: int
) -> np.ndarray:
    """Upper bound on the true pT (GeV) of any jet of each planned event (infinite with extra emissions).

    A leg's transverse momentum is at most ``pT_hat + (sum of ISR pT) / n_legs``; every decay product of a leg of
    mass up to ``m`` has pT at most the leg's transverse mass ``sqrt(pT^2 + m^2)`` (true in the frame where the
    leg has no longitudinal momentum, and longitudinal boosts keep pT). Legs whose drawn decays give no quark or
    tau jet do not count."""
    n = plan.events.size
    if process.extras:
        return np.full(n, np.inf)
    bound = np.zeros(n)
    with_isr = np.flatnonzero(plan.n_isr > 0)
    if with_isr.size:  # ISR jets are grouped by event: the largest pT per group
        bound[with_isr] = np.maximum.reduceat(plan.isr_pt, plan.isr_first()[with_isr])
    leg_pt = plan.pt_hat + np.bincount(plan.isr_event, plan.isr_pt, minlength=n) / len(process.legs)
    for path, leg in nodes:
        jets = count_final_state(leg, path, choices, n_rows, _JET_KINDS)[plan.events] > 0
        m_max = leg.mass + (BREIT_WIGNER_HALF_RANGE * leg.width if leg.width > 0 else 0.0)
        bound = np.maximum(bound, np.where(jets, np.sqrt(leg_pt**2 + m_max**2), 0.0))
    return bound


def _tail_loss_bound(tail: np.ndarray, jet_pt_bound: np.ndarray) -> np.ndarray:
    """Largest momentum (GeV) a jet can lose to the response tail (0 without a tail, even if unbounded)."""
    return np.multiply(tail, jet_pt_bound, out=np.zeros_like(tail), where=tail > 0)


def _jets_known(process: Process) -> bool:
    """Are all jets of the process legs or ISR (no decays, no extra emissions)?"""
    return not process.extras and all(leg.stable for leg in process.legs)


def _reco_pt_max(pt: np.ndarray) -> np.ndarray:
    """Largest reconstructed pT (GeV) of a jet of true ``pt`` (Gaussian response truncated; increasing in pT)."""
    return pt * (1.0 + C.DM_GEN_RESPONSE_TRUNCATION_SIGMA * relative_resolution("jet", np.maximum(pt, 1e-3)))


def _ht_upper_bound(process: Process, plan: _Plan) -> np.ndarray | None:
    """Largest reconstructed HT (GeV) the planned events can have if :func:`_jets_known`, else ``None``."""
    if not _jets_known(process):
        return None
    bound = np.bincount(plan.isr_event, _reco_pt_max(plan.isr_pt), minlength=plan.n_isr.size).astype(float)
    for leg, (px, py) in zip(process.legs, _leg_transverse(process, plan)):
        if leg.kind == KIND_LIGHT:
            bound += _reco_pt_max(np.hypot(px, py))
    return bound


def generate_truth(
    process: Process, n_raw: int, rng: np.random.Generator, cuts: GenerationCuts = GenerationCuts()
) -> TruthEvents:
    """Generate ``n_raw`` events of ``process`` and return those that survive the generation ``cuts``.

    First the cheap latent variables are drawn: decay channels and quark flavours (events that cannot give
    ``cuts.min_leptons`` charged leptons dropped as early as possible,
    :func:`~hepbump.darkmachines.generate.model.draw_decays`),
    then for the rest ``pT_hat``, ISR multiplicity, flavours and momenta, rapidity quantiles and the
    mismeasured-jet loss; events failing ``cuts`` are dropped; only then are four-momenta built for the rest.
    """
    nodes = [(f"L{i}", leg) for i, leg in enumerate(process.legs)]
    nodes += [(f"X{i}", x.particle) for i, x in enumerate(process.extras)]
    choices, n_rows, events = draw_decays(nodes, n_raw, rng, cuts.min_leptons)

    def count(kinds: tuple[int, ...]) -> np.ndarray:
        return sum(
            (count_final_state(node, path, choices, n_rows, kinds) for path, node in nodes), np.zeros(n_rows, np.int16)
        )

    plan = _plan(process, events, cuts, rng)
    isr_edge = ndtr(-QUIET_ABS_Y_MAX / ISR_RAPIDITY_WIDTH)
    leg_edge = ndtr(-QUIET_ABS_Y_MAX / process.rapidity_width)
    u_leg, u_isr = plan.leg_y_quantile, plan.isr_y_quantile
    forward = ((u_leg < leg_edge) | (u_leg > 1 - leg_edge)).any(axis=1)
    forward |= plan.isr_any((u_isr < isr_edge) | (u_isr > 1 - isr_edge))
    plan.quiet = (
        (
            _tail_loss_bound(plan.tail, _jet_pt_upper_bound(process, plan, nodes, choices, n_rows))
            <= cuts.quiet_tail_loss_max
        )
        & ~forward
        & (count((KIND_NEUTRINO, KIND_B_SEMILEPTONIC))[plan.events] == 0)
        & ~plan.isr_any(plan.isr_kind == KIND_B_SEMILEPTONIC)
    )
    if cuts.quiet_pt_hat_min > 0:
        plan = plan.keep(~plan.quiet | (plan.pt_hat >= cuts.quiet_pt_hat_min))
    plan.draw_azimuths(rng)
    if cuts.ht_min > 0:
        bound = _ht_upper_bound(process, plan)
        if bound is not None:
            plan = plan.keep(bound >= cuts.ht_min)
    return _kinematics(process, plan, choices, rng)


def _kinematics(process: Process, plan: _Plan, choices: dict[str, np.ndarray], rng: np.random.Generator) -> TruthEvents:
    """Four-momenta of all final-state particles of the planned events."""
    n = plan.events.size
    charges = _leg_charges(process.charges, n, rng)
    masses = [_masses(leg, n, rng) for leg in process.legs]
    leg_xy = _leg_transverse(process, plan)
    extra_p4 = []
    for x in process.extras:
        v = p4_from_pt_y_phi_m(
            x.spectrum.sample(rng, n, x.pt_min),
            rng.normal(0.0, process.rapidity_width, n),
            rng.uniform(-np.pi, np.pi, n),
            _masses(x.particle, n, rng),
        )
        extra_p4.append(v)
        leg_xy = [(px - np.asarray(v.px) / len(leg_xy), py - np.asarray(v.py) / len(leg_xy)) for px, py in leg_xy]
    leg_y = process.rapidity_width * ndtri(plan.leg_y_quantile)
    slots: list[Slot] = []
    for i, (leg, (px, py)) in enumerate(zip(process.legs, leg_xy)):
        v = p4_from_pt_y_phi_m(np.hypot(px, py), leg_y[:, i], np.arctan2(py, px), masses[i])
        slots += realize(leg, f"L{i}", v, charges[i], plan.events, choices, rng)
    for i, (x, v) in enumerate(zip(process.extras, extra_p4)):
        q = _leg_charges((x.charge,), n, rng)[0]
        slots += realize(x.particle, f"X{i}", v, q, plan.events, choices, rng)
    particles = TruthParticles.concatenate([_isr_particles(plan), TruthParticles.from_slots(slots)])
    return TruthEvents(particles, plan.pt_hat, plan.tail, plan.quiet)


# --- Standard Model process table ----------------------------------------------------------------------------

_S = C.SQRT_S_13TEV_GEV
# Massless 2 -> 2 spectra and cross sections follow Pythia 8 (LO, 13 TeV): sigma(pT_hat > 100 GeV) = 1.32 ub and
# sigma(> 200) / sigma(> 400) = 21.8 / 29.4 for QCD 2 -> 2; prompt photons sigma(pT > 50 GeV) = 7.9 nb, slope 4.7.
_QCD = FallingSpectrum(a=-5.5, c=0.0, b=0.0, d=8.0, sqrt_s=_S)
_PHOTON_JET = FallingSpectrum(a=-4.7, c=0.0, b=0.0, d=8.0, sqrt_s=_S)
# W/Z + jet: boson pT; gives sigma(pT > 30) / sigma(pT > 150) as Pythia 8's W + jet (7.0 nb / 0.12 nb for W -> l nu).
_V_JET = FallingSpectrum(a=1.0, c=15.0, b=2.35, d=6.0, sqrt_s=_S)
_V_GAMMA = FallingSpectrum(a=1.0, c=20.0, b=2.2, d=6.0, sqrt_s=_S)
_TOP_PAIR = FallingSpectrum(a=1.0, c=120.0, b=3.0, d=6.0, sqrt_s=_S)  # top pT peaks near 55 GeV
_TOP_W = FallingSpectrum(a=1.0, c=100.0, b=3.0, d=6.0, sqrt_s=_S)
_SINGLE_TOP = FallingSpectrum(a=1.0, c=60.0, b=2.5, d=6.0, sqrt_s=_S)
_DIBOSON = FallingSpectrum(a=1.0, c=60.0, b=2.5, d=6.0, sqrt_s=_S)
_EMISSION = FallingSpectrum(a=1.0, c=50.0, b=2.0, d=6.0, sqrt_s=_S)

_JET = Particle("q/g", kind=KIND_LIGHT, kind_choices=quark_kinds(0.02))
_W_LEP = ("enu", "munu", "taunu")
_Z_NO_HADRONS = ("ee", "mumu", "tautau", "nunu")


def _ttbar_like(name: str, sigma: float, extras: tuple[Extra, ...] = ()) -> Process:
    return Process(name, sigma, (top_quark(), top_quark()), (PLUS, MINUS), _TOP_PAIR, isr_strength=0.7, extras=extras)


#: The Standard Model processes (Dark Machines process IDs), in a fixed order.
SM_PROCESSES: tuple[Process, ...] = (
    # Multijets in the HT >= 600 GeV channels from pT_hat = 200 GeV: the 133-200 GeV range gives 0.28 % of the
    # channel-3 events (benchmarks/bench_dm_generate.py --validate-cuts) for 3/4 of the generated multijets.
    Process(
        "njets",
        1.32e6,
        (_JET, _JET),
        (RANDOM, RANDOM),
        _QCD,
        pt_ref=100.0,
        rapidity_width=1.4,
        isr_strength=0.8,
        pt_hat_min=20.0,
        pt_hat_min_high_ht=200.0,
    ),
    Process(
        "gam_jets",
        7900.0,
        (PHOTON, _JET),
        (RANDOM, RANDOM),
        _PHOTON_JET,
        pt_ref=50.0,
        rapidity_width=1.3,
        pt_hat_min=20.0,
        pt_hat_min_high_ht=150.0,
    ),
    Process("w_jets", 3 * 20500.0, (w_boson(_W_LEP), _JET), (RANDOM, RANDOM), _V_JET, pt_hat_min_high_ht=150.0),
    # Z + jets in two parts (charged leptons / neutrinos), so that lepton channels skip Z -> nu nu at no cost.
    Process(
        "z_jets",
        3 * 1950.0,
        (z_boson(("ee", "mumu", "tautau")), _JET),
        (RANDOM, RANDOM),
        _V_JET,
        pt_hat_min_high_ht=150.0,
        part="ll",
    ),
    Process(
        "z_jets",
        1950.0 * C.BR_Z_TO_INVISIBLE / C.BR_Z_TO_LL_PER_FLAVOUR,
        (z_boson(("nunu",)), _JET),
        (RANDOM, RANDOM),
        _V_JET,
        pt_hat_min_high_ht=150.0,
        part="nunu",
    ),
    _ttbar_like("ttbar", 832.0),
    Process("wtop", 71.7, (top_quark(), w_boson()), (RANDOM, OPPOSITE), _TOP_W),
    Process("single_top", 217.0, (top_quark(), _JET), (RANDOM, RANDOM), _SINGLE_TOP, rapidity_width=1.8),
    Process("ww", 118.7, (w_boson(), w_boson()), (PLUS, MINUS), _DIBOSON),
    Process("zw", 47.1, (z_boson(), w_boson()), (RANDOM, RANDOM), _DIBOSON),
    Process("zz", 16.5, (z_boson(), z_boson()), (RANDOM, RANDOM), _DIBOSON),
    Process(
        "2gam",
        50.0,
        (PHOTON, PHOTON),
        (RANDOM, RANDOM),
        _PHOTON_JET,
        pt_ref=20.0,
        pt_hat_min=20.0,
        pt_hat_min_high_ht=150.0,
    ),
    Process("Wgam", 45.0, (w_boson(_W_LEP), PHOTON), (RANDOM, RANDOM), _V_GAMMA, pt_ref=20.0, pt_hat_min=20.0),
    Process("Zgam", 15.0, (z_boson(_Z_NO_HADRONS), PHOTON), (RANDOM, RANDOM), _V_GAMMA, pt_ref=20.0, pt_hat_min=20.0),
    _ttbar_like("ttbarGam", 4.6, (Extra(PHOTON, _EMISSION, pt_min=20.0),)),
    _ttbar_like("ttbarZ", 0.86, (Extra(z_boson(), _EMISSION),)),
    _ttbar_like("ttbarW", 0.60, (Extra(w_boson(), _EMISSION),)),
)
SM_PROCESS_NAMES_GENERATED = tuple(dict.fromkeys(p.name for p in SM_PROCESSES))


def sm_processes(name: str) -> tuple[Process, ...]:
    """The part(s) of the Standard Model process called ``name`` (a Dark Machines process ID)."""
    parts = tuple(p for p in SM_PROCESSES if p.name == name)
    if not parts:
        raise InputError(f"unknown SM process {name!r}; known: {', '.join(SM_PROCESS_NAMES_GENERATED)}")
    return parts
