"""The significance of an observed count against a known expectation: one definition for the project.

Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554: for a Poisson count ``n`` with known
expectation ``b`` the likelihood-ratio test statistic of the background-only hypothesis is

    q = 2 (n ln(n/b) - (n - b)),

and the signed significance is ``Z = sign(n - b) sqrt(q)``; at ``n = 0`` the limit ``n ln n -> 0`` gives
``Z = -sqrt(2 b)``. The Asimov significance of a signal ``s`` on ``b`` is the same formula at ``n = s + b``.
Both work on numpy arrays, Python numbers and torch tensors (the BumpNet training target is built from it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as _sps

from hepbump.errors import InputError

__all__ = ["lr_significance", "asimov_significance", "z_from_q0", "z_to_p", "p_to_z"]


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _check(n: Any, b: Any, xp: Any) -> None:
    if _is_torch(n) or _is_torch(b):
        import torch

        n_t = torch.as_tensor(n)
        b_t = torch.as_tensor(b)
        if bool(torch.isnan(n_t).any()) or bool(torch.isnan(b_t).any()):
            raise InputError("lr_significance: NaN in n or b")
        if bool((b_t <= 0).any()) or not bool(torch.isfinite(b_t).all()):
            raise InputError("lr_significance: the expectation b must be finite and > 0")
        if bool((n_t < 0).any()) or not bool(torch.isfinite(n_t).all()):
            raise InputError("lr_significance: the observed count n must be finite and >= 0")
        return
    n_a = np.asarray(n, dtype=float)
    b_a = np.asarray(b, dtype=float)
    if np.isnan(n_a).any() or np.isnan(b_a).any():
        raise InputError("lr_significance: NaN in n or b")
    if (b_a <= 0).any() or not np.isfinite(b_a).all():
        bad = np.flatnonzero(~((b_a > 0) & np.isfinite(b_a)).ravel())[:5]
        raise InputError(f"lr_significance: the expectation b must be finite and > 0 (bad entries at {bad.tolist()})")
    if (n_a < 0).any() or not np.isfinite(n_a).all():
        bad = np.flatnonzero(~((n_a >= 0) & np.isfinite(n_a)).ravel())[:5]
        raise InputError(
            f"lr_significance: the observed count n must be finite and >= 0 (bad entries at {bad.tolist()})"
        )


def lr_significance(n: Any, b: Any) -> Any:
    """Signed likelihood-ratio significance of observed ``n`` against known expectation ``b``.

    ``Z = sign(n - b) * sqrt(2 (n ln(n/b) - (n - b)))`` elementwise, with ``Z = -sqrt(2 b)`` at ``n = 0``.
    Returns a numpy array (a float for scalar input) or a torch tensor for tensor input.

    >>> round(float(lr_significance(130, 100)), 4)
    2.8661
    >>> round(float(lr_significance(0, 2.0)), 4)
    -2.0
    >>> lr_significance([100, 50], [100, 100]).round(3).tolist()
    [0.0, -5.539]
    """
    if _is_torch(n) or _is_torch(b):
        import torch

        _check(n, b, torch)
        ref = n if _is_torch(n) else b
        dtype = ref.dtype if ref.dtype.is_floating_point else torch.get_default_dtype()
        n_t = torch.as_tensor(n, dtype=dtype, device=ref.device)
        b_t = torch.as_tensor(b, dtype=dtype, device=ref.device)
        safe_n = torch.where(n_t > 0, n_t, torch.ones_like(n_t))
        n_log = torch.where(n_t > 0, n_t * (torch.log(safe_n) - torch.log(b_t)), torch.zeros_like(n_t))
        q = torch.clamp(2.0 * (n_log - (n_t - b_t)), min=0.0)
        return torch.sign(n_t - b_t) * torch.sqrt(q)

    _check(n, b, np)
    n_a = np.asarray(n, dtype=float)
    b_a = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        # ln n - ln b (not ln(n/b)): n/b can underflow to 0 for tiny n
        n_log = np.where(n_a > 0, n_a * (np.log(np.where(n_a > 0, n_a, 1.0)) - np.log(b_a)), 0.0)
    q = np.clip(2.0 * (n_log - (n_a - b_a)), 0.0, None)
    z = np.sign(n_a - b_a) * np.sqrt(q)
    return float(z) if z.ndim == 0 else z


def asimov_significance(s: Any, b: Any) -> Any:
    """Median discovery significance of signal ``s`` on known background ``b`` (Asimov data ``n = s + b``).

    ``Z_A = sqrt(2 ((s + b) ln(1 + s/b) - s))``, signed by ``s``; requires ``s + b >= 0``.

    >>> round(asimov_significance(10.0, 100.0), 4)
    0.984
    """
    if _is_torch(s) or _is_torch(b):
        return lr_significance(s + b, b)
    s_a = np.asarray(s, dtype=float)
    b_a = np.asarray(b, dtype=float)
    if np.isnan(s_a).any():
        raise InputError("asimov_significance: NaN in s")
    if ((s_a + b_a) < 0).any():
        raise InputError("asimov_significance: s + b must be >= 0")
    return lr_significance(s_a + b_a, b_a)


def z_from_q0(q0: Any, sign: Any = 1.0) -> Any:
    """Signed significance from a discovery test statistic ``q0 = -2 ln lambda(0) >= 0`` (Wilks)."""
    q = np.clip(np.asarray(q0, dtype=float), 0.0, None)
    z = np.sign(np.asarray(sign, dtype=float)) * np.sqrt(q)
    return float(z) if z.ndim == 0 else z


def z_to_p(z: Any) -> Any:
    """One-sided p-value of a significance: ``p = 1 - Phi(z)``.

    >>> round(z_to_p(5.0) * 1e7, 3)
    2.867
    """
    p = _sps.norm.sf(np.asarray(z, dtype=float))
    return float(p) if np.ndim(p) == 0 else p


def p_to_z(p: Any) -> Any:
    """Significance of a one-sided p-value: ``z = Phi^-1(1 - p)`` (accurate for tiny p)."""
    z = _sps.norm.isf(np.asarray(p, dtype=float))
    return float(z) if np.ndim(z) == 0 else z
