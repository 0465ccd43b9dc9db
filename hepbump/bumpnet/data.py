"""BumpNet training data: backgrounds, signals and the per-bin significance target, generated in batches.

A *sample* is one mass histogram: Poisson-fluctuated counts ``n`` of a known expected background ``b`` plus an
optional Gaussian signal, and the per-bin target ``Z``. Samples are drawn in batches that share a bin count
(vectorised numpy over the whole batch; a :class:`numpy.random.Generator` is passed explicitly everywhere).

**Backgrounds** (expected counts per bin, ``b``):

* *analytic*: one of the eleven families of eq. 2.1 (:mod:`hepbump.bumpnet.functions`), through anchors at the
  centres ``x1``, ``x2`` of the first and last bins of an axis drawn by :mod:`hepbump.bumpnet.binning`. As in
  the paper the curve gives the expected number of events of a bin at the bin centre (not a density);
  ``y1 > y2`` are drawn in ``y_range`` uniformly or, for a fraction ``log_y_fraction`` of the samples,
  log-uniformly (sparse tails with < 1 expected event per bin). A fraction ``stretch_fraction`` is stretched
  (Fig. 2b).
* *data-like*: "mother" histograms (expected counts with their edges, e.g. the DM histograms smoothed by
  :func:`hepbump.stats.smooth_background`) held in a :class:`MotherBank`; a fraction ``mother_fraction`` of the
  samples uses them when a bank is given. :meth:`MotherBank.split` holds out a fraction (25%) for testing.

Every expectation is floored at ``min_expected`` events (``lr_significance`` needs ``b > 0``).

**Signals**: a fraction ``signal_fraction`` of the samples get a Gaussian of width ``w`` bins, ``w`` drawn from
``signal_width_bins`` (1 bin as in the paper; 2 and 3 bins, the paper's future work). "``w`` bins wide" means
``sigma = w x`` the width of the bin holding the mean (:func:`hepbump.stats.signal_widths`); the mean is uniform
in mass inside a uniformly drawn bin; the bin fractions are those of :func:`hepbump.stats.gaussian_templates`.
The yield is set by the noise-free (Asimov) significance of the peak bin ``c``: ``z_peak = lr_significance(s_c
+ b_c, b_c)`` is drawn uniformly in ``z_range`` (0 to 10). Background and signal are Poisson-fluctuated
separately and added: ``n = Poisson(b) + Poisson(s)``.

**Edge signals** (``edge_signal_fraction``, default 0: positions uniform over all bins as above): that fraction
of the signal samples has its mean drawn (uniformly in mass) inside a bin of an *edge window* of
``edge_signal_bins`` bins (10 by default), half of them at each end of the histogram:

* right: the last ``edge_signal_bins`` bins;
* left: the ``edge_signal_bins`` bins that follow the first ``floor(0.1 n)`` bins, i.e. the first bins a scan
  looks at (:func:`hepbump.bumpnet.scan.first_bin` leaves the first 10% out of its maximum). For ``n >= 100``
  this window is 10 or more bins from the end; the network's edge blindness matters there mostly for short
  histograms, where the excluded bins are fewer than the network's reach.

Windows are cut to the histogram (a histogram shorter than a window has it all). A uniform position puts only
about ``2 * 8 / n`` of the signals within 8 bins of an end (and data-like mothers rarely have dense edges), so
the network sees few dense edge signals: ``edge_signal_fraction = 0.3`` makes them common without starving the
interior. Related recipe knobs: ``mother_scale_range`` (e.g. ``(1, 1e3)``) makes dense data-like backgrounds,
up to the right end; ``z_range`` (e.g. ``(0, 15)``) trains signals above Z = 10.

**Target** (one definition for every signal width and for background-only samples)::

    Z_i = lr_significance(n_i, b_i)

the signed per-bin likelihood-ratio significance of the observed count against the true expected background
(known to the generator), as in the paper (section 2.1: "the true statistical significance per histogram bin
... serves as the target"). It contains the background fluctuations, so a background-only histogram has a
target of ~N(0, 1) noise. For a signal wider than one bin the target stays per bin: each bin under the bump
carries the significance of its own excess, and ``max_i Z_i`` is the *local per-bin* excess, lower than the
significance of the whole signal window (the effect the paper sees in section 3.2.3). The window significance
is not put into the target because it is defined only relative to a known signal shape; samples record the
signal's mean, sigma and yield so that window or LR-scan significances (:func:`hepbump.stats.lr_scan`) can be
computed at evaluation time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields

import numpy as np
from scipy.special import ndtr

from hepbump.bumpnet.binning import AxisConfig, draw_axes
from hepbump.bumpnet.functions import N_FAMILIES, draw_inner_anchors, family_curves, stretched_curves
from hepbump.histogram import as_binned
from hepbump.stats import lr_significance, smooth_background

__all__ = [
    "MOTHER_SOURCE",
    "DataConfig",
    "HistogramBatch",
    "MotherBank",
    "analytic_backgrounds",
    "concatenate",
    "edge_windows",
    "generate",
    "inject_signals",
    "signal_for_peak_z",
]

log = logging.getLogger(__name__)

#: ``source`` value of samples whose background comes from a :class:`MotherBank` (0-10 are the families).
MOTHER_SOURCE = N_FAMILIES


@dataclass(frozen=True)
class DataConfig:
    """Recipe of the generator. Masses in GeV, yields in events; see the module docstring.

    ``chunk_size`` analytic samples share one bin count, drawn (integer) uniformly in ``n_bins_range``.
    ``family_probs`` (11 numbers) defaults to uniform; ``inv_power_range`` is the range of ``n`` of family 10.
    ``mother_scale_range``: mother histograms are scaled by a log-uniform factor in this range (``0 < lo <= hi``).
    ``z_range``: the peak-bin significance of a signal is uniform in it (``0 <= lo <= hi``).
    ``edge_signal_fraction``: fraction of the signal samples whose signal lies in an edge window of
    ``edge_signal_bins`` bins, half at each end (module docstring); 0 keeps the uniform positions.
    """

    n_bins_range: tuple[int, int] = (30, 300)
    chunk_size: int = 512
    axes: AxisConfig = field(default_factory=AxisConfig)
    family_probs: tuple[float, ...] | None = None
    inv_power_range: tuple[float, float] = (0.01, 10.0)
    y_range: tuple[float, float] = (1e-2, 1e5)
    log_y_fraction: float = 0.5
    stretch_fraction: float = 0.5
    mother_fraction: float = 2 / 3
    mother_scale_range: tuple[float, float] = (1.0, 1.0)
    signal_fraction: float = 0.8
    signal_width_bins: tuple[float, ...] = (1.0, 2.0, 3.0)
    signal_width_probs: tuple[float, ...] = (0.5, 0.25, 0.25)
    z_range: tuple[float, float] = (0.0, 10.0)
    min_expected: float = 1e-3
    edge_signal_fraction: float = 0.0
    edge_signal_bins: int = 10

    def __post_init__(self) -> None:
        lo, hi = self.n_bins_range
        if not 2 <= lo <= hi:
            raise ValueError(f"DataConfig.n_bins_range must satisfy 2 <= lo <= hi, got {self.n_bins_range}")
        if self.family_probs is not None and (
            len(self.family_probs) != N_FAMILIES or not np.isclose(sum(self.family_probs), 1.0)
        ):
            raise ValueError(f"DataConfig.family_probs needs {N_FAMILIES} probabilities summing to 1")
        if len(self.signal_width_bins) != len(self.signal_width_probs) or not np.isclose(
            sum(self.signal_width_probs), 1.0
        ):
            raise ValueError("DataConfig.signal_width_probs must match signal_width_bins and sum to 1")
        if not 0 < self.y_range[0] < self.y_range[1] or self.min_expected <= 0:
            raise ValueError("DataConfig: need 0 < y_range[0] < y_range[1] and min_expected > 0")
        for name in (
            "log_y_fraction",
            "stretch_fraction",
            "mother_fraction",
            "signal_fraction",
            "edge_signal_fraction",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"DataConfig.{name} must be in [0, 1], got {getattr(self, name)!r}")
        if isinstance(self.edge_signal_bins, bool) or not isinstance(self.edge_signal_bins, (int, np.integer)):
            raise ValueError(f"DataConfig.edge_signal_bins must be an integer >= 1, got {self.edge_signal_bins!r}")
        if self.edge_signal_bins < 1:
            raise ValueError(f"DataConfig.edge_signal_bins must be an integer >= 1, got {self.edge_signal_bins!r}")
        lo, hi = self.z_range
        if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 <= lo <= hi):
            raise ValueError(f"DataConfig.z_range must satisfy 0 <= lo <= hi (finite), got {self.z_range}")
        lo, hi = self.mother_scale_range
        if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 < lo <= hi):
            raise ValueError(
                f"DataConfig.mother_scale_range must satisfy 0 < lo <= hi (finite), got {self.mother_scale_range}"
            )

    def to_dict(self) -> dict:
        """Plain JSON-able dictionary (nested :class:`AxisConfig` included)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["axes"] = {f.name: getattr(self.axes, f.name) for f in fields(self.axes)}
        return out

    @classmethod
    def from_dict(cls, d: dict) -> DataConfig:
        """Inverse of :meth:`to_dict` (lists become tuples).

        >>> DataConfig.from_dict(DataConfig().to_dict()) == DataConfig()
        True
        """
        tup = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k != "axes"}
        axes = AxisConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.get("axes", {}).items()})
        return cls(**tup, axes=axes)


