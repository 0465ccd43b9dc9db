"""Shared pieces of the command line: global state, the ``--seed`` option, progress bars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Optional

import typer

__all__ = ["CLIState", "SeedOption", "resolve_seed", "progress"]


@dataclass
class CLIState:
    """Options given before the sub-command (``hepbump --seed 3 -v demo``)."""

    seed: int = 0
    verbose: int = 0


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


def progress(iterable, *, total: int | None = None, description: str = "working", disable: bool = False):
    """A tqdm progress bar on stderr, disabled automatically when stderr is not a terminal."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=description, disable=disable or None, leave=False)
