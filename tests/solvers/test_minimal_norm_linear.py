"""Tests of cbn.minimal_norm on linear architectures.

Independent references: the dense operator matrix built entry by entry with loops and
its SVD (T1 through the singular values of the whole operator), least-norm kernels from
a design matrix built with loops (instead of per-frequency pseudo-inverses), planted
networks whose norm bounds the answer from above, a second algorithm (per-frequency
nuclear-norm programs vs the closed form, the numerical solver vs the closed form),
and invariances (circular shifts of the data, scaling of the targets).
"""
from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.solvers.problem import Candidate, Outcome


# ----------------------------------------------------------------------------- references
def pixels(shape):
    return list(itertools.product(*[range(s) for s in shape]))


def design(X, c):
    """D[(n, p), (i, q)] = c * x_n[i, p - q], entry by entry."""
    N, cin = X.shape[:2]
    shape = X.shape[2:]
    P = pixels(shape)
    D = np.zeros((N * len(P), cin * len(P)))
    for n in range(N):
        for a, p in enumerate(P):
            for i in range(cin):
                for b, q in enumerate(P):
                    src = tuple((pp - qq) % s for pp, qq, s in zip(p, q, shape))
                    D[n * len(P) + a, i * len(P) + b] = c * X[(n, i) + src]
    return D


def dense_operator(kernel, c):
    """M[(o, p), (i, q)] = c * W[o, i, p - q], entry by entry."""
    cout, cin = kernel.shape[:2]
    shape = kernel.shape[2:]
    P = pixels(shape)
    M = np.zeros((cout * len(P), cin * len(P)))
    for o in range(cout):
        for i in range(cin):
            for a, p in enumerate(P):
                for b, q in enumerate(P):
                    src = tuple((pp - qq) % s for pp, qq, s in zip(p, q, shape))
                    M[o * len(P) + a, i * len(P) + b] = c * kernel[(o, i) + src]
    return M


def t1_dense(kernel, c, depth, factor=1.0, rtol=1e-9):
    """(L / (d c^2)) * sum of s^(2/L) over the singular values of the dense operator."""
    s = np.linalg.svd(dense_operator(kernel, c), compute_uv=False)
    s = s[s > rtol * s.max()] if s.max() > 0 else s[:0]
    return factor * depth * float(np.sum(s ** (2.0 / depth)))


def least_norm_kernel(X, Y, c, intercept=None):
    """Least-norm kernel (and intercept) with conv(K, x_n) (+ b) = y_n, from the design matrix.

    intercept: None (no bias), "free" or "penalized".
    """
    D = design(X, c)
    cout = Y.shape[1]
    shape = X.shape[2:]
    P = pixels(shape)
    rhs = np.stack([Y[:, o].reshape(-1) for o in range(cout)], axis=1)
    b = np.zeros(cout)
    if intercept == "free":
        Dm, rm = D.mean(axis=0), rhs.mean(axis=0)
        sol = np.linalg.pinv(D - Dm) @ (rhs - rm)
        b = rm - Dm @ sol
    elif intercept == "penalized":
        full = np.linalg.pinv(np.hstack([D, np.ones((D.shape[0], 1))])) @ rhs
        sol, b = full[:-1], full[-1]
    else:
        sol = np.linalg.pinv(D) @ rhs
    kernel = np.zeros((cout, X.shape[1]) + shape)
    for o in range(cout):
        for i in range(X.shape[1]):
            for bq, q in enumerate(P):
                kernel[(o, i) + q] = sol[i * len(P) + bq, o]
    return kernel, b


def linear_arch(shape, channels, **kw):
    kw.setdefault("bias", False)
    return cbn.Architecture(shape, channels, activation="linear", **kw)


