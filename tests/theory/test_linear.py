"""T1 (linear_cost, balanced_factorization) against dense SVDs, closed forms and invariances."""
from __future__ import annotations

import _bruteforce as bf
import numpy as np
import pytest

from cbntheory import (
    ConvOperator,
    LinearCost,
    ValidationError,
    balanced_factorization,
    linear_cost,
)

NORMS = ["operator", "plain"]
SHAPES = [(2, 3, 5), (3, 2, 6), (1, 1, 7), (2, 2, 1), (2, 3, 3, 4), (2, 2, 4, 4), (1, 1, 5, 2)]


def _kernel(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _narrow(cout, cin, spatial, width=1, seed=0):
    """Kernel of a product through ``width`` channels: rank <= width at every frequency."""
    rng = np.random.default_rng(seed)
    first = ConvOperator.from_kernel(rng.standard_normal((width, cin) + spatial))
    second = ConvOperator.from_kernel(rng.standard_normal((cout, width) + spatial))
    return first, second, (second @ first).kernel


def _band_limited(d, freqs, amps, channels=1):
    """Kernel ``sum_k a_k cos(2 pi f_k p / d)`` on every channel: only +-f_k are non-zero."""
    p = np.arange(d)
    sig = sum(a * np.cos(2 * np.pi * f * p / d) for f, a in zip(freqs, amps))
    return np.broadcast_to(sig, (channels, channels, d)).copy()


# ----------------------------------------------------------------------- the value of T1
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("depth", [1, 2, 3, 7])
def test_cost_matches_the_dense_svd_formula(shape, norm, depth):
    W = _kernel(shape, depth)
    cost = linear_cost(ConvOperator.from_kernel(W, norm), depth)
    ref = bf.t1_from_dense(W, depth, norm)
    assert isinstance(cost, LinearCost)
    assert cost.depth == depth and cost.normalization == norm and cost.spatial_shape == shape[2:]
    for key in ("value", "r0", "r1", "r2"):
        assert np.isclose(getattr(cost, key), ref[key], rtol=1e-10, atol=1e-12), key


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 4)])
def test_depth_one_is_the_squared_kernel_norm(shape, norm):
    W = _kernel(shape, 1)
    # a single layer has no freedom: the cost is ||W||_F^2 (Parseval), whatever c is
    assert np.isclose(linear_cost(ConvOperator.from_kernel(W, norm), 1).value, np.sum(W ** 2))


@pytest.mark.parametrize("norm", NORMS)
def test_depth_two_is_the_per_frequency_nuclear_norm(norm):
    W = _kernel((3, 2, 4, 3), 2)
    d = 12
    blocks = bf.blocks(W, norm)
    nuclear = sum(np.linalg.norm(blocks[m], "nuc") for m in bf.pixels((4, 3)))
    c = bf.norm_constant(norm, (4, 3))
    expected = 2 * nuclear / (d * c * c)
    assert np.isclose(linear_cost(ConvOperator.from_kernel(W, norm), 2).value, expected)


def test_singular_values_and_rank_fields():
    W = _kernel((3, 2, 6), 3)
    cost = linear_cost(ConvOperator.from_kernel(W), 4)
    blocks = bf.blocks(W)
    for m in range(6):
        assert np.allclose(cost.singular_values[m], np.linalg.svd(blocks[m], compute_uv=False))
    assert cost.cbn_rank.dtype.kind == "i"
    assert np.array_equal(cost.cbn_rank, np.full(6, 2))
    assert cost.zero_tol > 0


# ----------------------------------------------------------------------- rank deficiency
@pytest.mark.parametrize("spatial", [(6,), (3, 4)])
def test_product_through_a_narrow_channel_has_rank_one_per_frequency(spatial):
    first, second, W = _narrow(3, 3, spatial, width=1, seed=4)
    cost = linear_cost(ConvOperator.from_kernel(W), 5)
    assert np.array_equal(cost.cbn_rank, np.ones(spatial, int))
    assert cost.r0 == np.prod(spatial)
    # closed form: A_m = b_m c_m^T has the single singular value |b_m| |c_m|
    b, c = bf.blocks(second.kernel), bf.blocks(first.kernel)
    s = np.array([np.linalg.norm(b[m]) * np.linalg.norm(c[m]) for m in bf.pixels(spatial)])
    assert np.isclose(cost.value, 5 * np.sum(s ** 0.4))
    assert np.isclose(cost.r1, 2 * np.sum(np.log(s)))
    assert np.isclose(cost.r2, 2 * np.sum(np.log(s) ** 2))


