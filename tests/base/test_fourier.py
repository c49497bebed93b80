"""Fourier conventions of cbntheory.fourier against brute-force index arithmetic and finite sums."""
from __future__ import annotations

from collections import Counter

import _bruteforce as bf
import numpy as np
import pytest

from cbntheory import fourier

SHAPES = [(1,), (2,), (5,), (6,), (3, 4), (4, 4), (5, 3), (1, 6)]


def _wrap(m, d):
    return m if m <= d // 2 else m - d


@pytest.mark.parametrize("shape", SHAPES)
def test_signed_frequencies_and_degrees_by_hand(shape):
    signed = fourier.signed_frequencies(shape)
    l1 = fourier.degree(shape, "l1")
    linf = fourier.degree(shape, "linf")
    for p in bf.pixels(shape):
        wrapped = [_wrap(m, d) for m, d in zip(p, shape)]
        assert signed[p].tolist() == wrapped
        mags = [min(m, d - m) for m, d in zip(p, shape)]
        assert l1[p] == sum(mags)
        assert linf[p] == max(mags)


def test_degree_kinds_agree_in_1d_and_reject_unknown_kind():
    assert np.array_equal(fourier.degree((7,), "l1"), fourier.degree((7,), "linf"))
    with pytest.raises(ValueError, match="kind"):
        fourier.degree((4,), "l2")


@pytest.mark.parametrize("shape", SHAPES)
def test_conjugate_index_and_self_conjugate_mask(shape):
    rng = np.random.default_rng(0)
    v = rng.standard_normal(shape + (2,))
    conj = fourier.conjugate(v, len(shape))
    selfconj = fourier.self_conjugate_mask(shape)
    rep = fourier.representative_mask(shape)
    for p in bf.pixels(shape):
        minus = tuple((-m) % d for m, d in zip(p, shape))
        assert np.array_equal(conj[p], v[minus])
        assert selfconj[p] == (minus == p)
        # exactly one member of every pair {m, -m} is the representative
        if minus == p:
            assert rep[p]
        else:
            assert rep[p] != rep[minus]


@pytest.mark.parametrize("shape", SHAPES)
def test_real_spectrum_is_conjugate_symmetric(shape):
    z = np.random.default_rng(1).standard_normal(shape)
    zhat = bf.dft(z, shape)
    assert np.allclose(fourier.conjugate(zhat, len(shape)), zhat.conj())
    selfconj = fourier.self_conjugate_mask(shape)
    assert np.allclose(zhat[selfconj].imag, 0.0)


@pytest.mark.parametrize("shape", SHAPES)
def test_half_spectrum_weights_count_the_full_spectrum(shape):
    half = shape[-1] // 2 + 1
    counts: Counter = Counter()
    for p in bf.pixels(shape):
        if p[-1] < half:
            counts[p] += 1
        else:
            counts[tuple((-m) % d for m, d in zip(p, shape))] += 1
    w = fourier.half_spectrum_weights(shape)
    assert w.shape == shape[:-1] + (half,)
    for p in bf.pixels(w.shape):
        assert w[p] == counts[p]
    assert w.sum() == int(np.prod(shape))


@pytest.mark.parametrize("shape", SHAPES)
def test_half_to_full_and_parseval(shape):
    rng = np.random.default_rng(2)
    z = rng.standard_normal(shape)
    d = int(np.prod(shape))
    zhat = bf.dft(z, shape)
    # Parseval with the unnormalised DFT: sum |z|^2 = (1/d) sum |zhat|^2
    assert np.isclose(np.sum(z ** 2), np.sum(np.abs(zhat) ** 2) / d)
    # ... and on the half-spectrum with the multiplicities
    half = np.fft.rfftn(z)
    w = fourier.half_spectrum_weights(shape)
    assert np.isclose(np.sum(z ** 2), np.sum(w * np.abs(half) ** 2) / d)
    # expanding |zhat| (invariant under m -> -m) from the half-spectrum gives the full one
    assert np.allclose(fourier.half_to_full(np.abs(half), shape), np.abs(zhat))


@pytest.mark.parametrize("shape", SHAPES)
def test_convolution_theorem_by_finite_sums(shape):
    rng = np.random.default_rng(3)
    kernel = rng.standard_normal((1, 1) + shape)
    x = rng.standard_normal((1, 1) + shape)
    for norm in ("operator", "plain"):
        c = fourier.normalization_constant(norm, shape)
        y = bf.convolve(kernel, x, norm)
        lhs = bf.dft(y[0, 0], shape)
        rhs = c * bf.dft(kernel[0, 0], shape) * bf.dft(x[0, 0], shape)
        assert np.allclose(lhs, rhs)


