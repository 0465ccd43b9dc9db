import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hepbump.stats import asimov_significance, lr_significance, p_to_z, z_from_q0, z_to_p


def closed_form(n, b):
    """Independent scalar transcription of Cowan et al. (2011), eq. for q0 with known b."""
    if n == 0:
        return -math.sqrt(2 * b)
    q = 2 * (n * (math.log(n) - math.log(b)) - (n - b))
    return math.copysign(math.sqrt(max(q, 0.0)), n - b)


@pytest.mark.parametrize(
    "n,b,expected",
    [(130, 100, 2.866131323151064), (50, 100, -5.539480), (100, 100, 0.0), (0, 2.0, -2.0), (1, 1e-3, 3.437665)],
)
def test_hand_values(n, b, expected):
    assert lr_significance(n, b) == pytest.approx(expected, abs=1e-4)


@given(st.floats(0, 1e6), st.floats(1e-3, 1e6))
def test_matches_closed_form(n, b):
    assert lr_significance(n, b) == pytest.approx(closed_form(n, b), rel=1e-9, abs=1e-9)


def test_large_counts_approach_gaussian():
    b = 1e8
    n = b + 3 * math.sqrt(b)
    assert lr_significance(n, b) == pytest.approx(3.0, rel=1e-3)


def test_vectorised_numpy_and_torch_agree():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.1, 1e4, size=1000)
    n = rng.poisson(b).astype(float)
    z_np = lr_significance(n, b)
    z_t = lr_significance(torch.tensor(n), torch.tensor(b))
    assert isinstance(z_t, torch.Tensor)
    np.testing.assert_allclose(z_t.numpy(), z_np, rtol=1e-12, atol=1e-12)
    assert z_np.shape == (1000,)
    # zero counts in the tensor path take the exact limit, with no NaN
    z0 = lr_significance(torch.zeros(3), torch.tensor([1.0, 2.0, 8.0]))
    np.testing.assert_allclose(z0.numpy(), -np.sqrt(2 * np.array([1.0, 2.0, 8.0])), rtol=1e-6)


def test_asimov():
    s, b = 10.0, 100.0
    expected = math.sqrt(2 * ((s + b) * math.log(1 + s / b) - s))
    assert asimov_significance(s, b) == pytest.approx(expected, rel=1e-12)
    assert asimov_significance(5.0, 1e6) == pytest.approx(5.0 / 1e3, rel=1e-4)  # s/sqrt(b) limit


@pytest.mark.parametrize(
    "n,b,match",
    [
        (1.0, 0.0, "b must be"),
        (1.0, -1.0, "b must be"),
        (-1.0, 1.0, "n must be"),
        (float("nan"), 1.0, "NaN"),
        (1.0, float("inf"), "b must be"),
        ([1.0, 2.0], [1.0, float("nan")], "NaN"),
    ],
)
def test_bad_input(n, b, match):
    with pytest.raises(ValueError, match=match):
        lr_significance(n, b)


def test_bad_input_torch():
    with pytest.raises(ValueError):
        lr_significance(torch.tensor([1.0]), torch.tensor([0.0]))
    with pytest.raises(ValueError):
        asimov_significance(-20.0, 10.0)


def test_p_z_conversions():
    assert z_to_p(0.0) == pytest.approx(0.5)
    assert p_to_z(z_to_p(7.5)) == pytest.approx(7.5, rel=1e-9)
    assert z_from_q0(25.0, -1.0) == -5.0
    assert z_from_q0(-1e-12) == 0.0
