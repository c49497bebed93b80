"""Tests of the activation patterns: patches, hyperplane arrangements, LP/NNLS helpers.

Independent references: explicit loops over pixels and taps, brute force over every
sign vector with an LP feasibility test, the general-position cell count (Cover 1965),
the number of threshold functions of three Boolean variables (104, Muroga), closed-form
support functions of simple cones.
"""
from __future__ import annotations

import itertools
from typing import Any

import cvxpy as cp
import numpy as np
import pytest

from cbntheory.backends import optimize as optim
from cbntheory.settings import MAX_PATTERNS
from cbntheory.solvers.convex.arrangements import (
    TooManyCellsError,
    closure_certificate,
    enumerate_cells,
    generic_cell_count,
)
from cbntheory.solvers.convex.patterns import Arrangement, patches, tap_offsets


# a second, independent enumeration (one LP per cell and hyperplane): the reference
def enumerate_cells_lp(normals: np.ndarray, *, max_cells: int | None = None
                       ) -> tuple[np.ndarray, dict[str, Any]]:
    """All cells of a central arrangement, incrementally with one LP per (cell, hyperplane).

    Parameters
    ----------
    normals : ndarray, shape (M, r)
        Normals of pairwise distinct hyperplanes.
    max_cells : int, optional
        Refuse beyond this many cells (default :data:`cbntheory.settings.MAX_PATTERNS`).

    Returns
    -------
    cells : ndarray of int8, shape (P, M)
        Sign vectors of the cells (same convention as ``enumerate_cells``).
    info : dict
        ``count``, ``lps`` (number of LPs solved), ``method``.

    Notes
    -----
    Adding hyperplane ``H`` to an arrangement splits exactly the cells that meet
    ``H``; a cell ``{s_j <h_j,u> > 0}`` meets ``H`` iff the LP ``s_j <h_j,u> >= 1``,
    ``<h,u> = 0`` is feasible (:func:`cbntheory.backends.optimize.strict_cone_point`).  Each cell
    keeps an interior witness, which decides the side of the cells that are not split.
    """
    cap = MAX_PATTERNS if max_cells is None else int(max_cells)
    h = np.asarray(normals, dtype=float)
    m, r = h.shape
    cells: list[tuple[list[int], np.ndarray]] = [([], np.zeros(r))]
    lps = 0
    for i in range(m):
        new: list[tuple[list[int], np.ndarray]] = []
        for signs, wit in cells:
            G = np.array(signs, dtype=float)[:, None] * h[:i] if i else np.zeros((0, r))
            lps += 1
            u0 = optim.strict_cone_point(G, equality=h[i][None, :])
            if u0 is not None:
                step = 0.5 / max(1.0, float(np.abs(G @ h[i]).max(initial=0.0)))
                new.append((signs + [1], u0 + step * h[i]))
                new.append((signs + [-1], u0 - step * h[i]))
            else:
                new.append((signs + [1 if wit @ h[i] > 0 else -1], wit))
        cells = new
        if len(cells) > cap:
            raise TooManyCellsError(f"more than {cap} cells after {i + 1} of {m} hyperplanes")
    out = np.array(sorted((np.array(s, dtype=np.int8) for s, _ in cells),
                          key=lambda v: v.tobytes()), dtype=np.int8).reshape(len(cells), m)
    return out, {"method": "lp", "count": int(len(out)), "lps": lps}


def _unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _realisable(normals: np.ndarray, signs: np.ndarray) -> bool:
    # independent LP (cvxpy, not scipy): is {u : s_j <h_j, u> >= 1} non-empty?
    u = cp.Variable(normals.shape[1])
    prob = cp.Problem(cp.Minimize(0), [cp.multiply(signs, normals @ u) >= 1])
    prob.solve(solver="CLARABEL")
    return prob.status == cp.OPTIMAL


def _brute_force_cells(normals: np.ndarray) -> set[bytes]:
    out = set()
    for s in itertools.product((-1, 1), repeat=normals.shape[0]):
        s = np.array(s, dtype=np.int8)
        if _realisable(normals, s.astype(float)):
            out.add(s.tobytes())
    return out


