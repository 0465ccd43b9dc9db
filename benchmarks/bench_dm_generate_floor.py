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
   spectrum. So their costs per event are optimistic. They run twice: with numba's Gaussian random numbers
   (39 ns each here, against 10 ns for a uniform one) and with every Gaussian replaced by a stand-in that costs
   one uniform number, which bounds what the fastest random-number generator could save. The stages are
   charged to the fewest events that need them: the first stage to every generated event, the latent variables
   of the quiet decision to the events passing the lepton cut (2b) or only to the simulated ones (3), and the
   kinematics and detector to the simulated ones.
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

import numba
import numpy as np

from hepbump import constants as C
from hepbump.generate import DMGeneratorConfig
from hepbump.generate.darkmachines import DMGenerator
from hepbump.generate.dm_detector import simulate_detector
from hepbump.generate.dm_model import draw_decays
from hepbump.generate.dm_processes import MAX_ISR_JETS, generate_truth
from hepbump.io.darkmachines_write import format_csv

#: The process that dominates each channel's CPU time (see the module docstring of hepbump.generate.darkmachines).
DOMINANT = {"3": "njets", "2b": "z_jets/ll"}
GOAL_PER_MINUTE = 1.0e6


@numba.njit(inline="always")
def _jet_resolution(pt):
    return math.sqrt((C.JET_NOISE_TERM_GEV / pt) ** 2 + C.JET_STOCHASTIC_TERM_SQRTGEV**2 / pt
                     + C.JET_CONSTANT_TERM**2)


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

def build_sketches(gauss):
    """The two sketches, compiled with ``gauss()`` as their Gaussian random number (numba's
    ``np.random.normal`` or :func:`_uniform_cost_gauss`): ``(multijet_sketch, z_jets_sketch)``."""
    @numba.njit(inline="always")
    def _truncated_normal(limit):
        while True:
            z = gauss()
            if abs(z) < limit:
                return z

    @numba.njit
    def _multijet_sketch(n, seed, full):
        """Multijets in channel 3: stage 0 (pT_hat, ISR, loose HT bound) for every event; with ``full`` also the
        tail, rapidities, azimuths, leg momenta and the detector response. Returns the number of events passing
        the channel selection and a checksum (keeps the compiler from dropping unused work)."""
        np.random.seed(seed)
        pt = np.zeros(2 + MAX_ISR_JETS)
        y = np.zeros(pt.size)
        phi = np.zeros(pt.size)
        lo = 15.0**-2
        n_pass, checksum = 0, 0.0
        for _ in range(n):
            pt_hat = 200.0 * np.random.random() ** (-1.0 / 4.5)
            n_isr = min(np.random.poisson(0.8 * math.log1p(pt_hat / 20.0)), MAX_ISR_JETS)
            hi = 1.0 / (pt_hat * pt_hat)
            loose = 0.0
            for k in range(n_isr):
                pt[2 + k] = 1.0 / math.sqrt(lo + np.random.random() * (hi - lo))
                loose += 1.25 * pt[2 + k]
            checksum += loose
            if not full:
                continue
            tail = 0.0
            if np.random.random() < C.DM_GEN_MISMEASURED_EVENT_PROBABILITY:
                tail = abs(gauss()) * C.DM_GEN_JET_TAIL_WIDTH
            m = 2 + n_isr
            qx, qy = 0.0, 0.0
            for k in range(m):
                y[k] = (1.4 if k < 2 else 1.8) * gauss()
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
                r = 1.0 - tail if i == victim else 1.0 + _jet_resolution(pt[i]) * _truncated_normal(5.0)
                p = pt[i] * max(r, C.DM_GEN_RESPONSE_MIN)
                mx -= p * math.cos(phi[i])
                my -= p * math.sin(phi[i])
                sum_pt += p
                if p > C.DM_JET_PT_MIN_GEV and abs(y[i]) < C.DM_JET_ABS_ETA_MAX:
                    ht += p
            soft = math.sqrt(C.DM_GEN_MET_SOFT_TERM_GEV**2 + C.DM_GEN_MET_SOFT_STOCHASTIC_SQRTGEV**2 * sum_pt)
            met = math.hypot(mx + soft * gauss(), my + soft * gauss())
            n_pass += ht >= 600.0 and met >= 100.0
        return n_pass, checksum

    @numba.njit
    def _z_jets_sketch(n, seed, stop):
        """Z(-> ee, mumu, tautau) + jet in channel 2b: stage 0 (decay choices) for every event; ``stop`` >= 1 also
        pT_hat, ISR, tail, rapidities and the quiet decision; ``stop`` = 2 also the kinematics (Breit-Wigner Z,
        Z -> l l, tau -> l nu) and the detector response (counts the events passing)."""
        np.random.seed(seed)
        p4 = np.zeros((16, 4))
        kind = np.zeros(16, np.int64)  # 0 jet, 1 lepton, 2 neutrino
        isr_pt = np.zeros(MAX_ISR_JETS)
        isr_y = np.zeros(isr_pt.size)
        lo = 15.0**-2
        n_pass, checksum = 0, 0.0
        for _ in range(n):
            taus = np.random.random() < 1.0 / 3.0
            n_lep = 2
            if taus:
                n_lep = (np.random.random() < 0.35) + (np.random.random() < 0.35)
            np.random.random()  # the jet flavour
            checksum += n_lep
            if stop == 0:
                continue
            pt_hat = 10.0 * np.random.random() ** (-1.0 / 2.7)
            hard = pt_hat + 0.5 * C.M_Z_GEV
            n_isr = min(np.random.poisson(0.6 * math.log1p(hard / 20.0)), isr_pt.size)
            hi = 1.0 / (hard * hard)
            isr_sum = 0.0
            for k in range(n_isr):
                isr_pt[k] = 1.0 / math.sqrt(lo + np.random.random() * (hi - lo))
                isr_sum += isr_pt[k]
            tail = 0.0
            if np.random.random() < C.DM_GEN_MISMEASURED_EVENT_PROBABILITY:
                tail = abs(gauss()) * C.DM_GEN_JET_TAIL_WIDTH
            y_z, y_jet = 1.2 * gauss(), 1.2 * gauss()
            forward = abs(y_z) > 4.0 or abs(y_jet) > 4.0
            for k in range(n_isr):
                isr_y[k] = 1.8 * gauss()
                np.random.random()  # the ISR flavour
                forward |= abs(isr_y[k]) > 4.0
            quiet = tail * (pt_hat + isr_sum) <= 10.0 and not forward and not taus
            checksum += quiet
            if stop == 1:
                continue
            phi0 = np.random.uniform(-math.pi, math.pi)
            m_z = math.sqrt(max(C.M_Z_GEV**2 + C.M_Z_GEV * C.GAMMA_Z_GEV * math.tan(np.random.uniform(-1.5, 1.5)), 0.0))
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
                sigma = _jet_resolution(pt) if kind[i] == 0 else math.sqrt(0.01**2 + (1e-4 * pt) ** 2)
                r = 1.0 - tail if i == victim else 1.0 + sigma * _truncated_normal(5.0)
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
            n_pass += n_leptons >= 2 and ht >= 50.0 and met >= 50.0
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


