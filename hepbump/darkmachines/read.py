"""Reading Dark Machines event files back: events, process tables and generator provenance.

The files are written by :mod:`hepbump.darkmachines.write` in the layout of
:func:`hepbump.darkmachines.format.to_collections` (ROOT TTree ``Events`` or Parquet, NanoAOD-style columns, GeV).
Opening, format detection and the JSON records inside the files (``processes``, ``provenance``) go through the
one event-file layer, :mod:`hepbump.io.events`.

>>> sidecar_path("dm_2b.csv").name
'dm_2b.csv.json'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import awkward as ak

from hepbump.darkmachines.format import PROCESS_NAMES, PROCESSES_RECORD, PROVENANCE_RECORD, TREE_NAME
from hepbump.errors import InputError
from hepbump.io.events import (
    check_input_file,
    describe_exception,
    file_format,
    inspect_event_file,
    open_root,
    read_parquet,
    read_record,
)

__all__ = ["sidecar_path", "read_events", "read_process_names", "read_provenance"]


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON provenance file that accompanies a generated CSV file (``FILE.csv`` -> ``FILE.csv.json``)."""
    return Path(f"{path}.json")


def read_events(path: str | os.PathLike[str], *, tree: str = TREE_NAME) -> ak.Array:
    """Read a ROOT (TTree ``tree``) or Parquet event file back into the flat layout of ``to_collections``.

    ``tree`` applies to ROOT files only; the checks and errors are those of
    :func:`hepbump.io.events.inspect_event_file`.
    """
    info = inspect_event_file(path, tree)
    if info.format == "parquet":
        return ak.from_arrow(read_parquet(info.path), generate_bitmasks=False)
    with open_root(info.path) as f:
        try:
            return f[tree].arrays(library="ak")
        except Exception as exc:  # truncated baskets surface only when read
            raise InputError(f"{path}: cannot read TTree {tree!r} ({describe_exception(exc)})") from exc


def read_process_names(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Process names of a ROOT/Parquet event file, index = ``processID`` (:data:`PROCESS_NAMES` if unrecorded)."""
    if file_format(path) == "csv":
        raise InputError(f"{path}: CSV files carry process names in every line; no process table")
    names = read_record(path, PROCESSES_RECORD)
    if names is None:
        return PROCESS_NAMES
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{path}: the process table is not a list of names")
    return tuple(names)


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The generator's provenance record (luminosity, cross sections, seed, ...) of an event file; ``{}`` if none.

    ROOT and Parquet files hold it as the record ``provenance``; a CSV file in the sidecar :func:`sidecar_path`.
    """
    if file_format(path) == "csv":
        check_input_file(path, "event file")
        side = sidecar_path(path)
        if not side.exists():
            return {}
        try:
            record = json.loads(side.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{side}: provenance record is not valid JSON ({exc})") from exc
    else:
        record = read_record(path, PROVENANCE_RECORD)
    if record is None:
        return {}
    if not isinstance(record, dict):
        raise InputError(f"{path}: the provenance record is not a JSON object")
    return record
