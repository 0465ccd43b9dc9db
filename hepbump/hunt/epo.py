"""EPO hunt: Events with Posterior Overlap (ECO/EPO paper, section 3.3, appendix A, Table 5).

Each event's mass posterior (:class:`~hepbump.hunt.posterior.MassPosterior`, 200 grid points in log10 m_a) is
regularised as in appendix A: ``u = (max(ln p, -4) + 4) / (ln p_max + 4)``, i.e. ln p clipped below at
:data:`LOG_FLOOR` and scaled to [0, 1] (``ln p_max``: the largest ln p of the training events, stored with
the model; larger values of new events are clipped to it). The classifier takes the two events' (200,) inputs:

* a *shared per-event* network 200 -> 64 -> 64 -> 128 (ReLU; Table 5's "1D convolutions [64, 64, 128]" read
  as kernel-size-1 convolutions along the event axis of the stacked (200, 2) array, which is what takes it
  to (128, 2) as the paper describes);
* a symmetric pooling over the two events: the element-wise maximum, (128, 2) -> (128,) (the paper's max
  pooling);
* 4 x 64 PReLU dense layers and one logit (Table 5; no batch normalisation; Adam from 5e-4, decay 0.95 every
  500 steps: :data:`EPO_TRAIN_DEFAULTS`).

Swapping the two events leaves the pooled vector bit-for-bit unchanged, so C_ab = C_ba exactly by construction
(no averaging of orders, unlike ECO). It is trained on the pairs sample of the ECO classifier (pairs at one
parameter point, label 1, against pairs at independent points, label 0), with posteriors from a trained
mass-posterior model that the EPO file embeds, so :meth:`EpoClassifier.score` and :meth:`EpoClassifier.matrix`
take feature rows like ECO.

>>> net = EpoNet(EpoArchitecture(grid_size=5, encoder=(4, 3), hidden=(6,)))
>>> x = torch.rand(3, 2, 5)
>>> bool(torch.equal(net(x), net(x.flip(1))))
True
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hepbump.alp.detector import Resolution, get_resolution
from hepbump.errors import InputError, ModelFileError
from hepbump.hunt._nn import (
    MLPConfig,
    Standardisation,
    TrainConfig,
    build_mlp,
    config_from,
    fit_classifier,
    load_state,
    read_checkpoint,
    write_checkpoint,
)
from hepbump.hunt.data import EventSample
from hepbump.hunt.eco import pretrained_path, split_pairs
from hepbump.hunt.posterior import FORMAT as POSTERIOR_FORMAT
from hepbump.hunt.posterior import FORMAT_VERSION as POSTERIOR_FORMAT_VERSION
from hepbump.hunt.posterior import MassPosterior

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LOG_FLOOR",
    "EPO_TRAIN_DEFAULTS",
    "EpoArchitecture",
    "EpoNet",
    "EpoClassifier",
    "regularise",
    "train_epo",
]

log = logging.getLogger(__name__)

FORMAT = "hepbump.hunt.epo"
FORMAT_VERSION = 1
_WHAT = "pair-classifier (EPO)"
#: ln p is clipped below at this value (appendix A).
LOG_FLOOR = -4.0
#: Table 5 of the paper.
EPO_TRAIN_DEFAULTS = TrainConfig(learning_rate=5e-4, batch_norm=False)


def regularise(log_posterior: np.ndarray, log_max: float) -> np.ndarray:
    """``(clip(ln p, LOG_FLOOR, log_max) - LOG_FLOOR) / (log_max - LOG_FLOOR)`` as float32 in [0, 1].

    >>> regularise(np.array([-9.0, -4.0, -1.0, 0.0, 3.0]), 0.0).tolist()
    [0.0, 0.0, 0.75, 1.0, 1.0]
    """
    if not (np.isfinite(log_max) and log_max > LOG_FLOOR):
        raise InputError(f"the upper end of ln p must be finite and > {LOG_FLOOR}, got {log_max}")
    lp = np.asarray(log_posterior, dtype=np.float64)
    return ((np.clip(lp, LOG_FLOOR, log_max) - LOG_FLOOR) / (log_max - LOG_FLOOR)).astype(np.float32)


@dataclass(frozen=True)
class EpoArchitecture:
    """``grid_size`` inputs per event; shared per-event layers ``encoder`` (ReLU); max pooling over the two
    events; dense ``hidden`` layers (PReLU); one logit."""

    grid_size: int = 200
    encoder: tuple[int, ...] = (64, 64, 128)
    hidden: tuple[int, ...] = (64, 64, 64, 64)

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoder", tuple(int(h) for h in self.encoder))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if int(self.grid_size) < 2 or not self.encoder or min(self.encoder) < 1:
            raise InputError(f"EPO architecture needs >= 2 grid points and >= 1 encoder layer, got {self}")
        MLPConfig(self.encoder[-1], self.hidden)  # validates the dense part

    def to_dict(self) -> dict[str, Any]:
        return {"grid_size": int(self.grid_size), "encoder": list(self.encoder), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EpoArchitecture:
        return cls(int(d["grid_size"]), tuple(d["encoder"]), tuple(d["hidden"]))


class EpoNet(nn.Module):
    """Shared per-event encoder, element-wise max over the two events, PReLU head. Input (n, 2, G) or
    (n, 2 G) (event a's G values, then event b's); output (n,) logits."""

    def __init__(self, arch: EpoArchitecture) -> None:
        super().__init__()
        self.grid_size = int(arch.grid_size)
        layers: list[nn.Module] = []
        width = self.grid_size
        for h in arch.encoder:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.encoder = nn.Sequential(*layers)
        self.head = build_mlp(MLPConfig(width, arch.hidden, False))

    def encode(self, u: torch.Tensor) -> torch.Tensor:
        """(..., G) regularised posteriors -> (..., encoder[-1]) per-event features."""
        return self.encoder(u)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        e = self.encode(x.reshape(x.shape[0], 2, self.grid_size))
        return self.head(torch.maximum(e[:, 0], e[:, 1]))


def _posterior_payload(p: MassPosterior) -> dict[str, Any]:
    return {
        "format": POSTERIOR_FORMAT,
        "format_version": POSTERIOR_FORMAT_VERSION,
        "architecture": p.architecture.to_dict(),
        "standardisation": p.standardisation.to_dict(),
        "grid": p.grid.tolist(),
        "resolution": None if p.resolution is None else p.resolution.to_dict(),
        "state_dict": p.net.state_dict(),
    }


def _posterior_from_payload(d: Any, path: str | Path) -> MassPosterior:
    what = "embedded mass-posterior model"
    if not isinstance(d, dict) or d.get("format") != POSTERIOR_FORMAT:
        raise ModelFileError(f"{path}: no {what}")
    if d.get("format_version") != POSTERIOR_FORMAT_VERSION:
        raise ModelFileError(f"{path}: {what} of format version {d.get('format_version')!r}")
    arch = config_from(MLPConfig, d.get("architecture"), path, what)
    std = config_from(Standardisation, d.get("standardisation"), path, what)
    net = build_mlp(arch)
    load_state(net, d.get("state_dict"), path, what)
    try:
        res = d.get("resolution")
        return MassPosterior(
            net, std, arch, grid=np.asarray(d["grid"]), resolution=None if res is None else Resolution(**res)
        )
    except (InputError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: invalid {what}: {exc}") from None


class EpoClassifier:
    """The EPO pair classifier: ``net`` (:class:`EpoNet`), the ``posterior`` model that makes its inputs, and
    ``log_max`` (the upper end of ln p in :func:`regularise`)."""

    def __init__(
        self,
        net: EpoNet,
        posterior: MassPosterior,
        architecture: EpoArchitecture,
        log_max: float,
        *,
        resolution: str | Resolution | None = None,
        training: Mapping[str, Any] | None = None,
    ) -> None:
        if posterior.grid.size != architecture.grid_size:
            raise InputError(
                f"the EPO classifier takes {architecture.grid_size} grid points, "
                f"the posterior has {posterior.grid.size}"
            )
        regularise(np.zeros(1), log_max)  # validates log_max
        self.net = net.eval()
        self.posterior = posterior
        self.architecture = architecture
        self.log_max = float(log_max)
        self.resolution = None if resolution is None else get_resolution(resolution)
        self.training = dict(training or {})

    # -- evaluation ------------------------------------------------------------------------------------
    def inputs(self, features: np.ndarray) -> np.ndarray:
        """(n, G) regularised posteriors of the events (rows of ``features``)."""
        return self.inputs_from_log_posterior(self.posterior.log_posterior(features))

    def inputs_from_log_posterior(self, log_posterior: np.ndarray) -> np.ndarray:
        """(n, G) regularised inputs from log posteriors already on the model's grid."""
        lp = np.atleast_2d(np.asarray(log_posterior, dtype=np.float64))
        if lp.shape[1] != self.architecture.grid_size:
            raise InputError(f"expected log posteriors on {self.architecture.grid_size} points, got {lp.shape[1]}")
        return regularise(lp, self.log_max)

    @torch.no_grad()
    def score_inputs(self, ua: np.ndarray, ub: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """(n,) scores of regularised input pairs (row i of ``ua`` with row i of ``ub``)."""
        if ua.shape != ub.shape:
            raise InputError(f"{ua.shape[0]} events a but {ub.shape[0]} events b")
        self.net.eval()
        out = np.empty(ua.shape[0], dtype=np.float64)
        for i in range(0, ua.shape[0], chunk):
            x = torch.from_numpy(np.stack([ua[i : i + chunk], ub[i : i + chunk]], axis=1))
            out[i : i + chunk] = torch.sigmoid(self.net(x)).double().numpy()
        return out

    def score(self, features_a: np.ndarray, features_b: np.ndarray) -> np.ndarray:
        """(n,) compatibility of row i of ``features_a`` with row i of ``features_b`` (symmetric exactly)."""
        fa, fb = np.asarray(features_a), np.asarray(features_b)
        if fa.shape[0] != fb.shape[0]:
            raise InputError(f"{fa.shape[0]} events a but {fb.shape[0]} events b")
        return self.score_inputs(self.inputs(fa), self.inputs(fb))

    @torch.no_grad()
    def matrix_from_log_posterior(self, log_posterior: np.ndarray, chunk_rows: int = 256) -> np.ndarray:
        """(n, n) C_ij from the events' log posteriors: each event is encoded once, then all pairs are pooled
        and scored in batches; symmetric exactly."""
        u = self.inputs_from_log_posterior(log_posterior)
        self.net.eval()
        e = self.net.encode(torch.from_numpy(u))
        n = e.shape[0]
        out = np.empty((n, n), dtype=np.float64)
        for a in range(0, n, chunk_rows):
            pooled = torch.maximum(e[a : a + chunk_rows, None, :], e[None, :, :])
            s = torch.sigmoid(self.net.head(pooled.reshape(-1, e.shape[1]))).double().numpy()
            out[a : a + chunk_rows] = s.reshape(-1, n)
        # (i, j) and (j, i) see the same pooled input; averaging removes batch-dependent rounding of the head
        return 0.5 * (out + out.T)

    def matrix(self, features: np.ndarray) -> np.ndarray:
        """(n, n) symmetric compatibility matrix C_ij of all pairs of a sample (the diagonal is unused)."""
        return self.matrix_from_log_posterior(self.posterior.log_posterior(features))

    # -- files -----------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write weights, architecture, ``log_max``, the embedded posterior model and the training record."""
        return write_checkpoint(
            path,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "architecture": self.architecture.to_dict(),
                "standardisation": {"log_floor": LOG_FLOOR, "log_max": self.log_max},
                "resolution": None if self.resolution is None else self.resolution.to_dict(),
                "state_dict": self.net.state_dict(),
                "posterior": _posterior_payload(self.posterior),
                "training": self.training,
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> EpoClassifier:
        """Read a file written by :meth:`save`; :class:`~hepbump.errors.ModelFileError` if it is unusable."""
        ck = read_checkpoint(path, FORMAT, FORMAT_VERSION, _WHAT)
        arch = config_from(EpoArchitecture, ck["architecture"], path, _WHAT)
        pre = ck["standardisation"]
        if not isinstance(pre, dict) or pre.get("log_floor") != LOG_FLOOR:
            raise ModelFileError(f"{path}: EPO preprocessing record {pre!r} (expected log_floor {LOG_FLOOR})")
        posterior = _posterior_from_payload(ck.get("posterior"), path)
        try:
            net = EpoNet(arch)
        except InputError as exc:
            raise ModelFileError(f"{path}: {exc}") from None
        load_state(net, ck["state_dict"], path, _WHAT)
        try:
            res = ck.get("resolution")
            return cls(
                net,
                posterior,
                arch,
                float(pre["log_max"]),
                resolution=None if res is None else Resolution(**res),
                training=ck.get("training") or {},
            )
        except (InputError, KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: {exc}") from None

    @classmethod
    def pretrained(cls, resolution: str) -> EpoClassifier:
        """The shipped EPO classifier of a resolution preset (``hepbump/data/hunt/epo_<preset>.pt``)."""
        return cls.load(pretrained_path("epo", resolution, _WHAT, "train_shipped_epo"))

    def __repr__(self) -> str:
        res = self.resolution.name if self.resolution is not None else None
        a = self.architecture
        return f"EpoClassifier(resolution={res!r}, encoder={list(a.encoder)}, hidden={list(a.hidden)})"


def train_epo(
    config: TrainConfig,
    data: EventSample,
    posterior: MassPosterior,
    *,
    seed: int,
    progress: bool = False,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    encoder: tuple[int, ...] = (64, 64, 128),
    chunk_events: int = 20_000,
    log_posterior: np.ndarray | None = None,
) -> tuple[EpoClassifier, list[dict[str, float]]]:
    """Train the EPO classifier on a pairs-mode sample with the posteriors of ``posterior``; returns the model
    (best epoch) and the history. The training/validation split of the pairs is that of
    :func:`~hepbump.hunt.eco.train_eco` with the same seed; ``config.hidden`` is the dense head.
    ``log_posterior``: ``posterior.log_posterior(data.features)`` if already at hand (several seeds on one
    sample), (n, G)."""
    if config.batch_norm:
        raise InputError("the EPO classifier has no batch normalisation (Table 5)")
    a, b, y = split_pairs(data)
    n = a.size
    perm = np.random.default_rng([seed, 0]).permutation(n)
    n_val = 0 if config.val_fraction == 0 else max(1, int(round(config.val_fraction * n)))
    if n - n_val < 2:
        raise InputError(f"{n} pairs cannot be split into training and validation")
    tr, va = np.sort(perm[n_val:]), np.sort(perm[:n_val])
    if log_posterior is not None:
        lp = np.asarray(log_posterior, dtype=np.float64)
        if lp.shape != (len(data), posterior.grid.size):
            raise InputError(f"log_posterior has shape {lp.shape}, expected {(len(data), posterior.grid.size)}")
    else:
        lp = np.empty((len(data), posterior.grid.size), dtype=np.float64)
        for i in range(0, len(data), chunk_events):
            lp[i : i + chunk_events] = posterior.log_posterior(data.features[i : i + chunk_events])
    log_max = float(lp[np.r_[a[tr], b[tr]]].max())
    u = regularise(lp, log_max)
    del lp
    x_tr = np.hstack([u[a[tr]], u[b[tr]]])
    validation = (np.hstack([u[a[va]], u[b[va]]]), y[va]) if n_val else None
    arch = EpoArchitecture(posterior.grid.size, encoder, config.hidden)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = EpoNet(arch)
    history, record = fit_classifier(
        net,
        lambda epoch: (x_tr, y[tr]),
        validation,
        config,
        seed=seed,
        progress=progress,
        checkpoint=checkpoint,
        resume=resume,
        desc=f"EPO {data.record.get('resolution', '')}".strip(),
    )
    params = data.record.get("resolution_parameters")
    training = {
        "config": config.to_dict(),
        "n_pairs": int(n),
        "n_train_pairs": int(tr.size),
        "n_val_pairs": int(n_val),
        "log_max": log_max,
        "data": data.record,
        **record,
        "history": history,
    }
    model = EpoClassifier(
        net, posterior, arch, log_max, resolution=Resolution(**params) if params else None, training=training
    )
    return model, history
