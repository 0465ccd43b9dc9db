import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbump.cli import app, main
from hepbump.histogram import make_hist
from hepbump.io.rootio import read_histograms, read_metadata, write_histograms
from hepbump.stats import gaussian_template

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["--seed", "1", "demo", "-o", str(out), "--json", str(out / "result.json")])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_writes_root_png_and_summary(demo_dir):
    out, output = demo_dir
    hists = read_histograms(out / "demo.root")
    assert {"data", "background_fit", "background_truth", "local_z"} <= set(hists)
    summary = json.loads((out / "summary.json").read_text())
    assert abs(summary["best_position_GeV"] - 1212.5) <= 15.0
    assert summary["max_local_z"] > 4.0
    assert summary["pyhf_z"] == pytest.approx(summary["lr_window_z"], abs=1e-3)
    assert read_metadata(out / "demo.root")["data"]["scan"]["max_local_z"] == summary["max_local_z"]
    png = (out / "demo_scan.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert "max local Z" in output
    result = json.loads((out / "result.json").read_text())
    assert result["max_local_z"] == summary["max_local_z"] and result["seed"] == 1
    assert f"max local Z = {result['max_local_z']:.2f} at {result['best_position']:.1f} GeV" in output
    assert f"pyhf discovery test in the window: Z = {result['pyhf_z']:.2f}" in output


def test_demo_is_reproducible_by_seed(demo_dir, tmp_path):
    out, _ = demo_dir
    runner.invoke(app, ["demo", "--seed", "1", "--out", str(tmp_path)])
    np.testing.assert_array_equal(
        read_histograms(tmp_path / "demo.root")["data"].values(), read_histograms(out / "demo.root")["data"].values()
    )


def test_stats_scan_and_pyhf_commands(tmp_path):
    edges = np.linspace(0.0, 100.0, 51)
    bkg = np.full(50, 400.0)
    data = bkg + 150.0 * gaussian_template(edges, 51.0, 2.0)
    write_histograms(tmp_path / "h.root", {"data": make_hist(data, edges), "bkg": make_hist(bkg, edges)})
    r = runner.invoke(
        app,
        [
            "stats",
            "scan",
            str(tmp_path / "h.root"),
            "--hist",
            "data",
            "--background",
            "bkg",
            "--json",
            str(tmp_path / "scan.json"),
            "--plot",
            str(tmp_path / "scan.png"),
        ],
    )
    assert r.exit_code == 0, r.output
    scan = json.loads((tmp_path / "scan.json").read_text())
    assert scan["best_position"] == 51.0 and len(scan["z"]) == 50
    assert (tmp_path / "scan.png").stat().st_size > 10_000
    r = runner.invoke(
        app, ["stats", "pyhf", str(tmp_path / "h.root"), "--hist", "data", "--background", "bkg", "--mass", "51"]
    )
    assert r.exit_code == 0, r.output
    z_pyhf = float(r.output.split("Z = ")[1].split(",")[0])
    z_lr = float(r.output.split("hepbump LR Z = ")[1])
    assert z_pyhf == pytest.approx(z_lr, abs=2e-3) and z_pyhf > 3.0


@pytest.mark.parametrize(
    "args,message",
    [
        (["stats", "scan", "missing.root", "--hist", "data"], "no such ROOT file"),
        (["stats", "pyhf", "{root}", "--hist", "nope", "--mass", "10"], "no histogram named 'nope'"),
        (["stats", "pyhf", "{root}", "--hist", "data", "--mass", "1e5"], "outside the histogram range"),
    ],
)
def test_cli_errors_are_one_line(args, message, tmp_path, monkeypatch, capsys):
    write_histograms(tmp_path / "h.root", {"data": make_hist(np.full(10, 5.0), np.arange(11.0))})
    args = [a.replace("{root}", str(tmp_path / "h.root")) for a in args]
    monkeypatch.setattr("sys.argv", ["hepbump", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
