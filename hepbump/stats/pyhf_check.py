"""pyhf cross-check of a bump: discovery test of a signal template with free normalisation on a fixed background.

The model has one channel with two samples, ``signal`` (normfactor ``mu``) and ``background`` (no
modifiers), so the background is known exactly, as in the ideal LR test of BumpNet. The discovery p-value
comes from ``pyhf.infer.hypotest(0.0, data, model, test_stat="q0")`` (asymptotic formulae); ``Z = Phi^-1(1 - p0)``.
With a fixed background this is the same likelihood ratio as :func:`hepbump.stats.lr_significance_known`, so
the two agree to the precision of pyhf's minimiser, an independent check of the hepbump fits.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyhf

from hepbump.errors import InputError
from hepbump.histogram import as_binned
from hepbump.stats.significance import p_to_z

__all__ = ["DiscoveryResult", "pyhf_discovery", "build_discovery_model"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiscoveryResult:
    """pyhf discovery test: ``p0``, ``z`` (one-sided; 0 for deficits), the fitted normalisation ``mu_hat`` of the
    given signal and the signal yield ``mu_hat * sum(signal)`` in events. ``model`` is the pyhf model as fitted
    (its template is rescaled internally for conditioning)."""

    p0: float
    z: float
    mu_hat: float
    signal_yield: float
    model: Any


def build_discovery_model(background: np.ndarray, signal: np.ndarray) -> pyhf.Model:
    """A one-channel pyhf model: ``signal`` scaled by the free normfactor ``mu`` on a fixed ``background``."""
    spec = {
        "channels": [
            {
                "name": "window",
                "samples": [
                    {
                        "name": "signal",
                        "data": np.asarray(signal, dtype=float).tolist(),
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {"name": "background", "data": np.asarray(background, dtype=float).tolist(), "modifiers": []},
                ],
            }
        ]
    }
    return pyhf.Model(spec, poi_name="mu", validate=True)


@contextlib.contextmanager
def _precise_numpy_backend() -> Iterator[None]:
    """Run pyhf on numpy with a tight minimiser tolerance, restoring the caller's backend afterwards."""
    tensorlib, optimizer = pyhf.get_backend()
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    try:
        yield
    finally:
        pyhf.set_backend(tensorlib, optimizer)


def pyhf_discovery(data: Any, background: Any, signal: Any, *, window: slice | None = None) -> DiscoveryResult:
    """Discovery test with pyhf of a signal template on a known background, optionally in a window of bins.

    ``data`` is a UHI histogram, ``(counts, edges)`` or an array of counts; ``background`` and ``signal`` are
    expected counts per bin (only the signal's shape matters: its normalisation is fitted). ``window`` selects
    the bins used (e.g. the signal position +- 2 sigma).

    >>> res = pyhf_discovery([130.0], [100.0], [10.0])
    >>> round(res.z, 3), round(res.signal_yield, 2)
    (2.866, 30.0)
    """
    if isinstance(data, (list, np.ndarray)):
        counts = np.atleast_1d(np.asarray(data, dtype=float))
    else:
        counts = as_binned(data).counts
    bkg = np.atleast_1d(np.asarray(background, dtype=float))
    sig = np.atleast_1d(np.asarray(signal, dtype=float))
    if window is not None:
        counts, bkg, sig = counts[window], bkg[window], sig[window]
    if not (counts.shape == bkg.shape == sig.shape) or counts.size == 0:
        raise InputError(
            f"pyhf_discovery: shapes differ or are empty: data {counts.shape}, "
            f"background {bkg.shape}, signal {sig.shape}"
        )
    if np.any(~np.isfinite(bkg)) or np.any(bkg <= 0):
        raise InputError("pyhf_discovery: the background must be finite and > 0 in every bin")
    if np.any(~np.isfinite(counts)) or np.any(counts < 0):
        raise InputError("pyhf_discovery: data must be finite and >= 0")
    if np.any(sig < 0) or sig.sum() <= 0:
        raise InputError("pyhf_discovery: the signal template must be non-negative with a positive sum")

    # conditioning: scale the template so that the fitted normalisation is of order of the significance
    unit = np.sqrt(counts.sum() + 1.0)
    sig_fit = sig * (unit / sig.sum())
    model = build_discovery_model(bkg, sig_fit)
    obs = np.concatenate([counts, np.asarray(model.config.auxdata, dtype=float)])
    poi = model.config.poi_index
    bounds = list(model.config.suggested_bounds())
    # mu may be negative (deficits) as long as every expectation stays positive; the upper bound must not bind
    lower = -np.min(bkg[sig_fit > 0] / sig_fit[sig_fit > 0]) * (1.0 - 1e-6)
    upper = 10.0 * (counts.sum() + 10.0 * unit) / unit
    bounds[poi] = (lower, upper)
    init = list(model.config.suggested_init())
    with _precise_numpy_backend():
        p0 = float(pyhf.infer.hypotest(0.0, obs, model, init_pars=init, par_bounds=bounds, test_stat="q0"))
        mu_fit = float(pyhf.infer.mle.fit(obs, model, init_pars=init, par_bounds=bounds)[poi])
    z = max(float(p_to_z(p0)), 0.0)
    signal_yield = float(mu_fit * unit)
    return DiscoveryResult(p0=p0, z=z, mu_hat=signal_yield / float(sig.sum()), signal_yield=signal_yield, model=model)
