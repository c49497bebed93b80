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
    """Status and notes of a candidate that fits the data to ``tol``."""
    cand, upper, resid = best.candidate, best.norm, best.residual
    notes = []
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


def _rounded_lower(outcome: Outcome, best: Verification | None) -> float | None:
    """``outcome.lower`` minus its certified error at the kept network's residual."""
    lower, slope = outcome.lower, outcome.lower_sensitivity
    if lower is None or best is None or not slope or not np.isfinite(best.residual):
        return lower
    return max(0.0, lower - slope * best.residual)


def finish(problem: Problem, outcome: Outcome, start: float) -> NormResult:
    """Verify every candidate of ``outcome`` and build the :class:`NormResult`.

    ``start`` is the ``time.perf_counter()`` reading at which the solve began.

    The one rule for failures: a result whose status is not in
    :data:`cbntheory.results.VERIFIED` carries no network and ``value = upper = inf``
    (the closest network, and its norm, go to ``info["best_unverified"]`` and
    ``info["unverified_norm"]``), and its message does not call anything an upper bound.
    ``outcome.withhold_unfit`` is kept for the cases' own documentation; every case now
    withholds.

    The certified lower bound is rounded down by its own certified error: a case that
    states ``outcome.lower_sensitivity`` (how much the bound can drop per unit of relative
    residual, the bound being for exact interpolation) gets
    ``lower - lower_sensitivity * residual`` of the kept network, a bound that holds for
    every network fitting the data at least as well.
    """
    checks = [verify(problem, c) for c in outcome.candidates]
    best = _best(checks)
    info = dict(outcome.info)
    info["candidates"] = tuple({"how": c.candidate.how, "solver": c.candidate.solver,
                                "norm": c.norm, "residual": c.residual, "fits": c.fits}
                               for c in checks)
    cand = None if best is None else best.candidate
    lower = _rounded_lower(outcome, best)
    if best is not None and lower is not None and lower != outcome.lower:
        outcome = dataclasses.replace(
            outcome, lower=lower, lower_how=f"{outcome.lower_how}, rounded down by "
            f"{outcome.lower_sensitivity:.3g} x the residual {best.residual:.2e} (its certified "
            "error for networks that fit only to that residual)")
    status, notes = SOLVER_ERROR, list[str]()
    if best is not None and best.fits:
        status, notes = _status_and_notes(problem, best, outcome.lower)
    elif cand is not None and cand.converged:
        status = OPTIMAL_INACCURATE
    if best is not None and status in VERIFIED:
        upper, network, resid = best.norm, best.candidate.network, best.residual
        upper_part = f"upper bound {upper:.10g}: {best.candidate.how}; residual {resid:.2e}"
        info.update(best.candidate.info)
    else:
        upper, network, resid = math.inf, None, math.inf if best is None else best.residual
        upper_part = (f"no verified network (status {status}): none reproduces the data to "
                      f"tol = {problem.tol:.1e}" if best is None or not best.fits else
                      f"no verified network (status {status})")
        if best is not None:
            info["best_unverified"] = best.candidate.network
            info["unverified_norm"] = best.norm
            upper_part += (f"; the closest, from {best.candidate.how}, has relative residual "
                           f"{resid:.3g} and norm {best.norm:.6g}, not a bound")
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
