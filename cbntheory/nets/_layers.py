"""Low-level kernels of the network engine: FFT convolutions, windows and resampling.

Everything here works in the engine's *internal layout* ``(*spatial, C, N)``: pixels
first, then channels, then the batch.  In that layout ``numpy.fft.rfftn`` over the
leading spatial axes returns an array whose trailing ``(C, N)`` matrices are
contiguous, so a convolution is one batched ``np.matmul`` over the frequency axes,
``(*half, C_out, C_in) @ (*half, C_in, N)``, with no transposes in between.  The
public layout ``(N, C, *spatial)`` is converted once at entry and once at exit.

Conventions (see :mod:`cbntheory.fourier`): ``(W * z)[p] = c * sum_q W[q] z[p - q]``,
so the spectrum of a layer is ``c * What[m]`` and, for real signals,

* forward        ``uhat[m] = c What[m] zhat[m]``,
* input adjoint  ``gzhat[m] = c What[m]^H ghat[m]``,
* kernel adjoint ``DFT_q(dL/dW)[m] = c sum_n ghat_n[m] zhat_n[m]^H``.

Examples
--------
>>> import numpy as np
>>> window_offsets(3, 8).tolist(), window_offsets(4, 8).tolist()
([7, 0, 1], [6, 7, 0, 1])
>>> z = np.arange(8.0).reshape(8, 1, 1)
>>> bool(np.array_equal(upsample(downsample(z, 2, 1), 2, 1)[::2], z[::2]))
True
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import fourier


def lead_axes(ndim: int) -> tuple[int, ...]:
    """The leading ``ndim`` axes, where the pixels live in the internal layout."""
    return tuple(range(ndim))


def to_internal(x: np.ndarray, ndim: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """Public ``(N, C, *spatial)`` -> internal ``(*spatial, C, N)`` (C-contiguous copy)."""
    order = tuple(range(2, 2 + ndim)) + (1, 0)
    return np.ascontiguousarray(np.transpose(x, order), dtype=dtype)


def from_internal(z: np.ndarray, ndim: int) -> np.ndarray:
    """Internal ``(*spatial, C, N)`` -> public ``(N, C, *spatial)`` (C-contiguous copy)."""
    order = (ndim + 1, ndim) + tuple(range(ndim))
    return np.ascontiguousarray(np.transpose(z, order))


def window_offsets(k: int, d: int) -> np.ndarray:
    """Residues mod ``d`` of the tap offsets ``-(k//2), ..., k-1-(k//2)`` of a ``k``-tap window."""
    return (np.arange(k) - k // 2) % d


def window_mask(kernel_size: Sequence[int] | None, shape: Sequence[int]) -> np.ndarray:
    """Boolean array of ``shape``, True on the taps of the window (all True if None)."""
    shape = tuple(int(s) for s in shape)
    if kernel_size is None:
        return np.ones(shape, dtype=bool)
    mask = np.zeros(shape, dtype=bool)
    mask[np.ix_(*[window_offsets(k, d) for k, d in zip(kernel_size, shape)])] = True
    return mask


def kernel_spectrum(kernel: np.ndarray, c: float, dtype: np.dtype | type) -> np.ndarray:
    """``c * rfftn(kernel)`` moved to ``(*half, C_out, C_in)`` (C-contiguous, complex).

    ``kernel`` has the public layout ``(C_out, C_in, *spatial)``.
    """
    ndim = kernel.ndim - 2
    spec = fourier.rfftn(kernel.astype(dtype, copy=False), tuple(range(2, 2 + ndim)))
    spec = np.ascontiguousarray(np.moveaxis(spec, (0, 1), (-2, -1)))
    spec *= c
    return spec


def adjoint_spectrum(spec: np.ndarray) -> np.ndarray:
    """Conjugate transpose of every block: ``(*half, C_in, C_out)``, contiguous."""
    return np.ascontiguousarray(np.conj(np.swapaxes(spec, -1, -2)))


def rfft(z: np.ndarray, ndim: int) -> np.ndarray:
    """Half spectrum over the leading ``ndim`` axes (backend: :func:`cbntheory.fourier.rfftn`)."""
    return fourier.rfftn(z, lead_axes(ndim))


def irfft(zh: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Real signal of spatial ``shape`` from its half spectrum over the leading axes."""
    return fourier.irfftn(zh, shape, lead_axes(len(shape)))


def kernel_gradient(gh: np.ndarray, zh: np.ndarray, c: float, shape: Sequence[int]) -> np.ndarray:
    """Gradient of ``<g, W * z>`` with respect to ``W``, public layout ``(C_out, C_in, *spatial)``.

    ``gh`` (``(*half, C_out, N)``) and ``zh`` (``(*half, C_in, N)``) are the half spectra
    of the output cotangent and of the layer input.  Full-size: no window projection.
    """
    prod = np.matmul(gh, np.conj(np.swapaxes(zh, -1, -2)))
    prod *= c
    grad = irfft(prod, shape)
    return np.moveaxis(grad, (-2, -1), (0, 1))


def kernel_spectrum_rows(gh: np.ndarray, zh: np.ndarray, c: float) -> np.ndarray:
    """Half spectra of the full-size kernel gradients of every column separately.

    ``gh`` (``(*half, C_out, R)``) and ``zh`` (``(*half, C_in, R)``, column ``j`` the
    layer input of column ``j``'s sample) give ``(*half, C_out, C_in, R)``: the
    ``rfftn`` of column ``j``'s gradient (its inverse is :func:`kernel_gradient_rows`).
    """
    prod = gh[..., :, None, :] * np.conj(zh)[..., None, :, :]
    prod *= c
    return prod


def kernel_gradient_rows(gh: np.ndarray, zh: np.ndarray, c: float,
                         shape: Sequence[int]) -> np.ndarray:
    """:func:`kernel_gradient` of every column separately: ``(R, C_out, C_in, *spatial)``."""
    prod = kernel_spectrum_rows(gh, zh, c)
    grad = np.moveaxis(irfft(prod, shape), -1, 0)            # (R, *shape, C_out, C_in)
    nd = len(shape)
    return np.moveaxis(grad, tuple(range(1, 1 + nd)), tuple(range(3, 3 + nd)))


def downsample(z: np.ndarray, s: int, ndim: int) -> np.ndarray:
    """Keep pixels ``0, s, 2s, ...`` along each of the leading ``ndim`` axes."""
    return np.ascontiguousarray(z[(slice(None, None, s),) * ndim])


def upsample(z: np.ndarray, s: int, ndim: int) -> np.ndarray:
    """Zero insertion: ``out[s p] = z[p]``, zero elsewhere (the adjoint of :func:`downsample`)."""
    shape = tuple(n * s for n in z.shape[:ndim]) + z.shape[ndim:]
    out = np.zeros(shape, dtype=z.dtype)
    out[(slice(None, None, s),) * ndim] = z
    return out


def resample(z: np.ndarray, r: int, ndim: int) -> np.ndarray:
    """Apply the resampling code ``r``: 1 none, ``s > 1`` down by ``s``, ``-s`` up by ``s``."""
    if r == 1:
        return z
    return downsample(z, r, ndim) if r > 1 else upsample(z, -r, ndim)


def resample_adjoint(g: np.ndarray, r: int, ndim: int) -> np.ndarray:
    """Adjoint of :func:`resample` with the same code (down <-> up)."""
    if r == 1:
        return g
    return upsample(g, r, ndim) if r > 1 else downsample(g, -r, ndim)
