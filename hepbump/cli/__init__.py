"""The ``hepbump`` command line.

Each sub-command group lives in its own module and is registered on :data:`app` below; the commands are
thin: they parse options, call library functions and write outputs atomically.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from hepbump.cli.common import CLIState
from hepbump.log import configure_logging

__all__ = ["app", "main"]

log = logging.getLogger("hepbump.cli")

app = typer.Typer(
    name="hepbump",
    help="Find new particles in collider and beam-dump data with ML, cross-checked by likelihood fits.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option("--seed", help="Global random seed.")] = 0,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug.")] = 0,
) -> None:
    ctx.obj = CLIState(seed=seed, verbose=verbose)
    configure_logging(verbose)


def _register() -> None:
    """Attach every command group; one line per group."""
    from hepbump.cli import alp, alp_features, demo, dm, histograms, stats

    app.command("demo")(demo.demo)
    app.add_typer(stats.app, name="stats")
    app.command("convert")(dm.convert)
    app.add_typer(dm.generate_app, name="generate")
    app.command("histograms")(histograms.histograms)
    alp.app.command("features")(alp_features.features)
    app.add_typer(alp.app, name="alp")


_register()


def main() -> None:
    """Console-script entry point: user errors become one clear line and exit status 2."""
    try:
        app()
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as exc:
        if logging.getLogger("hepbump").isEnabledFor(logging.DEBUG):
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        typer.echo(f"hepbump: error: {msg}", err=True)
        sys.exit(2)
