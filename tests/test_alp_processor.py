"""coffea ALP processor and ``hepbump alp features``: executors, chunking, histograms, outputs, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from hepbump.alp.detector import smear, smearing_rng, truth_photons
from hepbump.alp.features import FEATURE_NAMES, diphoton_mass, features, mgg_axis
from hepbump.alp.io import read_events, read_run_info, write_events
from hepbump.alp.simulate import simulate_signal
from hepbump.cli import app
from hepbump.errors import OutputError
from hepbump.io.rootio import read_histograms, read_metadata
from hepbump.rng import stream_key
from processors.alp import COLUMNS, INCLUSIVE_GROUP, run_features
from processors.runner import RunOptions


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two signal files (m_a = 1 and 0.5 GeV) and a 'background' file whose groups are single events."""
    d = tmp_path_factory.mktemp("alp")
    sig_a, sig_b = d / "sig_a.root", d / "sig_b.root"
    write_events(sig_a, simulate_signal(1.0, 1.0, 300, seed=1))
    write_events(sig_b, simulate_signal(0.5, 2.0, 170, seed=2))
    ev = simulate_signal(2.0, 0.5, 120, seed=3)
    cols = dict(ev.columns, group=np.arange(120, dtype=np.int64))
    bkg = d / "bkg.parquet"
    write_events(bkg, cols, dict(ev.run_info, mode="background"))
    # pairs-mode layout: adjacent rows share a group, pair_label alternates same (1) / different (0)
    ev = simulate_signal(0.3, 5.0, 80, seed=4)
    cols = dict(
        ev.columns, group=np.arange(80, dtype=np.int64) // 2, pair_label=(np.arange(80) // 2 % 2).astype(np.int8)
    )
    pairs = d / "pairs.root"
    write_events(pairs, cols, dict(ev.run_info, mode="pairs"))
    return {"a": sig_a, "b": sig_b, "bkg": bkg, "pairs": pairs, "dir": d}


def _direct(path, resolution, seed, key_name=None):
    """The library computation the processor must reproduce, on the whole file in one go."""
    truth = truth_photons(read_events(path))
    rng = smearing_rng(seed, stream_key(key_name or path.name), 0)
    measured = smear(truth, resolution, rng, "default")
    return features(measured), diphoton_mass(measured)


def test_iterative_and_futures_give_identical_output(files):
    paths = [files["a"], files["b"]]
    it = run_features(paths, "poor", 5, options=RunOptions(chunksize=64))
    fu = run_features(paths, "poor", 5, options=RunOptions(executor="futures", workers=2, chunksize=128))
    assert list(it.columns) == list(COLUMNS)
    for name in COLUMNS:
        assert np.array_equal(it.columns[name], fu.columns[name]), name
    assert it.histograms.keys() == fu.histograms.keys() == {"mgg_sig_a_group0", "mgg_sig_b_group0"}
    for name, h in it.histograms.items():
        assert np.array_equal(h.values(), fu.histograms[name].values())


def test_processor_matches_the_library_and_keeps_file_order(files):
    run = run_features([files["b"], files["a"]], "good", 11, options=RunOptions(chunksize=50))
    cols = run.columns
    assert len(cols["m_gg"]) == 470
    assert np.array_equal(cols["file_index"], np.r_[np.zeros(170), np.ones(300)])
    assert np.array_equal(cols["entry"], np.r_[np.arange(170), np.arange(300)])
    np.testing.assert_array_equal(cols["m_a"], np.r_[np.full(170, 0.5), np.full(300, 1.0)])
    assert np.all(cols["pair_label"] == -1)
    feats_b, mgg_b = _direct(files["b"], "good", 11)
    feats_a, mgg_a = _direct(files["a"], "good", 11)
    np.testing.assert_array_equal(run.features, np.vstack([feats_b, feats_a]))
    np.testing.assert_array_equal(cols["m_gg"], np.r_[mgg_b, mgg_a])
    assert run.metadata["resolution"]["name"] == "good" and run.metadata["seed"] == 11
    assert run.metadata["feature_names"] == list(FEATURE_NAMES)


def test_group_histograms_count_the_events(files):
    run = run_features([files["a"]], "poor", 3)
    h = run.histograms["mgg_sig_a_group0"]
    edges = mgg_axis().edges
    expected = np.histogram(run.columns["m_gg"], bins=edges)[0]
    np.testing.assert_array_equal(h.values(), expected)
    meta = run.histogram_metadata["mgg_sig_a_group0"]
    assert (meta["m_a_gev"], meta["ctau_over_m_m_per_gev"], meta["group"], meta["n_events"]) == (1.0, 1.0, 0, 300)


def test_parquet_background_file_gets_one_inclusive_histogram(files):
    run = run_features([files["bkg"]], "poor", 3)
    assert list(run.histograms) == ["mgg_bkg"]
    assert run.histogram_metadata["mgg_bkg"]["group"] == INCLUSIVE_GROUP
    assert run.metadata["modes"] == ["background"]
    feats, mgg = _direct(files["bkg"], "poor", 3)
    np.testing.assert_array_equal(run.features, feats)
    inside = np.histogram(mgg, bins=mgg_axis().edges)[0].sum()
    assert run.histograms["mgg_bkg"].sum().value == inside


