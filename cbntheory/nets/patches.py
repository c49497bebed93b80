"""Patches of a convolutional layer: a windowed kernel acts by inner products with them.

:func:`tap_offsets` lists a window's taps, :func:`patches` the scaled patches
``c x[p - q]`` of a batch (used by the two-layer convex program).
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .. import fourier
from ._layers import window_offsets

__all__ = ["patches", "tap_offsets"]


def tap_offsets(kernel_size: tuple[int, ...] | int | None,
                spatial_shape: tuple[int, ...]) -> np.ndarray:
    """Offsets ``q`` (mod the image size) of the window taps, shape ``(K, ndim)``, C order.

    Examples
    --------
    >>> tap_offsets(3, (8,)).ravel().tolist()
    [7, 0, 1]
    >>> tap_offsets(None, (2, 2)).tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    shape = tuple(spatial_shape)
    if kernel_size is None:
        axes = [np.arange(d) for d in shape]
    else:
        ks = (kernel_size,) * len(shape) if isinstance(kernel_size, int) else tuple(kernel_size)
        axes = [window_offsets(k, d) for k, d in zip(ks, shape)]
    return np.array(list(itertools.product(*axes)), dtype=np.intp).reshape(-1, len(shape))


def patches(X: np.ndarray, spatial_shape: tuple[int, ...], kernel_size: Any,
            normalization: str) -> np.ndarray:
    """Scaled patches ``c x_n[i, p - q]`` of every sample and pixel.

    Parameters
    ----------
    X : ndarray, shape (N, n_0, *spatial_shape)
        Inputs.
    spatial_shape : tuple of int
        ``(d,)`` or ``(d1, d2)``.
    kernel_size : int, tuple or None
        Window (None: full-size filters).
    normalization : {"operator", "plain"}
        Gives the constant ``c``.

    Returns
    -------
    ndarray, shape (N, d, n_0 * K)
        ``out[n, p, i * K + s] = c * X[n, i, p - q_s]`` with ``q_s`` the ``s``-th row of
        :func:`tap_offsets` and ``p`` in C order; so a kernel ``W`` restricted to the
        window, flattened as ``w[i * K + s] = W[i, q_s]``, gives the pre-activation
        ``<w, out[n, p]> = c sum_q W[q] x_n[p - q]``.
    """
    shape = tuple(spatial_shape)
    c = fourier.normalization_constant(normalization, shape)
    axes = tuple(range(2, 2 + len(shape)))
    taps = [np.roll(X, shift=tuple(int(v) for v in q), axis=axes)
            for q in tap_offsets(kernel_size, shape)]
    stack = np.stack(taps, axis=2)  # (N, n0, K, *spatial)
    n, n0, k = stack.shape[:3]
    d = fourier.spatial_size(shape)
    out = stack.reshape(n, n0 * k, d).transpose(0, 2, 1)
    return np.ascontiguousarray(out) * c
