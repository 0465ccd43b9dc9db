"""Cleaning by pairwise compatibility (hepbump.hunt.clean): hand-made C_ij matrices, order, history, TS."""

from __future__ import annotations

import numpy as np
import pytest

from hepbump.errors import InputError
from hepbump.hunt.clean import DEFAULT_THRESHOLD, clean, mean_compatibility, test_statistic


def _block(n_signal: int, c_signal: float, outliers: list[list[float]]) -> np.ndarray:
    """Signal block of mutually compatible events, then outliers: row k = [C with each signal..., C with the
    other outliers...] (outlier-outlier entries given once in the upper triangle order)."""
    n = n_signal + len(outliers)
    c = np.ones((n, n))
    c[:n_signal, :n_signal] = c_signal
    for k, row in enumerate(outliers):
        i = n_signal + k
        c[i, :n_signal] = c[:n_signal, i] = row[0]
        for j, v in enumerate(row[1:]):
            c[i, n_signal + k + 1 + j] = c[n_signal + k + 1 + j, i] = v
    np.fill_diagonal(c, 1.0)
    return c


def test_outliers_removed_lowest_first_with_history():
    # 4 signal events (C = 0.92), outlier 4 (0.5 with signal, 0.1 with 5), outlier 5 (0.2 with signal)
    c = _block(4, 0.92, [[0.5, 0.1], [0.2]])
    r = clean(c)
    assert r.removed.tolist() == [5, 4]
    assert r.retained.tolist() == [0, 1, 2, 3]
    assert r.ts == 4 and r.threshold == DEFAULT_THRESHOLD
    assert len(r.history) == 3
    s1, s2, s3 = r.history
    assert s1.active.tolist() == [0, 1, 2, 3, 4, 5] and s1.removed == 5
    np.testing.assert_allclose(s1.scores, [(3 * 0.92 + 0.7) / 5] * 4 + [(4 * 0.5 + 0.1) / 5, (4 * 0.2 + 0.1) / 5])
    assert s2.active.tolist() == [0, 1, 2, 3, 4] and s2.removed == 4
    np.testing.assert_allclose(s2.scores, [(3 * 0.92 + 0.5) / 4] * 4 + [0.5])
    assert s3.active.tolist() == [0, 1, 2, 3] and s3.removed is None
    np.testing.assert_allclose(s3.scores, [0.92] * 4)


def test_scores_are_recomputed_after_each_removal():
    # outlier 4 starts below the threshold (0.6) only because of outlier 5; once 5 is gone it has 0.75 and stays
    c = _block(4, 0.92, [[0.75, 0.0], [0.2]])
    r = clean(c)
    assert r.history[0].scores[4] == pytest.approx(0.6)
    assert r.removed.tolist() == [5]
    assert r.retained.tolist() == [0, 1, 2, 3, 4] and r.ts == 5


def test_threshold_extremes_and_small_samples():
    c = _block(3, 0.9, [[0.1]])
    assert clean(c, threshold=0.0).ts == 4
    r = clean(c, threshold=1.5)  # nothing is compatible enough: removed down to the single last event
    assert r.ts == 1 and r.removed.size == 3
    assert test_statistic(np.zeros((0, 0))) == 0
    one = clean(np.ones((1, 1)))
    assert one.ts == 1 and one.retained.tolist() == [0] and one.removed.size == 0
    two = clean(np.array([[1.0, 0.3], [0.3, 1.0]]))
    assert two.ts == 1 and two.removed.tolist() == [0]  # tie: the lower index goes first
    assert clean(np.array([[1.0, 0.9], [0.9, 1.0]])).ts == 2


def test_matches_a_plain_reference_on_random_matrices():
    rng = np.random.default_rng(4)
    for n in (3, 6, 11):
        for _ in range(20):
            a = rng.random((n, n))
            c = (a + a.T) / 2
            active = list(range(n))
            removed = []
            while len(active) >= 2:
                s = [np.mean([c[i, j] for j in active if j != i]) for i in active]
                k = int(np.argmin(s))
                if s[k] >= 0.5:
                    break
                removed.append(active.pop(k))
            r = clean(c, 0.5)
            assert r.removed.tolist() == removed and r.retained.tolist() == active


def test_mean_compatibility_ignores_the_diagonal():
    c = np.array([[np.nan, 0.2, 0.4], [0.2, np.nan, 0.6], [0.4, 0.6, np.nan]])
    np.testing.assert_allclose(mean_compatibility(c), [0.3, 0.4, 0.5])
    np.testing.assert_allclose(mean_compatibility(c, np.array([1, 2])), [0.6, 0.6])


def test_bad_matrices():
    with pytest.raises(InputError, match="square"):
        clean(np.ones((2, 3)))
    with pytest.raises(InputError, match="non-finite"):
        clean(np.array([[1.0, np.nan], [np.nan, 1.0]]))
