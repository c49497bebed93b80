"""``cbn.minimal_norm``: the minimal parameter norm of a network class, as a certified interval.

The dispatcher validates the question (:func:`cbntheory.solvers.problem.make_problem`),
hands it to the case of the architecture's activation in :data:`CASES` (a module with
``solve(problem) -> Outcome``; depth 1 of a non-linear activation goes to
:data:`DEPTH_ONE`, the exact affine case) and gives every outcome to the one verification path,
:func:`cbntheory.solvers.verify.finish` (forward pass, recomputed norm, interval rule,
status and message).  An activation without a registered case still gets a numerical
upper bound and no lower bound.  See ``docs/solvers.md`` for each case.
"""
from __future__ import annotations

import importlib
import time
from typing import Any

from .. import _validate as V
from .. import settings
from ..nets.architecture import Architecture
from ..results import NormResult
from .interpolate import numerical_candidate
from .problem import Outcome, Problem, make_problem
from .verify import finish

__all__ = ["CASES", "DEPTH_ONE", "minimal_norm", "register_case", "stop_if_interrupted"]

#: Solver module of each activation; each defines ``solve(problem) -> Outcome``.
CASES: dict[str, str] = {"linear": "cbntheory.solvers.linear", "relu": "cbntheory.solvers.relu"}


def register_case(activation: str, module: str) -> None:
    """Route architectures with ``activation`` to ``module.solve`` (a dotted module path)."""
    if not isinstance(activation, str) or not isinstance(module, str):
        raise V.fail("activation, module", "be strings", (activation, module))
    CASES[activation] = module


#: Case of depth-1 networks of every activation but "linear" (which has its own closed
#: forms): a depth-1 network applies no activation, so it is affine and exact.
DEPTH_ONE = "cbntheory.solvers.affine"


def _case(problem: Problem) -> Outcome:
    arch = problem.arch
    if arch.depth == 1 and arch.activation != "linear" and problem.method != "numerical":
        return importlib.import_module(DEPTH_ONE).solve(problem)
    name = CASES.get(problem.arch.activation)
    if name is None:
        return Outcome(candidates=(numerical_candidate(problem),), lower=None,
                       lower_how=f"no certified lower bound is implemented for activation "
                       f"{problem.arch.activation!r}")
    return importlib.import_module(name).solve(problem)


