"""BumpNet scans: outputs per histogram, the excluded first bins, ranking, the Parquet table, the CLI and bad input."""

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from typer.testing import CliRunner

from hepbump.bumpnet import BumpNet, ModelConfig
from hepbump.bumpnet.scan import ScanTable, first_bin, format_table, read_scan, scan_files, scan_histograms
from hepbump.bumpnet.train import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from hepbump.cli import app, main
from hepbump.errors import InputError
from hepbump.histogram import make_hist
from hepbump.io.rootio import write_histograms

runner = CliRunner()
SMALL = ModelConfig(channels=4, kernel_sizes=(3, 9), layers_per_stack=2, mlp_hidden=(8,))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return BumpNet(SMALL)


def identity_bumpnet() -> BumpNet:
    """A BumpNet whose prediction is the bin content itself (linear input, one path through the MLP)."""
    cfg = ModelConfig(
        channels=1, kernel_sizes=(1,), layers_per_stack=1, mlp_hidden=(1,), input_transform="linear", input_scale=1.0
    )
    net = BumpNet(cfg)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.mlp[0].weight[0, -1, 0] = 1.0  # the raw input is the last feature
        net.head.weight[0, 0, 0] = 1.0
    return net.eval()


def save_model(net: BumpNet, path) -> None:
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "format_version": CHECKPOINT_VERSION,
            "model_config": net.config.to_dict(),
            "model_state": net.state_dict(),
        },
        path,
    )


def spiky(n: int, spikes: dict[int, float], level: float = 1.0):
    counts = np.full(n, level)
    for i, v in spikes.items():
        counts[i] = v
    return counts, np.linspace(100.0, 100.0 + 10.0 * n, n + 1)


def test_identity_network_predicts_the_counts():
    counts, edges = spiky(40, {7: 9.0})
    table = scan_histograms(identity_bumpnet(), {"h": (counts, edges)})
    np.testing.assert_allclose(table.z[0], counts, atol=1e-6)


def test_outputs_per_histogram(tiny):
    rng = np.random.default_rng(2)
    hists = {}
    for k, n in enumerate((31, 40, 75, 120)):
        edges = np.geomspace(50.0, 50.0 * (k + 2), n + 1)
        hists[f"h{k}"] = make_hist(rng.poisson(200.0 * np.exp(-np.arange(n) / 20.0)).astype(float), edges)
    meta = {"h1": {"category": "2mu_OS_1b_3j", "objects": ["mu0", "b0"]}}
    table = scan_histograms(tiny, hists, meta, source="x.root")
    assert len(table) == 4 and set(table.names) == set(hists)
    for i, name in enumerate(table.names):
        n = len(hists[name].values())
        assert table.z[i].shape == (n,) and table.counts[i].shape == (n,) and table.edges[i].shape == (n + 1,)
        np.testing.assert_array_equal(table.counts[i], hists[name].values())
        assert table.first_bins[i] == int(0.1 * n)
        assert table.bins[i] >= table.first_bins[i]
        assert table.z_max[i] == pytest.approx(table.z[i][table.first_bins[i] :].max())
        assert table.z_max[i] == pytest.approx(table.z[i][table.bins[i]])
        lo, hi = table.edges[i][table.bins[i]], table.edges[i][table.bins[i] + 1]
        assert table.masses[i] == pytest.approx(0.5 * (lo + hi))
    assert table.sources == ("x.root",) * 4
    assert table.metadata[table.index("h1")]["objects"] == ["mu0", "b0"]
    assert table.metadata[table.index("h0")] == {}
    assert list(table.z_max) == sorted(table.z_max, reverse=True)


