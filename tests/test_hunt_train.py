"""Training state and resume (hepbump.hunt._nn.fit_classifier with a checkpoint): an interrupted run resumed
from its state ends exactly as the uninterrupted one; a state from another configuration or a corrupted state
is a ModelFileError; the shipped ECO/EPO cards record the call, sizes and held-out pair AUCs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hepbump.errors import ModelFileError
from hepbump.hunt._nn import MLPConfig, TrainConfig, build_mlp, fit_classifier

torch.set_num_threads(1)

CFG = TrainConfig(epochs=6, batch_size=64, learning_rate=1e-2, decay_steps=20, patience=3, hidden=(8,), threads=1)
DATA_DIR = Path(__file__).resolve().parents[1] / "hepbump" / "data" / "hunt"


def _data(epoch: int):
    rng = np.random.default_rng([7, epoch])
    x = rng.normal(size=(300, 3)).astype(np.float32)
    return x, (x[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(np.float32)


VAL = _data(999)


def _net(batch_norm: bool = False):
    torch.manual_seed(0)
    return build_mlp(MLPConfig(3, (8,), batch_norm))


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("batch_norm", [False, True])
def test_resumed_training_equals_uninterrupted(tmp_path, batch_norm):
    cfg = replace(CFG, batch_norm=batch_norm)
    full = _net(batch_norm)
    h_full, _ = fit_classifier(full, _data, VAL, cfg, seed=1)

    def failing(epoch: int):
        if epoch == 3:
            raise Interrupt
        return _data(epoch)

    state = tmp_path / "state.pt"
    with pytest.raises(Interrupt):
        fit_classifier(_net(batch_norm), failing, VAL, cfg, seed=1, checkpoint=state)
    assert state.is_file()
    resumed = _net(batch_norm)
    torch.manual_seed(123)  # resuming must not depend on the global generator
    h_res, rec = fit_classifier(resumed, _data, VAL, cfg, seed=1, checkpoint=state, resume=True)
    assert [h["val_loss"] for h in h_res] == [h["val_loss"] for h in h_full]
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert rec["epochs_run"] == len(h_full)


def test_resume_refuses_another_configuration_and_bad_files(tmp_path):
    state = tmp_path / "state.pt"
    fit_classifier(_net(), _data, VAL, replace(CFG, epochs=2), seed=1, checkpoint=state)
    # more epochs may be asked for on resume
    h, _ = fit_classifier(_net(), _data, VAL, replace(CFG, epochs=3), seed=1, checkpoint=state, resume=True)
    assert len(h) == 3
    with pytest.raises(ModelFileError, match="another configuration"):
        fit_classifier(_net(), _data, VAL, replace(CFG, learning_rate=0.1), seed=1, checkpoint=state, resume=True)
    with pytest.raises(ModelFileError, match="another configuration"):
        fit_classifier(_net(), _data, VAL, CFG, seed=2, checkpoint=state, resume=True)
    state.write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match="corrupted"):
        fit_classifier(_net(), _data, VAL, CFG, seed=1, checkpoint=state, resume=True)
    # without resume an existing state is overwritten
    fit_classifier(_net(), _data, VAL, replace(CFG, epochs=1), seed=1, checkpoint=state)


@pytest.mark.parametrize("name", ["eco_good-ref", "eco_poor-ref", "epo_good-ref", "epo_poor-ref"])
def test_shipped_pair_cards(name):
    card_path = DATA_DIR / f"{name}.card.json"
    if not card_path.is_file():
        pytest.skip(f"{card_path.name} not shipped")
    card = json.loads(card_path.read_text())
    assert card["weights_file"] == f"{name}.pt" and (DATA_DIR / card["weights_file"]).is_file()
    assert card["call"].startswith(f"hepbump.hunt.train.train_shipped_{name[:3]}(")
    rows = card["validation_heldout"]
    assert len(rows) == 3
    for row in rows.values():
        assert row["auc"] > row["paper_auc"] - 0.05  # within the spread of the paper's Tables 1-2
