"""Event files of every hepbump pipeline: format from the suffix, checked opening, JSON records inside the file.

Both pipelines store events as a ROOT TTree or a Parquet table (the Dark Machines pipeline also reads its CSV
text format). This module is the one place that

* tells the format from the suffix (:func:`file_format`: ``.root``, ``.parquet``/``.pq``, ``.csv``);
* opens a file with an error that names it (:func:`check_input_file`, :func:`open_root`, :func:`parquet_schema`,
  :func:`read_parquet`), turning uproot's and pyarrow's many exception types, short reads of truncated files
  included, into :class:`~hepbump.errors.InputError`;
* checks a file before a long run without reading its data (:func:`inspect_event_file`: format, columns,
  entries);
* stores JSON records (run information, provenance, process tables, histogram metadata) under one key
  namespace, :func:`record_key` (``hepbump_<name>``): a ``TObjString`` in ROOT files, a key of the schema
  metadata in Parquet files (:func:`read_record`, :func:`write_root_records`, :func:`parquet_records`).

>>> file_format("sample.PQ"), record_key("run")
('parquet', 'hepbump_run')
>>> file_format("dm.csv", allowed=("root", "parquet"))
Traceback (most recent call last):
...
hepbump.errors.InputError: dm.csv: unknown event-file type '.csv'; use .root, .parquet, .pq
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepbump.errors import InputError, InputNotFoundError, MissingEntryError

__all__ = [
    "SUFFIXES",
    "describe_exception",
    "RECORD_PREFIX",
    "EventFileInfo",
    "file_format",
    "check_input_file",
    "open_root",
    "parquet_schema",
    "read_parquet",
    "inspect_event_file",
    "record_key",
    "read_record",
    "write_root_records",
    "parquet_records",
]

#: File suffixes (lower case) and the format each one means.
SUFFIXES = {".root": "root", ".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
#: Prefix of every JSON record hepbump stores inside a file.
RECORD_PREFIX = "hepbump_"


def describe_exception(exc: BaseException, limit: int = 240) -> str:
    """``Type: message`` of an exception from uproot or pyarrow on one line (their messages span lines).

    >>> describe_exception(OSError("expected Chunk of length 403,\\nreceived 50 bytes"))
    'OSError: expected Chunk of length 403, received 50 bytes'
    """
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def file_format(path: str | os.PathLike[str], allowed: Iterable[str] = ("root", "parquet", "csv")) -> str:
    """``"root"``, ``"parquet"`` or ``"csv"`` from the suffix of ``path``; InputError unless in ``allowed``."""
    allowed = tuple(allowed)
    suffix = Path(path).suffix.lower()
    fmt = SUFFIXES.get(suffix)
    if fmt is None or fmt not in allowed:
        names = ", ".join(s for s, f in SUFFIXES.items() if f in allowed)
        raise InputError(f"{path}: unknown event-file type {suffix!r}; use {names}")
    return fmt


def check_input_file(path: str | os.PathLike[str], what: str = "input file") -> Path:
    """``path`` as a Path after checking that it is an existing, readable regular file (errors name it)."""
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"no such {what}: {path}")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file (the {what} must be a file)")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied (cannot read the {what})")
    return path


def open_root(path: str | os.PathLike[str], what: str = "ROOT file") -> Any:
    """``uproot.open(path)`` after :func:`check_input_file`; a file uproot cannot read is an InputError."""
    import uproot

    path = check_input_file(path, what)
    try:
        return uproot.open(path)
    except Exception as exc:  # uproot raises many types (ValueError, OSError, struct errors) for bad input
        raise InputError(f"{path}: not a readable ROOT file ({describe_exception(exc)})") from exc


def parquet_schema(path: str | os.PathLike[str], what: str = "Parquet file") -> Any:
    """The Arrow schema (with its key-value metadata) and row count of a Parquet file: ``(schema, n_rows)``."""
    import pyarrow.parquet as pq

    path = check_input_file(path, what)
    try:
        meta = pq.read_metadata(path)
        return meta.schema.to_arrow_schema(), int(meta.num_rows)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for corrupt or truncated files
        raise InputError(f"{path}: not a readable Parquet file ({describe_exception(exc)})") from exc


def read_parquet(path: str | os.PathLike[str], columns: Iterable[str] | None = None, what: str = "Parquet file") -> Any:
    """A ``pyarrow.Table`` of (the given columns of) a Parquet file; missing columns are a MissingEntryError."""
    import pyarrow.parquet as pq

    schema, _ = parquet_schema(path, what)
    if columns is not None:
        columns = list(columns)
        missing = [c for c in columns if c not in schema.names]
        if missing:
            raise MissingEntryError(f"{path}: no column(s) {', '.join(missing)} in the Parquet file")
    try:
        return pq.read_table(path, columns=columns)
    except Exception as exc:
        raise InputError(f"{path}: not a readable Parquet file ({describe_exception(exc)})") from exc


@dataclass(frozen=True)
class EventFileInfo:
    """What :func:`inspect_event_file` learns without reading the data."""

    path: Path
    format: str
    columns: tuple[str, ...]
    n_entries: int


def inspect_event_file(path: str | os.PathLike[str], tree: str, what: str = "event file") -> EventFileInfo:
    """Check a ROOT (TTree ``tree``) or Parquet event file before a run: format, column names, number of entries.

    Errors name the file: InputNotFoundError (missing), InputError (unknown suffix, unreadable or truncated
    content), MissingEntryError (no TTree ``tree``). CSV files are refused: coffea reads ROOT or Parquet.
    """
    fmt = file_format(path, allowed=("root", "parquet", "csv"))
    if fmt == "csv":
        raise InputError(f"{path}: coffea reads ROOT or Parquet; convert the CSV first (`hepbump dm convert`)")
    if fmt == "parquet":
        schema, n = parquet_schema(path, what)
        return EventFileInfo(Path(path), fmt, tuple(schema.names), n)
    with open_root(path, what) as f:
        try:
            classes = f.classnames(cycle=False)
            trees = [k for k, cls in classes.items() if cls == "TTree"]
            if tree not in trees:
                found = f"; {tree!r} is a {classes[tree]}" if tree in classes else ""
                raise MissingEntryError(
                    f"{path}: no TTree named {tree!r} (trees in the file: {', '.join(trees) or 'none'}{found})"
                )
            t = f[tree]
            return EventFileInfo(Path(path), fmt, tuple(t.keys()), int(t.num_entries))
        except MissingEntryError:
            raise
        except Exception as exc:  # a truncated file can open and fail on the first read
            raise InputError(f"{path}: not a readable ROOT file ({describe_exception(exc)})") from exc


def record_key(name: str) -> str:
    """The key under which the record ``name`` is stored in a file (``hepbump_<name>``)."""
    if not name or not name.replace("_", "").isalnum():
        raise InputError(f"record names are alphanumeric with underscores, got {name!r}")
    return RECORD_PREFIX + name


def _decode(text: str | bytes, path: Any, key: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: record {key!r} is not valid JSON ({exc})") from exc


def read_record(path: str | os.PathLike[str], name: str) -> Any:
    """The JSON record ``name`` stored in a ROOT or Parquet file, or ``None`` if the file has none."""
    key = record_key(name)
    fmt = file_format(path, allowed=("root", "parquet"))
    if fmt == "parquet":
        import pyarrow.parquet as pq

        parquet_schema(path)  # checks the file
        raw = (pq.read_metadata(path).metadata or {}).get(key.encode())
        return None if raw is None else _decode(raw, path, key)
    with open_root(path) as f:
        try:
            if key not in f:
                return None
            text = str(f[key])
        except Exception as exc:
            raise InputError(f"{path}: not a readable ROOT file ({describe_exception(exc)})") from exc
    return _decode(text, path, key)


def _encode(name: str, record: Any) -> str:
    try:
        return json.dumps(record, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"record {name!r} is not JSON-serialisable: {exc}") from exc


def write_root_records(root_file: Any, records: Mapping[str, Any]) -> None:
    """Store JSON records in an open, writable uproot file (one ``TObjString`` per record)."""
    for name, record in records.items():
        root_file[record_key(name)] = _encode(name, record)


def parquet_records(records: Mapping[str, Any]) -> dict[bytes, bytes]:
    """Schema metadata holding JSON records, for ``pyarrow.Table.replace_schema_metadata``.

    >>> parquet_records({"run": {"seed": 1}})
    {b'hepbump_run': b'{"seed": 1}'}
    """
    return {record_key(name).encode(): _encode(name, record).encode() for name, record in records.items()}
