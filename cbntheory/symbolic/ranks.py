"""Exact frequency blocks and exact CBN ranks of integer or rational kernels.

For a kernel ``W`` of shape ``(C_out, C_in, *spatial)`` with rational entries, every
block ``What[m] = sum_q W[q] exp(-2 pi i <m, q>/d)`` lies in the cyclotomic field
``Q(zeta_n)``, ``zeta_n = exp(2 pi i / n)``, ``n = d`` (1D) or ``lcm(d1, d2)`` (2D).  Its
rank is a property of the field element matrix, computed here with exact arithmetic:
no floating-point number and no tolerance is involved.  The normalisation constant
``c`` is a non-zero scalar and does not change ranks, so it is left out.

Examples
--------
>>> import numpy as np
>>> exact_cbn_rank(np.array([[[1, -1, 0, 0]]])).tolist()      # a difference kills m = 0
[0, 1, 1, 1]
>>> exact_cbn_rank(np.array([[[1, 0, 1, 0]]])).tolist()       # W = e_0 + e_2 kills m = 1, 3
[1, 0, 1, 0]
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from fractions import Fraction
from typing import Any

import numpy as np

from .. import _validate as V
from . import cyclotomic as Z

_FLOAT_RULE = ("be an integer or an exact rational; floats are accepted only when they are "
               "whole numbers, pass fractions.Fraction(p, q) or sympy.Rational(p, q) for other "
               "values")


def _entry_to_fraction(x: Any, index: tuple) -> Fraction:
    name = "kernel[" + ", ".join(str(i) for i in index) + "]"
    if type(x).__module__.startswith("sympy"):
        import sympy

        if isinstance(x, sympy.Rational):
            return Fraction(int(x.p), int(x.q))
        if not getattr(x, "is_Float", False):
            raise V.fail(name, "be an integer or a rational number (sympy.Rational)", x)
        x = float(x)
    if isinstance(x, (bool, np.bool_)) or isinstance(x, numbers.Integral):
        return Fraction(int(x))
    if isinstance(x, numbers.Rational):
        return Fraction(int(x.numerator), int(x.denominator))
    if isinstance(x, numbers.Real):
        xf = float(x)
        if not math.isfinite(xf):
            raise V.fail(name, "be finite (no NaN or inf)", x)
        if not xf.is_integer():
            raise V.fail(name, _FLOAT_RULE, x)
        return Fraction(int(xf))
    if isinstance(x, numbers.Complex):
        raise V.fail(name, "be real (complex entries are not accepted)", x)
    raise V.fail(name, "be an integer or a rational number", x)


def rational_kernel(kernel: Any) -> np.ndarray:
    """Validate a kernel and return it as an object array of ``fractions.Fraction``.

    Parameters
    ----------
    kernel : array_like, shape (C_out, C_in, d) or (C_out, C_in, d1, d2)
        Integers (Python or numpy), ``fractions.Fraction``, sympy ``Rational`` or floats
        that are whole numbers.

    Returns
    -------
    ndarray of object
        The same shape, every entry a ``Fraction``.

    Raises
    ------
    ValidationError
        Wrong number of axes, empty axes, complex entries, NaN/inf, floats that are not
        whole numbers (pass Fractions instead), or anything else that is not rational.

    Examples
    --------
    >>> from fractions import Fraction
    >>> rational_kernel([[[1, Fraction(1, 2)]]]).tolist()
    [[[Fraction(1, 1), Fraction(1, 2)]]]
    """
    if isinstance(kernel, np.ndarray) and kernel.dtype != object:
        arr = kernel
        if np.iscomplexobj(arr):
            raise V.fail("kernel", "be real (complex entries are not accepted)", arr)
        if np.issubdtype(arr.dtype, np.floating):
            if not np.all(np.isfinite(arr)):
                raise V.fail("kernel", "be finite (no NaN or inf)", arr)
            if not np.all(arr == np.round(arr)):
                raise V.fail("kernel", _FLOAT_RULE, arr)
        elif not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            raise V.fail("kernel", "be a numeric array of integers or rationals", arr)
    else:
        try:
            arr = np.asarray(kernel, dtype=object)
        except ValueError as exc:
            raise V.fail("kernel", "be a regular (non-ragged) nested sequence", kernel) from exc
    if arr.ndim not in (3, 4):
        raise V.fail("kernel", "have shape (C_out, C_in, d) or (C_out, C_in, d1, d2)", arr)
    if arr.size == 0:
        raise V.fail("kernel", "be non-empty (every axis of positive length)", arr)
    out = np.empty(arr.shape, dtype=object)
    if arr.dtype != object:
        flat = [Fraction(int(v)) for v in arr.ravel().tolist()]
        out.ravel()[:] = flat
        return out
    for index in np.ndindex(*arr.shape):
        out[index] = _entry_to_fraction(arr[index], index)
    return out


def integer_kernel(kernel: Any) -> np.ndarray:
    """The kernel times the lcm of its denominators, as an object array of Python ints.

    A non-zero scale does not change any rank.
    """
    frac = rational_kernel(kernel)
    denom = math.lcm(*[v.denominator for v in frac.ravel().tolist()])
    out = np.empty(frac.shape, dtype=object)
    out.ravel()[:] = [int(v * denom) for v in frac.ravel().tolist()]
    return out


@dataclasses.dataclass(frozen=True)
class ExactSpectrum:
    """The exact frequency blocks ``What[m]`` of a rational kernel.

    Attributes
    ----------
    spatial_shape : tuple of int
        ``(d,)`` or ``(d1, d2)``.
    order : int
        ``n``: all blocks lie in ``Q(zeta_n)``, ``zeta_n = exp(2 pi i / n)``.
    coefficients : ndarray of object, shape (*spatial, C_out, C_in, phi(n))
        ``Fraction`` coefficients of every entry on ``1, zeta, ..., zeta^(phi(n)-1)``: the
        unique reduced representation modulo the cyclotomic polynomial ``Phi_n``.
    zeta : sympy.Symbol
        The symbol standing for ``exp(2 pi i / n)`` in :attr:`blocks`.
    blocks : ndarray of object, shape spatial_shape
        ``blocks[m]`` is a sympy ``ImmutableMatrix`` (C_out, C_in) of polynomials in
        ``zeta`` of degree ``< phi(n)`` with rational coefficients (unnormalised DFT,
        i.e. the multiplier for ``normalization="plain"``; multiply by ``1/sqrt(d)`` for
        ``"operator"``).
    """

    spatial_shape: tuple[int, ...]
    order: int
    coefficients: np.ndarray
    zeta: Any
    blocks: np.ndarray

    def to_complex(self) -> np.ndarray:
        """Evaluate every block at ``zeta = exp(2 pi i / n)``: complex (*spatial, C_out, C_in).

        This is the numeric twin of the exact blocks; it agrees with
        ``numpy.fft.fftn(kernel, axes=spatial)`` moved to (*spatial, C_out, C_in).
        """
        phi = self.coefficients.shape[-1]
        powers = np.exp(2j * np.pi * np.arange(phi) / self.order)
        coeffs = np.vectorize(float, otypes=[float])(self.coefficients)
        return coeffs @ powers


def exact_blocks(kernel: Any) -> ExactSpectrum:
    """Exact frequency blocks of an integer or rational kernel in ``Q(zeta_n)``.

    Parameters
    ----------
    kernel : array_like, shape (C_out, C_in, d) or (C_out, C_in, d1, d2)
        Integer or rational entries (see :func:`rational_kernel`).

    Returns
    -------
    ExactSpectrum
        Reduced coefficients and sympy blocks ``What[m]`` for every frequency.

    Raises
    ------
    ValidationError
        As :func:`rational_kernel`.

    Notes
    -----
    ``What[m]_ij = sum_q W_ij[q] zeta_n^e(q)`` with ``e(q) = -sum_a m_a q_a n / d_a mod n``;
    powers are then reduced modulo ``Phi_n`` with :func:`cyclotomic.reduce_powers`.

    Examples
    --------
    >>> import numpy as np
    >>> spec = exact_blocks(np.array([[[1, 2, 0, 0]]]))         # What[m] = 1 + 2 (-i)^m
    >>> spec.blocks[1]
    Matrix([[1 - 2*zeta]])
    >>> bool(np.allclose(spec.to_complex()[..., 0, 0], np.fft.fft([1, 2, 0, 0])))
    True
    """
    import sympy

    frac = rational_kernel(kernel)
    spatial = frac.shape[2:]
    n = math.lcm(*spatial)
    phi = len(Z.cyclotomic_coefficients(n)) - 1
    zeta = sympy.Symbol("zeta")
    coeffs = np.empty(spatial + frac.shape[:2] + (phi,), dtype=object)
    blocks = np.empty(spatial, dtype=object)
    basis = [zeta**j for j in range(phi)]
    for m in np.ndindex(*spatial):
        buckets = Z.bucket_block(frac, m, n)
        for i, j in np.ndindex(*frac.shape[:2]):
            coeffs[m + (i, j)] = Z.reduce_powers(buckets[i, j].tolist(), n)
        entries = [[sum((sympy.Rational(c.numerator, c.denominator) * b
                         for c, b in zip(coeffs[m + (i, j)], basis)), sympy.Integer(0))
                    for j in range(frac.shape[1])] for i in range(frac.shape[0])]
        blocks[m] = sympy.ImmutableMatrix(entries)
    out = np.empty(coeffs.shape, dtype=object)
    out.ravel()[:] = [Fraction(v) for v in coeffs.ravel().tolist()]
    return ExactSpectrum(tuple(spatial), n, out, zeta, blocks)


def exact_cbn_rank(kernel: Any, *, method: str = "modular",
                   symmetry: str = "galois") -> np.ndarray:
    """Exact rank of every frequency block of an integer or rational kernel.

    Parameters
    ----------
    kernel : array_like, shape (C_out, C_in, d) or (C_out, C_in, d1, d2)
        Integers, ``fractions.Fraction``, sympy ``Rational`` or whole-number floats.
    method : {"modular", "field"}
        ``"modular"`` (default, fast): certified multi-modular elimination in residue
        fields of ``Z[zeta]``; ``"field"``: Gaussian elimination in ``Q(zeta)`` with
        sympy's ``DomainMatrix``.  Both are exact and give the same answer.
    symmetry : {"galois", "conjugate", "none"}
        Which frequencies share a computation: ``"galois"`` (default) computes one rank per
        orbit of ``m -> a m`` (``a`` a unit mod ``n``), ``"conjugate"`` one per pair
        ``{m, -m}``, ``"none"`` every frequency.

    Returns
    -------
    ndarray of int64, shape spatial_shape
        ``k_m = rank What[m]`` (the linear CBN rank; its sum is ``R0``).

    Raises
    ------
    ValidationError
        Bad kernel (see :func:`rational_kernel`) or unknown ``method``/``symmetry``.

    Notes
    -----
    The kernel is first scaled to integers.  ``What[m]`` lies in ``Q(zeta_k)`` with ``k``
    the order of the character of ``m``, and the automorphism ``zeta -> zeta^a`` of
    ``Q(zeta_n)`` maps ``What[m]`` to ``What[a m]`` entrywise (the kernel is rational), so
    ranks are constant on Galois orbits; ``a = -1`` is the conjugate symmetry
    ``rank What[-m] = rank What[m]``.  See :func:`cyclotomic.modular_rank` for why the
    modular method is exact.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.zeros((2, 2, 4, 4), dtype=int)
    >>> k[0, 0, 0, 0] = k[1, 1, 0, 0] = 1            # identity at every frequency ...
    >>> k[0, 1, 0, 0] = k[0, 1, 0, 1] = 1           # ... plus a rank-one correction
    >>> ranks = exact_cbn_rank(k)
    >>> ranks.shape, int(ranks.min()), int(ranks.max())
    ((4, 4), 2, 2)
    """
    if method not in ("modular", "field"):
        raise V.fail("method", "be 'modular' or 'field'", method)
    if symmetry not in ("galois", "conjugate", "none"):
        raise V.fail("symmetry", "be 'galois', 'conjugate' or 'none'", symmetry)
    ints = integer_kernel(kernel)
    spatial = ints.shape[2:]
    ranks = np.zeros(spatial, dtype=np.int64)
    for orbit in Z.galois_orbits(spatial, symmetry):
        m = orbit[0]
        order = Z.character_order(m, spatial)
        buckets = Z.bucket_block(ints, m, order)
        if method == "modular":
            rank = Z.modular_rank(buckets, order)
        else:
            reduced = np.empty(buckets.shape[:2] + (len(Z.power_table(order)[0]),), dtype=object)
            for i, j in np.ndindex(*buckets.shape[:2]):
                reduced[i, j] = Z.reduce_powers(buckets[i, j].tolist(), order)
            rank = Z.field_rank(reduced, order)
        for image in orbit:
            ranks[image] = rank
    return ranks

