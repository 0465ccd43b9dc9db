"""coffea processor of the Dark Machines mass histograms (glue over hepbump.darkmachines.objects / categories / fill).

:class:`DarkMachinesProcessor` reads the NanoAOD-style flat branches of :mod:`hepbump.darkmachines.format` with
``BaseSchema`` (ROOT ``Events`` trees or Parquet), builds the objects
(:func:`~hepbump.darkmachines.objects.build_objects`), classifies the events
(:func:`~hepbump.darkmachines.categories.classify_events`) and fills the resolution-binned mass histograms
(:func:`~hepbump.darkmachines.fill.fill_chunk`). ``postprocess`` decides the jet-multiplicity caps on the whole
dataset, trims and selects (:func:`hepbump.darkmachines.histograms.assemble`) and returns a
:class:`hepbump.darkmachines.histograms.HistogramSet`.

:func:`run_histograms` runs it with coffea's ``processor.Runner`` over a fileset with the iterative, futures or
dask executor (a ``distributed`` LocalCluster by default, or an existing scheduler).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from coffea import processor

from hepbump.darkmachines.categories import classify_events
from hepbump.darkmachines.fill import fill_chunk
from hepbump.darkmachines.format import TREE_NAME
from hepbump.darkmachines.histograms import HistogramConfig, HistogramSet, assemble
from hepbump.darkmachines.objects import build_objects, check_branches
from hepbump.darkmachines.read import read_process_names, read_provenance
from hepbump.errors import HepbumpError, InputError, InputNotFoundError
from hepbump.io.events import EventFileInfo
from processors.runner import RunOptions, check_files, run

__all__ = ["DarkMachinesProcessor", "load_fileset", "check_event_file", "recorded_channel", "run_histograms"]

log = logging.getLogger(__name__)


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
        except HepbumpError as exc:
            raise type(exc)(f"{source}: {exc}") from exc
        out["datasets"] = {str(meta.get("dataset", ""))}
        return out

    def postprocess(self, accumulator: dict[str, Any]) -> HistogramSet:
        return assemble(accumulator, self.config, datasets=sorted(accumulator.get("datasets", set())))


def load_fileset(paths: Sequence[str | os.PathLike[str]], dataset: str = "events") -> dict[str, list[str]]:
    """A coffea fileset from event files, or from one JSON file ``{dataset: [files]}`` /
    ``{dataset: {"files": [files]}}`` (relative paths are relative to the JSON file)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no input files given")
    if len(paths) == 1 and paths[0].suffix.lower() == ".json":
        spec = paths[0]
        if not spec.exists():
            raise InputNotFoundError(f"no such fileset: {spec}")
        try:
            raw = json.loads(spec.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{spec}: not valid JSON ({exc})") from exc
        if not isinstance(raw, Mapping) or not raw:
            raise InputError(f"{spec}: a fileset is a JSON object {{dataset: [files]}}")
        out: dict[str, list[str]] = {}
        for name, entry in raw.items():
            files = entry.get("files") if isinstance(entry, Mapping) else entry
            if isinstance(files, Mapping):
                files = list(files)
            if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
                raise InputError(f"{spec}: dataset {name!r} needs a non-empty list of file names")
            out[str(name)] = [str((spec.parent / f) if not Path(f).is_absolute() else Path(f)) for f in files]
        return out
    if any(p.suffix.lower() == ".json" for p in paths):
        raise InputError("give either one JSON fileset or event files, not both")
    return {dataset: [str(p) for p in paths]}


def _validate(info: EventFileInfo) -> None:
    check_branches(info.columns, str(info.path))


def check_event_file(path: str | os.PathLike[str], tree: str = TREE_NAME) -> str:
    """Check that ``path`` exists and holds the needed branches; returns ``"root"`` or ``"parquet"``.

    Errors name the file: InputNotFoundError, InputError (unreadable, wrong type), MissingEntryError (no tree
    ``tree``, missing branches).
    """
    _, fmt = check_files([str(path)], tree, validate=_validate)
    return fmt


def recorded_channel(fileset: Mapping[str, Sequence[str]]) -> str | None:
    """The DM channel recorded in the files' provenance (generated samples) when all files agree, else None."""
    channels = set()
    for files in fileset.values():
        for f in files:
            try:
                channels.add(read_provenance(f).get("channel"))
            except HepbumpError:
                channels.add(None)
    return channels.pop() if len(channels) == 1 else None


def run_histograms(
    fileset: Mapping[str, Sequence[str]],
    config: HistogramConfig | None = None,
    options: RunOptions | None = None,
    *,
    tree: str = TREE_NAME,
) -> HistogramSet:
    """Run :class:`DarkMachinesProcessor` over ``fileset`` (``{dataset: [files]}``) with coffea.

    Every file is checked first (:func:`processors.runner.check_files`); a bad file raises an error naming it,
    or with ``options.skip_bad_files`` is skipped with a warning (and coffea's ``skipbadfiles`` is set for read
    errors later). All files must have the same format (ROOT or Parquet).
    """
    options = options or RunOptions()
    checked: dict[str, list[str]] = {}
    formats = set()
    for dataset, files in fileset.items():
        try:
            good, fmt = check_files(files, tree, skip_bad_files=options.skip_bad_files, validate=_validate)
        except InputError:
            if not options.skip_bad_files:
                raise
            continue
        checked[dataset] = list(good)
        formats.add(fmt)
    if not checked:
        raise InputError("no readable event files left (all were skipped)")
    if len(formats) > 1:
        raise InputError("all event files must have the same format (ROOT or Parquet), got both")
    return run(DarkMachinesProcessor(config), checked, tree=tree, fmt=formats.pop(), options=options)
