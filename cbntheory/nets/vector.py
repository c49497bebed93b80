"""The flat parameter vector of a network: packing and unpacking.

Layout (``Architecture.vector_layout``): layer by layer, the kernel restricted to its
window (C order of ``(C_out, C_in, taps)``, taps in C order of the image) or the dense
head weight, then the bias when the architecture has biases.  Taps outside the window
are not in the vector: unpacking puts zeros there, packing a gradient keeps only the
window entries (the gradient with respect to the free parameters).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .architecture import Architecture


def pack(arch: Architecture, kernels: Sequence[np.ndarray],
         biases: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate the free entries of ``kernels``/``biases`` (arrays or gradients)."""
    parts = []
    for l in range(arch.depth):
        w = kernels[l]
        if l < arch.n_conv:
            w = np.reshape(w, w.shape[:2] + (-1,))[:, :, arch._window_index[l]]
        parts.append(np.ravel(w))
        if arch.bias:
            parts.append(np.ravel(biases[l]))
    return np.concatenate(parts)


def unpack(arch: Architecture, v: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Fresh full-size kernels (zero outside the window) and biases from a valid vector."""
    kernels, biases = [], []
    layout = dict(arch.vector_layout)
    for l, shp in enumerate(arch.kernel_shapes):
        block = v[layout[f"kernels[{l}]"]]
        if l < arch.n_conv:
            w = np.zeros(shp[:2] + (int(np.prod(shp[2:])),))
            w[:, :, arch._window_index[l]] = block.reshape(shp[0], shp[1], -1)
            w = w.reshape(shp)
        else:
            w = block.reshape(shp).copy()
        kernels.append(w)
        if arch.bias:
            biases.append(v[layout[f"biases[{l}]"]].copy())
    return kernels, biases
