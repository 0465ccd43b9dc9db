"""Writing Dark Machines events: the DM CSV format, ROOT ``Events`` TTrees and Parquet, and the CSV converter.

All outputs are atomic (:func:`hepbump.io.atomic.atomic_path`): a failure while writing leaves no file behind.
:class:`EventWriter` streams chunks of in-memory events (the layout of :mod:`hepbump.darkmachines.format`) so that
files of any size are written with bounded memory.

* CSV: the real DM format, E/pt/MET in MeV with six significant digits, each field and object followed by ``;``.
  Generator provenance goes into the JSON sidecar ``FILE.csv.json``.
* ROOT: TTree ``Events`` (NanoAOD-style branches ``nJet``, ``Jet_pt``, ...; see
  :func:`hepbump.darkmachines.format.to_collections`) and the records (:mod:`hepbump.io.events`) ``processes``
  (process names, index = ``processID``) and ``provenance``.
* Parquet: the same flat columns and the same records in the file's key-value metadata.

>>> import pathlib, tempfile
>>> from hepbump.darkmachines.read import read_events
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.csv").write_text("7;z_jets;1;20500;0.5;m-,50000,45000,0.1,1.0;m+,48000,46000,-0.3,-2.0;\\n")
>>> report = convert(d / "a.csv", d / "a.root")
>>> flat = read_events(d / "a.root")
>>> flat.nMuon.tolist(), flat.Muon_charge.tolist(), flat.Muon_pt.tolist()
([2], [[1, -1]], [[46.0, 45.0]])
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Any

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hepbump.constants import MEV_TO_GEV
from hepbump.darkmachines.format import (
    COLLECTION_FIELDS,
    DEFAULT_CHUNK_BYTES,
    OBJECT_CODES,
    PROCESSES_RECORD,
    PROVENANCE_RECORD,
    TREE_NAME,
    ParseReport,
    ProcessTable,
    categorical_parts,
    iter_csv,
    object_codes,
    to_collections,
)
from hepbump.darkmachines.read import read_provenance, sidecar_path
from hepbump.errors import InputError
from hepbump.io.atomic import atomic_path
from hepbump.io.events import check_input_file, file_format, parquet_records, write_root_records

__all__ = ["EventWriter", "write_events", "format_csv", "convert"]

log = logging.getLogger(__name__)

_CODES_ARROW = pa.array(OBJECT_CODES)
_SIGNIFICANT_DIGITS = 6


def _format_sig(values: np.ndarray) -> pa.Array:
    """Shortest decimal strings of ``values`` rounded to six significant digits (as in the DM files).

    Rounding to six digits and converting to float32 (which holds every six-digit decimal exactly enough to
    round-trip) makes Arrow's shortest round-trip formatting print at most six significant digits.
    """
    x = np.asarray(values, dtype=np.float64)
    mag = np.abs(x)
    nonzero = (mag > 0) & np.isfinite(mag)
    exponent = np.floor(np.log10(np.where(nonzero, mag, 1.0)))
    scale = 10.0 ** (_SIGNIFICANT_DIGITS - 1 - exponent)
    rounded = np.where(nonzero, np.rint(x * scale) / scale, x)
    return pc.cast(pa.array(rounded.astype(np.float32)), pa.string())


def format_csv(events: ak.Array) -> bytes:
    """The DM CSV text (bytes, one line per event) of in-memory ``events`` (GeV in, MeV out).

    >>> from hepbump.darkmachines.format import build_events
    >>> ev = build_events(event=[3], process_index=[0], process_names=["ttbar"], weight=[1.0], met=[112.288],
    ...                   metphi=[1.74766], counts=[1], code=[1], energy=[331.927], pt=[147.558],
    ...                   eta=[-1.44969], phi=[-1.76399])
    >>> format_csv(ev)
    b'3;ttbar;1;112288;1.74766;b,331927,147558,-1.44969,-1.76399;\\n'
    """
    n = len(events)
    if n == 0:
        return b""
    p_index, p_names = categorical_parts(events.process)
    counts = ak.to_numpy(ak.num(events.objects, axis=1))
    flat = ak.flatten(events.objects, axis=1)
    code = object_codes(flat["type"])
    obj = pc.binary_join_element_wise(
        _CODES_ARROW.take(pa.array(code.astype(np.int32))),
        _format_sig(ak.to_numpy(flat.E) / MEV_TO_GEV),
        _format_sig(ak.to_numpy(flat.pt) / MEV_TO_GEV),
        _format_sig(ak.to_numpy(flat.eta)),
        _format_sig(ak.to_numpy(flat.phi)),
        ",",
    )
    obj = pc.binary_join_element_wise(obj, pa.scalar(""), ";")
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    per_event = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), obj), "")
    lines = pc.binary_join_element_wise(
        pc.cast(pa.array(ak.to_numpy(events.event).astype(np.int64)), pa.string()),
        pa.array(p_names, type=pa.string()).take(pa.array(p_index)),
        pc.cast(pa.array(ak.to_numpy(events.weight).astype(np.float64)), pa.string()),
        _format_sig(ak.to_numpy(events.MET) / MEV_TO_GEV),
        _format_sig(ak.to_numpy(events.METphi)),
        per_event,
        ";",
    )
    lines = pc.binary_join_element_wise(lines, pa.scalar(""), "\n")
    lines = lines.cast(pa.large_string())
    bounds = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + n + 1]
    return lines.buffers()[2].to_pybytes()[int(bounds[0]) : int(bounds[-1])]


def _root_branch_types() -> dict[str, Any]:
    types: dict[str, Any] = {
        "event": np.int64,
        "processID": np.int32,
        "weight": np.float64,
        "MET_pt": np.float32,
        "MET_phi": np.float32,
    }
    for coll, fields in COLLECTION_FIELDS.items():
        spec = ", ".join(f"{f}: {'bool' if f == 'btag' else 'int8' if f == 'charge' else 'float32'}" for f in fields)
        types[coll] = ak.types.from_datashape(f"var * {{{spec}}}", highlevel=False)
    return types


def _parquet_schema() -> pa.Schema:
    columns = [
        ("event", pa.int64()),
        ("processID", pa.int32()),
        ("weight", pa.float64()),
        ("MET_pt", pa.float32()),
        ("MET_phi", pa.float32()),
    ]
    for coll, fields in COLLECTION_FIELDS.items():
        columns.append((f"n{coll}", pa.int32()))
        for f in fields:
            item = pa.bool_() if f == "btag" else pa.int8() if f == "charge" else pa.float32()
            columns.append((f"{coll}_{f}", pa.list_(item)))
    return pa.schema(columns)


class EventWriter:
    """Stream in-memory DM events into a CSV, ROOT or Parquet file (format from the suffix unless ``fmt``).

    Use as a context manager; the file appears only when the block exits without an exception. ``provenance``
    (JSON-serialisable dict) is stored in the file (ROOT/Parquet) or in the CSV sidecar ``FILE.csv.json``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, fmt: str | None = None, provenance: dict[str, Any] | None = None
    ) -> None:
        self.path = Path(path)
        self.fmt = fmt or file_format(self.path)
        if self.fmt not in ("csv", "root", "parquet"):
            raise InputError(f"unknown event-file format {self.fmt!r}; use csv, root or parquet")
        #: Stored when the file is completed; may be replaced until then (e.g. by a generator's final record).
        self.provenance = dict(provenance or {})
        self._provenance_json()
        self.processes = ProcessTable()
        self.n_events = 0
        self._stack = contextlib.ExitStack()
        self._sink: Any = None

    def __enter__(self) -> EventWriter:
        tmp = self._stack.enter_context(atomic_path(self.path))
        if self.fmt == "csv":
            self._sink = self._stack.enter_context(open(tmp, "wb"))
        elif self.fmt == "root":
            import uproot

            self._file = self._stack.enter_context(uproot.recreate(tmp))
            self._sink = self._file.mktree(TREE_NAME, _root_branch_types(), title="Dark Machines events")
        else:
            import pyarrow.parquet as pq

            self._sink = pq.ParquetWriter(tmp, _parquet_schema(), compression="zstd")
            self._stack.callback(self._sink.close)
        return self

    def write(self, events: ak.Array) -> None:
        """Append a chunk of in-memory events."""
        if self._sink is None:
            raise RuntimeError("EventWriter.write called outside its 'with' block")
        if len(events) == 0:
            return
        if self.fmt == "csv":
            self._sink.write(format_csv(events))
        else:
            flat = to_collections(events, self.processes)
            if self.fmt == "root":
                self._sink.extend(self._root_chunk(flat))
            else:
                self._sink.write_table(self._parquet_chunk(flat))
        self.n_events += len(events)

    @staticmethod
    def _root_chunk(flat: ak.Array) -> dict[str, Any]:
        data: dict[str, Any] = {k: ak.to_numpy(flat[k]) for k in ("event", "processID", "weight", "MET_pt", "MET_phi")}
        for coll, fields in COLLECTION_FIELDS.items():
            data[coll] = ak.zip({f: flat[f"{coll}_{f}"] for f in fields})
        return data

    @staticmethod
    def _parquet_chunk(flat: ak.Array) -> pa.Table:
        schema = _parquet_schema()
        arrays = []
        for name in schema.names:
            column = flat[name]
            if column.ndim == 1:
                arrays.append(pa.array(ak.to_numpy(column), type=schema.field(name).type))
                continue
            counts = ak.to_numpy(ak.num(column, axis=1))
            offsets = np.zeros(counts.size + 1, dtype=np.int32)
            np.cumsum(counts, out=offsets[1:])
            values = pa.array(ak.to_numpy(ak.flatten(column)), type=schema.field(name).type.value_type)
            arrays.append(pa.ListArray.from_arrays(pa.array(offsets), values))
        return pa.Table.from_arrays(arrays, schema=schema)

    def _provenance_json(self) -> str:
        try:
            return json.dumps(self.provenance, sort_keys=True)
        except TypeError as exc:
            raise InputError(f"provenance of {self.path} is not JSON-serialisable: {exc}") from exc

    def _finish(self) -> None:
        names = list(self.processes.names)
        if self.fmt == "root":
            write_root_records(self._file, {PROCESSES_RECORD: names, PROVENANCE_RECORD: self.provenance})
        elif self.fmt == "parquet":
            self._sink.add_key_value_metadata(
                parquet_records({PROCESSES_RECORD: names, PROVENANCE_RECORD: self.provenance})
            )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc_type is None:
            try:
                self._finish()
            except BaseException as err:
                self._sink = None
                self._stack.__exit__(type(err), err, err.__traceback__)
                raise
        self._stack.__exit__(exc_type, exc, tb)
        self._sink = None
        if exc_type is None:
            if self.fmt == "csv" and self.provenance:
                with atomic_path(sidecar_path(self.path)) as tmp:
                    tmp.write_text(self._provenance_json() + "\n")
            log.info("wrote %d events to %s", self.n_events, self.path)
        return False


