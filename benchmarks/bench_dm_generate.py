"""Benchmark: DM-format generator throughput per channel (goal: >= 1M events per minute on one core), and the
validation of its generation cuts.

Throughput: for each channel, ``--events`` SM events are generated and written to a DM CSV file (the path of
``hepbump dm generate``); events per minute are given in CPU time of this process and in wall time, with the
luminosity the sample corresponds to and the DM yield per 10 fb^-1 for comparison (DM: channel 2b 340k, channel 3
8.5M events per 10 fb^-1, BumpNet paper section 2.2.2).

``--validate-cuts``: generates without the approximate generation cuts (the pT_hat cut of the HT >= 600 GeV
channels and the pT_hat cut on "quiet" events) and reports, per process, the fraction of selected events that those
cuts would have removed.

    python benchmarks/bench_dm_generate.py --channels 2b,3 --events 100000
    python benchmarks/bench_dm_generate.py --validate-cuts --channels 3 --events 20000
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from hepbump.darkmachines.generate import DMGeneratorConfig, write_sample
from hepbump.darkmachines.generate.generator import DMGenerator

DM_YIELD_PER_10_FB = {"2b": 340_000, "3": 8_500_000}


def throughput(channel: str, n_events: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"dm_{channel}.csv"
        t0, c0 = time.perf_counter(), time.process_time()
        prov = write_sample(DMGeneratorConfig(channel=channel, n_events=n_events, seed=seed), out)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = out.stat().st_size
    n = prov["n_events"]
    lumi = prov["luminosity_pb"]
    per_10fb = n / lumi * 1e4
    dm = DM_YIELD_PER_10_FB.get(channel)
    ref = f" (DM: {dm:,})" if dm else ""
    rate_cpu, rate_wall = 60 * n / cpu / 1e6, 60 * n / wall / 1e6
    print(
        f"channel {channel:4s}: {n:9,d} events, {rate_cpu:6.3f} M/min cpu, {rate_wall:6.3f} M/min wall (goal 1), "
        f"{size / n:.0f} bytes/event; L = {lumi / 1000:.3g} fb^-1, {per_10fb:,.0f} events per 10 fb^-1{ref}"
    )
    total = sum(p["n_selected"] for p in prov["processes"].values())
    mix = sorted(prov["processes"].items(), key=lambda kv: -kv[1]["n_selected"])
    print(
        "    composition: "
        + ", ".join(f"{k} {100 * v['n_selected'] / total:.1f}%" for k, v in mix[:6] if v["n_selected"])
    )


def validate(channel: str, n_events: int, seed: int) -> None:
    gen = DMGenerator(DMGeneratorConfig(channel=channel, n_events=n_events, seed=seed, generation_cuts=False))
    c0 = time.process_time()
    for _ in gen.batches():
        pass
    prov = gen.provenance
    cpu = time.process_time() - c0
    print(f"channel {channel}: {prov['n_events']} events without generation cuts ({cpu:.0f} s cpu)")
    total_sel = sum(p["n_selected"] for p in prov["processes"].values())
    total_cut = sum(p["n_selected_in_cut_region"] for p in prov["processes"].values())
    for name, p in sorted(prov["processes"].items(), key=lambda kv: -kv[1]["n_selected"]):
        if not p["n_selected"]:
            continue
        k, m = p["n_selected_in_cut_region"], p["n_selected"]
        print(
            f"    {name:12s} selected {m:8d}, in the cut region {k:6d} = {100 * k / m:6.3f}% "
            f"(+- {100 * math.sqrt(max(k, 1)) / m:.3f}%)"
        )
    frac, err = total_cut / max(total_sel, 1), math.sqrt(max(total_cut, 1)) / max(total_sel, 1)
    print(
        f"    all          selected {total_sel:8d}, in the cut region {total_cut:6d} = "
        f"{100 * frac:6.3f}% (+- {100 * err:.3f}%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", default="2b,3")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--validate-cuts", action="store_true")
    args = parser.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    for channel in args.channels.split(","):
        (validate if args.validate_cuts else throughput)(channel.strip(), args.events, args.seed)


if __name__ == "__main__":
    main()
