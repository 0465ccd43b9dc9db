"""The coffea processor and ``hepbump dm histograms``: executors, chunking, file handling, bad input, end to end."""

import json

import awkward as ak
import numpy as np
import pytest
from typer.testing import CliRunner

from _dm_flat import random_flat_events, write_flat
from hepbump.cli import app, main
from hepbump.darkmachines.histograms import HistogramConfig
from hepbump.io.rootio import read_histograms, read_metadata
from processors.darkmachines import check_event_file, load_fileset, run_histograms
from processors.runner import RunOptions

runner = CliRunner()
#: Small samples: lower event thresholds so that many histograms are produced and compared.
CFG = HistogramConfig(channel="x", min_events=20, category_min_events=20)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dm")
    events = random_flat_events(1500, seed=7)
    write_flat(events, tmp / "a.root")
    write_flat(events, tmp / "a.parquet")
    reference = run_histograms({"events": [str(tmp / "a.root")]}, CFG, RunOptions(chunksize=1500, progress=False))
    assert len(reference.hists) > 100
    return tmp, reference


def assert_same_histograms(a, b):
    assert a.hists.keys() == b.hists.keys()
    assert a.metadata == b.metadata
    assert a.summary == b.summary
    for name, h in a.hists.items():
        assert np.array_equal(h.values(), b.hists[name].values())
        assert np.array_equal(h.variances(), b.hists[name].variances())
        assert np.array_equal(h.axes[0].edges, b.hists[name].axes[0].edges)


@pytest.mark.parametrize(
    "executor, workers, chunksize, fmt",
    [
        ("iterative", 1, 400, "root"),
        ("futures", 2, 700, "root"),
        ("iterative", 1, 600, "parquet"),
    ],
)
def test_identical_across_executors_chunks_and_formats(sample, executor, workers, chunksize, fmt):
    tmp, reference = sample
    got = run_histograms(
        {"events": [str(tmp / f"a.{fmt}")]},
        CFG,
        RunOptions(executor=executor, workers=workers, chunksize=chunksize, progress=False),
    )
    assert_same_histograms(reference, got)


def test_identical_on_dask_local_cluster(sample):
    tmp, reference = sample
    got = run_histograms(
        {"events": [str(tmp / "a.root")]}, CFG, RunOptions(executor="dask", workers=2, chunksize=500, progress=False)
    )
    assert_same_histograms(reference, got)


def test_identical_on_a_dask_scheduler_address(sample):
    from distributed import LocalCluster

    tmp, reference = sample
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        got = run_histograms(
            {"events": [str(tmp / "a.root")]},
            CFG,
            RunOptions(executor="dask", scheduler=cluster.scheduler_address, chunksize=1000, progress=False),
        )
    assert_same_histograms(reference, got)
    with pytest.raises(ValueError, match="scheduler address needs --executor dask"):
        run_histograms({"events": [str(tmp / "a.root")]}, CFG, RunOptions(scheduler="tcp://x:1", progress=False))


