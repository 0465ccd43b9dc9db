"""Fast parametric generator of Dark Machines-format events (SM mixture plus injectable BSM benchmarks).

**This is a fast parametric generator, not MadGraph + Pythia + Delphes.** It reproduces the character of the
Dark Machines samples (arXiv:2105.14027) for demos, tests and BumpNet training shapes: smoothly falling spectra,
W/Z line shapes (Breit-Wigner, smeared), top decays, realistic object multiplicities, charges, b-tags, jet
masses (boosted V/top jets at a small rate), MET from neutrinos and mismeasurement, the DM object thresholds and
the DM channel selections 1, 2a, 2b, 3 (so kinematic sculpting appears as in the real data). Physics pieces:
:mod:`~hepbump.darkmachines.generate.processes` (SM processes),
:mod:`~hepbump.darkmachines.generate.signals` (BSM benchmarks), :mod:`~hepbump.darkmachines.generate.model`
(decays), :mod:`~hepbump.darkmachines.generate.detector` (detector response).

Weights and luminosity (the DM convention):

* with background (the default) every event has weight 1: the SM events are an unweighted sample of the
  integrated luminosity ``L`` recorded in the provenance (``luminosity_pb``). ``n_events`` fixes the number of
  SM events written (``L`` follows from the cross sections), or ``luminosity_pb`` fixes ``L``.
* an injected signal ``name:mu`` adds Poisson(``mu * sigma_ref * L``) produced signal events (before the channel
  selection), also with weight 1, i.e. the DM signal weight ``sigma / N`` expressed per event of ``L``. The signal
  strength ``mu`` is thus the multiple of the benchmark's reference cross section (see
  :mod:`hepbump.darkmachines.generate.signals`): ``lq600_bmu:0.5`` injects half the reference LQ rate.
* without background (``background=False``) ``n_events`` signal events are produced per benchmark and each
  carries the DM signal weight ``mu * sigma_ref / n_events`` in pb (sum of weights = selected cross section).

Generation cuts: events that cannot pass the channel selection are rejected from cheap latent variables before
any kinematics (:class:`hepbump.darkmachines.generate.processes.GenerationCuts`). Most of these cuts are exact;
two are approximate: the pT_hat cut of multijet-like processes in channels 1 and 3 (200 GeV for multijets,
150 GeV for the others), and the pT_hat cut on "quiet" events (MET from Gaussian smearing only). They remove
well under 1 % of the selected events of each channel (validated with ``benchmarks/bench_dm_generate.py
--validate-cuts``; the figures are in ``benchmarks/README.md``). The per-particle detector loop is compiled
(:mod:`hepbump.darkmachines.generate.detector_kernel`, numba).

Background events have weight 1 (the DM convention), so in the channels with a MET selection (1, 2b, 3) every
event the selection rejects is still generated and simulated: their cost is set by the rare events with large
fake MET (Z(-> ll) + jets in 2b, multijets in 3), not by the selected ones. Throughput per channel and the
bound on what any implementation of this model could reach are in ``benchmarks/README.md``.

Events are shuffled within each batch and numbered 0, 1, 2, ... A batch holds ``batch_size`` generated events at
first; later batches are sized from the measured selection efficiency to give about 50 000 selected events.

>>> cfg = DMGeneratorConfig(channel="2b", n_events=300, seed=4, signals=(SignalInjection("lq600_bmu", 1.0),))
>>> events, provenance = generate(cfg)
>>> int(ak.sum(events.process != "lq600_bmu")), provenance["channel"]
(300, '2b')
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np

from hepbump._version import __version__
from hepbump.darkmachines.format import build_events
from hepbump.darkmachines.generate.channels import Channel, channel
from hepbump.darkmachines.generate.detector import RecoEvents, simulate_detector
from hepbump.darkmachines.generate.model import max_charged_leptons
from hepbump.darkmachines.generate.processes import (
    SM_PROCESS_NAMES_GENERATED,
    GenerationCuts,
    Process,
    generate_truth,
    sm_processes,
)
from hepbump.darkmachines.generate.signals import signal_benchmark
from hepbump.errors import InputError

__all__ = ["SignalInjection", "DMGeneratorConfig", "DMGenerator", "generate", "write_sample"]

log = logging.getLogger(__name__)

_GENERATOR_NOTE = "hepbump fast parametric DM-format generator (not MadGraph/Pythia/Delphes)"
#: Per channel, "quiet" events (MET only from Gaussian smearing, see processes.GenerationCuts) are generated
#: only above this pT_hat (GeV); validated to lose a negligible fraction of the selected events
#: (``benchmarks/bench_dm_generate.py --validate-cuts``).
QUIET_PT_HAT_MIN_GEV = {"1": 400.0, "2a": 50.0, "2b": 50.0, "3": 250.0, "none": 0.0}
#: An event counts as quiet if its badly measured jet can lose at most this fraction of the channel's MET cut.
QUIET_TAIL_LOSS_PER_MET = 0.2
#: With ``generation_cuts=False`` the quiet cut is off and the pT_hat cut of the HT >= 600 GeV channels is lowered
#: to this fraction of its value (below it the selection efficiency is too small to sample): the provenance then
#: counts the selected events the nominal cuts would have removed.
VALIDATION_PT_HAT_FRACTION = 2.0 / 3.0
#: Batches grow (up to MAX_RAW_PER_BATCH generated events) to give about SELECTED_PER_BATCH selected events each;
#: within a batch each process is generated in pieces of at most RAW_PER_CALL events (bounded memory).
SELECTED_PER_BATCH = 50_000
MAX_RAW_PER_BATCH = 20_000_000
RAW_PER_CALL = 1_000_000


@dataclass(frozen=True)
class SignalInjection:
    """A BSM benchmark (name of :data:`hepbump.darkmachines.generate.signals.SIGNALS`) at signal strength ``strength``
    (multiple of its reference cross section).

    >>> SignalInjection.parse("lq600_bmu:0.5")
    SignalInjection(name='lq600_bmu', strength=0.5)
    """

    name: str
    strength: float = 1.0

    def __post_init__(self) -> None:
        signal_benchmark(self.name)
        if not (math.isfinite(self.strength) and self.strength >= 0):
            raise InputError(f"signal {self.name}: strength must be a finite number >= 0, got {self.strength}")

    @classmethod
    def parse(cls, spec: str) -> SignalInjection:
        """``NAME`` or ``NAME:STRENGTH`` (e.g. ``lq600_bmu:0.5``)."""
        name, _, strength = str(spec).partition(":")
        try:
            value = float(strength) if strength else 1.0
        except ValueError:
            raise InputError(f"signal {spec!r}: strength {strength!r} is not a number (use NAME:STRENGTH)") from None
        return cls(name.strip(), value)


@dataclass(frozen=True)
class DMGeneratorConfig:
    """What to generate. ``channel``: ``1``, ``2a``, ``2b``, ``3`` or ``none``. Exactly one of ``n_events``
    (SM events written; with ``background=False``: signal events produced per benchmark) and
    ``luminosity_pb`` (pb^-1, background only). ``n_events = 0`` and ``luminosity_pb = 0`` are refused with an
    :class:`~hepbump.errors.InputError` (the generator never writes an empty file: readers refuse one).
    ``processes`` restricts the SM mixture (DM process IDs).
    ``batch_size`` is the number of generated (pre-selection) events of the first batch. ``generation_cuts``
    applies the validated generation cuts (switch off only to validate them, see ``VALIDATION_PT_HAT_FRACTION``)."""

    channel: str = "2b"
    n_events: int | None = 10_000
    luminosity_pb: float | None = None
    signals: tuple[SignalInjection, ...] = ()
    background: bool = True
    processes: tuple[str, ...] | None = None
    seed: int = 0
    batch_size: int = 100_000
    generation_cuts: bool = True

    def __post_init__(self) -> None:
        channel(self.channel)
        if (self.n_events is None) == (self.luminosity_pb is None):
            raise InputError("give exactly one of n_events and luminosity_pb")
        if self.n_events is not None and (int(self.n_events) != self.n_events or self.n_events < 1):
            raise InputError(
                f"the number of events (--events) must be a positive integer, got {self.n_events}: "
                "a Dark Machines file without events cannot be read back"
            )
        if self.luminosity_pb is not None and not (math.isfinite(self.luminosity_pb) and self.luminosity_pb > 0):
            raise InputError(f"the luminosity (--lumi) must be finite and > 0, got {self.luminosity_pb} pb^-1")
        if not self.background and (not self.signals or self.n_events is None):
            raise InputError("a signal-only sample (background=False) needs signals and n_events")
        if self.batch_size < 1:
            raise InputError(f"batch_size must be positive, got {self.batch_size}")
        for name in self.processes or ():
            sm_processes(name)
        names = [s.name for s in self.signals]
        if len(set(names)) != len(names):
            raise InputError(f"signal injected twice: {names}")


@dataclass
class _Source:
    """A process being generated with its generation cuts and bookkeeping. ``nominal_cuts`` are the cuts that
    would apply with ``generation_cuts``; when they are switched off, ``n_selected_in_cut_region`` counts the
    selected events those cuts would have removed (the validation of the cuts)."""

    process: Process
    label: str
    cuts: GenerationCuts
    nominal_cuts: GenerationCuts
    sigma_pb: float
    strength: float = 1.0
    n_generated: int = 0
    n_selected: float = 0.0
    n_selected_in_cut_region: int = 0


@dataclass
class _Batch:
    reco: list[RecoEvents] = field(default_factory=list)
    label: list[np.ndarray] = field(default_factory=list)


class DMGenerator:
    """Generates a sample batch by batch (bounded memory); :attr:`provenance` is complete once exhausted."""

    def __init__(self, config: DMGeneratorConfig) -> None:
        self.config = config
        self.channel: Channel = channel(config.channel)
        self._rng = np.random.default_rng(np.random.SeedSequence(config.seed))
        n_lep = self.channel.n_leptons_min
        self.background: list[_Source] = []
        if config.background:
            names = config.processes or SM_PROCESS_NAMES_GENERATED
            for p in (part for name in names for part in sm_processes(name)):
                if sum(max_charged_leptons(leg) for leg in p.legs + tuple(x.particle for x in p.extras)) < n_lep:
                    continue  # cannot give enough leptons (fake leptons are not modelled)
                nominal = GenerationCuts(
                    pt_hat_min=p.pt_hat_min_high_ht if self.channel.high_ht else 0.0,
                    min_leptons=n_lep,
                    quiet_pt_hat_min=QUIET_PT_HAT_MIN_GEV[self.channel.name],
                    ht_min=self.channel.ht_min,
                    quiet_tail_loss_max=QUIET_TAIL_LOSS_PER_MET * self.channel.met_min,
                )
                # Validation: no quiet cut, the pT_hat cut lowered to VALIDATION_PT_HAT_FRACTION of its value.
                loose = GenerationCuts(
                    pt_hat_min=VALIDATION_PT_HAT_FRACTION * nominal.pt_hat_min,
                    min_leptons=n_lep,
                    ht_min=self.channel.ht_min,
                    quiet_tail_loss_max=nominal.quiet_tail_loss_max,
                )
                cuts = nominal if config.generation_cuts else loose
                self.background.append(_Source(p, p.key, cuts, nominal, p.sigma_above(cuts.pt_hat_min)))
            if not self.background:
                raise InputError(f"no SM process of {names} can pass channel {config.channel}")
        self.signals: list[_Source] = []
        for inj in config.signals:
            bench = signal_benchmark(inj.name)
            exact = GenerationCuts(min_leptons=n_lep, ht_min=self.channel.ht_min)
            self.signals.append(
                _Source(bench.process, bench.name, exact, exact, bench.sigma_ref_pb * inj.strength, inj.strength)
            )
        self.labels = [s.label for s in self.background + self.signals]
        self._file_names = [s.process.name for s in self.background + self.signals]
        self.sigma_total_pb = sum(s.sigma_pb for s in self.background)
        self.luminosity_pb = 0.0
        self.n_written = 0
        self._done = False

    # --- generation of one source --------------------------------------------------------------------------

    def _run(self, src: _Source, n_raw: int, label: int, batch: _Batch) -> None:
        for start in range(0, n_raw, RAW_PER_CALL):
            self._run_piece(src, min(RAW_PER_CALL, n_raw - start), label, batch)

    def _run_piece(self, src: _Source, n_raw: int, label: int, batch: _Batch) -> None:
        truth = generate_truth(src.process, n_raw, self._rng, src.cuts)
        src.n_generated += n_raw
        if len(truth) == 0:
            return
        reco = simulate_detector(truth.particles, truth.tail, self._rng)
        passed = self.channel.passes(reco.summary)
        if src.cuts != src.nominal_cuts:
            nominal = src.nominal_cuts
            cut_away = (truth.pt_hat < nominal.pt_hat_min) | (truth.quiet & (truth.pt_hat < nominal.quiet_pt_hat_min))
            src.n_selected_in_cut_region += int((passed & cut_away).sum())
        selected = reco.select(passed)
        batch.reco.append(selected)
        batch.label.append(np.full(len(selected), label, dtype=np.int64))

    def _assemble(
        self, batch: _Batch, keep: np.ndarray | None, weight_of_label: np.ndarray
    ) -> tuple[ak.Array, np.ndarray]:
        """Shuffle the selected events of a batch (restricted to ``keep``) into one in-memory array; also return
        the source label of each event."""
        labels = np.concatenate(batch.label) if batch.label else np.zeros(0, np.int64)
        parts = [r.flat_objects(self._rng) for r in batch.reco]
        counts = np.concatenate([p["counts"] for p in parts]) if parts else np.zeros(0, np.int64)
        cols = {
            k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0)
            for k in ("code", "energy", "pt", "eta", "phi")
        }
        met = np.concatenate([r.met for r in batch.reco]) if parts else np.zeros(0)
        metphi = np.concatenate([r.metphi for r in batch.reco]) if parts else np.zeros(0)
        order = self._rng.permutation(labels.size)
        if keep is not None:
            order = order[keep[order]]
        offsets = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        n_obj = counts[order]
        starts = np.repeat(offsets[:-1][order] - np.concatenate([[0], np.cumsum(n_obj)[:-1]]), n_obj)
        obj_idx = starts + np.arange(int(n_obj.sum()))
        for i, lab in enumerate(np.bincount(labels[order], minlength=len(self.labels))):
            (self.background + self.signals)[i].n_selected += float(lab)
        events = build_events(
            event=np.arange(self.n_written, self.n_written + order.size),
            process_index=labels[order],
            process_names=self._file_names,
            weight=weight_of_label[labels[order]],
            met=met[order],
            metphi=metphi[order],
            counts=n_obj,
            code=cols["code"][obj_idx],
            energy=cols["energy"][obj_idx],
            pt=cols["pt"][obj_idx],
            eta=cols["eta"][obj_idx],
            phi=cols["phi"][obj_idx],
        )
        self.n_written += order.size
        return events, labels[order]

    # --- batches -----------------------------------------------------------------------------------------------

    def batches(self, progress: bool = False) -> Iterator[ak.Array]:
        """Yield the sample as in-memory event arrays (GeV), batch by batch."""
        if self._done:
            raise RuntimeError("DMGenerator.batches() can run only once")
        from tqdm.auto import tqdm

        cfg = self.config
        disable = None if progress else True  # None: tqdm shows the bar only on a terminal
        if not cfg.background:
            yield from self._signal_only(
                tqdm(total=cfg.n_events * len(self.signals), disable=disable, desc="generating", leave=False)
            )
        else:
            target = cfg.n_events
            if cfg.luminosity_pb is not None:
                target_raw = int(self._rng.poisson(cfg.luminosity_pb * self.sigma_total_pb))
            bar = tqdm(
                total=target if target is not None else target_raw, disable=disable, desc="generating", leave=False
            )
            n_sm, n_raw_total, n_raw = 0, 0, cfg.batch_size
            ones = np.ones(len(self.labels))
            while (target is not None and n_sm < target) or (target is None and n_raw_total < target_raw):
                if target is None:
                    n_raw = min(n_raw, target_raw - n_raw_total)
                n_raw_total += n_raw
                batch = _Batch()
                shares = np.array([s.sigma_pb for s in self.background]) / self.sigma_total_pb
                for i, (src, k) in enumerate(zip(self.background, self._rng.multinomial(n_raw, shares))):
                    self._run(src, int(k), i, batch)
                delta_lumi = n_raw / self.sigma_total_pb
                for j, src in enumerate(self.signals):
                    self._run(src, int(self._rng.poisson(src.sigma_pb * delta_lumi)), len(self.background) + j, batch)
                labels = np.concatenate(batch.label) if batch.label else np.zeros(0, np.int64)
                is_sm = labels < len(self.background)
                keep, fraction = None, 1.0
                if target is not None and n_sm + int(is_sm.sum()) > target:
                    # Last batch: keep just enough SM events and the same fraction of the signal (thinning).
                    fraction = (target - n_sm) / int(is_sm.sum())
                    keep = np.zeros(labels.size, bool)
                    sm_idx = self._rng.permutation(np.flatnonzero(is_sm))[: target - n_sm]
                    keep[sm_idx] = True
                    keep[~is_sm] = self._rng.uniform(size=int((~is_sm).sum())) < fraction
                self.luminosity_pb += fraction * delta_lumi
                events, kept = self._assemble(batch, keep, ones)
                n_new_sm = int((kept < len(self.background)).sum())
                n_sm += n_new_sm
                n_raw = self._next_batch_size(n_raw, int(is_sm.sum()), None if target is None else target - n_sm)
                bar.update(n_new_sm if target is not None else n_raw)
                if len(events):
                    yield events
            bar.close()
        self._done = True

    def _next_batch_size(self, n_raw: int, n_selected: int, remaining: int | None) -> int:
        """Generated events for the next batch, from this batch's selection efficiency."""
        efficiency = max(n_selected, 1) / n_raw
        size = SELECTED_PER_BATCH / efficiency
        if remaining is not None:
            size = min(size, 1.2 * remaining / efficiency + 1000)
        return int(np.clip(size, min(self.config.batch_size, 10_000), MAX_RAW_PER_BATCH))

    def _signal_only(self, bar: Any) -> Iterator[ak.Array]:
        cfg = self.config
        weights = np.array([s.sigma_pb / cfg.n_events for s in self.signals])
        for j, src in enumerate(self.signals):
            left = cfg.n_events
            while left > 0:
                n_raw = min(cfg.batch_size, left)
                left -= n_raw
                batch = _Batch()
                self._run(src, n_raw, j, batch)
                bar.update(n_raw)
                events, _ = self._assemble(batch, None, weights)
                if len(events):
                    yield events
        bar.close()

    # --- provenance --------------------------------------------------------------------------------------------

    @property
    def provenance(self) -> dict[str, Any]:
        """JSON-serialisable record of the sample (luminosity, cross sections, counts, seed, conventions)."""
        cfg = self.config
        background = cfg.background
        return {
            "generator": _GENERATOR_NOTE,
            "hepbump_version": __version__,
            "seed": cfg.seed,
            "channel": cfg.channel,
            "luminosity_pb": self.luminosity_pb if background else None,
            "n_events": self.n_written,
            "weight_convention": (
                "weight 1: unweighted sample of luminosity_pb (signals injected at mu * sigma_ref)"
                if background
                else "signal only: weight = mu * sigma_ref / n_generated [pb]"
            ),
            "generation_cuts": cfg.generation_cuts,
            "processes": {
                s.label: {
                    "sigma_generated_pb": s.sigma_pb,
                    "pt_hat_min_gev": s.cuts.pt_hat_min,
                    "quiet_pt_hat_min_gev": s.cuts.quiet_pt_hat_min,
                    "n_generated": s.n_generated,
                    "n_selected": int(s.n_selected),
                    **({} if cfg.generation_cuts else {"n_selected_in_cut_region": s.n_selected_in_cut_region}),
                }
                for s in self.background
            },
            "signals": {
                s.label: {
                    "strength": s.strength,
                    "sigma_injected_pb": s.sigma_pb,
                    "n_generated": s.n_generated,
                    "n_selected": int(s.n_selected),
                }
                for s in self.signals
            },
        }


