"""``hepbump alp hunt`` / ``hepbump alp train`` (hepbump.cli.hunt) on a local typer app, with tiny sizes:
the JSON report, the figure, the background-only convention, bad weights files, and the hunt library
(hepbump.hunt.analysis) with its mass estimate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from hepbump.alp.io import write_events
from hepbump.alp.simulate import simulate
from hepbump.errors import InputError, ModelFileError, OutputError
from hepbump.hunt import analysis
from hepbump.hunt._nn import MLPConfig, Standardisation, build_mlp
from hepbump.hunt.eco import EcoClassifier
from hepbump.hunt.epo import EpoArchitecture, EpoClassifier, EpoNet
from hepbump.hunt.posterior import MassPosterior

torch.set_num_threads(1)


def _app() -> typer.Typer:
    from hepbump.cli.hunt import register

    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a group, as ``alp`` is
        pass

    register(app)
    return app


def _tiny_models(method: str, resolution: str):
    posterior = MassPosterior.pretrained("good-ref")
    torch.manual_seed(0)
    if method == "eco":
        rng = np.random.default_rng(0)
        arch = MLPConfig(20, (8,))
        return posterior, EcoClassifier(build_mlp(arch), Standardisation.fit(rng.normal(size=(50, 10))), arch)
    if method == "epo":
        arch = EpoArchitecture(posterior.grid.size, (8,), (8,))
        return posterior, EpoClassifier(EpoNet(arch), posterior, arch, 4.0)
    return posterior, None


@pytest.fixture(scope="module")
def event_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hunt_events")
    write_events(d / "signal.root", simulate("signal", 4, 3, mass_gev=1.0, ctau_over_m=1.0))
    write_events(d / "background.root", simulate("background", 2, 4))
    return d / "signal.root", d / "background.root"


@pytest.mark.parametrize("method", ["eco", "epo"])
def test_hunt_writes_report_json_and_figure(method, event_files, tmp_path, monkeypatch):
    monkeypatch.setattr(analysis, "load_models", _tiny_models)
    out, fig = tmp_path / "hunt.json", tmp_path / "fig.png"
    args = ["hunt", *map(str, event_files), "--method", method, "--resolution", "good-ref"]
    args += ["--experiments", "40", "--pool", "40", "--seed", "5", "--json", str(out), "--plot", str(fig)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    rep = json.loads(out.read_text())
    assert rep["n_events"] == 6 and rep["method"] == method
    assert {"TS", "p_value", "Z", "retained", "mass_estimate", "cleaning_steps", "compatibility"} <= set(rep)
    assert rep["TS"] == len(rep["retained"]) and 0 <= rep["p_value"] <= 1
    assert rep["background_only"]["mu_ref"] == 6.0 and "same-total" in rep["background_only"]["convention"]
    assert len(rep["background_only"]["ts_distribution"]) >= rep["TS"] + 1
    c = np.array(rep["compatibility"])
    np.testing.assert_allclose(c, c.T)
    if rep["TS"]:
        e = rep["mass_estimate"]
        assert e["mass_low_gev"] <= e["mass_gev"] <= e["mass_high_gev"]
    assert fig.stat().st_size > 0
    assert "TS = " in result.output and "retained events" in result.output


def test_bump_hunt_with_given_mu_ref(event_files, tmp_path, monkeypatch):
    monkeypatch.setattr(analysis, "load_models", _tiny_models)
    out = tmp_path / "bump.json"
    args = ["hunt", *map(str, event_files), "--method", "bump", "--resolution", "good-ref", "--subintervals", "11"]
    args += ["--experiments", "30", "--pool", "30", "--mu-ref", "3", "--json", str(out)]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    rep = json.loads(out.read_text())
    assert rep["background_only"]["mu_ref"] == 3.0 and rep["background_only"]["convention"] == "given mu_ref"
    assert rep["subintervals"] == 11 and rep["TS"] == len(rep["retained"]) and rep["cleaning_steps"] is None


def test_hunt_rejects_bad_weights_and_outputs_before_work(event_files, tmp_path, monkeypatch):
    from hepbump.hunt import eco as eco_module

    bad = tmp_path / "eco_good-ref.pt"
    bad.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(eco_module, "shipped_path", lambda kind, res: tmp_path / f"{kind}_{res}.pt")
    result = CliRunner().invoke(_app(), ["hunt", str(event_files[0]), "--method", "eco", "--resolution", "good-ref"])
    assert isinstance(result.exception, ModelFileError) and "corrupted" in str(result.exception)
    result = CliRunner().invoke(_app(), ["hunt", str(event_files[0]), "--plot", str(tmp_path / "fig.txt")])
    assert isinstance(result.exception, OutputError)
    result = CliRunner().invoke(_app(), ["hunt", str(event_files[0]), "--method", "other"])
    assert isinstance(result.exception, InputError)


def test_train_command_writes_weights_and_card(tmp_path):
    args = ["train", "eco", "--resolution", "poor-ref", "-o", str(tmp_path), "--events", "150"]
    args += ["--validation", "20", "--epochs", "2", "--seed", "3", "--json", str(tmp_path / "card.json"), "--resume"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "eco_poor-ref.card.json").read_text())
    assert card["seed"] == 3 and card["training"]["epochs_run"] <= 2
    assert set(card["validation_heldout"]) == {f"m_a={m} GeV, ctau/m=1 m/GeV" for m in ("0.2", "1", "4")}
    assert EcoClassifier.load(tmp_path / "eco_poor-ref.pt").resolution.name == "poor-ref"
    assert not (tmp_path / "eco_poor-ref.state.pt").exists()  # removed once the run is complete
    result = CliRunner().invoke(_app(), ["train", "bumpnet", "-o", str(tmp_path)])
    assert isinstance(result.exception, InputError)


def test_hunt_library_detects_a_cluster():
    """An oracle 'classifier' (C = 1 within the first four events) and a counting pool: TS 4, small p."""

    class Oracle:
        def matrix(self, x):
            k = (x[:, 0] > 0).astype(float)
            return np.outer(k, k) + 0.1

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 10))
    x[:4, 0], x[4:, 0] = 1.0, -1.0
    pool = rng.normal(size=(200, 10))
    pool[:, 0] = -1.0
    posterior = MassPosterior.pretrained("good-ref")
    cfg = analysis.HuntConfig("eco", n_experiments=300, pool_size=200)
    r = analysis.hunt(x, np.ones(6), cfg, posterior, Oracle(), pool, np.ones(200), rng)
    assert r.ts == 4 and r.retained.tolist() == [0, 1, 2, 3]
    assert r.p_value == 0.0 and r.z == np.inf and r.p_value_bound == pytest.approx(1 / 300)
    assert sorted(r.to_dict()["removed"]) == [4, 5]


def test_mass_estimate_of_a_gaussian():
    g = np.linspace(-1.0, 0.65, 200)
    e = analysis.mass_estimate(-0.5 * ((g - 0.0) / 0.05) ** 2, g)
    assert e["log10_mass"] == pytest.approx(0.0, abs=1e-3)
    assert e["log10_high"] - e["log10_low"] == pytest.approx(2 * 0.05 * 0.9945, rel=0.02)


def test_commands_follow_the_cli_shape():
    """The checks of test_cli_shape.py for the new commands: -o/--out on the writer, --json, --progress
    (automatic by default), and hunt's coffea options with the RunOptions defaults."""
    from processors.runner import RunOptions

    group = typer.main.get_command(_app())
    opts = {
        name: {o: p for p in group.commands[name].params for o in (*p.opts, *p.secondary_opts)}
        for name in group.commands
    }
    assert opts["train"]["-o"] is opts["train"]["--out"]
    for name in ("hunt", "train"):
        assert "--json" in opts[name] and opts[name]["--progress"] is opts[name]["--no-progress"]
        assert opts[name]["--progress"].default is None
    ctx = group.commands["hunt"].make_context("hunt", ["x"], resilient_parsing=True)
    defaults = RunOptions()
    for flag, field in [
        ("--executor", "executor"),
        ("--workers", "workers"),
        ("--chunksize", "chunksize"),
        ("--scheduler", "scheduler"),
        ("--skip-bad-files", "skip_bad_files"),
    ]:
        assert opts["hunt"][flag].get_default(ctx) == getattr(defaults, field), flag
