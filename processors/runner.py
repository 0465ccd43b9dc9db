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
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hepbump.errors import HepbumpError, InputError
from hepbump.io.events import EventFileInfo, describe_exception, inspect_event_file

__all__ = ["EXECUTORS", "RunOptions", "executor", "check_files", "run", "unwrap_coffea_error", "read_error"]

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
    from coffea import processor

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
            with (
                LocalCluster(
                    n_workers=options.workers, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                Client(cluster) as client,
            ):
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


#: Packages whose frames in a traceback show that the error happened while reading an event file.
_READER_PACKAGES = ("uproot", "pyarrow", "fsspec", "awkward_pandas")
#: Exception types that are programming errors even when raised inside a reader.
_BUG_TYPES = (TypeError, AttributeError, NameError, AssertionError, NotImplementedError, ImportError)
_FILENAME_RE = re.compile(r"filename='([^']+)'")


def _raised_in_reader(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.split(".")[0] in _READER_PACKAGES:
            return True
        tb = tb.tb_next
    return False


def read_error(exc: BaseException, files: Sequence[str] = ()) -> InputError | None:
    """An InputError naming the file, when ``exc`` (as coffea raised it) is a failure to read an event file.

    coffea wraps the error of a chunk in a bare ``Exception`` whose message names the work item
    (``filename='...'``); the original error comes from uproot or pyarrow (a short read of a truncated file, a
    decompression error, a corrupt basket, ...). Errors of other origin (bugs) give ``None``.
    """
    cause = unwrap_coffea_error(exc)
    if cause is exc and type(exc) is not Exception:
        return None
    if isinstance(cause, _BUG_TYPES):
        return None
    if not (isinstance(cause, (OSError, EOFError)) or _raised_in_reader(cause)):
        return None
    names: list[str] = []
    link: BaseException | None = exc
    while link is not None:
        names += _FILENAME_RE.findall(str(link))
        link = link.__cause__
    if not names:
        names = list(files)[:1] if len(list(files)) == 1 else []
    where = names[0] if names else "one of the event files"
    detail = describe_exception(cause)
    return InputError(f"{where}: cannot read the events, the file is damaged or truncated ({detail})")


def run(
    processor_instance: Any,
    fileset: Mapping[str, Mapping[str, Any] | Sequence[str]],
    *,
    tree: str,
    fmt: str,
    options: RunOptions = RunOptions(),
) -> Any:
    """Run ``processor_instance`` over a coffea ``fileset`` with ``processor.Runner`` (BaseSchema).

    Use :func:`check_files` first. hepbump's own errors raised inside ``process`` come out unwrapped; an
    event file that cannot be read half-way (truncated, corrupt) is an InputError naming it
    (:func:`read_error`).
    """
    from coffea import processor
    from coffea.nanoevents import BaseSchema

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
        files = [
            f for entry in fileset.values() for f in (entry.get("files", {}) if isinstance(entry, Mapping) else entry)
        ]
        error = read_error(exc, files)
        if error is not None:
            raise error from exc
        raise
