"""Anchor [SESS2019] (exact): univariate 2-layer ReLU: min norm = max(int|f''|, |f'(-inf)+f'(inf)|).

Savarese, Evron, Soudry & Srebro (COLT 2019): with free biases, the minimal
``sum_j (w_j^2 + v_j^2) / 2`` over infinitely wide networks ``x -> sum_j v_j relu(w_j x +
b_j) + c`` representing ``f : R -> R`` is ``max(int |f''|, |f'(-inf) + f'(+inf)|)``.  On
finite data sorted by ``x`` with chord slopes ``s_1, ..., s_{N-1}``, every interpolant
has ``int |f''| >= T + |s_1 - a| + |b - s_{N-1}|`` with ``T = sum_k |s_{k+1} - s_k|`` and
end slopes ``a = f'(-inf)``, ``b = f'(inf)`` (the mean value theorem puts ``f' = s_k``
somewhere in every interval), with equality for the linear spline; moving the end slopes
by a total ``delta`` costs ``delta`` and lowers ``|a + b|`` by at most ``delta``, so the
minimum over interpolants is ``max(T, (T + u)/2)`` with ``u = |s_1 + s_{N-1}|``, and the
minimal parameter norm (sum of squares) is twice that.

Rows: for random univariate data sets, :func:`cbntheory.convex.two_layer_min_norm`
(1-pixel signals, average-pool head, free biases, every pattern enumerated) against
``2 max(T, (T + u)/2)`` computed here, and its network reproducing the data.

Run ``python proofs_checks/anchor_sess2019.py [--full]`` for the table.
"""
from __future__ import annotations

import numpy as np

from .. import settings
from ..nets.architecture import Architecture
from ..results import relative_residual
from .verdicts import EXACT, CheckReport, compare_equal, compare_leq, summarize


def savarese_value(x: np.ndarray, y: np.ndarray) -> float:
    """``2 max(T, (T + |s_1 + s_{N-1}|) / 2)`` for univariate data (any order, N >= 2).

    Examples
    --------
    >>> savarese_value(np.array([-1.0, 0.0, 1.0]), np.array([1.0, 0.0, 1.0]))
    4.0
    """
    order = np.argsort(x)
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    s = np.diff(ys) / np.diff(xs)
    T = float(np.sum(np.abs(np.diff(s))))
    u = float(abs(s[0] + s[-1]))
    return 2.0 * max(T, (T + u) / 2.0)


def main(quick: bool = True) -> CheckReport:
    """Compare the convex program with the Savarese formula on random univariate data."""
    from ..solvers.convex.program import two_layer_min_norm

    rng = np.random.default_rng(2019)
    arch = Architecture((1,), (1, 2, 1), head="avgpool", penalize_bias=False)
    rows = []
    sizes = (2, 3, 4, 5) if quick else (2, 3, 4, 5, 6, 8, 10)
    for N in sizes:
        for rep in range(2 if quick else 4):
            x = np.sort(rng.uniform(-2.0, 2.0, N))
            y = rng.standard_normal(N)
            if rep == 1:
                y = 1.5 * x + 0.2 * rng.standard_normal(N)     # nearly linear: |a+b| dominates
            X, Y = x.reshape(N, 1, 1), y.reshape(N, 1)
            res = two_layer_min_norm(arch, X, Y)
            case = f"N={N} #{rep}"
            rows.append(compare_equal(f"{case}: convex min-norm = 2 max(T, (T+u)/2)",
                                      res.value, savarese_value(x, y),
                                      rtol=settings.OBJECTIVE_RTOL, exact=bool(res.exact),
                                      status=res.status))
            resid = relative_residual(res.network(X), Y)
            rows.append(compare_leq(f"{case}: the network reproduces the data", resid,
                                    settings.FIT_RTOL, rtol=0.0))
    return summarize(
        "SESS2019", "univariate two-layer ReLU, free biases: min norm = "
        "2 max(int|f''|, |f'(-inf) + f'(inf)|) minimised over interpolants", EXACT, rows,
        message="cbn.convex.two_layer_min_norm (all patterns) against the closed form "
                f"2 max(T, (T + |s_1 + s_last|)/2) from the chord slopes; rtol "
                f"{settings.OBJECTIVE_RTOL:g}")
