"""Proof check of T5: the weights-bottleneck inequality.

``sum_l [sum_{i>k} s_{l,i}^2 + sum_{i<=k} (s_{l,i}^2 - 1 - log s_{l,i}^2)]
<= (d c^2) ||W||^2 - kL - 2 log|J f(x)|_+`` with ``k = rank J f(x)`` and ``s_{l,i}``
the singular values of layer ``l``'s operator.  Rows: random ReLU and linear networks
(as in the T2 check) with both sides and the margin; then equality rows at balanced
factorisations of random linear maps (Horn's inequality is tight there).  Run
``python proofs_checks/t5_weight_bottleneck.py`` (``--full`` for more cases).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

import cbntheory as cbn
from cbntheory import checks
from cbntheory.bounds import weight_bottleneck_bound


def _t2_cases():
    path = Path(__file__).with_name("t2_jacobian_bound.py")
    spec = importlib.util.spec_from_file_location("_t2_cases", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module._random_case


def main(quick: bool = True) -> checks.CheckReport:
    """Evaluate T5 on random networks and at balanced factorisations; return the report."""
    random_case = _t2_cases()
    rng = np.random.default_rng(2025)
    rows = []
    for i in range(16 if quick else 80):
        name, net, x = random_case(rng, i)
        b = weight_bottleneck_bound(net, x)
        rows.append(checks.compare_leq(name, b.lhs, b.rhs, k=b.k, log_pdet=b.log_pdet,
                                       horn_gap=b.horn_gap, operator_mass=b.operator_mass,
                                       depth=b.depth))
    for depth in ((1, 3, 5) if quick else (1, 2, 3, 4, 6, 8, 12)):
        for shape, norm in (((5,), "plain"), ((4, 3), "operator")):
            A = cbn.ConvOperator.from_kernel(rng.standard_normal((3, 2) + shape), norm)
            layers = cbn.balanced_factorization(A, depth)
            arch = cbn.Architecture(shape, (2,) + tuple(op.out_channels for op in layers),
                                    activation="linear", bias=False, normalization=norm)
            net = cbn.Network(arch, [op.kernel for op in layers], [])
            b = weight_bottleneck_bound(net, rng.standard_normal(arch.input_shape))
            rows.append(checks.compare_equal(
                f"balanced linear {shape} {norm} L={depth} (tight)", b.lhs, b.rhs, k=b.k,
                depth=depth))
    return checks.summarize(
        "T5", "sum_l [sum_{i>k} s^2 + sum_{i<=k} (s^2 - 1 - log s^2)] <= (d c^2)||W||^2 - kL"
        " - 2 log|J f(x)|_+", checks.EXACT, rows,
        "random networks (<=) and balanced linear factorisations (==); (d c^2)||W||^2 is "
        f"sum_l ||E_l||_F^2 of the layer operators; rtol {cbn.settings.INEQUALITY_RTOL:g}")


if __name__ == "__main__":  # pragma: no cover
    from . import script_main

    sys.exit(script_main(main))
