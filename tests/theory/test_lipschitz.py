"""Tests of the Lipschitz lower bound (cbntheory.theory.lipschitz).

The bound must lie below the parameter norm of EVERY network that fits the data: we
take random networks of many architectures and use their own outputs as data.  It is
attained by a rank-one map on constant inputs, and the difference quotient is compared
with a brute-force double loop.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.theory.lipschitz import lipschitz_constant, lipschitz_lower_bound

ARCHS = [
    cbn.Architecture((8,), (1, 3, 3, 1)),
    cbn.Architecture((8,), (2, 3, 1), normalization="plain"),
    cbn.Architecture((6,), (1, 4, 4, 2), head="avgpool"),
    cbn.Architecture((4, 4), (1, 2, 2, 1), activation="linear", bias=False),
    cbn.Architecture((8,), (1, 2, 2, 2, 1), resample=(2, 1, -2)),
    cbn.Architecture((4, 4), (1, 3, 3, 2), head="avgpool", normalization="plain"),
]


@pytest.mark.parametrize("arch", ARCHS, ids=range(len(ARCHS)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_below_the_norm_of_any_interpolating_network(arch, seed):
    rng = np.random.default_rng(seed)
    net = arch.init(rng=seed, scale=float(rng.uniform(0.3, 3.0)))
    biases = [rng.standard_normal(b.shape) for b in net.biases]
    net = cbn.Network(arch, net.kernels, biases)
    X = rng.standard_normal((6,) + arch.input_shape)
    X[1] = X[0] + 1e-3 * rng.standard_normal(arch.input_shape)     # a close pair: steep
    bound = lipschitz_lower_bound(arch, X, net(X))
    kernels = sum(float(np.sum(w ** 2)) for w in net.kernels)
    assert bound.value <= kernels * (1 + 1e-12)
    assert bound.value <= net.param_norm() * (1 + 1e-12)


def test_attained_by_a_rank_one_map_on_constant_inputs():
    # f(x) = a * mean(x) * (1, ..., 1): the operator a Q, Q the projection on constants
    d, a = 8, 2.5
    arch = cbn.Architecture((d,), (1, 1), activation="linear", bias=False)
    Q = cbn.ConvOperator.from_blocks(np.eye(d)[0][:, None, None].astype(complex) * a)
    net = cbn.Network(arch, [Q.kernel], [])
    X = np.stack([np.full((1, d), v) for v in (-1.0, 0.5, 2.0)])
    bound = lipschitz_lower_bound(arch, X, net(X))
    assert np.isclose(bound.lipschitz, a) and np.isclose(bound.value, net.param_norm())


def test_difference_quotient_by_brute_force():
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((7, 2, 3)), rng.standard_normal((7, 4))
    best = max(np.linalg.norm(Y[i] - Y[j]) / np.linalg.norm(X[i] - X[j])
               for i, j in itertools.permutations(range(7), 2))
    lam, (i, j) = lipschitz_constant(X, Y)
    assert np.isclose(lam, best)
    assert np.isclose(np.linalg.norm(Y[i] - Y[j]) / np.linalg.norm(X[i] - X[j]), best)


def test_depth_dependence_and_r1_bound():
    t = cbn.targets.get("invariant_pool")
    X, Y = t.data()
    for L in (2, 5, 30):
        b = lipschitz_lower_bound(t.architecture(L), X, Y)
        assert np.isclose(b.value, L * (b.gamma * b.lipschitz ** 2) ** (1 / L))
        assert b.value - L >= b.r1_bound - 1e-12                     # e^t >= 1 + t
    assert b.gamma == 8.0                                           # pool over d = 8 pixels


def test_contradictory_data_are_infeasible():
    X = np.zeros((2, 1, 4))
    with pytest.raises(cbn.InfeasibleError, match="equal inputs"):
        lipschitz_constant(X, np.array([[0.0], [1.0]]))


def test_deep_plain_bound_does_not_underflow():
    """gamma = 12^-L underflows past L ~ 285; the bound must still equal its closed form.

    Independent reference: with one pair at distance 1 and outputs 1 apart, Lambda = 1 and
    the bound is L (12^-L)^(1/L) = L / 12 exactly, for every depth.
    """
    from cbntheory.nets.architecture import Architecture

    X = np.zeros((2, 1, 12))
    X[1, 0, 0] = 1.0
    Y = X.copy()
    for L in (8, 300, 600):
        arch = Architecture((12,), (1,) * (L + 1), normalization="plain", bias=False)
        b = lipschitz_lower_bound(arch, X, Y)
        assert np.isclose(b.value, L / 12, rtol=1e-12)
        assert np.isclose(b.log_gamma, -L * np.log(12), rtol=1e-12)
        assert np.isclose(b.r1_bound, -L * np.log(12), rtol=1e-12)
        assert b.kappa == b.gamma
