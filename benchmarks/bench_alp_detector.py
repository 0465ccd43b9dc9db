"""Throughput of the ALP detector model: smearing, features and m_gg on one core, and the coffea processor.

Prints events per second for each step on synthetic photon pairs and, as a reference measured in the same
run, the time numpy alone needs to draw the same number of standard normal deviates (10 per event), so the
ratio shows the overhead of the physics around the random numbers. With ``--processor N`` it also simulates
N signal events (m_a = 1 GeV, c tau/m = 1 m/GeV) into a temporary ROOT file and times ``run_features`` with
the iterative and futures executors (reference: the library functions on the same events in memory).

    python benchmarks/bench_alp_detector.py [--events 1000000] [--repeat 3] [--processor 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hepbump.alp.detector import PhotonPair, smear, smearing_rng
from hepbump.alp.features import diphoton_mass, features


def _best_of(repeat: int, func) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def _synthetic_pairs(n: int, seed: int = 1) -> PhotonPair:
    rng = np.random.default_rng(seed)
    e1 = rng.uniform(5.0, 150.0, n)
    return PhotonPair(
        E1=e1,
        E2=e1 * rng.uniform(0.05, 1.0, n),
        x1=rng.uniform(-2, 2, n),
        y1=rng.uniform(-3, 3, n),
        x2=rng.uniform(-2, 2, n),
        y2=rng.uniform(-3, 3, n),
        theta1=rng.uniform(0.002, 0.06, n),
        theta2=rng.uniform(0.002, 0.06, n),
        phi1=rng.uniform(-np.pi, np.pi, n),
        phi2=rng.uniform(-np.pi, np.pi, n),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--processor", type=int, default=0, help="events for the processor benchmark (0: skip)")
    args = parser.parse_args()
    n = args.events
    truth = _synthetic_pairs(n)

    t_ref = _best_of(args.repeat, lambda: np.random.default_rng(0).standard_normal((n, 10)))
    t_smear = _best_of(args.repeat, lambda: smear(truth, "poor", smearing_rng(1, 0, 0)))
    measured = smear(truth, "poor", smearing_rng(1, 0, 0))
    t_feat = _best_of(args.repeat, lambda: features(measured))
    t_mass = _best_of(args.repeat, lambda: diphoton_mass(measured))
    total = t_smear + t_feat + t_mass

    print(f"ALP detector model, {n} events, best of {args.repeat}, one core")
    print(f"  reference: numpy standard_normal (n, 10)   {t_ref:7.3f} s  {n / t_ref / 1e6:6.2f} M events/s")
    for label, t in (
        ("smear (poor preset)", t_smear),
        ("features (n, 10)", t_feat),
        ("m_gg with vector", t_mass),
        ("total", total),
    ):
        print(f"  {label:40s} {t:7.3f} s  {n / t / 1e6:6.2f} M events/s  ({t / t_ref:4.1f} x reference)")
    if args.processor:
        _bench_processor(args.processor)


def _bench_processor(n: int) -> None:
    from hepbump.alp.detector import truth_photons
    from hepbump.alp.io import read_events, write_events
    from hepbump.alp.simulate import simulate_signal
    from processors.alp import run_features
    from processors.runner import RunOptions

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sig.root"
        write_events(path, simulate_signal(1.0, 1.0, n, seed=1))
        t0 = time.perf_counter()
        measured = smear(truth_photons(read_events(path)), "poor", smearing_rng(1, 0, 0))
        features(measured), diphoton_mass(measured)
        t_ref = time.perf_counter() - t0
        print(f"coffea processor on {n} simulated events (one ROOT file, chunks of 50000)")
        print(f"  reference: read_events + library in memory  {t_ref:7.3f} s  {n / t_ref / 1e6:6.2f} M events/s")
        for executor in ("iterative", "futures"):
            t0 = time.perf_counter()
            run_features([path], "poor", 1, options=RunOptions(executor=executor, workers=2, chunksize=50_000))
            t = time.perf_counter() - t0
            print(
                f"  run_features, {executor:9s} executor           {t:7.3f} s  {n / t / 1e6:6.2f} M events/s  "
                f"({t / t_ref:4.1f} x reference)"
            )


if __name__ == "__main__":
    main()
