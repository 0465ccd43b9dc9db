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
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepbump.alp.detector import Resolution, get_resolution
from hepbump.alp.priors import ALPPrior
from hepbump.alp.simulate import SimulatedEvents, simulate
from hepbump.errors import InputError
from hepbump.hunt._nn import MLPConfig, Standardisation, TrainConfig, build_mlp, fit_classifier
from hepbump.hunt.data import EventSample, measure_events, simulate_sample
from hepbump.hunt.eco import ECO_TRAIN_DEFAULTS, train_eco
from hepbump.hunt.eco import shipped_path as shipped_pair_path
from hepbump.hunt.epo import EPO_TRAIN_DEFAULTS, train_epo
from hepbump.hunt.metrics import separation_summary
from hepbump.hunt.posterior import MassPosterior, shipped_path, validation_summary
from hepbump.io.atomic import atomic_path
from hepbump.modelcard import environment

__all__ = [
    "TrainConfig",
    "ECO_TRAIN_DEFAULTS",
    "posterior_pairs",
    "train_posterior",
    "train_eco",
    "train_epo",
    "EPO_TRAIN_DEFAULTS",
    "train_shipped_posterior",
    "train_shipped_eco",
    "train_shipped_epo",
    "pair_benchmarks",
    "PAPER_PAIR_AUC",
    "SHIPPED_SEED",
    "SHIPPED_PAIR_SEED",
]

log = logging.getLogger(__name__)

#: Seed of the shipped posterior weights (simulation, smearing, split, initialisation, batches).
SHIPPED_SEED = 20240
#: Seed of the shipped ECO and EPO weights (one pairs sample for both, as in the paper).
SHIPPED_PAIR_SEED = 20242
#: Benchmark points of the pair ROC (m_a in GeV; c tau / m = 1 m/GeV), Tables 1-2.
PAIR_BENCHMARK_MASSES = (0.2, 1.0, 4.0)
#: AUCs of Tables 1 (ECO) and 2 (EPO): {(method, resolution class): (m_a = 0.2, 1, 4 GeV)}.
PAPER_PAIR_AUC = {
    ("eco", "good"): (0.873, 0.919, 0.962),
    ("eco", "poor"): (0.86, 0.892, 0.96),
    ("epo", "good"): (0.914, 0.942, 0.988),
    ("epo", "poor"): (0.902, 0.93, 0.97),
}
#: 1/eps_b at eps_s = 0.8 and 0.9 of Tables 1-2, same keys, per mass.
PAPER_PAIR_REJECTION = {
    ("eco", "good"): ((5.9, 5.0), (7.2, 5.1), (19, 9)),
    ("eco", "poor"): ((5.3, 4.5), (5.5, 4.1), (20, 10)),
    ("epo", "good"): ((8.0, 6.6), (10.5, 7.4), (60, 30)),
    ("epo", "poor"): ((6.8, 5.7), (8.5, 6.1), (21, 14)),
}


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
    config: TrainConfig,
    data: EventSample,
    *,
    seed: int,
    progress: bool = False,
    checkpoint: str | Path | None = None,
    resume: bool = False,
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
        checkpoint=checkpoint,
        resume=resume,
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


def _ship(model: Any, weights: Path, card: dict[str, Any], card_path: Path, state: Path) -> None:
    """Write shipped weights and their card; the finished run leaves no resume state behind."""
    model.save(weights)
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(card, indent=1) + "\n")
    state.unlink(missing_ok=True)
    log.info("wrote %s and %s", weights, card_path)


