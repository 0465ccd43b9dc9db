"""coffea processor of the ALP search: detector smearing, features and m_gg histograms (glue over hepbump.alp).

:class:`ALPFeatureProcessor` reads the simulation's ``alp`` trees (BaseSchema), smears each chunk with
:func:`hepbump.alp.detector.smear` using a counter-based random stream per file (so the output does not depend
on the chunking or the executor) and returns

* ``columns``: ``column_accumulator`` arrays, one per feature (:data:`~hepbump.alp.detector.FEATURE_NAMES`)
  plus ``m_gg`` and the bookkeeping columns ``m_a``, ``ctau_over_m``, ``group``, ``pair_label`` (-1 where the
  input has none), ``file_index`` and ``entry``; sorted by (file_index, entry) in ``postprocess``;
* ``mgg``: a ``hist.Hist`` (file x group x m_gg; file = the sample label of the file): per parameter group
  for ``signal`` files, one inclusive histogram (group -1) for files whose groups hold single events or pairs
  (``background``, ``prior``, ``pairs``) or that have no run record.

:func:`run_features` builds the fileset and runs it with ``processor.Runner`` (iterative, futures or dask executor).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hist
import numpy as np
from coffea import processor
from coffea.nanoevents import BaseSchema

from hepbump.alp.detector import (
    FEATURE_NAMES,
    TRUTH_FIELDS,
    Resolution,
    diphoton_mass,
    event_rng,
    features,
    get_resolution,
    mgg_axis,
    smear,
    stream_key,
    truth_photons,
)
from hepbump.alp.geometry import Geometry, get_geometry
from hepbump.alp.io import TREE_NAME, event_file_format, read_run_info
from processors.executors import executor as make_executor
from processors.executors import unwrap_coffea_error

__all__ = ["ALPFeatureProcessor", "FeatureRun", "run_features", "COLUMNS", "INCLUSIVE_GROUP"]

log = logging.getLogger(__name__)

#: Group id of the inclusive histogram of a file whose groups are single events or pairs.
INCLUSIVE_GROUP = -1
_PARAMETER_FIELDS = ("m_a", "ctau_over_m", "group")
#: Output columns, in order.
COLUMNS: tuple[str, ...] = (*FEATURE_NAMES, "m_gg", "m_a", "ctau_over_m", "group", "pair_label", "file_index", "entry")
_DTYPES = {"group": np.int64, "pair_label": np.int8, "file_index": np.int32, "entry": np.int64}


class ALPFeatureProcessor(processor.ProcessorABC):
    """Smear with ``resolution`` (preset name or :class:`Resolution`) and ``seed``; calorimeter of ``geometry``.

    Per-file settings come from the fileset's user metadata (see :func:`run_features`): ``file_index``,
    ``stream`` (random stream key), ``sample`` (histogram label) and ``group_hists`` (bool).
    """

    def __init__(self, resolution: str | Resolution, seed: int, geometry: str | Geometry = "default") -> None:
        self.resolution = get_resolution(resolution)
        self.seed = int(seed)
        self.geometry = get_geometry(geometry)

    def process(self, events: Any) -> dict[str, Any]:
        meta = events.metadata
        start, stop = int(meta["entrystart"]), int(meta["entrystop"])
        truth = truth_photons(events, source=meta["filename"])
        rng = event_rng(self.seed, int(meta["stream"]), start)
        measured = smear(truth, self.resolution, rng, self.geometry)
        n = len(truth)
        cols: dict[str, np.ndarray] = dict(zip(FEATURE_NAMES, features(measured).T))
        cols["m_gg"] = diphoton_mass(measured)
        cols["m_a"] = np.asarray(events["m_a"], dtype=np.float64)
        cols["ctau_over_m"] = np.asarray(events["ctau_over_m"], dtype=np.float64)
        cols["group"] = np.asarray(events["group"], dtype=_DTYPES["group"])
        cols["pair_label"] = (
            np.asarray(events["pair_label"], dtype=_DTYPES["pair_label"]) if "pair_label" in events.fields
            else np.full(n, -1, dtype=_DTYPES["pair_label"])
        )
        cols["file_index"] = np.full(n, int(meta["file_index"]), dtype=_DTYPES["file_index"])
        cols["entry"] = np.arange(start, stop, dtype=_DTYPES["entry"])
        h = hist.Hist(
            hist.axis.StrCategory([], growth=True, name="file"),
            hist.axis.IntCategory([], growth=True, name="group"),
            mgg_axis(),
            storage=hist.storage.Weight(),
        )
        groups = cols["group"] if meta["group_hists"] else np.full(n, INCLUSIVE_GROUP, dtype=np.int64)
        h.fill(file=meta["sample"], group=groups, m_gg=cols["m_gg"])
        return {
            "columns": processor.dict_accumulator({k: processor.column_accumulator(cols[k]) for k in COLUMNS}),
            "mgg": h,
        }

    def postprocess(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        cols = accumulator["columns"]
        order = np.lexsort((cols["entry"].value, cols["file_index"].value))
        accumulator["columns"] = processor.dict_accumulator(
            {k: processor.column_accumulator(cols[k].value[order]) for k in COLUMNS}
        )
        return accumulator


@dataclass
class FeatureRun:
    """Result of :func:`run_features`: columns (numpy, :data:`COLUMNS`), 1D m_gg histograms and metadata."""

    columns: dict[str, np.ndarray]
    histograms: dict[str, hist.Hist]
    histogram_metadata: dict[str, dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> np.ndarray:
        """The (n, 10) feature matrix."""
        return np.column_stack([self.columns[k] for k in FEATURE_NAMES])


def _file_format(files: Sequence[Path]) -> str:
    formats = {event_file_format(p) for p in files}
    if len(formats) > 1:
        raise ValueError("input files must be all ROOT or all Parquet, not a mixture")
    return formats.pop()


def _check_file(path: Path, fmt: str) -> tuple[int, dict[str, Any]]:
    """Number of entries and run record of one input file; clear errors for missing files, trees or fields."""
    if not path.is_file():
        raise FileNotFoundError(f"no such input file: {path}")
    if fmt == "root":
        import uproot

        try:
            f = uproot.open(path)
        except Exception as exc:  # uproot raises several types for non-ROOT input
            raise ValueError(f"{path}: not a readable ROOT file ({exc})") from exc
        with f:
            if TREE_NAME not in f:
                raise KeyError(f"{path}: no TTree named {TREE_NAME!r} (is it an ALP simulation file?)")
            tree = f[TREE_NAME]
            names, entries = set(tree.keys()), int(tree.num_entries)
    else:
        import pyarrow.parquet as pq

        try:
            meta = pq.read_metadata(path)
        except Exception as exc:  # pyarrow raises its own types for corrupt files
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from exc
        names, entries = set(meta.schema.names), int(meta.num_rows)
    missing = [f for f in (*_PARAMETER_FIELDS, *TRUTH_FIELDS) if f not in names]
    if missing:
        raise KeyError(f"{path}: missing field(s) {', '.join(missing)}")
    try:
        info = read_run_info(path)
    except KeyError:
        log.warning("%s has no run record: treated as mode 'unknown' (one inclusive m_gg histogram)", path)
        info = {}
    return entries, info


def _geometry_of(files: Sequence[Path], infos: Sequence[Mapping[str, Any]]) -> Geometry:
    """The geometry recorded in the files' run records; they must agree."""
    recorded = {json.dumps(info.get("geometry"), sort_keys=True) for info in infos}
    if len(recorded) != 1 or "null" in recorded:
        raise ValueError(
            f"the input files ({files[0]}, ...) record {len(recorded)} different or missing geometries; choose the "
            "calorimeter geometry explicitly (--geometry)"
        )
    return Geometry(**infos[0]["geometry"])