def generate(config: DMGeneratorConfig, progress: bool = False) -> tuple[ak.Array, dict[str, Any]]:
    """Generate a whole (small) sample in memory: ``(events, provenance)``."""
    gen = DMGenerator(config)
    chunks = list(gen.batches(progress=progress))
    events = ak.concatenate(chunks) if chunks else gen._assemble(_Batch(), None, np.ones(len(gen.labels)))[0]
    return events, gen.provenance


def write_sample(config: DMGeneratorConfig, path: str | os.PathLike[str], *, progress: bool = False) -> dict[str, Any]:
    """Generate straight into a CSV (the real DM format), ROOT or Parquet file (by suffix), atomically; return
    the provenance (also stored in the file, or for CSV in the sidecar ``FILE.csv.json``)."""
    from hepbump.darkmachines.write import EventWriter

    gen = DMGenerator(config)
    writer = EventWriter(path)
    with writer:
        for events in gen.batches(progress=progress):
            writer.write(events)
        if writer.n_events == 0:  # a luminosity whose Poisson draw gave no event: no file, as for --events 0
            raise InputError(
                f"{path}: the sample has no events (L = {gen.luminosity_pb:.4g} pb^-1 is too small for channel "
                f"{config.channel}); a Dark Machines file without events cannot be read back"
            )
        writer.provenance = gen.provenance
    log.info(
        "generated %d events (channel %s, L = %.4g pb^-1) into %s",
        gen.n_written,
        config.channel,
        gen.luminosity_pb,
        path,
    )
    return gen.provenance
