"""One way to run a hepbump coffea processor: executors, the pre-run file check, and coffea's wrapped errors.

Both pipelines (:mod:`processors.darkmachines`, :mod:`processors.alp`) call :func:`run` with the same options,
:class:`RunOptions`, which the command line fills from the same flags (``--executor``, ``--workers``,
``--chunksize``, ``--scheduler``, ``--skip-bad-files``, ``--progress/--no-progress``):

* executors: iterative, futures, or dask (a ``distributed`` LocalCluster by default, or an existing scheduler
  address, so a user outgrowing one machine points it at a cluster);
* :func:`check_files` looks at every file before the run (format, columns, entries; :mod:`hepbump.io.events`)
  and either raises an error naming a bad file or, with ``skip_bad_files``, skips it with a warning;
* coffea wraps an error raised inside ``process`` in a bare ``Exception``; :func:`run` re-raises hepbump's own
  error (:mod:`hepbump.errors`) from inside, so it reaches the user as one clear line.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coffea import processor
from coffea.nanoevents import BaseSchema

from hepbump.errors import HepbumpError, InputError
from hepbump.io.events import EventFileInfo, inspect_event_file

__all__ = ["EXECUTORS", "RunOptions", "executor", "check_files", "run", "unwrap_coffea_error"]

log = logging.getLogger(__name__)

#: Names accepted by :func:`executor` (and by the ``--executor`` options of the CLI).
EXECUTORS = ("iterative", "futures", "dask")


@dataclass(frozen=True)
class RunOptions:
    """How a processor runs; the same defaults for every pipeline.

    ``progress=None`` shows coffea's progress bar only when stderr is a terminal.
    """

    executor: str = "iterative"
    workers: int = 1
    chunksize: int = 100_000
    scheduler: str | None = None
    skip_bad_files: bool = False
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise InputError(f"unknown executor {self.executor!r}; choose one of {', '.join(EXECUTORS)}")
        if self.workers < 1:
            raise InputError(f"--workers must be >= 1, got {self.workers}")
        if self.chunksize < 1:
            raise InputError(f"--chunksize must be >= 1, got {self.chunksize}")
        if self.scheduler and self.executor != "dask":
            raise InputError("a scheduler address needs --executor dask")

    @property
    def show_progress(self) -> bool:
        return sys.stderr.isatty() if self.progress is None else bool(self.progress)


@contextlib.contextmanager
def executor(options: RunOptions) -> Iterator[Any]:
    """The coffea executor of ``options`` (dask: a client, closed afterwards).

    Failed chunks are not retried: hepbump's processors are deterministic, so a retry would fail again.
    """
    status = options.show_progress
    if options.executor == "iterative":
        yield processor.IterativeExecutor(status=status, retries=0)
    elif options.executor == "futures":
        yield processor.FuturesExecutor(workers=options.workers, status=status, retries=0)
    else:
        try:
            from distributed import Client, LocalCluster
        except ModuleNotFoundError as exc:
            raise InputError("the dask executor needs dask.distributed: pip install 'hepbump[dask]'") from exc

        if options.scheduler:
            with Client(options.scheduler) as client:
                yield processor.DaskExecutor(client=client, status=status)
        else:
            with LocalCluster(n_workers=options.workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                yield processor.DaskExecutor(client=client, status=status)


def check_files(
    files: Iterable[str],
    tree: str,
    *,
    skip_bad_files: bool = False,
    validate: Callable[[EventFileInfo], None] | None = None,
) -> tuple[dict[str, EventFileInfo], str]:
    """Inspect every file before the run: ``({path: info}, format)`` of the good files.

    ``validate(info)`` adds a pipeline's own checks (required columns, records) and raises a
    :class:`~hepbump.errors.HepbumpError` for a bad file. A bad file raises, or with ``skip_bad_files`` is
    skipped with a warning. All files must have one format (ROOT or Parquet), and at least one must be left.
    """
    good: dict[str, EventFileInfo] = {}
    for f in files:
        try:
            info = inspect_event_file(f, tree)
            if validate is not None:
                validate(info)
        except HepbumpError as exc:
            if not skip_bad_files:
                raise
            log.warning("skipping bad file: %s", exc)
            continue
        good[str(f)] = info
    if not good:
        raise InputError("no readable event files left (all were skipped)")
    formats = {info.format for info in good.values()}
    if len(formats) > 1:
        raise InputError("all event files must have the same format (ROOT or Parquet), got both")
    return good, formats.pop()


def unwrap_coffea_error(exc: BaseException) -> BaseException:
    """coffea wraps errors raised in ``process`` in a bare ``Exception``; return the original where there is one."""
    cause: BaseException = exc
    while cause.__cause__ is not None and type(cause) is Exception:
        cause = cause.__cause__
    return cause


def run(
    processor_instance: processor.ProcessorABC,
    fileset: Mapping[str, Mapping[str, Any] | Sequence[str]],
    *,
    tree: str,
    fmt: str,
    options: RunOptions = RunOptions(),
) -> Any:
    """Run ``processor_instance`` over a coffea ``fileset`` with ``processor.Runner`` (BaseSchema).

    Use :func:`check_files` first. hepbump's own errors raised inside ``process`` come out unwrapped.
    """
    try:
        with executor(options) as exe:
            runner = processor.Runner(
                executor=exe,
                schema=BaseSchema,
                chunksize=int(options.chunksize),
                skipbadfiles=bool(options.skip_bad_files),
                format=fmt,
            )
            return runner(fileset, processor_instance=processor_instance, treename=tree)
    except Exception as exc:
        cause = unwrap_coffea_error(exc)
        if cause is not exc and isinstance(cause, HepbumpError):
            raise cause from exc
        raise
