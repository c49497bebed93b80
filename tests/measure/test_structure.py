"""Tests of the frequency-structure analysis (cbntheory.measure.structure).

References:
* planted networks whose kernels are built (with numpy's inverse FFT) from chosen
  frequency blocks ``U diag(s) V^H``: the analysis must return exactly the planted
  singular values and ranks;
* activations from a dense forward pass with loop-built operator matrices, their DFT as
  an explicit finite sum (``_bruteforce.dft``) and per-frequency SVDs of the stacked
  coefficient vectors, with the documented threshold rule written out again;
* THEORY.md T3's example: all circular shifts of one bump span one dimension at every
  frequency where the bump's DFT is non-zero.
"""
from __future__ import annotations

import json

import _bruteforce as bf
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.errors import ValidationError
from cbntheory.measure.structure import (
    activation_structure,
    analyze_structure,
    estimate_cbn_rank,
    frequency_span,
    weight_spectra,
)
from cbntheory.output.files import to_plain

# --------------------------------------------------------------------------- references


def _orthonormal(rng, n, r, real):
    g = rng.standard_normal((n, r))
    if not real:
        g = g + 1j * rng.standard_normal((n, r))
    return np.linalg.qr(g)[0][:, :r]


def planted_kernel(shape, cout, cin, spec, rng, normalization="operator"):
    """Real kernel whose block at m is U diag(s) V^H for m in ``spec`` (and conj at -m), else 0."""
    blocks = np.zeros(tuple(shape) + (cout, cin), dtype=complex)
    for m, s in spec.items():
        s = np.asarray(s, dtype=float)
        neg = tuple((-a) % n for a, n in zip(m, shape))
        real = neg == tuple(m)
        U = _orthonormal(rng, cout, s.size, real)
        V = _orthonormal(rng, cin, s.size, real)
        B = (U * s) @ V.conj().T
        blocks[tuple(m)] = B
        blocks[neg] = B.conj()
    c = bf.norm_constant(normalization, shape)
    k = np.fft.ifftn(blocks / c, axes=tuple(range(len(shape))))
    assert np.abs(k.imag).max() < 1e-12
    return np.moveaxis(k.real, (-2, -1), (0, 1))


def ref_activations(net, X):
    """Input, hidden activations and output by dense loop matrices (no FFT)."""
    arch = net.architecture
    d = int(np.prod(arch.spatial_shape))
    mats = [bf.dense_matrix(w, arch.normalization) for w in net.kernels]
    layers = [X]
    a = X.reshape(X.shape[0], -1)
    for l, M in enumerate(mats):
        u = a @ M.T
        if arch.bias:
            u = u + np.repeat(net.biases[l], d)
        if l < arch.depth - 1 and arch.activation == "relu":
            u = np.maximum(u, 0.0)
        a = u
        layers.append(a.reshape((X.shape[0], arch.channels[l + 1]) + arch.spatial_shape))
    return layers


def ref_span(signals, rtol):
    """Span dims and energy per frequency: finite-sum DFT, SVD per frequency, global cut."""
    shape = signals.shape[2:]
    Z = bf.dft(signals, shape)                                   # (N, C, *spatial)
    svals, power = {}, {}
    for m in bf.pixels(shape):
        mat = Z[(slice(None), slice(None)) + m].T                # (C, N)
        svals[m] = np.linalg.svd(mat, compute_uv=False)
        power[m] = float(np.sum(np.abs(mat) ** 2))
    top = max(s.max() for s in svals.values())
    dims = np.zeros(shape, dtype=int)
    energy = np.zeros(shape)
    total = sum(power.values())
    for m in bf.pixels(shape):
        dims[m] = int(np.sum(svals[m] > rtol * top))
        energy[m] = power[m] / total
    return dims, energy, svals


def _net(shape, channels, kernels, **kw):
    arch = cbn.Architecture(shape, channels, bias=False, **kw)
    return cbn.Network(arch, kernels, [])

# --------------------------------------------------------------------------- weights


@pytest.mark.parametrize("shape,norm", [((8,), "operator"), ((6,), "plain"),
                                        ((4, 4), "operator"), ((3, 4), "plain")])
def test_weight_spectra_recover_planted_frequency_blocks(shape, norm):
    rng = np.random.default_rng(0)
    ndim = len(shape)
    spec = {(0,) * ndim: [2.0, 0.7], (1,) + (0,) * (ndim - 1): [1.3, 0.4, 0.2],
            (0,) * (ndim - 1) + (2,): [0.9]}
    W = planted_kernel(shape, 3, 4, spec, rng, norm)
    (layer,) = weight_spectra(_net(shape, (4, 3), [W], normalization=norm))
    expected = np.zeros(shape + (3,))
    for m, s in spec.items():
        neg = tuple((-a) % n for a, n in zip(m, shape))
        expected[m][:len(s)] = expected[neg][:len(s)] = sorted(s, reverse=True)
    assert layer.singular_values.shape == expected.shape
    assert np.allclose(layer.singular_values, expected, atol=1e-12)
    assert layer.counts(0.5).sum() == sum(int(np.sum(np.asarray(s) > 0.5)) * (
        1 if tuple((-a) % n for a, n in zip(m, shape)) == m else 2) for m, s in spec.items())


