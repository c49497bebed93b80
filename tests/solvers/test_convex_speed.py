"""The fast paths of the convex two-layer program (issue 16) against independent references.

* the batched cone-support screen against the support function computed by an
  independent second-order cone program (cvxpy, written here from the definition);
* the per-pattern ``kappa_D`` of the certificate against the one-NNLS-per-pattern loop
  of the definition (:func:`cbntheory.backends.optimize.cone_support_bound`);
* the working set (sampled gates first) against the full program over every pattern:
  the same optimum, both certified;
* the working set over sampled patterns against the full sampled program, and its
  labels: an upper bound, with a lower bound only from the enumerated patterns.
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.backends import optimize as optim
from cbntheory.convex import two_layer_min_norm
from cbntheory.solvers.convex.model import pattern_kappas
from cbntheory.solvers.convex.patterns import Arrangement
from cbntheory.solvers.convex.screen import cone_support_bounds, wall_support_bounds


def _fc_data(n, din, seed):
    """A fully connected network on ``[x, 1]`` as a one-pixel CNN (bias a penalised input)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, din))
    X = np.concatenate([x, np.ones((n, 1))], axis=1)[:, :, None]
    return X, rng.standard_normal((n, 1))


def _arrangement(n, din, seed, bias):
    X, _ = _fc_data(n, din, seed)
    Z = X.reshape(n, 1, din + 1)[..., :din] if bias else X.reshape(n, 1, din + 1)
    arr = Arrangement.from_patches(Z, bias=bias)
    cells, _ = arr.enumerate()
    return arr, cells


def _sigma_socp(g, rows, free):
    """max <g, u> over {rows u >= 0, ||u_w|| <= 1}, by Clarabel (None when unbounded)."""
    u = cp.Variable(len(g))
    keep = [i for i in range(len(g)) if i != free]
    prob = cp.Problem(cp.Maximize(g @ u), [rows @ u >= 0, cp.norm(u[keep]) <= 1])
    prob.solve(solver="CLARABEL")
    return None if prob.status != "optimal" else float(prob.value)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_screen_bounds_are_upper_bounds_of_the_support_function(monkeypatch, bias, dtype):
    from cbntheory import settings
    monkeypatch.setattr(settings, "SCREEN_DTYPE", dtype)  # the iterations' type (issue 16)
    arr, cells = _arrangement(6, 2, 1, bias)
    free = arr.dim - 1 if bias else None
    rng = np.random.default_rng(2)
    pick = rng.choice(len(cells), size=min(12, len(cells)), replace=False)
    G = rng.standard_normal((len(pick), 2, arr.dim))
    ub = cone_support_bounds(G, cells[pick], arr.normals, free)
    finite, gaps = 0, []
    for i, p in enumerate(pick):
        rows = cells[p][:, None] * arr.normals
        for k in range(2):
            sigma = _sigma_socp(G[i, k], rows, free)
            if sigma is None:  # unbounded: no finite certificate may exist
                assert ub[i, k] == np.inf
                continue
            assert ub[i, k] >= sigma - 1e-7
            finite += np.isfinite(ub[i, k])
            gaps.append((ub[i, k] - sigma) / max(1.0, abs(sigma)))
    assert finite >= 12
    if not bias:
        # a loose bound only costs an exact refinement later; without a free coordinate
        # most are close already (with one, FISTA's penalty is looser: validity only)
        assert np.median(gaps) <= 1e-3


@pytest.mark.parametrize("bias", [False, True])
def test_pattern_kappas_max_equals_the_one_nnls_per_pattern_loop(bias):
    arr, cells = _arrangement(8, 2, 3, bias)
    free = arr.dim - 1 if bias else None
    F = arr.features(cells)
    L = np.random.default_rng(4).standard_normal((F.shape[1], 1))
    got = pattern_kappas(arr, cells, F, L, bias)
    G = np.einsum("pnr,no->por", F, L)[:, 0]
    ref = np.array([max(optim.cone_support_bound(g, c[:, None] * arr.normals, free),
                        optim.cone_support_bound(-g, c[:, None] * arr.normals, free), 0.0)
                    for g, c in zip(G, cells)])
    inf = ~np.isfinite(ref)
    assert np.all(~np.isfinite(got[inf]))      # no finite bound where NNLS finds none
    top = ref[~inf].max()
    assert np.all(got[~inf] >= ref[~inf] - 1e-9 * max(1.0, top))   # certified, never below
    assert np.max(got[~inf]) == pytest.approx(top, rel=1e-12)      # the max is the exact one
    if inf.any():
        return
    # with a threshold, values at or below it may stay loose, the max stays exact
    scaled = L / top * 1.05
    got1 = pattern_kappas(arr, cells, F, scaled, bias, threshold=1.0)
    assert got1.max() == pytest.approx(1.05, rel=1e-9)


