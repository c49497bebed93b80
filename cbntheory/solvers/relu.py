"""Minimal-norm interpolation by deep ReLU CNNs: the ReLU case of :func:`cbntheory.minimal_norm`.

Given finite data ``(X, Y)`` — or a target network sampled at inputs ``X`` — find a
network of the architecture with ``f_theta(X) = Y`` (to the relative tolerance
``tol``) and ``||theta||^2`` as small as possible.  The problem is non-convex; the
answer is an *upper bound* on the representation cost ``R(f; Omega, L)``, certified
by recomputing the network's outputs and norm in numpy, together with whatever lower
bound can be proved.

Each restart starts from the target network written in the architecture or a random
network scaled to the data (:mod:`.starts`), runs the augmented Lagrangian
(:mod:`.augmented`) for part of its budget (``max_iter`` iterations, its share of
``time_limit``) — from a random start an annealed penalty phase whose norm falls while
the residual does (when the projection below closes the residual: one stage with the
residual measured in the Gauss-Newton metric for budgets up to
``settings.RELU_METRIC_MAX_ITER`` iterations, else the plain stage
``settings.RELU_ANNEAL_PROJECTED``; the stages of ``settings.RELU_ANNEAL`` when the
Jacobian is too large for it), from a warm start a light one
(``settings.RELU_WARM_ANNEAL``) —, projects onto the data by Gauss-Newton steps
(:mod:`.projection`) and rebalances; every candidate's last layer is then finished exactly
(:mod:`.exact_fit`: a least-norm correction that brings the residual to round-off, its
cost included) — unless the object is ``R_eps`` (``epsilon > 0``), whose networks need
only reach ``epsilon``.  The certified lower bound is the Lipschitz bound
(:func:`cbntheory.theory.lipschitz.lipschitz_lower_bound`); shift-inconsistent data,
and outputs of a higher rank than the last layer's input channels allow, raise
:class:`~cbntheory.errors.InfeasibleError` before any optimisation
(:mod:`.certificates`, which also gives the T2 value conditional on an open set).  A
width that cannot interpolate ends in a ``"solver_error"`` status, never in an endless
loop; Ctrl-C returns the best verified network so far.  Details: ``docs/solvers.md``, §6.

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

import dataclasses
import functools
import time
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..errors import InfeasibleError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..results import NormResult, relative_residual
from ..theory.lipschitz import lipschitz_lower_bound
from .augmented import minimize_norm_subject_to
from .certificates import conditional_t2, last_layer_residual, orbit_representatives, orbit_residual
from .constraints import network_constraint
from .exact_fit import finish_candidate, finish_exactly
from .problem import Candidate, Outcome, Problem, make_problem
from .projection import gauss_newton_metric, project
from .restarts import INTERRUPTED, OUT_OF_TIME, Restart, run_restarts
from .starts import RANDOM_INITS, RELU_INITS, random_start, rebalance, start_kind, warm_starts
from .verify import finish

__all__ = ["OPTIONS", "RELU_INITS", "relu_minimal_norm", "solve"]

#: Case options accepted through :func:`cbntheory.minimal_norm` (``**options``).
OPTIONS = ("init", "max_iter", "assume_open_set", "bound_points", "orbit_reduction")

SOLVER = "augmented Lagrangian + L-BFGS-B (cbntheory.solvers.augmented), rebalanced"


def relu_minimal_norm(arch: Architecture, X: Any = None, Y: Any = None, *,
                      target: Network | None = None, rng: Any = 0, restarts: int = 1,
                      tol: float = settings.FIT_RTOL, init: Any = "auto",
                      time_limit: float | None = None,
                      max_iter: int = settings.AL_MAX_ITER, assume_open_set: bool = False,
                      bound_points: int = settings.T2_MAX_POINTS,
                      orbit_reduction: bool = True, strict: bool = False) -> NormResult:
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
    rng, restarts, tol, time_limit, strict
        As in :func:`cbntheory.minimal_norm`; ``time_limit=None`` gives each restart
        :data:`cbntheory.settings.RELU_TIME_LIMIT` seconds, and the minimiser aims at
        ``tol * settings.AL_FEAS_FACTOR``.
    init : {"auto", "gaussian", "identity", "target"}, Network or sequence of Networks
        Starts of :mod:`cbntheory.solvers.starts`; a Network (of ``arch`` or embeddable
        in it) is the warm start of the first restart, a sequence of Networks (or of
        ``(Network, sentence)`` pairs) the warm starts of the first restarts in order,
        and there are then at least as many restarts as warm starts.  "auto": the target
        first when it embeds, then identity and Gaussian starts alternating for ReLU
        networks with at least three convolutions (Gaussian otherwise).  A warm start
        that already fits is a candidate itself.
    max_iter : int
        L-BFGS-B iterations per restart (default :data:`cbntheory.settings.AL_MAX_ITER`).
    assume_open_set : bool
        With a target: also report the T2 Jacobian bound, conditional on ``f_theta``
        having to equal the target on an open set (see the module notes).
    bound_points : int
        Number of samples where that conditional bound is evaluated.
    orbit_reduction : bool
        When samples are circular shifts of each other with shifted outputs
        (:func:`~cbntheory.solvers.certificates.orbit_representatives`), optimise on one
        sample per orbit (an equivariant network fitting it fits the whole orbit) and
        verify on every sample.  Default True.

    Returns
    -------
    NormResult
        From :func:`cbntheory.solvers.verify.finish`: ``lower`` the certified Lipschitz
        bound; ``network=None`` and ``upper = inf`` (status "solver_error", the closest
        network in ``info["best_unverified"]``) when no restart met ``tol``.  ``info``:
        ``runs`` (per restart: seed, init, source, objective, residual, iterations, time,
        ``anneal`` (the annealed phase's stages, empty without one), message),
        ``interrupted``, ``orbit_residual``, ``last_layer_residual`` (depth >= 2),
        ``orbit_reduction`` (samples
        optimised on, when reduced), ``warm_starts``, ``lower_bound``, ``target_norm``,
        ``conditional_lower``.

    Raises
    ------
    ValidationError, InfeasibleError, SolverError
        As :func:`cbntheory.minimal_norm` (shift-inconsistent data, and outputs beyond
        the rank the last layer's width allows, are infeasible).
    """
    start = time.perf_counter()
    options = {"init": init, "max_iter": max_iter, "assume_open_set": assume_open_set,
               "bound_points": bound_points, "orbit_reduction": orbit_reduction}
    problem = make_problem(arch, X if Y is None else (X, Y), target, rng=rng,
                           restarts=restarts, tol=tol, strict=strict, method="numerical",
                           time_limit=time_limit, options=options)
    return finish(problem, solve(problem), start)


