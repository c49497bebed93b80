"""T3 (conjectural): the sandwich ``Rank_J <= R0 <= Rank_CBN``, on certified intervals.

What this check measures, and what it does not.  For built-in targets
(:mod:`cbntheory.targets`) and growing depth ``L``, the measured ``R(f; Omega, L)`` is a
certified interval (:mod:`cbntheory.checks._measure`):

* linear targets: T1's closed form, exact;
* finite data: lower = the Lipschitz bound ``L (gamma Lambda^2)^{1/L}`` (or the solver's
  certificate), upper = the smaller of the explicit construction's norm and the norm of
  :func:`cbntheory.minimal_norm`'s network, both re-verified to reproduce the data.

Rows:

* per target and depth: ``lower <= upper``: two independent computations (a proof and a
  verified network) never cross.  This is the measured part of the check;
* per target: the certified interval of ``R0 = lim R / L``
  (:func:`cbntheory.measure.tabulate.r0_interval`) against ``[Rank_J, Rank_CBN]``.  For
  linear targets both sides are T1's exact ``R0``.  For finite data both sides are
  proofs, not measurements: the lower side is the limit of the Lipschitz bound, the upper
  side the rank of the explicit construction for the architecture (with biases the
  bias-aware one), *by construction* (its norm is
  ``L rank + C`` by design, so a construction of rank ``Rank_CBN`` meets the claim with
  no evidence of where ``R0`` lies).  The row says which side is which
  (``lower_side``, ``upper_side``).  On finite data ``Rank_J`` is the rank of the curve's
  Jacobian, not a certified bound (T2 needs an open set): where the Lipschitz limit is
  below it (the 2D shifts: ``Rank_J = 2``) the verdict is "not_certified".

The slope of the solver's upper bounds (never the construction's: its slope is fixed by
design) is reported with each target only when the solver ran at three or more depths
(:func:`cbntheory.measure.tables.fit_slope`), uncertified; the construction's slope is
reported apart, labelled "by construction".

Run ``python proofs_checks/t3_cbn_sandwich.py [--full]`` for the table.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import settings, targets
from ..measure.tables import CONSTRUCTION, SOLVER, fit_slope
from ..measure.tabulate import r0_interval
from ._measure import interval
from .verdicts import CONJECTURAL, CheckReport, compare_leq, interval_row, summarize

#: target -> (depths, depths at which the ReLU solver also runs); quick mode keeps the
#: solver to one tiny problem (it takes seconds to minutes per call).
QUICK = {"bandlimited_1d": ((1, 2, 4, 8, 16, 64), ()), "mixer_1d": ((1, 2, 4, 8, 16, 64), ()),
         "invariant_pool": ((2, 3, 4, 8), (2,)), "shift_autoencoder_1d": ((2, 3, 4, 8), ())}
FULL = {"bandlimited_1d": ((1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 256), ()),
        "bandlimited_2d": ((1, 2, 4, 8, 16, 64), ()), "mixer_1d": ((1, 2, 4, 8, 16, 64), ()),
        "mixer_2d": ((1, 2, 4, 8, 16, 64), ()),
        "invariant_pool": ((2, 3, 4, 6, 8), (2, 3, 4, 6, 8)),
        "shift_autoencoder_1d": ((2, 3, 4, 6, 8), (2, 3, 4, 6, 8)),
        "shape_pattern_1d": ((2, 3, 4, 6), (2, 3, 4, 6)),
        "shift_autoencoder_2d": ((2, 3, 4), (2, 3))}
#: Seconds per solver call (quick, full).
MAX_ITER = (settings.QUICK_MAX_ITER, settings.AL_MAX_ITER)


def _r0_row(name: str, t: Any, quick: bool, depths: Sequence[int],
            measured: Sequence[Any]) -> dict[str, Any]:
    """The per-target row: certified R0 interval against [Rank_J, Rank_CBN], sides named."""
    low, high, how = r0_interval(t, quick)
    linear = t.kind == "operator"
    claim_low = float(t.rank_j) if t.rank_j is not None else 1.0
    claim_high = float(t.rank_cbn) if t.rank_cbn is not None else float("inf")
    ups = [m.upper for m in measured]
    solver = fit_slope(depths, [m.solver_upper for m in measured], [SOLVER] * len(depths))
    built = fit_slope(depths, [m.construction for m in measured],
                      [CONSTRUCTION] * len(depths), eligible=(CONSTRUCTION,))
    return interval_row(
        f"{name}: R0 in [Rank_J, Rank_CBN] = [{claim_low:g}, {claim_high:g}]",
        low, float("inf") if high is None else high, claim_low, claim_high, how=how,
        lower_side="T1 (exact)" if linear else "proof: limit of the Lipschitz bound",
        upper_side=("T1 (exact)" if linear else
                    "by construction: the construction's rank (not evidence of where R0 lies)"),
        depths=list(depths), R_over_L_upper=[u / L for u, L in zip(ups, depths)],
        slope_of_solver=getattr(solver, "slope", None),
        slope_by_construction=getattr(built, "slope", None),
        solver_status=sorted({m.solver_status for m in measured}),
        rank_j=t.rank_j, rank_cbn=t.rank_cbn)


def main(quick: bool = True) -> CheckReport:
    """Tabulate the sandwich; returns a :class:`~cbntheory.checks.verdicts.CheckReport`."""
    plan = QUICK if quick else FULL
    rows = []
    budget = MAX_ITER[0] if quick else MAX_ITER[1]
    for name, (depths, solved) in plan.items():
        t = targets.get(name)
        measured = [interval(t, L, quick=quick, use_solver=L in solved, max_iter=budget)
                    for L in depths]
        for m in measured:
            rows.append(compare_leq(
                f"{name} L={m.depth}: certified lower <= upper of R(f; L)", m.lower, m.upper,
                R_over_L=[m.lower / m.depth, m.upper / m.depth], **m.fields()))
        rows.append(_r0_row(name, t, quick, depths, measured))
    return summarize(
        "T3", "sandwich Rank_J <= R0 <= Rank_CBN: certified R(f; L) for growing L and the "
        "certified interval of R0", CONJECTURAL, rows,
        message="measured: per depth, certified lower <= upper of R (T1; Lipschitz bound "
                "against the construction and minimal_norm, re-verified). Per target: the R0 "
                "interval against [Rank_J, Rank_CBN]; on finite data its sides are proofs "
                "(Lipschitz limit below, the construction's rank above, by construction), so "
                "they say nothing measured about where R0 lies; the solver's slope (>= 3 "
                "solved depths) is uncertified, the construction's is by design")

