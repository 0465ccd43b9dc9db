"""Evaluating BumpNet as in the paper's section 3 (figures 5-13): test sets, headline figures, PNG + CSV.

:func:`evaluate` generates test sets with :func:`hepbump.bumpnet.data.generate` (independent of the training
data: own seeds, and the held-out "test" mothers for the data-like shapes), predicts them with
:func:`hepbump.bumpnet.predict.predict`, and writes one figure per family of the paper's figures (PNG, drawn by
:mod:`hepbump.bumpnet.evalplots`) with its numbers (CSV), a per-histogram table and ``summary.json``. The
computations are pure functions of arrays (targets, predictions), so that they can be checked without a
network. The work is split over four modules:

* :mod:`hepbump.bumpnet.evalmetrics`: the metrics, pure functions of arrays (maxima, ``dZ_max`` statistics,
  profiles, position accuracy, false rates, ROC, the sparse-tail selection, the known-shape LR significance);
* :mod:`hepbump.bumpnet.evalsets`: the test sets (their recipes, the distortions, their generation) and their
  per-histogram numbers (:class:`~hepbump.bumpnet.evalsets.SetResult`) and per-set statistics;
* :mod:`hepbump.bumpnet.evalfigures`: the CSV tables and PNG figures 5-13 and ``histograms.csv.gz``;
* this module: :class:`EvaluateConfig`, the paper's figures and the project's targets, the headline metrics
  (:class:`Metric`) and the :class:`EvaluationSummary` (``summary.json``), and :func:`evaluate`, which runs it all.

**Definitions** (per histogram of ``n`` bins; the first ``k = floor(exclude_first * n)`` bins, 10% by default
as in the paper's section 3.1, are excluded from every maximum unless said otherwise):

* the *target* ``Z_i = lr_significance(n_i, b_i)`` against the true expected background ``b`` (see
  :mod:`hepbump.bumpnet.data`); ``Z_max(LR) = max_{i >= k} Z_i``, ``Z_max(pred) = max_{i >= k} z_pred_i`` and
  ``dZ_max = Z_max(pred) - Z_max(LR)``. The two maxima may sit in different bins (the paper's definition).
* ``sigma(dZ_max)``: the standard deviation of ``dZ_max`` over a signal test set (every histogram, all
  ``Z_max(LR)``, as the paper's 0.53 / 0.75); the robust width (half the 16-84% interval) is reported too.
* *position*: ``argmax`` of the same maxima, in bins; the *relative position* is ``(argmax + 0.5) / n`` (bins,
  not GeV). *Position accuracy* = the fraction of histograms with ``|argmax pred - argmax LR| <= 1`` bin
  (``position_tolerance``) among those with ``Z_max(LR) >= 2`` (the paper's Fig. 7b: below that the maximum
  is often a background fluctuation); the exact-bin fraction and the fraction over all histograms are given too.
* *edge and interior*: ``dZ_max`` statistics split by where ``Z_max(LR)`` lies, within ``edge_window`` (10)
  bins of either end of the scanned range (the first bin after the excluded ones, the last bin) or inside;
  per signal set in ``summary.json`` as ``dz_max_edge`` and ``dz_max_interior``. Near an end the convolutions
  see padding, which is where most of the spread came from with zero padding (``benchmarks/README.md``).
* *false > 5 sigma rate*: the fraction of background-only histograms with ``Z_max(pred) > 5`` (the same for
  ``Z_max(LR)`` is given for reference: the per-bin maximum of pure fluctuations).
* *ROC* (Fig. 9): test statistic ``Z_max(pred)`` on the signal set against the background-only set of the
  same shapes, and the "ideal LR test" ``Z_max(LR)`` (the per-bin LR target with the known background) on the
  same histograms; AUC = P(score_signal > score_background) (ties count one half).
* *Signal sets* have a signal in every histogram: Gaussian, 1 bin wide unless said otherwise, the Asimov
  significance of the peak bin uniform in ``DataConfig.z_range`` (0-10), the position uniform over all bins
  (as in training: a signal in the excluded first bins leaves ``Z_max(LR)`` to the fluctuations elsewhere).
  Background-only sets are the same shapes without signal.
* *Data-like shapes*: the test mothers (held out from training, 25%, paper section 3.2.1) at their own yield
  (``mother_scale_range = (1, 1)``, within the training range); with training mothers too, Fig. 10 compares
  shapes seen and unseen in training.
* *Distortions* (Fig. 11, section 3.2.2), applied to the *expected* background before the signal and the
  fluctuations, so the target is the LR significance against the distorted truth while the network was trained
  on undistorted shapes; with ``i = 0 .. N-1`` the bin index (0-based, so the last bin keeps a factor
  ``1/N`` rather than 0) and ``N`` the number of bins: standard ``b'_i = 1.5 (N - i)/N b_i``, reverse
  ``b'_i = 0.5 (N - i)/N b_i``, inferior ``b'_i = 0.5 b_i``, superior ``b'_i = 1.5 b_i`` (floored at
  ``DataConfig.min_expected``). They distort the data-like test shapes (the paper) or, without test mothers,
  the analytic ones.
* *Sparse tails* (Fig. 12): histograms whose last ``sparse_tail_fraction`` (25%) of the bins all have
  ``b < 1`` expected event and whose injected signal peaks in that tail; drawn by rejection from analytic
  backgrounds with log-uniform ``y1 > y2`` in ``DataConfig.y_range`` (``log_y_fraction = 1``) and, when test
  mothers are given, from them for half of the draws (before the selection). The *sparse-tail bias* is the
  median ``dZ_max`` of those whose ``Z_max(LR)`` bin has ``b < 1``; "no bias growth" means ``|bias| <= 0.15``,
  the nominal bias floor (``bias_growth_sparse_tail``, the difference to the analytic nominal median, is given
  too).
* *Signal widths* (Fig. 13): analytic backgrounds with 1-, 2- and 3-bin Gaussians. ``dZ_max`` uses the per-bin
  target, the network's training target for every width (the headline); the paper compares with the LR
  significance of the whole known signal shape (yield fitted on the known background, as
  :func:`hepbump.stats.lr_significance_known`), given as ``Z_window`` and ``Z_max(pred) - Z_window``.

Headline figures (``summary.json``, each with the paper's floor and the stricter target, and pass flags):
``sigma(dZ_max) <= 0.53 / 0.40`` (analytic), ``<= 0.75 / 0.60`` (data-like), ``|median dZ_max| <= 0.15``,
false > 5 sigma rates ``<= 0.05% / 0.13%`` (paper: 0.048% and 0.129%), ``|median dZ_max| <= 0.15`` in sparse
tails and for 2- and 3-bin signals (targets beyond the paper). Figures not reached are listed in
``not_reached``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from hepbump.bumpnet.data import DataConfig, HistogramBatch, MotherBank
from hepbump.bumpnet.evalmetrics import dz_statistics, false_rate, position_accuracy, roc_auc
from hepbump.bumpnet.evalsets import (
    DISTORTIONS,
    Predictor,
    SetResult,
    SetSpec,
    edge_mask,
    evaluate_set,
    generate_set,
    set_specs,
    set_statistics,
    sparse_bias,
)
from hepbump.bumpnet.scan import check_exclude_first
from hepbump.errors import InputError
from hepbump.io.atomic import atomic_path

__all__ = [
    "EvaluateConfig",
    "EvaluationSummary",
    "Metric",
    "evaluate",
    "headline_metrics",
]

log = logging.getLogger(__name__)

#: The paper's figures (section 3.1) and the stricter targets of the project.
PAPER_SIGMA = {"function": 0.53, "dm": 0.75}
TARGET_SIGMA = {"function": 0.40, "dm": 0.60}
PAPER_FALSE_RATE = {"function": 0.00048, "dm": 0.00129}
FLOOR_FALSE_RATE = {"function": 0.0005, "dm": 0.0013}
MEDIAN_FLOOR = 0.15

#: Analytic histograms per drawn bin count in the evaluation sets (see :class:`EvaluateConfig`).
EVAL_CHUNK_SIZE = 32

_Z_EDGES = tuple(float(x) for x in np.round(np.arange(0.0, 12.01, 0.5), 6))


@dataclass(frozen=True)
class EvaluateConfig:
    """What :func:`evaluate` generates and how it bins the profiles (see the module docstring).

    Sizes: ``n_nominal`` histograms per nominal signal set (analytic, data-like), ``n_background`` per
    background-only set, ``n_shape`` per other set (each distortion, each extra signal width, sparse tails, the
    training shapes of Fig. 10). ``data`` is the base recipe (axes, bin counts, yields) that each set modifies.
    ``figures=False`` writes the CSVs and the summary only; ``per_histogram_csv`` adds ``histograms.csv.gz``.
    The default recipe draws a new bin count every 32 analytic histograms (training uses 512): with 512, a
    10,000-histogram set has only ~20 bin counts, and which ones it draws moves sigma(dZ_max) by +-0.2.
    """

    n_nominal: int = 20_000
    n_background: int = 20_000
    n_shape: int = 10_000
    seed: int = 0
    exclude_first: float = 0.1
    z_edges: tuple[float, ...] = _Z_EDGES
    position_bins: int = 20
    dz_range: tuple[float, float] = (-4.0, 4.0)
    discovery_z: float = 5.0
    position_tolerance: int = 1
    position_min_z: float = 2.0
    edge_window: int = 10
    widths: tuple[float, ...] = (1.0, 2.0, 3.0)
    mother_scale_range: tuple[float, float] = (1.0, 1.0)
    sparse_tail_fraction: float = 0.25
    sparse_max_expected: float = 1.0
    per_histogram_csv: bool = True
    figures: bool = True
    data: DataConfig = field(default_factory=lambda: DataConfig(chunk_size=EVAL_CHUNK_SIZE))

    def __post_init__(self) -> None:
        for name in ("n_nominal", "n_background", "n_shape", "position_bins"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InputError(f"EvaluateConfig.{name} must be a positive integer, got {value!r}")
        check_exclude_first(self.exclude_first)
        z = np.asarray(self.z_edges, dtype=float)
        if z.ndim != 1 or z.size < 2 or np.any(~np.isfinite(z)) or np.any(np.diff(z) <= 0):
            raise InputError("EvaluateConfig.z_edges must be at least two increasing finite numbers")
        if not self.dz_range[0] < self.dz_range[1]:
            raise InputError(f"EvaluateConfig.dz_range must be (low, high) with low < high, got {self.dz_range}")
        if not self.widths or any(not (np.isfinite(w) and w > 0) for w in self.widths):
            raise InputError(f"EvaluateConfig.widths must be positive numbers of bins, got {self.widths}")
        if not 0 < self.mother_scale_range[0] <= self.mother_scale_range[1]:
            raise InputError(f"EvaluateConfig.mother_scale_range must be 0 < lo <= hi, got {self.mother_scale_range}")
        if not 0 < self.sparse_tail_fraction <= 1 or not self.sparse_max_expected > 0:
            raise InputError("EvaluateConfig: need 0 < sparse_tail_fraction <= 1 and sparse_max_expected > 0")
        if self.position_tolerance < 0:
            raise InputError("EvaluateConfig.position_tolerance must be >= 0")
        if (
            not isinstance(self.edge_window, (int, np.integer))
            or isinstance(self.edge_window, bool)
            or self.edge_window < 1
        ):
            raise InputError(f"EvaluateConfig.edge_window must be a positive integer, got {self.edge_window!r}")

    @classmethod
    def quick(cls, **kwargs: Any) -> EvaluateConfig:
        """A small evaluation (2000 histograms per nominal set): minutes on one CPU thread."""
        return cls(**{"n_nominal": 2000, "n_background": 2000, "n_shape": 1000, **kwargs})

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "data"}
        out["data"] = self.data.to_dict()
        return out


# --- summary ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One headline figure with the paper's floor and the project's target (``value <= floor``; ``absolute``:
    ``|value| <= floor``). Pass flags are ``None`` where there is no floor or no value."""

    name: str
    value: float
    description: str
    paper: float | None = None
    target: float | None = None
    absolute: bool = False

    def _passes(self, floor: float | None) -> bool | None:
        if floor is None or not np.isfinite(self.value):
            return None
        return bool((abs(self.value) if self.absolute else self.value) <= floor)

    @property
    def paper_pass(self) -> bool | None:
        return self._passes(self.paper)

    @property
    def target_pass(self) -> bool | None:
        return self._passes(self.target)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "value": _finite(self.value),
            "description": self.description,
            "criterion": "|value| <= floor" if self.absolute else "value <= floor",
            "paper_floor": self.paper,
            "paper_pass": self.paper_pass,
            "target": self.target,
            "target_pass": self.target_pass,
        }


