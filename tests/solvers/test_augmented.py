"""Tests of the augmented-Lagrangian minimiser (solvers.augmented) and its network constraints.

Every expected value is independent of the code under test: least-norm solutions of
linear systems (numpy's pseudo-inverse, the KKT system solved directly), the scalar
identity min{sum w_l^2 : prod w_l = s} = L s^(2/L), central finite differences, and the
network engine's reverse pass for the spectral constraint.
"""
from __future__ import annotations

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.solvers.augmented import minimize_norm_subject_to
from cbntheory.solvers.constraints import SpectralConstraint, network_constraint
from cbntheory.solvers.starts import initial_vector


def linear_constraint(A, b):
    return lambda x: (A @ x - b, lambda v: A.T @ v)


def test_least_norm_point_of_an_affine_subspace():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 7))
    b = rng.standard_normal(3)
    res = minimize_norm_subject_to(linear_constraint(A, b), rng.standard_normal(7))
    expected = np.linalg.pinv(A) @ b
    assert res.converged and res.status == "not_certified"
    assert np.allclose(res.x, expected, atol=1e-7)
    assert res.objective == pytest.approx(float(expected @ expected), rel=1e-9)


def test_weights_leave_free_coordinates_unpenalised():
    # min x0^2 + x1^2 subject to x0 + x1 + x2 = 3 and x2 - x1 = 1, x2 free.
    A = np.array([[1.0, 1.0, 1.0], [0.0, -1.0, 1.0]])
    b = np.array([3.0, 1.0])
    w = np.array([1.0, 1.0, 0.0])
    res = minimize_norm_subject_to(linear_constraint(A, b), np.zeros(3), weights=w)
    # KKT: 2 W x + A^T lam = 0, A x = b (solved as one linear system)
    K = np.block([[2 * np.diag(w), A.T], [A, np.zeros((2, 2))]])
    sol = np.linalg.solve(K, np.concatenate([np.zeros(3), b]))
    assert np.allclose(res.x, sol[:3], atol=1e-7)


def _product_constraint(s: float):
    """``r(x) = prod(x) - s``: minimal ``||x||^2`` is ``L s^(2/L)`` (the bridge identity)."""
    def con(x):
        p = float(np.prod(x))
        grads = np.array([np.prod(np.delete(x, i)) for i in range(len(x))])
        return np.array([p - s]), lambda v: v[0] * grads
    return con


@pytest.mark.parametrize("depth, s", [(2, 3.0), (4, 0.5), (6, 2.0)])
def test_scalar_product_constraint_matches_the_bridge_identity(depth, s):
    x0 = np.random.default_rng(depth).uniform(0.5, 1.5, depth)
    res = minimize_norm_subject_to(_product_constraint(s), x0)
    assert res.objective == pytest.approx(depth * s ** (2.0 / depth), rel=1e-8)
    assert np.allclose(np.abs(res.x), s ** (1.0 / depth), rtol=1e-5)  # balanced


def test_keyboard_interrupt_returns_the_last_accepted_point():
    A = np.eye(2)
    b = np.array([1.0, 2.0])
    calls = {"n": 0}

    def con(x):
        calls["n"] += 1
        if calls["n"] == 6:  # one Ctrl-C in the middle of the fit phase
            raise KeyboardInterrupt
        return A @ x - b, lambda v: v

    x0 = np.array([5.0, 5.0])
    res = minimize_norm_subject_to(con, x0, fit_tol=1e-12)
    assert res.interrupted and not res.converged
    assert res.status in ("optimal_inaccurate", "solver_error")
    # the fit phase had made progress: the returned point is closer than the start
    assert np.linalg.norm(res.x - b) < np.linalg.norm(x0 - b)


def test_an_exhausted_budget_gives_a_status_not_an_exception():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 12))
    b = rng.standard_normal(4)
    res = minimize_norm_subject_to(linear_constraint(A, b), np.zeros(12), max_iter=2)
    assert not res.converged
    assert res.status in ("optimal_inaccurate", "solver_error")
    assert res.n_iterations <= 2


def test_inconsistent_constraints_end_in_solver_error():
    A = np.array([[1.0, 0.0], [1.0, 0.0]])
    b = np.array([1.0, 2.0])  # x0 = 1 and x0 = 2
    res = minimize_norm_subject_to(linear_constraint(A, b), np.zeros(2), max_iter=500)
    assert res.status == "solver_error" and not res.converged
    assert res.residual == pytest.approx(np.sqrt(0.5), rel=1e-4)  # least-squares optimum


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="weights"):
        minimize_norm_subject_to(linear_constraint(np.eye(2), np.ones(2)), np.zeros(2),
                                 weights=np.array([1.0, -1.0]))


