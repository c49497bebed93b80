"""Certified intervals of ``R(f; Omega, L)`` for the conjectural checks (T3, T4, T6, T7).

For a built-in target and a depth, :func:`interval` joins every certified bound the
package has:

* linear targets on the whole space: T1's closed form (``lower = upper``);
* finite data: the measurements of the bound tables
  (:func:`cbntheory.measure.intervals.measurements`: Lipschitz bound, CBN construction,
  :func:`cbntheory.solvers.dispatch.minimal_norm`, every network re-verified), kept with
  where each side comes from.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..measure.intervals import cap_share, measurements
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..operators import ConvOperator
from ..theory.linear import linear_cost
from .verdicts import NOT_CERTIFIED


@dataclasses.dataclass(frozen=True)
class Interval:
    """Certified ``[lower, upper]`` of ``R(f; Omega, L)`` and where each side comes from."""

    depth: int
    lower: float
    upper: float
    lower_source: str
    upper_source: str
    solver_upper: float | None = None
    solver_status: str = "not run"
    construction: float | None = None
    network: Network | None = None

    def fields(self) -> dict[str, Any]:
        """Row fields for a report."""
        return {"depth": self.depth, "R_lower": self.lower, "R_upper": self.upper,
                "lower_from": self.lower_source, "upper_from": self.upper_source,
                "solver_upper": self.solver_upper, "solver_status": self.solver_status,
                "construction": self.construction}


def operator_of(target: Any) -> ConvOperator:
    """``target.operator()``, which must exist (kind "operator")."""
    op = target.operator()
    if op is None:
        raise V.fail("target", "be a linear operator (kind 'operator')", target.name)
    return op


def data_of(target: Any, quick: bool) -> tuple[np.ndarray, np.ndarray]:
    """``target.data(quick)``, which must exist (kind "data")."""
    data = target.data(quick=quick)
    if data is None:
        raise V.fail("target", "have finite data (kind 'data')", target.name)
    return data


#: Names of the sources of :func:`cbntheory.measure.intervals.measurements` in the reports.
_SOURCES = {"lipschitz": ("Lipschitz bound", ""), "construction": ("", "CBN construction"),
            "minimal_norm": ("minimal_norm certificate", "minimal_norm")}


def interval(target: Any, depth: int, *, quick: bool = True, width: int | None = None,
             arch: Architecture | None = None, use_solver: bool = True,
             seed: int = 0, time_limit: float | None = None,
             max_iter: int | None = None) -> Interval:
    """Certified interval of ``R(f; Omega, L)`` for a built-in target at ``depth``.

    The measurements are those of the tables (:func:`cbntheory.measure.intervals.measurements`,
    without the convex program): ``arch`` overrides ``target.architecture(depth,
    width=width, quick=quick)`` (e.g. with down-sampling); the construction is used only
    for the target's own architecture.  ``max_iter`` bounds the solve (iterations per
    restart) and ``time_limit`` is its safety cap, as in
    :func:`cbntheory.measure.intervals.solver_row`.
    """
    if target.kind == "operator":
        value = float(linear_cost(operator_of(target), depth).value)
        return Interval(depth=depth, lower=value, upper=value, lower_source="T1 closed form",
                        upper_source="T1 closed form")
    X, Y = data_of(target, quick)
    own = target.architecture(depth, width=width, quick=quick)
    con = target.construction(depth, width=width, quick=quick,
                                bias_aware=own.bias) if arch in (None, own) else None
    parts = measurements(own if arch is None else arch, X, Y, depth, seed=seed, convex=False,
                         solver=use_solver, construction=con, time_limit=time_limit,
                         max_iter=max_iter)
    lows = [(r.lower, _SOURCES[k][0]) for k, r in parts.items() if r.lower is not None]
    ups = [(r.upper, _SOURCES[k][1]) for k, r in parts.items() if r.upper is not None]
    low, low_src = max(lows) if lows else (float("-inf"), "none")
    up, up_src = min(ups) if ups else (float("inf"), "none")
    solved = parts.get("minimal_norm")
    built = parts.get("construction")
    return Interval(depth=depth, lower=float(low), upper=float(up), lower_source=low_src,
                    upper_source=up_src, solver_upper=None if solved is None else solved.upper,
                    solver_status="not run" if solved is None else solved.status,
                    construction=None if built is None else built.upper,
                    network=None if solved is None else solved.network)


def unchecked_row(case: str, **extra: Any) -> dict[str, Any]:
    """A ``not_certified`` row for a case that could not be measured (reason in ``case``)."""
    return {"case": case, "lhs": float("nan"), "rhs": float("nan"), "margin": 0.0,
            "verdict": NOT_CERTIFIED, **extra}


def time_capped(res: Any, restarts: int = 1, cap: float = settings.SOLVE_SAFETY_CAP) -> bool:
    """Whether a solve ran long enough for its wall-clock safety ``cap`` to have acted.

    Such a solve's network depends on the machine's load; the checks then compare nothing
    with it and say so (:func:`capped_row`), as the tables do with ``"time_capped"`` rows
    (:func:`cbntheory.measure.intervals.solver_row`).
    """
    return float(res.wall_time) >= cap_share(restarts) * cap


def capped_row(case: str, res: Any, cap: float = settings.SOLVE_SAFETY_CAP) -> dict[str, Any]:
    """The ``not_certified`` row that replaces the rows of a solve stopped by its safety cap."""
    return unchecked_row(f"{case}: solve stopped by the safety time cap ({cap:g} s, "
                         f"{float(res.wall_time):.3g} s used); not compared", time_capped=True)
