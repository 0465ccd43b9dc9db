"""ROOT histogram files: a mapping of name -> ``hist.Hist`` plus per-histogram metadata, read back identically.

Histograms are stored as ``TH1D`` (variable edges, sum of weights and sum of squared weights) with uproot. The
axis name and label and each histogram's metadata (category key, object combination, selection, ...) go into a
single JSON string (``TObjString``) named :data:`METADATA_KEY` in the same file, so any ROOT reader sees ordinary
histograms and hepbump gets everything back. Writes are atomic.

>>> import tempfile, pathlib, hist
>>> h = hist.Hist.new.Var([0, 1, 3], name="m", label="m [GeV]").Weight().fill([0.5, 2.0, 2.5])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "h.root"
>>> write_histograms(path, {"ee": h}, {"ee": {"category": "2e_OS"}})
>>> read_histograms(path)["ee"].values().tolist(), read_metadata(path)["ee"]
([1.0, 2.0], {'category': '2e_OS'})
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

import hist
import numpy as np
import uproot

from hepbump.errors import HepbumpError, InputError, MissingEntryError
from hepbump.histogram import as_binned, make_hist
from hepbump.io.atomic import atomic_path
from hepbump.io.events import describe_exception, open_root

__all__ = ["METADATA_KEY", "write_histograms", "read_histograms", "read_metadata"]

log = logging.getLogger(__name__)

#: Name of the JSON ``TObjString`` holding axis information and metadata of every histogram in the file.
METADATA_KEY = "hepbump_metadata"
_FORMAT_VERSION = 1
_FORBIDDEN = ("/", ";", " ")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or any(c in name for c in _FORBIDDEN) or name == METADATA_KEY:
        raise InputError(f"invalid histogram name {name!r}: non-empty, no '/', ';' or spaces, not {METADATA_KEY!r}")


def write_histograms(
    path: str | os.PathLike[str],
    hists: Mapping[str, Any],
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Write 1D histograms (any UHI histogram) and their metadata to one ROOT file, atomically.

    ``metadata`` maps histogram names to JSON-serialisable dicts; names without an entry get ``{}``.
    Metadata for a name that is not among ``hists`` is an error (it would be silently lost).
    """
    metadata = dict(metadata or {})
    unknown = sorted(set(metadata) - set(hists))
    if unknown:
        raise InputError(f"metadata given for histograms that are not written: {unknown[:5]}")
    record: dict[str, Any] = {"format_version": _FORMAT_VERSION, "histograms": {}}
    converted: dict[str, hist.Hist] = {}
    for name, h in hists.items():
        _check_name(name)
        b = as_binned(h)
        axis = getattr(h, "axes", [None])[0]
        ax_name = str(getattr(axis, "name", "") or "x")
        ax_label = str(getattr(axis, "label", "") or ax_name)
        variances = b.variances if b.variances is not None else b.counts
        converted[name] = make_hist(b.counts, b.edges, variances, name=ax_name, label=ax_label)
        try:
            meta = json.loads(json.dumps(dict(metadata.get(name, {}))))
        except TypeError as exc:
            raise InputError(f"metadata of histogram {name!r} is not JSON-serialisable: {exc}") from exc
        record["histograms"][name] = {"axis_name": ax_name, "axis_label": ax_label, "metadata": meta}
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as f:
            for name, h in converted.items():
                f[name] = h
            f[METADATA_KEY] = json.dumps(record, sort_keys=True)
    log.info("wrote %d histograms to %s", len(converted), path)


def _load_record(f: Any, path: Any) -> dict[str, Any]:
    if METADATA_KEY not in f:
        return {"format_version": 0, "histograms": {}}
    try:
        record = json.loads(str(f[METADATA_KEY]))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: {METADATA_KEY} is not valid JSON: {exc}") from exc
    if not isinstance(record, dict) or "histograms" not in record:
        raise InputError(f"{path}: {METADATA_KEY} has no 'histograms' entry")
    return record


def _open(path: str | os.PathLike[str]) -> Any:
    return open_root(path, "ROOT file")


@contextlib.contextmanager
def _reading(path: Any) -> Iterator[None]:
    """Turn what uproot raises while reading a damaged (e.g. truncated) file into an InputError naming it."""
    try:
        yield
    except HepbumpError:
        raise
    except Exception as exc:  # short reads, decompression and struct errors, ... of a damaged file
        raise InputError(f"{path}: not a readable ROOT file ({describe_exception(exc)})") from exc


def read_histograms(path: str | os.PathLike[str], names: list[str] | None = None) -> dict[str, hist.Hist]:
    """Read the 1D histograms of a ROOT file as ``hist.Hist`` (Weight storage, axis name/label restored).

    Files not written by hepbump work too: every ``TH1`` in the top directory is read.
    """
    with _open(path) as f, _reading(path):
        record = _load_record(f, path)
        available = [k for k, cls in f.classnames(recursive=False, cycle=False).items() if cls.startswith("TH1")]
        wanted = available if names is None else names
        missing = sorted(set(wanted) - set(available))
        if missing:
            raise MissingEntryError(f"{path}: no histogram named {missing[0]!r} (file has {len(available)} histograms)")
        out: dict[str, hist.Hist] = {}
        for name in wanted:
            th1 = f[name]
            info = record["histograms"].get(name, {})
            edges = np.asarray(th1.axis().edges(), dtype=float)
            out[name] = make_hist(
                th1.values(flow=False),
                edges,
                th1.variances(flow=False),
                name=info.get("axis_name", "x"),
                label=info.get("axis_label", str(th1.axis().member("fTitle") or "x")),
            )
    return out


def read_metadata(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Per-histogram metadata stored by :func:`write_histograms` (``{}`` for foreign files)."""
    with _open(path) as f, _reading(path):
        record = _load_record(f, path)
    return {name: dict(info.get("metadata", {})) for name, info in record["histograms"].items()}
