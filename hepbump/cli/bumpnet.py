"""``hepbump bumpnet mothers | data | train | scan | gaa | crosscheck``: BumpNet's training data, its training on
CPU, scans of histogram files, the Global Analysis Algorithm and likelihood cross-checks.

The commands are thin: they parse options and call :mod:`hepbump.bumpnet` (:func:`~hepbump.bumpnet.mothers.
build_dm_mothers`, :func:`~hepbump.bumpnet.shards.generate_dataset`, :func:`~hepbump.bumpnet.train.train`,
:func:`~hepbump.bumpnet.scan.scan_files`, :func:`~hepbump.bumpnet.gaa.run_gaa`,
:func:`~hepbump.bumpnet.crosscheck.crosscheck`, :mod:`hepbump.bumpnet.plots`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump.cli import bumpnet_evaluate as _bumpnet_evaluate
from hepbump.cli.common import (
    FIGURE_SUFFIXES,
    JsonOption,
    ProgressOption,
    SeedOption,
    all_or_nothing,
    check_outputs,
    out_option,
    resolve_seed,
    show_progress,
    write_json,
)

app = typer.Typer(help="BumpNet: training data, training, scans.", no_args_is_help=True)

_NPZ, _JSON, _PARQUET = (".npz",), (".json",), (".parquet",)


def _parse_channels(specs: list[str]) -> dict[str, int]:
    from hepbump.errors import InputError

    out: dict[str, int] = {}
    for spec in specs:
        name, sep, count = spec.partition("=")
        if not sep or not name or not count.isdigit() or int(count) < 1:
            raise InputError(f"--channel {spec!r}: expected CHANNEL=EVENTS, e.g. 2b=200000")
        out[name] = int(count)
    return out


@app.command("mothers")
def mothers(
    ctx: typer.Context,
    out: Annotated[Path, out_option("Training mothers (.npz).")],
    test_out: Annotated[Path, typer.Option("--test-out", help="Held-out test mothers (.npz).")],
    channel: Annotated[
        list[str], typer.Option("--channel", help="CHANNEL=EVENTS to generate (repeatable), e.g. 2b=200000.")
    ],
    test_fraction: Annotated[float, typer.Option("--test-fraction", help="Fraction of mothers held out.")] = 0.25,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Generate Dark Machines samples, histogram and smooth them into BumpNet's data-like mother backgrounds."""
    from hepbump.bumpnet.mothers import build_dm_mothers, save_bank
    from hepbump.io.atomic import atomic_group

    check_outputs((out, _NPZ), (test_out, _NPZ), (json_out, _JSON))
    channels = _parse_channels(channel)
    train, test, record = build_dm_mothers(
        channels, seed=resolve_seed(ctx, seed), test_fraction=test_fraction, progress=show_progress(progress)
    )
    with atomic_group():  # the three files together or none
        save_bank(out, train, dict(record, part="train"))
        save_bank(test_out, test, dict(record, part="test"))
        write_json(json_out, record)
    typer.echo(
        f"{record['n_histograms']} histograms -> {record['n_mothers']} mothers ({record['n_failed_fits']} fits "
        f"failed): {record['n_train']} for training in {out}, {record['n_test']} held out in {test_out}"
    )


