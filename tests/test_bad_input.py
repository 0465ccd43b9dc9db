"""Bad input, failures half-way and interruptions: one clear line, exit status 2, no output left behind.

The command-line tests run the installed entry point (``hepbump``, i.e. :func:`hepbump.cli.main`) in a
subprocess and check, for each bad input, the exit status 2, a single stderr line ``hepbump: error: ...`` that
names the file, line, field or option, and the directory listing afterwards (no output, no temporary file).
The library tests check the same errors where they are raised.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import hist
import numpy as np
import pytest

from hepbump.darkmachines.parse import parse_chunk
from hepbump.errors import HepbumpError, InputError, OutputError
from hepbump.io.atomic import atomic_group, atomic_path, remove_stale_temporaries
from hepbump.io.rootio import write_histograms

HEPBUMP = str(Path(sys.executable).with_name("hepbump"))
ROOT = os.geteuid() == 0

GOOD_LINE = "1;ttbar;1.0;50000;0.5;j,100000,90000,1.2,0.3;b,50000,49999.8,-0.5,3.14159;"
BAD_LINES = {  # line 2 of the file -> what the message must name
    "E below pt": ("2;ttbar;1.0;50000;0.5;j,100000,110000,1.2,0.3;", "object 1 E: E = 100000 MeV is below pt"),
    "huge eta": ("2;ttbar;1.0;50000;0.5;j,100000,90000,1.2,0.3;e-,1e6,9e5,-12.5,0.1;", "object 2 eta: -12.5"),
    "object phi": ("2;ttbar;1.0;50000;0.5;j,100000,90000,1.2,-3.3;", "object 1 phi: -3.3 is outside [-pi, pi]"),
    "MET phi": ("2;ttbar;1.0;50000;3.2;j,100000,90000,1.2,0.3;", "METphi: 3.2 is outside [-pi, pi]"),
    "empty process": ("2;;1.0;50000;0.5;j,100000,90000,1.2,0.3;", "process ID: empty process name"),
    "blank process": ("2; ;1.0;50000;0.5;j,100000,90000,1.2,0.3;", "process ID: empty process name"),
    "infinite eta": ("2;ttbar;1.0;50000;0.5;j,100000,90000,inf,0.3;", "object 1 eta: infinite value"),
}


def hepbump(*args, cwd, timeout=600):
    return subprocess.run([HEPBUMP, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def assert_user_error(result, *fragments):
    """Exit status 2 and exactly one stderr line ``hepbump: error: ...`` containing every fragment."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("hepbump: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def listing(directory):
    return sorted(p.name for p in Path(directory).iterdir())


def _csv(tmp_path, *lines, name="dm.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


# --- Dark Machines CSV: unphysical values (library) -----------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_parser_names_line_and_field_of_unphysical_values(case):
    line, expected = BAD_LINES[case]
    data = (GOOD_LINE + "\n" + line + "\n").encode()
    with pytest.raises(InputError, match="^f.csv, line 2: ") as info:
        parse_chunk(data, path="f.csv")
    assert expected in str(info.value) and "\n" not in str(info.value)
    chunk = parse_chunk(data, path="f.csv", skip_bad_lines=True)
    assert chunk.event.tolist() == [1] and chunk.n_bad_lines == 1 and chunk.bad_lines[0].line == 2


def test_parser_accepts_rounding_at_the_limits():
    # E a relative 1e-6 below pt, |phi| a relative 1e-6 above pi, |eta| = 10: rounding of 6-digit files
    line = "3;zz;1.0;50000;-3.141595;j,99999.9,100000,10,3.141595;"
    chunk = parse_chunk((GOOD_LINE + "\n" + line + "\n").encode(), path="f.csv")
    assert chunk.event.tolist() == [1, 3]


# --- atomic output: leftovers, groups, OSError -----------------------------------------------------------------


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_path_removes_leftovers_of_dead_writers_only(tmp_path):
    target = tmp_path / "out.root"
    dead = tmp_path / f".out.root.{_dead_pid()}.abcd_123.tmp.root"
    live = tmp_path / f".out.root.{os.getppid()}.xyz98765.tmp.root"
    other = tmp_path / f".other.root.{_dead_pid()}.abcd_123.tmp.root"
    for p in (dead, live, other):
        p.write_text("partial")
    with atomic_path(target) as tmp:
        assert tmp.name.startswith(f".out.root.{os.getpid()}.") and tmp.name.endswith(".tmp.root")
        tmp.write_text("done")
    assert listing(tmp_path) == sorted([target.name, live.name, other.name])
    assert remove_stale_temporaries(tmp_path / "other.root") == [other]


def test_atomic_path_output_errors_name_the_target(tmp_path, monkeypatch):
    (tmp_path / "adir").mkdir()
    with pytest.raises(OutputError, match="adir: is a directory"):
        with atomic_path(tmp_path / "adir"):
            pass
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match=r"afile.*cannot write"):
        with atomic_path(tmp_path / "afile" / "out.txt"):
            pass

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", denied)
    with pytest.raises(OutputError, match=r"out\.txt: cannot write the output \(permission denied\)"):
        with atomic_path(tmp_path / "out.txt"):
            pass


