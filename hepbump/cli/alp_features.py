"""``hepbump alp features``: detector smearing and features through the coffea ALP processor."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump.cli.common import SeedOption, resolve_seed

log = logging.getLogger(__name__)

#: Key of the JSON record (resolution, seed, geometry, files, feature names) in the Parquet schema metadata.
PARQUET_METADATA_KEY = b"hepbump"


def _write_parquet(path: Path, columns: dict, metadata: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hepbump._version import __version__
    from hepbump.io.atomic import atomic_path

    table = pa.table(columns)
    record = dict(metadata, hepbump_version=__version__)
    table = table.replace_schema_metadata({PARQUET_METADATA_KEY: json.dumps(record, sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def features(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Simulated ALP event files (ROOT tree 'alp' or Parquet).")],
    out: Annotated[Path, typer.Option("--out", help="Output Parquet file with features, m_gg and parameters.")],
    resolution: Annotated[
        str, typer.Option("--resolution", help="Detector preset: good, poor, good-ref or poor-ref.")
    ] = "poor",
    seed: SeedOption = None,
    executor: Annotated[str, typer.Option("--executor", help="coffea executor: iterative, futures or dask.")] = "iterative",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (futures executor).")] = 2,
    chunksize: Annotated[int, typer.Option("--chunksize", min=1, help="Events per coffea chunk.")] = 100_000,
    hists: Annotated[
        Optional[Path], typer.Option("--hists", help="Also write m_gg histograms per sample and group (ROOT).")
    ] = None,
    plots: Annotated[
        Optional[Path], typer.Option("--plots", help="Directory for m_gg and photon-kinematics figures (PNG).")
    ] = None,
    geometry: Annotated[
        Optional[str],
        typer.Option("--geometry", help="Geometry preset for the calorimeter size; default: the one in the files."),
    ] = None,
    sigma_e: Annotated[Optional[float], typer.Option("--sigma-e", help="Override sigma_E/E.")] = None,
    sigma_theta: Annotated[Optional[float], typer.Option("--sigma-theta", help="Override sigma_theta, rad.")] = None,
    sigma_phi: Annotated[Optional[float], typer.Option("--sigma-phi", help="Override sigma_phi, rad.")] = None,
    sigma_hit: Annotated[Optional[float], typer.Option("--sigma-hit", help="Override the hit resolution, m.")] = None,
) -> None:
    """Smear simulated ALP events with a detector preset and write features."""
    from hepbump.alp.detector import get_resolution
    from hepbump.alp.features import photons_from_features
    from processors.alp import run_features
    from processors.runner import RunOptions

    if out.suffix.lower() != ".parquet":
        raise ValueError(f"--out must end in .parquet, got {out}")
    if hists is not None and hists.suffix.lower() != ".root":
        raise ValueError(f"--hists must end in .root, got {hists}")
    res = get_resolution(resolution).with_overrides(
        sigma_e_rel=sigma_e, sigma_theta_rad=sigma_theta, sigma_phi_rad=sigma_phi, sigma_hit_m=sigma_hit
    )
    run = run_features(
        [str(f) for f in files], res, resolve_seed(ctx, seed), geometry=geometry,
        options=RunOptions(executor=executor, workers=workers, chunksize=chunksize),
    )
    _write_parquet(out, run.columns, run.metadata)
    typer.echo(f"wrote {len(run.columns['m_gg'])} events ({res.name} resolution) to {out}")
    if hists is not None:
        from hepbump.io.rootio import write_histograms

        if not run.histograms:
            raise ValueError("no events: no m_gg histograms to write")
        write_histograms(hists, run.histograms, run.histogram_metadata)
        typer.echo(f"wrote {len(run.histograms)} m_gg histograms to {hists}")
    if plots is not None:
        from hepbump.alp.plots import plot_mgg, plot_photon_kinematics

        if len(run.columns["m_gg"]) == 0:
            raise ValueError("no events: nothing to plot")
        labels = {}
        for name, info in run.histogram_metadata.items():
            label = Path(info["file"]).name
            if "m_a_gev" in info:
                label += f": $m_a$ = {info['m_a_gev']:.3g} GeV, $c\\tau/m$ = {info['ctau_over_m_m_per_gev']:.3g} m/GeV"
            labels[label] = run.histograms[name]
        plot_mgg(labels, plots / "mgg.png", title=f"{res.name} resolution")
        measured = photons_from_features(run.features)
        per_file = {
            Path(f).name: measured.select(run.columns["file_index"] == i) for i, f in enumerate(run.metadata["files"])
        }
        plot_photon_kinematics({k: v for k, v in per_file.items() if len(v)}, plots / "photons.png",
                               title=f"{res.name} resolution")
        typer.echo(f"wrote figures to {plots}")
