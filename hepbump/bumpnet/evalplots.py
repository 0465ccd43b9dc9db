"""mplhep figures of the BumpNet evaluation (:mod:`hepbump.bumpnet.evaluate`, called by
:mod:`hepbump.bumpnet.evalfigures`), in the style of the paper's figures 5-13: a 2D density of a difference
(``dZ_max``, position) against a variable, with its median and 68% band per bin; distributions and ROC curves
(Fig. 9); the distortions of a background (Fig. 11, top).

Every figure is written atomically (:func:`hepbump.io.atomic.atomic_path`); the format follows the suffix.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from hepbump.io.atomic import atomic_path  # noqa: E402

__all__ = ["Panel", "plot_background_only", "plot_distortions", "plot_panels"]


@dataclass(frozen=True)
class Panel:
    """One density panel: ``y`` against ``x`` binned in ``x_edges``, with the profile of
    :func:`hepbump.bumpnet.evalmetrics.profile` (columns ``median``, ``q16``, ``q84``)."""

    title: str
    x: np.ndarray
    y: np.ndarray
    x_edges: np.ndarray
    xlabel: str
    profile: Mapping[str, np.ndarray]
    logx: bool = False


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def _draw_panel(ax: Any, p: Panel, y_edges: np.ndarray, ylabel: str) -> None:
    x = np.asarray(p.x, dtype=float)
    y = np.clip(np.asarray(p.y, dtype=float), y_edges[0], y_edges[-1])
    ok = np.isfinite(x) & np.isfinite(y)
    h, _, _ = np.histogram2d(x[ok], y[ok], bins=[p.x_edges, y_edges])
    if h.sum() > 0:
        ax.pcolormesh(
            p.x_edges,
            y_edges,
            np.where(h > 0, h, np.nan).T,
            norm=LogNorm(vmin=1, vmax=max(h.max(), 2)),
            cmap="viridis",
            shading="flat",
        )
    centres = np.sqrt(p.x_edges[1:] * p.x_edges[:-1]) if p.logx else 0.5 * (p.x_edges[1:] + p.x_edges[:-1])
    med, lo, hi = (np.asarray(p.profile[k], dtype=float) for k in ("median", "q16", "q84"))
    ax.plot(centres, med, color="red", lw=1.8, marker="o", ms=3, label="median")
    ax.plot(centres, lo, color="red", lw=1.0, ls="--", label="16-84%")
    ax.plot(centres, hi, color="red", lw=1.0, ls="--")
    ax.axhline(0.0, color="black", lw=0.7)
    if p.logx:
        ax.set_xscale("log")
    ax.set_xlim(p.x_edges[0], p.x_edges[-1])
    ax.set_ylim(y_edges[0], y_edges[-1])
    ax.set_xlabel(p.xlabel, fontsize=14)
    ax.set_ylabel(ylabel, fontsize=14)
    d = np.asarray(p.y, dtype=float)
    d = d[np.isfinite(d)]
    text = f"{p.title}\nN = {d.size}"
    if d.size:
        text += f", median {np.median(d):+.2f}, std {d.std():.2f}"
    ax.set_title(text, fontsize=11)
    ax.legend(loc="upper right", fontsize=9)


def plot_panels(
    panels: Sequence[Panel],
    path: str | os.PathLike[str],
    *,
    ylabel: str,
    y_edges: Any,
    ncols: int | None = None,
) -> None:
    """A grid of density panels (``ncols`` per row; default: all in one row, at most 3)."""
    plt.style.use(mplhep.style.ROOT)
    n = max(len(panels), 1)
    ncols = ncols or min(n, 3)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 4.6 * nrows), squeeze=False)
    y_edges = np.asarray(y_edges, dtype=float)
    for ax, p in zip(axes.flat, panels):
        _draw_panel(ax, p, y_edges, ylabel)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    _save(fig, path)


def plot_background_only(
    dist_tables: Sequence[Mapping[str, Any]],
    roc_tables: Sequence[Mapping[str, Any]],
    sets: Sequence[str],
    path: str | os.PathLike[str],
    threshold: float = 5.0,
) -> None:
    """Fig. 9: ``Z_max`` distributions (top; predicted dotted, LR full; signal orange, background-only blue) and
    ROC curves (bottom; BumpNet and the ideal LR test), one column per test set."""
    plt.style.use(mplhep.style.ROOT)
    ncols = max(len(sets), 1)
    fig, axes = plt.subplots(2, ncols, figsize=(6.0 * ncols, 9.0), squeeze=False)
    colors = {"signal": "tab:orange", "background": "tab:blue"}
    for j, name in enumerate(sets):
        top, bottom = axes[0, j], axes[1, j]
        for t in dist_tables:
            if t["set"] != name:
                continue
            edges = np.append(np.asarray(t["z_lo"]), np.asarray(t["z_hi"])[-1])
            ls = ":" if t["statistic"] == "pred" else "-"
            label = f"{t['sample']}, {'BumpNet' if t['statistic'] == 'pred' else 'LR'}"
            top.stairs(np.asarray(t["count"]), edges, color=colors[t["sample"]], ls=ls, lw=1.6, label=label)
        top.axvline(threshold, color="grey", lw=0.8)
        top.set_yscale("log")
        top.set_xlabel(r"$Z_{max}$", fontsize=14)
        top.set_ylabel("histograms", fontsize=14)
        top.set_title(name, fontsize=12)
        top.legend(fontsize=9)
        for t in roc_tables:
            if t["set"] != name:
                continue
            fpr, tpr = np.asarray(t["fpr"]), np.asarray(t["tpr"])
            ok = fpr > 0
            style = {"pred": ("tab:red", ":", "BumpNet"), "lr": ("tab:blue", "-", "ideal LR test")}[t["statistic"]]
            bottom.plot(fpr[ok], tpr[ok], color=style[0], ls=style[1], lw=1.8, label=style[2])
        bottom.set_xscale("log")
        bottom.set_xlabel("false-positive rate", fontsize=14)
        bottom.set_ylabel("true-positive rate", fontsize=14)
        bottom.set_ylim(0, 1.02)
        bottom.legend(loc="lower right", fontsize=10)
    _save(fig, path)


def plot_distortions(
    examples: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    panels: Sequence[Panel],
    path: str | os.PathLike[str],
    *,
    ylabel: str,
    y_edges: Any,
) -> None:
    """Fig. 11: each distortion of an example background (top: ``(edges, nominal, distorted)``), and the
    density panels of ``dZ_max`` for the distorted sets (bottom), one column per distortion."""
    plt.style.use(mplhep.style.ROOT)
    ncols = max(len(panels), 1)
    fig, axes = plt.subplots(2, ncols, figsize=(5.2 * ncols, 9.0), squeeze=False)
    y_edges = np.asarray(y_edges, dtype=float)
    for j, p in enumerate(panels):
        top = axes[0, j]
        if p.title in examples:
            edges, nominal, distorted = examples[p.title]
            top.stairs(nominal, edges, color="black", lw=1.4, label="nominal", baseline=None)
            top.stairs(distorted, edges, color="tab:red", lw=1.4, label=p.title, baseline=None)
            top.set_yscale("log")
            top.set_xlabel("mass [GeV]", fontsize=13)
            top.set_ylabel("expected events / bin", fontsize=13)
            top.legend(fontsize=10)
            top.set_title(f"{p.title} distortion", fontsize=12)
        _draw_panel(axes[1, j], p, y_edges, ylabel)
    _save(fig, path)
