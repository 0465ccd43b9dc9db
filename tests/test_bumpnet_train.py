import csv
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import hepbump.bumpnet.train as train_mod
from hepbump.bumpnet.data import DataConfig
from hepbump.bumpnet.model import ModelConfig
from hepbump.bumpnet.shards import generate_dataset
from hepbump.bumpnet.train import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    TrainConfig,
    load_checkpoint,
    masked_mse,
    train,
)

# a unit test of the training loop: the linear input map lets this tiny network learn the strong signals of the
# fixture within a few epochs (the log1p default needs more steps on these high-count histograms)
TINY = ModelConfig(channels=8, kernel_sizes=(3, 7), layers_per_stack=2, mlp_hidden=(8,), input_transform="linear")
CONFIG = TrainConfig(model=TINY, epochs=2, batch_size=32, learning_rate=1e-2, val_fraction=0.25, threads=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("bumpnet") / "data"
    # strong one-bin signals in every histogram: a tiny network learns them in a few epochs
    config = DataConfig(
        n_bins_range=(30, 50),
        chunk_size=64,
        y_range=(1e2, 1e4),
        signal_fraction=1.0,
        z_range=(8.0, 10.0),
        signal_width_bins=(1.0,),
        signal_width_probs=(1.0,),
    )
    generate_dataset(config, out, seed=3, n_samples=512, shard_size=128, progress=False)
    return out


def test_masked_mse_ignores_padding():
    pred = torch.tensor([[1.0, 2.0, 99.0]])
    target = torch.tensor([[0.0, 0.0, 0.0]])
    assert float(masked_mse(pred, target, torch.tensor([[True, True, False]]))) == pytest.approx(2.5)


def test_few_epochs_lower_the_loss_and_write_the_learning_curve(dataset, tmp_path):
    result = train(replace(CONFIG, epochs=8), dataset, tmp_path, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 8 and losses[-1] < 0.9 * losses[0]
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    assert result.best_val_loss == min(h["val_loss"] for h in result.history)
    rows = list(csv.DictReader((tmp_path / "history.csv").read_text().splitlines()))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 9))
    assert json.loads((tmp_path / "history.json").read_text())[-1]["val_loss"] == pytest.approx(
        result.history[-1]["val_loss"]
    )
    model, ck = load_checkpoint(tmp_path / "best.pt", expected=TINY)
    assert ck["format"] == CHECKPOINT_FORMAT and model.config.input_scale > 1e2  # global scale from the data


def test_resume_continues_identically(dataset, tmp_path, monkeypatch):
    straight = train(CONFIG, dataset, tmp_path / "a", progress=False)

    calls = {"n": 0}
    real = train_mod.evaluate_loss

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the run dies during epoch 2, after epoch 1's checkpoint
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "evaluate_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(CONFIG, dataset, tmp_path / "b", progress=False)
    monkeypatch.setattr(train_mod, "evaluate_loss", real)
    assert len(json.loads((tmp_path / "b" / "history.json").read_text())) == 1
    resumed = train(CONFIG, dataset, tmp_path / "b", resume=True, progress=False)
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]
    for (name, p), q in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(p, q), name


def test_existing_run_needs_resume_and_the_same_config(dataset, tmp_path):
    config = replace(CONFIG, epochs=1, max_batches_per_epoch=2)
    train(config, dataset, tmp_path, progress=False)
    with pytest.raises(FileExistsError):
        train(config, dataset, tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="last.pt"):
        train(replace(config, model=replace(TINY, channels=5)), dataset, tmp_path, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="another training configuration"):
        train(replace(config, learning_rate=5e-4), dataset, tmp_path, resume=True, progress=False)


@pytest.fixture(scope="module")
def checkpoint(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(replace(CONFIG, epochs=1, max_batches_per_epoch=1), dataset, out, progress=False)
    return out / "last.pt"


def one_line_error(path, **kwargs) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, **kwargs)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and "\n" not in message and str(path) in message
    return message


