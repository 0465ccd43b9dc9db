"""Dark Machines events: the CSV format, the in-memory awkward layout and the NanoAOD-style flat collections.

The Dark Machines (DM) format (arXiv:2105.14027) has one event per line::

    event ID; process ID; event weight; MET; METphi; obj,E,pt,eta,phi; obj,E,pt,eta,phi; ...

with object codes ``j`` (jet), ``b`` (b-tagged jet), ``e-``/``e+``, ``m-``/``m+`` (muons) and ``g`` (photon), at
most 20 objects, and E, pt, MET in **MeV**. Lines may end with ``;`` and may have spaces after separators.
Everything in hepbump is in **GeV**: the conversion happens here, at the reading boundary.

In memory (:func:`read_csv`), one record per event: ``event`` (int64), ``process`` (string), ``weight``
(float64), ``MET`` (GeV), ``METphi`` (rad) and ``objects``, a jagged list of records ``type`` (the file's code,
string), ``charge`` (int8: -1/0/+1), ``E``, ``pt`` (GeV), ``eta``, ``phi`` in file order. Access the type as
``events.objects["type"]``: the attribute ``.type`` is awkward's own (the array's type).

On disk (ROOT ``Events`` TTree or Parquet, written by :mod:`hepbump.darkmachines.write`, read back by
:func:`hepbump.darkmachines.read.read_events` or by coffea with ``BaseSchema``), one row per event with
NanoAOD-style flat fields, see :func:`to_collections`.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "two.csv"
>>> _ = path.write_text("94;ttbar;1;112288;1.74766;b,331927,147558,-1.44969,-1.76399;"
...                     "j,100406,85589,-0.568259,-1.17144\\n"
...                     "57;ttbarGam;1;66814.7;0.820827;g,52303.8,22421.9,1.4907,-0.156513;\\n")
>>> events = read_csv(path)
>>> events.process.tolist(), events.MET.tolist()
(['ttbar', 'ttbarGam'], [112.288, 66.8147])
>>> events.objects["type"].tolist(), events.objects.pt.tolist()
([['b', 'j'], ['g']], [[147.558, 85.589], [22.4219]])
>>> flat = to_collections(events)
>>> flat.nJet.tolist(), flat.Jet_btag.tolist(), flat.processID.tolist()
([2, 0], [[True, False], []], [4, 16])
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pyarrow.compute as pc

from hepbump.constants import MEV_TO_GEV
from hepbump.darkmachines.parse import OBJECT_CODES, BadLine, ParsedChunk, parse_chunk
from hepbump.errors import InputError
from hepbump.io.events import check_input_file

#: MeV per GeV, exact (division by it converts the file's decimal MeV values to correctly rounded GeV).
_MEV_PER_GEV = float(round(1.0 / MEV_TO_GEV))

__all__ = [
    "OBJECT_CODES",
    "OBJECT_CHARGES",
    "SM_PROCESS_NAMES",
    "SIGNAL_PROCESS_NAMES",
    "PROCESS_NAMES",
    "COLLECTIONS",
    "COLLECTION_FIELDS",
    "DEFAULT_CHUNK_BYTES",
    "TREE_NAME",
    "PROVENANCE_RECORD",
    "PROCESSES_RECORD",
    "ProcessTable",
    "ParseReport",
    "BadLine",
    "build_events",
    "iter_csv",
    "read_csv",
    "object_codes",
    "categorical_parts",
    "to_collections",
]

log = logging.getLogger(__name__)

#: Electric charge of each object code (same order as :data:`OBJECT_CODES`).
OBJECT_CHARGES = np.array([0, 0, -1, 1, -1, 1, 0], dtype=np.int8)

#: The 26 Standard Model process IDs of the Dark Machines background samples.
SM_PROCESS_NAMES = (
    "njets", "w_jets", "gam_jets", "z_jets", "ttbar", "wtop", "wtopbar", "ww", "single_top", "single_topbar",
    "2gam", "Wgam", "zw", "Zgam", "zz", "single_higgs", "ttbarGam", "ttbarZ", "ttbarHiggs", "atop", "ttbarW",
    "atopbar", "ztop", "ztopbar", "4top", "ttbarWW",
)  # fmt: skip
#: Process IDs of the BSM benchmarks of :mod:`hepbump.darkmachines.generate.signals` (BumpNet paper, Table 1).
SIGNAL_PROCESS_NAMES = (
    "lq600_be", "lq600_bmu", "lq600_bebmu", "zp50_3mu", "zp50_4mu", "stop1000_bl", "wp1500_lvqq", "wp1500_qqvv",
)  # fmt: skip
#: Fixed process codes: ``processID`` in ROOT/Parquet files is the index in this tuple. Names not listed here
#: get codes from ``len(PROCESS_NAMES)`` upwards, recorded in each file (see :class:`ProcessTable`).
PROCESS_NAMES = SM_PROCESS_NAMES + SIGNAL_PROCESS_NAMES

#: Flat collections of the on-disk format and the object codes that go into each.
COLLECTIONS: dict[str, tuple[str, ...]] = {
    "Jet": ("j", "b"),
    "Electron": ("e-", "e+"),
    "Muon": ("m-", "m+"),
    "Photon": ("g",),
}
#: Fields of each collection (``Jet_btag`` is true for ``b`` objects; charges are int8).
COLLECTION_FIELDS: dict[str, tuple[str, ...]] = {
    "Jet": ("pt", "eta", "phi", "E", "btag"),
    "Electron": ("pt", "eta", "phi", "E", "charge"),
    "Muon": ("pt", "eta", "phi", "E", "charge"),
    "Photon": ("pt", "eta", "phi", "E"),
}
#: Name of the events TTree in ROOT files.
TREE_NAME = "Events"
#: Records (:mod:`hepbump.io.events`) of an event file: the generator's provenance, and the JSON list of process
#: names (index = ``processID``).
PROVENANCE_RECORD = "provenance"
PROCESSES_RECORD = "processes"
#: Default size of the blocks in which CSV files are read and parsed, bytes.
DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024


class ProcessTable:
    """Process name <-> integer ``processID``: :data:`PROCESS_NAMES` first, unknown names appended as met.

    >>> table = ProcessTable()
    >>> table.codes(["ttbar", "my_signal", "ttbar"]).tolist()
    [4, 34, 4]
    >>> table.names[-1]
    'my_signal'
    """

    def __init__(self, names: Sequence[str] = PROCESS_NAMES) -> None:
        self._names: list[str] = [str(n) for n in names]
        self._index = {name: i for i, name in enumerate(self._names)}
        if len(self._index) != len(self._names):
            raise InputError("process names must be unique")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._names)

    def codes(self, names: Sequence[str]) -> np.ndarray:
        """``processID`` of each name (int32), registering names not seen before."""
        out = np.empty(len(names), dtype=np.int32)
        for i, name in enumerate(names):
            code = self._index.get(name)
            if code is None:
                code = self._index[name] = len(self._names)
                self._names.append(name)
                log.debug("process %r not among the known names: processID %d", name, code)
            out[i] = code
        return out


@dataclass
class ParseReport:
    """Outcome of reading a CSV file: events read and malformed lines (the first ``bad_lines`` are kept)."""

    path: str
    n_events: int = 0
    n_bad_lines: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.path}: {self.n_events} events, {self.n_bad_lines} malformed lines skipped"
        if self.bad_lines:
            text += "; first: " + "; ".join(f"line {b.line}: {b.reason}" for b in self.bad_lines[:3])
        return text


# --- In-memory layout -----------------------------------------------------------------------------------------


def _strings_layout(index: np.ndarray, names: Sequence[str]) -> ak.contents.Content:
    """Awkward string array whose entry ``i`` is ``names[index[i]]`` (built without a Python loop over entries)."""
    index = np.asarray(index, dtype=np.int64)
    encoded = [str(n).encode() for n in names]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    width = int(lengths.max(initial=0))
    table = np.zeros((len(encoded), max(width, 1)), dtype=np.uint8)
    for i, e in enumerate(encoded):
        table[i, : len(e)] = np.frombuffer(e, dtype=np.uint8)
    entry_len = lengths[index] if index.size else np.zeros(0, np.int64)
    offsets = np.zeros(index.size + 1, dtype=np.int64)
    np.cumsum(entry_len, out=offsets[1:])
    chars = table[index][np.arange(table.shape[1]) < entry_len[:, None]] if index.size else np.zeros(0, np.uint8)
    return ak.contents.ListOffsetArray(
        ak.index.Index64(offsets),
        ak.contents.NumpyArray(np.ascontiguousarray(chars), parameters={"__array__": "char"}),
        parameters={"__array__": "string"},
    )


def build_events(
    *,
    event: np.ndarray,
    process_index: np.ndarray,
    process_names: Sequence[str],
    weight: np.ndarray,
    met: np.ndarray,
    metphi: np.ndarray,
    counts: np.ndarray,
    code: np.ndarray,
    energy: np.ndarray,
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
) -> ak.Array:
    """Assemble the in-memory event layout from flat columns (GeV, radians).

    ``process_index`` indexes ``process_names``; ``counts`` is the number of objects per event, ``code`` the
    index of each object's code in :data:`OBJECT_CODES`. Types and processes are plain awkward strings.
    """
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    code = np.asarray(code, dtype=np.int8)
    if code.size != offsets[-1]:
        raise ValueError(f"build_events: {code.size} objects but counts sum to {offsets[-1]}")

    def num(values: np.ndarray, dtype: type = np.float64) -> ak.contents.NumpyArray:
        return ak.contents.NumpyArray(np.ascontiguousarray(values, dtype=dtype))

    objects = ak.contents.RecordArray(
        [
            _strings_layout(code, OBJECT_CODES),
            num(OBJECT_CHARGES[code], np.int8),
            num(energy),
            num(pt),
            num(eta),
            num(phi),
        ],
        ["type", "charge", "E", "pt", "eta", "phi"],
    )
    layout = ak.contents.RecordArray(
        [
            num(event, np.int64),
            _strings_layout(process_index, process_names),
            num(weight),
            num(met),
            num(metphi),
            ak.contents.ListOffsetArray(ak.index.Index64(offsets), objects),
        ],
        ["event", "process", "weight", "MET", "METphi", "objects"],
    )
    return ak.Array(layout)


def _events_from_chunks(chunks: Sequence[ParsedChunk]) -> ak.Array:
    """Merge parsed chunks (file units) into one in-memory array in GeV."""
    names: list[str] = []
    lookup: dict[str, int] = {}
    process_index = []
    for c in chunks:
        remap = np.array([lookup.setdefault(n, len(lookup)) for n in c.process_names], dtype=np.int64)
        process_index.append(remap[c.process_index] if remap.size else c.process_index)
    names = list(lookup)

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(c, attr) for c in chunks])

    return build_events(
        event=cat("event"),
        process_index=np.concatenate(process_index),
        process_names=names,
        weight=cat("weight"),
        met=cat("met") / _MEV_PER_GEV,
        metphi=cat("metphi"),
        counts=cat("counts"),
        code=cat("code"),
        energy=cat("energy") / _MEV_PER_GEV,
        pt=cat("pt") / _MEV_PER_GEV,
        eta=cat("eta"),
        phi=cat("phi"),
    )


# --- CSV reading ----------------------------------------------------------------------------------------------


def _raw_blocks(path: Path, chunk_bytes: int) -> Iterator[bytes]:
    """Blocks of whole lines (each ending with a newline) of about ``chunk_bytes`` bytes (a leading UTF-8 byte-order
    mark, as written by some spreadsheet programs, is skipped)."""
    with open(path, "rb") as f:
        rest = b""
        if f.read(3) != b"\xef\xbb\xbf":
            f.seek(0)
        while block := f.read(chunk_bytes):
            data = rest + block if rest else block
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1 :]
            yield data[: cut + 1]
        if rest:
            yield rest + b"\n"


def _iter_parsed(path: Path, chunk_bytes: int, skip_bad_lines: bool, report: ParseReport) -> Iterator[ParsedChunk]:
    if chunk_bytes < 1:
        raise InputError(f"chunk_bytes must be positive, got {chunk_bytes}")
    line = 1
    for data in _raw_blocks(path, chunk_bytes):
        chunk = parse_chunk(data, path=path, first_line=line, skip_bad_lines=skip_bad_lines)
        line += chunk.n_lines
        report.n_bad_lines += chunk.n_bad_lines
        report.bad_lines.extend(chunk.bad_lines[: max(0, 20 - len(report.bad_lines))])
        report.n_events += chunk.event.size
        if chunk.event.size:
            yield chunk
    if report.n_bad_lines:
        log.warning("%s", report.summary())
    if report.n_events == 0:
        if report.n_bad_lines:
            raise InputError(f"{path}: no valid events: all {report.n_bad_lines} non-empty lines are malformed")
        raise InputError(f"{path}: no events (the file is empty)")


def iter_csv(
    path: str | os.PathLike[str],
    *,
    skip_bad_lines: bool = False,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    report: ParseReport | None = None,
) -> Iterator[ak.Array]:
    """Read a Dark Machines CSV file block by block, yielding in-memory event arrays (GeV).

    Memory stays bounded by ``chunk_bytes``. A malformed line raises :class:`ValueError` naming the file, the
    line number and the problem; with ``skip_bad_lines`` such lines are dropped, counted in ``report`` (a
    :class:`ParseReport` filled in place, if given) and logged as a warning. An empty file is an error.
    """
    path = check_input_file(path, "Dark Machines CSV file")
    report = report if report is not None else ParseReport(str(path))
    for chunk in _iter_parsed(path, chunk_bytes, skip_bad_lines, report):
        yield _events_from_chunks([chunk])


def read_csv(
    path: str | os.PathLike[str],
    *,
    skip_bad_lines: bool = False,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    return_report: bool = False,
) -> ak.Array | tuple[ak.Array, ParseReport]:
    """Read a whole Dark Machines CSV file into the in-memory layout (GeV); see :func:`iter_csv` for errors.

    With ``return_report`` the result is ``(events, report)``, the :class:`ParseReport` giving the number of
    events and of skipped malformed lines.
    """
    path = check_input_file(path, "Dark Machines CSV file")
    report = ParseReport(str(path))
    events = _events_from_chunks(list(_iter_parsed(path, chunk_bytes, skip_bad_lines, report)))
    return (events, report) if return_report else events


# --- Flat collections -----------------------------------------------------------------------------------------


def categorical_parts(array: Any) -> tuple[np.ndarray, list[str]]:
    """Integer index and dictionary of a one-dimensional string (or categorical string) array."""
    layout = ak.to_layout(array)
    if isinstance(layout, ak.contents.IndexedArray) and layout.parameter("__array__") == "categorical":
        return np.asarray(layout.index, dtype=np.int64), [str(s) for s in ak.to_list(layout.content)]
    arrow = ak.to_arrow(ak.Array(layout), extensionarray=False)
    encoded = pc.dictionary_encode(arrow)
    if encoded.null_count:
        raise InputError("missing (None) strings among process or object types")
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def object_codes(types: Any) -> np.ndarray:
    """Integer codes (index in :data:`OBJECT_CODES`, int8) of a flat array of object-type strings.

    >>> object_codes(["j", "m+", "g"]).tolist()
    [0, 5, 6]
    """
    index, names = categorical_parts(types if isinstance(types, ak.Array) else ak.Array(list(types)))
    unknown = sorted(set(names) - set(OBJECT_CODES))
    if unknown:
        raise InputError(f"unknown object type(s) {unknown}; known: {', '.join(OBJECT_CODES)}")
    remap = np.array([OBJECT_CODES.index(n) for n in names], dtype=np.int8)
    return remap[index] if remap.size else np.zeros(0, dtype=np.int8)


def to_collections(events: ak.Array, processes: ProcessTable | None = None) -> ak.Array:
    """Map in-memory events to the on-disk NanoAOD-style flat fields, one row per event.

    Fields: ``event`` (int64), ``processID`` (int32, code in ``processes``, by default a fresh
    :class:`ProcessTable`), ``weight`` (float64), ``MET_pt``, ``MET_phi``, and for each collection of
    :data:`COLLECTIONS` the count ``nJet`` (int32) and jagged ``Jet_pt``, ``Jet_eta``, ``Jet_phi``, ``Jet_E``
    (float32, GeV) plus ``Jet_btag`` (bool) / ``Electron_charge``, ``Muon_charge`` (int8). Objects within a
    collection are ordered by decreasing pt. Pass the same ``processes`` table for every chunk of one file.
    """
    processes = processes if processes is not None else ProcessTable()
    n = len(events)
    p_index, p_names = categorical_parts(events.process)
    pid = processes.codes(p_names)[p_index] if p_names else np.zeros(n, dtype=np.int32)
    counts = ak.to_numpy(ak.num(events.objects, axis=1)).astype(np.int64)
    flat = ak.flatten(events.objects, axis=1)
    code = object_codes(flat["type"])
    columns = {name: ak.to_numpy(flat[name]).astype(np.float32) for name in ("pt", "eta", "phi", "E")}
    owner = np.repeat(np.arange(n), counts)
    out: dict[str, Any] = {
        "event": ak.to_numpy(events.event).astype(np.int64),
        "processID": pid.astype(np.int32),
        "weight": ak.to_numpy(events.weight).astype(np.float64),
        "MET_pt": ak.to_numpy(events.MET).astype(np.float32),
        "MET_phi": ak.to_numpy(events.METphi).astype(np.float32),
    }
    for coll, codes in COLLECTIONS.items():
        sel = np.flatnonzero(np.isin(code, [OBJECT_CODES.index(c) for c in codes]))
        order = sel[np.lexsort((-columns["pt"][sel], owner[sel]))]
        n_obj = np.bincount(owner[order], minlength=n).astype(np.int32)
        out[f"n{coll}"] = n_obj
        for name in COLLECTION_FIELDS[coll]:
            if name == "btag":
                values = code[order] == OBJECT_CODES.index("b")
            elif name == "charge":
                values = OBJECT_CHARGES[code[order]]
            else:
                values = columns[name][order]
            out[f"{coll}_{name}"] = ak.unflatten(values, n_obj)
    return ak.zip(out, depth_limit=1)
