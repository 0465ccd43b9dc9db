"""The conventional bump hunt (hepbump.hunt.bumphunt): window counts by hand on hand-made m_gg lists."""

from __future__ import annotations

import numpy as np
import pytest

from hepbump.errors import InputError
from hepbump.hunt.bumphunt import (
    BENCHMARK_SUBINTERVALS,
    benchmark_subintervals,
    bump_hunt,
    bump_hunt_ts,
    subinterval_index,
    window_counts,
    window_counts_many,
    window_edges,
)


def test_four_subintervals_by_hand():
    # N = 4: width 0.575, edges -1.5, -0.925, -0.35, 0.225, 0.8; windows [-1.5, 0.225] and [-0.925, 0.8]
    m = 10 ** np.array([-1.4, -1.0, -0.5, 0.0, 0.5, 0.7])  # subintervals 0, 0, 1, 2, 3, 3
    assert subinterval_index(m, 4).tolist() == [0, 0, 1, 2, 3, 3]
    assert window_counts(m, 4).tolist() == [4, 4]
    np.testing.assert_allclose(window_edges(4), [[-1.5, 0.225], [-0.925, 0.8]])
    r = bump_hunt(m, 4)
    assert (r.ts, r.window) == (4, 0) and r.selected.tolist() == [True] * 4 + [False] * 2


def test_eleven_subintervals_by_hand():
    # N = 11: width 0.20909; subintervals of the values below: 2, 6, 7, 7, 7, 8, 10
    m = 10 ** np.array([-1.0, -0.1, 0.0, 0.05, 0.1, 0.3, 0.79])
    assert subinterval_index(m, 11).tolist() == [2, 6, 7, 7, 7, 8, 10]
    assert window_counts(m, 11).tolist() == [1, 1, 1, 0, 1, 4, 5, 4, 2]
    assert bump_hunt_ts(m, 11) == 5
    r = bump_hunt(m, 11)
    assert r.window == 6 and r.selected.tolist() == [False, True, True, True, True, True, False]
    assert r.edges == pytest.approx((-1.5 + 6 * 2.3 / 11, -1.5 + 9 * 2.3 / 11))


def test_out_of_range_and_unphysical_masses_are_not_counted():
    m = np.array([10**-1.6, 10**0.9, 0.0, -1.0, np.nan, np.inf, 1.0])
    assert subinterval_index(m, 4).tolist() == [-1, -1, -1, -1, -1, -1, 2]
    assert bump_hunt_ts(m, 4) == 1
    assert bump_hunt_ts(np.array([]), 30) == 0


def test_many_experiments_match_one_at_a_time():
    rng = np.random.default_rng(1)
    n_exp = 50
    m = 10 ** rng.uniform(-1.7, 1.0, 400)
    exp = rng.integers(0, n_exp, 400)
    many = window_counts_many(m, exp, n_exp, 11)
    assert many.shape == (n_exp, 9)
    for e in range(n_exp):
        assert many[e].tolist() == window_counts(m[exp == e], 11).tolist()


def test_benchmark_numbers_of_subintervals():
    assert BENCHMARK_SUBINTERVALS[(0.2, "good")] == BENCHMARK_SUBINTERVALS[(0.2, "poor")] == 4
    assert benchmark_subintervals(1.0, "poor") == 11
    assert benchmark_subintervals(4.0, "good-ref") == 48 and benchmark_subintervals(4.0, "poor") == 30
    with pytest.raises(InputError, match="no benchmark"):
        benchmark_subintervals(2.0, "good")


def test_bad_numbers_of_subintervals():
    for n in (2, 0, 3.5, True):
        with pytest.raises(InputError, match="subintervals"):
            window_counts(np.array([1.0]), n)
    with pytest.raises(InputError, match="labels"):
        window_counts_many(np.array([1.0]), np.array([3]), 2, 5)
