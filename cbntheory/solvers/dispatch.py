"""``cbn.minimal_norm``: the minimal parameter norm of a network class, as a certified interval.

The dispatcher validates the question (an architecture and either finite data
``(X, Y)`` or a whole-space target operator), hands it to the solver of the
architecture's case and then checks every answer in numpy, whatever the case:

* each candidate network is run forward on the data; its relative residual must be
  at most ``tol``;
* its ``param_norm()`` is recomputed and becomes the upper bound (a claimed objective
  that disagrees by more than ``settings.OBJECTIVE_RTOL`` downgrades the status);
* the interval ``[lower, upper]`` is compared with ``settings.GAP_RTOL``.

Cases are looked up by activation in :data:`CASES` (module paths with a
``solve(problem) -> Outcome`` function; see :mod:`cbntheory.solvers.problem`; a case may
also return a finished :class:`~cbntheory.results.NormResult`, whose network is then
re-verified).  An
activation without a registered case still gets a numerical upper bound and no lower
bound.  See ``docs/solvers.md`` for how each case is solved and certified.
"""
from __future__ import annotations

import dataclasses
import importlib
import numbers
import time
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..errors import ValidationError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..operators import ConvOperator
from ..results import (
    NOT_CERTIFIED,
    OPTIMAL,
    OPTIMAL_INACCURATE,
    NormResult,
    report_accuracy,
)
from .problem import METHODS, Outcome, Problem, numerical_candidate
from .verify import finish

__all__ = ["CASES", "minimal_norm", "register_case"]

#: Solver module of each activation; each defines ``solve(problem) -> Outcome``.
CASES: dict[str, str] = {"linear": "cbntheory.solvers.linear", "relu": "cbntheory.solvers.relu"}


def register_case(activation: str, module: str) -> None:
    """Route architectures with ``activation`` to ``module.solve`` (a dotted module path)."""
    if not isinstance(activation, str) or not isinstance(module, str):
        raise V.fail("activation, module", "be strings", (activation, module))
    CASES[activation] = module


def _impulses(arch: Architecture) -> np.ndarray:
    n0 = arch.channels[0]
    X = np.zeros((n0,) + arch.input_shape)
    for j in range(n0):
        X[(j, j) + (0,) * arch.ndim] = 1.0
    if arch.bias:  # an affine map is pinned down by its value at 0 as well
        X = np.concatenate([X, np.zeros((1,) + arch.input_shape)])
    return X


def _problem(arch: Any, data: Any, target: Any, rng: Any, restarts: Any, tol: Any,
             strict: Any, method: Any, time_limit: Any, options: dict[str, Any]) -> Problem:
    if not isinstance(arch, Architecture):
        raise V.fail("arch", "be a cbntheory.Architecture", arch)
    network_target = None
    if isinstance(target, Network):  # a target network sampled at the inputs data=X
        from .relu import sample_target
        data, network_target, target = sample_target(arch, target, data), target, None
    if (data is None) == (target is None):
        raise ValidationError("minimal_norm needs exactly one of data=(X, Y) (a finite domain) "
                              "or target=ConvOperator (the whole space); got "
                              f"{'both' if data is not None else 'neither'}")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < float(tol) < 1:
        raise V.fail("tol", "be a number in (0, 1) (relative residual)", tol)
    restarts = V.positive_int("restarts", restarts)
    if method not in METHODS:
        raise V.fail("method", f"be one of {METHODS}", method)
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(
            time_limit, numbers.Real) or not float(time_limit) > 0):
        raise V.fail("time_limit", "be None or a positive number of seconds", time_limit)
    if not isinstance(strict, bool):
        raise V.fail("strict", "be True or False", strict)
    gen, seed = V.rng_seed(rng)
    if seed is None:
        seed = int(gen.integers(2**31))
    op = None
    if target is not None:
        if not isinstance(target, ConvOperator):
            raise V.fail("target", "be a cbntheory.ConvOperator (the whole-space map)", target)
        if arch.activation != "linear":
            raise V.fail("target", f"be given only for linear architectures (activation "
                         f"{arch.activation!r}: pass data=(X, Y) instead)", target)
        if arch.head is not None:
            raise V.fail("target", "be paired with head=None (a convolution maps images to "
                         "images)", target)
        if target.spatial_shape != arch.spatial_shape:
            raise V.fail("target.spatial_shape", f"equal arch.spatial_shape = "
                         f"{arch.spatial_shape}", target.spatial_shape)
        if (target.in_channels, target.out_channels) != (arch.channels[0], arch.channels[-1]):
            raise V.fail("target", f"map {arch.channels[0]} to {arch.channels[-1]} channels "
                         "(arch.channels[0] -> arch.channels[-1])",
                         f"{target.in_channels} -> {target.out_channels} channels")
        op = (target if target.normalization == arch.normalization
              else ConvOperator.from_blocks(target.blocks, arch.normalization))
        X = _impulses(arch)
        Y = op.apply(X)
    else:
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise V.fail("data", "be a pair (X, Y) of arrays", data)
        X = V.real_array("X", data[0])
        Y = V.real_array("Y", data[1])
        if X.ndim != arch.ndim + 2 or X.shape[1:] != arch.input_shape:
            raise V.fail("X", f"have shape (N, {', '.join(map(str, arch.input_shape))}) for "
                         f"this architecture (channels[0] = {arch.channels[0]}, spatial_shape "
                         f"= {arch.spatial_shape})", X)
        want = (X.shape[0],) + arch.output_shape
        if Y.shape != want:
            raise V.fail("Y", f"have shape {want} (N = {X.shape[0]} samples of the output "
                         f"shape {arch.output_shape})", Y)
    return Problem(arch, X, Y, op, float(tol), seed, restarts, str(method),
                   None if time_limit is None else float(time_limit), strict, dict(options),
                   network_target)


