"""The numerical upper-bound route: networks with ``f_theta(X) = Y`` and small ``||theta||^2``.

The route of :func:`cbntheory.minimal_norm` wherever no closed form or convex program
applies: minimise ``sum_l ||W_l||_F^2 (+ sum_l ||b_l||^2)`` subject to
``f_theta(x_i) = y_i`` by the augmented Lagrangian of :mod:`.augmented`, from the starts
of :mod:`.starts`, with the residual maps of :mod:`.constraints` and the restarts of
:mod:`.restarts`.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (1, 2, 1), activation="linear", bias=False)
>>> X = np.random.default_rng(0).standard_normal((3, 1, 6))
>>> Y = np.roll(X, 1, axis=-1)                      # the shift by one pixel
>>> out = cbn.minimal_norm(arch, data=(X, Y), method="numerical", rng=0)
>>> bool(np.linalg.norm(out.network(X) - Y) <= 1e-6 * np.linalg.norm(Y))
True
>>> shift = cbn.ConvOperator.from_kernel(np.sqrt(6) * np.eye(6)[1].reshape(1, 1, 6))
>>> bool(abs(out.network.param_norm() - cbn.linear_cost(shift, 2).value) < 1e-6)   # T1-data
True
"""
from __future__ import annotations

import time

import numpy as np

from .. import _validate as V
from .. import settings
from ..nets.network import Network
from .augmented import ConstrainedResult, minimize_norm_subject_to
from .constraints import SpectralConstraint, is_plain_linear, network_constraint
from .exact_fit import finish_candidate
from .problem import Candidate, Problem
from .restarts import Restart, run_restarts
from .starts import initial_vector, scale_to_data

__all__ = ["numerical_candidate"]

SOLVER = "augmented Lagrangian + L-BFGS-B (scipy)"


def numerical_candidate(problem: Problem, *, reference: np.ndarray | None = None,
                        what: str = "", penalty_ratio: float = settings.AL_RHO,
                        extra_starts: int = 3) -> Candidate:
    """Small-norm network with ``f_theta(X) = Y``: augmented Lagrangian from random starts.

    Uses the problem's data, ``tol`` (the optimiser aims at ``tol *
    settings.AL_FEAS_FACTOR``), seed, restarts, ``time_limit`` (all restarts together)
    and the options ``init`` (:func:`cbntheory.solvers.starts.initial_vector`) and
    ``max_iter`` (L-BFGS-B iterations per restart).

    Parameters
    ----------
    problem : Problem
    reference : ndarray, optional
        Reference blocks for the orthogonal initialisation (see
        :func:`~cbntheory.solvers.starts.initial_vector`).
    what : str
        Words on the starts for the candidate's ``how``.
    penalty_ratio : float
        Initial penalty ``mu = penalty_ratio * max(1, ||theta||^2)`` after the fit phase.
    extra_starts : int
        When none of the ``restarts`` starts reaches ``tol`` (the fit can stall at a
        degenerate saddle or, with ``k`` taps, a spurious local minimum), up to this many
        further starts are tried, one at a time, until one does.

    Returns
    -------
    Candidate
        The lowest-norm run that met ``tol`` (else the smallest residual), its last layer
        finished exactly (:func:`cbntheory.solvers.exact_fit.finish_candidate`), its network's
        ``seed`` that run's seed; ``info["runs"]`` per restart: ``seed``, ``objective``,
        ``residual``, ``status``, ``iterations``, ``wall_time``, ``message``; the
        optimiser's record of the best run in the other ``info`` entries.
    """
    arch, X, Y, tol, restarts = problem.arch, problem.X, problem.Y, problem.tol, problem.restarts
    init = problem.options.get("init", "auto")
    max_iter = problem.options.get("max_iter", settings.AL_MAX_ITER)
    time_limit, seed = problem.time_limit, V.master_seed(problem.seed)
    extra_starts = V.positive_int("extra_starts", extra_starts, minimum=0)
    fast = is_plain_linear(arch)
    constraint = SpectralConstraint(arch, X, Y) if fast else network_constraint(arch, X, Y)
    weights = arch.penalty_mask().astype(float)
    start = time.perf_counter()
    feas = tol * settings.AL_FEAS_FACTOR

    def attempt(r: Restart) -> tuple[tuple[ConstrainedResult, int], bool]:
        theta0 = initial_vector(arch, np.random.default_rng(r.seed), init=init,
                                reference=reference)
        theta0 = scale_to_data(arch, theta0, constraint)
        res = minimize_norm_subject_to(constraint, theta0, weights=weights, feas_tol=feas,
                                       obj_rtol=settings.AL_OBJ_RTOL, rho=penalty_ratio,
                                       max_iter=max_iter, time_limit=r.left,
                                       rng=r.seed, accept_tol=0.5 * tol)
        return (res, r.seed), res.interrupted

    def key(run: tuple[ConstrainedResult, int]) -> tuple[int, float]:
        res = run[0]
        return (0, res.objective) if res.residual <= tol else (1, res.residual)

    def enough(j: int, done: list[tuple[ConstrainedResult, int]]) -> bool:
        # the extra starts are only for when no start reached tol
        return j >= restarts and any(key(run)[0] == 0 for run in done)

    done, _ = run_restarts(seed, restarts + extra_starts, attempt, time_limit=time_limit,
                           start=start, enough=enough, min_runs=1)
    if not done:  # interrupted before the first run ended
        raise KeyboardInterrupt
    res, run_seed = min(done, key=key)
    runs = tuple({"seed": s, "objective": r.objective, "residual": r.residual,
                  "status": r.status, "iterations": r.n_iterations,
                  "wall_time": r.wall_time, "message": r.message} for r, s in done)
    options = {"restarts": restarts, "extra_starts": extra_starts, "init": init, "tol": tol,
               "feas_tol": feas, "max_iter": max_iter, "penalty_ratio": penalty_ratio,
               "time_limit": time_limit, "constraint": "spectral" if fast else "engine"}
    how = (f"augmented Lagrangian with L-BFGS-B inner solves from {len(runs)} random "
           f"start(s){what} (best: seed {run_seed}, {res.n_iterations} iterations, "
           f"{res.status}: {res.message})")
    info = {"runs": runs, "iterations": res.n_iterations, "evaluations": res.n_evaluations,
            "optimizer_status": res.status, "perturbations": res.perturbations,
            "interrupted": res.interrupted, "history": res.history}
    cand = Candidate(Network.from_vector(arch, res.x, seed=run_seed), how, SOLVER,
                     converged=res.residual <= tol, info=info, options=options)
    return finish_candidate(problem, cand)  # exact interpolation, as the lower bounds assume

