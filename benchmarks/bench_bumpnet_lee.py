"""Global significance of BumpNet's Z_max: Gross-Vitells from ~100 toys against brute-force toys, and its time.

    cp /work/runs/bumpnet/run32/best.pt /tmp/lee_best.pt   # a copy: a training run rewrites best.pt
    python benchmarks/bench_bumpnet_lee.py --checkpoint /tmp/lee_best.pt [--toys 10000] [--gv-toys 100]
        [--threads 1] [--z 3 3.5 4 4.5]
    python benchmarks/bench_bumpnet_lee.py --oracle --toys 100000   # a perfectly calibrated 'network'

Background: a 100-bin dijet spectrum (``DijetShape()``, 500-2000 GeV, 1e5 events). Prints, for each ``z_obs``,
``p_global`` from ``--toys`` brute-force toys (with the binomial error and the count of toys above), from
:func:`hepbump.bumpnet.lee.gross_vitells` with the discrete-grid rate (mean and spread over ``--gv-seeds``
independent sets of ``--gv-toys`` toys, and the error one call reports) and with the textbook continuous rate,
and the pull ``(GV - brute) / sqrt(err_brute^2 + err_GV^2)``, and GV's self-check pull; then the time of the
brute force, of one ``gross_vitells`` call and of one ``global_significance`` call (smoothing + prediction + GV)
on a toy histogram.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from hepbump.bumpnet.lee import (
    DEFAULT_REFERENCE_LEVEL,
    global_p_bruteforce,
    global_significance,
    gross_vitells,
    gross_vitells_from_curves,
    toy_z,
    toy_zmax,
)
from hepbump.bumpnet.train import load_checkpoint
from hepbump.spectra import DijetShape, expected_counts
from hepbump.stats import lr_significance


class Oracle(torch.nn.Module):
    """A perfectly calibrated 'BumpNet': the LR significance of each count against the true background."""

    def __init__(self, background):
        super().__init__()
        self.b = torch.as_tensor(background, dtype=torch.float64)

    def forward(self, counts, mask=None):
        return lr_significance(counts.double(), self.b).float()


def timed(func, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a COPY of a BumpNet checkpoint")
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="instead of a network, the exact per-bin LR significance against the true background (what a "
        "perfectly trained BumpNet predicts): the reference where GV's assumptions hold",
    )
    parser.add_argument("--toys", type=int, default=10_000)
    parser.add_argument("--gv-toys", type=int, default=100)
    parser.add_argument("--gv-seeds", type=int, default=10)
    parser.add_argument("--z", type=float, nargs="+", default=[3.0, 3.5, 4.0, 4.5])
    parser.add_argument("--reference-level", type=float, default=DEFAULT_REFERENCE_LEVEL)
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--total", type=float, default=1e5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    edges = np.linspace(500.0, 2000.0, args.bins + 1)
    background = expected_counts(edges, DijetShape().unnormalised, total=args.total)
    if args.oracle:
        model, ck = Oracle(background), {"history": [{"epoch": "(oracle)"}]}
    elif args.checkpoint:
        model, ck = load_checkpoint(args.checkpoint)
    else:
        parser.error("give --checkpoint (a copy) or --oracle")
    hist = ck.get("history") or [{}]
    print(
        f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, torch "
        f"{torch.__version__} at {torch.get_num_threads()} thread(s)"
    )
    print(
        "# oracle: exact per-bin LR significance"
        if args.oracle
        else f"# checkpoint {args.checkpoint}: {model.config.channels} channels, epoch {hist[-1].get('epoch')}, "
        f"val loss {ck.get('best_val_loss')}"
    )
    print(
        f"# background: {args.bins} bins, {args.total:g} events, {background[0]:.0f} -> {background[-1]:.1f} "
        f"per bin; u0 = {args.reference_level}"
    )

    zmax, t_bf, c_bf = timed(toy_zmax, model, background, args.toys, rng=args.seed)
    p_bf, e_bf = global_p_bruteforce(np.array(args.z), zmax)

    # GV from --gv-seeds independent sets of toys (the curves once per seed, every z_obs from them)
    gv = {"discrete": [], "continuous": []}
    for s in range(args.gv_seeds):
        curves = toy_z(model, background, args.gv_toys, rng=args.seed + 1 + s)
        for rate, rows in gv.items():
            rows.append(
                [gross_vitells_from_curves(curves, z, reference_level=args.reference_level, rate=rate) for z in args.z]
            )

    print(
        f"\n| z_obs | brute force, {args.toys} toys | GV discrete, {args.gv_toys} toys (mean +- spread, "
        f"reported err) | pull | GV continuous (mean) | continuous / brute |"
    )
    print("|---|---|---|---|---|---|")
    for j, z in enumerate(args.z):
        d = np.array([r[j].p_global for r in gv["discrete"]])
        d_err = np.mean([r[j].error for r in gv["discrete"]])
        c = np.mean([r[j].p_global for r in gv["continuous"]])
        k = int(round(p_bf[j] * args.toys))
        pull = (d[0] - p_bf[j]) / np.hypot(e_bf[j], d_err)
        print(
            f"| {z:g} | {p_bf[j]:.3e} +- {e_bf[j]:.1e} ({k} toys) | {d.mean():.3e} +- {d.std(ddof=1):.1e}, "
            f"{d_err:.1e} | {pull:+.2f} | {c:.3e} | {c / p_bf[j] if p_bf[j] > 0 else float('inf'):.2f} |"
        )
    r0 = gv["discrete"][0][0]
    print(
        f"(first GV seed for the pull; N(u0) = {r0.n_upcrossings_ref:.2f} +- {r0.n_upcrossings_ref_error:.2f} "
        f"per toy, lag-1 correlation {r0.lag1_correlation:+.3f}; self-check at u = {r0.check_level:g}: pull "
        f"{r0.check_pull:+.1f} -> {'reliable' if r0.reliable else 'NOT reliable'}; pulls over the seeds "
        f"{', '.join(f'{r[0].check_pull:+.1f}' for r in gv['discrete'])})"
    )

    print(f"\nbrute force, {args.toys} toys: {t_bf:.2f} s wall, {c_bf:.2f} s CPU")
    gv_times = [timed(gross_vitells, model, background, args.z[0], n_toys=args.gv_toys, rng=s)[1:] for s in range(5)]
    w, c = np.median(gv_times, axis=0)
    print(f"gross_vitells ({args.gv_toys} toys): median of 5 calls {1e3 * w:.0f} ms wall, {1e3 * c:.0f} ms CPU")
    observed = np.random.default_rng(args.seed + 100).poisson(background).astype(float)
    gs_times = []
    for s in range(5):
        res, w1, c1 = timed(global_significance, model, (observed, edges), n_toys=args.gv_toys, rng=s)
        gs_times.append((w1, c1))
    w, c = np.median(gs_times, axis=0)
    print(
        f"global_significance (smoothing + predict + GV, {args.gv_toys} toys): median of 5 calls "
        f"{1e3 * w:.0f} ms wall, {1e3 * c:.0f} ms CPU (z_local {res.z_local:.2f} -> p_global {res.p_global:.3g}, "
        f"z_global {res.z_global:.2f})"
    )


if __name__ == "__main__":
    main()
