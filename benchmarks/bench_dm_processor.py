"""Throughput of the Dark Machines histogramming: the full coffea processor on generated channel-2b and -3 samples.

For each channel, generates a sample with the DM-format generator (:mod:`hepbump.darkmachines.generate.generator`),
writes it as a ROOT ``Events`` tree, and measures

* the reference: coffea's Runner with a processor that only reads the needed branches (I/O and unpacking);
* the library stages on the whole sample in memory: objects, categories, filling, assembly;
* a ``hist`` baseline of the filling: the same invariant masses (computed as in
  :mod:`hepbump.darkmachines.fill`) filled with ``hist.Hist.fill`` into one ``hist.Hist`` per base category and
  combination (a growing cell axis times the resolution-binned mass axis, Weight storage), against
  :func:`hepbump.darkmachines.fill.fill_chunk` (binning with ``searchsorted`` into a sparse accumulator);
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
import hist
import numpy as np
from coffea import processor
from coffea.nanoevents import BaseSchema

from hepbump.darkmachines.categories import classify_events
from hepbump.darkmachines.fill import _inputs, _plan, fill_chunk
from hepbump.darkmachines.format import PROCESS_NAMES
from hepbump.darkmachines.generate.generator import DMGeneratorConfig, generate
from hepbump.darkmachines.histograms import HistogramConfig, assemble
from hepbump.darkmachines.objects import build_objects, required_branches
from hepbump.darkmachines.write import write_events
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


def hist_fill_baseline(objects, classes) -> dict[str, hist.Hist]:
    """The masses of :func:`hepbump.darkmachines.fill.fill_chunk` (same combinations, same selections), filled
    into ``hist.Hist`` objects with ``.fill``: one histogram per (base category, combination), axes (cell, mass)."""
    weight = ak.to_numpy(objects["weight"]).astype(np.float64)
    vectors, charges, met_p4 = _inputs(objects)
    has_b = classes.n_b >= 1
    out: dict[str, hist.Hist] = {}
    for code in np.unique(classes.base_code).tolist():
        rows = np.flatnonzero(classes.base_code == code)
        w, cells, b_rows = weight[rows], classes.cell[rows], has_b[rows]
        sums: dict = {}

        def p4(objs, rows=rows, sums=sums):
            found = sums.get(objs)
            if found is None:
                found = vectors[objs[0][0]][rows, objs[0][1]] if len(objs) == 1 else p4(objs[:-1]) + p4(objs[-1:])
                sums[objs] = found
            return found

        for step in _plan(code):
            if step.flavour_aware and not b_rows.any():
                continue
            total = p4(step.objects)
            if step.met:
                total = total + met_p4[rows]
            m2 = total[:, 3] ** 2 - total[:, 0] ** 2 - total[:, 1] ** 2 - total[:, 2] ** 2
            keep = ~np.isnan(m2)
            if step.flavour_aware:
                keep &= b_rows
            if step.dilepton is not None:
                t, i0, i1, opposite = step.dilepton
                q = charges[t][rows]
                keep &= (q[:, i0] * q[:, i1] < 0) == opposite
            if not keep.any():
                continue
            h = hist.Hist(
                hist.axis.IntCategory([], growth=True), hist.axis.Variable(step.edges), storage=hist.storage.Weight()
            )
            h.fill(cells[keep], np.sqrt(np.maximum(m2[keep], 0.0)), weight=w[keep])
            out[step.name] = h
    return out


def _in_range_sum(acc) -> float:
    return float(sum(values[:, 0].sum() for _, _, values in acc["hists"].blocks()))


def bench_channel(channel: str, n_events: int, chunksize: int, directory: Path) -> None:
    print(f"\n=== channel {channel}: {n_events} generated events ===")
    (events, _), t_gen = _timed(lambda: generate(DMGeneratorConfig(channel=channel, n_events=n_events, seed=1)))
    path = directory / f"dm_{channel}.root"
    write_events(events, path)
    n = len(events)
    print(f"generated and wrote {n} events in {t_gen:.1f} s")

    fileset = {channel: [str(path)]}
    ref, t_ref = _timed(
        lambda: processor.Runner(
            executor=processor.IterativeExecutor(status=False),
            schema=BaseSchema,
            chunksize=chunksize,
        )(fileset, _ReadOnly(), treename="Events")
    )
    print(f"reference, read + unpack only (iterative): {t_ref:.2f} s = {n / t_ref:,.0f} events/s")

    import uproot  # noqa: PLC0415

    with uproot.open(path) as f:
        data = f["Events"].arrays(list(required_branches()) + ["processID"])
    objects, t_obj = _timed(lambda: build_objects(data))
    classes, t_cls = _timed(lambda: classify_events(objects))
    acc, t_fill_cold = _timed(lambda: fill_chunk(objects, classes, ak.to_numpy(data.processID), PROCESS_NAMES))
    _, t_fill = _timed(lambda: fill_chunk(objects, classes, ak.to_numpy(data.processID), PROCESS_NAMES))
    result, t_asm = _timed(lambda: assemble(acc, HistogramConfig(channel=channel)))
    hists, t_hist = _timed(lambda: hist_fill_baseline(objects, classes))
    hist_sum = sum(float(h.values().sum()) for h in hists.values())
    assert abs(hist_sum - _in_range_sum(acc)) <= 1e-9 * max(1.0, hist_sum), (hist_sum, _in_range_sum(acc))
    print(
        f"filling: hepbump fill_chunk {t_fill:.2f} s, hist.Hist.fill baseline {t_hist:.2f} s "
        f"({len(hists):,} hist.Hist objects): hepbump is {t_hist / t_fill:.1f} x faster"
    )
    entries = len(acc["hists"])
    print(
        f"accumulator: {entries:,} (histogram, cell, bin) entries = {entries * 24 / 1e6:.1f} MB "
        f"({entries / n:.2f} per event; peak RSS so far {_peak_rss_mb():.0f} MB)"
    )
    print(
        f"stages in memory, one core: objects {t_obj:.2f} s, categories {t_cls:.2f} s, "
        f"filling {t_fill:.2f} s ({t_fill_cold:.2f} s with the first-use combination plans), "
        f"assembly {t_asm:.2f} s"
    )

    config = HistogramConfig(channel=channel)
    _, t_it = _timed(lambda: run_histograms(fileset, config, RunOptions(chunksize=chunksize, progress=False)))
    futures = RunOptions(executor="futures", workers=2, chunksize=max(1, min(chunksize, n // 4)), progress=False)
    res2, t_fu = _timed(lambda: run_histograms(fileset, config, futures))
    print(
        f"full processor, iterative: {t_it:.2f} s = {n / t_it:,.0f} events/s "
        f"({t_it / t_ref:.1f} x the read-only reference)"
    )
    print(f"full processor, futures on 2 workers: {t_fu:.2f} s = {n / t_fu:,.0f} events/s")
    print(
        f"from the measured iterative rate: {CHANNEL_3_EVENTS:,} events in ~{CHANNEL_3_EVENTS / n * t_it / 60:.1f} "
        "min on one core"
    )
    per_event = (t_ref + t_obj + t_cls + t_fill) / n
    minutes = per_event * CHANNEL_3_EVENTS / 2 / 60
    print(
        f"extrapolation to {CHANNEL_3_EVENTS:,} events on 2 cores (reading + objects + categories + filling "
        f"at the one-core rate measured here, split over 2 workers): ~{minutes:.1f} min, plus the assembly "
        f"(here {t_asm:.1f} s; it grows with the number of histograms considered, not with events)"
    )
    s = res2.summary
    print(
        f"categories: {s['n_base_categories']} base categories, {s['n_kinematic_categories']} kinematic "
        f"categories and {s['n_subcategories']} jet subcategories with >= 100 events; "
        f"{s['n_histograms']} histograms kept of {s['n_histograms_considered']} considered"
    )
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
