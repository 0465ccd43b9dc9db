"""mplhep figures of bump scans: histogram with fitted background, and the local significance per position."""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402
import numpy as np  # noqa: E402

from hepbump.histogram import as_binned  # noqa: E402
from hepbump.io.atomic import atomic_path  # noqa: E402
from hepbump.stats.scan import LRScanResult  # noqa: E402

__all__ = ["plot_scan"]


def plot_scan(
    histogram: Any,
    result: LRScanResult,
    path: str | os.PathLike[str],
    *,
    title: str = "",
    truth_mass: float | None = None,
    extra_z: dict[str, float] | None = None,
) -> None:
    """Two panels: data with the background-only expectation (top), local signed Z per scan position (bottom).

    ``extra_z`` adds lines to the legend (for example the pyhf cross-check ``{"pyhf Z": 4.1}``). The PNG is
    written atomically.
    """
    b = as_binned(histogram)
    plt.style.use(mplhep.style.ROOT)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    mplhep.histplot(
        b.counts,
        b.edges,
        yerr=np.sqrt(np.maximum(b.counts, 0)),
        histtype="errorbar",
        ax=top,
        label="data",
        color="black",
        markersize=3,
    )
    mplhep.histplot(result.background, b.edges, ax=top, label="background fit", color="tab:orange", lw=2)
    top.set_yscale("log")
    top.set_ylabel("Events / bin")
    if truth_mass is not None:
        for ax in (top, bottom):
            ax.axvline(
                truth_mass,
                color="tab:green",
                ls=":",
                lw=1.5,
                label=f"injected signal ({truth_mass:g} GeV)" if ax is top else None,
            )
    text = f"max local Z = {result.max_z:.2f} at {result.best_position:.4g} GeV"
    for key, value in (extra_z or {}).items():
        text += f"\n{key} = {value:.2f}"
    top.text(0.97, 0.95, text, transform=top.transAxes, ha="right", va="top", fontsize=11)
    top.legend(loc="lower left", fontsize=11)
    if title:
        top.set_title(title, fontsize=12)
    bottom.bar(result.positions, result.z, width=np.diff(b.edges), color=np.where(result.z > 0, "tab:red", "tab:blue"))
    bottom.axhline(0.0, color="black", lw=0.8)
    bottom.set_ylabel("local Z")
    bottom.set_xlabel(b.label or "Mass [GeV]")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
