"""Proof check of T5: the weights-bottleneck inequality.

``sum_l [sum_{i>k} s_{l,i}^2 + sum_{i<=k} (s_{l,i}^2 - 1 - log s_{l,i}^2)]
<= (d c^2) ||W||^2 - kL - 2 log|J f(x)|_+`` with ``k = rank J f(x)`` and ``s_{l,i}``
the singular values of layer ``l``'s operator.  Rows: random ReLU and linear networks
(as in the T2 check) with both sides and the margin; then equality rows at balanced
factorisations of random linear maps (Horn's inequality is tight there).  Run
``python proofs_checks/t5_weight_bottleneck.py`` (``--full`` for more cases).
"""
from __future__ import annotations

import numpy as np

from cbntheory.checks import verdicts as checks
from cbntheory.theory.bounds import weight_bottleneck_bound

from .. import settings
from .t2_jacobian_bound import _random_case, balanced_case


def main(quick: bool = True) -> checks.CheckReport:
    """Evaluate T5 on random networks and at balanced factorisations; return the report."""
    rng = np.random.default_rng(2025)
    rows = []
    for i in range(16 if quick else 80):
        name, net, x = _random_case(rng, i)
        b = weight_bottleneck_bound(net, x)
        rows.append(checks.compare_leq(name, b.lhs, b.rhs, k=b.k, log_pdet=b.log_pdet,
                                       horn_gap=b.horn_gap, operator_mass=b.operator_mass,
                                       depth=b.depth))
    for depth in ((1, 3, 5) if quick else (1, 2, 3, 4, 6, 8, 12)):
        for shape, norm in (((5,), "plain"), ((4, 3), "operator")):
            net, _ = balanced_case(rng, shape, norm, (3, 2), depth)
            b = weight_bottleneck_bound(net, rng.standard_normal(net.architecture.input_shape))
            rows.append(checks.compare_equal(
                f"balanced linear {shape} {norm} L={depth} (tight)", b.lhs, b.rhs, k=b.k,
                depth=depth))
    return checks.summarize(
        "T5", "sum_l [sum_{i>k} s^2 + sum_{i<=k} (s^2 - 1 - log s^2)] <= (d c^2)||W||^2 - kL"
        " - 2 log|J f(x)|_+", checks.EXACT, rows,
        "random networks (<=) and balanced linear factorisations (==); (d c^2)||W||^2 is "
        f"sum_l ||E_l||_F^2 of the layer operators; rtol {settings.INEQUALITY_RTOL:g}")
