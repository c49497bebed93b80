"""ConvOperator against dense matrices and convolutions written out with explicit loops."""
from __future__ import annotations

import re

import _bruteforce as bf
import numpy as np
import pytest

from cbntheory import ConvOperator, NotEquivariantError, ValidationError

# (C_out, C_in, *spatial): 1D and 2D, odd and even sizes, the d = 1 edge case
SHAPES = [(2, 3, 5), (3, 2, 6), (1, 1, 1), (2, 2, 1), (2, 3, 3, 4), (3, 2, 5, 3), (1, 2, 4, 4),
          (2, 1, 1, 1)]
NORMS = ["operator", "plain"]


def _kernel(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", NORMS)
def test_to_matrix_matches_the_definition(shape, norm):
    W = _kernel(shape)
    A = ConvOperator.from_kernel(W, norm)
    assert np.allclose(A.to_matrix(), bf.dense_matrix(W, norm), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", NORMS)
def test_apply_matches_the_double_sum(shape, norm):
    W = _kernel(shape, 1)
    x = np.random.default_rng(2).standard_normal((3, shape[1]) + shape[2:])
    A = ConvOperator.from_kernel(W, norm)
    assert np.allclose(A.apply(x), bf.convolve(W, x, norm))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", NORMS)
def test_blocks_are_the_dft_by_finite_sums(shape, norm):
    W = _kernel(shape, 3)
    A = ConvOperator.from_kernel(W, norm)
    assert A.blocks.shape == shape[2:] + shape[:2]
    assert np.allclose(A.blocks, bf.blocks(W, norm))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", NORMS)
def test_singular_values_are_those_of_the_dense_matrix(shape, norm):
    W = _kernel(shape, 4)
    A = ConvOperator.from_kernel(W, norm)
    s = A.singular_values()
    assert s.shape == shape[2:] + (min(shape[:2]),)
    assert np.all(np.diff(s, axis=-1) <= 1e-12)  # decreasing per frequency
    dense = np.linalg.svd(bf.dense_matrix(W, norm), compute_uv=False)
    # the dense matrix has d * min(C) singular values from the blocks plus zeros
    padded = np.concatenate([s.ravel(), np.zeros(dense.size - s.size)])
    assert np.allclose(np.sort(padded), np.sort(dense), atol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 6), (2, 2, 3, 4)])
def test_operator_normalisation_makes_kernel_norm_the_operator_norm(shape):
    W = _kernel(shape, 5)
    A = ConvOperator.from_kernel(W)
    assert np.isclose(A.param_norm(), np.sum(W ** 2))
    assert np.isclose(A.param_norm(), np.linalg.norm(bf.dense_matrix(W)) ** 2)
    d = int(np.prod(shape[2:]))
    plain = ConvOperator.from_kernel(W, "plain")
    assert np.isclose(np.linalg.norm(bf.dense_matrix(W, "plain")) ** 2, d * plain.param_norm())


@pytest.mark.parametrize("spatial,offset", [((6,), (2,)), ((3, 4), (1, 3))])
def test_dense_matrix_commutes_with_circular_shifts(spatial, offset):
    cout, cin = 2, 3
    A = ConvOperator.from_kernel(_kernel((cout, cin) + spatial, 6))
    M = A.to_matrix()
    lhs = M @ bf.shift_matrix(spatial, cin, offset)
    rhs = bf.shift_matrix(spatial, cout, offset) @ M
    assert np.allclose(lhs, rhs)


@pytest.mark.parametrize("spatial", [(5,), (6,), (1,), (3, 4), (2, 2)])
@pytest.mark.parametrize("norm", NORMS)
def test_composition_is_the_dense_product(spatial, norm):
    B = ConvOperator.from_kernel(_kernel((4, 3) + spatial, 7), norm)   # applied first
    A = ConvOperator.from_kernel(_kernel((2, 4) + spatial, 8), norm)
    AB = A @ B
    assert (AB.out_channels, AB.in_channels) == (2, 3)
    assert AB.normalization == norm
    assert np.allclose(AB.to_matrix(), bf.dense_matrix(A.kernel, norm) @
                       bf.dense_matrix(B.kernel, norm))


def test_composition_refuses_mismatches():
    A = ConvOperator.from_kernel(_kernel((2, 4, 6)))
    with pytest.raises(ValidationError, match=r"other\.out_channels.*self\.in_channels = 4.*3"):
        A @ ConvOperator.from_kernel(_kernel((3, 2, 6)))
    with pytest.raises(ValidationError, match=r"other\.normalization.*'plain'"):
        A @ ConvOperator.from_kernel(_kernel((4, 2, 6)), "plain")
    with pytest.raises(ValidationError, match=r"other\.spatial_shape.*\(5,\)"):
        A @ ConvOperator.from_kernel(_kernel((4, 2, 5)))
    with pytest.raises(TypeError):
        A @ np.ones((4, 2, 6))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("norm", NORMS)
