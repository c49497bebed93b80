"""The scalar identity behind the balanced factorisation, derived with sympy.

    min { sum_{l=1}^L w_l^2 : prod_l w_l = s, w_l > 0 } = L s^(2/L),   attained at w_l = s^(1/L).

Two derivations are provided:

* :func:`scalar_identity_lagrange` for one explicit depth ``L``: the Lagrange
  conditions, solved by sympy, have the single positive solution ``w_l = s^(1/L)``, the
  value there is ``L s^(2/L)`` and the Hessian of the Lagrangian is positive definite on
  the tangent space of the constraint;
* :func:`scalar_identity` for a symbolic depth ``L``: the AM-GM inequality written out
  through ``g(x) = x - 1 - log x >= 0`` (minimum 0 at ``x = 1`` only).  With
  ``x_l = w_l^2 / s^(2/L)``,

      sum_l w_l^2 = L s^(2/L) + s^(2/L) sum_l g(x_l) + s^(2/L) sum_l log x_l,

  and on the constraint ``sum_l log x_l = 2 log prod w_l - 2 log s = 0``, so the sum of
  squares exceeds ``L s^(2/L)`` by ``s^(2/L) sum_l g(x_l) >= 0``, with equality exactly
  when every ``x_l = 1``.  The explicit-depth Lagrange derivations for ``L = 1..4`` are
  attached as further steps.

The numeric twin is :func:`balanced_cost_numeric` (``L s^(2/L)`` in numpy).

Examples
--------
>>> scalar_identity_lagrange(3).proved
True
"""
from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np

from .. import _validate as V
from .proof import Derivation, ProofStep


def _is_zero(expr: object) -> bool:
    import sympy

    return bool(sympy.simplify(expr) == 0)


@functools.cache
def scalar_identity_lagrange(depth: int) -> Derivation:
    """Lagrange-multiplier derivation of the scalar identity for one explicit depth.

    Parameters
    ----------
    depth : int
        ``L >= 1``; sympy's ``solve`` is used, so keep it small (``L <= 4`` takes a
        couple of seconds).

    Returns
    -------
    Derivation
        ``result`` is ``L s^(2/L)`` with ``L`` substituted; ``symbols`` holds ``s``, the
        weights ``w1..wL`` and the multiplier ``lam``.

    Notes
    -----
    ``F = sum_l w_l^2 - lam (prod_l w_l - s)``.  Multiplying ``dF/dw_l = 0`` by ``w_l``
    gives ``2 w_l^2 = lam prod_k w_k``: all ``w_l^2`` are equal, so ``w_l = s^(1/L)``
    and ``lam = 2 s^(2/L - 1)``.  The Hessian of ``F`` there is ``4 I - 2 J`` (``J`` all
    ones), which is ``4 I`` on the tangent space ``sum_l v_l = 0``.

    Examples
    --------
    >>> der = scalar_identity_lagrange(2)
    >>> der.result, der.proved
    (2*s, True)
    """
    import sympy

    L = V.positive_int("depth", depth)
    s = sympy.Symbol("s", positive=True)
    lam = sympy.Symbol("lam", real=True)
    w = sympy.symbols(f"w1:{L + 1}", positive=True)
    prod = sympy.Mul(*w)
    objective = sum(v**2 for v in w)
    lagrangian = objective - lam * (prod - s)
    grad = [sympy.diff(lagrangian, v) for v in w]
    steps = []

    checks = [_is_zero(v * g - (2 * v**2 - lam * prod)) for v, g in zip(w, grad)]
    steps.append(ProofStep(
        "w_l * dF/dw_l = 2 w_l^2 - lam * prod_k w_k, so all w_l^2 are equal at a critical point",
        tuple(sympy.expand(v * g) for v, g in zip(w, grad)), all(checks)))

    root = s ** sympy.Rational(1, L)
    solutions = sympy.solve(grad + [prod - s], list(w) + [lam], dict=True)
    unique = len(solutions) == 1 and all(_is_zero(solutions[0][v] - root) for v in w)
    steps.append(ProofStep(f"the Lagrange system has the single positive solution w_l = s^(1/{L})",
                           tuple(solutions), unique))

    value = objective.subs({v: root for v in w})
    claimed = L * s ** sympy.Rational(2, L)
    steps.append(ProofStep(f"the value at the critical point is {L} s^(2/{L})",
                           (value, claimed), _is_zero(value - claimed)))

    if L == 1:
        steps.append(ProofStep("the constraint has the single feasible point w_1 = s",
                               sympy.Eq(w[0], s), True))
    else:
        at = {v: root for v in w}
        if unique:
            at[lam] = solutions[0][lam]
        hess = sympy.hessian(lagrangian, w).subs(at)
        tangent = sympy.Matrix(L, L - 1, lambda i, j: 1 if i == 0 else (-1 if i == j + 1 else 0))
        reduced = sympy.simplify(tangent.T * hess * tangent)
        steps.append(ProofStep(
            "the Hessian of F is positive definite on the tangent space sum_l v_l = 0 "
            "(a strict local minimum)", reduced, bool(reduced.is_positive_definite)))
    symbols = {"s": s, "lam": lam, **{str(v): v for v in w}}
    return Derivation(f"min sum w_l^2 s.t. prod w_l = s equals {L} s^(2/{L}) (Lagrange)",
                      claimed, tuple(steps), symbols)


