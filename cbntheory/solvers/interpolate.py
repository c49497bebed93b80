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
>>> out = interpolate(arch, X, Y, rng=0)
>>> bool(np.linalg.norm(out.network(X) - Y) <= 1e-6 * np.linalg.norm(Y))
True
>>> shift = cbn.ConvOperator.from_kernel(np.sqrt(6) * np.eye(6)[1].reshape(1, 1, 6))
>>> bool(abs(out.network.param_norm() - cbn.linear_cost(shift, 2).value) < 1e-6)   # T1-data
True
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from .augmented import ConstrainedResult, minimize_norm_subject_to
from .constraints import SpectralConstraint, is_plain_linear, network_constraint
from .problem import Candidate, Problem
from .restarts import Restart, run_restarts
from .starts import initial_vector, scale_to_data

__all__ = ["interpolate", "numerical_candidate"]

SOLVER = "augmented Lagrangian + L-BFGS-B (scipy)"


def interpolate(arch: Architecture, X: np.ndarray, Y: np.ndarray, *, rng: Any = 0,
                restarts: int = 1, tol: float = settings.FIT_RTOL, init: str = "auto",
                reference: np.ndarray | None = None, time_limit: float | None = None,
                max_iter: int = settings.AL_MAX_ITER, penalty_ratio: float = settings.AL_RHO,
                extra_starts: int = 3, what: str = "") -> Candidate:
    """Small-norm network with ``f_theta(X) = Y``: augmented Lagrangian from random starts.

    Parameters
    ----------
    arch : Architecture
    X : ndarray, shape (N, n_0, *spatial)
    Y : ndarray, shape (N, *arch.output_shape)
    rng : int, Generator or None
        Master seed; restart ``j`` uses the ``j``-th child of its ``SeedSequence``.
    restarts : int
        Number of independent starts.
    tol : float
        Relative residual the returned network must reach; the optimiser aims at
        ``tol * settings.AL_FEAS_FACTOR``.
    init : {"auto", "orthogonal", "gaussian", "identity"}
        See :func:`cbntheory.solvers.starts.initial_vector`.
    reference : ndarray, optional
        Reference blocks for the orthogonal initialisation (see
        :func:`~cbntheory.solvers.starts.initial_vector`).
    time_limit : float, optional
        Seconds for all restarts together.
    max_iter : int
        L-BFGS-B iteration budget per restart.
    penalty_ratio : float
        Initial penalty ``mu = penalty_ratio * max(1, ||theta||^2)`` after the fit phase.
    extra_starts : int
        When none of the ``restarts`` starts reaches ``tol`` (the fit can stall at a
        degenerate saddle or, with ``k`` taps, a spurious local minimum), up to this many
        further starts are tried, one at a time, until one does.
    what : str
        Words on the starts for the candidate's ``how``.

    Returns
    -------
    Candidate
        The lowest-norm run that met ``tol`` (else the smallest residual), its network's
        ``seed`` that run's seed; ``info["runs"]`` per restart: ``seed``, ``objective``,
        ``residual``, ``status``, ``iterations``, ``wall_time``, ``message``; the
        optimiser's record of the best run in the other ``info`` entries.
    """
    seed = V.master_seed(rng)
    restarts = V.positive_int("restarts", restarts)
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
    return Candidate(Network.from_vector(arch, res.x, seed=run_seed), how, SOLVER,
                     converged=res.residual <= tol, info=info, options=options)


def numerical_candidate(problem: Problem, *, reference: np.ndarray | None = None,
                        what: str = "") -> Candidate:
    """Upper bound from :func:`interpolate` with the problem's options."""
    opts = problem.options
    return interpolate(problem.arch, problem.X, problem.Y, rng=problem.seed,
                       restarts=problem.restarts, tol=problem.tol,
                       init=opts.get("init", "auto"), reference=reference,
                       time_limit=problem.time_limit, what=what,
                       **({"max_iter": opts["max_iter"]} if "max_iter" in opts else {}))
