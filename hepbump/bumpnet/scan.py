"""Scanning histograms with BumpNet: per-bin significances, the maximum of each histogram, a ranked table.

:func:`scan_histograms` predicts the significance of every bin of every histogram (batched by
:func:`hepbump.bumpnet.predict.predict`) and keeps, per histogram, ``Z_max``: the largest predicted significance
outside the first ``exclude_first`` fraction of the bins (default 10%, as the paper, section 4.2: BumpNet
"currently does not consider the first 10% of bins"), the bin where it occurs and the mass at that bin (its
centre). The first ``floor(exclude_first * n_bins)`` bins are excluded.

The result is a :class:`ScanTable`, ranked by decreasing ``Z_max`` (ties by source file, then name), holding
per histogram its name, source file, metadata (the DM keys: ``category``, ``base_category``, ``selection``,
``combination``, ``objects``, ``with_met``, ``channel``, ``process_content``, ...), ``Z_max``, bin and mass, the
whole Z array, counts and bin edges, so that the later steps (:mod:`hepbump.bumpnet.gaa`,
:mod:`hepbump.bumpnet.crosscheck`, figures) need nothing else.

On disk a scan is one Parquet file (:meth:`ScanTable.write`, :func:`read_scan`), one row per histogram in rank
order, columns ``rank, name, source, category, combination, z_max, bin, mass, mass_low, mass_high, n_bins,
first_bin, z, counts, edges, metadata``: the arrays are list columns and ``metadata`` a JSON string; the scan's
settings (``exclude_first``, model) are in the schema's key-value metadata under ``hepbump.scan``.

>>> import numpy as np, torch
>>> from hepbump.bumpnet.model import BumpNet, ModelConfig
>>> _ = torch.manual_seed(0)
>>> net = BumpNet(ModelConfig(channels=4, kernel_sizes=(3, 9), layers_per_stack=2, mlp_hidden=(8,)))
>>> hists = {"a": (np.full(40, 50.0), np.linspace(100, 500, 41)), "b": (np.full(60, 9.0), np.arange(61.0))}
>>> table = scan_histograms(net, hists)
>>> len(table), [z.shape for z in table.z] == [(table.n_bins[i],) for i in range(2)]
(2, True)
>>> bool(np.all(table.bins >= table.first_bins)), table.first_bins.tolist() == [int(0.1 * n) for n in table.n_bins]
(True, True)
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepbump.errors import HepbumpError, InputError
from hepbump.io.atomic import atomic_path

__all__ = [
    "SCAN_FORMAT",
    "SCAN_FORMAT_VERSION",
    "ScanTable",
    "check_exclude_first",
    "concat_scans",
    "first_bin",
    "format_table",
    "read_scan",
    "scan_files",
    "scan_histograms",
]

log = logging.getLogger(__name__)

SCAN_FORMAT = "hepbump.bumpnet.scan"
SCAN_FORMAT_VERSION = 1
#: Key of the scan settings in the Parquet schema metadata.
_SCHEMA_KEY = b"hepbump.scan"
#: Histograms predicted per call of :func:`~hepbump.bumpnet.predict.predict` (bounds the padded Z matrix).
_CHUNK = 4096


def first_bin(n_bins: Any, exclude_first: float = 0.1) -> np.ndarray:
    """Index of the first bin considered for the maximum: ``floor(exclude_first * n_bins)``.

    >>> first_bin(np.array([30, 35, 40, 9])).tolist()
    [3, 3, 4, 0]
    """
    check_exclude_first(exclude_first)
    n = np.asarray(n_bins, dtype=np.int64)
    return np.floor(exclude_first * n + 1e-9).astype(np.int64)


def check_exclude_first(exclude_first: float) -> None:
    """Raise :class:`~hepbump.errors.InputError` unless ``exclude_first`` is a fraction in ``[0, 1)``."""
    if not (isinstance(exclude_first, (int, float)) and 0.0 <= exclude_first < 1.0):
        raise InputError(f"exclude_first (--exclude-first) must be in [0, 1), got {exclude_first!r}")


@dataclass(frozen=True)
class ScanTable:
    """Scan results, one row per histogram, ranked by decreasing ``z_max`` (row ``i`` has rank ``i + 1``).

    Scalar columns are numpy arrays; ``z``, ``counts`` and ``edges`` tuples of per-histogram arrays; ``metadata``
    a tuple of dicts. ``info`` holds the scan settings (``exclude_first``, ``model``, ...).
    """

    names: tuple[str, ...]
    sources: tuple[str, ...]
    z_max: np.ndarray
    bins: np.ndarray
    first_bins: np.ndarray
    z: tuple[np.ndarray, ...]
    counts: tuple[np.ndarray, ...]
    edges: tuple[np.ndarray, ...]
    metadata: tuple[dict[str, Any], ...]
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.names)
        sizes = {
            len(x)
            for x in (
                self.sources,
                self.z_max,
                self.bins,
                self.first_bins,
                self.z,
                self.counts,
                self.edges,
                self.metadata,
            )
        }
        if sizes - {n}:
            raise InputError(f"ScanTable: columns of different lengths ({n} names, lengths {sorted(sizes)})")

    def __len__(self) -> int:
        return len(self.names)

    # --- derived columns ------------------------------------------------------------------------------------------
    @property
    def ranks(self) -> np.ndarray:
        return np.arange(1, len(self) + 1)

    @property
    def n_bins(self) -> np.ndarray:
        return np.array([len(c) for c in self.counts], dtype=np.int64)

    @property
    def masses(self) -> np.ndarray:
        """Mass at ``Z_max``: the centre of the bin (GeV)."""
        return 0.5 * (self.mass_low + self.mass_high)

    @property
    def mass_low(self) -> np.ndarray:
        return np.array([e[b] for e, b in zip(self.edges, self.bins)], dtype=float)

    @property
    def mass_high(self) -> np.ndarray:
        return np.array([e[b + 1] for e, b in zip(self.edges, self.bins)], dtype=float)

    @property
    def categories(self) -> tuple[str | None, ...]:
        return tuple(_category(n, m) for n, m in zip(self.names, self.metadata))

    @property
    def combinations(self) -> tuple[str | None, ...]:
        return tuple(_combination(n, m) for n, m in zip(self.names, self.metadata))

    # --- selection ------------------------------------------------------------------------------------------------
    def take(self, indices: Iterable[int]) -> ScanTable:
        """The rows ``indices`` (in that order; not re-ranked)."""
        idx = [int(i) for i in indices]
        return ScanTable(
            tuple(self.names[i] for i in idx),
            tuple(self.sources[i] for i in idx),
            self.z_max[idx],
            self.bins[idx],
            self.first_bins[idx],
            tuple(self.z[i] for i in idx),
            tuple(self.counts[i] for i in idx),
            tuple(self.edges[i] for i in idx),
            tuple(self.metadata[i] for i in idx),
            dict(self.info),
        )

    def top(self, n: int) -> ScanTable:
        """The ``n`` highest-ranked rows."""
        return self.take(range(min(max(int(n), 0), len(self))))

    def index(self, name: str, source: str | None = None) -> int:
        """Row of histogram ``name`` (of file ``source`` when names repeat across files)."""
        hits = [i for i, (n, s) in enumerate(zip(self.names, self.sources)) if n == name and source in (None, s)]
        if not hits:
            from hepbump.errors import MissingEntryError

            raise MissingEntryError(f"no histogram named {name!r} in the scan")
        if len(hits) > 1:
            raise InputError(f"histogram {name!r} is in several files of the scan; give its source")
        return hits[0]

    def ranked(self) -> ScanTable:
        """The same rows, sorted by decreasing ``z_max`` (ties: source, then name)."""
        order = sorted(range(len(self)), key=lambda i: (-self.z_max[i], self.sources[i], self.names[i]))
        return self.take(order)

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i`` as a JSON-serialisable dict of its scalar columns (no arrays)."""
        return {
            "rank": i + 1,
            "name": self.names[i],
            "source": self.sources[i],
            "category": _category(self.names[i], self.metadata[i]),
            "combination": _combination(self.names[i], self.metadata[i]),
            "z_max": float(self.z_max[i]),
            "bin": int(self.bins[i]),
            "mass": float(0.5 * (self.edges[i][self.bins[i]] + self.edges[i][self.bins[i] + 1])),
            "n_bins": len(self.counts[i]),
        }

    # --- Parquet ----------------------------------------------------------------------------------------------------
    def to_arrow(self) -> Any:
        import pyarrow as pa

        f64 = pa.list_(pa.float64())
        columns = {
            "rank": pa.array(self.ranks, pa.int64()),
            "name": pa.array(self.names, pa.string()),
            "source": pa.array(self.sources, pa.string()),
            "category": pa.array(self.categories, pa.string()),
            "combination": pa.array(self.combinations, pa.string()),
            "z_max": pa.array(self.z_max, pa.float64()),
            "bin": pa.array(self.bins, pa.int64()),
            "mass": pa.array(self.masses, pa.float64()),
            "mass_low": pa.array(self.mass_low, pa.float64()),
            "mass_high": pa.array(self.mass_high, pa.float64()),
            "n_bins": pa.array(self.n_bins, pa.int64()),
            "first_bin": pa.array(self.first_bins, pa.int64()),
            "z": pa.array([np.asarray(a, dtype=float) for a in self.z], f64),
            "counts": pa.array([np.asarray(a, dtype=float) for a in self.counts], f64),
            "edges": pa.array([np.asarray(a, dtype=float) for a in self.edges], f64),
            "metadata": pa.array([json.dumps(m, sort_keys=True) for m in self.metadata], pa.string()),
        }
        info = {"format": SCAN_FORMAT, "format_version": SCAN_FORMAT_VERSION, **self.info}
        schema_meta = {_SCHEMA_KEY: json.dumps(info, sort_keys=True, default=str).encode()}
        return pa.table(columns).replace_schema_metadata(schema_meta)

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the table to a Parquet file, atomically (see the module docstring for the columns)."""
        import pyarrow.parquet as pq

        path = Path(path)
        table = self.to_arrow()
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return path


def _category(name: str, meta: Mapping[str, Any]) -> str | None:
    cat = meta.get("category")
    if isinstance(cat, str):
        return cat
    head, sep, _ = name.partition("__")
    return head if sep else None


def _combination(name: str, meta: Mapping[str, Any]) -> str | None:
    combo = meta.get("combination")
    if isinstance(combo, str):
        return combo
    _, sep, tail = name.partition("__")
    return tail if sep else None


def read_scan(path: str | os.PathLike[str]) -> ScanTable:
    """Read a scan written by :meth:`ScanTable.write`; anything else is a one-line error naming the file."""
    from hepbump.io.events import parquet_schema, read_parquet

    schema, _ = parquet_schema(path, "scan file")
    raw = (schema.metadata or {}).get(_SCHEMA_KEY)
    try:
        info = json.loads(raw) if raw is not None else None
    except ValueError:
        info = None
    if not isinstance(info, dict) or info.get("format") != SCAN_FORMAT:
        raise InputError(f"{path}: not a BumpNet scan table (write one with 'hepbump bumpnet scan')")
    if info.get("format_version") != SCAN_FORMAT_VERSION:
        raise InputError(
            f"{path}: BumpNet scan format version {info.get('format_version')!r}; this hepbump reads "
            f"version {SCAN_FORMAT_VERSION}"
        )
    cols = ["name", "source", "z_max", "bin", "first_bin", "z", "counts", "edges", "metadata"]
    table = read_parquet(path, cols, "scan file")
    data = {c: table.column(c).to_pylist() for c in cols}
    try:
        metadata = tuple(json.loads(m) for m in data["metadata"])
    except ValueError as exc:
        raise InputError(f"{path}: a metadata entry is not valid JSON ({exc})") from None
    info = {k: v for k, v in info.items() if k not in ("format", "format_version")}
    return ScanTable(
        tuple(data["name"]),
        tuple(data["source"]),
        np.asarray(data["z_max"], dtype=float),
        np.asarray(data["bin"], dtype=np.int64),
        np.asarray(data["first_bin"], dtype=np.int64),
        tuple(np.asarray(a, dtype=float) for a in data["z"]),
        tuple(np.asarray(a, dtype=float) for a in data["counts"]),
        tuple(np.asarray(a, dtype=float) for a in data["edges"]),
        metadata,
        info,
    )


# --- scanning -------------------------------------------------------------------------------------------------------


def _maxima(z: Sequence[np.ndarray], first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max and argmax of each Z array from its ``first`` bin on, through one padded matrix."""
    lengths = np.array([a.size for a in z], dtype=np.int64)
    padded = np.full((len(z), int(lengths.max(initial=1))), -np.inf)
    for row, a in enumerate(z):
        padded[row, : a.size] = a
    cols = np.arange(padded.shape[1])
    padded[cols[None, :] < first[:, None]] = -np.inf
    arg = np.argmax(padded, axis=1)
    return padded[np.arange(len(z)), arg], arg.astype(np.int64)


