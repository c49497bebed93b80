"""Tests of cbntheory.Network against references written from the definitions.

References used here (none calls the FFT engine):
* a forward pass with explicit loops over pixels (true circular convolution with c,
  resampling by index arithmetic, pooling as a sum);
* dense per-layer matrices built with loops, multiplied with the 0/1 ReLU masks;
* central finite differences;
* invariances (circular shifts) and direct sums (parameter norm).
"""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.errors import ValidationError

# --------------------------------------------------------------------------- references


def _pixels(shape):
    return list(itertools.product(*[range(n) for n in shape]))


def _c(norm, shape):
    return 1.0 / np.sqrt(np.prod(shape)) if norm == "operator" else 1.0


def ref_conv(W, z, c):
    """``out[o, p] = c sum_i sum_q W[o, i, q] z[i, p - q]`` by loops over pixels."""
    shape = z.shape[1:]
    out = np.zeros((W.shape[0],) + shape)
    for p in _pixels(shape):
        for q in _pixels(shape):
            r = tuple((a - b) % n for a, b, n in zip(p, q, shape))
            out[(slice(None),) + p] += c * W[(slice(None), slice(None)) + q] @ z[(slice(None),) + r]
    return out


def ref_resample(a, r):
    """Down-sampling keeps pixels s*p; up-sampling puts a[p] at s*p (loops)."""
    if r == 1:
        return a.copy()
    shape = a.shape[1:]
    if r > 1:
        new = tuple(n // r for n in shape)
        out = np.zeros(a.shape[:1] + new)
        for p in _pixels(new):
            out[(slice(None),) + p] = a[(slice(None),) + tuple(r * i for i in p)]
    else:
        s = -r
        out = np.zeros(a.shape[:1] + tuple(n * s for n in shape))
        for p in _pixels(shape):
            out[(slice(None),) + tuple(s * i for i in p)] = a[(slice(None),) + p]
    return out


def ref_forward_one(arch, kernels, biases, x, *, record=None):
    """One input through the definition; ``record`` collects the pre-activations."""
    L = arch.depth
    n_conv = L - (arch.head == "avgpool")
    z = np.asarray(x, dtype=float)
    for l in range(n_conv):
        u = ref_conv(kernels[l], z, _c(arch.normalization, z.shape[1:]))
        if arch.bias:
            u = u + biases[l].reshape((-1,) + (1,) * arch.ndim)
        if l == L - 1:
            return u
        if record is not None:
            record.append(u)
        a = np.maximum(u, 0.0) if arch.activation == "relu" else u
        z = ref_resample(a, arch.resample[l])
    pooled = z.reshape(z.shape[0], -1).sum(axis=1) / np.prod(z.shape[1:])
    out = kernels[-1] @ pooled
    return out + biases[-1] if arch.bias else out


def ref_forward(net, X):
    return np.stack([ref_forward_one(net.architecture, net.kernels, net.biases, x) for x in X])


def conv_matrix(W, c):
    """Dense ``M[(o,p),(i,q)] = c W[o, i, p - q]`` by loops."""
    shape = W.shape[2:]
    pix = _pixels(shape)
    d = len(pix)
    M = np.zeros((W.shape[0] * d, W.shape[1] * d))
    for o, i in itertools.product(range(W.shape[0]), range(W.shape[1])):
        for a, p in enumerate(pix):
            for b, q in enumerate(pix):
                r = tuple((u - v) % n for u, v, n in zip(p, q, shape))
                M[o * d + a, i * d + b] = c * W[(o, i) + r]
    return M


def resample_matrix(channels, shape, r):
    n_in = channels * int(np.prod(shape))
    cols = [ref_resample(e.reshape((channels,) + shape), r).ravel() for e in np.eye(n_in)]
    return np.array(cols).T


def ref_jacobian(net, x):
    """Product of dense layer matrices and 0/1 masks of the reference pre-activations."""
    arch = net.architecture
    pre = []
    ref_forward_one(arch, net.kernels, net.biases, x, record=pre)
    n_conv = arch.depth - (arch.head == "avgpool")
    J = np.eye(x.size)
    shape = arch.spatial_shape
    for l in range(n_conv):
        J = conv_matrix(net.kernels[l], _c(arch.normalization, shape)) @ J
        if l == arch.depth - 1:
            return J
        if arch.activation == "relu":
            J = (pre[l].ravel() > 0)[:, None] * J
        R = resample_matrix(arch.channels[l + 1], shape, arch.resample[l])
        J = R @ J
        shape = pre[l].shape[1:] if arch.resample[l] == 1 else tuple(
            n // arch.resample[l] if arch.resample[l] > 1 else n * -arch.resample[l]
            for n in shape)
    d = int(np.prod(shape))
    pool = np.kron(np.eye(arch.channels[-2]), np.ones((1, d)) / d)
    return net.kernels[-1] @ pool @ J


def random_net(arch, seed, bias_scale=0.3):
    """Random weights (inside the window) and random biases through the flat vector."""
    rng = np.random.default_rng(seed)
    v = arch.init(rng=seed).to_vector()
    for name, sl in arch.vector_layout:
        if name.startswith("biases"):
            v[sl] = bias_scale * rng.standard_normal(sl.stop - sl.start)
    return cbn.Network.from_vector(arch, v)


ARCHS = {
    "1d-full-relu": cbn.Architecture((6,), (2, 3, 2)),
    "1d-k3-plain": cbn.Architecture((7,), (1, 3, 3, 1), kernel_size=3, normalization="plain"),
    "1d-k2-nobias-linear": cbn.Architecture((6,), (2, 2, 3), kernel_size=2, bias=False,
                                            activation="linear"),
    "1d-down-up": cbn.Architecture((8,), (1, 3, 2, 2), kernel_size=3, resample=(2, -2)),
    "1d-avgpool": cbn.Architecture((6,), (2, 3, 3, 2), kernel_size=3, head="avgpool"),
    # down-sampling after the first layer, up-sampling just before the pool
    "1d-avgpool-resample": cbn.Architecture((8,), (1, 2, 2, 3), head="avgpool", resample=(2, -2)),
    "2d-full": cbn.Architecture((3, 4), (1, 2, 2)),
    "2d-k3-plain-freebias": cbn.Architecture((4, 4), (2, 2, 1), kernel_size=(3, 2),
                                             normalization="plain", penalize_bias=False),
    "2d-down-avgpool": cbn.Architecture((4, 4), (1, 2, 3, 2), kernel_size=2, head="avgpool",
                                        resample=(2, 1)),
    "2d-up": cbn.Architecture((2, 2), (1, 2, 1), resample=(-2,)),
}


# --------------------------------------------------------------------------- forward


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_forward_matches_loop_definition(name):
    arch = ARCHS[name]
    net = random_net(arch, 1)
    X = np.random.default_rng(2).standard_normal((3,) + arch.input_shape)
    out = net(X)
    assert out.shape == (3,) + arch.output_shape
    np.testing.assert_allclose(out, ref_forward(net, X), rtol=1e-12, atol=1e-12)


def test_forward_float32_close_to_float64():
    arch = ARCHS["2d-down-avgpool"]
    net = random_net(arch, 3)
    X = np.random.default_rng(4).standard_normal((5,) + arch.input_shape)
    y32 = net(X, dtype=np.float32)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, net(X), rtol=1e-4, atol=1e-5)


