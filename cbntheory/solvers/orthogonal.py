"""Random orthogonal starting points for linear CNNs (used by :mod:`cbntheory.solvers.interpolate`).

* :func:`orthogonal_full`: full-size filters whose blocks are Haar-random (semi-)unitary at
  every frequency, real orthogonal at the self-conjugate frequencies, with conjugate pairs
  matched so that the kernels are real;
* :func:`orthogonal_taps`: ``k``-tap filters with a random orthogonal matrix on the centre
  tap (delta-orthogonal).

With a ``reference`` map, the sign of ``det`` of the product at the real frequencies
(0 and ``d/2`` per even axis) is matched to the reference's (exactly for full-size
filters; as well as one-pixel shifts of one channel allow for ``k`` taps): real invertible
blocks cannot change that sign without passing through a singular block.
"""
from __future__ import annotations

import numpy as np

from .. import fourier
from ..nets.architecture import Architecture

__all__ = ["orthogonal_full", "orthogonal_taps"]


def _haar(rng: np.random.Generator, rows: int, cols: int, real: bool) -> np.ndarray:
    """A Haar-random (semi-)unitary ``rows x cols`` matrix (orthonormal rows or columns)."""
    n, k = max(rows, cols), min(rows, cols)
    z = rng.standard_normal((n, k))
    if not real:
        z = z + 1j * rng.standard_normal((n, k))
    q, r = np.linalg.qr(z)
    q = q * (np.diag(r) / np.abs(np.diag(r)))
    return q if rows >= cols else q.T


def _self_conjugate(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    mask = fourier.self_conjugate_mask(shape)
    return [tuple(int(i) for i in m) for m in zip(*np.nonzero(mask))]


def orthogonal_full(arch: Architecture, rng: np.random.Generator,
                     reference: np.ndarray | None) -> list[np.ndarray]:
    shape = arch.spatial_shape
    reps = fourier.representative_mask(shape)
    selfc = fourier.self_conjugate_mask(shape)
    kernels = []
    for l in range(arch.depth):
        co, ci = arch.channels[l + 1], arch.channels[l]
        blocks = np.zeros(shape + (co, ci), dtype=complex)
        for m in zip(*np.nonzero(reps)):
            blocks[m] = _haar(rng, co, ci, bool(selfc[m]))
        partner = ~reps
        blocks = np.where(partner[..., None, None], fourier.conjugate(blocks, len(shape)).conj(),
                          blocks)
        kernels.append(blocks)
    if reference is not None:  # match the sign of det at the real (self-conjugate) frequencies
        for m in _self_conjugate(shape):
            prod = np.eye(arch.channels[0])
            for b in kernels:
                prod = b[m].real @ prod
            want = np.sign(np.linalg.det(reference[m].real))
            if want != 0 and np.sign(np.linalg.det(prod)) != want:
                kernels[0][m][0] *= -1.0
    c = arch.constants[0]
    axes = tuple(range(len(shape)))
    out = []
    for b in kernels:
        k = np.fft.ifftn(b / c, axes=axes).real
        out.append(np.ascontiguousarray(np.moveaxis(k, (-2, -1), (0, 1))))
    return out


def orthogonal_taps(arch: Architecture, rng: np.random.Generator,
                     reference: np.ndarray | None) -> list[np.ndarray]:
    """Delta-orthogonal kernels (orthogonal matrix on the centre tap), parity best effort."""
    shape = arch.spatial_shape
    kernels = []
    for l, shp in enumerate(arch.kernel_shapes):
        k = np.zeros(shp)
        k[(slice(None), slice(None)) + (0,) * len(shape)] = (
            _haar(rng, shp[0], shp[1], True) / arch.constants[l])
        kernels.append(k)
    if reference is None:
        return kernels
    points = _self_conjugate(shape)
    want = np.array([np.sign(np.linalg.det(reference[m].real)) for m in points])
    base = np.sign(np.linalg.det(np.linalg.multi_dot(
        [k[(slice(None), slice(None)) + (0,) * len(shape)] for k in kernels[::-1]] +
        [np.eye(arch.channels[0])])))
    best, best_score = None, -1
    # shifting row 0 of layer 1 by -a pixels multiplies its block at m by
    # prod_j (-1)^(a_j [m_j != 0])
    for a in np.ndindex(*(2,) * len(shape)):
        if not arch.windows[0][tuple(-ai % s for ai, s in zip(a, shape))]:
            continue
        char = np.array([np.prod([(-1.0) ** (ai * (mj != 0)) for ai, mj in zip(a, m)])
                         for m in points])
        for flip in (1.0, -1.0):
            score = int(np.sum((base * char * flip == want) | (want == 0)))
            if score > best_score:
                best, best_score = (a, flip), score
    a, flip = best  # type: ignore[misc]
    if any(a):
        centre = kernels[0][(0, slice(None)) + (0,) * len(shape)].copy()
        kernels[0][(0, slice(None)) + (0,) * len(shape)] = 0.0
        kernels[0][(0, slice(None)) + tuple(-ai % s for ai, s in zip(a, shape))] = centre
    kernels[0][0] *= flip
    return kernels
