"""Large-depth expansion of the per-frequency Schatten cost, derived with sympy.

With ``t = 1/L``, ``L s^(2/L) = exp(2 t log s) / t = sum_k (2 log s)^k t^(k-1) / k!``, so

    L s^(2/L) = L + 2 log s + (2/L) (log s)^2 + (4/(3 L^2)) (log s)^3 + O(1/L^3).

Summing over the singular values of a block ``A_m`` (zero singular values contribute
``L 0^(2/L) = 0`` at every depth) gives

    L ||A_m||_{S_{2/L}}^{2/L} = L R0 + R1 + R2 / L + O(1/L^2),
    R0 = rank A_m,  R1 = 2 sum_i log s_i = 2 log|A_m|_+,  R2 = 2 sum_i (log s_i)^2,

the per-frequency terms of T1 (the factor ``1/(d c^2)`` multiplies all of them).

The numeric twins are :func:`schatten_cost_numeric` and
:func:`depth_coefficients_numeric`.

Examples
--------
>>> depth_series().proved
True
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .proof import Derivation, ProofStep


def _is_zero(expr: Any) -> bool:
    import sympy

    return bool(sympy.simplify(expr) == 0)


def depth_coefficients(rank: int = 3) -> dict[str, Any]:
    """Coefficients ``R0..R3`` of ``L sum_{i<=k} s_i^(2/L)`` in powers of ``1/L`` (sympy).

    Parameters
    ----------
    rank : int
        Number ``k >= 1`` of non-zero singular values, symbols ``s1..sk`` (positive).

    Returns
    -------
    dict
        ``"r0"``, ``"r1"``, ``"r2"``, ``"r3"`` (coefficients of ``L, 1, 1/L, 1/L^2``) read
        off sympy's series, and ``"symbols"``, the tuple ``(s1, ..., sk)``.

    Examples
    --------
    >>> c = depth_coefficients(2)
    >>> c["r0"], c["r1"]
    (2, 2*log(s1) + 2*log(s2))
    """
    import sympy

    k = V.positive_int("rank", rank)
    t = sympy.Symbol("t", positive=True)
    svals = sympy.symbols(f"s1:{k + 1}", positive=True)
    cost = sum(si ** (2 * t) for si in svals) / t
    series = sympy.expand(sympy.series(cost, t, 0, 3).removeO())
    coeffs = {f"r{j}": sympy.expand(series.coeff(t, j - 1)) for j in range(4)}
    coeffs["symbols"] = svals
    return coeffs


def depth_series(order: int = 3, rank: int = 3) -> Derivation:
    """Derive ``L s^(2/L) = L + 2 log s + (2/L) (log s)^2 + O(1/L^2)`` and ``R0, R1, R2``.

    Parameters
    ----------
    order : int
        Number of terms of the scalar series checked against ``(2 log s)^k / k!``.
    rank : int
        Number of non-zero singular values in the block-level step.

    Returns
    -------
    Derivation
        ``result`` is the truncated series ``L + 2 log s + 2 (log s)^2 / L``; ``symbols``
        holds ``L``, ``t`` (``= 1/L``) and ``s``.

    Notes
    -----
    The series is taken in ``t = 1/L`` at ``t = 0`` by sympy; each coefficient is compared
    exactly with the exponential series.  For the block, the coefficients of ``sum_i``
    are compared with ``rank``, ``2 log prod_i s_i`` and ``2 sum_i (log s_i)^2``.

    Examples
    --------
    >>> der = depth_series()
    >>> der.result
    L + 2*log(s) + 2*log(s)**2/L
    """
    import sympy

    n_terms = V.positive_int("order", order)
    L = sympy.Symbol("L", positive=True)
    t = sympy.Symbol("t", positive=True)
    s = sympy.Symbol("s", positive=True)
    steps = []

    scalar = s ** (2 * t) / t
    series = sympy.expand(sympy.series(scalar, t, 0, n_terms - 1).removeO())
    coeffs = [series.coeff(t, k - 1) for k in range(n_terms)]
    expected = [(2 * sympy.log(s)) ** k / sympy.factorial(k) for k in range(n_terms)]
    steps.append(ProofStep(
        f"with t = 1/L, L s^(2/L) = exp(2 t log s) / t has coefficients (2 log s)^k / k! of "
        f"t^(k-1) for k < {n_terms}", tuple(coeffs),
        all(_is_zero(a - b) for a, b in zip(coeffs, expected))))

    truncated = L + 2 * sympy.log(s) + 2 * sympy.log(s) ** 2 / L
    in_t = sympy.expand(truncated.subs(L, 1 / t))
    head = sympy.expand(sympy.series(scalar, t, 0, 2).removeO())
    steps.append(ProofStep("L s^(2/L) = L + 2 log s + (2/L) (log s)^2 + O(1/L^2)",
                           (head, in_t), _is_zero(head - in_t)))

    zero_term = L * sympy.Integer(0) ** (2 / L)
    steps.append(ProofStep("a zero singular value contributes L 0^(2/L) = 0 at every depth",
                           zero_term, bool(zero_term == 0)))

    block = depth_coefficients(rank)
    svals = block["symbols"]
    r1_claim = 2 * sympy.log(sympy.Mul(*svals))
    r2_claim = 2 * sum(sympy.log(si) ** 2 for si in svals)
    ok = (block["r0"] == rank and _is_zero(sympy.expand_log(block["r1"] - r1_claim))
          and _is_zero(block["r2"] - r2_claim))
    steps.append(ProofStep(
        f"for a block with {rank} non-zero singular values: R0 = rank = {rank}, "
        "R1 = 2 log prod_i s_i = 2 log|A|_+, R2 = 2 sum_i (log s_i)^2",
        (block["r0"], block["r1"], block["r2"]), ok))
    return Derivation("L s^(2/L) = L + 2 log s + (2/L)(log s)^2 + O(1/L^2), hence R0 = rank, "
                      "R1 = 2 log|A|_+, R2 = 2 sum (log s_i)^2", truncated, tuple(steps),
                      {"L": L, "t": t, "s": s})


def schatten_cost_numeric(singular_values: Sequence[float] | np.ndarray,
                          depth: float) -> float:
    """Numeric twin: ``L sum_{s_i > 0} s_i^(2/L)``, computed without cancellation.

    Written as ``L k + L sum_i expm1((2/L) log s_i)`` so that ``cost - L R0`` keeps its
    relative accuracy at large depth.

    Examples
    --------
    >>> schatten_cost_numeric([4.0, 0.0], 2)        # nuclear norm at L = 2
    8.0
    """
    s = np.asarray(singular_values, dtype=float)
    s = s[s > 0]
    L = float(depth)
    return float(L * s.size + L * np.sum(np.expm1(2.0 * np.log(s) / L)))


def depth_coefficients_numeric(singular_values: Sequence[float] | np.ndarray
                               ) -> tuple[float, float, float, float]:
    """Numeric twin of :func:`depth_coefficients`: ``(R0, R1, R2, R3)`` of the non-zero values.

    ``R0 = k``, ``R1 = 2 sum log s_i``, ``R2 = 2 sum (log s_i)^2``, ``R3 = (4/3) sum (log s_i)^3``.

    Examples
    --------
    >>> r = depth_coefficients_numeric([np.e, 1.0, 0.0])
    >>> r[0], bool(np.isclose(r[1], 2.0)), bool(np.isclose(r[2], 2.0))
    (2.0, True, True)
    """
    s = np.asarray(singular_values, dtype=float)
    logs = np.log(s[s > 0])
    return (float(logs.size), float(2 * logs.sum()), float(2 * np.sum(logs**2)),
            float(4.0 / 3.0 * np.sum(logs**3)))