def test_first_ten_percent_of_bins_excluded():
    net = identity_bumpnet()
    # 40 bins: bins 0-3 excluded; 35 bins: floor(3.5) = 3 excluded
    hists = {"a": spiky(40, {3: 100.0, 20: 10.0}), "b": spiky(35, {3: 50.0, 2: 99.0, 30: 5.0})}
    table = scan_histograms(net, hists)
    a, b = table.index("a"), table.index("b")
    assert table.bins[a] == 20 and table.z_max[a] == pytest.approx(10.0)
    assert table.bins[b] == 3 and table.z_max[b] == pytest.approx(50.0)
    assert first_bin([40, 35]).tolist() == [4, 3]
    table0 = scan_histograms(net, hists, exclude_first=0.0)
    assert table0.bins[table0.index("a")] == 3 and table0.bins[table0.index("b")] == 2
    table5 = scan_histograms(net, hists, exclude_first=0.6)
    assert table5.bins[table5.index("a")] >= 24 and table5.bins[table5.index("b")] == 30
    with pytest.raises(InputError, match="exclude_first"):
        scan_histograms(net, hists, exclude_first=1.0)


def test_ranking_by_z_max_then_name():
    net = identity_bumpnet()
    hists = {"c": spiky(40, {10: 3.0}), "a": spiky(40, {10: 9.0}), "d": spiky(40, {10: 6.0}), "b": spiky(40, {11: 6.0})}
    table = scan_histograms(net, hists)
    assert table.names == ("a", "b", "d", "c")
    assert table.ranks.tolist() == [1, 2, 3, 4]
    text = format_table(table, 2)
    assert text.splitlines()[1].split()[:2] == ["1", "9.00"] and "... 2 more" in text
    assert table.top(2).names == ("a", "b")


def test_parquet_round_trip(tiny, tmp_path):
    rng = np.random.default_rng(5)
    hists = {
        f"2mu_OS_{k}j__mu0_j0": (rng.poisson(30.0, 33 + 7 * k).astype(float), np.arange(34.0 + 7 * k) * 5 + 10)
        for k in range(3)
    }
    meta = {
        n: {"category": n.split("__")[0], "selection": {"n_jets": k}, "objects": ["mu0", "j0"]}
        for k, n in enumerate(hists)
    }
    table = scan_histograms(tiny, hists, meta, source="in.root")
    path = table.write(tmp_path / "scan.parquet")
    back = read_scan(path)
    assert back.names == table.names and back.sources == table.sources and back.metadata == table.metadata
    for attr in ("z_max", "bins", "first_bins"):
        np.testing.assert_array_equal(getattr(back, attr), getattr(table, attr))
    for a, b in zip(back.z + back.counts + back.edges, table.z + table.counts + table.edges):
        np.testing.assert_array_equal(a, b)
    assert back.info["exclude_first"] == 0.1
    # a plain Parquet file for other tools: list columns and metadata as JSON
    raw = pq.read_table(path)
    assert raw.column("rank").to_pylist() == [1, 2, 3]
    assert raw.schema.field("z").type == pa.list_(pa.float64())
    assert json.loads(raw.column("metadata")[0].as_py())["objects"] == ["mu0", "j0"]
    assert raw.column("category").to_pylist() == [n.split("__")[0] for n in table.names]
    assert raw.column("combination").to_pylist() == ["mu0_j0"] * 3


def test_read_scan_refuses_other_parquet_files(tmp_path):
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "other.parquet")
    with pytest.raises(InputError, match="not a BumpNet scan table"):
        read_scan(tmp_path / "other.parquet")
    (tmp_path / "bad.parquet").write_text("nope")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_scan(tmp_path / "bad.parquet")


def test_scan_files_and_bad_histograms(tiny, tmp_path):
    write_histograms(tmp_path / "a.root", {"h": make_hist(np.full(40, 5.0), np.arange(41.0))}, {"h": {"channel": "2b"}})
    write_histograms(tmp_path / "b.root", {"h": make_hist(np.full(50, 5.0), np.arange(51.0))})
    table = scan_files(tiny, [tmp_path / "a.root", tmp_path / "b.root"], model_name="tiny")
    assert sorted(table.sources) == sorted([str(tmp_path / "a.root"), str(tmp_path / "b.root")])
    assert table.metadata[table.index("h", str(tmp_path / "a.root"))] == {"channel": "2b"}
    assert table.info["model"] == "tiny"
    with pytest.raises(InputError, match="several files"):
        table.index("h")
    with pytest.raises(InputError, match="histogram 'neg': negative bin contents"):
        scan_histograms(tiny, {"neg": (np.array([1.0, -1.0, 2.0]), np.arange(4.0))})
    assert len(scan_histograms(tiny, {})) == 0


