"""Core of :mod:`cbntheory.backends.conic` (see there): solve, fall back, map statuses."""
from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cvxpy as cp
import numpy as np

from ... import _validate as V
from ... import settings
from ...errors import SolverError
from ...results import INFEASIBLE, OPTIMAL, OPTIMAL_INACCURATE, SOLVER_ERROR

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
        return {"tol_gap_abs": eps, "tol_gap_rel": eps, "tol_feas": eps,
                "max_iter": settings.CLARABEL_MAX_ITER}
    if name == "SCS":
        return {"eps_abs": eps, "eps_rel": eps, "max_iters": settings.SCS_MAX_ITERS}
    if name == "SCIPY":  # scipy's HiGHS: a vertex of a linear program (dual simplex)
        return {"scipy_options": {"method": "highs-ds", "primal_feasibility_tolerance": eps,
                                  "dual_feasibility_tolerance": eps}}
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
          accept: Sequence[str] = (OPTIMAL,),
          check: Callable[[ConicSolution], int] | None = None) -> ConicSolution:
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
        Statuses accepted; any other answer moves on to the next solver.
    check : callable, optional
        The caller's re-verification of an accepted answer, as a rank (0: good); while
        it is positive the next solvers are tried.

    Returns
    -------
    ConicSolution
        The first answer with an accepted status (and rank 0) or ``"infeasible"``, else
        the best-ranked accepted one, else the first ``"optimal_inaccurate"`` one.

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
    best: tuple[int, ConicSolution] | None = None
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
        if status == INFEASIBLE:
            return sol
        if status in accept:
            rank = 0 if check is None else check(sol)
            if rank == 0:
                return sol
            best = (rank, sol) if best is None or rank < best[0] else best
        elif fallback is None:
            fallback = sol
    fallback = fallback if best is None else best[1]
    if fallback is not None:
        return dataclasses.replace(fallback, tried=tuple(tried),
                                   wall_time=time.perf_counter() - start)
    raise SolverError(
        f"no conic solver produced an answer; tried {', '.join(tried) or 'none'}. "
        "Try another solver (solver='SCS' or 'CLARABEL'), a looser eps, or rescale the "
        "data to unit size")

