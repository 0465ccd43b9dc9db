"""The files of a BumpNet evaluation: one CSV (the numbers) and one PNG per family of the paper's figures 5-13,
and the per-histogram table ``histograms.csv.gz``.

:func:`write_figures` turns the :class:`~hepbump.bumpnet.evalsets.SetResult` of each test set into the tables
of the figures (profiles by :func:`~hepbump.bumpnet.evalmetrics.profile`, distributions, ROC curves), writes
them with :func:`write_csv` and draws them with :mod:`hepbump.bumpnet.evalplots`. A figure whose test sets are
missing (no test mothers, say) is not written. The definitions are in :mod:`hepbump.bumpnet.evaluate`.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hepbump.bumpnet import evalplots
from hepbump.bumpnet.data import MotherBank, analytic_backgrounds
from hepbump.bumpnet.evalmetrics import profile, roc_curve
from hepbump.bumpnet.evalsets import DISTORTIONS, SetResult, distort
from hepbump.io.atomic import atomic_path

if TYPE_CHECKING:  # evaluate imports this module
    from hepbump.bumpnet.evaluate import EvaluateConfig

__all__ = ["write_csv", "write_figures", "write_histogram_table"]

_DZ_LABEL = r"$\Delta Z_{max}$"
_POSITION_LABEL = "relative position of $Z^{LR}_{max}$"


def _csv_text(columns: dict[str, Any]) -> str:
    keys = list(columns)
    cols = [np.asarray(columns[k]) if not isinstance(columns[k], str) else columns[k] for k in keys]
    n = max((len(c) for c in cols if not isinstance(c, str)), default=0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for i in range(n):
        w.writerow([c if isinstance(c, str) else _cell(c[i]) for c in cols])
    return buf.getvalue()


def _cell(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return "" if not np.isfinite(v) else f"{float(v):.6g}"
    if isinstance(v, np.integer):
        return int(v)
    return v


def _tables_text(tables: Sequence[dict[str, Any]]) -> str:
    """The CSV text of long-format tables: the header of the first, then the rows of all."""
    return "".join(_csv_text(t) if k == 0 else _csv_text(t).split("\n", 1)[1] for k, t in enumerate(tables))


def write_csv(path: Path, tables: Sequence[dict[str, Any]]) -> None:
    """Write long-format tables (dicts of equal-length columns; a ``str`` value is a constant column)."""
    text = _tables_text(tables)
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_histogram_table(path: Path, results: dict[str, SetResult]) -> None:
    """Write every histogram's numbers (one row each, the set name first) as gzipped CSV."""
    text = _tables_text([{"set": name, **r.columns} for name, r in results.items()])
    with atomic_path(path) as tmp:
        with gzip.open(tmp, "wt") as f:
            f.write(text)


def _profile_table(labels: dict[str, str], x: Any, y: Any, edges: Any) -> dict[str, Any]:
    return {**labels, **profile(x, y, edges)}


def _log_edges(values: np.ndarray, lo: float = 1e-3, per_decade: int = 4) -> np.ndarray:
    v = values[np.isfinite(values) & (values > 0)]
    top = max(float(v.max()) if v.size else 10.0, lo * 10)
    return np.logspace(
        np.log10(lo), math.ceil(np.log10(top)), per_decade * (math.ceil(np.log10(top)) - int(np.log10(lo))) + 1
    )


def _example_background(test_mothers: MotherBank | None, config: EvaluateConfig) -> tuple[np.ndarray, np.ndarray]:
    """A background to draw the distortions on: the first test mother of >= 60 bins, else an analytic one."""
    if test_mothers is not None:
        for e, b in zip(test_mothers.edges, test_mothers.expected):
            if len(b) >= 60:
                return e, b
    rng = np.random.default_rng([config.seed, 11])
    cfg = replace(config.data, log_y_fraction=0.0)
    b, e, *_ = analytic_backgrounds(rng, 1, 100, cfg)
    return e[0], b[0]


