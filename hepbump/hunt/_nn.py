"""Shared pieces of the hunt's classifiers: feature standardisation, the MLP, the training loop, checkpoints.

Every classifier of the hunt (the mass posterior's ratio estimator, the ECO pair classifier) is a fully
connected network ``Linear -> [BatchNorm] -> PReLU`` x hidden layers, then ``Linear -> 1`` logit, trained with
binary cross-entropy, Adam and an exponential learning-rate decay (``lr0 * decay_rate ** (step / decay_steps)``,
the Keras ``ExponentialDecay`` of the paper's tables), with early stopping on the validation loss. The inputs
are standardised with the mean and standard deviation of the training set, stored with the model.

Checkpoints are plain dictionaries (``torch.save``; read back with ``weights_only=True``): ``format``,
``format_version``, ``architecture``, ``standardisation``, ``state_dict``, ``training`` and model-specific
entries. :func:`read_checkpoint` turns every problem into a one-line :class:`~hepbump.errors.ModelFileError`
naming the file. :func:`fit_classifier` can keep the whole training state in a file after every epoch and
resume from it (:data:`CHECKPOINT_FORMAT`).

>>> s = Standardisation.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
>>> s.apply(np.array([[2.0, 5.0]])).tolist()
[[0.0, 0.0]]
"""

from __future__ import annotations

import copy
import io
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from hepbump.errors import InputError, InputNotFoundError, ModelFileError
from hepbump.io.atomic import atomic_path

