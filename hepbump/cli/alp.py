"""ALP beam-dump commands: ``hepbump alp bmesons | simulate | features``."""

from __future__ import annotations

import logging
import shlex
import sys
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump.cli import alp_features as _alp_features
from hepbump.cli import hunt as _hunt
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
from hepbump.constants import ALP_SIM_MAX_CANDIDATES, ALP_SIM_MAX_CANDIDATES_PER_EVENT

app = typer.Typer(help="Axion-like particles at the SHiP beam dump.", no_args_is_help=True)

log = logging.getLogger(__name__)


def _command_line() -> str:
    return shlex.join(["hepbump", *sys.argv[1:]])


@app.command("bmesons")
@all_or_nothing
def bmesons(
    ctx: typer.Context,
    events: Annotated[int, typer.Option("--events", help="Number of Pythia 8 collisions.")] = 100_000,
    seed: SeedOption = None,
    out: Annotated[
        Optional[Path], out_option("Output .npz (card written next to it); default: the package data file.")
    ] = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    r"""Regenerate the B-meson table with Pythia 8 (needs: pip install 'hepbump\[pythia]')."""
    from hepbump.alp.bmesons import card_path_for, default_table_path, generate_bmeson_table, write_bmeson_table

    path = out if out is not None else default_table_path()
    check_outputs((path, (".npz",)), (card_path_for(path), JSON_SUFFIXES), (json_out, JSON_SUFFIXES))
    seed = resolve_seed(ctx, seed)
    table, card = generate_bmeson_table(events, seed, command=_command_line(), show_progress=show_progress(progress))
    card_path = write_bmeson_table(table, card, path)
    write_json(
        json_out, {"out": str(path), "card": str(card_path), "n_events": events, "seed": seed, "n_b_mesons": len(table)}
    )
    typer.echo(f"wrote {len(table)} B mesons from {events} events to {path} (card: {card_path})")


@app.command("simulate")
@all_or_nothing
def simulate(
    ctx: typer.Context,
    out: Annotated[Path, out_option("Output file: .root (TTree 'alp') or .parquet.")],
    mode: Annotated[str, typer.Option("--mode", help="signal | background | prior | pairs.")] = "signal",
    mass: Annotated[Optional[float], typer.Option("--mass", help="ALP mass m_a, GeV (signal mode).")] = None,
    ctau_over_m: Annotated[
        Optional[float], typer.Option("--ctau-over-m", help="c tau / m_a, m/GeV (signal mode).")
    ] = None,
    events: Annotated[int, typer.Option("--events", help="Accepted events (pairs in pairs mode).")] = 10_000,
    seed: SeedOption = None,
    geometry: Annotated[str, typer.Option("--geometry", help="Geometry preset: default | x-tapered.")] = "default",
    same_fraction: Annotated[
        float, typer.Option("--same-fraction", help="Pairs mode: fraction of same-parameter pairs.")
    ] = 0.5,
    max_candidates_per_event: Annotated[
        int, typer.Option("--max-candidates-per-event", help="Cap on B -> K a candidates per requested event.")
    ] = ALP_SIM_MAX_CANDIDATES_PER_EVENT,
    max_candidates: Annotated[
        int, typer.Option("--max-candidates", help="Cap on B -> K a candidates for the whole run.")
    ] = ALP_SIM_MAX_CANDIDATES,
    bmeson_table: Annotated[
        Optional[Path], typer.Option("--bmeson-table", help="B-meson table .npz (default: package data).")
    ] = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Simulate unweighted ALP -> gamma gamma events at SHiP and write them atomically."""
    from hepbump.alp.io import write_events
    from hepbump.alp.simulate import AcceptanceCapWarning, SimulationConfig
    from hepbump.alp.simulate import simulate as run_simulation

    check_outputs((out, (".root", ".parquet")), (json_out, JSON_SUFFIXES))
    seed = resolve_seed(ctx, seed)

    config = SimulationConfig(
        geometry=geometry,
        max_candidates_per_event=max_candidates_per_event,
        max_candidates=max_candidates,
        pairs_same_fraction=same_fraction,
        bmeson_table=str(bmeson_table) if bmeson_table is not None else None,
        show_progress=show_progress(progress),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AcceptanceCapWarning)
        result = run_simulation(mode, events, seed, mass_gev=mass, ctau_over_m=ctau_over_m, config=config)
    for w in caught:
        if issubclass(w.category, AcceptanceCapWarning):
            typer.echo(f"hepbump: warning: {w.message}", err=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    result.run_info["command"] = _command_line()
    write_events(out, result)
    stats = result.stats
    write_json(
        json_out,
        {
            "out": str(out),
            "mode": mode,
            "seed": seed,
            "n_events": len(result),
            "acceptance": stats.acceptance,
            "n_requested": stats.n_requested,
            "n_candidates": stats.n_candidates,
            "n_candidates_accepted": stats.n_candidates_accepted,
            "n_points": stats.n_points,
            "n_points_capped": stats.n_points_capped,
        },
    )
    typer.echo(
        f"wrote {len(result)} {mode} events to {out} (acceptance {stats.acceptance:.4g}: "
        f"{stats.n_candidates_accepted} of {stats.n_candidates} B -> K a candidates)"
    )


app.command("features")(_alp_features.features)
_hunt.register(app)
