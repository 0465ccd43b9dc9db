"""Per-event ALP mass posteriors by marginal neural ratio estimation (ECO/EPO paper, sections 3.3 and 6, app. A).

A classifier d(x, m) on ``[log10 m_a, standardised features]`` is trained on matched pairs (an event's true
mass, label 1) against mismatched pairs (a mass drawn from the prior, label 0); with the logit
``f = log(s / (1 - s))`` the likelihood-to-evidence ratio is ``r(x | m) = s / (1 - s) = exp(f)``. The prior of
the paper is log-uniform in m_a, i.e. uniform in log10 m_a, so the posterior density *in log10 m_a* is

    p(log10 m | x) = pi(log10 m) r(x | m) / Z(x),

evaluated on :func:`mass_grid` (200 points over [log10 0.1, log10 4.5]) and normalised numerically with the
trapezoidal rule (it integrates to 1 over log10 m). Several events combine as in eq. (9):
``p(m | x_1..x_n) ∝ pi(m) prod_i r(x_i | m)`` (:func:`combine_log_ratios`, :func:`combine_log_posteriors`),
all in log space. Coverage (appendix A, Fig. 10) uses the highest-posterior-density (HPD) regions:
:func:`hpd_credibility` gives, per event, the probability content of the smallest HPD region that contains the
true mass; :func:`coverage_curve` turns these into empirical versus expected coverage.

>>> g = mass_grid()
>>> g.shape, round(float(g[0]), 3), round(float(g[-1]), 4)
((200,), -1.0, 0.6532)
>>> lp = normalise_log_density(-0.5 * ((g - 0.0) / 0.1) ** 2, g)
>>> round(float(np.trapezoid(np.exp(lp), g)), 6)
1.0
"""

from __future__ import annotations

import importlib.resources
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import logsumexp

from hepbump.alp.detector import Resolution, get_resolution
from hepbump.alp.features import FEATURE_NAMES
from hepbump.constants import ALP_MASS_RANGE_GEV
from hepbump.errors import InputError, InputNotFoundError, ModelFileError
from hepbump.hunt._nn import (
    MLPConfig,
    Standardisation,
    build_mlp,
    config_from,
    load_state,
    read_checkpoint,
    write_checkpoint,
)

__all__ = [
    "GRID_SIZE",
    "FORMAT",
    "FORMAT_VERSION",
    "mass_grid",
    "trapezoid_log_weights",
    "normalise_log_density",
    "log_prior_density",
    "combine_log_ratios",
    "combine_log_posteriors",
    "posterior_summary",
    "hpd_credibility",
    "coverage_curve",
    "MassPosterior",
    "shipped_path",
    "validation_summary",
]

log = logging.getLogger(__name__)

#: Points of the log10 m_a grid (paper, appendix A).
GRID_SIZE = 200
FORMAT = "hepbump.hunt.posterior"
FORMAT_VERSION = 1
_WHAT = "mass-posterior model"
_N_INPUTS = 1 + len(FEATURE_NAMES)


def mass_grid(n: int = GRID_SIZE, mass_range_gev: tuple[float, float] = ALP_MASS_RANGE_GEV) -> np.ndarray:
    """``n`` equally spaced values of log10(m_a / GeV) from log10 0.1 to log10 4.5 (the prior's range)."""
    if int(n) < 2:
        raise InputError(f"the mass grid needs >= 2 points, got {n}")
    return np.linspace(math.log10(mass_range_gev[0]), math.log10(mass_range_gev[1]), int(n))


def trapezoid_log_weights(grid: np.ndarray) -> np.ndarray:
    """log of the trapezoidal-rule weights of ``grid`` (sum of weights = grid[-1] - grid[0]).

    >>> np.exp(trapezoid_log_weights(np.array([0.0, 1.0, 3.0]))).tolist()
    [0.5, 1.5, 1.0]
    """
    g = np.asarray(grid, dtype=np.float64)
    d = np.diff(g)
    if g.ndim != 1 or g.size < 2 or np.any(d <= 0):
        raise InputError("the grid must be one-dimensional, increasing, with >= 2 points")
    w = np.zeros_like(g)
    w[:-1] += 0.5 * d
    w[1:] += 0.5 * d
    return np.log(w)


