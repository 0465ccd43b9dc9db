"""BumpNet evaluation metrics (:mod:`hepbump.bumpnet.evalmetrics`) on hand-made arrays: the dZ_max / position /
rate / ROC definitions, the sparse-tail selection, the known-shape LR significance and bad input."""

import numpy as np
import pytest

from hepbump.bumpnet.evalmetrics import (
    compare_maxima,
    dz_statistics,
    false_rate,
    position_accuracy,
    profile,
    roc_auc,
    roc_curve,
    sparse_tail_mask,
    window_significance,
)
from hepbump.errors import InputError
from hepbump.stats import fit_yield_known_background, gaussian_templates


def test_perfect_prediction_gives_zero_dz_and_full_accuracy():
    rng = np.random.default_rng(0)
    targets = [rng.normal(size=n) for n in (30, 47, 100)]
    c = compare_maxima(targets, [t.copy() for t in targets])
    assert np.all(c.dz == 0.0) and np.all(c.dpos == 0)
    assert position_accuracy(c.pos_pred, c.pos_lr, 0) == 1.0
    st = dz_statistics(c.dz)
    assert st["std"] == 0.0 and st["median"] == 0.0 and st["n"] == 3


def test_dz_definition_first_bins_excluded():
    t = np.zeros((2, 20))
    t[0, 1], t[0, 10] = 9.0, 3.0  # bin 1 is in the excluded first 10% (bins 0-1)
    t[1, 5] = 4.0
    p = t.copy()
    p[0, 12] = 3.5  # prediction's maximum elsewhere
    p[1, 5] = 3.0
    c = compare_maxima(t, p, exclude_first=0.1)
    assert c.first.tolist() == [2, 2]
    assert c.z_lr.tolist() == [3.0, 4.0] and c.pos_lr.tolist() == [10, 5]
    assert c.z_pred.tolist() == [3.5, 3.0] and c.pos_pred.tolist() == [12, 5]
    np.testing.assert_allclose(c.dz, [0.5, -1.0])
    assert c.dpos.tolist() == [2, 0]
    np.testing.assert_allclose(c.rel_pos_lr, [10.5 / 20, 5.5 / 20])
    assert position_accuracy(c.pos_pred, c.pos_lr, 1) == 0.5
    assert position_accuracy(c.pos_pred, c.pos_lr, 2) == 1.0
    every = compare_maxima(t, p, exclude_first=0.0)
    assert every.z_lr[0] == 9.0 and every.pos_lr[0] == 1 and every.dz[0] == 0.0  # both at the excluded spike


def test_statistics_profile_rates_and_roc():
    st = dz_statistics(np.array([-1.0, 0.0, 1.0, np.nan]))
    assert st["n"] == 3 and st["median"] == 0.0 and st["std"] == pytest.approx(np.sqrt(2 / 3))
    assert np.isnan(dz_statistics([])["median"])
    p = profile([0.1, 0.2, 0.9, 5.0], [1.0, 3.0, -2.0, 7.0], [0.0, 0.5, 1.0])
    assert p["n"].tolist() == [2, 1] and p["median"].tolist() == [2.0, -2.0]
    assert false_rate([4.9, 5.0, 5.1, 7.0]) == 0.5
    assert roc_auc([3.0, 4.0], [1.0, 2.0]) == 1.0 and roc_auc([1.0], [1.0]) == 0.5
    rng = np.random.default_rng(1)
    sig, bkg = rng.normal(2, 1, 2000), rng.normal(0, 1, 2000)
    roc = roc_curve(sig, bkg)
    assert roc["fpr"][0] == 0.0 and roc["tpr"][0] == 0.0 and roc["fpr"][-1] == 1.0 and roc["tpr"][-1] == 1.0
    assert np.all(np.diff(roc["fpr"]) >= 0) and np.all(np.diff(roc["tpr"]) >= 0)
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(roc_auc(sig, bkg), abs=0.01)


def test_sparse_tail_selection():
    b = np.array([[100.0, 10.0, 2.0, 0.5, 0.2, 0.1, 0.05, 0.01]] * 3)
    b[2, 6] = 1.5  # one tail bin with >= 1 expected event
    # tail = last 2 bins (25% of 8); signal in the tail, outside it, and a sparse-tail row with a dense bin
    assert sparse_tail_mask(b, np.array([7, 2, 7]), 0.25, 1.0).tolist() == [True, False, False]
    assert sparse_tail_mask(b, np.array([-1, -1, -1]), 0.25, 1.0).tolist() == [True, True, False]


def test_window_significance_matches_the_known_background_fit():
    rng = np.random.default_rng(3)
    edges = np.tile(np.linspace(100.0, 400.0, 41), (5, 1))
    b = np.tile(200.0 * np.exp(-np.arange(40) / 12.0) + 0.5, (5, 1))
    mean = np.array([150.0, 200.0, 250.0, 300.0, np.nan])
    sigma = np.array([7.5, 15.0, 22.5, 7.5, np.nan])
    counts = rng.poisson(b).astype(float)
    counts[1, 10:15] += 30
    z = window_significance(counts, b, edges, mean, sigma)
    assert np.isnan(z[4])
    for i in range(4):
        g = gaussian_templates(edges[i], mean[i : i + 1], sigma[i : i + 1])
        ref = fit_yield_known_background(counts[i], b[i], g)
        assert z[i] == pytest.approx(float(ref.z[0]), abs=1e-6)
    assert z[1] > 3


def test_bad_inputs():
    with pytest.raises(InputError, match="predictions"):
        compare_maxima(np.zeros((2, 10)), np.zeros((3, 10)))
    with pytest.raises(InputError, match="bin count"):
        compare_maxima([np.zeros(10)], [np.zeros(11)])
    with pytest.raises(InputError, match="finite"):
        compare_maxima([np.zeros(10)], [np.full(10, np.nan)])
    with pytest.raises(InputError, match="no histograms"):
        compare_maxima([], [])
    with pytest.raises(InputError, match="exclude_first"):
        compare_maxima(np.zeros((1, 10)), np.zeros((1, 10)), exclude_first=1.0)
