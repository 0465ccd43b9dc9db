"""Look-elsewhere effect of a BumpNet scan: the global significance of a histogram's largest predicted Z.

A scan reports ``Z_max``, the largest predicted significance over the scanned bins (the first ``exclude_first``
fraction of the bins, default 10%, is left out as in :func:`hepbump.bumpnet.scan.first_bin`:
``floor(exclude_first * n_bins)`` bins). Its *global* p-value is the probability, under the background-only
hypothesis, that the maximum over the scanned bins is at least as large:
``p_global = P(max_i Z_i >= Z_max | background)``. Two ways to compute it, both with Poisson toys of the
expected background ``b`` pushed through the network in batches (all toys have the same length, so a batch is
one ``(n_toys, n_bins)`` tensor without padding):

* **brute force** (:func:`toy_zmax`, :func:`global_p_bruteforce`): the fraction of toys whose maximum reaches
  ``Z_max``, with its binomial error ``sqrt(p (1 - p) / n_toys)``; ~10^4 toys for a p-value of ~1e-3.
* **Gross-Vitells** (:func:`gross_vitells`; E. Gross, O. Vitells, Eur. Phys. J. C 70 (2010) 525): ``max Z >= u``
  happens when the first scanned bin is above ``u`` or when the Z curve (as a function of the bin index over the
  scanned range) crosses ``u`` upwards, so

      p_global(u) <= P(Z_first > u) + E[N(u)]  ~=  p_local(u) + E[N(u0)] * R(u) / R(u0),

  with ``N(u)`` the number of upcrossings of level ``u``, counted in ~100 toys at a low reference level ``u0``
  (default 1.0, where there are several per toy) and extrapolated with the upcrossing rate ``R`` of a Gaussian
  field. ``p_local(u) = z_to_p(u)`` is the one-sided Gaussian tail: BumpNet's Z is the *signed* per-bin
  likelihood-ratio significance (:func:`hepbump.stats.lr_significance`), N(0, 1) under the background-only
  hypothesis by construction of the training target, so it is treated as a unit-variance Gaussian field (the
  signed square root of a chi2 with 1 dof), not as the two-sided chi2 of the original paper. The result is an
  upper bound, tight when ``p_global`` is small (two upcrossings in one toy are then rare), and clipped at 1.

  The rate ``R`` (``rate=``):

  * ``"continuous"``: the textbook ``R(u) = exp(-u^2 / 2)`` (Rice formula for a smooth field, i.e.
    ``E[N(u)] = E[N(u0)] exp(-(u^2 - u0^2) / 2)``), valid when the field is sampled finely compared with its
    correlation length.
  * ``"discrete"`` (default): the rate of upcrossings *between neighbouring bins* of a stationary Gaussian
    sequence with lag-1 correlation ``rho``: ``P(Z_{i-1} <= u < Z_i) = 2 T(u, sqrt((1 - rho) / (1 + rho)))``
    (``T`` is Owen's T function); ``rho`` is estimated from the same toys (:func:`lag1_correlation`). It tends
    to the continuous rate as ``rho -> 1`` and to ``Phi(u) (1 - Phi(u))`` for independent bins. BumpNet's
    target is independent from bin to bin (one Poisson count per bin), so its Z field is nearly white on the bin
    grid and the continuous rate overestimates ``p_global`` by a factor of ~``u / u0`` (for white noise:
    ``Phi(u) (1 - Phi(u)) / exp(-u^2 / 2)`` falls like ``1 / u``; ``benchmarks/bench_bumpnet_lee.py`` measures it).

  Assumptions: Gaussian marginals of unit variance in every scanned bin, stationary neighbour correlation, and
  ``z_obs`` above ``u0``. A network whose predicted Z is not ~N(0, 1) under the background-only hypothesis (one
  trained briefly: shrunk, shifted or wider in some bins) breaks the extrapolation, by factors of several; the
  shipped network is such a one in its tail (``benchmarks/README.md``).
  **Self-check**: the upcrossings of a second level ``check_level`` (default 2.0, still ~1 per toy) are counted
  in the same toys and compared with the extrapolation from ``u0``; ``check_pull`` is ``(observed - expected) /
  sigma``, and ``|check_pull| > 3`` logs a warning and makes the result not ``reliable``. The check detects a
  grossly miscalibrated network; passing it does not prove the network calibrated (the shipped network passes
  it while GV is several times off in its tail).
* **importance sampling** (:func:`hepbump.bumpnet.leecal.importance_sampling`, the default of
  :func:`global_significance`): ~270 probe toys fit each bin's response to a raised count, then ~1200 toys
  drawn with single bins (or a bin and a neighbour) raised, weighted by their Poisson likelihood ratio. Unbiased
  for any network, and far fewer toys than brute force for the same precision at high z.

:func:`global_significance` does the whole job for one observed histogram: ``Z_max`` from
:func:`~hepbump.bumpnet.predict.predict`, the background from :func:`hepbump.stats.smooth_background` (the
4th-order log-polynomial fit of the observed histogram itself), then importance sampling (default), GV, brute
force, or importance sampling with the brute-force fallback when it is not reliable (``method="auto"``). The
toys take the fitted background as the truth: the uncertainty of the fit is not propagated. Every function takes
``rng`` (a seed or a :class:`numpy.random.Generator`): the same seed gives the same toys whatever ``batch``
(their Z may differ in the last float32 digit, the network's sums being ordered by batch size).

>>> import numpy as np, torch
>>> from hepbump.bumpnet.model import BumpNet, ModelConfig
>>> net = BumpNet(ModelConfig(channels=4, kernel_sizes=(3, 9), layers_per_stack=2, mlp_hidden=(8,)))
>>> toy_zmax(net, np.full(50, 100.0), 7, rng=1).shape
(7,)
>>> global_p_bruteforce(2.0, np.array([1.0, 2.5, 3.0, 0.5]))
(0.5, 0.25)
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import owens_t

from hepbump.bumpnet.scan import first_bin
from hepbump.errors import InputError
from hepbump.stats import p_to_z, z_to_p

__all__ = [
    "DEFAULT_CHECK_LEVEL",
    "DEFAULT_PROBE_TOYS",
    "DEFAULT_REFERENCE_LEVEL",
    "GlobalSignificance",
    "count_upcrossings",
    "expected_upcrossings",
    "global_p_bruteforce",
    "global_significance",
    "gross_vitells",
    "gross_vitells_from_curves",
    "lag1_correlation",
    "toy_z",
    "toy_zmax",
]

log = logging.getLogger(__name__)

#: Default reference level ``u0`` of the upcrossing counts (~8 upcrossings per 90 scanned bins of BumpNet's Z).
DEFAULT_REFERENCE_LEVEL = 1.0
#: Default level of the self-check of the Gross-Vitells extrapolation.
DEFAULT_CHECK_LEVEL = 2.0
#: ``|check_pull|`` above which the Gross-Vitells result is flagged (``GlobalSignificance.reliable`` is False).
MAX_CHECK_PULL = 3.0
#: An importance-sampling result is reliable with at least this many sampling toys at or above ``z_obs`` ...
MIN_IS_ABOVE = 10
#: ... and a relative error of at most this.
MAX_IS_RELATIVE_ERROR = 0.5
#: Default number of toys of each method of :func:`global_significance` (``"auto"``: importance sampling, then
#: brute-force toys if it is not reliable). ``"is"`` runs ``DEFAULT_PROBE_TOYS`` probe toys on top.
DEFAULT_TOYS = {"is": 1200, "gv": 100, "toys": 10_000, "auto": 1200}
#: Default number of probe toys of the importance sampling (:mod:`hepbump.bumpnet.leecal`).
DEFAULT_PROBE_TOYS = 270
#: Toys per forward pass (bounds the memory of the network's activations).
DEFAULT_BATCH = 1024
_RATES = ("discrete", "continuous")
_RHO_MAX = 0.999


@dataclass(frozen=True)
class GlobalSignificance:
    """Global significance of an observed ``Z_max`` (``z_local``).

    ``p_local = z_to_p(z_local)`` (one-sided); ``p_global`` with its statistical ``error`` (binomial for
    ``method="toys"``; for ``"gv"`` the error of the mean upcrossing count at ``reference_level`` propagated
    through the extrapolation) and ``z_global = p_to_z(p_global)``. ``n_upcrossings_ref`` is the mean number of
    upcrossings of ``reference_level`` per toy over the scanned bins, and ``lag1_correlation`` the neighbour
    correlation of the toys' Z (NaN where unused: ``"toys"``, or ``"gv"`` with the continuous rate).
    ``check_pull`` compares the upcrossings of ``check_level`` in the toys with the extrapolation (``"gv"`` only;
    see the module docstring): ``reliable`` is False when ``|check_pull| > 3``. ``method="is"``
    (:mod:`hepbump.bumpnet.leecal`): ``error`` is the standard error of the weighted mean, ``n_probe`` the probe
    toys, the upcrossing fields are NaN. ``n_above``: toys with ``Z_max >= z_local`` (``"is"``: sampling toys;
    ``"toys"``: all; -1 for ``"gv"``).
    """

    z_local: float
    p_local: float
    p_global: float
    z_global: float
    error: float
    method: str
    n_toys: int
    reference_level: float
    n_upcrossings_ref: float
    n_upcrossings_ref_error: float
    lag1_correlation: float
    check_level: float = float("nan")
    check_pull: float = float("nan")
    n_probe: int = 0
    n_above: int = -1

    @property
    def reliable(self) -> bool:
        """False when GV's self-check failed (``|check_pull| > 3``) or an importance-sampling estimate is imprecise.

        ``"is"``: reliable when at least ``MIN_IS_ABOVE`` (10) sampling toys reach ``z_local`` and the relative
        error is at most ``MAX_IS_RELATIVE_ERROR`` (0.5). Brute-force toys are always reliable.
        """
        if self.method == "is":
            return bool(
                self.n_above >= MIN_IS_ABOVE
                and self.p_global > 0
                and self.error <= MAX_IS_RELATIVE_ERROR * self.p_global
            )
        return bool(np.isnan(self.check_pull) or abs(self.check_pull) <= MAX_CHECK_PULL)

    @property
    def trials_factor(self) -> float:
        """``p_global / p_local``."""
        return self.p_global / self.p_local if self.p_local > 0 else float("inf")


# --- checks ---------------------------------------------------------------------------------------------------------


def _generator(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and int(rng) >= 0:
        return np.random.default_rng(int(rng))
    raise InputError(f"rng must be a seed (int >= 0) or a numpy Generator, got {rng!r}")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _finite(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a finite number, got {value!r}") from None
    if not np.isfinite(x):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return x


def _first_bin(n_bins: int, exclude_first: float) -> int:
    """:func:`hepbump.bumpnet.scan.first_bin` of one histogram, keeping at least one bin to scan."""
    if isinstance(exclude_first, bool):
        raise InputError(f"exclude_first must be in [0, 1), got {exclude_first!r}")
    return min(int(first_bin(n_bins, exclude_first)), n_bins - 1)


def _background(background: Any) -> np.ndarray:
    b = np.asarray(background, dtype=float)
    if b.ndim != 1 or b.size == 0:
        raise InputError(f"the background must be a 1D array of expected counts, got shape {b.shape}")
    if not np.all(np.isfinite(b)) or np.any(b < 0):
        raise InputError("the expected background counts must be finite and >= 0")
    return b


def _rate(rate: str) -> str:
    if rate not in _RATES:
        raise InputError(f"rate must be one of {_RATES}, got {rate!r}")
    return rate


# --- toys -----------------------------------------------------------------------------------------------------------


def _iter_toy_z(model: Any, background: np.ndarray, n_toys: int, rng: np.random.Generator, batch: int) -> Iterator:
    """Z curves of Poisson toys of ``background``, ``batch`` toys at a time, shape ``(<= batch, n_bins)``.

    Toys are drawn row after row from ``rng``, so the toys do not depend on ``batch``.
    """
    import torch

    model.eval()
    with torch.inference_mode():
        for start in range(0, n_toys, batch):
            rows = min(batch, n_toys - start)
            counts = rng.poisson(background, size=(rows, background.size)).astype(np.float32)
            yield model(torch.from_numpy(counts)).numpy().astype(np.float64)


def toy_z(model: Any, background: Any, n_toys: int, *, rng: Any = 0, batch: int = DEFAULT_BATCH) -> np.ndarray:
    """Predicted Z of ``n_toys`` Poisson toys of the expected ``background``: shape ``(n_toys, n_bins)``."""
    b = _background(background)
    n_toys = _positive_int("n_toys", n_toys)
    batch = _positive_int("batch", batch)
    return np.concatenate(list(_iter_toy_z(model, b, n_toys, _generator(rng), batch)), axis=0)


def toy_zmax(
    model: Any,
    background: Any,
    n_toys: int,
    *,
    rng: Any = 0,
    exclude_first: float = 0.1,
    batch: int = DEFAULT_BATCH,
) -> np.ndarray:
    """``Z_max`` over the scanned bins of ``n_toys`` Poisson toys of ``background``: shape ``(n_toys,)``.

    The toys are those of :func:`toy_z` with the same ``rng``.
    """
    b = _background(background)
    n_toys = _positive_int("n_toys", n_toys)
    batch = _positive_int("batch", batch)
    first = _first_bin(b.size, exclude_first)
    chunks = [z[:, first:].max(axis=1) for z in _iter_toy_z(model, b, n_toys, _generator(rng), batch)]
    return np.concatenate(chunks)


def global_p_bruteforce(z_obs: Any, zmax_toys: Any) -> tuple[Any, Any]:
    """``(p, error)``: the fraction of toys with ``Z_max >= z_obs`` and its binomial error ``sqrt(p(1-p)/n)``.

    ``z_obs`` may be an array (then so are ``p`` and ``error``). With no toy above ``z_obs``, ``p = 0`` and
    ``error = 0``: read ``3 / n_toys`` as the 95% CL upper limit.

    >>> global_p_bruteforce([0.0, 2.0], np.arange(5.0))
    (array([1. , 0.6]), array([0.        , 0.21908902]))
    """
    zmax = np.asarray(zmax_toys, dtype=float)
    if zmax.ndim != 1 or zmax.size == 0:
        raise InputError(f"zmax_toys must be a non-empty 1D array, got shape {zmax.shape}")
    if np.isnan(zmax).any():
        raise InputError("zmax_toys contains NaN")
    z = np.asarray(z_obs, dtype=float)
    if not np.all(np.isfinite(z)):
        raise InputError(f"z_obs must be finite, got {z_obs!r}")
    p = np.mean(zmax[None, :] >= z.reshape(-1, 1), axis=1).reshape(z.shape)
    err = np.sqrt(p * (1.0 - p) / zmax.size)
    if z.ndim == 0:
        return float(p), float(err)
    return p, err


# --- Gross-Vitells --------------------------------------------------------------------------------------------------


def count_upcrossings(z: Any, level: float, *, first: int = 0) -> Any:
    """Upcrossings of ``level`` by each Z curve (last axis) from bin ``first`` on: ``z[i-1] <= level < z[i]``.

    An int for one curve, an int array for a ``(n_curves, n_bins)`` array.

    >>> count_upcrossings([0.0, 2.0, 0.0, 3.0, 3.0], 1.0), count_upcrossings([0.0, 2.0, 0.0, 3.0], 1.0, first=1)
    (2, 1)
    """
    a = np.asarray(z, dtype=float)
    if a.ndim not in (1, 2):
        raise InputError(f"Z curves must be 1D or 2D (n_curves, n_bins), got shape {a.shape}")
    level = _finite("level", level)
    s = a[..., first:]
    n = np.sum((s[..., :-1] <= level) & (s[..., 1:] > level), axis=-1)
    return int(n) if a.ndim == 1 else n


def lag1_correlation(z_curves: Any) -> float:
    """Correlation of neighbouring bins of toy Z curves ``(n_toys, n_bins)``, each bin standardised over the toys.

    Bins with no spread over the toys are left out; 0 when no pair of bins is left. Clipped to +-0.999.
    """
    a = np.asarray(z_curves, dtype=float)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 2:
        raise InputError(f"lag1_correlation needs at least 2 toys of at least 2 bins, got shape {a.shape}")
    sd = a.std(axis=0)
    ok = sd > 0
    d = np.where(ok, (a - a.mean(axis=0)) / np.where(ok, sd, 1.0), 0.0)
    pairs = ok[:-1] & ok[1:]
    if not pairs.any():
        return 0.0
    rho = float(np.mean((d[:, :-1] * d[:, 1:])[:, pairs]))
    return float(np.clip(rho, -_RHO_MAX, _RHO_MAX))


def _shape(u: np.ndarray, rho: float, rate: str) -> np.ndarray:
    """Upcrossing rate of level ``u`` up to a constant (see the module docstring)."""
    if rate == "continuous":
        return np.exp(-0.5 * u**2)
    a = np.sqrt((1.0 - rho) / (1.0 + rho))
    return 2.0 * owens_t(u, a)


def expected_upcrossings(
    u: Any, n_ref: float, reference_level: float, *, rho: float = 0.0, rate: str = "discrete"
) -> Any:
    """``E[N(u)] = n_ref R(u) / R(u0)``: upcrossings of ``u`` extrapolated from ``n_ref`` at ``u0``.

    >>> round(expected_upcrossings(3.0, 10.0, 1.0, rate="continuous"), 6)  # 10 exp(-(9 - 1) / 2)
    0.183156
    """
    rate = _rate(rate)
    u0 = _finite("reference_level", reference_level)
    rho = float(np.clip(_finite("rho", rho), -_RHO_MAX, _RHO_MAX))
    uu = np.asarray(u, dtype=float)
    ref = _shape(np.asarray(u0), rho, rate)
    out = float(n_ref) * _shape(uu, rho, rate) / ref
    return float(out) if out.ndim == 0 else out


def gross_vitells_from_curves(
    z_curves: Any,
    z_obs: float,
    *,
    reference_level: float = DEFAULT_REFERENCE_LEVEL,
    exclude_first: float = 0.1,
    rate: str = "discrete",
    check_level: float = DEFAULT_CHECK_LEVEL,
) -> GlobalSignificance:
    """The Gross-Vitells global significance of ``z_obs`` from background-only Z curves ``(n_toys, n_bins)``."""
    a = np.asarray(z_curves, dtype=float)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise InputError(f"Z curves must be an array (n_toys >= 2, n_bins), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError("the Z curves must be finite")
    u = _finite("z_obs", z_obs)
    u0 = _finite("reference_level", reference_level)
    u1 = _finite("check_level", check_level)
    rate = _rate(rate)
    scanned = a[:, _first_bin(a.shape[1], exclude_first) :]
    counts = count_upcrossings(scanned, u0)
    n_ref = float(counts.mean())
    n_ref_err = float(counts.std(ddof=1) / np.sqrt(counts.size))
    if n_ref == 0:
        raise InputError(
            f"no upcrossing of the reference level {u0:g} in {counts.size} toys: lower reference_level "
            "(it should sit where the Z curves cross it several times per toy) or use more toys"
        )
    if u < u0:
        log.info("z_obs = %g is below the reference level %g: the Gross-Vitells bound is loose there", u, u0)
    rho = lag1_correlation(scanned) if rate == "discrete" and scanned.shape[1] > 1 else float("nan")
    rho_used = 0.0 if np.isnan(rho) else rho  # (ignored by the continuous rate)
    ratio = expected_upcrossings(u, 1.0, u0, rho=rho_used, rate=rate)
    # self-check: the upcrossings of u1 in the same toys against the extrapolation from u0
    observed1 = int(count_upcrossings(scanned, u1).sum())
    expected1 = counts.size * expected_upcrossings(u1, n_ref, u0, rho=rho_used, rate=rate)
    sigma1 = np.sqrt(expected1 + (expected1 * n_ref_err / n_ref) ** 2)
    pull = float((observed1 - expected1) / sigma1) if sigma1 > 0 else float("nan")
    if abs(pull) > MAX_CHECK_PULL:
        log.warning(
            "Gross-Vitells self-check failed: %d upcrossings of %g in the toys, %.1f extrapolated from %g (pull "
            "%+.1f): the network's Z is not a unit-variance Gaussian field under the background-only hypothesis; "
            "use brute-force toys",
            observed1,
            u1,
            expected1,
            u0,
            pull,
        )
    p_local = z_to_p(u)
    p_global = min(1.0, p_local + n_ref * ratio)
    return GlobalSignificance(
        z_local=u,
        p_local=p_local,
        p_global=p_global,
        z_global=p_to_z(p_global),
        error=n_ref_err * ratio,
        method="gv",
        n_toys=int(counts.size),
        reference_level=u0,
        n_upcrossings_ref=n_ref,
        n_upcrossings_ref_error=n_ref_err,
        lag1_correlation=rho,
        check_level=u1,
        check_pull=pull,
    )


def gross_vitells(
    model: Any,
    background: Any,
    z_obs: float,
    *,
    n_toys: int = DEFAULT_TOYS["gv"],
    reference_level: float = DEFAULT_REFERENCE_LEVEL,
    rng: Any = 0,
    exclude_first: float = 0.1,
    rate: str = "discrete",
    check_level: float = DEFAULT_CHECK_LEVEL,
    batch: int = DEFAULT_BATCH,
) -> GlobalSignificance:
    """Gross-Vitells global significance of ``z_obs`` from ``n_toys`` toys of ``background`` through ``model``.

    See the module docstring for the method and its assumptions.
    """
    _finite("z_obs", z_obs)
    _finite("reference_level", reference_level)
    _rate(rate)
    n_toys = _positive_int("n_toys", n_toys)
    if n_toys < 2:
        raise InputError("the Gross-Vitells method needs at least 2 toys")
    b = _background(background)
    _first_bin(b.size, exclude_first)
    curves = toy_z(model, b, n_toys, rng=rng, batch=batch)
    return gross_vitells_from_curves(
        curves, z_obs, reference_level=reference_level, exclude_first=exclude_first, rate=rate, check_level=check_level
    )


# --- one observed histogram -----------------------------------------------------------------------------------------


def _observed(histogram: Any) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges of the observed histogram; a plain array of counts gets unit bins."""
    from hepbump.histogram import as_binned

    if isinstance(histogram, (np.ndarray, list)) and np.ndim(histogram) == 1:
        counts = np.asarray(histogram, dtype=float)
        edges = np.arange(counts.size + 1, dtype=float)
    else:
        b = as_binned(histogram)
        counts, edges = np.asarray(b.counts, dtype=float), np.asarray(b.edges, dtype=float)
    if counts.ndim != 1 or counts.size == 0:
        raise InputError(f"a histogram needs a 1D array of at least one bin, got shape {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise InputError("histogram counts must be finite and >= 0")
    return counts, edges


def _bruteforce_result(
    model: Any,
    background: np.ndarray,
    z_obs: float,
    n_toys: int,
    gen: np.random.Generator,
    batch: int,
    first: int,
    u0: float,
) -> GlobalSignificance:
    zmax, ups = [], []
    for z in _iter_toy_z(model, background, n_toys, gen, batch):
        zmax.append(z[:, first:].max(axis=1))
        ups.append(count_upcrossings(z[:, first:], u0))
    zmax_all = np.concatenate(zmax)
    p, err = global_p_bruteforce(z_obs, zmax_all)
    n_up = np.concatenate(ups)
    return GlobalSignificance(
        z_local=z_obs,
        p_local=z_to_p(z_obs),
        p_global=p,
        z_global=p_to_z(p),
        error=err,
        method="toys",
        n_toys=n_toys,
        reference_level=u0,
        n_upcrossings_ref=float(n_up.mean()),
        n_upcrossings_ref_error=float(n_up.std(ddof=1) / np.sqrt(n_up.size)) if n_up.size > 1 else float("nan"),
        lag1_correlation=float("nan"),
        n_above=int(np.sum(zmax_all >= z_obs)),
    )


def global_significance(
    model: Any,
    histogram: Any,
    *,
    method: str = "is",
    n_toys: int | None = None,
    n_probe: int = DEFAULT_PROBE_TOYS,
    reference_level: float = DEFAULT_REFERENCE_LEVEL,
    rng: Any = 0,
    exclude_first: float = 0.1,
    rate: str = "discrete",
    check_level: float = DEFAULT_CHECK_LEVEL,
    fallback_toys: int = DEFAULT_TOYS["toys"],
    batch: int | None = None,
    order: int = 4,
) -> GlobalSignificance:
    """Global significance of the largest predicted Z of one observed histogram.

    ``histogram`` is any UHI histogram, ``(counts, edges)`` or an array of counts (unit bins). Its background is
    the :func:`~hepbump.stats.smooth_background` fit (degree ``order``) of the histogram itself; ``method`` is

    * ``"is"`` (default): importance sampling, :func:`hepbump.bumpnet.leecal.importance_sampling` (``n_probe``
      probe toys + default 1200 weighted toys); unbiased for any network, calibrated or not;
    * ``"gv"``: :func:`gross_vitells` (default 100 toys); fastest, but only right for a network whose Z is a
      unit Gaussian field under the background-only hypothesis (the shipped network's is not in its tail);
    * ``"toys"``: brute force (default 10^4 toys; the upcrossings of ``reference_level`` are counted in the same
      toys and reported too);
    * ``"auto"``: ``"is"``, then ``fallback_toys`` brute-force toys when it is not
      :attr:`~GlobalSignificance.reliable` (fewer than 10 weighted toys above ``Z_max`` or a relative error
      above 0.5).

    ``batch``: toys per forward pass (default 1024; 2048 for importance sampling, whose 1200 toys then go in one).
    """
    from hepbump.bumpnet.predict import predict
    from hepbump.stats import smooth_background

    if method not in DEFAULT_TOYS:
        raise InputError(f"method must be one of {tuple(DEFAULT_TOYS)}, got {method!r}")
    n_toys = DEFAULT_TOYS[method] if n_toys is None else _positive_int("n_toys", n_toys)
    n_probe = _positive_int("n_probe", n_probe)
    fallback_toys = _positive_int("fallback_toys", fallback_toys)
    u0 = _finite("reference_level", reference_level)
    _finite("check_level", check_level)
    _rate(rate)
    toy_batch = DEFAULT_BATCH if batch is None else _positive_int("batch", batch)
    gen = _generator(rng)
    counts, edges = _observed(histogram)
    first = _first_bin(counts.size, exclude_first)
    z_obs = float(np.max(predict(model, counts)[first:]))
    background = _background(smooth_background((counts, edges), order=order).expected)
    if method == "toys":
        return _bruteforce_result(model, background, z_obs, n_toys, gen, toy_batch, first, u0)
    if method == "gv":
        return gross_vitells(
            model,
            background,
            z_obs,
            n_toys=n_toys,
            reference_level=u0,
            rng=gen,
            exclude_first=exclude_first,
            rate=rate,
            check_level=check_level,
            batch=toy_batch,
        )
    from hepbump.bumpnet.leecal import DEFAULT_IS_BATCH, importance_sampling

    is_batch = DEFAULT_IS_BATCH if batch is None else toy_batch
    result = importance_sampling(
        model, background, z_obs, n_toys=n_toys, n_probe=n_probe, rng=gen, exclude_first=exclude_first, batch=is_batch
    )
    if method == "auto" and not result.reliable:
        log.warning(
            "importance sampling not reliable (%d toys above, relative error %.2g): falling back to %d "
            "brute-force toys",
            result.n_above,
            result.error / result.p_global if result.p_global > 0 else float("inf"),
            fallback_toys,
        )
        return _bruteforce_result(model, background, z_obs, fallback_toys, gen, toy_batch, first, u0)
    return result
