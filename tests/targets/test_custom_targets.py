"""Custom targets (``Target.from_data/from_operator/from_network``) against independent facts.

References: dense operator matrices and their ranks (``_bruteforce``), a brute-force search
of every conjugation-closed frequency set for the orbit rank, the hand-derived ranks of the
built-in orbit targets, the network's own forward pass and a dense least-norm solve.
"""
from __future__ import annotations

import itertools

import _bruteforce as bf
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.errors import ValidationError
from cbntheory.measure.tabulate import bound_table
from cbntheory.targets import Target, custom, signals


def _subgroup_order(gens, shape):
    """Closure of ``gens`` under addition in ``Z_shape`` by breadth-first search."""
    seen = {(0,) * len(shape)}
    frontier = list(seen)
    while frontier:
        new = []
        for a in frontier:
            for g in gens:
                b = tuple((x + y) % n for x, y, n in zip(a, g, shape))
                if b not in seen:
                    seen.add(b)
                    new.append(b)
        frontier = new
    return len(seen)


def _brute_orbit_rank(shape):
    """Smallest |S'| over EVERY conjugation-closed set of non-zero frequencies that generates."""
    size = int(np.prod(shape))
    classes = []
    for m in itertools.product(*[range(n) for n in shape]):
        neg = tuple((-v) % n for v, n in zip(m, shape))
        if any(m) and {m, neg} not in classes:
            classes.append({m, neg})
    best = 0 if size == 1 else None
    for k in range(1, len(classes) + 1):
        for combo in itertools.combinations(classes, k):
            freqs = set().union(*combo)
            if _subgroup_order(freqs, shape) == size and (best is None or len(freqs) < best):
                best = len(freqs)
    return best


@pytest.mark.parametrize("shape", [(1,), (2,), (5,), (6,), (12,), (2, 2), (3, 3), (2, 4)])
def test_smallest_generating_set_against_exhaustive_search(shape):
    found = custom.smallest_generating_set(shape)
    assert len(found) == _brute_orbit_rank(shape)
    assert _subgroup_order(found, shape) == int(np.prod(shape))
    mod = {tuple(v % n for v, n in zip(m, shape)) for m in found}
    assert {tuple(-v % n for v, n in zip(m, shape)) for m in mod} == mod   # closed under -m


@pytest.mark.parametrize("name", ["shift_autoencoder_1d", "shift_autoencoder_2d",
                                  "shape_pattern_1d"])
def test_orbit_ranks_match_the_hand_derivations_of_the_built_in_targets(name):
    builtin = cbn.targets.get(name)
    X, Y = builtin.data()
    order = np.random.default_rng(0).permutation(len(X))   # sample order is irrelevant
    own = Target.from_data(X[order], Y[order], name="mine")
    assert own.rank_cbn == builtin.rank_cbn
    assert own.rank_cbn_bias == builtin.rank_cbn_bias
    assert int(own.cbn_vector.sum()) == builtin.rank_cbn
    assert own.cbn_vector[(0,) * (X.ndim - 2)] == 1        # the constant frequency, without biases


def test_orbit_construction_of_a_custom_target_reproduces_its_data():
    X = signals.all_shifts(signals.bump((8,), 1.0))
    t = Target.from_data(X, X)
    for bias_aware in (False, True):
        con = t.construction(4, bias_aware=bias_aware)
        assert np.allclose(con.network(X), X, atol=1e-9)
        assert con.rank_cbn == (t.rank_cbn_bias if bias_aware else t.rank_cbn)


@pytest.mark.parametrize("X,Y", [
    (np.random.default_rng(1).standard_normal((4, 1, 6)), None),           # not an orbit
    (signals.all_shifts(np.tile([1.0, 0.0, 0.5], 2)), None),               # stabiliser {0, 3}
    (signals.all_shifts(signals.bump((6,), 1.0)), "scaled"),               # f != id
])
def test_ranks_are_unknown_where_no_argument_applies(X, Y):
    Y = X if Y is None else 2 * X
    t = Target.from_data(X, Y)
    assert t.rank_j is None and t.rank_cbn is None and t.rank_cbn_bias is None
    assert "unknown" in t.description
    stated = Target.from_data(X, Y, rank_j=1, rank_cbn=4)
    assert (stated.rank_j, stated.rank_cbn) == (1, 4) and "not checked" in stated.description