# ----------------------------------------------------------------------------- whole space
@pytest.mark.parametrize("shape, channels, normalization", [
    ((6,), (2, 3, 3, 2), "operator"),
    ((5,), (1, 2, 1), "plain"),
    ((3, 4), (2, 2, 2, 2, 2), "operator"),
])
def test_target_full_size_equals_t1_of_the_dense_operator(shape, channels, normalization):
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((channels[-1], channels[0]) + shape)
    A = cbn.ConvOperator.from_kernel(kernel, normalization)
    arch = linear_arch(shape, channels, normalization=normalization)
    res = cbn.minimal_norm(arch, target=A)
    d = int(np.prod(shape))
    c = A.c
    expected = t1_dense(kernel, c, arch.depth, factor=1.0 / (d * c * c))
    assert res.status == "optimal" and res.exact
    assert res.value == pytest.approx(expected, rel=1e-9)
    assert res.lower == pytest.approx(expected, rel=1e-9)
    assert res.network.param_norm() == pytest.approx(res.upper, rel=1e-12)
    x = rng.standard_normal((3, channels[0]) + shape)
    assert np.allclose(res.network(x), A.apply(x), atol=1e-10)


def test_target_normalisation_of_the_operator_does_not_matter():
    rng = np.random.default_rng(1)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2, 6)), "plain")
    B = cbn.ConvOperator.from_blocks(A.blocks, "operator")  # the same map
    arch = linear_arch((6,), (2, 2, 2))
    assert cbn.minimal_norm(arch, target=A).value == pytest.approx(
        cbn.minimal_norm(arch, target=B).value, rel=1e-12)


def test_target_with_biases_uses_zero_biases():
    rng = np.random.default_rng(2)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2, 6)))
    for penalize in (True, False):
        arch = linear_arch((6,), (2, 3, 2), bias=True, penalize_bias=penalize)
        res = cbn.minimal_norm(arch, target=A)
        assert res.status == "optimal"
        assert res.value == pytest.approx(t1_dense(A.kernel, A.c, 2), rel=1e-9)
        assert all(np.all(b == 0) for b in res.network.biases)


# ----------------------------------------------------------------------------- finite data
@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_finite_data_cost_is_t1_of_the_least_norm_map_at_every_depth(depth):
    rng = np.random.default_rng(3)
    shape = (6,)
    X = rng.standard_normal((2, 3) + shape)          # 2 samples, 3 channels: A is not determined
    planted = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 3) + shape))
    Y = planted.apply(X)
    arch = linear_arch(shape, (3,) + (3,) * (depth - 1) + (2,))
    res = cbn.minimal_norm(arch, data=(X, Y))
    c = planted.c
    K0, _ = least_norm_kernel(X, Y, c)
    expected = t1_dense(K0, c, depth)
    assert res.status == "optimal"
    assert res.value == pytest.approx(expected, rel=1e-8)
    assert res.residual <= 1e-10
    # the planted map fits the data too, and costs at least as much (T1-data)
    assert t1_dense(planted.kernel, c, depth) >= res.value * (1 - 1e-12)


def test_every_feasible_map_has_larger_singular_values():
    """The interlacing argument behind T1-data, checked on random feasible maps."""
    rng = np.random.default_rng(4)
    shape = (5,)
    X = rng.standard_normal((2, 3) + shape)
    Y = rng.standard_normal((2, 2) + shape)
    c = 1 / np.sqrt(5)
    D = design(X, c)
    K0, _ = least_norm_kernel(X, Y, c)
    s0 = np.sort(np.linalg.svd(dense_operator(K0, c), compute_uv=False))[::-1]
    null = np.linalg.svd(D)[2][np.linalg.matrix_rank(D):]          # kernel directions fitting 0
    for _ in range(5):
        extra = (null.T @ rng.standard_normal((null.shape[0], 2))).T    # (2, 3*5)
        K = K0 + extra.reshape(2, 3, 5)
        assert np.allclose(D @ K.reshape(2, -1).T, D @ K0.reshape(2, -1).T)   # same outputs
        s = np.sort(np.linalg.svd(dense_operator(K, c), compute_uv=False))[::-1]
        assert np.all(s >= s0 - 1e-10)


