"""False positives of BumpNet on background-only histograms, and what a channel's histogram count is made of.

The look-elsewhere figures of the BumpNet paper (section 4.2) are counts: on the background-only Dark Machines
samples, 25 of 8,104 histograms of channel 2b and 28 of 31,642 of channel 3 have ``Z_max`` above 5 sigma; after
the Global Analysis Algorithm (GAA) 18 and 9 remain, in 4 and 3 families. A count of false positives scales
with the number of histograms scanned, so comparing another histogram production with the paper needs the rate
per histogram and the histogram count beside it. This module holds the pure logic for that:

* :func:`summarize_false_positives`: from a scan (:class:`~hepbump.bumpnet.scan.ScanTable`) and optionally a
  GAA result (:class:`~hepbump.bumpnet.gaa.GAAResult`), the counts above the threshold before and after the
  GAA, the rates per histogram and where the excesses sit (mass, bin, bin index as a fraction of the bins);
* :data:`PAPER_BACKGROUND`, :func:`compare_with_paper`, :func:`rate_ratio`, :func:`poisson_interval`: the
  paper's figures and the ratio of rates per histogram with an exact interval.
The histogram count of a channel broken down by the ingredients of its categories is
:mod:`hepbump.darkmachines.census`.

Nothing here runs BumpNet or reads files; ``benchmarks/bench_bumpnet_background.py`` chains the pipeline.

>>> rate_ratio(25, 8104, 25, 8104)[0]
1.0
>>> PAPER_BACKGROUND["2b"].rate == 25 / 8104
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hepbump.errors import InputError

__all__ = [
    "PAPER_BACKGROUND",
    "PaperFigures",
    "Excess",
    "FalsePositiveSummary",
    "count_above",
    "poisson_interval",
    "rate_ratio",
    "summarize_false_positives",
    "compare_with_paper",
    "format_summary_table",
]

#: One-sigma central coverage.
ONE_SIGMA = 0.6826894921370859


@dataclass(frozen=True)
class PaperFigures:
    """The background-only figures of one channel in the BumpNet paper (section 4.2 and Fig. 19).

    ``histograms`` is the application sample scanned (channel 3: 31,664 produced, section 2.2.2, with 25
    sculpted histograms dropped; the paper states 31,642, three more than 31,664 - 25).
    """

    channel: str
    events: int
    histograms: int
    above: int
    after_gaa: int
    families: int
    threshold: float = 5.0

    @property
    def rate(self) -> float:
        """Histograms above the threshold per histogram scanned."""
        return self.above / self.histograms

    @property
    def rate_after_gaa(self) -> float:
        return self.after_gaa / self.histograms


#: The paper's background-only figures per channel.
PAPER_BACKGROUND: dict[str, PaperFigures] = {
    "2b": PaperFigures("2b", events=340_000, histograms=8_104, above=25, after_gaa=18, families=4),
    "3": PaperFigures("3", events=8_500_000, histograms=31_642, above=28, after_gaa=9, families=3),
}


def count_above(z_max: Sequence[float] | np.ndarray, threshold: float = 5.0) -> int:
    """Number of finite ``Z_max`` values ``>= threshold`` (the GAA's seed rule; NaN never counts).

    >>> count_above([5.0, 4.99, 7.2, float("nan"), float("inf")], 5.0)
    2
    """
    z = np.asarray(z_max, dtype=float)
    return int(np.count_nonzero(np.isfinite(z) & (z >= threshold)))


def poisson_interval(k: int, cl: float = ONE_SIGMA) -> tuple[float, float]:
    """Exact (Garwood) central interval of a Poisson mean given ``k`` observed counts.

    >>> lo, hi = poisson_interval(0)
    >>> lo, round(hi, 3)
    (0.0, 1.841)
    >>> [round(x, 2) for x in poisson_interval(25)]
    [20.03, 31.07]
    """
    from scipy.stats import chi2

    if k < 0 or int(k) != k:
        raise InputError(f"a count must be a non-negative integer, got {k!r}")
    alpha = 1.0 - cl
    lo = 0.0 if k == 0 else 0.5 * float(chi2.ppf(alpha / 2, 2 * k))
    hi = 0.5 * float(chi2.ppf(1 - alpha / 2, 2 * k + 2))
    return lo, hi


def rate_ratio(k1: int, n1: int, k2: int, n2: int, cl: float = ONE_SIGMA) -> tuple[float, float, float]:
    """Ratio of the rates ``(k1 / n1) / (k2 / n2)`` of two Poisson counts with an exact conditional interval.

    Given ``k1 + k2``, ``k1`` is binomial with ``p = r n1 / (r n1 + n2)`` for the rate ratio ``r``; the
    Clopper-Pearson interval of ``p`` maps onto ``r``. Returns ``(ratio, low, high)``; ``high`` is ``inf`` when
    ``k2 == 0``, and all three are NaN when ``k1 + k2 == 0``.

    >>> r, lo, hi = rate_ratio(50, 20000, 25, 10000)
    >>> r, lo < 1.0 < hi
    (1.0, True)
    >>> rate_ratio(0, 100, 5, 100)[:2]
    (0.0, 0.0)
    """
    from scipy.stats import beta

    if min(k1, k2) < 0 or min(n1, n2) <= 0:
        raise InputError("rate_ratio needs counts >= 0 and histogram numbers > 0")
    total = k1 + k2
    if total == 0:
        return (math.nan, math.nan, math.nan)
    alpha = 1.0 - cl
    p_lo = 0.0 if k1 == 0 else float(beta.ppf(alpha / 2, k1, total - k1 + 1))
    p_hi = 1.0 if k1 == total else float(beta.ppf(1 - alpha / 2, k1 + 1, total - k1))

    def to_ratio(p: float) -> float:
        return math.inf if p >= 1.0 else p / (1.0 - p) * n2 / n1

    ratio = math.inf if k2 == 0 else (k1 / n1) / (k2 / n2)
    return ratio, to_ratio(p_lo), to_ratio(p_hi)


# --- false positives of a scan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Excess:
    """A histogram with ``Z_max`` above the threshold: where its maximum is.

    ``bin`` is the index of the maximum in the scanned histogram (bins after the histogram's maximum, paper
    section 2.2.2); ``first_bin`` the first bin the scan considered (10 % excluded); ``family`` the 1-based
    index of its GAA family, 0 when it is in none.
    """

    name: str
    z_max: float
    mass: float
    bin: int
    n_bins: int
    first_bin: int
    family: int = 0

    @property
    def bin_fraction(self) -> float:
        """Bin index of the maximum as a fraction of the number of bins (0 = first bin)."""
        return self.bin / self.n_bins if self.n_bins else math.nan

    @property
    def bins_after_first(self) -> int:
        """Bins between the first bin the scan considered and the maximum (0: the maximum is on that bin)."""
        return self.bin - self.first_bin

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bin_fraction": self.bin_fraction, "bins_after_first": self.bins_after_first}


@dataclass(frozen=True)
class FalsePositiveSummary:
    """Background-only false positives of one scanned set of histograms.

    ``above``: the histograms with ``Z_max >= threshold`` (decreasing ``Z_max``), each with its GAA family (0
    when none). ``n_after_gaa`` and ``n_families`` are ``None`` when no GAA result was given.
    """

    channel: str | None
    n_events: int | None
    n_histograms: int
    threshold: float
    above: tuple[Excess, ...]
    n_after_gaa: int | None = None
    n_families: int | None = None

    @property
    def n_above(self) -> int:
        return len(self.above)

    @property
    def rate(self) -> float:
        """Histograms above the threshold per histogram scanned."""
        return self.n_above / self.n_histograms if self.n_histograms else math.nan

    @property
    def rate_after_gaa(self) -> float | None:
        if self.n_after_gaa is None:
            return None
        return self.n_after_gaa / self.n_histograms if self.n_histograms else math.nan

    @property
    def survivors(self) -> tuple[Excess, ...]:
        """The histograms kept in a GAA family."""
        return tuple(e for e in self.above if e.family)

    def n_near_start(self, max_bins_after_first: int = 2, *, survivors: bool = False) -> int:
        """Excesses (or GAA survivors) whose maximum is at most ``max_bins_after_first`` bins after the first bin
        the scan considered: the 'early in the mass histogram' excesses of the paper."""
        group = self.survivors if survivors else self.above
        return sum(1 for e in group if e.bins_after_first <= max_bins_after_first)

    def bin_fraction_quantiles(self, q: Sequence[float] = (0.25, 0.5, 0.75), *, survivors: bool = False) -> list:
        """Quantiles of :attr:`Excess.bin_fraction` over the excesses (or the GAA survivors); NaN if none."""
        values = [e.bin_fraction for e in (self.survivors if survivors else self.above)]
        if not values:
            return [math.nan] * len(q)
        return [float(x) for x in np.quantile(values, q)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "n_events": self.n_events,
            "n_histograms": self.n_histograms,
            "threshold": self.threshold,
            "n_above": self.n_above,
            "rate": self.rate,
            "n_after_gaa": self.n_after_gaa,
            "rate_after_gaa": self.rate_after_gaa,
            "n_families": self.n_families,
            "above": [e.to_dict() for e in self.above],
        }


def summarize_false_positives(
    table: Any,
    gaa: Any = None,
    *,
    threshold: float = 5.0,
    channel: str | None = None,
    n_events: int | None = None,
) -> FalsePositiveSummary:
    """Count the histograms of a scan with ``Z_max >= threshold`` and, with ``gaa``, those kept in families.

    ``table`` is a :class:`~hepbump.bumpnet.scan.ScanTable` (any object with its ``names``, ``z_max``,
    ``bins``, ``first_bins``, ``n_bins`` and ``masses``); ``gaa`` a :class:`~hepbump.bumpnet.gaa.GAAResult` of
    that table (members are matched by their 1-based ``rank``, checked against the name). Every GAA family
    member must be above ``threshold`` (the GAA's thresholds should not be lower), else an error.
    """
    z = np.asarray(table.z_max, dtype=float)
    n_bins = np.asarray(table.n_bins, dtype=np.int64)
    masses = np.asarray(table.masses, dtype=float) if len(z) else np.empty(0)
    family_of: dict[int, int] = {}
    if gaa is not None:
        for k, fam in enumerate(gaa.families, 1):
            for m in fam.members:
                row = int(m.rank) - 1
                if not (0 <= row < len(z)) or table.names[row] != m.name:
                    raise InputError(f"GAA member {m.name!r} (rank {m.rank}) is not in this scan table")
                family_of[row] = k
    rows = [int(i) for i in np.flatnonzero(np.isfinite(z) & (z >= threshold))]
    rows.sort(key=lambda i: (-z[i], i))
    missing = sorted(set(family_of) - set(rows))
    if missing:
        raise InputError(
            f"{len(missing)} GAA family members have Z_max below {threshold:g} (e.g. {table.names[missing[0]]!r}); "
            "run the GAA with thresholds >= the summary threshold"
        )
    above = tuple(
        Excess(
            table.names[i],
            float(z[i]),
            float(masses[i]),
            int(table.bins[i]),
            int(n_bins[i]),
            int(table.first_bins[i]),
            family_of.get(i, 0),
        )
        for i in rows
    )
    return FalsePositiveSummary(
        channel,
        n_events,
        len(z),
        float(threshold),
        above,
        None if gaa is None else len(family_of),
        None if gaa is None else len(gaa.families),
    )


def compare_with_paper(summary: FalsePositiveSummary, paper: PaperFigures | None = None) -> dict[str, Any]:
    """Our figures next to the paper's: counts, rates per histogram and their ratios (ours / paper) with 68 %
    exact intervals. ``paper`` defaults to :data:`PAPER_BACKGROUND` of the summary's channel.

    >>> s = FalsePositiveSummary("2b", 340000, 16208, 5.0, (), 0, 0)
    >>> c = compare_with_paper(s)
    >>> c["histogram_ratio"], c["rate_ratio"][0], c["rate_ratio_after_gaa"][0]
    (2.0, 0.0, 0.0)
    """
    if paper is None:
        if summary.channel not in PAPER_BACKGROUND:
            raise InputError(f"no paper figures for channel {summary.channel!r}")
        paper = PAPER_BACKGROUND[summary.channel]
    out: dict[str, Any] = {
        "channel": summary.channel,
        "paper": asdict(paper),
        "histogram_ratio": summary.n_histograms / paper.histograms,
        "event_ratio": None if summary.n_events is None else summary.n_events / paper.events,
        "rate": summary.rate,
        "paper_rate": paper.rate,
        "rate_ratio": rate_ratio(summary.n_above, summary.n_histograms, paper.above, paper.histograms),
        "rate_interval": tuple(x / summary.n_histograms for x in poisson_interval(summary.n_above)),
        "rate_after_gaa": summary.rate_after_gaa,
        "paper_rate_after_gaa": paper.rate_after_gaa,
        "rate_ratio_after_gaa": None,
    }
    if summary.n_after_gaa is not None:
        out["rate_ratio_after_gaa"] = rate_ratio(
            summary.n_after_gaa, summary.n_histograms, paper.after_gaa, paper.histograms
        )
    return out


def _ratio_text(r: tuple[float, float, float] | None) -> str:
    if r is None or math.isnan(r[0]):
        return "-"
    hi = "inf" if math.isinf(r[2]) else f"{r[2]:.2f}"
    return f"{r[0]:.2f} [{r[1]:.2f}, {hi}]"


def _per_mille(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{1000 * x:.2f}"


def format_summary_table(summaries: Sequence[FalsePositiveSummary]) -> str:
    """A Markdown table: per channel, ours and the paper's counts, rates per 1000 histograms and rate ratios.

    >>> s = FalsePositiveSummary("3", 1000000, 20000, 5.0, (), 0, 0)
    >>> print(format_summary_table([s]).splitlines()[2])
    | 3 | ours | 1,000,000 | 20,000 | 0 | 0.00 [0.00, 0.09] | 0 | 0.00 | 0 |
    """
    lines = [
        "| channel | | events | histograms | Z_max >= thr | per 1000 histograms [68% CL] | after GAA "
        "| after GAA per 1000 | families |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lo, hi = poisson_interval(s.n_above)
        n = max(s.n_histograms, 1)
        events = "-" if s.n_events is None else f"{s.n_events:,}"
        after = "-" if s.n_after_gaa is None else str(s.n_after_gaa)
        fams = "-" if s.n_families is None else str(s.n_families)
        lines.append(
            f"| {s.channel} | ours | {events} | {s.n_histograms:,} | {s.n_above} | "
            f"{_per_mille(s.rate)} [{_per_mille(lo / n)}, {_per_mille(hi / n)}] | {after} | "
            f"{_per_mille(s.rate_after_gaa)} | {fams} |"
        )
        paper = PAPER_BACKGROUND.get(str(s.channel))
        if paper is None:
            continue
        plo, phi = poisson_interval(paper.above)
        lines.append(
            f"| {s.channel} | paper | {paper.events:,} | {paper.histograms:,} | {paper.above} | "
            f"{_per_mille(paper.rate)} [{_per_mille(plo / paper.histograms)}, {_per_mille(phi / paper.histograms)}]"
            f" | {paper.after_gaa} | {_per_mille(paper.rate_after_gaa)} | {paper.families} |"
        )
        c = compare_with_paper(s, paper)
        lines.append(
            f"| {s.channel} | ours / paper | {_fmt_ratio(c['event_ratio'])} | {c['histogram_ratio']:.2f} | | "
            f"{_ratio_text(c['rate_ratio'])} | | {_ratio_text(c['rate_ratio_after_gaa'])} | |"
        )
    return "\n".join(lines)


def _fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"