def minimal_norm(arch: Architecture, *, data: Any = None, target: Any = None, rng: Any = 0,
                 restarts: int = 1, tol: float = settings.FIT_RTOL, strict: bool = False,
                 method: str = "auto", time_limit: float | None = None,
                 epsilon: float = 0.0, **options: Any) -> NormResult:
    """Minimal parameter norm of the networks of ``arch`` reproducing a target: ``[lower, upper]``.

    Parameters
    ----------
    arch : Architecture
        The network class (widths, kernel size, activation, biases, normalisation).
    data : tuple (X, Y), optional
        Finite domain: ``X`` of shape ``(N, n_0, *spatial)`` and ``Y`` of shape
        ``(N, *arch.output_shape)``.
    target : ConvOperator or Network, optional
        Whole-space target of a linear architecture (exactly one of ``data``/``target``);
        or a Network sampled at the inputs ``data=X`` (any architecture with the same
        input and output shapes; see :func:`cbntheory.solvers.problem.sample_target`).
    rng : int, numpy.random.Generator or None
        Seed of the random starts (recorded in the result).
    restarts : int
        Random starts of the numerical solver.
    tol : float
        Relative residual ``||f(X) - Y|| / ||Y||`` the returned network must reach.
    strict : bool
        Raise :class:`~cbntheory.errors.SolverError` instead of warning when the answer
        is downgraded to ``"optimal_inaccurate"`` or ``"solver_error"``.
    method : {"auto", "closed_form", "convex", "numerical"}
        "auto" takes the exact route where one exists and the numerical solver
        elsewhere; the others force a route (linear case: "convex" is the per-frequency
        nuclear-norm program, depth 2).
    time_limit : float, optional
        Seconds for the numerical solver (all restarts).
    epsilon : float
        The object.  0 (default): exact interpolation, ``R(f; Omega, L)``; networks are
        finished to round-off and the lower bound certifies exact fits.  In (0, 1): ``R_eps``,
        the least norm of the networks whose relative residual is at most ``epsilon``
        (which replaces ``tol``); the lower bounds then account for the slack (the
        Lipschitz bound with ``2 eps``, the exact depth-1 program with its dual bound).
        Data only; the linear data case supports exact interpolation only.
    **options
        Case options: ``rank_rtol`` (singular values of the least-norm map below
        ``rank_rtol * s_max`` count as zero; default ``settings.DATA_RANK_RTOL`` for data),
        ``solver`` (conic solver name or order), ``init`` (one of
        :data:`cbntheory.solvers.starts.INITS` but "target"), ``max_iter`` (L-BFGS-B
        iterations per restart); ReLU case: ``init`` (the same but "orthogonal", a
        Network or a sequence of warm-start Networks), ``max_iter``, ``assume_open_set``,
        ``bound_points``, ``orbit_reduction`` (see
        :func:`cbntheory.solvers.relu.relu_minimal_norm`).

    Returns
    -------
    NormResult
        ``upper = value = network.param_norm()`` of a network reproducing the data to
        ``tol``; ``lower`` a certified lower bound (None if unknown); ``status``
        "optimal" when the interval closes to ``settings.GAP_RTOL``, "not_certified" when
        it does not, "optimal_inaccurate"/"solver_error" when verification fails (with a
        warning).  ``message`` says how each bound was obtained; ``info`` carries the
        per-restart records and the residuals of every candidate.

    Raises
    ------
    InfeasibleError
        No network of the architecture can reproduce the data (for linear architectures:
        the least-squares residual of the best equivariant map, the frequency, or the
        width that makes it impossible is named).
    ValidationError
        Inconsistent shapes, NaN/inf, unknown options.
    SolverError
        With ``strict=True`` when the answer does not verify.

    Notes
    -----
    The minimal norm is ``R(f; Omega, L) = inf { ||theta||^2 : f_theta = f on Omega }``
    (THEORY, section 1).  The lower bound certifies: no network of the class that
    reproduces the data *exactly* (with ``epsilon``: to the relative residual ``epsilon``)
    has a smaller norm.

    Examples
    --------
    A depth-3 linear CNN computing a random operator costs exactly its T1 value:

    >>> import numpy as np
    >>> import cbntheory as cbn
    >>> A = cbn.ConvOperator.from_kernel(np.random.default_rng(0).standard_normal((2, 2, 8)))
    >>> arch = cbn.Architecture((8,), (2, 2, 2, 2), activation="linear", bias=False)
    >>> res = cbn.minimal_norm(arch, target=A)
    >>> res.status, bool(np.isclose(res.value, cbn.linear_cost(A, 3).value))
    ('optimal', True)
    """
    start = time.perf_counter()
    problem = make_problem(arch, data, target, rng=rng, restarts=restarts, tol=tol,
                           strict=strict, method=method, time_limit=time_limit,
                           options=options, epsilon=epsilon)
    return finish(problem, _case(problem), start)


def stop_if_interrupted(result: NormResult) -> NormResult:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C (or SIGTERM) cut ``result``'s solve short.

    The ReLU solver catches the interruption so that a single call still returns its best
    verified network (``info["interrupted"]``).  Code that runs many solves (tables, checks,
    the emergence runs) passes each result through here, so that a Ctrl-C in a notebook or
    a script stops the whole computation instead of only the solve it landed in.

    Examples
    --------
    >>> from cbntheory.results import NormResult
    >>> done = NormResult(status="optimal", value=1.0, lower=1.0, upper=1.0,
    ...                   message="", info={"interrupted": False})
    >>> stop_if_interrupted(done) is done
    True
    >>> cut = NormResult(status="not_certified", value=2.0, lower=1.0, upper=2.0,
    ...                  message="", info={"interrupted": True})
    >>> try:
    ...     stop_if_interrupted(cut)
    ... except KeyboardInterrupt:
    ...     print("stopped")
    stopped
    """
    if result.info.get("interrupted"):
        raise KeyboardInterrupt
    return result
