"""Exact Jacobians of networks: in the input (dense, and per frequency at translation-invariant
inputs) and in the parameters (:func:`parameter_jacobian`, and :func:`parameter_gram`,
``J J^T`` without ``J``, for the Gauss-Newton projection).

The Jacobian of ``f_theta`` at ``x`` is the product of the layer operators and the
0/1 ReLU masks, ``J = C_L D_{L-1} R_{L-2} ... D_1 C_1`` (``R`` resampling, and the
pool and dense layer of the head where present).  :func:`dense_jacobian` assembles it
by pushing blocks of unit vectors through the linearised network (forward mode) or
unit cotangents back through it (reverse mode), with the FFT engine; no dense
per-layer matrix is ever built.

At an input constant over pixels every activation is constant over pixels, the masks
act per channel and commute with shifts, so ``J`` is itself a convolution with
frequency blocks ``J_m = A_L[m] D_{L-1} A_{L-1}[m] ... D_1 A_1[m]`` where
``A_l[m] = c_l fftn(W_l)[m]`` (:func:`layer_blocks`).

References
----------
[WJ2024] Y. Wen, A. Jacot, Which frequencies do CNNs need? ICML 2024 (THEORY T2).
"""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from .. import _validate as V
from .. import settings
from ..errors import ValidationError
from . import _engine as E
from . import _layers as K

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

#: Rough memory budget (bytes) of one block of tangents in :func:`dense_jacobian`.
_BLOCK_BYTES = 2 ** 27


