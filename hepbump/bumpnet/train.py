"""Training BumpNet on CPU: streamed shards, masked MSE, Adam with cosine annealing, a checkpoint every epoch.

:func:`train` reads a dataset made by :func:`hepbump.bumpnet.shards.generate_dataset`; the last
``val_fraction`` of its shards (at least one) are the validation set. The loss is the mean squared error of the
per-bin significance over the real bins of a batch (padding is masked out of the loss and the network), as in the
paper (section 2.1: Adam, MSE, ``CosineAnnealingLR`` from 1e-3 to 0 over the epochs).

``TrainConfig.signal_weight`` (default 0: the plain MSE) weights the squared error of each real bin by ``w = 1 +
signal_weight * |Z|``, ``Z`` its target, normalised per batch so the mean weight over the batch's real bins is 1
(:func:`signal_weighted_mse`). Most bins are background noise with ``|Z| ~ 1``; without weights a missed signal
bin of ``Z = 20`` is one bin among thousands. With a weight the recorded ``train_loss`` and ``val_loss`` are the
weighted loss (not comparable between weights; the best checkpoint is chosen by it) and the history adds
``val_mse``, the plain MSE of the validation set.

``out_dir`` receives ``last.pt`` (every epoch), ``best.pt`` (lowest validation loss), ``history.csv`` and
``history.json`` (the learning curve), all written atomically. ``resume=True`` continues from ``last.pt``: the
shuffling of epoch ``e`` depends only on ``(seed, e)`` and the optimiser and scheduler states are restored, so a
resumed run reproduces the uninterrupted one.

``init_from`` warm-starts a new run from the weights of another checkpoint (for example the shipped network):
the architecture must have the same parameters (``edge_mode`` may differ, since padding has no weights), and the
input map keeps that network's ``input_scale`` so the weights see the inputs they were trained on. A network
without the edge-distance channel may start one with it: the new input gets zero weights, so training starts
from exactly the source's predictions. The optimiser and the cosine schedule start afresh with this run's
configuration; the checkpoints record the origin (``init_from``: file, epochs, best validation loss).

Checkpoints are plain dictionaries read with ``torch.load(weights_only=True)``; :func:`load_checkpoint` turns
every problem (missing, corrupted, foreign file, other format version or architecture) into a one-line
:class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from hepbump.bumpnet.model import BumpNet, ModelConfig, count_parameters
from hepbump.bumpnet.shards import iterate_batches, load_manifest
from hepbump.errors import ModelFileError
from hepbump.io.atomic import atomic_path

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointError",
    "TrainConfig",
    "TrainResult",
    "export_pretrained",
    "load_checkpoint",
    "masked_mse",
    "signal_weighted_mse",
    "train",
]

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "hepbump.bumpnet.checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(ModelFileError):
    """A checkpoint that cannot be used; the message is one line and names the file."""


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe (paper: Adam, lr 1e-3 cosine-annealed to 0, MSE; batch 5000 and 300 epochs on a GPU).

    ``model.input_scale`` is replaced by the training data's largest count when ``scale_from_data`` (the global
    scaling onto [0, 1]). ``max_batches_per_epoch`` caps an epoch (quick runs). ``threads`` goes to
    ``torch.set_num_threads``. A resumed run must use the same configuration (the cosine schedule depends on
    ``epochs``). ``signal_weight`` (>= 0) up-weights the bins of large ``|Z|`` in the loss (module docstring);
    0 is the paper's plain MSE, and a checkpoint written before the option loads with 0.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 20
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    val_fraction: float = 0.1
    scale_from_data: bool = True
    seed: int = 0
    threads: int = 2
    max_batches_per_epoch: int | None = None
    signal_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.threads < 1 or not self.learning_rate > 0:
            raise ValueError("TrainConfig: epochs, batch_size, threads and learning_rate must be positive")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError("TrainConfig.val_fraction must be in [0, 1)")
        w = self.signal_weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not (math.isfinite(w) and w >= 0):
            raise ValueError(f"TrainConfig.signal_weight must be a finite number >= 0, got {w!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        d = dict(d)
        return cls(model=ModelConfig.from_dict(d.pop("model")), **d)


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`: the trained model (last epoch), its files and the learning curve.

    ``best_val_loss`` is the lowest validation loss (the training loss when ``val_fraction`` is 0).
    """

    model: BumpNet
    out_dir: Path
    checkpoint: Path
    best_checkpoint: Path
    history: tuple[dict, ...]
    best_val_loss: float


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the bins where ``mask`` is True.

    >>> masked_mse(torch.tensor([[1.0, 5.0]]), torch.tensor([[0.0, 0.0]]), torch.tensor([[True, False]]))
    tensor(1.)
    """
    m = mask.to(pred.dtype)
    return ((pred - target) ** 2 * m).sum() / m.sum().clamp(min=1.0)


def signal_weighted_mse(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, signal_weight: float = 0.0
) -> torch.Tensor:
    """Weighted mean squared error over the bins where ``mask`` is True, weights ``1 + signal_weight * |target|``.

    ``sum(w (pred - target)^2) / sum(w)`` over the masked-in bins: the weights are normalised to a mean of 1 over
    them. ``signal_weight = 0`` is :func:`masked_mse` itself (the same computation).

    >>> pred, target = torch.tensor([[1.0, 0.0, 0.0, 9.0]]), torch.tensor([[0.0, 2.0, 0.0, 0.0]])
    >>> mask = torch.tensor([[True, True, True, False]])
    >>> signal_weighted_mse(pred, target, mask, 1.0)  # weights 1, 3, 1: (1 + 3 * 4) / 5
    tensor(2.6000)
    """
    if signal_weight == 0:
        return masked_mse(pred, target, mask)
    w = mask.to(pred.dtype) * (1.0 + signal_weight * target.abs())
    return ((pred - target) ** 2 * w).sum() / w.sum().clamp(min=1.0)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _same_train_config(stored, config: TrainConfig) -> bool:
    """Whether a checkpoint's stored training configuration is ``config`` (fields added since default)."""
    try:
        return TrainConfig.from_dict(stored) == config
    except (AttributeError, KeyError, TypeError, ValueError):
        return False


