"""False-positive summaries (hepbump.bumpnet.falsepos) and histogram-count breakdowns (hepbump.darkmachines.census)
on synthetic scan tables with known counts, a real GAA result, and hand-made histogram names."""

import math

import numpy as np
import pytest

from hepbump.bumpnet.falsepos import (
    PAPER_BACKGROUND,
    FalsePositiveSummary,
    compare_with_paper,
    count_above,
    format_summary_table,
    poisson_interval,
    rate_ratio,
    summarize_false_positives,
)
from hepbump.bumpnet.gaa import GAAConfig, run_gaa
from hepbump.bumpnet.scan import ScanTable
from hepbump.darkmachines.census import (
    DEFAULT_LADDER,
    MERGED_JETS,
    bins_margin,
    breakdown,
    format_counter,
    histogram_features,
    restriction_ladder,
)
from hepbump.errors import InputError

EDGES = np.linspace(100.0, 1100.0, 51)  # 50 bins of 20 GeV


def make_table(rows, n_background=0, edges=EDGES):
    """A ranked scan table: ``(name, z_max, bin)`` rows plus ``n_background`` histograms at Z_max 1."""
    rows = list(rows) + [(f"1e_{i}j__e0_j0", 1.0, 10) for i in range(n_background)]
    n = len(rows)
    nb = len(edges) - 1
    return ScanTable(
        tuple(r[0] for r in rows),
        ("f.root",) * n,
        np.array([r[1] for r in rows], dtype=float),
        np.array([r[2] for r in rows]),
        np.full(n, nb // 10),
        tuple(np.zeros(nb) for _ in rows),
        tuple(np.ones(nb) for _ in rows),
        (edges,) * n,
        ({},) * n,
    ).ranked()


# --- counting -------------------------------------------------------------------------------------------------------


def test_count_above_threshold_is_inclusive_and_ignores_nan():
    assert count_above([5.0, 4.999, 6.0, np.nan, -np.inf], 5.0) == 2
    assert count_above([], 5.0) == 0
    assert count_above(np.array([3.0, 4.0]), 3.5) == 1


def test_summary_counts_rates_and_positions():
    table = make_table([("2mu_OS_2j__mu0_j0", 7.0, 20), ("2e_OS_3j__e0_e1_MET", 5.5, 5), ("1Z_2j__Z0_j0", 4.9, 30)], 97)
    s = summarize_false_positives(table, threshold=5.0, channel="2b", n_events=1000)
    assert s.n_histograms == 100
    assert s.n_above == 2
    assert s.rate == pytest.approx(0.02)
    assert s.n_after_gaa is None and s.rate_after_gaa is None and s.n_families is None
    assert [e.name for e in s.above] == ["2mu_OS_2j__mu0_j0", "2e_OS_3j__e0_e1_MET"]
    first = s.above[0]
    assert (first.bin, first.n_bins, first.first_bin) == (20, 50, 5)
    assert first.bin_fraction == pytest.approx(0.4)
    assert first.mass == pytest.approx(510.0)  # centre of 500-520 GeV
    assert s.bin_fraction_quantiles((0.0, 1.0)) == pytest.approx([0.1, 0.4])
    assert [e.bins_after_first for e in s.above] == [15, 0]
    assert s.n_near_start(2) == 1 and s.n_near_start(15) == 2 and s.n_near_start(2, survivors=True) == 0
    assert all(math.isnan(q) for q in s.bin_fraction_quantiles(survivors=True))


def test_summary_with_gaa_marks_family_members():
    # two independent jet bins of 2mu_OS at the same mass (a family), one lone excess elsewhere, one below
    rows = [
        ("2mu_OS_2j__mu0_j0", 6.0, 20),
        ("2mu_OS_3j__mu1_j0", 5.5, 21),
        ("1e_1j__e0_j0_MET", 8.0, 40),
        ("2e_OS_2j__e0_j0", 4.0, 20),
    ]
    table = make_table(rows, 96)
    gaa = run_gaa(table, GAAConfig(seed_threshold=5.0, member_threshold=5.0))
    s = summarize_false_positives(table, gaa, threshold=5.0, channel="2b")
    assert s.n_above == 3
    assert s.n_after_gaa == 2 and s.n_families == 1
    assert s.rate_after_gaa == pytest.approx(0.02)
    assert {e.name for e in s.survivors} == {"2mu_OS_2j__mu0_j0", "2mu_OS_3j__mu1_j0"}
    assert {e.name: e.family for e in s.above}["1e_1j__e0_j0_MET"] == 0
    d = s.to_dict()
    assert d["n_above"] == 3 and len(d["above"]) == 3 and "bin_fraction" in d["above"][0]


def test_summary_refuses_gaa_below_threshold_and_foreign_members():
    rows = [("2mu_OS_2j__mu0_j0", 4.5, 20), ("2mu_OS_3j__mu1_j0", 4.4, 21)]
    table = make_table(rows, 10)
    gaa = run_gaa(table, GAAConfig(seed_threshold=4.0, member_threshold=4.0))
    assert len(gaa.families) == 1
    with pytest.raises(InputError, match="below 5"):
        summarize_false_positives(table, gaa, threshold=5.0)
    other = make_table([("x__e0_j0", 1.0, 3)], 20)
    with pytest.raises(InputError, match="not in this scan table"):
        summarize_false_positives(other, gaa, threshold=4.0)


def test_empty_table():
    s = summarize_false_positives(make_table([], 0), threshold=5.0)
    assert s.n_histograms == 0 and s.n_above == 0 and math.isnan(s.rate)


# --- intervals and the comparison with the paper --------------------------------------------------------------------


def test_poisson_interval_covers_count_and_known_values():
    from scipy.stats import poisson

    assert poisson_interval(0) == (0.0, pytest.approx(1.8410, abs=1e-3))
    lo, hi = poisson_interval(10)
    tail = (1 - 0.6826894921370859) / 2
    # defining property of the central interval: P(X >= k | lo) = P(X <= k | hi) = tail
    assert poisson.sf(9, lo) == pytest.approx(tail, rel=1e-6) and poisson.cdf(10, hi) == pytest.approx(tail, rel=1e-6)
    assert 6.0 < lo < 10.0 < hi < 15.0
    lo95, hi95 = poisson_interval(10, cl=0.95)
    assert lo95 < lo and hi95 > hi
    with pytest.raises(InputError):
        poisson_interval(-1)


def test_rate_ratio_values_and_coverage_of_one():
    r, lo, hi = rate_ratio(28, 31642, 25, 8104)
    assert r == pytest.approx((28 / 31642) / (25 / 8104))
    assert lo < r < hi < 1.0  # channel 3's rate is significantly below channel 2b's in the paper
    r, lo, hi = rate_ratio(10, 1000, 10, 1000)
    assert r == 1.0 and lo < 1.0 < hi
    assert rate_ratio(3, 100, 0, 100)[0] == math.inf and rate_ratio(3, 100, 0, 100)[2] == math.inf
    assert all(math.isnan(x) for x in rate_ratio(0, 10, 0, 10))
    with pytest.raises(InputError):
        rate_ratio(1, 0, 1, 10)


def test_rate_ratio_interval_coverage_by_toys():
    rng = np.random.default_rng(4)
    n1, n2, mu1, mu2 = 20000, 8000, 30.0, 12.0  # equal rates
    covered = 0
    for _ in range(400):
        _, lo, hi = rate_ratio(int(rng.poisson(mu1)), n1, int(rng.poisson(mu2)), n2)
        covered += lo <= 1.0 <= hi
    assert 0.62 <= covered / 400 <= 0.85  # exact intervals over-cover a little


def test_paper_figures():
    p2b, p3 = PAPER_BACKGROUND["2b"], PAPER_BACKGROUND["3"]
    assert (p2b.histograms, p2b.above, p2b.after_gaa, p2b.families) == (8104, 25, 18, 4)
    assert (p3.histograms, p3.above, p3.after_gaa, p3.families) == (31642, 28, 9, 3)
    assert p2b.rate == pytest.approx(0.003085, abs=1e-6) and p3.rate_after_gaa == pytest.approx(9 / 31642)


def test_compare_with_paper_ratios():
    s = FalsePositiveSummary("2b", 340000, 16208, 5.0, (), 9, 2)
    c = compare_with_paper(s)
    assert c["histogram_ratio"] == 2.0 and c["event_ratio"] == 1.0
    assert c["rate_ratio"][0] == 0.0
    assert c["rate_ratio_after_gaa"][0] == pytest.approx((9 / 16208) / (18 / 8104))
    with pytest.raises(InputError, match="no paper figures"):
        compare_with_paper(FalsePositiveSummary("1", None, 10, 5.0, ()))


def test_format_summary_table_rows():
    table = make_table([("a__e0_j0", 6.0, 10)] * 1, 999)
    s = summarize_false_positives(table, threshold=5.0, channel="2b", n_events=340000)
    text = format_summary_table([s])
    lines = text.splitlines()
    assert len(lines) == 5
    assert lines[2].startswith("| 2b | ours | 340,000 | 1,000 | 1 | 1.00 [")
    assert lines[3].startswith("| 2b | paper | 340,000 | 8,104 | 25 | 3.08 [")
    assert "| 2b | ours / paper | 1.00 | 0.12 |" in lines[4]


# --- breakdown of the histogram count -------------------------------------------------------------------------------


def test_histogram_features_from_name_and_metadata():
    f = histogram_features("1e_1mu_OS_2b_pt250_ge4j__e0_mu0_b1_lj0")
    assert (f.base, f.min_b, f.min_met, f.min_lead_pt, f.jets, f.jet_tail) == ("1e_1mu_OS", 2, 0, 250, "ge4j", True)
    assert (f.n_objects, f.flavour_aware, f.highest_jet, f.object_types) == (4, True, 1, "b+e+lj+mu")
    low = histogram_features("2mu_OS_1j__mu0_mu1_m10to76")
    assert low.mass_range == "low" and low.highest_jet == -1 and low.n_thresholds == 0
    # metadata wins over the name
    meta = {"category": "1Z_3j", "combination": "Z0_j0_j1_MET", "effective_events": 150.0}
    g = histogram_features("whatever", meta, n_bins=42)
    assert (g.base, g.jets, g.with_met, g.n_objects, g.n_bins, g.effective_events) == ("1Z", "3j", True, 3, 42, 150.0)
    unknown = histogram_features("no_separator")
    assert unknown.base is None and unknown.object_types == "unknown" and unknown.jets == "any"


NAMES = [
    "2mu_OS_2j__mu0_j0",
    "2mu_OS_2j__mu0_j0_MET",
    "2mu_OS_3j__mu0_j0",
    "2mu_OS_1b_2j__mu0_b0",
    "2mu_OS_1b_2j__mu0_j0",
    "2mu_OS_met150_2j__mu0_j0",
    "2mu_OS_pt100_ge3j__mu0_j2",
    "2mu_OS_2j__mu0_mu1_j0_j1",
]


def test_breakdown_counts():
    b = breakdown(histogram_features(n) for n in NAMES)
    assert dict(b["b-jet threshold"]) == {0: 6, 1: 2}
    assert list(b["MET threshold [GeV]"]) == [0, 150]
    assert dict(b["leading-pT threshold [GeV]"]) == {0: 7, 100: 1}
    assert list(b["jet subcategory"].items()) == [("2j", 6), ("3j", 1), ("ge3j", 1)]
    assert dict(b["flavour-labelled jets"]) == {"no": 7, "yes": 1}
    assert dict(b["highest standard-jet rank in the mass"]) == {"j0": 6, "j1": 1, "j2": 1}
    assert dict(b["objects in the mass"]) == {2: 7, 4: 1}
    assert dict(b["kinematic thresholds applied"]) == {0: 4, 1: 4}
    assert sum(b["base category"].values()) == len(NAMES)


def test_restriction_ladder_cumulative_and_alone():
    fs = [histogram_features(n) for n in NAMES]
    ladder = restriction_ladder(fs)
    assert [row[0] for row in ladder] == ["all"] + [label for label, _ in DEFAULT_LADDER] + [MERGED_JETS]
    counts = {label: (cum, alone) for label, cum, alone in ladder}
    assert counts["all"] == (8, 8)
    assert counts["no leading-pT thresholds"] == (7, 7)
    assert counts["no MET thresholds"] == (6, 7)
    assert counts["no flavour-labelled jets (b0, lj0, ...)"] == (5, 7)
    assert counts["no b-jet thresholds"] == (4, 6)
    assert counts["only the two leading jets (j0, j1) in the mass"] == (4, 7)
    assert counts["at most 3 objects in the mass"] == (3, 7)
    # left: 2mu_OS_2j mu0_j0, mu0_j0_MET and 2mu_OS_3j mu0_j0 -> two distinct (kinematic, combination) pairs
    assert counts[MERGED_JETS][0] == 2
    cumulative = [row[1] for row in ladder]
    assert cumulative == sorted(cumulative, reverse=True)
    assert restriction_ladder(fs, (), merge_jets=False) == [("all", 8, 8)]


def test_bins_margin():
    assert bins_margin([31, 40, 62, 93, 30], 31, (2.0, 3.0)) == [(1.0, 4), (2.0, 2), (3.0, 1)]
    assert bins_margin([], 31) == [(1.0, 0), (1.5, 0), (2.0, 0), (3.0, 0)]


def test_format_counter_top_and_shares():
    text = format_counter("types", {"a": 5, "b": 3, "c": 1, "d": 1}, top=2)
    lines = text.splitlines()
    assert lines[0] == "types:"
    assert "a" in lines[1] and "(50.0%)" in lines[1]
    assert "(2 others)" in lines[3] and lines[3].rstrip().endswith("2  (20.0%)")
