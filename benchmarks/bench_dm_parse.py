"""Benchmark: Dark Machines CSV parsing and conversion speed (goal: >= 300k events/s on one core).

A sample is made with the DM-format generator (channel 2b and 3 events, realistic object multiplicities), tiled to
``--events`` lines and written in the real format. Then it is parsed with :func:`hepbump.darkmachines.format.read_csv`
(Arrow restricted to one thread), and, as the reference measured in the same run, with a plain per-line Python
parser (``str.split`` + ``float``) on the first ``--reference-events`` lines. Conversion to ROOT and Parquet is
timed too. Prints events/s and the ratio to the reference.

    python benchmarks/bench_dm_parse.py --events 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa

from hepbump.darkmachines.generate import DMGeneratorConfig, generate
from hepbump.darkmachines.format import build_events, categorical_parts, object_codes, read_csv
from hepbump.darkmachines.write import convert, format_csv


def make_sample(path: Path, n_events: int, seed: int) -> None:
    """Generated 2b + channel-3 events, tiled (renumbered) to ``n_events`` lines of DM CSV."""
    parts = [generate(DMGeneratorConfig(channel=ch, n_events=n, seed=seed))[0]
             for ch, n in (("2b", 15000), ("3", 5000))]
    base = ak.concatenate(parts)
    p_index, p_names = categorical_parts(base.process)
    counts = ak.to_numpy(ak.num(base.objects))
    flat = ak.flatten(base.objects)
    reps = -(-n_events // len(base))
    idx = np.tile(np.arange(len(base)), reps)[:n_events]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    n_obj = counts[idx]
    first_out = np.concatenate([[0], np.cumsum(n_obj)[:-1]])
    obj_idx = np.repeat(offsets[idx] - first_out, n_obj) + np.arange(int(n_obj.sum()))
    events = build_events(
        event=np.arange(n_events), process_index=p_index[idx], process_names=p_names,
        weight=ak.to_numpy(base.weight)[idx], met=ak.to_numpy(base.MET)[idx], metphi=ak.to_numpy(base.METphi)[idx],
        counts=counts[idx], code=object_codes(flat["type"])[obj_idx], energy=ak.to_numpy(flat.E)[obj_idx],
        pt=ak.to_numpy(flat.pt)[obj_idx], eta=ak.to_numpy(flat.eta)[obj_idx], phi=ak.to_numpy(flat.phi)[obj_idx],
    )
    with open(path, "wb") as f:
        for start in range(0, n_events, 200_000):
            f.write(format_csv(events[start : start + 200_000]))


def python_reference(path: Path, n_lines: int) -> float:
    """Seconds to parse ``n_lines`` lines with a per-line Python parser (no validation beyond float())."""
    t0 = time.perf_counter()
    with open(path) as f:
        for i, line in enumerate(f):
            if i >= n_lines:
                break
            fields = line.strip().rstrip(";").split(";")
            int(fields[0]), float(fields[2]), float(fields[3]), float(fields[4])
            for obj in fields[5:]:
                code, e, pt, eta, phi = obj.split(",")
                float(e), float(pt), float(eta), float(phi)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reference-events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        make_sample(path, args.events, args.seed)
        size = path.stat().st_size
        read_csv(path)  # warm-up (imports, tables)
        t0, c0 = time.perf_counter(), time.process_time()
        events = read_csv(path)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = len(events)
        n_obj = int(ak.sum(ak.num(events.objects)))
        print(f"sample: {n} events, {n_obj / n:.2f} objects/event, {size / n:.0f} bytes/event, {size / 1e6:.0f} MB")
        print(f"read_csv:          {n / wall:12,.0f} events/s wall  {n / cpu:12,.0f} events/s cpu  "
              f"({size / wall / 1e6:.0f} MB/s)  goal >= 300,000")
        n_ref = min(args.reference_events, n)
        ref = python_reference(path, n_ref)
        print(f"python per-line:   {n_ref / ref:12,.0f} events/s wall  (reference, {n_ref} lines)")
        print(f"speed-up over the per-line reference: {(n / wall) / (n_ref / ref):.1f}x")
        for suffix in (".root", ".parquet"):
            out = Path(tmp) / f"bench{suffix}"
            t0 = time.perf_counter()
            convert(path, out)
            dt = time.perf_counter() - t0
            print(f"convert -> {suffix:8s} {n / dt:12,.0f} events/s wall  ({out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
