"""Benchmark: the lowest CPU cost at which channels 2b and 3 of the DM-format generator could be made on this machine.

The throughput goal (1M selected events per minute on one core) is met in channels ``none`` and 2a but not in
2b and 3 (``bench_dm_generate.py``). This script asks whether any implementation of the same model could meet
it. Unweighted (weight-1) events of a selective channel cost the generation and simulation of every event the
selection rejects. So the floor is a count of rejected events times a cost per event:

1. **Counts, from the generator itself.** For the process that dominates the channel's CPU time (multijets in
   channel 3, Z(-> ll) + jets in 2b), the number of events generated (``raw``), passing the exact lepton-count
   cut (``lep``, from the decay draws alone) and simulated (``sim``, reaching the detector) per selected event,
   and the process's share of the channel's selected events. The generator's own CPU time per selected event
   is measured in the same run.
2. **Costs, from a compiled sketch.** ``_multijet_sketch`` and ``_z_jets_sketch`` do, in one fused numba pass
   per event with no arrays in between, a strict subset of the generator's work. That is: the random numbers
   and elementary functions of the latent variables, the kinematics and the detector response. They leave out
   the flavours and charges, jet masses, b-tags, merging and writing, and they use a pure power law for the
   spectrum. Their numbers (widths, ISR, thresholds, resolutions tabulated from
   :func:`hepbump.darkmachines.resolution.relative_resolution`) come from the generator's own process, cuts and channel
   (:func:`sketch_model`). So their costs per event are optimistic. They run twice: with numba's Gaussian
   random numbers (39 ns each here, against 10 ns for a uniform one) and with every Gaussian replaced by a
   stand-in that costs one uniform number, which bounds what the fastest random-number generator could save. The
   stages are charged to the fewest events that need them: the first stage to every generated event, the latent
   variables of the quiet decision to the events passing the lepton cut (2b) or only to the simulated ones (3), and
   the kinematics and detector to the simulated ones.
3. **Floor** = (raw x cost_raw + lep x cost_lep + sim x cost_sim) per selected event, times the share, plus the
   cost of formatting an event as DM CSV text (measured on the channel's own events). This is the time per
   channel event that the dominant process and the output alone would cost in any implementation at least as
   elaborate as the sketch. 60 s / floor bounds the throughput from above.

    python benchmarks/bench_dm_generate_floor.py --channels 2b,3
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from hepbump import constants as C
from hepbump.darkmachines.generate import DMGeneratorConfig
from hepbump.darkmachines.generate.generator import DMGenerator
from hepbump.darkmachines.generate.detector import simulate_detector
from hepbump.darkmachines.generate.model import draw_decays
from hepbump.darkmachines.generate.processes import (
    ISR_PT_MIN_GEV,
    ISR_RAPIDITY_WIDTH,
    MAX_ISR_JETS,
    QUIET_ABS_Y_MAX,
    generate_truth,
)
from hepbump.darkmachines.generate.kinematics import BREIT_WIGNER_HALF_RANGE
from hepbump.darkmachines.write import format_csv
from hepbump.darkmachines.resolution import relative_resolution

#: The process that dominates each channel's CPU time (see the module docstring of hepbump.darkmachines.generate.generator).
DOMINANT = {"3": "njets", "2b": "z_jets/ll"}
GOAL_PER_MINUTE = 1.0e6


@numba.njit
def _two_body(e, px, py, pz, out, j):
    """Isotropic decay into two massless daughters, boosted to the lab, into out[j], out[j + 1] (E, px, py, pz)."""
    mass = math.sqrt(max(e * e - px * px - py * py - pz * pz, 1e-12))
    cos_t = 2.0 * np.random.random() - 1.0
    azimuth = 2.0 * math.pi * np.random.random()
    sin_t = math.sqrt(max(1.0 - cos_t * cos_t, 0.0))
    p_star = 0.5 * mass
    ux, uy, uz = sin_t * math.cos(azimuth), sin_t * math.sin(azimuth), cos_t
    for k in range(2):
        q = p_star if k == 0 else -p_star
        qx, qy, qz = q * ux, q * uy, q * uz
        dot = px * qx + py * qy + pz * qz
        f = dot / (mass * (e + mass)) + 0.5
        out[j + k, 0] = (e * p_star + dot) / mass
        out[j + k, 1] = qx + f * px
        out[j + k, 2] = qy + f * py
        out[j + k, 3] = qz + f * pz


@numba.njit(inline="always")
def _numba_gauss():
    return np.random.normal()


@numba.njit(inline="always")
def _uniform_cost_gauss():
    """A stand-in at the cost of one uniform number (not Gaussian: bounds the cost of the fastest generator)."""
    return 3.4 * (np.random.random() - 0.5)

class SketchModel(NamedTuple):
    """The numbers the sketches use, taken from the generator's own process, cuts and channel (GeV)."""

    pt_hat_min: float  # the spectrum is the power law pT^-(power + 1) above this
    spectrum_power: float
    rapidity_width: float
    isr_strength: float
    half_leg_mass: float
    tau_to_lepton: float
    quiet_loss_max: float
    ht_min: float
    met_min: float
    n_leptons_min: int
    bw_lo: float  # Z Breit-Wigner: arctan range of the inverse CDF
    bw_hi: float
    log_pt0: float  # resolution tables: relative resolution at exp(log_pt0 + k dlog_pt)
    dlog_pt: float