@pytest.mark.parametrize("shape, ks", [((8,), None), ((7,), 3), ((4, 6), None), ((5, 4), (3, 2))])
def test_spectral_constraint_agrees_with_the_engine(shape, ks):
    arch = cbn.Architecture(shape, (2, 3, 2), activation="linear", bias=False, kernel_size=ks)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 2) + shape)
    Y = rng.standard_normal((4, 2) + shape)
    theta = arch.init(rng=1).to_vector()
    r1, vjp1 = SpectralConstraint(arch, X, Y)(theta)
    r2, vjp2 = network_constraint(arch, X, Y)(theta)
    assert np.linalg.norm(r1) == pytest.approx(np.linalg.norm(r2), rel=1e-12)
    # the gradient of ||r||^2 / 2 is J^T r in both parametrisations of the residual
    assert np.allclose(vjp1(r1), vjp2(r2), atol=1e-12)


def test_engine_constraint_vjp_matches_finite_differences():
    arch = cbn.Architecture((6,), (1, 2, 1), kernel_size=3)  # ReLU, biases
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 1, 6))
    Y = rng.standard_normal((3, 1, 6))
    con = network_constraint(arch, X, Y)
    theta = arch.init(rng=2).to_vector() + 0.1 * rng.standard_normal(arch.n_free)
    r, vjp = con(theta)
    v = rng.standard_normal(r.size)
    direction = rng.standard_normal(theta.size)
    h = 1e-6
    fd = (con(theta + h * direction)[0] - con(theta - h * direction)[0]) @ v / (2 * h)
    assert float(vjp(v) @ direction) == pytest.approx(float(fd), rel=1e-5, abs=1e-8)


def test_orthogonal_initialisation_has_unitary_blocks_and_matched_parity():
    arch = cbn.Architecture((6,), (3, 3, 3), activation="linear", bias=False)
    ref = cbn.ConvOperator.from_kernel(np.random.default_rng(5).standard_normal((3, 3, 6)))
    theta = initial_vector(arch, np.random.default_rng(0), init="orthogonal",
                           reference=ref.blocks)
    net = cbn.Network.from_vector(arch, theta)
    prod = np.eye(3)
    for l in range(2):
        B = net.layer_blocks(l)
        assert np.allclose(np.linalg.svd(B, compute_uv=False), 1.0)
        prod = B @ prod
    for m in (0, 3):  # the real frequencies of Z_6
        assert np.sign(np.linalg.det(prod[m].real)) == np.sign(np.linalg.det(ref.blocks[m].real))


# --- the annealed penalty phase (issue 15) ---------------------------------------------

@pytest.mark.parametrize("depth, s", [(2, 3.0), (4, 0.5), (6, 2.0)])
def test_annealed_phase_hands_over_to_the_multipliers_and_reaches_the_bridge_identity(depth, s):
    x0 = np.random.default_rng(depth).uniform(0.5, 1.5, depth)
    res = minimize_norm_subject_to(_product_constraint(s), x0, anneal=(1e-1, 1e-2, 1e-3),
                                   anneal_share=0.5)
    assert res.converged and len(res.anneal) == 3
    assert res.objective == pytest.approx(depth * s ** (2.0 / depth), rel=1e-8)
    assert res.message.startswith("annealed penalty, 3 stage(s)")


def test_an_annealing_stage_ends_at_the_ridge_solution():
    # one stage from x0 = 0 (so its weight is absolute): the minimiser of
    # ||A x - b||^2 + lam ||x||^2 is (A^T A + lam I)^{-1} A^T b
    rng = np.random.default_rng(3)
    A = rng.standard_normal((3, 7))
    b = rng.standard_normal(3)
    lam = 0.3
    res = minimize_norm_subject_to(linear_constraint(A, b), np.zeros(7), anneal=(lam,),
                                   max_iter=400, anneal_share=0.5)
    ridge = np.linalg.solve(A.T @ A + lam * np.eye(7), A.T @ b)
    stage = res.anneal[0]
    assert stage["weight"] == lam and 0 < stage["iterations"] <= 0.5 * 0.85 * 400
    assert stage["objective"] == pytest.approx(float(ridge @ ridge), rel=1e-8)
    assert stage["residual"] == pytest.approx(float(np.linalg.norm(A @ ridge - b)), rel=1e-8)
    # and the multiplier phase then reaches the least-norm solution
    assert np.allclose(res.x, np.linalg.pinv(A) @ b, atol=1e-7)


