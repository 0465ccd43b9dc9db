"""BumpNet architecture variants side by side: accuracy at an equal training budget, and inference speed.

    python benchmarks/bench_bumpnet_variants.py DATA_DIR [--epochs 2] [--batches 100] [--threads 2]
        [--variants paper64 c32 c32_replicate c32_shipped c16 stacks2 layers3]

``DATA_DIR`` is a dataset from ``hepbump bumpnet data`` (the shipped network's recipe is in its model card). Every
variant is trained from scratch with :func:`hepbump.bumpnet.train.train` on the same shards, with the same seed,
batch size, learning-rate schedule and number of steps (``--epochs`` x ``--batches`` batches of 256), and
validated on the same held-out shards (plain MSE of the per-bin significance). Printed per variant: parameters,
validation MSE after each epoch, training seconds, and the forward throughput at 100 bins (FP32, ``no_grad``,
batch 256), with ratios to the paper's 64-channel network measured in the same run.

An equal number of steps is the fair comparison for a CPU with a fixed wall-clock budget only after scaling by
the training throughput, which is printed too: a variant that trains twice as fast gets twice the steps in the
same time.
"""

from __future__ import annotations

import argparse
import logging
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from bench_bumpnet_data import forward_rate

from hepbump.bumpnet.model import BumpNet, ModelConfig, count_parameters
from hepbump.bumpnet.train import TrainConfig, train

#: The variants: the paper's layout, 32 channels (the shipped width) with each edge treatment, lighter ones.
VARIANTS: dict[str, ModelConfig] = {
    "paper64": ModelConfig(channels=64),
    "c32": ModelConfig(channels=32),
    "c32_replicate": ModelConfig(channels=32, edge_mode="replicate"),
    "c32_shipped": ModelConfig(channels=32, edge_mode="replicate", edge_channel=True),
    "c16": ModelConfig(channels=16),
    "stacks2": ModelConfig(channels=32, kernel_sizes=(9, 25)),
    "layers3": ModelConfig(channels=32, layers_per_stack=3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="dataset directory from 'hepbump bumpnet data'")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batches", type=int, default=100, help="batches of 256 per epoch")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0, help="timing window of the forward throughput")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    print(
        f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.epochs} epochs x {args.batches} "
        f"batches of 256, seed {args.seed}, data {args.data}"
    )
    base = TrainConfig(
        epochs=args.epochs,
        batch_size=256,
        learning_rate=1e-3,
        threads=args.threads,
        seed=args.seed,
        max_batches_per_epoch=args.batches,
    )
    rows = []
    for name in args.variants:
        mc = VARIANTS[name]
        fwd = forward_rate(mc, 100, 256, args.seconds)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = train(replace(base, model=mc), args.data, tmp, progress=False)
            seconds = time.perf_counter() - start
        val = [h["val_loss"] for h in result.history]
        train_s = sum(h["seconds"] for h in result.history)
        rows.append((name, count_parameters(BumpNet(mc)), val, train_s, seconds, fwd))
        print(f"{name}: validation MSE {' '.join(f'{v:.4f}' for v in val)}; {seconds:.0f} s; forward {fwd:.0f}/s")

    ref = next((r for r in rows if r[0] == "paper64"), rows[0])
    print(f"\n| variant | parameters | validation MSE by epoch | training s | forward hist/s | vs {ref[0]} |")
    print("|---|---|---|---|---|---|")
    for name, params, val, train_s, _, fwd in rows:
        print(
            f"| {name} | {params:,} | {' / '.join(f'{v:.3f}' for v in val)} | {train_s:.0f} "
            f"({ref[3] / train_s:.2f}x) | {fwd:,.0f} | {fwd / ref[5]:.2f}x |"
        )


if __name__ == "__main__":
    main()