def train_shipped_posterior(
    resolution: str,
    out_dir: str | Path | None = None,
    *,
    seed: int = SHIPPED_SEED,
    n_events: int = 250_000,
    n_validation: int = 20_000,
    config: TrainConfig | None = None,
    progress: bool = True,
    resume: bool = False,
) -> dict[str, Any]:
    """Simulate, train and validate the posterior of ``resolution``; write ``posterior_<resolution>.pt`` and
    ``posterior_<resolution>.card.json`` into ``out_dir`` (default: the package's ``hepbump/data/hunt/``).

    ``n_events`` prior events for training (10 % of them validate the early stopping), ``n_validation``
    further held-out events (seed + 1) for the card's figures. The training state is written to
    ``posterior_<resolution>.state.pt`` after every epoch; ``resume`` continues from it. Returns the card.
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
    state = out / f"posterior_{res.name}.state.pt"
    model, history = train_posterior(config, data, seed=seed, progress=progress, checkpoint=state, resume=resume)
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
        **environment(config.threads),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    _ship(model, weights, card, card_path, state)
    return card


# -- ECO and EPO ----------------------------------------------------------------------------------------------
def pair_benchmarks(
    resolution: str | Resolution, *, seed: int, n_pairs: int = 5000, masses: tuple[float, ...] = PAIR_BENCHMARK_MASSES
) -> dict[str, Any]:
    """Held-out pairs of section 5: ``background`` = two background events (Fig. 6 convention), and per
    benchmark mass two events of the point (m_a, c tau / m = 1 m/GeV); feature arrays ``(a, b)`` each (n, 10).

    Background events use ``seed``, the benchmark points ``seed + 1 + k``.
    """
    bkg = simulate_sample("background", 2 * n_pairs, resolution, seed=seed)
    out: dict[str, Any] = {"background": (bkg.features[0::2], bkg.features[1::2])}
    for k, m in enumerate(masses):
        sig = simulate_sample("signal", 2 * n_pairs, resolution, seed=seed + 1 + k, mass_gev=m, ctau_over_m=1.0)
        out[m] = (sig.features[0::2], sig.features[1::2])
    return out


def _pair_validation(model: Any, bench: dict[str, Any], method: str, res_name: str) -> dict[str, Any]:
    sb = model.score(*bench["background"])
    cls = res_name.removesuffix("-ref")
    rows = {}
    for k, m in enumerate(m for m in bench if m != "background"):
        row = separation_summary(model.score(*bench[m]), sb)
        paper_auc = PAPER_PAIR_AUC.get((method, cls))
        paper_rej = PAPER_PAIR_REJECTION.get((method, cls))
        if paper_auc is not None and k < len(paper_auc):
            row["paper_auc"] = paper_auc[k]
            row["paper_rejection_eps_s_0.8"], row["paper_rejection_eps_s_0.9"] = paper_rej[k]
        rows[f"m_a={m:g} GeV, ctau/m=1 m/GeV"] = row
    return rows


def _pairs_sample(
    events: SimulatedEvents | None, res: Resolution, n_pairs: int, seed: int
) -> tuple[EventSample, float]:
    t0 = time.perf_counter()
    if events is None:
        events = simulate("pairs", n_pairs, seed)
    elif (events.run_info.get("mode"), events.run_info.get("seed"), events.run_info.get("n_pairs_requested")) != (
        "pairs",
        seed,
        n_pairs,
    ):
        raise InputError(f"the given events are not simulate('pairs', {n_pairs}, {seed})")
    return measure_events(events, res, seed=seed, n_requested=n_pairs), time.perf_counter() - t0


def _shipped_pair_model(
    method: str,
    resolution: str,
    out_dir: str | Path | None,
    *,
    seed: int,
    n_pairs: int,
    n_validation: int,
    config: TrainConfig,
    progress: bool,
    events: SimulatedEvents | None,
    resume: bool,
) -> dict[str, Any]:
    res = get_resolution(resolution)
    if res.name == "custom":
        raise InputError(f"shipped {method.upper()} classifiers exist for the resolution presets only")
    out = Path(out_dir) if out_dir is not None else shipped_pair_path(method, res.name).parent
    weights = out / f"{method}_{res.name}.pt"
    card_path = out / f"{method}_{res.name}.card.json"
    state = out / f"{method}_{res.name}.state.pt"
    data, t_sim = _pairs_sample(events, res, n_pairs, seed)
    log.info("%s %s: %d pairs measured (%.0f s)", method.upper(), res.name, len(data) // 2, t_sim)
    t1 = time.perf_counter()
    if method == "eco":
        model, history = train_eco(config, data, seed=seed, progress=progress, checkpoint=state, resume=resume)
        described = "hepbump.hunt.eco.EcoClassifier (ECO pair classifier, Table 4)"
        extra: dict[str, Any] = {"architecture": model.architecture.to_dict()}
    else:
        posterior = MassPosterior.pretrained(res.name)
        model, history = train_epo(
            config, data, posterior, seed=seed, progress=progress, checkpoint=state, resume=resume
        )
        described = "hepbump.hunt.epo.EpoClassifier (EPO pair classifier on mass posteriors, Table 5)"
        extra = {
            "architecture": model.architecture.to_dict(),
            "log_max": model.log_max,
            "posterior": f"MassPosterior.pretrained({res.name!r}) (embedded)",
        }
    t_train = time.perf_counter() - t1
    bench = pair_benchmarks(res, seed=seed + 1, n_pairs=n_validation)
    tr = model.training
    card = {
        "model": f"{described}, resolution {res.name}",
        "weights_file": weights.name,
        "call": (
            f"hepbump.hunt.train.train_shipped_{method}({res.name!r}, out_dir, seed={seed}, "
            f"n_pairs={n_pairs}, n_validation={n_validation}, config={config!r})"
        ),
        "seed": seed,
        "resolution": res.to_dict(),
        "data": {
            "n_pairs_requested": n_pairs,
            "n_pairs": tr["n_pairs"],
            "n_train_pairs": tr["n_train_pairs"],
            "n_val_pairs": tr["n_val_pairs"],
            "simulation_seconds": None if events is not None else round(t_sim, 1),
            "measurement_seconds" if events is not None else "simulation_and_measurement_seconds": round(t_sim, 1),
            "events": (
                f"given: simulate('pairs', {n_pairs}, {seed}) run beforehand (shared by both resolutions, ECO, EPO)"
                if events is not None
                else "simulated here"
            ),
            "heldout": f"pair_benchmarks({res.name!r}, seed={seed + 1}, n_pairs={n_validation})",
        },
        "training": {
            "config": config.to_dict(),
            **extra,
            "epochs_run": tr["epochs_run"],
            "best_epoch": tr["best_epoch"],
            "best_val_loss": tr["best_val_loss"],
            "best_train_loss": tr["best_train_loss"],
            "seconds": round(t_train, 1),
            "seconds_per_epoch": round(float(np.mean([h["seconds"] for h in history])), 2),
            "val_loss_curve": [round(h["val_loss"], 5) for h in history],
        },
        "validation_heldout": _pair_validation(model, bench, method, res.name),
        **environment(config.threads),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    _ship(model, weights, card, card_path, state)
    return card


def train_shipped_eco(
    resolution: str,
    out_dir: str | Path | None = None,
    *,
    seed: int = SHIPPED_PAIR_SEED,
    n_pairs: int = 200_000,
    n_validation: int = 5000,
    config: TrainConfig | None = None,
    progress: bool = True,
    events: SimulatedEvents | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Simulate ``n_pairs`` pairs, train the ECO classifier of ``resolution`` (Table 4 recipe, 10 % of the pairs
    validate the early stopping), evaluate the pair ROC on held-out benchmark pairs (:func:`pair_benchmarks`,
    seed + 1) and write ``eco_<resolution>.pt`` and ``eco_<resolution>.card.json`` into ``out_dir`` (default:
    the package's ``hepbump/data/hunt/``). ``events``: the output of ``simulate("pairs", n_pairs, seed)`` if
    already at hand (one simulation serves both resolutions and EPO). The training state is written to
    ``eco_<resolution>.state.pt`` after every epoch; ``resume`` continues from it. Returns the card."""
    config = config or replace(ECO_TRAIN_DEFAULTS, threads=1)
    return _shipped_pair_model(
        "eco",
        resolution,
        out_dir,
        seed=seed,
        n_pairs=n_pairs,
        n_validation=n_validation,
        config=config,
        progress=progress,
        events=events,
        resume=resume,
    )


def train_shipped_epo(
    resolution: str,
    out_dir: str | Path | None = None,
    *,
    seed: int = SHIPPED_PAIR_SEED,
    n_pairs: int = 200_000,
    n_validation: int = 5000,
    config: TrainConfig | None = None,
    progress: bool = True,
    events: SimulatedEvents | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """As :func:`train_shipped_eco` for the EPO classifier (Table 5 recipe), on the same pairs sample, with the
    shipped mass posterior of ``resolution`` (:meth:`MassPosterior.pretrained`, embedded in the file)."""
    config = config or replace(EPO_TRAIN_DEFAULTS, threads=1)
    return _shipped_pair_model(
        "epo",
        resolution,
        out_dir,
        seed=seed,
        n_pairs=n_pairs,
        n_validation=n_validation,
        config=config,
        progress=progress,
        events=events,
        resume=resume,
    )
