"""The BumpNet network: parallel 1D convolution stacks and a per-bin MLP (paper section 2.1, Fig. 1).

Default configuration = the paper: four parallel stacks of four ``Conv1d`` layers (64 channels, ReLU, kernel
sizes 3, 9, 15, 25 in the four stacks, zero padding keeping the length), their outputs concatenated with the
raw (scaled) input, i.e. ``4 x 64 + 1 = 257`` features per bin, then an MLP applied to every bin independently
(128, 64, 32 ReLU units and one linear output: the predicted significance of the bin). The network is fully
convolutional: any number of bins.

**Input scaling**: three fixed maps of the counts per bin, chosen in the configuration:

* ``"linear"``, the paper's: ``counts / input_scale``, a global linear map onto [0, 1] (``input_scale`` is set to
  the training data's largest count by :func:`hepbump.bumpnet.train.train`);
* ``"log1p"`` (the default): ``log1p(counts) / log1p(input_scale)``, also a global map onto [0, 1];
* ``"anscombe"``: ``(2 sqrt(counts + 3/8) - 2 sqrt(3/8)) / ANSCOMBE_UNIT``. The Anscombe transform
  makes the Poisson variance ~1 at every count, so a local excess of Z standard deviations is a step of ~Z /
  ``ANSCOMBE_UNIT`` whatever the number of events, and the significance is close to a *difference* between a
  bin and the smooth background estimated from its neighbours, which convolutions compute exactly. Under the
  global maps the same excess is a step that shrinks with the counts (~1e-3 of the input range at 1e4 events per
  bin), and the network has to multiply by sqrt(b).

The default is the map that trained best at the shipped size (comparisons in ``benchmarks/README.md``:
the Anscombe map learned fastest in a short small run but trained worse and less stably at 32 channels, its inputs
reaching ~60 at 1e5 events per bin).
The output is the significance itself (no target scaling; a linear target scaling only rescales the MSE).

**Padding**: batches of histograms of different lengths are zero-padded on the right; with ``mask`` (True on
real bins, a prefix of each row) the hidden activations of padded positions are zeroed after every convolution, so
each histogram's output is exactly that of the histogram alone (its convolutions see the same padding).

**Histogram edges** (``edge_mode``, ``edge_channel``; the defaults keep the paper's network and the shipped
weights bit for bit):

* ``edge_mode="zeros"`` (default, the paper's): every convolution pads its input with zeros ("same" padding).
  At a histogram's ends this is a step from the scaled counts to 0, far larger than any signal (~0.9 of the
  log1p range against ~0.004 for a 8 sigma excess over 3e4 events), and the network learned to ignore the
  bins within its reach of an edge.
* ``edge_mode="replicate"``: every convolution's input is extended on the left with copies of its bin 0 and on
  the right with copies of the histogram's *own* last real bin (per row, from ``mask``, not the batch's last
  column), then convolved without padding: no step at the edges, and a histogram in a padded batch gives the
  output it gives alone. Vectorised: ``F.pad(mode="replicate")`` without padding, a ``gather`` with per-row
  clamped indices with it.
* ``edge_channel=True``: a second input channel (into the first convolution of every stack and into the MLP)
  holding the distance ``d = min(i, n - 1 - i)`` of bin ``i`` to the nearest end of its histogram of ``n`` bins,
  encoded as ``min(d, K) / K`` with ``K = layers_per_stack * (max(kernel_sizes) // 2)``
  (:attr:`ModelConfig.edge_reach`, 48 bins by default): the reach of the deepest stack, i.e. the distance
  beyond which the padding cannot influence any feature. It is 0 at both ends (so it is continuous with
  either padding), rises linearly and saturates at 1 in the interior, and tells the network how much of a
  bin's neighbourhood is padding. Padded positions of a batch hold 0.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hepbump.errors import InputError

__all__ = ["BumpNet", "ModelConfig", "count_parameters"]

_TRANSFORMS = ("linear", "log1p", "anscombe")
_EDGE_MODES = ("zeros", "replicate")
#: Units of the ``"anscombe"`` input: ``2 sqrt(n + 3/8)`` divided by this (a fixed number, not fitted to data).
ANSCOMBE_UNIT = 10.0


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`BumpNet` (defaults: the paper's).

    >>> ModelConfig().features_per_bin
    257
    """

    channels: int = 64
    kernel_sizes: tuple[int, ...] = (3, 9, 15, 25)
    layers_per_stack: int = 4
    mlp_hidden: tuple[int, ...] = (128, 64, 32)
    input_transform: str = "log1p"
    input_scale: float = 1.0e5
    edge_mode: str = "zeros"
    edge_channel: bool = False

    def __post_init__(self) -> None:
        if self.channels < 1 or self.layers_per_stack < 1 or not self.kernel_sizes:
            raise ValueError("ModelConfig: channels, layers_per_stack and kernel_sizes must be positive/non-empty")
        if any(k < 1 or k % 2 == 0 for k in self.kernel_sizes):
            raise ValueError(
                f"ModelConfig.kernel_sizes must be odd (symmetric 'same' padding), got {self.kernel_sizes}"
            )
        if self.input_transform not in _TRANSFORMS:
            raise ValueError(f"ModelConfig.input_transform must be one of {_TRANSFORMS}, got {self.input_transform!r}")
        if not self.input_scale > 0:
            raise ValueError("ModelConfig.input_scale must be > 0")
        if self.edge_mode not in _EDGE_MODES:
            raise InputError(f"ModelConfig.edge_mode must be one of {_EDGE_MODES}, got {self.edge_mode!r}")
        if not isinstance(self.edge_channel, bool):
            raise InputError(f"ModelConfig.edge_channel must be True or False, got {self.edge_channel!r}")

    @property
    def features_per_bin(self) -> int:
        """Width of the representation entering the MLP: all stacks' channels, the raw input (and edge channel)."""
        return self.channels * len(self.kernel_sizes) + self.input_channels

    @property
    def input_channels(self) -> int:
        """Channels of the network's input: the scaled counts, plus the edge distance with ``edge_channel``."""
        return 2 if self.edge_channel else 1

    @property
    def edge_reach(self) -> int:
        """Bins from an end within which the padding influences the features (the deepest stack's reach).

        >>> ModelConfig().edge_reach
        48
        """
        return max(1, self.layers_per_stack * (max(self.kernel_sizes) // 2))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Inverse of :meth:`to_dict`; keys missing from older files (``edge_mode``, ``edge_channel``) default."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


class BumpNet(nn.Module):
    """Counts ``(B, n_bins)`` (events per bin, optionally with a ``(B, n_bins)`` bool mask) -> Z ``(B, n_bins)``.

    >>> net = BumpNet(ModelConfig(channels=4, kernel_sizes=(3, 5), layers_per_stack=2, mlp_hidden=(8,)))
    >>> net(torch.rand(2, 37) * 100).shape
    torch.Size([2, 37])
    """

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        c, c_in = config.channels, config.input_channels
        # "replicate" pads in forward() (per histogram) and convolves without padding; same parameters either way
        same = config.edge_mode == "zeros"
        self.stacks = nn.ModuleList(
            nn.ModuleList(
                nn.Conv1d(c_in if i == 0 else c, c, k, padding=k // 2 if same else 0)
                for i in range(config.layers_per_stack)
            )
            for k in config.kernel_sizes
        )
        widths = (config.features_per_bin, *config.mlp_hidden)
        # the per-bin MLP as kernel-1 convolutions: the same linear layers applied to every bin
        self.mlp = nn.ModuleList(nn.Conv1d(a, b, 1) for a, b in itertools.pairwise(widths))
        self.head = nn.Conv1d(widths[-1], 1, 1)

    def scale(self, counts: torch.Tensor) -> torch.Tensor:
        """The input transformation (see the module docstring)."""
        s = self.config.input_scale
        if self.config.input_transform == "log1p":
            return torch.log1p(counts) / torch.log1p(torch.tensor(s, dtype=counts.dtype))
        if self.config.input_transform == "anscombe":
            return (2.0 * torch.sqrt(counts + 0.375) - 2.0 * 0.375**0.5) / ANSCOMBE_UNIT
        return counts / s

    @classmethod
    def pretrained(cls, name: str = "default") -> BumpNet:
        """The weights shipped with hepbump (:func:`hepbump.bumpnet.predict.load_pretrained`); works offline."""
        from hepbump.bumpnet.predict import load_pretrained

        return load_pretrained(name)

    def predict(self, histograms, **kwargs):
        """Per-bin significances of one histogram or a list of them (:func:`hepbump.bumpnet.predict.predict`)."""
        from hepbump.bumpnet.predict import predict

        return predict(self, histograms, **kwargs)

    def edge_distance(self, n_bins: int, lengths: torch.Tensor | None = None, dtype=torch.float32) -> torch.Tensor:
        """The ``edge_channel`` input, ``(B, n_bins)`` (``(1, n_bins)`` without ``lengths``): ``min(d, K) / K``.

        ``d`` is the distance in bins to the nearest end of the histogram (of ``lengths[b]`` bins, else
        ``n_bins``), ``K`` = :attr:`ModelConfig.edge_reach`; 0 on padded positions.

        >>> net = BumpNet(ModelConfig(channels=2, kernel_sizes=(5,), layers_per_stack=2, mlp_hidden=(4,)))
        >>> net.edge_distance(7)
        tensor([[0.0000, 0.2500, 0.5000, 0.7500, 0.5000, 0.2500, 0.0000]])
        """
        k = self.config.edge_reach
        if lengths is None:
            i, n = torch.arange(n_bins)[None, :], torch.tensor([[n_bins]])
        else:
            i, n = torch.arange(n_bins, device=lengths.device)[None, :], lengths.reshape(-1, 1)
        d = torch.minimum(i, n - 1 - i).clamp(min=0, max=k)
        return d.to(dtype) / k

    @staticmethod
    def _lengths(mask: torch.Tensor) -> torch.Tensor:
        """Real bins per row of a right-padded ``mask``; a mask that is not a prefix of each row is refused."""
        mask = mask.to(torch.bool)
        lengths = mask.sum(dim=1)
        if not torch.equal(mask, torch.arange(mask.shape[1], device=mask.device)[None, :] < lengths[:, None]):
            raise InputError(
                "BumpNet: with edge_mode='replicate' or edge_channel the mask must be True on a prefix of each row "
                "(histograms padded on the right)"
            )
        return lengths

    @staticmethod
    def _replicate_index(pad: int, n_bins: int, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, 1, n_bins + 2 pad)`` source bins of the padded input: bin 0 left, each row's last real bin right."""
        j = torch.arange(-pad, n_bins + pad, device=lengths.device)[None, :]
        return torch.minimum(j, lengths[:, None] - 1).clamp(min=0).unsqueeze(1)

    def forward(self, counts: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.scale(counts).unsqueeze(1)
        # a batch without padding needs no masking (saves the multiplications, ~9% of a training step)
        m = None if mask is None or bool(mask.all()) else mask.unsqueeze(1).to(x.dtype)
        if m is not None:
            x = x * m
        replicate = self.config.edge_mode == "replicate"
        lengths = self._lengths(mask) if m is not None and (replicate or self.config.edge_channel) else None
        if self.config.edge_channel:
            edge = self.edge_distance(x.shape[-1], lengths, x.dtype).to(x.device).unsqueeze(1)
            x = torch.cat([x, edge.expand(x.shape[0], -1, -1)], dim=1)
        features = []
        for k, stack in zip(self.config.kernel_sizes, self.stacks):
            pad = k // 2
            index = None if lengths is None or not replicate else self._replicate_index(pad, x.shape[-1], lengths)
            h = x
            for conv in stack:
                if index is not None:
                    h = h.gather(2, index.expand(h.shape[0], h.shape[1], -1))
                elif replicate:
                    h = F.pad(h, (pad, pad), mode="replicate")
                h = torch.relu(conv(h))
                if m is not None:
                    h = h * m
            features.append(h)
        h = torch.cat([*features, x], dim=1)
        for layer in self.mlp:
            h = torch.relu(layer(h))
        return self.head(h).squeeze(1)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters.

    >>> count_parameters(BumpNet())
    686721
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