def test_band_limited_filter_keeps_exactly_its_frequencies():
    d = 12
    W = _band_limited(d, [0, 2, 5], [1.0, 0.7, 0.3])
    cost = linear_cost(ConvOperator.from_kernel(W), 6)
    expected = np.zeros(d, int)
    expected[[0, 2, 10, 5, 7]] = 1
    assert np.array_equal(cost.cbn_rank, expected)
    assert cost.rank_by_degree() == {0: 1, 2: 2, 5: 2}
    assert cost.describe() == "1 constant, 2 degree-2, 2 degree-5"
    # multipliers by hand: c * (d a) at f = 0 and c * (d a / 2) at +-f, with c = 1/sqrt(d)
    mult = np.array([1.0 * d, 0.7 * d / 2, 0.7 * d / 2, 0.3 * d / 2, 0.3 * d / 2]) / np.sqrt(d)
    assert np.isclose(cost.value, 6 * np.sum(mult ** (1 / 3)))


def test_zero_operator():
    A = ConvOperator.from_kernel(np.zeros((2, 3, 4)))
    cost = linear_cost(A, 3)
    assert (cost.value, cost.r0, cost.r1, cost.r2) == (0.0, 0.0, 0.0, 0.0)
    assert not cost.cbn_rank.any()
    layers = balanced_factorization(A, 3)
    assert all(layer.param_norm() == 0.0 for layer in layers)
    assert np.array_equal((layers[2] @ layers[1] @ layers[0]).kernel, A.kernel)


@pytest.mark.parametrize("spatial", [(8,), (4, 6)])
def test_planted_rank_deficiency_is_not_blown_up_at_large_depth(spatial):
    """Round-off singular values ~1e-16 would add ~1e-2 each to s^(2/L) at L = 16."""
    W = _narrow(4, 4, spatial, width=2, seed=5)[2]
    A = ConvOperator.from_kernel(W)
    raw = np.linalg.svd(bf.blocks(W), compute_uv=False)
    assert 0 < raw[..., 2:].max() < 1e-13            # float SVD sees tiny, not zero, values
    L = 16
    cost = linear_cost(A, L)
    assert np.array_equal(cost.cbn_rank, np.full(spatial, 2))
    exact = L * np.sum(raw[..., :2] ** (2 / L))       # rank 2 known by construction
    naive = L * np.sum(raw ** (2 / L))
    assert np.isclose(cost.value, exact, rtol=1e-12)
    assert naive - exact > 1.0                        # what the tolerance protects against
    assert np.isclose(cost.r1, 2 * np.sum(np.log(raw[..., :2])))
    layers = balanced_factorization(A, L)
    assert np.isclose(sum(layer.param_norm() for layer in layers), exact, rtol=1e-10)
    assert layers[0].out_channels == 2


# ----------------------------------------------------------------------- large-depth expansion
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 3)])
def test_r0_r1_r2_describe_the_large_depth_behaviour(shape):
    A = ConvOperator.from_kernel(0.7 * _kernel(shape, 6))
    s = bf.dense_singular_values(bf.dense_matrix(A.kernel))
    s = s[s > 0]
    # next coefficient of L s^(2/L) = sum_k (2 log s)^k / (k! L^(k-1))
    r3 = (4.0 / 3.0) * np.sum(np.log(s) ** 3)
    r0, r1, r2 = linear_cost(A, 1).r0, linear_cost(A, 1).r1, linear_cost(A, 1).r2
    errors = []
    for L in (50, 100, 200, 400, 800):
        cost = linear_cost(A, L)
        assert (cost.r0, cost.r1, cost.r2) == (r0, r1, r2)  # coefficients do not depend on L
        assert np.isclose(cost.expansion(), L * r0 + r1 + r2 / L)
        # first differences in 1/L: (value - L r0) -> r1, then L (value - L r0 - r1) -> r2
        assert abs(cost.value - L * r0 - r1) < 2 * abs(r2) / L + 1e-9
        errors.append(L * (L * (cost.value - L * r0 - r1) - r2))
    # the remaining error is r3 / L^2 (+ O(1/L^3)), so L^2 * residual converges to r3
    assert np.allclose(errors[-2:], r3, rtol=0.05)
    assert abs(errors[-1] - r3) < abs(errors[0] - r3)


