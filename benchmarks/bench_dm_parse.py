"""Benchmark: Dark Machines CSV parsing and conversion speed on one core.

A sample is made with the DM-format generator (channel 2b and 3 events, realistic object multiplicities), tiled to
``--events`` lines and written in the real format. Then it is parsed with :func:`hepbump.darkmachines.format.read_csv`
(Arrow restricted to one thread) and, as references measured in the same run,

* a pyarrow-only baseline on the whole file: ``pyarrow.csv.read_csv`` reads every line as one string column,
  ``pyarrow.compute.split_pattern`` splits it on ``;`` and the objects on ``,``, and ``pyarrow.compute.cast``
  parses the numbers (no validation, no error messages, no awkward array at the end);
* :func:`hepbump.darkmachines.parse.parse_chunk` alone on the file's blocks, as ``read_csv`` reads them (the
  tokenizer and validator without building the awkward array), the like-for-like comparison with the pyarrow baseline;
* a plain per-line Python parser (``str.split`` + ``float``) on the first ``--reference-events`` lines.

Conversion to ROOT and Parquet is timed too. Prints events/s (CPU times: best of ``--repeats`` runs after a warm-up)
and the ratios to the references.

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
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from hepbump.darkmachines.format import (
    DEFAULT_CHUNK_BYTES,
    _raw_blocks,
    build_events,
    categorical_parts,
    object_codes,
    read_csv,
)
from hepbump.darkmachines.generate import DMGeneratorConfig, generate
from hepbump.darkmachines.parse import OBJECT_CODES, parse_chunk
from hepbump.darkmachines.write import convert, format_csv


def make_sample(path: Path, n_events: int, seed: int) -> None:
    """Generated 2b + channel-3 events, tiled (renumbered) to ``n_events`` lines of DM CSV."""
    parts = [
        generate(DMGeneratorConfig(channel=ch, n_events=n, seed=seed))[0] for ch, n in (("2b", 15000), ("3", 5000))
    ]
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
        event=np.arange(n_events),
        process_index=p_index[idx],
        process_names=p_names,
        weight=ak.to_numpy(base.weight)[idx],
        met=ak.to_numpy(base.MET)[idx],
        metphi=ak.to_numpy(base.METphi)[idx],
        counts=counts[idx],
        code=object_codes(flat["type"])[obj_idx],
        energy=ak.to_numpy(flat.E)[obj_idx],
        pt=ak.to_numpy(flat.pt)[obj_idx],
        eta=ak.to_numpy(flat.eta)[obj_idx],
        phi=ak.to_numpy(flat.phi)[obj_idx],
    )
    with open(path, "wb") as f:
        for start in range(0, n_events, 200_000):
            f.write(format_csv(events[start : start + 200_000]))


def python_reference(path: Path, n_lines: int) -> float:
    """CPU seconds to parse ``n_lines`` lines with a per-line Python parser (no validation beyond float())."""
    t0 = time.process_time()
    with open(path) as f:
        for i, line in enumerate(f):
            if i >= n_lines:
                break
            fields = line.strip().rstrip(";").split(";")
            int(fields[0]), float(fields[2]), float(fields[3]), float(fields[4])
            for obj in fields[5:]:
                code, e, pt, eta, phi = obj.split(",")
                float(e), float(pt), float(eta), float(phi)
    return time.process_time() - t0


def pyarrow_baseline(path: Path) -> dict[str, pa.Array]:
    """Parse the file with pyarrow alone: lines -> ``;`` fields -> header columns and ``,`` object fields, cast.

    Returns flat columns (MeV, as in the file): event, process, weight, MET, METphi, counts, code, E, pt, eta, phi.
    """
    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(column_names=["line"]),
        parse_options=pa_csv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False),
        convert_options=pa_csv.ConvertOptions(column_types={"line": pa.string()}),
    )
    fields = pc.split_pattern(pc.utf8_rtrim(table.column("line"), characters=";"), ";").combine_chunks()
    offsets = fields.offsets.to_numpy()
    values = fields.values
    start = offsets[:-1]
    out = {
        "event": pc.cast(values.take(pa.array(start)), pa.int64()),
        "process": values.take(pa.array(start + 1)).dictionary_encode(),
    }
    for k, name in ((2, "weight"), (3, "MET"), (4, "METphi")):
        out[name] = pc.cast(values.take(pa.array(start + k)), pa.float64())
    out["counts"] = pa.array(np.diff(offsets) - 5)
    is_object = np.ones(len(values), dtype=bool)
    is_object[(start[:, None] + np.arange(5)).ravel()] = False
    parts = pc.split_pattern(values.filter(pa.array(is_object)), ",").flatten()
    out["code"] = pc.index_in(parts.take(pa.array(np.arange(0, len(parts), 5))), value_set=pa.array(OBJECT_CODES))
    for k, name in ((1, "E"), (2, "pt"), (3, "eta"), (4, "phi")):
        out[name] = pc.cast(parts.take(pa.array(np.arange(k, len(parts), 5))), pa.float64())
    return out


def best_cpu(func, repeats: int = 3) -> tuple[float, float, object]:
    """Best (wall, CPU) seconds of ``repeats`` calls of ``func`` (after one warm-up call), and its last result."""
    result = func()
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = func()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reference-events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="timings are the best of this many runs")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        make_sample(path, args.events, args.seed)
        size = path.stat().st_size
        wall, cpu, events = best_cpu(lambda: read_csv(path), args.repeats)
        n = len(events)
        n_obj = int(ak.sum(ak.num(events.objects)))
        print(f"sample: {n} events, {n_obj / n:.2f} objects/event, {size / n:.0f} bytes/event, {size / 1e6:.0f} MB")
        print(f"CPU times: best of {args.repeats}")
        print(
            f"read_csv:          {n / wall:12,.0f} events/s wall  {n / cpu:12,.0f} events/s cpu  "
            f"({size / wall / 1e6:.0f} MB/s)"
        )
        t_pa, c_pa, cols = best_cpu(lambda: pyarrow_baseline(path), args.repeats)
        assert len(cols["event"]) == n and len(cols["E"]) == n_obj
        assert np.allclose(cols["E"].to_numpy() / 1000.0, ak.to_numpy(ak.flatten(events.objects.E)))
        print(
            f"pyarrow baseline:  {n / t_pa:12,.0f} events/s wall  {n / c_pa:12,.0f} events/s cpu  "
            "(split + cast, no validation)"
        )
        print(f"read_csv speed / pyarrow baseline speed: {t_pa / wall:.2f} wall, {c_pa / cpu:.2f} cpu")
        blocks = list(_raw_blocks(path, DEFAULT_CHUNK_BYTES))
        _, c_tok, _ = best_cpu(lambda: [parse_chunk(block, path=path) for block in blocks], args.repeats)
        print(
            f"parse_chunk alone: {n / c_tok:12,.0f} events/s cpu  (tokenizer + validation, no awkward array); "
            f"speed / pyarrow baseline speed: {c_pa / c_tok:.2f} cpu"
        )
        n_ref = min(args.reference_events, n)
        ref = python_reference(path, n_ref)
        print(f"python per-line:   {n_ref / ref:12,.0f} events/s cpu   (reference, {n_ref} lines)")
        print(f"read_csv speed / per-line reference speed: {(n / cpu) / (n_ref / ref):.1f} cpu")
        for suffix in (".root", ".parquet"):
            out = Path(tmp) / f"bench{suffix}"
            t0 = time.perf_counter()
            convert(path, out)
            dt = time.perf_counter() - t0
            print(f"convert -> {suffix:8s} {n / dt:12,.0f} events/s wall  ({out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
