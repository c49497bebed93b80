"""Anchor (exact): deep linear fully connected networks, the d = 1 case of T1.

With a single pixel a convolution is a plain matrix, c = 1 in both normalisations, and T1
reduces to the classical result for deep linear networks:

    min { sum_l ||W_l||_F^2 : W_L ... W_1 = A } = L ||A||_{S_{2/L}}^{2/L} = L sum_i s_i(A)^{2/L},

which is ``||A||_F^2`` at L = 1 and twice the nuclear norm at L = 2 (the convex case).
This script evaluates the right-hand side with ``numpy.linalg.svd`` (and
``numpy.linalg.norm(A, "nuc")`` at L = 2) on square, rectangular and rank-deficient
matrices, compares it with ``linear_cost`` and with the norm of ``balanced_factorization``,
and checks that every layer of the latter has the singular values s_i(A)^{1/L}.
"""
from __future__ import annotations

import numpy as np

from cbntheory.checks.verdicts import CheckReport, compare_equal, compare_leq, summarize

from .. import settings
from ..operators import ConvOperator
from ..results import relative_residual
from ..theory.linear import balanced_factorization, linear_cost


def schatten_cost(A: np.ndarray, depth: int) -> float:
    """``L sum_i s_i(A)^{2/L}`` over the non-zero singular values (matrix_rank's threshold)."""
    s = np.linalg.svd(A, compute_uv=False)
    s = s[s > s.max(initial=0.0) * max(A.shape) * np.finfo(float).eps]
    return depth * float(np.sum(s ** (2.0 / depth)))


def _matrices(quick: bool, rng: np.random.Generator):
    yield "square 4x4", rng.standard_normal((4, 4))
    yield "wide 3x6", rng.standard_normal((3, 6))
    yield "tall 5x2", rng.standard_normal((5, 2))
    yield "rank 2, 5x5", rng.standard_normal((5, 2)) @ rng.standard_normal((2, 5))
    yield "identity 3x3", np.eye(3)
    if not quick:
        yield "square 12x12", rng.standard_normal((12, 12))
        yield "rank 1, 8x6", np.outer(rng.standard_normal(8), rng.standard_normal(6))
        yield "ill-conditioned 6x6", np.diag(10.0 ** -np.arange(6)) @ rng.standard_normal((6, 6))


def main(quick: bool = True) -> CheckReport:
    """Check the d = 1 case of T1 against numpy.linalg; returns a CheckReport."""
    rng = np.random.default_rng(1)
    depths = [1, 2, 3, 5, 16] if quick else [1, 2, 3, 4, 5, 8, 12, 16, 32, 64]
    rows = []
    for name, M in _matrices(quick, rng):
        for norm in ("operator", "plain"):      # identical when d = 1 (c = 1)
            A = ConvOperator.from_kernel(M[:, :, None], norm)
            for L in depths:
                case = f"{name} {norm} L={L}"
                cost = linear_cost(A, L)
                rows.append(compare_equal(f"{case}: R vs L ||A||_S(2/L)^(2/L)", cost.value,
                                          schatten_cost(M, L), depth=L))
                if L == 1:
                    rows.append(compare_equal(f"{case}: R vs ||A||_F^2", cost.value,
                                              float(np.sum(M ** 2)), depth=L))
                if L == 2:
                    rows.append(compare_equal(f"{case}: R vs 2 ||A||_nuclear", cost.value,
                                              2 * float(np.linalg.norm(M, "nuc")), depth=L))
                layers = balanced_factorization(A, L)
                mats = [layer.kernel[:, :, 0] for layer in layers]
                rows.append(compare_equal(f"{case}: R vs balanced factorisation norm", cost.value,
                                          sum(float(np.sum(W ** 2)) for W in mats), depth=L))
                product = mats[0]
                for W in mats[1:]:
                    product = W @ product
                rows.append(compare_leq(f"{case}: W_L ... W_1 = A (rel. residual)",
                                        relative_residual(product, M), 0.0, depth=L))
                s = np.linalg.svd(M, compute_uv=False)
                s = s[s > s.max() * max(M.shape) * np.finfo(float).eps] ** (1.0 / L)
                dev = 0.0
                for W in mats:
                    sw = np.linalg.svd(W, compute_uv=False)[: s.size]
                    dev = max(dev, float(np.max(np.abs(sw - s))))
                rows.append(compare_leq(f"{case}: each layer has singular values s_i^(1/L) "
                                        "(max deviation)", dev, 0.0, depth=L))
    return summarize(
        "deep-linear-FC", "d = 1: min sum_l ||W_l||_F^2 over W_L...W_1 = A equals "
        "L ||A||_{S_{2/L}}^{2/L} (2 ||A||_* at L = 2)", "exact", rows,
        message="linear_cost and balanced_factorization on 1-pixel operators against "
                f"numpy.linalg.svd / norm; tolerance rtol = {settings.INEQUALITY_RTOL:g}")