@dataclasses.dataclass(frozen=True)
class ReluOptions:
    """The validated case options (see :func:`relu_minimal_norm`)."""

    init: Any
    max_iter: int
    assume_open_set: bool
    bound_points: int
    orbit_reduction: bool = True


def _options(problem: Problem) -> ReluOptions:
    opts = dict(problem.options)
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown:
        raise V.fail("options", f"be among {OPTIONS} for ReLU architectures", unknown)
    if problem.method not in ("auto", "numerical"):
        raise V.fail("method", "be 'auto' or 'numerical' for ReLU architectures (no closed "
                     "form; for two-layer avgpool networks use "
                     "cbntheory.convex.two_layer_min_norm)", problem.method)
    bound_points = V.positive_int("bound_points", opts.get("bound_points",
                                                           settings.T2_MAX_POINTS))
    assume_open_set = V.flag("assume_open_set", opts.get("assume_open_set", False))
    max_iter = V.positive_int("max_iter", opts.get("max_iter", settings.AL_MAX_ITER))
    return ReluOptions(init=opts.get("init", "auto"), max_iter=max_iter,
                       assume_open_set=assume_open_set, bound_points=bound_points,
                       orbit_reduction=V.flag("orbit_reduction",
                                              opts.get("orbit_reduction", True)))


def _lower_bound(problem: Problem, info: dict[str, Any]) -> tuple[float | None, str]:
    """The certified Lipschitz bound (none when samples coincide within ``tol``).

    For ``R_eps`` every sample may be off by ``eps ||Y||_F``: the bound of that object
    (``Lambda_eps``, the ``2 eps`` slack of :mod:`cbntheory.theory.lipschitz`).
    """
    slack = problem.epsilon * float(np.linalg.norm(problem.Y))
    try:
        lb = lipschitz_lower_bound(problem.arch, problem.X, problem.Y, eps=slack)
    except InfeasibleError as exc:  # duplicates within tol: exact interpolation impossible
        info["lower_bound"] = {"kind": None, "note": str(exc)}
        return None, f"none ({exc})"
    info["lower_bound"] = {"kind": "lipschitz", "lipschitz": lb.lipschitz, "pair": lb.pair,
                           "gamma": lb.gamma, "eps": slack}
    which = ("Lambda" if slack == 0 else
             f"Lambda_eps (2 eps = {2 * slack:.3g} of slack for fits within epsilon)")
    return lb.value, (f"Lipschitz bound L (gamma Lambda^2)^(1/L) with {which} = "
                      f"{lb.lipschitz:.6g} (samples {lb.pair[0]} and {lb.pair[1]})")


