"""mplhep figures of the ALP detector model: m_gg per benchmark and resolution, photon opening angle and energies.

Every figure is written atomically (PNG, PDF or SVG by the file suffix). Inputs are plain arrays or UHI
histograms so the functions work on the output of ``hepbump alp features`` (Parquet columns, ROOT m_gg
histograms) as well as on in-memory :class:`~hepbump.alp.detector.PhotonPair` objects.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402
import numpy as np  # noqa: E402

from hepbump.alp.detector import PhotonPair  # noqa: E402
from hepbump.alp.features import mgg_axis, opening_angle  # noqa: E402
from hepbump.errors import InputError
from hepbump.histogram import as_binned  # noqa: E402
from hepbump.io.atomic import atomic_path  # noqa: E402

__all__ = ["plot_mgg", "plot_photon_kinematics"]

log = logging.getLogger(__name__)


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    log.info("wrote %s", path)


def _counts(sample: Any, edges: np.ndarray) -> np.ndarray:
    """Counts in ``edges`` of an array of values, or the counts of a UHI histogram with those edges."""
    if hasattr(sample, "axes"):
        b = as_binned(sample)
        if b.edges.shape != edges.shape or not np.allclose(b.edges, edges):
            raise InputError("m_gg histograms must use the binning of hepbump.alp.features.mgg_axis()")
        return b.counts
    values = np.asarray(sample, dtype=float)
    return np.histogram(values, bins=edges)[0].astype(float)


def _log_edges(values: Sequence[np.ndarray], bins: int) -> np.ndarray:
    finite = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in values])
    if finite.size == 0:
        raise InputError("nothing to plot: no positive finite values")
    lo, hi = np.percentile(finite, [0.1, 99.9])
    if hi <= lo:
        lo, hi = lo / 2.0, hi * 2.0
    return np.geomspace(lo, hi, bins + 1)


def plot_mgg(
    samples: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    true_masses_gev: Sequence[float] = (),
    title: str = "",
    density: bool = True,
    styles: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Reconstructed diphoton mass distributions, one line per sample (e.g. benchmark x resolution).

    ``samples`` maps a legend label to m_gg values in GeV (array) or to a histogram with the binning of
    :func:`hepbump.alp.features.mgg_axis`. Logarithmic m_gg axis over the paper's range
    log10(m_gg/GeV) in [-1.5, 0.8]; ``true_masses_gev`` draws dotted lines at the simulated ALP masses.
    ``styles`` maps labels to matplotlib line keywords (e.g. colour per benchmark, line style per resolution).
    """
    if not samples:
        raise InputError("plot_mgg needs at least one sample")
    edges = np.asarray(mgg_axis().edges)
    plt.style.use(mplhep.style.ROOT)
    fig, ax = plt.subplots(figsize=(8, 6))
    for label, sample in samples.items():
        counts = _counts(sample, edges)
        total = counts.sum()
        if density and total > 0:
            counts = counts / total
        style = {"lw": 1.8, **dict((styles or {}).get(label, {}))}
        mplhep.histplot(counts, edges, ax=ax, label=f"{label} ({int(total)} events)", **style)
    for m in true_masses_gev:
        ax.axvline(m, color="grey", ls=":", lw=1.2)
    ax.set_xscale("log")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(r"$m_{\gamma\gamma}$ [GeV]")
    ax.set_ylabel("Fraction of events / bin" if density else "Events / bin")
    ax.legend(fontsize=10, loc="upper left")
    if title:
        ax.set_title(title, fontsize=13)
    fig.tight_layout()
    _save(fig, path)


def plot_photon_kinematics(
    samples: Mapping[str, PhotonPair],
    path: str | os.PathLike[str],
    *,
    bins: int = 50,
    title: str = "",
    styles: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Two panels: photon opening angle alpha (mrad) and photon energies E1 (solid), E2 (dashed), in GeV.

    ``samples`` maps a legend label to measured (or truth) photon pairs; distributions are normalised to unit
    area and shown on logarithmic axes, since both quantities span orders of magnitude. ``styles`` maps labels
    to matplotlib line keywords (colour, width, alpha; the energy panel sets the line style itself).
    """
    if not samples:
        raise InputError("plot_photon_kinematics needs at least one sample")
    alphas = {k: 1e3 * opening_angle(p) for k, p in samples.items()}
    energies = {k: (p.E1, p.E2) for k, p in samples.items()}
    a_edges = _log_edges(list(alphas.values()), bins)
    e_edges = _log_edges([e for pair in energies.values() for e in pair], bins)
    plt.style.use(mplhep.style.ROOT)
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6))
    for i, label in enumerate(samples):
        style = {"color": f"C{i % 10}", "lw": 1.8, **dict((styles or {}).get(label, {}))}
        counts = np.histogram(alphas[label], a_edges)[0].astype(float)
        mplhep.histplot(counts / max(counts.sum(), 1.0), a_edges, ax=left, label=label, **style)
        style.pop("ls", None)
        style.pop("linestyle", None)
        for e, ls, name in ((energies[label][0], "-", r"$E_1$"), (energies[label][1], "--", r"$E_2$")):
            counts = np.histogram(e, e_edges)[0].astype(float)
            mplhep.histplot(
                counts / max(counts.sum(), 1.0), e_edges, ax=right, ls=ls, label=f"{label}, {name}", **style
            )
    left.set_xlabel(r"opening angle $\alpha_{\gamma\gamma}$ [mrad]")
    right.set_xlabel(r"photon energy $E_\gamma$ [GeV]")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_ylabel("Fraction of photons / bin" if ax is right else "Fraction of events / bin")
        ax.legend(fontsize=10)
    if title:
        fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    _save(fig, path)
