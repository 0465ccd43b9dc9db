"""EPO pair classifier (hepbump.hunt.epo): exact symmetry by construction, input regularisation, batched
matrix, training on a small simulated pairs sample, save/load, bad and mismatched files, pretrained lookup."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from hepbump.errors import InputError, InputNotFoundError, ModelFileError
from hepbump.hunt import eco as eco_module
from hepbump.hunt.data import simulate_sample
from hepbump.hunt.eco import split_pairs
from hepbump.hunt.epo import (
    EPO_TRAIN_DEFAULTS,
    LOG_FLOOR,
    EpoArchitecture,
    EpoClassifier,
    EpoNet,
    regularise,
    train_epo,
)
from hepbump.hunt.metrics import auc
from hepbump.hunt.posterior import MassPosterior

torch.set_num_threads(1)

TINY = replace(
    EPO_TRAIN_DEFAULTS, epochs=25, batch_size=256, learning_rate=2e-3, decay_steps=200, patience=6, threads=1
)


@pytest.fixture(scope="module")
def trained():
    posterior = MassPosterior.pretrained("good-ref")
    model, history = train_epo(TINY, simulate_sample("pairs", 1500, "good-ref", seed=11), posterior, seed=4)
    return model, history, simulate_sample("pairs", 400, "good-ref", seed=12)


def test_network_is_symmetric_bit_for_bit():
    torch.manual_seed(0)
    net = EpoNet(EpoArchitecture(grid_size=20, encoder=(16, 8), hidden=(8, 8)))
    x = torch.rand(50, 2, 20)
    assert torch.equal(net(x), net(x.flip(1)))
    assert torch.equal(net(x.reshape(50, 40)), net(x))  # flat (n, 2G) rows are the same input


def test_regularise_clips_and_scales():
    u = regularise(np.array([[-np.inf, -10.0, LOG_FLOOR, 0.0, 2.0, 5.0]]), 2.0)
    np.testing.assert_allclose(u, [[0.0, 0.0, 0.0, 4 / 6, 1.0, 1.0]], rtol=1e-6)
    assert u.dtype == np.float32
    with pytest.raises(InputError):
        regularise(np.zeros(3), LOG_FLOOR)


def test_training_separates_pairs_and_scores_are_symmetric(trained):
    model, history, held = trained
    a, b, y = split_pairs(held)
    s_ab = model.score(held.features[a], held.features[b])
    np.testing.assert_array_equal(s_ab, model.score(held.features[b], held.features[a]))
    assert auc(s_ab[y == 1], s_ab[y == 0]) > 0.8
    assert min(h["val_loss"] for h in history) < history[0]["val_loss"]
    assert model.training["n_pairs"] == 1500 and model.log_max > LOG_FLOOR


def test_matrix_is_symmetric_and_matches_scores(trained):
    model, _, held = trained
    x = held.features[:11]
    c = model.matrix(x)
    assert c.shape == (11, 11)
    np.testing.assert_array_equal(c, c.T)
    i, j = np.triu_indices(11, 1)
    np.testing.assert_allclose(c[i, j], model.score(x[i], x[j]), atol=1e-6)
    assert np.all((c >= 0) & (c <= 1))
    with pytest.raises(InputError):
        model.score(x[:3], x[:4])


def test_save_load_round_trip_and_bad_files(trained, tmp_path):
    model, _, held = trained
    path = model.save(tmp_path / "epo.pt")
    again = EpoClassifier.load(path)
    x = held.features[:6]
    np.testing.assert_array_equal(again.matrix(x), model.matrix(x))
    assert again.log_max == model.log_max and again.resolution.name == "good-ref"
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="corrupted"):
        EpoClassifier.load(broken)
    posterior_file = MassPosterior.pretrained("good-ref").save(tmp_path / "posterior.pt")
    with pytest.raises(ModelFileError, match=r"not a pair-classifier \(EPO\) file"):
        EpoClassifier.load(posterior_file)
    ck = torch.load(path, weights_only=True)
    ck["architecture"]["encoder"] = [32, 64, 128]
    torch.save(ck, tmp_path / "mismatch.pt")
    with pytest.raises(ModelFileError, match="do not match"):
        EpoClassifier.load(tmp_path / "mismatch.pt")
    with pytest.raises(InputNotFoundError):
        EpoClassifier.load(tmp_path / "missing.pt")


def test_pretrained_names_the_trainer_when_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(eco_module, "shipped_path", lambda kind, res: tmp_path / f"{kind}_{res}.pt")
    with pytest.raises(InputNotFoundError, match="train_shipped_epo"):
        EpoClassifier.pretrained("poor-ref")
    with pytest.raises(InputNotFoundError, match="train_shipped_eco"):
        eco_module.EcoClassifier.pretrained("good-ref")


def test_batch_norm_is_refused():
    with pytest.raises(InputError, match="batch normalisation"):
        train_epo(replace(TINY, batch_norm=True), None, None, seed=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("preset", ["good", "poor", "good-ref", "poor-ref"])
def test_shipped_pair_classifiers_load_and_are_symmetric(preset):
    """Every preset's shipped ECO and EPO load, carry their preset and score a pair the same in both orders."""
    if not all(eco_module.shipped_path(kind, preset).exists() for kind in ("eco", "epo")):
        pytest.skip(f"no shipped pair classifiers for {preset}")
    x = simulate_sample("pairs", 6, preset, seed=5).features
    for model in (eco_module.EcoClassifier.pretrained(preset), EpoClassifier.pretrained(preset)):
        assert model.resolution.name == preset
        ab, ba = model.score(x[0::2], x[1::2]), model.score(x[1::2], x[0::2])
        np.testing.assert_allclose(ab, ba, atol=1e-6)
        assert np.all((ab > 0) & (ab < 1))