def test_pairs_file_keeps_pair_labels(files):
    run = run_features([files["pairs"]], "good-ref", 8, options=RunOptions(chunksize=30))
    np.testing.assert_array_equal(run.columns["pair_label"], (np.arange(80) // 2 % 2).astype(np.int8))
    np.testing.assert_array_equal(run.columns["group"], np.arange(80) // 2)
    assert list(run.histograms) == ["mgg_pairs"]
    assert run.histograms["mgg_pairs"].sum(flow=True).value == 80


def test_seed_changes_the_smearing_only(files):
    r1 = run_features([files["a"]], "poor", 1)
    r2 = run_features([files["a"]], "poor", 2)
    assert not np.array_equal(r1.columns["m_gg"], r2.columns["m_gg"])
    assert np.array_equal(r1.columns["m_a"], r2.columns["m_a"])


def test_bad_input(files, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.root"):
        run_features([tmp_path / "missing.root"], "poor", 1)
    with pytest.raises(ValueError, match="same format \\(ROOT or Parquet\\)"):
        run_features([files["a"], files["bkg"]], "poor", 1)
    with pytest.raises(ValueError, match="unknown resolution preset 'medium'"):
        run_features([files["a"]], "medium", 1)
    with pytest.raises(ValueError, match="unknown executor"):
        run_features([files["a"]], "poor", 1, options=RunOptions(executor="spark"))
    ev = read_events(files["a"])
    broken = tmp_path / "broken.parquet"
    cols = {f: np.asarray(ev[f]) for f in ev.fields}
    # a Parquet file written by another tool, lacking g2_pz
    pq.write_table(pa.table({k: v for k, v in cols.items() if k != "g2_pz"}), broken)
    with pytest.raises(KeyError, match=r"broken\.parquet: missing field\(s\) g2_pz"):
        run_features([broken], "poor", 1, geometry="default")
    # complete columns but no run record: runs with an explicit geometry, refuses to guess one otherwise
    foreign = tmp_path / "foreign.parquet"
    pq.write_table(pa.table(cols), foreign)
    with pytest.raises(ValueError, match="choose the calorimeter geometry explicitly"):
        run_features([foreign], "poor", 1)
    run = run_features([foreign], "poor", 1, geometry="default")
    assert list(run.histograms) == ["mgg_foreign"] and len(run.columns["m_gg"]) == 300


def test_cli_end_to_end(files, tmp_path):
    out, hists, plots = tmp_path / "features.parquet", tmp_path / "mgg.root", tmp_path / "plots"
    result = CliRunner().invoke(
        app,
        [
            "alp",
            "features",
            str(files["a"]),
            str(files["b"]),
            "--resolution",
            "poor",
            "--seed",
            "1",
            "--out",
            str(out),
            "--hists",
            str(hists),
            "--plots",
            str(plots),
            "--chunksize",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.column_names == list(COLUMNS) and table.num_rows == 470
    record = json.loads(table.schema.metadata[b"hepbump"])
    assert record["resolution"]["sigma_e_rel"] == 0.1 and record["seed"] == 1
    assert record["geometry"] == read_run_info(files["a"])["geometry"]
    direct_feats, _ = _direct(files["a"], "poor", 1)
    np.testing.assert_array_equal(np.column_stack([table[c].to_numpy() for c in FEATURE_NAMES])[:300], direct_feats)
    h = read_histograms(hists)
    assert set(h) == {"mgg_sig_a_group0", "mgg_sig_b_group0"}
    assert read_metadata(hists)["mgg_sig_b_group0"]["m_a_gev"] == 0.5
    assert (plots / "mgg.png").stat().st_size > 0 and (plots / "photons.png").stat().st_size > 0
    assert not list(tmp_path.glob(".*.tmp*"))  # atomic writes leave no temporaries

    custom = CliRunner().invoke(
        app,
        [
            "alp",
            "features",
            str(files["a"]),
            "--resolution",
            "good",
            "--sigma-e",
            "0.2",
            "--out",
            str(out),
        ],
    )
    assert custom.exit_code == 0, custom.output
    record = json.loads(pq.read_table(out).schema.metadata[b"hepbump"])
    assert record["resolution"] == {
        "name": "custom",
        "sigma_e_rel": 0.2,
        "sigma_theta_rad": 0.005,
        "sigma_phi_rad": 0.005,
        "sigma_hit_m": 0.001,
    }


def test_cli_bad_input_exits_with_a_clear_message(files, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hepbump.cli import main; main()",
            "alp",
            "features",
            str(tmp_path / "nope.root"),
            "--out",
            str(tmp_path / "f.parquet"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "hepbump: error:" in proc.stderr and "nope.root" in proc.stderr
    assert not (tmp_path / "f.parquet").exists()
    bad_out = CliRunner().invoke(app, ["alp", "features", str(files["a"]), "--out", str(tmp_path / "f.csv")])
    assert isinstance(bad_out.exception, OutputError) and "must end in .parquet" in str(bad_out.exception)
    bad_res = CliRunner().invoke(
        app, ["alp", "features", str(files["a"]), "--sigma-phi", "-1", "--out", str(tmp_path / "f.parquet")]
    )
    assert isinstance(bad_res.exception, ValueError) and "sigma_phi_rad" in str(bad_res.exception)
