"""``hepbump bumpnet evaluate``: BumpNet's performance figures (paper section 3, figures 5-13) as PNG + CSV, with
``summary.json`` (the headline figures next to the paper's). A thin wrapper of
:func:`hepbump.bumpnet.evaluate.evaluate`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from hepbump.cli.common import (
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

__all__ = ["evaluate"]


def _load_model(path: Path | None):
    """The BumpNet of ``--model`` (a checkpoint or exported weights), else the shipped one; and its name."""
    from hepbump.bumpnet.predict import load_pretrained
    from hepbump.bumpnet.train import load_checkpoint

    if path is None:
        return load_pretrained(), "pretrained:default"
    model, _ = load_checkpoint(path)
    return model.eval(), str(path)


@all_or_nothing
def evaluate(
    ctx: typer.Context,
    out: Annotated[Path, out_option("Output directory: figures (PNG), their numbers (CSV), summary.json.")],
    model: Annotated[
        Optional[Path],
        typer.Option("--model", help="BumpNet checkpoint or exported weights (.pt). Default: the shipped weights."),
    ] = None,
    mothers_test: Annotated[
        Optional[Path],
        typer.Option(
            "--mothers-test",
            help="Held-out test mothers (.npz from 'bumpnet mothers --test-out'): the data-like test sets. "
            "Without them the data-like figures are skipped.",
        ),
    ] = None,
    mothers_train: Annotated[
        Optional[Path],
        typer.Option("--mothers-train", help="Training mothers (.npz): Fig. 10, shapes seen in training."),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small test sets (2000 histograms per nominal set) for a first look.")
    ] = False,
    samples: Annotated[
        Optional[int],
        typer.Option(
            "--samples",
            min=1,
            help="Histograms per nominal and per background-only set (half that for the other sets). "
            "Default: 20000, or 2000 with --quick.",
        ),
    ] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch CPU threads.")] = 1,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Evaluate BumpNet as in the paper's section 3: dZ_max profiles, positions, false >5 sigma rates and ROC,
    unseen shapes, distortions, sparse tails and signal widths."""
    import torch

    from hepbump.bumpnet.evaluate import EvaluateConfig
    from hepbump.bumpnet.evaluate import evaluate as run_evaluation
    from hepbump.bumpnet.mothers import load_bank
    from hepbump.errors import OutputError

    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    check_outputs((out / "summary.json", (".json",)), (json_out, (".json",)))
    config = EvaluateConfig.quick() if quick else EvaluateConfig()
    sizes = {}
    if samples is not None:
        sizes = {"n_nominal": samples, "n_background": samples, "n_shape": max(1, samples // 2)}
    config = replace(config, seed=resolve_seed(ctx, seed), **sizes)
    test_bank = load_bank(mothers_test)[0] if mothers_test is not None else None
    train_bank = load_bank(mothers_train)[0] if mothers_train is not None else None
    net, model_name = _load_model(model)
    torch.set_num_threads(threads)
    summary = run_evaluation(
        net,
        out,
        config,
        test_mothers=test_bank,
        train_mothers=train_bank,
        progress=show_progress(progress),
        model_name=model_name,
    )
    write_json(json_out, summary.to_dict())
    typer.echo(summary.format())
    for line in summary.skipped:
        typer.echo(f"skipped: {line}")
    if summary.not_reached:
        typer.echo("not reached:")
        for line in summary.not_reached:
            typer.echo(f"  {line}")
    else:
        typer.echo("every floor and target reached")
    typer.echo(f"{len(summary.files)} files in {out}")