def test_cli_writes_histograms_and_metadata(sample, tmp_path):
    tmp, reference = sample
    out = tmp_path / "h.root"
    result = runner.invoke(
        app,
        [
            "dm",
            "histograms",
            str(tmp / "a.root"),
            "--out",
            str(out),
            "--chunksize",
            "800",
            "--channel",
            "x",
            "--min-events",
            "20",
            "--json",
            str(tmp_path / "s.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    hists, meta = read_histograms(out), read_metadata(out)
    assert hists.keys() == reference.hists.keys()
    name = next(iter(reference.hists))
    assert np.array_equal(hists[name].values(), reference.hists[name].values())
    assert meta[name] == reference.metadata[name]
    assert json.loads((tmp_path / "s.json").read_text())["n_histograms"] == len(hists)


def test_json_fileset(sample, tmp_path):
    tmp, _ = sample
    spec = tmp_path / "set.json"
    spec.write_text(json.dumps({"bkg": {"files": [str(tmp / "a.root")]}, "more": ["rel.root"]}))
    assert load_fileset([spec]) == {"bkg": [str(tmp / "a.root")], "more": [str(tmp_path / "rel.root")]}
    spec.write_text(json.dumps({"bkg": []}))
    with pytest.raises(ValueError, match="dataset 'bkg' needs a non-empty list"):
        load_fileset([spec])
    with pytest.raises(ValueError, match="either one JSON fileset or event files"):
        load_fileset([spec, tmp / "a.root"])


def _cli_error(monkeypatch, capsys, args):
    monkeypatch.setattr("sys.argv", ["hepbump", "dm", "histograms", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_bad_files_are_named(sample, tmp_path, monkeypatch, capsys):
    tmp, reference = sample
    events = random_flat_events(50, seed=1)
    broken = ak.zip({k: events[k] for k in ak.fields(events) if k != "Jet_btag"}, depth_limit=1)
    ak.to_parquet(broken, tmp_path / "nobtag.parquet")
    err = _cli_error(monkeypatch, capsys, [str(tmp_path / "nobtag.parquet"), "--out", str(tmp_path / "o.root")])
    assert "nobtag.parquet: missing branches Jet_btag" in err
    (tmp_path / "junk.root").write_text("not a ROOT file")
    err = _cli_error(monkeypatch, capsys, [str(tmp_path / "junk.root"), "--out", str(tmp_path / "o.root")])
    assert "junk.root: not a readable ROOT file" in err
    err = _cli_error(monkeypatch, capsys, [str(tmp / "a.root"), "--tree", "Nope", "--out", str(tmp_path / "o.root")])
    assert "a.root: no TTree named 'Nope'" in err
    err = _cli_error(monkeypatch, capsys, [str(tmp_path / "missing.root"), "--out", str(tmp_path / "o.root")])
    assert "no such event file" in err and "missing.root" in err
    err = _cli_error(monkeypatch, capsys, [str(tmp / "a.root"), "--executor", "spark"])
    assert "unknown executor 'spark'" in err
    assert not (tmp_path / "o.root").exists()
    # skipping: the bad file is left out, the result equals the good file's alone
    got = run_histograms(
        {"events": [str(tmp_path / "junk.root"), str(tmp / "a.root")]},
        CFG,
        RunOptions(chunksize=1500, skip_bad_files=True, progress=False),
    )
    assert got.hists.keys() == reference.hists.keys()


def test_check_event_file_rejects_csv(tmp_path):
    (tmp_path / "x.csv").write_text("1;ttbar;1;1000;0.1;\n")
    with pytest.raises(
        ValueError, match=r"x\.csv: coffea reads ROOT or Parquet; convert the CSV first \(`hepbump dm convert`\)"
    ):
        check_event_file(tmp_path / "x.csv")


def test_end_to_end_leptoquark_peak(tmp_path):
    """From the CLI: ``hepbump dm generate`` (CSV) -> ``hepbump dm convert`` (ROOT) -> ``hepbump dm histograms``.
    An injected 600 GeV leptoquark (pair production, each LQ -> b mu) appears as a peak at 600 GeV in the b-muon
    mass of the 2mu_OS_1b categories."""
    csv, root, out = tmp_path / "lq.csv", tmp_path / "lq.root", tmp_path / "h.root"
    steps = [
        [
            "dm",
            "generate",
            "--channel",
            "2b",
            "--events",
            "5000",
            "--signal",
            "lq600_bmu:80",
            "--seed",
            "1",
            "--no-progress",
            "--out",
            str(csv),
        ],
        ["dm", "convert", str(csv), "--to", "root", "--out", str(root)],
        # no --channel: it comes from the generator's provenance record, carried through the conversion
        ["dm", "histograms", str(root), "--out", str(out)],
    ]
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    hists, meta = read_histograms(out), read_metadata(out)
    candidates = [
        n
        for n, m in meta.items()
        if m["base_category"] == "2mu_OS"
        and m["selection"]["min_bjets"] >= 1
        and m["combination"] == "mu0_b0"
        and m["channel"] == "2b"
    ]
    assert candidates
    best = max(candidates, key=lambda n: meta[n]["process_content"].get("lq600_bmu", 0.0))
    assert meta[best]["process_content"]["lq600_bmu"] > 100
    h = hists[best]
    centers, values, widths = h.axes[0].centers, h.values(), h.axes[0].widths
    window = (centers > 300) & (centers < 1500)
    peak = centers[window][np.argmax(values[window])]
    assert abs(peak - 600.0) < 30.0
    density = values / widths
    signal = (centers > 560) & (centers < 640)
    sidebands = ((centers > 380) & (centers < 520)) | ((centers > 700) & (centers < 850))
    assert density[signal].mean() > 3 * density[sidebands].mean()
