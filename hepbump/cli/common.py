"""Shared pieces of the command line: global state and the options every command spells the same way.

Each shared option is defined once here as an ``Annotated`` type and reused by every command that has it:

* ``-o/--out`` (:func:`out_option`) on every command that writes a file or directory;
* ``--json PATH`` (:data:`JsonOption`, written by :func:`write_json`) on every command that reports a result;
* ``--seed`` (:data:`SeedOption`, :func:`resolve_seed`);
* ``--progress/--no-progress`` (:data:`ProgressOption`, :func:`show_progress`): by default bars are shown only
  when stderr is a terminal;
* the coffea run options ``--executor``, ``--workers``, ``--chunksize``, ``--scheduler``, ``--skip-bad-files``
  (:func:`run_options` makes a :class:`processors.runner.RunOptions` of them), with the defaults of
  ``RunOptions``.

Results go to stdout; logs, warnings and progress bars go to stderr.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from processors.runner import RunOptions

__all__ = [
    "CLIState",
    "SeedOption",
    "resolve_seed",
    "out_option",
    "JsonOption",
    "JSON_SUFFIXES",
    "FIGURE_SUFFIXES",
    "ProgressOption",
    "show_progress",
    "ExecutorOption",
    "WorkersOption",
    "ChunksizeOption",
    "SchedulerOption",
    "SkipBadFilesOption",
    "run_options",
    "check_outputs",
    "write_json",
    "all_or_nothing",
]

JSON_SUFFIXES = (".json",)
#: Figures are written by matplotlib, which picks the format from the suffix.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


@dataclass
class CLIState:
    """Options given before the sub-command (``hepbump --seed 3 -v demo``)."""

    seed: int = 0
    verbose: int = 0


# --- --seed ---------------------------------------------------------------------------------------------------

#: ``--seed`` on a sub-command; when omitted the global ``hepbump --seed`` applies.
SeedOption = Annotated[
    Optional[int],
    typer.Option("--seed", help="Random seed (overrides the global --seed).", show_default=False),
]


def resolve_seed(ctx: typer.Context, seed: int | None) -> int:
    """The sub-command's ``--seed`` if given, else the global one."""
    if seed is not None:
        return seed
    state = ctx.find_root().obj
    return state.seed if isinstance(state, CLIState) else 0


# --- -o/--out and --json ---------------------------------------------------------------------------------------


def out_option(help: str, **kwargs: Any) -> Any:
    """The ``-o/--out`` option of a command, with the command's own help text (which says what is written).

    Use as ``out: Annotated[Path, out_option("Output ROOT file.")]``.
    """
    return typer.Option("--out", "-o", help=help, **kwargs)


#: ``--json PATH``: also write the command's result (the figures it prints, and more) as JSON.
JsonOption = Annotated[
    Optional[Path],
    typer.Option("--json", help="Also write the result as JSON to this file.", show_default=False),
]


def check_outputs(*outputs: tuple[Path | None, tuple[str, ...] | None]) -> None:
    """Check every ``(path, suffixes)`` output before any long work starts (``None`` paths are skipped).

    Raises :class:`~hepbump.errors.OutputError` naming the first output that cannot be written.
    """
    from hepbump.io.atomic import check_output_path

    for path, suffixes in outputs:
        if path is not None:
            check_output_path(path, suffixes=suffixes)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def write_json(path: Path | None, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` to ``path`` as JSON, atomically; nothing when ``path`` is ``None``."""
    if path is None:
        return
    from hepbump.io.atomic import atomic_path

    text = json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


# --- progress bars -------------------------------------------------------------------------------------------

#: ``--progress/--no-progress``; ``None`` (neither given): shown only when stderr is a terminal.
ProgressOption = Annotated[
    Optional[bool],
    typer.Option(
        "--progress/--no-progress",
        help="Show progress bars on stderr (default: only when stderr is a terminal).",
        show_default=False,
    ),
]


def show_progress(progress: bool | None) -> bool:
    """Resolve ``--progress/--no-progress``: the flag if given, else whether stderr is a terminal."""
    return sys.stderr.isatty() if progress is None else bool(progress)


# --- coffea run options ----------------------------------------------------------------------------------------


_RUN_DEFAULTS = RunOptions()

ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        default_factory=lambda: _RUN_DEFAULTS.executor,
        show_default=False,
        help=f"coffea executor: iterative, futures or dask. Default: {_RUN_DEFAULTS.executor}.",
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        default_factory=lambda: _RUN_DEFAULTS.workers,
        show_default=False,
        help=f"Worker processes (futures, dask LocalCluster). Default: {_RUN_DEFAULTS.workers}.",
    ),
]
ChunksizeOption = Annotated[
    int,
    typer.Option(
        "--chunksize",
        min=1,
        default_factory=lambda: _RUN_DEFAULTS.chunksize,
        show_default=False,
        help=f"Events per coffea chunk (results do not depend on it). Default: {_RUN_DEFAULTS.chunksize}.",
    ),
]
SchedulerOption = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        show_default=False,
        help="Address of a running dask scheduler (with --executor dask; default: a LocalCluster).",
    ),
]
SkipBadFilesOption = Annotated[
    bool,
    typer.Option("--skip-bad-files", help="Skip unreadable or invalid input files with a warning instead of failing."),
]


def run_options(
    *,
    executor: str,
    workers: int,
    chunksize: int,
    scheduler: str | None,
    skip_bad_files: bool,
    progress: bool | None,
) -> Any:
    """The :class:`processors.runner.RunOptions` of the shared coffea options (checked there)."""
    return RunOptions(
        executor=executor,
        workers=workers,
        chunksize=chunksize,
        scheduler=scheduler,
        skip_bad_files=skip_bad_files,
        progress=progress,
    )


# --- all-or-nothing outputs ------------------------------------------------------------------------------------


def all_or_nothing(command: Any) -> Any:
    """Decorate a command whose outputs must appear together: every file it writes through
    :func:`hepbump.io.atomic.atomic_path` is renamed into place only when the whole command has succeeded, so a
    failure half-way (say, the plot after the data file) leaves none of them.

    Not for commands that read back what they wrote, or whose files must survive an interruption (training
    checkpoints, dataset shards).
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from hepbump.io.atomic import atomic_group

        with atomic_group():
            return command(*args, **kwargs)

    return wrapper