def test_expansion_at_another_depth_and_validation():
    cost = linear_cost(ConvOperator.from_kernel(_kernel((1, 1, 4), 7)), 3)
    assert np.isclose(cost.expansion(10), 10 * cost.r0 + cost.r1 + cost.r2 / 10)
    with pytest.raises(ValidationError, match="depth"):
        cost.expansion(0)


# ----------------------------------------------------------------------- invariances
@pytest.mark.parametrize("shape,shift", [((2, 3, 6), (2,)), ((2, 2, 3, 4), (1, 3))])
def test_circular_shift_of_the_kernel_leaves_the_cost_unchanged(shape, shift):
    W = _kernel(shape, 8)
    shifted = np.roll(W, shift, axis=tuple(range(2, W.ndim)))
    for L in (1, 3, 8):
        a, b = linear_cost(ConvOperator.from_kernel(W), L), linear_cost(
            ConvOperator.from_kernel(shifted), L)
        assert np.isclose(a.value, b.value) and np.isclose(a.r1, b.r1) and np.isclose(a.r2, b.r2)
        assert np.array_equal(a.cbn_rank, b.cbn_rank)


def test_scaling_the_target_scales_singular_values():
    W = _kernel((2, 3, 5), 9)
    t, L = 3.5, 4
    a = linear_cost(ConvOperator.from_kernel(W), L)
    b = linear_cost(ConvOperator.from_kernel(t * W), L)
    assert np.allclose(b.singular_values, t * a.singular_values)
    assert np.isclose(b.value, t ** (2 / L) * a.value)
    assert b.r0 == a.r0
    assert np.isclose(b.r1, a.r1 + 2 * a.r0 * np.log(t))


def test_adjoint_and_channel_mixing_leave_the_cost_unchanged():
    W = _kernel((2, 3, 4, 3), 10)
    # adjoint: W^T[i, o, p] = W[o, i, -p]; its dense matrix is the transpose
    adj = np.transpose(np.roll(np.flip(W, axis=(2, 3)), 1, axis=(2, 3)), (1, 0, 2, 3))
    assert np.allclose(bf.dense_matrix(adj), bf.dense_matrix(W).T)
    # orthogonal channel mixing on both sides
    rng = np.random.default_rng(11)
    Q2, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    Q3, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    mixed = np.einsum("ab,bcxy,cd->adxy", Q2, W, Q3)
    base = linear_cost(ConvOperator.from_kernel(W), 5)
    for other in (adj, mixed):
        cost = linear_cost(ConvOperator.from_kernel(other), 5)
        assert np.isclose(cost.value, base.value) and np.isclose(cost.r1, base.r1)


@pytest.mark.parametrize("spatial", [(7,), (6,), (4, 5)])
def test_rank_and_singular_values_are_conjugate_symmetric(spatial):
    _, _, W = _narrow(3, 2, spatial, width=2, seed=12)
    W = W + np.where(np.arange(np.prod(spatial)).reshape(spatial) % 3 == 0, 1.0, 0.0)
    cost = linear_cost(ConvOperator.from_kernel(W), 3)
    for m in bf.pixels(spatial):
        minus = tuple((-a) % n for a, n in zip(m, spatial))
        assert cost.cbn_rank[m] == cost.cbn_rank[minus]
        assert np.allclose(cost.singular_values[m], cost.singular_values[minus])


def test_rank_by_degree_in_2d_uses_both_degrees():
    d1, d2 = 6, 6
    p1, p2 = np.meshgrid(np.arange(d1), np.arange(d2), indexing="ij")
    # constant + (+-1, 0) + (+-1, +-1): cos(2 pi p1 / 6) and cos(2 pi (p1 + p2) / 6)
    img = 1.0 + np.cos(2 * np.pi * p1 / d1) + 0.5 * np.cos(2 * np.pi * (p1 + p2) / 6)
    cost = linear_cost(ConvOperator.from_kernel(img[None, None]), 4)
    assert cost.r0 == 5
    assert cost.rank_by_degree("l1") == {0: 1, 1: 2, 2: 2}
    assert cost.rank_by_degree("linf") == {0: 1, 1: 4}


