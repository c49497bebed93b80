"""Minimal-norm interpolation by deep ReLU CNNs: the ReLU case of :func:`cbntheory.minimal_norm`.

Given finite data ``(X, Y)`` — or a target network sampled at inputs ``X`` — find a
network of the architecture with ``f_theta(X) = Y`` (to the relative tolerance
``tol``) and ``||theta||^2`` as small as possible.  The problem is non-convex; the
answer is an *upper bound* on the representation cost ``R(f; Omega, L)``, certified
by recomputing the network's outputs and norm in numpy, together with whatever lower
bound can be proved.

Method
    Each restart starts from a random network — "identity" (middle convolutions the
    identity plus 10 % He noise) or Gaussian (He), rescaled so that its outputs have the
    size of ``Y`` — or from the target network written in the architecture
    (:mod:`cbntheory.solvers.relu_runs`), and runs the augmented-Lagrangian minimiser
    :func:`cbntheory.solvers.augmented.minimize_norm_subject_to` (a least-squares fit phase, then
    L-BFGS-B inner solves) on the relative residual ``(f_theta(X) - Y) / ||Y||`` for
    80 % of its time budget.  If the residual is then above ``tol / 100``, Gauss-Newton
    steps project the network onto the data (:mod:`cbntheory.solvers.projection`).  Every
    answer is rebalanced (the positive rescaling of the layers that keeps the function
    and lowers the norm), re-evaluated and kept only if its relative residual is at most
    ``tol``.
Budgets
    Every restart stops after ``max_iter`` L-BFGS-B iterations or ``time_limit``
    seconds, whichever comes first, so a width that cannot interpolate the data ends in
    a ``"solver_error"`` status saying so, never in an endless loop.  Ctrl-C
    (KeyboardInterrupt) ends the run and returns the best verified network found so far.
Lower bounds
    On finite data a network is unconstrained between the samples, so the Jacobian
    bound T2 does not apply.  The certified lower bound is the Lipschitz bound of
    :func:`cbntheory.theory.lipschitz.lipschitz_lower_bound`.  When the target is a network
    and ``assume_open_set=True`` (the user asserts that ``f_theta`` must equal the target
    on an open set around the samples), the T2 value at the samples is reported in
    ``info["conditional_lower"]``: it bounds that open-set problem, **not** the
    finite-data problem whose upper bound is returned.
Certified infeasibility
    Inputs that are circular shifts of each other force related outputs; when no
    shift-equivariant map can reach ``tol`` (:func:`~cbntheory.solvers.relu_prep.orbit_residual`)
    :class:`~cbntheory.errors.InfeasibleError` is raised before any optimisation.

Examples
--------
A planted two-layer network: the solver reproduces its outputs with at most its norm.

>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((4,), (1, 3, 1), kernel_size=2)
>>> planted = arch.init(rng=1)
>>> X = np.random.default_rng(2).standard_normal((5, 1, 4))
>>> res = relu_minimal_norm(arch, X, target=planted, rng=0, max_iter=500)
>>> res.status, bool(res.residual <= 1e-6), bool(res.value <= planted.param_norm() + 1e-9)
('not_certified', True, True)
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..errors import InfeasibleError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..results import NOT_CERTIFIED, OPTIMAL, SOLVER_ERROR, NormResult, report_accuracy
from ..theory.lipschitz import lipschitz_lower_bound
from .augmented import minimize_norm_subject_to
from .interpolate import network_constraint
from .problem import Problem
from .relu_prep import check_data, check_target, conditional_t2, orbit_residual
from .relu_runs import RELU_INITS, polish, random_start, relative_residual, start_kind, warm_start

__all__ = ["OPTIONS", "RELU_INITS", "relu_minimal_norm", "sample_target", "solve"]

#: Case options accepted through :func:`cbntheory.minimal_norm` (``**options``).
OPTIONS = ("init", "max_iter", "assume_open_set", "bound_points")

SOLVER = "augmented Lagrangian + L-BFGS-B (cbntheory.solvers.augmented), rebalanced"


def sample_target(arch: Architecture, target: Any, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X`` and outputs ``Y = target(X)`` of a target network (``data=X``).

    Parameters
    ----------
    arch : Architecture
    target : Network
        Same input shape ``(n_0, *spatial)`` and output shape as ``arch``.
    data : array_like or tuple
        The inputs ``X`` of shape ``(N, n_0, *spatial)``, or ``(X,)``, or ``(X, Y)``
        with ``Y`` equal to ``target(X)`` to ``settings.FIT_RTOL``.

    Returns
    -------
    (X, Y) : tuple of ndarray

    Raises
    ------
    ValidationError
        No inputs, a target that does not match the architecture, ``Y`` that disagrees.
    """
    target = check_target(arch, target)
    Y = None
    if isinstance(data, (tuple, list)):
        if len(data) not in (1, 2):
            raise V.fail("data", "be the inputs X, (X,) or (X, Y) with a target network", data)
        X, Y = data[0], (data[1] if len(data) == 2 else None)
    else:
        X = data
    if X is None:
        raise V.fail("data", "hold the inputs X at which the target network is sampled", X)
    Xa = V.real_array("X", X)
    if Xa.ndim != arch.ndim + 2 or Xa.shape[1:] != arch.input_shape:
        raise V.fail("X", f"have shape (N, {', '.join(map(str, arch.input_shape))}) (batch, "
                     "channels n_0, *spatial_shape)", Xa)
    Yt = target(Xa)
    if Y is not None:
        _, Ya = check_data(arch, Xa, Y)
        gap = float(np.linalg.norm(Ya - Yt)) / max(float(np.linalg.norm(Yt)), 1e-300)
        if gap > settings.FIT_RTOL:
            raise V.fail("data", f"have Y = target(X) (to {settings.FIT_RTOL:g}) when both a "
                         f"target network and outputs are given (relative difference "
                         f"{gap:.3g})", Ya)
    return Xa, Yt


