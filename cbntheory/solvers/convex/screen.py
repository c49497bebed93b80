"""Private: certified cone-support bounds for every activation pattern at once.

The dual certificate of the convex two-layer program needs, for every pattern ``D`` of
the arrangement and every direction ``g`` (one per output and sign), an upper bound on

    sigma_D(g) = max{<g, u> : u in K_D, ||u_w|| <= 1},   K_D = {u : s_D * (N u) >= 0},

where ``N`` holds the unit normals of the hyperplanes and ``s_D`` the signs of the
pattern.  By Lagrangian duality every ``mu >= 0`` whose residual ``v = g + N^T (s_D mu)``
has a zero free coordinate (the unpenalised hidden bias, if any) gives
``sigma_D(g) <= ||v_w||``: the bound is certified whatever ``mu`` is, so ``mu`` may come
from a cheap method.  :func:`cone_support_bounds` runs accelerated projected gradient
(FISTA) on ``0.5 ||v||^2`` for all patterns and directions as one array computation,
instead of one NNLS call per pattern and direction in a Python loop; the caller refines
the few patterns that decide the certificate with the exact NNLS of
:func:`cbntheory.backends.optimize.cone_support_bound`.

Examples
--------
The closed positive quadrant of the plane (normals ``e_1, e_2``, signs ``+, +``): the
support of ``g = (1, -1)`` is 1, and of ``(-1, -1)`` it is 0.

>>> import numpy as np
>>> ub = cone_support_bounds(np.array([[[1.0, -1.0], [-1.0, -1.0]]]), np.ones((1, 2)),
...                          np.eye(2), None)
>>> bool(abs(ub[0, 0] - 1.0) < 1e-9 and abs(ub[0, 1]) < 1e-9)
True
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ... import settings


def cone_support_bounds(G: np.ndarray, signs: np.ndarray, normals: np.ndarray,
                        free: int | None, *, threshold: float | None = None,
                        iterations: int | None = None,
                        warm: np.ndarray | None = None,
                        walls: np.ndarray | None = None) -> np.ndarray:
    """Certified upper bounds on ``sigma_D(g)`` for every pattern ``D`` and direction ``g``.

    Parameters
    ----------
    G : ndarray, shape (P, k, r)
        ``k`` directions per pattern.
    signs : ndarray, shape (P, M)
        Sign vectors of the patterns (``+-1``).
    normals : ndarray, shape (M, r)
        Normals of the hyperplanes (shared by all patterns).
    free : int, optional
        Coordinate left out of the norm, whose residual must vanish (None: none).
    threshold : float, optional
        A direction whose bound falls to this or below is not improved further (the
        caller needs no accuracy there); None: every direction gets every iteration.
    iterations : int, optional
        FISTA iterations at most (default :data:`cbntheory.settings.SCREEN_ITERATIONS`),
        in blocks of :data:`cbntheory.settings.SCREEN_BLOCK` between bound evaluations.
    warm : ndarray, shape (P k, M), optional
        Multipliers to start from (one row per pattern and direction, of the signs of
        ``signs``), overwritten with the multipliers reached: the state a later call
        with other directions ``G`` for the same patterns starts from.  Any multipliers
        of the right sign certify, so a warm start changes only how soon a bound
        settles; the bound at zero multipliers is always taken too.
    walls : ndarray of bool, shape (P, M), optional
        The hyperplanes that bound each cone (its facets; extra rows are harmless).  With
        no free coordinate and ``r <= SCREEN_WALLS_MAX_DIM`` the bounds are then
        :func:`wall_support_bounds`, exact, and no FISTA runs (``warm`` is left as is).

    Returns
    -------
    ndarray, shape (P, k)
        Upper bounds (``inf`` where the free coordinate could not be zeroed).
    """
    if exact_with_walls(G.shape[2], free, walls):
        assert walls is not None
        return wall_support_bounds(G, signs, normals, walls)
    iterations = settings.SCREEN_ITERATIONS if iterations is None else int(iterations)
    P, k, r = G.shape
    M = normals.shape[0]
    g = np.asarray(G, dtype=float).reshape(P * k, r)
    s = np.repeat(np.asarray(signs, dtype=float), k, axis=0)     # (P k, M)
    weight = np.ones(r)
    if free is not None:
        weight[free] = settings.SCREEN_FREE_WEIGHT
    # Lipschitz constant of the gradient of 0.5 ||weight * v||^2 in nu (|s| = 1 drops out)
    lip = float(np.linalg.norm(normals * weight, ord=2) ** 2) or 1.0
    out = np.empty(P * k)
    # rows per chunk: the free coordinate's repair holds an (rows, M, r) temporary
    step = max(1, settings.SCREEN_CHUNK_ELEMENTS // max(1, M * (r if free is not None else 1)))
    for lo in range(0, P * k, step):
        sl = slice(lo, lo + step)
        out[sl] = _screen_chunk(g[sl], s[sl], normals, weight ** 2, 1.0 / lip, free,
                                threshold, iterations, None if warm is None else warm[sl])
    return out.reshape(P, k)


def exact_with_walls(r: int, free: int | None, walls: np.ndarray | None) -> bool:
    """Whether :func:`cone_support_bounds` is exact (:func:`wall_support_bounds`).

    True with the cones' ``walls`` given, no free coordinate and weight dimension ``r``
    at most :data:`cbntheory.settings.SCREEN_WALLS_MAX_DIM`.
    """
    return walls is not None and free is None and r <= settings.SCREEN_WALLS_MAX_DIM


def wall_support_bounds(G: np.ndarray, signs: np.ndarray, normals: np.ndarray,
                        walls: np.ndarray) -> np.ndarray:
    """Certified bounds on ``sigma_D(g)`` from multipliers on at most ``r`` walls, exact.

    For every pattern ``D``, direction ``g`` and set ``A`` of at most ``r`` of the walls
    of ``K_D``, the multipliers ``nu_A`` of the least-squares fit of ``g`` by the normals
    of ``A`` (``v = g + N_A^T nu_A`` orthogonal to them; entries of the wrong sign set to
    zero) give ``sigma_D(g) <= ||v||`` (weak duality, whatever ``A``).  The projection of
    ``g`` onto ``K_D`` has KKT multipliers on a set of independent walls, which is one
    of the sets tried, so the minimum over them is ``sigma_D(g)`` itself (up to
    round-off).  No free coordinate (the caller keeps the FISTA screen for that case).

    Parameters
    ----------
    G : ndarray, shape (P, k, r)
        ``k`` directions per pattern.
    signs : ndarray, shape (P, M)
        Sign vectors of the patterns (``+-1``).
    normals : ndarray, shape (M, r)
        Normals of the hyperplanes.
    walls : ndarray of bool, shape (P, M)
        The hyperplanes tried as walls of each cone (missing facets only loosen a bound).

    Returns
    -------
    ndarray, shape (P, k)
        Upper bounds, equal to the support function when ``walls`` holds every facet.

    Examples
    --------
    The positive quadrant of the plane, both walls: ``g = (1, -1)`` has support 1,
    ``(-1, -1)`` (in the polar cone) support 0.

    >>> ub = wall_support_bounds(np.array([[[1.0, -1.0], [-1.0, -1.0]]]), np.ones((1, 2)),
    ...                          np.eye(2), np.ones((1, 2), dtype=bool))
    >>> bool(abs(ub[0, 0] - 1.0) < 1e-12 and abs(ub[0, 1]) < 1e-12)
    True
    """
    G = np.asarray(G, dtype=float)
    P, k, r = G.shape
    S = np.asarray(signs, dtype=float)
    walls = np.asarray(walls, dtype=bool)
    out = np.linalg.norm(G, axis=-1)                            # nu = 0
    count = walls.sum(axis=1)
    for f in np.unique(count[count > 0]):
        group = np.flatnonzero(count == f)
        idx = np.nonzero(walls[group])[1].reshape(len(group), f)  # each cone's walls
        for size in range(1, min(int(f), r) + 1):
            combos = np.array(list(itertools.combinations(range(int(f)), size)))
            # rows per chunk: the (rows, k, subsets, r) temporaries stay bounded
            step = max(1, settings.SCREEN_CHUNK_ELEMENTS // (k * len(combos) * r * size))
            for lo in range(0, len(group), step):
                rows = group[lo:lo + step]
                J = idx[lo:lo + step][:, combos]                 # (n, C, size)
                s = np.take_along_axis(S[rows], J.reshape(len(rows), -1), axis=1)
                best = _subset_bounds(G[rows], normals[J], s.reshape(J.shape))
                out[rows] = np.minimum(out[rows], best)
    return out


def _subset_bounds(g: np.ndarray, H: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``min_A ||g + H_A^T nu_A||`` over the wall sets ``A`` of each row (see above).

    ``g`` ``(n, k, r)``, normals ``H`` ``(n, C, size, r)`` and signs ``s`` ``(n, C,
    size)`` of ``C`` sets per row; returns ``(n, k)``.
    """
    gram = H @ H.swapaxes(-1, -2)                                # (n, C, size, size)
    det = np.linalg.det(gram)
    scale = np.prod(np.einsum("ncsr,ncsr->ncs", H, H), axis=-1)
    ok = det > 1e-12 * scale                                     # independent normals only
    gram = np.where(ok[..., None, None], gram, np.eye(H.shape[2]))
    rhs = np.einsum("ncsr,nkr->nkcs", H, g)                      # (n, k, C, size)
    coef = np.linalg.solve(gram[:, None], rhs[..., None])[..., 0]
    nu = np.where((s[:, None] * coef <= 0) & ok[:, None, :, None], -coef, 0.0)
    v = g[:, :, None, :] + np.einsum("nkcs,ncsr->nkcr", nu, H)
    return np.linalg.norm(v, axis=-1).min(axis=2)


