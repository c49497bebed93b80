"""Reference implementations written straight from the definitions, with explicit loops.

Nothing here calls cbntheory: the tests compare the package against these slow but
transparent computations (dense operator matrices, DFTs as finite sums, convolutions
as double sums, the T1 formula evaluated on the dense singular values).
"""
from __future__ import annotations

import itertools

import numpy as np


def pixels(shape):
    """Every pixel index of ``shape`` in C order, as tuples."""
    return list(itertools.product(*[range(d) for d in shape]))


def norm_constant(normalization, shape):
    d = int(np.prod(shape))
    return 1.0 / np.sqrt(d) if normalization == "operator" else 1.0


def dense_matrix(kernel, normalization="operator"):
    """``M[(o, p), (i, q)] = c W[o, i, p - q]`` by loops over every index."""
    kernel = np.asarray(kernel, dtype=float)
    cout, cin = kernel.shape[:2]
    shape = kernel.shape[2:]
    c = norm_constant(normalization, shape)
    pix = pixels(shape)
    d = len(pix)
    M = np.zeros((cout * d, cin * d))
    for o in range(cout):
        for i in range(cin):
            for a, p in enumerate(pix):
                for b, q in enumerate(pix):
                    diff = tuple((pp - qq) % n for pp, qq, n in zip(p, q, shape))
                    M[o * d + a, i * d + b] = c * kernel[(o, i) + diff]
    return M


def convolve(kernel, x, normalization="operator"):
    """``y[n, o, p] = c sum_i sum_q W[o, i, q] x[n, i, p - q]`` by loops."""
    kernel = np.asarray(kernel, dtype=float)
    x = np.asarray(x, dtype=float)
    cout = kernel.shape[0]
    shape = kernel.shape[2:]
    c = norm_constant(normalization, shape)
    y = np.zeros((x.shape[0], cout) + shape)
    for p in pixels(shape):
        for q in pixels(shape):
            diff = tuple((pp - qq) % n for pp, qq, n in zip(p, q, shape))
            # sum over input channels for every (batch, output channel) at once
            y[(slice(None), slice(None)) + p] += c * np.einsum(
                "oi,ni->no", kernel[(slice(None), slice(None)) + q],
                x[(slice(None), slice(None)) + diff])
    return y


def dft(z, shape):
    """Unnormalised DFT over the trailing ``len(shape)`` axes as an explicit finite sum."""
    z = np.asarray(z)
    nd = len(shape)
    out = np.zeros(z.shape, dtype=complex)
    lead = (slice(None),) * (z.ndim - nd)
    for m in pixels(shape):
        acc = 0j
        for p in pixels(shape):
            phase = sum(mm * pp / n for mm, pp, n in zip(m, p, shape))
            acc = acc + z[lead + p] * np.exp(-2j * np.pi * phase)
        out[lead + m] = acc
    return out


def blocks(kernel, normalization="operator"):
    """Frequency multiplier ``A_m = c What[m]``, ``(*spatial, C_out, C_in)``, by finite sums."""
    kernel = np.asarray(kernel, dtype=float)
    shape = kernel.shape[2:]
    c = norm_constant(normalization, shape)
    spec = dft(kernel, shape)
    return c * np.moveaxis(spec, (0, 1), (-2, -1))


def dense_singular_values(M):
    """Singular values of a dense matrix, zeroing those ``numpy.linalg.matrix_rank`` zeroes."""
    s = np.linalg.svd(M, compute_uv=False)
    tol = s.max(initial=0.0) * max(M.shape) * np.finfo(float).eps
    return np.where(s > tol, s, 0.0)


def t1_from_dense(kernel, depth, normalization="operator"):
    """The T1 value and R0, R1, R2 evaluated from the dense operator's singular values."""
    shape = np.asarray(kernel).shape[2:]
    d = int(np.prod(shape))
    c = norm_constant(normalization, shape)
    factor = 1.0 / (d * c * c)
    s = dense_singular_values(dense_matrix(kernel, normalization))
    s = s[s > 0]
    L = depth
    return {
        "value": factor * L * float(np.sum(s ** (2.0 / L))),
        "r0": factor * float(s.size),
        "r1": factor * 2.0 * float(np.sum(np.log(s))),
        "r2": factor * 2.0 * float(np.sum(np.log(s) ** 2)),
    }


def shift_matrix(shape, channels, offset):
    """Dense matrix of the circular shift ``z[p] -> z[p - offset]`` on every channel."""
    pix = pixels(shape)
    d = len(pix)
    S = np.zeros((channels * d, channels * d))
    index = {p: k for k, p in enumerate(pix)}
    for ch in range(channels):
        for p in pix:
            src = tuple((pp - o) % n for pp, o, n in zip(p, offset, shape))
            S[ch * d + index[p], ch * d + index[src]] = 1.0
    return S
