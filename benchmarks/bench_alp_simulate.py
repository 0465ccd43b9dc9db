"""Benchmark of the ALP simulation (hepbump.alp.simulate) on one core.

Prints
1. the goal point: time for >= 1M accepted signal events at m_a = 1 GeV, c tau/m = 1 m/GeV (goal: <= 60 s);
2. a reference measured in the same run: the same code driven one candidate at a time (``chunk_size=1``, a
   per-event loop), and the speed-up of the vectorised chunks over it;
3. acceptance (accepted / B -> K a candidates, decay probability included) and throughput on a grid across the
   prior, each point limited to a candidate budget (points that hit it are marked "capped").

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_alp_simulate.py [--events 1000000]``
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from hepbump.alp.bmesons import load_bmeson_table  # noqa: E402
from hepbump.alp.simulate import AcceptanceCapWarning, SimulationConfig, simulate_signal  # noqa: E402


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="accepted events at the goal point")
    parser.add_argument("--loop-candidates", type=int, default=3_000, help="candidates for the per-event reference")
    parser.add_argument("--grid-events", type=int, default=20_000, help="accepted events per grid point")
    parser.add_argument("--grid-budget", type=int, default=10_000_000, help="candidate budget per grid point")
    args = parser.parse_args()

    load_bmeson_table()  # load (and cache) the package table outside the timings
    simulate_signal(1.0, 1.0, 1000, seed=0)  # warm-up

    ev, dt = _timed(simulate_signal, 1.0, 1.0, args.events, seed=1)
    s = ev.stats
    print(
        f"goal point m_a = 1 GeV, c tau/m = 1 m/GeV: {len(ev):,} accepted events in {dt:.1f} s "
        f"({len(ev) / dt:,.0f} events/s, {s.n_candidates / dt:,.0f} candidates/s, acceptance {s.acceptance:.4f}); "
        f"goal <= 60 s: {'met' if dt <= 60 and len(ev) >= 1_000_000 else 'NOT met'}"
    )

    # Reference: the same pipeline, one candidate per call (a per-event loop).
    loop_cfg = SimulationConfig(chunk_size=1, max_candidates=args.loop_candidates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AcceptanceCapWarning)
        ref, dt_ref = _timed(simulate_signal, 1.0, 1.0, args.events, seed=2, config=loop_cfg)
    rate_ref = ref.stats.n_candidates / dt_ref
    print(
        f"reference per-event loop (chunk_size=1): {rate_ref:,.0f} candidates/s; "
        f"vectorised / loop = {s.n_candidates / dt / rate_ref:,.0f}x"
    )

    masses = [0.1, 0.3, 1.0, 2.0, 4.5]
    ctaus = [0.05, 0.5, 5.0, 50.0, 500.0]
    print(
        f"\nacceptance and throughput across the prior ({args.grid_events:,} events or "
        f"{args.grid_budget:,} candidates per point)"
    )
    print(
        f"{'m_a [GeV]':>9} {'ctau/m [m/GeV]':>14} {'acceptance':>11} {'events':>8} {'time [s]':>8} "
        f"{'events/s':>10} {'cand./s':>11}"
    )
    cfg = SimulationConfig(max_candidates=args.grid_budget)
    total_events, total_time = 0, 0.0
    for m in masses:
        for c in ctaus:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", AcceptanceCapWarning)
                ev, dt = _timed(simulate_signal, m, c, args.grid_events, seed=3, config=cfg)
            capped = " capped" if any(issubclass(w.category, AcceptanceCapWarning) for w in caught) else ""
            st = ev.stats
            total_events += len(ev)
            total_time += dt
            print(
                f"{m:9.2f} {c:14.2f} {st.acceptance:11.3e} {len(ev):8d} {dt:8.2f} {len(ev) / dt:10,.0f} "
                f"{st.n_candidates / dt:11,.0f}{capped}"
            )
    print(f"grid total: {total_events:,} events in {total_time:.1f} s ({total_events / total_time:,.0f} events/s)")
    print(f"numpy {np.__version__}; one process, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")


if __name__ == "__main__":
    main()
