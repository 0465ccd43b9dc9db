"""Throughput of the ECO/EPO hunt's building blocks on one core (untrained networks of the paper's sizes).

* ``MassPosterior.log_posterior`` (Table 3 network, 200-point grid): events per second; reference in the same
  run: the bare network forward pass over the same (events x 200) rows, prebuilt, so the ratio is the cost of
  building the inputs and normalising;
* one training epoch of the ratio estimator on ``--train-events`` events (2 rows each, batch 4096);
* ``EcoClassifier.matrix`` (Table 4 network) for a sample of ``--sample`` events, then ``clean``;
* ``EpoClassifier.matrix_from_log_posterior`` (Table 5 network) for ``--sample`` and for ``--pool`` events
  (the background pool of ``hepbump alp hunt``), and the cleaning of ``--pool-experiments`` background-only
  Pois(6) pseudo-experiments drawn from that pool (reference: ``clean`` alone on the same sub-matrices);
* the bump hunt's window counts of ``--experiments`` pseudo-experiments at once (reference: one call per
  experiment on the first 1000).

    python benchmarks/bench_hunt.py [--events 20000] [--train-events 225000] [--sample 20] [--experiments 100000]
        [--pool 1000] [--pool-experiments 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hepbump.hunt._nn import MLPConfig, Standardisation, TrainConfig, build_mlp, fit_classifier
from hepbump.hunt.bumphunt import window_counts, window_counts_many
from hepbump.hunt.clean import clean
from hepbump.hunt.eco import EcoClassifier
from hepbump.hunt.epo import EpoArchitecture, EpoClassifier, EpoNet
from hepbump.hunt.metrics import pseudo_experiments
from hepbump.hunt.posterior import GRID_SIZE, MassPosterior


def _timed(func):
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--train-events", type=int, default=225_000)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--experiments", type=int, default=100_000)
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--pool-experiments", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)

    arch = MLPConfig(11)
    post = MassPosterior(build_mlp(arch), Standardisation.fit(rng.normal(size=(1000, 11))), arch)
    x = rng.normal(size=(args.events, 10))
    t_post, _ = _timed(lambda: post.log_posterior(x))
    rows = torch.from_numpy(rng.normal(size=(args.events * GRID_SIZE, 11)).astype(np.float32))
    step = 512 * GRID_SIZE
    with torch.no_grad():
        t_ref, _ = _timed(lambda: [post.net(rows[i : i + step]) for i in range(0, len(rows), step)])
    print(
        f"log_posterior: {args.events / t_post:,.0f} events/s ({t_post:.2f} s); bare forward {t_ref:.2f} s "
        f"(ratio {t_post / t_ref:.2f})"
    )

    n = 2 * args.train_events
    xt = rng.normal(size=(n, 11)).astype(np.float32)
    yt = (rng.random(n) < 0.5).astype(np.float32)
    cfg = TrainConfig(epochs=1, threads=1, val_fraction=0.1)
    _, rec = fit_classifier(build_mlp(arch), lambda e: (xt, yt), (xt[: n // 10], yt[: n // 10]), cfg, seed=0)
    print(f"posterior training: {rec['seconds']:.2f} s per epoch of {args.train_events} events ({n} rows)")

    eco_arch = MLPConfig(20, batch_norm=True)
    eco = EcoClassifier(build_mlp(eco_arch), Standardisation.fit(rng.normal(size=(1000, 10))), eco_arch)
    xs = rng.normal(size=(args.sample, 10))
    t_mat, mat = _timed(lambda: eco.matrix(xs))
    t_clean, _ = _timed(lambda: clean(mat))
    print(f"ECO matrix of {args.sample} events: {1e3 * t_mat:.2f} ms; clean: {1e3 * t_clean:.2f} ms")

    epo_arch = EpoArchitecture()
    epo = EpoClassifier(EpoNet(epo_arch), post, epo_arch, 4.0)
    lp_s = post.log_posterior(xs)
    t_es, _ = _timed(lambda: epo.matrix_from_log_posterior(lp_s))
    lp_pool = post.log_posterior(rng.normal(size=(args.pool, 10)))
    t_ep, cpool = _timed(lambda: epo.matrix_from_log_posterior(lp_pool))
    print(
        f"EPO matrix of {args.sample} events: {1e3 * t_es:.2f} ms; of {args.pool} events: {t_ep:.2f} s "
        f"({args.pool**2 / t_ep:,.0f} pairs/s)"
    )
    pe = pseudo_experiments(6.0, 0.0, args.pool_experiments, args.pool, 1, rng)
    order = np.argsort(pe.background_experiment, kind="stable")
    parts = np.split(pe.background[order], np.cumsum(pe.n_background)[:-1])
    subs = [cpool[np.ix_(i, i)] for i in parts]
    t_pe, _ = _timed(lambda: [clean(cpool[np.ix_(i, i)]) for i in parts])
    t_pc, _ = _timed(lambda: [clean(c) for c in subs])
    print(
        f"pool pseudo-experiments: {args.pool_experiments / t_pe:,.0f} experiments/s cleaned; clean alone "
        f"{args.pool_experiments / t_pc:,.0f}/s"
    )

    n_ev = rng.poisson(6, args.experiments)
    exp = np.repeat(np.arange(args.experiments), n_ev)
    m = 10 ** rng.uniform(-1.5, 0.8, exp.size)
    t_many, _ = _timed(lambda: window_counts_many(m, exp, args.experiments, 11))
    k = min(1000, args.experiments)
    starts = np.r_[0, np.cumsum(n_ev)]
    t_loop, _ = _timed(lambda: [window_counts(m[starts[i] : starts[i + 1]], 11) for i in range(k)])
    print(
        f"bump hunt: {args.experiments / t_many:,.0f} experiments/s batched; one call each "
        f"{k / t_loop:,.0f} experiments/s"
    )


if __name__ == "__main__":
    main()
