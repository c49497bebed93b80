"""SYM-series (exact): L s^(2/L) = L + 2 log s + (2/L) (log s)^2 + O(1/L^2), hence R0, R1, R2.

``cbn.symbolic.depth_series`` expands ``L s^(2/L)`` in ``t = 1/L`` with sympy and
compares each coefficient exactly with ``(2 log s)^k / k!``; for a block with ``k``
non-zero singular values this gives R0 = rank, R1 = 2 log|A|_+ = 2 sum_i log s_i and
R2 = 2 sum_i (log s_i)^2 (zero singular values contribute nothing at any depth).

Rows:

* one per derivation step (both sides: "verified" and 1);
* for random singular values: the sympy coefficients ``R0..R3`` (lambdified) against
  their numpy twin ``depth_coefficients_numeric``;
* for growing ``L``: the remainder ``|L sum s_i^(2/L) - (L R0 + R1 + R2/L)|`` against
  the rigorous bound ``L sum_i (e^a_i - 1 - a_i - a_i^2/2)``, ``a_i = 2 |log s_i| / L``
  (the tail of the exponential series with absolute values), which is O(1/L^2).

Run ``python proofs_checks/symbolic_series.py [--full]`` for the table.
"""
from __future__ import annotations

import numpy as np

from cbntheory.checks.verdicts import CheckReport, compare_equal, compare_leq, summarize

from .. import settings, symbolic

S = symbolic


def main(quick: bool = True) -> CheckReport:
    """Check the large-depth series symbolically and numerically."""
    import sympy

    rng = np.random.default_rng(0)
    der = S.depth_series(order=4 if quick else 6)
    rows = [compare_equal(f"step {i + 1}: {step.claim}", float(step.verified), 1.0, rtol=0.0)
            for i, step in enumerate(der.steps)]
    coeffs = S.depth_coefficients(3)
    names = ("r0", "r1", "r2", "r3")
    funcs = {k: sympy.lambdify(coeffs["symbols"], coeffs[k], "numpy") for k in names}
    n_samples = 3 if quick else 10
    depths = (4, 16, 64, 256) if quick else (2, 4, 8, 16, 64, 256, 1024, 4096)
    for j in range(n_samples):
        s = np.exp(rng.uniform(-2.0, 2.0, 3))
        svals = np.concatenate([s, [0.0]])                 # one zero singular value
        twin = S.depth_coefficients_numeric(svals)
        for name, value in zip(names, twin):
            rows.append(compare_equal(f"sample {j}: {name.upper()} sympy vs numpy twin",
                                      float(funcs[name](*s)), value))
        r0, r1, r2, _ = twin
        a = 2 * np.abs(np.log(s))
        for L in depths:
            cost = S.schatten_cost_numeric(svals, L)
            # cost - L R0 without the large L R0 term, so round-off stays ~1e-15 at any L
            excess = L * float(np.sum(np.expm1(2 * np.log(s) / L)))
            remainder = abs(excess - (r1 + r2 / L))
            bound = L * float(np.sum(np.expm1(a / L) - a / L - (a / L) ** 2 / 2))
            rows.append(compare_leq(f"sample {j} L={L}: |cost - (L R0 + R1 + R2/L)| <= "
                                    f"exponential tail bound", remainder, bound,
                                    depth=L, cost=cost, bound_times_L2=bound * L**2))
    return summarize(
        "SYM-series", "L s^(2/L) = L + 2 log s + (2/L)(log s)^2 + O(1/L^2): R0 = rank, "
        "R1 = 2 log|A|_+, R2 = 2 sum (log s_i)^2", "exact", rows,
        message="sympy series in t = 1/L compared exactly with the exponential series; "
                "sympy coefficients against numpy twins; remainder against the exponential "
                "tail bound at growing depth; tolerance rtol = "
                f"{settings.INEQUALITY_RTOL:g}")