def solve(problem: Problem) -> Outcome:
    """The ReLU case of :func:`cbntheory.minimal_norm` (registered in ``CASES``).

    Validates the options ``init``, ``max_iter``, ``assume_open_set`` and
    ``bound_points``, checks the data against translation equivariance, proves the
    Lipschitz lower bound and runs the restarts (see :func:`relu_minimal_norm`).

    Raises ValidationError for unknown options or ``method`` "closed_form"/"convex" (two-layer
    avgpool networks: :func:`cbntheory.convex.two_layer_min_norm`), InfeasibleError for
    shift-inconsistent data (:func:`~cbntheory.solvers.certificates.orbit_residual`) and
    for outputs the last layer's width cannot reach
    (:func:`~cbntheory.solvers.certificates.last_layer_residual`).
    """
    opts = _options(problem)
    arch, target = problem.arch, problem.network_target
    warms = warm_starts(arch, opts.init, target)
    info: dict[str, Any] = {"runs": [], "interrupted": False}
    if target is not None:
        info["target_norm"] = target.param_norm()
    if warms:
        info["warm_start"] = warms[0][1]
    used = {"init": opts.init if isinstance(opts.init, str) else "network",
            "max_iter": opts.max_iter, "feas_tol": problem.tol * settings.AL_FEAS_FACTOR,
            "rho": settings.AL_RHO}
    if float(np.linalg.norm(problem.Y)) == 0.0:  # the zero network reproduces zero outputs
        zero = Network.from_vector(arch, np.zeros(arch.n_free), seed=problem.seed)
        cand = Candidate(zero, "the zero network (all outputs are zero)", SOLVER, exact=True,
                         options=used)
        return Outcome(candidates=(cand,), lower=0.0, lower_how="a norm is never negative",
                       info=info)
    orbit = info["orbit_residual"] = orbit_residual(arch, problem.X, problem.Y)
    if orbit > problem.tol:
        raise InfeasibleError(
            f"data must be consistent with translation equivariance: inputs that are circular "
            f"shifts of each other (or equal) force related outputs, and no equivariant map "
            f"reaches a relative residual below {orbit:.3g} > tol={problem.tol:g}")
    folded = last_layer_residual(arch, problem.X, problem.Y)
    if folded is not None:
        info["last_layer_residual"] = folded.residual
        if folded.residual > problem.tol:
            raise InfeasibleError(folded.describe(problem.tol, arch.depth - 1))
    lower, lower_how = _lower_bound(problem, info)
    candidates, note = _Search(problem, opts, warms, info, used).run()
    if problem.epsilon == 0:
        # exact interpolation is the object the lower bound certifies: finish every network
        candidates = tuple(finish_candidate(problem, c) for c in candidates)
    if target is not None and opts.assume_open_set and not info["interrupted"]:
        info["conditional_lower"] = conditional_t2(arch, target, problem.X, opts.bound_points)
    return Outcome(candidates=candidates, lower=lower, lower_how=lower_how, info=info,
                   note=note, withhold_unfit=True)


