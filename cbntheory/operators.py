"""Translation-equivariant linear maps on multi-channel images: :class:`ConvOperator`.

A :class:`ConvOperator` is one convolution layer ``z -> W * z`` with
``(W * z)[p] = c * sum_q W[q] z[p - q]`` on the cyclic pixel group (see
:mod:`cbntheory.fourier`).  It is stored by its real kernel ``W`` of shape
``(C_out, C_in, *spatial)``; its frequency multiplier ``A_m = c * What[m]`` is
computed on demand.  Nothing here builds the dense ``(C_out d) x (C_in d)`` matrix
unless :meth:`ConvOperator.to_matrix` is called.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> A = ConvOperator.from_kernel(rng.standard_normal((2, 3, 5)))
>>> x = rng.standard_normal((4, 3, 5))
>>> dense = A.to_matrix() @ x.reshape(4, -1).T
>>> bool(np.allclose(A.apply(x).reshape(4, -1), dense.T))
True
"""
from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from . import _validate as V
from . import fourier, settings
from .errors import NotEquivariantError, ValidationError


class ConvOperator:
    """A real circular convolution between multi-channel images.

    Parameters
    ----------
    kernel : array_like, shape (C_out, C_in, *spatial)
        Real kernel; ``spatial`` is ``(d,)`` or ``(d1, d2)``.
    normalization : {"operator", "plain"}
        Convolution constant ``c = 1/sqrt(d)`` ("operator", default: ``||W||_F`` is then
        the Frobenius norm of the operator) or ``c = 1`` ("plain").

    Notes
    -----
    The frequency blocks satisfy ``(A z)^[m] = A_m zhat[m]`` with ``A_m = c What[m]``
    (convolution theorem) and, for a real kernel, ``A_{-m} = conj(A_m)``.  The singular
    values of the operator are the union over ``m`` of those of ``A_m``.
    """

    __slots__ = ("_kernel", "_normalization", "_blocks", "_half")

    #: Make numpy defer to this class, so that ``A @ array`` raises TypeError instead of
    #: being broadcast by ``ndarray.__rmatmul__``.
    __array_ufunc__ = None

    def __init__(self, kernel: Any, normalization: str = "operator") -> None:
        k = V.no_overflow("kernel", V.real_array("kernel", kernel, ndim=(3, 4)))
        self._kernel = k.copy()
        self._kernel.setflags(write=False)
        self._normalization = V.normalization("normalization", normalization)
        self._blocks: np.ndarray | None = None
        self._half: np.ndarray | None = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_kernel(cls, kernel: Any, normalization: str = "operator") -> ConvOperator:
        """Operator of the kernel ``(C_out, C_in, *spatial)``; see the class docstring."""
        return cls(kernel, normalization)

    @classmethod
    def from_blocks(cls, blocks: Any, normalization: str = "operator", *,
                    rtol: float | None = None) -> ConvOperator:
        """Operator with the frequency multiplier ``A_m`` (complex, ``(*spatial, C_out, C_in)``).

        Raises
        ------
        ValidationError
            If the blocks are not conjugate-symmetric (``A_{-m} = conj(A_m)``) to ``rtol``
            (default :data:`cbntheory.settings.REALNESS_RTOL`), i.e. no real kernel has them.

        Examples
        --------
        >>> import numpy as np
        >>> A = ConvOperator.from_kernel(np.arange(12.0).reshape(1, 2, 6))
        >>> B = ConvOperator.from_blocks(A.blocks)
        >>> bool(np.allclose(B.kernel, A.kernel))
        True
        """
        b = np.asarray(blocks)
        if b.ndim not in (3, 4) or not np.issubdtype(b.dtype, np.number):
            raise V.fail("blocks", "be a numeric array of shape (*spatial, C_out, C_in) with 1 or "
                         "2 spatial axes", b)
        if not np.all(np.isfinite(b)):
            bad = int(b.size - np.count_nonzero(np.isfinite(b)))
            raise ValidationError(f"blocks must be finite (no NaN or inf); got {bad} non-finite "
                                  f"entries in an array of shape {b.shape}")
        ndim = b.ndim - 2
        spatial = b.shape[:ndim]
        c = fourier.normalization_constant(V.normalization("normalization", normalization), spatial)
        k = np.fft.ifftn(b / c, axes=tuple(range(ndim)))
        rtol = V.optional_rtol("rtol", rtol)
        rtol = settings.REALNESS_RTOL if rtol is None else rtol
        scale = max(float(np.abs(k).max(initial=0.0)), np.finfo(float).tiny)
        imag = float(np.abs(k.imag).max(initial=0.0))
        if imag > rtol * scale:
            raise ValidationError(
                "blocks must be conjugate-symmetric (A[-m] = conj(A[m])) so that the kernel is "
                f"real; got a relative imaginary part of {imag / scale:.3e} > {rtol:.1e}")
        kernel = np.moveaxis(k.real, (ndim, ndim + 1), (0, 1))
        return cls(kernel, normalization)

    @classmethod
    def from_matrix(cls, matrix: Any, spatial_shape: Sequence[int], in_channels: int,
                    out_channels: int, normalization: str = "operator", *,
                    rtol: float | None = None) -> ConvOperator:
        """Operator of a dense matrix acting on signals flattened in C order from ``(C, *spatial)``.

        Parameters
        ----------
        matrix : array_like, shape (out_channels * d, in_channels * d)
        spatial_shape : tuple of int
        in_channels, out_channels : int
        normalization : {"operator", "plain"}
        rtol : float, optional
            Largest relative residual ``||M - M_conv||_F / ||M||_F`` accepted (default
            :data:`cbntheory.settings.EQUIVARIANCE_RTOL`), where ``M_conv`` is the nearest
            convolution: the orthogonal projection of ``M`` onto the convolutions, which
            averages every diagonal, ``c W[o, i, r] = (1/d) sum_q M[(o, q + r), (i, q)]``.

        Raises
        ------
        NotEquivariantError
            If the matrix does not commute with circular shifts; the message gives the residual.

        Examples
        --------
        >>> import numpy as np
        >>> A = ConvOperator.from_kernel(np.random.default_rng(1).standard_normal((2, 2, 3, 4)))
        >>> B = ConvOperator.from_matrix(A.to_matrix(), (3, 4), 2, 2)
        >>> bool(np.allclose(B.kernel, A.kernel))
        True
        """
        shape = V.spatial_shape("spatial_shape", spatial_shape)
        rtol = V.optional_rtol("rtol", rtol)
        cin = V.positive_int("in_channels", in_channels)
        cout = V.positive_int("out_channels", out_channels)
        d = fourier.spatial_size(shape)
        m = V.real_array("matrix", matrix, ndim=2)
        if m.shape != (cout * d, cin * d):
            raise V.fail("matrix", f"have shape (out_channels*d, in_channels*d) = "
                         f"({cout * d}, {cin * d})", m)
        norm = V.normalization("normalization", normalization)
        c = fourier.normalization_constant(norm, shape)
        # The convolutions form a linear subspace; the nearest one in Frobenius norm is the
        # orthogonal projection, which averages every "diagonal" M[(o, q + r), (i, q)] over q:
        # c * W[o, i, r] = (1/d) sum_q M[(o, q + r), (i, q)].
        idx = fourier.frequencies(shape).reshape(d, len(shape))
        target = (idx[None, :, :] + idx[:, None, :]) % np.asarray(shape)   # [r, q] -> q + r
        flat = np.ravel_multi_index(tuple(target[..., a] for a in range(len(shape))), shape)
        q = np.broadcast_to(np.arange(d)[None, :], (d, d))
        diag = m.reshape(cout, d, cin, d)[:, flat, :, q]          # (d_r, d_q, C_out, C_in)
        kernel = np.moveaxis(diag.mean(axis=1), 0, -1).reshape((cout, cin) + shape) / c
        op = cls(kernel, norm)
        scale = float(np.linalg.norm(m))
        resid = float(np.linalg.norm(m - op.to_matrix())) / scale if scale > 0 else 0.0
        rtol = settings.EQUIVARIANCE_RTOL if rtol is None else rtol
        if resid > rtol:
            raise NotEquivariantError(
                f"matrix must commute with circular shifts of {shape}; its relative residual "
                f"to the nearest convolution is {resid:.3e} > rtol={rtol:.1e}")
        return op

    # ------------------------------------------------------------------ attributes
    @property
    def kernel(self) -> np.ndarray:
        """Real kernel, shape ``(C_out, C_in, *spatial)`` (read-only)."""
        return self._kernel

    @property
    def normalization(self) -> str:
        """``"operator"`` or ``"plain"``."""
        return self._normalization

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """``(d,)`` or ``(d1, d2)``."""
        return tuple(self._kernel.shape[2:])

    @property
    def ndim(self) -> int:
        """Number of spatial axes (1 or 2)."""
        return self._kernel.ndim - 2

    @property
    def size(self) -> int:
        """Number of pixels ``d``."""
        return fourier.spatial_size(self.spatial_shape)

    @property
    def out_channels(self) -> int:
        """``C_out``."""
        return int(self._kernel.shape[0])

    @property
    def in_channels(self) -> int:
        """``C_in``."""
        return int(self._kernel.shape[1])

    @property
    def c(self) -> float:
        """The convolution constant of :attr:`normalization`."""
        return fourier.normalization_constant(self._normalization, self.spatial_shape)

    def _to_blocks(self, spectrum: np.ndarray) -> np.ndarray:
        n = self.ndim
        moved = np.moveaxis(spectrum, (0, 1), (n, n + 1))
        # scale and transpose in one pass into C order: each block is then contiguous,
        # which the batched SVD and matmul read without another copy
        return np.multiply(moved, self.c, out=np.empty(moved.shape, moved.dtype))

    @property
    def blocks(self) -> np.ndarray:
        """Frequency multiplier ``A_m = c fftn(kernel)[m]``, complex ``(*spatial, C_out, C_in)``."""
        if self._blocks is None:
            V.check_size("the frequency blocks (complex, kernel-sized)", self._kernel.shape, 16)
            axes = fourier.spatial_axes(self.ndim)
            self._blocks = self._to_blocks(np.fft.fftn(self._kernel, axes=axes))
            self._blocks.setflags(write=False)
        return self._blocks

    def half_blocks(self) -> np.ndarray:
        """Blocks on the ``rfftn`` half-spectrum.

        Sums over all frequencies are weighted sums over these bins, with the weights of
        :func:`cbntheory.fourier.half_spectrum_weights`.
        """
        if self._half is None:
            V.check_size("the half-spectrum blocks (complex)", self._kernel.shape, 16)
            axes = fourier.spatial_axes(self.ndim)
            self._half = self._to_blocks(fourier.rfftn(self._kernel, axes))
            self._half.setflags(write=False)
        return self._half

    # ------------------------------------------------------------------ linear algebra
    def singular_values(self) -> np.ndarray:
        """Singular values per frequency, shape ``(*spatial, min(C_out, C_in))``, decreasing."""
        return fourier.half_to_full(batch_singular_values(self.half_blocks()),
                                    self.spatial_shape)

    def to_matrix(self) -> np.ndarray:
        """Dense matrix ``(C_out d, C_in d)`` of the operator (built only on request).

        It acts on signals flattened in C order from ``(C, *spatial)``.
        """
        shape = self.spatial_shape
        d = self.size
        V.check_size("the dense operator matrix (C_out d x C_in d)",
                     (self.out_channels * d, self.in_channels * d))
        # M[(o, p), (i, q)] = c * W[o, i, p - q]: gather the kernel at every difference p - q.
        idx = fourier.frequencies(shape).reshape(d, self.ndim)
        diff = (idx[:, None, :] - idx[None, :, :]) % np.asarray(shape)
        gathered = self._kernel[(slice(None), slice(None)) + tuple(diff[..., a] for a in
                                                                  range(self.ndim))]
        # gathered: (C_out, C_in, d_p, d_q) -> (C_out, d_p, C_in, d_q)
        return self.c * gathered.transpose(0, 2, 1, 3).reshape(self.out_channels * d,
                                                                 self.in_channels * d)

    def apply(self, x: Any) -> np.ndarray:
        """Apply the operator to a batch ``x`` of shape ``(N, C_in, *spatial)``."""
        arr = V.real_array("x", x, ndim=self.ndim + 2)
        if arr.shape[1:] != (self.in_channels,) + self.spatial_shape:
            raise V.fail("x", f"have shape (N, {self.in_channels}, "
                         f"{', '.join(map(str, self.spatial_shape))})", arr)
        axes = fourier.spatial_axes(self.ndim)
        xh = np.fft.rfftn(arr, axes=axes)                       # (N, C_in, *half)
        xh = np.moveaxis(xh, (0, 1), (-1, -2))                  # (*half, C_in, N)
        yh = np.matmul(self.half_blocks(), xh)                  # (*half, C_out, N)
        yh = np.moveaxis(yh, (-1, -2), (0, 1))
        return np.fft.irfftn(yh, s=self.spatial_shape, axes=axes)

    def param_norm(self) -> float:
        """Squared Frobenius norm of the kernel, ``sum W^2``."""
        return float(np.sum(self._kernel ** 2))

    def __matmul__(self, other: ConvOperator) -> ConvOperator:
        """Composition ``self @ other``: apply ``other`` first."""
        if not isinstance(other, ConvOperator):
            return NotImplemented
        if other.spatial_shape != self.spatial_shape:
            raise V.fail("other.spatial_shape", f"equal {self.spatial_shape}", other.spatial_shape)
        if other.normalization != self.normalization:
            raise V.fail("other.normalization", f"equal {self.normalization!r} (mixed "
                         "normalisations are not composed silently)", other.normalization)
        if other.out_channels != self.in_channels:
            raise V.fail("other.out_channels", f"equal self.in_channels = {self.in_channels}",
                         other.out_channels)
        prod = np.matmul(self.half_blocks(), other.half_blocks())
        axes = tuple(range(self.ndim))
        kernel = np.fft.irfftn(prod / self.c, s=self.spatial_shape, axes=axes)
        return ConvOperator(np.moveaxis(kernel, (self.ndim, self.ndim + 1), (0, 1)),
                            self.normalization)

    def __repr__(self) -> str:
        return (f"ConvOperator({self.out_channels}x{self.in_channels} channels, spatial "
                f"{self.spatial_shape}, normalization={self.normalization!r})")


