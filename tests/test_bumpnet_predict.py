"""BumpNet prediction: any input kind, exact batching by length, bad input, shipped weights."""

import hist
import numpy as np
import pytest
import torch

from hepbump.bumpnet import BumpNet, ModelConfig
from hepbump.bumpnet.predict import as_counts, predict
from hepbump.errors import InputError

SMALL = ModelConfig(channels=4, kernel_sizes=(3, 9), layers_per_stack=2, mlp_hidden=(8,))


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return BumpNet(SMALL)


def test_batched_prediction_equals_one_at_a_time(net):
    rng = np.random.default_rng(3)
    hists = [rng.poisson(50.0, size=n).astype(float) for n in (31, 300, 57, 57, 120, 33)]
    alone = [predict(net, h) for h in hists]
    for budget in (1 << 16, 200, 1):  # one batch, several, one histogram per batch
        together = predict(net, hists, bins_per_batch=budget)
        assert [z.shape for z in together] == [h.shape for h in hists]
        for a, b in zip(alone, together):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_input_kinds_agree(net):
    counts = np.random.default_rng(1).poisson(20.0, size=40).astype(float)
    edges = np.linspace(100.0, 500.0, 41)
    h = hist.Hist(hist.axis.Variable(edges), storage=hist.storage.Weight())
    h[...] = np.stack([counts, counts], axis=-1)
    ref = predict(net, counts)
    for x in (h, (counts, edges), list(counts)):
        np.testing.assert_allclose(predict(net, x), ref, atol=1e-6)
    np.testing.assert_allclose(net.predict([h])[0], ref, atol=1e-6)


def test_bad_input_is_a_clear_error():
    with pytest.raises(InputError, match="finite and >= 0"):
        as_counts(np.array([1.0, -2.0]))
    with pytest.raises(InputError, match="at least one bin"):
        as_counts(np.array([]))
