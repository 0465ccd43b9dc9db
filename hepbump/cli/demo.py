"""``hepbump demo``: both halves of hepbump end to end on generated data (:mod:`hepbump.demo`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from hepbump.cli.common import (
    JSON_SUFFIXES,
    JsonOption,
    ProgressOption,
    SeedOption,
    check_outputs,
    out_option,
    resolve_seed,
    show_progress,
    write_json,
)

__all__ = ["demo"]


def demo(
    ctx: typer.Context,
    out: Annotated[Path, out_option("Output directory.")] = Path("demo"),
    channel: Annotated[str, typer.Option("--channel", help="Dark Machines channel.")] = "2b",
    events: Annotated[int, typer.Option("--events", help="SM events to generate.")] = 10_000,
    signal: Annotated[str, typer.Option("--signal", help="Injected BSM benchmark, NAME[:STRENGTH].")] = "lq600_bmu:40",
    top: Annotated[int, typer.Option("--top", help="Histograms cross-checked with the LR scan and pyhf.")] = 5,
    hunt: Annotated[bool, typer.Option("--hunt/--no-hunt", help="Also run the ECO/EPO hunt half.")] = True,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Generate DM events with an injected signal, histogram them (coffea), scan with BumpNet, group with the GAA,
    cross-check with the LR scan and pyhf, then run a short ECO/EPO hunt; figures and a report in OUT."""
    from hepbump.darkmachines.generate import SignalInjection
    from hepbump.demo import DemoConfig, run_demo

    if out.exists() and not out.is_dir():
        from hepbump.errors import OutputError

        raise OutputError(f"{out}: not a directory")
    check_outputs((out / "summary.json", JSON_SUFFIXES), (json_out, JSON_SUFFIXES))
    injection = SignalInjection.parse(signal)
    config = DemoConfig(
        channel=channel,
        n_events=events,
        signal=injection.name,
        signal_strength=injection.strength,
        top=top,
        hunt=hunt,
        seed=resolve_seed(ctx, seed),
    )
    result = run_demo(config, out, progress=show_progress(progress))
    write_json(json_out, asdict(result))
    best = result.top[0]
    lines = [
        f"BumpNet: {result.n_histograms} histograms; most significant {best['name']} with Z_max = "
        f"{best['z_max']:.2f} at {best['mass_gev']:.0f} GeV",
        f"GAA: {len(result.families)} families"
        + "".join(f"; {f['size']} histograms at {f['mass']:.0f} GeV" for f in result.families),
    ]
    for c in result.crosscheck[:3]:
        lr = "failed" if c["lr_z"] is None else f"{c['lr_z']:.2f}"
        ph = "failed" if c["pyhf_z"] is None else f"{c['pyhf_z']:.2f}"
        lines.append(f"cross-check {c['name']}: BumpNet Z {c['bumpnet_z']:.2f}, LR scan Z {lr}, pyhf Z {ph}")
    if result.hunt_text is not None:
        lines.append(result.hunt_text)
    lines.append(f"wrote {len(result.files)} files to {out} (report.md, summary.json)")
    typer.echo("\n".join(lines))