def test_an_annealed_run_keeps_its_iteration_budget_without_a_polish_reserve():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 40))
    b = rng.standard_normal(5)
    res = minimize_norm_subject_to(linear_constraint(A @ np.diag(np.geomspace(1, 1e-3, 40)), b),
                                   np.zeros(40), anneal=(1.0, 1e-1, 1e-2), anneal_share=1.0,
                                   polish_reserve=0.0, max_iter=30)
    assert res.n_iterations <= 30
    assert sum(st["iterations"] for st in res.anneal) == res.n_iterations


@pytest.mark.parametrize("options", [{"anneal": (1.0, -1.0)}, {"anneal": (np.nan,)},
                                     {"anneal_share": 0.0}, {"polish_reserve": 1.0}])
def test_bad_annealing_options_are_refused(options):
    with pytest.raises(ValueError):
        minimize_norm_subject_to(linear_constraint(np.eye(2), np.ones(2)), np.zeros(2),
                                 **options)


# --- the annealed stage in a metric (session 11) -----------------------------------------

def test_a_metric_stage_ends_at_the_metric_ridge_solution():
    # r = A x - b has Jacobian A everywhere, so the Gauss-Newton metric is the constant
    # M = (A A^T + d I)^{-1}; the minimiser of r^T M r + lam ||x||^2 solves
    # (A^T M A + lam I) x = A^T M b.  The stage's weight is not divided by the start's norm.
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 7)) @ np.diag(np.geomspace(1.0, 1e-2, 7))
    b = rng.standard_normal(3)
    M = np.linalg.inv(A @ A.T + 1e-3 * np.eye(3))
    calls = []

    def metric(x):
        calls.append(x.copy())
        return lambda r: M @ r

    lam, x0 = 0.05, rng.standard_normal(7)
    res = minimize_norm_subject_to(linear_constraint(A, b), x0, metric=metric, metric_weight=lam,
                                   metric_iterations=300, metric_refresh=25, max_iter=600,
                                   anneal_share=0.5)
    expected = np.linalg.solve(A.T @ M @ A + lam * np.eye(7), A.T @ M @ b)
    (stage,) = res.anneal
    assert stage["weight"] == lam and stage["metric"] and stage["iterations"] <= 300
    assert stage["objective"] == pytest.approx(float(expected @ expected), rel=1e-7)
    # made at the start, then again after every run of at most 25 iterations
    assert np.array_equal(calls[0], x0) and len(calls) >= stage["iterations"] / 25


def test_the_gauss_newton_metric_solves_the_damped_gram_system():
    # against the dense Jacobian from the definition (one reverse pass per output row)
    from cbntheory.nets.jacobian import parameter_jacobian
    from cbntheory.solvers.projection import gauss_newton_metric

    arch = cbn.Architecture((6,), (1, 3, 3, 1))
    net = arch.init(rng=2)
    X = np.random.default_rng(3).standard_normal((4, 1, 6))
    Y = np.random.default_rng(4).standard_normal((4, 1, 6))
    scale = np.linalg.norm(Y)
    J = parameter_jacobian(net, X)[1] / scale
    G = J @ J.T
    G += 1e-3 * np.trace(G) / G.shape[0] * np.eye(G.shape[0])
    r = ((net(X) - Y) / scale).ravel()
    apply = gauss_newton_metric(arch, X, Y)(net.to_vector())
    exact = np.linalg.solve(G, r)  # the metric's J J^T is float32: errors ~1e-7 x cond
    assert np.max(np.abs(apply(r) - exact)) <= 1e-5 * np.max(np.abs(exact))
    # a bias-free network with zero weights moves no output to first order: the metric
    # falls back to the plain residual
    flat = cbn.Architecture((6,), (1, 3, 3, 1), bias=False)
    assert np.array_equal(gauss_newton_metric(flat, X, Y)(np.zeros(flat.n_free))(r), r)


def test_plain_stages_then_the_metric_stage_share_the_budget():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((3, 7))
    res = minimize_norm_subject_to(linear_constraint(A, rng.standard_normal(3)), np.ones(7),
                                   anneal=(1.0, 0.1), metric=lambda x: (lambda r: r),
                                   metric_iterations=40, anneal_share=1.0, polish_reserve=0.0,
                                   max_iter=100)
    assert [st["metric"] for st in res.anneal] == [False, False, True]
    assert [st["iterations"] <= cap for st, cap in zip(res.anneal, (30, 30, 40))] == [True] * 3


@pytest.mark.parametrize("options", [{"metric_refresh": 0}, {"metric_iterations": -1},
                                     {"metric_weight": 0.0}, {"metric_weight": np.inf}])
def test_bad_metric_options_are_refused(options):
    with pytest.raises(ValueError, match=next(iter(options))):
        minimize_norm_subject_to(linear_constraint(np.eye(2), np.ones(2)), np.zeros(2),
                                 metric=lambda x: (lambda r: r), **options)
