"""Dark Machines commands: ``hepbump convert`` and ``hepbump generate dm`` (owned by the DM I/O work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump.cli.common import SeedOption, resolve_seed

__all__ = ["generate_app", "convert", "generate_dm"]

generate_app = typer.Typer(help="Generate event samples.", no_args_is_help=True)

_FORMATS = ("root", "parquet")


def convert(
    file: Annotated[Path, typer.Argument(help="Dark Machines CSV file (E, pt, MET in MeV).")],
    to: Annotated[
        Optional[str], typer.Option("--to", help="Output format: root or parquet (default: from --out, else root).")
    ] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Output file (default: FILE with the format's suffix).")
    ] = None,
    skip_bad_lines: Annotated[
        bool, typer.Option("--skip-bad-lines", help="Skip and count malformed lines instead of failing.")
    ] = False,
) -> None:
    """Convert a Dark Machines CSV file to a ROOT TTree 'Events' or Parquet (NanoAOD-style columns, GeV)."""
    from hepbump.io.events import file_format
    from hepbump.darkmachines.write import convert as convert_file

    if to is not None and to not in _FORMATS:
        raise ValueError(f"--to must be one of {', '.join(_FORMATS)}, got {to!r}")
    if out is None:
        out = file.with_suffix("." + (to or "root"))
    fmt = to or file_format(out)
    if fmt not in _FORMATS:
        raise ValueError(f"--out {out}: convert writes .root or .parquet files")
    report = convert_file(file, out, fmt=fmt, skip_bad_lines=skip_bad_lines)
    line = f"wrote {report.n_events} events to {out}"
    if report.n_bad_lines:
        first = report.bad_lines[0]
        line += f"; skipped {report.n_bad_lines} malformed lines (first: line {first.line}: {first.reason})"
    typer.echo(line)


@generate_app.command("dm")
def generate_dm(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv (DM format), .root or .parquet.")],
    channel: Annotated[str, typer.Option("--channel", help="DM channel: 1, 2a, 2b, 3 or none.")] = "2b",
    events: Annotated[
        Optional[int],
        typer.Option("--events", help="SM events to write (default 100000); with --no-background: signal events "
                     "generated per benchmark."),
    ] = None,
    lumi: Annotated[
        Optional[float], typer.Option("--lumi", help="Integrated luminosity in fb^-1 instead of --events.")
    ] = None,
    signal: Annotated[
        Optional[list[str]],
        typer.Option("--signal", help="Inject NAME:STRENGTH (repeatable), STRENGTH = multiple of the benchmark's "
                     "reference cross section; e.g. lq600_bmu:0.5."),
    ] = None,
    background: Annotated[
        bool, typer.Option("--background/--no-background", help="Include the SM background (weight 1).")
    ] = True,
    processes: Annotated[
        Optional[str], typer.Option("--processes", help="Comma-separated subset of SM processes (DM IDs).")
    ] = None,
    seed: SeedOption = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Generate Dark Machines-format events with the fast parametric generator (not Delphes)."""
    from hepbump.darkmachines.generate.generator import DMGeneratorConfig, SignalInjection, write_sample

    if events is not None and lumi is not None:
        raise ValueError("give either --events or --lumi, not both")
    config = DMGeneratorConfig(
        channel=channel,
        n_events=None if lumi is not None else (100_000 if events is None else events),
        luminosity_pb=None if lumi is None else 1000.0 * lumi,
        signals=tuple(SignalInjection.parse(s) for s in signal or ()),
        background=background,
        processes=tuple(p.strip() for p in processes.split(",") if p.strip()) if processes else None,
        seed=resolve_seed(ctx, seed),
    )
    prov = write_sample(config, out, progress=progress)
    parts = [f"{prov['n_events']} events, channel {channel}"]
    if prov["luminosity_pb"] is not None:
        parts.append(f"L = {prov['luminosity_pb'] / 1000.0:.4g} fb^-1")
    parts += [f"{name}: {info['n_selected']} signal events" for name, info in prov["signals"].items()]
    typer.echo(f"wrote {out} ({'; '.join(parts)})")
