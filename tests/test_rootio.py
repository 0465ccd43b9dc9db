import json

import hist
import numpy as np
import pytest
import uproot

from hepbump.io.atomic import atomic_path
from hepbump.io.rootio import METADATA_KEY, read_histograms, read_metadata, write_histograms


def weighted_hist():
    h = hist.Hist(
        hist.axis.Variable([10.0, 12.5, 20.0, 45.0, 100.0], name="m_ee", label="m(e0,e1) [GeV]"),
        storage=hist.storage.Weight(),
    )
    h.fill([11.0, 13.0, 13.0, 50.0], weight=[1.0, 0.5, 2.0, 3.0])
    return h


def test_round_trip_is_identical(tmp_path):
    h = weighted_hist()
    other = hist.Hist.new.Reg(5, 0, 5, name="njet").Double().fill([1, 1, 3])
    meta = {"ee": {"category": "2e_OS_met50_1j", "objects": ["e0", "e1"], "selection": {"met": 50}}}
    path = tmp_path / "out.root"
    write_histograms(path, {"ee": h, "njet": other}, meta)
    back = read_histograms(path)
    assert set(back) == {"ee", "njet"}
    np.testing.assert_array_equal(back["ee"].axes[0].edges, h.axes[0].edges)
    np.testing.assert_array_equal(back["ee"].values(), h.values())
    np.testing.assert_array_equal(back["ee"].variances(), h.variances())
    assert back["ee"].axes[0].name == "m_ee" and back["ee"].axes[0].label == "m(e0,e1) [GeV]"
    np.testing.assert_array_equal(back["njet"].variances(), [0, 2, 0, 1, 0])
    assert read_metadata(path) == {"ee": meta["ee"], "njet": {}}
    assert read_histograms(path, ["ee"]).keys() == {"ee"}
    # a plain ROOT reader sees ordinary histograms and a JSON string
    with uproot.open(path) as f:
        assert f["ee"].classname == "TH1D"
        assert json.loads(str(f[METADATA_KEY]))["histograms"]["ee"]["metadata"]["category"] == "2e_OS_met50_1j"


def test_foreign_root_file(tmp_path):
    with uproot.recreate(tmp_path / "foreign.root") as f:
        f["h"] = (np.array([1.0, 2.0]), np.array([0.0, 1.0, 2.0]))
    assert read_histograms(tmp_path / "foreign.root")["h"].values().tolist() == [1.0, 2.0]
    assert read_metadata(tmp_path / "foreign.root") == {}


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "out.root"
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        write_histograms(path, {"a": weighted_hist()}, {"a": {"bad": object()}})
    assert list(tmp_path.iterdir()) == []
    # an existing file survives a failed overwrite untouched
    write_histograms(path, {"a": weighted_hist()})
    before = path.read_bytes()
    with pytest.raises(ValueError, match="invalid histogram name"):
        write_histograms(path, {"a/b": weighted_hist()})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.root"]


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such ROOT file"):
        read_histograms(tmp_path / "missing.root")
    (tmp_path / "text.root").write_text("not root")
    with pytest.raises(ValueError, match="not a readable ROOT file"):
        read_histograms(tmp_path / "text.root")
    write_histograms(tmp_path / "ok.root", {"a": weighted_hist()})
    with pytest.raises(KeyError, match="no histogram named 'b'"):
        read_histograms(tmp_path / "ok.root", ["b"])
    with pytest.raises(ValueError, match="metadata given for histograms that are not written"):
        write_histograms(tmp_path / "x.root", {"a": weighted_hist()}, {"b": {}})


def test_atomic_path_cleans_up(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("interrupted")
    assert not target.exists() and list((tmp_path / "sub").iterdir()) == []


def test_atomic_output_has_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