def test_patches_against_loops():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 3, 5, 4))  # N, n0, d1, d2
    Z = patches(X, (5, 4), (3, 2), "operator")
    taps = tap_offsets((3, 2), (5, 4))
    c = 1 / np.sqrt(20)
    for n in range(2):
        for p1 in range(5):
            for p2 in range(4):
                p = p1 * 4 + p2
                for i in range(3):
                    for s, (q1, q2) in enumerate(taps):
                        expected = c * X[n, i, (p1 - q1) % 5, (p2 - q2) % 4]
                        assert Z[n, p, i * len(taps) + s] == pytest.approx(expected, abs=1e-15)
    # window offsets -(k//2) .. k-1-(k//2): k = 3 -> -1, 0, 1 and k = 2 -> -1, 0
    assert sorted(((taps[:, 0] + 1) % 5 - 1).tolist()) == [-1, -1, 0, 0, 1, 1]
    assert sorted(((taps[:, 1] + 1) % 4 - 1).tolist()) == [-1, -1, -1, 0, 0, 0]


def test_features_are_mean_relu_on_the_pattern():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 2, 6))
    arr = Arrangement.from_patches(patches(X, (6,), 3, "plain"), bias=True)
    U = rng.standard_normal((20, arr.dim))
    feats = arr.features(arr.pattern_of(U))
    for k, u in enumerate(U):
        for n in range(4):
            direct = 0.0
            for p in range(6):
                z = np.array([X[n, i, (p - q) % 6] for i in range(2) for q in (-1, 0, 1)] + [1.0])
                direct += max(0.0, float(z @ u)) / 6
            assert feats[k, n] @ u == pytest.approx(direct, abs=1e-12)


def test_duplicate_patches_share_one_hyperplane():
    X = np.array([[[0.0, 1.0, 1.0, 0.0, 2.0, 2.0]]])  # k = 1: patches 0, 1, 2 (x c)
    arr = Arrangement.from_patches(patches(X, (6,), 1, "plain"), bias=False)
    # without a bias the patches 1 and 2 are parallel (one hyperplane) and 0 is no hyperplane
    assert arr.n_hyperplanes == 1
    assert arr.index[0].tolist() == [-1, 0, 0, -1, 0, 0]
    rebuilt = (np.linalg.norm(arr.vectors, axis=2) * arr.orientation)[..., None] * arr.normals[
        np.maximum(arr.index, 0)]
    assert np.allclose(rebuilt, arr.vectors)
    arr_b = Arrangement.from_patches(patches(X, (6,), 1, "plain"), bias=True)
    assert arr_b.n_hyperplanes == 3  # (0,1), (1,1), (2,1) are pairwise non-parallel


@pytest.mark.parametrize("m,r", [(5, 3), (7, 4), (9, 3), (6, 5)])
def test_generic_arrangements_count_and_lp_agree(m, r):
    normals = _unit_rows(np.random.default_rng(m * r).standard_normal((m, r)))
    cells, info = enumerate_cells(normals)
    assert len(cells) == generic_cell_count(m, r)  # general position: Cover's count
    assert info["certificate"]["complete"] and info["certificate"]["missing"] == 0
    lp_cells, _ = enumerate_cells_lp(normals)
    assert {c.tobytes() for c in cells} == {c.tobytes() for c in lp_cells}


def test_brute_force_over_all_sign_vectors():
    # a degenerate arrangement: integer normals with many triple intersections
    normals = _unit_rows(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1],
                                   [0, 1, 1], [1, -1, 1]], dtype=float))
    cells, info = enumerate_cells(normals)
    assert {c.tobytes() for c in cells} == _brute_force_cells(normals)
    assert info["certificate"]["complete"]


def test_threshold_functions_of_three_variables():
    # patterns of a biased neuron on the cube {0,1}^3 = linear threshold functions: 104
    z = np.array(list(itertools.product((0.0, 1.0), repeat=3)))
    normals = _unit_rows(np.hstack([z, np.ones((8, 1))]))
    cells, info = enumerate_cells(normals)
    assert len(cells) == 104 and info["certificate"]["complete"]
    assert len(enumerate_cells_lp(normals)[0]) == 104