_RESOLUTION_GRID_GEV = np.geomspace(1.0, 5000.0, 400)


def _bw_arctan(m: float) -> float:
    return math.atan((m * m - C.M_Z_GEV**2) / (C.M_Z_GEV * C.GAMMA_Z_GEV))


def sketch_model(src, channel) -> tuple[SketchModel, np.ndarray, np.ndarray]:
    """The sketch's numbers for the generator source ``src`` in ``channel``, and the relative jet and muon
    resolutions of :func:`hepbump.darkmachines.resolution.relative_resolution` tabulated on a logarithmic pT grid."""
    process, spectrum = src.process, src.process.spectrum
    grid = np.log(_RESOLUTION_GRID_GEV)
    model = SketchModel(
        pt_hat_min=max(src.cuts.pt_hat_min, process.pt_hat_min, spectrum.c),
        spectrum_power=-(spectrum.a - 2.0 * spectrum.b + 1.0),
        rapidity_width=process.rapidity_width, isr_strength=process.isr_strength,
        half_leg_mass=0.5 * sum(leg.mass for leg in process.legs),
        tau_to_lepton=C.BR_TAU_TO_E + C.BR_TAU_TO_MU, quiet_loss_max=src.cuts.quiet_tail_loss_max,
        ht_min=channel.ht_min, met_min=channel.met_min, n_leptons_min=channel.n_leptons_min,
        bw_lo=_bw_arctan(C.M_Z_GEV - BREIT_WIGNER_HALF_RANGE * C.GAMMA_Z_GEV),
        bw_hi=_bw_arctan(C.M_Z_GEV + BREIT_WIGNER_HALF_RANGE * C.GAMMA_Z_GEV),
        log_pt0=grid[0], dlog_pt=grid[1] - grid[0],
    )
    return (model, relative_resolution("jet", _RESOLUTION_GRID_GEV),
            relative_resolution("muon", _RESOLUTION_GRID_GEV))


