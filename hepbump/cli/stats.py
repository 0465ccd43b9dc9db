"""``hepbump stats scan|pyhf``: likelihood-ratio scans and pyhf cross-checks of histograms in ROOT files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from hepbump.cli.common import FIGURE_SUFFIXES, JSON_SUFFIXES, JsonOption, all_or_nothing, check_outputs, write_json
from hepbump.errors import InputError

__all__ = ["app"]

app = typer.Typer(help="Likelihood-ratio scans and pyhf cross-checks of histograms.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="ROOT file with the histogram.")]
HistOpt = Annotated[str, typer.Option("--hist", help="Name of the histogram in the file.")]
BkgOpt = Annotated[
    Optional[str],
    typer.Option(
        "--background",
        help="Histogram in the same file with the known background expectation "
        "(default: fit the 4th-order log-polynomial).",
    ),
]
WidthOpt = Annotated[float, typer.Option("--width", help="Signal width in bins.")]


def _load(path: Path, name: str, background: str | None):
    from hepbump.histogram import as_binned
    from hepbump.io.rootio import read_histograms

    names = [name] + ([background] if background else [])
    hists = read_histograms(path, names)
    data = as_binned(hists[name])
    bkg = None
    if background:
        bkg = as_binned(hists[background])
        if not np.array_equal(bkg.edges, data.edges):
            raise InputError(f"{path}: histograms {name!r} and {background!r} have different binning")
    return data, None if bkg is None else bkg.counts


@app.command("scan")
@all_or_nothing
def scan(
    file: FileArg,
    hist: HistOpt,
    width: WidthOpt = 1.0,
    background: BkgOpt = None,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="Write an mplhep figure of the scan (.png, .pdf or .svg).")
    ] = None,
    json_out: JsonOption = None,
) -> None:
    """LR scan of a histogram: local significance of a Gaussian bump at every bin centre."""
    from hepbump.stats import lr_scan

    check_outputs((plot, FIGURE_SUFFIXES), (json_out, JSON_SUFFIXES))
    data, bkg = _load(file, hist, background)
    result = lr_scan(data, width=width, background=bkg)
    j = result.best_index
    if plot is not None:
        from hepbump.plotting import plot_scan

        plot_scan(data, result, plot, title=f"{file.name}:{hist}")
    write_json(
        json_out,
        {
            "file": str(file),
            "histogram": hist,
            "n_bins": len(data),
            "width_bins": width,
            "background": background,
            "positions": result.positions,
            "z": result.z,
            "q0": result.q0,
            "signal_yield": result.signal_yield,
            "signal_yield_error": result.signal_yield_error,
            "best_position": result.best_position,
            "max_z": result.max_z,
            "best_signal_yield": result.signal_yield[j],
            "best_signal_yield_error": result.signal_yield_error[j],
        },
    )
    typer.echo(
        f"{hist}: {len(data)} bins, max local Z = {result.max_z:.2f} at {result.best_position:.4g} GeV, "
        f"signal yield {result.signal_yield[j]:.1f} +- {result.signal_yield_error[j]:.1f}"
    )


@app.command("pyhf")
@all_or_nothing
def pyhf_cmd(
    file: FileArg,
    hist: HistOpt,
    mass: Annotated[float, typer.Option("--mass", help="Signal position [GeV].")],
    width: WidthOpt = 1.0,
    n_sigma: Annotated[float, typer.Option("--n-sigma", help="Window half-width in signal sigmas.")] = 2.0,
    background: BkgOpt = None,
    json_out: JsonOption = None,
) -> None:
    """pyhf discovery test of a Gaussian signal at MASS in a window of +- N_SIGMA sigma."""
    from hepbump.stats import (
        gaussian_template,
        lr_significance_known,
        pyhf_discovery,
        signal_widths,
        smooth_background,
        window_around,
    )

    check_outputs((json_out, JSON_SUFFIXES))
    data, bkg = _load(file, hist, background)
    if not data.edges[0] <= mass <= data.edges[-1]:
        raise InputError(f"--mass {mass} GeV is outside the histogram range [{data.edges[0]}, {data.edges[-1]}]")
    if bkg is None:
        bkg = smooth_background(data).expected
    sigma = float(signal_widths(data.edges, np.array([mass]), width)[0])
    template = gaussian_template(data.edges, mass, sigma)
    window = window_around(data.edges, mass, sigma, n_sigma)
    res = pyhf_discovery(data.counts, bkg, template, window=window)
    lr = lr_significance_known(
        (data.counts[window], data.edges[window.start : window.stop + 1]), bkg[window], template[window]
    )
    lr_z = max(float(lr.z[0]), 0.0)
    lo, hi = float(data.edges[window.start]), float(data.edges[window.stop])
    write_json(
        json_out,
        {
            "file": str(file),
            "histogram": hist,
            "mass": mass,
            "sigma": sigma,
            "width_bins": width,
            "n_sigma": n_sigma,
            "background": background,
            "window": [lo, hi],
            "p0": float(res.p0),
            "z": float(res.z),
            "signal_yield": float(res.signal_yield),
            "lr_z": lr_z,
        },
    )
    typer.echo(
        f"{hist}: window [{lo:.4g}, {hi:.4g}] GeV, "
        f"pyhf p0 = {res.p0:.3e}, Z = {res.z:.3f}, signal yield {res.signal_yield:.1f}; hepbump LR Z = {lr_z:.3f}"
    )