def test_bad_checkpoints_are_clear_one_line_errors(checkpoint, tmp_path):
    one_line_error(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(np.random.default_rng(0).bytes(1000))
    assert "corrupted" in one_line_error(garbage)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(checkpoint.read_bytes()[:5000])
    one_line_error(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    assert "not a BumpNet checkpoint" in one_line_error(foreign)

    ck = torch.load(checkpoint, weights_only=True)
    future = tmp_path / "future.pt"
    torch.save({**ck, "format_version": 99}, future)
    assert "version 99" in one_line_error(future)
    assert "architecture" in one_line_error(checkpoint, expected=replace(TINY, kernel_sizes=(3, 9)))
    mismatched = tmp_path / "mismatched.pt"
    torch.save({**ck, "model_config": {**ck["model_config"], "channels": 6}}, mismatched)
    assert "do not match" in one_line_error(mismatched)


def test_train_config_round_trip():
    assert TrainConfig.from_dict(json.loads(json.dumps(CONFIG.to_dict()))) == CONFIG


def test_export_pretrained_writes_weights_and_card(tmp_path, dataset):
    from hepbump.bumpnet.train import export_pretrained

    result = train(replace(CONFIG, epochs=1), dataset, tmp_path / "run", progress=False)
    card_path = export_pretrained(result.best_checkpoint, tmp_path / "ship" / "bumpnet.pt", {"commands": ["x"]})
    card = json.loads(card_path.read_text())
    assert card_path.name == "bumpnet.card.json" and card["commands"] == ["x"] and card["epochs_trained"] == 1
    model, ck = load_checkpoint(tmp_path / "ship" / "bumpnet.pt")
    assert "optimizer_state" not in ck
    x = torch.rand(2, 40) * 50
    with torch.no_grad():
        assert torch.equal(model(x), result.model.eval()(x))


def test_training_with_the_edge_options(dataset, tmp_path):
    """A few steps with replicate padding and the edge channel (padded batches of 30-50 bins); checkpoint loads."""
    model = replace(TINY, edge_mode="replicate", edge_channel=True)
    config = replace(CONFIG, model=model, epochs=1, max_batches_per_epoch=3)
    result = train(config, dataset, tmp_path, progress=False)
    assert np.isfinite(result.history[-1]["train_loss"]) and np.isfinite(result.best_val_loss)
    loaded, ck = load_checkpoint(tmp_path / "last.pt", expected=model)
    assert loaded.config.edge_mode == "replicate" and loaded.config.edge_channel is True
    assert ck["model_config"]["edge_mode"] == "replicate"
    x = torch.rand(2, 40) * 50
    with torch.no_grad():
        assert torch.equal(loaded(x), result.model.eval()(x))
    assert "architecture" in one_line_error(tmp_path / "last.pt", expected=replace(model, edge_mode="zeros"))
    assert "architecture" in one_line_error(tmp_path / "last.pt", expected=replace(model, edge_channel=False))
    resumed = train(replace(config, epochs=2), dataset, tmp_path / "b", progress=False)
    assert len(resumed.history) == 2


def test_checkpoint_written_before_the_edge_options_loads_and_resumes(dataset, tmp_path, monkeypatch):
    """Files without the edge_mode/edge_channel keys (older hepbump) load as the paper network and resume."""
    config = replace(CONFIG, max_batches_per_epoch=2)
    straight = train(config, dataset, tmp_path / "a", progress=False)
    real, calls = train_mod.evaluate_loss, {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "evaluate_loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(config, dataset, tmp_path / "b", progress=False)
    monkeypatch.setattr(train_mod, "evaluate_loss", real)
    last = tmp_path / "b" / "last.pt"
    ck = torch.load(last, weights_only=True)
    old_model = {k: v for k, v in ck["model_config"].items() if k not in ("edge_mode", "edge_channel")}
    old_train = {
        **ck["train_config"],
        "model": {k: v for k, v in ck["train_config"]["model"].items() if k in old_model},
    }
    torch.save({**ck, "model_config": old_model, "train_config": old_train}, last)
    model, _ = load_checkpoint(last, expected=TINY)
    assert model.config.edge_mode == "zeros" and model.config.edge_channel is False
    resumed = train(config, dataset, tmp_path / "b", resume=True, progress=False)
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]


# --- signal-weighted loss ------------------------------------------------------------------------------------------


def test_signal_weighted_mse_is_the_plain_mse_at_zero():
    from hepbump.bumpnet.train import signal_weighted_mse

    gen = torch.Generator().manual_seed(0)
    pred, target = torch.randn(4, 30, generator=gen), 5 * torch.randn(4, 30, generator=gen)
    mask = torch.rand(4, 30, generator=gen) < 0.8
    assert torch.equal(signal_weighted_mse(pred, target, mask, 0.0), masked_mse(pred, target, mask))
    assert torch.equal(signal_weighted_mse(pred, target, mask), masked_mse(pred, target, mask))
    # a constant |target| gives constant weights: normalised away
    flat = target.sign() * 3.0
    assert float(signal_weighted_mse(pred, flat, mask, 2.0)) == pytest.approx(float(masked_mse(pred, flat, mask)))


def test_signal_weighted_mse_up_weights_signal_bins_by_hand():
    from hepbump.bumpnet.train import signal_weighted_mse

    pred = torch.tensor([[1.0, 0.0, 0.0, 50.0], [0.0, 1.0, 0.0, 0.0]], requires_grad=True)
    target = torch.tensor([[0.0, 4.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 7.0]])
    mask = torch.tensor([[True, True, True, False], [True, True, True, False]])
    # real bins: weights 1 + 0.5|Z| = 1, 3, 1, 1.5, 1.5, 1 (sum 9); squared errors 1, 16, 0, 1, 0, 0
    loss = signal_weighted_mse(pred, target, mask, 0.5)
    assert float(loss.detach()) == pytest.approx((1 * 1 + 3 * 16 + 1.5 * 1) / 9)
    assert float(masked_mse(pred.detach(), target, mask)) == pytest.approx(18 / 6)
    loss.backward()
    grad = pred.grad
    assert float(grad[0, 1]) == pytest.approx(2 * 3 * (0 - 4) / 9)  # the missed Z = 4 bin, weight 3
    assert float(grad[0, 0]) == pytest.approx(2 * 1 * 1 / 9)
    assert float(grad[0, 3]) == 0.0 and float(grad[1, 3]) == 0.0  # masked bins excluded
    # relative to the plain MSE the signal bin's share of the loss grows
    assert 3 * 16 / (1 + 3 * 16 + 1.5) > 16 / 18


def test_signal_weight_round_trip_old_dicts_and_validation():
    config = replace(CONFIG, signal_weight=2.0)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    old = {k: v for k, v in CONFIG.to_dict().items() if k != "signal_weight"}
    assert TrainConfig.from_dict(old).signal_weight == 0.0 and TrainConfig.from_dict(old) == CONFIG
    assert train_mod._same_train_config(old, CONFIG) and not train_mod._same_train_config(old, config)
    for bad in (-1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="TrainConfig.signal_weight"):
            replace(CONFIG, signal_weight=bad)


def test_training_with_signal_weight(dataset, tmp_path):
    config = replace(CONFIG, epochs=1, max_batches_per_epoch=2, signal_weight=1.0)
    result = train(config, dataset, tmp_path, progress=False)
    row = result.history[-1]
    assert list(row) == ["epoch", "train_loss", "val_loss", "val_mse", "lr", "samples", "seconds"]
    assert np.isfinite(row["val_loss"]) and np.isfinite(row["val_mse"]) and row["val_loss"] != row["val_mse"]
    _, ck = load_checkpoint(tmp_path / "last.pt")
    assert ck["train_config"]["signal_weight"] == 1.0
    with pytest.raises(CheckpointError, match="another training configuration"):
        train(replace(config, epochs=2, signal_weight=0.0), dataset, tmp_path, resume=True, progress=False)
    plain = train(replace(config, signal_weight=0.0), dataset, tmp_path / "plain", progress=False)
    assert list(plain.history[-1]) == ["epoch", "train_loss", "val_loss", "lr", "samples", "seconds"]


def test_cli_train_signal_weight(dataset, tmp_path):
    from typer.testing import CliRunner

    from hepbump.cli import app
    from hepbump.errors import InputError

    runner = CliRunner()
    args = ["bumpnet", "train", str(dataset), "-o", str(tmp_path / "run"), "--channels", "4", "--epochs", "1"]
    args += ["--batches-per-epoch", "1", "--threads", "1", "--no-progress"]
    result = runner.invoke(app, [*args, "--signal-weight", "0.5"])
    assert result.exit_code == 0, result.output
    _, ck = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ck["train_config"]["signal_weight"] == 0.5
    assert runner.invoke(app, [*args[:4], str(tmp_path / "b"), *args[5:], "--signal-weight", "-1"]).exit_code == 2
    bad = runner.invoke(app, [*args[:4], str(tmp_path / "c"), *args[5:], "--signal-weight", "inf"])
    assert isinstance(bad.exception, InputError) and "signal_weight" in str(bad.exception)


def test_warm_start_copies_the_weights_keeps_the_input_scale_and_records_the_origin(checkpoint, dataset, tmp_path):
    source, ck = load_checkpoint(checkpoint)
    # replicate padding has no weights: the source's parameters initialise it; a different data scale is overridden
    config = replace(CONFIG, epochs=1, model=replace(TINY, edge_mode="replicate", input_scale=7.0))
    warm = train_mod._warm_start(checkpoint, config.model)[0]
    assert warm.config.edge_mode == "replicate" and warm.config.input_scale == source.config.input_scale
    for (name, a), (_, b) in zip(source.state_dict().items(), warm.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    result = train(config, dataset, tmp_path / "warm", progress=False, init_from=checkpoint)
    assert result.model.config.input_scale == source.config.input_scale
    written = torch.load(tmp_path / "warm" / "last.pt", weights_only=True)
    assert written["init_from"] == {
        "file": str(checkpoint),
        "epochs": len(ck["history"]),
        "best_val_loss": ck["best_val_loss"],
    }
    # the warm start beats a cold start of the same single epoch on the same data
    cold = train(config, dataset, tmp_path / "cold", progress=False)
    assert result.best_val_loss < cold.best_val_loss
    # resuming a warm-started run keeps its record and needs no second initialisation
    longer = replace(config, epochs=2)
    ck2 = torch.load(tmp_path / "warm" / "last.pt", weights_only=True)
    ck2["train_config"] = longer.to_dict()
    torch.save(ck2, tmp_path / "warm" / "last.pt")
    resumed = train(longer, dataset, tmp_path / "warm", progress=False, resume=True)
    assert len(resumed.history) == 2 and resumed.model.config.input_scale == source.config.input_scale
    assert torch.load(tmp_path / "warm" / "last.pt", weights_only=True)["init_from"]["file"] == str(checkpoint)


def test_warm_start_from_another_architecture_is_a_one_line_error(checkpoint, dataset, tmp_path):
    wider = replace(CONFIG, model=replace(TINY, channels=16))
    with pytest.raises(CheckpointError, match=r"cannot initialise this network: channels=8 \(this run: 16\)"):
        train(wider, dataset, tmp_path / "run", progress=False, init_from=checkpoint)
    assert not (tmp_path / "run").exists()  # nothing written
    with pytest.raises(CheckpointError, match="does not exist"):
        train(CONFIG, dataset, tmp_path / "run", progress=False, init_from=tmp_path / "missing.pt")


def test_cli_train_init_from(dataset, tmp_path):
    from typer.testing import CliRunner

    from hepbump.cli import app

    runner = CliRunner()
    args = ["bumpnet", "train", str(dataset), "--channels", "4", "--epochs", "1", "--batches-per-epoch", "1"]
    args += ["--threads", "1", "--no-progress"]
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "a")]).exit_code == 0
    first = str(tmp_path / "a" / "last.pt")
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "b"), "--edge-mode", "replicate", "--init-from", first])
    assert result.exit_code == 0, result.output
    _, ck = load_checkpoint(tmp_path / "b" / "last.pt")
    assert ck["init_from"]["file"] == first and ck["model_config"]["edge_mode"] == "replicate"
    other = runner.invoke(app, [*args[:4], "8", *args[5:], "-o", str(tmp_path / "c"), "--init-from", first])
    assert other.exit_code != 0 and "cannot initialise this network: channels=4" in str(other.exception or other.output)


