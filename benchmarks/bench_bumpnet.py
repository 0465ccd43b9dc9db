"""BumpNet inference speed against the likelihood-ratio scan, on the same 100-bin histograms in one run.

Prints histograms per second of :func:`hepbump.bumpnet.predict.predict` for the shipped network and for the
paper's architecture (64 channels, random weights: the speed does not depend on them), and seconds per histogram
of :func:`hepbump.stats.lr_scan` with the fitted background (the ideal test BumpNet replaces), with their ratio.

    python benchmarks/bench_bumpnet.py [--histograms 4000] [--lr-histograms 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hepbump.bumpnet import BumpNet, ModelConfig
from hepbump.bumpnet.predict import predict
from hepbump.spectra import DijetShape, expected_counts
from hepbump.stats import lr_scan


def _histograms(n: int, seed: int = 1) -> tuple[list[np.ndarray], np.ndarray]:
    edges = np.linspace(500.0, 2000.0, 101)
    mu = expected_counts(edges, DijetShape().unnormalised, 1e5)
    rng = np.random.default_rng(seed)
    return [rng.poisson(mu).astype(float) for _ in range(n)], edges


def _rate(model: BumpNet, hists: list[np.ndarray], repeat: int = 3) -> float:
    predict(model, hists[:64])  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        predict(model, hists)
        best = min(best, time.perf_counter() - t0)
    return len(hists) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histograms", type=int, default=4000)
    parser.add_argument("--lr-histograms", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    hists, edges = _histograms(args.histograms)

    shipped = BumpNet.pretrained()
    paper = BumpNet(ModelConfig()).eval()
    r_shipped = _rate(shipped, hists)
    r_paper = _rate(paper, hists)

    t0 = time.perf_counter()
    for h in hists[: args.lr_histograms]:
        lr_scan((h, edges), width=1.0)
    t_lr = (time.perf_counter() - t0) / args.lr_histograms

    print(f"{args.histograms} histograms of 100 bins, torch threads {args.threads}")
    print(
        f"shipped BumpNet ({shipped.config.channels} channels): {r_shipped:,.0f} histograms/s "
        f"({args.histograms / r_shipped:.2f} s; 40k histograms in {4e4 / r_shipped:.0f} s)"
    )
    print(f"paper architecture (64 channels): {r_paper:,.0f} histograms/s")
    print(f"lr_scan, fitted background: {t_lr:.3f} s per histogram ({1 / t_lr:.2f} histograms/s)")
    print(
        f"speed-up of the shipped BumpNet over lr_scan: {r_shipped * t_lr:,.0f}x; paper architecture: "
        f"{r_paper * t_lr:,.0f}x"
    )


if __name__ == "__main__":
    main()