def scalar_identity(explicit: Iterable[int] = (1, 2, 3, 4)) -> Derivation:
    """Derive ``min {sum_l w_l^2 : prod_l w_l = s} = L s^(2/L)`` for a symbolic depth ``L``.

    Parameters
    ----------
    explicit : iterable of int
        Depths for which the Lagrange derivation (:func:`scalar_identity_lagrange`) is
        attached as an extra step; ``()`` skips them (faster).

    Returns
    -------
    Derivation
        ``result = L*s**(2/L)`` with ``L`` a positive integer symbol; ``symbols`` holds
        ``L``, ``s``, ``x``, the weight family ``w`` (``IndexedBase``) and its index ``l``.

    Notes
    -----
    AM-GM via ``g(x) = x - 1 - log x``: ``g' = 1 - 1/x``, ``g'' = 1/x^2 > 0``, so ``g`` is
    minimal (zero) at ``x = 1`` only.  For ``x_l = w_l^2 / s^(2/L)``, term by term
    ``w_l^2 = s^(2/L) (1 + g(x_l)) + s^(2/L) (2 log w_l - (2/L) log s)`` and the logarithmic
    terms sum to ``2 log prod w_l - 2 log s = 0`` on the constraint.

    Examples
    --------
    >>> der = scalar_identity(explicit=())
    >>> der.result, der.proved
    (L*s**(2/L), True)
    """
    import sympy

    L = sympy.Symbol("L", positive=True, integer=True)
    s = sympy.Symbol("s", positive=True)
    x = sympy.Symbol("x", positive=True)
    wl = sympy.Symbol("w_l", positive=True)
    l = sympy.Symbol("l", positive=True, integer=True)
    w = sympy.IndexedBase("w", positive=True)
    g = x - 1 - sympy.log(x)
    scale = s ** (2 / L)
    steps = []

    positive = sympy.Interval.open(0, sympy.oo)
    low = sympy.minimum(g, x, positive)
    steps.append(ProofStep("g(x) = x - 1 - log x has minimum 0 over x > 0",
                           (g, low), bool(low == 0)))
    dg = sympy.diff(g, x)
    falling = sympy.solveset(dg < 0, x, positive)
    rising = sympy.solveset(dg > 0, x, positive)
    steps.append(ProofStep("g' = 1 - 1/x is negative on (0, 1) and positive on (1, oo), so g "
                           "is strictly decreasing then increasing and g(x) = 0 only at x = 1",
                           (dg, falling, rising),
                           falling == sympy.Interval.open(0, 1)
                           and rising == sympy.Interval.open(1, sympy.oo)))

    per_layer = scale * (1 + g.subs(x, wl**2 / scale)) + scale * (2 * sympy.log(wl)
                                                                   - 2 * sympy.log(s) / L)
    ok = _is_zero(sympy.expand_log(per_layer - wl**2))
    steps.append(ProofStep("each layer: w_l^2 = s^(2/L) (1 + g(x_l)) + s^(2/L) (2 log w_l - "
                           "(2/L) log s) with x_l = w_l^2 / s^(2/L)",
                           (wl**2, per_layer), ok))

    log_terms = sympy.expand(sympy.Sum(2 * sympy.log(w[l]) - 2 * sympy.log(s) / L,
                                       (l, 1, L))).doit()
    on_constraint = sympy.factor_terms(log_terms).subs(
        sympy.Sum(sympy.log(w[l]), (l, 1, L)), sympy.log(s))
    steps.append(ProofStep("the logarithmic terms sum to 2 log(prod_l w_l) - 2 log s, which is "
                           "0 on the constraint prod_l w_l = s", (log_terms, on_constraint),
                           _is_zero(on_constraint)))

    total = sympy.Sum(w[l] ** 2, (l, 1, L))
    follows = all(step.verified for step in steps)
    steps.append(ProofStep("summing the per-layer identity: sum_l w_l^2 = L s^(2/L) + "
                           "s^(2/L) sum_l g(x_l) >= L s^(2/L), equality iff every x_l = 1 "
                           "(follows from the steps above)",
                           sympy.Ge(total, L * scale), follows))

    root = s ** (1 / L)
    attained = _is_zero(root**L - s) and _is_zero(L * root**2 - L * scale)
    steps.append(ProofStep("w_l = s^(1/L) is feasible (prod = s) and gives sum_l w_l^2 = "
                           "L s^(2/L)", (root**L, L * root**2), attained))

    for depth in explicit:
        sub = scalar_identity_lagrange(int(depth))
        same = _is_zero(sub.result - (L * scale).subs(L, depth).subs(s, sub.symbols["s"]))
        steps.append(ProofStep(f"L = {depth} explicitly (Lagrange): the only critical point is "
                               f"w_l = s^(1/{depth}), a strict local minimum of value "
                               f"{sub.result}", sub, sub.proved and same))
    symbols = {"L": L, "s": s, "x": x, "w": w, "l": l}
    return Derivation("min sum_l w_l^2 s.t. prod_l w_l = s, w_l > 0, equals L s^(2/L)",
                      L * scale, tuple(steps), symbols)


def balanced_cost_numeric(s: np.ndarray | float, depth: int) -> np.ndarray:
    """Numeric twin of the scalar identity: ``L s^(2/L)`` (array-valued in ``s``).

    Examples
    --------
    >>> w = np.full(3, 2.0)                   # three layers of weight 2: product 8
    >>> bool(np.isclose(balanced_cost_numeric(8.0, 3), np.sum(w**2)))
    True
    """
    L = V.positive_int("depth", depth)
    return L * np.asarray(s, dtype=float) ** (2.0 / L)
