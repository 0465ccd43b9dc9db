"""Per-event mass posteriors (hepbump.hunt.posterior, hepbump.hunt.train): normalisation, combination (eq. 9),
coverage, a tiny real NRE training, save/load and bad model files."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from scipy.special import erf

import hepbump.hunt.posterior as posterior_module
from hepbump.errors import InputError, InputNotFoundError, ModelFileError
from hepbump.hunt._nn import MLPConfig, Standardisation, TrainConfig, build_mlp
from hepbump.hunt.data import simulate_sample
from hepbump.hunt.posterior import (
    GRID_SIZE,
    MassPosterior,
    combine_log_posteriors,
    combine_log_ratios,
    coverage_curve,
    hpd_credibility,
    log_prior_density,
    mass_grid,
    normalise_log_density,
    posterior_summary,
    shipped_path,
    validation_summary,
)
from hepbump.hunt.train import posterior_pairs, train_posterior

torch.set_num_threads(1)

TINY = TrainConfig(
    epochs=40, batch_size=256, learning_rate=3e-3, decay_steps=200, patience=6, hidden=(32, 32), threads=1
)


def _random_model(seed: int = 0) -> MassPosterior:
    rng = np.random.default_rng(seed)
    std = Standardisation.fit(rng.normal(size=(100, 11)))
    arch = MLPConfig(11, (8, 8))
    torch.manual_seed(seed)
    return MassPosterior(build_mlp(arch), std, arch, resolution="poor")


def _gauss(g, mu, sigma):
    return -0.5 * ((g - mu) / sigma) ** 2


# -- grid, normalisation, combination ------------------------------------------------------------------


def test_log_posterior_is_normalised_on_the_grid():
    model = _random_model()
    x = np.random.default_rng(1).normal(size=(7, 10))
    lp = model.log_posterior(x)
    assert lp.shape == (7, GRID_SIZE) and model.grid.shape == (GRID_SIZE,)
    assert model.grid[0] == pytest.approx(-1.0) and model.grid[-1] == pytest.approx(math.log10(4.5))
    np.testing.assert_allclose(np.trapezoid(np.exp(lp), model.grid, axis=1), 1.0, rtol=1e-12)


def test_grid_evaluation_equals_pairwise_evaluation():
    model = _random_model(3)
    x = np.random.default_rng(2).normal(size=(5, 10))
    grid_lr = model.log_ratio_grid(x, chunk_events=2)
    rows = np.repeat(np.arange(5), GRID_SIZE)
    pair_lr = model.log_ratio(x[rows], np.tile(model.grid, 5)).reshape(5, GRID_SIZE)
    np.testing.assert_allclose(grid_lr, pair_lr, rtol=1e-5, atol=1e-5)


def test_combination_of_gaussian_ratios_is_the_closed_form_product():
    g = np.linspace(-3.0, 3.0, 4001)
    mus, sigmas = np.array([-0.3, 0.1, 0.4]), np.array([0.2, 0.3, 0.25])
    log_r = np.stack([_gauss(g, m, s) + 5.0 * k for k, (m, s) in enumerate(zip(mus, sigmas))])  # any offsets
    lp = combine_log_ratios(log_r, g)
    prec = (1 / sigmas**2).sum()
    mean, std = posterior_summary(lp, g)
    assert mean == pytest.approx((mus / sigmas**2).sum() / prec, abs=1e-6)
    assert std == pytest.approx(prec**-0.5, rel=1e-4)
    assert np.trapezoid(np.exp(lp), g) == pytest.approx(1.0, rel=1e-12)
    # zero events give the prior
    np.testing.assert_allclose(combine_log_ratios(np.zeros((0, g.size)), g), log_prior_density(g))


def test_prior_enters_the_combination_once():
    g = np.linspace(-1.0, 1.0, 201)
    log_prior = normalise_log_density(-g, g)  # a non-uniform prior
    log_r = np.stack([_gauss(g, 0.1, 0.3), _gauss(g, -0.1, 0.4)])
    singles = normalise_log_density(log_prior + log_r, g)
    expected = normalise_log_density(log_prior + log_r.sum(axis=0), g)
    np.testing.assert_allclose(combine_log_posteriors(singles, g, log_prior), expected, atol=1e-12)
    naive = normalise_log_density(singles.sum(axis=0), g)  # eq. (8): not the posterior
    assert np.max(np.abs(naive - expected)) > 0.1


# -- coverage --------------------------------------------------------------------------------------------


def test_hpd_credibility_of_a_gaussian():
    g = np.linspace(-2.0, 2.0, 4001)
    lp = normalise_log_density(np.tile(_gauss(g, 0.2, 0.3), (4, 1)), g)
    t = np.array([0.2, 0.5, -0.4, 0.35])
    np.testing.assert_allclose(hpd_credibility(lp, g, t), erf(np.abs(t - 0.2) / (0.3 * math.sqrt(2))), atol=2e-3)


def test_coverage_of_calibrated_and_overconfident_posteriors():
    rng = np.random.default_rng(7)
    g = np.linspace(-3.0, 3.0, 601)
    mu = rng.uniform(-1, 1, 3000)
    truth = mu + 0.3 * rng.normal(size=mu.size)
    calibrated = normalise_log_density(_gauss(g[None, :], mu[:, None], 0.3), g)
    overconfident = normalise_log_density(_gauss(g[None, :], mu[:, None], 0.15), g)
    levels, emp = coverage_curve(hpd_credibility(calibrated, g, truth))
    assert np.max(np.abs(emp - levels)) < 0.04
    _, emp_over = coverage_curve(hpd_credibility(overconfident, g, truth), np.array([0.68]))
    assert emp_over[0] < 0.45  # the truth lies in the 68 % region of a too narrow posterior ~38 % of the time


# -- training, files -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained():
    data = simulate_sample("prior", 3000, "good-ref", seed=11)
    model, history = train_posterior(TINY, data, seed=5)
    held = simulate_sample("prior", 600, "good-ref", seed=12)
    return model, history, held


def test_posterior_pairs_labels():
    x, y = posterior_pairs(np.ones((3, 10)), np.array([0.1, 0.2, 0.3]), np.random.default_rng(0))
    assert x.shape == (6, 11) and y.tolist() == [1, 1, 1, 0, 0, 0]
    assert x[:3, 0].tolist() == [0.1, 0.2, 0.3] and np.all((x[3:, 0] >= -1.0) & (x[3:, 0] <= math.log10(4.5)))


def test_tiny_training_tracks_the_true_mass(trained):
    model, history, held = trained
    assert history[0]["val_loss"] > min(h["val_loss"] for h in history)  # it learnt something
    s = validation_summary(model, held.features, held.log10_mass)
    # posterior means much closer to the truth than the prior mean, and narrower than the prior (std 0.48)
    assert s["mae_posterior_mean"] < 0.5 * s["mae_prior_mean"], s
    assert s["mean_width"] < 0.3, s
    assert 0.5 < s["coverage_68"] < 0.9, s
    mean, _ = posterior_summary(model.log_posterior(held.features), model.grid)
    assert np.corrcoef(mean, held.log10_mass)[0, 1] > 0.8
    assert model.training["n_events"] == 3000 and model.resolution.name == "good-ref"


def test_save_load_round_trip(trained, tmp_path):
    model, _, held = trained
    path = model.save(tmp_path / "post.pt")
    again = MassPosterior.load(path)
    np.testing.assert_array_equal(again.log_posterior(held.features[:50]), model.log_posterior(held.features[:50]))
    np.testing.assert_array_equal(again.grid, model.grid)
    np.testing.assert_array_equal(again.standardisation.mean, model.standardisation.mean)
    assert again.resolution == model.resolution and again.training["best_epoch"] == model.training["best_epoch"]


def _one_line_error(path, match):
    with pytest.raises(ModelFileError, match=match) as info:
        MassPosterior.load(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text
    return text


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_bad_model_files(trained, tmp_path):
    model, _, _ = trained
    good = model.save(tmp_path / "good.pt")
    ck = torch.load(good, weights_only=True)

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file at all")
    _one_line_error(junk, "not a readable")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    _one_line_error(truncated, "not a readable")
    pickled = tmp_path / "pickled.pt"
    pickled.write_bytes(pickle.dumps({"format": "x"}))
    _one_line_error(pickled, "not a readable|not a mass-posterior")

    other = tmp_path / "other.pt"
    torch.save({**ck, "format": "hepbump.bumpnet.checkpoint"}, other)
    _one_line_error(other, "not a mass-posterior model file")
    version = tmp_path / "version.pt"
    torch.save({**ck, "format_version": 99}, version)
    _one_line_error(version, "format version 99")
    arch = tmp_path / "arch.pt"
    torch.save({**ck, "architecture": {**ck["architecture"], "hidden": [64, 64, 64, 64]}}, arch)
    _one_line_error(arch, "do not match")
    nostd = tmp_path / "nostd.pt"
    torch.save({k: v for k, v in ck.items() if k != "standardisation"}, nostd)
    _one_line_error(nostd, "standardisation")
    badstd = tmp_path / "badstd.pt"
    torch.save({**ck, "standardisation": {"mean": [0.0] * 3, "std": [1.0] * 3}}, badstd)
    _one_line_error(badstd, "11 inputs")

    with pytest.raises(InputNotFoundError, match="no such"):
        MassPosterior.load(tmp_path / "missing.pt")


def test_pretrained_without_shipped_weights_says_how_to_make_them(monkeypatch, tmp_path):
    monkeypatch.setattr(posterior_module, "shipped_path", lambda res: tmp_path / f"posterior_{res}.pt")
    with pytest.raises(InputNotFoundError, match=r"train_shipped_posterior\('good'"):
        MassPosterior.pretrained("good")
    with pytest.raises(ValueError, match="unknown resolution preset"):
        MassPosterior.pretrained("perfect")


@pytest.mark.parametrize("preset", ["good", "poor", "good-ref", "poor-ref"])
def test_shipped_posteriors_load(preset):
    if not shipped_path(preset).exists():
        pytest.skip(f"no shipped weights for {preset}")
    model = MassPosterior.pretrained(preset)
    assert model.resolution.name == preset and model.grid.size == GRID_SIZE
    lp = model.log_posterior(np.tile(model.standardisation.mean[1:], (2, 1)))
    np.testing.assert_allclose(np.trapezoid(np.exp(lp), model.grid, axis=1), 1.0, rtol=1e-10)


def test_input_checks():
    model = _random_model()
    with pytest.raises(InputError, match=r"\(n, 10\)"):
        model.log_posterior(np.zeros((3, 9)))
    with pytest.raises(InputError, match="non-finite"):
        model.log_posterior(np.full((1, 10), np.nan))
    with pytest.raises(InputError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(InputError, match="val_fraction"):
        TrainConfig(val_fraction=1.0)
    assert mass_grid(5).shape == (5,)


def test_train_shipped_posterior_writes_weights_and_card(tmp_path):
    import json

    from hepbump.hunt.train import train_shipped_posterior

    cfg = TrainConfig(epochs=2, batch_size=128, hidden=(8,), threads=1)
    card = train_shipped_posterior("poor", tmp_path, seed=3, n_events=300, n_validation=100, config=cfg, progress=False)
    model = MassPosterior.load(tmp_path / "posterior_poor.pt")
    on_disk = json.loads((tmp_path / "posterior_poor.card.json").read_text())
    assert on_disk == json.loads(json.dumps(card))
    assert card["seed"] == 3 and card["data"]["n_events"] == 300 and card["data"]["n_heldout_events"] == 100
    assert card["training"]["epochs_run"] == 2 and "train_shipped_posterior('poor'" in card["call"]
    assert {"torch", "numpy", "hepbump"} <= set(card["versions"]) and card["hardware"]["lscpu"]
    assert 0.0 <= card["validation_heldout"]["coverage_68"] <= 1.0
    assert model.resolution.name == "poor" and model.training["n_events"] == 300