def test_atomic_path_keeps_input_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        with atomic_path(tmp_path / "out.txt"):
            open(tmp_path / "missing-input.csv")
    assert not isinstance(info.value, HepbumpError)
    assert listing(tmp_path) == []


def test_atomic_group_writes_all_or_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_group():
            with atomic_path(tmp_path / "a.txt") as tmp:
                tmp.write_text("a")
            raise RuntimeError("a later step fails")
    assert listing(tmp_path) == []
    with atomic_group():
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("a")
        assert listing(tmp_path) != ["a.txt"]  # not yet
    assert listing(tmp_path) == ["a.txt"]


_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from hepbump.cli import app, main
    from hepbump.io.atomic import atomic_path

    @app.command("slow-write")
    def slow_write(target: str) -> None:
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            print("ready", flush=True)
            time.sleep(60)

    sys.argv = ["hepbump", "slow-write", sys.argv[1]]
    main()
    """
)


@pytest.mark.parametrize(
    ("signum", "status", "word"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_signal_removes_the_temporary_file(tmp_path, signum, status, word):
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(tmp_path / "out.txt")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    assert any(name.endswith(".tmp.txt") for name in listing(tmp_path))
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hepbump: {word}"), err
    assert listing(tmp_path) == []


# --- library configurations ------------------------------------------------------------------------------------


def test_nonsense_settings_are_refused_by_the_library():
    from hepbump.alp.simulate import SimulationConfig, simulate_signal
    from hepbump.darkmachines.generate.generator import DMGeneratorConfig
    from hepbump.demo import DemoConfig
    from hepbump.stats import window_around

    with pytest.raises(InputError, match=r"unknown|benchmark"):
        DemoConfig(signal="lq9000_bmu")
    with pytest.raises(InputError, match=r"strength must be a finite number >= 0"):
        DemoConfig(signal_strength=-1.0)
    with pytest.raises(InputError, match=r"--events\) must be a positive integer, got 0"):
        DMGeneratorConfig(n_events=0)
    with pytest.raises(InputError, match=r"--n-sigma"):
        window_around(np.linspace(0, 10, 11), 5.0, 1.0, 0.0)
    # acceptance far below the cap: refused after the first chunk with the estimate, not after the whole run
    cfg = SimulationConfig(max_candidates_per_event=50, give_up_seconds=1e-9)
    with pytest.raises(InputError, match=r"simulating signal: acceptance .* on the first 400 candidates"):
        simulate_signal(4.4, 0.05, 100, seed=1, config=cfg)


def test_coffea_read_error_names_the_file():
    from processors.runner import read_error

    try:
        try:
            raise OSError("expected Chunk of length 100,\nreceived 7 bytes")
        except OSError as exc:
            raise Exception("Failed processing file: WorkItem(dataset='x', filename='/d/ev.root', ...)") from exc
    except Exception as wrapped:
        error = read_error(wrapped)
    assert isinstance(error, InputError)
    assert str(error).startswith("/d/ev.root: cannot read the events") and "\n" not in str(error)
    try:
        try:
            raise TypeError("a bug")
        except TypeError as exc:
            raise Exception("Failed processing file: WorkItem(filename='/d/ev.root')") from exc
    except Exception as wrapped:
        assert read_error(wrapped) is None


# --- command line --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dm_files(tmp_path_factory):
    """A generated Dark Machines CSV, its ROOT conversion, a truncated and a corrupted copy."""
    d = tmp_path_factory.mktemp("dm")
    subprocess.run(
        [HEPBUMP, "dm", "generate", "--channel", "2b", "--events", "2000", "-o", "g.csv"],
        cwd=d,
        check=True,
        capture_output=True,
    )
    subprocess.run([HEPBUMP, "dm", "convert", "g.csv", "-o", "g.root"], cwd=d, check=True, capture_output=True)
    data = (d / "g.root").read_bytes()
    (d / "trunc.root").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[len(data) // 3 : len(data) // 3 + 20000] = bytes(20000)
    (d / "corrupt.root").write_bytes(bytes(corrupt))
    return d


@pytest.fixture(scope="module")
def hist_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("hists")
    edges = np.linspace(500, 2000, 61)
    centres = 0.5 * (edges[1:] + edges[:-1])
    counts = np.random.default_rng(1).poisson(1e5 * (centres / 500) ** -5 / 30)
    h = hist.Hist.new.Var(edges, name="m", label="m [GeV]").Weight()
    h[...] = np.stack([counts, counts], axis=-1)
    write_histograms(d / "h.root", {"mjj": h})
    (d / "trunc.root").write_bytes((d / "h.root").read_bytes()[:1000])  # cut inside the histogram
    return d


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_cli_convert_refuses_unphysical_lines(tmp_path, case):
    line, expected = BAD_LINES[case]
    csv = _csv(tmp_path, GOOD_LINE, line)
    r = hepbump("dm", "convert", csv.name, "-o", "out.root", cwd=tmp_path)
    assert_user_error(r, "dm.csv, line 2: ", expected)
    assert listing(tmp_path) == ["dm.csv"]


def test_cli_convert_skips_unphysical_lines_when_asked(tmp_path):
    csv = _csv(tmp_path, GOOD_LINE, BAD_LINES["E below pt"][0], BAD_LINES["empty process"][0])
    r = hepbump("dm", "convert", csv.name, "-o", "out.root", "--skip-bad-lines", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote 1 events" in r.stdout + r.stderr and "2 malformed lines" in r.stdout + r.stderr
    assert "out.root" in listing(tmp_path)


def test_cli_convert_missing_input(tmp_path):
    assert_user_error(hepbump("dm", "convert", "nothere.csv", "-o", "out.root", cwd=tmp_path), "nothere.csv")
    assert listing(tmp_path) == []


@pytest.mark.skipif(ROOT, reason="root reads and writes regardless of permissions")
def test_cli_convert_permission_denied(tmp_path):
    csv = _csv(tmp_path, GOOD_LINE)
    csv.chmod(0)
    assert_user_error(hepbump("dm", "convert", csv.name, "-o", "out.root", cwd=tmp_path), "dm.csv", "permission denied")
    csv.chmod(0o644)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert_user_error(
        hepbump("dm", "convert", csv.name, "-o", "locked/out.root", cwd=tmp_path), "out.root", "permission denied"
    )
    assert listing(locked) == []


def test_cli_convert_output_is_a_directory(tmp_path):
    csv = _csv(tmp_path, GOOD_LINE)
    (tmp_path / "out.root").mkdir()
    assert_user_error(hepbump("dm", "convert", csv.name, "-o", "out.root", cwd=tmp_path), "out.root", "is a directory")
    assert listing(tmp_path) == ["dm.csv", "out.root"] and listing(tmp_path / "out.root") == []


@pytest.mark.parametrize("name", ["trunc.root", "corrupt.root"])
def test_cli_dm_histograms_damaged_root_file(dm_files, tmp_path, name):
    r = hepbump("dm", "histograms", dm_files / name, "-o", tmp_path / "h.root", "--no-progress", cwd=tmp_path)
    assert_user_error(r, name)
    assert listing(tmp_path) == []


def test_cli_dm_generate_zero_events(tmp_path):
    r = hepbump("dm", "generate", "--channel", "2b", "--events", "0", "-o", "f.csv", cwd=tmp_path)
    assert_user_error(r, "--events", "got 0")
    assert listing(tmp_path) == []


def test_cli_stats_damaged_or_missing_histogram(hist_file, tmp_path):
    assert_user_error(
        hepbump("stats", "scan", hist_file / "trunc.root", "--hist", "mjj", cwd=tmp_path),
        "trunc.root",
        "not a readable ROOT file",
    )
    assert_user_error(
        hepbump("stats", "scan", hist_file / "h.root", "--hist", "nope", cwd=tmp_path),
        "h.root",
        "no histogram named 'nope'",
    )
    assert_user_error(
        hepbump("stats", "pyhf", hist_file / "trunc.root", "--hist", "mjj", "--mass", "1000", cwd=tmp_path),
        "trunc.root",
    )


def test_cli_stats_pyhf_nonpositive_n_sigma(hist_file, tmp_path):
    r = hepbump(
        "stats", "pyhf", hist_file / "h.root", "--hist", "mjj", "--mass", "1000", "--n-sigma", "0", cwd=tmp_path
    )
    assert_user_error(r, "--n-sigma", "got 0")


def test_cli_stats_scan_failing_late_leaves_no_plot(hist_file, tmp_path):
    (tmp_path / "scan.json").mkdir()  # the JSON, written after the PNG, cannot be written
    r = hepbump(
        "stats",
        "scan",
        hist_file / "h.root",
        "--hist",
        "mjj",
        "--plot",
        "scan.png",
        "--json",
        "scan.json",
        cwd=tmp_path,
    )
    assert_user_error(r, "scan.json", "is a directory")
    assert listing(tmp_path) == ["scan.json"]


def test_cli_demo_unknown_signal(tmp_path):
    r = hepbump("demo", "-o", "out", "--signal", "lq9000_bmu:1", cwd=tmp_path)
    assert_user_error(r, "lq9000_bmu")
    assert not (tmp_path / "out").exists() or listing(tmp_path / "out") == []


@pytest.fixture(scope="module")
def alp_file(tmp_path_factory):
    from hepbump.alp.io import write_events
    from hepbump.alp.simulate import simulate_signal

    d = tmp_path_factory.mktemp("alp")
    write_events(d / "sig.root", simulate_signal(1.0, 1.0, 3000, seed=1))
    data = (d / "sig.root").read_bytes()
    (d / "trunc.root").write_bytes(data[: len(data) // 2])
    corrupt = bytearray(data)
    corrupt[len(data) // 3 : len(data) // 3 + 5000] = bytes(5000)
    (d / "corrupt.root").write_bytes(bytes(corrupt))
    return d


@pytest.mark.parametrize("name", ["trunc.root", "corrupt.root"])
def test_cli_alp_features_damaged_file(alp_file, tmp_path, name):
    r = hepbump("alp", "features", alp_file / name, "-o", "f.parquet", "--no-progress", cwd=tmp_path)
    assert_user_error(r, name)
    assert listing(tmp_path) == []


def test_cli_alp_features_failing_late_leaves_no_parquet(alp_file, tmp_path):
    (tmp_path / "plots").write_text("a file where the figure directory should be")
    r = hepbump(
        "alp",
        "features",
        alp_file / "sig.root",
        "-o",
        "f.parquet",
        "--hists",
        "h.root",
        "--plots",
        "plots",
        "--no-progress",
        cwd=tmp_path,
    )
    assert_user_error(r, "plots")
    assert listing(tmp_path) == ["plots"]


def test_cli_reports_a_bug_with_its_traceback(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from hepbump.cli import app, main

        @app.command("buggy")
        def buggy() -> None:
            raise ValueError("a plain ValueError is a bug, not a user error")

        sys.argv = ["hepbump", "buggy"]
        main()
        """
    )
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" in r.stderr and "hepbump: error" not in r.stderr


def test_sigkill_leftover_is_cleaned_by_the_next_write(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        from hepbump.io.atomic import atomic_path
        with atomic_path(sys.argv[1]) as tmp:
            tmp.write_text("partial")
            print("ready", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "out.txt")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.wait(timeout=30)
    leftovers = listing(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(f".out.txt.{proc.pid}.")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{proc.pid}").exists():
        time.sleep(0.05)
    with atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("complete")
    assert listing(tmp_path) == ["out.txt"]


def test_generate_with_a_luminosity_too_small_for_any_event_writes_nothing(tmp_path):
    result = hepbump(
        "dm", "generate", "--channel", "2b", "--lumi", "0.000001", "--seed", "1", "-o", "x.csv", cwd=tmp_path
    )
    assert_user_error(result, "x.csv", "has no events")
    assert listing(tmp_path) == []