def test_operator_target_ranks_are_the_dense_ranks():
    rng = np.random.default_rng(2)
    kernel = np.einsum("oj,ji,jp->oip", rng.standard_normal((3, 2)), rng.standard_normal((2, 3)),
                       rng.standard_normal((2, 6)))
    t = Target.from_operator(kernel, name="k")
    assert t.rank_cbn == np.linalg.matrix_rank(bf.dense_matrix(kernel)) == t.rank_j
    block_ranks = [np.linalg.matrix_rank(b) for b in bf.blocks(kernel)]
    assert t.cbn_vector.tolist() == block_ranks
    assert t.default_width == max(block_ranks) == 2
    table = bound_table(t, [1, 3])
    for row in table.rows:
        assert row.lower == pytest.approx(bf.t1_from_dense(kernel, row.depth)["value"],
                                          rel=1e-10)


def test_network_target_holds_the_network_outputs_and_family():
    arch = cbn.Architecture((6,), (1, 3, 2), penalize_bias=False)
    net = arch.init(3)
    X = np.random.default_rng(4).standard_normal((5, 1, 6))
    t = Target.from_network(net, X, name="net")
    Xt, Yt = t.data()
    assert np.array_equal(Xt, X) and np.allclose(Yt, net(X))
    assert t.architecture(2, width=3) == arch and t.architecture(3).depth == 3
    taps = cbn.Architecture((6,), (1, 3, 1), kernel_size=3, normalization="plain").init(0)
    t3 = Target.from_network(taps, X)
    assert t3.architecture(2, width=3) == taps.architecture     # filter size, normalisation
    assert t3.rank_cbn is None
    strided = cbn.Architecture((6,), (1, 3, 3, 1), resample=(2, 1)).init(0)
    with pytest.raises(ValidationError, match="net must have no resampling"):
        Target.from_network(strided, X)


def test_depth_one_row_of_a_data_target_is_the_dense_least_norm_layer():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 1, 5))
    Y = np.roll(X, 1, axis=-1) + 0.5
    row = bound_table(Target.from_data(X, Y), [1]).rows[0]
    # unknowns: 5 taps and one bias (penalised); equations c sum_q W[q] x_i[p-q] + b = y_i[p]
    A = np.concatenate([np.stack([bf.dense_matrix(np.eye(5)[q].reshape(1, 1, 5)) @ x[0]
                                  for q in range(5)], axis=-1) for x in X])
    A = np.hstack([A, np.ones((len(A), 1))])
    sol = np.linalg.pinv(A) @ Y.reshape(-1)
    assert np.allclose(A @ sol, Y.reshape(-1))
    assert row.status == "optimal"
    assert row.upper == pytest.approx(float(sol @ sol), rel=1e-9)


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(X=np.zeros((3, 1, 4)), Y=np.zeros((2, 1, 4))), "Y must have as many samples"),
    (dict(X=np.zeros((3, 1, 4)), Y=np.zeros((3, 1, 5))), "Y must have the spatial shape"),
    (dict(X=np.full((3, 1, 4), np.nan), Y=np.zeros((3, 1, 4))), "X must"),
    (dict(X=np.zeros((3, 4)), Y=np.zeros((3, 4))), "X must"),
    (dict(X=np.zeros((3, 1, 4)), Y=np.zeros((3, 1, 4)), bias="yes"), "bias must be one of"),
    (dict(X=np.zeros((3, 1, 4)), Y=np.zeros((3, 1, 4)), activation="tanh"), "activation must"),
    (dict(X=np.zeros((3, 1, 4)), Y=np.zeros((3, 1, 4)), width=0), "width must"),
])
def test_bad_input_names_the_parameter(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern):
        Target.from_data(**kwargs)
