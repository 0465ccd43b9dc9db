"""Performance measures (hepbump.hunt.metrics): closed-form p-values, L_p, Z, <Z>_s, <L_p,0>, Wasserstein,
ROC/AUC/rejection, and pseudo-experiments from pools (no silent truncation, reference conventions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats

from hepbump.errors import InputError
from hepbump.hunt import metrics as M
from hepbump.stats import p_to_z


def test_p_values_and_log_p_sums_of_a_known_discrete_distribution():
    pb = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(M.p_values(pb), [1.0, 0.9, 0.7, 0.4])
    np.testing.assert_allclose(
        M.log_p_sums(pb),
        [math.log(0.1 * 0.2 * 0.3 * 0.4), math.log(0.2 * 0.3 * 0.4), math.log(0.3 * 0.4), math.log(0.4)],
    )
    # L_p(l) != log p(l)
    assert not np.allclose(M.log_p_sums(pb), np.log(M.p_values(pb)))
    # a term with p_b = 0 makes the sum -inf, as eq. (3) is written
    assert M.log_p_sums([0.5, 0.0, 0.5])[0] == -np.inf
    with pytest.raises(InputError):
        M.p_values([0.5, 0.6])


def test_significance_is_the_papers_erfinv_and_uses_p_to_z():
    p = np.array([1.0, 0.5, 0.31731051, 0.04550026, 2.6997961e-3, 1e-9])
    z = M.significance(p)
    np.testing.assert_allclose(z, math.sqrt(2) * scipy.special.erfinv(1 - p), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(z, p_to_z(p / 2))  # the project's one definition, two-sided p
    np.testing.assert_allclose(z[2:5], [1.0, 2.0, 3.0], atol=1e-5)
    with pytest.raises(InputError):
        M.significance(1.5)


def test_expected_significance_and_minus_log_p():
    pb = np.array([0.5, 0.3, 0.2])
    ps = np.array([0.0, 0.5, 0.5])
    z = math.sqrt(2) * scipy.special.erfinv(1 - np.array([1.0, 0.5, 0.2]))
    assert M.expected_significance(ps, pb) == pytest.approx(0.5 * z[1] + 0.5 * z[2])
    lp = np.array([math.log(0.5 * 0.3 * 0.2), math.log(0.3 * 0.2), math.log(0.2)])
    assert M.expected_minus_log_p(ps, pb) == pytest.approx(-(0.5 * lp[1] + 0.5 * lp[2]))
    # identical distributions: no separation
    assert M.ts_wasserstein(pb, pb) == 0.0
    # shorter vectors are padded with zeros; signal beyond the background's support has Z = inf
    assert M.expected_significance([0.0, 0.0, 0.0, 1.0], pb) == np.inf
    assert M.expected_significance([1.0], pb) == 0.0


def test_wasserstein_of_shifted_distributions():
    assert M.ts_wasserstein([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]) == pytest.approx(1.0)
    assert M.ts_wasserstein([1.0], [0.0, 0.0, 1.0]) == pytest.approx(2.0)


def test_expected_lp0_closed_form():
    p0 = np.array([0.5, 0.3, 0.2])
    pn = np.array([0.1, 0.6, 0.3])
    lg = np.log(p0)
    lp0 = np.array([lg.sum(), lg[1:].sum(), lg[2]])
    want = 0.6 * (lp0[1] + lp0[2]) + 0.3 * lp0[2]
    assert M.expected_lp0(pn, p0) == pytest.approx(want)


def test_ts_distribution():
    np.testing.assert_allclose(M.ts_distribution([0, 0, 3], 4), [2 / 3, 0, 0, 1 / 3, 0])
    with pytest.raises(InputError):
        M.ts_distribution([5], 4)
    with pytest.raises(InputError):
        M.ts_distribution([1.5])


def test_auc_roc_and_rejection():
    rng = np.random.default_rng(0)
    s = rng.normal(1.0, 1.0, 400)
    b = rng.normal(0.0, 1.0, 500)
    assert M.auc(s + 100, b) == 1.0 and M.auc(b, s + 100) == 0.0
    assert M.auc(b, b) == 0.5 and M.auc(np.ones(3), np.ones(5)) == 0.5
    # Mann-Whitney U agrees, and the binormal AUC Phi(1/sqrt 2) roughly
    u = scipy.stats.mannwhitneyu(s, b).statistic
    assert M.auc(s, b) == pytest.approx(u / (s.size * b.size))
    assert M.auc(s, b) == pytest.approx(scipy.stats.norm.cdf(1 / math.sqrt(2)), abs=0.04)
    roc = M.pair_roc(s, b)
    assert roc.eps_s[0] == 0 and roc.eps_s[-1] == 1 and roc.eps_b[-1] == 1
    assert np.all(np.diff(roc.eps_s) >= 0) and np.all(np.diff(roc.eps_b) >= 0)
    assert np.trapezoid(roc.eps_s, roc.eps_b) == pytest.approx(M.auc(s, b), abs=1e-9)
    # rejection: threshold at the signal quantile
    sig, bkg = np.arange(10.0), np.array([0.0, 1.0, 2.0, 8.5])
    assert M.rejection_at(sig, bkg, 0.8) == pytest.approx(2.0)  # threshold 2 keeps 2.0 and 8.5
    assert M.rejection_at(sig, bkg, 0.2) == pytest.approx(4.0)  # threshold 8: keeps 8.5 only
    assert M.rejection_at(sig + 100, bkg, 0.9) == np.inf
    summ = M.separation_summary(s, b)
    assert set(summ) >= {"auc", "rejection_eps_s_0.8", "rejection_eps_s_0.9", "eps_s_at_threshold"}


def test_pool_too_small_is_an_error_not_a_truncation():
    rng = np.random.default_rng(1)
    need = M.required_pool(4.0)
    assert need == int(scipy.stats.poisson.ppf(1 - 1e-6, 4.0))
    with pytest.raises(InputError, match="too small"):
        M.draw_counts(4.0, 10, need - 1, rng)
    n = M.draw_counts(4.0, 10_000, need, rng)
    assert n.mean() == pytest.approx(4.0, abs=0.1)
    with pytest.raises(InputError, match="too small"):
        M.pseudo_experiments(6.0, 1.0, 10, 5, 100, rng)


def test_pseudo_experiments_distinct_events_and_counts():
    rng = np.random.default_rng(2)
    pe = M.pseudo_experiments(3.0, 2.0, 500, 40, 30, rng)
    assert pe.background.size == pe.n_background.sum() and pe.signal.size == pe.n_signal.sum()
    for k in range(50):
        b, s = pe.experiment(k)
        assert b.size == pe.n_background[k] and s.size == pe.n_signal[k]
        assert np.unique(b).size == b.size and np.unique(s).size == s.size
        assert b.max(initial=0) < 40 and s.max(initial=0) < 30


def test_sensitivity_references_and_counting_ts():
    """With TS = number of events the distributions are Poisson: same-total reference gives no separation."""
    rng = np.random.default_rng(3)
    ts = lambda b, s: b.size + s.size  # noqa: E731
    same = M.sensitivity(ts, 2.0, 2.0, 4000, 60, 60, rng)
    assert same.reference == "same-total" and same.mu_ref == 4.0
    assert same.wasserstein < 0.15 and same.z_mean < 1.0  # ~ E|N(0, 1)| for a near-continuous TS
    only_b = M.sensitivity(ts, 2.0, 2.0, 4000, 60, 60, rng, reference="mu_b")
    assert only_b.mu_ref == 2.0 and only_b.wasserstein == pytest.approx(2.0, abs=0.15)
    assert only_b.z_mean > same.z_mean
    d = only_b.to_dict()
    assert d["reference"] == "mu_b" and len(d["p_s"]) == len(d["p_b"])
    with pytest.raises(InputError):
        M.sensitivity(ts, 1.0, 1.0, 10, 60, 60, rng, reference="other")
    grid = M.sensitivity_map(ts, [0.0, 2.0], [0.0, 1.0], 200, 60, 60, rng, reference="mu_b")
    assert grid["Z_mean"].shape == (2, 2) and grid["reference"] == "mu_b"
    assert grid["Z_mean"][0, 0] == 0.0


def test_threshold_scan_and_lp0_scan_with_a_toy_ts():
    """A toy cleaning: below threshold 0.5 nothing is removed; above, only signal events survive."""

    def make_ts(t):
        return lambda b, s: s.size if t > 0.5 else b.size + s.size

    scan = M.threshold_scan(make_ts, [0.3, 0.7], 3.0, 2.0, 800, 60, 60, seed=4)
    assert scan["Z_mean"][1] > scan["Z_mean"][0] and scan["reference"] == "same-total"
    t = M.fixed_count_ts(make_ts(0.3), 5, 2, 50, 60, 60, np.random.default_rng(0))
    assert np.all(t == 5)
    lp0 = M.lp0_scan(make_ts, [0.3, 0.7], 5, 2, 300, 60, 60, seed=1)
    # without separation p_n = p_0 (all mass at 5); with it p_n at 2 and p_0 at 0: eq. 10 with L_p,0 = log 1 = 0
    # at l = 0 and -inf above (p_0(m) = 0): the perfectly separating TS has <L_p,0> = -inf
    assert lp0["Lp0_mean"][0] == pytest.approx(0.0) and lp0["Lp0_mean"][1] == -np.inf
    with pytest.raises(InputError):
        M.fixed_count_ts(make_ts(0.3), 2, 3, 10, 60, 60, np.random.default_rng(0))


def test_probability_floor_makes_unseen_outcomes_finite():
    pb, ps = [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]
    assert M.expected_significance(ps, pb) == np.inf and M.expected_minus_log_p(ps, pb) == np.inf
    assert M.expected_significance(ps, pb, 1e-3) == pytest.approx(float(M.significance(1e-3)))
    assert np.isfinite(M.expected_minus_log_p(ps, pb, 1e-3))
    ts = lambda b, s: b.size + 5 * s.size  # noqa: E731
    r = M.sensitivity(ts, 1.0, 2.0, 300, 40, 40, np.random.default_rng(0))
    assert r.p_floor == pytest.approx(1 / 300) and np.isfinite(r.z_mean)
    with pytest.raises(InputError):
        M.expected_significance(ps, pb, 0.0)


def test_mean_log_p_value():
    pb = np.array([0.5, 0.3, 0.2])
    ps = np.array([0.0, 0.5, 0.5])
    assert M.expected_minus_ln_p_value(ps, pb) == pytest.approx(-(0.5 * math.log(0.5) + 0.5 * math.log(0.2)))
    assert M.expected_minus_ln_p_value([0.0, 0.0, 0.0, 1.0], pb) == np.inf
    assert M.expected_minus_ln_p_value([0.0, 0.0, 0.0, 1.0], pb, 1e-3) == pytest.approx(-math.log(1e-3))