@pytest.mark.parametrize("n, din", [(7, 1), (9, 2)])
def test_wall_bounds_equal_the_support_function(n, din):
    """The wall-subset bounds (weight dimension <= 3, issue 16, fourth pass) against the
    support function by an independent SOCP, and the cone screen uses them there."""
    arr, cells = _arrangement(n, din, 6, False)
    _, info = arr.enumerate()
    walls = info["walls"]
    rng = np.random.default_rng(7)
    pick = rng.choice(len(cells), size=min(10, len(cells)), replace=False)
    G = rng.standard_normal((len(pick), 2, arr.dim))
    ub = wall_support_bounds(G, cells[pick], arr.normals, walls[pick])
    for i, p in enumerate(pick):
        rows = cells[p][:, None] * arr.normals
        for k in range(2):
            sigma = _sigma_socp(G[i, k], rows, None)
            assert ub[i, k] >= sigma - 1e-7                       # certified
            assert ub[i, k] == pytest.approx(sigma, abs=1e-6)     # and exact
    # fewer walls than the facets: still certified (a larger cone), never below
    fewer = walls[pick] & (rng.random(walls[pick].shape) < 0.5)
    loose = wall_support_bounds(G, cells[pick], arr.normals, fewer)
    assert np.all(loose >= ub - 1e-12)
    np.testing.assert_array_equal(
        cone_support_bounds(G, cells[pick], arr.normals, None, walls=walls[pick]), ub)


@pytest.mark.parametrize("bias, penalize", [(False, True), (True, True), (True, False)])
def test_working_set_reaches_the_full_program_optimum(bias, penalize):
    X, Y = _fc_data(9, 2, 5)
    if bias:  # the bias as the architecture's own bias instead of an input
        X = X[:, :2]
    arch = cbn.Architecture((1,), (X.shape[1], 3, 1), head="avgpool", bias=bias,
                            penalize_bias=penalize)
    full = two_layer_min_norm(arch, X, Y, working_set=False)
    ws = two_layer_min_norm(arch, X, Y, working_set=True)
    assert full.status == ws.status == "optimal" and full.exact and ws.exact
    assert ws.info["working_set"]["used"]
    assert ws.value == pytest.approx(full.value, rel=1e-6)
    # the networks fit to tol (relative residual ~1e-7), so both sides agree to ~1e-6
    assert ws.lower == pytest.approx(full.value, rel=1e-6)
    np.testing.assert_allclose(ws.network(X), Y, rtol=1e-6, atol=1e-6 * np.abs(Y).max())


def test_pruning_while_the_optimum_falls_reaches_the_full_program_optimum(monkeypatch):
    """Pruning decided by the falling optimum alone (issue 16, fourth pass) against the
    full program over every pattern: it ends, with the same certified optimum."""
    from cbntheory import settings
    X, Y = _fc_data(24, 2, 8)
    arch = cbn.Architecture((1,), (3, 3, 1), head="avgpool", bias=False)
    full = two_layer_min_norm(arch, X, Y, working_set=False)
    monkeypatch.setattr(settings, "WORKING_SET_PRUNE_ROUNDS", 0)
    monkeypatch.setattr(settings, "WORKING_SET_MIN_ADD", 2)
    monkeypatch.setattr(settings, "WORKING_SET_ADD_PER_SAMPLE", 0)
    monkeypatch.setattr(settings, "WORKING_SET_ADD_FRACTION", 0.05)
    ws = two_layer_min_norm(arch, X, Y, working_set=True)
    assert full.status == ws.status == "optimal"
    assert ws.info["working_set"]["patterns_pruned"] > 0
    assert ws.value == pytest.approx(full.value, rel=1e-6)
    assert ws.lower == pytest.approx(full.value, rel=1e-6)