@dataclass(frozen=True)
class HistogramBatch:
    """Samples with a common bin count ``n``. Arrays have a leading batch dimension ``B``.

    ``counts`` (observed), ``background`` (expected), ``signal`` (Poisson-fluctuated injected events) and
    ``target`` have shape ``(B, n)``; ``edges`` ``(B, n + 1)`` in GeV. Per sample: ``source`` (family 0-10 or
    :data:`MOTHER_SOURCE`), ``stretched``, ``axis_kind`` (index into ``binning.AXIS_KINDS``, -1 for mothers),
    ``mother`` (index in the bank, -1), and the signal: ``signal_mean_gev``, ``signal_sigma_gev`` (NaN when
    none), ``signal_width_bins`` (0), ``signal_events`` (expected yield in the histogram range, 0),
    ``signal_bin`` (peak bin, -1), ``z_peak`` (Asimov per-bin significance of the peak bin, 0).
    """

    counts: np.ndarray
    background: np.ndarray
    signal: np.ndarray
    target: np.ndarray
    edges: np.ndarray
    source: np.ndarray
    stretched: np.ndarray
    axis_kind: np.ndarray
    mother: np.ndarray
    signal_mean_gev: np.ndarray
    signal_sigma_gev: np.ndarray
    signal_width_bins: np.ndarray
    signal_events: np.ndarray
    signal_bin: np.ndarray
    z_peak: np.ndarray

    def __len__(self) -> int:
        return self.counts.shape[0]

    @property
    def n_bins(self) -> int:
        return self.counts.shape[1]