class _Search:
    """The restarts of the ReLU case: one augmented-Lagrangian run and a polish each.

    With orbit reduction the constraint, the projection and the polish see one sample
    per shift orbit (``self.X``, ``self.Y``) and aim at ``self.aim``, the tolerance that
    keeps the residual on every sample within ``tol``; the residual recorded per run and
    the verification use every sample.
    """

    def __init__(self, problem: Problem, opts: ReluOptions, warms: list[tuple[Network, str]],
                 info: dict[str, Any], used: dict[str, Any]) -> None:
        self.problem, self.opts, self.warms, self.info, self.used = (problem, opts, warms,
                                                                     info, used)
        arch = problem.arch
        self.X, self.Y, self.aim = problem.X, problem.Y, problem.tol
        reduced = (orbit_representatives(arch, problem.X, problem.Y)
                   if opts.orbit_reduction else None)
        if reduced is not None:
            reps, sizes = reduced
            self.X, self.Y = problem.X[reps], problem.Y[reps]
            self.aim = problem.tol * float(np.sqrt(sizes.min() / sizes.max()))
            info["orbit_reduction"] = {"representatives": reps.tolist(),
                                       "orbit_sizes": sizes.tolist(),
                                       "samples": int(problem.X.shape[0])}
        self.count = max(problem.restarts, len(warms))
        self.constraint = network_constraint(arch, self.X, self.Y)
        self.weights = arch.penalty_mask().astype(float)
        self.projectable = self.Y.size * arch.n_free <= settings.RELU_PROJECT_MAX_ENTRIES
        self.metric = (gauss_newton_metric(arch, self.X, self.Y) if self.projectable
                       else None)

    def run(self) -> tuple[tuple[Candidate, ...], str]:
        """Candidates (the verified warm starts first, then every restart) and the note."""
        p, info = self.problem, self.info
        first: list[Candidate] = []
        info["warm_starts"] = []
        for net, why in self.warms:
            resid = relative_residual(net(p.X), p.Y)
            info["warm_starts"].append({"source": why, "norm": net.param_norm(),
                                        "residual": resid})
            if resid <= p.tol:  # the start itself is a verified candidate; named by its
                # source, so that a construction that wins stays a construction in the tables
                first.append(Candidate(net, f"warm start: {why}",
                                       f"warm start unchanged: {why}", options=self.used))
        if self.warms:
            info["warm_start_norm"] = info["warm_starts"][0]["norm"]
            info["warm_start_residual"] = info["warm_starts"][0]["residual"]
        runs, stop = run_restarts(p.seed, self.count, self.attempt, time_limit=p.time_limit)
        if stop == OUT_OF_TIME:
            info["out_of_time"] = f"time_limit reached after {len(runs)} restart(s)"
        info["interrupted"] = stop == INTERRUPTED
        n_ok = sum(1 for r in runs if r.converged)
        stopped = " (interrupted by KeyboardInterrupt)" if info["interrupted"] else ""
        if first or n_ok:
            return tuple(first + runs), (f"{n_ok} of {len(runs)} restart(s) verified{stopped}; a "
                                  "local method: the minimum may be lower")
        return tuple(first + runs), (
            f"none of {len(runs)} restart(s){stopped} reached tol={p.tol:g}. The widths "
            f"{p.arch.channels} may be too small to interpolate these data, or the budget "
            "too small: try wider layers, more restarts, a larger time_limit or max_iter")

    def attempt(self, r: Restart) -> tuple[Candidate, bool]:
        """Restart ``r``: start, minimise for its share of the time, polish, record."""
        p, arch = self.problem, self.problem.arch
        if r.index < len(self.warms):
            theta0, how = self.warms[r.index][0].to_vector(), "warm start"
        else:
            how = start_kind(arch, self.opts.init, r.index - len(self.warms))
            theta0 = random_start(arch, r.seed, self.X, self.Y, how)
        # no time_limit: a fixed budget per restart; else share what is left
        budget = settings.RELU_TIME_LIMIT if r.left is None else r.left / (self.count - r.index)
        deadline = time.perf_counter() + budget
        reserve = settings.RELU_PROJECT_RESERVE if self.projectable else 0.0
        schedule = self.schedule(how)
        res = self.minimise(theta0, r.seed, budget * (1.0 - reserve), schedule)
        res, (net, resid, note, stopped), iterations, annealed = self.closed(
            res, how, r.seed, deadline, bool(schedule), theta0)
        if self.X is not p.X:  # reduced to orbit representatives: the residual on all samples
            resid = relative_residual(net(p.X), p.Y)
        wall = time.perf_counter() - (deadline - budget)
        # the minimiser's clock stops at keep * budget: a run that ended earlier was bounded
        # by its iteration counts alone, whatever the load of the machine
        keep = (1.0 - schedule.get("polish_reserve", settings.AL_POLISH_RESERVE)) * (1.0 - reserve)
        source = self.warms[r.index][1] if r.index < len(self.warms) else how
        self.info["runs"].append({"seed": r.seed, "init": how, "source": source,
                                  "objective": net.param_norm(),
                                  "residual": resid, "verified": resid <= p.tol,
                                  "status": res.status, "iterations": iterations,
                                  "wall_time": wall, "clock_may_have_acted": wall >= keep * budget,
                                  "anneal": annealed, "message": res.message + note})
        run = Candidate(net, f"restart {r.index} (seed {r.seed}, {how} init: {source})", SOLVER,
                        converged=resid <= p.tol, options=self.used)
        return run, res.interrupted or stopped

    def closed(self, res: Any, how: str, seed: int, deadline: float, annealed_run: bool,
               theta0: np.ndarray
               ) -> tuple[Any, tuple[Network, float, str, bool], int, list[dict[str, Any]]]:
        """The run ``res`` polished and, while the result misses the data, closed by the
        runs of :meth:`closings` (an annealed run only), each with its own iteration
        budget, from the restart's start ``theta0`` or from where the one before ended.
        Returns the last run, its polish (network, residual, note, interrupted), the
        iterations of all runs and their annealing stages.
        """
        net, resid, note, stopped = self.polished(res, seed, deadline)
        iterations, stages = res.n_iterations, list(res.anneal)
        for later, why, start in self.closings(how, res, theta0) if annealed_run else ():
            if resid <= self.aim or res.interrupted or stopped:
                break
            res = self.minimise(start(res), seed, max(deadline - time.perf_counter(), 0.0),
                                later(res))
            net, resid, note, stopped = self.polished(res, seed, deadline)
            note += f"; the annealed run did not fit: {why}"
            iterations += res.n_iterations
            stages += list(res.anneal)
        return res, (net, resid, note, stopped), iterations, stages

    def closings(self, how: str, first: Any, theta0: np.ndarray) -> Any:
        """What follows a random start's annealed run ``first`` that did not fit, in
        order, each from where the one before ended.  After the metric stage (a short
        budget; it can end at a degenerate point that no projection leaves), first the
        start ``theta0`` again with the plain stage (``settings.RELU_ANNEAL_PROJECTED``).
        After a plain stage, the later stages of ``settings.RELU_ANNEAL`` at the weights
        they would have had after it; then the fit-first schedule.  Yields ``(schedule,
        note, start)``, the first and last as functions of the previous run."""
        if self.projectable and how in RANDOM_INITS:
            top = settings.RELU_ANNEAL_PROJECTED[-1]
            later = tuple(c for c in settings.RELU_ANNEAL if c < top)
            if first.anneal and all(st.get("metric") for st in first.anneal):
                yield (lambda prev: {"anneal": settings.RELU_ANNEAL_PROJECTED,
                                     "anneal_share": 1.0, "polish_reserve": 0.0},
                       "restarted with the plain annealing", lambda prev: theta0)
            if later and first.anneal:
                yield (functools.partial(_continued, top, later),
                       "continued by the later annealing stages", lambda prev: prev.x)
        yield (lambda prev: {}), "closed by the fit-first schedule", lambda prev: prev.x

    def minimise(self, theta0: np.ndarray, seed: int, time_limit: float,
                 schedule: dict[str, Any]) -> Any:
        """One run of the augmented Lagrangian (``schedule``: its first phase) from ``theta0``."""
        return minimize_norm_subject_to(
            self.constraint, theta0, weights=self.weights,
            feas_tol=self.aim * settings.AL_FEAS_FACTOR, obj_rtol=settings.AL_OBJ_RTOL,
            rho=settings.AL_RHO, max_iter=self.opts.max_iter, time_limit=time_limit,
            rng=seed, accept_tol=self.aim, maxcor=settings.RELU_MAXCOR, **schedule)

    def polished(self, res: Any, seed: int, deadline: float) -> tuple[Network, float, str, bool]:
        """:func:`polish` of a run's network (projected unless the run was interrupted)."""
        return polish(Network.from_vector(self.problem.arch, res.x, seed=seed), self.X, self.Y,
                      self.aim, deadline, self.projectable and not res.interrupted,
                      exact=self.problem.epsilon == 0)

    def schedule(self, how: str) -> dict[str, Any]:
        """The first phase of a restart's minimiser (options of
        :func:`~cbntheory.solvers.augmented.minimize_norm_subject_to`).

        A random start is far from the data: an annealed penalty lowers the norm while
        the residual falls, where a fit first would leave the norm where the start put
        it.  When the Gauss-Newton projection can close the residual, the annealing is one
        stage with the whole budget, and the projection replaces the later stages, the
        augmented Lagrangian's closing phase and its norm-blind least-squares polish.
        Up to ``settings.RELU_METRIC_MAX_ITER`` iterations the stage measures the residual
        in the Gauss-Newton metric (:func:`.projection.gauss_newton_metric`), whose end is
        a short Gauss-Newton step from the data; above, it is the plain stage
        ``settings.RELU_ANNEAL_PROJECTED``, which lowers the norm further in long runs.
        Without the projection, the stages of ``settings.RELU_ANNEAL`` close the residual
        themselves.  A warm start fits already, or nearly: ``settings.RELU_WARM_ANNEAL``.
        """
        if how not in RANDOM_INITS:
            anneal = settings.RELU_WARM_ANNEAL
        elif self.projectable and self.opts.max_iter <= settings.RELU_METRIC_MAX_ITER:
            return {"anneal": (), "metric": self.metric,
                    "metric_weight": settings.RELU_METRIC_WEIGHT,
                    "metric_iterations": self.opts.max_iter,
                    "metric_refresh": settings.RELU_METRIC_REFRESH,
                    "anneal_share": 1.0, "polish_reserve": 0.0}
        elif self.projectable:
            anneal = settings.RELU_ANNEAL_PROJECTED
        else:
            anneal = settings.RELU_ANNEAL
        if not anneal:
            return {}
        if self.projectable:
            return {"anneal": anneal, "anneal_share": 1.0, "polish_reserve": 0.0}
        return {"anneal": anneal, "anneal_share": settings.AL_ANNEAL_SHARE}