def test_weight_estimate_reads_the_lower_median_of_middle_layers():
    d = 8
    rng = np.random.default_rng(1)
    keep = {(0,): [1.0, 1.0], (1,): [1.0], (3,): [1.0]}         # k = 2 at 0, 1 at +-1, +-3
    noise = {(2,): [0.05]}                                      # below the 0.2 cut
    middle = [planted_kernel((d,), 3, 3, {**keep, **noise}, rng) for _ in range(3)]
    # one middle layer carries an extra singular value 0.9 at m = 2: the median ignores it
    middle[1] = planted_kernel((d,), 3, 3, {**keep, (2,): [0.9]}, rng)
    first = rng.standard_normal((3, 2, d))
    last = rng.standard_normal((1, 3, d))
    net = _net((d,), (2, 3, 3, 3, 3, 1), [first, *middle, last])
    est = estimate_cbn_rank(net)
    expected = np.zeros(d, dtype=int)
    expected[[0, 1, 7, 3, 5]] = [2, 1, 1, 1, 1]
    assert est.k.tolist() == expected.tolist()
    assert est.method == "weights" and est.layers == (2, 3, 4) and est.threshold == 0.2
    assert est.total == 6 and est.describe() == "2 constant, 2 degree-1, 2 degree-3"
    # a threshold above 1 keeps nothing, one below 0.05 also keeps the noise at m = +-2
    assert estimate_cbn_rank(net, threshold=1.5).total == 0
    assert estimate_cbn_rank(net, threshold=0.01).k[[2, 6]].tolist() == [1, 1]


def test_weight_estimate_uses_the_smallest_resolution_with_resampling():
    arch = cbn.Architecture((8,), (1, 2, 2, 2, 1), resample=(2, 1, -2), bias=False)
    rng = np.random.default_rng(2)
    kernels = [rng.standard_normal(s) for s in arch.kernel_shapes]
    kernels[1] = planted_kernel((4,), 2, 2, {(0,): [1.0], (1,): [1.0]}, rng)
    kernels[2] = planted_kernel((4,), 2, 2, {(0,): [1.0], (1,): [1.0]}, rng)
    est = estimate_cbn_rank(cbn.Network(arch, kernels, []))
    assert est.spatial_shape == (4,) and est.layers == (2, 3)
    assert est.k.tolist() == [1, 1, 0, 1]


# --------------------------------------------------------------------------- activations


@pytest.mark.parametrize("case", ["relu-1d", "linear-lowrank-1d", "relu-2d", "linear-2d-plain"])
def test_activation_span_and_energy_match_brute_force(case):
    rng = np.random.default_rng(3)
    if case.endswith(("2d", "plain")):
        shape = (3, 4)
    else:
        shape = (6,)
    norm = "plain" if case.endswith("plain") else "operator"
    act = "linear" if case.startswith("linear") else "relu"
    arch = cbn.Architecture(shape, (2, 3, 4, 2), activation=act, normalization=norm)
    net = arch.init(rng=4)
    net = cbn.Network(arch, net.kernels, [0.2 * rng.standard_normal(b.shape) for b in net.biases])
    if "lowrank" in case or act == "linear":
        basis = rng.standard_normal((2, 2) + shape)            # data in a 2-dim space
        X = np.einsum("nk,kc...->nc...", rng.standard_normal((7, 2)), basis)
    else:
        X = rng.standard_normal((7, 2) + shape)
    rtol = 1e-6
    got = activation_structure(net, X, rtol=rtol)
    refs = ref_activations(net, X)
    assert [a.role for a in got] == ["input", "hidden", "hidden", "output"]
    for layer, ref in zip(got, refs):
        dims, energy, _ = ref_span(ref, rtol)
        assert layer.span.span_dims.tolist() == dims.tolist(), layer.layer
        assert np.allclose(layer.span.energy, energy, atol=1e-12)
    if act == "linear":   # a linear equivariant image of a 2-dim data set spans <= 2 + bias
        assert all(int(a.span.span_dims.max()) <= 3 for a in got)


def test_shift_autoencoder_input_spans_one_dimension_per_frequency():
    d = 16
    p = np.arange(d)
    bump = np.exp(-0.5 * ((p - d / 2) / 1.5) ** 2)
    X = np.stack([np.roll(bump, j) for j in range(d)])[:, None, :]
    span = frequency_span(X, rtol=1e-10)
    nonzero = np.abs(np.fft.fft(bump)) > 1e-10 * np.abs(np.fft.fft(bump)).max()
    assert nonzero.all() and span.span_dims.tolist() == nonzero.astype(int).tolist()
    # a raised-cosine bump has DFT support {0, +-1}: Rank_CBN 3 = 1 constant, 2 degree-1
    X2 = np.stack([np.roll(1 + np.cos(2 * np.pi * p / d), j) for j in range(d)])[:, None, :]
    span2 = frequency_span(X2, rtol=1e-10)
    assert span2.describe() == "1 constant, 2 degree-1" and int(span2.span_dims.sum()) == 3
    # energy: |bhat[m]|^2 shares (d shifts each contribute the same |bhat[m]|^2)
    b2 = np.abs(np.fft.fft(1 + np.cos(2 * np.pi * p / d))) ** 2
    assert np.allclose(span2.energy, b2 / b2.sum())


