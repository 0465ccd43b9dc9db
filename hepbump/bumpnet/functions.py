"""The eleven smoothly-falling background families of BumpNet (paper eq. 2.1) and the stretching step (Fig. 2b).

Every family is fixed by two anchor points ``(x1, y1)``, ``(x2, y2)`` with ``x1 < x2`` and ``y1 > y2 > 0``: the
parameters ``a`` and ``b`` of eq. 2.1 are solved so that the curve passes through both anchors. Written with
``u = (x - x1) / (x2 - x1)`` and ``dy = y1 - y2``:

====  =========================  ==============================================================================
k     eq. 2.1                    through the anchors
====  =========================  ==============================================================================
0     ``b exp(-a x)``            ``y1 (y2/y1)**u``
1     ``a x + b``                ``y1 - dy u``
2-5   ``1/(a x**k) + b``         ``y2 + dy ((x1/x)**k - (x1/x2)**k) / (1 - (x1/x2)**k)``, k = 1, 2, 3, 4
6     ``a (x - x2)**2 + y2``     ``y2 + dy (1 - u)**2``
7     ``-a ln x + b``            ``y1 - dy ln(x/x1) / ln(x2/x1)``
8     ``dy cos(a(x - b)) + y2``  ``y2 + dy cos(pi u / 2)`` (``b = x1``, quarter period over the range)
9     ``cosh(a(x - x2)) + b``    ``y2 - 1 + cosh(a (x - x2))``, ``a = arccosh(dy + 1) / (x2 - x1)``
10    ``1/(a x**n) + b``         as 2-5 with a power ``n`` drawn in [0.01, 10]
====  =========================  ==============================================================================

All eleven decrease monotonically from ``y1`` to ``y2`` on ``[x1, x2]``, so they stay >= ``y2 > 0`` there.

**Stretching** (paper section 2.2.1, Fig. 2b). Two inner anchors ``x1 < xi < xj < x2``, ``y1 > yi > yj > y2`` are
drawn; the family is solved through ``(xi, yi)``, ``(xj, yj)``, and its piece on ``[xi, xj]`` is stretched
linearly in ``x`` onto ``[x1, x2]`` and linearly in ``y`` onto ``[y2, y1]``. The stretched curve passes through
the outer anchors and keeps the monotonic decrease (both maps are increasing and affine). For the families that
are affine in ``y`` the inner ``y`` values drop out and only ``xi``, ``xj`` change the shape (e.g. the effective
``x2/x1`` ratio of the power laws and the logarithm); linear, parabola and cosine are invariant under stretching.

All functions work on whole batches: arrays of shape ``(batch, n_points)`` for ``x`` and ``(batch,)`` for the
anchors and parameters.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FAMILIES", "N_FAMILIES", "draw_inner_anchors", "family_curves", "stretched_curves"]

#: Names of the eleven families of eq. 2.1, in the order of their index.
FAMILIES = ("exp", "linear", "inv1", "inv2", "inv3", "inv4", "parabola", "log", "cos", "cosh", "inv_n")
N_FAMILIES = len(FAMILIES)
_INV_POWERS = {2: 1.0, 3: 2.0, 4: 3.0, 5: 4.0}


def _power(x, x1, x2, y1, y2, k):
    r = (x1 / x2) ** k
    return y2 + (y1 - y2) * ((x1 / x) ** k - r) / (1.0 - r)


def _one_family(k: int, x, x1, x2, y1, y2, power):
    u = (x - x1) / (x2 - x1)
    dy = y1 - y2
    if k == 0:
        return y1 * np.exp(u * np.log(y2 / y1))
    if k == 1:
        return y1 - dy * u
    if k in _INV_POWERS:
        return _power(x, x1, x2, y1, y2, _INV_POWERS[k])
    if k == 6:
        return y2 + dy * (1.0 - u) ** 2
    if k == 7:
        return y1 - dy * np.log(x / x1) / np.log(x2 / x1)
    if k == 8:
        return y2 + dy * np.cos(0.5 * np.pi * u)
    if k == 9:
        a = np.arccosh(dy + 1.0) / (x2 - x1)
        return y2 - 1.0 + np.cosh(a * (x - x2))
    if k == 10:
        return _power(x, x1, x2, y1, y2, power)
    raise ValueError(f"unknown background family index {k}; there are {N_FAMILIES}")


def family_curves(family, x, x1, x2, y1, y2, power=None) -> np.ndarray:
    """Evaluate family ``family[i]`` through ``(x1[i], y1[i])``, ``(x2[i], y2[i])`` at ``x[i, :]`` (GeV).

    ``power`` (shape ``(batch,)``) is the exponent ``n`` of family 10 (ignored by the others; default 1).
    Needs ``x1 < x2`` and ``y1 > y2 > 0``. Returns an array of the shape of ``x``.

    >>> x = np.array([[10.0, 55.0, 100.0]])
    >>> one = np.ones(1)
    >>> [family_curves(np.array([k]), x, 10 * one, 100 * one, 50 * one, 5 * one)[0, [0, 2]].round(9).tolist()
    ...  for k in (0, 7, 9)]
    [[50.0, 5.0], [50.0, 5.0], [50.0, 5.0]]
    """
    family = np.asarray(family)
    x = np.asarray(x, dtype=float)
    x1, x2, y1, y2 = (np.asarray(v, dtype=float) for v in (x1, x2, y1, y2))
    power = np.ones(family.shape) if power is None else np.asarray(power, dtype=float)
    if np.any(x2 <= x1) or np.any(y1 <= y2) or np.any(y2 <= 0):
        raise ValueError("family_curves: anchors need x1 < x2 and y1 > y2 > 0")
    out = np.empty_like(x)
    for k in np.unique(family):  # a loop over the eleven families, each evaluated on its whole sub-batch
        sel = family == k
        col = (x1[sel, None], x2[sel, None], y1[sel, None], y2[sel, None])
        out[sel] = _one_family(int(k), x[sel], *col, power[sel, None])
    return out


def draw_inner_anchors(rng: np.random.Generator, x1, x2, y1, y2):
    """Inner anchors for stretching: ``x1 < xi < xj < x2`` and ``y1 > yi > yj > y2``, uniform and sorted.

    The draws are kept 1% of the range away from the outer anchors and from each other so that the inner
    curve is never degenerate.

    >>> xi, xj, yi, yj = draw_inner_anchors(np.random.default_rng(0), np.array([10.0]), np.array([90.0]),
    ...                                     np.array([9.0]), np.array([1.0]))
    >>> bool(10 < xi[0] < xj[0] < 90 and 9 > yi[0] > yj[0] > 1)
    True
    """
    x1, x2, y1, y2 = (np.asarray(v, dtype=float) for v in (x1, x2, y1, y2))
    n = x1.shape[0]
    ux = np.sort(rng.uniform(0.01, 0.99, size=(n, 2)), axis=1)
    ux[:, 1] = np.maximum(ux[:, 1], ux[:, 0] + 0.01)
    uy = np.sort(rng.uniform(0.01, 0.99, size=(n, 2)), axis=1)
    uy[:, 1] = np.maximum(uy[:, 1], uy[:, 0] + 0.01)
    xi, xj = x1 + (x2 - x1) * ux[:, 0], x1 + (x2 - x1) * ux[:, 1]
    yi, yj = y1 - (y1 - y2) * uy[:, 0], y1 - (y1 - y2) * uy[:, 1]
    return xi, xj, yi, yj


def stretched_curves(family, x, x1, x2, y1, y2, xi, xj, yi, yj, power=None) -> np.ndarray:
    """Stretch the piece on ``[xi, xj]`` of the family through the inner anchors onto ``[x1, x2] x [y2, y1]``.

    The result passes through ``(x1, y1)`` and ``(x2, y2)`` and decreases monotonically between them.

    >>> one = np.ones(1)
    >>> x = np.linspace(10.0, 100.0, 5)[None, :]
    >>> y = stretched_curves(np.array([7]), x, 10 * one, 100 * one, 50 * one, 5 * one,
    ...                      30 * one, 40 * one, 20 * one, 10 * one)
    >>> y[0, [0, -1]].round(12).tolist(), bool(np.all(np.diff(y) < 0))
    ([50.0, 5.0], True)
    """
    x = np.asarray(x, dtype=float)
    x1, x2, y1, y2, xi, xj, yi, yj = (np.asarray(v, dtype=float)[:, None] for v in (x1, x2, y1, y2, xi, xj, yi, yj))
    x_inner = xi + (x - x1) * (xj - xi) / (x2 - x1)
    inner = family_curves(family, x_inner, xi[:, 0], xj[:, 0], yi[:, 0], yj[:, 0], power)
    return y2 + (y1 - y2) * (inner - yj) / (yi - yj)
