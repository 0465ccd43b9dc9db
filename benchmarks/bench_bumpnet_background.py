"""BumpNet on background-only Dark Machines samples: false positives per histogram against the paper (section 4.2).

Per channel (2b, then 3) the script

1. generates background-only events with the DM-format generator (:func:`hepbump.darkmachines.generate.write_sample`,
   Parquet);
2. builds the mass histograms with the coffea processor (:func:`processors.darkmachines.run_histograms`). It runs
   with the bin criterion switched off (``min_bins=1``) and then keeps the histograms with at least
   ``HIST_MIN_BINS`` bins, which gives exactly the default selection (the two cuts of
   :func:`hepbump.darkmachines.massbins.passes_selection` are independent) and tells how many histograms each
   criterion removes;
3. scans them with BumpNet (:func:`hepbump.bumpnet.scan.scan_histograms`; the shipped weights or ``--model``);
4. runs the Global Analysis Algorithm (:func:`hepbump.bumpnet.gaa.run_gaa`, seed and member thresholds
   ``--threshold``);

and prints the events, histograms, histograms with ``Z_max >= threshold`` before and after the GAA, the rates per
histogram, the families and where the excesses sit, next to the paper's figures (25 of 8,104 histograms in 2b,
28 of 31,642 in channel 3; 18 and 9 after the GAA, in 4 and 3 families), with the rate ratios. For channel 2b
(``--breakdown``) it also breaks the histogram count down by category ingredient
(:mod:`hepbump.darkmachines.census`).

The paper's channel 3 has 8.5M events; the default here is 1M, because generating 8.5M takes about 45 minutes
on an idle core (~0.2M events/min; about 70 minutes on the loaded dev box, where 1M took 484 s and their
histograms 35 s). Rates per histogram are compared, not counts; at fewer events channel 3 also yields fewer
histograms.

    python benchmarks/bench_bumpnet_background.py [--events-2b 340000] [--events-3 1000000] [--seed 0]
        [--model WEIGHTS.pt] [--workdir DIR [--reuse]] [--threshold 5.0] [--threads 1] [--json OUT.json]

With ``--workdir DIR`` the histograms (``DIR/ch2b/histograms.root``, counts in ``histograms.json``), scan tables
(``scan.parquet``) and families (``families.json``) are kept (the event files are deleted once histogrammed);
``--reuse`` then skips generation and histogramming where ``histograms.root`` exists, so that only the scan and
the GAA are rerun (e.g. with new weights).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("bench_bumpnet_background")

CHANNEL_3_PAPER_EVENTS = 8_500_000


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-2b", type=int, default=340_000, help="Channel-2b events (paper: 340,000).")
    parser.add_argument(
        "--events-3",
        type=int,
        default=1_000_000,
        help="Channel-3 events (paper: 8,500,000, 45-70 min of generation on one core; 0 skips the channel).",
    )
    parser.add_argument("--seed", type=int, default=0, help="Generator seed (channel 3 uses seed + 1).")
    parser.add_argument("--model", type=Path, default=None, help="BumpNet weights (.pt); default: the shipped ones.")
    parser.add_argument("--workdir", type=Path, default=None, help="Keep the files here (default: a temporary dir).")
    parser.add_argument("--reuse", action="store_true", help="Reuse histograms.root files found in --workdir.")
    parser.add_argument("--threshold", type=float, default=5.0, help="Z_max threshold (and GAA thresholds).")
    parser.add_argument("--threads", type=int, default=1, help="torch and numba threads.")
    parser.add_argument("--breakdown", default="2b", help="Channels whose histogram count is broken down (comma list).")
    parser.add_argument("--chunksize", type=int, default=100_000, help="coffea chunk size (events).")
    parser.add_argument("--json", type=Path, default=None, help="Write all figures to this JSON file.")
    args = parser.parse_args(argv)
    if args.events_2b < 0 or args.events_3 < 0 or args.events_2b + args.events_3 == 0:
        parser.error("--events-2b and --events-3 must be >= 0, and not both 0")
    if args.reuse and args.workdir is None:
        parser.error("--reuse needs --workdir")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    return args


def _limit_threads(n: int) -> None:
    """Thread limits of the numerical libraries; effective only before they are imported."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(n)


