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
    """Attach every command and command group (one group per pipeline); one line each."""
    from hepbump.cli import alp, bumpnet, demo, dm, stats

    app.command("demo")(demo.demo)
    app.add_typer(stats.app, name="stats")
    app.add_typer(dm.app, name="dm")
    app.add_typer(alp.app, name="alp")
    app.add_typer(bumpnet.app, name="bumpnet")


_register()


class _Signalled(BaseException):
    """SIGTERM or SIGINT received: unwinds the command (``atomic_path`` removes its temporary files) and is
    reported by :func:`main`. A BaseException of its own, so neither ``except Exception`` in a library nor
    typer's KeyboardInterrupt handling swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signalled(signum: int, frame: object) -> None:
    raise _Signalled(signum)


def _one_line(exc: BaseException) -> str:
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def main() -> None:
    """Console-script entry point.

    * A user error (:class:`hepbump.errors.HepbumpError`: a bad file, histogram, line, field, option or output
      path) becomes one line ``hepbump: error: ...`` and exit status 2; anything else is a bug and shows its
      traceback (so does every error with ``-vv``).
    * Commands whose outputs belong together are :func:`hepbump.cli.common.all_or_nothing`: their outputs appear
      only when the whole command has succeeded; a failure half-way leaves none of them.
    * SIGTERM and SIGINT (Ctrl-C) unwind the command, so temporary files are removed, then print one line and
      exit with status 143 and 130.
    """
    import signal

    from hepbump.errors import HepbumpError

    handlers = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            handlers[signum] = signal.signal(signum, _raise_signalled)
        except ValueError:  # not the main thread
            pass
    try:
        app()
    except HepbumpError as exc:
        if logging.getLogger("hepbump").isEnabledFor(logging.DEBUG):
            raise
        typer.echo(f"hepbump: error: {_one_line(exc)}", err=True)
        sys.exit(2)
    except _Signalled as exc:
        name = "interrupted" if exc.signum == signal.SIGINT else "terminated (SIGTERM)"
        typer.echo(f"hepbump: {name}; temporary files removed", err=True)
        sys.exit(128 + exc.signum)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
