"""Exact arithmetic in the cyclotomic field ``Q(zeta_n)`` and its residue fields.

A frequency block of an integer kernel has entries ``sum_e b[e] zeta^e`` in the ring
of cyclotomic integers ``Z[zeta_n]``.  This module holds the pieces every exact
computation on such blocks needs:

* the cyclotomic polynomial ``Phi_n`` and the reduction of ``zeta^k`` modulo it (the
  unique representation on the basis ``1, zeta, ..., zeta^(phi(n)-1)``, so that an
  element is zero exactly when all its reduced coefficients are zero);
* the order of the character ``q -> exp(-2 pi i <m, q>/d)`` of a frequency (the smallest
  field holding the block) and the Galois orbits of frequencies (``zeta -> zeta^a``
  maps the block at ``m`` to the block at ``a m``, so ranks are constant on orbits);
* ranks of matrices over ``Q(zeta_n)``: by Gaussian elimination in the field (sympy's
  ``DomainMatrix`` over ``QQ.cyclotomic_field``), or by a certified multi-modular
  computation in the residue fields ``Z[zeta_n] / P = F_p`` (see :func:`modular_rank`).

sympy is imported inside the functions that need it, so importing this module is cheap.

Examples
--------
>>> cyclotomic_coefficients(8)          # Phi_8 = x^4 + 1, lowest degree first
(1, 0, 0, 0, 1)
>>> reduce_powers([0, 0, 0, 0, 0, 1, 0, 0], 8)   # zeta^5 = -zeta on Q(zeta_8)
[0, -1, 0, 0]
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence

import numpy as np

from ..errors import ModularArithmeticError, ValidationError


@functools.cache
def cyclotomic_coefficients(n: int) -> tuple[int, ...]:
    """Integer coefficients of the ``n``-th cyclotomic polynomial, lowest degree first.

    Parameters
    ----------
    n : int
        Order ``n >= 1`` of the roots of unity.

    Returns
    -------
    tuple of int
        ``phi(n) + 1`` coefficients of the monic polynomial ``Phi_n``.

    Examples
    --------
    >>> cyclotomic_coefficients(6)      # x^2 - x + 1
    (1, -1, 1)
    """
    import sympy

    x = sympy.Symbol("x")
    coeffs = sympy.Poly(sympy.cyclotomic_poly(int(n), x), x).all_coeffs()
    return tuple(int(c) for c in reversed(coeffs))


@functools.cache
def power_table(n: int) -> tuple[tuple[int, ...], ...]:
    """Coefficients of ``zeta^k mod Phi_n`` on ``1, zeta, ..., zeta^(phi-1)`` for ``k < n``.

    Row ``k`` is obtained from row ``k - 1`` by multiplying by ``zeta`` and replacing
    ``zeta^phi`` by ``-(c_0 + c_1 zeta + ... + c_{phi-1} zeta^(phi-1))`` (``Phi_n`` is monic
    with integer coefficients, so every entry is an integer).

    Examples
    --------
    >>> power_table(4)          # Phi_4 = x^2 + 1: 1, zeta, -1, -zeta
    ((1, 0), (0, 1), (-1, 0), (0, -1))
    """
    phi = cyclotomic_coefficients(n)
    deg = len(phi) - 1
    current = [1] + [0] * (deg - 1)
    rows = []
    for _ in range(n):
        rows.append(tuple(current))
        top = current[-1]
        shifted = [0] + current[:-1]
        current = [shifted[j] - top * phi[j] for j in range(deg)]
    return tuple(rows)


def reduce_powers(buckets: Sequence, n: int) -> list:
    """Reduce ``sum_k buckets[k] zeta^k`` (any ``k >= 0``) to the basis of ``Q(zeta_n)``.

    Parameters
    ----------
    buckets : sequence
        Coefficients (ints, Fractions or sympy expressions) of ``zeta^0, zeta^1, ...``;
        exponents are first taken modulo ``n`` (``zeta^n = 1``).
    n : int
        Order of ``zeta``.

    Returns
    -------
    list
        ``phi(n)`` coefficients on ``1, zeta, ..., zeta^(phi(n)-1)``; the element is zero
        if and only if every coefficient is zero (``Phi_n`` is the minimal polynomial).
    """
    table = power_table(n)
    out = [0] * len(table[0])
    for k, b in enumerate(buckets):
        if b == 0:
            continue
        for j, t in enumerate(table[k % n]):
            if t:
                out[j] = out[j] + t * b
    return out


def character_order(m: Sequence[int], spatial_shape: Sequence[int]) -> int:
    """Order of the character ``q -> exp(-2 pi i <m, q> / d)``: ``lcm_i d_i / gcd(m_i, d_i)``.

    The block ``What[m]`` of a rational kernel lies in ``Q(zeta_k)`` with ``k`` this order.

    Examples
    --------
    >>> character_order((2,), (8,)), character_order((0, 3), (4, 6))
    (4, 2)
    """
    order = 1
    for mi, di in zip(m, spatial_shape):
        order = math.lcm(order, di // math.gcd(int(mi), di))
    return order


def galois_orbits(spatial_shape: Sequence[int], symmetry: str = "galois") -> list[list[tuple]]:
    """Partition the frequencies into orbits on which exact ranks are constant.

    ``symmetry="galois"`` uses every automorphism ``zeta -> zeta^a`` (``a`` a unit modulo
    ``lcm(d_i)``), which maps ``What[m]`` to ``What[a m]``; ``"conjugate"`` only uses
    ``a = -1`` (complex conjugation, ``m -> -m``); ``"none"`` gives singletons.

    Returns
    -------
    list of list of tuple
        Orbits of frequency index tuples, each led by its first member in C order.

    Examples
    --------
    >>> [len(o) for o in galois_orbits((8,))]       # gcd(m, 8) = 8, 1, 2, 4
    [1, 4, 2, 1]
    >>> len(galois_orbits((8,), "conjugate"))
    5
    """
    shape = tuple(int(d) for d in spatial_shape)
    n = math.lcm(*shape)
    if symmetry == "galois":
        units = [a for a in range(1, n + 1) if math.gcd(a, n) == 1]
    elif symmetry == "conjugate":
        units = [1, -1]
    elif symmetry == "none":
        units = [1]
    else:
        raise ValidationError(f"symmetry must be 'galois', 'conjugate' or 'none'; got {symmetry!r}")
    seen: set[tuple] = set()
    orbits = []
    for m in np.ndindex(*shape):
        if m in seen:
            continue
        orbit = []
        for a in units:
            image = tuple((a * mi) % di for mi, di in zip(m, shape))
            if image not in seen:
                seen.add(image)
                orbit.append(image)
        orbits.append(orbit)
    return orbits


def exponents(m: Sequence[int], spatial_shape: Sequence[int], order: int) -> np.ndarray:
    """Exponent ``e(q)`` with ``exp(-2 pi i <m, q>/d) = zeta_order^e(q)``, spatial shape."""
    grids = np.meshgrid(*[np.arange(d) for d in spatial_shape], indexing="ij")
    total = np.zeros(tuple(spatial_shape), dtype=np.int64)
    for mi, di, q in zip(m, spatial_shape, grids):
        total += (int(mi) * order // di) * q   # integer: order is a multiple of d/gcd(m, d)
    return (-total) % order


def bucket_block(kernel: np.ndarray, m: Sequence[int], order: int) -> np.ndarray:
    """Coefficients ``b[i, j, e]`` with ``What[m]_ij = sum_e b[i, j, e] zeta_order^e``.

    ``kernel`` is an object array ``(C_out, C_in, *spatial)`` of exact numbers (Python
    ints or Fractions); the result is an object array ``(C_out, C_in, order)``.
    """
    spatial = kernel.shape[2:]
    e = exponents(m, spatial, order).ravel()
    flat = kernel.reshape(kernel.shape[0], kernel.shape[1], -1)
    out = np.zeros(kernel.shape[:2] + (order,), dtype=object)
    for k in np.unique(e).tolist():
        out[:, :, k] = flat[:, :, e == k].sum(axis=-1)
    return out


def _primes_one_mod(n: int) -> Iterator[int]:
    """Primes ``p = 1 (mod n)`` below ``2**62``, largest first."""
    from sympy import isprime

    k = (2**62 - 1) // n
    while k > 0:
        p = k * n + 1
        if p > 2 and isprime(p):
            yield p
        k -= 1


def _primitive_root_of_unity(n: int, p: int) -> int:
    """An element of multiplicative order exactly ``n`` in ``F_p`` (requires ``n | p - 1``)."""
    from sympy import primefactors

    factors = primefactors(n)
    for x in range(2, p):
        r = pow(x, (p - 1) // n, p)
        if all(pow(r, n // f, p) != 1 for f in factors):
            return r
    raise ModularArithmeticError(  # pragma: no cover
        f"no primitive {n}-th root of unity modulo {p}")


def rank_mod_p(rows: list[list[int]], p: int) -> int:
    """Rank of an integer matrix over ``F_p`` by Gaussian elimination (exact)."""
    mat = [[v % p for v in row] for row in rows]
    nrows = len(mat)
    ncols = len(mat[0]) if nrows else 0
    rank = 0
    for col in range(ncols):
        pivot = next((i for i in range(rank, nrows) if mat[i][col]), None)
        if pivot is None:
            continue
        mat[rank], mat[pivot] = mat[pivot], mat[rank]
        inv = pow(mat[rank][col], -1, p)
        prow = [(v * inv) % p for v in mat[rank]]
        mat[rank] = prow
        for i in range(rank + 1, nrows):
            f = mat[i][col]
            if f:
                mat[i] = [(a - f * b) % p for a, b in zip(mat[i], prow)]
        rank += 1
        if rank == nrows:
            break
    return rank


def _minor_bound_squared(buckets: np.ndarray, k: int) -> int:
    """Integer ``B_k >= |sigma(minor)|^2`` for every ``k x k`` minor and every embedding.

    Each entry satisfies ``|sigma(a_ij)| <= sum_e |b_ij[e]|``; Hadamard's inequality bounds
    a minor by the product of its row (or column) norms, and rows with a non-zero entry have
    squared norm >= 1, so the ``k`` largest squared row norms bound every ``k``-row subset.
    """
    absum = np.vectorize(lambda v: abs(v), otypes=[object])(buckets).sum(axis=-1)
    sq = absum * absum
    bounds = []
    for norms in (sq.sum(axis=1).tolist(), sq.sum(axis=0).tolist()):
        top = sorted((max(1, int(v)) for v in norms), reverse=True)[:k]
        bounds.append(math.prod(top))
    return min(bounds)


def modular_rank(buckets: np.ndarray, order: int) -> int:
    """Exact rank over ``Q(zeta_order)`` of the matrix ``A_ij = sum_e b[i, j, e] zeta^e``.

    Parameters
    ----------
    buckets : ndarray of object, shape (C_out, C_in, order)
        Python-int coefficients of the entries on the powers of ``zeta``.
    order : int
        Order of ``zeta``.

    Returns
    -------
    int
        The rank, certified (no probability of error).

    Notes
    -----
    For a prime ``p = 1 (mod order)`` and ``r`` of order ``order`` in ``F_p``, the map
    ``zeta -> r`` is a ring morphism ``Z[zeta] -> F_p`` whose kernel is a prime ideal
    ``P`` of norm ``p``.  Minors map to minors, so ``rank_p(A) <= rank(A)``.  A non-zero
    ``k x k`` minor ``mu`` lying in ``P`` for distinct primes ``p_1, ..., p_t`` has
    ``p_1 ... p_t | N(mu)``, a non-zero integer with ``|N(mu)| <= B_k^(phi/2)`` where
    ``B_k`` bounds ``|sigma(mu)|^2`` (Hadamard) and ``phi = phi(order)``.  Hence, with
    ``r_max`` the largest modular rank seen, once ``(p_1 ... p_t)^2 > B_{r_max+1}^phi`` no
    ``(r_max+1)``-minor can be non-zero and ``rank(A) = r_max``.

    Examples
    --------
    >>> b = np.zeros((2, 2, 4), dtype=object)
    >>> b[0, 0, 0] = b[0, 1, 1] = 1          # row 0 = (1, zeta), row 1 = zeta * row 0
    >>> b[1, 0, 1] = b[1, 1, 2] = 1
    >>> modular_rank(b, 4)
    1
    """
    c_out, c_in = buckets.shape[:2]
    full = min(c_out, c_in)
    if all(v == 0 for v in buckets.ravel().tolist()):
        return 0
    phi = len(cyclotomic_coefficients(order)) - 1
    best, product = 0, 1
    rows = buckets.tolist()
    for p in _primes_one_mod(order):
        r = _primitive_root_of_unity(order, p)
        powers = [pow(r, e, p) for e in range(order)]
        image = [[sum(b * w for b, w in zip(entry, powers)) % p for entry in row] for row in rows]
        best = max(best, rank_mod_p(image, p))
        product *= p
        if best == full or product * product > _minor_bound_squared(buckets, best + 1) ** phi:
            return best
    raise ModularArithmeticError("ran out of primes")  # pragma: no cover


def field_rank(coefficients: np.ndarray, order: int) -> int:
    """Rank over ``Q(zeta_order)`` by Gaussian elimination in the field (sympy).

    Parameters
    ----------
    coefficients : ndarray of object, shape (C_out, C_in, phi(order))
        Reduced rational coefficients of the entries on ``1, zeta, ..., zeta^(phi-1)``.
    order : int
        Order of ``zeta``.

    Returns
    -------
    int
        The rank; zero-testing is exact because reduced representations are unique.

    Examples
    --------
    >>> c = np.array([[[1, 0], [0, 1]], [[0, 1], [-1, 0]]], dtype=object)  # (1, i; i, -1)
    >>> field_rank(c, 4)
    1
    """
    from sympy.polys.domains import QQ
    from sympy.polys.matrices import DomainMatrix

    c_out, c_in = coefficients.shape[:2]
    if order <= 2:
        dom = QQ
        rows = [[QQ(int(e[0].numerator), int(e[0].denominator)) if hasattr(e[0], "denominator")
                 else QQ(int(e[0])) for e in row] for row in coefficients.tolist()]
    else:
        dom = QQ.cyclotomic_field(order)

        def element(coeffs: list) -> object:
            rep = [QQ(int(getattr(c, "numerator", c)), int(getattr(c, "denominator", 1)))
                   for c in reversed(coeffs)]
            return dom.new(rep)

        rows = [[element(list(e)) for e in row] for row in coefficients.tolist()]
    return int(DomainMatrix(rows, (c_out, c_in), dom).rank())