def write_events(
    events: ak.Array, path: str | os.PathLike[str], *, fmt: str | None = None, provenance: dict[str, Any] | None = None
) -> None:
    """Write in-memory events to one CSV, ROOT or Parquet file (atomically); see :class:`EventWriter`."""
    with EventWriter(path, fmt=fmt, provenance=provenance) as writer:
        writer.write(events)


def convert(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    skip_bad_lines: bool = False,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> ParseReport:
    """Convert a DM CSV file to ROOT or Parquet (format from ``target``'s suffix unless ``fmt``), streaming.

    The CSV's provenance sidecar, if any, is carried into the output. Returns the :class:`ParseReport`
    (events converted, malformed lines skipped). On any error no output file is left behind.
    """
    check_input_file(source, "Dark Machines CSV file")
    fmt = fmt or file_format(target)
    if fmt not in ("root", "parquet"):
        raise InputError(f"convert writes ROOT or Parquet, not {fmt!r} (target {target})")
    if Path(source).resolve() == Path(target).resolve():
        raise InputError(f"{source}: source and target are the same file")
    provenance = read_provenance(source)
    provenance["converted_from"] = Path(source).name
    report = ParseReport(str(source))
    with EventWriter(target, fmt=fmt, provenance=provenance) as writer:
        for events in iter_csv(source, skip_bad_lines=skip_bad_lines, chunk_bytes=chunk_bytes, report=report):
            writer.write(events)
    return report
