"""T1-kernel (exact): with ``k``-tap filters the full-size T1 value is a lower bound.

Restricting every filter to a window of ``k < d`` taps is a linear constraint on the
kernels, so the minimum over ``k``-tap networks is at least the full-size minimum
``(L/(d c^2)) sum_m ||A_m||_{S_{2/L}}^{2/L}``; the per-frequency problems couple and no
closed form is known.  For targets that ``k``-tap networks can represent (products of
random ``k``-tap layers, the "planted" factorisation), the rows check, with the dense
matrices of the layers composed here:

* full-size value <= norm of the planted factorisation (an independent witness);
* full-size value <= norm of :func:`cbntheory.minimal_norm`'s network, after checking
  that its kernels vanish outside the window and that the product of its layers' dense
  matrices is the target;
* the solver's certified lower bound (if any) <= the best upper bound.

Both sides and the gap are reported.  Run ``python proofs_checks/t1_kernel.py [--full]``.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import settings
from ..nets.architecture import Architecture
from ..operators import ConvOperator
from ..solvers.dispatch import minimal_norm, stop_if_interrupted
from ..theory.linear import linear_cost
from ._measure import capped_row, time_capped
from .t1_linear_cost import dense_operator
from .verdicts import EXACT, CheckReport, compare_leq, summarize


def _product(kernels: list[np.ndarray], norm: str) -> np.ndarray:
    M = dense_operator(kernels[0], norm)
    for w in kernels[1:]:
        M = dense_operator(w, norm) @ M
    return M


def _case_rows(case: str, arch: Architecture, seed: int, max_iter: int) -> list[dict]:
    planted = arch.init(rng=seed)
    kernels = [np.array(w) for w in planted.kernels]
    target = ConvOperator.from_kernel(kernels[0], arch.normalization)
    for w in kernels[1:]:
        target = ConvOperator.from_kernel(w, arch.normalization) @ target
    M = _product(kernels, arch.normalization)
    full = float(linear_cost(target, arch.depth).value)
    planted_norm = float(sum(np.sum(w ** 2) for w in kernels))
    rows = [compare_leq(f"{case}: full-size value <= planted k-tap factorisation", full,
                        planted_norm, gap=planted_norm - full)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stop_if_interrupted(minimal_norm(arch, target=target, rng=seed,
                                               max_iter=max_iter,
                                               time_limit=settings.SOLVE_SAFETY_CAP))
    best = planted_norm
    if time_capped(res):                        # its network would depend on machine load
        return rows + [capped_row(case, res)]
    net = res.network
    if net is not None:
        outside = max(float(np.abs(np.array(w)[..., ~win]).max(initial=0.0))
                      for w, win in zip(net.kernels, arch.windows))
        resid = float(np.linalg.norm(_product([np.array(w) for w in net.kernels],
                                              arch.normalization) - M) / np.linalg.norm(M))
        rows.append(compare_leq(f"{case}: solver network is k-tap (max |tap| outside)",
                                outside, 0.0, rtol=0.0))
        if resid <= settings.FIT_RTOL:
            value = float(sum(np.sum(np.array(w) ** 2) for w in net.kernels))
            best = min(best, value)
            rows.append(compare_leq(f"{case}: full-size value <= minimal_norm network",
                                    full, value, gap=value - full, status=res.status,
                                    residual=resid))
    if res.lower is not None:
        rows.append(compare_leq(f"{case}: certified lower <= best upper", res.lower, best,
                                rtol=settings.GAP_RTOL, full_size=full))
    return rows


def main(quick: bool = True) -> CheckReport:
    """Check the full-size lower bound against k-tap networks."""
    cases: list[tuple[tuple[int, ...], int, int, int, str]] = [
        ((8,), 3, 2, 1, "operator"), ((8,), 3, 2, 2, "plain")]
    if not quick:
        cases += [((8,), 3, 3, 2, "operator"), ((6, 6), 3, 2, 1, "operator"),
                  ((16,), 5, 2, 2, "operator"), ((4, 4), 2, 3, 2, "plain")]
    rows = []
    for i, (shape, k, L, c, norm) in enumerate(cases):
        arch = Architecture(shape, (c,) * (L + 1), activation="linear", bias=False,
                            kernel_size=(k,) * len(shape), normalization=norm)
        rows.extend(_case_rows(f"{shape} k={k} L={L} width {c} {norm}", arch, seed=i,
                               max_iter=settings.QUICK_MAX_ITER if quick
                               else settings.AL_MAX_ITER))
    return summarize(
        "T1-kernel", "k-tap filters: the full-size T1 value is a lower bound of the k-tap "
        "minimal norm", EXACT, rows,
        message="full-size linear_cost against the planted k-tap factorisation and the "
                "verified minimal_norm network (window and dense product checked here); "
                f"rtol {settings.INEQUALITY_RTOL:g}")
