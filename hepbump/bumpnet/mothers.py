"""Data-like "mother" backgrounds for BumpNet: the project's own Dark Machines histograms, smoothed.

BumpNet paper, section 2.2.2: two thirds of the training backgrounds come from Dark-Machines-like histograms
(resolution-binned invariant masses of exclusive categories), smoothed by a fit so that they are expected
backgrounds, and 25% of them are held out for testing. Here the events come from the project's own generator
(:mod:`hepbump.darkmachines.generate`), the histograms from the coffea processor
(:func:`processors.darkmachines.run_histograms`) and the smoothing from :func:`hepbump.stats.smooth_background`.

:func:`build_dm_mothers` does all of it for a set of channels and returns the train/test banks with a record of
the samples (channel, events, seed) they came from; :func:`save_bank` / :func:`load_bank` store a bank as one
``.npz`` with its JSON record (``hepbump bumpnet mothers`` on the command line).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepbump.bumpnet.data import MotherBank
from hepbump.errors import HepbumpError, InputError, ModelFileError
from hepbump.io.atomic import atomic_path

__all__ = ["smooth_histograms", "build_dm_mothers", "save_bank", "load_bank"]

log = logging.getLogger(__name__)

_BANK_FORMAT_VERSION = 1


def smooth_histograms(hists: Mapping[str, Any]) -> tuple[MotherBank, list[str]]:
    """Smooth every histogram (``name -> UHI histogram``) into a mother; fits that fail are skipped and named.

    Returns the bank and the names of the skipped histograms.
    """
    from hepbump.histogram import as_binned
    from hepbump.stats import smooth_background

    edges, expected, names, failed = [], [], [], []
    for name, h in hists.items():
        binned = as_binned(h)
        try:
            fit = smooth_background(binned)
        except HepbumpError as exc:
            log.info("mother %s skipped: %s", name, exc)
            failed.append(name)
            continue
        if not np.all(np.isfinite(fit.expected)) or np.any(fit.expected < 0):
            failed.append(name)
            continue
        edges.append(binned.edges.copy())
        expected.append(np.asarray(fit.expected, dtype=np.float64))
        names.append(name)
    return MotherBank(tuple(edges), tuple(expected), tuple(names)), failed


def build_dm_mothers(
    channels: Mapping[str, int],
    *,
    seed: int,
    test_fraction: float = 0.25,
    workdir: str | Path | None = None,
    progress: bool = False,
) -> tuple[MotherBank, MotherBank, dict[str, Any]]:
    """Generate DM events per channel (``{channel: n_events}``), histogram, smooth, and split train/test.

    Channel ``c`` is generated with seed ``seed + i`` (``i`` its position in ``channels``); histogram names are
    prefixed with the channel (``"2b/2mu_OS_1b_3j__mu0_b0"``). Returns ``(train, test, record)``; the record
    lists the samples (channel, events, seed, luminosity) and the counts of histograms, mothers and failed fits.
    """
    from hepbump.darkmachines.generate import DMGeneratorConfig, write_sample
    from hepbump.darkmachines.histograms import HistogramConfig
    from processors.darkmachines import run_histograms
    from processors.runner import RunOptions

    if not channels:
        raise InputError("build_dm_mothers: give at least one channel")
    samples, hists = [], {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for i, (channel, n_events) in enumerate(channels.items()):
            path = Path(tmp) / f"dm_{channel}.root"
            prov = write_sample(
                DMGeneratorConfig(channel=channel, n_events=int(n_events), seed=seed + i), path, progress=progress
            )
            result = run_histograms(
                {channel: [str(path)]}, HistogramConfig(channel=channel), RunOptions(progress=progress)
            )
            samples.append(
                {
                    "channel": channel,
                    "n_events": int(n_events),
                    "seed": seed + i,
                    "luminosity_pb": prov.get("luminosity_pb"),
                    "n_histograms": len(result.hists),
                }
            )
            hists.update({f"{channel}/{name}": h for name, h in result.hists.items()})
            log.info("channel %s: %d events -> %d histograms", channel, n_events, len(result.hists))
    bank, failed = smooth_histograms(hists)
    train, test = bank.split(test_fraction, seed=seed)
    record = {
        "samples": samples,
        "seed": seed,
        "test_fraction": test_fraction,
        "n_histograms": len(hists),
        "n_mothers": len(bank),
        "n_failed_fits": len(failed),
        "n_train": len(train),
        "n_test": len(test),
    }
    return train, test, record


def save_bank(path: str | Path, bank: MotherBank, record: Mapping[str, Any] | None = None) -> None:
    """Write a bank as one ``.npz`` (ragged arrays concatenated with their lengths) and its JSON record."""
    lengths = np.array([len(b) for b in bank.expected], dtype=np.int64)
    arrays = {
        "lengths": lengths,
        "expected": np.concatenate(bank.expected) if len(bank) else np.empty(0),
        "edges": np.concatenate(bank.edges) if len(bank) else np.empty(0),
        "names": np.array(bank.names, dtype=str),
        "record": np.array(json.dumps({"format_version": _BANK_FORMAT_VERSION, **dict(record or {})})),
    }
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_bank(path: str | Path) -> tuple[MotherBank, dict[str, Any]]:
    """Read a bank written by :func:`save_bank`: ``(bank, record)``; a bad file is a one-line error naming it."""
    from hepbump.io.events import check_input_file

    path = check_input_file(path, "mother bank")
    try:
        with np.load(path, allow_pickle=False) as z:
            lengths, expected, edges = z["lengths"], z["expected"], z["edges"]
            names, record = [str(n) for n in z["names"]], json.loads(str(z["record"]))
    except Exception as exc:  # numpy raises several types for truncated or foreign files
        raise ModelFileError(f"{path}: not a readable mother bank ({type(exc).__name__}: {exc})") from exc
    if record.get("format_version") != _BANK_FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: mother bank format {record.get('format_version')}, expected {_BANK_FORMAT_VERSION}"
        )
    split_b = np.cumsum(lengths)[:-1]
    split_e = np.cumsum(lengths + 1)[:-1]
    bank = MotherBank(tuple(np.split(edges, split_e)), tuple(np.split(expected, split_b)), tuple(names))
    return bank, record
