"""Linear CNNs on finite data: least-norm maps, feasibility and width certificates (T1-data).

A linear CNN with full-size filters and no biases computes a translation-equivariant
map ``A``, which acts on the spectrum frequency by frequency, ``(A x)^[m] = A_m xhat[m]``.
The data constraints ``A x_i = y_i`` therefore decouple into ``A_m X_m = Y_m`` with
``X_m = [xhat_1[m], ..., xhat_N[m]]``.  Their least-norm solution

    A0_m = Y_m X_m^+

is not only the solution of least Frobenius norm: every solution satisfies
``A_m P_m = A0_m`` with ``P_m = X_m X_m^+`` the projector onto the column span of
``X_m``, hence ``s_i(A0_m) = s_i(A_m P_m) <= s_i(A_m)`` for every ``i``.  So ``A0``
minimises every Schatten quasi-norm at once, and the minimal cost of a depth-``L``
network on the data is the T1 cost of ``A0`` for every ``L`` (statement T1-data of
``docs/theory.md``), as long as the hidden widths reach ``max_m rank A0_m``.

With biases the end-to-end map is affine, ``x -> A x + beta`` with ``beta`` constant
over pixels per channel; ``beta`` only reaches frequency 0, where the constraints
become ``A_0 (X_0 - mean) = Y_0 - mean`` (differences of samples), and the same
argument gives :func:`least_norm_map` with ``affine=True``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((5, 2, 8))
>>> A = ConvOperator.from_kernel(rng.standard_normal((1, 2, 8)))
>>> fit = least_norm_map(X, A.apply(X))
>>> bool(fit.residual < 1e-12), bool(np.allclose(fit.operator.kernel, A.kernel))
(True, True)
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..errors import InfeasibleError
from ..nets.architecture import Architecture
from ..operators import ConvOperator
from ..results import relative_residual
from .linear import LinearCost

__all__ = ["LeastNormMap", "bias_least_norm", "check_support", "check_widths",
           "composite_window", "contrasts", "least_norm_map", "spectrum", "taps_least_norm"]


def spectrum(z: np.ndarray, ndim: int) -> np.ndarray:
    """Half spectrum of a batch: ``(N, C, *spatial)`` -> ``(*half, C, N)``."""
    zh = np.fft.rfftn(z, axes=fourier.spatial_axes(ndim))
    return np.ascontiguousarray(np.moveaxis(zh, (0, 1), (-1, -2)))


def contrasts(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """The samples along ``axis`` seen through an orthonormal basis of the sum-zero vectors.

    A free constant per output (a bias) is eliminated from ``A x_i + beta = y_i`` by taking
    differences of samples.  Centring (``z - mean``) does that too but leaves ``N`` columns
    of rank ``N - 1``: the missing direction comes back as a round-off singular value that a
    pseudo-inverse may invert.  The Helmert basis ``H`` (``N`` rows, ``N - 1`` orthonormal
    columns, ``H^T 1 = 0``) gives the same least-squares problem, ``||(A X - Y) P|| =
    ||(A X - Y) H||`` with ``P = I - 1 1^T / N = H H^T``, with ``N - 1`` honest columns.

    Examples
    --------
    >>> z = np.array([[1.0, 2.0, 6.0]])
    >>> h = contrasts(z)
    >>> h.shape, bool(np.isclose(np.linalg.norm(h), np.linalg.norm(z - z.mean())))
    ((1, 2), True)
    """
    z = np.moveaxis(np.asarray(z), axis, -1)
    n = z.shape[-1]
    basis = np.zeros((n, max(n - 1, 0)))
    for k in range(1, n):   # column k: k ones, then -k, scaled to unit norm
        basis[:k, k - 1] = 1.0
        basis[k, k - 1] = -k
        basis[:, k - 1] /= np.sqrt(k * (k + 1))
    return np.moveaxis(z @ basis, -1, axis)


def _signed(m: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(v - s) if v > s // 2 else int(v) for v, s in zip(m, shape))


@dataclasses.dataclass(frozen=True)
class LeastNormMap:
    """The equivariant (affine) map of least norm per frequency that fits the data.

    Attributes
    ----------
    operator : ConvOperator
        ``A0`` with blocks ``Y_m X_m^+`` (centred data at frequency 0 when ``affine``).
    offset : ndarray, shape (C_out,)
        Constant output offset per channel (zero unless ``affine``): ``A0 x_i + offset``
        reproduces ``y_i``.
    residual : float
        Relative least-squares residual ``||A0 X + offset - Y|| / ||Y||`` (0 for exact data).
    frequency_residuals : ndarray, shape spatial
        Per frequency, ``||A0_m X_m - Y_m||_F / ||Yhat||`` (summing squares over all
        frequencies gives ``residual**2``).
    affine : bool
    """

    operator: ConvOperator
    offset: np.ndarray
    residual: float
    frequency_residuals: np.ndarray
    affine: bool

    def worst_frequency(self) -> tuple[int, ...]:
        """Signed frequency with the largest residual."""
        shape = self.operator.spatial_shape
        m = np.unravel_index(int(np.argmax(self.frequency_residuals)), shape)
        return _signed(tuple(int(v) for v in m), shape)


def least_norm_map(X: Any, Y: Any, *, affine: bool = False,
                   normalization: str = "operator") -> LeastNormMap:
    """Least-norm equivariant linear (or affine) map with ``A x_i = y_i`` as closely as possible.

    Parameters
    ----------
    X : array_like, shape (N, C_in, *spatial)
    Y : array_like, shape (N, C_out, *spatial)
    affine : bool
        Allow a constant offset per output channel (networks with biases).
    normalization : {"operator", "plain"}
        Normalisation of the returned :class:`ConvOperator`.

    Returns
    -------
    LeastNormMap
        Blocks ``A0_m = Y_m X_m^+`` (the least-squares solution of least norm); when the
        data are consistent, every equivariant map fitting them has
        ``s_i(A_m) >= s_i(A0_m)`` for all ``m`` and ``i``.

    Notes
    -----
    Computed on the ``rfftn`` half spectrum; ``X_{-m} = conj(X_m)`` makes the blocks
    conjugate-symmetric, so the kernel ``irfftn(A0 / c)`` is real.  With ``affine`` the
    frequency-0 block is fitted to the :func:`contrasts` of the samples (their centred
    values, without the rank-deficient column) and the offset is
    ``(mean_i Y_0 - A0_0 mean_i X_0) / d`` (a constant image has spectrum ``d b`` at
    frequency 0).

    Examples
    --------
    Two samples differing by a constant cannot be told apart by a linear map, but an
    affine one fits them:

    >>> X = np.zeros((2, 1, 4)); X[1] += 1.0
    >>> Y = np.ones((2, 1, 4)); Y[1] += 3.0
    >>> lin, aff = least_norm_map(X, Y), least_norm_map(X, Y, affine=True)
    >>> bool(np.isclose(lin.residual, 1 / np.sqrt(17)))    # y_0 = 1 is out of reach of 0
    True
    >>> bool(aff.residual < 1e-12), bool(np.allclose(aff.offset, 1.0))
    (True, True)
    """
    X = V.real_array("X", X, ndim=(3, 4))
    Y = V.real_array("Y", Y, ndim=(3, 4))
    nd = X.ndim - 2
    shape = tuple(X.shape[2:])
    Xh, Yh = spectrum(X, nd), spectrum(Y, nd)
    zero = (0,) * nd
    blocks = Yh @ np.linalg.pinv(Xh)
    resid = np.linalg.norm(blocks @ Xh - Yh, axis=(-2, -1))
    if affine:   # frequency 0 on contrasts of the samples (the offset absorbs the mean)
        X0, Y0 = contrasts(Xh[zero]), contrasts(Yh[zero])
        blocks[zero] = Y0 @ np.linalg.pinv(X0)
        resid[zero] = np.linalg.norm(blocks[zero] @ X0 - Y0)
    w = fourier.half_spectrum_weights(shape)
    scale = float(np.sqrt(np.sum(w * np.linalg.norm(Yh, axis=(-2, -1)) ** 2))) or 1.0
    total = float(np.sqrt(np.sum(w * resid ** 2))) / scale
    d = fourier.spatial_size(shape)
    c = fourier.normalization_constant(normalization, shape)
    kernel = np.fft.irfftn(np.moveaxis(blocks, (-2, -1), (0, 1)) / c, s=shape,
                           axes=tuple(range(2, 2 + nd)))
    op = ConvOperator(kernel, normalization)
    offset = np.zeros(Y.shape[1])
    if affine:
        beta = Yh[zero].mean(axis=-1) - blocks[zero] @ Xh[zero].mean(axis=-1)
        offset = beta.real / d
    per = fourier.half_to_full(resid, shape) / scale
    return LeastNormMap(op, offset, total, per, affine)


def bias_least_norm(X: np.ndarray, Y: np.ndarray, normalization: str = "operator"
                    ) -> tuple[ConvOperator, np.ndarray]:
    """Depth 1 with a penalised bias: minimise ``||W||^2 + ||b||^2`` s.t. ``W * x_i + b = y_i``.

    Frequencies ``m != 0`` take ``Y_m X_m^+``; at frequency 0 the unknowns
    ``Z = [sqrt(k) A_0, b]`` (``k = 1/(d c^2)``, so ``||Z||^2`` is the cost there) solve
    ``Z [X_0 / sqrt(k); d 1^T] = Y_0`` with least norm.  Returns the operator and ``b``.
    """
    nd = X.ndim - 2
    shape = tuple(X.shape[2:])
    Xh, Yh = spectrum(X, nd), spectrum(Y, nd)
    zero = (0,) * nd
    blocks = Yh @ np.linalg.pinv(Xh)
    d = fourier.spatial_size(shape)
    k = fourier.cost_factor(normalization, shape)
    aug = np.vstack([Xh[zero].real / np.sqrt(k), d * np.ones((1, X.shape[0]))])
    Z = Yh[zero].real @ np.linalg.pinv(aug)
    blocks[zero] = Z[:, :-1] / np.sqrt(k)
    c = fourier.normalization_constant(normalization, shape)
    kernel = np.fft.irfftn(np.moveaxis(blocks, (-2, -1), (0, 1)) / c, s=shape,
                           axes=tuple(range(2, 2 + nd)))
    return ConvOperator(kernel, normalization), Z[:, -1].copy()


def check_widths(arch: Architecture, cost: LinearCost, what: str) -> None:
    """Raise :class:`InfeasibleError` when a hidden width is below a per-frequency rank.

    Every layer of width ``n`` caps the rank of the end-to-end block at every frequency
    by ``n``, and every equivariant map fitting the data has ``rank A_m >= rank A0_m``.
    """
    ranks = cost.cbn_rank
    hidden = arch.channels[1:-1]
    if not hidden:
        return
    narrow = int(np.argmin(hidden))
    n = hidden[narrow]
    need = int(ranks.max(initial=0))
    if need <= n:
        return
    shape = tuple(ranks.shape)
    m = _signed(tuple(int(v) for v in np.unravel_index(int(np.argmax(ranks)), shape)), shape)
    deg = fourier.describe_degrees((ranks > n).astype(int), shape)
    raise InfeasibleError(
        f"channels[{narrow + 1}] = {n} is too narrow for {what}: its end-to-end map has rank "
        f"{need} at frequency m = {m} (frequencies needing more than {n} channels: {deg}), "
        f"and a layer of width {n} caps every frequency's rank at {n}; use hidden widths "
        f">= {need}")


def composite_window(arch: Architecture) -> np.ndarray:
    """Taps that a product of the ``L`` windows can reach (the support of any end-to-end kernel).

    Per axis the offsets ``-(k//2) .. k-1-(k//2)`` add up to ``-L(k//2) .. L(k-1-k//2)``
    (mod ``d``); the result is a boolean array of the spatial shape.
    """
    shape = arch.spatial_shape
    if arch.kernel_size is None:
        return np.ones(shape, dtype=bool)
    L = arch.depth
    axes = []
    for k, d in zip(arch.kernel_size, shape):
        offs = np.arange(-L * (k // 2), L * (k - 1 - k // 2) + 1) % d
        ax = np.zeros(d, dtype=bool)
        ax[offs] = True
        axes.append(ax)
    return np.all(np.stack(np.meshgrid(*axes, indexing="ij")), axis=0)


def _design(X: np.ndarray, window: np.ndarray, c: float) -> tuple[np.ndarray, list]:
    """Matrix ``D[(n, p), (i, q)] = c x_n[i, p - q]`` over the taps ``q`` of ``window``."""
    nd = window.ndim
    taps = [tuple(int(v) for v in q) for q in zip(*np.nonzero(window))]
    cols = [c * np.roll(X, q, axis=tuple(range(2, 2 + nd))) for q in taps]  # x[p - q]
    D = np.stack(cols, axis=-1)                              # (N, C_in, *spatial, taps)
    return np.moveaxis(D, 1, -2).reshape(-1, X.shape[1] * len(taps)), taps


def taps_least_norm(arch: Architecture, X: np.ndarray, Y: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """Depth 1, any window and bias setting: the kernel (and bias) of least norm fitting the data.

    Solves ``min ||W||^2 (+ ||b||^2 if penalised)`` subject to ``W * x_i + b = y_i`` (least
    squares if inconsistent) as a minimum-norm least-squares problem over the window taps;
    a free bias is eliminated by taking :func:`contrasts` of the equations.  Returns
    ``(kernel, bias, relative residual)`` with the kernel full-size (zeros outside the
    window).
    """
    window = arch.windows[0]
    D, taps = _design(X, window, arch.constants[0])
    rhs = np.moveaxis(Y, 1, -1).reshape(-1, Y.shape[1])
    cout, cin = Y.shape[1], X.shape[1]
    bias = np.zeros(cout)
    if arch.bias and arch.penalize_bias:
        sol, *_ = np.linalg.lstsq(np.hstack([D, np.ones((D.shape[0], 1))]), rhs, rcond=None)
        bias, sol = sol[-1].copy(), sol[:-1]
    elif arch.bias:
        sol, *_ = np.linalg.lstsq(contrasts(D, axis=0), contrasts(rhs, axis=0), rcond=None)
        bias = rhs.mean(axis=0) - D.mean(axis=0) @ sol
    else:
        sol, *_ = np.linalg.lstsq(D, rhs, rcond=None)
    fit = D @ sol + bias
    resid = relative_residual(fit, rhs)
    kernel = np.zeros((cout, cin) + arch.spatial_shape)
    coef = sol.reshape(cin, len(taps), cout)
    for t, q in enumerate(taps):
        kernel[(slice(None), slice(None)) + q] = coef[:, t, :].T
    return kernel, bias, resid


def check_support(arch: Architecture, X: np.ndarray, Y: np.ndarray,
                  rtol: float = settings.FEASIBILITY_RTOL) -> float:
    """Least-squares residual of maps supported on :func:`composite_window`; raise if infeasible.

    Every ``k``-tap linear network computes ``x -> K * x (+ beta)`` with ``K`` supported on
    the composite window, so a relative residual above ``rtol`` certifies that no
    network of the architecture fits the data.  Returns the residual.
    """
    window = composite_window(arch)
    if window.all():
        return 0.0
    D, taps = _design(X, window, arch.constants[0])
    if arch.bias:
        D = np.hstack([D, np.ones((D.shape[0], 1))])
    rhs = np.moveaxis(Y, 1, -1).reshape(-1, Y.shape[1])
    sol, *_ = np.linalg.lstsq(D, rhs, rcond=None)
    scale = float(np.linalg.norm(rhs)) or 1.0
    resid = float(np.linalg.norm(D @ sol - rhs)) / scale
    if resid > rtol:
        raise InfeasibleError(
            f"no network with kernel_size={arch.kernel_size} and depth {arch.depth} can fit the "
            f"data: every such network computes a convolution supported on {len(taps)} of "
            f"{window.size} taps{' plus a constant' if arch.bias else ''}, and the best such "
            f"map leaves a relative residual {resid:.3e} > {rtol:.1e}; use a larger kernel_size "
            "or more layers")
    return resid