def load_checkpoint(path: str | Path, *, expected: ModelConfig | None = None) -> tuple[BumpNet, dict]:
    """Load ``path`` into a :class:`BumpNet`; returns ``(model, checkpoint dict)``.

    With ``expected``, a checkpoint of another architecture is refused. Raises :class:`CheckpointError`.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"BumpNet checkpoint {path} does not exist")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure of the unpickler means an unusable file
        raise CheckpointError(f"{path} is not a readable BumpNet checkpoint (corrupted?): {_one_line(exc)}") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a BumpNet checkpoint")
    if ck.get("format_version") != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has BumpNet checkpoint format version {ck.get('format_version')!r}; "
            f"this hepbump reads version {CHECKPOINT_VERSION}"
        )
    try:
        config = ModelConfig.from_dict(ck["model_config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path} has an invalid model configuration: {_one_line(exc)}") from None
    if expected is not None:
        diff = {
            k: (v, getattr(expected, k))
            for k, v in asdict(config).items()
            if k != "input_scale" and getattr(expected, k) != v
        }
        if diff:
            what = ", ".join(f"{k}={a!r} (expected {b!r})" for k, (a, b) in diff.items())
            raise CheckpointError(f"{path} holds a BumpNet of another architecture: {what}")
    model = BumpNet(config)
    try:
        model.load_state_dict(ck["model_state"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: the weights do not match the stored architecture: {_one_line(exc)}") from None
    return model, ck


def _save(path: Path, payload: dict) -> None:
    buf = io.BytesIO()
    torch.save(payload, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())


def _write_history(out: Path, history: list[dict]) -> None:
    with atomic_path(out / "history.json") as tmp:
        tmp.write_text(json.dumps(history, indent=1))
    with atomic_path(out / "history.csv") as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def _to_torch(batch):
    return torch.from_numpy(batch.counts), torch.from_numpy(batch.target), torch.from_numpy(batch.mask)


@torch.no_grad()
def evaluate_loss(model: BumpNet, paths: list[Path], batch_size: int, signal_weight: float = 0.0) -> float:
    """Masked MSE over every real bin of the shards ``paths`` (NaN for none), weighted as
    :func:`signal_weighted_mse` (normalised over the whole set) when ``signal_weight`` > 0."""
    model.eval()
    total, bins = 0.0, 0.0
    for sb in iterate_batches(paths, batch_size):
        x, y, m = _to_torch(sb)
        if signal_weight == 0:
            n = float(m.sum())
            total += float(masked_mse(model(x, m), y, m)) * n
        else:
            n = float((m.to(y.dtype) * (1.0 + signal_weight * y.abs())).sum())
            total += float(signal_weighted_mse(model(x, m), y, m, signal_weight)) * n
        bins += n
    return total / bins if bins else math.nan


def _split(data_dir: Path, manifest: dict, val_fraction: float) -> tuple[list[Path], list[Path], list[dict]]:
    entries = manifest["shards"]
    n_val = 0 if val_fraction == 0 else max(1, round(val_fraction * len(entries)))
    if n_val >= len(entries):
        raise ValueError(f"{data_dir}: {len(entries)} shard(s) cannot be split into training and validation")
    train_e = entries[: len(entries) - n_val]
    return [data_dir / e["file"] for e in train_e], [data_dir / e["file"] for e in entries[len(train_e) :]], train_e


#: Fields of :class:`ModelConfig` a warm start may change: they carry no weights (``edge_channel`` may be added).
_WARM_START_FREE = ("edge_mode", "input_scale", "edge_channel")


def _grow_edge_channel(state: dict[str, torch.Tensor], target: BumpNet) -> dict[str, torch.Tensor]:
    """``state`` (a network without the edge channel) widened to ``target``'s shapes with zero weights on the
    new input: the edge distance is the last input channel of each stack's first convolution and the last
    feature of the MLP's first layer, so the widened network computes exactly what the source did."""
    grown = dict(state)
    for name, param in target.state_dict().items():
        old = state[name]
        if old.shape != param.shape:  # one more input channel (dim 1), appended last
            extra = torch.zeros(old.shape[0], param.shape[1] - old.shape[1], *old.shape[2:], dtype=old.dtype)
            grown[name] = torch.cat([old, extra], dim=1)
    return grown


