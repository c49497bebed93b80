"""Tests of cbntheory.backends.conic: reference problems with closed-form answers, every solver.

Each reference problem is solved by every solver of ``settings.CONIC_SOLVERS``; a solver
that is missing makes the test fail (no silent skip).  The answers are closed forms
derived in the comments, never numbers copied from a run.
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from cbntheory import settings
from cbntheory.backends import conic
from cbntheory.errors import SolverError, ValidationError

SOLVERS = list(settings.CONIC_SOLVERS)
# SCS is first-order: its answers are compared at a looser (but still tight) tolerance
RTOL = {"CLARABEL": 1e-7, "SCS": 1e-5}


def _orthant_cost(y: np.ndarray) -> float:
    # one pattern, features = identity, cone = positive orthant:
    # min ||a|| + ||a'|| s.t. a - a' = y, a, a' >= 0.  Any split a = y+ + e, a' = y- + e
    # with e >= 0 costs at least ||y+|| + ||y-|| (norms are monotone on the orthant), so
    # the optimum is ||y+|| + ||y-||.
    return float(np.linalg.norm(np.maximum(y, 0)) + np.linalg.norm(np.maximum(-y, 0)))


@pytest.mark.parametrize("solver", SOLVERS)
def test_min_norm_on_a_hyperplane(solver):
    # min ||x|| s.t. <a, x> = b: x = b a / ||a||^2, value |b| / ||a||
    a, b = np.array([3.0, 4.0, 12.0]), 26.0
    x = cp.Variable(3)
    con = a @ x == b
    sol = conic.solve(cp.Problem(cp.Minimize(cp.norm(x, 2)), [con]), {"x": x}, {"c": con},
                      solver=solver)
    assert sol.status == "optimal" and sol.solver == solver
    assert sol.objective == pytest.approx(2.0, rel=RTOL[solver])
    assert np.allclose(sol.values["x"], b * a / 169.0, atol=10 * RTOL[solver])
    # the multiplier of the constraint is +-1/||a|| (gradient of ||x|| at the optimum = l a)
    assert abs(abs(float(sol.duals["c"])) - 1 / 13) < 10 * RTOL[solver]


@pytest.mark.parametrize("solver", SOLVERS)
def test_group_lasso_single_pattern_orthant(solver):
    y = np.array([1.0, -2.0, 2.0, -0.5])
    F = np.eye(4)[None]                 # (P=1, N=4, r=4): g_D(x_n) = e_n
    H = np.eye(4)                       # hyperplanes x_j = 0 ...
    S = np.ones((1, 4))                 # ... all on the + side: K = orthant
    sol = conic.group_lasso(F, H, S, y[:, None], norm_dims=4, solver=solver)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(_orthant_cost(y), rel=RTOL[solver])
    pos, neg = sol.values["pos"][0, 0], sol.values["neg"][0, 0]
    assert np.allclose(pos - neg, y, atol=1e-6)
    assert pos.min() > -1e-7 and neg.min() > -1e-7


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("bias", ["free", "penalized"])
def test_group_lasso_output_bias(solver, bias):
    # with an output bias b the optimum is min_b cost(y - b) (+ b^2/2): a convex function
    # of one variable, minimised here on a fine grid refined by bisection-free golden steps
    y = np.array([1.0, 3.0, 2.5, -0.5])
    extra = (lambda b: 0.5 * b * b) if bias == "penalized" else (lambda b: 0.0)
    grid = np.linspace(-4, 4, 8001)
    vals = [_orthant_cost(y - b) + extra(b) for b in grid]
    k = int(np.argmin(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    for _ in range(100):  # golden-section search on the bracketing interval
        m1, m2 = lo + 0.382 * (hi - lo), lo + 0.618 * (hi - lo)
        f1, f2 = _orthant_cost(y - m1) + extra(m1), _orthant_cost(y - m2) + extra(m2)
        lo, hi = (lo, m2) if f1 < f2 else (m1, hi)
    expected = _orthant_cost(y - lo) + extra(lo)
    sol = conic.group_lasso(np.eye(4)[None], np.eye(4), np.ones((1, 4)), y[:, None],
                            norm_dims=4, output_bias=bias, solver=solver)
    assert sol.objective == pytest.approx(expected, rel=max(RTOL[solver], 1e-9), abs=1e-7)


@pytest.mark.parametrize("solver", SOLVERS)
def test_group_lasso_two_outputs_one_pattern(solver):
    # two outputs, one pattern: objective || (cost(y_1), cost(y_2)) ||_2
    Y = np.array([[1.0, 0.5], [-2.0, 0.0], [0.0, -1.0]])
    sol = conic.group_lasso(np.eye(3)[None], np.eye(3), np.ones((1, 3)), Y, norm_dims=3,
                            solver=solver)
    expected = np.hypot(_orthant_cost(Y[:, 0]), _orthant_cost(Y[:, 1]))
    assert sol.objective == pytest.approx(expected, rel=RTOL[solver])
    assert sol.duals["fit"].shape == (3, 2)


@pytest.mark.parametrize("solver", SOLVERS)
def test_output_weights_lasso_identity(solver):
    # Phi = identity: v_j = Y_j is forced, optimum sum_j ||Y_j||_2
    Y = np.array([[3.0, 4.0], [0.0, -1.0], [1.0, 1.0]])
    sol = conic.output_weights_lasso(np.eye(3), Y, solver=solver)
    assert sol.objective == pytest.approx(5 + 1 + np.sqrt(2), rel=RTOL[solver])
    assert np.allclose(sol.values["v"], Y, atol=1e-5)


def test_fallback_order_and_solver_error():
    x = cp.Variable(2)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(x)), [cp.sum(x) == 2])
    sol = conic.solve(prob, {"x": x}, solver=("NO_SUCH_SOLVER", "CLARABEL"))
    assert sol.solver == "CLARABEL" and sol.tried[0].startswith("NO_SUCH_SOLVER")
    assert np.allclose(sol.values["x"], [1.0, 1.0], atol=1e-7)
    with pytest.raises(SolverError, match="NO_SUCH_SOLVER"):
        conic.solve(prob, {"x": x}, solver="NO_SUCH_SOLVER")


def test_infeasible_status():
    x = cp.Variable()
    prob = cp.Problem(cp.Minimize(cp.abs(x)), [x == 1, x == 2])
    sol = conic.solve(prob, {"x": x})
    assert sol.status == "infeasible" and np.isnan(sol.objective)


def test_status_vocabulary():
    assert conic.status_of(cp.OPTIMAL) == "optimal"
    assert conic.status_of(cp.INFEASIBLE_INACCURATE) == "infeasible"
    assert conic.status_of(cp.UNBOUNDED) == "solver_error"
    assert conic.status_of(cp.USER_LIMIT) == "solver_error"


def test_bad_input_names_the_parameter():
    with pytest.raises(ValidationError, match="signs"):
        conic.group_lasso(np.ones((2, 3, 2)), np.ones((4, 2)), np.ones((2, 3)), np.ones((3, 1)),
                          norm_dims=2)
    with pytest.raises(ValidationError, match="output_bias"):
        conic.group_lasso(np.ones((1, 3, 2)), np.ones((1, 2)), np.ones((1, 1)), np.ones((3, 1)),
                          norm_dims=2, output_bias="maybe")
    with pytest.raises(ValidationError, match="solver"):
        conic.solver_order(3)


def test_check_drives_the_fallback():
    # the caller's check (a rank, 0 = accepted) moves on to the next solver while it
    # fails and keeps the best-ranked answer when none passes
    x = cp.Variable(2)
    prob = cp.Problem(cp.Minimize(cp.norm(x, 2)), [x[0] + x[1] == 2])
    seen: list[str] = []

    def reject_first(sol):
        seen.append(sol.solver)
        return 0 if len(seen) > 1 else 1

    sol = conic.solve(prob, {"x": x}, solver=SOLVERS, check=reject_first)
    assert seen == SOLVERS[:2] and sol.solver == SOLVERS[1]
    ranks = dict(zip(SOLVERS, (2, 1)))
    sol = conic.solve(prob, {"x": x}, solver=SOLVERS, check=lambda s: ranks[s.solver])
    assert sol.solver == SOLVERS[1] and len(sol.tried) == 2
    assert np.allclose(sol.values["x"], [1.0, 1.0], atol=1e-4)


def _best_basic_solution(Phi, y, free_bias):
    """min ||v||_1 s.t. Phi^T v (+ b) = y by brute force over the square subsystems.

    A linear program attains its optimum at a basic solution: N columns (the bias column
    among them when free, at no cost) solved exactly; the cheapest of all such subsets.
    """
    from itertools import combinations

    A = Phi.T if not free_bias else np.hstack([Phi.T, np.ones((len(y), 1))])
    J, N = Phi.shape[0], len(y)
    best = np.inf
    for cols in combinations(range(A.shape[1]), N):
        sub = A[:, cols]
        if abs(np.linalg.det(sub)) < 1e-12:
            continue
        x = np.linalg.solve(sub, y)
        best = min(best, float(sum(abs(x[i]) for i, c in enumerate(cols) if c < J)))
    return best


@pytest.mark.parametrize("free_bias", [False, True])
def test_output_weights_basis_is_an_optimal_vertex(free_bias):
    rng = np.random.default_rng(3)
    Phi = np.abs(rng.standard_normal((9, 4)))
    y = rng.standard_normal((4, 1))
    sol = conic.output_weights_basis(Phi, y, output_bias="free" if free_bias else "none")
    v, b = sol.values["v"], sol.values["bias"]
    assert sol.status == "optimal" and v.shape == (9, 1) and b.shape == (1,)
    # the optimum of the brute-force enumeration of basic solutions (independent of HiGHS)
    assert sol.objective == pytest.approx(_best_basic_solution(Phi, y[:, 0], free_bias),
                                          rel=1e-9)
    assert float(np.sum(np.abs(v))) == pytest.approx(sol.objective, rel=1e-12)
    assert np.count_nonzero(v) <= 4  # a vertex: at most N channels
    assert np.linalg.norm(Phi.T @ v + b - y) <= 1e-9 * np.linalg.norm(y)
    if not free_bias:
        assert b[0] == 0.0
    # the same program as the interior-point group lasso (second solver, conic form)
    ref = conic.output_weights_lasso(Phi, y, output_bias="free" if free_bias else "none")
    assert sol.objective == pytest.approx(ref.objective, rel=1e-7)


def test_output_weights_basis_rejects_what_is_not_a_linear_program():
    Phi = np.eye(3)
    with pytest.raises(ValidationError, match="output_bias"):
        conic.output_weights_basis(Phi, np.ones((3, 1)), output_bias="penalized")
    with pytest.raises(ValidationError, match="outputs"):
        conic.output_weights_basis(Phi, np.ones((3, 2)))