def test_activations_match_reference():
    arch = ARCHS["1d-down-up"]
    net = random_net(arch, 5)
    x = np.random.default_rng(6).standard_normal((1,) + arch.input_shape)
    pre = []
    ref_forward_one(arch, net.kernels, net.biases, x[0], record=pre)
    got_pre = net.activations(x, pre=True)
    got = net.activations(x)
    assert len(got) == arch.depth - 1
    for u, g_pre, g in zip(pre, got_pre, got):
        np.testing.assert_allclose(g_pre[0], u, atol=1e-12)
        np.testing.assert_allclose(g[0], np.maximum(u, 0), atol=1e-12)


@pytest.mark.parametrize("name", ["1d-k3-plain", "2d-full", "2d-k3-plain-freebias"])
def test_translation_equivariance(name):
    arch = ARCHS[name]
    net = random_net(arch, 7)
    X = np.random.default_rng(8).standard_normal((2,) + arch.input_shape)
    shift = (2,) if arch.ndim == 1 else (1, 3)
    axes = tuple(range(2, 2 + arch.ndim))
    np.testing.assert_allclose(net(np.roll(X, shift, axis=axes)), np.roll(net(X), shift, axis=axes),
                               atol=1e-12)


def test_downsampling_equivariant_to_stride_shifts():
    arch = cbn.Architecture((8,), (1, 2, 1), resample=(2,))
    net = random_net(arch, 9)
    X = np.random.default_rng(10).standard_normal((2, 1, 8))
    # shifting the input by the stride shifts the half-resolution output by one pixel
    np.testing.assert_allclose(net(np.roll(X, 2, axis=2)), np.roll(net(X), 1, axis=2), atol=1e-12)