def test_from_matrix_round_trip(shape, norm):
    W = _kernel(shape, 9)
    cout, cin = shape[:2]
    A = ConvOperator.from_matrix(bf.dense_matrix(W, norm), shape[2:], cin, cout, norm)
    assert A.normalization == norm
    assert A.kernel.shape == shape
    assert np.allclose(A.kernel, W)


def _projection_residual(M, shape, cin, cout):
    """Relative distance from M to the block-circulant matrices (average along diagonals)."""
    pix = bf.pixels(shape)
    d = len(pix)
    index = {p: k for k, p in enumerate(pix)}
    P = np.zeros_like(M)
    for o in range(cout):
        for i in range(cin):
            for r in pix:
                pairs = []
                for q in pix:
                    p = tuple((qq + rr) % n for qq, rr, n in zip(q, r, shape))
                    pairs.append((o * d + index[p], i * d + index[q]))
                mean = np.mean([M[a, b] for a, b in pairs])
                for a, b in pairs:
                    P[a, b] = mean
    return np.linalg.norm(M - P) / np.linalg.norm(M)


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 2, 3, 4)])
def test_from_matrix_refuses_a_perturbed_matrix_and_reports_the_residual(shape):
    W = _kernel(shape, 10)
    cout, cin = shape[:2]
    M = bf.dense_matrix(W)
    M[1, 0] += 1e-3  # breaks translation equivariance
    expected = _projection_residual(M, shape[2:], cin, cout)
    with pytest.raises(NotEquivariantError) as info:
        ConvOperator.from_matrix(M, shape[2:], cin, cout)
    assert isinstance(info.value, ValueError)
    reported = float(re.search(r"residual .*? is ([0-9.e+-]+)", str(info.value)).group(1))
    assert np.isclose(reported, expected, rtol=1e-3)
    # a tolerance above the residual accepts the matrix and returns the nearest convolution
    A = ConvOperator.from_matrix(M, shape[2:], cin, cout, rtol=10 * expected)
    assert np.isclose(np.linalg.norm(M - A.to_matrix()) / np.linalg.norm(M), expected)


def test_from_matrix_accepts_round_off_and_refuses_a_cross_correlation():
    W = _kernel((2, 2, 7), 11)
    M = bf.dense_matrix(W)
    M += 1e-15 * np.random.default_rng(12).standard_normal(M.shape)
    ConvOperator.from_matrix(M, (7,), 2, 2)
    # a generic dense matrix is far from equivariant
    with pytest.raises(NotEquivariantError, match="circular shifts"):
        ConvOperator.from_matrix(np.random.default_rng(13).standard_normal((14, 14)), (7,), 2, 2)


@pytest.mark.parametrize("shape", [(2, 3, 6), (2, 2, 4, 5)])
def test_from_blocks_round_trip_and_conjugate_symmetry(shape):
    W = _kernel(shape, 14)
    blocks = bf.blocks(W)
    A = ConvOperator.from_blocks(blocks)
    assert np.allclose(A.kernel, W)
    bad = blocks.copy()
    bad[(1,) * (len(shape) - 2)] *= 1j  # breaks A_{-m} = conj(A_m)
    with pytest.raises(ValidationError, match="conjugate-symmetric"):
        ConvOperator.from_blocks(bad)


def test_half_blocks_are_the_rfft_half_of_the_blocks():
    W = _kernel((2, 3, 4, 6), 15)
    A = ConvOperator.from_kernel(W)
    assert np.allclose(A.half_blocks(), bf.blocks(W)[:, :4])


def test_kernel_is_copied_and_read_only():
    W = _kernel((1, 1, 4), 16)
    A = ConvOperator.from_kernel(W)
    W[0, 0, 0] = 100.0
    assert A.kernel[0, 0, 0] != 100.0
    with pytest.raises(ValueError):
        A.kernel[0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        A.blocks[0, 0, 0] = 1.0


def test_attributes_and_repr():
    A = ConvOperator.from_kernel(_kernel((3, 2, 4, 5), 17), "plain")
    assert (A.out_channels, A.in_channels, A.spatial_shape, A.size, A.ndim) == (3, 2, (4, 5), 20, 2)
    assert A.c == 1.0
    assert "3x2" in repr(A) and "plain" in repr(A)
    assert np.isclose(ConvOperator.from_kernel(_kernel((1, 1, 4, 4))).c, 0.25)
