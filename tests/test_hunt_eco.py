"""ECO pair classifier (hepbump.hunt.eco): symmetry, batched matrix, training on a synthetic pairs sample,
save/load, bad files, pairs bookkeeping, and the simulate -> smear -> features pairs sample."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from hepbump.errors import InputError, ModelFileError
from hepbump.hunt.clean import clean
from hepbump.hunt.data import EventSample, simulate_sample
from hepbump.hunt.eco import ECO_TRAIN_DEFAULTS, EcoClassifier, split_pairs, train_eco

torch.set_num_threads(1)

TINY = replace(
    ECO_TRAIN_DEFAULTS,
    epochs=30,
    batch_size=256,
    learning_rate=3e-3,
    decay_steps=200,
    patience=5,
    hidden=(32, 32),
    threads=1,
)


def _synthetic_pairs(n_pairs: int, seed: int) -> EventSample:
    """Pairs whose first feature measures a hidden 'mass' (noise 0.05); label 1 pairs share the mass."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n_pairs) < 0.5).astype(np.int8)
    m_a = rng.uniform(-1, 1, n_pairs)
    m_b = np.where(label == 1, m_a, rng.uniform(-1, 1, n_pairs))
    mass = np.column_stack([m_a, m_b]).reshape(-1)
    x = rng.normal(size=(2 * n_pairs, 10))
    x[:, 0] = mass + 0.05 * rng.normal(size=2 * n_pairs)
    order = rng.permutation(2 * n_pairs)  # rows of a pair need not be adjacent
    group = np.repeat(np.arange(n_pairs), 2)
    return EventSample(
        x[order],
        np.ones(2 * n_pairs)[order],
        10 ** mass[order],
        np.ones(2 * n_pairs),
        group[order],
        np.repeat(label, 2)[order],
        {"mode": "pairs"},
    )


@pytest.fixture(scope="module")
def trained():
    model, history = train_eco(TINY, _synthetic_pairs(3000, 1), seed=3)
    return model, history, _synthetic_pairs(600, 2)


def _auc(score, label):
    pos, neg = score[label == 1], score[label == 0]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def test_training_separates_same_from_different_pairs(trained):
    model, history, held = trained
    a, b, y = split_pairs(held)
    assert _auc(model.score(held.features[a], held.features[b]), y) > 0.85
    assert min(h["val_loss"] for h in history) < history[0]["val_loss"]
    assert model.architecture.batch_norm and model.training["n_pairs"] == 3000


def test_score_is_symmetric_and_matrix_matches_scores(trained):
    model, _, held = trained
    x = held.features[:9]
    m = model.matrix(x)
    assert m.shape == (9, 9)
    np.testing.assert_array_equal(m, m.T)
    i, j = np.triu_indices(9, 1)
    np.testing.assert_allclose(m[i, j], model.score(x[i], x[j]), rtol=1e-6)
    np.testing.assert_array_equal(model.score(x[i], x[j]), model.score(x[j], x[i]))
    assert clean(m).ts >= 1


def test_save_load_round_trip_and_bad_files(trained, tmp_path):
    model, _, held = trained
    path = model.save(tmp_path / "eco.pt")
    again = EcoClassifier.load(path)
    np.testing.assert_array_equal(again.matrix(held.features[:5]), model.matrix(held.features[:5]))
    ck = torch.load(path, weights_only=True)
    bad = tmp_path / "bad.pt"
    torch.save({**ck, "architecture": {**ck["architecture"], "batch_norm": False}}, bad)
    with pytest.raises(ModelFileError, match="do not match"):
        EcoClassifier.load(bad)
    torch.save({**ck, "format": "hepbump.hunt.posterior"}, bad)
    with pytest.raises(ModelFileError, match=r"not a pair-classifier \(ECO\) file"):
        EcoClassifier.load(bad)


def test_pairs_bookkeeping():
    s = _synthetic_pairs(5, 0)
    a, b, y = split_pairs(s)
    assert np.array_equal(s.group[a], s.group[b]) and a.size == 5
    assert np.array_equal(y, s.pair_label[a])
    broken = s.select(np.arange(9))  # one pair lost an event
    with pytest.raises(InputError, match="exactly two"):
        split_pairs(broken)
    with pytest.raises(InputError, match="pairs-mode"):
        split_pairs(replace(s, pair_label=np.full(10, -1, np.int8)))


def test_simulated_pairs_sample():
    s = simulate_sample("pairs", 20, "poor", seed=4)
    a, b, y = split_pairs(s)
    assert a.size == 20 and s.features.shape == (40, 10)
    same = y == 1
    np.testing.assert_array_equal(s.mass_gev[a][same], s.mass_gev[b][same])
    assert np.all(s.mass_gev[a][~same] != s.mass_gev[b][~same])