def _constraint(arch: Architecture, X: np.ndarray, Y: np.ndarray) -> Any:
    """The residual map handed to the minimiser (a seam for tests)."""
    return network_constraint(arch, X, Y)


def relu_minimal_norm(arch: Architecture, X: Any = None, Y: Any = None, *,
                      target: Network | None = None, rng: Any = 0, restarts: int = 1,
                      tol: float = settings.FIT_RTOL, init: Any = "auto",
                      time_limit: float | None = None,
                      max_iter: int = settings.AL_MAX_ITER, assume_open_set: bool = False,
                      bound_points: int = settings.T2_MAX_POINTS,
                      strict: bool = False) -> NormResult:
    """Smallest ``||theta||^2`` found for a network of ``arch`` with ``f_theta(X) = Y``.

    Parameters
    ----------
    arch : Architecture
        Any architecture (ReLU or linear, biases penalised or free, windows, resampling,
        avgpool head); meant for ReLU networks.
    X : array_like, shape (N, n_0, *spatial)
        Inputs.
    Y : array_like, shape (N, *arch.output_shape), optional
        Outputs; default ``target(X)``.  When both are given they must agree to ``tol``.
    target : Network, optional
        A network whose function is to be represented on the inputs ``X``; its input and
        output shapes must be the architecture's (its depth and widths may differ).
    rng : int, Generator or None
        Master seed; restart ``j`` uses the ``j``-th child of ``SeedSequence(seed)``.
    restarts : int
        Number of starts.
    tol : float
        Relative residual ``||f_theta(X) - Y|| / ||Y||`` the answer must reach
        (default :data:`cbntheory.settings.FIT_RTOL`); the minimiser aims at
        ``tol * settings.AL_FEAS_FACTOR``.
    init : {"auto", "gaussian", "identity", "target"} or Network
        "gaussian": He initialisation rescaled to the size of ``Y``.  "identity": the
        same with every middle convolution replaced by the identity plus small noise
        (a deep network that starts as a two-layer one).  "target": the target network
        embedded in ``arch`` and rebalanced (exactly feasible).  A Network (of ``arch``
        or embeddable in it): that warm start for the first restart.  "auto": the target
        for the first restart when it embeds; random restarts alternate identity and
        Gaussian starts for ReLU networks with at least three convolutions (Gaussian
        otherwise).
    time_limit : float or None
        Seconds for all restarts together (each restart gets what is left); None:
        :data:`cbntheory.settings.RELU_TIME_LIMIT` seconds per restart.
    max_iter : int
        L-BFGS-B iterations per restart (default :data:`cbntheory.settings.AL_MAX_ITER`).
    assume_open_set : bool
        With a target: also report the T2 Jacobian bound, conditional on ``f_theta``
        having to equal the target on an open set (see the module notes).
    bound_points : int
        Number of samples where that conditional bound is evaluated.
    strict : bool
        Raise :class:`~cbntheory.errors.SolverError` instead of warning when no
        restart reproduces the data.

    Returns
    -------
    NormResult
        ``upper`` = ``value`` = norm of ``network``, the lowest-norm verified network
        (``inf`` and ``network=None`` when none met ``tol``; the closest network is
        then ``info["best_unverified"]``).  ``lower``: the certified Lipschitz bound.
        ``status``: "optimal" when the bounds meet (``GAP_RTOL``), "not_certified" for a
        verified network above the lower bound, "solver_error" when no restart met
        ``tol``.  ``info``: ``runs`` (per restart: seed, init, objective, residual,
        iterations, time, message), ``interrupted``, ``orbit_residual``,
        ``lower_bound``, ``target_norm``, ``conditional_lower``.

    Raises
    ------
    ValidationError
        Bad shapes, NaN/inf, a target that does not match the architecture, ``Y``
        disagreeing with ``target(X)``, unknown ``init``.
    InfeasibleError
        When inputs in one shift orbit force outputs that no equivariant map reaches
        to ``tol`` (e.g. equal inputs with different outputs).
    SolverError
        With ``strict=True``, when no restart reproduced the data.

    Notes
    -----
    Minimises ``sum_l ||W_l||_F^2 + beta sum_l ||b_l||^2`` (``beta = 1`` when biases are
    penalised) subject to ``f_theta(x_i) = y_i``.  The lower bound is
    ``L (kappa Lambda^2)^(1/L)`` with ``Lambda`` the data's largest difference quotient.

    References
    ----------
    [WJ2024] Wen & Jacot, ICML 2024.  J. Nocedal, S. Wright, Numerical Optimization, ch. 17.
    """
    start = time.perf_counter()
    if not isinstance(arch, Architecture):
        raise V.fail("arch", "be a cbntheory.Architecture", arch)
    if X is None:
        raise V.fail("X", "be given (the inputs, also with a target network)", X)
    if target is not None:
        target = check_target(arch, target)
    if Y is None:
        if target is None:
            raise V.fail("Y", "be given when there is no target network", Y)
        Y = target(V.real_array("X", X))
    Xa, Ya = check_data(arch, X, Y)
    tol = float(tol)
    if not (np.isfinite(tol) and tol > 0):
        raise V.fail("tol", "be a finite number > 0", tol)
    if target is not None:
        gap = relative_residual(target, Xa, Ya)
        if gap > tol:
            raise V.fail("Y", f"equal target(X) to the relative tolerance tol={tol:g} when both "
                         f"are given (relative difference {gap:.3g})", Ya)
    restarts = V.positive_int("restarts", restarts)
    bound_points = V.positive_int("bound_points", bound_points)
    if not isinstance(assume_open_set, bool):
        raise V.fail("assume_open_set", "be True or False", assume_open_set)
    max_iter = V.positive_int("max_iter", max_iter)
    if time_limit is not None and not (float(time_limit) > 0):
        raise V.fail("time_limit", "be None or a number of seconds > 0", time_limit)
    warm = warm_start(arch, init, target)
    gen, seed = V.rng_seed(rng)
    if seed is None:  # a Generator: draw the master seed from it, and record that
        seed = int(gen.integers(2**31))
    options: dict[str, Any] = {
        "restarts": restarts, "tol": tol, "init": init if isinstance(init, str) else "network",
        "time_limit": time_limit, "max_iter": max_iter,
        "feas_tol": tol * settings.AL_FEAS_FACTOR, "rho": settings.AL_RHO}
    info: dict[str, Any] = {"runs": [], "interrupted": False}
    if target is not None:
        info["target_norm"] = target.param_norm()
    if warm is not None:
        info["warm_start"] = warm[1]

    scale = float(np.linalg.norm(Ya))
    if scale == 0.0:  # the zero network reproduces zero outputs exactly
        zero = Network.from_vector(arch, np.zeros(arch.n_free), seed=seed)
        return NormResult(0.0, 0.0, 0.0, OPTIMAL, "all outputs are zero: the zero network is "
                          "optimal", zero, seed, SOLVER, options, 0.0,
                          time.perf_counter() - start, True, info)
    orbit = orbit_residual(arch, Xa, Ya)
    info["orbit_residual"] = orbit
    if orbit > tol:
        raise InfeasibleError(
            f"data must be consistent with translation equivariance: inputs that are circular "
            f"shifts of each other (or equal) force related outputs, and no equivariant map "
            f"reaches a relative residual below {orbit:.3g} > tol={tol:g}")
    lower, lower_note = None, "none"
    try:
        lb = lipschitz_lower_bound(arch, Xa, Ya)
        lower = lb.value
        lower_note = (f"Lipschitz bound L (kappa Lambda^2)^(1/L) with Lambda = {lb.lipschitz:.6g} "
                      f"(samples {lb.pair[0]} and {lb.pair[1]})")
        info["lower_bound"] = {"kind": "lipschitz", "lipschitz": lb.lipschitz,
                               "pair": lb.pair, "kappa": lb.kappa}
    except InfeasibleError as exc:  # duplicates within tol: exact interpolation impossible
        info["lower_bound"] = {"kind": None, "note": str(exc)}

    best: tuple[float, Network, str] | None = None
    closest: tuple[float, Network] | None = None
    children = np.random.SeedSequence(seed).spawn(restarts)
    constraint = _constraint(arch, Xa, Ya)
    weights = arch.penalty_mask().astype(float)
    projectable = Ya.size * arch.n_free <= settings.RELU_PROJECT_MAX_ENTRIES
    try:
        for j, child in enumerate(children):
            run_seed = int(child.generate_state(1)[0] % (2**31))
            if j == 0 and warm is not None:
                theta0, how = warm[0].to_vector(), "warm start"
                w_resid = relative_residual(warm[0], Xa, Ya)
                info["warm_start_norm"], info["warm_start_residual"] = (warm[0].param_norm(),
                                                                        w_resid)
                if w_resid <= tol:  # the start itself is a verified candidate
                    best = (warm[0].param_norm(), warm[0], "the warm start itself")
                    closest = (w_resid, warm[0])
            else:
                how = start_kind(arch, init, j - (warm is not None))
                theta0 = random_start(arch, run_seed, Xa, Ya, how)
            if time_limit is None:
                budget = settings.RELU_TIME_LIMIT
            else:  # share what is left between the remaining restarts
                left = float(time_limit) - (time.perf_counter() - start)
                if left <= 0:
                    info["out_of_time"] = f"time_limit reached after {j} restart(s)"
                    break
                budget = left / (restarts - j)
            deadline = time.perf_counter() + budget
            reserve = settings.RELU_PROJECT_RESERVE if projectable else 0.0
            res = minimize_norm_subject_to(
                constraint, theta0, weights=weights, feas_tol=options["feas_tol"],
                obj_rtol=settings.AL_OBJ_RTOL, rho=settings.AL_RHO, max_iter=max_iter,
                time_limit=budget * (1.0 - reserve), rng=run_seed, accept_tol=tol)
            net, resid, note, stopped = polish(Network.from_vector(arch, res.x, seed=run_seed),
                                                Xa, Ya, tol, deadline,
                                                projectable and not res.interrupted)
            norm = net.param_norm()
            info["runs"].append({"seed": run_seed, "init": how, "objective": norm,
                                 "residual": resid, "verified": resid <= tol,
                                 "status": res.status, "iterations": res.n_iterations,
                                 "wall_time": time.perf_counter() - (deadline - budget),
                                 "message": res.message + note})
            if resid <= tol and (best is None or norm < best[0]):
                best = (norm, net, f"restart {j} (seed {run_seed}, {how} init)")
            if closest is None or resid < closest[0]:
                closest = (resid, net)
            if res.interrupted or stopped:
                info["interrupted"] = True
                break
    except KeyboardInterrupt:
        info["interrupted"] = True
    return _finish(arch, Xa, Ya, target, best, closest, lower, lower_note, seed, options, info,
                   start, tol, assume_open_set, bound_points, strict)