def generator_counts(channel: str, key: str, n_raw: int, calls: int, seed: int) -> Counts:
    """Run the generator's own stages for the process ``key`` of ``channel`` (generation, detector, selection)."""
    gen = DMGenerator(DMGeneratorConfig(channel=channel, n_events=20_000, seed=seed))
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


def sketch_costs(channel: str, gauss, n: int, seed: int) -> tuple[float, float, float]:
    """Optimistic cost (s) per event of the sketch's stages: generated, passing the lepton cut, simulated."""
    multijet, z_jets = build_sketches(gauss)
    if channel == "3":
        multijet(100, seed, True)
        t0, t2 = _seconds(multijet, n, seed, False), _seconds(multijet, n, seed, True)
        return t0 / n, 0.0, (t2 - t0) / n
    z_jets(100, seed, 2)
    t0, t1, t2 = (_seconds(z_jets, n, seed, stop) for stop in range(3))
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
        c = generator_counts(channel, key, args.raw, args.calls, args.seed)
        print(f"channel {channel}: {key} is {100 * c.share:.1f}% of the selected events; per selected {key} event "
              f"the generator makes {c.raw:,.0f} events ({c.lep:,.0f} with enough leptons, {c.sim:,.0f} "
              f"simulated) and takes {c.generator_us:,.0f} us of CPU")
        for label, gauss in (("numba's Gaussians", _numba_gauss), ("Gaussians at the cost of a uniform",
                                                                   _uniform_cost_gauss)):
            raw_s, lep_s, sim_s = sketch_costs(channel, gauss, args.sketch_events, args.seed)
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