# --------------------------------------------------------------------------- gradients


def _fd_gradient(arch, v, f, eps=1e-6):
    g = np.zeros_like(v)
    for i in range(v.size):
        e = np.zeros_like(v)
        e[i] = eps
        g[i] = (f(cbn.Network.from_vector(arch, v + e)) -
                f(cbn.Network.from_vector(arch, v - e))) / (2 * eps)
    return g


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_gradient_matches_finite_differences(name):
    arch = ARCHS[name]
    net = random_net(arch, 11)
    rng = np.random.default_rng(12)
    X = rng.standard_normal((2,) + arch.input_shape)
    Y = rng.standard_normal((2,) + arch.output_shape)

    def loss(out):
        r = out - Y
        return 0.5 * float(np.sum(r ** 2)) + float(np.sum(np.sin(out))), r + np.cos(out)

    value, grad, _out = net.value_and_grad(X, loss)
    assert value == pytest.approx(loss(ref_forward(net, X))[0], rel=1e-12)
    fd = _fd_gradient(arch, net.to_vector(), lambda m: loss(m(X))[0])
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(fd).max()))


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_jvp_matches_finite_differences_and_is_adjoint_to_the_gradient(name):
    # forward mode along a parameter direction v: against central differences of the
    # loop-defined forward pass, and <J v, c> = <v, J^T c> with the reverse pass
    arch = ARCHS[name]
    net = random_net(arch, 21)
    rng = np.random.default_rng(22)
    X = rng.standard_normal((2,) + arch.input_shape)
    v = rng.standard_normal(arch.n_free)
    out, dout = net.jvp(X, v)
    assert dout.shape == out.shape
    np.testing.assert_allclose(out, ref_forward(net, X), rtol=1e-12, atol=1e-12)
    theta, eps = net.to_vector(), 1e-6
    fd = (ref_forward(cbn.Network.from_vector(arch, theta + eps * v), X)
          - ref_forward(cbn.Network.from_vector(arch, theta - eps * v), X)) / (2 * eps)
    np.testing.assert_allclose(dout, fd, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(fd).max()))
    c = rng.standard_normal(out.shape)
    _, grad = net.vjp(X, c)
    assert float(np.sum(dout * c)) == pytest.approx(float(grad @ v), rel=1e-10)
    with pytest.raises(ValidationError, match="tangent"):
        net.jvp(X, v[:-1])


def test_gradient_arrays_projected_on_window_and_consistent_with_vector():
    arch = ARCHS["1d-k3-plain"]
    net = random_net(arch, 13)
    rng = np.random.default_rng(14)
    X = rng.standard_normal((3,) + arch.input_shape)
    cot = rng.standard_normal((3,) + arch.output_shape)
    _out, backward = net.pullback(X)
    kg, bg = backward(cot, as_vector=False)
    vec = backward(cot)
    for l, w in enumerate(arch.windows):
        assert np.all(kg[l][..., ~w] == 0)
    # the array gradients, read as a network, give the vector gradient
    as_net = cbn.Network(arch, kg, bg)
    np.testing.assert_allclose(as_net.to_vector(), vec, atol=0)
    # <cot, f> is linear in the last layer's bias: its gradient is the summed cotangent
    np.testing.assert_allclose(bg[-1], cot.sum(axis=(0, 2)), rtol=1e-12)


