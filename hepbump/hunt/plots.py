"""mplhep figures of the hunt: coverage of the mass posteriors (Fig. 10), a cleaning sequence (Fig. 2), pair
ROC curves (Fig. 6), sensitivity maps over (mu_b, mu_s) (Figs. 4, 5) and threshold scans (Figs. 11, 12).

Every figure is written atomically (PNG, PDF or SVG by the file suffix).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402
import numpy as np  # noqa: E402

from hepbump.hunt.clean import CleaningResult  # noqa: E402
from hepbump.hunt.metrics import Roc  # noqa: E402
from hepbump.hunt.posterior import combine_log_posteriors  # noqa: E402
from hepbump.io.atomic import atomic_path  # noqa: E402

__all__ = ["plot_coverage", "plot_cleaning", "plot_roc", "plot_sensitivity_map", "plot_threshold_scan"]

log = logging.getLogger(__name__)


def _save(fig: Any, path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    log.info("wrote %s", path)


def plot_coverage(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike[str]) -> None:
    """Empirical versus expected coverage of HPD regions, one line per label (``{label: (expected, empirical)}``,
    e.g. from :func:`hepbump.hunt.posterior.coverage_curve`)."""
    plt.style.use(mplhep.style.CMS)
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="ideal")
    for label, (expected, empirical) in curves.items():
        ax.plot(expected, empirical, lw=2, label=label)
    ax.set_xlabel("expected coverage")
    ax.set_ylabel("empirical coverage")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize="small")
    _save(fig, path)


def plot_cleaning(
    grid: np.ndarray,
    log_posteriors: np.ndarray,
    result: CleaningResult,
    path: str | os.PathLike[str],
    *,
    true_log10_mass: float | None = None,
) -> None:
    """The per-event posteriors, the mean scores of each cleaning pass against the threshold, and the combined
    posterior of the retained events (the panels of Fig. 2)."""
    plt.style.use(mplhep.style.CMS)
    n_pass = len(result.history)
    fig, axes = plt.subplots(1, n_pass + 2, figsize=(4.2 * (n_pass + 2), 4.2))
    ax = axes[0]
    for i, lp in enumerate(np.atleast_2d(log_posteriors)):
        ax.plot(grid, np.exp(lp), lw=1.5, label=f"event {i}")
    ax.set_xlabel(r"$\log_{10} m_a$ [GeV]")
    ax.set_ylabel("posterior")
    ax.legend(fontsize="x-small")
    for k, step in enumerate(result.history):
        ax = axes[1 + k]
        ax.bar([str(i) for i in step.active], np.nan_to_num(step.scores), color="tab:blue")
        ax.axhline(result.threshold, color="tab:red", ls="--", lw=1)
        ax.set_ylim(0, 1)
        ax.set_title(f"pass {k + 1}" + ("" if step.removed is None else f": drop {step.removed}"), fontsize="small")
        ax.set_xlabel("event")
    ax = axes[-1]
    if result.ts:
        ax.plot(
            grid,
            np.exp(combine_log_posteriors(np.atleast_2d(log_posteriors)[result.retained], grid)),
            color="black",
            lw=2,
        )
    if true_log10_mass is not None:
        ax.axvline(true_log10_mass, color="tab:red", ls=":", lw=1.5)
    ax.set_xlabel(r"$\log_{10} m_a$ [GeV]")
    ax.set_title(f"combined, TS = {result.ts}", fontsize="small")
    fig.tight_layout()
    _save(fig, path)


def plot_roc(curves: Mapping[str, Roc], path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """Background rejection 1/eps_b against signal efficiency eps_s, one line per label (Fig. 6)."""
    plt.style.use(mplhep.style.CMS)
    fig, ax = plt.subplots(figsize=(8, 7.5))
    for label, roc in curves.items():
        keep = roc.eps_b > 0
        ax.plot(roc.eps_s[keep], roc.rejection[keep], lw=2, label=label)
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"signal efficiency $\varepsilon_s$")
    ax.set_ylabel(r"background rejection $1/\varepsilon_b$")
    if title:
        ax.set_title(title, fontsize="x-small")
    ax.legend(loc="lower left", fontsize="x-small")
    fig.tight_layout()
    _save(fig, path)


def plot_sensitivity_map(
    mu_b: np.ndarray, mu_s: np.ndarray, values: np.ndarray, path: str | os.PathLike[str], *, label: str = r"$<Z>_s$"
) -> None:
    """A measure (e.g. <Z>_s, or a difference of two methods) on the mu_b x mu_s grid (Figs. 4, 5)."""
    plt.style.use(mplhep.style.CMS)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    mesh = ax.pcolormesh(np.asarray(mu_b), np.asarray(mu_s), np.asarray(values).T, shading="nearest")
    fig.colorbar(mesh, ax=ax, label=label)
    ax.set_xlabel(r"$\mu_b$")
    ax.set_ylabel(r"$\mu_s$")
    _save(fig, path)


def plot_threshold_scan(
    scans: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    label: str = r"$<Z>_s$",
    threshold: float | None = 0.68,
) -> None:
    """A measure against the compatibility threshold, one line per label (Figs. 11, 12)."""
    plt.style.use(mplhep.style.CMS)
    fig, ax = plt.subplots(figsize=(6.5, 6.5))
    for name, (th, val) in scans.items():
        ax.plot(th, val, lw=2, marker="o", ms=3, label=name)
    if threshold is not None:
        ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_xlabel("compatibility threshold")
    ax.set_ylabel(label)
    ax.legend(fontsize="small")
    fig.tight_layout()
    _save(fig, path)