def _continued(first: float, later: tuple[float, ...], prev: Any) -> dict[str, Any]:
    """The later annealing stages after ``prev``'s plain stage (of weight ``first`` before
    scaling): the absolute weights ``lam_k = lam c_k / first`` it would have gone on with,
    written relative to the norm where they start (the minimiser divides by it again);
    the fit-first schedule when ``prev`` ran no plain stage."""
    plain = [st for st in prev.anneal if not st.get("metric")]
    if not plain:
        return {}
    lam, scale = plain[-1]["weight"], max(1.0, prev.objective)
    return {"anneal": tuple(lam * c / first * scale for c in later), "anneal_share": 1.0,
            "polish_reserve": 0.0}


def polish(net: Network, X: np.ndarray, Y: np.ndarray, tol: float, deadline: float,
           projectable: bool, exact: bool = False) -> tuple[Network, float, str, bool]:
    """Rebalance, and project onto the data when the residual is short of the target.

    Returns the lowest-norm candidate within ``tol`` (else the lowest-residual one), its
    residual, a note for the run's message and whether a KeyboardInterrupt arrived.
    With ``exact`` (the answer will be finished exactly, :mod:`.exact_fit`) the
    projection aims at :data:`cbntheory.settings.EXACT_FIT_RTOL` (Gauss-Newton converges
    quadratically: at most one step more) and the candidates are compared as finished:
    a last-layer correction from a residual of 1e-11 through ill-conditioned features
    can cost more norm (0.2 of 44 measured on ``shift_autoencoder_2d``) than a
    projection step of every layer.
    """
    resid = relative_residual(net(X), Y)
    candidates = [(net, resid)]
    note, stopped = "", False
    aim = settings.EXACT_FIT_RTOL if exact else tol * settings.RELU_PROJECT_MARGIN
    if projectable and resid > aim:
        try:
            moved, m_resid, steps = project(net, X, Y, aim, deadline=deadline)
            candidates.append((moved, m_resid))
            note = (f"; Gauss-Newton projection: residual {resid:.2e} -> {m_resid:.2e} in "
                    f"{steps} step(s)")
        except KeyboardInterrupt:
            stopped = True
    try:
        for cand, r in list(candidates):
            balanced = rebalance(cand)
            if balanced is not cand:
                b_resid = relative_residual(balanced(X), Y)
                if b_resid <= max(tol, r):
                    candidates.append((balanced, b_resid))
    except KeyboardInterrupt:
        stopped = True
    fitting = [c for c in candidates if c[1] <= tol]
    if exact:
        fitting = [(fit.network, fit.residual) for fit in
                   (finish_exactly(c[0], X, Y) for c in fitting)]
    if fitting:
        net, resid = min(fitting, key=lambda c: c[0].param_norm())
    else:
        net, resid = min(candidates, key=lambda c: c[1])
    return net, resid, note, stopped