def _finish(arch: Architecture, X: np.ndarray, Y: np.ndarray, target: Network | None,
            best: tuple[float, Network, str] | None, closest: tuple[float, Network] | None,
            lower: float | None, lower_note: str, seed: int, options: dict[str, Any],
            info: dict[str, Any], start: float, tol: float, assume_open_set: bool,
            bound_points: int, strict: bool) -> NormResult:
    """Assemble the NormResult: status, message, conditional T2, warnings."""
    runs = info["runs"]
    stopped = " (interrupted by KeyboardInterrupt)" if info["interrupted"] else ""
    if target is not None and assume_open_set and not info["interrupted"]:
        info["conditional_lower"] = conditional_t2(arch, target, X, bound_points)
    if best is None:
        r = closest[0] if closest is not None else float("inf")
        if closest is not None:
            info["best_unverified"] = closest[1]
        message = (f"no network reproducing the data to tol={tol:g} was found after "
                   f"{len(runs)} restart(s){stopped}; best relative residual {r:.3g}. The "
                   f"widths {arch.channels} may be too small to interpolate these data, or the "
                   "budget too small: try wider layers, more restarts, a larger time_limit or "
                   "max_iter")
        result = NormResult(float("inf"), lower, float("inf"), SOLVER_ERROR, message, None,
                            seed, SOLVER, options, r, time.perf_counter() - start, False, info)
        report_accuracy(SOLVER_ERROR, message, strict=strict)
        return result
    norm, net, source = best
    resid = relative_residual(net, X, Y)
    closed = lower is not None and (norm - lower) <= settings.GAP_RTOL * max(1.0, abs(norm))
    status = OPTIMAL if closed else NOT_CERTIFIED
    n_ok = sum(1 for run in runs if run["verified"])
    message = (f"verified network from {source}: relative residual {resid:.2e} <= tol={tol:g}, "
               f"norm {norm:.6g} ({n_ok} of {len(runs)} restart(s) verified){stopped}; "
               f"lower bound: {lower_note}")
    if not closed:
        message += ("; a local method: the minimum may be lower" if lower is None else
                    f"; gap {norm - lower:.3g} not closed (local method)")
    return NormResult(norm, lower, norm, status, message, net, seed, SOLVER, options, resid,
                      time.perf_counter() - start, False, info)


def solve(problem: Problem) -> NormResult:
    """The ReLU case of :func:`cbntheory.minimal_norm` (registered in ``CASES``).

    Runs :func:`relu_minimal_norm` on the problem's data (and target network, if one
    was given) with the options ``init``, ``max_iter``, ``assume_open_set`` and
    ``bound_points``; the dispatcher re-verifies the returned network.

    Raises
    ------
    ValidationError
        Unknown options, or ``method`` "closed_form"/"convex" (no exact route for deep
        ReLU networks; two-layer avgpool networks: :func:`cbntheory.convex.two_layer_min_norm`).
    """
    opts = dict(problem.options)
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown:
        raise V.fail("options", f"be among {OPTIONS} for ReLU architectures", unknown)
    if problem.method not in ("auto", "numerical"):
        raise V.fail("method", "be 'auto' or 'numerical' for ReLU architectures (no closed "
                     "form; for two-layer avgpool networks use "
                     "cbntheory.convex.two_layer_min_norm)", problem.method)
    return relu_minimal_norm(problem.arch, problem.X, problem.Y,
                             target=problem.network_target, rng=problem.seed,
                             restarts=problem.restarts, tol=problem.tol,
                             time_limit=problem.time_limit, strict=problem.strict, **opts)
