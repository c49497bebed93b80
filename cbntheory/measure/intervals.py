"""Measuring the representation cost ``R(f; Omega, L)`` at one depth, as ``[lower, upper]``.

:func:`measure_depth` does one depth of a :class:`cbntheory.targets.Target`
(:mod:`cbntheory.measure.tabulate` runs it over depths):

* a linear target on the whole space (``Target.operator()``, activation ``"linear"``):
  the closed form T1, ``lower = upper``, re-verified by composing the balanced
  factorisation (:func:`linear_row`);
* a target given by finite data (:func:`data_rows`): the Lipschitz lower bound
  (:mod:`cbntheory.theory.lipschitz`), the explicit CBN construction of the target where it
  has one, :func:`cbntheory.solvers.dispatch.minimal_norm`, and at ``L = 2`` with the head
  ``"avgpool"`` the exact convex program (:mod:`cbntheory.solvers.convex`); every network
  is re-checked here (fit to ``FIT_RTOL``, norm recomputed) and the best bound of each
  side is kept.

A failing solve never raises: its row carries the status (``solver_error``,
``infeasible``) and the exception's message; warnings go into the message; a depth the
architecture refuses is ``"skipped"``.

Examples
--------
>>> import numpy as np
>>> from cbntheory.operators import ConvOperator
>>> A = ConvOperator(np.array([[[2.0, 1.0, 0.0, 1.0]]]))   # multipliers 2, 1, 0, 1 (c = 1/2)
>>> row = linear_row(A, 2)
>>> row.status, bool(np.isclose(row.upper, 2 * (2 + 1 + 1)))
('optimal', True)
"""
from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import settings
from ..errors import InfeasibleError, TooManyCellsError
from ..results import (
    FAILED,
    INFEASIBLE,
    NOT_CERTIFIED,
    OPTIMAL,
    OPTIMAL_INACCURATE,
    SOLVER_ERROR,
    VERIFIED,
    NormResult,
    interval_status,
    relative_residual,
)
from ..solvers.dispatch import minimal_norm, stop_if_interrupted
from ..theory.lipschitz import lipschitz_lower_bound
from .tables import SKIPPED, TIME_CAPPED, DepthRow

#: The convex two-layer program falls back to sampled activation patterns (an upper
#: bound) only when the inputs have at most this many entries: 24 signals of 8 pixels
#: take ~5 s with 200 patterns, 10 digits of 64 pixels already minutes.
CONVEX_SAMPLE_MAX_SIZE: int = 256
#: Number of sampled activation patterns in that fallback.
CONVEX_SAMPLE_PATTERNS: int = 200
#: Solver name of the depth-2 dual certificate's rows (issue 15).
DEPTH2_DUAL: str = "depth2_dual_certificate"


def _failed_row(depth: int, exc: BaseException, seed: int | None, start: float) -> DepthRow:
    status = INFEASIBLE if isinstance(exc, InfeasibleError) else SOLVER_ERROR
    text = " ".join(str(exc).split()) or type(exc).__name__
    return DepthRow(depth, None, None, status, f"{type(exc).__name__}: {text}", "", seed,
                    time.perf_counter() - start)


