"""Training of the hunt's networks: the mass posterior's ratio estimator (Table 3) and the shipped weights.

:func:`train_posterior` trains a :class:`~hepbump.hunt.posterior.MassPosterior` on an
:class:`~hepbump.hunt.data.EventSample` (``prior`` mode): every epoch pairs each training event with its true
mass (label 1) and with a mass drawn afresh from the prior (label 0); the validation events get one fixed set
of mismatched masses. The inputs ``[log10 m, features]`` are standardised with the training events' mean and
standard deviation, which the model keeps.

:func:`train_shipped_posterior` regenerates the weights shipped in ``hepbump/data/hunt/`` (simulation, training,
held-out validation, model card). The ECO classifier's :func:`~hepbump.hunt.eco.train_eco` (Table 4 defaults
:data:`~hepbump.hunt.eco.ECO_TRAIN_DEFAULTS`) is re-exported here.
"""

from __future__ import annotations

import json
import logging
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepbump._version import __version__
from hepbump.alp.detector import Resolution, get_resolution
from hepbump.alp.priors import ALPPrior
from hepbump.errors import InputError
from hepbump.hunt._nn import MLPConfig, Standardisation, TrainConfig, build_mlp, fit_classifier
from hepbump.hunt.data import EventSample, simulate_sample
from hepbump.hunt.eco import ECO_TRAIN_DEFAULTS, train_eco
from hepbump.hunt.posterior import MassPosterior, shipped_path, validation_summary
from hepbump.io.atomic import atomic_path

__all__ = [
    "TrainConfig",
    "ECO_TRAIN_DEFAULTS",
    "posterior_pairs",
    "train_posterior",
    "train_eco",
    "train_shipped_posterior",
    "SHIPPED_SEED",
]

log = logging.getLogger(__name__)

#: Seed of the shipped posterior weights (simulation, smearing, split, initialisation, batches).
SHIPPED_SEED = 20240


