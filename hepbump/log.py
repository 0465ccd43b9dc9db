"""Logging set-up shared by the command line and scripts.

Library modules only call ``logging.getLogger(__name__)``; handlers are configured here, once, by the
application (the CLI), never at import time.
"""

from __future__ import annotations

import logging

__all__ = ["configure_logging", "verbosity_to_level"]


def verbosity_to_level(verbose: int) -> int:
    """Map a count of ``-v`` flags to a :mod:`logging` level.

    >>> verbosity_to_level(0) == logging.WARNING
    True
    >>> verbosity_to_level(2) == logging.DEBUG
    True
    """
    if verbose <= 0:
        return logging.WARNING
    if verbose == 1:
        return logging.INFO
    return logging.DEBUG


def configure_logging(verbose: int = 0) -> None:
    """Send hepbump's log records to stderr through rich, at the level given by ``verbose``.

    stderr, never stdout: a command's stdout carries its results only.
    """
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("hepbump")
    root.handlers[:] = [handler]
    root.setLevel(verbosity_to_level(verbose))
    root.propagate = False
