"""``hepbump alp hunt``, ``hepbump alp train`` and ``hepbump alp reproduce``: the ECO/EPO hunt on event files,
the training of its networks and the reproduction of the paper's tables and figures. Attach to the ``alp`` group
with :func:`register` (``register(app)`` in :mod:`hepbump.cli.alp`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
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
    check_outputs,
    out_option,
    resolve_seed,
    run_options,
    show_progress,
    write_json,
)
from hepbump.errors import InputError

__all__ = ["hunt", "train", "reproduce", "register", "TRAIN_WHAT"]

log = logging.getLogger(__name__)

#: Networks ``hepbump alp train`` trains.
TRAIN_WHAT = ("posterior", "eco", "epo")

ResolutionOption = Annotated[
    str, typer.Option("--resolution", help="Detector preset: good, poor, good-ref or poor-ref.")
]


def hunt(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Simulated ALP event files (ROOT tree 'alp' or Parquet).")],
    *,
    method: Annotated[str, typer.Option("--method", help="epo | eco | bump.")] = "epo",
    resolution: ResolutionOption = "poor-ref",
    threshold: Annotated[float, typer.Option("--threshold", help="Compatibility threshold of the cleaning.")] = 0.68,
    subintervals: Annotated[
        int, typer.Option("--subintervals", min=3, help="Bump hunt: number N of m_gg subintervals.")
    ] = 11,
    experiments: Annotated[
        int, typer.Option("--experiments", min=1, help="Background-only pseudo-experiments for the p-value.")
    ] = 2000,
    pool: Annotated[
        int, typer.Option("--pool", min=1, help="Simulated background events the pseudo-experiments draw from.")
    ] = 1000,
    mu_ref: Annotated[
        Optional[float],
        typer.Option("--mu-ref", help="Expected events of a background-only experiment (default: the observed)."),
    ] = None,
    seed: SeedOption = None,
    executor: ExecutorOption,
    workers: WorkersOption,
    chunksize: ChunksizeOption,
    scheduler: SchedulerOption = None,
    skip_bad_files: SkipBadFilesOption = False,
    progress: ProgressOption = None,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="Write the Fig. 2 style figure (PNG, PDF or SVG).")
    ] = None,
    json_out: JsonOption = None,
) -> None:
    """Hunt for an excess of compatible events: C_ij, cleaning, TS, p-value and Z, combined mass posterior."""
    from hepbump.alp.detector import get_resolution
    from hepbump.hunt.analysis import HuntConfig, load_models
    from hepbump.hunt.analysis import hunt as run_hunt
    from hepbump.hunt.data import simulate_sample
    from processors.alp import run_features

    check_outputs((plot, FIGURE_SUFFIXES), (json_out, JSON_SUFFIXES))
    config = HuntConfig(method, threshold, subintervals, experiments, pool, mu_ref)
    res = get_resolution(resolution)
    posterior, classifier = load_models(method, res.name)  # a missing or bad weights file fails before any work
    options = run_options(
        executor=executor,
        workers=workers,
        chunksize=chunksize,
        scheduler=scheduler,
        skip_bad_files=skip_bad_files,
        progress=progress,
    )
    seed = resolve_seed(ctx, seed)
    run = run_features([str(f) for f in files], res, seed, options=options)
    x, m_gg = run.features, np.asarray(run.columns["m_gg"], dtype=np.float64)
    bkg = simulate_sample("background", pool, res, seed=seed + 1)
    rng = np.random.default_rng([seed, 2])
    result = run_hunt(x, m_gg, config, posterior, classifier, bkg.features, bkg.m_gg, rng)
    if plot is not None:
        if result.cleaning is None or result.n_events == 0:
            raise InputError("--plot draws the cleaning of an eco or epo hunt on at least one event")
        from hepbump.hunt.plots import plot_cleaning

        plot_cleaning(result.grid, result.log_posteriors, result.cleaning, plot)
    payload = {
        **result.to_dict(),
        "resolution": res.name,
        "seed": seed,
        "files": [str(f) for f in files],
        "background_pool": {"mode": "background", "n_events": len(bkg), "seed": seed + 1},
        "entries": {"file_index": run.columns["file_index"].tolist(), "entry": run.columns["entry"].tolist()},
        "plot": None if plot is None else str(plot),
    }
    write_json(json_out, payload)
    typer.echo(_report(result, res.name))


def _report(result, resolution: str) -> str:
    lines = [f"{result.method} hunt ({resolution}): {result.n_events} events"]
    if result.cleaning is not None:
        for k, step in enumerate(result.cleaning.history):
            scores = ", ".join(f"{i}:{s:.2f}" for i, s in zip(step.active, step.scores, strict=True))
            lines.append(
                f"  pass {k + 1}: mean scores {scores}"
                + (f" -> drop {step.removed}" if step.removed is not None else "")
            )
    lines.append(f"retained events: {result.retained.tolist()}")
    z = "inf" if not np.isfinite(result.z) else f"{result.z:.2f}"
    bound = f" (p < {result.p_value_bound:.2g}: beyond the pseudo-experiments)" if result.p_value == 0 else ""
    bg = result.background
    lines.append(
        f"TS = {result.ts}, p = {result.p_value:.4g}{bound}, Z = {z} "
        f"(background-only: {bg['convention']}, mu_ref = {bg['mu_ref']:g})"
    )
    if result.estimate is not None:
        e = result.estimate
        lines.append(
            f"m_a = {e['mass_gev']:.3g} GeV, 68% interval [{e['mass_low_gev']:.3g}, {e['mass_high_gev']:.3g}] GeV"
        )
    return "\n".join(lines)


def train(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(help="posterior | eco | epo.")],
    *,
    out: Annotated[Path, out_option("Output directory for <what>_<resolution>.pt and its .card.json.")],
    resolution: ResolutionOption = "poor-ref",
    events: Annotated[
        Optional[int],
        typer.Option("--events", min=2, help="Training events (posterior) or pairs (eco, epo); default: shipped."),
    ] = None,
    validation: Annotated[
        Optional[int], typer.Option("--validation", min=1, help="Held-out events (posterior) or pairs per benchmark.")
    ] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="At most this many epochs.")] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch threads.")] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from <what>_<resolution>.state.pt in the output directory.")
    ] = False,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Train the mass posterior, the ECO or the EPO classifier of a resolution preset and write a model card.

    The training state is kept in <what>_<resolution>.state.pt after every epoch (removed on success);
    --resume continues an interrupted run from it. Early stopping follows the paper's recipe.
    """
    from dataclasses import replace

    from hepbump.alp.detector import get_resolution
    from hepbump.hunt import train as T

    if what not in TRAIN_WHAT:
        raise InputError(f"unknown network {what!r}; choose one of: {', '.join(TRAIN_WHAT)}")
    res = get_resolution(resolution)
    weights, card_path = out / f"{what}_{res.name}.pt", out / f"{what}_{res.name}.card.json"
    check_outputs((weights, (".pt",)), (card_path, JSON_SUFFIXES), (json_out, JSON_SUFFIXES))
    # --seed, else a non-zero global --seed, else the seed of the shipped weights (which it then reproduces)
    seed_value = resolve_seed(ctx, seed) or (T.SHIPPED_SEED if what == "posterior" else T.SHIPPED_PAIR_SEED)
    base = {"posterior": T.TrainConfig(), "eco": T.ECO_TRAIN_DEFAULTS, "epo": T.EPO_TRAIN_DEFAULTS}[what]
    config = replace(base, threads=threads, **({} if epochs is None else {"epochs": epochs}))
    kwargs: dict = {"seed": seed_value, "config": config, "progress": show_progress(progress), "resume": resume}
    if what == "posterior":
        kwargs.update({"n_events": events} if events else {})
        kwargs.update({"n_validation": validation} if validation else {})
        card = T.train_shipped_posterior(res.name, out, **kwargs)
    else:
        kwargs.update({"n_pairs": events} if events else {})
        kwargs.update({"n_validation": validation} if validation else {})
        card = (T.train_shipped_eco if what == "eco" else T.train_shipped_epo)(res.name, out, **kwargs)
    write_json(json_out, card)
    t = card["training"]
    typer.echo(
        f"trained {what} ({res.name}): {t['epochs_run']} epochs, best validation loss {t['best_val_loss']:.4f}, "
        f"{t['seconds']:.0f} s; wrote {weights} and {card_path}"
    )


