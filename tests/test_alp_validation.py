"""Validation of simulation + detector model against the published diphoton-mass reconstruction.

Reference (public code behind the ECO/EPO paper's tables; ref presets, c tau / m = 1 m/GeV): median m_gg and
16-84 % range in GeV for m_a = 0.2 / 1 / 4 GeV.

Agreement criterion, from the sampling error of our sample alone (distribution-free): for each quantile q of
N simulated events, the rank of the published value among our sorted m_gg must lie within
N q +- Z sqrt(N q (1 - q)) (binomial error of an empirical quantile), with the published numbers widened by
their rounding to 0.01 GeV. The published numbers' own sampling error is unknown and not added.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepbump.alp.detector import smear, smearing_rng, truth_photons
from hepbump.alp.features import diphoton_mass
from hepbump.alp.simulate import SimulationConfig, simulate_signal

PUBLISHED = {
    "good-ref": {0.2: (0.24, 0.15, 0.40), 1.0: (1.01, 0.84, 1.20), 4.0: (4.00, 3.71, 4.30)},
    "poor-ref": {0.2: (0.30, 0.15, 0.61), 1.0: (1.06, 0.75, 1.43), 4.0: (4.01, 3.43, 4.63)},
}
QUANTILES = (0.50, 0.16, 0.84)
N_EVENTS = 5000
Z = 3.5  # 18 comparisons: probability of any false alarm for a correct model below 1 %
ROUNDING_GEV = 0.005


def _mismatches(mgg: np.ndarray, published: tuple[float, float, float]) -> list[str]:
    """Quantiles of ``mgg`` that disagree with the published values beyond the sampling error."""
    values = np.sort(mgg)
    n = len(values)
    bad = []
    for q, ref in zip(QUANTILES, published):
        half = Z * math.sqrt(n * q * (1.0 - q))
        lo = values[max(int(math.floor(n * q - half)), 0)]
        hi = values[min(int(math.ceil(n * q + half)), n - 1)]
        if not (lo - ROUNDING_GEV <= ref <= hi + ROUNDING_GEV):
            bad.append(f"q={q:.2f}: published {ref} outside our [{lo:.3f}, {hi:.3f}] (N={n})")
    return bad


@pytest.fixture(scope="module")
def truth_by_mass():
    config = SimulationConfig(geometry="default")
    return {
        m: truth_photons(simulate_signal(m, 1.0, N_EVENTS, seed=20240 + i, config=config).columns)
        for i, m in enumerate((0.2, 1.0, 4.0))
    }


@pytest.mark.parametrize("preset", ["good-ref", "poor-ref"])
@pytest.mark.parametrize("mass", [0.2, 1.0, 4.0])
def test_mgg_quantiles_agree_with_published(truth_by_mass, preset, mass):
    mgg = diphoton_mass(smear(truth_by_mass[mass], preset, smearing_rng(99, 1, 0)))
    assert len(mgg) == N_EVENTS
    assert _mismatches(mgg, PUBLISHED[preset][mass]) == []


def test_criterion_tells_the_presets_apart(truth_by_mass):
    """Negative control: the same criterion rejects the other preset's numbers, so the test can fail."""
    for mass in (0.2, 1.0, 4.0):
        mgg_poor = diphoton_mass(smear(truth_by_mass[mass], "poor-ref", smearing_rng(99, 1, 0)))
        assert _mismatches(mgg_poor, PUBLISHED["good-ref"][mass]), mass


def test_truth_mass_is_exact_before_smearing(truth_by_mass):
    for mass, truth in truth_by_mass.items():
        np.testing.assert_allclose(diphoton_mass(truth), mass, rtol=1e-7)
