"""``hepbump bumpnet mothers | data | train``: BumpNet's training data and its training on CPU.

The commands are thin: they parse options and call :mod:`hepbump.bumpnet` (:func:`~hepbump.bumpnet.mothers.
build_dm_mothers`, :func:`~hepbump.bumpnet.shards.generate_dataset`, :func:`~hepbump.bumpnet.train.train`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump.cli.common import (
    JsonOption,
    ProgressOption,
    SeedOption,
    check_outputs,
    out_option,
    resolve_seed,
    show_progress,
    write_json,
)

app = typer.Typer(help="BumpNet: training data, training, scans.", no_args_is_help=True)

_NPZ, _JSON = (".npz",), (".json",)


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
        tuple[float, float], typer.Option("--mother-scale", help="Log-uniform scale range of the mothers' yields.")
    ] = (1.0, 1.0),
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Generate BumpNet training samples (analytic and mother backgrounds, Gaussian signals, LR targets)."""
    from dataclasses import replace

    from hepbump.bumpnet import DataConfig, generate_dataset
    from hepbump.bumpnet.mothers import load_bank

    check_outputs((json_out, _JSON))
    bank = None
    config = DataConfig()
    if mothers_file is not None:
        bank, _ = load_bank(mothers_file)
        config = replace(config, mother_scale_range=tuple(mother_scale))
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
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch CPU threads.")] = 2,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/last.pt.")] = False,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Train BumpNet on a generated dataset; checkpoints every epoch (resumable with --resume)."""
    from hepbump.bumpnet import ModelConfig, TrainConfig
    from hepbump.bumpnet.train import train as run_training

    check_outputs((json_out, _JSON))
    config = TrainConfig(
        model=ModelConfig(channels=channels),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        threads=threads,
        seed=resolve_seed(ctx, seed),
        max_batches_per_epoch=batches_per_epoch,
    )
    result = run_training(config, data_dir, out, resume=resume, progress=show_progress(progress))
    write_json(json_out, {"best_val_loss": result.best_val_loss, "history": result.history})
    typer.echo(f"trained {len(result.history)} epochs; best validation loss {result.best_val_loss:.4f}; files in {out}")
