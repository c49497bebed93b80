"""T4 (conjectural): ``R(f; L) - L R0`` against the Jacobian bound on ``R1``, for growing L.

T4 says that ``R1`` controls regularity: it is bounded below by the log
pseudo-determinant of the Jacobian (T2: ``R1 >= (2/(d c^2)) log|Jf(x)|_+`` where the
rank is ``R0``), with equality for linear maps (T1).  Rows, for growing ``L``:

* linear targets (exact values from T1, singular values from the dense matrix here):
  ``R - L R0 >= R1 = 2 sum log s_i`` (from ``e^t >= 1 + t``), and
  ``|R - L R0 - R1 - R2/L| <= L sum_i (e^{a_i} - 1 - a_i - a_i^2/2)``,
  ``a_i = 2 |log s_i| / L`` (the exponential series' tail), so the expansion is
  checked to ``O(1/L^2)``; then the claim row: the exact ``R - L R0`` against
  ``[2 log|A|_+, inf)``;
* ``invariant_pool`` (finite data, ``R0 = 1`` certified by the sandwich): the certified
  interval of ``R - L`` (Lipschitz bound below, construction and solver above) against
  the finite-data form of the Jacobian bound, ``log(gamma Lambda^2)``; the whole-space
  bound ``log(kappa max_i ||grad f(x_i)||^2)`` is reported next to it (on finite data a
  network need not follow the gradient, so it is evidence, not a claim).

Run ``python proofs_checks/t4_regularity.py [--full]`` for the table.
"""
from __future__ import annotations

import numpy as np

from .. import settings, targets
from ..theory.linear import linear_cost
from ..theory.lipschitz import lipschitz_lower_bound
from ._measure import data_of, interval, operator_of
from .verdicts import CONJECTURAL, CheckReport, compare_leq, interval_row, summarize


def _dense_singular_values(t) -> np.ndarray:
    s = np.linalg.svd(operator_of(t).to_matrix(), compute_uv=False)
    return s[s > s.max() * max(s.size, 1) * np.finfo(float).eps * 10]


def _linear_rows(name: str, depths: tuple[int, ...]) -> list[dict]:
    t = targets.get(name)
    s = _dense_singular_values(t)
    r0, r1, r2 = float(s.size), float(2 * np.sum(np.log(s))), float(2 * np.sum(np.log(s) ** 2))
    rows = []
    for L in depths:
        R = float(linear_cost(operator_of(t), L).value)
        excess = R - L * r0
        a = 2 * np.abs(np.log(s)) / L
        tail = float(L * np.sum(np.exp(a) - 1 - a - a ** 2 / 2))
        rows.append(compare_leq(f"{name} L={L}: R1 <= R - L R0", r1, excess, depth=L))
        rows.append(compare_leq(f"{name} L={L}: |R - L R0 - R1 - R2/L| <= series tail",
                                abs(excess - r1 - r2 / L), tail, depth=L))
        rows.append(interval_row(f"{name} L={L}: R - L R0 >= 2 log|A|_+", excess, excess,
                                 r1, float("inf"),
                                 depth=L, r1=r1, r2=r2))
    return rows


def _gradient_norms(X: np.ndarray) -> np.ndarray:
    """``||grad f(x)||`` for ``f(x) = mean_p relu(x[p] - x[p-1])`` (closed form)."""
    x = X[:, 0, :]
    d = x.shape[-1]
    up = (x - np.roll(x, 1, axis=-1) > 0).astype(float)        # 1[x_p > x_{p-1}]
    grad = (up - np.roll(up, -1, axis=-1)) / d                  # d f / d x_q
    return np.linalg.norm(grad, axis=-1)


def main(quick: bool = True) -> CheckReport:
    """Tabulate ``R - L R0`` against the regularity bounds."""
    rows = []
    lin_depths = (1, 2, 4, 8, 16, 64) if quick else (1, 2, 3, 4, 6, 8, 16, 32, 64, 256, 1024)
    for name in (("bandlimited_1d", "mixer_1d") if quick
                 else ("bandlimited_1d", "bandlimited_2d", "mixer_1d", "mixer_2d")):
        rows.extend(_linear_rows(name, lin_depths))
    t = targets.get("invariant_pool")
    X, Y = data_of(t, quick)
    for L in ((2, 3) if quick else (2, 3, 4, 6, 8)):
        m = interval(t, L, quick=quick, use_solver=L == 2 or not quick,
                     max_iter=settings.QUICK_MAX_ITER if quick else settings.AL_MAX_ITER)
        lip = lipschitz_lower_bound(t.architecture(L, quick=quick), X, Y)
        whole = float(np.log(lip.gamma * np.max(_gradient_norms(X)) ** 2))
        rows.append(interval_row(
            f"invariant_pool L={L}: R - L R0 (R0 = 1) >= log(gamma Lambda^2)",
            m.lower - L, m.upper - L, lip.r1_bound, float("inf"),
            whole_space_jacobian_bound=whole, **m.fields()))
    return summarize(
        "T4", "R(f; L) - L R0 against the Jacobian (log pseudo-determinant) bound on R1",
        CONJECTURAL, rows,
        message="linear targets: exact values (T1) and dense singular values; "
                "invariant_pool: certified interval of R - L against the Lipschitz form of "
                "the Jacobian bound, whole-space bound reported as evidence")
