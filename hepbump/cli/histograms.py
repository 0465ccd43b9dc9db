"""``hepbump histograms``: coffea Runner over event files -> resolution-binned mass histograms in ROOT."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump import constants as C

__all__ = ["histograms"]


def histograms(
    files: Annotated[list[Path], typer.Argument(help="Event files (ROOT or Parquet) or one JSON fileset.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output ROOT file.")] = Path("hists.root"),
    executor: Annotated[str, typer.Option(help="iterative, futures or dask.")] = "iterative",
    workers: Annotated[int, typer.Option(help="Worker processes (futures, dask LocalCluster).")] = 1,
    chunksize: Annotated[int, typer.Option(help="Events per chunk.")] = 200_000,
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address (default: a LocalCluster).")] = None,
    skip_bad_files: Annotated[bool, typer.Option("--skip-bad-files", help="Skip unreadable files.")] = False,
    tree: Annotated[str, typer.Option(help="TTree name in ROOT files.")] = "Events",
    channel: Annotated[Optional[str], typer.Option(
        help="Channel label for the metadata (e.g. 2b, 3); default: the channel recorded in the files.")] = None,
    dataset: Annotated[str, typer.Option(help="Dataset name when FILES are event files.")] = "events",
    min_events: Annotated[float, typer.Option(help="Least (effective) events of a histogram and of the merged "
                                                   "jet-multiplicity tail.")] = float(C.HIST_MIN_EVENTS),
    min_bins: Annotated[int, typer.Option(help="Least number of bins of a histogram.")] = C.HIST_MIN_BINS,
    summary: Annotated[Optional[Path], typer.Option(help="Also write the counts as JSON here.")] = None,
) -> None:
    """Build the Dark Machines mass histograms (objects, categories, resolution binning) from event files and
    write every selected histogram with its metadata to one ROOT file."""
    from hepbump.darkmachines.histograms import HistogramConfig
    from hepbump.io.atomic import atomic_path
    from hepbump.io.rootio import write_histograms
    from processors.darkmachines import load_fileset, recorded_channel, run_histograms
    from processors.runner import RunOptions

    fileset = load_fileset(files, dataset)
    channel = channel if channel is not None else recorded_channel(fileset)
    result = run_histograms(
        fileset,
        HistogramConfig(channel=channel, min_events=min_events, min_bins=min_bins, category_min_events=min_events),
        RunOptions(executor=executor, workers=workers, chunksize=chunksize, scheduler=scheduler,
                   skip_bad_files=skip_bad_files),
        tree=tree,
    )
    if not result.hists:
        logging.getLogger(__name__).warning("no histogram passed the selection; writing an empty file")
    write_histograms(out, result.hists, result.metadata)
    if summary is not None:
        with atomic_path(summary) as tmp:
            tmp.write_text(json.dumps(result.summary, indent=2, sort_keys=True) + "\n")
    s = result.summary
    typer.echo(
        f"{s['n_events']} events: {s['n_base_categories']} base categories, {s['n_subcategories']} subcategories "
        f"kept, {s['n_histograms']} histograms written to {out}"
    )
