"""The one verification path: every answer of every solver case is re-checked here in numpy.

A case solver hands back an :class:`~cbntheory.solvers.problem.Outcome` (candidate
networks and a certified lower bound).  :func:`finish` runs each candidate forward on
the data, recomputes its parameter norm, keeps the lowest-norm network that fits to
``tol``, applies the interval rule :func:`cbntheory.results.interval_status` and
writes the status and the message of the :class:`~cbntheory.results.NormResult`.
No case assigns its own status.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from .. import settings
from ..results import (
    OPTIMAL,
    OPTIMAL_INACCURATE,
    SOLVER_ERROR,
    VERIFIED,
    NormResult,
    interval_status,
    relative_residual,
    report_accuracy,
)
from .problem import Candidate, Outcome, Problem


@dataclasses.dataclass(frozen=True)
class Verification:
    """A candidate network re-checked in numpy: recomputed norm, residual and verdicts."""

    candidate: Candidate
    norm: float
    residual: float
    fits: bool
    claim_ok: bool


def verify(problem: Problem, cand: Candidate) -> Verification:
    """Forward pass, recomputed norm and claim check of one candidate."""
    norm = float(cand.network.param_norm())
    resid = relative_residual(cand.network(problem.X), problem.Y)
    fits = bool(np.isfinite(resid) and resid <= problem.tol)
    claim_ok = (cand.claimed is None or abs(cand.claimed - norm)
                <= settings.OBJECTIVE_RTOL * max(1.0, abs(norm)))
    return Verification(candidate=cand, norm=norm, residual=resid, fits=fits,
                        claim_ok=claim_ok)


def _best(checks: list[Verification]) -> Verification | None:
    fitting = [c for c in checks if c.fits]
    if fitting:
        return min(fitting, key=lambda c: c.norm)
    return min(checks, key=lambda c: c.residual, default=None)


def _status_and_notes(problem: Problem, best: Verification,
                      lower: float | None) -> tuple[str, list[str]]:
    cand, upper, resid = best.candidate, best.norm, best.residual
    notes = []
    if not best.fits:
        notes.append(f"the network does not reproduce the data: relative residual "
                     f"{resid:.3e} > tol = {problem.tol:.1e}")
        return (OPTIMAL_INACCURATE if cand.converged else SOLVER_ERROR), notes
    status = interval_status(lower, upper)
    if status == OPTIMAL_INACCURATE:
        notes.append(f"the network's norm {upper:.10g} is below the certified lower bound "
                     f"{lower:.10g}: it reproduces the data only to {resid:.1e}, and the "
                     "minimal norm is ill-conditioned at that accuracy")
    if not best.claim_ok:
        status = OPTIMAL_INACCURATE
        notes.append(f"{cand.solver} reported norm {cand.claimed:.10g} but the network's "
                     f"recomputed norm is {upper:.10g}")
    return status, notes


def _message(upper_part: str, outcome: Outcome, upper: float, notes: list[str]) -> str:
    lower = outcome.lower
    gap = math.inf if lower is None else upper - lower
    tail = [n[0].upper() + n[1:] + "." for n in ([outcome.note] if outcome.note else []) + notes]
    return (f"{upper_part}. Lower bound: {outcome.lower_how}"
            + ("" if lower is None else f" = {lower:.10g}; gap {gap:.3e}") + ". "
            + " ".join(tail)).strip()


def finish(problem: Problem, outcome: Outcome, start: float) -> NormResult:
    """Verify every candidate of ``outcome`` and build the :class:`NormResult`.

    ``start`` is the ``time.perf_counter()`` reading at which the solve began.  When no
    candidate fits and ``outcome.withhold_unfit``, the result has no network and
    ``upper = inf`` (the closest network goes to ``info["best_unverified"]``).
    """
    checks = [verify(problem, c) for c in outcome.candidates]
    best = _best(checks)
    info = dict(outcome.info)
    info["candidates"] = tuple({"how": c.candidate.how, "solver": c.candidate.solver,
                                "norm": c.norm, "residual": c.residual, "fits": c.fits}
                               for c in checks)
    cand = None if best is None else best.candidate
    if best is None or (not best.fits and outcome.withhold_unfit):
        upper, network, resid = math.inf, None, math.inf if best is None else best.residual
        status = OPTIMAL_INACCURATE if cand is not None and cand.converged else SOLVER_ERROR
        upper_part = f"no network reproducing the data to tol = {problem.tol:.1e}"
        notes: list[str] = []
        if best is not None:
            info["best_unverified"] = best.candidate.network
            upper_part += (f"; the closest, from {best.candidate.how}, has relative residual "
                           f"{resid:.3g}")
    else:
        upper, network, resid = best.norm, best.candidate.network, best.residual
        status, notes = _status_and_notes(problem, best, outcome.lower)
        upper_part = f"upper bound {upper:.10g}: {best.candidate.how}; residual {resid:.2e}"
        info.update(best.candidate.info)
    message = _message(upper_part, outcome, upper, notes)
    report_accuracy(status, message, strict=problem.strict)
    exact = status == OPTIMAL and any(c.candidate.exact and c.fits for c in checks)
    if outcome.exact is not None:  # the case proves exactness itself
        exact = outcome.exact and status in VERIFIED
    options = {"method": problem.method, "tol": problem.tol, "restarts": problem.restarts,
               "time_limit": problem.time_limit, **problem.options,
               **({} if cand is None else cand.options)}
    return NormResult(value=upper, lower=outcome.lower, upper=upper, status=status,
                      message=message, network=network, seed=problem.seed,
                      solver="" if cand is None else cand.solver, options=options,
                      residual=resid, wall_time=time.perf_counter() - start, exact=exact,
                      info=info)
