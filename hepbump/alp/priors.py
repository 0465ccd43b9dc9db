"""Priors of the ALP parameters (m_a in GeV, c tau / m_a in m/GeV) as configurable dataclasses.

The paper samples both parameters log-uniformly: m_a in [0.1, 4.5] GeV and c tau / m_a in [0.05, 500] m/GeV
(ECO/EPO paper, section 2.1). The same dataclass describes the background distribution of parameters
("background events look like ALP decays with randomly varying mass and lifetime"), which can be changed
independently of the prior used for training.

>>> prior = ALPPrior()
>>> m, c = prior.sample(np.random.default_rng(0), 4)
>>> bool(np.all((m >= 0.1) & (m <= 4.5) & (c >= 0.05) & (c <= 500.0)))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hepbump.constants import ALP_CTAU_OVER_M_RANGE_M_PER_GEV, ALP_MASS_RANGE_GEV
from hepbump.errors import InputError

__all__ = ["LogUniform", "ALPPrior"]


@dataclass(frozen=True)
class LogUniform:
    """Log-uniform distribution on [low, high] (0 < low <= high; low == high is a fixed value).

    Density 1 / (x ln(high/low)).

    >>> d = LogUniform(1.0, 100.0)
    >>> float(d.quantile(0.5))
    10.0
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high) and 0.0 < self.low <= self.high):
            raise InputError(f"log-uniform range needs 0 < low <= high (finite), got [{self.low}, {self.high}]")

    def quantile(self, u: np.ndarray | float) -> np.ndarray:
        """Inverse CDF: low * (high/low)**u for u in [0, 1]."""
        return self.low * (self.high / self.low) ** np.asarray(u, dtype=np.float64)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws."""
        return self.quantile(rng.random(n))

    def contains(self, x: np.ndarray | float) -> np.ndarray:
        """True where ``x`` lies in [low, high]."""
        x = np.asarray(x)
        return (x >= self.low) & (x <= self.high)


@dataclass(frozen=True)
class ALPPrior:
    """Independent priors on m_a (GeV) and c tau / m_a (m/GeV); defaults are the paper's log-uniform ranges."""

    mass_gev: LogUniform = field(default_factory=lambda: LogUniform(*ALP_MASS_RANGE_GEV))
    ctau_over_m_m_per_gev: LogUniform = field(default_factory=lambda: LogUniform(*ALP_CTAU_OVER_M_RANGE_M_PER_GEV))

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` parameter points (m_a, c tau / m_a); the mass is drawn first, then the lifetime."""
        return self.mass_gev.sample(rng, n), self.ctau_over_m_m_per_gev.sample(rng, n)

    def to_dict(self) -> dict[str, list[float]]:
        """The ranges as a JSON-serialisable dict."""
        return {
            "mass_gev_log_uniform": [self.mass_gev.low, self.mass_gev.high],
            "ctau_over_m_m_per_gev_log_uniform": [self.ctau_over_m_m_per_gev.low, self.ctau_over_m_m_per_gev.high],
        }
