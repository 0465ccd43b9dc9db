import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbump.cli import app, main
from hepbump.histogram import make_hist
from hepbump.io.rootio import read_histograms, write_histograms
from hepbump.stats import gaussian_template

runner = CliRunner()


#: A CI-sized demo: the injected leptoquark still stands out (the default uses 10,000 events).
DEMO_ARGS = ["--events", "5000", "--signal", "lq600_bmu:80", "--top", "2", "--no-hunt"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    args = ["--seed", "1", "demo", "-o", str(out), *DEMO_ARGS, "--json", str(out / "result.json")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_runs_the_bumpnet_chain(demo_dir):
    """Events -> coffea histograms -> BumpNet scan -> GAA -> LR/pyhf cross-check: the leptoquark is found."""
    out, output = demo_dir
    for name in (
        "events.root",
        "histograms.root",
        "scan.parquet",
        "families.json",
        "family_map.png",
        "crosscheck.png",
        "top_histogram.png",
        "summary.json",
        "report.md",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_histograms"] == len(read_histograms(out / "histograms.root")) > 100
    best = summary["top"][0]
    assert best["z_max"] > 5
    assert any(abs(f["mass"] - 600.0) < 60.0 for f in summary["families"])  # the leptoquark's family
    # the family seeds are cross-checked first: the exact fits agree that the leptoquark is an excess
    seeds = [f["seed"] for f in summary["families"]]
    assert [c["name"] for c in summary["crosscheck"][: len(seeds)]] == seeds[:2]
    check = next(c for c in summary["crosscheck"] if abs(c["mass"] - 600.0) < 60.0)
    assert check["lr_z"] > 5 and check["pyhf_z"] > 5
    result = json.loads((out / "result.json").read_text())
    assert result["top"] == summary["top"]
    assert f"Z_max = {best['z_max']:.2f} at {best['mass_gev']:.0f} GeV" in output
    png = (out / "top_histogram.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_hunt_half(tmp_path):
    """The second half alone (--hunt, with the BumpNet half on a tiny sample): TS, Z and a mass estimate."""
    r = runner.invoke(app, ["demo", "-o", str(tmp_path), "--events", "1000", "--top", "1", "--seed", "2"])
    assert r.exit_code == 0, r.output
    hunt = json.loads((tmp_path / "summary.json").read_text())["hunt"]
    assert hunt["TS"] >= 1 and 0 <= hunt["p_value"] <= 1 and (tmp_path / "hunt" / "hunt.png").is_file()
    assert "TS = " in r.stdout and "m_a = " in r.stdout


def test_demo_is_reproducible_by_seed(demo_dir, tmp_path):
    out, _ = demo_dir
    r = runner.invoke(app, ["demo", "--seed", "1", "--out", str(tmp_path), *DEMO_ARGS])
    assert r.exit_code == 0, r.output
    a, b = read_histograms(tmp_path / "histograms.root"), read_histograms(out / "histograms.root")
    assert a.keys() == b.keys()
    name = json.loads((out / "summary.json").read_text())["top"][0]["name"]
    np.testing.assert_array_equal(a[name].values(), b[name].values())


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
