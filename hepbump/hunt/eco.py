"""ECO hunt: Event Compatibility based on Observables (ECO/EPO paper, section 3.3, Table 4).

A classifier on the concatenated standardised features of two events ``[z(x_a), z(x_b)]`` (20 inputs; one
10-column feature standardisation, stored with the model, applied to both events) is trained on pairs of
events simulated at the same parameter point (label 1) against pairs at independent points from the prior
(label 0): ``pairs`` mode of :func:`hepbump.alp.simulate.simulate`. Architecture and recipe of Table 4: 4 x 64,
batch normalisation, PReLU, Adam from 2.4e-3 decaying by 0.95 every 500 steps (:data:`ECO_TRAIN_DEFAULTS`);
early stopping here monitors the validation loss (the paper: the accuracy).

The score is made symmetric: every training pair is used in both orders, and :meth:`EcoClassifier.score`
averages the two orders' probabilities, so C_ab = C_ba exactly. :meth:`EcoClassifier.matrix` evaluates all
n x n ordered pairs of a sample in one batched call and returns the symmetric C_ij for
:func:`hepbump.hunt.clean.clean` (the diagonal is the score of an event with itself; cleaning ignores it).
"""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepbump.alp.detector import Resolution, get_resolution
from hepbump.alp.features import FEATURE_NAMES
from hepbump.errors import InputError, InputNotFoundError, ModelFileError
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

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ECO_TRAIN_DEFAULTS",
    "EcoClassifier",
    "shipped_path",
    "split_pairs",
    "eco_pairs",
    "train_eco",
]

log = logging.getLogger(__name__)

FORMAT = "hepbump.hunt.eco"
FORMAT_VERSION = 1
_WHAT = "pair-classifier (ECO)"
_NF = len(FEATURE_NAMES)
#: Table 4 of the paper.
ECO_TRAIN_DEFAULTS = TrainConfig(learning_rate=2.4e-3, batch_norm=True)


def shipped_path(kind: str, resolution: str) -> Path:
    """Where shipped weights live: ``hepbump/data/hunt/<kind>_<resolution>.pt`` (kind ``eco``, ``epo``, ...)."""
    return Path(str(importlib.resources.files("hepbump").joinpath("data", "hunt", f"{kind}_{resolution}.pt")))


def pretrained_path(kind: str, resolution: str, what: str, trainer: str) -> Path:
    """The shipped file of ``kind`` for a resolution preset; InputNotFoundError naming the trainer if absent."""
    name = get_resolution(resolution).name
    path = shipped_path(kind, name)
    if not path.is_file():
        raise InputNotFoundError(
            f"no shipped {what} weights for resolution {name!r} ({path.name}); train them with "
            f"hepbump.hunt.train.{trainer}({name!r}, out_dir)"
        )
    return path


