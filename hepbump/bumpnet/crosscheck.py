"""Cross-checks of BumpNet's excesses with likelihood fits: ``lr_scan`` and pyhf at the position BumpNet found.

For a histogram of a scan (:class:`~hepbump.bumpnet.scan.ScanTable`) with BumpNet's ``Z_max`` at bin ``b``
(mass ``m`` = the bin centre), :func:`crosscheck_histogram` computes

* **LR**: :func:`hepbump.stats.lr_scan` at ``m``: a Gaussian of ``width`` bins (default 1, BumpNet's training
  signals) on the 4th-order log-polynomial background, refitted together with the signal yield; the signed
  local significance ``Z = sign(s) sqrt(q0)``;
* **pyhf**: :func:`hepbump.stats.pyhf_discovery` of the same Gaussian in the window ``m +- n_sigma sigma``
  (default 2) on a fixed background: the log-polynomial fitted to the sidebands (the histogram without the
  window bins, so the excess does not pull the background up; the fit of the whole histogram if the sidebands
  are too few or the fit fails); ``Z = Phi^-1(1 - p0)``, 0 for deficits.

With ``lr_curve=True`` the full LR scan (one refit per bin centre) is kept for the figure of
:func:`hepbump.bumpnet.plots.plot_histogram_z`. A histogram the fits cannot handle gets NaN and the reason in
``error`` instead of failing the whole cross-check.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepbump.bumpnet.scan import ScanTable
from hepbump.errors import HepbumpError, InputError

__all__ = ["CrosscheckRow", "crosscheck", "crosscheck_histogram", "format_crosscheck", "sideband_background"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrosscheckRow:
    """BumpNet's excess next to the LR and pyhf significances at its position (see the module docstring).

    ``background`` is the fixed background given to pyhf (counts per bin); ``lr_result`` the full LR scan when
    asked for; ``error`` the reason when the fits failed (the significances are then NaN).
    """

    name: str
    source: str
    rank: int
    mass: float
    bin: int
    bumpnet_z: float
    lr_z: float
    lr_signal_yield: float
    pyhf_z: float
    pyhf_p0: float
    pyhf_signal_yield: float
    sigma: float
    window: tuple[float, float]
    background: np.ndarray | None = None
    lr_result: Any = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if not math.isfinite(x) else float(x)

        return {
            "rank": self.rank,
            "name": self.name,
            "source": self.source,
            "mass": self.mass,
            "bin": self.bin,
            "bumpnet_z": num(self.bumpnet_z),
            "lr_z": num(self.lr_z),
            "lr_signal_yield": num(self.lr_signal_yield),
            "pyhf_z": num(self.pyhf_z),
            "pyhf_p0": num(self.pyhf_p0),
            "pyhf_signal_yield": num(self.pyhf_signal_yield),
            "sigma": self.sigma,
            "window": list(self.window),
            "error": self.error,
        }


def sideband_background(counts: np.ndarray, edges: np.ndarray, window: slice, *, order: int = 4) -> np.ndarray:
    """Log-polynomial background fitted to the bins outside ``window``, evaluated in every bin.

    Falls back on the fit of the whole histogram (:func:`~hepbump.stats.smooth_background`) when fewer than
    ``order + 2`` sideband bins remain or the sideband fit does not converge.
    """
    from iminuit import Minuit

    from hepbump.stats.smoothing import LogPolyModel, poisson_deviance, smooth_background

    counts = np.asarray(counts, dtype=float)
    mask = np.ones(counts.size, dtype=bool)
    mask[window] = False
    if mask.sum() >= order + 2 and counts[mask].sum() > 0:
        model = LogPolyModel(np.asarray(edges, dtype=float), order)
        n = counts[mask]

        def cost(p: np.ndarray) -> float:
            return poisson_deviance(n, np.maximum(model.expected(p)[mask], 1e-300))

        def grad(p: np.ndarray) -> np.ndarray:
            mu, jac = model.expected_and_jacobian(p)
            return 2.0 * ((1.0 - n / np.maximum(mu[mask], 1e-300)) @ jac[mask])

        m = Minuit(cost, model.start_values(counts), grad=grad)
        m.errordef = Minuit.LEAST_SQUARES
        m.migrad()
        if not m.valid:
            m.migrad()
        if m.valid:
            return model.expected(np.array(m.values))
        log.debug("sideband fit did not converge; using the fit of the whole histogram")
    return smooth_background((counts, edges), order=order).expected


def crosscheck_histogram(
    counts: Any,
    edges: Any,
    bin: int,
    *,
    bumpnet_z: float = float("nan"),
    width: float = 1.0,
    n_sigma: float = 2.0,
    lr_curve: bool = False,
    name: str = "",
    source: str = "",
    rank: int = 0,
) -> CrosscheckRow:
    """LR and pyhf significances of a Gaussian at the centre of bin ``bin`` (module docstring)."""
    from hepbump.stats import gaussian_template, lr_scan, pyhf_discovery, signal_widths, window_around

    counts = np.asarray(counts, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if not 0 <= bin < counts.size or edges.size != counts.size + 1:
        raise InputError(f"crosscheck: bin {bin} outside a histogram of {counts.size} bins (or edges mismatch)")
    mass = float(0.5 * (edges[bin] + edges[bin + 1]))
    sigma = float(signal_widths(edges, np.array([mass]), width)[0])
    window = window_around(edges, mass, sigma, n_sigma)
    lo, hi = float(edges[window.start]), float(edges[window.stop])
    nan = float("nan")
    common = dict(name=name, source=source, rank=rank, mass=mass, bin=int(bin), bumpnet_z=float(bumpnet_z))
    try:
        if lr_curve:
            full = lr_scan((counts, edges), width)
            j = int(np.argmin(np.abs(full.positions - mass)))
            lr_z, lr_yield = float(full.z[j]), float(full.signal_yield[j])
        else:
            full = None
            one = lr_scan((counts, edges), width, positions=[mass])
            lr_z, lr_yield = float(one.z[0]), float(one.signal_yield[0])
        background = sideband_background(counts, edges, window)
        template = gaussian_template(edges, mass, sigma)
        res = pyhf_discovery(counts, np.maximum(background, 1e-9), template, window=window)
    except (HepbumpError, RuntimeError, ValueError, FloatingPointError) as exc:
        reason = " ".join(str(exc).split())
        log.warning("crosscheck of %s failed: %s", name or "the histogram", reason)
        failed = dict(lr_z=nan, lr_signal_yield=nan, pyhf_z=nan, pyhf_p0=nan, pyhf_signal_yield=nan)
        return CrosscheckRow(**common, **failed, sigma=sigma, window=(lo, hi), error=reason)
    return CrosscheckRow(
        **common,
        lr_z=lr_z,
        lr_signal_yield=lr_yield,
        pyhf_z=float(res.z),
        pyhf_p0=float(res.p0),
        pyhf_signal_yield=float(res.signal_yield),
        sigma=sigma,
        window=(lo, hi),
        background=background,
        lr_result=full,
    )


def crosscheck(
    table: ScanTable,
    rows: int | Sequence[int] = 10,
    *,
    width: float = 1.0,
    n_sigma: float = 2.0,
    lr_curve: bool = False,
    progress: bool = False,
) -> list[CrosscheckRow]:
    """Cross-check the ``rows`` (a number: the top ones; or row indices) of a scan."""
    from tqdm.auto import tqdm

    idx = list(range(min(int(rows), len(table)))) if isinstance(rows, (int, np.integer)) else [int(i) for i in rows]
    out = []
    for i in tqdm(idx, desc="cross-checking", unit="hist", disable=None if progress else True, leave=False):
        out.append(
            crosscheck_histogram(
                table.counts[i],
                table.edges[i],
                int(table.bins[i]),
                bumpnet_z=float(table.z_max[i]),
                width=width,
                n_sigma=n_sigma,
                lr_curve=lr_curve,
                name=table.names[i],
                source=table.sources[i],
                rank=i + 1,
            )
        )
    return out


def format_crosscheck(rows: Sequence[CrosscheckRow]) -> str:
    """Fixed-width text table of cross-check rows."""

    def f(x: float) -> str:
        return f"{x:8.2f}" if math.isfinite(x) else f"{'-':>8}"

    lines = [f"{'rank':>5} {'mass [GeV]':>11} {'BumpNet Z':>9} {'LR Z':>8} {'pyhf Z':>8}  histogram"]
    for r in rows:
        note = f"  ({r.error})" if r.error else ""
        lines.append(f"{r.rank:>5} {r.mass:>11.4g} {f(r.bumpnet_z):>9} {f(r.lr_z)} {f(r.pyhf_z)}  {r.name}{note}")
    return "\n".join(lines)