def reproduce(
    ctx: typer.Context,
    *,
    out: Annotated[Path, out_option("Output directory for the tables, figures, CSVs and reproduce.json.")],
    quick: Annotated[bool, typer.Option("--quick", help="CI sizes: tiny samples, one training seed.")] = False,
    use_shipped: Annotated[
        bool, typer.Option("--use-shipped", help="Evaluate the shipped networks instead of training.")
    ] = False,
    workers: Annotated[
        Optional[int], typer.Option("--workers", min=1, help="Training processes (default 2, --quick 1: here).")
    ] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch threads per training process.")] = 1,
    seed: SeedOption = None,
    progress: ProgressOption = None,
    json_out: JsonOption = None,
) -> None:
    """Reproduce the ECO/EPO paper: Tables 1-2 (mean +- std over 3 training seeds) and Figs. 3-8, 10-12 as
    PNG + CSV for good-ref and poor-ref, with fidelity.csv comparing to the paper's numbers.

    Trains every network (posterior, ECO, EPO) unless --use-shipped. Files appear one by one as they are
    done (a long run keeps what it has finished); reproduce.json is written last.
    """
    from hepbump.hunt.reproduce import ReproduceConfig
    from hepbump.hunt.reproduce import reproduce as run_reproduce

    names = ["table1.csv", "table2.csv", "fidelity.csv", "reproduce.json", "fig3_ts_distributions.png"]
    check_outputs(*((out / n, (Path(n).suffix,)) for n in names), (json_out, JSON_SUFFIXES))
    overrides = {"use_shipped": use_shipped, "threads": threads, **({} if workers is None else {"workers": workers})}
    config = ReproduceConfig.quick_config(**overrides) if quick else ReproduceConfig(**overrides)
    result = run_reproduce(config, out, seed=resolve_seed(ctx, seed), progress=show_progress(progress))
    write_json(json_out, result.to_dict())
    typer.echo(_reproduce_report(result))


