"""``hepbump dm histograms``: coffea Runner over event files -> resolution-binned mass histograms in ROOT."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump import constants as C
from hepbump.cli.common import (
    JSON_SUFFIXES,
    ChunksizeOption,
    ExecutorOption,
    JsonOption,
    ProgressOption,
    SchedulerOption,
    SkipBadFilesOption,
    WorkersOption,
    all_or_nothing,
    check_outputs,
    out_option,
    run_options,
    write_json,
)

__all__ = ["histograms"]

log = logging.getLogger(__name__)


@all_or_nothing
def histograms(
    files: Annotated[list[Path], typer.Argument(help="Event files (ROOT or Parquet) or one JSON fileset.")],
    *,
    out: Annotated[Path, out_option("Output ROOT file.")] = Path("hists.root"),
    executor: ExecutorOption,
    workers: WorkersOption,
    chunksize: ChunksizeOption,
    scheduler: SchedulerOption = None,
    skip_bad_files: SkipBadFilesOption = False,
    progress: ProgressOption = None,
    tree: Annotated[str, typer.Option(help="TTree name in ROOT files.")] = "Events",
    channel: Annotated[
        Optional[str],
        typer.Option(help="Channel label for the metadata (e.g. 2b, 3); default: the channel recorded in the files."),
    ] = None,
    dataset: Annotated[str, typer.Option(help="Dataset name when FILES are event files.")] = "events",
    min_events: Annotated[
        float, typer.Option(help="Least (effective) events of a histogram and of the merged jet-multiplicity tail.")
    ] = float(C.HIST_MIN_EVENTS),
    min_bins: Annotated[int, typer.Option(help="Least number of bins of a histogram.")] = C.HIST_MIN_BINS,
    json_out: JsonOption = None,
) -> None:
    """Build the Dark Machines mass histograms (objects, categories, resolution binning) from event files and
    write every selected histogram with its metadata to one ROOT file."""
    from hepbump.darkmachines.histograms import HistogramConfig
    from hepbump.io.rootio import write_histograms
    from processors.darkmachines import load_fileset, recorded_channel, run_histograms

    check_outputs((out, (".root",)), (json_out, JSON_SUFFIXES))
    options = run_options(
        executor=executor,
        workers=workers,
        chunksize=chunksize,
        scheduler=scheduler,
        skip_bad_files=skip_bad_files,
        progress=progress,
    )
    fileset = load_fileset(files, dataset)
    channel = channel if channel is not None else recorded_channel(fileset)
    result = run_histograms(
        fileset,
        HistogramConfig(channel=channel, min_events=min_events, min_bins=min_bins, category_min_events=min_events),
        options,
        tree=tree,
    )
    if not result.hists:
        log.warning("no histogram passed the selection; writing an empty file")
    write_histograms(out, result.hists, result.metadata)
    s = result.summary
    write_json(json_out, {"out": str(out), **s})
    typer.echo(
        f"{s['n_events']} events: {s['n_base_categories']} base categories, {s['n_subcategories']} subcategories "
        f"kept, {s['n_histograms']} histograms written to {out}"
    )
