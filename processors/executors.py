"""coffea executors for every hepbump runner: iterative, futures, or dask (a ``distributed`` LocalCluster by
default, or an existing scheduler address, so a user outgrowing one machine points it at a cluster)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from coffea import processor

__all__ = ["EXECUTORS", "executor", "unwrap_coffea_error"]

#: Names accepted by :func:`executor` (and by the ``--executor`` options of the CLI).
EXECUTORS = ("iterative", "futures", "dask")


def executor(name: str, workers: int, scheduler: str | None = None, status: bool = False):
    """A context manager yielding the coffea executor ``name`` (dask: a client it closes afterwards).

    Failed chunks are not retried: hepbump's processors are deterministic, so a retry would fail again.
    """
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if scheduler and name != "dask":
        raise ValueError("a scheduler address needs --executor dask")
    return _executor(name, workers, scheduler, status)


@contextlib.contextmanager
def _executor(name: str, workers: int, scheduler: str | None, status: bool) -> Iterator[Any]:
    if name == "iterative":
        yield processor.IterativeExecutor(status=status, retries=0)
    elif name == "futures":
        yield processor.FuturesExecutor(workers=workers, status=status, retries=0)
    else:
        try:
            from distributed import Client, LocalCluster
        except ModuleNotFoundError as exc:
            raise RuntimeError("the dask executor needs dask.distributed: pip install 'hepbump[dask]'") from exc

        if scheduler:
            with Client(scheduler) as client:
                yield processor.DaskExecutor(client=client, status=status)
        else:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                yield processor.DaskExecutor(client=client, status=status)


def unwrap_coffea_error(exc: BaseException) -> BaseException:
    """coffea wraps errors raised in ``process`` in a bare ``Exception``; return the original where there is one."""
    cause: BaseException = exc
    while cause.__cause__ is not None and type(cause) is Exception:
        cause = cause.__cause__
    return cause