def _screen_chunk(g: np.ndarray, s: np.ndarray, normals: np.ndarray, w2: np.ndarray,
                  step: float, free: int | None, threshold: float | None,
                  iterations: int, warm: np.ndarray | None = None) -> np.ndarray:
    """Bounds of one chunk of directions: FISTA blocks, dropping the settled directions."""
    n = g.shape[0]
    bound = _bound(g, np.zeros_like(s), s, normals, free)   # mu = 0
    # the iterations run in SCREEN_DTYPE: any multipliers of the right sign certify, and
    # _bound evaluates the ones reached in float64
    dt = np.dtype(settings.SCREEN_DTYPE)
    if warm is not None:  # the multipliers of an earlier call, for other directions
        bound = np.minimum(bound, _bound(g, warm.astype(float), s, normals, free))
    live = np.arange(n) if threshold is None else np.flatnonzero(bound > threshold)
    g_lo, s_lo, normals_lo = g.astype(dt), s.astype(dt), normals.astype(dt)
    wn = (normals * w2).T.astype(dt)                         # (r, M): gradient = v diag(w2) N^T
    start = (np.zeros((len(live), s.shape[1]), dt) if warm is None
             else warm[live].astype(dt))
    state = (start, start.copy(), np.ones(len(live), dt))
    done = 0
    while done < iterations and len(live):
        block = min(settings.SCREEN_BLOCK, iterations - done)
        state = _fista(g_lo[live], s_lo[live], normals_lo, wn, dt.type(step), block, state)
        done += block
        bound[live] = np.minimum(bound[live], _bound(g[live], state[0], s[live], normals, free))
        if warm is not None:
            warm[live] = state[0]
        if threshold is not None:
            keep = bound[live] > threshold
            live = live[keep]
            state = (state[0][keep], state[1][keep], state[2][keep])
    return bound


