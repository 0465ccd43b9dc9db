"""Predicting with BumpNet: histograms of any lengths in, per-bin significances out, batched exactly.

:func:`predict` accepts one histogram or a list of them: any UHI histogram (``hist.Hist``, an uproot ``TH1``,
...), a ``(counts, edges)`` pair or a plain array of counts. Histograms are sorted by length and cut into
batches of similar lengths, zero-padded with a mask (:class:`~hepbump.bumpnet.model.BumpNet` zeroes the padded
positions after every convolution), so the result for each histogram is the same as predicting it alone.

:func:`load_pretrained` loads the weights shipped in ``hepbump/data/bumpnet/`` (model card beside them);
``BumpNet.pretrained()`` and ``BumpNet.predict()`` call these functions.

>>> import numpy as np, torch
>>> from hepbump.bumpnet.model import BumpNet, ModelConfig
>>> net = BumpNet(ModelConfig(channels=4, kernel_sizes=(3, 5), layers_per_stack=2, mlp_hidden=(8,)))
>>> z = predict(net, [np.full(40, 100.0), np.full(75, 10.0)])
>>> [a.shape for a in z]
[(40,), (75,)]
>>> bool(np.allclose(z[1], predict(net, np.full(75, 10.0)), atol=1e-5))
True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepbump.bumpnet.model import BumpNet
from hepbump.errors import InputError, InputNotFoundError

__all__ = ["PRETRAINED", "as_counts", "predict", "load_pretrained"]

log = logging.getLogger(__name__)

#: Shipped weights: name -> file in ``hepbump/data/bumpnet/`` (each with a ``.card.json`` model card).
PRETRAINED = {"default": "bumpnet.pt"}
#: Bins per batch (sum over the padded histograms): bounds the memory of one forward pass.
_BINS_PER_BATCH = 1 << 16


def as_counts(x: Any) -> np.ndarray:
    """The counts of one histogram (UHI histogram, ``(counts, edges)`` or 1D array) as float32, checked.

    >>> as_counts([3, 0, 1.5]).tolist()
    [3.0, 0.0, 1.5]
    """
    from hepbump.histogram import as_binned

    if isinstance(x, (np.ndarray, list)) and np.ndim(x) == 1:
        counts = np.asarray(x, dtype=np.float64)
    else:
        counts = as_binned(x).counts
    if counts.ndim != 1 or counts.size == 0:
        raise InputError(f"a histogram needs a 1D array of at least one bin, got shape {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise InputError("histogram counts must be finite and >= 0")
    return counts.astype(np.float32)


def _is_single(x: Any) -> bool:
    if isinstance(x, np.ndarray):
        return x.ndim == 1
    if isinstance(x, tuple) and len(x) == 2:  # (counts, edges)
        return True
    if isinstance(x, list):
        return len(x) > 0 and np.isscalar(x[0])
    return hasattr(x, "axes") or hasattr(x, "values")  # a UHI histogram


def predict(model: BumpNet, histograms: Any, *, bins_per_batch: int = _BINS_PER_BATCH) -> Any:
    """Predicted significance per bin: one float64 array per histogram (a list for a list input).

    ``histograms`` is one histogram or a sequence of them (lengths may differ); see the module docstring.
    """
    single = _is_single(histograms)
    items: Sequence[Any] = [histograms] if single else list(histograms)
    counts = [as_counts(h) for h in items]
    out: list[np.ndarray] = [np.empty(0)] * len(counts)
    order = np.argsort([c.size for c in counts], kind="stable")
    model.eval()
    with torch.inference_mode():
        start = 0
        while start < len(order):
            # grow the batch while the padded size (longest x number) stays within the budget
            stop, longest = start, 0
            while stop < len(order):
                longest_next = max(longest, counts[order[stop]].size)
                if stop > start and longest_next * (stop - start + 1) > bins_per_batch:
                    break
                longest, stop = longest_next, stop + 1
            idx = order[start:stop]
            batch = np.zeros((len(idx), longest), dtype=np.float32)
            mask = np.zeros((len(idx), longest), dtype=bool)
            for row, i in enumerate(idx):
                batch[row, : counts[i].size] = counts[i]
                mask[row, : counts[i].size] = True
            z = model(torch.from_numpy(batch), torch.from_numpy(mask)).numpy()
            for row, i in enumerate(idx):
                out[i] = z[row, : counts[i].size].astype(np.float64)
            start = stop
    return out[0] if single else out


def load_pretrained(name: str = "default") -> BumpNet:
    """The shipped BumpNet ``name`` (see :data:`PRETRAINED`), in evaluation mode; works offline."""
    from hepbump.bumpnet.train import load_checkpoint

    if name not in PRETRAINED:
        raise InputError(f"no pretrained BumpNet named {name!r}; shipped: {', '.join(PRETRAINED)}")
    path = Path(str(resources.files("hepbump.data").joinpath("bumpnet", PRETRAINED[name])))
    if not path.is_file():
        raise InputNotFoundError(f"{path}: the pretrained BumpNet weights are not installed")
    model, _ = load_checkpoint(path)
    return model.eval()
