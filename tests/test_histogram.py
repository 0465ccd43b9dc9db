import boost_histogram as bh
import hist
import numpy as np
import pytest
import uproot

from hepbump.histogram import as_binned, make_hist


def test_accepts_hist_boost_and_tuple(tmp_path):
    edges = [0.0, 1.0, 2.5, 4.0]
    h = hist.Hist.new.Var(edges, name="m", label="m [GeV]").Weight()
    h.fill([0.5, 0.7, 3.0], weight=[1.0, 2.0, 0.5])
    b = as_binned(h)
    assert b.counts.tolist() == [3.0, 0.0, 0.5]
    assert b.variances.tolist() == [5.0, 0.0, 0.25]
    assert b.label == "m [GeV]"
    bb = bh.Histogram(bh.axis.Variable(edges))
    bb.fill([0.5, 3.0])
    assert as_binned(bb).counts.tolist() == [1.0, 0.0, 1.0]
    assert as_binned((np.array([1, 2, 3]), np.array(edges))).widths.tolist() == [1.0, 1.5, 1.5]
    with uproot.recreate(tmp_path / "f.root") as f:
        f["h"] = h
    th1 = uproot.open(tmp_path / "f.root")["h"]
    assert as_binned(th1).counts.tolist() == [3.0, 0.0, 0.5]


@pytest.mark.parametrize(
    "obj,match",
    [
        (([1.0, 2.0], [0.0, 1.0]), "need 3 edges"),
        (([1.0, 2.0], [0.0, 2.0, 1.0]), "strictly increasing"),
        (([1.0, np.nan], [0.0, 1.0, 2.0]), "NaN"),
        (([], [0.0]), "no bins"),
    ],
)
def test_bad_histograms(obj, match):
    with pytest.raises(ValueError, match=match):
        as_binned(obj)


def test_two_dimensional_and_unknown_rejected():
    h2 = hist.Hist.new.Reg(2, 0, 1).Reg(2, 0, 1).Double()
    with pytest.raises(ValueError, match="one-dimensional"):
        as_binned(h2)
    with pytest.raises(TypeError, match="cannot read"):
        as_binned("not a histogram")


def test_make_hist_weight_storage():
    h = make_hist([1.0, 4.0], [0.0, 1.0, 3.0], [0.5, 2.0], name="mjj", label="m_jj [GeV]")
    assert isinstance(h.storage_type(), type(hist.storage.Weight())) or h.storage_type == hist.storage.Weight
    assert h.variances().tolist() == [0.5, 2.0]
    assert h.axes[0].label == "m_jj [GeV]"
