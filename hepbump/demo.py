"""The end-to-end demo: both halves of hepbump on freshly generated data, with the shipped networks.

Run it with ``hepbump demo``; everything is generated, nothing is downloaded. :func:`run_demo` writes into one
directory:

1. **BumpNet on Dark Machines events.** Events of a DM channel with an injected BSM benchmark (by default the
   600 GeV leptoquark ``lq600_bmu`` in channel 2b) are generated (``events.root``), histogrammed by the coffea
   processor (``histograms.root``: objects, exclusive categories, resolution binning), scanned by the shipped
   BumpNet (``scan.parquet``), grouped into families by the Global Analysis Algorithm (``families.json``,
   ``family_map.png``), and the seed of every family, then the most significant histograms of the scan, are
   cross-checked with the likelihood-ratio scan and pyhf (``crosscheck.png``; ``top`` rows in all); the most
   significant histogram is drawn with its Z panel (``top_histogram.png``).
2. **The ECO/EPO hunt** (:func:`hepbump.hunt.demo.run_hunt_demo`): a few ALP signal events among background
   events, the EPO pair compatibility with the shipped networks, cleaning, TS with its p-value and Z, and the
   mass estimate of the retained events (``hunt/hunt.png``, the paper's Fig. 2).

``summary.json`` and ``report.md`` hold the figures printed by the command.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hepbump.errors import InputError
from hepbump.io.atomic import atomic_path

__all__ = ["DemoConfig", "DemoResult", "crosscheck_rows", "run_demo"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoConfig:
    """What the demo generates. ``signal`` is a benchmark of :mod:`hepbump.darkmachines.generate.signals` at
    ``signal_strength`` times its reference cross section; ``n_events`` SM events of ``channel``."""

    channel: str = "2b"
    n_events: int = 10_000
    signal: str = "lq600_bmu"
    signal_strength: float = 40.0
    top: int = 5
    hunt: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        from hepbump.darkmachines.generate import SignalInjection

        if self.n_events < 1:
            raise InputError(f"the demo needs at least one event, got --events {self.n_events}")
        if self.top < 1:
            raise InputError(f"--top must be >= 1, got {self.top}")
        SignalInjection(self.signal, self.signal_strength)  # checks the name and the strength


@dataclass
class DemoResult:
    """Figures of the demo (also in ``summary.json``) and the files written."""

    n_histograms: int
    top: list[dict[str, Any]]
    families: list[dict[str, Any]]
    crosscheck: list[dict[str, Any]]
    hunt: dict[str, Any] | None
    hunt_text: str | None = None
    files: list[str] = field(default_factory=list)


def crosscheck_rows(families: Any, n_rows: int, top: int) -> list[int]:
    """Scan rows to cross-check: the seed of each accepted GAA family (the claims, in the GAA's order), then the
    most significant histograms of the scan, without repeats, ``top`` rows at most (0-based indices).

    >>> from types import SimpleNamespace as NS
    >>> fams = NS(families=[NS(accepted=True, seed=NS(rank=7)), NS(accepted=False, seed=NS(rank=2))])
    >>> crosscheck_rows(fams, 100, 3)
    [6, 0, 1]
    """
    seeds = [f.seed.rank - 1 for f in families.families if f.accepted]
    rows = dict.fromkeys(seeds[:top])  # ordered, without repeats
    for i in range(n_rows):
        if len(rows) >= top:
            break
        rows.setdefault(i)
    return list(rows)


def _bumpnet_half(config: DemoConfig, out: Path, progress: bool) -> dict[str, Any]:
    from hepbump.bumpnet import BumpNet
    from hepbump.bumpnet.crosscheck import crosscheck
    from hepbump.bumpnet.gaa import run_gaa
    from hepbump.bumpnet.plots import plot_crosscheck, plot_family_map, plot_scan_row
    from hepbump.bumpnet.scan import scan_files
    from hepbump.darkmachines.generate import DMGeneratorConfig, SignalInjection, write_sample
    from hepbump.darkmachines.histograms import HistogramConfig
    from hepbump.io.rootio import write_histograms
    from processors.darkmachines import run_histograms
    from processors.runner import RunOptions

    events, hists = out / "events.root", out / "histograms.root"
    generator = DMGeneratorConfig(
        channel=config.channel,
        n_events=config.n_events,
        signals=(SignalInjection(config.signal, config.signal_strength),),
        seed=config.seed,
    )
    write_sample(generator, events, progress=progress)
    result = run_histograms({config.channel: [str(events)]}, HistogramConfig(channel=config.channel), RunOptions())
    write_histograms(hists, result.hists, result.metadata)
    log.info("%d histograms from %d events", len(result.hists), config.n_events)

    table = scan_files(BumpNet.pretrained(), [hists], progress=progress, model_name="shipped")
    table.write(out / "scan.parquet")
    families = run_gaa(table)
    with atomic_path(out / "families.json") as tmp:
        tmp.write_text(json.dumps(families.to_dict(), indent=1) + "\n")
    plot_family_map(table, families, out / "family_map.png")
    rows = crosscheck(table, crosscheck_rows(families, len(table), config.top))
    plot_crosscheck(rows, out / "crosscheck.png")
    plot_scan_row(table, 0, out / "top_histogram.png")
    top = [
        {"name": table.names[i], "z_max": float(table.z_max[i]), "mass_gev": float(table.masses[i])}
        for i in range(min(config.top, len(table)))
    ]
    return {
        "n_histograms": len(table),
        "top": top,
        "families": [f.to_dict() for f in families.families if f.accepted],
        "crosscheck": [r.to_dict() for r in rows],
    }


def _hunt_half(out: Path, seed: int) -> tuple[dict[str, Any], str]:
    from hepbump.hunt.demo import run_hunt_demo

    result = run_hunt_demo(out / "hunt", seed=seed)
    return result.summary, result.text()


def _num(x: float | None) -> str:
    return "failed" if x is None else f"{x:.2f}"


def _report(config: DemoConfig, result: DemoResult) -> str:
    lines = [
        "# hepbump demo",
        "",
        f"BumpNet on {config.n_events} Dark Machines events of channel {config.channel} with {config.signal} "
        f"injected at {config.signal_strength:g} x its reference cross section: {result.n_histograms} histograms.",
        "",
        "| rank | histogram | Z_max (BumpNet) | mass [GeV] |",
        "|---|---|---|---|",
        *(f"| {i + 1} | {t['name']} | {t['z_max']:.2f} | {t['mass_gev']:.0f} |" for i, t in enumerate(result.top)),
        "",
        f"Global Analysis Algorithm: {len(result.families)} families.",
        *(
            f"- {f['size']} histograms at {f['mass']:.0f} GeV ({f['signature']}): "
            + ", ".join(m["name"] for m in f["members"])
            for f in result.families
        ),
        "",
        "| histogram | BumpNet Z | LR scan Z | pyhf Z |",
        "|---|---|---|---|",
        *(
            f"| {c['name']} | {_num(c['bumpnet_z'])} | {_num(c['lr_z'])} | {_num(c['pyhf_z'])} |"
            for c in result.crosscheck
        ),
    ]
    if result.hunt_text is not None:
        lines += ["", "ECO/EPO hunt:", "", "```", result.hunt_text, "```"]
    return "\n".join(lines) + "\n"


def run_demo(config: DemoConfig, out_dir: str | Path, *, progress: bool = False) -> DemoResult:
    """Run both halves of the demo into ``out_dir`` (see the module docstring)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dm = _bumpnet_half(config, out, progress)
    hunt, hunt_text = _hunt_half(out, config.seed) if config.hunt else (None, None)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    result = DemoResult(dm["n_histograms"], dm["top"], dm["families"], dm["crosscheck"], hunt, hunt_text, files)
    summary = {"config": asdict(config), **asdict(result)}
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(_report(config, result))
    return result
