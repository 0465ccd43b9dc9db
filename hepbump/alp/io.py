"""Simulated ALP event files: ROOT (uproot) or Parquet, chosen by suffix; atomic writes.

* ROOT (``.root``): a TTree :data:`TREE_NAME` with one flat branch per column of :data:`EVENT_FIELDS` (plus
  ``pair_label`` in pairs mode);
* Parquet (``.parquet`` / ``.pq``): the same columns;

and in both the run record :data:`RUN_RECORD` (mode, geometry, seed, version, statistics) stored through
:mod:`hepbump.io.events`.

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

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepbump.errors import InputError, MissingEntryError
from hepbump.io.atomic import atomic_path
from hepbump.io.events import (
    describe_exception,
    file_format,
    inspect_event_file,
    open_root,
    parquet_records,
    read_parquet,
    read_record,
    write_root_records,
)

__all__ = [
    "EVENT_FIELDS",
    "PAIR_LABEL_FIELD",
    "INT_FIELDS",
    "TREE_NAME",
    "RUN_RECORD",
    "FORMAT_VERSION",
    "write_events",
    "read_events",
    "read_run_info",
]

log = logging.getLogger(__name__)

#: Columns of a simulated ALP event file (GeV, metres, m/GeV): parameters, photons, hits, vertex, ALP.
EVENT_FIELDS = (
    "m_a", "ctau_over_m", "group",
    "g1_E", "g1_px", "g1_py", "g1_pz", "g2_E", "g2_px", "g2_py", "g2_pz",
    "g1_x", "g1_y", "g2_x", "g2_y",
    "vtx_x", "vtx_y", "vtx_z",
    "a_px", "a_py", "a_pz", "a_E",
)  # fmt: skip
PAIR_LABEL_FIELD = "pair_label"
TREE_NAME = "alp"
#: Name of the run record (:mod:`hepbump.io.events`) of an event file.
RUN_RECORD = "run"
FORMAT_VERSION = 1
#: Integer columns and their types; every other column is float64.
INT_FIELDS = {"group": np.int64, PAIR_LABEL_FIELD: np.int8}
#: Rows per TTree basket when writing ROOT files.
_ROOT_BASKET_ROWS = 200_000


def _columns_of(events: Any) -> dict[str, np.ndarray]:
    if hasattr(events, "columns") and hasattr(events, "run_info"):  # hepbump.alp.simulate.SimulatedEvents
        raw: Mapping[str, Any] = events.columns
    elif isinstance(events, ak.Array):
        raw = {f: events[f] for f in events.fields}
    else:
        raw = events
    missing = [f for f in EVENT_FIELDS if f not in raw]
    if missing:
        raise MissingEntryError(f"events lack the field(s) {missing}")
    allowed = (*EVENT_FIELDS, PAIR_LABEL_FIELD)
    extra = sorted(set(raw) - set(allowed))
    if extra:
        raise InputError(f"events have unexpected field(s) {extra}; allowed: {list(allowed)}")
    cols: dict[str, np.ndarray] = {}
    for name in allowed:
        if name not in raw:
            continue
        arr = np.asarray(ak.to_numpy(raw[name]) if isinstance(raw[name], ak.Array) else raw[name])
        if arr.ndim != 1:
            raise InputError(f"events field {name!r} must be one-dimensional, has shape {arr.shape}")
        cols[name] = arr.astype(INT_FIELDS.get(name, np.float64), copy=False)
    lengths = {len(v) for v in cols.values()}
    if len(lengths) != 1:
        raise InputError(f"events fields have different lengths: { {k: len(v) for k, v in cols.items()} }")
    return cols


def write_events(
    path: str | os.PathLike[str],
    events: Any,
    run_info: Mapping[str, Any] | None = None,
) -> None:
    """Write events (a :class:`~hepbump.alp.simulate.SimulatedEvents`, an ``ak.Array`` or columns) atomically.

    ``run_info`` defaults to ``events.run_info``; it must be JSON-serialisable.
    """
    path = Path(path)
    kind = file_format(path, allowed=("root", "parquet"))
    cols = _columns_of(events)
    if run_info is None:
        run_info = getattr(events, "run_info", {})
    record = {"format_version": FORMAT_VERSION, **dict(run_info)}
    meta = parquet_records({RUN_RECORD: record})  # checks that the record is JSON-serialisable before writing
    n = len(next(iter(cols.values())))
    with atomic_path(path) as tmp:
        if kind == "root":
            import uproot

            with uproot.recreate(tmp) as f:
                tree = f.mktree(TREE_NAME, {k: v.dtype for k, v in cols.items()})
                for start in range(0, max(n, 1), _ROOT_BASKET_ROWS):
                    tree.extend({k: v[start : start + _ROOT_BASKET_ROWS] for k, v in cols.items()})
                write_root_records(f, {RUN_RECORD: record})
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table(cols).replace_schema_metadata(meta)
            pq.write_table(table, tmp, compression="zstd")
    log.info("wrote %d ALP events to %s", n, path)


def read_events(path: str | os.PathLike[str]) -> ak.Array:
    """Read an event file written by :func:`write_events` into a flat ``ak.Array`` (one record per event).

    Errors name the file and the missing tree or field (:class:`~hepbump.errors.MissingEntryError`) or the
    unreadable content (:class:`~hepbump.errors.InputError`).
    """
    info = inspect_event_file(path, TREE_NAME, "ALP event file")
    missing = [b for b in EVENT_FIELDS if b not in info.columns]
    if missing:
        raise MissingEntryError(f"{path}: the events lack the field(s) {', '.join(missing)}")
    names = [b for b in (*EVENT_FIELDS, PAIR_LABEL_FIELD) if b in info.columns]
    if info.format == "parquet":
        table = read_parquet(info.path, names)
        arrays = {b: table.column(b).to_numpy() for b in names}
    else:
        with open_root(info.path) as f:
            try:
                arrays = f[TREE_NAME].arrays(names, library="np")
            except Exception as exc:  # truncated baskets surface only when read
                raise InputError(f"{path}: cannot read TTree {TREE_NAME!r} ({describe_exception(exc)})") from exc
    return ak.Array({k: np.asarray(v) for k, v in arrays.items()})


def read_run_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The run record (mode, geometry, seed, version, statistics) of an event file, as a dict."""
    record = read_record(path, RUN_RECORD)
    if record is None:
        raise MissingEntryError(f"{path}: no run record (not an ALP simulation file written by hepbump?)")
    if not isinstance(record, dict):
        raise InputError(f"{path}: the run record is not a JSON object")
    return record