def concatenate(batches: list[HistogramBatch]) -> HistogramBatch:
    """Join batches with the same bin count."""
    return HistogramBatch(
        **{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(HistogramBatch)}
    )


@dataclass(frozen=True)
class MotherBank:
    """Expected-background "mother" histograms with their edges (GeV): the data-like backgrounds.

    >>> bank = MotherBank.from_histograms([([4.0, 2.0, 1.0], [0.0, 1.0, 2.0, 3.0])] * 4, smooth=False)
    >>> train, test = bank.split(0.25, seed=0)
    >>> len(train), len(test)
    (3, 1)
    """

    edges: tuple[np.ndarray, ...]
    expected: tuple[np.ndarray, ...]
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if not len(self.edges) == len(self.expected) == len(self.names):
            raise ValueError("MotherBank: edges, expected and names must have the same length")
        for e, b, name in zip(self.edges, self.expected, self.names):
            if e.shape != (b.shape[0] + 1,) or np.any(b < 0) or np.any(np.diff(e) <= 0):
                raise ValueError(f"MotherBank: mother {name!r} has inconsistent edges/expectation")

    def __len__(self) -> int:
        return len(self.names)

    def padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(expected, edges, lengths)`` as arrays padded to the longest mother (computed once, cached).

        Padded expectations are 0; padded edges repeat the last edge (zero-width bins).
        """
        cache = self.__dict__.get("_padded")
        if cache is None:
            lengths = np.array([b.shape[0] for b in self.expected], dtype=np.int64)
            width = int(lengths.max())
            expected = np.zeros((len(self), width))
            edges = np.empty((len(self), width + 1))
            for i, (e, b) in enumerate(zip(self.edges, self.expected)):
                expected[i, : len(b)] = b
                edges[i, : len(e)] = e
                edges[i, len(e) :] = e[-1]
            cache = (expected, edges, lengths)
            object.__setattr__(self, "_padded", cache)
        return cache

    @classmethod
    def from_histograms(cls, histograms, names=None, *, smooth: bool = True) -> MotherBank:
        """Mothers from histograms (any UHI histogram or ``(counts, edges)``), smoothed by default."""
        edges, expected = [], []
        for h in histograms:
            binned = as_binned(h)
            expected.append(smooth_background(binned).expected if smooth else binned.counts.copy())
            edges.append(binned.edges.copy())
        names = tuple(names) if names is not None else tuple(f"mother{i}" for i in range(len(edges)))
        return cls(tuple(edges), tuple(expected), names)

    def subset(self, index) -> MotherBank:
        return MotherBank(*(tuple(seq[i] for i in index) for seq in (self.edges, self.expected, self.names)))

    def split(self, test_fraction: float = 0.25, *, seed: int) -> tuple[MotherBank, MotherBank]:
        """Random ``(train, test)`` split holding out ``round(test_fraction * len)`` mothers (paper: 25%)."""
        order = np.random.default_rng(seed).permutation(len(self))
        n_test = round(test_fraction * len(self))
        return self.subset(np.sort(order[n_test:])), self.subset(np.sort(order[:n_test]))


def analytic_backgrounds(rng: np.random.Generator, n: int, n_bins: int, config: DataConfig):
    """``n`` analytic backgrounds with ``n_bins`` bins: ``(expected (n, n_bins), edges, family, stretched, kind)``."""
    edges, kind = draw_axes(rng, n, n_bins, config.axes)
    centres = 0.5 * (edges[:, 1:] + edges[:, :-1])
    x1, x2 = centres[:, 0], centres[:, -1]
    lo, hi = config.y_range
    log_y = rng.random(n) < config.log_y_fraction
    y = np.where(log_y[:, None], lo * (hi / lo) ** rng.random((n, 2)), rng.uniform(lo, hi, (n, 2)))
    y = np.sort(y, axis=1)
    y2, y1 = y[:, 0], np.maximum(y[:, 1], y[:, 0] * (1 + 1e-6))  # strictly y1 > y2
    p = None if config.family_probs is None else np.asarray(config.family_probs)
    family = rng.choice(N_FAMILIES, size=n, p=p).astype(np.int8)
    power = rng.uniform(*config.inv_power_range, size=n)
    stretched = rng.random(n) < config.stretch_fraction
    inner = draw_inner_anchors(rng, x1, x2, y1, y2)
    b = family_curves(family, centres, x1, x2, y1, y2, power)
    if stretched.any():
        s = stretched
        b[s] = stretched_curves(family[s], centres[s], x1[s], x2[s], y1[s], y2[s], *(v[s] for v in inner), power[s])
    return np.maximum(b, config.min_expected), edges, family, stretched, kind


def signal_for_peak_z(z, b, *, iterations: int = 40) -> np.ndarray:
    """Signal ``s >= 0`` with ``lr_significance(s + b, b) = z`` (Asimov), elementwise (Newton, convex).

    >>> from hepbump.stats import asimov_significance
    >>> s = signal_for_peak_z(np.array([0.0, 3.0, 10.0]), np.array([50.0, 0.01, 1e4]))
    >>> np.round(asimov_significance(s, np.array([50.0, 0.01, 1e4])), 9).tolist()
    [0.0, 3.0, 10.0]
    """
    z = np.asarray(z, dtype=float)
    b = np.asarray(b, dtype=float)
    half_q = 0.5 * z**2
    s = z * np.sqrt(b) + z**2  # h(s) = (s + b) ln(1 + s/b) - s - z^2/2 is convex increasing
    h = (s + b) * np.log1p(s / b) - s - half_q
    while np.any(h < 0):  # make sure Newton starts above the root: then it decreases monotonically onto it
        s = np.where(h < 0, 2 * s, s)
        h = (s + b) * np.log1p(s / b) - s - half_q
    for _ in range(iterations):
        slope = np.log1p(s / b)
        s = np.where(slope > 0, s - h / np.where(slope > 0, slope, 1.0), 0.0)
        s = np.maximum(s, 0.0)
        h = (s + b) * np.log1p(s / b) - s - half_q
    return np.where(z > 0, s, 0.0)


#: Fraction of the first bins that a scan leaves out (``hepbump.bumpnet.scan.first_bin``): the left edge window
#: starts after them.
EDGE_EXCLUDE_FIRST = 0.1


def edge_windows(lengths, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edge windows of histograms of ``lengths`` bins: ``(left_start, left_size, right_start, right_size)``.

    Left: ``window`` bins from ``floor(0.1 n)`` (the first bin a scan considers); right: the last ``window``
    bins; both cut to the histogram.

    >>> [a.tolist() for a in edge_windows(np.array([5, 40, 300]), 10)]
    [[0, 4, 30], [5, 10, 10], [0, 30, 290], [5, 10, 10]]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    first = np.minimum(np.floor(EDGE_EXCLUDE_FIRST * lengths + 1e-9).astype(np.int64), lengths - 1)
    left_size = np.minimum(window, lengths - first)
    right_size = np.minimum(window, lengths)
    return first, left_size, lengths - right_size, right_size


def _edge_positions(rng: np.random.Generator, k: np.ndarray, lengths: np.ndarray, config: DataConfig) -> np.ndarray:
    """Replace the bins ``k`` of a fraction ``edge_signal_fraction`` of the rows by bins of an edge window."""
    n = len(k)
    edge = rng.random(n) < config.edge_signal_fraction
    left = rng.random(n) < 0.5
    u = rng.random(n)
    l_start, l_size, r_start, r_size = edge_windows(lengths, config.edge_signal_bins)
    start, size = np.where(left, l_start, r_start), np.where(left, l_size, r_size)
    return np.where(edge, start + np.minimum((u * size).astype(np.int64), size - 1), k)


def inject_signals(
    rng: np.random.Generator,
    background: np.ndarray,
    edges: np.ndarray,
    config: DataConfig,
    lengths: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Draw signals on ``background`` (B, n), fluctuate, and compute the target: returns a dict of arrays.

    With ``lengths``, row ``i`` is a histogram of ``lengths[i]`` bins padded on the right: its padded edges must
    repeat the last real edge (zero-width bins, so the Gaussian puts nothing there) and its padded background
    must be > 0 (it is only fluctuated and discarded).
    """
    n, nb = background.shape
    widths = np.diff(edges, axis=1)
    has = rng.random(n) < config.signal_fraction
    wbins = rng.choice(np.asarray(config.signal_width_bins), size=n, p=np.asarray(config.signal_width_probs))
    k = rng.integers(0, nb, size=n) if lengths is None else (rng.random(n) * lengths).astype(np.int64)
    if config.edge_signal_fraction > 0:  # no extra draws otherwise: the default stream is unchanged
        k = _edge_positions(rng, k, np.full(n, nb, dtype=np.int64) if lengths is None else lengths, config)
    rows = np.arange(n)
    mean = edges[rows, k] + rng.random(n) * widths[rows, k]
    sigma = wbins * widths[rows, k]  # hepbump.stats.signal_widths: width in units of the local bin width
    # batched hepbump.stats.gaussian_templates (each row has its own edges): Phi((e_{i+1}-m)/s) - Phi((e_i-m)/s)
    template = np.diff(ndtr((edges - mean[:, None]) / sigma[:, None]), axis=1)
    peak = np.argmax(template, axis=1)
    z_peak = np.where(has, rng.uniform(*config.z_range, size=n), 0.0)
    s_peak = signal_for_peak_z(z_peak, background[rows, peak])
    events = np.where(has, s_peak / template[rows, peak], 0.0)
    signal = rng.poisson(events[:, None] * template).astype(float)
    counts = rng.poisson(background).astype(float) + signal
    return {
        "counts": counts,
        "signal": signal,
        "target": lr_significance(counts, background),
        "signal_mean_gev": np.where(has, mean, np.nan),
        "signal_sigma_gev": np.where(has, sigma, np.nan),
        "signal_width_bins": np.where(has, wbins, 0.0),
        "signal_events": events,
        "signal_bin": np.where(has, peak, -1),
        "z_peak": z_peak,
    }


