"""One command-line shape: command groups per pipeline, the same options everywhere, ``--json`` results,
results on stdout and everything else on stderr, outputs checked before any work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from hepbump.cli import app, main
from hepbump.histogram import make_hist
from hepbump.io.rootio import write_histograms
from hepbump.stats import gaussian_template

runner = CliRunner()

HEPBUMP = [sys.executable, "-c", "from hepbump.cli import main; main()"]

#: Every command, its output options (``-o/--out`` where it writes a file or directory) and its flags.
WRITERS = [
    ("demo",),
    ("dm", "generate"),
    ("dm", "convert"),
    ("dm", "histograms"),
    ("alp", "simulate"),
    ("alp", "features"),
    ("alp", "bmesons"),
    ("alp", "train"),
    ("alp", "reproduce"),
]
REPORTERS = [*WRITERS, ("stats", "scan"), ("stats", "pyhf"), ("alp", "hunt")]
COFFEA = [("dm", "histograms"), ("alp", "features"), ("alp", "hunt")]
PROGRESS = [
    ("dm", "generate"),
    ("dm", "histograms"),
    ("alp", "simulate"),
    ("alp", "features"),
    ("alp", "bmesons"),
    ("alp", "hunt"),
    ("alp", "train"),
    ("alp", "reproduce"),
]


def _command(path):
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def _options(path) -> dict[str, object]:
    return {opt: p for p in _command(path).params for opt in (*p.opts, *p.secondary_opts)}


def _cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """Run the console entry point in this process: (exit status, stdout, stderr)."""
    monkeypatch.setattr("sys.argv", ["hepbump", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def hist_file(tmp_path) -> Path:
    edges = np.linspace(0.0, 100.0, 51)
    bkg = np.full(50, 400.0)
    data = bkg + 150.0 * gaussian_template(edges, 51.0, 2.0)
    path = tmp_path / "h.root"
    write_histograms(path, {"data": make_hist(data, edges), "bkg": make_hist(bkg, edges)})
    return path


# --- command tree --------------------------------------------------------------------------------------------


def test_command_tree():
    top = typer.main.get_command(app)
    assert set(top.commands) == {"demo", "stats", "dm", "alp", "bumpnet"}
    assert set(top.commands["dm"].commands) == {"generate", "convert", "histograms"}
    assert set(top.commands["bumpnet"].commands) == {
        "mothers",
        "data",
        "train",
        "scan",
        "gaa",
        "crosscheck",
        "evaluate",
        "export",
    }
    assert set(top.commands["alp"].commands) == {"bmesons", "simulate", "features", "hunt", "train", "reproduce"}
    assert set(top.commands["stats"].commands) == {"scan", "pyhf"}
    for group in ("dm", "alp", "stats"):
        r = runner.invoke(app, [group, "--help"])
        assert r.exit_code == 0, r.output


@pytest.mark.parametrize("old", [["convert", "x.csv"], ["histograms", "x.root"], ["generate", "dm", "-o", "x.csv"]])
def test_old_spellings_are_gone(old):
    r = runner.invoke(app, old)
    assert r.exit_code != 0
    assert "No such command" in r.output


# --- the same options everywhere -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", WRITERS, ids=" ".join)
def test_writers_take_out(path):
    opts = _options(path)
    assert "-o" in opts and "--out" in opts and opts["-o"] is opts["--out"]


@pytest.mark.parametrize("path", REPORTERS, ids=" ".join)
def test_reporters_take_json(path):
    assert "--json" in _options(path)


@pytest.mark.parametrize("path", PROGRESS, ids=" ".join)
def test_progress_flag(path):
    opts = _options(path)
    assert opts["--progress"] is opts["--no-progress"]
    assert opts["--progress"].default is None  # automatic: shown only when stderr is a terminal


def test_coffea_commands_share_run_options_and_their_defaults():
    from processors.runner import RunOptions

    defaults = RunOptions()
    for path in COFFEA:
        opts = _options(path)
        ctx = _command(path).make_context("hepbump", ["x", "-o", "x.root"], resilient_parsing=True)
        for flag, field in [
            ("--executor", "executor"),
            ("--workers", "workers"),
            ("--chunksize", "chunksize"),
            ("--scheduler", "scheduler"),
            ("--skip-bad-files", "skip_bad_files"),
        ]:
            assert opts[flag].get_default(ctx) == getattr(defaults, field), (path, flag)
        assert "--progress" in opts


def test_progress_reaches_the_generator(tmp_path, monkeypatch):
    import hepbump.darkmachines.generate.generator as generator

    seen = []

    def fake_write_sample(config, path, *, progress=False):
        seen.append(progress)
        return {"n_events": 0, "luminosity_pb": None, "signals": {}}

    monkeypatch.setattr(generator, "write_sample", fake_write_sample)
    for flag in ([], ["--progress"], ["--no-progress"]):
        r = runner.invoke(app, ["dm", "generate", "--events", "10", "-o", str(tmp_path / "x.csv"), *flag])
        assert r.exit_code == 0, r.output
    assert seen == [False, True, False]  # automatic: off, since the test's stderr is not a terminal


# --- --json, stdout and stderr -------------------------------------------------------------------------------


def test_stats_json_holds_the_printed_figures(hist_file, tmp_path):
    r = runner.invoke(
        app,
        [
            "stats",
            "scan",
            str(hist_file),
            "--hist",
            "data",
            "--background",
            "bkg",
            "--json",
            str(tmp_path / "scan.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    scan = json.loads((tmp_path / "scan.json").read_text())
    assert r.stdout.count("\n") == 1
    assert f"max local Z = {scan['max_z']:.2f} at {scan['best_position']:.4g} GeV" in r.stdout
    assert f"signal yield {scan['best_signal_yield']:.1f} +- {scan['best_signal_yield_error']:.1f}" in r.stdout

    r = runner.invoke(
        app,
        [
            "stats",
            "pyhf",
            str(hist_file),
            "--hist",
            "data",
            "--background",
            "bkg",
            "--mass",
            "51",
            "--json",
            str(tmp_path / "pyhf.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads((tmp_path / "pyhf.json").read_text())
    assert r.stdout.count("\n") == 1
    assert f"pyhf p0 = {res['p0']:.3e}, Z = {res['z']:.3f}" in r.stdout
    assert f"hepbump LR Z = {res['lr_z']:.3f}" in r.stdout
    assert f"[{res['window'][0]:.4g}, {res['window'][1]:.4g}] GeV" in r.stdout


def test_dm_json_and_logs_on_stderr(tmp_path):
    csv, root = tmp_path / "dm.csv", tmp_path / "dm.parquet"
    r = runner.invoke(
        app,
        [
            "-v",
            "dm",
            "generate",
            "--channel",
            "none",
            "--events",
            "200",
            "--seed",
            "2",
            "-o",
            str(csv),
            "--json",
            str(tmp_path / "gen.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    gen = json.loads((tmp_path / "gen.json").read_text())
    lumi = gen["luminosity_pb"] / 1000.0
    assert r.stdout == f"wrote {csv} ({gen['n_events']} events, channel none; L = {lumi:.4g} fb^-1)\n"
    assert gen["n_events"] == 200 and gen["seed"] == 2 and gen["out"] == str(csv)
    assert "INFO" in r.stderr and "hepbump.darkmachines" in r.stderr  # the -v log goes to stderr, not stdout

    r = runner.invoke(app, ["-v", "dm", "convert", str(csv), "-o", str(root), "--json", str(tmp_path / "c.json")])
    assert r.exit_code == 0, r.output
    conv = json.loads((tmp_path / "c.json").read_text())
    assert r.stdout == f"wrote {conv['n_events']} events to {root}\n"
    assert conv == {
        "input": str(csv),
        "out": str(root),
        "format": "parquet",
        "n_events": 200,
        "n_bad_lines": 0,
        "bad_lines": [],
    }
    assert "INFO" in r.stderr


def test_alp_simulate_json_and_warnings_on_stderr(tmp_path):
    out = tmp_path / "sig.parquet"
    r = runner.invoke(
        app,
        [
            "-v",
            "alp",
            "simulate",
            "--mass",
            "1.0",
            "--ctau-over-m",
            "1.0",
            "--events",
            "50",
            "--seed",
            "1",
            "-o",
            str(out),
            "--json",
            str(tmp_path / "sim.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    sim = json.loads((tmp_path / "sim.json").read_text())
    assert r.stdout.count("\n") == 1 and r.stdout.startswith(f"wrote 50 signal events to {out}")
    assert f"acceptance {sim['acceptance']:.4g}: {sim['n_candidates_accepted']} of {sim['n_candidates']}" in r.stdout
    assert sim["n_events"] == 50 and sim["seed"] == 1
    assert "INFO" in r.stderr  # the -v log

    # a warning (the acceptance cap) is printed on stderr, the result still on stdout only
    out = tmp_path / "b.parquet"
    r = runner.invoke(
        app,
        ["alp", "simulate", "--mode", "background", "--events", "3", "--max-candidates-per-event", "5", "-o", str(out)],
    )
    assert r.exit_code == 0, r.output
    assert r.stdout.count("\n") == 1 and r.stdout.startswith(f"wrote 0 background events to {out}")
    assert r.stderr.startswith("hepbump: warning: background: 3 of 3 parameter points stopped at the cap")


# --- outputs checked before any work -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["dm", "generate", "--events", "10", "-o", "{dir}"],
        ["dm", "generate", "--events", "10", "-o", "{tmp}/x.csv", "--json", "{dir}"],
        ["dm", "convert", "{tmp}/missing.csv", "-o", "{dir}"],
        ["dm", "histograms", "{tmp}/missing.root", "-o", "{dir}"],
        ["alp", "simulate", "--events", "5", "--mass", "1", "--ctau-over-m", "1", "-o", "{dir}"],
        ["alp", "features", "{tmp}/missing.root", "-o", "{tmp}/f.parquet", "--hists", "{dir}"],
        ["alp", "bmesons", "--events", "5", "-o", "{dir}"],
        ["stats", "scan", "{tmp}/missing.root", "--hist", "h", "--plot", "{dir}"],
        ["stats", "pyhf", "{tmp}/missing.root", "--hist", "h", "--mass", "1", "--json", "{dir}"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_output_that_is_a_directory_fails_first(args, tmp_path, monkeypatch, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = [a.replace("{dir}", str(out_dir)).replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = _cli(monkeypatch, capsys, *args)
    assert code == 2
    assert out == ""
    assert err == f"hepbump: error: {out_dir}: is a directory; give a file name\n"  # the output, not the missing input
    assert list(out_dir.iterdir()) == []


def test_demo_output_in_the_way(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, out, err = _cli(monkeypatch, capsys, "demo", "-o", blocker)
    assert code == 2 and out == "" and err.startswith("hepbump: error: ") and err.count("\n") == 1
    code, out, err = _cli(monkeypatch, capsys, "demo", "-o", tmp_path / "d", "--json", tmp_path / "d.txt")
    assert code == 2 and "must end in .json" in err and not (tmp_path / "d").exists()


def test_entry_point_directory_output(tmp_path):
    proc = subprocess.run(
        [*HEPBUMP, "dm", "generate", "--events", "100000", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"hepbump: error: {tmp_path}: is a directory; give a file name\n"