def build_sketches(gauss):
    """The two sketches, compiled with ``gauss()`` as their Gaussian random number (numba's
    ``np.random.normal`` or :func:`_uniform_cost_gauss`): ``(multijet_sketch, z_jets_sketch)``. Both take
    ``(n, seed, stage, model, jet_sigma, muon_sigma)`` and return the number of events passing the channel
    selection and a checksum (keeps the compiler from dropping unused work)."""

    @numba.njit(inline="always")
    def _truncated_normal(limit):
        while True:
            z = gauss()
            if abs(z) < limit:
                return z

    @numba.njit
    def _multijet_sketch(n, seed, stage, model, jet_sigma, muon_sigma):
        """Multijets in channel 3: stage 0 (pT_hat, ISR, loose HT sum) for every event; ``stage`` >= 1 also the
        tail, rapidities, azimuths, leg momenta and the detector response."""
        np.random.seed(seed)
        pt = np.zeros(2 + MAX_ISR_JETS)
        y = np.zeros(pt.size)
        phi = np.zeros(pt.size)
        lo = ISR_PT_MIN_GEV**-2
        n_sigma = jet_sigma.size
        n_pass, checksum = 0, 0.0
        for _ in range(n):
            pt_hat = model.pt_hat_min * np.random.random() ** (-1.0 / model.spectrum_power)
            hard = pt_hat + model.half_leg_mass
            n_isr = min(np.random.poisson(model.isr_strength * math.log1p(hard / 20.0)), MAX_ISR_JETS)
            hi = 1.0 / (hard * hard)
            loose = 2.0 * pt_hat
            for k in range(n_isr):
                pt[2 + k] = 1.0 / math.sqrt(lo + np.random.random() * (hi - lo))
                loose += pt[2 + k]
            checksum += loose
            if stage == 0:
                continue
            tail = 0.0
            if np.random.random() < C.DM_GEN_MISMEASURED_EVENT_PROBABILITY:
                tail = abs(gauss()) * C.DM_GEN_JET_TAIL_WIDTH
            m = 2 + n_isr
            qx, qy = 0.0, 0.0
            for k in range(m):
                y[k] = (model.rapidity_width if k < 2 else ISR_RAPIDITY_WIDTH) * gauss()
                if k >= 2:
                    np.random.random()  # the ISR flavour
                    phi[k] = np.random.uniform(-math.pi, math.pi)
                    qx += pt[k] * math.cos(phi[k])
                    qy += pt[k] * math.sin(phi[k])
            phi0 = np.random.uniform(-math.pi, math.pi)
            for i in range(2):
                px = pt_hat * math.cos(phi0 + i * math.pi) - 0.5 * qx
                py = pt_hat * math.sin(phi0 + i * math.pi) - 0.5 * qy
                pt[i] = math.hypot(px, py)
                phi[i] = math.atan2(py, px)
            best, victim = -1.0, -1
            if tail > 0.0:
                for i in range(m):
                    u = np.random.random()
                    if u > best:
                        best, victim = u, i
            mx, my, sum_pt, ht = 0.0, 0.0, 0.0, 0.0
            for i in range(m):
                if abs(y[i]) >= C.DM_GEN_CALORIMETER_ABS_ETA_MAX:
                    continue
                g = min(max(int((math.log(pt[i]) - model.log_pt0) / model.dlog_pt), 0), n_sigma - 1)
                r = 1.0 - tail if i == victim else 1.0 + jet_sigma[g] * _truncated_normal(
                    C.DM_GEN_RESPONSE_TRUNCATION_SIGMA)
                p = pt[i] * max(r, C.DM_GEN_RESPONSE_MIN)
                mx -= p * math.cos(phi[i])
                my -= p * math.sin(phi[i])
                sum_pt += p
                if p > C.DM_JET_PT_MIN_GEV and abs(y[i]) < C.DM_JET_ABS_ETA_MAX:
                    ht += p
            soft = math.sqrt(C.DM_GEN_MET_SOFT_TERM_GEV**2 + C.DM_GEN_MET_SOFT_STOCHASTIC_SQRTGEV**2 * sum_pt)
            met = math.hypot(mx + soft * gauss(), my + soft * gauss())
            n_pass += ht >= model.ht_min and met >= model.met_min
        return n_pass, checksum

    @numba.njit
    def _z_jets_sketch(n, seed, stage, model, jet_sigma, muon_sigma):
        """Z(-> ee, mumu, tautau) + jet in channel 2b: stage 0 (decay choices) for every event; ``stage`` >= 1
        also pT_hat, ISR, tail, rapidities and the quiet decision; ``stage`` = 2 also the kinematics
        (Breit-Wigner Z, Z -> l l, tau -> l nu) and the detector response."""
        np.random.seed(seed)
        p4 = np.zeros((16, 4))
        kind = np.zeros(16, np.int64)  # 0 jet, 1 lepton, 2 neutrino
        isr_pt = np.zeros(MAX_ISR_JETS)
        isr_y = np.zeros(isr_pt.size)
        lo = ISR_PT_MIN_GEV**-2
        n_sigma = jet_sigma.size
        n_pass, checksum = 0, 0.0
        for _ in range(n):
            taus = np.random.random() < 1.0 / 3.0  # Z -> tau tau: one of the three lepton flavours
            n_lep = 2
            if taus:
                n_lep = (np.random.random() < model.tau_to_lepton) + (np.random.random() < model.tau_to_lepton)
            np.random.random()  # the jet flavour
            checksum += n_lep
            if stage == 0:
                continue
            pt_hat = model.pt_hat_min * np.random.random() ** (-1.0 / model.spectrum_power)
            hard = pt_hat + model.half_leg_mass
            n_isr = min(np.random.poisson(model.isr_strength * math.log1p(hard / 20.0)), isr_pt.size)
            hi = 1.0 / (hard * hard)
            isr_sum = 0.0
            for k in range(n_isr):
                isr_pt[k] = 1.0 / math.sqrt(lo + np.random.random() * (hi - lo))
                isr_sum += isr_pt[k]
            tail = 0.0
            if np.random.random() < C.DM_GEN_MISMEASURED_EVENT_PROBABILITY:
                tail = abs(gauss()) * C.DM_GEN_JET_TAIL_WIDTH
            y_z, y_jet = model.rapidity_width * gauss(), model.rapidity_width * gauss()
            forward = abs(y_z) > QUIET_ABS_Y_MAX or abs(y_jet) > QUIET_ABS_Y_MAX
            for k in range(n_isr):
                isr_y[k] = ISR_RAPIDITY_WIDTH * gauss()
                np.random.random()  # the ISR flavour
                forward |= abs(isr_y[k]) > QUIET_ABS_Y_MAX
            quiet = tail * (pt_hat + isr_sum) <= model.quiet_loss_max and not forward and not taus
            checksum += quiet
            if stage == 1:
                continue
            phi0 = np.random.uniform(-math.pi, math.pi)
            a = np.random.uniform(model.bw_lo, model.bw_hi)
            m_z = math.sqrt(max(C.M_Z_GEV**2 + C.M_Z_GEV * C.GAMMA_Z_GEV * math.tan(a), 0.0))
            for i, (y, m) in enumerate(((y_z, m_z), (y_jet, 0.0))):
                px, py = pt_hat * math.cos(phi0 + i * math.pi), pt_hat * math.sin(phi0 + i * math.pi)
                mt = math.sqrt(px * px + py * py + m * m)
                p4[i, 0], p4[i, 1], p4[i, 2], p4[i, 3] = mt * math.cosh(y), px, py, mt * math.sinh(y)
            _two_body(p4[0, 0], p4[0, 1], p4[0, 2], p4[0, 3], p4, 2)
            kind[1], kind[2], kind[3] = 0, 1, 1
            n_out = 4
            if taus:
                for t in (2, 3):
                    _two_body(p4[t, 0], p4[t, 1], p4[t, 2], p4[t, 3], p4, n_out)
                    kind[t], kind[n_out], kind[n_out + 1] = 2, 1, 2
                    n_out += 2
            for k in range(n_isr):
                a = np.random.uniform(-math.pi, math.pi)
                p4[n_out, 0] = isr_pt[k] * math.cosh(isr_y[k])
                p4[n_out, 1], p4[n_out, 2] = isr_pt[k] * math.cos(a), isr_pt[k] * math.sin(a)
                p4[n_out, 3] = isr_pt[k] * math.sinh(isr_y[k])
                kind[n_out] = 0
                n_out += 1
            best, victim = -1.0, -1
            if tail > 0.0:
                for i in range(1, n_out):
                    if kind[i] == 0:
                        u = np.random.random()
                        if u > best:
                            best, victim = u, i
            mx, my, sum_pt, ht, n_leptons = 0.0, 0.0, 0.0, 0.0, 0
            for i in range(1, n_out):
                if kind[i] == 2:
                    continue
                pt = math.hypot(p4[i, 1], p4[i, 2])
                abs_eta = abs(math.asinh(p4[i, 3] / pt))
                if abs_eta >= C.DM_GEN_CALORIMETER_ABS_ETA_MAX:
                    continue
                g = min(max(int((math.log(pt) - model.log_pt0) / model.dlog_pt), 0), n_sigma - 1)
                sigma = jet_sigma[g] if kind[i] == 0 else muon_sigma[g]
                r = 1.0 - tail if i == victim else 1.0 + sigma * _truncated_normal(C.DM_GEN_RESPONSE_TRUNCATION_SIGMA)
                p = pt * max(r, C.DM_GEN_RESPONSE_MIN)
                mx -= p * p4[i, 1] / pt
                my -= p * p4[i, 2] / pt
                sum_pt += p
                if kind[i] == 0 and p > C.DM_JET_PT_MIN_GEV and abs_eta < C.DM_JET_ABS_ETA_MAX:
                    ht += p
                if kind[i] == 1 and p > C.DM_MUON_PT_MIN_GEV and abs_eta < C.DM_MUON_ABS_ETA_MAX:
                    n_leptons += np.random.random() < C.DM_GEN_MUON_EFFICIENCY
            soft = math.sqrt(C.DM_GEN_MET_SOFT_TERM_GEV**2 + C.DM_GEN_MET_SOFT_STOCHASTIC_SQRTGEV**2 * sum_pt)
            met = math.hypot(mx + soft * gauss(), my + soft * gauss())
            n_pass += n_leptons >= model.n_leptons_min and ht >= model.ht_min and met >= model.met_min
        return n_pass, checksum

    return _multijet_sketch, _z_jets_sketch


