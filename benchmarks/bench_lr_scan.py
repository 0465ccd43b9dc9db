"""Time the statistics core on 100-bin histograms: the reference for BumpNet's speed goal.

    python benchmarks/bench_lr_scan.py [--histograms 30] [--seed 0]

Prints the median time per histogram of ``lr_scan`` with the log-polynomial background refitted at every
position (the ideal LR test), with a known background, of ``smooth_background`` alone, and of one
``pyhf_discovery`` window test.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from hepbump.spectra import DijetShape, expected_counts
from hepbump.stats import gaussian_template, lr_scan, pyhf_discovery, smooth_background


def timed(func, *args, **kwargs) -> float:
    start = time.perf_counter()
    func(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histograms", type=int, default=30)
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    edges = np.linspace(500.0, 2000.0, args.bins + 1)
    times: dict[str, list[float]] = {
        "smooth_background": [],
        "lr_scan (fitted bkg)": [],
        "lr_scan (known bkg)": [],
        "pyhf_discovery (5-bin window)": [],
    }
    for _ in range(args.histograms):
        shape = DijetShape(p1=rng.uniform(5, 15), p2=rng.uniform(2, 6))
        bkg = expected_counts(edges, shape.unnormalised, total=10 ** rng.uniform(4, 6))
        sig = rng.uniform(0, 300) * gaussian_template(edges, rng.uniform(700, 1800), 15.0)
        data = rng.poisson(bkg + sig).astype(float)
        times["smooth_background"].append(timed(smooth_background, (data, edges)))
        times["lr_scan (fitted bkg)"].append(timed(lr_scan, (data, edges)))
        times["lr_scan (known bkg)"].append(timed(lr_scan, (data, edges), background=bkg))
        j = args.bins // 2
        template = gaussian_template(edges, 0.5 * (edges[j] + edges[j + 1]), 15.0)
        times["pyhf_discovery (5-bin window)"].append(
            timed(pyhf_discovery, data, bkg, template, window=slice(j - 2, j + 3))
        )

    print(
        f"# {args.histograms} histograms of {args.bins} bins, {platform.processor() or platform.machine()}, "
        f"python {platform.python_version()}"
    )
    ref = float(np.median(times["lr_scan (fitted bkg)"]))
    for name, values in times.items():
        med = float(np.median(values))
        print(f"{name:32s} median {1e3 * med:9.2f} ms/histogram   (x{med / ref:7.4f} of fitted lr_scan)")
    print(f"fitted lr_scan throughput: {1.0 / ref:.2f} histograms/s on one core")


if __name__ == "__main__":
    main()
