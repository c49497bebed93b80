"""The object R_eps (networks within a relative residual epsilon of the data).

References are independent of the package's solvers: cvxpy's own conic solver on the
depth-1 program built from a dense map assembled by forward passes of basis parameter
vectors (the definition of a linear-in-parameters network), and the Lipschitz constant
computed by a double loop over the samples.
"""
from __future__ import annotations

import json
import math

import cvxpy as cp
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.cli import main
from cbntheory.errors import ValidationError
from cbntheory.measure.tabulate import bound_table
from cbntheory.nets.network import Network


def _dense_map(arch, X):
    """Outputs of the basis parameter vectors: a depth-1 network is linear in theta."""
    return np.stack([Network.from_vector(arch, e)(X).ravel() for e in np.eye(arch.n_free)], 1)


def _cvxpy_r_eps(arch, X, Y, eps):
    M, y = _dense_map(arch, X), Y.ravel()
    theta = cp.Variable(arch.n_free)
    pen = np.flatnonzero(arch.penalty_mask())
    problem = cp.Problem(cp.Minimize(cp.sum_squares(theta[pen])),
                         [cp.norm(M @ theta - y) <= eps * np.linalg.norm(y)])
    problem.solve(solver="CLARABEL")
    return problem.value


def _planted(arch, seed=3, noise=0.05):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5,) + arch.input_shape)
    Y = arch.init(rng=seed + 1)(X) + noise * rng.standard_normal((5,) + arch.output_shape)
    return X, Y


@pytest.mark.parametrize("arch", [
    cbn.Architecture((6,), (2, 2), bias=False),
    cbn.Architecture((6,), (2, 2)),                                  # penalised bias
    cbn.Architecture((6,), (2, 2), penalize_bias=False),             # free bias
    cbn.Architecture((6,), (2, 2), kernel_size=3, normalization="plain"),
])
def test_depth_one_r_eps_matches_an_independent_conic_solve(arch):
    X, Y = _planted(arch)
    eps = 0.3
    res = cbn.minimal_norm(arch, data=(X, Y), epsilon=eps)
    ref = _cvxpy_r_eps(arch, X, Y, eps)
    assert res.status == "optimal"
    assert res.upper == pytest.approx(ref, rel=1e-6)
    assert res.lower == pytest.approx(ref, rel=1e-6)
    assert res.residual <= eps
    assert "dual bound" in res.message


def test_r_eps_is_below_r_and_falls_with_epsilon():
    arch = cbn.Architecture((6,), (2, 2))
    X, Y = _planted(arch, noise=0.0)
    exact = cbn.minimal_norm(arch, data=(X, Y)).value
    values = [cbn.minimal_norm(arch, data=(X, Y), epsilon=e).value for e in (1e-4, 0.1, 0.5)]
    assert exact > values[0] > values[1] > values[2] > 0
    assert values[0] == pytest.approx(exact, rel=1e-3)   # continuous at epsilon = 0


def test_depth_one_zero_network_when_epsilon_covers_the_outputs():
    arch = cbn.Architecture((4,), (1, 1), penalize_bias=False)
    X = np.random.default_rng(0).standard_normal((3, 1, 4))
    Y = np.full((3, 1, 4), 2.0) + 0.01 * X                 # almost a constant: the free bias
    res = cbn.minimal_norm(arch, data=(X, Y), epsilon=0.5)
    assert res.status == "optimal" and res.lower == 0.0
    assert res.upper == pytest.approx(0.0, abs=1e-20)


def _lipschitz_by_loops(X, Y, slack):
    best = 0.0
    for i in range(len(X)):
        for j in range(len(X)):
            dx = float(np.linalg.norm(X[i] - X[j]))
            if i != j and dx > 0:
                best = max(best, max(float(np.linalg.norm(Y[i] - Y[j])) - 2 * slack, 0.0) / dx)
    return best


def test_relu_r_eps_fits_to_epsilon_and_its_lower_bound_has_the_slack():
    arch = cbn.Architecture((6,), (1, 3, 3, 1), kernel_size=3, normalization="plain")
    X = np.random.default_rng(2).standard_normal((6, 1, 6))
    Y = arch.init(rng=5)(X)
    eps = 0.05
    res = cbn.minimal_norm(arch, data=(X, Y), epsilon=eps, rng=0, max_iter=300)
    assert res.status in ("optimal", "not_certified")
    assert res.residual <= eps
    lam = _lipschitz_by_loops(X, Y, eps * np.linalg.norm(Y))
    gamma = (1 / 6) ** 3                                   # plain: 1/(d c^2) = 1/6 per layer
    assert res.lower == pytest.approx(3 * (gamma * lam ** 2) ** (1 / 3), rel=1e-12)
    assert res.lower <= res.upper


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, math.nan, "x", True])
def test_epsilon_is_validated(bad):
    arch = cbn.Architecture((4,), (1, 1))
    X = np.ones((2, 1, 4))
    with pytest.raises(ValidationError, match="epsilon"):
        cbn.minimal_norm(arch, data=(X, X), epsilon=bad)


def test_epsilon_is_refused_where_no_r_eps_bound_exists():
    lin = cbn.Architecture((4,), (1, 1, 1), activation="linear", bias=False)
    X = np.random.default_rng(0).standard_normal((3, 1, 4))
    with pytest.raises(ValidationError, match="epsilon.*linear architectures"):
        cbn.minimal_norm(lin, data=(X, X), epsilon=0.1)
    A = cbn.ConvOperator.from_kernel(np.ones((1, 1, 4)))
    with pytest.raises(ValidationError, match="epsilon.*whole-space"):
        cbn.minimal_norm(lin, target=A, epsilon=0.1)
    linear_target = next(n for n in cbn.targets.names()
                         if cbn.targets.get(n).kind == "operator"
                         and cbn.targets.get(n).activation == "linear")
    with pytest.raises(ValidationError, match="epsilon"):
        bound_table(linear_target, [1], epsilon=0.1)


def test_r_eps_table_names_its_object_and_bounds_it_on_both_sides():
    name = "shift_autoencoder_1d"
    eps = 0.01
    table = bound_table(name, [1], quick=True, epsilon=eps)
    assert table.epsilon == eps and table.object_name.startswith("R_eps")
    row = table.rows[0]
    assert row.status == "optimal" and row.residual <= eps
    t = cbn.targets.get(name)
    X, Y = t.data(quick=True)
    ref = _cvxpy_r_eps(t.architecture(1, quick=True), X, Y, eps)
    assert row.lower == pytest.approx(ref, rel=1e-6) and row.upper == pytest.approx(ref, rel=1e-6)
    exact = bound_table(name, [1], quick=True).rows[0]
    assert row.upper < exact.lower                            # a different, smaller object


def test_cli_epsilon(capsys):
    assert main(["table", "shift_autoencoder_1d", "--quick", "--depths", "1", "--epsilon",
                 "0.01", "--format", "json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    table = data["tables"][0]
    assert table["epsilon"] == 0.01 and table["object"].startswith("R_eps")
    assert "--epsilon 0.01" in data["provenance"]["command"]