@pytest.fixture(scope="module")
def dm_like(tmp_path_factory):
    """A histogram file with DM-style names and metadata, and the identity network saved as a checkpoint."""
    d = tmp_path_factory.mktemp("scan_cli")
    hists, meta = {}, {}
    for name, peak in [("2mu_OS_1b_2j__mu0_b0", 8.0), ("2mu_OS_1b_3j__mu0_b0", 7.0), ("2e_OS_2j__e0_e1_m106up", 3.0)]:
        counts, edges = spiky(50, {25: peak}, level=1.0)
        hists[name] = make_hist(counts, edges)
        meta[name] = {"category": name.split("__")[0], "combination": name.split("__")[1], "channel": "2b"}
    write_histograms(d / "h.root", hists, meta)
    save_model(identity_bumpnet(), d / "identity.pt")
    return d


def test_cli_scan(dm_like, tmp_path):
    out = tmp_path / "scan.parquet"
    args = ["bumpnet", "scan", str(dm_like / "h.root"), "--model", str(dm_like / "identity.pt"), "-o", str(out)]
    r = runner.invoke(app, [*args, "--plots", "2", "--top", "2", "--json", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["rank", "Z_max", "mass", "[GeV]", "bin", "bins", "histogram"]
    assert lines[1].split() == ["1", "8.00", "355", "25", "50", "2mu_OS_1b_2j__mu0_b0"]
    assert "... 1 more" in r.output and "scanned 3 histograms of 1 file(s)" in r.output
    table = read_scan(out)
    assert table.names[0] == "2mu_OS_1b_2j__mu0_b0" and table.info["model"] == str(dm_like / "identity.pt")
    figures = sorted(p.name for p in (tmp_path / "scan_plots").iterdir())
    assert figures == ["001_2mu_OS_1b_2j__mu0_b0.png", "002_2mu_OS_1b_3j__mu0_b0.png"]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["n_histograms"] == 3 and [row["rank"] for row in summary["top"]] == [1, 2]
    assert summary["top"][0]["z_max"] == pytest.approx(8.0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["{d}/missing.root"], "no such ROOT file"),
        (["{d}/empty.root"], "no 1D histograms in the file"),
        (["{d}/h.root", "-o", "{d}"], "is a directory"),
        (["{d}/h.root", "-o", "{d}/scan.csv"], "must end in .parquet"),
        (["{d}/h.root", "--model", "{d}/missing.pt"], "does not exist"),
        (["{d}/h.root", "--model", "{d}/h.root"], "not a readable BumpNet checkpoint"),
    ],
)
def test_cli_scan_errors_are_one_line(dm_like, args, message, tmp_path, monkeypatch, capsys):
    write_histograms(dm_like / "empty.root", {})
    argv = [a.replace("{d}", str(dm_like)) for a in args]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "scan.parquet")]
    if "--model" not in argv:
        argv += ["--model", str(dm_like / "identity.pt")]
    monkeypatch.setattr("sys.argv", ["hepbump", "bumpnet", "scan", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "scan.parquet").exists()


def test_scan_table_columns_must_agree():
    with pytest.raises(InputError, match="different lengths"):
        ScanTable(("a",), (), np.zeros(1), np.zeros(1, int), np.zeros(1, int), (), (), (), ())


SHIPPED = Path(str(resources.files("hepbump.data"))) / "bumpnet" / "bumpnet.pt"


@pytest.mark.skipif(SHIPPED.exists(), reason="the shipped BumpNet weights are installed")
def test_cli_scan_without_shipped_weights_is_one_line(dm_like, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        "sys.argv", ["hepbump", "bumpnet", "scan", str(dm_like / "h.root"), "-o", str(tmp_path / "s.parquet")]
    )
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "pretrained BumpNet weights are not installed" in capsys.readouterr().err
