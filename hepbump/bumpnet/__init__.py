"""BumpNet: a fully convolutional network mapping a mass histogram to per-bin bump significances.

Reference: "Automatizing the search for mass resonances using BumpNet" (the paper; sections cited in the
modules). One module per concern:

* :mod:`hepbump.bumpnet.functions`, :mod:`hepbump.bumpnet.binning`: the analytic background families (eq. 2.1,
  stretching) and the mass axes;
* :mod:`hepbump.bumpnet.data`: samples, signals and the per-bin LR-significance target; the mother-histogram bank;
* :mod:`hepbump.bumpnet.shards`: datasets on disk (:func:`generate_dataset`) and streaming;
* :mod:`hepbump.bumpnet.model`: the network; :mod:`hepbump.bumpnet.train`: training with checkpoints (:func:`train`).

The torch-based names (``BumpNet``, ``ModelConfig``, ``TrainConfig``, ...) are imported on first use, so the
data side works without importing torch. The training entry point is :func:`hepbump.bumpnet.train.train` (not
re-exported: the name is the module's).

>>> from hepbump.bumpnet import DataConfig
>>> DataConfig().signal_width_bins
(1.0, 2.0, 3.0)
"""

from __future__ import annotations

import importlib

from hepbump.bumpnet.binning import AxisConfig
from hepbump.bumpnet.data import DataConfig, HistogramBatch, MotherBank, generate
from hepbump.bumpnet.shards import DatasetError, generate_dataset, iterate_batches, load_manifest

_LAZY = {
    "BumpNet": "model",
    "ModelConfig": "model",
    "count_parameters": "model",
    "CheckpointError": "train",
    "TrainConfig": "train",
    "TrainResult": "train",
    "load_checkpoint": "train",
}

__all__ = [
    "AxisConfig",
    "BumpNet",
    "CheckpointError",
    "DataConfig",
    "DatasetError",
    "HistogramBatch",
    "ModelConfig",
    "MotherBank",
    "TrainConfig",
    "TrainResult",
    "count_parameters",
    "generate",
    "generate_dataset",
    "iterate_batches",
    "load_checkpoint",
    "load_manifest",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"hepbump.bumpnet.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'hepbump.bumpnet' has no attribute {name!r}")