def dense_jacobian(net: Network, x: np.ndarray, mode: str = "auto") -> np.ndarray:
    """Dense Jacobian ``(output_size, n_0 d)`` of ``net`` at one (validated) input ``x``.

    Parameters
    ----------
    net : Network
    x : ndarray, shape (n_0, *spatial_shape)
    mode : {"auto", "forward", "reverse"}
        "forward" pushes unit input vectors through the linearised network, "reverse"
        pulls unit output cotangents back; "auto" takes the one with fewer passes.

    Returns
    -------
    ndarray, shape (output_size, n_0 d)
        ``J[i, j] = d f(x)_i / d x_j``, both sides flattened in C order.

    Notes
    -----
    ``J = C_L D_{L-1} ... D_1 C_1`` with ``D_l = diag(u_l > 0)``: a pre-activation
    exactly 0 counts as inactive (the convention ``sigma'(0) = 0``, as in the gradients).
    Where some ``u_l`` is exactly 0 the network is not differentiable and this is one
    element of the Clarke generalised Jacobian.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((5,), (1, 3, 2), activation="linear", bias=False)
    >>> net = arch.init(rng=0)
    >>> x = np.random.default_rng(1).standard_normal((1, 5))
    >>> jac = net.jacobian(x)
    >>> bool(np.allclose(jac @ x.ravel(), net(x[None]).ravel()))   # a linear map
    True
    """
    if mode not in ("auto", "forward", "reverse"):
        raise V.fail("mode", "be 'auto', 'forward' or 'reverse'", mode)
    arch = net.architecture
    ndim = arch.ndim
    n_in, n_out = arch.input_size, arch.output_size
    V.check_size("the dense Jacobian (output size x input size)", (n_out, n_in))
    comp = net._comp(np.dtype(np.float64))
    _, tape = E.forward(comp, K.to_internal(x[None], ndim), record=True)
    if mode == "auto":
        mode = "reverse" if n_out < n_in else "forward"
    widest = max([arch.input_size] + [n * int(np.prod(s)) for n, s in
                                      zip(arch.channels[1:], arch.layer_shapes)])
    block = max(1, _BLOCK_BYTES // (64 * widest))
    jac = np.empty((n_out, n_in))
    total = n_in if mode == "forward" else n_out
    for start in range(0, total, block):
        idx = np.arange(start, min(start + block, total))
        unit = np.zeros((len(idx), total))
        unit[np.arange(len(idx)), idx] = 1.0
        if mode == "forward":
            t = K.to_internal(unit.reshape((len(idx),) + arch.input_shape), ndim)
            out = net._output_public(E.tangent_forward(comp, tape, t))  # type: ignore[arg-type]
            jac[:, idx] = out.reshape(len(idx), n_out).T
        else:
            cot = net._output_internal(unit.reshape((len(idx),) + arch.output_shape),
                                       len(idx), np.dtype(np.float64))
            _, _, g = E.backward(comp, tape, cot, want_params=False,  # type: ignore[arg-type]
                                 want_input=True)
            jac[idx] = K.from_internal(g, ndim).reshape(len(idx), n_in)  # type: ignore[arg-type]
    return jac


def layer_blocks(net: Network, l: int) -> np.ndarray:
    """Frequency multiplier ``c_l fftn(W_l)`` of convolution ``l`` (0-based).

    Returns a complex array of shape ``(*layer_shapes[l], C_out, C_in)``.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> net = cbn.Architecture((4,), (1, 1), normalization="plain").init(rng=0)
    >>> A = net.layer_blocks(0)
    >>> A.shape, bool(np.isclose(A[0, 0, 0], net.kernels[0].sum()))
    ((4, 1, 1), True)
    """
    arch = net.architecture
    if isinstance(l, bool) or not isinstance(l, numbers.Integral) or not 0 <= l < arch.n_conv:
        extra = " (the dense layer of the avgpool head has no frequency blocks)" \
            if arch.head == "avgpool" else ""
        raise V.fail("l", f"be a convolution layer index in 0..{arch.n_conv - 1}{extra}", l)
    w = net.kernels[l]
    spec = np.fft.fftn(w, axes=tuple(range(2, w.ndim))) * arch.constants[l]
    return np.ascontiguousarray(np.moveaxis(spec, (0, 1), (-2, -1)))


def jacobian_blocks(net: Network, x: np.ndarray, rtol: float | None = None) -> np.ndarray:
    """Frequency blocks of the Jacobian at an input constant over pixels.

    Parameters
    ----------
    net : Network
        Convolutions only (``head=None``) and no resampling.
    x : ndarray, shape (n_0, *spatial_shape)
        Translation-invariant input: ``||x - mean_p x|| <= rtol ||x||``.
    rtol : float, optional
        Default :data:`cbntheory.settings.TRANSLATION_INVARIANCE_RTOL`.

    Returns
    -------
    ndarray, complex, shape (*spatial_shape, n_L, n_0)
        ``J_m`` with ``(J t)^[m] = J_m that[m]`` for every tangent ``t``.

    Raises
    ------
    ValidationError
        If ``x`` is not constant over pixels (the message gives the residual) or the
        architecture has a head or resampling (the Jacobian is then no convolution).

    Notes
    -----
    The masks are those of the constant pre-activations ``u_l = A_l[0] v_{l-1} + b_l``
    (``A_l[0] = c_l sum_q W_l[q]``, ``v`` the per-channel values of the activations),
    with ``u_l = 0`` inactive.  ``J_m = A_L[m] D_{L-1} A_{L-1}[m] ... D_1 A_1[m]``.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> net = cbn.Architecture((6,), (1, 4, 1)).init(rng=2)
    >>> x = np.full((1, 6), 0.7)
    >>> blocks = net.jacobian_blocks(x)
    >>> dense = net.jacobian(x)                       # (6, 6), a circulant matrix
    >>> bool(np.allclose(np.fft.fft(dense[:, 0]), blocks[:, 0, 0]))
    True
    """
    arch = net.architecture
    if arch.head is not None or any(r != 1 for r in arch.resample):  # type: ignore[union-attr]
        raise V.fail("architecture", "have head=None and no resampling for the Jacobian to be "
                     "a convolution (use Network.jacobian for the dense Jacobian)",
                     f"head={arch.head!r}, resample={arch.resample}")
    if rtol is None:
        rtol = settings.TRANSLATION_INVARIANCE_RTOL
    axes = tuple(range(1, 1 + arch.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    scale = float(np.linalg.norm(x))
    resid = float(np.linalg.norm(x - mean)) / scale if scale > 0 else 0.0
    if resid > rtol:
        raise ValidationError(f"x must be constant over pixels (translation-invariant) for "
                              f"jacobian_blocks; got relative residual {resid:.3g} > "
                              f"rtol={rtol:.3g}")
    v = mean.reshape(-1)
    relu = arch.activation == "relu"
    jac = None
    for l in range(arch.depth):
        A = layer_blocks(net, l)
        jac = A if jac is None else np.matmul(A, jac)
        if l == arch.depth - 1 or not relu:
            continue
        u = A[(0,) * arch.ndim].real @ v
        if arch.bias:
            u = u + net.biases[l]
        mask = u > 0
        v = u * mask
        jac = jac * mask[:, None]
    return jac  # type: ignore[return-value]


def parameter_jacobian(net: Network, X: np.ndarray, dtype: DTypeLike = np.float64
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Outputs ``f_theta(X)`` and ``d f_theta(X) / d theta`` (rows in C order of the outputs).

    Parameters
    ----------
    net : Network
    X : ndarray, shape (N, n_0, *spatial)
    dtype : {float64, float32}
        Precision of the forward and reverse passes and of ``J``.  float32 halves the
        memory of ``J``; its entries then carry relative errors of about ``1e-7``.

    Returns
    -------
    out : ndarray, shape (N, *output_shape)
        In ``dtype``.
    J : ndarray, shape (N * output_size, n_free)
        Columns in the layout of ``Network.to_vector`` (window taps only), in ``dtype``.

    Notes
    -----
    One batched reverse pass over the engine's tape, with one unit cotangent per row
    (rows = samples x output coordinates): the cost of about ``rows`` backward passes of
    one sample, done as one batch: the engine's reverse pass with ``rows``, which keeps
    the gradients per row instead of summing them.  The blocks are written into one
    preallocated array, ``J^T`` (``J`` is returned as its transposed, Fortran-ordered view).

    Examples
    --------
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((4,), (1, 3, 1), kernel_size=3)
    >>> net = arch.init(rng=0)
    >>> X = np.random.default_rng(1).standard_normal((2, 1, 4))
    >>> out, J = parameter_jacobian(net, X)
    >>> v, e = net.to_vector(), np.zeros(arch.n_free)
    >>> e[5] = 1e-6
    >>> fd = (cbn.Network.from_vector(arch, v + e)(X) - cbn.Network.from_vector(arch, v - e)(X))
    >>> bool(np.allclose(J[:, 5], fd.ravel() / 2e-6, atol=1e-6))
    True
    """
    out, features = _gradient_features(net, X, _precision(dtype), spectral=False)
    return out, features.T


def parameter_gram(net: Network, X: np.ndarray, dtype: DTypeLike = np.float64
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Outputs ``f_theta(X)`` and ``J J^T`` for the Jacobian ``J`` of :func:`parameter_jacobian`.

    Parameters
    ----------
    net : Network
    X : ndarray, shape (N, n_0, *spatial)
    dtype : {float64, float32}
        Precision of the passes and of the product (the Gram matrix is returned in
        float64 either way).

    Returns
    -------
    out : ndarray, shape (N, *output_shape)
        In ``dtype``.
    G : ndarray, shape (N * output_size, N * output_size), float64
        ``G[i, j] = <grad f_i, grad f_j>`` over the free parameters.

    Notes
    -----
    ``J`` itself is never formed.  For full-size kernels (``kernel_size=None``) the
    inner products of the kernel gradients are taken on their half spectra, which the
    reverse pass has already: by Parseval, ``sum_q g(q) h(q) = (1/D) sum_m w_m
    Re(ghat(m) conj(hhat(m)))`` over the bins ``m`` kept by :func:`_parseval` (each
    frequency pair ``m, -m`` once, ``w_m`` = 1 for a real coefficient, else 2).  The real
    and imaginary parts, scaled by ``sqrt(w_m / D)``, are ``D`` real features per kernel
    (a real coefficient has no imaginary part), as many as the kernel has taps,
    so the product costs what ``J J^T`` costs (one symmetric rank-k update), without the
    ``N m`` inverse transforms and the transposing copies of :func:`parameter_jacobian`.
    Windowed kernels, biases and the dense head enter with their taps.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((6,), (1, 3, 1))
    >>> net = arch.init(rng=0)
    >>> X = np.random.default_rng(1).standard_normal((2, 1, 6))
    >>> _, G = parameter_gram(net, X)
    >>> _, J = parameter_jacobian(net, X)
    >>> bool(np.allclose(G, J @ J.T))
    True
    """
    spectral = net.architecture.kernel_size is None
    out, features = _gradient_features(net, X, _precision(dtype), spectral=spectral)
    # numpy computes a product with its own transpose as a symmetric rank-k update
    return out, (features.T @ features).astype(np.float64, copy=False)


def _precision(dtype: DTypeLike) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise V.fail("dtype", "be float64 or float32", dtype)
    return dt


def _gradient_features(net: Network, X: np.ndarray, dt: np.dtype, spectral: bool
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Outputs and the ``(n_free, R)`` features of the per-row gradients of the ``R = N *
    output_size`` outputs, in the layout of ``Network.to_vector`` (``J^T``), or with
    ``spectral`` the full-size kernels by Parseval (``J^T`` up to an orthogonal map).

    One batched reverse pass over the engine's tape with a unit cotangent per row: the
    gradients are kept per row instead of summed (:func:`E.backward` with ``rows``).
    """
    arch = net.architecture
    comp = net._comp(dt)
    out, tape = E.forward(comp, K.to_internal(np.asarray(X, dtype=dt), arch.ndim), record=True)
    R, size = X.shape[0] * arch.output_size, arch.output_size
    rows = np.arange(R)
    unit = np.zeros((R, size), dtype=dt)
    unit[rows, rows % size] = 1.0
    cot = net._output_internal(unit.reshape((R,) + arch.output_shape), R, dt)
    kg, bg, _ = E.backward(comp, tape, cot, rows=rows // size,  # type: ignore[arg-type]
                           spectral=spectral)
    features = np.empty((arch.n_free, R), dtype=dt)
    row = 0
    for l in range(arch.depth):
        row = _write_features(features, row, arch, l, kg[l], spectral)
        if arch.bias:
            features[row:row + bg[l].shape[1]] = bg[l].T
            row += bg[l].shape[1]
    return net._output_public(out).astype(dt, copy=False), features


def _write_features(features: np.ndarray, row: int, arch: Any, l: int, k: np.ndarray,
                    spectral: bool) -> int:
    """Write layer ``l``'s per-row kernel gradients ``k`` as rows of ``features`` from
    ``row`` on (features whose inner products are those of the gradients); the next row.

    The taps (windowed kernels, the dense head), or, for a full-size kernel given by its
    half spectra ``(*half, C_out, C_in, R)`` (``spectral``), the real parts of the kept
    bins and the imaginary parts of those that are not real, scaled by Parseval's
    weights (:func:`_parseval`).
    """
    R = features.shape[1]
    if l >= arch.n_conv or not spectral:            # taps: the head, or a windowed kernel
        if l < arch.n_conv:
            k = k.reshape(k.shape[:3] + (-1,))[..., arch._window_index[l]]
        n = k[0].size
        features[row:row + n] = k.reshape(R, n).T
        return row + n
    weight, keep, real = _parseval(arch.layer_shapes[l])
    if not keep.all():
        k, weight, real = k[keep], weight[keep], real[keep]
    k = k.reshape((-1,) + k.shape[-3:])             # (bins, C_out, C_in, R)
    weight = weight.reshape(-1, 1, 1, 1).astype(features.dtype)
    n_re, n_im = k.shape[0], int(np.count_nonzero(~real))
    block = k.shape[1] * k.shape[2]
    dest = features[row:row + n_re * block].reshape(k.shape)
    np.multiply(k.real, weight, out=dest)
    row += n_re * block
    dest = features[row:row + n_im * block].reshape((n_im,) + k.shape[1:])
    np.multiply(k.imag[~real.ravel()], weight[~real.ravel()], out=dest)
    return row + n_im * block


def _parseval(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parseval's rule over the ``rfftn`` half spectrum of ``shape``: the weights
    ``sqrt(w_m / D)``, the bins kept and the bins with a real coefficient.

    A bin ``m`` of the half spectrum stands for ``m`` and ``-m``.  If ``-m = m`` (modulo
    the shape) its coefficient is real: weight 1, no imaginary part.  Otherwise weight 2,
    except that ``-m`` may itself be a bin (last index 0 or ``d/2``): then the pair is
    kept once, at the bin of smaller flat index.  The kept bins carry ``D`` real numbers.
    """
    half = np.array(np.meshgrid(*[np.arange(d) for d in shape[:-1]],
                                np.arange(shape[-1] // 2 + 1), indexing="ij"))
    dims = np.array(shape).reshape((-1,) + (1,) * len(shape))
    mirror = (-half) % dims
    real = np.all(mirror == half, axis=0)
    inside = mirror[-1] == half[-1]          # -m is a bin of the half spectrum too
    bins = half.shape[1:]
    mirror[-1] = np.where(inside, mirror[-1], half[-1])     # a valid bin where it matters
    first = np.ravel_multi_index(tuple(half), bins) < np.ravel_multi_index(tuple(mirror), bins)
    keep = ~inside | real | first
    weight = np.sqrt(np.where(real, 1.0, 2.0) / float(np.prod(shape)))
    return weight, keep, real