@dataclass
class Counts:
    """Events of the dominant process per selected event, its share of the channel and the generator's cost."""

    raw: float
    lep: float
    sim: float
    share: float
    generator_us: float
    write_us: float


def generator_counts(gen: DMGenerator, key: str, n_raw: int, calls: int, seed: int) -> Counts:
    """Run the generator's own stages for its process ``key`` (generation, detector, selection), then the whole
    channel (for the share of ``key`` and the cost of the CSV text)."""
    src = next(s for s in gen.background if s.label == key)
    rng = np.random.default_rng(seed)
    truth = generate_truth(src.process, 10_000, rng, src.cuts)  # compile and warm up
    simulate_detector(truth.particles, truth.tail, rng)
    n_sim = n_sel = 0
    cpu = 0.0
    for _ in range(calls):
        t0 = time.process_time()
        truth = generate_truth(src.process, n_raw, rng, src.cuts)
        reco = simulate_detector(truth.particles, truth.tail, rng)
        n_sel += int(gen.channel.passes(reco.summary).sum())
        cpu += time.process_time() - t0
        n_sim += len(truth)
    nodes = [(f"L{i}", leg) for i, leg in enumerate(src.process.legs)]
    nodes += [(f"X{i}", x.particle) for i, x in enumerate(src.process.extras)]
    _, _, passing = draw_decays(nodes, n_raw, rng, src.cuts.min_leptons)
    write_s, n_written = 0.0, 0
    for events in gen.batches():  # the channel's mixture: the share of the dominant process, the CSV cost
        t0 = time.process_time()
        format_csv(events)
        write_s += time.process_time() - t0
        n_written += len(events)
    selected = {k: p["n_selected"] for k, p in gen.provenance["processes"].items()}
    n_raw_total = n_raw * calls
    return Counts(raw=n_raw_total / n_sel, lep=passing.size / n_raw * n_raw_total / n_sel, sim=n_sim / n_sel,
                  share=selected[key] / sum(selected.values()), generator_us=1e6 * cpu / n_sel,
                  write_us=1e6 * write_s / n_written)


