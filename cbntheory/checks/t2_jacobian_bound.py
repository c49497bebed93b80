"""Proof check of T2: ``sum_l ||W_l||_F^2 >= (L/(d c^2)) ||J f_theta(x)||_{S_{2/L}}^{2/L}``.

Rows: random ReLU and linear networks (1D and 2D, depths 1-8, random widths, biases,
both normalisations, resampling and the avgpool head) at random inputs, each with
both sides, the margin, ``||theta||^2``, rank and ``log|J|_+``; then equality rows at
the balanced factorisation of random linear maps, where the bound is attained and
equals the exact linear cost of T1.  Run ``python proofs_checks/t2_jacobian_bound.py``
(``--full`` for more cases).
"""
from __future__ import annotations

import numpy as np

from cbntheory.checks import verdicts as checks
from cbntheory.theory.bounds import jacobian_bound

from .. import settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..operators import ConvOperator
from ..theory.linear import balanced_factorization, linear_cost


def _random_case(rng: np.random.Generator, i: int) -> tuple[str, Network, np.ndarray]:
    ndim = 1 + i % 2
    shape = (int(rng.integers(3, 9)),) if ndim == 1 else (int(rng.integers(2, 5)),) * 2
    depth = int(rng.integers(1, 9))
    head = "avgpool" if depth >= 2 and i % 5 == 4 else None
    resample = None
    if depth >= 3 and i % 7 == 3 and all(n % 2 == 0 for n in shape):
        resample = (2,) + (1,) * (depth - 2)
    arch = Architecture(
        shape, tuple(int(v) for v in rng.integers(1, 5, size=depth + 1)),
        activation="relu" if i % 3 else "linear", bias=bool(i % 4),
        normalization="plain" if i % 2 else "operator", head=head, resample=resample)
    net = arch.init(rng=rng, scale=float(rng.uniform(0.5, 2.0)))
    biases = [0.3 * rng.standard_normal(b.shape) for b in net.biases]
    net = Network(arch, net.kernels, biases)
    name = (f"random {arch.activation} {shape} channels={arch.channels} "
            f"{arch.normalization} head={head} resample={resample}")
    return name, net, rng.standard_normal(arch.input_shape)


def balanced_case(rng: np.random.Generator, shape: tuple[int, ...], norm: str,
                  channels: tuple[int, int], depth: int
                  ) -> tuple[Network, ConvOperator]:
    """Linear network of a random ``(C_out, C_in)`` operator's balanced factorisation (the
    equality case of T2 and T5)."""
    cout, cin = channels
    A = ConvOperator.from_kernel(rng.standard_normal((cout, cin) + shape), norm)
    layers = balanced_factorization(A, depth)
    arch = Architecture(shape, (cin,) + tuple(op.out_channels for op in layers),
                            activation="linear", bias=False, normalization=norm)
    return Network(arch, [op.kernel for op in layers], []), A


def main(quick: bool = True) -> checks.CheckReport:
    """Evaluate T2 on random networks and at balanced factorisations; return the report."""
    rng = np.random.default_rng(2024)
    rows = []
    for i in range(16 if quick else 80):
        name, net, x = _random_case(rng, i)
        b = jacobian_bound(net, x)
        rows.append(checks.compare_leq(
            name, b.lhs, b.middle, param_norm=b.rhs, margin_total=b.margin_total,
            operator_mass=b.operator_mass, rank=b.rank, log_pdet=b.log_pdet, depth=b.depth))
    for depth in ((1, 2, 4) if quick else (1, 2, 3, 4, 6, 8, 12)):
        for shape, norm in (((6,), "operator"), ((3, 4), "plain")):
            net, A = balanced_case(rng, shape, norm, (2, 3), depth)
            b = jacobian_bound(net, rng.standard_normal(net.architecture.input_shape))
            rows.append(checks.compare_equal(
                f"balanced linear {shape} {norm} L={depth} (tight)", b.lhs, b.middle,
                linear_cost=linear_cost(A, depth).value, rank=b.rank, depth=depth))
    return checks.summarize(
        "T2", "||theta||^2 >= sum_l ||W_l||_F^2 >= (L/(d c^2)) ||J f(x)||_{S_{2/L}}^{2/L}",
        checks.EXACT, rows,
        f"lhs = (L/(d c^2)) ||J||_{{2/L}}^{{2/L}}, rhs = sum_l ||W_l||_F^2; random networks "
        f"(<=) and balanced linear factorisations (==), rtol {settings.INEQUALITY_RTOL:g}")
