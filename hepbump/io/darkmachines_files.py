"""Dark Machines event files on disk: format by suffix, reading ROOT/Parquet back, process tables, provenance.

The files are written by :mod:`hepbump.io.darkmachines_write`; the layout is that of
:func:`hepbump.io.darkmachines.to_collections` (ROOT TTree ``Events`` or Parquet, NanoAOD-style columns, GeV).

>>> event_file_format("sample.parquet"), sidecar_path("dm_2b.csv").name
('parquet', 'dm_2b.csv.json')
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import awkward as ak

from hepbump.io.darkmachines import (
    PROCESS_NAMES,
    PROCESS_TREE_NAME,
    PROCESSES_KEY,
    PROVENANCE_KEY,
    TREE_NAME,
    check_input_file,
)

__all__ = ["event_file_format", "event_file_columns", "sidecar_path", "read_events", "read_process_names", "read_provenance"]

_FORMATS = {".csv": "csv", ".root": "root", ".parquet": "parquet", ".pq": "parquet"}


def event_file_format(path: str | os.PathLike[str]) -> str:
    """``"csv"``, ``"root"`` or ``"parquet"`` from the file suffix (``.csv``, ``.root``, ``.parquet``/``.pq``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"{path}: unknown event-file suffix {suffix!r}; use .csv, .root or .parquet")
    return _FORMATS[suffix]


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON provenance file that accompanies a generated CSV file (``FILE.csv`` -> ``FILE.csv.json``)."""
    return Path(f"{path}.json")


def _open_root(path: Path) -> Any:
    import uproot

    try:
        return uproot.open(path)
    except Exception as exc:  # uproot raises several types for non-ROOT input
        raise ValueError(f"{path}: not a readable ROOT file ({exc})") from exc


def _parquet_metadata(path: Path) -> dict[bytes, bytes]:
    import pyarrow.parquet as pq

    try:
        return dict(pq.read_metadata(path).metadata or {})
    except Exception as exc:
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from exc


def event_file_columns(path: str | os.PathLike[str], *, tree: str = TREE_NAME) -> tuple[Path, str, list[str]]:
    """Check a ROOT/Parquet event file without reading its data: ``(path, format, column names)``.

    ``tree`` applies to ROOT files only. Errors name the file: ``FileNotFoundError`` (missing), ``ValueError``
    (CSV, unknown suffix, unreadable content), ``KeyError`` (no TTree ``tree``).
    """
    path = check_input_file(path, "event file")
    fmt = event_file_format(path)
    if fmt == "csv":
        raise ValueError(f"{path}: coffea reads ROOT or Parquet; convert the CSV first with `hepbump convert` "
                         "(or read it with read_csv)")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return path, fmt, list(pq.read_schema(path).names)
        except Exception as exc:
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from exc
    with _open_root(path) as f:
        trees = [k for k, cls in f.classnames(cycle=False).items() if cls == "TTree"]
        if tree not in trees:
            raise KeyError(f"{path}: no TTree named {tree!r} (trees in the file: {', '.join(trees) or 'none'})")
        return path, fmt, list(f[tree].keys())


def read_events(path: str | os.PathLike[str], *, tree: str = TREE_NAME) -> ak.Array:
    """Read a ROOT (TTree ``tree``) or Parquet event file back into the flat layout of :func:`to_collections`.

    ``tree`` applies to ROOT files only; the checks and errors are those of :func:`event_file_columns`.
    """
    path, fmt, _ = event_file_columns(path, tree=tree)
    if fmt == "parquet":
        try:
            return ak.from_parquet(path)
        except Exception as exc:
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from exc
    with _open_root(path) as f:
        return f[tree].arrays(library="ak")


def read_process_names(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Process names of a ROOT/Parquet event file, index = ``processID`` (:data:`PROCESS_NAMES` if unrecorded)."""
    path = check_input_file(path, "event file")
    fmt = event_file_format(path)
    if fmt == "parquet":
        raw = _parquet_metadata(path).get(PROCESSES_KEY.encode())
        return tuple(json.loads(raw)) if raw else PROCESS_NAMES
    if fmt == "csv":
        raise ValueError(f"{path}: CSV files carry process names in every line; no process table")
    with _open_root(path) as f:
        if PROCESS_TREE_NAME not in f:
            return PROCESS_NAMES
        table = f[PROCESS_TREE_NAME].arrays(["processID", "name"], library="np")
    names = [""] * (int(table["processID"].max()) + 1 if table["processID"].size else 0)
    for code, name in zip(table["processID"], table["name"]):
        names[int(code)] = str(name)
    return tuple(names)


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The generator's provenance record (luminosity, cross sections, seed, ...) of an event file; ``{}`` if none.

    ROOT: a JSON ``TObjString`` :data:`PROVENANCE_KEY`; Parquet: key-value metadata; CSV: the sidecar
    :func:`sidecar_path`.
    """
    path = check_input_file(path, "event file")
    fmt = event_file_format(path)
    if fmt == "csv":
        side = sidecar_path(path)
        text = side.read_text() if side.exists() else None
    elif fmt == "parquet":
        raw = _parquet_metadata(path).get(PROVENANCE_KEY.encode())
        text = raw.decode() if raw else None
    else:
        with _open_root(path) as f:
            text = str(f[PROVENANCE_KEY]) if PROVENANCE_KEY in f else None
    if not text:
        return {}
    try:
        return dict(json.loads(text))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: provenance record is not valid JSON ({exc})") from exc