def normalise_log_density(log_density: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Shift ``log_density`` (..., G) so that its exponential integrates to 1 over ``grid`` (trapezoidal rule)."""
    lp = np.asarray(log_density, dtype=np.float64)
    lw = trapezoid_log_weights(grid)
    if lp.shape[-1] != lw.shape[0]:
        raise InputError(f"log density has {lp.shape[-1]} points on its last axis, the grid {lw.shape[0]}")
    return lp - logsumexp(lp + lw, axis=-1, keepdims=True)


def log_prior_density(grid: np.ndarray) -> np.ndarray:
    """log of the mass prior as a density in log10 m on ``grid``: log-uniform m_a is uniform in log10 m_a.

    >>> float(np.exp(log_prior_density(np.array([0.0, 2.0])))[0])
    0.5
    """
    g = np.asarray(grid, dtype=np.float64)
    return np.full(g.shape, -math.log(g[-1] - g[0]))


def combine_log_ratios(log_ratios: np.ndarray, grid: np.ndarray, log_prior: np.ndarray | None = None) -> np.ndarray:
    """Combined posterior of several events (eq. 9): log[pi(m) prod_i r_i(m)], normalised on ``grid``.

    ``log_ratios`` is (n_events, G); zero events give the prior.

    >>> g = np.linspace(0.0, 1.0, 3)
    >>> np.exp(combine_log_ratios(np.log([[1.0, 2.0, 1.0], [1.0, 3.0, 1.0]]), g)).round(4).tolist()
    [0.2857, 1.7143, 0.2857]
    """
    lr = np.asarray(log_ratios, dtype=np.float64).reshape(-1, np.asarray(grid).shape[0])
    lpi = log_prior_density(grid) if log_prior is None else np.asarray(log_prior, dtype=np.float64)
    return normalise_log_density(lpi + lr.sum(axis=0), grid)


def combine_log_posteriors(
    log_posteriors: np.ndarray, grid: np.ndarray, log_prior: np.ndarray | None = None
) -> np.ndarray:
    """Combined posterior from single-event log posteriors (n, G): log r_i = log p_i - log pi up to constants.

    (The product of posteriors is *not* the combined posterior, eq. 8: the prior enters once.)
    """
    lpi = log_prior_density(grid) if log_prior is None else np.asarray(log_prior, dtype=np.float64)
    lp = np.asarray(log_posteriors, dtype=np.float64).reshape(-1, np.asarray(grid).shape[0])
    return combine_log_ratios(lp - lpi, grid, lpi)


def _masses(log_posterior: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Probability mass per grid point (trapezoidal weights), each row summing to 1."""
    lm = np.asarray(log_posterior, dtype=np.float64) + trapezoid_log_weights(grid)
    return np.exp(lm - logsumexp(lm, axis=-1, keepdims=True))


def posterior_summary(log_posterior: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of log10 m (per row of ``log_posterior`` (..., G)).

    >>> g = np.linspace(-1.0, 1.0, 401)
    >>> mean, std = posterior_summary(-0.5 * ((g - 0.2) / 0.1) ** 2, g)
    >>> round(float(mean), 4), round(float(std), 4)
    (0.2, 0.1)
    """
    w = _masses(log_posterior, grid)
    g = np.asarray(grid, dtype=np.float64)
    mean = (w * g).sum(axis=-1)
    var = (w * (g - mean[..., None]) ** 2).sum(axis=-1)
    return mean, np.sqrt(np.maximum(var, 0.0))


def hpd_credibility(log_posterior: np.ndarray, grid: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per event, the credibility (posterior mass) of the smallest HPD region that contains ``truth``.

    ``log_posterior`` (n, G) on ``grid``; ``truth`` (n,) true log10 m (clipped into the grid). The density at
    the truth is interpolated linearly; the credibility is the mass of the grid points with a strictly higher
    density. The true value lies inside the HPD region of level alpha iff credibility <= alpha.

    >>> g = np.linspace(-1.0, 1.0, 2001)
    >>> lp = normalise_log_density(-0.5 * (g / 0.1) ** 2, g)[None, :]
    >>> round(float(hpd_credibility(lp, g, np.array([0.1]))[0]), 3)  # +1 sigma: 68.3 %
    0.683
    """
    lp = np.atleast_2d(np.asarray(log_posterior, dtype=np.float64))
    g = np.asarray(grid, dtype=np.float64)
    t = np.clip(np.asarray(truth, dtype=np.float64).reshape(-1), g[0], g[-1])
    if t.shape[0] != lp.shape[0]:
        raise InputError(f"{lp.shape[0]} posteriors but {t.shape[0]} true values")
    mass = _masses(lp, g)
    dens = np.exp(lp - lp.max(axis=-1, keepdims=True))
    j = np.clip(np.searchsorted(g, t, side="right") - 1, 0, g.size - 2)
    frac = (t - g[j]) / (g[j + 1] - g[j])
    rows = np.arange(lp.shape[0])
    d_true = (1.0 - frac) * dens[rows, j] + frac * dens[rows, j + 1]
    return np.where(dens > d_true[:, None], mass, 0.0).sum(axis=-1)


def coverage_curve(credibility: np.ndarray, levels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Expected versus empirical coverage: fraction of events whose truth lies in the HPD region of each level.

    >>> lev, emp = coverage_curve(np.array([0.1, 0.5, 0.9]), np.array([0.0, 0.5, 1.0]))
    >>> emp.round(3).tolist()
    [0.0, 0.667, 1.0]
    """
    c = np.asarray(credibility, dtype=np.float64).reshape(-1)
    lev = np.linspace(0.0, 1.0, 51) if levels is None else np.asarray(levels, dtype=np.float64)
    if c.size == 0:
        return lev, np.full(lev.shape, np.nan)
    return lev, (c[None, :] <= lev[:, None]).mean(axis=1)


def shipped_path(resolution: str) -> Path:
    """Where the weights of a resolution preset are shipped: ``hepbump/data/hunt/posterior_<resolution>.pt``."""
    return Path(str(importlib.resources.files("hepbump").joinpath("data", "hunt", f"posterior_{resolution}.pt")))


class MassPosterior:
    """A trained ratio estimator with its feature standardisation, evaluated on the mass grid.

    ``net`` maps standardised ``[log10 m, features]`` (n, 11) to logits = log r; ``standardisation`` has 11
    columns; ``grid`` is the log10 m grid of :meth:`log_posterior`; ``resolution`` the detector it was trained
    for; ``training`` a JSON-able record (configuration, history, data sizes).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        standardisation: Standardisation,
        architecture: MLPConfig,
        *,
        grid: np.ndarray | None = None,
        resolution: str | Resolution | None = None,
        training: Mapping[str, Any] | None = None,
    ) -> None:
        if standardisation.dim != _N_INPUTS or architecture.n_inputs != _N_INPUTS:
            raise InputError(f"the mass posterior takes {_N_INPUTS} inputs (log10 m and the ten features)")
        self.net = net.eval()
        self.standardisation = standardisation
        self.architecture = architecture
        self.grid = mass_grid() if grid is None else np.asarray(grid, dtype=np.float64)
        self.resolution = None if resolution is None else get_resolution(resolution)
        self.training = dict(training or {})

    # -- evaluation ------------------------------------------------------------------------------------
    def _check(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(FEATURE_NAMES):
            raise InputError(f"expected an (n, {len(FEATURE_NAMES)}) feature matrix, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("the feature matrix has non-finite values")
        return x

    @torch.no_grad()
    def log_ratio(self, features: np.ndarray, log10_mass: np.ndarray) -> np.ndarray:
        """log r(x_i | m_i) for paired rows (n,) (the network's logit)."""
        x = self._check(features)
        m = np.asarray(log10_mass, dtype=np.float64).reshape(-1, 1)
        z = self.standardisation.apply(np.hstack([m, x]))
        return self.net(torch.from_numpy(z)).double().numpy()

    @torch.no_grad()
    def log_ratio_grid(self, features: np.ndarray, *, chunk_events: int = 512) -> np.ndarray:
        """log r(x_i | m_j) for every event i and grid point j: (n, G), one batched pass per chunk of events."""
        x = self._check(features)
        s = self.standardisation
        zx = ((x - s.mean[1:]) / s.std[1:]).astype(np.float32)
        zm = ((self.grid - s.mean[0]) / s.std[0]).astype(np.float32)
        g = zm.shape[0]
        out = np.empty((x.shape[0], g), dtype=np.float64)
        for a in range(0, x.shape[0], chunk_events):
            c = zx[a : a + chunk_events]
            z = np.empty((c.shape[0], g, _N_INPUTS), dtype=np.float32)
            z[:, :, 0] = zm[None, :]
            z[:, :, 1:] = c[:, None, :]
            logits = self.net(torch.from_numpy(z.reshape(-1, _N_INPUTS)))
            out[a : a + c.shape[0]] = logits.double().numpy().reshape(-1, g)
        return out

    def log_posterior(self, features: np.ndarray) -> np.ndarray:
        """(n, G) log posterior density of log10 m_a per event on :attr:`grid` (each integrates to 1)."""
        return normalise_log_density(log_prior_density(self.grid) + self.log_ratio_grid(features), self.grid)

    def combined_log_posterior(self, features: np.ndarray) -> np.ndarray:
        """(G,) log posterior of a common mass for all rows of ``features`` (eq. 9)."""
        return combine_log_ratios(self.log_ratio_grid(features), self.grid)

    # -- files -----------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model (weights, architecture, standardisation, grid, resolution, training record)."""
        payload = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "architecture": self.architecture.to_dict(),
            "standardisation": self.standardisation.to_dict(),
            "grid": self.grid.tolist(),
            "resolution": None if self.resolution is None else self.resolution.to_dict(),
            "state_dict": self.net.state_dict(),
            "training": self.training,
        }
        return write_checkpoint(path, payload)

    @classmethod
    def load(cls, path: str | Path) -> MassPosterior:
        """Read a file written by :meth:`save`; :class:`~hepbump.errors.ModelFileError` if it is unusable."""
        ck = read_checkpoint(path, FORMAT, FORMAT_VERSION, _WHAT)
        arch = config_from(MLPConfig, ck["architecture"], path, _WHAT)
        std = config_from(Standardisation, ck["standardisation"], path, _WHAT)
        res = ck.get("resolution")
        try:
            resolution = None if res is None else Resolution(**res)
            grid = np.asarray(ck.get("grid", mass_grid()), dtype=np.float64)
            trapezoid_log_weights(grid)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: invalid grid or resolution record: {exc}") from None
        net = build_mlp(arch)
        load_state(net, ck["state_dict"], path, _WHAT)
        try:
            return cls(net, std, arch, grid=grid, resolution=resolution, training=ck.get("training") or {})
        except InputError as exc:
            raise ModelFileError(f"{path}: {exc}") from None

    @classmethod
    def pretrained(cls, resolution: str) -> MassPosterior:
        """The shipped model of a resolution preset (``good``, ``poor``, ``good-ref``, ``poor-ref``).

        Raises :class:`~hepbump.errors.InputNotFoundError` for a preset without shipped weights.
        """
        name = get_resolution(resolution).name
        path = shipped_path(name)
        if not path.is_file():
            raise InputNotFoundError(
                f"no shipped mass-posterior weights for resolution {name!r} ({path.name}); train them with "
                f"hepbump.hunt.train.train_shipped_posterior({name!r}, out_dir)"
            )
        return cls.load(path)

    def __repr__(self) -> str:
        res = self.resolution.name if self.resolution is not None else None
        return f"MassPosterior(resolution={res!r}, hidden={list(self.architecture.hidden)}, grid={self.grid.size})"


def validation_summary(model: MassPosterior, features: np.ndarray, log10_mass: np.ndarray) -> dict[str, Any]:
    """Held-out figures of a posterior model (JSON-able): widths, coverage of HPD regions, accuracy of the mean.

    ``mean_width``/``median_width``: posterior standard deviation of log10 m; ``coverage_68``/``coverage_95``:
    fraction of true masses inside the 68 % / 95 % HPD region; ``coverage_curve``: expected and empirical
    coverage (:func:`coverage_curve`); ``mae_posterior_mean``: mean |posterior mean - true log10 m|, next to
    ``mae_prior_mean`` (the prior's mean as the estimate) for scale.
    """
    lp = model.log_posterior(features)
    truth = np.asarray(log10_mass, dtype=np.float64).reshape(-1)
    mean, width = posterior_summary(lp, model.grid)
    cred = hpd_credibility(lp, model.grid, truth)
    levels, emp = coverage_curve(cred)
    prior_mean = 0.5 * (model.grid[0] + model.grid[-1])
    return {
        "n_events": int(truth.size),
        "mean_width": float(width.mean()),
        "median_width": float(np.median(width)),
        "coverage_68": float(np.mean(cred <= 0.68)),
        "coverage_95": float(np.mean(cred <= 0.95)),
        "coverage_curve": {"expected": levels.round(4).tolist(), "empirical": emp.round(5).tolist()},
        "mae_posterior_mean": float(np.mean(np.abs(mean - truth))),
        "mae_prior_mean": float(np.mean(np.abs(prior_mean - truth))),
    }
