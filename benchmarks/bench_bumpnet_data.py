"""Throughput of BumpNet's training-data generator and of the network on CPU.

    python benchmarks/bench_bumpnet_data.py [--samples 200000] [--threads 2] [--batch 256]

Prints samples/minute of :func:`hepbump.bumpnet.data.generate` for a realistic mix (analytic backgrounds only,
and the paper's mix of one third analytic and two thirds "mother" histograms from a bank of 300 data-like
mothers of 30-300 bins), of :func:`hepbump.bumpnet.shards.generate_dataset` (the same, written to shards), and
the network's forward throughput (histograms/s, FP32, ``torch.no_grad``) at 100 bins for the paper's
configuration (64 channels) and a 32-channel one, plus the training throughput (forward + backward + Adam
step) at 100 bins.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import numpy as np
import torch

from hepbump.bumpnet.data import DataConfig, MotherBank, analytic_backgrounds, generate
from hepbump.bumpnet.model import BumpNet, ModelConfig, count_parameters
from hepbump.bumpnet.shards import generate_dataset


def synthetic_bank(seed: int, n: int = 300) -> MotherBank:
    """Stand-in for the smoothed DM histograms: analytic shapes on resolution axes, 30-300 bins."""
    rng = np.random.default_rng(seed)
    config = DataConfig()
    edges, expected = [], []
    for n_bins in rng.integers(30, 301, size=n):
        b, e, *_ = analytic_backgrounds(rng, 1, int(n_bins), config)
        edges.append(e[0])
        expected.append(b[0])
    return MotherBank(tuple(edges), tuple(expected), tuple(f"m{i}" for i in range(n)))


def samples_per_minute(n: int, config: DataConfig, bank: MotherBank | None, seed: int) -> float:
    start = time.perf_counter()
    done = sum(len(b) for b in generate(np.random.default_rng(seed), n, config, bank))
    return 60.0 * done / (time.perf_counter() - start)


def forward_rate(config: ModelConfig, bins: int, batch: int, seconds: float) -> float:
    net = BumpNet(config).eval()
    x = torch.rand(batch, bins) * 1e4
    with torch.no_grad():
        net(x)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            net(x)
            n += batch
    return n / (time.perf_counter() - start)


def train_rate(config: ModelConfig, bins: int, batch: int, seconds: float) -> float:
    net = BumpNet(config)
    opt = torch.optim.Adam(net.parameters())
    x, y = torch.rand(batch, bins) * 1e4, torch.randn(batch, bins)
    mask = torch.ones(batch, bins, dtype=torch.bool)
    n, start = 0, None
    while start is None or time.perf_counter() - start < seconds:
        loss = ((net(x, mask) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if start is None:
            start = time.perf_counter()  # the first step warms up
        else:
            n += batch
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0, help="timing window per network measurement")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"# {platform.processor() or platform.machine()}, python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )

    config = DataConfig()
    bank = synthetic_bank(args.seed)
    print(
        f"generate, analytic only:             {samples_per_minute(args.samples, config, None, args.seed):12,.0f} "
        "samples/min"
    )
    print(
        f"generate, 1/3 analytic + 2/3 mothers: {samples_per_minute(args.samples, config, bank, args.seed):12,.0f} "
        "samples/min"
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate_dataset(
            config, tmp, seed=args.seed, n_samples=args.samples, shard_size=8192, bank=bank, progress=False
        )
        rate = 60.0 * args.samples / (time.perf_counter() - start)
    print(f"generate_dataset (mix, to shards):    {rate:12,.0f} samples/min")

    for channels in (64, 32):
        mc = ModelConfig(channels=channels)
        fwd = forward_rate(mc, args.bins, args.batch, args.seconds)
        trn = train_rate(mc, args.bins, args.batch, args.seconds)
        print(
            f"BumpNet {channels:2d} channels ({count_parameters(BumpNet(mc)):,} parameters), {args.bins} bins, "
            f"batch {args.batch}: forward {fwd:7.0f} histograms/s, training {trn:6.0f} histograms/s"
        )


if __name__ == "__main__":
    main()