def _float32_gradient_agrees(arch, seed: int, batch: int) -> None:
    """The float32 vjp is the float64 one to single precision, in float32."""
    net = random_net(arch, seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch,) + arch.input_shape)
    cot = rng.standard_normal((batch,) + arch.output_shape)
    _, g64 = net.vjp(X, cot)
    y32, g32 = net.vjp(X, cot, dtype="float32")
    assert y32.dtype == np.float32 and g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-4 * np.abs(g64).max())


def test_gradient_float32_close_to_float64():
    _float32_gradient_agrees(ARCHS["2d-full"], 15, batch=4)


# --------------------------------------------------------------------------- Jacobians


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_jacobian_matches_dense_layer_product(name):
    arch = ARCHS[name]
    net = random_net(arch, 17)
    x = np.random.default_rng(18).standard_normal(arch.input_shape)
    ref = ref_jacobian(net, x)
    for mode in ("forward", "reverse", "auto"):
        np.testing.assert_allclose(net.jacobian(x, mode=mode), ref, atol=1e-12)


@pytest.mark.parametrize("name", ["1d-down-up", "2d-down-avgpool"])
def test_jacobian_matches_finite_differences(name):
    arch = ARCHS[name]
    net = random_net(arch, 19)
    x = np.random.default_rng(20).standard_normal(arch.input_shape)
    eps = 1e-6
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = eps
        e = e.reshape(x.shape)
        cols.append((net((x + e)[None]) - net((x - e)[None])).ravel() / (2 * eps))
    np.testing.assert_allclose(net.jacobian(x), np.array(cols).T, atol=1e-7)


def test_jacobian_counts_zero_preactivation_as_inactive():
    # one hidden unit whose pre-activation is exactly 0 at x = 0 (no bias, plain c)
    arch = cbn.Architecture((1,), (1, 1, 1), bias=False, normalization="plain")
    net = cbn.Network(arch, [np.ones((1, 1, 1)), np.ones((1, 1, 1))], [])
    assert net.jacobian(np.zeros((1, 1)))[0, 0] == 0.0
    assert net.jacobian(np.full((1, 1), 1e-300))[0, 0] == 1.0


def _dft_matrix(shape):
    """Unnormalised multi-dimensional DFT as a dense matrix over C-order pixels (loops)."""
    pix = _pixels(shape)
    F = np.zeros((len(pix), len(pix)), dtype=complex)
    for a, m in enumerate(pix):
        for b, p in enumerate(pix):
            F[a, b] = np.exp(-2j * np.pi * sum(mi * pi / n for mi, pi, n in zip(m, p, shape)))
    return F


@pytest.mark.parametrize("shape,channels,ks", [((6,), (2, 3, 3, 2), None),
                                               ((3, 4), (1, 3, 2), (3, 3))])
def test_jacobian_blocks_match_dft_of_dense_jacobian(shape, channels, ks):
    arch = cbn.Architecture(shape, channels, kernel_size=ks)
    net = random_net(arch, 21, bias_scale=1.0)
    x = np.ones((channels[0],) + shape) * np.arange(1, channels[0] + 1).reshape(
        (-1,) + (1,) * len(shape))
    dense = ref_jacobian(net, x)
    F = _dft_matrix(shape)
    d = F.shape[0]
    Fo = np.kron(np.eye(channels[-1]), F)
    Fi_inv = np.kron(np.eye(channels[0]), np.linalg.inv(F))
    T = (Fo @ dense @ Fi_inv).reshape(channels[-1], d, channels[0], d)
    blocks = net.jacobian_blocks(x)
    assert blocks.shape == shape + (channels[-1], channels[0])
    flat = blocks.reshape(d, channels[-1], channels[0])
    expect = np.zeros((channels[-1], d, channels[0], d), dtype=complex)
    for m in range(d):
        expect[:, m, :, m] = flat[m]
    np.testing.assert_allclose(T, expect, atol=1e-10)


