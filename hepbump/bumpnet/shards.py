"""Datasets of BumpNet samples on disk: shards of padded arrays plus a JSON manifest; streaming for training.

Layout of a dataset directory::

    manifest.json          recipe (DataConfig, seed, sizes, mother bank), versions, per-shard and total counts
    shard-00000.npz ...    one uncompressed ``.npz`` per shard (``numpy.load`` reads each array on demand)

A shard holds ``N`` samples padded with zeros to its longest histogram ``L``: ``counts``, ``target``
(float32, the target is computed in float64 before storage), ``background``, ``signal`` (float32) of shape
``(N, L)``, ``edges`` (float64, ``(N, L + 1)``, GeV), ``lengths`` (int32, bins of each sample) and the
per-sample fields of :class:`hepbump.bumpnet.data.HistogramBatch`. Every file is written through
:func:`hepbump.io.atomic.atomic_path`. Shard ``i`` is generated from ``SeedSequence(seed).spawn(...)[i]``,
so a dataset is reproducible from its manifest.

Training streams shards one at a time (:func:`iterate_batches`): inside a shard the samples are ordered by
length (random order among equal lengths), cut into batches, and the batches shuffled; each batch is padded to
its own longest histogram and comes with a mask of the real bins.
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from hepbump._version import __version__
from hepbump.bumpnet.binning import AXIS_KINDS
from hepbump.bumpnet.data import MOTHER_SOURCE, DataConfig, HistogramBatch, MotherBank, generate
from hepbump.bumpnet.functions import FAMILIES
from hepbump.errors import InputError
from hepbump.io.atomic import atomic_path

__all__ = [
    "DATASET_FORMAT",
    "DATASET_FORMAT_VERSION",
    "DatasetError",
    "StreamBatch",
    "generate_dataset",
    "iterate_batches",
    "load_manifest",
    "read_shard",
    "shard_batches",
    "shard_paths",
    "write_shard",
]

log = logging.getLogger(__name__)

DATASET_FORMAT = "hepbump.bumpnet.dataset"
DATASET_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_BIN_FIELDS = {"counts": np.float32, "target": np.float32, "background": np.float32, "signal": np.float32}


class DatasetError(InputError):
    """A dataset directory or shard that cannot be used (missing, foreign format, corrupted)."""


def write_shard(path: str | Path, batches: list[HistogramBatch]) -> dict:
    """Write ``batches`` (any bin counts) as one padded shard; returns its manifest entry."""
    n = sum(len(b) for b in batches)
    lengths = np.concatenate([np.full(len(b), b.n_bins, dtype=np.int32) for b in batches])
    width = int(lengths.max())
    arrays: dict[str, np.ndarray] = {k: np.zeros((n, width), dtype=t) for k, t in _BIN_FIELDS.items()}
    arrays["edges"] = np.zeros((n, width + 1))
    row = 0
    for b in batches:
        sl = slice(row, row + len(b))
        for k in _BIN_FIELDS:
            arrays[k][sl, : b.n_bins] = getattr(b, k)
        arrays["edges"][sl, : b.n_bins + 1] = b.edges
        row += len(b)
    per_sample = [f.name for f in fields(HistogramBatch) if f.name not in _BIN_FIELDS and f.name != "edges"]
    for k in per_sample:
        arrays[k] = np.concatenate([getattr(b, k) for b in batches])
    arrays["lengths"] = lengths
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return {
        "file": Path(path).name,
        "n_samples": n,
        "min_bins": int(lengths.min()),
        "max_bins": width,
        "max_count": float(arrays["counts"].max()),
    }


def read_shard(path: str | Path, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Arrays of a shard (all, or only ``keys``); :class:`DatasetError` naming the file if it is unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in (keys if keys is not None else z.files)}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise DatasetError(f"cannot read BumpNet shard {path}: {type(exc).__name__}: {exc}") from None


def shard_batches(path: str | Path) -> list[HistogramBatch]:
    """Read a shard back as unpadded :class:`HistogramBatch` es, one per run of equal bin counts."""
    a = read_shard(path)
    lengths = a["lengths"]
    cuts = np.flatnonzero(np.diff(lengths)) + 1
    out = []
    for idx in np.split(np.arange(len(lengths)), cuts):
        nb = int(lengths[idx[0]])
        kw = {f.name: a[f.name][idx] for f in fields(HistogramBatch)}
        for k in _BIN_FIELDS:
            kw[k] = kw[k][:, :nb].astype(float)
        kw["edges"] = kw["edges"][:, : nb + 1]
        out.append(HistogramBatch(**kw))
    return out


def _versions() -> dict:
    import scipy
    import torch

    return {
        "hepbump": __version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _totals(entries: list[dict], counters: dict) -> dict:
    return {
        "n_samples": sum(e["n_samples"] for e in entries),
        "max_count": max(e["max_count"] for e in entries),
        "min_bins": min(e["min_bins"] for e in entries),
        "max_bins": max(e["max_bins"] for e in entries),
        **counters,
    }


def _count(counter: dict, batch: HistogramBatch) -> None:
    names = (*FAMILIES, "mother")
    for key, values, labels in (
        ("by_source", batch.source, names),
        ("by_axis", batch.axis_kind, ("mother", *AXIS_KINDS)),
        ("by_signal_width_bins", batch.signal_width_bins, None),
    ):
        sub = counter.setdefault(key, {})
        uniq, cnt = np.unique(values, return_counts=True)
        for u, c in zip(uniq.tolist(), cnt.tolist()):
            label = labels[int(u) + (1 if key == "by_axis" else 0)] if labels else ("none" if u == 0 else f"{u:g}")
            sub[label] = sub.get(label, 0) + c
    counter["stretched"] = counter.get("stretched", 0) + int(batch.stretched.sum())


def generate_dataset(
    config: DataConfig,
    out_dir: str | Path,
    *,
    seed: int,
    n_samples: int,
    shard_size: int = 8192,
    bank: MotherBank | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Generate ``n_samples`` samples into ``out_dir`` as shards of ``shard_size``; returns the manifest.

    Raises ``FileExistsError`` if ``out_dir`` already holds a manifest (unless ``overwrite``).
    """
    out = Path(out_dir)
    if (out / MANIFEST).exists() and not overwrite:
        raise FileExistsError(f"{out / MANIFEST} exists: BumpNet dataset already generated (use overwrite)")
    if n_samples <= 0 or shard_size <= 0:
        raise ValueError("generate_dataset: n_samples and shard_size must be > 0")
    out.mkdir(parents=True, exist_ok=True)
    n_shards = -(-n_samples // shard_size)
    seeds = np.random.SeedSequence(seed).spawn(n_shards)
    from tqdm.auto import tqdm

    entries: list[dict] = []
    counters: dict = {}
    with tqdm(total=n_samples, desc="generating", unit="hist", disable=None if progress else True, leave=False) as bar:
        for i in range(n_shards):
            m = min(shard_size, n_samples - i * shard_size)
            batches = list(generate(np.random.default_rng(seeds[i]), m, config, bank))
            for b in batches:
                _count(counters, b)
            entries.append(write_shard(out / f"shard-{i:05d}.npz", batches))
            bar.update(m)
    manifest = {
        "format": DATASET_FORMAT,
        "format_version": DATASET_FORMAT_VERSION,
        "recipe": {
            "data_config": config.to_dict(),
            "seed": seed,
            "n_samples": n_samples,
            "shard_size": shard_size,
            "mother_bank": None if bank is None else {"n_mothers": len(bank), "names": list(bank.names)},
        },
        "versions": _versions(),
        "mother_source": MOTHER_SOURCE,
        "shards": entries,
        "totals": _totals(entries, counters),
    }
    text = json.dumps(manifest, indent=1)
    with atomic_path(out / MANIFEST) as tmp:
        tmp.write_text(text)
    log.info("wrote %d samples in %d shards to %s", n_samples, n_shards, out)
    return json.loads(text)


def load_manifest(data_dir: str | Path) -> dict:
    """The manifest of a dataset directory; :class:`DatasetError` naming the file if absent or foreign."""
    path = Path(data_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read BumpNet dataset manifest {path}: {type(exc).__name__}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != DATASET_FORMAT:
        raise DatasetError(f"{path} is not a BumpNet dataset manifest")
    if manifest.get("format_version") != DATASET_FORMAT_VERSION:
        raise DatasetError(
            f"{path} has dataset format version {manifest.get('format_version')}, expected {DATASET_FORMAT_VERSION}"
        )
    return manifest


def shard_paths(data_dir: str | Path) -> list[Path]:
    """Shard files listed by the manifest, in order."""
    return [Path(data_dir) / e["file"] for e in load_manifest(data_dir)["shards"]]


@dataclass(frozen=True)
class StreamBatch:
    """A training batch: ``counts``, ``target`` (float32, ``(B, L)``, zero-padded) and ``mask`` (bool)."""

    counts: np.ndarray
    target: np.ndarray
    mask: np.ndarray


def iterate_batches(
    paths: list[Path], batch_size: int, *, rng: np.random.Generator | None = None
) -> Iterator[StreamBatch]:
    """Stream :class:`StreamBatch` es from ``paths`` one shard at a time, bucketed by bin count.

    With ``rng`` the shard order, the order among equal lengths and the batch order are shuffled; without it
    the order is deterministic (validation).
    """
    order = rng.permutation(len(paths)) if rng is not None else np.arange(len(paths))
    for i in order:
        a = read_shard(paths[i], ("counts", "target", "lengths"))
        lengths = a["lengths"]
        tie = rng.random(len(lengths)) if rng is not None else np.arange(len(lengths))
        idx = np.lexsort((tie, lengths))
        starts = np.arange(0, len(idx), batch_size)
        if rng is not None:
            starts = rng.permutation(starts)
        for s in starts:
            sel = idx[s : s + batch_size]
            width = int(lengths[sel].max())
            mask = np.arange(width)[None, :] < lengths[sel][:, None]
            yield StreamBatch(a["counts"][sel, :width], a["target"][sel, :width], mask)