def _with_warnings(fn: Callable[[], DepthRow]) -> DepthRow:
    """Run ``fn`` recording warnings into the row's message instead of emitting them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row = fn()
    if caught:
        notes = "; ".join(sorted({f"{w.category.__name__}: {w.message}" for w in caught}))
        row = dataclasses.replace(row, message=f"{row.message} [warnings: {notes}]".strip())
    return row


def linear_row(A: Any, depth: int) -> DepthRow:
    """Exact row of a linear target on the whole space (T1), re-verified.

    The value is :func:`cbntheory.linear_cost`; the balanced factorisation is composed
    and compared with ``A`` (relative kernel residual), and its parameter norm with the
    value; a disagreement beyond :data:`cbntheory.settings.OBJECTIVE_RTOL` downgrades
    the status to ``optimal_inaccurate``.
    """
    from ..theory.linear import verified_linear_cost

    start = time.perf_counter()
    check = verified_linear_cost(A, depth)
    cost, residual, gap = check.cost, check.residual, check.norm_gap
    status = OPTIMAL if check.ok else OPTIMAL_INACCURATE
    msg = (f"closed form (T1); balanced factorisation reproduces the target to "
           f"{residual:.1e} and its norm to {gap:.1e} (relative)")
    return DepthRow(depth, cost.value, cost.value, status, msg, "closed_form_T1", None,
                    time.perf_counter() - start, residual)


def combine(depth: int, rows: Sequence[DepthRow]) -> DepthRow:
    """Join several measurements of one depth: best lower, best upper, joint status.

    The status is :func:`cbntheory.results.interval_status` of the joined interval; an
    open interval keeps the best upper bound's own status when that one is not verified;
    a source stopped by its safety time cap makes the row ``"time_capped"``.
    """
    lowers = [r for r in rows if r.lower is not None]
    low_row = max(lowers, key=lambda r: float(r.lower)) if lowers else None  # type: ignore[arg-type]
    lower = None if low_row is None else low_row.lower
    lower_from = "" if low_row is None else (low_row.lower_from or low_row.solver)
    good = [r for r in rows if r.upper is not None]
    message = " | ".join(f"{r.solver or 'solver'}: {r.message}" for r in rows)
    solver = "; ".join(r.solver for r in rows if r.solver)
    wall = float(sum(r.wall_time for r in rows if math.isfinite(r.wall_time)))
    if not good:
        failed = next((r for r in rows if r.status in FAILED), rows[-1])
        return DepthRow(depth, lower, None, failed.status, message, solver, failed.seed, wall,
                        lower_from=lower_from)
    best = min(good, key=lambda r: float(r.upper))  # type: ignore[arg-type]
    upper = float(best.upper)  # type: ignore[arg-type]
    message = f"upper bound from {best.solver or 'solver'}; {message}"
    status = interval_status(lower, upper)
    if status == NOT_CERTIFIED and best.status not in VERIFIED:
        status = best.status
    if any(r.status == TIME_CAPPED for r in rows):  # a source was cut: not an ordinary row
        status, message = TIME_CAPPED, f"stopped by the safety time cap; {message}"
    networks = {r.solver: r.network for r in good if r.network is not None}
    conditional = next((r.conditional_lower for r in rows if r.conditional_lower is not None),
                       None)
    return DepthRow(depth, lower, upper, status, message, solver, best.seed, wall,
                    best.residual, best.network, networks, upper_from=best.solver,
                    lower_from=lower_from, conditional_lower=conditional)


def _verified(depth: int, res: NormResult, X: Any, Y: Any, epsilon: float = 0.0) -> DepthRow:
    """Row of a solver result whose network is re-checked here (fit and norm recomputed).

    The fit is accepted to ``FIT_RTOL`` (times the re-check factor) for exact
    interpolation, and to ``epsilon`` itself for ``R_eps``.
    """
    net = res.network
    lower = None if res.lower is None or not math.isfinite(res.lower) else float(res.lower)
    if net is None:
        return DepthRow(depth, lower, None, res.status if res.status != OPTIMAL else SOLVER_ERROR,
                        f"no network returned: {res.message}", res.solver, res.seed,
                        float(res.wall_time))
    residual = relative_residual(net(X), Y)
    allowed = epsilon if epsilon > 0 else settings.FIT_RTOL * settings.FIT_RECHECK_FACTOR
    if not residual <= allowed:
        return DepthRow(depth, lower, None, SOLVER_ERROR,
                        f"network rejected: relative residual {residual:.1e} > "
                        f"{allowed:g} ({res.status}: {res.message})", res.solver,
                        res.seed, float(res.wall_time), residual)
    checked = dataclasses.replace(res, lower=lower, upper=float(net.param_norm()),
                                  residual=residual)
    return DepthRow.from_result(depth, checked)


def lipschitz_row(arch: Any, X: Any, Y: Any, depth: int, epsilon: float = 0.0) -> DepthRow:
    """Row of the Lipschitz lower bound :func:`cbntheory.theory.lipschitz.lipschitz_lower_bound`.

    For ``R_eps`` the per-sample slack is ``epsilon ||Y||_F`` (every network within the
    relative residual ``epsilon`` is within it at every sample).
    """
    start = time.perf_counter()
    slack = float(epsilon) * float(np.linalg.norm(Y))
    try:
        b = lipschitz_lower_bound(arch, X, Y, eps=slack)
    except Exception as exc:
        return _failed_row(depth, exc, None, start)
    which = "Lambda" if slack == 0 else f"Lambda_eps (slack 2 eps = {2 * slack:.3g})"
    return DepthRow(depth, b.value, None, NOT_CERTIFIED,
                    f"Lipschitz lower bound L (gamma Lambda^2)^(1/L), {which} = "
                    f"{b.lipschitz:.6g}", "lipschitz_bound", None, time.perf_counter() - start)


def construction_row(construction: Any, X: Any, Y: Any, depth: int,
                     epsilon: float = 0.0) -> DepthRow:
    """Row of an explicit CBN construction (an object with ``.network``), re-verified."""
    start = time.perf_counter()
    norm = float(construction.network.param_norm())
    kind = ("bias-aware CBN construction (biases carry the constant frequency)"
            if getattr(construction, "bias_aware", False) else "explicit CBN construction (T3)")
    res = NormResult(value=norm, lower=None, upper=norm, status=NOT_CERTIFIED,
                     message=f"{kind}; its slope in L is its rank by construction",
                     network=construction.network,
                     solver="cbn_construction", wall_time=time.perf_counter() - start)
    return _verified(depth, res, X, Y, epsilon)


def cap_share(restarts: int) -> float:
    """Fraction of a solve's safety cap below which no wall-clock limit can have acted.

    The ReLU solver gives each of its ``restarts`` at least ``cap / restarts`` seconds and
    keeps ``RELU_PROJECT_RESERVE`` of it for the projection, and the augmented Lagrangian
    keeps ``AL_POLISH_RESERVE`` of its own share for the polish; the linear numerical route
    gives its first restart the whole cap.  A solve that ended earlier than this share of
    the cap was bounded by its iteration counts alone.

    Examples
    --------
    >>> 0.0 < cap_share(2) < cap_share(1) < 1.0
    True
    """
    keep = (1.0 - settings.AL_POLISH_RESERVE) * (1.0 - settings.RELU_PROJECT_RESERVE)
    return keep / max(1, int(restarts))


def _capped(res: NormResult, elapsed: float, runs: int, cap: float) -> bool:
    """Whether the safety cap may have stopped a solve (then its number is not reported).

    The ReLU route says per restart whether its clock could have acted
    (``clock_may_have_acted``) and whether restarts were left out for lack of time; other
    routes are judged on the whole solve's time (:func:`cap_share`).
    """
    record = res.info.get("runs")
    if record and all(isinstance(r, dict) and "clock_may_have_acted" in r for r in record):
        return "out_of_time" in res.info or any(r["clock_may_have_acted"] for r in record)
    return elapsed >= cap_share(runs) * cap


def solver_row(arch: Any, X: Any, Y: Any, depth: int, *, seed: int = 0, restarts: int = 1,
               time_limit: float | None = None, max_iter: int | None = None,
               warm: Sequence[tuple[Any, str]] = (),
               epsilon: float = 0.0) -> DepthRow:
    """Row of :func:`cbntheory.solvers.dispatch.minimal_norm`, its network re-verified.

    ``warm``: ``(network, source)`` pairs the first restarts start from (constructions,
    the neighbouring depth's network); each gets its own restart and ``restarts`` random
    restarts follow, so the row is the best verified network over every source.

    ``max_iter`` (L-BFGS-B iterations per restart; default the solver's
    :data:`~cbntheory.settings.AL_MAX_ITER`) bounds the solve, so a seed gives the same row
    on any machine load.  ``time_limit`` (default
    :data:`~cbntheory.settings.SOLVE_SAFETY_CAP`) is only a safety cap per restart: a solve
    that ran
    long enough for it to act (:func:`cap_share`) gives a ``"time_capped"`` row that keeps
    the lower bound and drops the solver's upper bound, never a silently different number.
    """
    start = time.perf_counter()
    runs = len(warm) + restarts
    cap = (settings.SOLVE_SAFETY_CAP if time_limit is None else float(time_limit)) * runs
    options: dict[str, Any] = {} if max_iter is None else {"max_iter": int(max_iter)}
    if warm and getattr(arch, "activation", None) == "relu":
        options["init"] = list(warm)
    try:
        res = stop_if_interrupted(minimal_norm(arch, data=(X, Y), rng=seed, restarts=runs,
                                               time_limit=cap, epsilon=epsilon, **options))
    except Exception as exc:  # a failing solver is a row, never a crash
        return _failed_row(depth, exc, seed, start)
    elapsed = time.perf_counter() - start
    if _capped(res, elapsed, runs, cap):
        lower = None if res.lower is None or not math.isfinite(res.lower) else float(res.lower)
        return DepthRow(depth, lower, None, TIME_CAPPED,
                        f"stopped by the safety time cap ({cap:g} s for the solve, "
                        f"{elapsed:.3g} s used): its upper bound is not reported; rerun with "
                        "a larger --time-limit or a smaller --max-iter", res.solver, seed,
                        elapsed)
    return _verified(depth, res, X, Y, epsilon)


def convex_row(arch: Any, X: Any, Y: Any, depth: int, epsilon: float = 0.0) -> DepthRow:
    """Row of the exact convex two-layer program (sampled patterns for small inputs).

    The program is for exact interpolation: for ``R_eps`` its network (an exact fit)
    still bounds from above, but its lower bound is dropped (it bounds ``R``, not
    ``R_eps``).
    """
    from ..solvers.convex.program import TooManyCellsError, two_layer_min_norm

    start = time.perf_counter()
    try:
        res = two_layer_min_norm(arch, X, Y)
    except TooManyCellsError as exc:
        if np.size(X) > CONVEX_SAMPLE_MAX_SIZE:
            return _failed_row(depth, exc, None, start)
        try:  # too many patterns to enumerate: a sample of them gives an upper bound
            res = two_layer_min_norm(arch, X, Y, patterns="sample",
                                     n_patterns=CONVEX_SAMPLE_PATTERNS)
        except Exception as exc2:
            return _failed_row(depth, exc2, None, start)
    except Exception as exc:
        return _failed_row(depth, exc, None, start)
    if epsilon > 0 and res.lower is not None:
        res = dataclasses.replace(res, lower=None, message=(
            f"{res.message} [its lower bound {res.lower:.10g} is for exact interpolation, "
            f"not for R_eps: dropped]"))
    return _verified(depth, res, X, Y, epsilon)


def depth2_row(arch: Any, X: Any, Y: Any, depth: int, networks: Sequence[Any] = (),
               epsilon: float = 0.0) -> DepthRow:
    """Row of the depth-2 dual certificate (:mod:`cbntheory.solvers.depth2_bound`): a lower bound.

    ``networks`` (the verified upper bounds of the same row) supply the multipliers.  For
    ``R_eps`` the same multipliers hold with the certified slack: labels within
    ``epsilon ||Y||`` change ``<lam, Y>`` by at most ``epsilon ||lam|| ||Y||``.
    """
    from ..solvers.depth2_bound import depth2_lower_bound

    start = time.perf_counter()
    try:
        cert = depth2_lower_bound(arch, X, Y, networks=networks)
    except TooManyCellsError as exc:  # not a failure of the row: this bound does not reach
        return DepthRow(depth, None, None, NOT_CERTIFIED, f"no depth-2 certificate: {exc}",
                        DEPTH2_DUAL, None, time.perf_counter() - start)
    except Exception as exc:
        return _failed_row(depth, exc, None, start)
    value, what = cert.value, "R"
    if epsilon > 0:
        value = cert.slackened(epsilon, Y)
        what = f"R_eps (eps = {epsilon:g}, slack 2 eps ||lam|| ||Y|| / kappa)"
    return DepthRow(depth, value, None, NOT_CERTIFIED,
                    f"certified lower bound on {what}: {cert.describe()}", DEPTH2_DUAL, None,
                    time.perf_counter() - start)  # its time is the row's, not the message's


def _depth2_applies(arch: Any) -> bool:
    """Depth 2, ReLU, no head, no resampling: the dual certificate of image outputs."""
    from ..solvers.depth2_bound import applies

    return bool(applies(arch))


def _convex_applies(arch: Any) -> bool:
    """Depth 2, head ``"avgpool"``, ReLU and no down-sampling: the exact convex program."""
    return (arch.depth == 2 and arch.head == "avgpool" and arch.activation == "relu"
            and not any(r != 1 for r in (arch.resample or ())))


def measurements(arch: Any, X: Any, Y: Any, depth: int, *, seed: int = 0, restarts: int = 1,
                 convex: bool = True, solver: bool = True, construction: Any = None,
                 time_limit: float | None = None, max_iter: int | None = None,
                 warm: Sequence[tuple[Any, str]] = (),
                 epsilon: float = 0.0) -> dict[str, DepthRow]:
    """Every measurement of one depth on finite data, by source.

    Sources, in order: ``"lipschitz"`` (always), ``"construction"`` (when one is given),
    ``"convex"`` (``convex=True`` and :func:`_convex_applies`), ``"minimal_norm"``
    (``solver=True``, warm-started from ``warm``: see :func:`solver_row`).  Warnings go
    into each row's message.  ``epsilon > 0``: every source bounds ``R_eps`` (see
    :func:`data_rows`).
    """
    phases: dict[str, Callable[[], DepthRow]] = {
        "lipschitz": lambda: lipschitz_row(arch, X, Y, depth, epsilon)}
    if construction is not None:
        phases["construction"] = lambda: construction_row(construction, X, Y, depth, epsilon)
    if convex and _convex_applies(arch):
        phases["convex"] = lambda: convex_row(arch, X, Y, depth, epsilon)
    if solver:
        phases["minimal_norm"] = lambda: solver_row(arch, X, Y, depth, seed=seed,
                                                    restarts=restarts, time_limit=time_limit,
                                                    max_iter=max_iter, warm=warm, epsilon=epsilon)
    rows = {name: _with_warnings(phase) for name, phase in phases.items()}
    if convex and _depth2_applies(arch):  # after the upper bounds: their networks' multipliers
        nets = [r.network for r in rows.values() if r.network is not None]
        nets.sort(key=lambda n: float(n.param_norm()))
        rows["depth2_dual"] = _with_warnings(
            lambda: depth2_row(arch, X, Y, depth, nets[:settings.DEPTH2_NETWORKS], epsilon))
    return rows


def data_rows(arch: Any, X: Any, Y: Any, depth: int, *, seed: int = 0, restarts: int = 1,
              convex: bool = True, solver: bool = True, construction: Any = None,
              time_limit: float | None = None, max_iter: int | None = None,
              warm: Sequence[tuple[Any, str]] = (),
              epsilon: float = 0.0) -> DepthRow:
    """Interval of ``R(f; Omega, L)`` on finite data ``(X, Y)`` for architecture ``arch``.

    Lower bounds: the Lipschitz bound :func:`cbntheory.theory.lipschitz.lipschitz_lower_bound`
    and any bound the solvers certify.  Upper bounds: the norm of every network that
    reproduces the data (re-checked here to ``FIT_RTOL``, norm recomputed): the CBN
    ``construction`` when given (an object with ``.network``),
    :func:`cbntheory.solvers.dispatch.minimal_norm` (``solver=True``, bounded by ``max_iter``
    iterations per restart, ``time_limit`` a safety cap: see :func:`solver_row`) and, at
    depth 2 with the head ``"avgpool"`` and ReLU (``convex=True``), the exact convex
    program :func:`cbntheory.solvers.convex.program.two_layer_min_norm`.  The best of each
    side is kept (:func:`combine` of :func:`measurements`).  Exceptions become
    rows with status ``solver_error`` or ``infeasible``; warnings go into the message.

    With ``epsilon > 0`` the object is ``R_eps`` (networks within the relative residual
    ``epsilon``): networks are accepted to ``epsilon``, the Lipschitz bound takes the
    ``2 eps`` slack, the solver solves for ``R_eps`` (``minimal_norm(epsilon=...)``) and the
    convex program's exact-fit lower bound is dropped.
    """
    parts = measurements(arch, X, Y, depth, seed=seed, restarts=restarts, convex=convex,
                         solver=solver, construction=construction, time_limit=time_limit,
                         max_iter=max_iter, warm=warm, epsilon=epsilon)
    return combine(depth, list(parts.values()))


def measure_depth(target: Any, depth: int, *, quick: bool = False, seed: int = 0,
                  restarts: int = 1, time_limit: float | None = None,
                  max_iter: int | None = None,
                  warm: Sequence[tuple[Any, str]] = (), epsilon: float = 0.0,
                  open_set: bool = False) -> DepthRow:
    """Interval of ``R(f; Omega, L)`` of a :class:`cbntheory.targets.Target` at one depth.

    Linear targets given as an operator: exact (T1, :func:`linear_row`).  Otherwise the
    target's data, ``target.architecture(depth, quick=quick)`` and its CBN construction
    (when it has one) go to :func:`data_rows` (``epsilon``: the object ``R_eps``, data
    targets only); the solver is warm-started from the constructions (bias-aware and
    bias-free, :func:`construction_starts`) and from ``warm`` (e.g. the neighbouring
    depth's network, :mod:`cbntheory.solvers.continuation`) before its random restarts.
    Never raises for a solver failure (the row says so); an architecture that refuses the
    depth gives a ``"skipped"`` row.

    ``open_set=True`` adds the open-set variant (:func:`open_set_row`): its T2 value goes
    to ``row.conditional_lower`` with its condition in the message, never into
    ``[lower, upper]``.
    """
    start = time.perf_counter()
    op = target.operator() if target.kind == "operator" else None
    if op is not None and target.activation == "linear":
        try:
            return linear_row(op, depth)
        except Exception as exc:
            return _failed_row(depth, exc, None, start)
    try:
        arch = target.architecture(depth, quick=quick)
    except ValueError as exc:
        return DepthRow(depth, None, None, SKIPPED, f"architecture refused depth {depth}: {exc}")
    data = target.data(quick=quick)
    if data is None:
        return DepthRow(depth, None, None, SOLVER_ERROR,
                        f"target {target.name!r} has neither a linear operator nor data")
    built, starts = construction_starts(target, depth, quick, arch.bias)
    X, Y = data
    row = data_rows(arch, X, Y, depth, seed=seed, restarts=restarts, construction=built,
                    time_limit=time_limit, max_iter=max_iter, warm=starts + list(warm),
                    epsilon=epsilon)
    return open_set_row(row, target, arch, quick) if open_set else row


def open_set_row(row: DepthRow, target: Any, arch: Any, quick: bool = False) -> DepthRow:
    """``row`` with the open-set variant's T2 value in ``conditional_lower``, labelled.

    The variant asks the network to match the target's values *and Jacobians* at the
    samples (:meth:`cbntheory.targets.Target.open_set_jacobians`, restricted to the
    domain's tangent space); then T2 bounds ``R`` by
    :func:`cbntheory.solvers.certificates.open_set_t2`, whose slope in ``L`` is ``Rank_J``.
    It bounds another problem than the row's interval, so it stays apart from it.
    """
    from ..solvers.certificates import open_set_t2

    jac = target.open_set_jacobians(quick)
    if jac is None:
        note = (f"open-set variant: not available ({target.name!r} does not define its "
                "Jacobians off the samples)")
        return dataclasses.replace(row, message=f"{row.message} | {note}")
    out = open_set_t2(arch, jac)
    note = (f"open-set variant: T2 value {out['value']:.6g} (rank {out['rank']} at sample "
            f"{out['sample']}), {out['condition']}")
    return dataclasses.replace(row, conditional_lower=out["value"],
                               message=f"{row.message} | {note}")


def construction_starts(target: Any, depth: int, quick: bool,
                        bias: bool) -> tuple[Any, list[tuple[Any, str]]]:
    """The construction of the row and the warm starts every construction gives.

    The row's construction is the bias-aware one with biases (else the bias-free one);
    both are warm starts of the solver, since the cheaper one is not always the better
    start (at ``L = 8`` the solver goes from the bias-free 276 to 53 on
    ``shape_pattern_1d`` but stays at the bias-aware 62).
    """
    built, starts = None, []
    for aware in ((True, False) if bias else (False,)):
        try:
            con = target.construction(depth, quick=quick, bias_aware=aware)
        except Exception:  # no construction at this depth: the other bounds still apply
            con = None
        if con is None or (aware and not con.bias_aware):
            continue
        built = con if built is None else built
        starts.append((con.network, "bias-aware construction" if con.bias_aware
                       else "bias-free construction"))
    return built, starts