def scan_histograms(
    model: Any,
    hists: Mapping[str, Any],
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    exclude_first: float = 0.1,
    source: str = "",
    bins_per_batch: int | None = None,
    progress: bool = False,
) -> ScanTable:
    """Scan histograms ``name -> histogram`` (any UHI histogram or ``(counts, edges)``) with BumpNet ``model``.

    ``metadata`` maps names to their metadata (e.g. :func:`hepbump.io.rootio.read_metadata`); ``source`` is
    recorded on every row (the file name). Returns the ranked :class:`ScanTable`.
    """
    from tqdm.auto import tqdm

    from hepbump.bumpnet.predict import predict
    from hepbump.histogram import as_binned

    check_exclude_first(exclude_first)
    metadata = metadata or {}
    names = list(hists)
    counts: list[np.ndarray] = []
    edges: list[np.ndarray] = []
    for name in names:
        try:
            b = as_binned(hists[name])
            if np.any(b.counts < 0):
                raise InputError("negative bin contents; BumpNet reads event counts")
        except HepbumpError as exc:
            where = f"{source}: " if source else ""
            raise InputError(f"{where}histogram {name!r}: {exc}") from None
        counts.append(np.asarray(b.counts, dtype=float))
        edges.append(np.asarray(b.edges, dtype=float))
    kwargs = {} if bins_per_batch is None else {"bins_per_batch": bins_per_batch}
    z: list[np.ndarray] = []
    with tqdm(total=len(names), desc="scanning", unit="hist", disable=None if progress else True, leave=False) as bar:
        for start in range(0, len(names), _CHUNK):
            z += predict(model, counts[start : start + _CHUNK], **kwargs)
            bar.update(min(_CHUNK, len(names) - start))
    first = first_bin([c.size for c in counts], exclude_first)
    if names:
        z_max, bins = _maxima(z, first)
    else:
        z_max, bins = np.empty(0), np.empty(0, dtype=np.int64)
    table = ScanTable(
        tuple(names),
        (source,) * len(names),
        z_max.astype(float),
        bins,
        first,
        tuple(z),
        tuple(counts),
        tuple(edges),
        tuple(dict(metadata.get(n, {})) for n in names),
        {"exclude_first": float(exclude_first)},
    )
    return table.ranked()


