"""BumpNet's data-like mothers: smoothing of histograms, the bank file, and the command line end to end."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbump.bumpnet.data import MotherBank
from hepbump.bumpnet.mothers import load_bank, save_bank, smooth_histograms
from hepbump.cli import app
from hepbump.errors import ModelFileError
from hepbump.spectra import DijetShape, expected_counts

runner = CliRunner()


def _falling(n_bins, total, seed):
    edges = np.linspace(500.0, 2000.0, n_bins + 1)
    mu = expected_counts(edges, DijetShape().unnormalised, total)
    return np.random.default_rng(seed).poisson(mu).astype(float), edges, mu


def test_smooth_histograms_fits_and_skips_what_cannot_be_fitted():
    counts, edges, mu = _falling(60, 2e4, 1)
    bank, failed = smooth_histograms({"good": (counts, edges), "empty": (np.zeros(60), edges)})
    assert bank.names == ("good",) and failed == ["empty"]
    # the mother is the smooth fit: close to the truth, far closer than the fluctuating counts
    assert np.abs(bank.expected[0] - mu).sum() < 0.5 * np.abs(counts - mu).sum()


def test_bank_round_trip_and_bad_files(tmp_path):
    bank = MotherBank(
        (np.array([0.0, 1.0, 3.0]), np.array([5.0, 6.0, 7.0, 9.0])),
        (np.array([4.0, 2.0]), np.array([3.0, 2.0, 1.0])),
        ("a", "b"),
    )
    save_bank(tmp_path / "m.npz", bank, {"seed": 3})
    back, record = load_bank(tmp_path / "m.npz")
    assert back.names == bank.names and record["seed"] == 3
    for x, y in zip(back.edges + back.expected, bank.edges + bank.expected):
        assert np.array_equal(x, y)
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(ModelFileError, match="bad.npz: not a readable mother bank"):
        load_bank(tmp_path / "bad.npz")


def test_cli_data_and_train_with_mothers(tmp_path):
    """``bumpnet data --mothers`` mixes the bank's shapes in; ``bumpnet train`` runs and resumes from the CLI."""
    hists = {f"h{i}": _falling(40, 5e3 * (i + 1), i)[:2] for i in range(3)}
    bank, _ = smooth_histograms(hists)
    save_bank(tmp_path / "m.npz", bank)
    r = runner.invoke(
        app,
        [
            "bumpnet",
            "data",
            "-o",
            str(tmp_path / "d"),
            "--samples",
            "600",
            "--shard-size",
            "300",
            "--mothers",
            str(tmp_path / "m.npz"),
            "--mother-scale",
            "0.5",
            "2",
            "--seed",
            "2",
            "--no-progress",
            "--json",
            str(tmp_path / "d.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    totals = json.loads((tmp_path / "d.json").read_text())
    assert totals["n_samples"] == 600 and 0 < totals["by_source"]["mother"] < 600
    args = [
        "bumpnet",
        "train",
        str(tmp_path / "d"),
        "-o",
        str(tmp_path / "run"),
        "--channels",
        "4",
        "--epochs",
        "2",
        "--batch-size",
        "100",
        "--threads",
        "1",
        "--no-progress",
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "trained 2 epochs" in r.stdout and (tmp_path / "run" / "best.pt").exists()
    r = runner.invoke(app, args)  # a second run into the same directory needs --resume
    assert r.exit_code != 0
    ship = tmp_path / "ship" / "net.pt"
    r = runner.invoke(
        app,
        [
            "bumpnet",
            "export",
            str(tmp_path / "run" / "best.pt"),
            "-o",
            str(ship),
            "--record",
            str(tmp_path / "d.json"),
            "--command",
            "hepbump bumpnet data ...",
            "--note",
            "tiny",
        ],
    )
    assert r.exit_code == 0, r.output
    card = json.loads((tmp_path / "ship" / "net.card.json").read_text())
    assert card["commands"] == ["hepbump bumpnet data ..."] and card["d"]["n_samples"] == 600
    assert card["epochs_trained"] == 2 and card["hardware"]["lscpu"]