def _sample_names(files: Sequence[Path]) -> list[str]:
    """Histogram labels from the file names, made unique with the file index where names repeat."""
    counts = Counter(p.stem for p in files)
    return [p.stem if counts[p.stem] == 1 else f"{p.stem}_{i}" for i, p in enumerate(files)]


def _stream_keys(files: Sequence[Path]) -> list[int]:
    """Random stream per file: from the base name (stable when files move or are regenerated), with a counter
    for repeated base names so that two different files never share a stream."""
    seen: Counter[str] = Counter()
    keys = []
    for p in files:
        keys.append(stream_key(f"{p.name}#{seen[p.name]}") if seen[p.name] else stream_key(p.name))
        seen[p.name] += 1
    return keys


def run_features(
    files: Sequence[str | os.PathLike[str]],
    resolution: str | Resolution,
    seed: int,
    *,
    geometry: str | Geometry | None = None,
    executor: str = "iterative",
    workers: int = 2,
    chunksize: int = 100_000,
    show_progress: bool = False,
) -> FeatureRun:
    """Smear the simulated events of ``files`` (ROOT or Parquet) and collect features and m_gg histograms.

    Output rows follow the order of ``files`` and of the entries inside each file; the numbers are identical for
    either executor and any ``chunksize`` (counter-based random streams keyed by file name and entry). The
    calorimeter size comes from ``geometry``, by default from the geometry recorded in the files.
    """
    if not files:
        raise ValueError("no input files given")
    if chunksize < 1:
        raise ValueError(f"chunksize must be >= 1, got {chunksize}")
    paths = [Path(f) for f in files]
    fmt = _file_format(paths)
    res = get_resolution(resolution)
    checked = [_check_file(p, fmt) for p in paths]
    infos = [info for _, info in checked]
    geo = _geometry_of(paths, infos) if geometry is None else get_geometry(geometry)
    samples, streams = _sample_names(paths), _stream_keys(paths)
    fileset = {
        f"{i}:{samples[i]}": {
            "files": {str(p): TREE_NAME},
            "metadata": {
                "file_index": i, "stream": streams[i], "sample": samples[i],
                "group_hists": infos[i].get("mode") == "signal",
            },
        }
        for i, p in enumerate(paths)
        if checked[i][0] > 0
    }
    proc = ALPFeatureProcessor(res, seed, geo)
    if fileset:
        try:
            with make_executor(executor, workers, status=show_progress) as exe:
                runner = processor.Runner(executor=exe, schema=BaseSchema, chunksize=chunksize, format=fmt)
                output = runner(fileset, processor_instance=proc, treename=TREE_NAME)
        except Exception as exc:
            cause = unwrap_coffea_error(exc)
            if isinstance(cause, (ValueError, KeyError, FileNotFoundError, RuntimeError)) and cause is not exc:
                raise cause from exc
            raise
        columns = {k: output["columns"][k].value for k in COLUMNS}
        mgg = output["mgg"]
    else:
        columns = {k: np.empty(0, dtype=_DTYPES.get(k, np.float64)) for k in COLUMNS}
        mgg = None
    hists, hist_meta = _split_histograms(mgg, columns, samples, paths, res, seed)
    metadata = {
        "resolution": res.to_dict(), "seed": int(seed), "geometry": geo.to_dict(), "executor": executor,
        "files": [str(p) for p in paths], "modes": [info.get("mode") for info in infos],
        "feature_names": list(FEATURE_NAMES),
        "random_streams": streams,
    }
    log.info("smeared %d events from %d files with resolution %s", len(columns["m_gg"]), len(paths), res.name)
    return FeatureRun(columns, hists, hist_meta, metadata)