# ----------------------------------------------------------------------- balanced factorisation
def _check_factorization(A, layers, depth):
    norm = A.normalization
    assert len(layers) == depth
    dense = [bf.dense_matrix(layer.kernel, norm) for layer in layers]  # real kernels by type
    for layer in layers:
        assert layer.kernel.dtype == np.float64 and layer.normalization == norm
    product = dense[0]
    for M in dense[1:]:
        product = M @ product
    target = bf.dense_matrix(A.kernel, norm)
    assert np.allclose(product, target, atol=1e-10 * np.abs(target).max())
    ref = bf.t1_from_dense(A.kernel, depth, norm)
    assert np.isclose(sum(layer.param_norm() for layer in layers), ref["value"], rtol=1e-10)
    # every layer has singular values s_i^(1/L) (dense SVD), zero-padded
    s = bf.dense_singular_values(target)
    want = np.sort(s[s > 0] ** (1.0 / depth))
    for M in dense:
        got = bf.dense_singular_values(M)
        got = np.sort(got[got > 1e-9 * got.max()])
        assert np.allclose(got, want, rtol=1e-9), "unbalanced layer"


@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 2, 6), (2, 2, 3, 4), (1, 1, 4, 4), (2, 1, 1)])
@pytest.mark.parametrize("depth", [2, 3, 5])
@pytest.mark.parametrize("norm", NORMS)
def test_balanced_factorization_reproduces_and_attains_the_cost(shape, depth, norm):
    A = ConvOperator.from_kernel(_kernel(shape, 13), norm)
    _check_factorization(A, balanced_factorization(A, depth), depth)


def test_balanced_factorization_of_depth_one_is_the_operator():
    A = ConvOperator.from_kernel(_kernel((2, 3, 4), 14), "plain")
    (layer,) = balanced_factorization(A, 1)
    assert np.array_equal(layer.kernel, A.kernel) and layer.normalization == "plain"


@pytest.mark.parametrize("spatial", [(6,), (3, 4)])
def test_balanced_factorization_of_rank_deficient_targets(spatial):
    _, _, W = _narrow(3, 4, spatial, width=1, seed=15)
    A = ConvOperator.from_kernel(W)
    layers = balanced_factorization(A, 4)
    assert [(x.out_channels, x.in_channels) for x in layers] == [(1, 4), (1, 1), (1, 1), (3, 1)]
    _check_factorization(A, layers, 4)


def test_balanced_factorization_of_a_band_limited_filter():
    W = _band_limited(10, [1, 5], [1.0, -0.5], channels=2)   # 2x2 blocks of rank 1 at 3 freqs
    A = ConvOperator.from_kernel(W)
    layers = balanced_factorization(A, 3)
    assert layers[0].out_channels == 1
    _check_factorization(A, layers, 3)
    assert linear_cost(A, 3).describe() == "2 degree-1, 1 degree-5"


def test_width_argument():
    W = _kernel((3, 3, 5), 16)  # generic: rank 3 at every frequency
    A = ConvOperator.from_kernel(W)
    wide = balanced_factorization(A, 3, width=5)
    assert [(x.out_channels, x.in_channels) for x in wide] == [(5, 3), (5, 5), (3, 5)]
    _check_factorization(A, wide, 3)
    with pytest.raises(ValidationError, match=r"width must be >= .* 3 \(reached at frequency "
                                              r"\(\d+,\)\); got 2"):
        balanced_factorization(A, 3, width=2)
    # the frequency named is one where the rank is actually reached
    N = _narrow(2, 2, (6,), width=1, seed=17)[2]        # rank 1 at every frequency
    N = N + np.eye(2)[:, :, None] * 0.5                 # adds sqrt(6)/2 * I to A_0 only
    ranks = linear_cost(ConvOperator.from_kernel(N), 2).cbn_rank
    assert ranks[0] == 2 and ranks[1:].max() == 1
    with pytest.raises(ValidationError, match=r"frequency \(0,\)"):
        balanced_factorization(ConvOperator.from_kernel(N), 2, width=1)


def test_another_factorisation_through_the_same_width_costs_more():
    """Inserting an invertible convolution G and its inverse keeps the product, not the cost."""
    A = ConvOperator.from_kernel(_kernel((2, 3, 6), 18))
    layers = balanced_factorization(A, 2)
    optimum = linear_cost(A, 2).value
    rng = np.random.default_rng(19)
    for _ in range(5):
        g = np.zeros((2, 2, 6))
        g[:, :, 0] = np.sqrt(6) * np.eye(2)
        g += 0.4 * rng.standard_normal(g.shape)
        G = ConvOperator.from_kernel(g)
        Ginv = ConvOperator.from_blocks(np.linalg.inv(G.blocks))
        other = [G @ layers[0], layers[1] @ Ginv]
        assert np.allclose((other[1] @ other[0]).to_matrix(), A.to_matrix())
        assert sum(x.param_norm() for x in other) > optimum * (1 + 1e-9)


