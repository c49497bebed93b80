"""Minimum-norm interpolation by an augmented Lagrangian with L-BFGS-B inner solves.

:func:`minimize_norm_subject_to` minimises a weighted squared norm subject to equality
constraints given by a residual and its vector-Jacobian product; it is the numerical
upper-bound route of :func:`cbntheory.minimal_norm` for linear and ReLU networks.  The
inner solves go through :func:`cbntheory.backends.optimize.lbfgsb` (the project's one door to
:mod:`scipy.optimize`).
"""
from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..backends import optimize as optim

#: ``constraint(x) -> (r, vjp)``: residual vector ``r(x)`` and ``v -> J(x)^T v``.
Constraint = Callable[[np.ndarray], "tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]"]


@dataclasses.dataclass(frozen=True)
class ConstrainedResult:
    """Outcome of :func:`minimize_norm_subject_to`.

    Attributes
    ----------
    x : ndarray
        Best point found (the last accepted iterate).
    objective : float
        ``sum(weights * x**2)`` at :attr:`x`.
    residual : float
        ``||r(x)||`` at :attr:`x`.
    status : str
        ``"not_certified"`` (converged to a feasible stationary point: locally optimal,
        global optimality unknown), ``"optimal_inaccurate"`` (feasible to ``feas_tol``
        but stopped by an iteration or time limit or an interrupt before the objective
        settled) or ``"solver_error"`` (not feasible to ``feas_tol``).
    converged : bool
        True for the first status.
    message : str
        What happened, in words.
    n_outer : int
        Augmented-Lagrangian (multiplier) updates.
    n_iterations : int
        L-BFGS-B iterations over all phases.
    n_evaluations : int
        Calls of ``constraint``.
    penalty : float
        Final penalty parameter ``mu``.
    history : tuple of dict
        Per outer iteration: ``objective``, ``residual``, ``penalty``, ``iterations``,
        ``accepted`` (False when a collapse was detected and the step undone).
    interrupted : bool
        True when a KeyboardInterrupt stopped the run (the best point so far is returned).
    wall_time : float
        Seconds spent.
    perturbations : int
        Random perturbations applied in phase 1 to leave stalled saddles.
    anneal : tuple of dict
        Per stage of the annealed penalty phase (option ``anneal``): ``weight`` (the
        absolute ``lam``), ``objective``, ``residual`` and ``iterations`` at its end, and
        ``metric`` (whether it measured the residual in the metric).
    """

    x: np.ndarray
    objective: float
    residual: float
    status: str
    converged: bool
    message: str
    n_outer: int
    n_iterations: int
    n_evaluations: int
    penalty: float
    history: tuple[dict[str, Any], ...]
    interrupted: bool
    wall_time: float
    perturbations: int = 0
    anneal: tuple[dict[str, Any], ...] = ()


class _Budget(Exception):
    """Raised inside an L-BFGS-B run when the iteration or time budget is exhausted."""


class _Tracker:
    """Counts evaluations, enforces the budgets, remembers the last accepted iterate."""

    def __init__(self, max_iter: int, time_limit: float | None, reserve: float = 0.0) -> None:
        self.start = time.perf_counter()
        keep = 1.0 - reserve  # a share of both budgets is held back for the final polish
        self.hard_deadline = None if time_limit is None else self.start + float(time_limit)
        self.deadline = None if time_limit is None else self.start + keep * float(time_limit)
        self.hard_max_iter = int(max_iter)
        self.max_iter = max(1, int(keep * max_iter))
        self.iterations = 0
        self.evaluations = 0
        self.last: np.ndarray | None = None

    def release(self) -> None:
        """Make the reserved share of the budgets available."""
        self.max_iter, self.deadline = self.hard_max_iter, self.hard_deadline

    def out_of_budget(self) -> bool:
        late = self.deadline is not None and time.perf_counter() > self.deadline
        return late or self.iterations >= self.max_iter

    def lbfgs(self, fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray, *,
              gtol: float, maxcor: int, stop: Callable[[float], bool] | None = None
              ) -> np.ndarray:
        """Run L-BFGS-B from ``x``; return its last iterate (also on budget exhaustion)."""
        self.last = x

        def callback(intermediate_result: Any) -> None:
            self.iterations += 1
            self.last = np.array(intermediate_result.x, copy=True)
            if self.out_of_budget():
                raise _Budget
            if stop is not None and stop(float(intermediate_result.fun)):
                raise StopIteration

        try:
            x_end = optim.lbfgsb(fun, x, maxiter=self.max_iter - self.iterations,
                                 maxcor=maxcor, gtol=gtol, callback=callback)
        except _Budget:
            return self.last
        return x_end if np.all(np.isfinite(x_end)) else self.last