def test_warm_start_adds_the_edge_channel_without_changing_the_predictions(checkpoint, dataset, tmp_path):
    source, _ = load_checkpoint(checkpoint)
    source.eval()
    grown = train_mod._warm_start(checkpoint, replace(source.config, edge_channel=True))[0].eval()
    assert grown.config.edge_channel and grown.stacks[0][0].weight.shape[1] == 2
    counts = torch.rand(3, 40) * 500
    mask = torch.arange(40)[None, :] < torch.tensor([[40], [33], [25]])
    with torch.no_grad():
        torch.testing.assert_close(grown(counts), source(counts), rtol=0, atol=1e-6)
        torch.testing.assert_close(grown(counts, mask) * mask, source(counts, mask) * mask, rtol=0, atol=1e-6)
    # the widened network trains its new weights
    result = train(
        replace(CONFIG, epochs=1, model=replace(TINY, edge_channel=True)),
        dataset,
        tmp_path / "edged",
        progress=False,
        init_from=checkpoint,
    )
    assert float(result.model.stacks[0][0].weight.detach()[:, 1].abs().sum()) > 0
    # dropping the channel again is refused
    with pytest.raises(CheckpointError, match="edge_channel=True"):
        train(CONFIG, dataset, tmp_path / "back", progress=False, init_from=tmp_path / "edged" / "last.pt")