def test_jacobian_blocks_refuses_varying_input_and_wrong_architectures():
    net = random_net(cbn.Architecture((6,), (1, 2, 1)), 22)
    x = np.ones((1, 6))
    x[0, 2] += 1e-3
    with pytest.raises(ValidationError, match="constant over pixels.*residual"):
        net.jacobian_blocks(x)
    for arch in (ARCHS["1d-avgpool"], ARCHS["1d-down-up"]):
        with pytest.raises(ValidationError, match="architecture"):
            random_net(arch, 0).jacobian_blocks(np.ones(arch.input_shape))


@pytest.mark.parametrize("norm", ["operator", "plain"])
def test_layer_blocks_are_scaled_dft_of_kernels(norm):
    arch = cbn.Architecture((3, 2), (2, 3, 1), normalization=norm)
    net = random_net(arch, 23)
    W = net.kernels[0]
    c = _c(norm, (3, 2))
    expect = np.zeros((3, 2, 3, 2), dtype=complex)
    for m in _pixels((3, 2)):
        for p in _pixels((3, 2)):
            phase = np.exp(-2j * np.pi * (m[0] * p[0] / 3 + m[1] * p[1] / 2))
            expect[m] += c * W[(slice(None), slice(None)) + p] * phase
    np.testing.assert_allclose(net.layer_blocks(0), expect, atol=1e-12)
    with pytest.raises(ValidationError, match="l must"):
        net.layer_blocks(2)


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("name", sorted(ARCHS))
def test_param_norm_is_direct_sum(name):
    arch = ARCHS[name]
    net = random_net(arch, 24)
    total = 0.0
    for w in net.kernels:
        for value in w.ravel():
            total += value * value
    if arch.penalize_bias:
        for b in net.biases:
            for value in b:
                total += value * value
    assert net.param_norm() == pytest.approx(total, rel=1e-13)
    v = net.to_vector()
    assert v.size == arch.n_free
    assert float(np.sum(v[arch.penalty_mask()] ** 2)) == pytest.approx(total, rel=1e-13)


def test_vector_round_trip():
    arch = ARCHS["2d-down-avgpool"]
    v = np.random.default_rng(25).standard_normal(arch.n_free)
    net = cbn.Network.from_vector(arch, v)
    np.testing.assert_array_equal(net.to_vector(), v)
    for l, w in enumerate(arch.windows):
        assert np.all(net.kernels[l][..., ~w] == 0)
    with pytest.raises(ValidationError, match="vector must have length"):
        cbn.Network.from_vector(arch, v[:-1])
    bad = v.copy()
    bad[3] = np.nan
    with pytest.raises(ValidationError, match="vector must be finite"):
        cbn.Network.from_vector(arch, bad)


def test_weights_are_read_only():
    net = ARCHS["1d-full-relu"].init(rng=0)
    with pytest.raises(ValueError):
        net.kernels[0][0, 0, 0] = 1.0


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("name", ["1d-avgpool", "2d-k3-plain-freebias", "1d-k2-nobias-linear"])
def test_save_load_round_trip(tmp_path, name):
    arch = ARCHS[name]
    net = random_net(arch, 26)
    net = cbn.Network(arch, net.kernels, net.biases, seed=26)
    path = net.save(tmp_path / "model")
    assert path.suffix == ".npz"
    back = cbn.Network.load(path)
    assert back.architecture == arch and back.seed == 26
    np.testing.assert_array_equal(back.to_vector(), net.to_vector())
    with np.load(path, allow_pickle=False) as data:  # readable without pickles
        assert json.loads(str(data["meta"]))["architecture"] == arch.to_dict()


def test_load_rejects_foreign_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    np.save(tmp_path / "single.npy", np.ones(3))
    (tmp_path / "text.npz").write_text("not a zip file")
    for fname in ("other.npz", "single.npy", "text.npz"):
        with pytest.raises(ValidationError, match="cbntheory network file"):
            cbn.Network.load(tmp_path / fname)
    with pytest.raises(FileNotFoundError):
        cbn.Network.load(tmp_path / "missing.npz")


# --------------------------------------------------------------------------- bad input