@pytest.mark.parametrize("shape", SHAPES)
def test_normalisation_constant_and_cost_factor(shape):
    d = int(np.prod(shape))
    assert np.isclose(fourier.normalization_constant("operator", shape), d ** -0.5)
    assert fourier.normalization_constant("plain", shape) == 1.0
    for norm in ("operator", "plain"):
        c = fourier.normalization_constant(norm, shape)
        assert np.isclose(fourier.cost_factor(norm, shape) * d * c * c, 1.0)
    assert fourier.spatial_size(shape) == d


def test_degree_counts_and_description_by_hand():
    shape = (4, 5)
    rng = np.random.default_rng(4)
    k = rng.integers(0, 3, size=shape)
    for kind in ("l1", "linf"):
        deg = fourier.degree(shape, kind)
        expected: Counter = Counter()
        for p in bf.pixels(shape):
            if k[p]:
                expected[int(deg[p])] += int(k[p])
        assert fourier.degree_counts(k, shape, kind) == dict(sorted(expected.items()))
    assert fourier.describe_degrees(np.zeros(shape, int), shape) == "none"
    one = np.zeros((8,), int)
    one[[0, 3, 5]] = [2, 1, 1]
    assert fourier.describe_degrees(one, (8,)) == "2 constant, 2 degree-3"


def test_normalization_name_is_validated():
    with pytest.raises(ValueError, match="normalization"):
        fourier.normalization_constant("unit", (4,))
    with pytest.raises(ValueError, match="normalization"):
        fourier.cost_factor("Operator", (4,))


# --------------------------------------------------------------------------- FFT backend (issue 16)

BACKENDS = {  # (scipy from this size, threads from this size): force every route
    "numpy": (10 ** 12, 10 ** 12),
    "scipy": (1, 10 ** 12),
    "scipy-threaded": (1, 1),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request, monkeypatch):
    scipy_min, threaded_min = BACKENDS[request.param]
    monkeypatch.setattr(fourier.settings, "FFT_SCIPY_MIN_SIZE", scipy_min)
    monkeypatch.setattr(fourier.settings, "FFT_SCIPY_MIN_SIZE_DOUBLE", scipy_min)
    monkeypatch.setattr(fourier.settings, "FFT_THREADED_MIN_SIZE", threaded_min)
    return request.param


def test_backend_rule_follows_the_size_thresholds():
    small, threaded = fourier.settings.FFT_SCIPY_MIN_SIZE, fourier.settings.FFT_THREADED_MIN_SIZE
    double = fourier.settings.FFT_SCIPY_MIN_SIZE_DOUBLE
    assert fourier.fft_backend(small - 1, double=False) == ("numpy", 1)
    assert fourier.fft_backend(small, double=False) == ("scipy", 1)
    assert fourier.fft_backend(double - 1) == ("numpy", 1)
    assert fourier.fft_backend(double) == ("scipy", 1)
    assert fourier.fft_backend(threaded)[0] == "scipy"
    assert fourier.fft_backend(threaded)[1] >= 1


@pytest.mark.parametrize("shape", [(5,), (6,), (3, 4), (5, 3)])
def test_rfftn_is_the_dense_dft_on_every_backend(backend, shape):
    # the explicit finite sum over pixels, restricted to the half spectrum, on axes (0, ..)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape + (2, 3))
    ref = np.moveaxis(bf.dft(np.moveaxis(x, (-2, -1), (0, 1)), shape), (0, 1), (-2, -1))
    half = ref[(slice(None),) * (len(shape) - 1) + (slice(0, shape[-1] // 2 + 1),)]
    axes = tuple(range(len(shape)))
    got = fourier.rfftn(x, axes)
    np.testing.assert_allclose(got, half, atol=1e-12 * np.abs(half).max())
    np.testing.assert_allclose(fourier.irfftn(got, shape, axes), x, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backends_agree_with_numpy_fft_to_round_off(backend, dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, 12, 4, 5)).astype(dtype)
    eps = np.finfo(dtype).eps
    got = fourier.rfftn(x, (0, 1))
    ref = np.fft.rfftn(x.astype(np.float64), axes=(0, 1))
    assert got.dtype == (np.complex64 if dtype == np.float32 else np.complex128)
    assert np.abs(got - ref).max() <= 50 * eps * np.abs(ref).max()
    back = fourier.irfftn(got, (16, 12), (0, 1))
    assert back.dtype == dtype
    assert np.abs(back - x).max() <= 50 * eps * np.abs(x).max()
    one = fourier.rfftn(x, (0,))  # the 1D route
    assert np.abs(one - np.fft.rfft(x.astype(np.float64), axis=0)).max() <= 50 * eps * 16
    assert np.abs(fourier.irfftn(one, (16,), (0,)) - x).max() <= 50 * eps * np.abs(x).max()
