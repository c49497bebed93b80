"""The convex two-layer ReLU program of Pilanci & Ergen as a cvxpy group lasso.

Builders taking and returning plain arrays; :mod:`cbntheory.convex` drives them.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
from scipy import sparse

from ... import _validate as V
from ... import settings
from ...results import INFEASIBLE, OPTIMAL, relative_residual
from ._core import OUTPUT_BIAS, ConicSolution, solve

#: Default accuracy of the two-layer programs: CLARABEL_EPS for Clarabel (see settings).
_EPS = {"CLARABEL": settings.CLARABEL_EPS}


def group_lasso(features: np.ndarray, hyperplanes: np.ndarray, signs: np.ndarray,
                targets: np.ndarray, *, norm_dims: int, output_bias: str = "none",
                walls: np.ndarray | None = None, solver: str | Sequence[str] | None = None,
                eps: float | None = None, accept: Sequence[str] = (OPTIMAL,),
                check: Callable[[ConicSolution], int] | None = None) -> ConicSolution:
    """The convex two-layer ReLU program over activation patterns (group lasso, cone constraints).

    Parameters
    ----------
    features : ndarray, shape (P, N, r)
        ``features[D, n]`` is the feature vector ``g_D(x_n)``: a neuron ``u`` whose
        activation pattern is ``D`` outputs ``<g_D(x_n), u>`` on sample ``n``.
    hyperplanes : ndarray, shape (M, r)
        Normals ``h_j`` of the distinct hyperplanes of the arrangement.
    signs : ndarray, shape (P, M)
        ``+1``/``-1``: the side of every hyperplane in pattern ``D``; the cone of
        ``D`` is ``K_D = {u : signs[D, j] <h_j, u> >= 0 for all j}``.
    targets : ndarray, shape (N, n_out)
        Labels to interpolate.
    norm_dims : int
        The first ``norm_dims`` coordinates of ``u`` are penalised (the others, e.g. a
        free hidden bias, are not).
    output_bias : {"none", "free", "penalized"}
        Whether an output bias ``b`` (one per output) is absent, free, or costs
        ``||b||^2 / 2``.
    walls : ndarray of bool, shape (P, M), optional
        Only the inequalities marked True are imposed (the facets of each cone give the
        same cone with far fewer, non-redundant rows: better conditioned for interior-
        point solvers).  Default: all of them.
    solver, eps, accept, check
        Passed to :func:`solve` (default accuracy :data:`cbntheory.settings.CLARABEL_EPS`
        for Clarabel: the numpy certificate measures the accuracy reached); ``check``
        sees the answer in the form returned here.

    Returns
    -------
    ConicSolution
        ``values["pos"]``, ``values["neg"]`` of shape ``(n_out, P, r)`` (the blocks
        ``a_{D,o}``, ``a'_{D,o}``), ``values["bias"]`` of shape ``(n_out,)`` and
        ``duals["fit"]`` of shape ``(N, n_out)``.

    Notes
    -----
    Solves

    .. math::

        \\min \\sum_D \\Big\\| \\big(\\|a_{D,o}\\|_w + \\|a'_{D,o}\\|_w\\big)_{o} \\Big\\|_2
              + \\tfrac12 \\|b\\|^2
        \\;\\text{s.t.}\\; \\sum_D g_D(X)(a_{D,o} - a'_{D,o}) + b_o = y_o,\\;
        a_{D,o}, a'_{D,o} \\in K_D,

    (the bias term only when penalised).  With one output this is the group-lasso
    program of [PE2020]_/[EP2021]_; twice its optimum is the minimal parameter norm of
    a two-layer ReLU network.  With several outputs it is a relaxation (a lower bound);
    see ``docs/convex.md``.

    References
    ----------
    .. [PE2020] M. Pilanci, T. Ergen, Neural networks are convex regularizers, ICML 2020.
    .. [EP2021] T. Ergen, M. Pilanci, Implicit convex regularizers of CNN architectures,
       ICLR 2021.

    Examples
    --------
    One input x in {0, 1, 2} (patterns of u = (w, b) on the points), labels |x - 1|:

    >>> z = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])    # (x, 1)
    >>> S = np.array([[1, 1, 1], [-1, -1, 1], [1, -1, -1]])    # three of the patterns
    >>> F = np.array([(s > 0)[:, None] * z for s in S])        # features (P, N, r)
    >>> sol = group_lasso(F, z, S, np.array([[1.0], [0.0], [1.0]]), norm_dims=1,
    ...                   output_bias="free")
    >>> sol.status, round(2 * sol.objective, 6)      # |x - 1| costs two unit slopes
    ('optimal', 4.0)
    """
    F, H, S, Y, mask = _checked(features, hyperplanes, signs, targets, walls, output_bias)
    norm_dims = V.positive_int("norm_dims", norm_dims)
    P, N, r = F.shape
    n_out = Y.shape[1]
    cone = _cone_rows(S, H, mask)
    A = F.transpose(1, 2, 0).reshape(N, r * P)  # acts on vec(block matrix) in column order
    Q, infeasible = _row_basis(np.hstack([A, np.ones((N, 1))]) if output_bias != "none" else A,
                               Y)
    if infeasible:
        return _infeasible(f"the labels are outside the span of the {P} patterns' features "
                           f"(relative residual {infeasible:.3g})",
                           {"pos": np.full((n_out, P, r), np.nan),
                            "neg": np.full((n_out, P, r), np.nan),
                            "bias": np.full(n_out, np.nan)}, {"fit": np.full((N, n_out), np.nan)})
    # independent rows (generic data): the constraint as it is, sparse (a pattern's
    # features vanish on its inactive samples), instead of the dense rotated rows
    direct = Q.shape[1] == N
    A_fit: Any = sparse.csc_matrix(A) if direct else Q.T @ A
    pos = [cp.Variable((P, r), name=f"pos{o}") for o in range(n_out)]
    neg = [cp.Variable((P, r), name=f"neg{o}") for o in range(n_out)]
    b = cp.Variable(n_out, name="bias")
    cons: list[Any] = []
    fits = []
    for o in range(n_out):
        expr = A_fit @ cp.vec(pos[o] - neg[o], order="F")
        if output_bias != "none":
            expr = expr + (b[o] if direct else Q.sum(axis=0) * b[o])
        # independent rows only (see _row_basis)
        fit = expr == (Y[:, o] if direct else Q.T @ Y[:, o])
        fits.append(fit)
        if cone.shape[0]:
            cons += [cone @ cp.vec(pos[o], order="F") >= 0, cone @ cp.vec(neg[o], order="F") >= 0]
    block = [cp.norm(pos[o][:, :norm_dims], 2, axis=1) + cp.norm(neg[o][:, :norm_dims], 2, axis=1)
             for o in range(n_out)]
    if n_out == 1:
        objective = cp.sum(block[0])
    else:
        objective = cp.sum(cp.norm(cp.vstack(block), 2, axis=0))
    problem = _problem(objective, fits + cons, b, output_bias)
    variables = {"bias": b}
    variables.update({f"pos{o}": pos[o] for o in range(n_out)})
    variables.update({f"neg{o}": neg[o] for o in range(n_out)})

    def unpack(sol: ConicSolution) -> ConicSolution:
        values = {"pos": np.stack([sol.values[f"pos{o}"] for o in range(n_out)]),
                  "neg": np.stack([sol.values[f"neg{o}"] for o in range(n_out)]),
                  "bias": np.reshape(sol.values["bias"], (n_out,))}
        rows = [np.reshape(sol.duals[f"fit{o}"], (Q.shape[1],)) for o in range(n_out)]
        duals = {"fit": np.stack([d if direct else Q @ d for d in rows], axis=1)}
        return dataclasses.replace(sol, values=values, duals=duals)

    return unpack(solve(problem, variables, {f"fit{o}": fits[o] for o in range(n_out)},
                        solver=solver, eps=_EPS if eps is None else eps, accept=accept,
                        check=None if check is None else lambda sol: check(unpack(sol))))


def _checked(features: Any, hyperplanes: Any, signs: Any, targets: Any, walls: Any,
             output_bias: str) -> tuple[np.ndarray, ...]:
    """:func:`group_lasso`'s arrays as floats (the walls as a mask), shapes checked."""
    F = np.asarray(features, dtype=float)
    H = np.asarray(hyperplanes, dtype=float)
    S = np.asarray(signs, dtype=float)
    Y = np.asarray(targets, dtype=float)
    if F.ndim != 3:
        raise V.fail("features", "have shape (P, N, r)", F)
    P, N, r = F.shape
    if H.ndim != 2 or H.shape[1] != r:
        raise V.fail("hyperplanes", f"have shape (M, {r})", H)
    if S.shape != (P, H.shape[0]):
        raise V.fail("signs", f"have shape ({P}, {H.shape[0]})", S)
    if Y.ndim != 2 or Y.shape[0] != N:
        raise V.fail("targets", f"have shape ({N}, n_out)", Y)
    if output_bias not in OUTPUT_BIAS:
        raise V.fail("output_bias", f"be one of {OUTPUT_BIAS}", output_bias)
    mask = np.ones(S.shape, dtype=bool) if walls is None else np.asarray(walls, dtype=bool)
    if mask.shape != S.shape:
        raise V.fail("walls", f"have the shape of signs {S.shape}", mask)
    return F, H, S, Y, mask


def _cone_rows(S: np.ndarray, H: np.ndarray, mask: np.ndarray) -> sparse.csr_matrix:
    """The cone rows ``s_{D,j} <h_j, a_D> >= 0`` kept by ``mask``, acting on ``vec(a)``.

    ``vec`` stacks the ``(P, r)`` block matrix in column order (as ``cp.vec(..., "F")``).
    """
    P, r = S.shape[0], H.shape[1]
    d_idx, j_idx = np.nonzero(mask)
    coef = S[d_idx, j_idx, None] * H[j_idx]  # (rows, r)
    return sparse.csr_matrix(
        (coef.ravel(), (np.repeat(np.arange(len(d_idx)), r),
                        (d_idx[:, None] + P * np.arange(r)[None, :]).ravel())),
        shape=(len(d_idx), P * r))


def _problem(objective: Any, constraints: list[Any], b: Any, output_bias: str) -> cp.Problem:
    """Minimise ``objective`` (+ ``||b||^2 / 2`` when penalised; ``b = 0`` when absent)."""
    if output_bias == "penalized":
        objective = objective + 0.5 * cp.sum_squares(b)
    extra = [b == 0] if output_bias == "none" else []
    return cp.Problem(cp.Minimize(objective), constraints + extra)


def _row_basis(M: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, float]:
    """Orthonormal basis ``Q`` of the column space of ``M``, and ``Y``'s relative residual.

    Equality constraints ``M x = Y`` are replaced by ``Q^T M x = Q^T Y``: the same set
    when ``Y`` lies in the range of ``M``, but with independent rows.  Data with few
    distinct patches (small-integer images) make the rows of ``M`` dependent, and
    interior-point solvers then fail at the first factorisation.  The multipliers of the
    original rows are ``Q mu``.  Returns the residual (0.0 when feasible) as second item.
    """
    # a wide M (one column per pattern coordinate) is first reduced by its QR: M = R^T Q^T
    # has the left singular vectors and values of the small square R^T, and the SVD then
    # never forms the long right factor (0.4 s a program at a few thousand patterns)
    small = np.asarray(np.linalg.qr(M.T, mode="r")).T if M.shape[1] > M.shape[0] else M
    U, sv, _ = np.linalg.svd(small, full_matrices=False)
    rank = int(np.sum(sv > max(M.shape) * settings.EPS * settings.ROW_BASIS_RANK_ULPS
                       * (sv[0] if sv.size else 0.0)))
    Q = U[:, :rank]
    resid = relative_residual(Q @ (Q.T @ Y), Y)
    return Q, (resid if resid > settings.FEASIBILITY_RTOL else 0.0)


def _infeasible(message: str, values: dict[str, np.ndarray],
                duals: dict[str, np.ndarray]) -> ConicSolution:
    return ConicSolution(status=INFEASIBLE, objective=float("nan"), values=values, duals=duals,
                         solver="none", tried=("none: " + message,), solver_status="infeasible",
                         message=message, wall_time=0.0)


def output_weights_lasso(outputs: np.ndarray, targets: np.ndarray, *, output_bias: str = "none",
                         solver: str | Sequence[str] | None = None, eps: float | None = None,
                         accept: Sequence[str] = (OPTIMAL,)) -> ConicSolution:
    """Best output weights for fixed hidden channels: a group lasso over their rows.

    Parameters
    ----------
    outputs : ndarray, shape (J, N)
        ``outputs[j, n]``: pooled output of hidden channel ``j`` (of unit seminorm) on
        sample ``n``.
    targets : ndarray, shape (N, n_out)
        Labels.
    output_bias : {"none", "free", "penalized"}
        As in :func:`group_lasso`.
    solver, eps, accept
        Passed to :func:`solve`.

    Returns
    -------
    ConicSolution
        ``values["v"]`` of shape ``(J, n_out)``, ``values["bias"]`` of shape ``(n_out,)``,
        ``duals["fit"]`` of shape ``(N, n_out)``.

    Notes
    -----
    Solves ``min sum_j ||v_j||_2 (+ ||b||^2/2)`` subject to
    ``sum_j outputs[j] v_j^T + 1 b^T = Y``.  Channel ``j`` scaled to ``sqrt(||v_j||)``
    with output weights ``v_j / sqrt(||v_j||)`` costs ``2 ||v_j||``, so twice the
    optimum is the norm of a network with these hidden directions: an upper bound on
    the minimal norm (used for several outputs, see ``docs/convex.md``).

    Examples
    --------
    >>> phi = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> sol = output_weights_lasso(phi, np.array([[1.0, 1.0], [1.0, 1.0]]))
    >>> bool(np.allclose(sol.values["v"][2], [1.0, 1.0], atol=1e-6))   # the shared channel
    True
    """
    Phi = np.asarray(outputs, dtype=float)
    Y = np.asarray(targets, dtype=float)
    if Phi.ndim != 2 or Y.ndim != 2 or Phi.shape[1] != Y.shape[0]:
        raise V.fail("outputs", f"have shape (J, N) with N = {Y.shape[0]} rows of targets", Phi)
    if output_bias not in OUTPUT_BIAS:
        raise V.fail("output_bias", f"be one of {OUTPUT_BIAS}", output_bias)
    J, n_out = Phi.shape[0], Y.shape[1]
    v = cp.Variable((J, n_out), name="v")
    b = cp.Variable(n_out, name="bias")
    expr = Phi.T @ v
    if output_bias != "none":
        expr = expr + np.ones((Y.shape[0], 1)) @ cp.reshape(b, (1, n_out), order="C")
    M = np.hstack([Phi.T, np.ones((Y.shape[0], 1))]) if output_bias != "none" else Phi.T
    Q, infeasible = _row_basis(M, Y)
    if infeasible:
        return _infeasible(f"the labels are outside the span of the {J} channels' outputs "
                           f"(relative residual {infeasible:.3g})",
                           {"v": np.full((J, n_out), np.nan), "bias": np.full(n_out, np.nan)},
                           {"fit": np.full(Y.shape, np.nan)})
    fit = Q.T @ expr == Q.T @ Y
    problem = _problem(cp.sum(cp.norm(v, 2, axis=1)), [fit], b, output_bias)
    sol = solve(problem, {"v": v, "bias": b}, {"fit": fit},
                solver=solver, eps=_EPS if eps is None else eps, accept=accept)
    return dataclasses.replace(sol, duals={"fit": Q @ np.reshape(sol.duals["fit"],
                                                                 (Q.shape[1], n_out))})




def output_weights_basis(outputs: np.ndarray, targets: np.ndarray, *,
                         output_bias: str = "none") -> ConicSolution:
    """One output's best output weights for fixed hidden channels, as a basic LP solution.

    Parameters
    ----------
    outputs : ndarray, shape (J, N)
        ``outputs[j, n]``: pooled output of hidden channel ``j`` (of unit seminorm) on
        sample ``n``.
    targets : ndarray, shape (N, 1)
        Labels of the one output.
    output_bias : {"none", "free"}
        Whether an output bias is absent or free (a penalised one makes the program a QP,
        whose solution need not be a vertex).

    Returns
    -------
    ConicSolution
        ``values["v"]`` of shape ``(J, 1)``, ``values["bias"]`` of shape ``(1,)``,
        ``duals["fit"]`` of shape ``(N, 1)``; solved by HiGHS (settings
        :data:`cbntheory.settings.BASIS_LP_SOLVER`).

    Notes
    -----
    The program of :func:`output_weights_lasso` with one output, written as the linear
    program ``min sum_j |v_j|`` subject to ``sum_j outputs[j] v_j + b = y``.  The
    simplex method (or an interior point followed by crossover) ends at a vertex: at
    most ``rank`` of the ``v_j`` are non-zero and they solve a square, non-singular
    system exactly, so the data can be refitted to round-off on that support
    (:func:`cbntheory.solvers.convex.model.refit_exactly`).  An interior-point answer of
    the same program spreads its weight over every near-optimal channel instead, and
    leaves a fit residual of the order of its tolerance.

    Examples
    --------
    >>> phi = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> sol = output_weights_basis(phi, np.array([[1.0], [1.0]]))
    >>> sol.status, round(sol.objective, 9), bool(np.allclose(sol.values["v"].ravel(), [0, 0, 1]))
    ('optimal', 1.0, True)
    """
    Phi = np.asarray(outputs, dtype=float)
    Y = np.asarray(targets, dtype=float)
    if Phi.ndim != 2 or Y.ndim != 2 or Y.shape[1] != 1 or Phi.shape[1] != Y.shape[0]:
        raise V.fail("outputs", f"have shape (J, N) with N = {Y.shape[0]} rows of one-column "
                     "targets", Phi)
    if output_bias not in ("none", "free"):
        raise V.fail("output_bias", "be 'none' or 'free' (a linear program)", output_bias)
    J, N = Phi.shape
    # v = v+ - v- with bounds, the standard form HiGHS solves robustly (|v| as an epigraph
    # stalls it on degenerate instances)
    vp = cp.Variable((J, 1), name="vpos", nonneg=True)
    vn = cp.Variable((J, 1), name="vneg", nonneg=True)
    b = cp.Variable(1, name="bias")
    expr = Phi.T @ (vp - vn)
    if output_bias == "free":
        expr = expr + np.ones((N, 1)) @ cp.reshape(b, (1, 1), order="C")
    fit = expr == Y
    problem = _problem(cp.sum(vp + vn), [fit], b, output_bias)
    return solve(problem, {"v": vp - vn, "bias": b}, {"fit": fit},
                 solver=settings.BASIS_LP_SOLVER, accept=(OPTIMAL,))