__all__ = [
    "Standardisation",
    "MLPConfig",
    "build_mlp",
    "TrainConfig",
    "fit_classifier",
    "write_checkpoint",
    "read_checkpoint",
    "load_state",
    "CHECKPOINT_FORMAT",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Standardisation:
    """Per-column ``(x - mean) / std`` (a column of zero spread keeps std 1)."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if mean.shape != std.shape or not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise InputError("standardisation needs finite means and positive standard deviations of equal length")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardisation:
        """Mean and standard deviation of the columns of ``x`` (n, d)."""
        x = np.asarray(x, dtype=np.float64)
        std = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(std > 0, std, 1.0))

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Standardised copy of ``x`` (..., d) as float32 (the networks' dtype)."""
        return ((np.asarray(x, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Standardisation:
        return cls(np.asarray(d["mean"]), np.asarray(d["std"]))


@dataclass(frozen=True)
class MLPConfig:
    """Architecture: ``n_inputs`` -> hidden layers (``Linear [-> BatchNorm1d] -> PReLU``) -> one logit.

    >>> build_mlp(MLPConfig(3, (8, 8))).forward(torch.zeros(2, 3)).shape
    torch.Size([2])
    """

    n_inputs: int
    hidden: tuple[int, ...] = (64, 64, 64, 64)
    batch_norm: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if int(self.n_inputs) < 1 or not self.hidden or min(self.hidden) < 1:
            raise InputError(f"MLP needs >= 1 input and >= 1 hidden layer of >= 1 unit, got {self}")

    def to_dict(self) -> dict[str, Any]:
        return {"n_inputs": int(self.n_inputs), "hidden": list(self.hidden), "batch_norm": bool(self.batch_norm)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MLPConfig:
        return cls(int(d["n_inputs"]), tuple(d["hidden"]), bool(d["batch_norm"]))


class _Logit(nn.Sequential):
    """An ``nn.Sequential`` whose output (n, 1) is returned as (n,) logits."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return super().forward(x).squeeze(-1)


def build_mlp(config: MLPConfig) -> nn.Module:
    """The network of ``config`` (float32, default PyTorch initialisation; seed torch beforehand)."""
    layers: list[nn.Module] = []
    width = int(config.n_inputs)
    for h in config.hidden:
        layers.append(nn.Linear(width, h))
        if config.batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.PReLU(h))
        width = h
    layers.append(nn.Linear(width, 1))
    return _Logit(*layers)


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe; the defaults are Table 3 of the paper (the posterior's ratio estimator).

    ``epochs``: at most; ``batch_size``; ``learning_rate``: initial Adam step; ``decay_rate`` per
    ``decay_steps`` optimiser steps (continuous exponential decay); early stopping when the monitored loss
    (validation, or training if ``val_fraction`` is 0) has not improved by more than ``min_delta`` for
    ``patience`` epochs, restoring the best weights; ``hidden``/``batch_norm``: the architecture;
    ``threads``: ``torch.set_num_threads`` during training (None leaves it alone).
    """

    epochs: int = 100
    batch_size: int = 4096
    learning_rate: float = 2.4e-2
    decay_rate: float = 0.95
    decay_steps: int = 500
    patience: int = 20
    min_delta: float = 5e-3
    val_fraction: float = 0.1
    hidden: tuple[int, ...] = (64, 64, 64, 64)
    batch_norm: bool = False
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        for name in ("epochs", "batch_size", "decay_steps", "patience"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{type(self).__name__}.{name} must be >= 1, got {getattr(self, name)}")
        if not (self.learning_rate > 0 and 0 < self.decay_rate <= 1 and self.min_delta >= 0):
            raise InputError(f"{type(self).__name__}: need learning_rate > 0, 0 < decay_rate <= 1, min_delta >= 0")
        if not 0.0 <= self.val_fraction < 1.0:
            raise InputError(f"{type(self).__name__}.val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.threads is not None and int(self.threads) < 1:
            raise InputError(f"{type(self).__name__}.threads must be >= 1 or None, got {self.threads}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


@torch.no_grad()
def _mean_loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    net.eval()
    total = 0.0
    for i in range(0, len(y), batch):
        total += float(
            nn.functional.binary_cross_entropy_with_logits(net(x[i : i + batch]), y[i : i + batch], reduction="sum")
        )
    return total / max(len(y), 1)


def fit_classifier(
    net: nn.Module,
    epoch_data: Callable[[int], tuple[np.ndarray, np.ndarray]],
    validation: tuple[np.ndarray, np.ndarray] | None,
    config: TrainConfig,
    *,
    seed: int,
    progress: bool = False,
    desc: str = "training",
    checkpoint: str | Path | None = None,
    resume: bool = False,
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """Train ``net`` (logits) with BCE on ``epoch_data(epoch) -> (inputs float32 (n, d), labels (n,))``.

    ``epoch_data`` may return new samples every epoch (fresh mismatched pairs); ``validation`` is fixed.
    Returns the per-epoch history and a record (best epoch, losses, time); the best weights are loaded into
    ``net``, which is left in ``eval`` mode.

    ``checkpoint``: after every epoch the whole training state (weights, optimiser, schedule, batch-order
    generator, history, best weights, early-stopping clock) is written there atomically; with ``resume`` an
    existing file is continued from (it must come from the same ``config`` up to ``epochs`` and ``threads``,
    seed and network, else :class:`ModelFileError`), so an interrupted run ends as the uninterrupted one would.
    ``epoch_data`` must then depend on the epoch only, as in the hunt's trainers.
    """
    old_threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(int(config.threads))
    try:
        return _fit(
            net,
            epoch_data,
            validation,
            config,
            seed=seed,
            progress=progress,
            desc=desc,
            checkpoint=None if checkpoint is None else Path(checkpoint),
            resume=resume,
        )
    finally:
        torch.set_num_threads(old_threads)


CHECKPOINT_FORMAT = "hepbump.hunt.training-state"
_STATE_WHAT = "training-state"


def _read_state(path: Path, config: TrainConfig, seed: int, net: nn.Module) -> dict[str, Any]:
    try:
        st = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure of the unpickler means an unusable file
        raise ModelFileError(f"{path}: not a readable {_STATE_WHAT} file (corrupted?): {_one_line(exc)}") from None
    if not isinstance(st, dict) or st.get("format") != CHECKPOINT_FORMAT or st.get("format_version") != 1:
        raise ModelFileError(f"{path}: not a {_STATE_WHAT} file of this hepbump")
    free = ("epochs", "threads")  # may change between runs without changing the result of the epochs run
    same = {k: v for k, v in config.to_dict().items() if k not in free}
    if {k: v for k, v in (st.get("config") or {}).items() if k not in free} != same or st.get("seed") != int(seed):
        raise ModelFileError(f"{path}: the {_STATE_WHAT} comes from another configuration or seed; cannot resume")
    load_state(net, st["net"], path, _STATE_WHAT)
    return st


def _write_state(path: Path, state: dict[str, Any]) -> None:
    """Write the training state at once (temporary file + rename), also inside an ``atomic_group``: the state
    exists to survive the interruption that makes the group discard its outputs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        torch.save(state, name)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _fit(net, epoch_data, validation, config, *, seed, progress, desc, checkpoint=None, resume=False):
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: config.decay_rate ** (step / config.decay_steps))
    if validation is not None:
        xv = torch.from_numpy(np.ascontiguousarray(validation[0], dtype=np.float32))
        yv = torch.from_numpy(np.ascontiguousarray(validation[1], dtype=np.float32))
    history: list[dict[str, float]] = []
    best, best_epoch, best_state, waited, start, stopped = math.inf, -1, None, 0, 0, False
    if resume and checkpoint is not None and checkpoint.is_file():
        st = _read_state(checkpoint, config, seed, net)
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        gen.set_state(st["generator"])
        history, best, best_epoch, waited = list(st["history"]), st["best"], st["best_epoch"], st["waited"]
        best_state, start, stopped = st["best_state"], len(history), st["stopped"]
        log.info("%s: resuming from %s after epoch %d", desc, checkpoint, start - 1)
    t0 = time.perf_counter() - sum(h["seconds"] for h in history)
    bar = tqdm(range(start, config.epochs if not stopped else start), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        te = time.perf_counter()
        x_np, y_np = epoch_data(epoch)
        x = torch.from_numpy(np.ascontiguousarray(x_np, dtype=np.float32))
        y = torch.from_numpy(np.ascontiguousarray(y_np, dtype=np.float32))
        order = torch.randperm(len(y), generator=gen)
        net.train()
        total = 0.0
        for i in range(0, len(y), config.batch_size):
            idx = order[i : i + config.batch_size]
            if len(idx) < 2 and config.batch_norm:
                continue  # batch norm cannot train on a single sample
            loss = nn.functional.binary_cross_entropy_with_logits(net(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        train_loss = total / max(len(y), 1)
        val_loss = _mean_loss(net, xv, yv, 65536) if validation is not None else math.nan
        monitored = val_loss if validation is not None else train_loss
        if not math.isfinite(monitored):
            raise FloatingPointError(f"{desc}: the loss became {monitored} at epoch {epoch} (lower the learning rate)")
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.perf_counter() - te,
        }
        history.append(row)
        log.info("%s epoch %d: train %.5f, validation %.5f (%.1f s)", desc, epoch, train_loss, val_loss, row["seconds"])
        bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
        if monitored < best - config.min_delta or best_state is None:
            best, best_epoch, waited = monitored, epoch, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            if monitored < best:  # an improvement below min_delta: keep the better weights, the clock runs on
                best, best_epoch, best_state = monitored, epoch, copy.deepcopy(net.state_dict())
            waited += 1
            stopped = waited >= config.patience
        if checkpoint is not None:
            state = {
                "format": CHECKPOINT_FORMAT,
                "format_version": 1,
                "config": config.to_dict(),
                "seed": int(seed),
                "net": net.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "generator": gen.get_state(),
                "history": history,
                "best": best,
                "best_epoch": best_epoch,
                "best_state": best_state,
                "waited": waited,
                "stopped": stopped,
            }
            _write_state(checkpoint, state)
        if stopped:
            log.info("%s: early stop at epoch %d (best epoch %d)", desc, epoch, best_epoch)
            break
    bar.close()
    net.load_state_dict(best_state)
    net.eval()
    record = {
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "best_monitored_loss": best,
        "best_val_loss": history[best_epoch]["val_loss"],
        "best_train_loss": history[best_epoch]["train_loss"],
        "seconds": time.perf_counter() - t0,
        "seed": int(seed),
    }
    return history, record


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def write_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """``torch.save`` of ``payload`` to ``path``, written atomically."""
    path = Path(path)
    buf = io.BytesIO()
    torch.save(payload, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path


def read_checkpoint(path: str | Path, fmt: str, version: int, what: str) -> dict[str, Any]:
    """The checkpoint dict of ``path``, checked to be of format ``fmt`` and version ``version``.

    ``what`` names the model in messages (``"mass-posterior model"``). Missing file:
    :class:`~hepbump.errors.InputNotFoundError`; anything else unusable: :class:`ModelFileError` (one line).
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{path}: no such {what} file")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure of the unpickler means an unusable file
        raise ModelFileError(f"{path}: not a readable {what} file (corrupted?): {_one_line(exc)}") from None
    if not isinstance(ck, dict) or ck.get("format") != fmt:
        found = ck.get("format") if isinstance(ck, dict) else None
        raise ModelFileError(f"{path}: not a {what} file (format {found!r}, expected {fmt!r})")
    if ck.get("format_version") != version:
        raise ModelFileError(
            f"{path}: {what} format version {ck.get('format_version')!r}; this hepbump reads version {version}"
        )
    for key in ("architecture", "standardisation", "state_dict"):
        if key not in ck:
            raise ModelFileError(f"{path}: {what} file without {key!r}")
    return ck


def load_state(net: nn.Module, state: Any, path: str | Path, what: str) -> None:
    """Load ``state`` into ``net``; :class:`ModelFileError` naming ``path`` if the shapes or names differ."""
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, KeyError, AttributeError) as exc:
        raise ModelFileError(
            f"{path}: the weights do not match the stored {what} architecture: {_one_line(exc)}"
        ) from None


def config_from(cls: type, d: dict[str, Any], path: str | Path, what: str, **extra: Any) -> Any:
    """``cls.from_dict(d)`` with any failure as a :class:`ModelFileError` naming ``path``."""
    try:
        return cls.from_dict(d, **extra)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: invalid {what} configuration: {_one_line(exc)}") from None
