"""Global significance of BumpNet's Z_max: fast methods against brute-force toys, and their time.

    python benchmarks/bench_bumpnet_lee.py [--threads 2] [--toys 10000] [--seeds 10] [--z 3 4 5] [--variants]
        [--injected 3]                          # the shipped network (BumpNet.pretrained())
    python benchmarks/bench_bumpnet_lee.py --checkpoint COPY_OF_best.pt   # a copy: a training run rewrites best.pt
    python benchmarks/bench_bumpnet_lee.py --oracle --toys 100000          # a perfectly calibrated 'network'

Background: a 100-bin dijet spectrum (``DijetShape()``, 500-2000 GeV, 1e5 events). ``--toys`` brute-force toys
give ``p_global`` at each ``--z`` with its binomial error; then, for ``--seeds`` independent seeds, each fast
method's ``p_global`` at the same levels, summarised per level as the mean and spread over the seeds of the ratio
fast / brute force, the median reported relative error, how many seeds agree with the toys within 2 combined
standard errors, and how many the method's own check passes (GV's self-check; importance sampling's
``reliable``). Methods:

* ``IS``: :func:`hepbump.bumpnet.leecal.importance_sampling` (the default of ``global_significance``);
* ``GV``: :func:`hepbump.bumpnet.lee.gross_vitells` (discrete rate, ``--gv-toys`` toys);
* with ``--variants``, three calibrations of GV that were tried and rejected (``benchmarks/README.md``):
  ``GV-std`` (a: per-bin mean and width of the GV toys, smoothed by a cubic in the bin index, and the
  non-stationary upcrossing sum of a standardised Gaussian sequence), ``GV-2lev`` (b: amplitude and scale of
  ``E[N(u)] = A 2T(u / s, a(rho))`` fitted to the upcrossing counts of u = 0.5..2.5), ``Gumbel`` and ``exp-tail``
  (c: a Gumbel fit of the Z_max of ``--tail-toys`` toys, and an exponential tail above their 90% quantile).

Then the wall time of the brute force, of one importance-sampling call and of one GV call (medians), and with
``--injected N`` the global significance (importance sampling against ``--toys`` brute-force toys, both on the
background fitted to the histogram) of N histograms with an injected Gaussian signal.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from scipy import optimize, stats
from scipy.special import owens_t

from hepbump.bumpnet.lee import (
    count_upcrossings,
    global_p_bruteforce,
    global_significance,
    gross_vitells_from_curves,
    lag1_correlation,
    toy_z,
    toy_zmax,
)
from hepbump.bumpnet.leecal import importance_sampling
from hepbump.spectra import DijetShape, expected_counts
from hepbump.stats import lr_significance, z_to_p

FIRST = 10  # floor(0.1 * 100) bins left out of the scan


class Oracle(torch.nn.Module):
    """A perfectly calibrated 'BumpNet': the LR significance of each count against the true background."""

    def __init__(self, background):
        super().__init__()
        self.b = torch.as_tensor(background, dtype=torch.float64)

    def forward(self, counts, mask=None):
        return lr_significance(counts.double(), self.b).float()


def timed(func, *args, **kwargs):
    wall = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - wall


# --- the rejected GV calibrations (--variants) --------------------------------------------------------------------


def _crossing_rate(u, rho):
    return 2.0 * owens_t(u, np.sqrt((1.0 - rho) / (1.0 + rho)))


def gv_standardised(curves, levels):
    """(a) Per-bin Gaussian marginals from the toys, non-stationary upcrossings of the raw level."""
    z = curves[:, FIRST:]
    x = np.linspace(-1.0, 1.0, z.shape[1])
    mu = np.polyval(np.polyfit(x, z.mean(axis=0), 3), x)
    sd = np.polyval(np.polyfit(x, z.std(axis=0, ddof=1), 3), x)
    rho = lag1_correlation(z)
    pair = stats.multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]])
    out = []
    for u in levels:
        v = (u - mu) / sd
        lower = np.column_stack([v[:-1], v[1:]])
        up = np.sum(stats.norm.cdf(v[:-1]) - pair.cdf(lower))  # P(Z_{i-1} <= u < Z_i)
        out.append(min(1.0, stats.norm.sf(v[0]) + up))
    return np.array(out)


def gv_two_level(curves, levels, fit_levels=(0.5, 1.0, 1.5, 2.0, 2.5)):
    """(b) Amplitude and scale of the upcrossing rate fitted to the counts at several low levels."""
    z = curves[:, FIRST:]
    rho = lag1_correlation(z)
    fl = np.asarray(fit_levels)
    n = np.array([count_upcrossings(z, lv).sum() for lv in fl])

    def nll(par):
        amp, scale = np.exp(par)
        m = z.shape[0] * amp * _crossing_rate(fl / scale, rho)
        return np.sum(m - n * np.log(m))

    amp, scale = np.exp(optimize.minimize(nll, [np.log(n[0] / z.shape[0] + 1e-9), 0.0], method="Nelder-Mead").x)
    return np.array([min(1.0, stats.norm.sf(u / scale) + amp * _crossing_rate(u / scale, rho)) for u in levels])


def tail_fits(zmax, levels):
    """(c) Gumbel fit of all Z_max, and an exponential tail above their 90% quantile."""
    loc, scale = stats.gumbel_r.fit(zmax)
    t = np.quantile(zmax, 0.9)
    excess = zmax[zmax > t] - t
    expo = 0.1 * np.exp(-(np.asarray(levels) - t) / excess.mean())
    return stats.gumbel_r.sf(levels, loc, scale), np.minimum(expo, 1.0)


# --- main -----------------------------------------------------------------------------------------------------------


def summary(name, p_fast, err_fast, checks, p_bf, e_bf, levels):
    """One table row per level: ratio mean +- spread over the seeds, reported error, agreement, checks."""
    p_fast, err_fast = np.asarray(p_fast), np.asarray(err_fast)
    rows = []
    for j, z in enumerate(levels):
        if p_bf[j] <= 0:
            rows.append(f"| {name} | {z:g} | (no brute-force toy above) | | | |")
            continue
        ratio = p_fast[:, j] / p_bf[j]
        rel = np.median(np.where(p_fast[:, j] > 0, err_fast[:, j] / np.maximum(p_fast[:, j], 1e-300), np.inf))
        agree = np.sum(np.abs(p_fast[:, j] - p_bf[j]) < 2 * np.hypot(e_bf[j], err_fast[:, j]))
        check = "" if checks is None else f"{int(np.sum(checks[:, j]))}/{len(ratio)}"
        reported = f"{rel:.2f}" if np.any(err_fast[:, j] > 0) else "(none)"
        rows.append(
            f"| {name} | {z:g} | {ratio.mean():.2f} +- {ratio.std(ddof=1):.2f} | "
            f"{reported} | {agree}/{len(ratio)} | {check} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a COPY of a BumpNet checkpoint (default: the shipped network)")
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="instead of a network, the exact per-bin LR significance against the true background (what a "
        "perfectly trained BumpNet predicts): the reference where GV's assumptions hold",
    )
    parser.add_argument("--toys", type=int, default=10_000, help="brute-force toys (the reference)")
    parser.add_argument("--seeds", type=int, default=10, help="independent runs of each fast method")
    parser.add_argument("--z", type=float, nargs="+", default=[3.0, 4.0, 5.0])
    parser.add_argument("--gv-toys", type=int, default=100)
    parser.add_argument("--is-toys", type=int, default=1200)
    parser.add_argument("--probe-toys", type=int, default=270)
    parser.add_argument("--variants", action="store_true", help="also the rejected GV calibrations (a)-(c)")
    parser.add_argument("--tail-toys", type=int, default=1000, help="toys of each tail fit (c)")
    parser.add_argument("--injected", type=int, default=0, help="histograms with an injected signal")
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--total", type=float, default=1e5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    edges = np.linspace(500.0, 2000.0, args.bins + 1)
    background = expected_counts(edges, DijetShape().unnormalised, total=args.total)
    if args.oracle:
        model, label = Oracle(background), "oracle: exact per-bin LR significance"
    elif args.checkpoint:
        from hepbump.bumpnet.train import load_checkpoint

        model, ck = load_checkpoint(args.checkpoint)
        label = f"checkpoint {args.checkpoint}: epoch {(ck.get('history') or [{}])[-1].get('epoch')}"
    else:
        from hepbump.bumpnet import BumpNet

        model, label = BumpNet.pretrained(), "the shipped network (BumpNet.pretrained())"
    levels = np.array(args.z)
    print(
        f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, torch "
        f"{torch.__version__} at {torch.get_num_threads()} thread(s); {label}"
    )
    print(f"# background: {args.bins} bins, {args.total:g} events, {background[0]:.0f} -> {background[-1]:.1f} per bin")

    zmax, t_bf = timed(toy_zmax, model, background, args.toys, rng=args.seed)
    p_bf, e_bf = global_p_bruteforce(levels, zmax)
    print(f"\nbrute force, {args.toys} toys ({t_bf:.2f} s):")
    for z, p, e in zip(levels, p_bf, e_bf):
        print(
            f"  z = {z:g}: p_global {p:.3e} +- {e:.1e} ({int(round(p * args.toys))} toys above; "
            f"p_local {z_to_p(z):.2e})"
        )

    res = {k: ([], [], []) for k in ("IS", "GV", "GV-std", "GV-2lev", "Gumbel", "exp-tail")}
    t_is, t_gv, t_tail = [], [], []
    for s in range(args.seeds):
        seed = args.seed + 1 + s
        row = []
        for z in levels:
            r, t = timed(
                importance_sampling, model, background, z, n_toys=args.is_toys, n_probe=args.probe_toys, rng=seed
            )
            row.append(r)
            t_is.append(t)
        res["IS"][0].append([r.p_global for r in row])
        res["IS"][1].append([r.error for r in row])
        res["IS"][2].append([r.reliable for r in row])
        curves, t = timed(toy_z, model, background, args.gv_toys, rng=seed)
        t_gv.append(t)
        gv = [gross_vitells_from_curves(curves, z) for z in levels]
        res["GV"][0].append([r.p_global for r in gv])
        res["GV"][1].append([r.error for r in gv])
        res["GV"][2].append([r.reliable for r in gv])
        if args.variants:
            for name, p in (("GV-std", gv_standardised(curves, levels)), ("GV-2lev", gv_two_level(curves, levels))):
                res[name][0].append(p)
                res[name][1].append(np.zeros_like(p))
            zm, t = timed(toy_zmax, model, background, args.tail_toys, rng=10_000 + seed)
            t_tail.append(t)
            for name, p in zip(("Gumbel", "exp-tail"), tail_fits(zm, levels)):
                res[name][0].append(p)
                res[name][1].append(np.zeros_like(p))

    print(
        f"\n| method | z | fast / brute force over {args.seeds} seeds (mean +- spread) | median reported rel. "
        "error | within 2 sigma of the toys | own check passed |"
    )
    print("|---|---|---|---|---|---|")
    for name, (p, e, c) in res.items():
        if p:
            for line in summary(name, p, e, np.array(c) if c else None, p_bf, e_bf, levels):
                print(line)

    w_is = np.median(t_is)
    print(
        f"\ntimes: brute force {args.toys} toys {t_bf:.2f} s ({1e3 * t_bf / args.toys:.2f} ms/toy); importance "
        f"sampling ({args.probe_toys} + {args.is_toys} toys) median {w_is:.2f} s = {w_is / t_bf:.3f} x the brute "
        f"force; GV toys ({args.gv_toys}) median {np.median(t_gv):.3f} s"
        + (f"; tail-fit toys ({args.tail_toys}) median {np.median(t_tail):.2f} s" if t_tail else "")
    )
    observed = np.random.default_rng(args.seed + 100).poisson(background).astype(float)
    runs = [timed(global_significance, model, (observed, edges), rng=s) for s in range(3)]
    w = np.median([t for _, t in runs])
    res0 = runs[0][0]
    print(
        f"global_significance (smoothing + predict + importance sampling) median of 3 calls {w:.2f} s = "
        f"{w / t_bf:.3f} x the brute force (z_local {res0.z_local:.2f} -> p_global {res0.p_global:.3g} +- "
        f"{res0.error:.2g}, reliable {res0.reliable})"
    )

    if args.injected:
        print(f"\ninjected signals (Gaussian, width 2 bins): importance sampling vs {args.toys} brute-force toys")
        print("| mass bin | z_local | p_global IS | p_global toys | IS / toys | pull | IS time / toys time |")
        print("|---|---|---|---|---|---|---|")
        rng = np.random.default_rng(args.seed + 200)
        for k in range(args.injected):
            centre = int(rng.integers(30, args.bins - 5))
            shape = np.exp(-0.5 * ((np.arange(args.bins) - centre) / 2.0) ** 2)
            amp = rng.uniform(2.5, 3.5) * np.sqrt(background[centre])
            counts = rng.poisson(background + amp * shape).astype(float)
            imp, t1 = timed(global_significance, model, (counts, edges), rng=k)
            bf, t2 = timed(global_significance, model, (counts, edges), method="toys", n_toys=args.toys, rng=k)
            pull = (imp.p_global - bf.p_global) / np.hypot(imp.error, bf.error) if bf.error > 0 else float("nan")
            print(
                f"| {centre} | {imp.z_local:.2f} | {imp.p_global:.2e} +- {imp.error:.1e} | {bf.p_global:.2e} +- "
                f"{bf.error:.1e} ({bf.n_above}) | {imp.p_global / bf.p_global if bf.p_global else float('inf'):.2f} | "
                f"{pull:+.1f} | {t1 / t2:.3f} |"
            )


if __name__ == "__main__":
    main()
