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