def test_data_in_2d():
    rng = np.random.default_rng(5)
    shape = (3, 4)
    X = rng.standard_normal((2, 2) + shape)   # X_m is 2 x 2 and invertible: any Y is feasible
    Y = rng.standard_normal((2, 1) + shape)
    arch = linear_arch(shape, (2, 2, 2, 1))
    res = cbn.minimal_norm(arch, data=(X, Y))
    K0, _ = least_norm_kernel(X, Y, 1 / np.sqrt(12))
    assert res.status == "optimal"
    assert res.value == pytest.approx(t1_dense(K0, 1 / np.sqrt(12), 3), rel=1e-8)


@pytest.mark.parametrize("shape", [(6,), (4, 4)])
def test_nuclear_norm_programs_agree_with_the_closed_form(shape):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((3, 2) + shape)
    planted = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2) + shape))
    Y = planted.apply(X)
    arch = linear_arch(shape, (2, 2, 2))
    conv = cbn.minimal_norm(arch, data=(X, Y), method="convex")
    closed = cbn.minimal_norm(arch, data=(X, Y), method="closed_form")
    K0, _ = least_norm_kernel(X, Y, planted.c)
    expected = t1_dense(K0, planted.c, 2)
    assert conv.status == "optimal" and conv.solver in ("CLARABEL", "SCS", "CLARABEL+SCS")
    assert conv.value == pytest.approx(expected, rel=1e-6)
    assert closed.value == pytest.approx(expected, rel=1e-9)
    assert conv.info["conic_objective"] == pytest.approx(expected, rel=1e-6)


def test_planted_networks_bound_the_answer_from_above():
    rng = np.random.default_rng(7)
    arch = linear_arch((6,), (2, 3, 3, 2))
    X = rng.standard_normal((4, 2, 6))
    for seed in range(3):
        planted = arch.init(rng=seed)
        res = cbn.minimal_norm(arch, data=(X, planted(X)))
        assert res.lower <= res.value + 1e-12
        assert res.value <= planted.param_norm() * (1 + 1e-12)


# ----------------------------------------------------------------------------- invariances
def test_circular_shift_of_all_data_leaves_the_cost_unchanged():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((2, 2, 3, 4))
    Y = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2, 3, 4))).apply(X)
    arch = linear_arch((3, 4), (2, 2, 2, 2))
    base = cbn.minimal_norm(arch, data=(X, Y)).value
    moved = cbn.minimal_norm(arch, data=(np.roll(X, (1, 2), axis=(2, 3)),
                                         np.roll(Y, (1, 2), axis=(2, 3)))).value
    assert moved == pytest.approx(base, rel=1e-10)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_scaling_the_targets_by_t_scales_the_cost_by_t_to_the_2_over_L(depth):
    rng = np.random.default_rng(9)
    X = rng.standard_normal((3, 2, 6))
    Y = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2, 6))).apply(X)
    arch = linear_arch((6,), (2,) * (depth + 1))
    t = 3.7
    base = cbn.minimal_norm(arch, data=(X, Y)).value
    assert cbn.minimal_norm(arch, data=(X, t * Y)).value == pytest.approx(
        t ** (2.0 / depth) * base, rel=1e-10)


# ----------------------------------------------------------------------------- numerical route
def test_numerical_solver_from_random_starts_reaches_the_closed_form():
    rng = np.random.default_rng(10)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2, 6)))
    arch = linear_arch((6,), (2, 2, 2, 2))
    res = cbn.minimal_norm(arch, target=A, method="numerical", rng=3)
    closed = cbn.linear_cost(A, 3).value
    assert res.status == "optimal" and not res.exact
    assert res.value == pytest.approx(closed, rel=1e-6)
    assert res.seed == 3 and res.info["runs"][0]["seed"] == res.network.seed


