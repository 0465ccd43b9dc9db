"""Simulated ALP event files: ROOT (uproot) or Parquet, chosen by suffix; atomic writes.

* ROOT (``.root``): a TTree :data:`TREE_NAME` with one flat branch per column of
  :data:`hepbump.alp.simulate.EVENT_FIELDS` (plus ``pair_label`` in pairs mode), and the run record
  (mode, geometry, seed, version, statistics) as a JSON ``TObjString`` named :data:`RUN_KEY`.
* Parquet (``.parquet`` / ``.pq``): the same columns; the run record as JSON under the file-metadata key
  :data:`PARQUET_RUN_KEY`.

>>> import tempfile, pathlib
>>> from hepbump.alp.simulate import simulate
>>> ev = simulate("signal", 5, seed=3, mass_gev=0.5, ctau_over_m=2.0)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "sig.root"
>>> write_events(path, ev)
>>> arr = read_events(path)
>>> len(arr), read_run_info(path)["mode"], bool(np.all(arr.m_a == 0.5))
(5, 'signal', True)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepbump.alp.simulate import EVENT_FIELDS, PAIR_LABEL_FIELD, SimulatedEvents
from hepbump.io.atomic import atomic_path

__all__ = [
    "TREE_NAME",
    "RUN_KEY",
    "PARQUET_RUN_KEY",
    "FORMAT_VERSION",
    "event_file_format",
    "write_events",
    "read_events",
    "read_run_info",
]

log = logging.getLogger(__name__)

TREE_NAME = "alp"
RUN_KEY = "run"
PARQUET_RUN_KEY = b"hepbump.alp.run"
FORMAT_VERSION = 1
_ROOT_SUFFIXES = (".root",)
_PARQUET_SUFFIXES = (".parquet", ".pq")
_INT_DTYPES = {"group": np.int64, PAIR_LABEL_FIELD: np.int8}
#: Rows per TTree basket when writing ROOT files.
_ROOT_BASKET_ROWS = 200_000


def event_file_format(path: str | os.PathLike[str]) -> str:
    """``"root"`` or ``"parquet"`` from the file suffix; :class:`ValueError` for anything else.

    >>> event_file_format("a/b.PARQUET")
    'parquet'
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _ROOT_SUFFIXES:
        return "root"
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    raise ValueError(f"{path}: unknown event-file type {suffix!r}; use .root, .parquet or .pq")


def _columns_of(events: SimulatedEvents | Mapping[str, Any] | ak.Array) -> dict[str, np.ndarray]:
    if isinstance(events, SimulatedEvents):
        raw: Mapping[str, Any] = events.columns
    elif isinstance(events, ak.Array):
        raw = {f: events[f] for f in events.fields}
    else:
        raw = events
    missing = [f for f in EVENT_FIELDS if f not in raw]
    if missing:
        raise KeyError(f"events lack the field(s) {missing}")
    allowed = (*EVENT_FIELDS, PAIR_LABEL_FIELD)
    extra = sorted(set(raw) - set(allowed))
    if extra:
        raise ValueError(f"events have unexpected field(s) {extra}; allowed: {list(allowed)}")
    cols: dict[str, np.ndarray] = {}
    for name in allowed:
        if name not in raw:
            continue
        arr = np.asarray(ak.to_numpy(raw[name]) if isinstance(raw[name], ak.Array) else raw[name])
        if arr.ndim != 1:
            raise ValueError(f"events field {name!r} must be one-dimensional, has shape {arr.shape}")
        cols[name] = arr.astype(_INT_DTYPES.get(name, np.float64), copy=False)
    lengths = {len(v) for v in cols.values()}
    if len(lengths) != 1:
        raise ValueError(f"events fields have different lengths: { {k: len(v) for k, v in cols.items()} }")
    return cols


def write_events(
    path: str | os.PathLike[str],
    events: SimulatedEvents | Mapping[str, Any] | ak.Array,
    run_info: Mapping[str, Any] | None = None,
) -> None:
    """Write events (a :class:`SimulatedEvents`, an ``ak.Array`` or a mapping of columns) atomically.

    ``run_info`` defaults to ``events.run_info``; it must be JSON-serialisable.
    """
    path = Path(path)
    kind = event_file_format(path)
    cols = _columns_of(events)
    if run_info is None:
        run_info = events.run_info if isinstance(events, SimulatedEvents) else {}
    try:
        run_json = json.dumps({"format_version": FORMAT_VERSION, **dict(run_info)}, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"run information for {path} is not JSON-serialisable: {exc}") from exc
    n = len(next(iter(cols.values())))
    with atomic_path(path) as tmp:
        if kind == "root":
            import uproot

            with uproot.recreate(tmp) as f:
                tree = f.mktree(TREE_NAME, {k: v.dtype for k, v in cols.items()})
                for start in range(0, max(n, 1), _ROOT_BASKET_ROWS):
                    tree.extend({k: v[start : start + _ROOT_BASKET_ROWS] for k, v in cols.items()})
                f[RUN_KEY] = run_json
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table(cols).replace_schema_metadata({PARQUET_RUN_KEY: run_json.encode()})
            pq.write_table(table, tmp, compression="zstd")
    log.info("wrote %d ALP events to %s", n, path)


def _open_root(path: Path):
    import uproot

    try:
        return uproot.open(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable ROOT file ({exc})") from exc


def _check_exists(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"event file {path} not found")
    return path


def read_events(path: str | os.PathLike[str]) -> ak.Array:
    """Read an event file written by :func:`write_events` into a flat ``ak.Array`` (one record per event).

    Raises :class:`KeyError` naming the file and the missing tree or field.
    """
    path = _check_exists(path)
    kind = event_file_format(path)
    if kind == "root":
        with _open_root(path) as f:
            if TREE_NAME not in f:
                raise KeyError(f"{path}: no TTree {TREE_NAME!r} (keys: {f.keys()})")
            tree = f[TREE_NAME]
            present = set(tree.keys())
            missing = [b for b in EVENT_FIELDS if b not in present]
            if missing:
                raise KeyError(f"{path}: TTree {TREE_NAME!r} lacks the branch(es) {missing}")
            names = [b for b in (*EVENT_FIELDS, PAIR_LABEL_FIELD) if b in present]
            arrays = tree.arrays(names, library="np")
    else:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises its own error types for corrupt files
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from exc
        missing = [b for b in EVENT_FIELDS if b not in table.column_names]
        if missing:
            raise KeyError(f"{path}: Parquet file lacks the column(s) {missing}")
        names = [b for b in (*EVENT_FIELDS, PAIR_LABEL_FIELD) if b in table.column_names]
        arrays = {b: table.column(b).to_numpy() for b in names}
    return ak.Array({k: np.asarray(v) for k, v in arrays.items()})


def read_run_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The run record (mode, geometry, seed, version, statistics) of an event file, as a dict."""
    path = _check_exists(path)
    if event_file_format(path) == "root":
        with _open_root(path) as f:
            if RUN_KEY not in f:
                raise KeyError(f"{path}: no run record {RUN_KEY!r} (keys: {f.keys()})")
            text = str(f[RUN_KEY])
    else:
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        if PARQUET_RUN_KEY not in meta:
            raise KeyError(f"{path}: no run record {PARQUET_RUN_KEY.decode()!r} in the Parquet metadata")
        text = meta[PARQUET_RUN_KEY].decode()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: run record is not valid JSON ({exc})") from exc