def _warm_start(path: str | Path, model_config: ModelConfig) -> tuple[BumpNet, dict]:
    """A :class:`BumpNet` of ``model_config`` holding the weights of checkpoint ``path``, and the origin record."""
    source, ck = load_checkpoint(path)
    diff = {
        k: (v, getattr(model_config, k))
        for k, v in asdict(source.config).items()
        if k not in _WARM_START_FREE and getattr(model_config, k) != v
    }
    if source.config.edge_channel and not model_config.edge_channel:
        diff["edge_channel"] = (True, False)
    if diff:
        what = ", ".join(f"{k}={a!r} (this run: {b!r})" for k, (a, b) in diff.items())
        raise CheckpointError(f"{path} cannot initialise this network: {what}")
    model = BumpNet(replace(model_config, input_scale=source.config.input_scale))
    state = source.state_dict()
    if model_config.edge_channel and not source.config.edge_channel:
        state = _grow_edge_channel(state, model)
    model.load_state_dict(state)
    origin = {"file": str(path), "epochs": len(ck.get("history", ())), "best_val_loss": ck.get("best_val_loss")}
    return model, origin


def train(
    config: TrainConfig,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    init_from: str | Path | None = None,
) -> TrainResult:
    """Train BumpNet on the dataset in ``data_dir``, writing checkpoints and the learning curve to ``out_dir``.

    ``resume=True`` continues from ``out_dir/last.pt`` (a fresh start if there is none); without it an existing
    ``last.pt`` raises ``FileExistsError``. ``init_from`` starts a new run from another checkpoint's weights
    (module docstring); it is ignored when resuming, whose ``last.pt`` already holds them.
    """
    from tqdm.auto import tqdm

    torch.set_num_threads(config.threads)
    data_dir, out = Path(data_dir), Path(out_dir)
    manifest = load_manifest(data_dir)
    train_paths, val_paths, train_entries = _split(data_dir, manifest, config.val_fraction)
    model_config = config.model
    if config.scale_from_data:
        model_config = replace(model_config, input_scale=max(1.0, max(e["max_count"] for e in train_entries)))
    last, best = out / "last.pt", out / "best.pt"
    if last.exists() and not resume:
        raise FileExistsError(f"{last} exists: pass resume=True to continue that training, or use another directory")

    torch.manual_seed(config.seed)
    model = BumpNet(model_config)
    origin = None
    if init_from is not None and not (resume and last.exists()):
        model, origin = _warm_start(init_from, model_config)
        model_config = model.config
        log.info("initialised from %s (%s epochs)", init_from, origin["epochs"])
    out.mkdir(parents=True, exist_ok=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=0.0)
    history: list[dict] = []
    best_val = math.inf
    if resume and last.exists():
        model, ck = load_checkpoint(last, expected=model_config)
        if not _same_train_config(ck.get("train_config"), config):
            raise CheckpointError(f"{last} was written by another training configuration; cannot resume with this one")
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs, eta_min=0.0)
        optimizer.load_state_dict(ck["optimizer_state"])
        scheduler.load_state_dict(ck["scheduler_state"])
        history = [dict(h) for h in ck["history"]]
        best_val = float(ck["best_val_loss"])
        origin = ck.get("init_from")
        model_config = model.config
        log.info("resuming %s after epoch %d", last, len(history))

    n_batches = sum(-(-e["n_samples"] // config.batch_size) for e in train_entries)
    if config.max_batches_per_epoch is not None:
        n_batches = min(n_batches, config.max_batches_per_epoch)
    for epoch in range(len(history), config.epochs):
        start = time.perf_counter()
        model.train()
        rng = np.random.default_rng([config.seed, epoch])
        total, bins, samples = 0.0, 0.0, 0
        lr = optimizer.param_groups[0]["lr"]
        bar = tqdm(
            total=n_batches,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            unit="batch",
            file=sys.stderr,
            disable=not progress,
            leave=False,
        )
        for i, sb in enumerate(iterate_batches(train_paths, config.batch_size, rng=rng)):
            if i >= n_batches:
                break
            x, y, m = _to_torch(sb)
            loss = signal_weighted_mse(model(x, m), y, m, config.signal_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            n = float(m.sum())
            total, bins, samples = total + float(loss.detach()) * n, bins + n, samples + x.shape[0]
            bar.update(1)
            bar.set_postfix(loss=f"{total / bins:.4g}")
        bar.close()
        scheduler.step()
        val = evaluate_loss(model, val_paths, config.batch_size, config.signal_weight)
        row = {"epoch": epoch + 1, "train_loss": total / max(bins, 1.0), "val_loss": val}
        if config.signal_weight:
            row["val_mse"] = evaluate_loss(model, val_paths, config.batch_size)
        row.update(lr=lr, samples=samples, seconds=round(time.perf_counter() - start, 3))
        history.append(row)
        score = history[-1]["train_loss"] if math.isnan(val) else val  # no validation set: the training loss
        improved = score < best_val
        best_val = min(score, best_val)
        payload = {
            "format": CHECKPOINT_FORMAT,
            "format_version": CHECKPOINT_VERSION,
            "model_config": model_config.to_dict(),
            "train_config": config.to_dict(),
            "model_state": model.state_dict(),
            "optimizer_state": optimizer.state_dict(),
            "scheduler_state": scheduler.state_dict(),
            "history": history,
            "best_val_loss": best_val,
            "dataset": {
                "dir": str(data_dir),
                "seed": manifest["recipe"]["seed"],
                "n_samples": manifest["totals"]["n_samples"],
            },
        }
        if origin is not None:
            payload["init_from"] = origin
        _save(last, payload)
        if improved:
            _save(best, payload)
        _write_history(out, history)
        log.info(
            "epoch %d/%d: train %.4g, validation %.4g (%.1f s)",
            epoch + 1,
            config.epochs,
            history[-1]["train_loss"],
            val,
            history[-1]["seconds"],
        )
    return TrainResult(model, out, last, best, tuple(history), best_val)


def export_pretrained(checkpoint: str | Path, dest: str | Path, card: dict) -> Path:
    """Write the weights of a training checkpoint (no optimizer state) to ``dest`` and its model card beside it.

    ``card`` (JSON-serialisable: commands, data recipe, hardware, figures) is completed with the architecture,
    the training configuration, the learning curve and the library versions; written as ``<dest>.card.json``
    (``bumpnet.pt`` -> ``bumpnet.card.json``). Returns the card's path.
    """
    from hepbump.modelcard import environment

    model, ck = load_checkpoint(checkpoint)
    dest = Path(dest)
    payload = {k: ck[k] for k in ("format", "format_version", "model_config", "train_config", "history", "dataset")}
    if "init_from" in ck:
        payload["init_from"] = ck["init_from"]
    payload["model_state"] = model.state_dict()
    payload["best_val_loss"] = ck["best_val_loss"]
    _save(dest, payload)
    full = {
        **card,
        "weights_file": dest.name,
        "parameters": count_parameters(model),
        "model_config": ck["model_config"],
        "train_config": ck["train_config"],
        "dataset": ck["dataset"],
        **({"init_from": ck["init_from"]} if "init_from" in ck else {}),
        "epochs_trained": len(ck["history"]),
        "best_val_loss": ck["best_val_loss"],
        "learning_curve": ck["history"],
        **environment(),
    }
    card_path = dest.with_suffix(".card.json")
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(full, indent=1) + "\n")
    return card_path
