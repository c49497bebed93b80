"""T1 (exact): the cost of a linear CNN is (L/(d c^2)) sum_m ||A_m||_{S_{2/L}}^{2/L}.

For random translation-equivariant maps A (1D and 2D, generic and rank-deficient,
both normalisations) and several depths L, this script compares

* ``linear_cost(A, L).value`` with the formula evaluated on the singular values of the
  dense operator matrix, which is built here from the definition
  ``M[(o, p), (i, q)] = c W[o, i, p - q]`` and decomposed with ``numpy.linalg.svd``
  (no frequency blocks involved);
* R0, R1, R2 with the same dense singular values;
* the value with the parameter norm of ``balanced_factorization(A, L)`` (attainment),
  and the product of its layers with A;
* the value with the norm of other factorisations of the same map (an invertible
  real convolution and its inverse inserted between two layers; each layer rescaled
  by factors whose product is one): the minimum must not be beaten.

Run ``python proofs_checks/t1_linear_cost.py`` for the table.
"""
from __future__ import annotations

import numpy as np

from cbntheory.checks.verdicts import CheckReport, compare_equal, compare_leq, summarize

from .. import settings
from ..operators import ConvOperator
from ..results import relative_residual
from ..theory.linear import balanced_factorization, linear_cost


def dense_operator(kernel: np.ndarray, normalization: str) -> np.ndarray:
    """Dense matrix of the convolution straight from its definition (index arithmetic)."""
    cout, cin = kernel.shape[:2]
    shape = kernel.shape[2:]
    d = int(np.prod(shape))
    c = 1.0 / np.sqrt(d) if normalization == "operator" else 1.0
    pix = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(d, -1)
    diff = (pix[:, None, :] - pix[None, :, :]) % np.asarray(shape)         # p - q
    taps = kernel[(slice(None), slice(None)) + tuple(diff[..., a] for a in range(len(shape)))]
    return c * taps.transpose(0, 2, 1, 3).reshape(cout * d, cin * d)


def dense_t1(kernel: np.ndarray, depth: int, normalization: str) -> dict[str, float]:
    """T1 value and R0, R1, R2 from the dense singular values (matrix_rank's zero threshold)."""
    M = dense_operator(kernel, normalization)
    s = np.linalg.svd(M, compute_uv=False)
    s = s[s > s.max(initial=0.0) * max(M.shape) * np.finfo(float).eps]
    d = int(np.prod(kernel.shape[2:]))
    factor = 1.0 if normalization == "operator" else 1.0 / d       # 1/(d c^2)
    return {"value": factor * depth * float(np.sum(s ** (2.0 / depth))),
            "r0": factor * s.size, "r1": factor * 2 * float(np.sum(np.log(s))),
            "r2": factor * 2 * float(np.sum(np.log(s) ** 2))}


def _cases(quick: bool, rng: np.random.Generator):
    shapes = [(2, 3, 6), (3, 3, 5), (2, 2, 4, 4)]
    if not quick:
        shapes += [(4, 3, 8), (3, 2, 5, 3), (4, 4, 6, 6)]
    for shape in shapes:
        yield f"generic {shape}", rng.standard_normal(shape)
    for shape, width in [((3, 3, 8), 1), ((4, 4, 4, 3), 2)] + ([((5, 4, 6, 4), 2)] if not quick
                                                               else []):
        first = ConvOperator.from_kernel(rng.standard_normal((width,) + shape[1:]))
        second = ConvOperator.from_kernel(rng.standard_normal(shape[:1] + (width,)
                                                                  + shape[2:]))
        yield f"rank <= {width} {shape}", (second @ first).kernel


def _other_factorisations(layers, rng, count):
    """Same product, different layers: a gauge G, G^-1 between layers 1 and 2; rescalings."""
    k = layers[0].out_channels
    shape = layers[0].spatial_shape
    d = int(np.prod(shape))
    for _ in range(count):
        g = 0.5 * rng.standard_normal((k, k) + shape)
        g[(slice(None), slice(None)) + (0,) * len(shape)] += np.sqrt(d) * np.eye(k) * 1.5
        G = ConvOperator.from_kernel(g, layers[0].normalization)
        Ginv = ConvOperator.from_blocks(np.linalg.inv(G.blocks), layers[0].normalization)
        other = [G @ layers[0], layers[1] @ Ginv] + list(layers[2:])
        yield sum(x.param_norm() for x in other)
        t = np.exp(rng.normal(scale=0.3, size=len(layers)))
        t /= np.prod(t) ** (1.0 / len(layers))                          # prod t_l = 1
        yield sum(tl ** 2 * x.param_norm() for tl, x in zip(t, layers))


def main(quick: bool = True) -> CheckReport:
    """Check T1 on random operators; returns a :class:`~cbntheory.checks.verdicts.CheckReport`."""
    rng = np.random.default_rng(20240208)
    depths = [1, 2, 3, 8, 16] if quick else [1, 2, 3, 4, 6, 8, 12, 16, 32]
    rows = []
    for name, kernel in _cases(quick, rng):
        for norm in ("operator", "plain"):
            A = ConvOperator.from_kernel(kernel, norm)
            target = A.to_matrix()
            for L in depths:
                case = f"{name} {norm} L={L}"
                cost = linear_cost(A, L)
                ref = dense_t1(kernel, L, norm)
                rows.append(compare_equal(f"{case}: R vs dense SVD", cost.value, ref["value"],
                                          depth=L))
                for key in ("r0", "r1", "r2"):
                    rows.append(compare_equal(f"{case}: {key.upper()} vs dense SVD",
                                              getattr(cost, key), ref[key], depth=L))
                layers = balanced_factorization(A, L)
                norm_sum = sum(x.param_norm() for x in layers)
                rows.append(compare_equal(f"{case}: R vs balanced factorisation norm",
                                          cost.value, norm_sum, depth=L))
                product = layers[0]
                for layer in layers[1:]:
                    product = layer @ product
                rows.append(compare_leq(f"{case}: factorisation reproduces A (rel. residual)",
                                        relative_residual(product.to_matrix(), target), 0.0,
                                        depth=L))
                if L >= 2:
                    worst = min(_other_factorisations(layers, rng, 1 if quick else 3))
                    rows.append(compare_leq(f"{case}: R <= norm of another factorisation",
                                            cost.value, worst, depth=L))
    return summarize(
        "T1", "linear CNN cost = (L/(d c^2)) sum_m ||A_m||_{S_{2/L}}^{2/L}, attained by the "
        "balanced factorisation", "exact", rows,
        message="linear_cost against the dense-SVD formula (dense matrix from the definition), "
                "against the norm of balanced_factorization, and against other factorisations "
                f"of the same map; tolerance rtol = {settings.INEQUALITY_RTOL:g}")
