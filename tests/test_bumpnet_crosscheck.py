"""Cross-checks of BumpNet excesses: LR scan and pyhf at the found position, on a known injected Gaussian."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hepbump.bumpnet.crosscheck import crosscheck, crosscheck_histogram, format_crosscheck, sideband_background
from hepbump.bumpnet.scan import ScanTable
from hepbump.cli import app, main
from hepbump.stats import gaussian_template

runner = CliRunner()
EDGES = np.geomspace(200.0, 2000.0, 61)
CENTRES = 0.5 * (EDGES[1:] + EDGES[:-1])
BKG = 3e4 * (CENTRES / 200.0) ** -3 * np.diff(EDGES) / EDGES[0]
PEAK = 30  # bin of the injected signal, 645 GeV


def injected(seed: int, events: float = 250.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(BKG + events * gaussian_template(EDGES, CENTRES[PEAK], np.diff(EDGES)[PEAK])).astype(float)


@pytest.fixture(scope="module")
def scan_table():
    """Ranked table: the injected histogram (BumpNet Z_max 6.2 at the peak), a background-only one, an empty one."""
    bkg_only = np.random.default_rng(9).poisson(BKG).astype(float)
    z_sig, z_bkg = np.zeros(60), np.zeros(60)
    z_sig[PEAK], z_bkg[45] = 6.2, 1.5
    return ScanTable(
        ("2mu_OS_1b_2j__mu0_b0", "2mu_OS_2j__mu0_j0", "empty"),
        ("h.root",) * 3,
        np.array([6.2, 1.5, 0.1]),
        np.array([PEAK, 45, 10]),
        np.array([6, 6, 6]),
        (z_sig, z_bkg, np.full(60, 0.1)),
        (injected(1), bkg_only, np.zeros(60)),
        (EDGES,) * 3,
        ({"objects": ["mu0", "b0"], "channel": "2b"}, {}, {}),
    )


def test_lr_and_pyhf_agree_on_an_injected_gaussian():
    for seed in (1, 2):
        r = crosscheck_histogram(injected(seed), EDGES, PEAK, bumpnet_z=6.0, name="h")
        assert r.error is None and r.mass == pytest.approx(CENTRES[PEAK])
        assert r.lr_z > 6.0 and r.pyhf_z > 6.0
        assert abs(r.lr_z - r.pyhf_z) < 0.15 * r.lr_z
        assert r.lr_signal_yield == pytest.approx(250.0, rel=0.3)
        assert r.pyhf_signal_yield == pytest.approx(250.0, rel=0.3)
        assert r.bumpnet_z == 6.0 and r.window[0] < r.mass < r.window[1]
    background_only = crosscheck_histogram(np.random.default_rng(3).poisson(BKG).astype(float), EDGES, PEAK)
    assert abs(background_only.lr_z) < 3.5 and background_only.pyhf_z < 3.5


def test_sideband_background_is_not_pulled_by_the_excess():
    data = injected(1, events=600.0)
    window = slice(PEAK - 2, PEAK + 3)
    side = sideband_background(data, EDGES, window)
    assert side[PEAK] == pytest.approx(BKG[PEAK], rel=0.1)
    assert side.shape == data.shape and np.all(side > 0)


def test_crosscheck_of_a_scan_table(scan_table):
    rows = crosscheck(scan_table, 3, lr_curve=True)
    assert [r.rank for r in rows] == [1, 2, 3]
    sig, bkg, empty = rows
    assert sig.bumpnet_z == 6.2 and sig.lr_z > 6.0 and sig.pyhf_z > 6.0
    assert sig.lr_result.z.shape == (60,) and sig.background.shape == (60,)
    assert bkg.bumpnet_z == 1.5 and abs(bkg.lr_z) < 3.5
    assert empty.error is not None and np.isnan(empty.lr_z) and empty.to_dict()["lr_z"] is None
    text = format_crosscheck(rows)
    assert text.splitlines()[0].split()[:6] == ["rank", "mass", "[GeV]", "BumpNet", "Z", "LR"]
    assert "2mu_OS_1b_2j__mu0_b0" in text.splitlines()[1]
    assert [r.rank for r in crosscheck(scan_table, [1])] == [2]


def test_cli_crosscheck(scan_table, tmp_path):
    scan_table.write(tmp_path / "scan.parquet")
    plot, figs, js = tmp_path / "cc.png", tmp_path / "figs", tmp_path / "cc.json"
    args = ["bumpnet", "crosscheck", str(tmp_path / "scan.parquet"), "--top", "2"]
    r = runner.invoke(app, [*args, "--plot", str(plot), "--plot-dir", str(figs), "--json", str(js)])
    assert r.exit_code == 0, r.output
    header, first, second = r.output.splitlines()[:3]
    assert "BumpNet Z" in header and "LR Z" in header and "pyhf Z" in header
    assert first.split()[:3] == ["1", f"{CENTRES[PEAK]:.4g}", "6.20"]
    record = json.loads(js.read_text())
    assert [row["bumpnet_z"] for row in record["rows"]] == [6.2, 1.5]
    assert record["rows"][0]["lr_z"] > 6.0 and record["rows"][0]["pyhf_z"] > 6.0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in figs.iterdir()) == ["001_2mu_OS_1b_2j__mu0_b0.png", "002_2mu_OS_2j__mu0_j0.png"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["{d}/missing.parquet"], "no such scan file"),
        (["{d}/scan.parquet", "--plot", "{d}/cc.txt"], "must end in .png"),
        (["{d}/scan.parquet", "--top", "0"], "Invalid value"),
    ],
)
def test_cli_crosscheck_errors(scan_table, args, message, tmp_path, monkeypatch, capsys):
    scan_table.write(tmp_path / "scan.parquet")
    argv = ["hepbump", "bumpnet", "crosscheck", *[a.replace("{d}", str(tmp_path)) for a in args]]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
