"""Vectorised filling of the DM mass histograms into a compact, addable accumulator.

Every event falls into one base category (object counts and lepton charges) and one cell of the
:class:`~hepbump.darkmachines.categories.CellGrid` (b-jet, MET and leading-pT threshold indices, jet
multiplicity). For each base category present in a chunk, each of its
:func:`~hepbump.darkmachines.massbins.combinations_for` is computed for all of the
category's events at once (numpy over padded four-momenta, sums of objects built incrementally) and binned with
the combination's resolution edges. Entries are stored sparsely as ``(histogram block, cell, bin) -> (sum w,
sum w^2)`` in a :class:`SparseStore`; the nested kinematic categories and jet subcategories are sums of cells,
formed after all chunks are merged (:mod:`hepbump.darkmachines.histograms`). Results do not depend on the chunking.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from hepbump import constants as C
from hepbump.darkmachines.categories import Category, CellGrid, EventClasses
from hepbump.darkmachines.massbins import Combination, combinations_for, split_label
from hepbump.darkmachines.objects import OBJECT_TYPES
from hepbump.errors import InputError

__all__ = ["BIN_STRIDE", "SparseStore", "fill_chunk", "parse_block_name"]

log = logging.getLogger(__name__)

#: Local keys of histogram entries are ``cell * BIN_STRIDE + bin`` (bins per histogram stay below this).
BIN_STRIDE = 2**15
_LOCAL_BITS = 32
_LOCAL_MASK = (1 << _LOCAL_BITS) - 1


def _reduce(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.empty((len(unique), values.shape[1]))
    for col in range(values.shape[1]):
        summed[:, col] = np.bincount(inverse, weights=values[:, col], minlength=len(unique))
    return unique, summed


class SparseStore:
    """Many sparse weighted tables: named blocks, each mapping local int keys (< 2^32) to a row of sums.

    Adding stores sums the rows of equal (name, key); it is what ``coffea.processor.accumulate`` does with the
    processor outputs. Additions are buffered and reduced (sorted, summed) when the buffer outgrows the reduced
    part, so repeated ``+=`` costs amortised O(N log N).

    >>> a = SparseStore(1)
    >>> a.add_entries(["x", "y", "x"], np.array([0, 1, 0]), np.array([5, 2, 5]), np.array([[1.0], [2.0], [4.0]]))
    >>> b = SparseStore(1)
    >>> b.add_entries(["x"], np.array([0]), np.array([7]), np.array([[1.0]]))
    >>> s = a + b
    >>> {name: (k.tolist(), v[:, 0].tolist()) for name, k, v in s.blocks()}
    {'x': ([5, 7], [5.0, 1.0]), 'y': ([2], [2.0])}
    """

    def __init__(self, n_columns: int) -> None:
        self.n_columns = int(n_columns)
        self._index: dict[str, int] = {}
        self._keys = np.zeros(0, dtype=np.int64)
        self._values = np.zeros((0, self.n_columns))
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0

    @property
    def names(self) -> list[str]:
        """Block names, in order of their index."""
        return list(self._index)

    def _ids(self, names: list[str]) -> np.ndarray:
        index = self._index  # insertion-ordered: a new name gets the next index
        return np.array([index.setdefault(name, len(index)) for name in names], dtype=np.int64)

    def add_entries(self, names: list[str], name_index: np.ndarray, keys: np.ndarray, values: np.ndarray) -> None:
        """Add rows: entry ``i`` belongs to block ``names[name_index[i]]`` with local key ``keys[i]``."""
        keys = np.asarray(keys, dtype=np.int64)
        if keys.size and (keys.min() < 0 or keys.max() > _LOCAL_MASK):
            raise ValueError("SparseStore: local keys must lie in [0, 2^32)")
        ids = self._ids(list(names))[np.asarray(name_index, dtype=np.int64)]
        values = np.asarray(values, dtype=np.float64).reshape(len(keys), self.n_columns)
        self._push((ids << _LOCAL_BITS) | keys, values)

    def _push(self, keys: np.ndarray, values: np.ndarray) -> None:
        if len(keys) == 0:
            return
        self._pending.append((keys, values))
        self._pending_size += len(keys)
        if self._pending_size > max(len(self._keys), 1 << 16):
            self.compact()

    def compact(self) -> None:
        """Reduce buffered additions into the sorted, summed table."""
        if not self._pending:
            return
        keys = np.concatenate([self._keys] + [k for k, _ in self._pending])
        values = np.concatenate([self._values] + [v for _, v in self._pending])
        self._pending, self._pending_size = [], 0
        self._keys, self._values = _reduce(keys, values)

    def __iadd__(self, other: SparseStore) -> SparseStore:
        if not isinstance(other, SparseStore) or other.n_columns != self.n_columns:
            raise TypeError(f"cannot add {type(other).__name__} to a SparseStore with {self.n_columns} columns")
        other.compact()
        mapping = self._ids(other.names)
        keys = other._keys
        self._push((mapping[keys >> _LOCAL_BITS] << _LOCAL_BITS) | (keys & _LOCAL_MASK), other._values.copy())
        return self

    def __add__(self, other: SparseStore) -> SparseStore:
        out = SparseStore(self.n_columns)
        out += self
        out += other
        return out

    def __getstate__(self) -> dict[str, Any]:
        self.compact()
        return {"n_columns": self.n_columns, "names": self.names, "keys": self._keys, "values": self._values}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["n_columns"])
        self._index = {name: i for i, name in enumerate(state["names"])}
        self._keys, self._values = state["keys"], state["values"]

    def __len__(self) -> int:
        self.compact()
        return len(self._keys)

    def blocks(self):
        """Yield ``(name, local keys, values)`` per non-empty block, keys sorted."""
        self.compact()
        names = self.names
        ids = self._keys >> _LOCAL_BITS
        bounds = np.flatnonzero(np.diff(ids)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(ids)]])
        for start, end in zip(starts, ends):
            if end > start:
                yield names[ids[start]], self._keys[start:end] & _LOCAL_MASK, self._values[start:end]


def block_name(base_code: int, combination: Combination) -> str:
    return f"{int(base_code)}|{combination.name}"


def parse_block_name(name: str) -> tuple[Category, Combination]:
    code, combo = name.split("|", 1)
    return Category.from_base_code(int(code)), Combination.from_name(combo)


@dataclass(frozen=True)
class _Step:
    """One combination of one base category, with everything the inner loop needs precomputed."""

    name: str
    objects: tuple[tuple[str, int], ...]
    met: bool
    flavour_aware: bool
    dilepton: tuple[str, int, int, bool] | None  # (type, i0, i1, wants opposite charges)
    edges: np.ndarray


@functools.lru_cache(maxsize=4096)
def _plan(code: int) -> tuple[_Step, ...]:
    category = Category.from_base_code(code)
    steps = []
    for flavour_aware in (False, True):
        for combo in combinations_for(category, flavour_aware):
            objects = tuple(split_label(label) for label in combo.objects)
            dilepton = None
            if combo.is_same_flavour_dilepton:
                dilepton = (objects[0][0], objects[0][1], objects[1][1], combo.mass_range != "full")
            steps.append(
                _Step(block_name(code, combo), objects, combo.met, flavour_aware, dilepton, combo.edges(category))
            )
    return tuple(steps)


def _padded(collection: ak.Array, n: int) -> np.ndarray:
    """Four-momenta ``(events, n, 4)`` = (px, py, pz, E) of the ``n`` leading objects, NaN where absent."""
    padded = ak.pad_none(collection, n, axis=1, clip=True)
    out = np.empty((len(collection), n, 4))
    for i, comp in enumerate(("px", "py", "pz", "E")):
        out[:, :, i] = ak.to_numpy(ak.fill_none(getattr(padded, comp), np.nan))
    return out


def _inputs(objects: ak.Array) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    vectors = {t: _padded(objects[t], C.COMBINATION_MAX_PER_TYPE) for t in OBJECT_TYPES}
    jets = objects["j"]
    vectors["j"] = _padded(jets, C.COMBINATION_MAX_JETS)
    vectors["b"] = _padded(jets[jets.btag], C.COMBINATION_FLAVOUR_JETS)
    vectors["lj"] = _padded(jets[~jets.btag], C.COMBINATION_FLAVOUR_JETS)
    charges = {
        t: ak.to_numpy(ak.fill_none(ak.pad_none(objects[t].charge, C.COMBINATION_MAX_PER_TYPE, clip=True), 0))
        for t in ("e", "mu")
    }
    met = objects["MET"]
    met_p4 = np.stack([ak.to_numpy(met.px), ak.to_numpy(met.py), np.zeros(len(met)), ak.to_numpy(met.pt)], axis=1)
    return vectors, charges, met_p4


def fill_chunk(
    objects: ak.Array,
    classes: EventClasses,
    process: np.ndarray | None = None,
    process_names: tuple[str, ...] = (),
    grid: CellGrid | None = None,
) -> dict[str, Any]:
    """Fill the histograms of one chunk; returns the accumulator dict.

    ``objects`` from :func:`~hepbump.darkmachines.objects.build_objects`, ``classes`` from
    :func:`~hepbump.darkmachines.categories.classify_events` (with the same ``grid``), ``process`` the per-event
    process code (index into ``process_names``) or ``None`` for data. Keys: ``"hists"`` (:class:`SparseStore`, blocks
    ``"<base code>|<combination>"``, local keys ``cell * BIN_STRIDE + bin``, columns (sum w, sum w^2)),
    ``"events"`` (:class:`SparseStore`, blocks ``"<base code>|<process>"``, local key = cell, columns
    (sum w, sum w^2, n)) and ``"n_events"``.
    """
    grid = grid or CellGrid()
    if grid.n_cells * BIN_STRIDE > _LOCAL_MASK:
        raise InputError(f"cell grid of {grid.n_cells} cells is too large for the histogram keys")
    n = len(objects)
    weight = ak.to_numpy(objects["weight"]).astype(np.float64)
    out: dict[str, Any] = {"hists": SparseStore(2), "events": SparseStore(3), "n_events": n}
    if n == 0:
        return out

    if process is None:
        labels, names = np.zeros(n, dtype=np.int64), ("data",)
    else:
        labels, names = np.asarray(process, dtype=np.int64), tuple(process_names)
        bad = labels[(labels < 0) | (labels >= len(names))]
        if bad.size:
            raise InputError(f"processID {int(bad[0])} has no process name (the file names {len(names)} processes)")
    group = classes.base_code * len(names) + labels
    unique_groups, group_index = np.unique(group, return_inverse=True)
    group_names = [f"{g // len(names)}|{names[g % len(names)]}" for g in unique_groups.tolist()]
    table = np.stack([weight, weight**2, np.ones(n)], axis=1)
    out["events"].add_entries(group_names, group_index, classes.cell, table)

    vectors, charges, met_p4 = _inputs(objects)
    has_b = classes.n_b >= 1
    order = np.argsort(classes.base_code, kind="stable")
    codes, starts = np.unique(classes.base_code[order], return_index=True)
    ends = np.append(starts[1:], n)
    entry_names: list[str] = []
    entry_ids, entry_keys, entry_w = [], [], []
    for code, start, end in zip(codes.tolist(), starts, ends):
        rows = order[start:end]
        _fill_category(
            _plan(code),
            rows,
            vectors,
            charges,
            met_p4,
            weight,
            classes.cell,
            has_b,
            entry_names,
            entry_ids,
            entry_keys,
            entry_w,
        )
    if entry_keys:
        w = np.concatenate(entry_w)
        out["hists"].add_entries(
            entry_names, np.concatenate(entry_ids), np.concatenate(entry_keys), np.stack([w, w**2], axis=1)
        )
    return out


def _fill_category(
    steps, rows, vectors, charges, met_p4, weight, cells, has_b, entry_names, entry_ids, entry_keys, entry_w
) -> None:
    w = weight[rows]
    cell_key = cells[rows] * BIN_STRIDE
    b_rows = has_b[rows]
    any_b = bool(b_rows.any())
    met = None
    sums: dict[tuple[tuple[str, int], ...], np.ndarray] = {}

    def p4(objects):
        # Sums of four-momenta, built from the cached sum over all but the last object.
        found = sums.get(objects)
        if found is None:
            if len(objects) == 1:
                t, i = objects[0]
                found = vectors[t][rows, i]
            else:
                found = p4(objects[:-1]) + p4(objects[-1:])
            sums[objects] = found
        return found

    for step in steps:
        if step.flavour_aware and not any_b:
            continue
        total = p4(step.objects)
        if step.met:
            if met is None:
                met = met_p4[rows]
            total = total + met
        m2 = total[:, 3] ** 2 - total[:, 0] ** 2 - total[:, 1] ** 2 - total[:, 2] ** 2
        mass = np.sqrt(np.maximum(m2, 0.0))
        bins = np.searchsorted(step.edges, mass, side="right") - 1
        keep = (bins >= 0) & (bins < len(step.edges) - 1) & ~np.isnan(m2)
        if step.flavour_aware:
            keep &= b_rows
        if step.dilepton is not None:
            t, i0, i1, opposite = step.dilepton
            q = charges[t][rows]
            keep &= (q[:, i0] * q[:, i1] < 0) == opposite
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            continue
        entry_ids.append(np.full(idx.size, len(entry_names), dtype=np.int64))
        entry_names.append(step.name)
        entry_keys.append(cell_key[idx] + bins[idx])
        entry_w.append(w[idx])