@app.command("data")
def data(
    ctx: typer.Context,
    out: Annotated[Path, out_option("Dataset directory (shards and manifest.json).")],
    samples: Annotated[int, typer.Option("--samples", min=1, help="Number of histograms.")] = 100_000,
    shard_size: Annotated[int, typer.Option("--shard-size", min=1, help="Histograms per shard.")] = 8192,
    mothers_file: Annotated[
        Optional[Path], typer.Option("--mothers", help="Mother bank (.npz, from 'bumpnet mothers').")
    ] = None,
    mother_scale: Annotated[
        tuple[float, float],
        typer.Option(
            "--mother-scale",
            help="Log-uniform scale range of the mothers' yields (with --mothers), e.g. 1 1000 for dense backgrounds.",
        ),
    ] = (1.0, 1.0),
    z_range: Annotated[
        tuple[float, float],
        typer.Option("--z-range", help="Range of the signals' peak-bin significance (uniform), e.g. 0 15."),
    ] = (0.0, 10.0),
    edge_signal_fraction: Annotated[
        float,
        typer.Option(
            "--edge-signal-fraction",
            min=0.0,
            max=1.0,
            help="Fraction of the signals placed in an edge window (half at each end; 0: uniform positions).",
        ),
    ] = 0.0,
    edge_signal_bins: Annotated[
        int,
        typer.Option(
            "--edge-signal-bins",
            min=1,
            help="Bins of an edge window: the last ones, and the first ones after the 10% a scan leaves out.",
        ),
    ] = 10,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Generate BumpNet training samples (analytic and mother backgrounds, Gaussian signals, LR targets)."""
    from dataclasses import replace

    from hepbump.bumpnet import DataConfig, generate_dataset
    from hepbump.bumpnet.mothers import load_bank
    from hepbump.errors import InputError

    check_outputs((json_out, _JSON))
    bank = None
    try:
        config = DataConfig(
            z_range=tuple(z_range), edge_signal_fraction=edge_signal_fraction, edge_signal_bins=edge_signal_bins
        )
        if mothers_file is not None:
            config = replace(config, mother_scale_range=tuple(mother_scale))
    except ValueError as exc:  # the message names the DataConfig field (--z-range, --mother-scale)
        raise InputError(str(exc)) from None
    if mothers_file is not None:
        bank, _ = load_bank(mothers_file)
    manifest = generate_dataset(
        config,
        out,
        seed=resolve_seed(ctx, seed),
        n_samples=samples,
        shard_size=shard_size,
        bank=bank,
        progress=show_progress(progress),
    )
    write_json(json_out, manifest["totals"])
    typer.echo(f"wrote {samples} samples in {len(manifest['shards'])} shards to {out}")


@app.command("train")
def train(
    ctx: typer.Context,
    data_dir: Annotated[Path, typer.Argument(help="Dataset directory from 'hepbump bumpnet data'.")],
    out: Annotated[Path, out_option("Run directory (checkpoints, learning curve).")],
    channels: Annotated[int, typer.Option("--channels", min=1, help="Channels per convolution (paper: 64).")] = 64,
    input_transform: Annotated[
        str, typer.Option("--input-transform", help="Input map: log1p, anscombe or linear (the paper's).")
    ] = "log1p",
    edge_mode: Annotated[
        str,
        typer.Option(
            "--edge-mode",
            help="Padding of the convolutions at the histogram ends: zeros (the paper's) or replicate (copies of "
            "the first and last bins, per histogram).",
        ),
    ] = "zeros",
    edge_channel: Annotated[
        bool,
        typer.Option(
            "--edge-channel/--no-edge-channel",
            help="Add an input channel with the distance to the nearest histogram end (min(d, K)/K, K the "
            "network's reach in bins).",
        ),
    ] = False,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Epochs (the cosine schedule spans them).")] = 20,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 256,
    learning_rate: Annotated[float, typer.Option("--lr", help="Initial learning rate (cosine-annealed to 0).")] = 1e-3,
    batches_per_epoch: Annotated[
        Optional[int],
        typer.Option(
            "--batches-per-epoch",
            min=1,
            help="Cap an epoch at this many batches (a fresh random subset "
            "of the training shards each epoch: more frequent checkpoints on a CPU).",
        ),
    ] = None,
    signal_weight: Annotated[
        float,
        typer.Option(
            "--signal-weight",
            min=0.0,
            help="Loss weight 1 + W |Z| per bin (mean 1 per batch): up-weights signal bins; 0 is the plain MSE.",
        ),
    ] = 0.0,
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch CPU threads.")] = 2,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/last.pt.")] = False,
    init_from: Annotated[
        Optional[Path],
        typer.Option(
            "--init-from",
            help="Start from the weights of this checkpoint or exported network (same parameters; --edge-mode may "
            "differ), e.g. the shipped hepbump/data/bumpnet/bumpnet.pt.",
        ),
    ] = None,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Train BumpNet on a generated dataset; checkpoints every epoch (resumable with --resume)."""
    from hepbump.bumpnet import ModelConfig, TrainConfig
    from hepbump.bumpnet.train import train as run_training
    from hepbump.errors import InputError

    check_outputs((json_out, _JSON))
    try:
        config = TrainConfig(
            model=ModelConfig(
                channels=channels, input_transform=input_transform, edge_mode=edge_mode, edge_channel=edge_channel
            ),
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            threads=threads,
            seed=resolve_seed(ctx, seed),
            max_batches_per_epoch=batches_per_epoch,
            signal_weight=signal_weight,
        )
    except ValueError as exc:  # the message names the field (e.g. TrainConfig.signal_weight)
        raise InputError(str(exc)) from None
    result = run_training(config, data_dir, out, resume=resume, progress=show_progress(progress), init_from=init_from)
    write_json(json_out, {"best_val_loss": result.best_val_loss, "history": result.history})
    typer.echo(f"trained {len(result.history)} epochs; best validation loss {result.best_val_loss:.4f}; files in {out}")


# --- scans ---------------------------------------------------------------------------------------------------------

ScanFileArg = Annotated[Path, typer.Argument(help="Scan table (.parquet) from 'hepbump bumpnet scan'.")]


def _load_model(path: Path | None):
    """The BumpNet of ``--model`` (a checkpoint or exported weights), else the shipped one; and its name."""
    from hepbump.bumpnet.predict import load_pretrained
    from hepbump.bumpnet.train import load_checkpoint

    if path is None:
        return load_pretrained(), "pretrained:default"
    model, _ = load_checkpoint(path)
    return model.eval(), str(path)


def _plot_name(rank: int, name: str, suffix: str = ".png") -> str:
    import re

    return f"{rank:03d}_{re.sub(r'[^A-Za-z0-9_.+-]', '_', name)}{suffix}"


def _default_plot_dir(out: Path) -> Path:
    return out.with_name(out.stem + "_plots")


@app.command("scan")
@all_or_nothing
def scan(
    files: Annotated[list[Path], typer.Argument(help="ROOT files of histograms (e.g. from 'hepbump dm histograms').")],
    out: Annotated[Path, out_option("Scan table (.parquet): one row per histogram, ranked by Z_max.")],
    model: Annotated[
        Optional[Path],
        typer.Option("--model", help="BumpNet checkpoint or exported weights (.pt). Default: the shipped weights."),
    ] = None,
    exclude_first: Annotated[
        float,
        typer.Option("--exclude-first", min=0.0, max=0.99, help="Fraction of the first bins left out of the maximum."),
    ] = 0.1,
    plots: Annotated[int, typer.Option("--plots", min=0, help="Draw the N most significant histograms.")] = 0,
    plot_dir: Annotated[
        Optional[Path],
        typer.Option("--plot-dir", help="Directory of the --plots figures (default: OUT without suffix + '_plots')."),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Rows of the ranked table printed.")] = 20,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Scan every histogram of the files with BumpNet: Z_max (first 10% of bins excluded), its mass and bin."""
    from hepbump.bumpnet.scan import format_table, scan_files

    check_outputs((out, _PARQUET), (json_out, _JSON))
    if plots:
        plot_dir = plot_dir or _default_plot_dir(out)
        check_outputs((plot_dir / "x.png", FIGURE_SUFFIXES))
    net, model_name = _load_model(model)
    table = scan_files(net, files, exclude_first=exclude_first, progress=show_progress(progress), model_name=model_name)
    table.write(out)
    figures = []
    if plots:
        from hepbump.bumpnet.plots import plot_scan_row

        for i in range(min(plots, len(table))):
            path = plot_dir / _plot_name(i + 1, table.names[i])
            plot_scan_row(table, i, path)
            figures.append(str(path))
    write_json(
        json_out,
        {
            "out": str(out),
            "files": [str(f) for f in files],
            "model": model_name,
            "exclude_first": exclude_first,
            "n_histograms": len(table),
            "figures": figures,
            "top": [table.row(i) for i in range(min(top, len(table)))],
        },
    )
    typer.echo(format_table(table, top))
    typer.echo(f"scanned {len(table)} histograms of {len(files)} file(s) -> {out}")
    if figures:
        typer.echo(f"{len(figures)} figures in {plot_dir}")


@app.command("gaa")
@all_or_nothing
def gaa(
    scan_file: ScanFileArg,
    out: Annotated[Path, out_option("Families (.json): members, rejected histograms and settings.")],
    seed_threshold: Annotated[float, typer.Option("--seed-threshold", help="Z_max of a seed histogram.")] = 5.0,
    member_threshold: Annotated[float, typer.Option("--member-threshold", help="Z_max of a family member.")] = 5.0,
    mass_tolerance: Annotated[
        int, typer.Option("--mass-tolerance", min=0, help="Mass window around the seed, in the seed's bins.")
    ] = 2,
    min_size: Annotated[int, typer.Option("--min-size", min=1, help="Independent histograms of a family.")] = 2,
    same_combination_only: Annotated[
        bool,
        typer.Option(
            "--same-combination-only",
            help="Deduplicate correlated selections only for the same combination name (default: any combination "
            "of the family's signature).",
        ),
    ] = False,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="Family map Z_max vs mass before/after the GAA (.png/.pdf/.svg).")
    ] = None,
    json_out: JsonOption = None,
) -> None:
    """Global Analysis Algorithm (paper section 4.2): families of excesses at the same mass and object types."""
    from hepbump.bumpnet.gaa import GAAConfig, format_families, run_gaa
    from hepbump.bumpnet.scan import read_scan

    check_outputs((out, _JSON), (plot, FIGURE_SUFFIXES), (json_out, _JSON))
    config = GAAConfig(
        seed_threshold=seed_threshold,
        member_threshold=member_threshold,
        mass_tolerance_bins=mass_tolerance,
        min_family_size=min_size,
        correlated_same_combination_only=same_combination_only,
    )
    table = read_scan(scan_file)
    result = run_gaa(table, config)
    record = {"scan": str(scan_file), **result.to_dict()}
    write_json(out, record)
    if plot is not None:
        from hepbump.bumpnet.plots import plot_family_map

        plot_family_map(table, result, plot)
    write_json(
        json_out,
        {
            "scan": str(scan_file),
            "out": str(out),
            "n_families": len(result.families),
            "n_family_histograms": result.n_family_histograms,
            "families": [
                {"mass": f.mass, "signature": f.signature, "size": f.size, "members": list(f.names)}
                for f in result.families
            ],
        },
    )
    typer.echo(format_families(result))
    typer.echo(f"-> {out}")


@app.command("crosscheck")
@all_or_nothing
def crosscheck(
    scan_file: ScanFileArg,
    top: Annotated[int, typer.Option("--top", min=1, help="Cross-check the N most significant histograms.")] = 10,
    width: Annotated[float, typer.Option("--width", help="Signal width in bins.")] = 1.0,
    n_sigma: Annotated[float, typer.Option("--n-sigma", help="pyhf window half-width in signal sigmas.")] = 2.0,
    plot: Annotated[
        Optional[Path],
        typer.Option("--plot", help="BumpNet Z_max vs LR and pyhf Z, one point per histogram (.png/.pdf/.svg)."),
    ] = None,
    plot_dir: Annotated[
        Optional[Path],
        typer.Option("--plot-dir", help="Also draw each histogram with its Z panel (BumpNet vs LR) in this directory."),
    ] = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """BumpNet's Z_max of the top histograms next to lr_scan and pyhf at the position BumpNet found."""
    from hepbump.bumpnet.crosscheck import crosscheck as run_crosscheck
    from hepbump.bumpnet.crosscheck import format_crosscheck
    from hepbump.bumpnet.scan import read_scan

    check_outputs((plot, FIGURE_SUFFIXES), (json_out, _JSON))
    if plot_dir is not None:
        check_outputs((plot_dir / "x.png", FIGURE_SUFFIXES))
    table = read_scan(scan_file)
    rows = run_crosscheck(
        table, top, width=width, n_sigma=n_sigma, lr_curve=plot_dir is not None, progress=show_progress(progress)
    )
    figures = []
    if plot is not None and rows:
        from hepbump.bumpnet.plots import plot_crosscheck

        plot_crosscheck(rows, plot)
        figures.append(str(plot))
    if plot_dir is not None:
        from hepbump.bumpnet.plots import plot_scan_row

        for r in rows:
            path = plot_dir / _plot_name(r.rank, r.name)
            lr_z = None if r.lr_result is None else r.lr_result.z
            text = f"LR: Z = {r.lr_z:.2f}, pyhf: Z = {r.pyhf_z:.2f}"
            plot_scan_row(
                table,
                r.rank - 1,
                path,
                lr_z=lr_z,
                background=r.background,
                text=text,
                background_label="background fit (sidebands)",
            )
            figures.append(str(path))
    write_json(
        json_out,
        {
            "scan": str(scan_file),
            "width_bins": width,
            "n_sigma": n_sigma,
            "rows": [r.to_dict() for r in rows],
            "figures": figures,
        },
    )
    typer.echo(format_crosscheck(rows))


app.command("evaluate")(_bumpnet_evaluate.evaluate)


@app.command("export")
def export(
    checkpoint: Annotated[Path, typer.Argument(help="Training checkpoint (RUN/best.pt).")],
    out: Annotated[Path, out_option("Weights file (.pt); the model card is written beside it (.card.json).")],
    record: Annotated[
        Optional[list[Path]],
        typer.Option("--record", help="JSON files to include in the card (mothers, dataset, evaluation; repeatable)."),
    ] = None,
    command: Annotated[
        Optional[list[str]], typer.Option("--command", help="A command that made the weights (repeatable, in order).")
    ] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="A sentence for the card.")] = None,
) -> None:
    """Write a checkpoint's weights without the optimizer state, with a model card (configuration, data recipe,
    learning curve, versions, hardware, the records given)."""
    import json

    from hepbump.bumpnet.train import export_pretrained
    from hepbump.errors import InputError

    check_outputs((out, (".pt",)))
    card: dict = {"commands": list(command or []), "note": note}
    for path in record or []:
        try:
            card[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: not a readable JSON record ({exc})") from exc
    card_path = export_pretrained(checkpoint, out, card)
    typer.echo(f"wrote {out} and {card_path}")