@dataclasses.dataclass(frozen=True)
class ALOptions:
    """The tolerances and budgets of :func:`minimize_norm_subject_to` (see its parameters)."""

    feas_tol: float = settings.AL_DEFAULT_FEAS_TOL
    obj_rtol: float = settings.AL_DEFAULT_OBJ_RTOL
    fit_tol: float = settings.AL_DEFAULT_FIT_TOL
    penalty: float | None = None
    rho: float = settings.AL_RHO
    max_outer: int = 60
    max_iter: int = settings.AL_MAX_ITER
    maxcor: int = 10
    time_limit: float | None = None
    perturb: float = settings.AL_PERTURB
    max_perturb: int = settings.AL_MAX_PERTURB
    stall_window: int = settings.AL_STALL_WINDOW
    accept_tol: float | None = None
    inner_gtol: float = settings.AL_INNER_GTOL
    anneal: tuple[float, ...] = ()
    anneal_share: float = settings.AL_ANNEAL_SHARE
    polish_reserve: float = settings.AL_POLISH_RESERVE
    metric: Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]] | None = None
    metric_weight: float = settings.RELU_METRIC_WEIGHT
    metric_iterations: int | None = None
    metric_refresh: int = settings.RELU_METRIC_REFRESH


def minimize_norm_subject_to(constraint: Constraint, x0: Any, *, weights: Any = None,
                             rng: Any = 0, **options: Any) -> ConstrainedResult:
    """Minimise ``sum(weights * x**2)`` subject to ``r(x) = 0`` (augmented Lagrangian).

    Parameters
    ----------
    constraint : callable
        ``constraint(x) -> (r, vjp)`` with ``r`` a 1-D float array (the residual, e.g.
        ``(f_theta(X) - Y) / ||Y||`` flattened) and ``vjp(v)`` returning ``J(x)^T v``
        for the Jacobian ``J = dr/dx`` (for networks: one reverse pass).
    x0 : array_like, shape (n,)
        Starting point.
    weights : array_like, shape (n,), optional
        Non-negative weights of the objective (0 for free parameters); default all 1.
    **options
        The fields of :class:`ALOptions` (defaults there), below.
    feas_tol : float
        Feasibility target ``||r(x)|| <= feas_tol``.
    obj_rtol : float
        The run has converged when feasible and the objective changed by at most
        ``obj_rtol`` (relative) over the last multiplier update.
    fit_tol : float
        Phase 1 (least squares on ``||r||^2 / 2``, no norm) stops at ``||r|| <= fit_tol``.
    penalty : float, optional
        Initial penalty ``mu``; default ``rho * max(1, objective after phase 1)``.
    rho : float
        See ``penalty``.
    max_outer : int
        Maximal number of multiplier updates.
    max_iter : int
        Budget of L-BFGS-B iterations over all phases.
    maxcor : int
        L-BFGS memory.
    time_limit : float, optional
        Seconds; the best point so far is returned when exceeded.
    perturb, max_perturb, stall_window : float, int, int
        When phase 1 reduces ``||r||^2`` by less than 20% over ``stall_window``
        iterations, ``x`` gets Gaussian noise of relative size ``perturb`` (times its RMS
        entry) and the fit resumes, at most ``max_perturb`` times.
    rng : int or numpy.random.Generator
        Source of the perturbations.
    inner_gtol : float
        Gradient tolerance of the first inner solve, relative to ``max |2 w x|``; divided
        by 10 after every multiplier update (inexact early solves save iterations).
    accept_tol : float, optional
        Residual a caller can still use (default ``feas_tol``).  When the run stops
        without converging, the lowest-objective iterate with ``||r|| <= accept_tol`` is
        returned (minimal-norm points of ``k``-tap networks can be degenerate, where the
        residual only decays like ``1/mu``).
    anneal : sequence of float, optional
        Decreasing weights ``c_1 > c_2 > ...`` of an annealed penalty phase that replaces
        phase 1: stage ``k`` minimises ``||r||^2 + (c_k / max(1, f_0)) sum(w x^2)``
        (``f_0`` the objective at ``x0``) from the previous stage's end, until its share of
        the budget is spent or its value settles (see
        :data:`cbntheory.settings.AL_ANNEAL_STALL_RTOL`); iterations the stages leave go to
        the multiplier phase.  Default ``()``: no such phase.
    anneal_share : float
        Share of the iteration budget (before the polish reserve) given to the annealed
        phase, split evenly between its stages.
    metric : callable, optional
        Adds a last annealing stage that measures the residual in a metric:
        ``metric(x)`` returns ``apply`` (a symmetric positive definite map of residual
        vectors, made at ``x``), and the stage minimises ``r^T apply(r) + metric_weight
        sum(w x^2)`` (the weight not divided by ``f_0``) for ``metric_iterations``
        iterations taken from the annealing's share, with a new ``apply`` at the current
        point every ``metric_refresh`` iterations (the ReLU solver's Gauss-Newton metric:
        :func:`cbntheory.solvers.projection.gauss_newton_metric`).  The multiplier phase
        that may follow it starts without a hand-over.
    metric_weight : float
        Default :data:`cbntheory.settings.RELU_METRIC_WEIGHT`.
    metric_iterations : int, optional
        Iterations of the metric stage, taken from the end of the annealing's share
        (default: all of it, so the plain stages of ``anneal`` then get none).
    metric_refresh : int
        Default :data:`cbntheory.settings.RELU_METRIC_REFRESH`.
    polish_reserve : float
        Share of the iteration and time budgets held back for the final least-squares
        polish (default :data:`cbntheory.settings.AL_POLISH_RESERVE`); 0 for a caller that
        restores feasibility itself (the ReLU solver's Gauss-Newton projection), since the
        polish fits without regard to the norm.

    Returns
    -------
    ConstrainedResult
        See its attributes; ``status`` is never ``"optimal"``: a local method does not
        certify global optimality (callers compare with a lower bound).

    Notes
    -----
    Phase 1 fits the constraint from ``x0`` (minimising ``||r||^2/2``), so that the
    norm-reducing phase starts near the feasible set; a stalled fit is perturbed (see
    ``perturb``), and a fit that still fails ends the run with ``"solver_error"`` (a new
    start is the remedy, not norm minimisation).  With ``anneal``, phase 1 is instead the
    annealed penalty: the norm falls while the residual does, instead of after it.  Its
    last stage's point ``x`` minimises ``||r||^2 + lam sum(w x^2)``, which is exactly
    the stationarity condition of the augmented Lagrangian below with ``mu = 2 / lam``
    and ``lambda = 0``; phase 2 therefore starts from it with that penalty and the
    first-order multiplier ``lambda = mu r(x)`` (unless ``penalty`` is given), and
    closes the residual without undoing the norm.  Phase 2 minimises the augmented
    Lagrangian

    .. math:: \\Phi_\\mu(x, \\lambda) = \\sum_i w_i x_i^2 + \\lambda^T r(x)
              + \\tfrac{\\mu}{2} \\|r(x)\\|^2

    in ``x`` by L-BFGS-B, then updates ``lambda <- lambda + mu r(x)`` and multiplies
    ``mu`` by 10 when ``||r||`` fell by less than a factor 4.  Minimal-norm problems of
    deep (quasi-norm) networks have a trap: shrinking a weak direction of every layer
    at once lowers the norm like ``eps^2`` and raises the residual only like
    ``eps^L``, so a too small ``mu`` lets the iterate fall into a rank-deficient point
    from which no gradient leads back.  When an inner solve raises the residual tenfold
    the step is undone and ``mu`` multiplied by 10; after three updates without progress
    the run restarts from the fitted point with a ten times larger initial ``mu`` (both
    reported in ``history``).  If the budget ends first, a least-squares polish (with the
    reserved share ``polish_reserve`` of the iterations and time) tries to reach
    ``feas_tol``, and the lowest-objective iterate within ``accept_tol`` is returned.  A
    KeyboardInterrupt returns the last accepted point (in phase 1 the latest iterate) with
    ``interrupted=True``.

    References
    ----------
    J. Nocedal, S. Wright, Numerical Optimization, 2nd ed., Springer 2006, ch. 17.

    Examples
    --------
    The least-norm point of the line ``x + 2 y = 5`` is ``(1, 2)``:

    >>> con = lambda x: (np.array([x[0] + 2 * x[1] - 5.0]), lambda v: v[0] * np.array([1.0, 2.0]))
    >>> res = minimize_norm_subject_to(con, np.zeros(2))
    >>> res.status, bool(np.allclose(res.x, [1.0, 2.0], atol=1e-7))
    ('not_certified', True)
    """
    x = np.array(x0, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != x.shape or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise V.fail("weights", f"be a finite non-negative vector of length {x.size}", weights)
    opts = ALOptions(**options)
    weights_ok = all(np.isfinite(c) and c > 0 for c in opts.anneal)
    if not weights_ok:
        raise V.fail("anneal", "be a sequence of finite positive weights", opts.anneal)
    if not 0.0 < opts.anneal_share <= 1.0:
        raise V.fail("anneal_share", "lie in (0, 1]", opts.anneal_share)
    if not 0.0 <= opts.polish_reserve < 1.0:
        raise V.fail("polish_reserve", "lie in [0, 1)", opts.polish_reserve)
    if opts.metric_refresh < 1:
        raise V.fail("metric_refresh", "be a positive number of iterations", opts.metric_refresh)
    if opts.metric_iterations is not None and opts.metric_iterations < 0:
        raise V.fail("metric_iterations", "be a non-negative number of iterations",
                     opts.metric_iterations)
    if not (np.isfinite(opts.metric_weight) and opts.metric_weight > 0):
        raise V.fail("metric_weight", "be a finite positive weight", opts.metric_weight)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return _AugmentedLagrangian(constraint, x, w, opts, gen).run()


class _AugmentedLagrangian:
    """One run of :func:`minimize_norm_subject_to`: a fit phase, a penalty phase, a wrap-up.

    ``self.x`` is the point the run would report now (the last accepted iterate);
    ``self.usable`` the lowest-objective accepted iterate within ``accept``.
    """

    def __init__(self, constraint: Constraint, x0: np.ndarray, w: np.ndarray,
                 opts: ALOptions, gen: np.random.Generator) -> None:
        self.constraint, self.w, self.o, self.gen = constraint, w, opts, gen
        self.x = x0
        self.track = _Tracker(opts.max_iter, opts.time_limit, reserve=opts.polish_reserve)
        self.history: list[dict[str, Any]] = []
        self.stages: list[dict[str, Any]] = []
        self.start_objective = self.objective(x0)
        self.perturbations = 0
        self.usable: tuple[np.ndarray, float] | None = None
        self.mu = float("nan")
        self.fitting = True
        #: penalty ``mu = 2 / lam`` matching the annealed phase's last stage (None: none ran)
        self.handoff: float | None = None
        #: residual a caller can still use
        self.accept = max(float(opts.accept_tol or 0.0), opts.feas_tol)

    def evaluate(self, z: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        self.track.evaluations += 1
        return self.constraint(z)

    def objective(self, z: np.ndarray) -> float:
        return float(np.dot(self.w, z * z))

    def residual(self, z: np.ndarray) -> float:
        return float(np.linalg.norm(self.evaluate(z)[0]))

    def merit(self, lam: np.ndarray, mu: float, z: np.ndarray) -> tuple[float, np.ndarray]:
        """The augmented Lagrangian ``sum w z^2 + lam^T r + mu/2 ||r||^2`` and its gradient."""
        rz, vjp = self.evaluate(z)
        return (self.objective(z) + float(lam @ rz) + 0.5 * mu * float(rz @ rz),
                2.0 * self.w * z + vjp(lam + mu * rz))

    def fit_value(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        """``||r||^2 / 2`` and its gradient (the least-squares fit)."""
        r, vjp = self.evaluate(z)
        return 0.5 * float(r @ r), vjp(r)

    def result(self, status: str, converged: bool, message: str,
               interrupted: bool = False) -> ConstrainedResult:
        xb = self.x
        try:
            rb = self.residual(xb)
        except KeyboardInterrupt:  # a second Ctrl-C: report without the residual
            rb = float("nan")
        track = self.track
        if self.stages:
            first, last = self.stages[0], self.stages[-1]
            message = (f"annealed penalty, {len(self.stages)} stage(s) of weight "
                       f"{first['weight']:.2g} down to {last['weight']:.2g}: objective "
                       f"{self.start_objective:.6g} -> {last['objective']:.6g} at residual "
                       f"{last['residual']:.2e}; then {message}")
        return ConstrainedResult(
            x=xb, objective=self.objective(xb), residual=rb, status=status,
            converged=converged, message=message, n_outer=len(self.history),
            n_iterations=track.iterations, n_evaluations=track.evaluations, penalty=self.mu,
            history=tuple(self.history), interrupted=interrupted,
            wall_time=time.perf_counter() - track.start, perturbations=self.perturbations,
            anneal=tuple(self.stages))

    def run(self) -> ConstrainedResult:
        try:
            if self.o.anneal or self.o.metric:
                self.x, self.handoff = self.annealed(self.x)
            else:
                self.x = self.fit(self.x)
            self.fitting = False
            r, _ = self.evaluate(self.x)
            rn, o = float(np.linalg.norm(r)), self.o
            if (not o.anneal and rn > settings.AL_FIT_FAILED_FACTOR * o.fit_tol
                    and not self.track.out_of_budget()):
                # the fit failed: a new start is the remedy, not norm minimisation
                return self.result("solver_error", False, f"the fit phase stalled at residual "
                                   f"{rn:.2e} after {self.perturbations} perturbations; try "
                                   "another start")
            done = self.penalty_phase(r)
            if done is not None:
                return done
        except KeyboardInterrupt:
            return self.interrupted()
        return self.wrap_up()

    def fit(self, x: np.ndarray) -> np.ndarray:
        """Phase 1: least squares on the constraint, perturbed out of stalled saddles."""
        o = self.o
        for attempt in range(o.max_perturb + 1):
            r0, _ = self.evaluate(x)
            if np.linalg.norm(r0) <= o.fit_tol or self.track.out_of_budget():
                break
            if attempt:  # stalled at a (degenerate) saddle: perturb, then fit again
                x = x + o.perturb * float(np.sqrt(np.mean(x * x))) * self.gen.standard_normal(
                    x.size)
                self.perturbations += 1
            x = self.track.lbfgs(self.fit_value, x, gtol=0.0, maxcor=o.maxcor,
                                 stop=functools.partial(_stalled, o.fit_tol, o.stall_window,
                                                        []))
        return x

    def annealed(self, x: np.ndarray) -> tuple[np.ndarray, float | None]:
        """Phase 1 with ``anneal``: L-BFGS on ``||r||^2 + lam_k sum(w x^2)``, ``lam_k``
        decreasing; with ``metric``, then ``metric_iterations`` iterations (taken from the
        stages' share) on ``r^T M r + metric_weight sum(w x^2)``.  The last point and the
        penalty ``2 / lam`` matching the last plain stage (None when no plain stage ran
        or the metric stage came last)."""
        o, track = self.o, self.track
        scale = 1.0 / max(1.0, self.start_objective)
        total = int(o.anneal_share * track.max_iter)
        closing = 0 if not o.metric else (
            total if o.metric_iterations is None else min(o.metric_iterations, total))
        per_stage = (total - closing) // len(o.anneal) if o.anneal else 0
        handoff = None
        for c in o.anneal:
            if per_stage < 1 or track.out_of_budget():
                break
            x = self.stage(float(c) * scale, x, per_stage, functools.partial(
                track.lbfgs, functools.partial(self.penalised, float(c) * scale),
                gtol=0.0, maxcor=o.maxcor,
                stop=functools.partial(_settled, settings.AL_ANNEAL_STALL_WINDOW, [])),
                metric=False)
            handoff = 2.0 / (float(c) * scale)
        if closing and not track.out_of_budget():
            x = self.stage(o.metric_weight, x, closing,
                           functools.partial(self.metric_stage, o.metric_weight), metric=True)
            handoff = None
        return x, handoff

    def stage(self, lam: float, x: np.ndarray, length: int,
              run: Callable[[np.ndarray], np.ndarray], metric: bool) -> np.ndarray:
        """One annealing stage of weight ``lam``: ``run`` from ``x`` with at most
        ``length`` iterations; recorded in ``self.stages`` (``metric``: whether it
        measured the residual in the metric)."""
        track = self.track
        begun = track.iterations
        cap, track.max_iter = track.max_iter, min(track.max_iter, begun + length)
        try:
            x = run(x)
        finally:
            track.max_iter = cap
        self.stages.append({"weight": lam, "objective": self.objective(x),
                            "residual": self.residual(x), "iterations": track.iterations - begun,
                            "metric": metric})
        return x

    def metric_stage(self, lam: float, x: np.ndarray) -> np.ndarray:
        """One annealing stage in the metric: L-BFGS runs of ``metric_refresh``
        iterations, each on the metric made at its starting point, until the stage's
        budget is spent or a run ends early (settled, or its line search failed)."""
        o, track = self.o, self.track
        while not track.out_of_budget():
            apply = o.metric(x)  # type: ignore[misc]
            stage_cap, end = track.max_iter, track.iterations + o.metric_refresh
            track.max_iter = min(stage_cap, end)
            moved = functools.partial(_rescaled, self, self.objective(x))
            settled = functools.partial(_settled, settings.AL_ANNEAL_STALL_WINDOW, [])
            try:
                x = track.lbfgs(functools.partial(self.metric_penalised, apply, lam), x,
                                gtol=0.0, maxcor=o.maxcor,
                                stop=functools.partial(_either, moved, settled))
            finally:
                track.max_iter = stage_cap
            if track.iterations < min(stage_cap, end) and not moved():
                break
        return x

    def metric_penalised(self, apply: Callable[[np.ndarray], np.ndarray], lam: float,
                         z: np.ndarray) -> tuple[float, np.ndarray]:
        """``r^T M r + lam sum(w z^2)`` and its gradient, ``M`` = ``apply`` (fixed)."""
        r, vjp = self.evaluate(z)
        m = apply(r)
        return float(r @ m) + lam * self.objective(z), 2.0 * vjp(m) + 2.0 * lam * self.w * z

    def penalised(self, lam: float, z: np.ndarray) -> tuple[float, np.ndarray]:
        """``||r||^2 + lam sum(w z^2)`` and its gradient (one annealing stage)."""
        r, vjp = self.evaluate(z)
        return float(r @ r) + lam * self.objective(z), 2.0 * vjp(r) + 2.0 * lam * self.w * z

    def penalty_phase(self, r: np.ndarray) -> ConstrainedResult | None:
        """Phase 2 from the fitted point (residual ``r``): multiplier updates; the result
        when converged, None when out of budget."""
        o, track, history = self.o, self.track, self.history
        x = self.x
        rn = float(np.linalg.norm(r))
        f = self.objective(x)
        anchor = (x, f, rn)
        mu_start = float(o.penalty) if o.penalty is not None else o.rho * max(1.0, f)
        lam = np.zeros_like(r)
        if o.penalty is None and self.handoff is not None:
            # x minimises the augmented Lagrangian at mu = 2/lam, multipliers 0: continue
            # from there with the first-order multiplier estimate
            mu_start = self.handoff
            lam = mu_start * r
        self.mu = mu_start
        gtol0 = o.inner_gtol * self.grad_scale(x)
        gtol = gtol0
        stuck = 0
        for _ in range(o.max_outer):
            if track.out_of_budget():
                break
            before = track.iterations
            with np.errstate(over="ignore", invalid="ignore"):
                xn = track.lbfgs(functools.partial(self.merit, lam, self.mu), x, gtol=gtol,
                                 maxcor=o.maxcor)
                rn_vec, _ = self.evaluate(xn)
            rn_new = float(np.linalg.norm(rn_vec))
            fn = self.objective(xn)
            collapsed = (not np.isfinite(rn_new) or not np.isfinite(fn)
                         or (rn_new > settings.AL_COLLAPSE_FACTOR * max(rn, o.feas_tol)
                             and rn_new > o.fit_tol))
            history.append({"objective": fn, "residual": rn_new, "penalty": self.mu,
                            "iterations": track.iterations - before, "accepted": not collapsed})
            if collapsed:  # fell into a rank-deficient trap: undo, stiffen the penalty
                self.mu *= 10.0
                continue
            settled = abs(fn - f) <= o.obj_rtol * max(1.0, abs(fn))
            x, f, r_prev, rn = xn, fn, rn, rn_new
            self.x = x
            if rn <= self.accept and (self.usable is None or f < self.usable[1]):
                self.usable = (x, f)
            if rn <= o.feas_tol and settled:
                return self.result("not_certified", True,
                                   f"converged: residual {rn:.2e} <= {o.feas_tol:.1e}, objective "
                                   f"settled to {o.obj_rtol:.0e} after {len(history)} "
                                   "multiplier updates")
            stuck = stuck + 1 if (rn > 0.5 * r_prev and rn > 10 * o.feas_tol) else 0
            if stuck >= settings.AL_STUCK_UPDATES or self.mu > settings.AL_MU_GROWTH * mu_start:
                # no progress although mu grew: trapped. Restart from the fitted point
                # with a ten times stiffer penalty.
                x, f, rn = anchor
                self.x = x
                mu_start *= 10.0
                self.mu, lam, gtol, stuck = mu_start, np.zeros_like(r), gtol0, 0
                history[-1]["accepted"] = False
                continue
            lam = lam + self.mu * rn_vec
            if rn > settings.AL_PROGRESS_RATIO * r_prev:
                self.mu *= 10.0
            gtol = max(gtol * 0.1, settings.AL_GTOL_FLOOR * self.grad_scale(x))
        return None

    def grad_scale(self, x: np.ndarray) -> float:
        """``max(1, max |2 w x|)``: the scale of the objective's gradient."""
        return max(1.0, float(np.max(np.abs(2 * self.w * x))))

    def interrupted(self) -> ConstrainedResult:
        """A KeyboardInterrupt: the best point so far, flagged ``interrupted``."""
        if self.fitting and self.track.last is not None:  # in phase 1 the latest iterate
            self.x = self.track.last
        elif self.usable is not None:  # the lowest-objective accepted iterate within accept
            self.x = self.usable[0]
        out = self.result("solver_error", False, "interrupted (KeyboardInterrupt); returning "
                          "the last accepted point", interrupted=True)
        if out.residual <= self.accept:
            out = dataclasses.replace(out, status="optimal_inaccurate")
        return out

    def wrap_up(self) -> ConstrainedResult:
        """Out of budget: polish by least squares, prefer a usable iterate, say why."""
        o, track = self.o, self.track
        why = ("time limit" if track.deadline is not None and time.perf_counter() > track.deadline
               else "iteration budget" if track.iterations >= track.max_iter else
               f"{o.max_outer} multiplier updates")
        rfin = self.residual(self.x)
        polish = ""
        if rfin > o.feas_tol and track.iterations < track.hard_max_iter:
            # polish: least squares from the last point (with the reserved budget), so that a
            # run whose multipliers converge slowly still ends with a feasible witness
            track.release()
            try:
                xp = track.lbfgs(self.fit_value, self.x, gtol=0.0, maxcor=o.maxcor,
                                 stop=lambda fv: np.sqrt(2.0 * max(fv, 0.0)) <= o.feas_tol)
            except KeyboardInterrupt:
                xp = self.x
            rp = self.residual(xp)
            if rp < rfin:
                polish = (f"; a final least-squares polish took the residual from {rfin:.2e} "
                          f"to {rp:.2e}, changing the objective from "
                          f"{self.objective(self.x):.10g} to {self.objective(xp):.10g}")
                self.x, rfin = xp, rp
        usable = self.usable
        if usable is not None and (rfin > self.accept
                                   or self.objective(usable[0]) < self.objective(self.x)):
            polish += (f"; returning the lowest-objective iterate with residual <= "
                       f"{self.accept:.1e} instead")
            self.x = usable[0]
            rfin = self.residual(self.x)
        if rfin <= o.feas_tol:
            return self.result("optimal_inaccurate", False, f"stopped by the {why} before the "
                               f"objective settled (residual {rfin:.2e}){polish}")
        if rfin <= self.accept:
            return self.result("optimal_inaccurate", False, f"stopped by the {why} with "
                               f"residual {rfin:.2e}, within accept_tol = {self.accept:.1e} but "
                               f"above feas_tol = {o.feas_tol:.1e}{polish}")
        return self.result("solver_error", False, f"stopped by the {why} with residual "
                           f"{rfin:.2e} > {self.accept:.1e}: the constraint was not met{polish}")


def _either(moved: Callable[[], bool], settled: Callable[[float], bool], fval: float) -> bool:
    """Stop rule of a run in the metric: the metric is stale, or the run settled."""
    return moved() or settled(fval)


def _rescaled(run: _AugmentedLagrangian, start: float) -> bool:
    """True when the last iterate's objective left ``[1/g, g] * start`` (``g`` =
    :data:`cbntheory.settings.RELU_METRIC_RESCALE`): the metric, made at the start of an
    L-BFGS run, no longer matches the network's scale, and must be made again."""
    last = run.track.last
    now = run.objective(last) if last is not None else start
    g = settings.RELU_METRIC_RESCALE
    return not start / g <= now <= start * g


def _settled(window: int, seen: list[float], fval: float) -> bool:
    """Stop rule of an annealing stage: its objective fell by at most
    ``AL_ANNEAL_STALL_RTOL`` (relative) over the last ``window`` iterations."""
    seen.append(fval)
    return (len(seen) > window
            and seen[-window - 1] - fval <= settings.AL_ANNEAL_STALL_RTOL * abs(fval))


def _stalled(fit_tol: float, window: int, seen: list[float], fval: float) -> bool:
    """Stop rule of a fit: ``||r|| <= fit_tol``, or ``||r||^2`` kept more than
    ``AL_STALL_RATIO`` of its value over the last ``window`` iterations."""
    seen.append(fval)
    if np.sqrt(2.0 * max(fval, 0.0)) <= fit_tol:
        return True
    return len(seen) >= window and fval > settings.AL_STALL_RATIO * seen[-window]