def _batch(rng, background, edges, config, *, source, stretched, axis_kind, mother) -> HistogramBatch:
    return HistogramBatch(
        background=background,
        edges=edges,
        source=np.asarray(source, dtype=np.int8),
        stretched=np.asarray(stretched, dtype=bool),
        axis_kind=np.asarray(axis_kind, dtype=np.int8),
        mother=np.asarray(mother, dtype=np.int32),
        **inject_signals(rng, background, edges, config),
    )


_MOTHER_GROUP = 128  # mothers drawn together are processed in groups of this size, padded to the group's longest


def _mother_batches(rng, bank: MotherBank, n: int, config: DataConfig) -> list[HistogramBatch]:
    """``n`` data-like samples: padded computation over groups of similar length, split by bin count."""
    pick = np.sort(rng.integers(0, len(bank), size=n))
    lo, hi = config.mother_scale_range
    scale = lo * (hi / lo) ** rng.random(n)
    expected, edges, lengths = bank.padded()
    order = np.argsort(lengths[pick], kind="stable")
    pick, scale = pick[order], scale[order]
    out = []
    for start in range(0, n, _MOTHER_GROUP):
        g = slice(start, start + _MOTHER_GROUP)
        gl = lengths[pick[g]]
        width = int(gl.max())
        real = np.arange(width)[None, :] < gl[:, None]
        b = np.where(real, np.maximum(expected[pick[g], :width] * scale[g, None], config.min_expected), 1.0)
        e = edges[pick[g], : width + 1]
        arrays = inject_signals(rng, b, e, config, gl)
        for size in np.unique(gl):  # one HistogramBatch per bin count
            sel = np.flatnonzero(gl == size)
            m = len(sel)
            cut = {k: (v[sel, :size] if v.ndim == 2 else v[sel]) for k, v in arrays.items()}
            out.append(
                HistogramBatch(
                    background=b[sel, :size],
                    edges=e[sel, : size + 1],
                    source=np.full(m, MOTHER_SOURCE, dtype=np.int8),
                    stretched=np.zeros(m, dtype=bool),
                    axis_kind=np.full(m, -1, dtype=np.int8),
                    mother=pick[g][sel].astype(np.int32),
                    **cut,
                )
            )
    return out


def generate(
    rng: np.random.Generator, n_samples: int, config: DataConfig = DataConfig(), bank: MotherBank | None = None
):
    """Yield :class:`HistogramBatch` es totalling ``n_samples`` samples, ``config.chunk_size`` at a time.

    >>> batches = list(generate(np.random.default_rng(0), 10, DataConfig(n_bins_range=(40, 40))))
    >>> sum(len(b) for b in batches), batches[0].counts.shape
    (10, (10, 40))
    """
    lo, hi = config.n_bins_range
    done = 0
    while done < n_samples:
        m = min(config.chunk_size, n_samples - done)
        n_mother = int(rng.binomial(m, config.mother_fraction)) if bank is not None and len(bank) else 0
        if n_mother:
            yield from _mother_batches(rng, bank, n_mother, config)
        if m - n_mother:
            n_bins = int(rng.integers(lo, hi + 1))
            b, e, fam, st, kind = analytic_backgrounds(rng, m - n_mother, n_bins, config)
            yield _batch(rng, b, e, config, source=fam, stretched=st, axis_kind=kind, mother=np.full(len(fam), -1))
        done += m