def _seconds(fn, *args) -> float:
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0


def sketch_costs(channel: str, gauss, tables: tuple, n: int, seed: int) -> tuple[float, float, float]:
    """Optimistic cost (s) per event of the sketch's stages: generated, passing the lepton cut, simulated
    (``tables``: :func:`sketch_model`)."""
    multijet, z_jets = build_sketches(gauss)
    if channel == "3":
        multijet(100, seed, 1, *tables)
        t0, t1 = (_seconds(multijet, n, seed, stage, *tables) for stage in range(2))
        return t0 / n, 0.0, (t1 - t0) / n
    z_jets(100, seed, 2, *tables)
    t0, t1, t2 = (_seconds(z_jets, n, seed, stage, *tables) for stage in range(3))
    return t0 / n, (t1 - t0) / n, (t2 - t1) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", default="2b,3")
    parser.add_argument("--raw", type=int, default=1_000_000, help="generated events per call of the generator")
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--sketch-events", type=int, default=4_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for channel in args.channels.split(","):
        channel = channel.strip()
        key = DOMINANT[channel]
        gen = DMGenerator(DMGeneratorConfig(channel=channel, n_events=20_000, seed=args.seed))
        tables = sketch_model(next(s for s in gen.background if s.label == key), gen.channel)
        c = generator_counts(gen, key, args.raw, args.calls, args.seed)
        print(f"channel {channel}: {key} is {100 * c.share:.1f}% of the selected events; per selected {key} event "
              f"the generator makes {c.raw:,.0f} events ({c.lep:,.0f} with enough leptons, {c.sim:,.0f} "
              f"simulated) and takes {c.generator_us:,.0f} us of CPU")
        for label, gauss in (("numba's Gaussians", _numba_gauss), ("Gaussians at the cost of a uniform",
                                                                   _uniform_cost_gauss)):
            raw_s, lep_s, sim_s = sketch_costs(channel, gauss, tables, args.sketch_events, args.seed)
            floor_us = 1e6 * (c.raw * raw_s + c.lep * lep_s + c.sim * sim_s)
            per_event_us = floor_us * c.share + c.write_us
            print(f"    sketch with {label}: {1e9 * raw_s:.0f} ns per generated event, {1e9 * lep_s:.0f} ns per "
                  f"event with enough leptons, {1e9 * sim_s:.0f} ns per simulated event")
            print(f"        floor {floor_us:,.0f} us per selected {key} event, {c.write_us:.1f} us per event for the "
                  f"CSV text = {per_event_us:.1f} us per channel-{channel} event -> at most "
                  f"{60.0 / per_event_us:.2f} M/min before the other processes (goal {GOAL_PER_MINUTE / 1e6:.0f}); "
                  f"the generator takes {c.generator_us / floor_us:.1f}x the floor")


if __name__ == "__main__":
    main()
