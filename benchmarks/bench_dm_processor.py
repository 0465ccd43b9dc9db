"""Throughput of the Dark Machines histogramming: the full coffea processor on generated channel-2b and -3 samples.

For each channel, generates a sample with the DM-format generator (:mod:`hepbump.darkmachines.generate.generator`), writes
it as a ROOT ``Events`` tree, and measures

* the reference: coffea's Runner with a processor that only reads the needed branches (I/O and unpacking);
* the library stages on the whole sample in memory: objects, categories, filling, assembly;
* the full processor (:func:`processors.darkmachines.run_histograms`) with the iterative executor and with the
  futures executor on 2 workers; events/s, the ratio to the read-only reference, and the extrapolation to the
  channel-3 scale of the BumpNet paper (8.5M events) on 2 cores.

It prints the numbers of base categories, jet subcategories and histograms produced.

    python benchmarks/bench_dm_processor.py [--events-2b 100000] [--events-3 100000] [--chunksize 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import awkward as ak
from coffea import processor
from coffea.nanoevents import BaseSchema

from hepbump.darkmachines.categories import classify_events
from hepbump.darkmachines.histograms import HistogramConfig, assemble
from hepbump.darkmachines.generate.generator import DMGeneratorConfig, generate
from hepbump.darkmachines.format import PROCESS_NAMES
from hepbump.darkmachines.write import write_events
from hepbump.darkmachines.fill import fill_chunk
from hepbump.darkmachines.objects import build_objects, required_branches
from processors.darkmachines import run_histograms
from processors.runner import RunOptions

CHANNEL_3_EVENTS = 8_500_000


class _ReadOnly(processor.ProcessorABC):
    """Reference: read and unpack the branches the real processor needs, nothing else."""

    def process(self, events):
        total = 0
        for name in required_branches():
            total += len(ak.flatten(events[name], axis=None))
        return {"values": total, "events": len(events)}

    def postprocess(self, accumulator):
        return accumulator


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(func):
    t0 = time.perf_counter()
    out = func()
    return out, time.perf_counter() - t0


def bench_channel(channel: str, n_events: int, chunksize: int, directory: Path) -> None:
    print(f"\n=== channel {channel}: {n_events} generated events ===")
    (events, _), t_gen = _timed(lambda: generate(DMGeneratorConfig(channel=channel, n_events=n_events, seed=1)))
    path = directory / f"dm_{channel}.root"
    write_events(events, path)
    n = len(events)
    print(f"generated and wrote {n} events in {t_gen:.1f} s")

    fileset = {channel: [str(path)]}
    ref, t_ref = _timed(lambda: processor.Runner(
        executor=processor.IterativeExecutor(status=False), schema=BaseSchema, chunksize=chunksize,
    )(fileset, _ReadOnly(), treename="Events"))
    print(f"reference, read + unpack only (iterative): {t_ref:.2f} s = {n / t_ref:,.0f} events/s")

    import uproot  # noqa: PLC0415

    with uproot.open(path) as f:
        data = f["Events"].arrays(list(required_branches()) + ["processID"])
    objects, t_obj = _timed(lambda: build_objects(data))
    classes, t_cls = _timed(lambda: classify_events(objects))
    acc, t_fill_cold = _timed(lambda: fill_chunk(objects, classes, ak.to_numpy(data.processID), PROCESS_NAMES))
    _, t_fill = _timed(lambda: fill_chunk(objects, classes, ak.to_numpy(data.processID), PROCESS_NAMES))
    result, t_asm = _timed(lambda: assemble(acc, HistogramConfig(channel=channel)))
    entries = len(acc["hists"])
    print(f"accumulator: {entries:,} (histogram, cell, bin) entries = {entries * 24 / 1e6:.1f} MB "
          f"({entries / n:.2f} per event; peak RSS so far {_peak_rss_mb():.0f} MB)")
    print(f"stages in memory, one core: objects {t_obj:.2f} s, categories {t_cls:.2f} s, "
          f"filling {t_fill:.2f} s ({t_fill_cold:.2f} s with the first-use combination plans), "
          f"assembly {t_asm:.2f} s")

    config = HistogramConfig(channel=channel)
    _, t_it = _timed(lambda: run_histograms(fileset, config, RunOptions(chunksize=chunksize, progress=False)))
    futures = RunOptions(executor="futures", workers=2, chunksize=max(1, min(chunksize, n // 4)), progress=False)
    res2, t_fu = _timed(lambda: run_histograms(fileset, config, futures))
    print(f"full processor, iterative: {t_it:.2f} s = {n / t_it:,.0f} events/s "
          f"({t_it / t_ref:.1f} x the read-only reference)")
    print(f"full processor, futures on 2 workers: {t_fu:.2f} s = {n / t_fu:,.0f} events/s")
    print(f"from the measured iterative rate: {CHANNEL_3_EVENTS:,} events in ~{CHANNEL_3_EVENTS / n * t_it / 60:.1f} "
          "min on one core")
    per_event = (t_ref + t_obj + t_cls + t_fill) / n
    minutes = per_event * CHANNEL_3_EVENTS / 2 / 60
    print(f"extrapolation to {CHANNEL_3_EVENTS:,} events on 2 cores (reading + objects + categories + filling "
          f"at the one-core rate measured here, split over 2 workers): ~{minutes:.1f} min, plus the assembly "
          f"(here {t_asm:.1f} s; it grows with the number of histograms considered, not with events)")
    s = res2.summary
    print(f"categories: {s['n_base_categories']} base categories, {s['n_kinematic_categories']} kinematic "
          f"categories and {s['n_subcategories']} jet subcategories with >= 100 events; "
          f"{s['n_histograms']} histograms kept of {s['n_histograms_considered']} considered")
    assert result.summary == res2.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-2b", type=int, default=100_000)
    parser.add_argument("--events-3", type=int, default=100_000)
    parser.add_argument("--chunksize", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for channel, n in (("2b", args.events_2b), ("3", args.events_3)):
            if n > 0:
                bench_channel(channel, n, args.chunksize, Path(tmp))


if __name__ == "__main__":
    main()
