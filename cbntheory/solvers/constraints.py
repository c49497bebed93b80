"""Residual maps ``theta -> (r, v -> J^T v)`` of the constraint ``f_theta(X) = Y``.

The augmented Lagrangian of :mod:`cbntheory.solvers.augmented` works on the relative
residual ``r = (f_theta(X) - Y) / ||Y||`` over the flat parameter vector of
:class:`~cbntheory.nets.network.Network`:

* :func:`network_constraint` uses the network engine's reverse pass (any architecture);
* :class:`SpectralConstraint` is the same map for linear networks without biases,
  computed directly on the kernel spectra (one FFT of all kernels, products of small
  blocks per frequency) and about ten times cheaper.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import _validate as V
from .. import fourier
from ..nets.architecture import Architecture
from ..nets.network import Network

__all__ = ["SpectralConstraint", "is_plain_linear", "network_constraint"]


def is_plain_linear(arch: Architecture) -> bool:
    """Linear, no biases, no head, no resampling: the end-to-end map is one convolution."""
    return (arch.activation == "linear" and not arch.bias and arch.head is None
            and all(r == 1 for r in arch.resample))  # type: ignore[union-attr]


def _spectrum(z: np.ndarray, ndim: int) -> np.ndarray:
    """``(N, C, *spatial)`` -> half spectrum ``(*half, C, N)`` (contiguous)."""
    zh = np.fft.rfftn(z, axes=fourier.spatial_axes(ndim))
    return np.ascontiguousarray(np.moveaxis(zh, (0, 1), (-1, -2)))


def network_constraint(arch: Architecture, X: np.ndarray, Y: np.ndarray
                       ) -> Callable[[np.ndarray], tuple[np.ndarray, Callable[..., np.ndarray]]]:
    """Residual ``(f_theta(X) - Y) / ||Y||`` and its vector-Jacobian product (network engine).

    Parameters
    ----------
    arch : Architecture
    X : ndarray, shape (N, n_0, *spatial)
    Y : ndarray, shape (N, *arch.output_shape)

    Returns
    -------
    callable
        ``theta -> (r, vjp)`` with ``r`` flat and ``vjp(v) = J^T v`` of shape ``(n_free,)``.
    """
    scale = float(np.linalg.norm(Y)) or 1.0

    def constraint(theta: np.ndarray) -> tuple[np.ndarray, Callable[..., np.ndarray]]:
        net = Network.from_vector(arch, theta)
        out, backward = net.pullback(X)
        r = ((out - Y) / scale).ravel()
        return r, lambda v: backward(np.reshape(v, out.shape) / scale)

    return constraint


class SpectralConstraint:
    """The residual of :func:`network_constraint` for a linear bias-free network, per frequency.

    With blocks ``B_l[m] = c * rfftn(W_l)[m]`` the network maps ``xhat_i[m]`` to
    ``P_m xhat_i[m]`` with ``P_m = B_L[m] ... B_1[m]``.  The residual is the real view
    of ``sqrt(w_m) (P_m X_m - Y_m) / ||Yhat||`` over the ``rfftn`` half spectrum with
    multiplicities ``w_m``; its Euclidean norm is the relative residual of
    :func:`network_constraint` (Parseval), and the two constraints have the same zeros.

    Parameters
    ----------
    arch : Architecture
        Must satisfy :func:`is_plain_linear`.
    X, Y : ndarray
        Data ``(N, n_0, *spatial)`` and ``(N, n_L, *spatial)``.

    Notes
    -----
    Reverse pass: for the cotangent ``G_m`` of ``P_m X_m`` the block gradient of layer
    ``l`` is ``H_m = S_m^H G_m R_m^H`` (``S``: the layers after ``l``, ``R``: before,
    applied to ``X``), and the kernel gradient is ``c d irfftn(H)`` restricted to the
    window, because ``B = c rfftn(W)`` is, up to the factor ``c d``, adjoint to
    ``irfftn`` on Hermitian spectra.
    """

    def __init__(self, arch: Architecture, X: np.ndarray, Y: np.ndarray) -> None:
        if not is_plain_linear(arch):
            raise V.fail("arch", "be linear without biases, head or resampling", arch)
        self.arch = arch
        self.shape = arch.spatial_shape
        nd = len(self.shape)
        self.axes = tuple(range(2, 2 + nd))
        self.c = arch.constants[0]
        self.d = fourier.spatial_size(self.shape)
        w = fourier.half_spectrum_weights(self.shape)[..., None, None]
        self.sw = np.sqrt(w)
        self.Xh = _spectrum(X, nd)
        self.Yh = _spectrum(Y, nd)
        self.scale = float(np.sqrt(np.sum(w * np.abs(self.Yh) ** 2))) or 1.0
        self.index = [np.flatnonzero(m) for m in arch.windows]
        self.slices = [sl for _, sl in arch.vector_layout]

    def kernels(self, theta: np.ndarray) -> list[np.ndarray]:
        """Full-size kernels of the flat vector (zeros outside the window)."""
        out = []
        ch = self.arch.channels
        for l, sl in enumerate(self.slices):
            w = np.zeros((ch[l + 1], ch[l], self.d))
            w[:, :, self.index[l]] = theta[sl].reshape(ch[l + 1], ch[l], -1)
            out.append(w.reshape((ch[l + 1], ch[l]) + self.shape))
        return out

    def __call__(self, theta: np.ndarray) -> tuple[np.ndarray, Callable[..., np.ndarray]]:
        blocks = [np.moveaxis(np.fft.rfftn(k, axes=self.axes), (0, 1), (-2, -1)) * self.c
                  for k in self.kernels(theta)]
        chain = [self.Xh]
        for B in blocks:
            chain.append(B @ chain[-1])
        res = np.ascontiguousarray((chain[-1] - self.Yh) * (self.sw / self.scale))
        r = res.view(np.float64).ravel()

        def vjp(v: np.ndarray) -> np.ndarray:
            G = np.ascontiguousarray(v).view(np.complex128).reshape(res.shape)
            G = G / (self.sw * self.scale)
            grad = np.empty(self.arch.n_free)
            for l in range(len(blocks) - 1, -1, -1):
                H = G @ np.conj(np.swapaxes(chain[l], -1, -2))
                gk = np.fft.irfftn(np.moveaxis(H, (-2, -1), (0, 1)), s=self.shape,
                                   axes=self.axes) * (self.c * self.d)
                grad[self.slices[l]] = gk.reshape(gk.shape[:2] + (-1,))[:, :, self.index[l]].ravel()
                if l > 0:
                    G = np.conj(np.swapaxes(blocks[l], -1, -2)) @ G
            return grad

        return r, vjp
