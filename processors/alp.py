"""coffea processor of the ALP search: detector smearing, features and m_gg histograms (glue over hepbump.alp).

:class:`ALPFeatureProcessor` reads the simulation's ``alp`` trees (BaseSchema), smears each chunk with
:func:`hepbump.alp.detector.smear` using a counter-based random stream per file (so the output does not depend
on the chunking or the executor) and returns

* ``columns``: ``column_accumulator`` arrays, one per feature (:data:`~hepbump.alp.features.FEATURE_NAMES`)
  plus ``m_gg`` and the bookkeeping columns ``m_a``, ``ctau_over_m``, ``group``, ``pair_label`` (-1 where the
  input has none), ``file_index`` and ``entry``; sorted by (file_index, entry) in ``postprocess``;
* ``mgg``: a ``hist.Hist`` (file x group x m_gg; file = the sample label of the file): per parameter group
  for ``signal`` files, one inclusive histogram (group -1) for files whose groups hold single events or pairs
  (``background``, ``prior``, ``pairs``) or that have no run record.

:func:`run_features` checks the files, builds the fileset and runs it with :func:`processors.runner.run`.
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

from hepbump.alp.detector import TRUTH_FIELDS, Resolution, get_resolution, smear, smearing_rng, truth_photons
from hepbump.alp.features import FEATURE_NAMES, diphoton_mass, features, mgg_axis
from hepbump.alp.geometry import Geometry, get_geometry
from hepbump.alp.io import TREE_NAME, read_run_info
from hepbump.errors import InputError, MissingEntryError
from hepbump.io.events import EventFileInfo
from hepbump.rng import stream_key
from processors.runner import RunOptions, check_files, run

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
        rng = smearing_rng(self.seed, int(meta["stream"]), start)
        measured = smear(truth, self.resolution, rng, self.geometry)
        n = len(truth)
        cols: dict[str, np.ndarray] = dict(zip(FEATURE_NAMES, features(measured).T))
        cols["m_gg"] = diphoton_mass(measured)
        cols["m_a"] = np.asarray(events["m_a"], dtype=np.float64)
        cols["ctau_over_m"] = np.asarray(events["ctau_over_m"], dtype=np.float64)
        cols["group"] = np.asarray(events["group"], dtype=_DTYPES["group"])
        cols["pair_label"] = (
            np.asarray(events["pair_label"], dtype=_DTYPES["pair_label"])
            if "pair_label" in events.fields
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


def _validate(info: EventFileInfo) -> None:
    missing = [f for f in (*_PARAMETER_FIELDS, *TRUTH_FIELDS) if f not in info.columns]
    if missing:
        raise MissingEntryError(f"{info.path}: missing field(s) {', '.join(missing)}")


def _run_info(path: Path) -> dict[str, Any]:
    try:
        return read_run_info(path)
    except MissingEntryError:
        log.warning("%s has no run record: treated as mode 'unknown' (one inclusive m_gg histogram)", path)
        return {}


def _geometry_of(files: Sequence[Path], infos: Sequence[Mapping[str, Any]]) -> Geometry:
    """The geometry recorded in the files' run records; they must agree."""
    recorded = {json.dumps(info.get("geometry"), sort_keys=True) for info in infos}
    if len(recorded) != 1 or "null" in recorded:
        raise InputError(
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
    options: RunOptions | None = None,
) -> FeatureRun:
    """Smear the simulated events of ``files`` (ROOT or Parquet) and collect features and m_gg histograms.

    Output rows follow the order of ``files`` and of the entries inside each file; the numbers are identical for
    either executor and any ``chunksize`` (counter-based random streams keyed by file name and entry). The
    calorimeter size comes from ``geometry``, by default from the geometry recorded in the files.
    """
    if not files:
        raise InputError("no input files given")
    options = options or RunOptions()
    res = get_resolution(resolution)
    paths = [Path(f) for f in files]
    checked, fmt = check_files([str(p) for p in paths], TREE_NAME, validate=_validate)
    infos = [_run_info(p) for p in paths]
    geo = _geometry_of(paths, infos) if geometry is None else get_geometry(geometry)
    samples, streams = _sample_names(paths), _stream_keys(paths)
    fileset = {
        f"{i}:{samples[i]}": {
            "files": {str(p): TREE_NAME},
            "metadata": {
                "file_index": i,
                "stream": streams[i],
                "sample": samples[i],
                "group_hists": infos[i].get("mode") == "signal",
            },
        }
        for i, p in enumerate(paths)
        if checked[str(p)].n_entries > 0
    }
    proc = ALPFeatureProcessor(res, seed, geo)
    if fileset:
        output = run(proc, fileset, tree=TREE_NAME, fmt=fmt, options=options)
        columns = {k: output["columns"][k].value for k in COLUMNS}
        mgg = output["mgg"]
    else:
        columns = {k: np.empty(0, dtype=_DTYPES.get(k, np.float64)) for k in COLUMNS}
        mgg = None
    hists, hist_meta = _split_histograms(mgg, columns, samples, paths, res, seed)
    metadata = {
        "resolution": res.to_dict(),
        "seed": int(seed),
        "geometry": geo.to_dict(),
        "executor": options.executor,
        "files": [str(p) for p in paths],
        "modes": [info.get("mode") for info in infos],
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
                "file": str(paths[i]),
                "group": group,
                "n_events": int(rows.sum()),
                "resolution": res.name,
                "resolution_values": res.to_dict(),
                "seed": int(seed),
            }
            if group != INCLUSIVE_GROUP and rows.any():
                info["m_a_gev"] = float(columns["m_a"][rows][0])
                info["ctau_over_m_m_per_gev"] = float(columns["ctau_over_m"][rows][0])
            hists[_safe_name(name)] = h
            meta[_safe_name(name)] = json.loads(json.dumps(info))
    return hists, meta


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