def test_bad_network_arguments_are_refused():
    arch = cbn.Architecture((6,), (2, 3, 1), kernel_size=3)
    good = arch.init(rng=0)
    ks, bs = good.kernels, good.biases
    with pytest.raises(ValidationError, match="kernels must have one array per layer"):
        cbn.Network(arch, ks[:1], bs)
    with pytest.raises(ValidationError, match=r"kernels\[1\] must have shape"):
        cbn.Network(arch, [ks[0], np.zeros((1, 2, 6))], bs)  # channel mismatch
    with pytest.raises(ValidationError, match=r"biases\[0\] must have shape"):
        cbn.Network(arch, ks, [np.zeros(2), bs[1]])
    with pytest.raises(ValidationError, match="biases must have one array per layer"):
        cbn.Network(arch, ks, [])
    bad = np.array(ks[0])
    bad[0, 0, 3] = 0.5  # offset 3 is outside the 3-tap window {-1, 0, 1}
    with pytest.raises(ValidationError, match=r"kernels\[0\] must be zero outside the window"):
        cbn.Network(arch, [bad, ks[1]], bs)
    nan = np.array(ks[1])
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValidationError, match=r"kernels\[1\] must be finite"):
        cbn.Network(arch, [ks[0], nan], bs)
    with pytest.raises(ValidationError, match="biases must be empty"):
        cbn.Network(cbn.Architecture((6,), (2, 1), bias=False), [np.zeros((1, 2, 6))],
                    [np.zeros(1)])
    with pytest.raises(ValidationError, match="architecture must be"):
        cbn.Network("arch", ks, bs)


def test_bad_inputs_are_refused():
    net = cbn.Architecture((6,), (2, 3, 1)).init(rng=0)
    with pytest.raises(ValidationError, match=r"x must have shape \(N, 2, 6\)"):
        net(np.ones((2, 6)))
    with pytest.raises(ValidationError, match=r"x must have shape \(N, 2, 6\)"):
        net(np.ones((4, 3, 6)))  # channel mismatch
    x = np.ones((1, 2, 6))
    x[0, 1, 2] = np.inf
    with pytest.raises(ValidationError, match="x must be finite"):
        net(x)
    with pytest.raises(ValidationError, match="cotangent must have the output shape"):
        net.vjp(np.ones((2, 2, 6)), np.ones((1, 1, 6)))
    with pytest.raises(ValidationError, match="dtype must be"):
        net(np.ones((1, 2, 6)), dtype=np.int64)
    with pytest.raises(ValidationError, match=r"x must have shape \(2, 6\)"):
        net.jacobian(np.ones((1, 2, 6)))
    with pytest.raises(ValidationError, match="mode must be"):
        net.jacobian(np.ones((2, 6)), mode="sideways")


# --------------------------------------------------------------------------- FFT backend (issue 16)


@pytest.fixture
def scipy_fft(monkeypatch):
    """Every transform of the engine through scipy.fft, threaded (the large-size route)."""
    from cbntheory import settings
    monkeypatch.setattr(settings, "FFT_SCIPY_MIN_SIZE", 1)
    monkeypatch.setattr(settings, "FFT_SCIPY_MIN_SIZE_DOUBLE", 1)
    monkeypatch.setattr(settings, "FFT_THREADED_MIN_SIZE", 1)


@pytest.mark.parametrize("name", ["2d-full", "1d-down-up", "2d-down-avgpool"])
def test_scipy_fft_engine_matches_loop_definition_and_finite_differences(scipy_fft, name):
    arch = ARCHS[name]
    net = random_net(arch, 21)
    rng = np.random.default_rng(22)
    X = rng.standard_normal((3,) + arch.input_shape)
    np.testing.assert_allclose(net(X), ref_forward(net, X), rtol=1e-12, atol=1e-12)
    cot = rng.standard_normal((3,) + arch.output_shape)
    _, g = net.vjp(X, cot)
    fd = _fd_gradient(arch, net.to_vector(), lambda n: float(np.sum(cot * n(X))))
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())


def test_scipy_fft_float32_gradient_matches_float64(scipy_fft):
    # float32 on the scipy route: the gradient is the float64 one to single precision
    _float32_gradient_agrees(cbn.Architecture((8, 8), (3, 4, 4, 2)), 23, batch=6)