def test_ktap_interval_lies_between_full_size_value_and_a_planted_network():
    rng = np.random.default_rng(11)
    arch = linear_arch((7,), (1, 2, 1), kernel_size=3)
    planted = arch.init(rng=4)
    X = rng.standard_normal((3, 1, 7))
    Y = planted(X)
    res = cbn.minimal_norm(arch, data=(X, Y), rng=0, restarts=2)
    K0, _ = least_norm_kernel(X, Y, 1 / np.sqrt(7))
    full_size = t1_dense(K0, 1 / np.sqrt(7), 2)
    assert res.lower == pytest.approx(full_size, rel=1e-8)
    assert res.status in ("optimal", "not_certified")
    assert res.residual <= 1e-6
    assert res.upper >= res.lower * (1 - 1e-6)
    assert res.upper <= planted.param_norm() * (1 + 1e-6)
    assert np.all(res.network.kernels[0][..., ~arch.windows[0]] == 0)


# ----------------------------------------------------------------------------- biases
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_free_biases_cost_the_t1_value_of_the_centred_least_norm_map(depth):
    rng = np.random.default_rng(12)
    X = rng.standard_normal((3, 2, 5))
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2, 5)))
    Y = A.apply(X) + np.array([1.5, -0.5])[None, :, None]
    arch = linear_arch((5,), (2,) * (depth + 1), bias=True, penalize_bias=False)
    res = cbn.minimal_norm(arch, data=(X, Y))
    K, _ = least_norm_kernel(X, Y, A.c, intercept="free")
    assert res.status == "optimal"
    assert res.value == pytest.approx(t1_dense(K, A.c, depth), rel=1e-8)


def test_penalised_bias_at_depth_one_is_the_least_norm_solution():
    rng = np.random.default_rng(13)
    X = rng.standard_normal((2, 2, 5))    # X_m is 2 x 2: any outputs are feasible
    Y = rng.standard_normal((2, 1, 5)) + 2.0
    for ks in (None, 3):
        arch = linear_arch((5,), (2, 1), bias=True, kernel_size=ks)
        if ks is None:
            K, b = least_norm_kernel(X, Y, 1 / np.sqrt(5), intercept="penalized")
            expected = float(np.sum(K ** 2) + np.sum(b ** 2))
        else:  # a planted 3-tap map, so the data are feasible
            planted = arch.init(rng=1)
            planted = cbn.Network(arch, planted.kernels, [np.array([0.7])])
            Y = planted(X)
            mask = arch.windows[0]
            D = design(X, 1 / np.sqrt(5))[:, np.tile(mask, 2)]
            full = np.linalg.pinv(np.hstack([D, np.ones((D.shape[0], 1))])) @ Y.reshape(-1)
            expected = float(full @ full)
        res = cbn.minimal_norm(arch, data=(X, Y))
        assert res.status == "optimal" and res.exact
        assert res.value == pytest.approx(expected, rel=1e-8)


def test_penalised_biases_deeper_give_a_certified_interval():
    rng = np.random.default_rng(14)
    arch = linear_arch((5,), (2, 3, 2), bias=True)
    planted = arch.init(rng=2)
    planted = cbn.Network(arch, planted.kernels, [rng.standard_normal(3), rng.standard_normal(2)])
    X = rng.standard_normal((4, 2, 5))
    Y = planted(X)
    res = cbn.minimal_norm(arch, data=(X, Y))
    K, _ = least_norm_kernel(X, Y, 1 / np.sqrt(5), intercept="free")
    assert res.lower == pytest.approx(t1_dense(K, 1 / np.sqrt(5), 2), rel=1e-8)
    assert res.lower <= res.upper <= planted.param_norm() * (1 + 1e-9)
    assert res.status in ("optimal", "not_certified")


# ----------------------------------------------------------------------------- bad input
def test_data_no_equivariant_map_fits_raise_infeasible_with_the_residual():
    rng = np.random.default_rng(15)
    X = rng.standard_normal((4, 1, 6))
    Y = rng.standard_normal((4, 1, 6))   # 4 samples, 1 channel: over-determined per frequency
    with pytest.raises(cbn.InfeasibleError, match="residual"):
        cbn.minimal_norm(linear_arch((6,), (1, 1, 1)), data=(X, Y))


