"""The convolution theorem and Parseval's identity, proved symbolically for small images.

With symbolic real kernel entries ``W[o, i, q]``, signal entries ``z[i, p]`` and
constant ``c``, both sides of

    (W * z)^[m] = c What[m] zhat[m],        (W * z)[p] = c sum_q W[q] z[p - q],
    ||W||_F^2 = (1/d) sum_m ||What[m]||_F^2,

are written out as polynomials in ``zeta = exp(2 pi i / n)`` (``n = d`` or
``lcm(d1, d2)``), and their difference is expanded and reduced modulo the cyclotomic
polynomial ``Phi_n(zeta)``.  The reduced form is unique, so a zero residual is a proof
(for the given sizes) with no numerical evaluation.  Complex conjugation of an element
with real coefficients is ``zeta -> zeta^(-1) = zeta^(n-1)``.

The numeric twins :func:`convolution_sides_numeric` and :func:`parseval_sides_numeric`
compute the same two sides with numpy (explicit circular sums and ``numpy.fft``).

Examples
--------
>>> convolution_theorem((3,)).proved, parseval((2, 2)).proved
(True, True)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from . import cyclotomic as Z
from .proof import SymbolicIdentity


def reduce_cyclotomic(expr: Any, zeta: Any, n: int) -> Any:
    """Expand ``expr`` (polynomial in ``zeta``) and reduce it modulo ``Phi_n(zeta)``.

    Parameters
    ----------
    expr : sympy expression
        Polynomial in ``zeta`` whose coefficients may involve other symbols.
    zeta : sympy.Symbol
        Stands for a primitive ``n``-th root of unity.
    n : int
        Its order.

    Returns
    -------
    sympy expression
        ``sum_{j < phi(n)} a_j zeta^j`` with expanded coefficients ``a_j``; zero iff
        ``expr`` vanishes at ``zeta = exp(2 pi i / n)`` identically in the other symbols.

    Examples
    --------
    >>> import sympy
    >>> zeta = sympy.Symbol("zeta")
    >>> reduce_cyclotomic(1 + zeta + zeta**2 + zeta**3, zeta, 4)
    0
    """
    import sympy

    poly = sympy.Poly(sympy.expand(expr), zeta)
    degree = poly.degree() if not poly.is_zero else 0
    buckets: list[Any] = [0] * (max(degree, 0) + 1)
    for (k,), coeff in poly.terms():
        buckets[k] = coeff
    reduced = Z.reduce_powers(buckets, n)
    return sympy.expand(sum((sympy.expand(a) * zeta**j for j, a in enumerate(reduced)),
                            sympy.Integer(0)))


def _setup(spatial_shape: Sequence[int], channels: Sequence[int]) -> tuple:
    shape = V.spatial_shape("spatial_shape", spatial_shape)
    if len(channels) != 2:
        raise V.fail("channels", "be a pair (C_out, C_in)", channels)
    c_out = V.positive_int("channels[0]", channels[0])
    c_in = V.positive_int("channels[1]", channels[1])
    return shape, c_out, c_in, math.lcm(*shape)


def _symbol_array(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    import sympy

    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sympy.Symbol(prefix + "_" + "_".join(str(i) for i in idx), real=True)
    return out


def kernel_symbols(spatial_shape: Sequence[int], channels: Sequence[int] = (1, 1)) -> np.ndarray:
    """Real symbols ``W_o_i_q...`` in an object array (C_out, C_in, *spatial)."""
    shape, c_out, c_in, _ = _setup(spatial_shape, channels)
    return _symbol_array("W", (c_out, c_in) + shape)


def signal_symbols(spatial_shape: Sequence[int], channels: int = 1) -> np.ndarray:
    """Real symbols ``z_i_p...`` in an object array (C_in, *spatial)."""
    shape = V.spatial_shape("spatial_shape", spatial_shape)
    return _symbol_array("z", (V.positive_int("channels", channels),) + shape)


def _dft(entries: np.ndarray, m: tuple, shape: tuple, n: int, zeta: Any, sign: int = 1) -> Any:
    """``sum_q entries[q] zeta^(sign * e(m, q))`` for a spatial object array."""
    e = Z.exponents(m, shape, n)
    return sum((entries[q] * zeta ** int((sign * e[q]) % n) for q in np.ndindex(*shape)), 0)


def convolution_theorem(spatial_shape: Sequence[int] = (4,),
                        channels: Sequence[int] = (1, 1)) -> SymbolicIdentity:
    """Prove ``(W * z)^[m] = c What[m] zhat[m]`` for all frequencies of a small image.

    Parameters
    ----------
    spatial_shape : tuple of int
        ``(d,)`` or ``(d1, d2)``; keep it small (``d <= 8``, ``d1 d2 <= 16``), the
        expressions grow like ``d^2 C_out C_in``.
    channels : (int, int)
        ``(C_out, C_in)``.

    Returns
    -------
    SymbolicIdentity
        ``lhs``, ``rhs`` of shape (d, C_out) (row = frequency in C order), reduced
        ``residual``; ``proved`` is True when the residual is exactly zero.  Variables:
        kernel symbols, signal symbols, then ``c``.

    Notes
    -----
    ``lhs[m, o] = sum_p zeta^e(m,p) c sum_q sum_i W[o,i,q] z[i, p - q]`` and
    ``rhs[m, o] = c sum_i (sum_q W[o,i,q] zeta^e(m,q)) (sum_p z[i,p] zeta^e(m,p))`` with
    ``e(m, p) = -<m, p> n / d mod n``.  Substituting ``p = q + r`` turns one into the other
    because ``zeta^e`` is a character of the group; the reduction checks exactly that.

    Examples
    --------
    >>> ident = convolution_theorem((2, 2), channels=(1, 2))
    >>> ident.lhs.shape, ident.proved
    ((4, 1), True)
    """
    import sympy

    shape, c_out, c_in, n = _setup(spatial_shape, channels)
    zeta = sympy.Symbol("zeta")
    c = sympy.Symbol("c", positive=True)
    w = kernel_symbols(shape, (c_out, c_in))
    z = signal_symbols(shape, c_in)
    conv = np.empty((c_out,) + shape, dtype=object)
    for o in range(c_out):
        for p in np.ndindex(*shape):
            conv[(o,) + p] = c * sum(
                (w[(o, i) + q] * z[(i,) + tuple((pa - qa) % da for pa, qa, da in zip(p, q, shape))]
                 for i in range(c_in) for q in np.ndindex(*shape)), 0)
    lhs, rhs, res = [], [], []
    for m in np.ndindex(*shape):
        zhat = [_dft(z[i], m, shape, n, zeta) for i in range(c_in)]
        row_l = [_dft(conv[o], m, shape, n, zeta) for o in range(c_out)]
        row_r = [c * sum((_dft(w[o, i], m, shape, n, zeta) * zhat[i] for i in range(c_in)), 0)
                 for o in range(c_out)]
        lhs.append(row_l)
        rhs.append(row_r)
        res.append([reduce_cyclotomic(a - b, zeta, n) for a, b in zip(row_l, row_r)])
    variables = tuple(w.ravel().tolist()) + tuple(z.ravel().tolist()) + (c,)
    return SymbolicIdentity("convolution theorem", sympy.ImmutableMatrix(lhs),
                            sympy.ImmutableMatrix(rhs), sympy.ImmutableMatrix(res), zeta, n,
                            variables)


def parseval(spatial_shape: Sequence[int] = (4,),
             channels: Sequence[int] = (1, 1)) -> SymbolicIdentity:
    """Prove ``||W||_F^2 = (1/d) sum_m ||What[m]||_F^2`` for a small real kernel.

    Parameters
    ----------
    spatial_shape : tuple of int
        ``(d,)`` or ``(d1, d2)``, small.
    channels : (int, int)
        ``(C_out, C_in)``.

    Returns
    -------
    SymbolicIdentity
        1 x 1 sides; variables are the kernel symbols.

    Notes
    -----
    ``|What[m]_oi|^2 = What[m]_oi * conj(What[m]_oi)`` where the conjugate of
    ``sum_q W[q] zeta^e(m,q)`` is ``sum_q W[q] zeta^(-e(m,q))`` (``W`` real).  After
    reduction modulo ``Phi_n`` the sum over ``m`` of the cross terms ``zeta^(e(m,q)-e(m,q'))``
    vanishes for ``q != q'`` (a full character sum), leaving ``d sum_q W[q]^2``.

    Examples
    --------
    >>> parseval((5,), channels=(2, 1)).proved
    True
    """
    import sympy

    shape, c_out, c_in, n = _setup(spatial_shape, channels)
    zeta = sympy.Symbol("zeta")
    w = kernel_symbols(shape, (c_out, c_in))
    d = int(np.prod(shape))
    lhs = sum((v**2 for v in w.ravel().tolist()), sympy.Integer(0))
    energy = 0
    for m in np.ndindex(*shape):
        for o in range(c_out):
            for i in range(c_in):
                energy += _dft(w[o, i], m, shape, n, zeta) * _dft(w[o, i], m, shape, n, zeta, -1)
    rhs = sympy.Rational(1, d) * energy
    residual = reduce_cyclotomic(lhs - rhs, zeta, n)
    return SymbolicIdentity("Parseval", sympy.ImmutableMatrix([[lhs]]),
                            sympy.ImmutableMatrix([[rhs]]), sympy.ImmutableMatrix([[residual]]),
                            zeta, n, tuple(w.ravel().tolist()))


def convolution_sides_numeric(kernel: np.ndarray, signal: np.ndarray,
                              c: float) -> tuple[np.ndarray, np.ndarray]:
    """Numeric twin of :func:`convolution_theorem`: both sides at given numbers.

    Parameters
    ----------
    kernel : ndarray, shape (C_out, C_in, *spatial)
    signal : ndarray, shape (C_in, *spatial)
    c : float
        Normalisation constant.

    Returns
    -------
    lhs, rhs : ndarray of complex, shape (d, C_out)
        ``fftn`` of the circular convolution summed explicitly over ``q``, and
        ``c What[m] zhat[m]`` from ``numpy.fft``; rows are frequencies in C order.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lhs, rhs = convolution_sides_numeric(rng.normal(size=(2, 1, 5)),
    ...                                      rng.normal(size=(1, 5)), 0.5)
    >>> bool(np.allclose(lhs, rhs))
    True
    """
    kernel = np.asarray(kernel, dtype=float)
    signal = np.asarray(signal, dtype=float)
    shape = kernel.shape[2:]
    axes = tuple(range(1, 1 + len(shape)))
    conv = np.zeros((kernel.shape[0],) + shape)
    for q in np.ndindex(*shape):
        shifted = np.roll(signal, q, axis=axes)           # shifted[i, p] = z[i, p - q]
        conv += c * np.einsum("oi,i...->o...", kernel[(slice(None), slice(None)) + q], shifted)
    lhs = np.fft.fftn(conv, axes=axes)
    what = np.fft.fftn(kernel, axes=tuple(range(2, 2 + len(shape))))
    zhat = np.fft.fftn(signal, axes=axes)
    rhs = c * np.einsum("oi...,i...->o...", what, zhat)
    return lhs.reshape(lhs.shape[0], -1).T, rhs.reshape(rhs.shape[0], -1).T


def parseval_sides_numeric(kernel: np.ndarray) -> tuple[float, float]:
    """Numeric twin of :func:`parseval`: ``(||W||_F^2, (1/d) sum_m ||What[m]||_F^2)``.

    Examples
    --------
    >>> a, b = parseval_sides_numeric(np.arange(8.0).reshape(1, 2, 2, 2))
    >>> bool(np.isclose(a, b))
    True
    """
    kernel = np.asarray(kernel, dtype=float)
    spatial = kernel.shape[2:]
    what = np.fft.fftn(kernel, axes=tuple(range(2, 2 + len(spatial))))
    return float(np.sum(kernel**2)), float(np.sum(np.abs(what) ** 2) / np.prod(spatial))
