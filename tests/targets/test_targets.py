"""Tests of the target library (cbntheory.targets) and of the CBN constructions.

Every derived rank is compared with an independent computation: per-frequency ranks of
the dense operator matrix built from the kernel by index arithmetic (restricted to the
Fourier modes with explicit complex exponentials), exact ranks in the cyclotomic field
for the integer kernels, span dimensions of the construction's activations from
numpy's DFT, and direct loops for the data.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory import targets
from cbntheory.targets import signals as _targets_signals

LINEAR = [n for n in targets.names() if targets.get(n).kind == "operator"]
DATA = [n for n in targets.names() if targets.get(n).kind == "data"]
ORBITS = ["shift_autoencoder_1d", "shift_autoencoder_2d", "shape_pattern_1d"]


def dense_from_kernel(kernel: np.ndarray) -> np.ndarray:
    """Dense operator ``M[(o, p), (i, q)] = c W[o, i, p - q]`` by explicit loops (c = 1/sqrt d)."""
    cout, cin = kernel.shape[:2]
    shape = kernel.shape[2:]
    pixels = list(np.ndindex(*shape))
    d = len(pixels)
    M = np.zeros((cout, d, cin, d))
    for a, p in enumerate(pixels):
        for b, q in enumerate(pixels):
            diff = tuple((pi - qi) % n for pi, qi, n in zip(p, q, shape))
            M[:, a, :, b] = kernel[(slice(None), slice(None)) + diff]
    return M.reshape(cout * d, cin * d) / np.sqrt(d)


def mode_ranks(kernel: np.ndarray) -> np.ndarray:
    """rank of M restricted to the modes ``e_i exp(2 pi i <m, q>/d)``, for every m."""
    cout, cin = kernel.shape[:2]
    shape = kernel.shape[2:]
    M = dense_from_kernel(kernel)
    pixels = np.array(list(np.ndindex(*shape)))
    ranks = np.zeros(shape, dtype=int)
    for m in np.ndindex(*shape):
        phase = np.exp(2j * np.pi * (pixels * (np.array(m) / np.array(shape))).sum(axis=1))
        modes = np.kron(np.eye(cin), phase[:, None])                    # (cin*d, cin)
        ranks[m] = np.linalg.matrix_rank(M @ modes, tol=1e-9)
    return ranks


def spans(signals: np.ndarray) -> np.ndarray:
    """dim span{zhat(x)[m] : x} per frequency, signals (N, C, *spatial), by numpy DFT."""
    axes = tuple(range(2, signals.ndim))
    Z = np.fft.fftn(signals, axes=axes)
    Z = np.moveaxis(Z, 0, -1)                                           # (C, *spatial, N)
    out = np.zeros(signals.shape[2:], dtype=int)
    scale = np.abs(Z).max()
    for m in np.ndindex(*out.shape):
        out[m] = np.linalg.matrix_rank(Z[(slice(None),) + m + (slice(None),)],
                                       tol=1e-8 * scale)
    return out


# ------------------------------------------------------------------ registry
def test_names_and_unknown_name_lists_valid_ones():
    assert len(targets.names()) == len(set(targets.names())) >= 8
    with pytest.raises(cbn.ValidationError) as err:
        targets.get("shift_autoencoder")
    for name in targets.names():
        assert name in str(err.value)
    with pytest.raises(cbn.ValidationError):
        targets.get(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", targets.names())
def test_fields_consistent(name):
    t = targets.get(name)
    assert t.name == name and t.description and t.title
    assert (t.operator() is None) == (t.kind == "data")
    if t.cbn_vector is not None:
        assert t.cbn_vector.shape == t.spatial_shape
        assert int(t.cbn_vector.sum()) == t.rank_cbn
        assert not t.cbn_vector.flags.writeable
    if t.rank_j is not None and t.rank_cbn is not None:
        assert t.rank_j <= t.rank_cbn
    arch = t.architecture(3)
    assert arch.depth == 3 and arch.spatial_shape == t.spatial_shape
    assert arch.activation == t.activation and arch.head == t.head
    assert arch.channels[0] == t.in_channels and arch.channels[-1] == t.out_channels
    assert t.architecture(4, width=5).channels[1:-1] == (5, 5, 5)
    assert t.architecture(3, quick=True).channels[1] == t.quick_width


def test_architecture_validates_depth():
    with pytest.raises(cbn.ValidationError, match="depth"):
        targets.get("bandlimited_1d").architecture(0)
    with pytest.raises(cbn.ValidationError, match="depth"):
        targets.get("invariant_pool").architecture(1)      # avgpool needs depth >= 2
    with pytest.raises(cbn.ValidationError, match="width"):
        targets.get("bandlimited_1d").architecture(2, width=0)


# ------------------------------------------------------------------ linear targets
@pytest.mark.parametrize("name", LINEAR)
def test_linear_ranks_against_dense_matrix(name):
    t = targets.get(name)
    op = t.operator()
    assert op.in_channels == t.in_channels and op.out_channels == t.out_channels
    kernel = np.array(op.kernel)
    ranks = mode_ranks(kernel)
    np.testing.assert_array_equal(ranks, t.cbn_vector)
    total = np.linalg.matrix_rank(dense_from_kernel(kernel), tol=1e-9)
    assert total == t.rank_j == t.rank_cbn
    assert t.default_width >= ranks.max()            # T1's width hypothesis


@pytest.mark.parametrize("name", ["mixer_1d", "mixer_2d"])
def test_integer_mixers_exact_ranks(name):
    kernel = np.array(targets.get(name).operator().kernel)
    assert np.array_equal(kernel, np.round(kernel))
    np.testing.assert_array_equal(cbn.symbolic.exact_cbn_rank(kernel.astype(int)),
                                  targets.get(name).cbn_vector)


def test_bandlimited_kernels_are_real_and_symmetric():
    for name in ("bandlimited_1d", "bandlimited_2d"):
        k = np.array(targets.get(name).operator().kernel)[0, 0]
        flipped = k
        for ax in range(k.ndim):
            flipped = np.roll(np.flip(flipped, axis=ax), 1, axis=ax)
        np.testing.assert_allclose(k, flipped, atol=1e-12)      # even filter: real spectrum


# ------------------------------------------------------------------ data targets
@pytest.mark.parametrize("name", DATA)
def test_data_deterministic_and_shaped(name):
    t = targets.get(name)
    X1, Y1 = t.data()
    X2, Y2 = t.data()
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(Y1, Y2)
    Xq, Yq = t.data(quick=True)
    assert Xq.shape[0] <= X1.shape[0] and Xq.shape[1:] == X1.shape[1:]
    arch = t.architecture(3)
    assert X1.shape[1:] == arch.input_shape
    assert Y1.shape == (X1.shape[0],) + arch.output_shape
    X1[0] += 1.0                                                   # callers get copies
    assert not np.array_equal(t.data()[0], X1)


@pytest.mark.parametrize("name", ORBITS)
def test_orbit_data_are_all_shifts_with_trivial_stabiliser(name):
    X, Y = targets.get(name).data()
    x0 = X[0, 0]
    axes = tuple(range(x0.ndim))
    shifted = {np.roll(x0, t, axis=axes).tobytes() for t in np.ndindex(*x0.shape)}
    assert len(shifted) == X.shape[0] == x0.size        # trivial stabiliser: d distinct shifts
    assert {x.tobytes() for x in X[:, 0]} == shifted
    np.testing.assert_array_equal(X, Y)
    # the data use (almost) every frequency: the bottleneck really compresses
    assert spans(X).sum() > 2 * targets.get(name).rank_cbn


@pytest.mark.parametrize("name", ORBITS)
@pytest.mark.parametrize("depth", [2, 3, 6])
def test_orbit_construction_reproduces_data(name, depth):
    t = targets.get(name)
    X, Y = t.data()
    con = t.construction(depth)
    net = con.network
    assert net.architecture == t.architecture(depth)
    np.testing.assert_allclose(net(X), Y, atol=1e-10 * np.abs(Y).max())
    direct = sum(float(np.sum(w ** 2)) for w in net.kernels) + sum(
        float(np.sum(b ** 2)) for b in net.biases)
    assert np.isclose(con.norm, direct, rtol=1e-12)
    assert np.isclose(con.norm, depth * t.rank_cbn + con.constant)
    np.testing.assert_array_equal(con.cbn_vector, t.cbn_vector)
    if depth >= 3:
        # the representation after layer 1 is non-negative and spans k_m at each frequency
        acts = net.activations(X)
        for a in acts:
            assert a.min() >= 0
        np.testing.assert_array_equal(spans(acts[0][:, :1]), t.cbn_vector)


@pytest.mark.parametrize("name", ORBITS)
def test_orbit_construction_constant_independent_of_depth(name):
    t = targets.get(name)
    c3, c9 = t.construction(3), t.construction(9, width=1)
    assert np.isclose(c9.norm - c3.norm, 6 * t.rank_cbn)
    assert np.isclose(c3.constant, c9.constant)


def test_invariant_pool_values_and_jacobian_rank():
    t = targets.get("invariant_pool")
    X, Y = t.data()
    for x, y in zip(X, Y):
        d = x.shape[-1]
        assert np.isclose(y[0], sum(max(x[0, p] - x[0, p - 1], 0.0) for p in range(d)) / d)
    # Rank_J = 1: the gradient by central differences is a non-zero row
    f = lambda z: np.mean(np.maximum(z - np.roll(z, 1), 0.0))  # noqa: E731
    x = X[0, 0]
    grad = np.array([(f(x + 1e-6 * e) - f(x - 1e-6 * e)) / 2e-6 for e in np.eye(x.size)])
    assert np.linalg.matrix_rank(grad[None, :], tol=1e-6) == t.rank_j
    for depth in (2, 3, 7):
        con = t.construction(depth)
        np.testing.assert_allclose(con.network(X), Y, atol=1e-12)
        assert np.isclose(con.norm, depth - 2 + 2 * np.sqrt(2 * 8))
        acts = con.network.activations(X)
        if depth >= 3:
            np.testing.assert_array_equal(spans(acts[1][:, :1]), t.cbn_vector)


def test_digits_samples():
    images, labels = _targets_signals.load_digits_images()
    classes = {"digits_classifier": (0, 1, 7), "digits_autoencoder": tuple(range(10))}
    for name, per_class in (("digits_classifier", 8), ("digits_autoencoder", 5)):
        t = targets.get(name)
        X, Y = t.data()
        n_classes = len(classes[name])
        assert X.shape == (n_classes * per_class, 1, 8, 8) and 0 <= X.min() and X.max() <= 1
        if name == "digits_classifier":
            assert np.array_equal(Y.sum(axis=0), np.full(n_classes, per_class))
            rows = [np.flatnonzero((images[:, 0] == x[0]).all(axis=(1, 2))) for x in X]
            assert all(labels[r[0]] == classes[name][int(np.argmax(y))]
                       for r, y in zip(rows, Y))
        # premises of the CBN derivations: no image is a shift of another or of itself
        keys = {}
        for i, x in enumerate(X[:, 0]):
            for s in np.ndindex(8, 8):
                key = np.roll(x, s, axis=(0, 1)).tobytes()
                assert keys.get(key, i) == i
                keys[key] = i
        assert len(keys) == 64 * X.shape[0]


def test_digits_without_sklearn_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(cbn.CBNError, match=r"cbntheory\[data\]"):
        targets.get("digits_autoencoder").data()