def test_too_narrow_width_names_the_frequency():
    rng = np.random.default_rng(16)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2, 6)))
    with pytest.raises(cbn.InfeasibleError, match=r"frequency m = \(.*\).*channels\[1\] = 1|"
                       r"channels\[1\] = 1.*frequency"):
        cbn.minimal_norm(linear_arch((6,), (2, 1, 2)), target=A)


def test_taps_that_cannot_reach_the_target_raise_infeasible():
    A = cbn.ConvOperator.from_kernel(np.random.default_rng(17).standard_normal((1, 1, 8)))
    with pytest.raises(cbn.InfeasibleError, match="kernel_size"):
        cbn.minimal_norm(linear_arch((8,), (1, 1, 1), kernel_size=2), target=A)


@pytest.mark.parametrize("make, match", [
    (lambda X, Y: dict(data=(X[:, :1], Y)), "X must have shape"),
    (lambda X, Y: dict(data=(X, Y[:1])), "Y must have shape"),
    (lambda X, Y: dict(data=(np.where(X == X.max(), np.nan, X), Y)), "finite"),
    (lambda X, Y: dict(data=(X, np.where(Y == Y.min(), -np.inf, Y))), "finite"),
    (lambda X, Y: dict(data=(X, Y), target=cbn.ConvOperator.from_kernel(np.ones((1, 2, 6)))),
     "exactly one"),
    (lambda X, Y: dict(), "exactly one"),
    (lambda X, Y: dict(data=(X, Y), tol=0.0), "tol"),
    (lambda X, Y: dict(data=(X, Y), tol=2.0), "tol"),
    (lambda X, Y: dict(data=(X, Y), restarts=0), "restarts"),
    (lambda X, Y: dict(data=(X, Y), method="magic"), "method"),
    (lambda X, Y: dict(data=(X, Y), colour="red"), "options"),
    (lambda X, Y: dict(data=(X, Y), method="convex"), "depth 2"),
    (lambda X, Y: dict(target=cbn.ConvOperator.from_kernel(np.ones((2, 2, 6)))), "map 2 to 1"),
    (lambda X, Y: dict(target=cbn.ConvOperator.from_kernel(np.ones((1, 2, 5)))), "spatial"),
])
def test_bad_input_is_refused_with_a_clear_message(make, match):
    rng = np.random.default_rng(18)
    arch = linear_arch((6,), (2, 2, 2, 1))
    X = rng.standard_normal((2, 2, 6))    # feasible: X_m is 2 x 2
    Y = rng.standard_normal((2, 1, 6))
    with pytest.raises(cbn.ValidationError, match=match):
        cbn.minimal_norm(arch, **make(X, Y))


def test_kernel_larger_than_the_image_is_refused():
    with pytest.raises(cbn.ValidationError, match="kernel_size"):
        linear_arch((4,), (1, 1), kernel_size=5)


def test_closed_form_is_refused_for_taps():
    A = cbn.ConvOperator.from_kernel(np.eye(6)[0].reshape(1, 1, 6))   # reachable: one tap
    with pytest.raises(cbn.ValidationError, match="closed_form"):
        cbn.minimal_norm(linear_arch((6,), (1, 1, 1), kernel_size=3), target=A,
                         method="closed_form")


# ----------------------------------------------------------------------------- verification
def test_a_witness_that_does_not_verify_is_downgraded(monkeypatch):
    rng = np.random.default_rng(19)
    arch = linear_arch((6,), (1, 1, 1))
    X = rng.standard_normal((1, 1, 6))
    Y = rng.standard_normal((1, 1, 6))
    wrong = arch.init(rng=0)

    def fake_solve(problem):
        return Outcome((Candidate(wrong, "a wrong network", "fake", converged=False),), 1.0,
                       "made up")

    monkeypatch.setattr("cbntheory.solvers.linear.solve", fake_solve)
    with pytest.warns(cbn.InaccurateSolutionWarning, match="none reproduces the data"):
        res = cbn.minimal_norm(arch, data=(X, Y))
    assert res.status == "solver_error"
    # issue 14: a failed solve carries no finite upper (it used to be the wrong network's
    # norm); the network and its norm are kept, labelled unverified, in info
    assert res.upper == res.value == np.inf and res.network is None
    assert res.info["unverified_norm"] == pytest.approx(wrong.param_norm())
    assert "upper bound" not in res.message
    with pytest.raises(cbn.SolverError):
        cbn.minimal_norm(arch, data=(X, Y), strict=True)


