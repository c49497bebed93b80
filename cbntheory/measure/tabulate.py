"""Tabulating a target over depths: :func:`bound_table`, optionally in parallel processes.

:func:`bound_table` measures ``R(f; Omega, L)`` at every depth with
:func:`cbntheory.measure.intervals.measure_depth` and returns a
:class:`cbntheory.measure.tables.BoundTable`
with the target's ``Rank_J``, ``Rank_CBN``, ``R0`` and regularity bound
(:func:`target_facts`).  With an ``executor`` (a ``concurrent.futures`` process pool) the
depths of a built-in target run in parallel: the jobs carry only the target's name and
plain numbers (:func:`measure_named`), and a job that cannot run (a broken pool, a
worker that died) becomes a ``solver_error`` row, never an exception.
:func:`operator_table` is the exact T1 table of a linear map given directly.

Examples
--------
>>> import numpy as np
>>> from cbntheory.operators import ConvOperator
>>> d = 8
>>> p = np.arange(d)
>>> A = ConvOperator((2 + np.cos(2 * np.pi * p / d)).reshape(1, 1, d))
>>> table = operator_table("bump-filter", A, depths=[1, 2, 4, 8])
>>> [row.status for row in table.rows]
['optimal', 'optimal', 'optimal', 'optimal']
>>> s = np.abs(np.fft.fft(2 + np.cos(2 * np.pi * p / d))) / np.sqrt(d)
>>> bool(np.isclose(table.rows[-1].upper, 8 * np.sum(s[s > 1e-12] ** (2 / 8))))
True
>>> table.rank_j, table.fit.depths
(3, (2, 4, 8))
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from .. import _validate as V
from ..results import SOLVER_ERROR
from .deepening import continue_rows
from .downsampling import DownsamplingComparison, aliasing, downsampled
from .intervals import data_rows, linear_row, measure_depth
from .tables import CONSTRUCTION, SKIPPED, BoundTable, DepthRow, fit_rows, parse_depths


def measure_named(name: str, depth: int, *, quick: bool = False, seed: int = 0,
                  restarts: int = 1, time_limit: float | None = None,
                  deadline: float | None = None, stride: int | None = None,
                  max_iter: int | None = None, epsilon: float = 0.0,
                  width: int | None = None, open_set: bool = False) -> DepthRow:
    """One depth of the built-in target ``name`` (picklable arguments: a process-pool job).

    With ``stride``, the target's architecture with the middle layers down-sampled
    (:func:`cbntheory.measure.downsampling.downsampled`) and no construction.  With
    ``width``, hidden layers of that width instead of the target's default (the
    construction, when there is no ``stride``, is built at that width and warm-starts
    the solver).  A ``deadline`` (``time.monotonic()``, a safety cap of the whole run)
    already passed gives a ``"skipped"`` row that says so.
    """
    from .. import targets

    if deadline is not None and time.monotonic() > deadline:
        return DepthRow(depth, None, None, SKIPPED,
                        "skipped: the safety time cap of the run was reached before this solve")
    target = targets.get(name)
    if stride is None and width is None:
        return measure_depth(target, depth, quick=quick, seed=seed, restarts=restarts,
                             time_limit=time_limit, max_iter=max_iter, epsilon=epsilon,
                             open_set=open_set)
    data = target.data(quick=quick)
    if data is None:
        return DepthRow(depth, None, None, SOLVER_ERROR, f"target {name!r} has no data")
    arch = target.architecture(depth, quick=quick, width=width)
    built = None
    if stride is None:
        try:
            built = target.construction(depth, quick=quick, width=width, bias_aware=arch.bias)
        except Exception:  # no construction at this width: the other bounds still apply
            built = None
    else:
        arch = downsampled(arch, stride)
    warm = [] if built is None else [(built.network, "bias-aware construction"
                                      if built.bias_aware else "bias-free construction")]
    return data_rows(arch, *data, depth, seed=seed, restarts=restarts, time_limit=time_limit,
                     max_iter=max_iter, epsilon=epsilon, construction=built, warm=warm)


def run_jobs(jobs: Sequence[dict[str, Any]], executor: Executor | None = None,
             on_row: Callable[[DepthRow], None] | None = None) -> list[DepthRow]:
    """Run :func:`measure_named` on every job (keyword dicts), in order of the jobs.

    Without an executor the jobs run here one after the other; with one they are all
    submitted at once.  Failures of the machinery (pickling, a dead worker) become
    ``solver_error`` rows.
    """
    rows: list[DepthRow | None] = [None] * len(jobs)
    if executor is None:
        for i, job in enumerate(jobs):
            rows[i] = measure_named(**job)
            if on_row is not None:
                on_row(rows[i])  # type: ignore[arg-type]
        return rows  # type: ignore[return-value]
    futures = {}
    for i, job in enumerate(jobs):
        try:
            futures[executor.submit(measure_named, **job)] = i
        except Exception as exc:  # a broken or shut-down pool: this job runs nowhere
            rows[i] = DepthRow(job["depth"], None, None, SOLVER_ERROR,
                               f"could not start the job: {type(exc).__name__}: {exc}")
    from concurrent.futures import as_completed

    for fut in as_completed(futures):
        i = futures[fut]
        try:
            rows[i] = fut.result()
        except Exception as exc:
            rows[i] = DepthRow(jobs[i]["depth"], None, None, SOLVER_ERROR,
                               f"the worker failed: {type(exc).__name__}: {exc}")
        if on_row is not None:
            on_row(rows[i])  # type: ignore[arg-type]
    return [r if r is not None else DepthRow(j["depth"], None, None, SOLVER_ERROR, "no result")
            for r, j in zip(rows, jobs)]


def _lipschitz(target: Any, depth: int, quick: bool, epsilon: float) -> Any:
    """The Lipschitz bound of a data target at ``depth`` for ``R`` or ``R_eps``."""
    from ..theory.lipschitz import lipschitz_lower_bound

    X, Y = target.data(quick=quick)
    slack = float(epsilon) * float(np.linalg.norm(Y))
    return lipschitz_lower_bound(target.architecture(depth, quick=quick), X, Y, eps=slack)


def r0_interval(target: Any, quick: bool,
                epsilon: float = 0.0) -> tuple[float | None, float | None, str]:
    """Certified ``[R0_low, R0_high]`` of a target, ``R0 = lim_L R(f; Omega, L) / L``, and how.

    Linear targets on the whole space: T1's exact ``R0``.  Finite data: the lower side is
    the limit of the Lipschitz bound ``(gamma_L Lambda^2)^{1/L}``
    (:mod:`cbntheory.theory.lipschitz`), which is the cost factor ``1/(d c^2)`` of one
    middle layer when ``Lambda > 0`` (1 with the operator normalisation, ``1/d`` with the
    plain one); the upper side is the rank of the target's explicit construction, whose
    norm is ``L rank + C`` (a proof by construction).  The construction's rank is read
    from the construction the target builds, so a cheaper construction tightens it here.

    Examples
    --------
    >>> from cbntheory import targets
    >>> r0_interval(targets.get("shift_autoencoder_1d"), True)[0]
    1.0
    """
    op = target.operator() if target.kind == "operator" else None
    if op is not None and target.activation == "linear":
        from ..theory.linear import linear_cost

        r0 = float(linear_cost(op, 2).r0)
        return r0, r0, "T1: R0 = sum_m rank A_m, exact"
    data = target.data(quick=quick)
    if data is None:
        return None, None, ""
    low: float | None = None
    how = ["no certified lower bound"]
    try:
        b3, b4 = (_lipschitz(target, L, quick, epsilon) for L in (3, 4))
        if b3.lipschitz > 0:
            low = float(np.exp(b4.log_gamma - b3.log_gamma))
            how = [f"R0 >= {low:g}: limit of the Lipschitz bound (gamma_L Lambda^2)^(1/L)"]
    except ValueError:
        pass
    try:
        arch3 = target.architecture(3, quick=quick)
        con = target.construction(3, quick=quick, bias_aware=arch3.bias)
    except Exception:  # no construction: the upper side stays open
        con = None
    high = None if con is None else float(con.rank_cbn)
    how.append("no construction" if con is None else
               f"R0 <= {high:g} by construction (norm L {high:g} + C)")
    return low, high, "; ".join(how)


def target_facts(target: Any, quick: bool, epsilon: float = 0.0) -> dict[str, Any]:
    """Rank_J, Rank_CBN, R0, the regularity bound (and its source) and R2 of a target.

    ``rank_cbn`` is the CBN rank that applies to the table's architecture
    (``target.architecture``): with biases the one whose constant frequency counts
    through the affine span (``Target.rank_cbn_bias``), without them ``Target.rank_cbn``;
    ``rank_cbn_rule`` says which, and ``r0_interval`` / ``r0_source`` give what is known
    about ``R0`` as the target states it (``Target.r0_interval``); ``r0_low``, ``r0_high``
    and ``r0_how`` the certified interval computed here (:func:`r0_interval`).  With
    ``epsilon > 0`` the Lipschitz pieces are those of ``R_eps`` (``Lambda_eps``).
    """
    bias = bool(target.kind == "data" and target.architecture(2, quick=quick).bias)
    rank = getattr(target, "rank_cbn_bias", None) if bias else None
    facts: dict[str, Any] = {
        "rank_j": target.rank_j, "rank_cbn": target.rank_cbn if rank is None else rank,
        "rank_cbn_rule": ("with biases: constant frequency through the affine span"
                          if rank is not None else
                          "bias-free" + (" (no rank with biases given: an upper bound of it)"
                                         if bias else "")),
        "r0_interval": getattr(target, "r0_interval", None),
        "r0_source": getattr(target, "r0_source", None),
        "r0": None, "r1_bound": None, "r2": None, "r1_source": None}
    facts.update(zip(("r0_low", "r0_high", "r0_how"), r0_interval(target, quick, epsilon)))
    op = target.operator() if target.kind == "operator" else None
    if op is not None and target.activation == "linear":
        from ..theory.linear import linear_cost

        cost = linear_cost(op, 2)
        facts.update(r0=cost.r0, r1_bound=cost.r1, r2=cost.r2,
                     r1_source="T1/T2: R1 = 2 log|A|_+ exactly")
        facts["rank_j"] = int(round(cost.r0)) if facts["rank_j"] is None else facts["rank_j"]
        facts["rank_cbn"] = (int(round(cost.r0)) if facts["rank_cbn"] is None
                             else facts["rank_cbn"])
        return facts
    if facts["rank_j"] is not None:
        facts["r0"] = float(facts["rank_j"])
    data = target.data(quick=quick)
    if facts["rank_j"] == 1 and data is not None:
        try:
            b = _lipschitz(target, 2, quick, epsilon)
        except ValueError:
            return facts
        if b.lipschitz > 0:
            facts["r1_bound"] = float(b.r1_bound)
            facts["r1_source"] = ("Lipschitz bound (cbntheory.theory.lipschitz): R - L >= "
                                  "log(gamma Lambda^2) for every L (not T2, which needs an "
                                  "open set)")
    return facts


def _resolve(target: Any) -> Any:
    if isinstance(target, str):
        from .. import targets

        return targets.get(target)
    return target


def _is_builtin(target: Any) -> bool:
    from .. import targets

    return target.name in targets.names() and targets.get(target.name) == target


def bound_table(target: Any, depths: Any = "1-16", *, quick: bool = False, rng: int = 0,
                restarts: int = 1, deadline: float | None = None,
                time_limit: float | None = None, max_iter: int | None = None,
                on_row: Callable[[DepthRow], None] | None = None,
                executor: Executor | None = None, epsilon: float | None = None,
                continuation: bool = True, open_set: bool = False) -> BoundTable:
    """Measure ``R(f; Omega, L)`` of a target at every depth and tabulate it with its bounds.

    Parameters
    ----------
    target : str or Target
        A name of :func:`cbntheory.targets.names` or a Target.
    depths : str or sequence of int
        See :func:`parse_depths` (default ``"1-16"``).
    quick : bool
        Use the target's small data and architectures (``Target.data(quick=True)``).
    rng : int
        Seed passed to every solve (recorded per row).
    restarts : int
        Restarts of :func:`cbntheory.minimal_norm`.
    deadline : float, optional
        A ``time.monotonic()`` instant after which remaining depths are ``"skipped"`` (a
        safety cap of the run; the skipped rows say so).
    time_limit : float, optional
        Safety cap in seconds of every numerical solve (default
        :data:`cbntheory.settings.SOLVE_SAFETY_CAP`): a solve it stops gives a
        ``"time_capped"`` row (:func:`cbntheory.measure.intervals.solver_row`).
    max_iter : int, optional
        L-BFGS-B iterations per restart of every numerical solve (default the solver's
        :data:`cbntheory.settings.AL_MAX_ITER`): the budget, so that a seed gives the same
        numbers on any machine load.
    on_row : callable, optional
        Called with every row as soon as it is measured (progress display).
    executor : concurrent.futures.Executor, optional
        Process pool for the depths of a built-in data target (see :func:`run_jobs`).
    epsilon : float, optional
        The object of the table.  None or 0 (default): exact interpolation ``R``.  A
        relative residual in (0, 1): ``R_eps``, the least norm of networks within
        ``epsilon`` of the data; every bound of the table is then one of ``R_eps``
        (:func:`cbntheory.measure.intervals.data_rows`).  Data targets only.

    continuation : bool
        Data targets: after every depth is measured (each solve warm-started from the
        target's constructions, then ``restarts`` random restarts), walk the depths in
        increasing order and warm-start each from the previous depth's best network with
        projection layers inserted (:mod:`cbntheory.measure.deepening`); default True.
    open_set : bool
        Also give every row the open-set variant's T2 value
        (:func:`cbntheory.measure.intervals.open_set_row`) in the column "open-set T2
        (conditional)": a bound of another problem, never part of ``[lower, upper]``.

    Returns
    -------
    BoundTable

    Raises
    ------
    ValidationError
        Unknown target name (the message lists the valid ones) or bad depths.
    """
    t = _resolve(target)
    Ls = parse_depths(depths)
    _, seed = V.rng_seed(rng)
    seed = 0 if seed is None else seed
    restarts = V.positive_int("restarts", restarts)
    eps = V.fit_tolerance("epsilon", epsilon)
    if eps > 0 and t.kind == "operator" and t.activation == "linear":
        raise V.fail("epsilon", f"be 0 for {t.name!r}: a linear target on the whole space has "
                     "the exact closed form T1 (R_eps is defined on finite data)", epsilon)
    facts = target_facts(t, quick, eps)
    refused = []
    if t.kind == "data":
        for L in Ls:
            try:
                t.architecture(L, quick=quick)
            except ValueError:
                refused.append(L)
        Ls = tuple(L for L in Ls if L not in refused)
    named = _is_builtin(t)
    if named and (executor is not None or deadline is not None):
        jobs = [dict(name=t.name, depth=L, quick=quick, seed=seed, restarts=restarts,
                     time_limit=time_limit, deadline=deadline, max_iter=max_iter,
                     epsilon=eps, open_set=bool(open_set)) for L in Ls]
        parallel = executor if t.kind == "data" else None
        rows = run_jobs(jobs, parallel, on_row)
    else:
        rows = []
        for L in Ls:
            row = measure_depth(t, L, quick=quick, seed=seed, restarts=restarts,
                                time_limit=time_limit, max_iter=max_iter, epsilon=eps,
                                open_set=bool(open_set))
            rows.append(row)
            if on_row is not None:
                on_row(row)
    if continuation and t.kind == "data":
        rows = continue_rows(t, rows, quick=quick, seed=seed, time_limit=time_limit,
                             max_iter=max_iter, deadline=deadline, epsilon=eps)
    info = {"quick": bool(quick), "restarts": restarts, "seed": seed,
            "spatial_shape": list(t.spatial_shape), "head": t.head,
            "regularity_bound": facts["r1_source"], "time_limit": time_limit,
            "max_iter": max_iter, "epsilon": eps, "open_set": bool(open_set)}
    if refused:
        info["depths_refused_by_the_architecture"] = refused
    return BoundTable(t.name, t.title, t.description, t.kind, t.activation, facts["rank_j"],
                      facts["rank_cbn"], facts["r0"], facts["r1_bound"], facts["r2"],
                      tuple(rows), fit_rows(rows), info,
                      construction_fit=fit_rows(rows, eligible=(CONSTRUCTION,)),
                      r0_low=facts["r0_low"], r0_high=facts["r0_high"],
                      r0_how=facts["r0_how"], epsilon=eps or None)


def operator_table(name: str, A: Any, depths: Any = "1-16", *, title: str = "",
                   description: str = "") -> BoundTable:
    """Exact table (T1) of a linear map ``A`` (a ConvOperator) given directly, not by name."""
    from ..theory.linear import linear_cost

    Ls = parse_depths(depths)
    cost = linear_cost(A, 2)
    rows = tuple(linear_row(A, L) for L in Ls)
    rank = int(round(cost.r0))
    return BoundTable(name, title or name, description, "operator", "linear", rank, rank,
                      cost.r0, cost.r1, cost.r2, rows, fit_rows(rows),
                      {"spatial_shape": list(A.spatial_shape),
                       "regularity_bound": "T1: R1 = 2 log|A|_+ exactly"},
                      r0_low=cost.r0, r0_high=cost.r0, r0_how="T1: R0 = sum_m rank A_m, exact")


def downsampling_comparison(target: Any, stride: int, depths: Sequence[int] = (3, 4), *,
                            quick: bool = False, seed: int = 0, restarts: int = 1,
                            time_limit: float | None = None, deadline: float | None = None,
                            executor: Executor | None = None,
                            max_iter: int | None = None, width: int | None = None,
                            plain: Sequence[DepthRow] | None = None
                            ) -> DownsamplingComparison:
    """Measure ``R(f; Omega, L)`` with the target's architecture and with down-sampling.

    Parameters
    ----------
    target : str or Target
        A built-in data target with a CBN vector (:mod:`cbntheory.targets`).
    stride : int
        Down-sampling factor; must divide every image axis.
    depths : sequence of int
        Depths ``>= 3``.
    quick, seed, restarts, time_limit, max_iter, executor
        As in :func:`cbntheory.measure.tabulate.bound_table` (the solves of every depth and both
        architectures run in parallel on the executor).
    width : int, optional
        Hidden width of both architectures (default the target's, ``quick_width`` with
        ``quick``).  Down-sampled middle layers need room: at stride 2 the quick
        ``shift_autoencoder_1d`` (width 2) has no interpolating network within the
        budget, widths 3 and 4 have one (the T7 check uses 4).
    plain : sequence of DepthRow, optional
        The rows with the target's own architecture at ``depths``, from a comparison at
        another stride with the same options: reused instead of solved again.
    deadline : float, optional
        ``time.monotonic()`` instant after which remaining solves are ``"skipped"``.

    Returns
    -------
    DownsamplingComparison
        The plain rows use the target's own architecture (with its CBN construction as
        an upper bound); the down-sampled rows only the Lipschitz bound and the solver.
    """
    from .. import targets

    t = targets.get(target) if isinstance(target, str) else target
    if t.cbn_vector is None or t.data(quick=quick) is None:
        raise V.fail("target", "be a data target with a CBN vector", t.name)
    info = aliasing(t.cbn_vector, stride)
    Ls = [V.positive_int("depths[i]", L, minimum=3) for L in depths]
    base = dict(name=t.name, quick=quick, seed=seed, restarts=restarts, time_limit=time_limit,
                deadline=deadline, max_iter=max_iter, width=width)
    if plain is not None:
        if [r.depth for r in plain] != Ls:
            raise V.fail("plain", f"have one row per depth {Ls}", [r.depth for r in plain])
        down = run_jobs([dict(base, depth=L, stride=info.stride) for L in Ls], executor)
        return DownsamplingComparison(t.name, info.stride, info.describe(), info.collide,
                                      tuple(plain), tuple(down), t.rank_cbn)
    jobs = [dict(base, depth=L, stride=s) for L in Ls for s in (None, info.stride)]
    rows = run_jobs(jobs, executor)
    return DownsamplingComparison(t.name, info.stride, info.describe(), info.collide,
                                  tuple(rows[0::2]), tuple(rows[1::2]), t.rank_cbn)