def _split_histograms(
    mgg: hist.Hist | None,
    columns: Mapping[str, np.ndarray],
    samples: Sequence[str],
    paths: Sequence[Path],
    res: Resolution,
    seed: int,
) -> tuple[dict[str, hist.Hist], dict[str, dict[str, Any]]]:
    """One 1D m_gg histogram per (sample, group) with JSON metadata (parameters of the group, resolution, seed)."""
    hists: dict[str, hist.Hist] = {}
    meta: dict[str, dict[str, Any]] = {}
    if mgg is None:
        return hists, meta
    for i, sample in enumerate(samples):
        if sample not in mgg.axes["file"]:
            continue
        in_file = columns["file_index"] == i
        for group in sorted(int(g) for g in mgg.axes["group"]):
            h = mgg[{"file": sample, "group": hist.loc(group)}]
            if h.sum(flow=True).value == 0:
                continue
            if group == INCLUSIVE_GROUP:
                name, rows = f"mgg_{sample}", in_file
            else:
                name, rows = f"mgg_{sample}_group{group}", in_file & (columns["group"] == group)
            info: dict[str, Any] = {
                "file": str(paths[i]), "group": group, "n_events": int(rows.sum()),
                "resolution": res.name, "resolution_values": res.to_dict(), "seed": int(seed),
            }
            if group != INCLUSIVE_GROUP and rows.any():
                info["m_a_gev"] = float(columns["m_a"][rows][0])
                info["ctau_over_m_m_per_gev"] = float(columns["ctau_over_m"][rows][0])
            hists[_safe_name(name)] = h
            meta[_safe_name(name)] = json.loads(json.dumps(info))
    return hists, meta


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
