"""BumpNet evaluation test sets (:mod:`hepbump.bumpnet.evalsets`): the paper's distortions and the list of sets
with and without mothers."""

import numpy as np
import pytest

from hepbump.bumpnet import MotherBank
from hepbump.bumpnet.evalsets import DISTORTIONS, distort, set_specs
from hepbump.bumpnet.evaluate import EvaluateConfig
from hepbump.errors import InputError


def test_distortions_follow_the_paper():
    b = np.full((2, 10), 20.0)
    ramp = (10 - np.arange(10)) / 10
    np.testing.assert_allclose(distort(b, "standard"), 1.5 * ramp * b)
    np.testing.assert_allclose(distort(b, "reverse"), 0.5 * ramp * b)
    np.testing.assert_allclose(distort(b, "inferior"), 10.0)
    np.testing.assert_allclose(distort(b, "superior"), 30.0)
    assert set(DISTORTIONS) == {"standard", "reverse", "inferior", "superior"}
    with pytest.raises(InputError, match="unknown distortion"):
        distort(b, "sideways")


def test_set_specs_follow_the_mothers_given():
    cfg = EvaluateConfig(n_nominal=10, n_background=8, n_shape=4)
    distortions = [f"distort_{k}" for k in DISTORTIONS]
    specs = set_specs(cfg, None, None)
    assert [s.name for s in specs] == ["function", "function_bkg", *distortions, "sparse", "width_2", "width_3"]
    assert [s.n for s in specs[:3]] == [10, 8, 4]
    assert [s.name for s in specs if not s.signal] == ["function_bkg"]
    assert all(s.bank is None for s in specs)
    mothers = MotherBank.from_histograms([(np.full(40, 50.0), np.linspace(100.0, 500.0, 41))], smooth=False)
    specs = {s.name: s for s in set_specs(cfg, mothers, mothers)}
    assert {"dm", "dm_bkg", "dm_train"} <= set(specs)
    assert all(specs[n].bank is mothers for n in ("dm", "dm_bkg", "dm_train", *distortions, "sparse"))
    assert specs["function"].bank is None and specs["sparse"].sparse and specs["width_2"].window


def test_edge_mask_counts_from_the_scanned_ends():
    from hepbump.bumpnet.evalsets import SetResult, edge_mask

    n = np.array([100.0, 100.0, 100.0, 100.0, 30.0])
    # 100 bins: the scan starts at bin 10; a window of 3 takes bins 10-12 and 97-99. 30 bins: 3-5 and 27-29.
    pos = np.array([12.0, 13.0, 96.0, 97.0, 5.0])
    r = SetResult("x", {"n_bins": n, "pos_lr": pos})
    assert edge_mask(r, 0.1, 3).tolist() == [True, False, False, True, True]
    assert edge_mask(r, 0.0, 3).tolist() == [False, False, False, True, False]
    for bad in (0, 2.5, True):
        with pytest.raises(InputError, match="edge window"):
            edge_mask(r, 0.1, bad)
    with pytest.raises(InputError, match="edge_window"):
        EvaluateConfig(edge_window=0)
