"""Certified intervals of ``R(f; Omega, L)`` for the conjectural checks (T3, T4, T6, T7).

For a built-in target and a depth, :func:`interval` joins every certified bound the
package has:

* linear targets on the whole space: T1's closed form (``lower = upper``);
* finite data: the Lipschitz lower bound (:mod:`cbntheory.theory.lipschitz`), the solver's
  certified lower bound when it has one, the explicit CBN construction's norm and the
  norm of the solver's network (:func:`cbntheory.minimal_norm`, when available), each
  network re-verified here: it must reproduce the data to ``FIT_RTOL`` and its norm is
  recomputed from its arrays.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..operators import ConvOperator
from ..theory.linear import linear_cost
from ..theory.lipschitz import lipschitz_lower_bound
from .verdicts import CONSISTENT, NOT_CERTIFIED, VIOLATED


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
        raise ValueError(f"target {target.name!r} is not a linear operator")
    return op


def data_of(target: Any, quick: bool) -> tuple[np.ndarray, np.ndarray]:
    """``target.data(quick)``, which must exist (kind "data")."""
    data = target.data(quick=quick)
    if data is None:
        raise ValueError(f"target {target.name!r} has no finite data")
    return data


def direct_norm(net: Network) -> float:
    """``||theta||^2`` from the arrays (kernels, dense head, penalised biases)."""
    total = sum(float(np.sum(w ** 2)) for w in net.kernels)
    if net.architecture.penalize_bias:
        total += sum(float(np.sum(b ** 2)) for b in net.biases)
    return total


def fits(net: Network, X: np.ndarray, Y: np.ndarray) -> bool:
    """True when ``net`` reproduces ``Y`` on ``X`` to ``FIT_RTOL`` (relative)."""
    scale = max(float(np.linalg.norm(Y)), np.finfo(float).tiny)
    return float(np.linalg.norm(net(X) - Y)) <= settings.FIT_RTOL * scale * 1.0001


def solve(arch: Architecture, X: np.ndarray, Y: np.ndarray, *, seed: int = 0,
          restarts: int = 1, time_limit: float | None = None
          ) -> tuple[float | None, float | None, str, Network | None]:
    """``(upper, lower, status, network)`` from ``cbn.minimal_norm`` (re-verified here).

    ``upper`` is None when the solver is missing, fails, or returns a network that does
    not reproduce the data; the status says which.
    """
    import cbntheory as cbn

    minimal_norm = getattr(cbn, "minimal_norm", None)
    if minimal_norm is None:
        return None, None, "minimal_norm unavailable", None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = minimal_norm(arch, data=(X, Y), rng=seed, restarts=restarts,
                               time_limit=time_limit)
        except Exception as exc:  # noqa: BLE001 - a failed solve certifies nothing
            return None, None, f"failed: {type(exc).__name__}: {exc}"[:200], None
    net = res.network
    lower = res.lower if res.lower is not None and np.isfinite(res.lower) else None
    if net is None or not fits(net, X, Y):
        return None, lower, f"{res.status} (network rejected: does not fit the data)", None
    return direct_norm(net), lower, str(res.status), net


def interval(target: Any, depth: int, *, quick: bool = True, width: int | None = None,
             arch: Architecture | None = None, use_solver: bool = True,
             seed: int = 0, time_limit: float | None = None) -> Interval:
    """Certified interval of ``R(f; Omega, L)`` for a built-in target at ``depth``.

    ``arch`` overrides ``target.architecture(depth, width=width, quick=quick)`` (e.g. with
    down-sampling); the construction is used only for the target's own architecture.
    """
    if target.kind == "operator":
        value = float(linear_cost(operator_of(target), depth).value)
        return Interval(depth, value, value, "T1 closed form", "T1 closed form")
    X, Y = data_of(target, quick)
    own = target.architecture(depth, width=width, quick=quick)
    arch = own if arch is None else arch
    lows = [(lipschitz_lower_bound(arch, X, Y).value, "Lipschitz bound")]
    ups: list[tuple[float, str]] = []
    con_norm = None
    if arch == own and target.construction(depth, width=width, quick=quick) is not None:
        con = target.construction(depth, width=width, quick=quick)
        if fits(con.network, X, Y):
            con_norm = direct_norm(con.network)
            ups.append((con_norm, "CBN construction"))
    s_up, s_low, status, net = (solve(arch, X, Y, seed=seed, time_limit=time_limit)
                                if use_solver
                                else (None, None, "not run", None))
    if s_up is not None:
        ups.append((s_up, "minimal_norm"))
    if s_low is not None:
        lows.append((float(s_low), "minimal_norm certificate"))
    low, low_src = max(lows)
    up, up_src = min(ups) if ups else (float("inf"), "none")
    return Interval(depth, float(low), float(up), low_src, up_src, s_up, status, con_norm, net)


def slope(depths: Sequence[int], values: Sequence[float | None]) -> float | None:
    """Least-squares slope of ``values`` against ``depths`` over the finite entries."""
    pts = [(d, v) for d, v in zip(depths, values) if v is not None and np.isfinite(v)]
    if len(pts) < 2:
        return None
    L = np.array([p[0] for p in pts], dtype=float)
    R = np.array([p[1] for p in pts], dtype=float)
    return float(np.polyfit(L, R, 1)[0])


def at_least_row(case: str, lower: float, upper: float, claim: float,
                 **extra: Any) -> dict[str, Any]:
    """Row for the one-sided claim ``value >= claim`` judged on a certified ``[lower, upper]``.

    ``consistent`` when ``lower >= claim``, ``violated`` when ``upper < claim``, else
    ``not_certified`` (slack ``GAP_RTOL`` relative to the finite sides).
    """
    scale = max(1.0, *(abs(v) for v in (lower, upper, claim) if np.isfinite(v)))
    slack = settings.GAP_RTOL * scale
    if upper < claim - slack:
        verdict = VIOLATED
    elif lower >= claim - slack:
        verdict = CONSISTENT
    else:
        verdict = NOT_CERTIFIED
    return {"case": case, "lhs": float(lower), "rhs": float(upper), "claim_low": float(claim),
            "claim_high": float("inf"), "margin": float(upper - claim), "verdict": verdict,
            **extra}


def unchecked_row(case: str, **extra: Any) -> dict[str, Any]:
    """A ``not_certified`` row for a case that could not be measured (reason in ``case``)."""
    return {"case": case, "lhs": float("nan"), "rhs": float("nan"), "margin": 0.0,
            "verdict": NOT_CERTIFIED, **extra}
