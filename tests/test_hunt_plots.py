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


def test_reproduction_figures(tmp_path):
    from hepbump.hunt.metrics import pair_roc
    from hepbump.hunt.plots import (
        plot_coverage_panels,
        plot_inference_scaling,
        plot_pair_rocs,
        plot_scan_panels,
        plot_sensitivity_maps,
        plot_ts_distributions,
    )

    rng = np.random.default_rng(2)
    pb, ps = np.array([0.2, 0.5, 0.3]), np.array([0.1, 0.2, 0.3, 0.4])
    plot_ts_distributions({"ECO": (pb, ps), "bump": (ps, pb)}, tmp_path / "ts.png", notes={"ECO": "<Z>_s = 1"})
    mb, ms = np.linspace(0, 6, 4), np.linspace(0, 4, 3)
    v = mb[:, None] - ms[None, :]
    plot_sensitivity_maps(mb, ms, {"a": v, "b": -v}, tmp_path / "maps.png", diverging=True)
    roc = pair_roc(rng.normal(1, 1, 200), rng.normal(0, 1, 200))
    pts = (np.array([0.5, 0.9]), np.array([0.2, 0.6]))
    plot_pair_rocs({"1 GeV": {"EPO": roc, "ECO": roc}}, tmp_path / "roc.png", points={"1 GeV": pts}, title="t")
    th = np.linspace(0.4, 0.9, 6)
    plot_scan_panels({"x": {"EPO, mu_b = 2": (th, th), "ECO, mu_b = 2": (th, 1 - th)}}, tmp_path / "scan.png")
    lev = np.linspace(0, 1, 11)
    plot_coverage_panels({"4s+1b": {"correct": (lev, lev**1.1)}, "3s+2b": {"all": (lev, lev)}}, tmp_path / "cov.png")
    n = np.arange(1, 6)
    plot_inference_scaling(n, 0.1 / np.sqrt(n), 0.12 / np.sqrt(n), tmp_path / "n.png", title="t")
    assert all(p.stat().st_size > 0 for p in tmp_path.iterdir()) and len(list(tmp_path.iterdir())) == 6
