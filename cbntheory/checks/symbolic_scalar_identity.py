"""SYM-scalar (exact): min { sum_l w_l^2 : prod_l w_l = s, w_l > 0 } = L s^(2/L).

This is the one-dimensional heart of T1: a depth-L factorisation of a singular value
``s`` costs at least ``L s^(2/L)``, with equality for the balanced split
``w_l = s^(1/L)``.  The script reports

* the symbolic derivation for a symbolic depth ``L`` (AM-GM through
  ``g(x) = x - 1 - log x >= 0``; ``cbn.symbolic.scalar_identity``): one row per step,
  both sides being "steps verified" and "steps";
* for each explicit depth (Lagrange conditions solved by sympy,
  ``cbn.symbolic.scalar_identity_lagrange``): the critical value against the general
  formula at several ``s`` (both from sympy, exact), and the general formula against
  the smallest ``sum_l w_l^2`` over random feasible points (``<=``, never beaten).

Run ``python proofs_checks/symbolic_scalar_identity.py [--full]`` for the table.
"""
from __future__ import annotations

import numpy as np

from cbntheory.checks.verdicts import (
    VIOLATED,
    CheckReport,
    compare_equal,
    compare_leq,
    summarize,
)

from .. import settings, symbolic

S = symbolic


def main(quick: bool = True) -> CheckReport:
    """Check the scalar identity symbolically and at random feasible points."""
    rng = np.random.default_rng(0)
    depths = (1, 2, 3, 4) if quick else (1, 2, 3, 4, 5)
    general = S.scalar_identity(explicit=depths)
    rows = []
    for i, step in enumerate(general.steps):
        row = compare_equal(f"general L, step {i + 1}: {step.claim}", float(step.verified), 1.0,
                            rtol=0.0)
        rows.append(row)
    L_sym, s_sym = general.symbols["L"], general.symbols["s"]
    samples = 2000 if quick else 20000
    for L in depths:
        lagrange = S.scalar_identity_lagrange(L)
        for s in (0.3, 1.0, 2.5, 17.0):
            exact_l = lagrange.result.subs(lagrange.symbols["s"], s)
            exact_g = general.result.subs({L_sym: L, s_sym: s})
            row = compare_equal(f"L={L} s={s}: Lagrange critical value vs L s^(2/L)",
                                float(exact_l), float(exact_g), proved=lagrange.proved)
            if not lagrange.proved:
                row["verdict"] = VIOLATED
            rows.append(row)
            u = rng.normal(scale=0.5, size=(samples, L))
            w = s ** (1.0 / L) * np.exp(u - u.mean(axis=1, keepdims=True))   # prod w = s
            best = float(np.min(np.sum(w**2, axis=1)))
            rows.append(compare_leq(f"L={L} s={s}: L s^(2/L) <= min sum w^2 over {samples} "
                                    f"random feasible points", float(exact_g), best))
    return summarize(
        "SYM-scalar", "min {sum_l w_l^2 : prod_l w_l = s, w_l > 0} = L s^(2/L), attained at "
        "w_l = s^(1/L)", "exact", rows,
        message="symbolic derivation (AM-GM via x - 1 - log x >= 0 for symbolic L; Lagrange "
                f"conditions solved by sympy for L in {depths}) and random feasible points; "
                f"tolerance rtol = {settings.INEQUALITY_RTOL:g}")
