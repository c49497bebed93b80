"""Bad input at the boundary: every error is a ValueError naming argument, rule and value."""
from __future__ import annotations

import numpy as np
import pytest

from cbntheory import (
    CBNError,
    ConvOperator,
    NotEquivariantError,
    ValidationError,
    balanced_factorization,
    linear_cost,
)
from cbntheory import _validate as V

GOOD = np.random.default_rng(0).standard_normal((2, 3, 4))


def _raises(fn, *patterns):
    with pytest.raises(ValidationError) as info:
        fn()
    assert isinstance(info.value, ValueError) and isinstance(info.value, CBNError)
    for pat in patterns:
        assert pat in str(info.value), (pat, str(info.value))
    return str(info.value)


def _with(value, index=(0, 0, 1)):
    k = GOOD.copy()
    k[index] = value
    return k


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_kernels(value):
    _raises(lambda: ConvOperator.from_kernel(_with(value)), "kernel", "finite", "1 non-finite",
            "(2, 3, 4)")


def test_complex_and_non_numeric_kernels():
    _raises(lambda: ConvOperator.from_kernel(GOOD + 0j), "kernel", "real", "complex128")
    _raises(lambda: ConvOperator.from_kernel(np.array([[["a"]]])), "kernel", "numeric")
    _raises(lambda: ConvOperator.from_kernel(np.array([[[None]]], dtype=object)), "kernel")


@pytest.mark.parametrize("shape", [(4,), (3, 4), (1, 1, 2, 2, 2)])
def test_kernels_of_the_wrong_rank(shape):
    _raises(lambda: ConvOperator.from_kernel(np.ones(shape)), "kernel", "3 or 4 dimensions",
            str(shape))


@pytest.mark.parametrize("shape", [(0, 1, 4), (1, 0, 4), (1, 1, 0), (1, 1, 3, 0)])
def test_empty_kernels(shape):
    _raises(lambda: ConvOperator.from_kernel(np.ones(shape)), "kernel", "non-empty", str(shape))


def test_bad_normalisation_names():
    for bad in ("unit", "Operator", None, 1):
        _raises(lambda bad=bad: ConvOperator.from_kernel(GOOD, bad), "normalization", "'operator'",
                repr(bad))
    M = ConvOperator.from_kernel(GOOD).to_matrix()
    _raises(lambda: ConvOperator.from_matrix(M, (4,), 3, 2, "unitary"), "normalization",
            "'unitary'")


@pytest.mark.parametrize("spatial,pattern", [((), "1 or 2 axes"), ((0,), "spatial_shape[0]"),
                                             ((4, -1), "spatial_shape[1]"),
                                             ((2, 2, 1), "1 or 2 axes"),
                                             ((2.5,), "integer"), (None, "spatial_shape")])
def test_from_matrix_spatial_shape(spatial, pattern):
    _raises(lambda: ConvOperator.from_matrix(np.ones((4, 4)), spatial, 1, 1), "spatial_shape",
            pattern)


def test_from_matrix_shape_channels_and_entries():
    M = ConvOperator.from_kernel(GOOD).to_matrix()          # (8, 12)
    _raises(lambda: ConvOperator.from_matrix(M.T, (4,), 3, 2), "matrix", "(8, 12)", "(12, 8)")
    _raises(lambda: ConvOperator.from_matrix(M, (4,), 0, 2), "in_channels", ">= 1", "0")
    _raises(lambda: ConvOperator.from_matrix(M, (4,), 3, True), "out_channels", "integer")
    _raises(lambda: ConvOperator.from_matrix(M.ravel(), (4,), 3, 2), "matrix", "2 dimensions")
    bad = M.copy()
    bad[0, 0] = np.nan
    _raises(lambda: ConvOperator.from_matrix(bad, (4,), 3, 2), "matrix", "finite")
    _raises(lambda: ConvOperator.from_matrix(M * 1j, (4,), 3, 2), "matrix", "real")


def test_not_equivariant_is_a_validation_error():
    assert issubclass(NotEquivariantError, ValidationError)
    M = np.eye(4)
    M[0, 1] = 1.0
    _raises(lambda: ConvOperator.from_matrix(M, (4,), 1, 1), "circular shifts", "residual")


def test_from_blocks_bad_input():
    _raises(lambda: ConvOperator.from_blocks(np.ones((4, 2))), "blocks", "(*spatial, C_out, C_in)")
    _raises(lambda: ConvOperator.from_blocks(np.full((4, 1, 1), np.nan)), "blocks", "finite",
            "4 non-finite")


def test_apply_bad_input():
    A = ConvOperator.from_kernel(GOOD)
    _raises(lambda: A.apply(np.ones((5, 2, 4))), "x", "(N, 3, 4)", "(5, 2, 4)")
    _raises(lambda: A.apply(np.ones((3, 4))), "x", "3 dimensions")
    _raises(lambda: A.apply(np.full((1, 3, 4), np.inf)), "x", "finite")
    _raises(lambda: A.apply(np.ones((1, 3, 4)) * 1j), "x", "real")


def test_composition_mismatches():
    A = ConvOperator.from_kernel(GOOD)                       # 3 -> 2 channels
    _raises(lambda: A @ ConvOperator.from_kernel(np.ones((2, 2, 4))), "other.out_channels",
            "self.in_channels = 3", "got 2")
    _raises(lambda: A @ ConvOperator.from_kernel(np.ones((3, 1, 4)), "plain"),
            "other.normalization", "mixed normalisations", "'plain'")
    _raises(lambda: A @ ConvOperator.from_kernel(np.ones((3, 1, 2, 2))), "other.spatial_shape",
            "(4,)", "(2, 2)")


@pytest.mark.parametrize("depth", [0, -1, 1.5, "2", True, None])
def test_depth(depth):
    A = ConvOperator.from_kernel(GOOD)
    _raises(lambda: linear_cost(A, depth), "depth")
    _raises(lambda: balanced_factorization(A, depth), "depth")


def test_operator_argument_of_the_cost_functions():
    for bad in (GOOD, None, [1.0]):
        _raises(lambda bad=bad: linear_cost(bad, 2), "A must be a cbntheory.ConvOperator")
        _raises(lambda bad=bad: balanced_factorization(bad, 2),
                "A must be a cbntheory.ConvOperator")


def test_width():
    A = ConvOperator.from_kernel(GOOD)
    _raises(lambda: balanced_factorization(A, 3, width=0), "width", ">= 1", "0")
    _raises(lambda: balanced_factorization(A, 3, width=1), "width", "largest per-frequency rank 2",
            "frequency (", "got 1")


def test_rng_seed_validation():
    gen, seed = V.rng_seed(7)
    assert seed == 7 and np.isclose(gen.random(), np.random.default_rng(7).random())
    g = np.random.default_rng(1)
    assert V.rng_seed(g) == (g, None)
    _, seed = V.rng_seed(None)
    assert isinstance(seed, int)
    for bad in (-1, 1.5, "seed", True):
        _raises(lambda bad=bad: V.rng_seed(bad), "rng")


def test_long_values_are_shortened_in_messages():
    msg = str(V.fail("thing", "be short", "x" * 500))
    assert msg.startswith("thing must be short; got ") and msg.endswith("...") and len(msg) < 120
