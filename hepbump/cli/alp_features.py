"""``hepbump alp features``: detector smearing and features through the coffea ALP processor."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump.cli.common import (
    FIGURE_SUFFIXES,
    JSON_SUFFIXES,
    ChunksizeOption,
    ExecutorOption,
    JsonOption,
    ProgressOption,
    SchedulerOption,
    SeedOption,
    SkipBadFilesOption,
    WorkersOption,
    all_or_nothing,
    check_outputs,
    out_option,
    resolve_seed,
    run_options,
    write_json,
)
from hepbump.errors import InputError

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


@all_or_nothing
def features(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Simulated ALP event files (ROOT tree 'alp' or Parquet).")],
    *,
    out: Annotated[Path, out_option("Output Parquet file with features, m_gg and parameters.")],
    resolution: Annotated[
        str, typer.Option("--resolution", help="Detector preset: good, poor, good-ref or poor-ref.")
    ] = "poor",
    seed: SeedOption = None,
    executor: ExecutorOption,
    workers: WorkersOption,
    chunksize: ChunksizeOption,
    scheduler: SchedulerOption = None,
    skip_bad_files: SkipBadFilesOption = False,
    progress: ProgressOption = None,
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
    json_out: JsonOption = None,
) -> None:
    """Smear simulated ALP events with a detector preset and write features."""
    from hepbump.alp.detector import get_resolution
    from hepbump.alp.features import photons_from_features
    from processors.alp import run_features

    figures = (plots / "mgg.png", plots / "photons.png") if plots is not None else (None, None)
    check_outputs(
        (out, (".parquet",)), (hists, (".root",)), *((f, FIGURE_SUFFIXES) for f in figures), (json_out, JSON_SUFFIXES)
    )
    options = run_options(
        executor=executor,
        workers=workers,
        chunksize=chunksize,
        scheduler=scheduler,
        skip_bad_files=skip_bad_files,
        progress=progress,
    )
    seed = resolve_seed(ctx, seed)
    res = get_resolution(resolution).with_overrides(
        sigma_e_rel=sigma_e, sigma_theta_rad=sigma_theta, sigma_phi_rad=sigma_phi, sigma_hit_m=sigma_hit
    )
    run = run_features(
        [str(f) for f in files],
        res,
        seed,
        geometry=geometry,
        options=options,
    )
    n_events = len(run.columns["m_gg"])
    if hists is not None and not run.histograms:
        raise InputError("no events: no m_gg histograms to write")
    if plots is not None and n_events == 0:
        raise InputError("no events: nothing to plot")
    _write_parquet(out, run.columns, run.metadata)
    lines = [f"wrote {n_events} events ({res.name} resolution) to {out}"]
    if hists is not None:
        from hepbump.io.rootio import write_histograms

        write_histograms(hists, run.histograms, run.histogram_metadata)
        lines.append(f"wrote {len(run.histograms)} m_gg histograms to {hists}")
    if plots is not None:
        from hepbump.alp.plots import plot_mgg, plot_photon_kinematics

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
        plot_photon_kinematics(
            {k: v for k, v in per_file.items() if len(v)}, plots / "photons.png", title=f"{res.name} resolution"
        )
        lines.append(f"wrote figures to {plots}")
    write_json(
        json_out,
        {
            "out": str(out),
            "n_events": n_events,
            "resolution": res.name,
            "seed": seed,
            "files": [str(f) for f in files],
            "hists": None if hists is None else str(hists),
            "n_histograms": len(run.histograms) if hists is not None else None,
            "plots": None if plots is None else str(plots),
        },
    )
    typer.echo("\n".join(lines))
