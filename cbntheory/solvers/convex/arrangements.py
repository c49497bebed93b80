"""Cells of central hyperplane arrangements: complete enumeration and its certificate.

A central arrangement is a finite set of hyperplanes ``H_j = {u : <h_j, u> = 0}`` of
``R^r``.  Its (open) cells are the non-empty sets ``{u : s_j <h_j, u> > 0 for all j}``,
one per realisable sign vector ``s in {-1, +1}^M``.  For the convex two-layer program
the ``h_j`` are the (augmented) patches of the data and the cells are the activation
patterns a ReLU neuron can have (:mod:`cbntheory.solvers.convex.patterns`).

:func:`enumerate_cells` enumerates them through the rays of the arrangement, vectorised.
  Every cell of an *essential* arrangement (normals spanning ``R^r``) is a pointed
  cone, so its closure has an extreme ray; that ray is the null vector of ``r - 1``
  linearly independent normals, and near it the cell is a cell of the arrangement of
  the hyperplanes through the ray (the others keep their sign).  So all ``(r-1)``-subsets
  give all rays, and the local arrangements (recursively, one dimension lower) give all
  cells.  Non-essential arrangements are first restricted to the span of the normals.
  (The tests compare it with a second, incremental algorithm: one LP per cell and
  hyperplane.)

:func:`closure_certificate` checks a set of cells independently of how it was found:
every cell has an interior witness, and crossing any wall of any cell leads to a cell of
the set.  Since the chamber graph of an arrangement is connected, a non-empty set of
cells closed under wall crossing is all of them.

Examples
--------
Three lines through the origin of the plane cut it into six sectors:

>>> import numpy as np
>>> h = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]) / np.array([[1], [1], [2 ** 0.5]])
>>> cells, info = enumerate_cells(h)
>>> len(cells), info["certificate"]["complete"]
(6, True)
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ... import settings
from ...errors import TooManyCellsError

__all__ = ["TooManyCellsError", "closure_certificate", "enumerate_cells", "generic_cell_count"]

_CHUNK = 20_000
#: Rays on at most this many hyperplanes are matched with cells by looking up the 2^z
#: sign vectors filling their zeros (the others: compared with every cell).
_LOOKUP_ZEROS = 8


def generic_cell_count(m: int, r: int) -> int:
    """Cells of a central arrangement of ``m`` hyperplanes in general position in ``R^r``.

    ``2 * sum_{i < r} C(m - 1, i)`` (Cover 1965; Zaslavsky 1975): the largest number
    of cells any central arrangement of ``m`` hyperplanes in ``R^r`` can have.

    Examples
    --------
    >>> generic_cell_count(3, 2), generic_cell_count(8, 4)
    (6, 128)
    """
    if m == 0:
        return 1
    return 2 * sum(math.comb(m - 1, i) for i in range(min(r, m)))


def _span_coordinates(h: np.ndarray) -> np.ndarray:
    """Coordinates of the rows of ``h`` in an orthonormal basis of their span."""
    if h.shape[0] == 0:
        return h
    _, s, vt = np.linalg.svd(h, full_matrices=False)
    rank = int(np.sum(s > settings.PATTERN_RANK_ATOL * max(1.0, s[0])))
    return h @ vt[:rank].T


def _rays(h: np.ndarray, budget: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """All rays (sign vectors in {-1,0,1}, unit directions) of an essential arrangement."""
    m, r = h.shape
    n_sub = math.comb(m, r - 1)
    budget[0] -= n_sub
    if budget[0] < 0:
        raise TooManyCellsError(
            f"enumerating the activation patterns needs {n_sub} subsets of {r - 1} of the "
            f"{m} distinct hyperplanes in R^{r}, above the cap of "
            f"{settings.MAX_RAY_SUBSETS} (settings.MAX_RAY_SUBSETS); a generic arrangement "
            f"of that size has {generic_cell_count(m, r)} patterns. Use patterns='sample' "
            "with n_patterns=..., fewer samples or a smaller kernel")
    rows_all: list[np.ndarray] = []
    dirs_all: list[np.ndarray] = []
    combos = itertools.combinations(range(m), r - 1)
    while True:
        chunk = np.array(list(itertools.islice(combos, _CHUNK)), dtype=np.intp)
        if chunk.size == 0:
            break
        sub = h[chunk]  # (c, r-1, r)
        _, s, vt = np.linalg.svd(sub)
        ok = s[:, -1] > settings.PATTERN_RANK_ATOL
        rays = vt[ok, -1, :]
        vals = rays @ h.T
        sgn = np.sign(vals).astype(np.int8)
        sgn[np.abs(vals) <= settings.PATTERN_ZERO_ATOL] = 0
        rows_all += [sgn, -sgn]
        dirs_all += [rays, -rays]
    if not rows_all:
        return np.zeros((0, m), np.int8), np.zeros((0, r))
    rows, dirs = np.concatenate(rows_all), np.concatenate(dirs_all)
    _, first = np.unique(_as_keys(rows), return_index=True)
    return rows[first], dirs[first]


def _as_keys(rows: np.ndarray) -> np.ndarray:
    """One hashable/sortable item per int8 row (a void view), for fast unique."""
    rows = np.ascontiguousarray(rows, dtype=np.int8)
    return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()


def _cells(h: np.ndarray, budget: list[int], cap: int) -> np.ndarray:
    """Sign vectors of all cells of an essential arrangement with unit, non-parallel normals."""
    m, r = h.shape
    if m == 0:
        return np.zeros((1, 0), np.int8)
    if r == 1:
        s = np.sign(h[:, 0]).astype(np.int8)
        return np.array([s, -s])
    ray_signs, ray_dirs = _rays(h, budget)
    found: dict[bytes, np.ndarray] = {}
    generic = np.sum(ray_signs == 0, axis=1) == r - 1
    if np.any(generic):
        rows = ray_signs[generic]
        zero_pos = np.nonzero(rows == 0)[1].reshape(len(rows), r - 1)
        combos = np.array(list(itertools.product((-1, 1), repeat=r - 1)), dtype=np.int8)
        step = max(1, _CHUNK // len(combos))
        for start in range(0, len(rows), step):
            blk, zp = rows[start:start + step], zero_pos[start:start + step]
            exp = np.repeat(blk[:, None, :], len(combos), axis=1)
            idx = np.arange(len(blk))[:, None, None]
            exp[idx, np.arange(len(combos))[None, :, None], zp[:, None, :]] = combos[None]
            exp = exp.reshape(-1, m)
            keys, first = np.unique(_as_keys(exp), return_index=True)
            for key, i in zip(keys.tolist(), first.tolist()):
                found.setdefault(key, exp[i])
            if len(found) > cap:
                raise TooManyCellsError(
                    f"the arrangement of {m} distinct hyperplanes in R^{r} has more than {cap} "
                    "activation patterns (the cap max_patterns); use patterns='sample' with "
                    "n_patterns=..., or raise max_patterns if the convex program may be large")
    for row, ray in zip(ray_signs[~generic], ray_dirs[~generic]):
        zero = np.flatnonzero(row == 0)
        basis = np.linalg.svd(ray[None, :])[2][1:].T  # orthonormal basis of ray^perp
        local = h[zero] @ basis
        local /= np.linalg.norm(local, axis=1, keepdims=True)
        for sub in _cells(local, budget, cap):
            full = row.copy()
            full[zero] = sub
            found.setdefault(_as_keys(full[None])[0].tobytes(), full)
        if len(found) > cap:
            raise TooManyCellsError(
                f"the arrangement of {m} distinct hyperplanes in R^{r} has more than {cap} "
                "activation patterns (the cap max_patterns); use patterns='sample' with "
                "n_patterns=..., or raise max_patterns")
    return np.array(sorted(found.values(), key=lambda v: v.tobytes()), dtype=np.int8)


def enumerate_cells(normals: np.ndarray, *, max_cells: int | None = None,
                    certify: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """All cells of a central arrangement with distinct hyperplanes, via its rays.

    Parameters
    ----------
    normals : ndarray, shape (M, r)
        Unit normals of pairwise distinct hyperplanes (no two parallel).
    max_cells : int, optional
        Refuse beyond this many cells (default :data:`cbntheory.settings.MAX_PATTERNS`).
    certify : bool
        Run :func:`closure_certificate` on the result (default True).

    Returns
    -------
    cells : ndarray of int8, shape (P, M)
        One row per cell: the sign ``+1``/``-1`` of every hyperplane on it.
    info : dict
        ``count``, ``rank`` (dimension of the span of the normals), ``generic_count``
        (the general-position count, an upper bound), ``method`` and, when
        ``certify``, ``certificate`` (see :func:`closure_certificate`) and ``walls``
        (boolean ``(P, M)``: the facets of every cell).

    Raises
    ------
    TooManyCellsError
        When the cell count exceeds ``max_cells`` or the ray subsets exceed
        :data:`cbntheory.settings.MAX_RAY_SUBSETS`; the message suggests sampling.
    """
    cap = settings.MAX_PATTERNS if max_cells is None else int(max_cells)
    h = np.asarray(normals, dtype=float)
    coords = _span_coordinates(h)
    budget = [settings.MAX_RAY_SUBSETS]
    cells = _cells(coords, budget, cap)
    info: dict[str, Any] = {"method": "rays", "count": int(len(cells)),
                            "rank": int(coords.shape[1]), "hyperplanes": int(h.shape[0]),
                            "generic_count": generic_cell_count(h.shape[0], coords.shape[1])}
    if certify:
        cert = closure_certificate(coords, cells, return_walls=True)
        info["walls"] = cert.pop("walls")
        info["certificate"] = cert
    return cells, info


def closure_certificate(normals: np.ndarray, cells: np.ndarray, *,
                        return_walls: bool = False) -> dict[str, Any]:
    """Check that ``cells`` are non-empty and closed under crossing walls.

    Parameters
    ----------
    normals : ndarray, shape (M, r)
        Normals spanning ``R^r`` (an essential arrangement), pairwise non-parallel.
    cells : ndarray, shape (P, M)
        Candidate sign vectors.

    Returns
    -------
    dict
        ``complete`` (bool: every cell has a witness and every wall crossing stays in the
        set), ``walls_checked``, ``missing`` (number of wall crossings leading outside
        the set), ``empty_cells`` (cells without an interior witness), ``min_margin``
        (smallest ``s_j <h_j, witness>`` over cells, witnesses of unit norm); with
        ``return_walls``, also ``walls``: boolean ``(P, M)``, True where hyperplane ``j``
        is a wall (facet) of cell ``p`` — the facet inequalities alone define the closed
        cone of the cell.

    Notes
    -----
    Rays are recomputed here from scratch, and each is matched with the cells whose
    closure contains it (sign vector compatible with the ray's): the sum of a cell's
    closure rays is an interior witness, and a hyperplane carrying at least ``r - 1``
    of them is a candidate wall.  Two genuine cells whose sign vectors differ in ``j``
    only are adjacent through ``H_j`` (the segment between interior witnesses crosses
    no other hyperplane), so a candidate whose crossing lands in the set is a wall; a
    candidate whose crossing does not is a wall (and the crossing *missing*) iff its
    closure rays on ``H_j`` span ``r - 1`` dimensions.  The chamber graph of a
    hyperplane arrangement is connected (any two cells are joined by a gallery crossing
    one wall at a time), so a set of genuine cells closed under wall crossing contains
    every cell.
    """
    h = np.asarray(normals, dtype=float)
    cells = np.asarray(cells, dtype=np.int8)
    m, r = h.shape
    out: dict[str, Any] = {"complete": False, "walls_checked": 0, "missing": 0,
                           "empty_cells": 0, "min_margin": float("nan")}
    if m == 0 or r == 1:
        out.update(complete=len(cells) == (1 if m == 0 else 2), min_margin=1.0)
        if return_walls:
            out["walls"] = np.ones(cells.shape, dtype=bool)
        return out
    # distinct sign vectors, sorted (a duplicated row gets the verdict of its twin)
    keys, inverse = np.unique(_as_keys(cells), return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    uniq = np.frombuffer(keys.tobytes(), dtype=np.int8).reshape(len(keys), m)
    ray_signs, ray_dirs = _rays(h, [settings.MAX_RAY_SUBSETS])
    ray_of, cell_of = _closure_incidence(ray_signs, uniq, keys)
    # interior witnesses: the sum of every cell's closure rays
    wit = np.stack([np.bincount(cell_of, weights=ray_dirs[ray_of, i], minlength=len(uniq))
                    for i in range(r)], axis=1)
    margin = _margins(h, uniq, wit)
    genuine = margin > settings.PATTERN_ZERO_ATOL
    walls, missing = _walls(h, uniq, keys, ray_signs, ray_dirs, ray_of, cell_of, genuine)
    wall_mask = walls[inverse]
    out.update(complete=bool(len(cells) > 0 and not missing.any() and np.all(genuine)),
               walls_checked=int(wall_mask.sum()), missing=int(np.sum(missing[inverse])),
               empty_cells=int(np.sum(~genuine[inverse])),
               min_margin=float(np.min(margin[inverse], initial=np.inf)))
    if return_walls:
        out["walls"] = wall_mask
    return out


def _closure_incidence(ray_signs: np.ndarray, cells: np.ndarray, keys: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (ray, cell) with the ray in the cell's closure, for sorted distinct ``cells``.

    A ray lies in the closure of exactly the cells whose sign vector agrees with its
    own off its zeros.  For a ray on ``z`` hyperplanes those are among the ``2^z`` sign
    vectors filling its zeros, looked up in the sorted ``keys`` (when ``z`` is at most
    ``_LOOKUP_ZEROS`` or ``r - 1``: every ray of a generic arrangement); the other rays
    are compared with every cell.
    """
    m = cells.shape[1]
    zeros = np.sum(ray_signs == 0, axis=1)
    rays_out: list[np.ndarray] = []
    cells_out: list[np.ndarray] = []
    small = zeros <= max(_LOOKUP_ZEROS, int(zeros.min(initial=0)))
    for z in np.unique(zeros[small]):
        which = np.flatnonzero(zeros == z)
        combos = np.array(list(itertools.product((-1, 1), repeat=int(z))),
                          dtype=np.int8).reshape(-1, int(z))
        step = max(1, _CHUNK // len(combos))
        for lo in range(0, len(which), step):
            rays = which[lo:lo + step]
            rows = ray_signs[rays]
            zp = np.nonzero(rows == 0)[1].reshape(len(rays), int(z))
            exp = np.repeat(rows[:, None, :], len(combos), axis=1)
            exp[np.arange(len(rays))[:, None, None], np.arange(len(combos))[None, :, None],
                zp[:, None, :]] = combos[None]
            where, found = _lookup(keys, exp.reshape(-1, m))
            rays_out.append(np.repeat(rays, len(combos))[found])
            cells_out.append(where[found])
    pos_c, neg_c = (cells > 0).T.astype(np.float32), (cells < 0).T.astype(np.float32)
    for lo in range(0, int(np.sum(~small)), 1000):
        rays = np.flatnonzero(~small)[lo:lo + 1000]
        conflict = ((ray_signs[rays] > 0).astype(np.float32) @ neg_c
                    + (ray_signs[rays] < 0).astype(np.float32) @ pos_c)
        i, c = np.nonzero(conflict == 0)
        rays_out.append(rays[i])
        cells_out.append(c)
    if not rays_out:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    return np.concatenate(rays_out), np.concatenate(cells_out)


def _lookup(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index in the sorted ``keys`` of every sign vector of ``rows``, and whether it is there."""
    probe = _as_keys(rows)
    where = np.minimum(np.searchsorted(keys, probe), max(len(keys) - 1, 0))
    found = keys[where] == probe if len(keys) else np.zeros(len(probe), dtype=bool)
    return where, found


def _margins(h: np.ndarray, cells: np.ndarray, wit: np.ndarray) -> np.ndarray:
    """``min_j s_j <h_j, w> / ||w||`` per cell (``-inf`` for a zero witness)."""
    norm = np.linalg.norm(wit, axis=1)
    out = np.full(len(cells), -np.inf)
    step = max(1, _CHUNK * 50 // max(1, h.shape[0]))
    for lo in range(0, len(cells), step):
        sl = slice(lo, lo + step)
        worst = np.min(cells[sl] * (wit[sl] @ h.T), axis=1, initial=np.inf)
        ok = norm[sl] > 0
        out[sl] = np.where(ok, worst / np.where(ok, norm[sl], 1.0), -np.inf)
    return out


def _walls(h: np.ndarray, cells: np.ndarray, keys: np.ndarray, ray_signs: np.ndarray,
           ray_dirs: np.ndarray, ray_of: np.ndarray, cell_of: np.ndarray,
           genuine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walls ``(P, M)`` of the genuine cells, and per cell the crossings missing from the set.

    Candidates carry at least ``r - 1`` of the cell's closure rays.  A candidate whose
    crossing is in the set is a wall (adjacent genuine cells); for the others the rank
    of their rays decides (their count alone for ``r <= 4``).
    """
    P, m = cells.shape
    r = h.shape[1]
    count = np.zeros(P * m, dtype=np.int64)
    for lo in range(0, len(ray_of), _CHUNK * 10):
        sl = slice(lo, lo + _CHUNK * 10)
        i, j = np.nonzero(ray_signs[ray_of[sl]] == 0)
        count += np.bincount(cell_of[sl][i] * m + j, minlength=P * m)
    cand_c, cand_j = np.nonzero((count.reshape(P, m) >= r - 1) & genuine[:, None])
    crossed = np.zeros(len(cand_c), dtype=bool)
    for lo in range(0, len(cand_c), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        flipped = cells[cand_c[sl]].copy()
        flipped[np.arange(len(flipped)), cand_j[sl]] *= -1
        crossed[sl] = _lookup(keys, flipped)[1]
    walls = np.zeros((P, m), dtype=bool)
    walls[cand_c[crossed], cand_j[crossed]] = True
    open_c, open_j = cand_c[~crossed], cand_j[~crossed]
    if r > 4 and len(open_c):  # the rank of the rays on H_j decides
        order = np.argsort(cell_of, kind="stable")
        starts = np.searchsorted(cell_of[order], np.arange(P + 1))
        real = np.zeros(len(open_c), dtype=bool)
        for c in np.unique(open_c):
            sel = np.flatnonzero(open_c == c)
            inside = ray_of[order[starts[c]:starts[c + 1]]]
            zeros = ray_signs[inside][:, open_j[sel]] == 0
            real[sel[_walls_by_rank(zeros, ray_dirs[inside], r)]] = True
        open_c, open_j = open_c[real], open_j[real]
    walls[open_c, open_j] = True
    missing = np.bincount(open_c, minlength=P)
    return walls, missing


def _walls_by_rank(zeros: np.ndarray, dirs: np.ndarray, r: int) -> np.ndarray:
    """Hyperplanes whose rays in one cell's closure span ``r - 1`` dimensions.

    ``zeros`` (``(rays, M)``): which of the cell's closure rays lie on each hyperplane;
    ``dirs`` (``(rays, r)``) their directions.  Candidates carry at least ``r - 1`` rays;
    for ``r > 4`` their ranks come from one batched SVD (each candidate's matrix is
    ``dirs`` with the rows off the hyperplane zeroed, which leaves its singular values
    unchanged but for extra zeros).
    """
    cand = np.flatnonzero(zeros.sum(axis=0) >= r - 1)
    if r <= 4 or not len(cand):
        return cand
    stack = zeros[:, cand].T[:, :, None] * dirs[None]            # (candidates, rays, r)
    sv = np.linalg.svd(stack, compute_uv=False)
    return cand[np.sum(sv > settings.PATTERN_RANK_ATOL, axis=1) >= r - 1]
