"""BumpNet evaluation (:mod:`hepbump.bumpnet.evaluate`): the configuration, the files and summary of a whole
evaluation (a "perfect" predictor and a tiny network), the CLI command and bad input. The metrics and the test
sets are tested in test_bumpnet_evalmetrics.py and test_bumpnet_evalsets.py."""

import csv
import gzip
import json
from dataclasses import replace

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from hepbump.bumpnet import BumpNet, DataConfig, ModelConfig, MotherBank
from hepbump.bumpnet.evalsets import DISTORTIONS
from hepbump.bumpnet.evaluate import EvaluateConfig, evaluate
from hepbump.bumpnet.mothers import save_bank
from hepbump.bumpnet.train import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from hepbump.cli.bumpnet_evaluate import evaluate as evaluate_command
from hepbump.errors import InputError

SMALL = ModelConfig(channels=4, kernel_sizes=(3, 9), layers_per_stack=2, mlp_hidden=(8,))
TINY_DATA = DataConfig(n_bins_range=(30, 50), chunk_size=64)
TINY = EvaluateConfig(n_nominal=120, n_background=120, n_shape=40, data=TINY_DATA)

FIGURES = (
    "fig05_dz_vs_position",
    "fig06_dz_vs_zlr",
    "fig07_position",
    "fig08_dz_vs_first_bin",
    "fig09_background_only",
    "fig10_dm_seen_unseen",
    "fig11_distortions",
    "fig12_sparse_tails",
    "fig13_widths",
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def bank(n: int = 6) -> MotherBank:
    mothers = []
    for k in range(n):
        nb = 40 + 7 * k
        mothers.append((300.0 * np.exp(-np.arange(nb) / (4.0 + k)), np.geomspace(100.0, 1500.0, nb + 1)))
    return MotherBank.from_histograms(mothers, smooth=False)


def perfect(batches):
    """A "perfect" network: returns the target itself."""
    return [row for b in batches for row in b.target]


def read_csv(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


# --- configuration and bad arguments ----------------------------------------------------------------------------


def test_bad_config():
    with pytest.raises(InputError, match="n_nominal"):
        EvaluateConfig(n_nominal=0)
    with pytest.raises(InputError, match="exclude_first"):
        EvaluateConfig(exclude_first=-0.1)
    with pytest.raises(InputError, match="z_edges"):
        EvaluateConfig(z_edges=(1.0, 0.0))
    with pytest.raises(InputError, match="widths"):
        EvaluateConfig(widths=(0.0,))


def test_evaluate_rejects_bad_arguments(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        evaluate(None, tmp_path / "file", TINY, predictor=perfect)
    with pytest.raises(InputError, match="model or a predictor"):
        evaluate(None, tmp_path / "out", TINY)
    empty = MotherBank((), (), ())
    with pytest.raises(InputError, match="empty"):
        evaluate(None, tmp_path / "out", TINY, test_mothers=empty, predictor=perfect)
    with pytest.raises(InputError, match="returned"):
        evaluate(None, tmp_path / "out", TINY, predictor=lambda batches: [])


# --- whole evaluations ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def perfect_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("perfect")
    mothers = bank()
    summary = evaluate(None, out, TINY, test_mothers=mothers, train_mothers=mothers, predictor=perfect)
    return out, summary


def test_every_file_written(perfect_run):
    out, summary = perfect_run
    for stem in FIGURES:
        assert (out / f"{stem}.png").stat().st_size > 1000
        assert (out / f"{stem}.csv").stat().st_size > 0
    for name in ("fig09_roc.csv", "histograms.csv.gz", "summary.json"):
        assert (out / name).exists()
    assert sorted(summary.files) == sorted(str(p) for p in out.iterdir())
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary leftovers


def test_csv_columns(perfect_run):
    out, _ = perfect_run
    prof = ["x_lo", "x_hi", "n", "mean", "median", "std", "q16", "q84"]
    expected = {
        "fig05_dz_vs_position": ["set", "bins", *prof],
        "fig06_dz_vs_zlr": ["set", *prof],
        "fig07_position": ["selection", *prof, "frac_within_tolerance", "frac_exact"],
        "fig08_dz_vs_first_bin": ["set", *prof],
        "fig09_background_only": ["set", "sample", "statistic", "z_lo", "z_hi", "count"],
        "fig09_roc": ["set", "statistic", "threshold", "fpr", "tpr"],
        "fig10_dm_seen_unseen": ["set", *prof],
        "fig11_distortions": ["distortion", *prof],
        "fig12_sparse_tails": ["set", "variable", *prof],
        "fig13_widths": ["width_bins", "reference", *prof],
    }
    for stem, columns in expected.items():
        header, rows = read_csv(out / f"{stem}.csv")
        assert header == columns, stem
        assert rows and all(len(r) == len(columns) for r in rows)
    header, rows = read_csv(out / "histograms.csv.gz")
    assert header[:5] == ["set", "n_bins", "z_max_lr", "z_max_pred", "dz_max"]
    sets = {r[0] for r in rows}
    assert {"function", "function_bkg", "dm", "dm_bkg", "dm_train", "sparse", "width_2", "width_3"} <= sets
    assert {f"distort_{k}" for k in DISTORTIONS} <= sets
    _, fig11 = read_csv(out / "fig11_distortions.csv")
    assert {r[0] for r in fig11} == set(DISTORTIONS)


def test_summary_of_a_perfect_predictor(perfect_run):
    out, summary = perfect_run
    data = json.loads((out / "summary.json").read_text())
    assert set(data) == {"model", "out_dir", "metrics", "not_reached", "sets", "skipped", "files", "config"}
    metrics = {m["name"]: m for m in data["metrics"]}
    for name in ("sigma_dz_function", "sigma_dz_dm", "median_dz_function", "median_dz_dm"):
        assert metrics[name]["value"] == 0.0
        assert metrics[name]["paper_pass"] is True and metrics[name]["target_pass"] is True
    assert metrics["sigma_dz_function"]["paper_floor"] == 0.53 and metrics["sigma_dz_dm"]["target"] == 0.60
    assert metrics["false_rate_function"]["paper_floor"] == 0.0005
    assert metrics["false_rate_dm"]["paper_floor"] == 0.0013
    assert metrics["position_accuracy_function"]["value"] == 1.0
    assert metrics["median_dz_sparse_tail"]["target_pass"] is True
    assert metrics["median_dz_width_2"]["target_pass"] is True and metrics["median_dz_width_3"]["value"] == 0.0
    assert metrics["auc_pred_function"]["value"] == metrics["auc_lr_function"]["value"]
    for m in data["metrics"]:
        assert set(m) == {
            "name",
            "value",
            "description",
            "criterion",
            "paper_floor",
            "paper_pass",
            "target",
            "target_pass",
        }
    assert data["not_reached"] == [] and data["skipped"] == []
    sets = data["sets"]
    assert sets["function"]["n"] == TINY.n_nominal and sets["dm_bkg"]["n"] == TINY.n_background
    assert sets["sparse"]["n"] == TINY.n_shape
    # background-only: the prediction's false rate is the LR's own
    assert sets["dm_bkg"]["false_rate_pred"] == sets["dm_bkg"]["false_rate_lr"]
    assert sets["function"]["position_accuracy"] == 1.0 and sets["function"]["position_exact"] == 1.0
    # the edge / interior split covers every histogram (short histograms: most maxima lie near an end)
    edge, interior = sets["function"]["dz_max_edge"], sets["function"]["dz_max_interior"]
    assert edge["n"] + interior["n"] == TINY.n_nominal and edge["n"] > 0 and interior["n"] > 0
    assert metrics["sigma_dz_function_edge"]["value"] == 0.0 and metrics["sigma_dz_dm_interior"]["value"] == 0.0
    assert summary.metric("sigma_dz_dm").paper_pass is True


def test_sparse_set_is_sparse(perfect_run):
    out, _ = perfect_run
    header, rows = read_csv(out / "histograms.csv.gz")
    col = {k: header.index(k) for k in ("set", "n_bins", "signal_bin")}
    sparse = [r for r in rows if r[col["set"]] == "sparse"]
    assert sparse
    for r in sparse:  # the signal peaks in the last quarter of the bins
        n, sb = int(float(r[col["n_bins"]])), int(float(r[col["signal_bin"]]))
        assert sb >= n - np.ceil(0.25 * n)


def test_a_biased_predictor_fails_the_floors(tmp_path):
    cfg = replace(TINY, n_nominal=60, n_background=60, n_shape=20, per_histogram_csv=False, figures=False)
    summary = evaluate(None, tmp_path, cfg, predictor=lambda batches: [t + 1.0 for t in perfect(batches)])
    m = summary.metric("median_dz_function")
    assert m.value == pytest.approx(1.0) and m.paper_pass is False
    assert summary.metric("sigma_dz_function").value == pytest.approx(0.0, abs=1e-12)
    assert any(line.startswith("median_dz_function") for line in summary.not_reached)
    assert summary.skipped  # no mothers: data-like sets skipped
    assert not (tmp_path / "fig10_dm_seen_unseen.csv").exists()
    assert (tmp_path / "fig06_dz_vs_zlr.csv").exists() and not list(tmp_path.glob("*.png"))
    assert not (tmp_path / "histograms.csv.gz").exists()


# --- command line -----------------------------------------------------------------------------------------------


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("evaluate")(evaluate_command)

    @app.command("other")
    def _other() -> None:  # two commands: typer keeps the sub-command name
        pass

    return app


def test_cli_evaluate(tmp_path):
    torch.manual_seed(0)
    net = BumpNet(SMALL)
    model = tmp_path / "tiny.pt"
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "format_version": CHECKPOINT_VERSION,
            "model_config": net.config.to_dict(),
            "model_state": net.state_dict(),
        },
        model,
    )
    save_bank(tmp_path / "test.npz", bank(3))
    out = tmp_path / "eval"
    args = ["evaluate", "-o", str(out), "--model", str(model), "--mothers-test", str(tmp_path / "test.npz")]
    r = CliRunner().invoke(_cli(), [*args, "--samples", "20", "--seed", "3", "--json", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    assert "sigma_dz_function" in r.output and "not reached" in r.output
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["model"] == str(model) and data["config"]["seed"] == 3 and data["config"]["n_nominal"] == 20
    assert data["sets"]["dm"]["n"] == 20 and data["sets"]["distort_reverse"]["n"] == 10
    assert (out / "summary.json").exists() and (out / "fig11_distortions.png").exists()
    assert any("Fig. 10a" in s for s in data["skipped"])


def test_cli_evaluate_bad_input(tmp_path):
    (tmp_path / "file").write_text("x")
    r = CliRunner().invoke(_cli(), ["evaluate", "-o", str(tmp_path / "file"), "--model", str(tmp_path / "no.pt")])
    assert r.exit_code != 0 and "not a directory" in str(r.exception)
    r = CliRunner().invoke(_cli(), ["evaluate", "-o", str(tmp_path / "o"), "--model", str(tmp_path / "no.pt")])
    assert r.exit_code != 0 and "no.pt" in str(r.exception)
    r = CliRunner().invoke(_cli(), ["evaluate", "-o", str(tmp_path / "o"), "--samples", "0"])
    assert r.exit_code == 2
    assert not (tmp_path / "o").exists()
