"""The one module that talks to cvxpy: solver choice, fallback, status mapping, programs.

Two layers, kept apart on purpose:

* :func:`solve` — the generic core.  It solves any ``cvxpy.Problem`` with the
  solvers of :data:`cbntheory.settings.CONIC_SOLVERS` in order (Clarabel, then SCS),
  at the accuracy :data:`cbntheory.settings.CONIC_EPS`, maps cvxpy's status onto the
  fixed vocabulary of :mod:`cbntheory.results`, and returns the named primal and dual
  values as plain numpy arrays in a frozen :class:`ConicSolution`.  It never raises
  cvxpy's exceptions: when every solver fails it raises
  :class:`~cbntheory.errors.SolverError` naming them.
* Program builders, one function per convex program, each taking and returning plain
  arrays: :func:`group_lasso` (the convex two-layer ReLU program of Pilanci & Ergen
  used by :mod:`cbntheory.convex`).  Further programs (e.g. per-frequency nuclear norms
  for linear CNNs) go next to it and reuse :func:`solve`.

Examples
--------
>>> import cvxpy as cp
>>> x = cp.Variable(2)
>>> prob = cp.Problem(cp.Minimize(cp.norm(x, 2)), [x[0] + x[1] == 2])
>>> sol = solve(prob, variables={"x": x})
>>> sol.status, bool(np.allclose(sol.values["x"], [1.0, 1.0], atol=1e-7))
('optimal', True)
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np
from scipy import sparse

from . import _validate as V
from . import fourier, settings
from .errors import SolverError
from .results import INFEASIBLE, OPTIMAL, OPTIMAL_INACCURATE, SOLVER_ERROR

__all__ = ["ConicSolution", "NuclearNormSolution", "OUTPUT_BIAS", "group_lasso",
           "nuclear_norm_interpolation", "output_weights_lasso", "solve", "solver_order",
           "status_of"]

#: How the output bias enters :func:`group_lasso`.
OUTPUT_BIAS = ("none", "free", "penalized")

_STATUS = {
    cp.OPTIMAL: OPTIMAL,
    cp.OPTIMAL_INACCURATE: OPTIMAL_INACCURATE,
    cp.INFEASIBLE: INFEASIBLE,
    cp.INFEASIBLE_INACCURATE: INFEASIBLE,
}


def status_of(cvxpy_status: str | None) -> str:
    """Map a cvxpy status onto the vocabulary of :data:`cbntheory.results.STATUSES`.

    Unbounded answers count as solver errors: every program of cbntheory minimises a
    norm, which is bounded below.

    Examples
    --------
    >>> status_of("optimal_inaccurate"), status_of("unbounded"), status_of(None)
    ('optimal_inaccurate', 'solver_error', 'solver_error')
    """
    return _STATUS.get(cvxpy_status, SOLVER_ERROR)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class ConicSolution:
    """What a conic solve returned, as plain data.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"optimal_inaccurate"`` or ``"infeasible"`` (solver failures raise).
    objective : float
        Objective value reported by the solver (``nan`` when infeasible).
    values : Mapping[str, ndarray]
        Primal values of the named variables/expressions.
    duals : Mapping[str, ndarray]
        Dual values of the named constraints, with cvxpy's sign convention.
    solver : str
        Solver whose answer this is.
    tried : tuple of str
        Every solver tried, in order, with the outcome, e.g. ``("CLARABEL: optimal",)``.
    solver_status : str
        cvxpy's raw status string.
    message : str
        Human-readable account (solver warnings included).
    wall_time : float
        Seconds spent in all attempts.
    options : Mapping
        Options passed to the solver that answered.
    """

    status: str
    objective: float
    values: Mapping[str, np.ndarray]
    duals: Mapping[str, np.ndarray]
    solver: str
    tried: tuple[str, ...]
    solver_status: str
    message: str
    wall_time: float
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def solver_options(name: str, eps: float) -> dict[str, Any]:
    """Accuracy options of a conic solver at relative/absolute accuracy ``eps``."""
    if name == "CLARABEL":
        return {"tol_gap_abs": eps, "tol_gap_rel": eps, "tol_feas": eps, "max_iter": 500}
    if name == "SCS":
        return {"eps_abs": eps, "eps_rel": eps, "max_iters": settings.SCS_MAX_ITERS}
    return {}


def solver_order(solver: str | Sequence[str] | None) -> tuple[str, ...]:
    """Solver names to try, in order: ``solver`` (upper-cased) or the default fallback order."""
    if solver is None:
        return tuple(settings.CONIC_SOLVERS)
    if isinstance(solver, str):
        names: tuple = (solver,)
    elif isinstance(solver, (list, tuple)):
        names = tuple(solver)
    else:
        names = ()
    if not names or not all(isinstance(s, str) for s in names):
        raise V.fail("solver", "be None, a solver name such as 'CLARABEL' or 'SCS', or a "
                     "sequence of names", solver)
    return tuple(s.upper() for s in names)


def solve(problem: cp.Problem, variables: Mapping[str, Any], constraints: Mapping[str, Any]
          | None = None, *, solver: str | Sequence[str] | None = None,
          eps: float | Mapping[str, float] | None = None,
          accept: Sequence[str] = (OPTIMAL,)) -> ConicSolution:
    """Solve a cvxpy problem with fallback and return named values as numpy arrays.

    Parameters
    ----------
    problem : cvxpy.Problem
        The program (any problem class the solvers accept: LP, SOCP, SDP...).
    variables : Mapping[str, cvxpy.Expression]
        Named variables or expressions whose values to return.
    constraints : Mapping[str, cvxpy.Constraint], optional
        Named constraints whose dual values to return.
    solver : str or sequence of str, optional
        Solver(s) to try in order; default :data:`cbntheory.settings.CONIC_SOLVERS`.
    eps : float or Mapping[str, float], optional
        Requested accuracy, for all solvers or per solver name (missing names and the
        default: :data:`cbntheory.settings.CONIC_EPS`).
    accept : sequence of str
        Statuses returned at once; any other answer moves on to the next solver.  Pass
        ``("optimal", "optimal_inaccurate")`` when the caller re-verifies the answer
        itself and only wants a fallback if that check fails.

    Returns
    -------
    ConicSolution
        The first answer with an accepted status or ``"infeasible"``, else the first
        ``"optimal_inaccurate"`` one.

    Raises
    ------
    SolverError
        When no solver produced an answer; the message names the solvers tried, what
        each said, and what to change.
    """
    constraints = {} if constraints is None else constraints
    names = solver_order(solver)
    start = time.perf_counter()
    tried: list[str] = []
    fallback: ConicSolution | None = None
    for name in names:
        if isinstance(eps, Mapping):
            eps_used = float(eps.get(name, settings.CONIC_EPS))
        else:
            eps_used = settings.CONIC_EPS if eps is None else float(eps)
        opts = solver_options(name, eps_used)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                problem.solve(solver=name, **opts)
            except (cp.error.SolverError, ValueError, ArithmeticError) as exc:
                tried.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
                continue
        raw = problem.status
        status = status_of(raw)
        tried.append(f"{name}: {raw}")
        if status == SOLVER_ERROR:
            continue
        notes = "; ".join(str(w.message).splitlines()[0] for w in caught)
        if status == INFEASIBLE:
            values = {k: np.full(np.shape(v), np.nan) for k, v in variables.items()}
            duals = {k: np.full(np.shape(c.expr), np.nan) for k, c in constraints.items()}
            objective = float("nan")
        else:
            values = {k: np.array(v.value, dtype=float) for k, v in variables.items()}
            duals = {k: np.array(c.dual_value, dtype=float) for k, c in constraints.items()}
            objective = float(problem.value)
        message = f"{name} returned {raw!r} at eps={eps_used:g}" + (
            f" ({notes})" if notes else "")
        sol = ConicSolution(status=status, objective=objective, values=values, duals=duals,
                            solver=name, tried=tuple(tried), solver_status=str(raw),
                            message=message, wall_time=time.perf_counter() - start,
                            options=dict(opts))
        if status in accept or status == INFEASIBLE:
            return sol
        if fallback is None:
            fallback = sol
    if fallback is not None:
        return dataclasses.replace(fallback, tried=tuple(tried),
                                   wall_time=time.perf_counter() - start)
    raise SolverError(
        f"no conic solver produced an answer; tried {', '.join(tried) or 'none'}. "
        "Try another solver (solver='SCS' or 'CLARABEL'), a looser eps, or rescale the "
        "data to unit size")


def _two_layer_eps(eps: float | None) -> float | dict[str, float]:
    """Default accuracy of the two-layer programs: CLARABEL_EPS for Clarabel (see settings)."""
    return {"CLARABEL": settings.CLARABEL_EPS} if eps is None else eps


def group_lasso(features: np.ndarray, hyperplanes: np.ndarray, signs: np.ndarray,
                targets: np.ndarray, *, norm_dims: int, output_bias: str = "none",
                walls: np.ndarray | None = None, solver: str | Sequence[str] | None = None,
                eps: float | None = None, accept: Sequence[str] = (OPTIMAL,)) -> ConicSolution:
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
    solver, eps, accept
        Passed to :func:`solve` (default accuracy :data:`cbntheory.settings.CLARABEL_EPS`
        for Clarabel: the numpy certificate measures the accuracy reached).

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
    norm_dims = V.positive_int("norm_dims", norm_dims)
    mask = np.ones(S.shape, dtype=bool) if walls is None else np.asarray(walls, dtype=bool)
    if mask.shape != S.shape:
        raise V.fail("walls", f"have the shape of signs {S.shape}", mask)
    n_out = Y.shape[1]
    # cone rows s_{D,j} <h_j, a_D> >= 0 as one sparse matrix acting on vec(a) (column order)
    d_idx, j_idx = np.nonzero(mask)
    coef = S[d_idx, j_idx, None] * H[j_idx]  # (rows, r)
    cone = sparse.csr_matrix(
        (coef.ravel(), (np.repeat(np.arange(len(d_idx)), r),
                        (d_idx[:, None] + P * np.arange(r)[None, :]).ravel())),
        shape=(len(d_idx), P * r))
    A = F.transpose(1, 2, 0).reshape(N, r * P)  # acts on vec(block matrix) in column order
    Q, infeasible = _row_basis(np.hstack([A, np.ones((N, 1))]) if output_bias != "none" else A,
                               Y)
    if infeasible:
        return _infeasible(f"the labels are outside the span of the {P} patterns' features "
                           f"(relative residual {infeasible:.3g})",
                           {"pos": np.full((n_out, P, r), np.nan),
                            "neg": np.full((n_out, P, r), np.nan),
                            "bias": np.full(n_out, np.nan)}, {"fit": np.full((N, n_out), np.nan)})
    pos = [cp.Variable((P, r), name=f"pos{o}") for o in range(n_out)]
    neg = [cp.Variable((P, r), name=f"neg{o}") for o in range(n_out)]
    b = cp.Variable(n_out, name="bias")
    cons: list[Any] = []
    fits = []
    for o in range(n_out):
        expr = A @ cp.vec(pos[o] - neg[o], order="F")
        if output_bias != "none":
            expr = expr + b[o]
        fit = Q.T @ expr == Q.T @ Y[:, o]  # independent rows only (see _row_basis)
        fits.append(fit)
        if len(d_idx):
            cons += [cone @ cp.vec(pos[o], order="F") >= 0, cone @ cp.vec(neg[o], order="F") >= 0]
    block = [cp.norm(pos[o][:, :norm_dims], 2, axis=1) + cp.norm(neg[o][:, :norm_dims], 2, axis=1)
             for o in range(n_out)]
    if n_out == 1:
        objective = cp.sum(block[0])
    else:
        objective = cp.sum(cp.norm(cp.vstack(block), 2, axis=0))
    if output_bias == "penalized":
        objective = objective + 0.5 * cp.sum_squares(b)
    if output_bias == "none":
        cons.append(b == 0)
    problem = cp.Problem(cp.Minimize(objective), fits + cons)
    variables = {"bias": b}
    variables.update({f"pos{o}": pos[o] for o in range(n_out)})
    variables.update({f"neg{o}": neg[o] for o in range(n_out)})
    sol = solve(problem, variables, {f"fit{o}": fits[o] for o in range(n_out)},
                solver=solver, eps=_two_layer_eps(eps), accept=accept)
    values = {
        "pos": np.stack([sol.values[f"pos{o}"] for o in range(n_out)]),
        "neg": np.stack([sol.values[f"neg{o}"] for o in range(n_out)]),
        "bias": np.reshape(sol.values["bias"], (n_out,)),
    }
    duals = {"fit": np.stack([Q @ np.reshape(sol.duals[f"fit{o}"], (Q.shape[1],))
                              for o in range(n_out)], axis=1)}
    return dataclasses.replace(sol, values=values, duals=duals)


def _row_basis(M: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, float]:
    """Orthonormal basis ``Q`` of the column space of ``M``, and ``Y``'s relative residual.

    Equality constraints ``M x = Y`` are replaced by ``Q^T M x = Q^T Y``: the same set
    when ``Y`` lies in the range of ``M``, but with independent rows.  Data with few
    distinct patches (small-integer images) make the rows of ``M`` dependent, and
    interior-point solvers then fail at the first factorisation.  The multipliers of the
    original rows are ``Q mu``.  Returns the residual (0.0 when feasible) as second item.
    """
    U, sv, _ = np.linalg.svd(M, full_matrices=False)
    rank = int(np.sum(sv > max(M.shape) * settings.EPS * 100 * (sv[0] if sv.size else 0.0)))
    Q = U[:, :rank]
    resid = float(np.linalg.norm(Y - Q @ (Q.T @ Y))) / max(float(np.linalg.norm(Y)), 1e-300)
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
    objective = cp.sum(cp.norm(v, 2, axis=1))
    if output_bias == "penalized":
        objective = objective + 0.5 * cp.sum_squares(b)
    M = np.hstack([Phi.T, np.ones((Y.shape[0], 1))]) if output_bias != "none" else Phi.T
    Q, infeasible = _row_basis(M, Y)
    if infeasible:
        return _infeasible(f"the labels are outside the span of the {J} channels' outputs "
                           f"(relative residual {infeasible:.3g})",
                           {"v": np.full((J, n_out), np.nan), "bias": np.full(n_out, np.nan)},
                           {"fit": np.full(Y.shape, np.nan)})
    fit = Q.T @ expr == Q.T @ Y
    cons = [fit] + ([b == 0] if output_bias == "none" else [])
    sol = solve(cp.Problem(cp.Minimize(objective), cons), {"v": v, "bias": b}, {"fit": fit},
                solver=solver, eps=_two_layer_eps(eps), accept=accept)
    return dataclasses.replace(sol, duals={"fit": Q @ np.reshape(sol.duals["fit"],
                                                                 (Q.shape[1], n_out))})


# ---------------------------------------------------------------------------------------
# Linear CNNs of depth 2 on finite data: per-frequency nuclear-norm programs
# ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NuclearNormSolution:
    """Per-frequency minimal nuclear norms: what :func:`nuclear_norm_interpolation` returns.

    Attributes
    ----------
    blocks : ndarray, complex, shape (*spatial, C_out, C_in)
        Minimisers ``A_m``, conjugate-symmetric (``A_{-m} = conj(A_m)``).
    norms : ndarray, shape spatial
        ``||A_m||_*`` recomputed in numpy from :attr:`blocks`.
    objectives : ndarray, shape spatial
        Objective reported by the solver for each program (partners copy theirs).
    residuals : ndarray, shape spatial
        ``||A_m X_m - Y_m||_F / max(1, ||Y_m||_F)`` recomputed in numpy.
    status : str
        Worst status over the programs.
    solver : str
        Solvers that answered (joined when several were needed).
    n_programs : int
        Programs solved (one per conjugate pair of frequencies).
    message : str
    wall_time : float
    """

    blocks: np.ndarray
    norms: np.ndarray
    objectives: np.ndarray
    residuals: np.ndarray
    status: str
    solver: str
    n_programs: int
    message: str
    wall_time: float


_RANK = {OPTIMAL: 0, OPTIMAL_INACCURATE: 1, INFEASIBLE: 2}


def _nuclear_program(cout: int, cin: int, r: int, real: bool) -> tuple[Any, ...]:
    """A parametrised program ``min ||A||_* s.t. A P = Q`` (compiled once per shape, DPP)."""
    R = cp.Variable((cout, cin), name="re")
    Pr, Qr = cp.Parameter((cin, r), name="p_re"), cp.Parameter((cout, r), name="q_re")
    if real:
        cons = [R @ Pr == Qr]
        return cp.Problem(cp.Minimize(cp.normNuc(R)), cons), R, None, (Pr, None, Qr, None)
    Im = cp.Variable((cout, cin), name="im")
    Pi, Qi = cp.Parameter((cin, r), name="p_im"), cp.Parameter((cout, r), name="q_im")
    cons = [R @ Pr - Im @ Pi == Qr, R @ Pi + Im @ Pr == Qi]
    # the real embedding [[Re, -Im], [Im, Re]] repeats every singular value of A twice
    objective = 0.5 * cp.normNuc(cp.bmat([[R, -Im], [Im, R]]))
    return cp.Problem(cp.Minimize(objective), cons), R, Im, (Pr, Pi, Qr, Qi)


def nuclear_norm_interpolation(Xh: np.ndarray, Yh: np.ndarray, *,
                               solver: str | Sequence[str] | None = None,
                               eps: float | None = None, rank_rtol: float = 1e-12
                               ) -> NuclearNormSolution:
    """Minimise ``||A_m||_*`` subject to ``A_m X_m = Y_m``, one small program per frequency pair.

    Parameters
    ----------
    Xh : ndarray, complex, shape (*spatial, C_in, N)
        Full DFT of the inputs (``numpy.fft.fftn`` over the spatial axes), channels and
        samples last.
    Yh : ndarray, complex, shape (*spatial, C_out, N)
        Full DFT of the outputs.
    solver, eps
        Passed to :func:`solve`.
    rank_rtol : float
        Singular values of ``X_m`` below ``rank_rtol * max_m s_max(X_m)`` are dropped when
        the constraints are compressed.

    Returns
    -------
    NuclearNormSolution

    Notes
    -----
    A depth-2 linear CNN with full-size filters fitting the data costs
    ``(2/(d c^2)) sum_m ||A_m||_*`` at best (T1 with ``L = 2``), and the constraints
    decouple per frequency, so the convex program splits into one program per
    conjugate pair ``{m, -m}`` (the partner takes the conjugate block) — never a dense
    DFT matrix.  Self-conjugate frequencies get real programs.  The constraints are
    compressed to ``A_m (U_r S_r) = Y_m V_r`` with the SVD ``X_m = U S V^H`` of rank
    ``r`` (equivalent whenever the data are consistent); a complex block enters as the
    real embedding ``[[Re, -Im], [Im, Re]]``, whose nuclear norm is twice ``||A_m||_*``.
    Programs of the same shape are compiled once and re-solved with new parameters.

    Examples
    --------
    One channel, one sample: the least-norm multiplier ``y/x`` per frequency.

    >>> x = np.fft.fft([1.0, 2.0, 0.0, 0.0]).reshape(4, 1, 1)
    >>> y = np.fft.fft([0.0, 1.0, 2.0, 0.0]).reshape(4, 1, 1)     # the shift by one pixel
    >>> sol = nuclear_norm_interpolation(x, y)
    >>> bool(np.allclose(sol.norms, 1.0, atol=1e-7)), sol.n_programs
    (True, 3)
    """
    start = time.perf_counter()
    Xh = np.asarray(Xh, dtype=complex)
    Yh = np.asarray(Yh, dtype=complex)
    if Xh.ndim not in (3, 4) or Yh.shape[:-2] != Xh.shape[:-2] or Yh.shape[-1] != Xh.shape[-1]:
        raise V.fail("Yh", f"have shape (*spatial, C_out, {Xh.shape[-1]}) matching Xh "
                     f"{Xh.shape}", Yh)
    nd = Xh.ndim - 2
    shape = Xh.shape[:nd]
    cin, cout = Xh.shape[-2], Yh.shape[-2]
    blocks = np.zeros(shape + (cout, cin), dtype=complex)
    objectives = np.zeros(shape)
    reps = fourier.representative_mask(shape)
    selfc = fourier.self_conjugate_mask(shape)
    u, s, vh = np.linalg.svd(Xh, full_matrices=False)
    cut = rank_rtol * max(float(s.max(initial=0.0)), np.finfo(float).tiny)
    cache: dict[tuple[int, bool], tuple[Any, ...]] = {}
    worst, solvers, notes, count = OPTIMAL, [], [], 0
    for m in zip(*np.nonzero(reps)):
        r = int(np.sum(s[m] > cut))
        if r == 0:
            continue  # no constraint: the zero block is optimal
        real = bool(selfc[m])
        P = u[m][:, :r] * s[m][:r]
        Q = Yh[m] @ vh[m][:r].conj().T
        key = (r, real)
        if key not in cache:
            cache[key] = _nuclear_program(cout, cin, r, real)
        prob, R, Im, (Pr, Pi, Qr, Qi) = cache[key]
        Pr.value, Qr.value = np.ascontiguousarray(P.real), np.ascontiguousarray(Q.real)
        if not real:
            Pi.value, Qi.value = np.ascontiguousarray(P.imag), np.ascontiguousarray(Q.imag)
        names = {"re": R} if real else {"re": R, "im": Im}
        sol = solve(prob, names, solver=solver, eps=eps)
        count += 1
        if _RANK[sol.status] > _RANK[worst]:
            worst = sol.status
            notes.append(f"frequency {tuple(int(i) for i in m)}: {sol.message}")
        if sol.solver not in solvers:
            solvers.append(sol.solver)
        if sol.status == INFEASIBLE:
            continue
        blocks[m] = sol.values["re"] + (0 if real else 1j * sol.values["im"])
        objectives[m] = sol.objective
    partner = ~reps
    blocks = np.where(partner[..., None, None], fourier.conjugate(blocks, nd).conj(), blocks)
    objectives = np.where(partner, fourier.conjugate(objectives, nd), objectives)
    norms = np.linalg.svd(blocks, compute_uv=False).sum(axis=-1)
    resid = (np.linalg.norm(blocks @ Xh - Yh, axis=(-2, -1))
             / np.maximum(1.0, np.linalg.norm(Yh, axis=(-2, -1))))
    message = (f"{count} programs ({len(cache)} compiled shapes), worst status {worst!r}"
               + (f"; {'; '.join(notes)}" if notes else ""))
    return NuclearNormSolution(blocks=blocks, norms=norms, objectives=objectives,
                               residuals=resid, status=worst, solver="+".join(solvers) or "none",
                               n_programs=count, message=message,
                               wall_time=time.perf_counter() - start)
