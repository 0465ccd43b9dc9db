"""The hunt's half of ``hepbump demo``: an EPO hunt on freshly simulated events with the shipped networks.

:func:`run_hunt_demo` simulates ``n_signal`` ALP events at one parameter point (m_a, c tau / m = 1 m/GeV) and
Pois(``mu_background``) background events (parameters from the prior), measures them with a resolution preset,
shuffles them, and runs :func:`hepbump.hunt.analysis.hunt` with the shipped EPO classifier: compatibility,
cleaning at 0.68, TS, its p-value and Z against background-only pseudo-experiments (Pois(n_obs) events from a
freshly simulated background pool, the same-total convention), and the mass estimate from the combined
posterior of the retained events. It writes the Fig. 2 style figure ``hunt.png`` and returns the figures as a
:class:`HuntDemoResult` (``summary``: JSON-able, ``text()``: the lines to print).

The same ``seed`` gives the same events, pool, pseudo-experiments and result.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepbump.alp.detector import get_resolution
from hepbump.errors import InputError
from hepbump.hunt.analysis import HuntConfig, hunt, load_models
from hepbump.hunt.data import simulate_sample

__all__ = ["HuntDemoResult", "run_hunt_demo"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HuntDemoResult:
    """The demo hunt: ``summary`` (JSON-able: events, truth, retained, TS, p, Z, mass estimate) and the figure."""

    summary: dict[str, Any]
    png_file: str

    def text(self) -> str:
        """The lines ``hepbump demo`` prints."""
        s = self.summary
        z = "inf" if s["Z"] is None or not math.isfinite(s["Z"]) else f"{s['Z']:.2f}"
        bound = f" (p < {s['p_value_bound']:.2g}: beyond the pseudo-experiments)" if s["p_value"] == 0 else ""
        lines = [
            f"EPO hunt ({s['resolution']}): {s['n_events']} events, {s['n_signal']} signal at m_a = "
            f"{s['true_mass_gev']:g} GeV + {s['n_background']} background (signal events: {s['signal_events']})",
            f"retained events: {s['retained']} ({s['n_signal_retained']} signal, {s['n_background_retained']} "
            "background)",
            f"TS = {s['TS']}, p = {s['p_value']:.4g}{bound}, Z = {z} (background-only: Pois({s['n_events']}) events, "
            f"{s['n_experiments']} pseudo-experiments)",
        ]
        e = s["mass_estimate"]
        if e is not None:
            lines.append(
                f"m_a = {e['mass_gev']:.3g} GeV, 68% interval [{e['mass_low_gev']:.3g}, {e['mass_high_gev']:.3g}] GeV "
                f"(true {s['true_mass_gev']:g} GeV)"
            )
        lines.append(f"wrote {self.png_file}")
        return "\n".join(lines)


def _seeds(seed: int) -> list[int]:
    return [int(x >> 1) for x in np.random.SeedSequence([int(seed), 0x68756E74]).generate_state(5)]


def run_hunt_demo(
    out_dir: str | Path,
    *,
    seed: int,
    resolution: str = "good-ref",
    mass_gev: float = 1.0,
    n_signal: int = 4,
    mu_background: float = 2.0,
    ctau_over_m: float = 1.0,
    n_experiments: int = 2000,
    pool_size: int = 500,
) -> HuntDemoResult:
    """Simulate, hunt with the shipped EPO networks of ``resolution`` and write ``out_dir/hunt.png``."""
    from hepbump.hunt.plots import plot_cleaning

    if isinstance(n_signal, bool) or int(n_signal) != n_signal or n_signal < 1:
        raise InputError(f"the demo hunt needs >= 1 signal event, got {n_signal}")
    if not (math.isfinite(mu_background) and mu_background >= 0):
        raise InputError(f"the expected number of background events must be finite and >= 0, got {mu_background}")
    res = get_resolution(resolution)
    posterior, epo = load_models("epo", res.name)  # a missing or bad weights file fails before any work
    s_sig, s_bkg, s_pool, s_draw, s_hunt = _seeds(seed)
    n_bkg = int(np.random.default_rng(s_draw).poisson(mu_background))
    sig = simulate_sample("signal", int(n_signal), res, seed=s_sig, mass_gev=mass_gev, ctau_over_m=ctau_over_m)
    x, m_gg = sig.features, sig.m_gg
    if n_bkg:
        bkg = simulate_sample("background", n_bkg, res, seed=s_bkg)
        x, m_gg = np.vstack([x, bkg.features]), np.r_[m_gg, bkg.m_gg]
    order = np.random.default_rng([s_draw, 1]).permutation(x.shape[0])
    x, m_gg = x[order], m_gg[order]
    is_signal = order < int(n_signal)
    pool = simulate_sample("background", int(pool_size), res, seed=s_pool)
    config = HuntConfig("epo", n_experiments=int(n_experiments), pool_size=int(pool_size))
    result = hunt(x, m_gg, config, posterior, epo, pool.features, pool.m_gg, np.random.default_rng(s_hunt))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = out / "hunt.png"
    plot_cleaning(result.grid, result.log_posteriors, result.cleaning, png, true_log10_mass=math.log10(mass_gev))
    kept = result.retained
    summary = {
        "method": "epo",
        "resolution": res.name,
        "seed": int(seed),
        "true_mass_gev": float(mass_gev),
        "ctau_over_m": float(ctau_over_m),
        "n_events": int(x.shape[0]),
        "n_signal": int(n_signal),
        "mu_background": float(mu_background),
        "n_background": n_bkg,
        "signal_events": np.flatnonzero(is_signal).tolist(),
        "m_gg_gev": np.round(m_gg, 5).tolist(),
        "retained": kept.tolist(),
        "removed": result.cleaning.removed.tolist(),
        "n_signal_retained": int(is_signal[kept].sum()),
        "n_background_retained": int((~is_signal[kept]).sum()),
        "TS": result.ts,
        "p_value": result.p_value,
        "Z": result.z if math.isfinite(result.z) else None,
        "p_value_bound": result.p_value_bound,
        "n_experiments": int(n_experiments),
        "pool_size": int(pool_size),
        "mass_estimate": result.estimate,
        "cleaning_steps": result.to_dict()["cleaning_steps"],
        "figure": str(png),
    }
    log.info("demo hunt: TS %d, p %.3g, retained %s", result.ts, result.p_value, kept.tolist())
    return HuntDemoResult(summary, str(png))
