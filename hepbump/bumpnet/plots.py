"""mplhep figures of BumpNet scans, in the style of the paper's figures.

* :func:`plot_histogram_z` (figures 4, 15, 17): the mass histogram (top, with the background fit when given)
  and the per-bin significance (bottom): BumpNet's prediction in red, the LR scan in blue when given; the bins
  excluded from the maximum are shaded and ``Z_max`` is marked.
* :func:`plot_family_map` (figures 19, 20): number of histograms as a function of BumpNet's maximal significance
  and the mass of the excess, before (left) and after (right) the GAA.
* :func:`plot_crosscheck` : BumpNet's ``Z_max`` against the LR and pyhf significances at the same position.

Every figure is written atomically; the format follows the suffix (png, pdf, svg).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from hepbump.io.atomic import atomic_path  # noqa: E402

__all__ = ["plot_crosscheck", "plot_family_map", "plot_histogram_z", "plot_scan_row"]


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def _steps(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return edges, np.append(values, values[-1])


def plot_histogram_z(
    counts: Any,
    edges: Any,
    z: Any,
    path: str | os.PathLike[str],
    *,
    first_bin: int = 0,
    lr_z: Any = None,
    background: Any = None,
    title: str = "",
    xlabel: str = "Mass [GeV]",
    text: str = "",
    background_label: str = "background fit",
) -> None:
    """Histogram (top) and significance panel (bottom): BumpNet ``z`` (red), LR ``lr_z`` (blue) per bin."""
    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    z = np.asarray(z, dtype=float)
    plt.style.use(mplhep.style.ROOT)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1.6]})
    mplhep.histplot(
        counts,
        edges,
        yerr=np.sqrt(np.maximum(counts, 0)),
        histtype="errorbar",
        ax=top,
        label="data",
        color="black",
        markersize=3,
    )
    if background is not None:
        mplhep.histplot(np.asarray(background, dtype=float), edges, ax=top, label=background_label, color="tab:orange")
    if np.any(counts > 0):
        top.set_yscale("log")
        positive = counts[counts > 0]
        top.set_ylim(0.3 * positive.min(), 3.0 * positive.max())
    top.set_ylabel("Events / bin", fontsize=18)
    if title:
        top.set_title(title, fontsize=11)
    best = first_bin + int(np.argmax(z[first_bin:]))
    centre = 0.5 * (edges[best] + edges[best + 1])
    label = f"BumpNet: Z_max = {z[best]:.2f} at {centre:.4g} GeV"
    top.text(
        0.97, 0.95, label + (f"\n{text}" if text else ""), transform=top.transAxes, ha="right", va="top", fontsize=11
    )
    top.legend(loc="lower left", fontsize=11)
    bottom.step(*_steps(z, edges), where="post", color="tab:red", lw=1.8, label="BumpNet")
    if lr_z is not None:
        bottom.step(*_steps(np.asarray(lr_z, dtype=float), edges), where="post", color="tab:blue", lw=1.4, label="LR")
    if first_bin > 0:
        bottom.axvspan(edges[0], edges[first_bin], color="grey", alpha=0.25, lw=0, label="excluded")
    bottom.plot([centre], [z[best]], marker="v", color="tab:red", ls="none")
    bottom.axhline(0.0, color="black", lw=0.8)
    bottom.set_ylabel("Significance Z", fontsize=18)
    bottom.set_xlabel(xlabel, fontsize=18)
    bottom.legend(loc="upper right", fontsize=10, ncol=3)
    _save(fig, path)


def _title(name: str, meta: Mapping[str, Any]) -> str:
    parts = [name]
    if meta.get("channel"):
        parts.append(f"channel {meta['channel']}")
    return ", ".join(parts)


def plot_scan_row(table: Any, i: int, path: str | os.PathLike[str], **kwargs: Any) -> None:
    """:func:`plot_histogram_z` of row ``i`` of a :class:`~hepbump.bumpnet.scan.ScanTable` (``kwargs``: its
    ``lr_z``, ``background``, ``text``, ``background_label``)."""
    meta = table.metadata[i]
    objects = meta.get("objects")
    xlabel = f"m({', '.join(objects)}{', MET' if meta.get('with_met') else ''}) [GeV]" if objects else "Mass [GeV]"
    plot_histogram_z(
        table.counts[i],
        table.edges[i],
        table.z[i],
        path,
        first_bin=int(table.first_bins[i]),
        title=f"#{i + 1}: " + _title(table.names[i], meta),
        xlabel=xlabel,
        **kwargs,
    )


def plot_family_map(table: Any, result: Any, path: str | os.PathLike[str], *, z_min: float | None = None) -> None:
    """Number of histograms vs (mass of the excess, BumpNet ``Z_max``), before and after the GAA.

    ``result`` is a :class:`~hepbump.bumpnet.gaa.GAAResult`. Before: every histogram with ``Z_max >= z_min``
    (default: all); after: the histograms of the surviving families.
    """
    z = np.asarray(table.z_max, dtype=float)
    m = np.asarray(table.masses, dtype=float) if len(table) else np.empty(0)
    keep = np.ones(len(z), dtype=bool) if z_min is None else z >= z_min
    after = [(mb.mass, mb.z_max) for f in result.families for mb in f.members]
    m_after = np.array([a for a, _ in after], dtype=float)
    z_after = np.array([b for _, b in after], dtype=float)
    finite = np.isfinite(z)
    lo_m = max(float(np.min(m[keep], initial=np.inf)) * 0.8, 1.0) if keep.any() else 10.0
    hi_m = float(np.max(m[keep], initial=lo_m * 10)) * 1.25 if keep.any() else 1e4
    mass_bins = np.geomspace(lo_m, max(hi_m, lo_m * 2), 41)
    z_lo = float(np.min(z[keep & finite], initial=0.0)) if keep.any() else 0.0
    z_hi = float(np.max(z[finite], initial=1.0)) if finite.any() else 1.0
    z_bins = np.linspace(np.floor(min(z_lo, 0.0)), np.ceil(max(z_hi, result.config.seed_threshold) + 0.5), 41)
    panels = (
        ((m[keep & finite], z[keep & finite]), f"before GAA: {int((keep & finite).sum())} histograms"),
        ((m_after, z_after), f"after GAA: {len(result.families)} families, {len(m_after)} histograms"),
    )
    counts = [np.histogram2d(mm, zz, bins=(mass_bins, z_bins))[0] for (mm, zz), _ in panels]
    norm = LogNorm(vmin=1.0, vmax=max(float(counts[0].max(initial=1.0)), 2.0))
    plt.style.use(mplhep.style.ROOT)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    for ax, h, (_, title) in zip(axes, counts, panels):
        mplhep.hist2dplot(np.where(h > 0, h, np.nan), mass_bins, z_bins, ax=ax, cmap="viridis", norm=norm, cbar=True)
        ax.axhline(result.config.seed_threshold, color="tab:red", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("Mass of the excess [GeV]", fontsize=18)
        ax.set_title(title, fontsize=13)
    axes[0].set_ylabel("BumpNet maximal significance", fontsize=18)
    _save(fig, path)


def plot_crosscheck(rows: Sequence[Any], path: str | os.PathLike[str]) -> None:
    """BumpNet ``Z_max`` (x) against the LR and pyhf significances at the same position (y), one point each."""
    bz = np.array([r.bumpnet_z for r in rows], dtype=float)
    lr = np.array([r.lr_z for r in rows], dtype=float)
    ph = np.array([r.pyhf_z for r in rows], dtype=float)
    plt.style.use(mplhep.style.ROOT)
    fig, ax = plt.subplots(figsize=(7, 6.5))
    ax.plot(bz, lr, "o", color="tab:blue", label="LR scan (background refitted)")
    ax.plot(bz, ph, "s", mfc="none", color="tab:green", label="pyhf (sideband background)")
    values = np.concatenate([bz, lr, ph])
    values = values[np.isfinite(values)]
    lo = min(0.0, float(values.min(initial=0.0))) - 0.5
    hi = float(values.max(initial=1.0)) * 1.1 + 0.5
    ax.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("BumpNet Z_max")
    ax.set_ylabel("Z at the same position")
    ax.legend(loc="upper left", fontsize=11)
    _save(fig, path)