def test_rank_deficient_arrangement():
    # normals spanning a plane of R^3: the arrangement is m lines through 0 in that plane
    # (times R), i.e. 2m cells
    rng = np.random.default_rng(4)
    basis = np.linalg.qr(rng.standard_normal((3, 2)))[0]
    normals = _unit_rows(rng.standard_normal((5, 2)) @ basis.T)
    cells, info = enumerate_cells(normals)
    assert len(cells) == 10 and info["rank"] == 2 and info["certificate"]["complete"]


def test_certificate_detects_a_missing_cell():
    normals = _unit_rows(np.random.default_rng(5).standard_normal((6, 3)))
    cells, _ = enumerate_cells(normals)
    cert = closure_certificate(normals, cells[1:])
    assert not cert["complete"] and cert["missing"] > 0
    fake = cells.copy()
    fake[0] = -fake[0]
    fake[0, 0] = -fake[0, 0]  # a sign vector of no cell (if it were one, it is duplicated)
    cert = closure_certificate(normals, np.unique(fake, axis=0))
    assert not cert["complete"]


def test_too_many_cells_refused_quickly():
    normals = _unit_rows(np.random.default_rng(6).standard_normal((40, 4)))
    with pytest.raises(TooManyCellsError, match="sample"):
        enumerate_cells(normals, max_cells=100)
    with pytest.raises(TooManyCellsError, match="sample"):
        enumerate_cells(_unit_rows(np.random.default_rng(7).standard_normal((700, 4))))


def test_sampled_patterns_are_cells():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((3, 1, 5))
    arr = Arrangement.from_patches(patches(X, (5,), 2, "operator"), bias=True)
    all_cells = {c.tobytes() for c in arr.enumerate()[0]}
    sampled, info = arr.sample(300, rng=1)
    assert info["seed"] == 1 and set(c.tobytes() for c in sampled) <= all_cells


def test_strict_cone_point():
    G = np.array([[1.0, 1.0], [1.0, -1.0]])
    u = optim.strict_cone_point(G)
    assert np.all(G @ u >= 1 - 1e-7)
    assert optim.strict_cone_point(np.vstack([G, -G[0]])) is None


def test_cone_support_bound_closed_forms():
    rng = np.random.default_rng(9)
    # orthant: max <g,u> over u >= 0, ||u|| <= 1 is ||g_+||
    for _ in range(5):
        g = rng.standard_normal(4)
        assert optim.cone_support_bound(g, np.eye(4)) == pytest.approx(
            np.linalg.norm(np.maximum(g, 0)), abs=1e-10)
    # K = {(w, b) : b >= |w|}, b free, |w| <= 1: max g_w w + g_b b is +inf if g_b > 0,
    # else max over |w| <= 1 of g_w w + g_b |w| = max(0, |g_w| + g_b)
    G = np.array([[-1.0, 1.0], [1.0, 1.0]])
    assert optim.cone_support_bound(np.array([0.3, 0.1]), G, free=1) == np.inf
    for gw, gb in [(0.7, -0.2), (-0.7, -0.2), (0.1, -0.5)]:
        bound = optim.cone_support_bound(np.array([gw, gb]), G, free=1)
        assert bound == pytest.approx(max(0.0, abs(gw) + gb), abs=1e-10)


def test_cone_support_bound_is_an_upper_bound():
    rng = np.random.default_rng(10)
    G = rng.standard_normal((6, 3))
    u0 = optim.strict_cone_point(G)
    assert u0 is not None
    g = rng.standard_normal(3)
    bound = optim.cone_support_bound(g, G)
    # random points of the cone (around an interior point), normalised
    pts = u0 / np.linalg.norm(u0) + 0.3 * rng.standard_normal((20000, 3))
    pts = pts[np.all(pts @ G.T >= 0, axis=1)]
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    assert len(pts) > 100 and np.max(pts @ g) <= bound + 1e-12
