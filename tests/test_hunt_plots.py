"""Figures of the hunt (hepbump.hunt.plots): they are written, atomically, from hand-made inputs."""

from __future__ import annotations

import numpy as np

from hepbump.hunt.clean import clean
from hepbump.hunt.plots import plot_cleaning, plot_coverage
from hepbump.hunt.posterior import coverage_curve, mass_grid, normalise_log_density


def test_figures_are_written(tmp_path):
    g = mass_grid()
    mus = np.array([0.0, 0.02, -0.03, 0.5, -0.8])
    lp = normalise_log_density(-0.5 * ((g[None, :] - mus[:, None]) / 0.1) ** 2, g)
    c = np.exp(-np.abs(mus[:, None] - mus[None, :]) / 0.2)
    result = clean(c)
    assert result.retained.tolist() == [0, 1, 2]
    plot_cleaning(g, lp, result, tmp_path / "cleaning.png", true_log10_mass=0.0)
    plot_coverage({"toy": coverage_curve(np.random.default_rng(0).random(200))}, tmp_path / "coverage.pdf")
    assert (tmp_path / "cleaning.png").stat().st_size > 0 and (tmp_path / "coverage.pdf").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cleaning.png", "coverage.pdf"]


def test_roc_map_and_scan_figures(tmp_path):
    from hepbump.hunt.metrics import pair_roc
    from hepbump.hunt.plots import plot_roc, plot_sensitivity_map, plot_threshold_scan

    rng = np.random.default_rng(1)
    plot_roc({"toy": pair_roc(rng.normal(1, 1, 300), rng.normal(0, 1, 300))}, tmp_path / "roc.png", title="toy")
    mb, ms = np.linspace(0, 6, 4), np.linspace(0, 4, 3)
    plot_sensitivity_map(mb, ms, mb[:, None] * ms[None, :], tmp_path / "map.png")
    th = np.linspace(0.1, 0.9, 5)
    plot_threshold_scan({"toy": (th, th * (1 - th))}, tmp_path / "scan.svg")
    assert all((tmp_path / n).stat().st_size > 0 for n in ("roc.png", "map.png", "scan.svg"))