class EcoClassifier:
    """The pair classifier with its feature standardisation (10 columns); ``net`` takes 20 standardised inputs."""

    def __init__(
        self,
        net: torch.nn.Module,
        standardisation: Standardisation,
        architecture: MLPConfig,
        *,
        resolution: str | Resolution | None = None,
        training: Mapping[str, Any] | None = None,
    ) -> None:
        if standardisation.dim != _NF or architecture.n_inputs != 2 * _NF:
            raise InputError(f"the ECO classifier takes two events of {_NF} features ({2 * _NF} inputs)")
        self.net = net.eval()
        self.standardisation = standardisation
        self.architecture = architecture
        self.resolution = None if resolution is None else get_resolution(resolution)
        self.training = dict(training or {})

    def _z(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != _NF:
            raise InputError(f"expected an (n, {_NF}) feature matrix, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("the feature matrix has non-finite values")
        return self.standardisation.apply(x)

    @torch.no_grad()
    def _prob(self, za: np.ndarray, zb: np.ndarray, chunk: int = 65536) -> np.ndarray:
        self.net.eval()
        out = np.empty(za.shape[0], dtype=np.float64)
        for i in range(0, za.shape[0], chunk):
            z = torch.from_numpy(np.hstack([za[i : i + chunk], zb[i : i + chunk]]))
            out[i : i + chunk] = torch.sigmoid(self.net(z)).double().numpy()
        return out

    def score(self, features_a: np.ndarray, features_b: np.ndarray) -> np.ndarray:
        """(n,) compatibility of row i of ``features_a`` with row i of ``features_b``, symmetric in a and b."""
        za, zb = self._z(features_a), self._z(features_b)
        if za.shape[0] != zb.shape[0]:
            raise InputError(f"{za.shape[0]} events a but {zb.shape[0]} events b")
        return 0.5 * (self._prob(za, zb) + self._prob(zb, za))

    def matrix(self, features: np.ndarray, *, chunk_rows: int | None = None) -> np.ndarray:
        """(n, n) symmetric compatibility matrix C_ij of all pairs of a sample, one batched evaluation (or one
        per ``chunk_rows`` rows of the matrix, which bounds the memory for large samples)."""
        z = self._z(features)
        n = z.shape[0]
        if chunk_rows is None:
            s = self._prob(np.repeat(z, n, axis=0), np.tile(z, (n, 1))).reshape(n, n)
        else:
            step = max(1, int(chunk_rows))
            s = np.empty((n, n), dtype=np.float64)
            for a in range(0, n, step):
                za = z[a : a + step]
                s[a : a + step] = self._prob(np.repeat(za, n, axis=0), np.tile(z, (za.shape[0], 1))).reshape(-1, n)
        return 0.5 * (s + s.T)

    def save(self, path: str | Path) -> Path:
        """Write weights, architecture, standardisation, resolution and training record."""
        return write_checkpoint(
            path,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "architecture": self.architecture.to_dict(),
                "standardisation": self.standardisation.to_dict(),
                "resolution": None if self.resolution is None else self.resolution.to_dict(),
                "state_dict": self.net.state_dict(),
                "training": self.training,
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> EcoClassifier:
        """Read a file written by :meth:`save`; :class:`~hepbump.errors.ModelFileError` if it is unusable."""
        ck = read_checkpoint(path, FORMAT, FORMAT_VERSION, _WHAT)
        arch = config_from(MLPConfig, ck["architecture"], path, _WHAT)
        std = config_from(Standardisation, ck["standardisation"], path, _WHAT)
        net = build_mlp(arch)
        load_state(net, ck["state_dict"], path, _WHAT)
        try:
            res = ck.get("resolution")
            return cls(
                net, std, arch, resolution=None if res is None else Resolution(**res), training=ck.get("training") or {}
            )
        except (InputError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: {exc}") from None

    @classmethod
    def pretrained(cls, resolution: str) -> EcoClassifier:
        """The shipped ECO classifier of a resolution preset (``hepbump/data/hunt/eco_<preset>.pt``)."""
        return cls.load(pretrained_path("eco", resolution, _WHAT, "train_shipped_eco"))

    def __repr__(self) -> str:
        res = self.resolution.name if self.resolution is not None else None
        return f"EcoClassifier(resolution={res!r}, hidden={list(self.architecture.hidden)})"


def split_pairs(data: EventSample) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the first and second event of each pair (rows sharing ``group``) and the pair labels."""
    if np.any(data.pair_label < 0):
        raise InputError("ECO training needs a pairs-mode sample (pair_label 0/1 per event)")
    order = np.argsort(data.group, kind="stable")
    g = data.group[order]
    if g.size % 2 or np.any(g[0::2] != g[1::2]) or np.any(g[2::2] == g[1:-1:2]):
        raise InputError("every pair (group) of the sample must hold exactly two events")
    a, b = order[0::2], order[1::2]
    return a, b, data.pair_label[a].astype(np.float64)


def eco_pairs(za: np.ndarray, zb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both orders of each pair: rows ``[za, zb]`` then ``[zb, za]``, labels repeated.

    >>> x, y = eco_pairs(np.zeros((2, 1)), np.ones((2, 1)), np.array([1.0, 0.0]))
    >>> x.tolist(), y.tolist()
    ([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]], [1.0, 0.0, 1.0, 0.0])
    """
    return np.vstack([np.hstack([za, zb]), np.hstack([zb, za])]), np.r_[labels, labels]


def train_eco(
    config: TrainConfig,
    data: EventSample,
    *,
    seed: int,
    progress: bool = False,
    checkpoint: str | Path | None = None,
    resume: bool = False,
) -> tuple[EcoClassifier, list[dict[str, float]]]:
    """Train the ECO classifier on a pairs-mode sample; returns the model (best epoch) and the history."""
    a, b, y = split_pairs(data)
    n = a.size
    perm = np.random.default_rng([seed, 0]).permutation(n)
    n_val = 0 if config.val_fraction == 0 else max(1, int(round(config.val_fraction * n)))
    if n - n_val < 2:
        raise InputError(f"{n} pairs cannot be split into training and validation")
    tr, va = np.sort(perm[n_val:]), np.sort(perm[:n_val])
    std = Standardisation.fit(data.features[np.r_[a[tr], b[tr]]])
    z = std.apply(data.features)
    x_tr, y_tr = eco_pairs(z[a[tr]], z[b[tr]], y[tr])
    validation = eco_pairs(z[a[va]], z[b[va]], y[va]) if n_val else None
    arch = MLPConfig(2 * _NF, config.hidden, config.batch_norm)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_mlp(arch)
    history, record = fit_classifier(
        net,
        lambda epoch: (x_tr, y_tr),
        validation,
        config,
        seed=seed,
        progress=progress,
        checkpoint=checkpoint,
        resume=resume,
        desc=f"ECO {data.record.get('resolution', '')}".strip(),
    )
    params = data.record.get("resolution_parameters")
    training = {
        "config": config.to_dict(),
        "n_pairs": int(n),
        "n_train_pairs": int(tr.size),
        "n_val_pairs": int(n_val),
        "data": data.record,
        **record,
        "history": history,
    }
    return EcoClassifier(
        net, std, arch, resolution=Resolution(**params) if params else None, training=training
    ), history