def _fista(g: np.ndarray, s: np.ndarray, normals: np.ndarray, wn: np.ndarray, step: Any,
           iterations: int, state: tuple[np.ndarray, np.ndarray, np.ndarray]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FISTA on ``0.5 ||w (g + N^T nu)||^2`` over ``s nu >= 0`` (``nu = s mu``, ``mu >= 0``).

    ``state`` is ``(nu, y, t)``: the iterate, the extrapolated point and the momentum
    counter of every direction (rows of the flattened ``(n, M)`` arrays, so that every
    product is one 2D matmul); ``wn`` is ``(normals * w2).T``, the gradient's right factor.
    Every array has the dtype of the state.
    """
    nu, y, t = state
    for _ in range(iterations):
        new = y - step * ((g + y @ normals) @ wn)
        new *= s
        np.maximum(new, 0.0, out=new)
        new *= s                                 # project: s * nu >= 0
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = new + ((t - 1.0) / t_next)[:, None] * (new - nu)
        nu, t = new, t_next
    return nu, y, t


def _bound(g: np.ndarray, nu: np.ndarray, s: np.ndarray, normals: np.ndarray,
           free: int | None) -> np.ndarray:
    """``||v_w||`` of the multipliers, after zeroing the free coordinate by one multiplier.

    Rows: directions ``g`` ``(n, r)``, multipliers ``nu`` and signs ``s`` ``(n, M)``.
    """
    v = g + nu @ normals
    if free is None:
        return np.linalg.norm(v, axis=-1)
    rows = np.ones(normals.shape[1], dtype=bool)
    rows[free] = False
    resid = v[:, free]
    col = s * normals[:, free]                                    # B[free, j] per row
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(col == 0, 0.0, -resid[:, None] / np.where(col == 0, 1.0, col))
    # the norm left after zeroing the free entry with column j alone (mu_j += ratio_j >= 0)
    moved = v[:, None, rows] + (ratio * s)[..., None] * normals[None, :, rows]
    left = np.where(ratio > 0, np.linalg.norm(moved, axis=-1), np.inf)
    j = np.argmin(left, axis=1)                                   # the best column
    pick = np.arange(len(j))
    dmu = np.where(np.isfinite(left[pick, j]), ratio[pick, j], 0.0)
    v = v + (dmu * s[pick, j])[:, None] * normals[j]
    scale = np.maximum(1.0, np.maximum(np.linalg.norm(g, axis=-1), np.abs(normals).max()))
    zero = np.abs(v[:, free]) <= settings.NNLS_ZERO_RTOL * scale
    return np.where(zero, np.linalg.norm(v[:, rows], axis=-1), np.inf)