def _model(path: Path | None) -> tuple[Any, dict[str, Any]]:
    """The BumpNet to scan with and a description: file, sha256, and the model card's training epoch."""
    from importlib import resources

    from hepbump.bumpnet.predict import PRETRAINED, load_pretrained
    from hepbump.bumpnet.train import load_checkpoint

    if path is None:
        weights = Path(str(resources.files("hepbump.data").joinpath("bumpnet", PRETRAINED["default"])))
        net = load_pretrained()
    else:
        weights = path
        net = load_checkpoint(path)[0].eval()
    info: dict[str, Any] = {"weights": str(weights), "shipped": path is None}
    info["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    card = weights.with_suffix(".card.json")
    if card.is_file():
        data = json.loads(card.read_text())
        info.update(epochs_trained=data.get("epochs_trained"), best_val_loss=data.get("best_val_loss"))
    info["parameters"] = sum(p.numel() for p in net.parameters())
    return net, info


def _histograms(channel: str, n_events: int, seed: int, directory: Path, chunksize: int) -> dict[str, Any]:
    """Generate events and build the selected histograms; write ``histograms.root`` and ``histograms.json``."""
    from hepbump import constants as C
    from hepbump.darkmachines.generate import DMGeneratorConfig, write_sample
    from hepbump.darkmachines.histograms import HistogramConfig
    from hepbump.io.rootio import write_histograms
    from processors.darkmachines import run_histograms
    from processors.runner import RunOptions

    events = directory / "events.parquet"
    t0 = time.perf_counter()
    provenance = write_sample(DMGeneratorConfig(channel=channel, n_events=n_events, seed=seed), events)
    t_gen = time.perf_counter() - t0
    log.info("channel %s: %d events generated in %.0f s", channel, n_events, t_gen)

    t0 = time.perf_counter()
    result = run_histograms(
        {channel: [str(events)]},
        HistogramConfig(channel=channel, min_bins=1),
        RunOptions(executor="iterative", chunksize=chunksize, progress=False),
    )
    n_bins = {name: h.axes[0].size for name, h in result.hists.items()}
    kept = [name for name in result.hists if n_bins[name] >= C.HIST_MIN_BINS]
    hists = {name: result.hists[name] for name in kept}
    metadata = {name: {**result.metadata[name], "n_bins": n_bins[name]} for name in kept}
    t_hist = time.perf_counter() - t0
    write_histograms(directory / "histograms.root", hists, metadata)
    info = {
        "channel": channel,
        "n_events": n_events,
        "seed": seed,
        "luminosity_pb": provenance.get("luminosity_pb"),
        "summary": result.summary,
        "selection": {
            "considered": result.summary["n_histograms_considered"],
            "min_events": len(result.hists),
            "min_events_and_bins": len(kept),
            "min_events_value": C.HIST_MIN_EVENTS,
            "min_bins_value": C.HIST_MIN_BINS,
        },
        "seconds": {"generate": t_gen, "histograms": t_hist},
    }
    (directory / "histograms.json").write_text(json.dumps(info, indent=1) + "\n")
    events.unlink()  # the histograms are what is reused; the events are large
    log.info("channel %s: %d histograms in %.0f s (%s)", channel, len(kept), t_hist, result.summary)
    return {"info": info, "hists": hists, "metadata": metadata}


def _load_histograms(directory: Path) -> dict[str, Any]:
    from hepbump.io.rootio import read_histograms, read_metadata

    info = json.loads((directory / "histograms.json").read_text())
    hists = read_histograms(directory / "histograms.root")
    log.info("reusing %d histograms of %s", len(hists), directory / "histograms.root")
    return {"info": info, "hists": hists, "metadata": read_metadata(directory / "histograms.root")}


def _run_channel(channel: str, n_events: int, seed: int, args: argparse.Namespace, net, workdir: Path):
    from hepbump.bumpnet.falsepos import summarize_false_positives
    from hepbump.bumpnet.gaa import GAAConfig, run_gaa
    from hepbump.bumpnet.scan import scan_histograms

    directory = workdir / f"ch{channel}"
    directory.mkdir(parents=True, exist_ok=True)
    if args.reuse and (directory / "histograms.root").is_file() and (directory / "histograms.json").is_file():
        made = _load_histograms(directory)
        if made["info"].get("n_events") != n_events or made["info"].get("seed") != seed:
            old = made["info"]
            log.warning("channel %s: reusing histograms of %s events, seed %s", channel, old["n_events"], old["seed"])
        n_events = int(made["info"]["n_events"])
    else:
        made = _histograms(channel, n_events, seed, directory, args.chunksize)

    t0 = time.perf_counter()
    table = scan_histograms(net, made["hists"], made["metadata"], source=str(directory / "histograms.root"))
    t_scan = time.perf_counter() - t0
    log.info("channel %s: scanned %d histograms in %.0f s", channel, len(table), t_scan)
    table.write(directory / "scan.parquet")
    t0 = time.perf_counter()
    gaa = run_gaa(table, GAAConfig(seed_threshold=args.threshold, member_threshold=args.threshold))
    t_gaa = time.perf_counter() - t0
    (directory / "families.json").write_text(json.dumps(gaa.to_dict(), indent=1, default=str) + "\n")
    summary = summarize_false_positives(table, gaa, threshold=args.threshold, channel=channel, n_events=n_events)
    seconds = {**made["info"]["seconds"], "scan": t_scan, "gaa": t_gaa}
    return {"summary": summary, "gaa": gaa, "table": table, "made": made, "seconds": seconds}


def _excess_lines(summary) -> list[str]:
    head = f"{'Z_max':>6} {'mass [GeV]':>10} {'bin':>4} {'first':>5} {'bins':>5} {'bin/bins':>8} {'family':>6}"
    lines = [f"{head}  histogram"]
    for e in summary.above:
        fam = str(e.family) if e.family else "-"
        row = f"{e.z_max:6.2f} {e.mass:10.1f} {e.bin:4d} {e.first_bin:5d} {e.n_bins:5d} {e.bin_fraction:8.3f} {fam:>6}"
        lines.append(f"{row}  {e.name}")
    return lines


def _report_channel(result: dict[str, Any], with_breakdown: bool) -> str:
    from hepbump.bumpnet.gaa import format_families
    from hepbump.bumpnet.scan import format_table
    from hepbump.darkmachines.census import (
        bins_margin,
        breakdown,
        format_counter,
        histogram_features,
        restriction_ladder,
    )

    s, info, made = result["summary"], result["made"]["info"], result["made"]
    sel = info["selection"]
    lumi = info.get("luminosity_pb")
    out = [
        f"## channel {s.channel}",
        "",
        f"events {s.n_events:,}" + (f" (L = {lumi / 1000:.2f} fb^-1 of the generator's SM mixture)" if lumi else ""),
        f"categories: {info['summary']['n_base_categories']} base, {info['summary']['n_kinematic_categories']} "
        f"kinematic, {info['summary']['n_subcategories']} jet subcategories",
        f"histograms: {sel['considered']:,} considered, {sel['min_events']:,} with >= {sel['min_events_value']} "
        f"effective events, {sel['min_events_and_bins']:,} of them with >= {sel['min_bins_value']} bins (scanned)",
        f"Z_max >= {s.threshold:g}: {s.n_above} ({1000 * s.rate:.2f} per 1000 histograms); after the GAA "
        f"{s.n_after_gaa} ({1000 * s.rate_after_gaa:.2f} per 1000) in {s.n_families} families",
        f"maximum within 2 bins of the first bin scanned (the first 10% are excluded): {s.n_near_start(2)} of "
        f"{s.n_above} excesses, {s.n_near_start(2, survivors=True)} of {s.n_after_gaa} GAA survivors",
        "bin/bins of the maximum, quartiles: all excesses "
        + ", ".join(f"{q:.2f}" for q in s.bin_fraction_quantiles())
        + "; GAA survivors "
        + ", ".join(f"{q:.2f}" for q in s.bin_fraction_quantiles(survivors=True)),
        "seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in result["seconds"].items()),
        "",
        "Highest Z_max:",
        "",
        format_table(result["table"], 5),
        "",
        "Histograms with Z_max >= threshold (family: GAA family, - = rejected):",
        "",
        *_excess_lines(s),
        "",
        format_families(result["gaa"]),
    ]
    if with_breakdown:
        features = [
            histogram_features(name, made["metadata"].get(name, {}), made["hists"][name].axes[0].size)
            for name in made["hists"]
        ]
        total = len(features)
        counts = breakdown(features)
        out += ["", f"### what the {total:,} histograms of channel {s.channel} are made of", ""]
        for title, counter in counts.items():
            top = 12 if title in ("base category", "object types") else None
            out += [format_counter(title, counter, total, top), ""]
        out.append("histograms left under restrictions (cumulative, top to bottom; and each one alone):")
        out += [f"  {n:>6}  {alone:>6}  {label}" for label, n, alone in restriction_ladder(features)]
        out += [
            "",
            f"with bins k times wider (approximation: bins / k), histograms keeping >= {sel['min_bins_value']} bins:",
        ]
        out += [f"  k = {k:.1f}: {n:,}" for k, n in bins_margin([f.n_bins for f in features], sel["min_bins_value"])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    _limit_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # processors/ lives at the repository root

    import torch

    from hepbump.bumpnet.falsepos import compare_with_paper, format_summary_table

    torch.set_num_threads(args.threads)
    net, model_info = _model(args.model)
    weights, sha, epochs = model_info["weights"], model_info["sha256"][:12], model_info.get("epochs_trained")
    log.info("model %s (sha256 %s..., epochs trained %s)", weights, sha, epochs)

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_bumpnet_background_")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir
    plan = [("2b", args.events_2b, args.seed), ("3", args.events_3, args.seed + 1)]
    wanted_breakdown = {c.strip() for c in args.breakdown.split(",") if c.strip()}
    results = []
    t_start = time.perf_counter()
    try:
        for channel, n_events, seed in plan:
            if n_events == 0:
                continue
            results.append(_run_channel(channel, n_events, seed, args, net, workdir))
    finally:
        if tmp is not None:
            tmp.cleanup()
    elapsed = time.perf_counter() - t_start

    print("# BumpNet on background-only samples (paper section 4.2)")
    print()
    print(
        f"model: {model_info['weights']} (sha256 {model_info['sha256'][:16]}, {model_info['parameters']:,} "
        f"parameters, epochs trained: {model_info.get('epochs_trained')}); threshold Z_max >= {args.threshold:g}; "
        f"seed {args.seed}; torch threads {args.threads}; total {elapsed:.0f} s"
    )
    print()
    print(format_summary_table([r["summary"] for r in results]))
    print()
    print("(rates per 1000 histograms with 68% Poisson intervals; ratios with exact 68% conditional intervals)")
    for r in results:
        print()
        print(_report_channel(r, r["summary"].channel in wanted_breakdown))
    if args.json is not None:
        payload = {
            "model": model_info,
            "threshold": args.threshold,
            "seed": args.seed,
            "seconds_total": elapsed,
            "channels": [
                {
                    "summary": r["summary"].to_dict(),
                    "comparison": compare_with_paper(r["summary"]),
                    "histograms": r["made"]["info"],
                    "seconds": r["seconds"],
                    "families": [f.to_dict() for f in r["gaa"].families],
                }
                for r in results
            ],
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
