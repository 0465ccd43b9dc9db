"""BSM benchmarks of the BumpNet paper (Table 1) for injection into DM-format samples.

Each benchmark is a :class:`~hepbump.darkmachines.generate.processes.Process` with a reference cross section
``sigma_ref`` (pb, times the branching fraction of its final state); a sample with signal strength ``mu`` contains on
average ``mu * sigma_ref * L`` produced signal events for the sample's luminosity ``L``, before the channel selection.

=============== ================================================================ ========== ==========
name            model                                                            sigma_ref  DM channel
=============== ================================================================ ========== ==========
lq600_be        scalar leptoquark pair, 600 GeV, each LQ -> b e                  0.16 pb    2b
lq600_bmu       scalar leptoquark pair, 600 GeV, each LQ -> b mu                 0.16 pb    2b
lq600_bebmu     scalar leptoquark pair, 600 GeV, one LQ -> b e, one -> b mu      0.16 pb    2b
zp50_3mu        W Z', Z' (50 GeV) -> mu mu, W -> mu nu (three muons)             0.10 pb    2b
zp50_4mu        Z Z', Z' (50 GeV) -> mu mu, Z -> mu mu (four muons)              0.05 pb    2b
stop1000_bl     RPV stop pair, 1 TeV, each stop -> b l (l = e or mu, 50/50)      0.00683 pb 3
wp1500_lvqq     W' (1.5 TeV, width 40 GeV) -> W Z, W -> l nu (e, mu), Z -> q q   0.02 pb    3
wp1500_qqvv     W' (1.5 TeV, width 40 GeV) -> W Z, W -> q q, Z -> nu nu          0.03 pb    3
=============== ================================================================ ========== ==========

The leptoquark rate is of the order of the NLO pair-production cross section of a 600 GeV scalar leptoquark and
the stop rate the NNLO+NNLL stop-pair cross section at 1 TeV; the Z' and W' rates are reference values chosen to
give visible bumps at ~10 fb^-1 (the paper tuned its private samples to give >= 5 sigma in one histogram).
Leptons of a pair-produced LQ/stop have opposite charges. The hadronic Z (or W) of a 1.5 TeV W' is boosted and
usually reconstructed as one massive jet (see :mod:`hepbump.darkmachines.generate.model`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hepbump.darkmachines.generate.kinematics import FallingSpectrum
from hepbump.darkmachines.generate.model import (
    B_QUARK,
    ELECTRON,
    MUON,
    NEG,
    POS,
    SAME,
    ZERO,
    DecayChannel,
    Particle,
    w_boson,
    z_boson,
)
from hepbump.darkmachines.generate.processes import MINUS, PLUS, RANDOM, Process
from hepbump.errors import InputError

__all__ = ["SignalBenchmark", "SIGNALS", "signal_benchmark"]


@dataclass(frozen=True)
class SignalBenchmark:
    """A BSM benchmark: the process, its reference cross section (pb) and the DM channel it was studied in."""

    name: str
    description: str
    mass_gev: float
    sigma_ref_pb: float
    dm_channel: str
    process: Process


def _to_b_lepton(name: str, mass: float, leptons: tuple[Particle, ...]) -> Particle:
    """A narrow scalar of ``mass`` GeV decaying to b + one of ``leptons`` (equal shares); the lepton carries
    the sign attached to the scalar."""
    return Particle(name, mass, channels=tuple(DecayChannel(1.0, (B_QUARK, lep), (ZERO, SAME)) for lep in leptons))


def _pair(name: str, sigma: float, first: Particle, second: Particle, mass: float) -> Process:
    spectrum = FallingSpectrum(a=1.0, c=mass, b=3.0, d=6.0)
    return Process(name, sigma, (first, second), (MINUS, PLUS), spectrum, rapidity_width=1.0, isr_strength=0.7)


def _z_prime(modes_partner: Particle, name: str, sigma: float) -> Process:
    zp = Particle("Zp", 50.0, channels=(DecayChannel(1.0, (MUON, MUON), (NEG, POS)),))
    spectrum = FallingSpectrum(a=1.0, c=60.0, b=2.5, d=6.0)
    return Process(name, sigma, (modes_partner, zp), (RANDOM, RANDOM), spectrum)


def _w_prime(name: str, sigma: float, w_modes: tuple[str, ...], z_modes: tuple[str, ...]) -> Process:
    wp = Particle("Wp", 1500.0, 40.0, channels=(DecayChannel(1.0, (w_boson(w_modes), z_boson(z_modes)), (SAME, ZERO)),))
    return Process(name, sigma, (wp,), (RANDOM,), None, rapidity_width=1.0, isr_strength=0.6)


_LQ_E = _to_b_lepton("LQ", 600.0, (ELECTRON,))
_LQ_MU = _to_b_lepton("LQ", 600.0, (MUON,))
_STOP = _to_b_lepton("stop", 1000.0, (ELECTRON, MUON))

#: The benchmarks by name.
SIGNALS: dict[str, SignalBenchmark] = {
    b.name: b
    for b in (
        SignalBenchmark(
            "lq600_be", "LQ pair (600 GeV) -> b e b e", 600.0, 0.16, "2b", _pair("lq600_be", 0.16, _LQ_E, _LQ_E, 600.0)
        ),
        SignalBenchmark(
            "lq600_bmu",
            "LQ pair (600 GeV) -> b mu b mu",
            600.0,
            0.16,
            "2b",
            _pair("lq600_bmu", 0.16, _LQ_MU, _LQ_MU, 600.0),
        ),
        SignalBenchmark(
            "lq600_bebmu",
            "LQ pair (600 GeV) -> b e b mu",
            600.0,
            0.16,
            "2b",
            _pair("lq600_bebmu", 0.16, _LQ_E, _LQ_MU, 600.0),
        ),
        SignalBenchmark(
            "zp50_3mu",
            "W Z', Z' (50 GeV) -> mu mu, W -> mu nu",
            50.0,
            0.10,
            "2b",
            _z_prime(w_boson(("munu",)), "zp50_3mu", 0.10),
        ),
        SignalBenchmark(
            "zp50_4mu",
            "Z Z', Z' (50 GeV) -> mu mu, Z -> mu mu",
            50.0,
            0.05,
            "2b",
            _z_prime(z_boson(("mumu",)), "zp50_4mu", 0.05),
        ),
        SignalBenchmark(
            "stop1000_bl",
            "RPV stop pair (1 TeV) -> b l b l",
            1000.0,
            0.00683,
            "3",
            _pair("stop1000_bl", 0.00683, _STOP, _STOP, 1000.0),
        ),
        SignalBenchmark(
            "wp1500_lvqq",
            "W' (1.5 TeV) -> W Z -> l nu q q",
            1500.0,
            0.02,
            "3",
            _w_prime("wp1500_lvqq", 0.02, ("enu", "munu"), ("qq", "bb")),
        ),
        SignalBenchmark(
            "wp1500_qqvv",
            "W' (1.5 TeV) -> W Z -> q q nu nu",
            1500.0,
            0.03,
            "3",
            _w_prime("wp1500_qqvv", 0.03, ("qq",), ("nunu",)),
        ),
    )
}


def signal_benchmark(name: str) -> SignalBenchmark:
    """The benchmark called ``name`` (see the table above)."""
    try:
        return SIGNALS[name]
    except KeyError:
        raise InputError(f"unknown signal benchmark {name!r}; known: {', '.join(SIGNALS)}") from None