class _Figures:
    """Writes the figures of one evaluation to ``out``, collecting the paths written in ``files``."""

    def __init__(
        self, results: dict[str, SetResult], out: Path, config: EvaluateConfig, test_mothers: MotherBank | None
    ) -> None:
        self.results, self.out, self.config, self.test_mothers = results, out, config, test_mothers
        self.files: list[Path] = []
        self.dz_edges = np.linspace(*config.dz_range, 81)
        self.z_edges = np.asarray(config.z_edges)
        self.pos_edges = np.linspace(0.0, 1.0, config.position_bins + 1)
        self.nominal = [n for n in ("function", "dm") if n in results]
        self.label = {
            "function": "analytic shapes",
            "dm": "data-like shapes (held out)",
            "dm_train": "data-like (training)",
        }

    def panel(
        self, title: str, name: str, x: str, edges: Any, xlabel: str, y: str = "dz_max", logx: bool = False
    ) -> evalplots.Panel:
        r = self.results[name]
        return evalplots.Panel(title, r[x], r[y], np.asarray(edges), xlabel, profile(r[x], r[y], edges), logx)

    def emit(self, stem: str, tables: list[dict[str, Any]], draw: Callable[[Path], None]) -> None:
        csv_path, png_path = self.out / f"{stem}.csv", self.out / f"{stem}.png"
        write_csv(csv_path, tables)
        self.files.append(csv_path)
        if self.config.figures:
            draw(png_path)
            self.files.append(png_path)

    def emit_dz(
        self, stem: str, tables: list[dict[str, Any]], panels: list[evalplots.Panel], ncols: int | None = None
    ) -> None:
        """:meth:`emit` of panels of ``dZ_max`` against a variable."""
        self.emit(
            stem,
            tables,
            lambda p: evalplots.plot_panels(panels, p, ylabel=_DZ_LABEL, y_edges=self.dz_edges, ncols=ncols),
        )

    def versus_z_lr(self, stem: str, names: list[str]) -> None:
        """``dZ_max`` against ``Z_max(LR)``, a panel per set (Fig. 6, Fig. 10)."""
        r, z_edges = self.results, self.z_edges
        tables = [_profile_table({"set": n}, r[n]["z_max_lr"], r[n]["dz_max"], z_edges) for n in names]
        panels = [self.panel(self.label[n], n, "z_max_lr", z_edges, r"$Z^{LR}_{max}$") for n in names]
        self.emit_dz(stem, tables, panels)

    def fig05_position(self) -> None:
        """Fig. 5: ``dZ_max`` against the relative position, all bins / the first bins excluded."""
        results, nominal, pos_edges = self.results, self.nominal, self.pos_edges
        tables, panels = [], []
        for excl, x, y in (("all_bins", "rel_pos_lr_all", "dz_max_all"), ("exclude_first", "rel_pos_lr", "dz_max")):
            for n in nominal:
                tables.append(_profile_table({"set": n, "bins": excl}, results[n][x], results[n][y], pos_edges))
            xs = np.concatenate([results[n][x] for n in nominal])
            ys = np.concatenate([results[n][y] for n in nominal])
            tables.append(_profile_table({"set": "combined", "bins": excl}, xs, ys, pos_edges))
            title = "all bins" if excl == "all_bins" else f"first {self.config.exclude_first:.0%} of bins excluded"
            panels.append(evalplots.Panel(title, xs, ys, pos_edges, _POSITION_LABEL, profile(xs, ys, pos_edges)))
        self.emit_dz("fig05_dz_vs_position", tables, panels)

    def fig07_position_difference(self) -> None:
        """Fig. 7: position difference against the position, all and ``Z_max(LR) >= position_min_z``."""
        results, nominal, pos_edges, config = self.results, self.nominal, self.pos_edges, self.config
        dpos_edges = np.arange(-10.5, 11.0, 1.0)
        xs = np.concatenate([results[n]["rel_pos_lr"] for n in nominal])
        dpos = np.concatenate([results[n]["pos_pred"] - results[n]["pos_lr"] for n in nominal])
        zl = np.concatenate([results[n]["z_max_lr"] for n in nominal])
        tables, panels = [], []
        for sel_name, sel in (
            ("all", np.ones_like(zl, bool)),
            (f"z_lr_ge_{config.position_min_z:g}", zl >= config.position_min_z),
        ):
            prof = profile(xs[sel], dpos[sel], pos_edges)
            idx = np.clip(np.searchsorted(pos_edges, xs[sel], side="right") - 1, 0, len(pos_edges) - 2)
            within = np.abs(dpos[sel]) <= config.position_tolerance
            frac = np.bincount(idx, weights=within, minlength=len(pos_edges) - 1) / np.maximum(prof["n"], 1)
            exact = np.bincount(idx, weights=dpos[sel] == 0, minlength=len(pos_edges) - 1) / np.maximum(prof["n"], 1)
            tables.append({"selection": sel_name, **prof, "frac_within_tolerance": frac, "frac_exact": exact})
            title = "all" if sel_name == "all" else rf"$Z^{{LR}}_{{max}} \geq {config.position_min_z:g}$"
            panels.append(evalplots.Panel(title, xs[sel], dpos[sel], pos_edges, _POSITION_LABEL, prof))
        self.emit(
            "fig07_position",
            tables,
            lambda p: evalplots.plot_panels(panels, p, ylabel="pred - LR position [bins]", y_edges=dpos_edges),
        )

    def fig08_first_bin(self) -> None:
        """Fig. 8: ``dZ_max`` against the entries of the first bin."""
        results, nominal = self.results, self.nominal
        first_edges = np.logspace(0, 6, 25)
        tables = [
            _profile_table({"set": n}, results[n]["count_first_bin"], results[n]["dz_max"], first_edges)
            for n in nominal
        ]
        panels = [
            self.panel(self.label[n], n, "count_first_bin", first_edges, "entries in the first bin", logx=True)
            for n in nominal
        ]
        self.emit_dz("fig08_dz_vs_first_bin", tables, panels)

    def fig09_background_only(self) -> None:
        """Fig. 9: ``Z_max`` distributions (signal / background only) and ROC curves."""
        results = self.results
        z_hist_edges = np.linspace(-2.0, 15.0, 69)
        dist_tables, roc_tables, roc_sets = [], [], []
        for n in self.nominal:
            bkg = f"{n}_bkg"
            if bkg not in results:
                continue
            roc_sets.append(n)
            for kind, r in (("signal", results[n]), ("background", results[bkg])):
                for stat in ("pred", "lr"):
                    h, _ = np.histogram(np.clip(r[f"z_max_{stat}"], z_hist_edges[0], z_hist_edges[-1]), z_hist_edges)
                    dist_tables.append(
                        {
                            "set": n,
                            "sample": kind,
                            "statistic": stat,
                            "z_lo": z_hist_edges[:-1],
                            "z_hi": z_hist_edges[1:],
                            "count": h,
                        }
                    )
            for stat in ("pred", "lr"):
                roc = roc_curve(results[n][f"z_max_{stat}"], results[bkg][f"z_max_{stat}"])
                roc_tables.append({"set": n, "statistic": stat, **roc})
        if roc_sets:
            write_csv(self.out / "fig09_roc.csv", roc_tables)
            self.files.append(self.out / "fig09_roc.csv")
            self.emit(
                "fig09_background_only",
                dist_tables,
                lambda p: evalplots.plot_background_only(dist_tables, roc_tables, roc_sets, p, self.config.discovery_z),
            )

    def fig11_distortions(self) -> None:
        """Fig. 11: the distortions (an example background, and ``dZ_max`` against ``Z_max(LR)``)."""
        results, z_edges, config = self.results, self.z_edges, self.config
        kinds = [k for k in DISTORTIONS if f"distort_{k}" in results]
        if not kinds:
            return
        tables = [
            _profile_table(
                {"distortion": k}, results[f"distort_{k}"]["z_max_lr"], results[f"distort_{k}"]["dz_max"], z_edges
            )
            for k in kinds
        ]
        ex_edges, ex_b = _example_background(self.test_mothers, config)
        examples = {k: (ex_edges, ex_b, np.maximum(distort(ex_b, k), config.data.min_expected)) for k in kinds}
        panels = [self.panel(k, f"distort_{k}", "z_max_lr", z_edges, r"$Z^{LR}_{max}$") for k in kinds]
        self.emit(
            "fig11_distortions",
            tables,
            lambda p: evalplots.plot_distortions(examples, panels, p, ylabel=_DZ_LABEL, y_edges=self.dz_edges),
        )

    def fig12_sparse_tails(self) -> None:
        """Fig. 12: sparse tails (and the reverse distortion), against the position and the background in the
        ``Z_max(LR)`` bin."""
        results, pos_edges = self.results, self.pos_edges
        sparse_sets = [n for n in ("sparse", "distort_reverse") if n in results]
        if not sparse_sets:
            return
        b_edges = _log_edges(np.concatenate([results[n]["b_at_max"] for n in sparse_sets]))
        tables, panels = [], []
        for n in sparse_sets:
            nice = "sparse tails" if n == "sparse" else "reverse distortion"
            tables.append(
                _profile_table(
                    {"set": n, "variable": "rel_pos_lr"}, results[n]["rel_pos_lr"], results[n]["dz_max"], pos_edges
                )
            )
            tables.append(
                _profile_table(
                    {"set": n, "variable": "b_at_max"}, results[n]["b_at_max"], results[n]["dz_max"], b_edges
                )
            )
            panels.append(self.panel(nice, n, "rel_pos_lr", pos_edges, _POSITION_LABEL))
            panels.append(
                self.panel(nice, n, "b_at_max", b_edges, "expected background in the $Z^{LR}_{max}$ bin", logx=True)
            )
        self.emit_dz("fig12_sparse_tails", tables, panels, ncols=2)

    def fig13_widths(self) -> None:
        """Fig. 13: signal widths, against the per-bin target and against the whole-signal LR significance."""
        z_edges = self.z_edges
        wsets = [(w, "function" if w == 1.0 else f"width_{w:g}") for w in self.config.widths]
        wsets = [(w, n) for w, n in wsets if n in self.results]
        if not wsets:
            return
        tables, panels = [], []
        for w, n in wsets:
            r = self.results[n]
            tables.append(
                _profile_table({"width_bins": f"{w:g}", "reference": "per_bin"}, r["z_max_lr"], r["dz_max"], z_edges)
            )
            tables.append(
                _profile_table(
                    {"width_bins": f"{w:g}", "reference": "window"},
                    r["z_window"],
                    r["z_max_pred"] - r["z_window"],
                    z_edges,
                )
            )
            panels.append(self.panel(f"{w:g}-bin signals", n, "z_max_lr", z_edges, r"$Z^{LR}_{max}$ (per bin)"))
        for w, n in wsets:
            r = self.results[n]
            y = r["z_max_pred"] - r["z_window"]
            panels.append(
                evalplots.Panel(
                    f"{w:g}-bin signals vs whole-signal LR",
                    r["z_window"],
                    y,
                    z_edges,
                    r"$Z^{LR}$ (known signal shape)",
                    profile(r["z_window"], y, z_edges),
                )
            )
        self.emit_dz("fig13_widths", tables, panels, ncols=len(wsets))


def write_figures(
    results: dict[str, SetResult], out: Path, config: EvaluateConfig, test_mothers: MotherBank | None = None
) -> list[Path]:
    """Write the CSV (and, with ``config.figures``, the PNG) of each of the paper's figures 5-13 that ``results``
    allow, and ``histograms.csv.gz`` with ``config.per_histogram_csv``; return the paths written, in order.
    ``test_mothers`` give the example background of Fig. 11 (else an analytic one)."""
    f = _Figures(results, out, config, test_mothers)
    f.fig05_position()
    f.versus_z_lr("fig06_dz_vs_zlr", f.nominal)  # Fig. 6
    f.fig07_position_difference()
    f.fig08_first_bin()
    f.fig09_background_only()
    fig10 = [n for n in ("dm_train", "dm") if n in results]
    if fig10:
        f.versus_z_lr("fig10_dm_seen_unseen", fig10)  # Fig. 10: data-like shapes seen / unseen in training
    f.fig11_distortions()
    f.fig12_sparse_tails()
    f.fig13_widths()
    if config.per_histogram_csv:
        write_histogram_table(out / "histograms.csv.gz", results)
        f.files.append(out / "histograms.csv.gz")
    return f.files