def test_a_claimed_objective_that_disagrees_is_downgraded(monkeypatch):
    arch = linear_arch((6,), (1, 1))
    A = cbn.ConvOperator.from_kernel(np.random.default_rng(20).standard_normal((1, 1, 6)))
    net = cbn.Network(arch, [A.kernel], [])

    def fake_solve(problem):
        return Outcome((Candidate(net, "exact network", "fake", claimed=net.param_norm() / 2),),
                       net.param_norm(), "exact")

    monkeypatch.setattr("cbntheory.solvers.linear.solve", fake_solve)
    with pytest.warns(cbn.InaccurateSolutionWarning, match="reported norm"):
        res = cbn.minimal_norm(arch, target=A)
    assert res.status == "optimal_inaccurate"


def test_result_records_provenance():
    A = cbn.ConvOperator.from_kernel(np.random.default_rng(21).standard_normal((1, 1, 6)))
    res = cbn.minimal_norm(linear_arch((6,), (1, 1, 1)), target=A, rng=7)
    assert res.seed == 7 and res.wall_time >= 0 and "balanced factorisation" in res.message
    assert "T1" in res.message and res.summary()["status"] == "optimal"
    module = importlib.import_module("cbntheory.solvers.dispatch")
    assert module.CASES["linear"] == "cbntheory.solvers.linear"


def test_data_value_says_it_depends_on_the_rank_threshold():
    """A singular value of 1e-12 relative: ignored at rank_rtol 1e-10, counted at 1e-14.

    Independent reference: the T1 formula by hand, L * sum s^(2/L) over the kept values
    (operator normalisation, one channel, so the blocks are the multipliers).
    """
    d, L = 4, 8                                          # each tiny value adds L s^(1/4)
    X = np.eye(d).reshape(d, 1, d)                       # impulses at every pixel
    mult = np.array([1.0, 1e-12, 0.5, 1e-12])            # real, even multipliers
    kernel = np.real(np.fft.ifft(mult)) * np.sqrt(d)
    A = cbn.ConvOperator.from_kernel(kernel.reshape(1, 1, d))
    Y = A.apply(X)
    arch = cbn.Architecture((d,), (1,) * (L + 1), activation="linear", bias=False)
    coarse = cbn.minimal_norm(arch, data=(X, Y))
    fine = cbn.minimal_norm(arch, data=(X, Y), rank_rtol=1e-14)
    s = np.abs(A.blocks).ravel()
    assert coarse.lower == pytest.approx(L * np.sum(s[s > 1e-10] ** (2 / L)), rel=1e-9)
    assert fine.lower == pytest.approx(L * np.sum(s[s > 1e-14] ** (2 / L)), rel=1e-6)
    assert fine.lower > coarse.lower + 0.01                # 2 * 8 * 1e-3 apart
    assert "rank_rtol = 1e-10" in coarse.message and "depends on that choice" in coarse.message


@pytest.mark.parametrize("n", [1, 2, 5])
def test_contrasts_are_the_centred_samples_in_an_orthonormal_basis(n):
    from cbntheory.theory.linear_data import contrasts

    z = np.random.default_rng(n).standard_normal((3, n))
    h = contrasts(z)
    assert h.shape == (3, n - 1)
    centred = z - z.mean(axis=1, keepdims=True)
    # same Gram matrix as the centred samples: the same least-squares problems
    assert np.allclose(h @ h.T, centred @ centred.T, atol=1e-12)
    assert np.allclose(contrasts(np.ones((1, n))), 0.0, atol=1e-12)   # constants vanish
    assert np.allclose(contrasts(z.T, axis=0), h.T)