def _finite(x: float) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


@dataclass(frozen=True)
class EvaluationSummary:
    """What :func:`evaluate` found: headline metrics, per-set statistics, the files written."""

    out_dir: Path
    model: str
    metrics: tuple[Metric, ...]
    sets: dict[str, dict[str, Any]]
    files: tuple[str, ...]
    skipped: tuple[str, ...]
    config: dict[str, Any]

    @property
    def not_reached(self) -> tuple[str, ...]:
        """One line per floor or target not reached (or not evaluated)."""
        out = []
        for m in self.metrics:
            for label, floor, ok in (("paper", m.paper, m.paper_pass), ("target", m.target, m.target_pass)):
                if floor is None:
                    continue
                v = f"|{m.value:.4g}|" if m.absolute else f"{m.value:.4g}"
                if ok is None:
                    out.append(f"{m.name}: not evaluated ({label} floor {floor:g})")
                elif not ok:
                    out.append(f"{m.name} = {v} > {floor:g} ({label})")
        return tuple(out)

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "out_dir": str(self.out_dir),
            "metrics": [m.to_dict() for m in self.metrics],
            "not_reached": list(self.not_reached),
            "sets": _jsonable(self.sets),
            "skipped": list(self.skipped),
            "files": list(self.files),
            "config": _jsonable(self.config),
        }

    def format(self) -> str:
        """A plain-text table of the headline metrics."""
        lines = [f"{'metric':34s} {'value':>10s} {'paper':>8s} {'pass':>5s} {'target':>8s} {'pass':>5s}"]

        def flag(ok: bool | None) -> str:
            return "-" if ok is None else ("yes" if ok else "NO")

        for m in self.metrics:
            lines.append(
                f"{m.name:34s} {m.value:>10.4g} {'-' if m.paper is None else f'{m.paper:g}':>8s} "
                f"{flag(m.paper_pass):>5s} {'-' if m.target is None else f'{m.target:g}':>8s} "
                f"{flag(m.target_pass):>5s}"
            )
        return "\n".join(lines)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return _finite(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def headline_metrics(results: dict[str, SetResult], config: EvaluateConfig) -> tuple[Metric, ...]:
    """The headline figures of the available sets (see the module docstring)."""
    out: list[Metric] = []
    for name, label in (("function", "analytic"), ("dm", "data-like (held-out mothers)")):
        if name not in results:
            continue
        st = dz_statistics(results[name]["dz_max"])
        out.append(
            Metric(
                f"sigma_dz_{name}", st["std"], f"std of dZ_max, {label} shapes", PAPER_SIGMA[name], TARGET_SIGMA[name]
            )
        )
        out.append(
            Metric(f"median_dz_{name}", st["median"], f"median dZ_max, {label}", MEDIAN_FLOOR, MEDIAN_FLOOR, True)
        )
        out.append(Metric(f"robust_sigma_dz_{name}", st["robust_sigma"], f"half 16-84% width of dZ_max, {label}"))
        r = results[name]
        edge = edge_mask(r, config.exclude_first, config.edge_window)
        for part, sel in (("edge", edge), ("interior", ~edge)):
            w = config.edge_window
            where = f"< {w} bins from an end" if part == "edge" else f">= {w} bins from both ends"
            out.append(
                Metric(
                    f"sigma_dz_{name}_{part}",
                    dz_statistics(r["dz_max"][sel])["std"],
                    f"std of dZ_max, {label}, Z_max(LR) {where} of the scan ({int(sel.sum())} histograms)",
                )
            )
        strong = r["z_max_lr"] >= config.position_min_z
        out.append(
            Metric(
                f"position_accuracy_{name}",
                position_accuracy(r["pos_pred"][strong], r["pos_lr"][strong], config.position_tolerance),
                f"fraction |argmax pred - argmax LR| <= {config.position_tolerance} bin, Z_max(LR) >= "
                f"{config.position_min_z:g}, {label}",
            )
        )
    for name, label in (("function_bkg", "function"), ("dm_bkg", "dm")):
        if name not in results:
            continue
        r = results[name]
        out.append(
            Metric(
                f"false_rate_{label}",
                false_rate(r["z_max_pred"], config.discovery_z),
                f"fraction of background-only histograms with Z_max(pred) > {config.discovery_z:g} "
                f"(paper {PAPER_FALSE_RATE[label]:.5f})",
                FLOOR_FALSE_RATE[label],
            )
        )
        sig = results.get(label)
        if sig is not None:
            out.append(Metric(f"auc_pred_{label}", roc_auc(sig["z_max_pred"], r["z_max_pred"]), "ROC AUC, BumpNet"))
            out.append(Metric(f"auc_lr_{label}", roc_auc(sig["z_max_lr"], r["z_max_lr"]), "ROC AUC, ideal LR test"))
    if "sparse" in results:
        sb = sparse_bias(results["sparse"], config.sparse_max_expected)
        out.append(
            Metric(
                "median_dz_sparse_tail",
                sb["median"],
                f"median dZ_max where the Z_max(LR) bin expects < {config.sparse_max_expected:g} event "
                f"({sb['n']} histograms)",
                None,
                MEDIAN_FLOOR,
                True,
            )
        )
        if "function" in results:
            growth = sb["median"] - dz_statistics(results["function"]["dz_max"])["median"]
            out.append(Metric("bias_growth_sparse_tail", growth, "median dZ_max sparse tails minus analytic nominal"))
    for w in config.widths:
        name = "function" if w == 1.0 else f"width_{w:g}"
        if name not in results:
            continue
        st = dz_statistics(results[name]["dz_max"])
        target = MEDIAN_FLOOR if w != 1.0 else None
        out.append(
            Metric(f"median_dz_width_{w:g}", st["median"], f"median dZ_max, {w:g}-bin signals", None, target, True)
        )
        out.append(Metric(f"sigma_dz_width_{w:g}", st["std"], f"std of dZ_max, {w:g}-bin signals"))
        zw = dz_statistics(results[name]["z_max_pred"] - results[name]["z_window"])
        out.append(
            Metric(f"median_dz_window_width_{w:g}", zw["median"], f"median Z_max(pred) - Z_window, {w:g}-bin signals")
        )
    for kind in DISTORTIONS:
        name = f"distort_{kind}"
        if name in results:
            st = dz_statistics(results[name]["dz_max"])
            out.append(Metric(f"median_dz_{kind}", st["median"], f"median dZ_max, {kind} distortion"))
            out.append(Metric(f"sigma_dz_{kind}", st["std"], f"std of dZ_max, {kind} distortion"))
    return tuple(out)


# --- the evaluation ---------------------------------------------------------------------------------------------


def _model_predictor(model: Any) -> Predictor:
    """``predict(model, counts)`` over the batches of a test set."""
    from hepbump.bumpnet.predict import predict

    def predictor(batches: list[HistogramBatch]) -> list[np.ndarray]:
        return predict(model, [row for b in batches for row in b.counts])

    return predictor


def _run_sets(
    specs: list[SetSpec], predictor: Predictor, config: EvaluateConfig, progress: bool
) -> dict[str, SetResult]:
    """Generate and predict every test set; an empty one is left out (with a warning)."""
    from tqdm.auto import tqdm

    results: dict[str, SetResult] = {}
    for spec in tqdm(specs, desc="evaluate", unit="set", disable=not progress):
        batches = generate_set(spec, config)
        if not batches:
            log.warning("test set %s: no histograms", spec.name)
            continue
        results[spec.name] = evaluate_set(spec, batches, predictor, config)
        log.info("test set %s: %d histograms", spec.name, len(results[spec.name]))
    return results


def _skipped(test_mothers: MotherBank | None, train_mothers: MotherBank | None) -> tuple[str, ...]:
    """What an evaluation without test or training mothers leaves out, a line each."""
    skipped = []
    if test_mothers is None:
        skipped.append("data-like sets (dm, dm_bkg) and Fig. 10: no test mothers given; distortions on analytic shapes")
    if train_mothers is None:
        skipped.append("Fig. 10a (data-like shapes seen in training): no training mothers given")
    return tuple(skipped)


def evaluate(
    model: Any,
    out_dir: str | Path,
    config: EvaluateConfig = EvaluateConfig(),
    *,
    test_mothers: MotherBank | None = None,
    train_mothers: MotherBank | None = None,
    progress: bool = False,
    model_name: str = "",
    predictor: Predictor | None = None,
) -> EvaluationSummary:
    """Generate the test sets, predict them with ``model``, write figures, CSVs and ``summary.json`` to ``out_dir``.

    Without ``test_mothers`` the data-like sets are skipped (and the distortions use analytic shapes); without
    ``train_mothers`` Fig. 10 shows only the held-out shapes. ``predictor`` (the batches of a test set -> one
    prediction per histogram, in order) replaces ``predict(model, counts)``; ``model`` may then be ``None``
    (a "perfect" predictor returns the targets: tests).
    """
    from hepbump.bumpnet.evalfigures import write_figures  # matplotlib

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    if predictor is None:
        if model is None:
            raise InputError("evaluate: give a model or a predictor")
        predictor = _model_predictor(model)
    for bank, what in ((test_mothers, "test"), (train_mothers, "training")):
        if bank is not None and len(bank) == 0:
            raise InputError(f"the {what} mother bank is empty")
    specs = set_specs(config, test_mothers, train_mothers)
    results = _run_sets(specs, predictor, config, progress)
    files = write_figures(results, out, config, test_mothers)

    signal_sets = {s.name: s.signal for s in specs}
    sets = {name: set_statistics(r, config, signal=signal_sets[name]) for name, r in results.items()}
    if "sparse" in results:
        sets["sparse"]["tail_bias"] = sparse_bias(results["sparse"], config.sparse_max_expected)
    summary = EvaluationSummary(
        out_dir=out,
        model=model_name,
        metrics=headline_metrics(results, config),
        sets=sets,
        files=tuple(str(p) for p in [*files, out / "summary.json"]),
        skipped=_skipped(test_mothers, train_mothers),
        config=config.to_dict(),
    )
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary.to_dict(), indent=1) + "\n")
    return summary