def concat_scans(tables: Sequence[ScanTable], info: Mapping[str, Any] | None = None) -> ScanTable:
    """Several scans as one ranked table (``info`` replaces theirs)."""
    tables = list(tables)
    if not tables:
        raise InputError("no scan to concatenate")
    joined = ScanTable(
        tuple(n for t in tables for n in t.names),
        tuple(s for t in tables for s in t.sources),
        np.concatenate([t.z_max for t in tables]),
        np.concatenate([t.bins for t in tables]),
        np.concatenate([t.first_bins for t in tables]),
        tuple(a for t in tables for a in t.z),
        tuple(a for t in tables for a in t.counts),
        tuple(a for t in tables for a in t.edges),
        tuple(m for t in tables for m in t.metadata),
        dict(info if info is not None else tables[0].info),
    )
    return joined.ranked()


def scan_files(
    model: Any,
    paths: Sequence[str | os.PathLike[str]],
    *,
    exclude_first: float = 0.1,
    progress: bool = False,
    model_name: str | None = None,
) -> ScanTable:
    """Scan every 1D histogram of the ROOT files ``paths`` (metadata from :func:`~hepbump.io.rootio.read_metadata`).

    A file without histograms is an error naming it. ``model_name`` is recorded in the table's ``info``.
    """
    from hepbump.io.rootio import read_histograms, read_metadata

    check_exclude_first(exclude_first)
    if not paths:
        raise InputError("give at least one histogram file to scan")
    tables = []
    for path in paths:
        hists = read_histograms(path)
        if not hists:
            raise InputError(f"{path}: no 1D histograms in the file")
        meta = read_metadata(path)
        log.info("scanning %d histograms of %s", len(hists), path)
        tables.append(
            scan_histograms(model, hists, meta, exclude_first=exclude_first, source=str(path), progress=progress)
        )
    info = {"exclude_first": float(exclude_first), "sources": [str(p) for p in paths]}
    if model_name is not None:
        info["model"] = model_name
    return concat_scans(tables, info)


def format_table(table: ScanTable, n: int | None = 20, *, show_source: bool | None = None) -> str:
    """The ``n`` highest-ranked rows as a fixed-width text table (all rows for ``n=None``)."""
    rows = range(len(table) if n is None else min(n, len(table)))
    if show_source is None:
        show_source = len(set(table.sources)) > 1
    header = f"{'rank':>5} {'Z_max':>7} {'mass [GeV]':>11} {'bin':>5} {'bins':>5}  histogram"
    lines = [header]
    for i in rows:
        r = table.row(i)
        name = f"{Path(r['source']).name}:{r['name']}" if show_source else r["name"]
        z = f"{r['z_max']:7.2f}" if math.isfinite(r["z_max"]) else f"{r['z_max']:>7}"
        lines.append(f"{r['rank']:>5} {z} {r['mass']:>11.4g} {r['bin']:>5} {r['n_bins']:>5}  {name}")
    if len(table) > len(rows):
        lines.append(f"... {len(table) - len(rows)} more")
    return "\n".join(lines)