def test_group_lasso_on_independent_rows_matches_the_program_written_out():
    """Independent interpolation rows are imposed as they are, sparse (issue 16, fourth
    pass): value and multipliers against the program written out here in cvxpy."""
    from cbntheory.backends.conic import group_lasso
    arr, cells = _arrangement(10, 2, 9, False)
    _, info = arr.enumerate()
    F = arr.features(cells)
    Y = np.random.default_rng(10).standard_normal((F.shape[1], 1))
    # the case this test is about: the rows [features, 1] are independent
    rows = np.hstack([F.transpose(1, 2, 0).reshape(F.shape[1], -1), np.ones((F.shape[1], 1))])
    assert np.linalg.matrix_rank(rows) == F.shape[1]
    sol = group_lasso(F, arr.normals, cells, Y, norm_dims=3, output_bias="free",
                      walls=info["walls"], eps=1e-10)
    a, b = cp.Variable((len(cells), 3)), cp.Variable((len(cells), 3))
    c = cp.Variable()
    fit = sum(F[p] @ (a[p] - b[p]) for p in range(len(cells))) + c == Y[:, 0]
    cone = [(cells[p][:, None] * arr.normals) @ v[p] >= 0
            for p in range(len(cells)) for v in (a, b)]
    ref = cp.Problem(cp.Minimize(cp.sum(cp.norm(a, 2, axis=1) + cp.norm(b, 2, axis=1))),
                     [fit] + cone)
    ref.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert sol.objective == pytest.approx(ref.value, rel=1e-7)
    lam = np.ravel(fit.dual_value)
    got = sol.duals["fit"][:, 0]
    assert min(np.linalg.norm(got - lam), np.linalg.norm(got + lam)) <= 1e-5 * np.linalg.norm(lam)


def test_sampled_working_set_is_an_upper_bound_with_an_honest_certificate():
    X, Y = _fc_data(10, 2, 6)
    arch = cbn.Architecture((1,), (3, 3, 1), head="avgpool", bias=False)
    exact = two_layer_min_norm(arch, X, Y)
    kw = {"patterns": "sample", "n_patterns": 60, "rng": 1}
    plain = two_layer_min_norm(arch, X, Y, working_set=False, certify=False, **kw)
    ws = two_layer_min_norm(arch, X, Y, working_set=True, **kw)
    assert ws.info["working_set"]["used"]
    # the same sampled program: the same optimum; an upper bound of the exact value
    assert ws.value == pytest.approx(plain.value, rel=1e-6)
    assert ws.value >= exact.value * (1 - 1e-6)
    assert "sampled patterns (upper bound)" in ws.message or not ws.exact
    # the lower bound is checked against every pattern, so it is below the exact value
    assert ws.lower is not None and ws.lower <= exact.value * (1 + 1e-6)
    # without the enumeration there is no lower bound (the sampled one would not be one)
    bare = two_layer_min_norm(arch, X, Y, working_set=True, certify=False, **kw)
    assert bare.lower is None and bare.value == pytest.approx(ws.value, rel=1e-6)


@pytest.mark.parametrize("din", [2, 3, 4])  # 4: weight dimension 5, the batched rank test
def test_walls_without_rank_test_match_lp_cell_adjacency(din):
    # j is a wall of a cell iff flipping its sign gives another non-empty cell: checked
    # by an LP (strict feasibility), independently of the ray counting
    from cbntheory.solvers.convex.arrangements import closure_certificate
    arr, cells = _arrangement(6, din, 7, False)
    cert = closure_certificate(arr.normals, cells, return_walls=True)
    assert cert["complete"]
    for p, cell in enumerate(cells):
        for j in range(len(cell)):
            flipped = cell.copy()
            flipped[j] = -flipped[j]
            nonempty = optim.strict_cone_point(flipped[:, None] * arr.normals) is not None
            assert cert["walls"][p, j] == nonempty


@pytest.mark.parametrize("bias", [False, True])
def test_screen_is_the_same_in_small_chunks(monkeypatch, bias):
    from cbntheory import settings
    arr, cells = _arrangement(6, 2, 8, bias)
    free = arr.dim - 1 if bias else None
    G = np.random.default_rng(9).standard_normal((len(cells), 2, arr.dim))
    fast = cone_support_bounds(G, cells, arr.normals, free, threshold=0.5)
    # the chunking is checked in float64, where BLAS's blocking changes only the last
    # digits (the default float32 iterations differ from it by their own round-off)
    monkeypatch.setattr(settings, "SCREEN_DTYPE", "float64")
    whole = cone_support_bounds(G, cells, arr.normals, free, threshold=0.5)
    np.testing.assert_allclose(fast, whole, rtol=1e-5, atol=1e-6)
    monkeypatch.setattr(settings, "SCREEN_CHUNK_ELEMENTS", 7)   # a few rows per chunk
    # the same iterations row by row; only BLAS's blocking of the products differs
    np.testing.assert_allclose(cone_support_bounds(G, cells, arr.normals, free,
                                                   threshold=0.5), whole, rtol=1e-9, atol=1e-12)