def _case(problem: Problem) -> Outcome:
    name = CASES.get(problem.arch.activation)
    if name is None:
        cand = numerical_candidate(problem)
        return Outcome((cand,), None, f"no certified lower bound is implemented for "
                       f"activation {problem.arch.activation!r}")
    return importlib.import_module(name).solve(problem)


def _recheck(problem: Problem, res: NormResult) -> NormResult:
    """Re-verify a finished :class:`NormResult` (residual and norm of its network)."""
    if res.network is None:
        return res
    norm = float(res.network.param_norm())
    resid = problem.residual(res.network)
    problems = []
    if abs(norm - res.upper) > settings.OBJECTIVE_RTOL * max(1.0, abs(norm)):
        problems.append(f"reported upper bound {res.upper:.10g} but the network's norm is "
                        f"{norm:.10g}")
    if not resid <= problem.tol:
        problems.append(f"the network's relative residual is {resid:.3e} > tol = "
                        f"{problem.tol:.1e}")
    if not problems or res.status not in (OPTIMAL, NOT_CERTIFIED):
        return res
    message = res.message + " Re-verification: " + "; ".join(problems) + "."
    report_accuracy(OPTIMAL_INACCURATE, message, strict=problem.strict)
    return dataclasses.replace(res, status=OPTIMAL_INACCURATE, message=message,
                               value=norm, upper=norm, residual=resid)


def minimal_norm(arch: Architecture, *, data: Any = None, target: Any = None, rng: Any = 0,
                 restarts: int = 1, tol: float = settings.FIT_RTOL, strict: bool = False,
                 method: str = "auto", time_limit: float | None = None,
                 **options: Any) -> NormResult:
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
        input and output shapes; see :func:`cbntheory.solvers.relu.sample_target`).
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
    **options
        Case options: ``rank_rtol`` (singular values of the least-norm map below
        ``rank_rtol * s_max`` count as zero; default ``settings.DATA_RANK_RTOL`` for data),
        ``solver`` (conic solver name or order), ``init`` ("auto", "orthogonal",
        "gaussian"), ``max_iter`` (L-BFGS-B iterations per restart); ReLU case:
        ``init`` ("auto", "gaussian", "target" or a Network), ``max_iter``,
        ``assume_open_set``, ``bound_points`` (see :func:`cbntheory.solvers.relu.solve`).

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
    reproduces the data *exactly* has a smaller norm.

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
    problem = _problem(arch, data, target, rng, restarts, tol, strict, method, time_limit,
                       options)
    outcome = _case(problem)
    if isinstance(outcome, NormResult):  # a case that assembles its own result
        return _recheck(problem, outcome)
    return finish(problem, outcome, start)