def _reproduce_report(result) -> str:
    lines = [f"{'table':<22}{'resolution':<11}{'m_a':>5}{'AUC':>16}{'paper':>8}{'1/eps_b(0.8)':>15}{'(0.9)':>14}"]
    for name, table in (("ECO (table 1)", result.table1), ("EPO (table 2)", result.table2)):
        for r in table:
            std = "" if r["auc_std"] is None else f" +- {r['auc_std']:.3f}"
            rej = [
                f"{r[k + '_mean']:.1f}" + ("" if r[k + "_std"] is None else f" +- {r[k + '_std']:.1f}")
                for k in ("rejection_eps_s_0.8", "rejection_eps_s_0.9")
            ]
            paper = "" if r["paper_auc"] is None else f"{r['paper_auc']:.3f}"
            lines.append(
                f"{name:<22}{r['resolution']:<11}{r['m_a_gev']:>5g}{r['auc_mean']:>8.4f}{std:<8}{paper:>8}"
                f"{rej[0]:>15}{rej[1]:>14}"
            )
    for r in result.fig3:
        lines.append(
            f"Fig. 3 {r['method']:<5} <Z>_s = {r['Z_mean']:.2f}, -<ln p>_s = {r['minus_ln_p_mean']:.2f} "
            f"(eq. 4: -<L_p>_s = {r['minus_Lp_mean_eq4']:.2f}), W = {r['wasserstein']:.3f}"
        )
    misses = result.misses
    lines.append(f"fidelity: {len(result.fidelity) - len(misses)} of {len(result.fidelity)} checks met")
    lines += [f"  miss: {m['check']}: {m['value']:.4g} vs {m['target']:.4g} ({m['note']})" for m in misses]
    lines.append(f"wrote {len(result.files)} files to {result.out_dir} in {result.timings['total']:.0f} s")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Attach ``hunt``, ``train`` and ``reproduce`` to the ``alp`` command group."""
    app.command("hunt")(hunt)
    app.command("train")(train)
    app.command("reproduce")(reproduce)
