"""mplhep figures of the hunt: coverage of the mass posteriors (Figs. 8, 10), a cleaning sequence (Fig. 2), TS
distributions (Fig. 3), pair ROC curves (Fig. 6), sensitivity maps over (mu_b, mu_s) (Figs. 4, 5), threshold
scans (Figs. 11, 12) and the width of combined posteriors against the number of signal events (Fig. 7).

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

__all__ = [
    "plot_coverage",
    "plot_coverage_panels",
    "plot_cleaning",
    "plot_roc",
    "plot_pair_rocs",
    "plot_sensitivity_map",
    "plot_sensitivity_maps",
    "plot_threshold_scan",
    "plot_scan_panels",
    "plot_ts_distributions",
    "plot_inference_scaling",
]

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


def _rejection_axes(ax: Any, title: str | None, legend_size: str) -> None:
    """Axes of a background-rejection plot: log 1/eps_b against eps_s in [0, 1], title and legend."""
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel(r"signal efficiency $\varepsilon_s$")
    ax.set_ylabel(r"background rejection $1/\varepsilon_b$")
    if title:
        ax.set_title(title, fontsize="x-small")
    ax.legend(loc="lower left", fontsize=legend_size)


def plot_roc(curves: Mapping[str, Roc], path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """Background rejection 1/eps_b against signal efficiency eps_s, one line per label (Fig. 6)."""
    plt.style.use(mplhep.style.CMS)
    fig, ax = plt.subplots(figsize=(8, 7.5))
    for label, roc in curves.items():
        keep = roc.eps_b > 0
        ax.plot(roc.eps_s[keep], roc.rejection[keep], lw=2, label=label)
    _rejection_axes(ax, title, "x-small")
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


def _grid(n: int, width: float = 5.2, height: float = 4.8) -> tuple[Any, np.ndarray]:
    ncol = min(n, 3)
    nrow = -(-n // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(width * ncol, height * nrow), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def plot_ts_distributions(
    panels: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    labels: tuple[str, str] = ("background only", "signal + background"),
    notes: Mapping[str, str] | None = None,
) -> None:
    """TS distributions ``{title: (p_b, p_s)}`` side by side, one panel per method (Fig. 3); ``notes``: a text
    per panel (e.g. the measures)."""
    plt.style.use(mplhep.style.CMS)
    fig, axes = _grid(len(panels))
    for ax, (title, (pb, ps)) in zip(axes, panels.items(), strict=True):
        n = max(len(pb), len(ps))
        x = np.arange(n)
        ax.bar(x - 0.2, np.pad(pb, (0, n - len(pb))), width=0.4, color="tab:blue", label=labels[0])
        ax.bar(x + 0.2, np.pad(ps, (0, n - len(ps))), width=0.4, color="tab:red", label=labels[1])
        ax.set_xlabel("TS")
        ax.set_ylabel("probability")
        ax.set_title(title, fontsize="x-small")
        if notes and title in notes:
            ax.text(0.97, 0.62, notes[title], transform=ax.transAxes, ha="right", va="top", fontsize="xx-small")
        ax.legend(fontsize="xx-small", loc="upper right")
    fig.tight_layout()
    _save(fig, path)


def plot_sensitivity_maps(
    mu_b: np.ndarray,
    mu_s: np.ndarray,
    panels: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    *,
    label: str = r"$<Z>_s$",
    diverging: bool = False,
) -> None:
    """Several measures on one mu_b x mu_s grid side by side (Fig. 4: one panel per method with a common colour
    scale; Fig. 5 with ``diverging``: differences, a colour scale symmetric about 0)."""
    plt.style.use(mplhep.style.CMS)
    fig, axes = _grid(len(panels), 6.0, 5.0)
    vals = [np.asarray(v, dtype=np.float64) for v in panels.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in vals]) if vals else np.zeros(1)
    finite = finite if finite.size else np.zeros(1)
    if diverging:
        top = float(np.max(np.abs(finite))) or 1.0
        kw: dict[str, Any] = {"vmin": -top, "vmax": top, "cmap": "RdBu_r"}
    else:
        kw = {"vmin": float(finite.min()), "vmax": float(finite.max()), "cmap": "viridis"}
    for ax, (title, v) in zip(axes, panels.items(), strict=True):
        mesh = ax.pcolormesh(np.asarray(mu_b), np.asarray(mu_s), np.asarray(v).T, shading="nearest", **kw)
        fig.colorbar(mesh, ax=ax, label=label)
        ax.set_xlabel(r"$\mu_b$")
        ax.set_ylabel(r"$\mu_s$")
        ax.set_title(title, fontsize="x-small")
    fig.tight_layout()
    _save(fig, path)


def plot_pair_rocs(
    curves: Mapping[str, Mapping[str, Roc]],
    path: str | os.PathLike[str],
    *,
    points: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    title: str | None = None,
) -> None:
    """Pair ROC curves in the style of Fig. 6: per benchmark (``{benchmark: {method: Roc}}``, one colour each),
    the first method solid and the others dashed, and per benchmark ``points`` ``(eps_s, eps_b)`` as + markers
    (the bump hunt at several bin widths)."""
    plt.style.use(mplhep.style.CMS)
    fig, ax = plt.subplots(figsize=(8, 7.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (bench, methods) in enumerate(curves.items()):
        colour = colours[k % len(colours)]
        for j, (method, roc) in enumerate(methods.items()):
            keep = roc.eps_b > 0
            ax.plot(
                roc.eps_s[keep],
                roc.rejection[keep],
                color=colour,
                lw=2,
                ls="-" if j == 0 else "--",
                label=f"{method}, {bench}",
            )
        if points and bench in points:
            es, eb = (np.asarray(a, dtype=np.float64) for a in points[bench])
            keep = eb > 0
            ax.plot(es[keep], 1.0 / eb[keep], "+", color=colour, ms=9, mew=2, label=f"bump hunt, {bench}")
    _rejection_axes(ax, title, "xx-small")
    fig.tight_layout()
    _save(fig, path)


def plot_scan_panels(
    panels: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
    path: str | os.PathLike[str],
    *,
    label: str = r"$<Z>_s$",
    threshold: float | None = 0.68,
) -> None:
    """Threshold scans, one panel per benchmark (``{benchmark: {line: (thresholds, values)}}``; Figs. 11, 12);
    lines whose label starts with "EPO" are solid, the others dashed."""
    plt.style.use(mplhep.style.CMS)
    fig, axes = _grid(len(panels))
    for ax, (title, lines) in zip(axes, panels.items(), strict=True):
        for name, (th, val) in lines.items():
            ax.plot(th, val, lw=1.8, marker="o", ms=3, ls="-" if name.startswith("EPO") else "--", label=name)
        if threshold is not None:
            ax.axvline(threshold, color="grey", ls="--", lw=1)
        ax.set_xlabel("compatibility threshold")
        ax.set_ylabel(label)
        ax.set_title(title, fontsize="x-small")
        ax.legend(fontsize="xx-small")
    fig.tight_layout()
    _save(fig, path)


def plot_coverage_panels(
    panels: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]], path: str | os.PathLike[str]
) -> None:
    """Coverage curves ``{panel: {label: (expected, empirical)}}``, one panel each (Fig. 8)."""
    plt.style.use(mplhep.style.CMS)
    fig, axes = _grid(len(panels), 6.0, 6.0)
    for ax, (title, curves) in zip(axes, panels.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="ideal")
        for name, (expected, empirical) in curves.items():
            ax.plot(expected, empirical, lw=2, label=name)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("expected coverage")
        ax.set_ylabel("empirical coverage")
        ax.set_title(title, fontsize="x-small")
        ax.legend(loc="upper left", fontsize="xx-small")
    fig.tight_layout()
    _save(fig, path)


def plot_inference_scaling(
    n_signal: np.ndarray,
    width: np.ndarray,
    spread: np.ndarray,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> None:
    """Mean width of the combined posterior and spread of its peak against the number of signal events, with
    the 1/sqrt(n) scaling from n = 1 (Fig. 7)."""
    plt.style.use(mplhep.style.CMS)
    n = np.asarray(n_signal, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7, 6.5))
    ax.plot(n, width, "o-", lw=2, label="mean posterior width")
    ax.plot(n, spread, "s-", lw=2, label=r"spread of the peak $\sigma(\log_{10}\hat m)$")
    ref = float(np.asarray(width)[0]) * np.sqrt(n[0]) / np.sqrt(n)
    ax.plot(n, ref, color="grey", ls="--", lw=1.5, label=r"$\propto n_{sig}^{-1/2}$")
    ax.set_xlabel(r"$n_{sig}$")
    ax.set_ylabel(r"$\log_{10} m_a$ uncertainty")
    ax.set_yscale("log")
    if title:
        ax.set_title(title, fontsize="x-small")
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    _save(fig, path)