def test_last_round_network_from_the_active_patterns(monkeypatch):
    # make the last draft's network "fail its check": the last working set then takes its
    # network from the program on its active patterns (the draft's certificate kept).
    # (Since issue 16's third pass drafts build no network; the last one gets it from
    # ProgramSolver.complete, which is where the failure is now injected.)
    import dataclasses

    from cbntheory import settings
    from cbntheory.solvers.convex import solve as S
    X, Y = _fc_data(9, 2, 5)
    arch = cbn.Architecture((1,), (3, 3, 1), head="avgpool", bias=False)
    full = two_layer_min_norm(arch, X, Y, working_set=False)
    original, completed = S.ProgramSolver.solve, S.ProgramSolver.complete
    calls = []

    def solve(self, subset):
        calls.append(len(subset))
        return original(self, subset)

    def complete(self, draft, subset):
        calls.append(len(subset))
        ans = completed(self, draft, subset)
        return dataclasses.replace(ans, rank=max(ans.rank, 1))

    monkeypatch.setattr(S.ProgramSolver, "solve", solve)
    monkeypatch.setattr(S.ProgramSolver, "complete", complete)
    # no pruning, so that the last working set holds inactive patterns to leave out
    monkeypatch.setattr(settings, "WORKING_SET_PRUNE_ROUNDS", 0)
    monkeypatch.setattr(settings, "WORKING_SET_PRUNE_MIN_FALL", float("inf"))
    ws = two_layer_min_norm(arch, X, Y, working_set=True)
    assert len(calls) == 2 and calls[-1] < calls[-2]   # then the active patterns only
    assert ws.status == "optimal" and ws.value == pytest.approx(full.value, rel=1e-6)
    np.testing.assert_allclose(ws.network(X), Y, rtol=1e-6, atol=1e-6 * np.abs(Y).max())


def test_vertex_network_fits_to_round_off_and_closes_the_certificate():
    # a degenerate instance: Clarabel's network fits only to its tolerance (~1e-9) over
    # dozens of near-parallel channels, and the lower bound, lowered by the certificate's
    # sensitivity times that residual, stayed open (not_certified before issue 16's
    # second pass); the vertex of the output-weight LP fits to round-off
    X, Y = _fc_data(12, 2, 0)
    arch = cbn.Architecture((1,), (3, 8, 1), head="avgpool", bias=False)
    res = two_layer_min_norm(arch, X, Y)
    assert res.status == "optimal" and res.lower <= res.value
    # the returned network, run forward here: an interpolant to round-off
    out = res.network(X)
    assert np.linalg.norm(out - Y) <= 1e-12 * np.linalg.norm(Y)
    assert res.info["hidden_channels"] <= 12  # a vertex: at most N channels
    # the same optimum as the interior-point group lasso over all patterns
    assert res.value == pytest.approx(res.info["program_value"], rel=1e-6)
    ws = two_layer_min_norm(arch, X, Y, working_set=True)
    assert ws.status == "optimal" and ws.value == pytest.approx(res.value, rel=1e-6)


@pytest.mark.slow
def test_last_working_set_needs_no_first_order_fallback():
    # n = 40 points in R^2 + bias input (1562 patterns): the last round's interior-point
    # network missed the fit and SCS re-solved the program (52 s on a busy machine);
    # the LP vertex network fits, so Clarabel alone answers, with the same certified value
    X, Y = _fc_data(40, 2, 0)
    arch = cbn.Architecture((1,), (3, 8, 1), head="avgpool", bias=False)
    res = two_layer_min_norm(arch, X, Y)
    assert res.status == "optimal"
    assert not any(s.startswith("SCS") for s in res.info["solvers_tried"])
    # SCS's certified value before this change (independent first-order solver)
    assert res.value == pytest.approx(299.61718469171865, rel=1e-6)