def test_shift_autoencoder_2d_needs_four_degree_one_frequencies():
    d = 6
    p1, p2 = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    bump = 2 + np.cos(2 * np.pi * p1 / d) + np.cos(2 * np.pi * p2 / d)
    X = np.stack([np.roll(bump, (i, j), axis=(0, 1)) for i in range(d) for j in range(d)])
    span = frequency_span(X[:, None], rtol=1e-10)
    assert span.describe() == "1 constant, 4 degree-1"
    assert span.describe("linf") == "1 constant, 4 degree-1"


def test_activation_estimate_on_the_cbn_construction():
    """T3's construction: ReLU layers that project onto {0, +-1} and shifted positive data."""
    d = 8
    p = np.arange(d)
    proj = ((1 + 2 * np.cos(2 * np.pi * p / d)) / np.sqrt(d)).reshape(1, 1, d)  # blocks 1 or 0
    arch = cbn.Architecture((d,), (1, 1, 1, 1, 1), bias=False)
    net = cbn.Network(arch, [proj] * 4, [])
    X = np.stack([np.roll(2 + np.cos(2 * np.pi * p / d + 0.3), j) for j in range(d)])[:, None]
    assert np.allclose(net(X), X)                         # ReLU acts as the identity on g >= 0
    est = estimate_cbn_rank(net, X, threshold=1e-8)
    assert est.method == "activations" and est.describe() == "1 constant, 2 degree-1"
    assert est.layers == (2,) and est.total == 3          # ties go to the central layer
    w_est = estimate_cbn_rank(net)
    assert w_est.k.tolist() == est.k.tolist()


def test_activation_estimate_picks_the_narrowest_hidden_layer():
    d = 6
    rng = np.random.default_rng(5)
    arch = cbn.Architecture((d,), (2, 4, 4, 2), activation="linear", bias=False)
    band = {(0,): [1.0], (1,): [1.0]}                       # layer 2 keeps 3 directions
    kernels = [rng.standard_normal((4, 2, d)), planted_kernel((d,), 4, 4, band, rng),
               rng.standard_normal((2, 4, d))]
    net = cbn.Network(arch, kernels, [])
    X = rng.standard_normal((10, 2, d))
    est = estimate_cbn_rank(net, X, threshold=1e-8)
    assert est.layers == (2,) and est.describe() == "1 constant, 2 degree-1"


# --------------------------------------------------------------------------- report


def test_report_renders_and_serialises():
    rng = np.random.default_rng(6)
    arch = cbn.Architecture((4, 4), (2, 3, 3, 2), head="avgpool")
    net = arch.init(rng=1)
    X = rng.standard_normal((5, 2, 4, 4))
    rep = analyze_structure(net, X, weight_threshold=0.8, span_rtol=1e-4)
    text = rep.render()
    assert "CBN rank estimate (activations)" in text and "CBN rank estimate (weights)" in text
    assert "threshold 0.8" in text and "dense head" in text
    data = json.loads(json.dumps(to_plain(rep.as_dict())))
    assert data["estimate"]["method"] == "activations"
    assert len(data["activations"]) == 3                  # input and two hidden; no pixels out
    assert data["weights"][-1]["kind"] == "dense"
    assert np.allclose(data["weights"][-1]["singular_values"],
                       np.linalg.svd(net.kernels[-1], compute_uv=False))
    assert analyze_structure(net).activations is None


def test_bad_input_is_refused():
    net = cbn.Architecture((4,), (1, 2, 1)).init(rng=0)
    with pytest.raises(ValidationError, match="signals"):
        frequency_span(np.zeros((3, 4)))
    with pytest.raises(ValidationError, match="rtol"):
        frequency_span(np.zeros((3, 1, 4)), rtol=-1.0)
    with pytest.raises(ValidationError, match="threshold"):
        estimate_cbn_rank(net, threshold=float("nan"))
    with pytest.raises(ValidationError, match="data"):
        activation_structure(net, np.zeros((3, 2, 4)))
    with pytest.raises(ValidationError, match="net must"):
        weight_spectra(object())
    shallow = cbn.Architecture((4,), (1, 1)).init(rng=0)
    with pytest.raises(ValidationError, match="hidden layer"):
        estimate_cbn_rank(shallow, np.ones((2, 1, 4)))
    # all-zero signals: no dimension anywhere, zero energy
    zero = frequency_span(np.zeros((3, 2, 4)))
    assert zero.span_dims.sum() == 0 and zero.energy.sum() == 0
