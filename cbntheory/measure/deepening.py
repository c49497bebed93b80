"""The depth-continuation pass of a bound table: every depth starts from the one before.

After the depths of a data target are measured (each from its constructions and random
starts, possibly in parallel), :func:`continue_rows` walks them in increasing order.
The best network of the previous measured depth ``L'`` gets ``L - L'`` projection
layers (:func:`cbntheory.solvers.continuation.deepen`), which keep its outputs on the
data and cost ``min_l sum_m k_m(a_l)`` each, and is rebalanced: a verified network of
depth ``L`` with

    R_up(L) <= R_up(L') + sum of the inserted layers' costs.

When it is cheaper than the row's upper bound it warm-starts one more solve at depth
``L`` (same iteration budget), and the row keeps the best verified network over all its
sources (:func:`cbntheory.measure.intervals.combine`).  When the deepened network itself
wins, the row's source is a construction (its cost per added layer is fixed by design and
is no evidence of a slope); when the solve improved on it, the solver.  Rows thus never
jump up by more than the cost of a projection layer, which removes the non-monotone steps
that independent solves per depth show.

Examples
--------
>>> from cbntheory import targets
>>> from cbntheory.measure.intervals import measure_depth
>>> t = targets.get("shift_autoencoder_1d")
>>> rows = [measure_depth(t, L, quick=True, max_iter=100) for L in (3, 4)]
>>> new = continue_rows(t, rows, quick=True, max_iter=100)
>>> X, _ = t.data(quick=True)
>>> net, cost = deepened_start(rows[0].network, X, t.architecture(4, quick=True))
>>> bool(new[1].upper <= min(rows[1].upper, rows[0].upper + cost) + 1e-9)
True
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from ..errors import CBNError
from ..results import VERIFIED
from ..solvers.continuation import deepen
from .intervals import combine, solver_row
from .tables import SKIPPED, TIME_CAPPED, DepthRow

__all__ = ["CONTINUATION", "continue_rows", "deepened_start"]

#: The producer name of rows improved by the continuation pass.
CONTINUATION = "depth continuation"


def deepened_start(network: Any, X: Any, arch: Any) -> tuple[Any, float]:
    """``network`` deepened to ``arch.depth`` by projection layers, and their total cost.

    Raises
    ------
    ValidationError
        When the network cannot be deepened into ``arch`` (windows, widths, depth).
    """
    net, cost = network, 0.0
    while net.architecture.depth < arch.depth - 1:
        step = deepen(net, X)
        net, cost = step.network, cost + step.cost
    step = deepen(net, X, arch)
    return step.network, cost + step.cost


def continue_rows(target: Any, rows: Sequence[DepthRow], *, quick: bool = False,
                  seed: int = 0, time_limit: float | None = None,
                  max_iter: int | None = None, deadline: float | None = None,
                  epsilon: float = 0.0) -> list[DepthRow]:
    """The rows of a data target after the depth-continuation pass (module notes).

    Parameters
    ----------
    target : Target
        A data target (other kinds are returned unchanged).
    rows : sequence of DepthRow
        Its rows, in increasing depth.
    quick, seed, time_limit, max_iter, epsilon
        As in :func:`cbntheory.measure.tabulate.bound_table` (a deepened network keeps
        its outputs, so it fits to the same residual: an ``R_eps`` row stays one).
    deadline : float, optional
        ``time.monotonic()`` instant after which no new solve starts (a safety cap).

    Returns
    -------
    list of DepthRow
        A row is replaced only by a row whose upper bound is lower, built by
        :func:`cbntheory.measure.intervals.combine` of the old row and the warm-started
        solve (its network is re-verified there on every sample).
    """
    data = target.data(quick=quick) if target.kind == "data" else None
    if data is None:
        return list(rows)
    X, Y = data
    out: list[DepthRow] = []
    prev: DepthRow | None = None
    for row in rows:
        if prev is not None and row.status != SKIPPED and row.status != TIME_CAPPED and (
                deadline is None or time.monotonic() < deadline):
            row = _continued(target, prev, row, X, Y, quick=quick, seed=seed,
                             time_limit=time_limit, max_iter=max_iter, epsilon=epsilon)
        out.append(row)
        if row.network is not None and row.status in VERIFIED:
            prev = row
    return out


def _continued(target: Any, prev: DepthRow, row: DepthRow, X: Any, Y: Any, *, quick: bool,
               seed: int, time_limit: float | None, max_iter: int | None,
               epsilon: float = 0.0) -> DepthRow:
    """``row`` improved from the deepened network of ``prev`` (or ``row`` itself)."""
    try:
        arch = target.architecture(row.depth, quick=quick)
        net, cost = deepened_start(prev.network, X, arch)
    except (CBNError, ValueError):  # windows or widths that cannot hold the projection
        return row
    if row.upper is not None and net.param_norm() >= row.upper:
        return row
    how = (f"depth continuation from L = {prev.depth} (upper {prev.upper:.6g} + projection "
           f"layers {cost:.6g} by construction, rebalanced: {net.param_norm():.6g})")
    solved = solver_row(arch, X, Y, row.depth, seed=seed, restarts=0, time_limit=time_limit,
                        max_iter=max_iter, warm=[(net, how)], epsilon=epsilon)
    if solved.upper is None or (row.upper is not None and solved.upper >= row.upper):
        return row
    # the solver's name stays: "warm start unchanged: depth continuation ... by
    # construction" when the deepened network itself won (its slope is the projection's
    # cost, fixed by design), the solver's when the solve improved on it
    solved = dataclasses.replace(solved, message=f"{how}; {solved.message}")
    joined = combine(row.depth, [row, solved])
    return dataclasses.replace(joined, networks={**row.networks, CONTINUATION: solved.network})