def test_certificate_walls_on_a_degenerate_arrangement_match_lp_adjacency():
    # the 4-cube plus the bias input (r = 5, 16 hyperplanes, 1882 cells): many rays lie on
    # more than r - 1 hyperplanes, so the certificate's rank test and its lookup of the
    # crossings both run; a sample of cells is checked against LP adjacency (flipping j
    # leaves a non-empty cell), and removing cells or duplicating rows is noticed
    import itertools

    from cbntheory.solvers.convex.arrangements import closure_certificate, enumerate_cells
    z = np.array(list(itertools.product((0.0, 1.0), repeat=4)))
    h = np.hstack([z, np.ones((16, 1))])
    h /= np.linalg.norm(h, axis=1, keepdims=True)
    cells, info = enumerate_cells(h)
    assert len(cells) == 1882 and info["certificate"]["complete"]  # threshold functions of 4
    walls = info["walls"]
    for p in np.random.default_rng(3).choice(len(cells), size=25, replace=False):
        for j in range(16):
            flipped = cells[p].copy()
            flipped[j] = -flipped[j]
            assert walls[p, j] == (optim.strict_cone_point(flipped[:, None] * h) is not None)
    gone = closure_certificate(h, np.delete(cells, [5, 700], axis=0))
    assert not gone["complete"] and gone["missing"] >= 2
    twice = closure_certificate(h, np.vstack([cells, cells[:3]]), return_walls=True)
    assert twice["complete"] and np.array_equal(twice["walls"][-3:], walls[:3])


def test_certificate_rank_test_rejects_faces_that_are_no_walls():
    # r = 5: H_6 = {u_1 + u_2 = 0} contains the 3-dimensional face u_1 = u_2 = 0 of the cells
    # with u_1, u_2 > 0, a face with four rays (H_7 cuts the octant of u_3, u_4, u_5): four
    # rays on H_6 (r - 1), but spanning 3 dimensions, so H_6 is no wall of those cells
    from cbntheory.solvers.convex.arrangements import enumerate_cells
    e = np.eye(5)
    h = np.vstack([e, e[0] + e[1], e[2] + e[3] - e[4] + 0.3 * e[0] - 0.2 * e[1]])
    h /= np.linalg.norm(h, axis=1, keepdims=True)
    cells, info = enumerate_cells(h)
    assert info["certificate"]["complete"]
    for p, cell in enumerate(cells):
        for j in range(len(h)):
            flipped = cell.copy()
            flipped[j] = -flipped[j]
            nonempty = optim.strict_cone_point(flipped[:, None] * h) is not None
            assert info["walls"][p, j] == nonempty


@pytest.mark.parametrize("bias", [False, True])
def test_warm_started_screen_bounds_the_new_directions(bias):
    # the screen's multipliers are kept between working-set rounds; a later call starts
    # from them with other directions.  If it reused the earlier bounds, the directions
    # 3 G (and the random G2) would get a third (a wrong) bound: each is checked against
    # the support function by an independent second-order cone program
    arr, cells = _arrangement(6, 2, 1, bias)
    free = arr.dim - 1 if bias else None
    rng = np.random.default_rng(12)
    pick = rng.choice(len(cells), size=min(10, len(cells)), replace=False)
    G = rng.standard_normal((len(pick), 2, arr.dim))
    warm = np.zeros((2 * len(pick), arr.n_hyperplanes), np.float32)
    cone_support_bounds(G, cells[pick], arr.normals, free, warm=warm)
    assert np.any(warm != 0) and np.all(warm * np.repeat(cells[pick], 2, axis=0) >= 0)
    for G2 in (3.0 * G, rng.standard_normal(G.shape)):
        ub = cone_support_bounds(G2, cells[pick], arr.normals, free, warm=warm,
                                 iterations=20)   # few iterations: the start matters
        for i, p in enumerate(pick):
            rows = cells[p][:, None] * arr.normals
            for k in range(2):
                sigma = _sigma_socp(G2[i, k], rows, free)
                assert ub[i, k] == np.inf if sigma is None else ub[i, k] >= sigma - 1e-7


def test_pruned_working_set_reaches_the_full_program_optimum(monkeypatch):
    # patterns without an active block leave the working set: the answer must still be
    # the optimum over every pattern (the full program, solved independently at once),
    # and pruning must actually have happened on this instance
    from cbntheory import settings
    monkeypatch.setattr(settings, "WORKING_SET_ADD_PER_SAMPLE", 1)   # more, smaller rounds
    X, Y = _fc_data(14, 2, 11)
    arch = cbn.Architecture((1,), (3, 8, 1), head="avgpool", bias=False)
    ws = two_layer_min_norm(arch, X, Y, working_set=True)
    full = two_layer_min_norm(arch, X, Y, working_set=False)
    assert ws.info["working_set"]["patterns_pruned"] > 0
    assert ws.status == full.status == "optimal"
    assert ws.value == pytest.approx(full.value, rel=1e-6)
    assert ws.lower <= full.value * (1 + 1e-9) and full.lower <= ws.value * (1 + 1e-9)