def posterior_pairs(
    features: np.ndarray, log10_mass: np.ndarray, rng: np.random.Generator, prior: ALPPrior | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Matched rows ``[log10 m_true, x]`` (label 1) then mismatched ``[log10 m ~ prior, x]`` (label 0).

    >>> x, y = posterior_pairs(np.zeros((2, 10)), np.array([0.0, 0.5]), np.random.default_rng(0))
    >>> x.shape, y.tolist(), x[:2, 0].tolist()
    ((4, 11), [1.0, 1.0, 0.0, 0.0], [0.0, 0.5])
    """
    prior = prior or ALPPrior()
    x = np.asarray(features, dtype=np.float64)
    m_true = np.asarray(log10_mass, dtype=np.float64).reshape(-1, 1)
    m_false = np.log10(prior.mass_gev.sample(rng, x.shape[0])).reshape(-1, 1)
    inputs = np.vstack([np.hstack([m_true, x]), np.hstack([m_false, x])])
    labels = np.r_[np.ones(x.shape[0]), np.zeros(x.shape[0])]
    return inputs, labels


def _split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng([seed, 0]).permutation(n)
    n_val = 0 if val_fraction == 0 else max(1, int(round(val_fraction * n)))
    if n - n_val < 2:
        raise InputError(f"{n} events cannot be split into training and validation (val_fraction {val_fraction})")
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def train_posterior(
    config: TrainConfig, data: EventSample, *, seed: int, progress: bool = False
) -> tuple[MassPosterior, list[dict[str, float]]]:
    """Train the ratio estimator of ``config`` on ``data``; returns the model (best epoch) and the history."""
    if config.batch_norm:
        raise InputError("the posterior's ratio estimator has no batch normalisation (Table 3)")
    n = len(data)
    train_idx, val_idx = _split(n, config.val_fraction, seed)
    x_tr, m_tr = data.features[train_idx], data.log10_mass[train_idx]
    std = Standardisation.fit(np.hstack([m_tr[:, None], x_tr]))
    validation = None
    if val_idx.size:
        vx, vy = posterior_pairs(data.features[val_idx], data.log10_mass[val_idx], np.random.default_rng([seed, 1]))
        validation = (std.apply(vx), vy)

    def epoch_data(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = posterior_pairs(x_tr, m_tr, np.random.default_rng([seed, 2, epoch]))
        return std.apply(x), y

    arch = MLPConfig(std.dim, config.hidden, False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_mlp(arch)
    history, record = fit_classifier(
        net,
        epoch_data,
        validation,
        config,
        seed=seed,
        progress=progress,
        desc=f"posterior {data.record.get('resolution', '')}".strip(),
    )
    training = {
        "config": config.to_dict(),
        "seed": int(seed),
        "n_events": n,
        "n_train_events": int(train_idx.size),
        "n_val_events": int(val_idx.size),
        "data": data.record,
        **record,
        "history": history,
    }
    params = data.record.get("resolution_parameters")
    res = Resolution(**params) if params else None
    model = MassPosterior(net, std, arch, resolution=res, training=training)
    return model, history


def _lscpu() -> list[str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return [platform.processor() or platform.machine()]
    return out.splitlines()[:10]


def train_shipped_posterior(
    resolution: str,
    out_dir: str | Path | None = None,
    *,
    seed: int = SHIPPED_SEED,
    n_events: int = 250_000,
    n_validation: int = 20_000,
    config: TrainConfig | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Simulate, train and validate the posterior of ``resolution``; write ``posterior_<resolution>.pt`` and
    ``posterior_<resolution>.card.json`` into ``out_dir`` (default: the package's ``hepbump/data/hunt/``).

    ``n_events`` prior events for training (10 % of them validate the early stopping), ``n_validation``
    further held-out events (seed + 1) for the card's figures. Returns the card.
    """
    res = get_resolution(resolution)
    if res.name == "custom":
        raise InputError("shipped posteriors exist for the resolution presets only")
    config = config or TrainConfig(threads=1)
    out = Path(out_dir) if out_dir is not None else shipped_path(res.name).parent
    weights = out / f"posterior_{res.name}.pt"
    card_path = out / f"posterior_{res.name}.card.json"
    t0 = time.perf_counter()
    data = simulate_sample("prior", n_events, res, seed=seed)
    t_sim = time.perf_counter() - t0
    log.info("simulated %d training events in %.0f s", len(data), t_sim)
    t1 = time.perf_counter()
    model, history = train_posterior(config, data, seed=seed, progress=progress)
    t_train = time.perf_counter() - t1
    held = simulate_sample("prior", n_validation, res, seed=seed + 1)
    summary = validation_summary(model, held.features, held.log10_mass)
    tr = model.training
    card = {
        "model": f"hepbump.hunt.posterior.MassPosterior (marginal NRE of log10 m_a), resolution {res.name}",
        "weights_file": weights.name,
        "call": (
            f"hepbump.hunt.train.train_shipped_posterior({res.name!r}, out_dir, seed={seed}, "
            f"n_events={n_events}, n_validation={n_validation}, config={config!r})"
        ),
        "seed": seed,
        "resolution": res.to_dict(),
        "data": {
            "n_events": len(data),
            "n_train_events": tr["n_train_events"],
            "n_val_events": tr["n_val_events"],
            "n_heldout_events": len(held),
            "heldout_seed": seed + 1,
            "simulation_seconds": round(t_sim, 1),
        },
        "training": {
            "config": config.to_dict(),
            "architecture": model.architecture.to_dict(),
            "epochs_run": tr["epochs_run"],
            "best_epoch": tr["best_epoch"],
            "best_val_loss": tr["best_val_loss"],
            "best_train_loss": tr["best_train_loss"],
            "seconds": round(t_train, 1),
            "seconds_per_epoch": round(float(np.mean([h["seconds"] for h in history])), 2),
            "val_loss_curve": [round(h["val_loss"], 5) for h in history],
        },
        "validation_heldout": summary,
        "versions": {
            "hepbump": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "hardware": {"lscpu": _lscpu(), "torch_threads": config.threads or torch.get_num_threads()},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    model.save(weights)
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(card, indent=1) + "\n")
    log.info("wrote %s and %s", weights, card_path)
    return card
