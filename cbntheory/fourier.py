"""Fourier conventions on the cyclic pixel group ``Z_d`` or ``Z_d1 x Z_d2``.

* The DFT is numpy's unnormalised one, ``zhat[m] = sum_p z[p] exp(-2 pi i <m, p> / d)``,
  taken over the trailing spatial axes.
* A convolution layer is ``(W * z)[p] = c * sum_q W[q] z[p - q]`` with the constant
  ``c = 1/sqrt(d)`` ("operator" normalisation, the default: then ``||W||_F`` is the
  Frobenius norm of the operator) or ``c = 1`` ("plain").  Its frequency multiplier
  is ``c * What[m]``.
* Frequency ``m`` and ``-m`` carry complex-conjugate blocks for real kernels;
  self-conjugate frequencies (``m = -m``: 0 and ``d/2`` per even axis) carry real ones.
* The degree of a frequency is its wrapped magnitude ``min(m, d - m)`` per axis, combined
  with the l1 norm (``|m1| + |m2|``) or the max norm in 2D.
* :func:`rfftn` and :func:`irfftn` are the real transforms every fast path uses: the
  same numbers (to round-off) from numpy.fft for tiny arrays and from scipy.fft,
  threaded for large ones (:func:`fft_backend` states the rule).

Examples
--------
>>> import numpy as np
>>> m = signed_frequencies((6,))[..., 0]
>>> m.tolist()
[0, 1, 2, 3, -2, -1]
>>> degree((6,)).tolist()
[0, 1, 2, 3, 2, 1]
>>> self_conjugate_mask((6,)).tolist()
[True, False, False, True, False, False]
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.fft as sfft

from . import _validate as V
from . import settings


def spatial_size(spatial_shape: Sequence[int]) -> int:
    """Number of pixels ``d = prod(spatial_shape)``."""
    return int(np.prod(spatial_shape))


def normalization_constant(normalization: str, spatial_shape: Sequence[int]) -> float:
    """The convolution constant ``c``: ``1/sqrt(d)`` for "operator", ``1`` for "plain".

    Examples
    --------
    >>> normalization_constant("operator", (4, 4))
    0.25
    >>> normalization_constant("plain", (4, 4))
    1.0
    """
    V.normalization("normalization", normalization)
    return float(1.0 / np.sqrt(spatial_size(spatial_shape))) if normalization == "operator" else 1.0


def cost_factor(normalization: str, spatial_shape: Sequence[int]) -> float:
    """``1 / (d c^2)``: the factor in front of every per-frequency cost (1 by default).

    Examples
    --------
    >>> cost_factor("operator", (8,)), cost_factor("plain", (8,))
    (1.0, 0.125)
    """
    V.normalization("normalization", normalization)
    # d c^2 is exactly 1 for the operator normalisation; avoid the round-off of 1/sqrt(d)^2.
    return 1.0 if normalization == "operator" else 1.0 / spatial_size(spatial_shape)


def fft_backend(size: int, double: bool = True) -> tuple[str, int]:
    """The FFT library and thread count used for a real transform of ``size`` elements.

    numpy.fft below :data:`cbntheory.settings.FFT_SCIPY_MIN_SIZE` elements in single
    precision and :data:`cbntheory.settings.FFT_SCIPY_MIN_SIZE_DOUBLE` in double (``double``;
    numpy's float64 transform is the closer one to scipy's), scipy.fft above, with every
    core from :data:`cbntheory.settings.FFT_THREADED_MIN_SIZE` elements.  Both compute the
    same transform to round-off; the thresholds are measured
    (``benchmarks/bench_engine_peers.py``).

    Examples
    --------
    >>> fft_backend(64)
    ('numpy', 1)
    >>> fft_backend(64 * 64 * 16)[0]
    'scipy'
    """
    small = settings.FFT_SCIPY_MIN_SIZE_DOUBLE if double else settings.FFT_SCIPY_MIN_SIZE
    if size < small:
        return "numpy", 1
    workers = (os.cpu_count() or 1) if size >= settings.FFT_THREADED_MIN_SIZE else 1
    return "scipy", workers


def rfftn(x: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """Half spectrum ``numpy.fft.rfftn(x, axes=axes)`` by the backend of :func:`fft_backend`.

    float32 input gives complex64, float64 complex128 (as numpy >= 2 does).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((8, 8, 3))
    >>> bool(np.allclose(rfftn(x, (0, 1)), np.fft.rfftn(x, axes=(0, 1))))
    True
    """
    axes = tuple(axes)
    lib, workers = fft_backend(x.size, x.dtype != np.float32)
    if lib == "numpy":
        return np.fft.rfft(x, axis=axes[0]) if len(axes) == 1 else np.fft.rfftn(x, axes=axes)
    if len(axes) == 1:  # the 1D routine: less argument handling than rfftn
        return sfft.rfft(x, axis=axes[0], workers=workers)
    return sfft.rfftn(x, axes=axes, workers=workers)


def irfftn(xh: np.ndarray, shape: Sequence[int], axes: Sequence[int]) -> np.ndarray:
    """Real signal with spatial ``shape`` over ``axes`` from its half spectrum ``xh``.

    The inverse of :func:`rfftn` (``numpy.fft.irfftn(xh, s=shape, axes=axes)``), by the
    backend of :func:`fft_backend` for the size of the output.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((6, 5, 2))
    >>> bool(np.allclose(irfftn(rfftn(x, (0, 1)), (6, 5), (0, 1)), x))
    True
    """
    axes, shape = tuple(axes), tuple(int(s) for s in shape)
    size = xh.size // max(1, xh.shape[axes[-1]]) * shape[-1]
    lib, workers = fft_backend(size, xh.dtype != np.complex64)
    if lib == "numpy":
        if len(axes) == 1:
            return np.fft.irfft(xh, n=shape[0], axis=axes[0])
        return np.fft.irfftn(xh, s=shape, axes=axes)
    if len(axes) == 1:
        return sfft.irfft(xh, n=shape[0], axis=axes[0], workers=workers)
    return sfft.irfftn(xh, s=shape, axes=axes, workers=workers)


def spatial_axes(ndim: int) -> tuple[int, ...]:
    """The trailing ``ndim`` axes, where the spatial dimensions of every array live."""
    return tuple(range(-ndim, 0))


def frequencies(spatial_shape: Sequence[int]) -> np.ndarray:
    """Integer frequencies ``m`` in ``[0, d_axis)``, shape ``(*spatial_shape, ndim)``."""
    grids = np.meshgrid(*[np.arange(d) for d in spatial_shape], indexing="ij")
    return np.stack(grids, axis=-1)


def signed_frequencies(spatial_shape: Sequence[int]) -> np.ndarray:
    """Frequencies wrapped to ``(-d/2, d/2]`` per axis, shape ``(*spatial_shape, ndim)``."""
    m = frequencies(spatial_shape)
    d = np.asarray(spatial_shape)
    return np.where(m > d // 2, m - d, m)


def degree(spatial_shape: Sequence[int], kind: str = "l1") -> np.ndarray:
    """Degree of every frequency: ``sum`` ("l1") or ``max`` ("linf") of ``min(m, d - m)``.

    In 1D both kinds agree.  Returns an integer array of the spatial shape.
    """
    if kind not in ("l1", "linf"):
        raise V.fail("kind", "be 'l1' or 'linf'", kind)
    mag = np.abs(signed_frequencies(spatial_shape))
    return mag.sum(axis=-1) if kind == "l1" else mag.max(axis=-1)


def conjugate(values: np.ndarray, ndim: int) -> np.ndarray:
    """Re-index an array over its leading ``ndim`` frequency axes by ``m -> -m``.

    ``conjugate(v, ndim)[m] == v[-m mod d]``; for a real kernel's spectrum this is the
    complex conjugate of the spectrum itself.
    """
    out = values
    for ax in range(ndim):
        out = np.roll(np.flip(out, axis=ax), 1, axis=ax)
    return out


def self_conjugate_mask(spatial_shape: Sequence[int]) -> np.ndarray:
    """True where ``m = -m`` (frequency 0 and, per even axis, ``d/2``)."""
    m = frequencies(spatial_shape)
    d = np.asarray(spatial_shape)
    return np.all((2 * m) % d == 0, axis=-1)


def representative_mask(spatial_shape: Sequence[int]) -> np.ndarray:
    """True on exactly one frequency of every conjugate pair ``{m, -m}``.

    The representative is the one with the smaller flat (C-order) index; self-conjugate
    frequencies are their own representative.
    """
    flat = np.arange(spatial_size(spatial_shape)).reshape(tuple(spatial_shape))
    return flat <= conjugate(flat, len(spatial_shape))


def half_spectrum_weights(spatial_shape: Sequence[int]) -> np.ndarray:
    """Multiplicities of the ``numpy.fft.rfftn`` half-spectrum in the full spectrum.

    Along the last axis the bins ``0 < j < d_last/2`` stand for two frequencies
    (``m`` and ``-m``), the others for one.  Sums over the full spectrum of quantities
    invariant under ``m -> -m`` equal weighted sums over the half-spectrum.
    """
    shape = tuple(spatial_shape)
    last = shape[-1]
    j = np.arange(last // 2 + 1)
    w_last = np.where((j == 0) | (2 * j == last), 1.0, 2.0)
    return np.broadcast_to(w_last, shape[:-1] + (last // 2 + 1,)).copy()


def half_to_full(values: np.ndarray, spatial_shape: Sequence[int]) -> np.ndarray:
    """Expand a quantity invariant under ``m -> -m`` from the rfftn half-spectrum to all ``m``.

    ``values`` has the half-spectrum shape in its leading axes (trailing axes are kept):
    ``full[m] = values[m]`` when ``m`` lies in the half-spectrum, else ``values[-m]``.

    Examples
    --------
    >>> half_to_full(np.array([0, 1, 2]), (4,)).tolist()
    [0, 1, 2, 1]
    """
    shape = tuple(spatial_shape)
    m = frequencies(shape)
    half = shape[-1] // 2 + 1
    in_half = m[..., -1] < half
    src = np.where(in_half[..., None], m, (-m) % np.asarray(shape))
    return values[tuple(src[..., a] for a in range(len(shape)))]


def degree_counts(counts: np.ndarray, spatial_shape: Sequence[int],
                  kind: str = "l1") -> dict[int, int]:
    """Sum an integer per-frequency array (e.g. the CBN rank ``k_m``) by frequency degree.

    Examples
    --------
    >>> k = np.array([1, 1, 0, 0, 0, 1])
    >>> degree_counts(k, (6,))
    {0: 1, 1: 2}
    """
    deg = degree(spatial_shape, kind)
    total: Counter[int] = Counter()
    for g, k in zip(deg.ravel().tolist(), np.asarray(counts).ravel().tolist()):
        if k:
            total[int(g)] += int(k)
    return dict(sorted(total.items()))


def describe_degrees(counts: np.ndarray, spatial_shape: Sequence[int], kind: str = "l1") -> str:
    """Human-readable grouping such as ``"1 constant, 2 degree-1"`` (``"none"`` if all zero).

    Examples
    --------
    >>> describe_degrees(np.array([1, 1, 0, 0, 0, 1]), (6,))
    '1 constant, 2 degree-1'
    """
    groups = degree_counts(counts, spatial_shape, kind)
    if not groups:
        return "none"
    return ", ".join(f"{n} constant" if g == 0 else f"{n} degree-{g}" for g, n in groups.items())