@functools.lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    """The thread pools of the loaded BLAS libraries, inspected once (~1 ms a time)."""
    return ThreadpoolController()


def batch_singular_values(blocks: np.ndarray) -> np.ndarray:
    """``numpy.linalg.svd(blocks, compute_uv=False)`` with the batch split over the cores.

    The matrices of ``blocks`` (``(..., m, n)``) are cut into
    :data:`cbntheory.settings.SVD_SHARES_PER_CORE` contiguous shares per core, decomposed
    by one thread per core (numpy releases the GIL inside
    its LAPACK loops), with BLAS held to one thread meanwhile so the shares do not
    compete for the cores.  Below :data:`cbntheory.settings.SVD_THREADED_MIN_BATCH`
    matrices, or on one core, it is the plain call.  Every matrix is decomposed by the
    same LAPACK routine as in the plain call, so the values agree to round-off.

    Examples
    --------
    >>> b = np.random.default_rng(0).standard_normal((600, 3, 2))
    >>> bool(np.allclose(batch_singular_values(b), np.linalg.svd(b, compute_uv=False)))
    True
    """
    blocks = np.asarray(blocks)
    batch = int(np.prod(blocks.shape[:-2], dtype=np.int64))
    workers = min(os.cpu_count() or 1, max(1, batch // max(1, settings.SVD_THREADED_MIN_BATCH)))
    if workers < 2:
        return np.linalg.svd(blocks, compute_uv=False)
    flat = blocks.reshape((batch,) + blocks.shape[-2:])
    # several shares per core, handed out as threads free up: on a shared machine a
    # descheduled thread then holds back one small share, not half of the batch
    shares = np.array_split(flat, workers * settings.SVD_SHARES_PER_CORE)
    with _blas_controller().limit(limits=1), ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda b: np.linalg.svd(b, compute_uv=False), shares))
    return np.concatenate(parts).reshape(blocks.shape[:-2] + (-1,))
