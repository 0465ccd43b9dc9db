"""The Dark Machines pipeline: ``hepbump dm generate | convert | histograms``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump.cli import histograms as _histograms
from hepbump.cli.common import (
    JSON_SUFFIXES,
    JsonOption,
    ProgressOption,
    SeedOption,
    all_or_nothing,
    check_outputs,
    out_option,
    resolve_seed,
    show_progress,
    write_json,
)
from hepbump.errors import InputError

__all__ = ["app", "generate", "convert"]

app = typer.Typer(
    help="Dark Machines pipeline: generate events, convert CSV to ROOT/Parquet, build mass histograms.",
    no_args_is_help=True,
)

_FORMATS = ("root", "parquet")
_EVENT_SUFFIXES = (".csv", ".root", ".parquet")


@app.command("generate")
@all_or_nothing
def generate(
    ctx: typer.Context,
    out: Annotated[Path, out_option("Output file: .csv (DM format), .root or .parquet.")],
    channel: Annotated[str, typer.Option("--channel", help="DM channel: 1, 2a, 2b, 3 or none.")] = "2b",
    events: Annotated[
        Optional[int],
        typer.Option(
            "--events",
            help="SM events to write (default 100000); with --no-background: signal events generated per benchmark.",
        ),
    ] = None,
    lumi: Annotated[
        Optional[float], typer.Option("--lumi", help="Integrated luminosity in fb^-1 instead of --events.")
    ] = None,
    signal: Annotated[
        Optional[list[str]],
        typer.Option(
            "--signal",
            help="Inject NAME:STRENGTH (repeatable), STRENGTH = multiple of the benchmark's "
            "reference cross section; e.g. lq600_bmu:0.5.",
        ),
    ] = None,
    background: Annotated[
        bool, typer.Option("--background/--no-background", help="Include the SM background (weight 1).")
    ] = True,
    processes: Annotated[
        Optional[str], typer.Option("--processes", help="Comma-separated subset of SM processes (DM IDs).")
    ] = None,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Generate Dark Machines-format events with the fast parametric generator (not Delphes)."""
    from hepbump.darkmachines.generate.generator import DMGeneratorConfig, SignalInjection, write_sample

    sidecar = out.with_name(out.name + ".json") if out.suffix.lower() == ".csv" else None  # CSV provenance
    check_outputs((out, _EVENT_SUFFIXES), (sidecar, JSON_SUFFIXES), (json_out, JSON_SUFFIXES))
    if events is not None and lumi is not None:
        raise InputError("give either --events or --lumi, not both")
    config = DMGeneratorConfig(
        channel=channel,
        n_events=None if lumi is not None else (100_000 if events is None else events),
        luminosity_pb=None if lumi is None else 1000.0 * lumi,
        signals=tuple(SignalInjection.parse(s) for s in signal or ()),
        background=background,
        processes=tuple(p.strip() for p in processes.split(",") if p.strip()) if processes else None,
        seed=resolve_seed(ctx, seed),
    )
    prov = write_sample(config, out, progress=show_progress(progress))
    write_json(json_out, {"out": str(out), **prov})
    parts = [f"{prov['n_events']} events, channel {channel}"]
    if prov["luminosity_pb"] is not None:
        parts.append(f"L = {prov['luminosity_pb'] / 1000.0:.4g} fb^-1")
    parts += [f"{name}: {info['n_selected']} signal events" for name, info in prov["signals"].items()]
    typer.echo(f"wrote {out} ({'; '.join(parts)})")


@app.command("convert")
@all_or_nothing
def convert(
    file: Annotated[Path, typer.Argument(help="Dark Machines CSV file (E, pt, MET in MeV).")],
    to: Annotated[
        Optional[str], typer.Option("--to", help="Output format: root or parquet (default: from --out, else root).")
    ] = None,
    out: Annotated[
        Optional[Path], out_option("Output .root or .parquet file (default: FILE with the format's suffix).")
    ] = None,
    skip_bad_lines: Annotated[
        bool, typer.Option("--skip-bad-lines", help="Skip and count malformed lines instead of failing.")
    ] = False,
    json_out: JsonOption = None,
) -> None:
    """Convert a Dark Machines CSV file to a ROOT TTree 'Events' or Parquet (NanoAOD-style columns, GeV)."""
    from hepbump.darkmachines.write import convert as convert_file

    if to is not None and to not in _FORMATS:
        raise InputError(f"--to must be one of {', '.join(_FORMATS)}, got {to!r}")
    if out is None:
        out = file.with_suffix("." + (to or "root"))
    check_outputs((out, (f".{to}",) if to else (".root", ".parquet")), (json_out, JSON_SUFFIXES))
    fmt = to or out.suffix.lower().lstrip(".")
    report = convert_file(file, out, fmt=fmt, skip_bad_lines=skip_bad_lines)
    write_json(
        json_out,
        {
            "input": str(file),
            "out": str(out),
            "format": fmt,
            "n_events": report.n_events,
            "n_bad_lines": report.n_bad_lines,
            "bad_lines": [{"line": b.line, "reason": b.reason} for b in report.bad_lines],
        },
    )
    line = f"wrote {report.n_events} events to {out}"
    if report.n_bad_lines:
        first = report.bad_lines[0]
        line += f"; skipped {report.n_bad_lines} malformed lines (first: line {first.line}: {first.reason})"
    typer.echo(line)


app.command("histograms")(_histograms.histograms)