def test_arguments_are_validated():
    A = ConvOperator.from_kernel(_kernel((1, 1, 4), 20))
    for bad in (0, -2, 2.5, True, "3"):
        with pytest.raises(ValidationError, match="depth"):
            linear_cost(A, bad)
        with pytest.raises(ValidationError, match="depth"):
            balanced_factorization(A, bad)
    with pytest.raises(ValidationError, match="A must be a cbntheory.ConvOperator"):
        linear_cost(np.ones((1, 1, 4)), 2)
    for depth in (1, 2):
        with pytest.raises(ValidationError, match="width"):
            balanced_factorization(A, depth, width=0)


# ----------------------------------------------------------------------- proofs_checks scripts
@pytest.mark.parametrize("script,label", [("t1_linear_cost", "T1"),
                                          ("anchor_glss2018", "GLSS2018"),
                                          ("anchor_deep_linear_fc", "deep-linear-FC")])
def test_t1_proof_check_scripts_hold(script, label):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "proofs_checks" / f"{script}.py"
    spec = importlib.util.spec_from_file_location(f"_check_{script}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = module.main(quick=True)
    assert (report.label, report.kind, report.verdict) == (label, "exact", "holds")
    assert len(report.rows) > 50
    assert all(row["verdict"] == "holds" for row in report.rows)


def test_verified_linear_cost_flags_a_witness_that_does_not_reproduce(monkeypatch):
    from cbntheory.theory import linear as linear_mod

    rng = np.random.default_rng(11)
    A = ConvOperator.from_kernel(rng.standard_normal((2, 3, 5)))
    good = linear_mod.verified_linear_cost(A, 3)
    assert good.ok and good.residual < 1e-12 and good.norm_gap < 1e-12
    real = linear_mod.balanced_factorization

    def broken(op, depth, **kw):  # last layer scaled: wrong product and wrong norm
        layers = real(op, depth, **kw)
        return layers[:-1] + [ConvOperator.from_kernel(1.01 * layers[-1].kernel)]

    monkeypatch.setattr(linear_mod, "balanced_factorization", broken)
    bad = linear_mod.verified_linear_cost(A, 3)
    assert not bad.ok
    assert bad.residual == pytest.approx(0.01, rel=1e-6)
    assert bad.norm_gap > 1e-4


# ------------------------------------------------------------------ threads, fast FFT (issue 16)


@pytest.fixture
def every_fast_path(monkeypatch):
    """The SVD batch in threads and scipy.fft (threaded) for every size."""
    from cbntheory import settings
    monkeypatch.setattr(settings, "SVD_THREADED_MIN_BATCH", 1)
    monkeypatch.setattr(settings, "FFT_SCIPY_MIN_SIZE", 1)
    monkeypatch.setattr(settings, "FFT_SCIPY_MIN_SIZE_DOUBLE", 1)
    monkeypatch.setattr(settings, "FFT_THREADED_MIN_SIZE", 1)


@pytest.mark.parametrize("shape", [(3, 2, 7), (2, 3, 4, 5)])
@pytest.mark.parametrize("depth", [2, 5])
def test_threaded_cost_matches_the_dense_svd_formula(every_fast_path, shape, depth):
    W = _kernel(shape, depth)
    cost = linear_cost(ConvOperator.from_kernel(W), depth)
    ref = bf.t1_from_dense(W, depth)
    for key in ("value", "r0", "r1", "r2"):
        assert np.isclose(getattr(cost, key), ref[key], rtol=1e-10, atol=1e-12), key


def test_batch_singular_values_match_one_matrix_at_a_time(every_fast_path):
    from cbntheory.operators import batch_singular_values
    rng = np.random.default_rng(3)
    blocks = rng.standard_normal((5, 7, 4, 3)) + 1j * rng.standard_normal((5, 7, 4, 3))
    got = batch_singular_values(blocks)
    assert got.shape == (5, 7, 3)
    for idx in np.ndindex(5, 7):
        ref = np.linalg.svd(blocks[idx], compute_uv=False)   # one matrix, no batching
        np.testing.assert_allclose(got[idx], ref, rtol=1e-13, atol=1e-14)
    empty = batch_singular_values(np.zeros((0, 4, 3)))
    assert empty.shape == (0, 3)
