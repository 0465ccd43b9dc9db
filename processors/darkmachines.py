"""coffea processor of the Dark Machines mass histograms (glue over hepbump.objects / categories / massfill).

:class:`DarkMachinesProcessor` reads the NanoAOD-style flat branches of :mod:`hepbump.io.darkmachines` with
``BaseSchema`` (ROOT ``Events`` trees or Parquet), builds the objects (:func:`hepbump.objects.build_objects`),
classifies the events (:func:`hepbump.categories.classify_events`) and fills the resolution-binned mass
histograms (:func:`hepbump.massfill.fill_chunk`). ``postprocess`` decides the jet-multiplicity caps on the whole
dataset, trims and selects (:func:`hepbump.dmhistograms.assemble`) and returns a
:class:`hepbump.dmhistograms.HistogramSet`.

:func:`run_histograms` runs it with coffea's ``processor.Runner`` over a fileset with the iterative, futures or
dask executor (a ``distributed`` LocalCluster by default, or an existing scheduler).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from coffea import processor
from coffea.nanoevents import BaseSchema

from hepbump.categories import classify_events
from hepbump.dmhistograms import HistogramConfig, HistogramSet, assemble
from hepbump.io.darkmachines import TREE_NAME
from hepbump.io.darkmachines_files import event_file_columns, read_process_names, read_provenance
from hepbump.massfill import fill_chunk
from hepbump.objects import build_objects, check_branches
from processors.executors import EXECUTORS, executor

__all__ = [
    "DarkMachinesProcessor", "EXECUTORS", "executor", "load_fileset", "check_event_file", "recorded_channel",
    "run_histograms",
]

log = logging.getLogger(__name__)

#: Executors accepted by :func:`run_histograms`.
@functools.lru_cache(maxsize=256)
def _process_names(filename: str) -> tuple[str, ...]:
    return read_process_names(filename)


class DarkMachinesProcessor(processor.ProcessorABC):
    """Fill per chunk, assemble in ``postprocess``; all settings in ``config``."""

    def __init__(self, config: HistogramConfig | None = None) -> None:
        self.config = config or HistogramConfig()

    def process(self, events: Any) -> dict[str, Any]:
        meta = events.metadata
        source = f"{meta.get('filename', 'events')} (entries {meta.get('entrystart')}-{meta.get('entrystop')})"
        try:
            objects = build_objects(events, source)
            classes = classify_events(objects, self.config.grid)
            if "processID" in events.fields:
                process = np.asarray(events["processID"], dtype=np.int64)
                names = _process_names(str(meta["filename"])) if "filename" in meta else ()
                out = fill_chunk(objects, classes, process, names, self.config.grid)
            else:
                out = fill_chunk(objects, classes, None, (), self.config.grid)
        except (KeyError, ValueError) as exc:
            raise type(exc)(f"{source}: {exc.args[0] if exc.args else exc}") from exc
        out["datasets"] = {str(meta.get("dataset", ""))}
        return out

    def postprocess(self, accumulator: dict[str, Any]) -> HistogramSet:
        return assemble(accumulator, self.config, datasets=sorted(accumulator.get("datasets", set())))


def load_fileset(paths: Sequence[str | os.PathLike[str]], dataset: str = "events") -> dict[str, list[str]]:
    """A coffea fileset from event files, or from one JSON file ``{dataset: [files]}`` /
    ``{dataset: {"files": [files]}}`` (relative paths are relative to the JSON file)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no input files given")
    if len(paths) == 1 and paths[0].suffix.lower() == ".json":
        spec = paths[0]
        if not spec.exists():
            raise FileNotFoundError(f"no such fileset: {spec}")
        try:
            raw = json.loads(spec.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{spec}: not valid JSON ({exc})") from exc
        if not isinstance(raw, Mapping) or not raw:
            raise ValueError(f"{spec}: a fileset is a JSON object {{dataset: [files]}}")
        out: dict[str, list[str]] = {}
        for name, entry in raw.items():
            files = entry.get("files") if isinstance(entry, Mapping) else entry
            if isinstance(files, Mapping):
                files = list(files)
            if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
                raise ValueError(f"{spec}: dataset {name!r} needs a non-empty list of file names")
            out[str(name)] = [str((spec.parent / f) if not Path(f).is_absolute() else Path(f)) for f in files]
        return out
    if any(p.suffix.lower() == ".json" for p in paths):
        raise ValueError("give either one JSON fileset or event files, not both")
    return {dataset: [str(p) for p in paths]}


def check_event_file(path: str | os.PathLike[str], tree: str = TREE_NAME) -> str:
    """Check that ``path`` exists and holds the needed branches; returns ``"root"`` or ``"parquet"``.

    Errors name the file: ``FileNotFoundError``, ``ValueError`` (unreadable, wrong type), ``KeyError`` (no tree
    ``tree``, missing branches).
    """
    path, fmt, branches = event_file_columns(path, tree=tree)
    check_branches(branches, str(path))
    return fmt


def recorded_channel(fileset: Mapping[str, Sequence[str]]) -> str | None:
    """The DM channel recorded in the files' provenance (generated samples) when all files agree, else None."""
    channels = set()
    for files in fileset.values():
        for f in files:
            try:
                channels.add(read_provenance(f).get("channel"))
            except (OSError, ValueError, KeyError):
                channels.add(None)
    return channels.pop() if len(channels) == 1 else None


def run_histograms(
    fileset: Mapping[str, Sequence[str]],
    config: HistogramConfig | None = None,
    *,
    executor_name: str = "iterative",
    workers: int = 1,
    chunksize: int = 100_000,
    scheduler: str | None = None,
    skip_bad_files: bool = False,
    tree: str = TREE_NAME,
    status: bool | None = None,
) -> HistogramSet:
    """Run :class:`DarkMachinesProcessor` over ``fileset`` with coffea's ``processor.Runner``.

    Every file is checked first (:func:`check_event_file`); a bad file raises an error naming it, or with
    ``skip_bad_files`` is skipped with a warning (and coffea's ``skipbadfiles`` is set for read errors later).
    All files must have the same format (ROOT or Parquet).
    """
    if chunksize < 1:
        raise ValueError(f"--chunksize must be >= 1, got {chunksize}")
    checked: dict[str, list[str]] = {}
    formats = set()
    for dataset, files in fileset.items():
        good = []
        for f in files:
            try:
                formats.add(check_event_file(f, tree))
                good.append(str(f))
            except (FileNotFoundError, ValueError, KeyError) as exc:
                if not skip_bad_files:
                    raise
                msg = exc.args[0] if exc.args else exc
                log.warning("skipping bad file: %s", msg)
        if good:
            checked[dataset] = good
    if not checked:
        raise ValueError("no readable event files left (all were skipped)")
    if len(formats) > 1:
        raise ValueError("all event files must have the same format (ROOT or Parquet), got both")
    fmt = formats.pop()
    status = sys.stderr.isatty() if status is None else status
    with executor(executor_name, workers, scheduler, status) as exe:
        runner = processor.Runner(
            executor=exe,
            schema=BaseSchema,
            chunksize=int(chunksize),
            skipbadfiles=bool(skip_bad_files),
            format=fmt,
        )
        result = runner(checked, DarkMachinesProcessor(config), treename=tree)
    return result
