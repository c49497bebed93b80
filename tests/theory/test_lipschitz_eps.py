"""The Lipschitz bound of ``R_eps`` (the 2 eps slack): a double loop from the definition, the
perturbations it must cover, the perturbation that attains it, and eps = 0."""
from __future__ import annotations

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.theory.lipschitz import lipschitz_constant, lipschitz_lower_bound


def loop_lambda(X, Y, eps):
    """max over pairs of (|y_i - y_j| - 2 eps)_+ / |x_i - x_j|, by a double loop."""
    best = 0.0
    for i in range(len(X)):
        for j in range(len(X)):
            dx = float(np.sqrt(np.sum((X[i] - X[j]) ** 2)))
            if i == j or dx == 0:
                continue
            dy = float(np.sqrt(np.sum((Y[i] - Y[j]) ** 2)))
            best = max(best, max(dy - 2 * eps, 0.0) / dx)
    return best


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    return rng.standard_normal((9, 1, 6)), rng.standard_normal((9, 1, 6))


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3, 5.0])
def test_against_the_double_loop(data, eps):
    X, Y = data
    assert lipschitz_constant(X, Y, eps)[0] == pytest.approx(loop_lambda(X, Y, eps), rel=1e-12)


def test_every_perturbation_within_eps_is_at_least_as_steep(data):
    X, Y = data
    eps = 0.2
    lam = lipschitz_constant(X, Y, eps)[0]
    rng = np.random.default_rng(0)
    for _ in range(200):
        E = rng.standard_normal(Y.shape)
        E *= eps * rng.uniform(0, 1, (len(Y), 1, 1)) / np.linalg.norm(E, axis=(1, 2),
                                                                     keepdims=True)
        assert loop_lambda(X, Y + E, 0.0) >= lam - 1e-12     # any exact fit of Y + E


def test_the_bound_is_attained_by_moving_the_pair_together(data):
    X, Y = data
    eps = 0.2
    lam, (i, j) = lipschitz_constant(X, Y, eps)
    Z = Y.copy()
    u = (Y[i] - Y[j]) / np.linalg.norm(Y[i] - Y[j])
    Z[i] -= eps * u
    Z[j] += eps * u
    dx = np.linalg.norm(X[i] - X[j])
    assert np.linalg.norm(Z[i] - Z[j]) / dx == pytest.approx(lam, rel=1e-12)


def test_bound_of_r_eps_is_below_the_exact_one_and_eps_zero_is_unchanged():
    t = cbn.targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    arch = t.architecture(4, quick=True)
    exact = lipschitz_lower_bound(arch, X, Y)
    assert lipschitz_lower_bound(arch, X, Y, 0.0) == exact and exact.eps == 0.0
    loose = lipschitz_lower_bound(arch, X, Y, 1e-3)
    assert loose.value < exact.value and loose.eps == 1e-3
    assert loose.lipschitz == pytest.approx(loop_lambda(X, Y, 1e-3), rel=1e-12)


def test_equal_inputs_may_differ_by_two_eps():
    X = np.array([[0.0], [0.0], [1.0]])
    Y = np.array([[0.0], [0.1], [1.0]])
    with pytest.raises(cbn.InfeasibleError, match="2 eps"):
        lipschitz_constant(X, Y)
    assert lipschitz_constant(X, Y, eps=0.05)[0] == pytest.approx(loop_lambda(X, Y, 0.05))
    with pytest.raises(cbn.ValidationError, match="eps"):
        lipschitz_constant(X, Y, eps=-1.0)
