"""T3 (conjectural): the sandwich ``Rank_J <= R0 <= Rank_CBN``, on certified intervals.

For built-in targets (:mod:`cbntheory.targets`) and growing depth ``L``, the measured
``R(f; Omega, L)`` is a certified interval (:mod:`cbntheory.checks._measure`):

* linear targets: T1's closed form, exact;
* finite data: lower = the Lipschitz bound ``L (kappa Lambda^2)^{1/L}`` (or the solver's
  certificate), upper = the smaller of the explicit CBN construction's norm
  ``L Rank_CBN + C(g, h)`` and the norm of :func:`cbntheory.minimal_norm`'s network,
  both re-verified to reproduce the data.

Rows:

* per target and depth: ``lower <= upper`` (two certified bounds never cross), with the
  interval of ``R / L`` and the solver's value and status as evidence;
* per target: the certified interval of ``R0 = lim R / L`` judged against the claim
  ``[Rank_J, Rank_CBN]``: T1's ``R0`` for linear targets; for data, the floor of the
  Lipschitz bound (``R / L >= (gamma Lambda^2)^{1/L} -> 1 / (d c^2)``: 1 with the operator
  normalisation, ``1/d`` with the plain one) and the slope of the construction for the
  architecture (``R / L <= rank + C / L``; with biases the bias-aware construction and
  ``Rank_CBN`` with biases, which is at most ``Rank_CBN``).  "consistent" means the
  certified interval lies in the sandwich; "not_certified" that a side is not certified (e.g. the 2D
  shifts, ``Rank_J = 2`` but only ``R0 >= 1`` is certified on finite data).  The slope of
  the measured upper bounds against ``L`` over the larger depths (the tables' fit,
  :func:`cbntheory.measure.tables.fit_slope`) is reported with it, uncertified.

Run ``python proofs_checks/t3_cbn_sandwich.py [--full]`` for the table.
"""
from __future__ import annotations

from .. import fourier, settings, targets
from ..measure.tables import fit_slope
from ..theory.linear import linear_cost
from ..theory.lipschitz import lipschitz_constant
from ._measure import data_of, interval, operator_of
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


def _r0_interval(t, quick: bool) -> tuple[float, float, str]:
    """Certified ``[R0_low, R0_high]`` and how it was obtained."""
    if t.kind == "operator":
        r0 = float(linear_cost(operator_of(t), 2).r0)
        return r0, r0, "T1: R0 = sum_m rank A_m"
    X, Y = data_of(t, quick)
    lam, _ = lipschitz_constant(X, Y)
    arch = t.architecture(3, quick=quick)
    # (kappa Lambda^2)^(1/L) -> the cost factor 1 / (d c^2) of one middle layer: 1 with
    # the operator normalisation, 1 / d with the plain one
    floor = fourier.cost_factor(arch.normalization, arch.spatial_shape)
    low = floor if lam > 0 else 0.0
    con = t.construction(3, quick=quick, bias_aware=arch.bias)
    high = float(con.rank_cbn) if con is not None else float("inf")
    lip = f"Lipschitz bound (R0 >= 1 / (d c^2) = {floor:g})"
    return low, high, (f"{lip} and CBN construction (R0 <= its slope, by construction)"
                       if con is not None else f"{lip}; no construction")


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
        low, high, how = _r0_interval(t, quick)
        claim_low = float(t.rank_j) if t.rank_j is not None else 1.0
        claim_high = float(t.rank_cbn) if t.rank_cbn is not None else float("inf")
        ups = [m.upper for m in measured]
        rows.append(interval_row(
            f"{name}: R0 in [Rank_J, Rank_CBN] = [{claim_low:g}, {claim_high:g}]", low, high,
            claim_low, claim_high, how=how, depths=list(depths),
            R_over_L_upper=[u / L for u, L in zip(ups, depths)],
            slope_of_upper=getattr(fit_slope(depths, ups), "slope", None),
            slope_of_solver=getattr(fit_slope(depths, [m.solver_upper for m in measured]),
                                    "slope", None),
            solver_status=sorted({m.solver_status for m in measured}),
            rank_j=t.rank_j, rank_cbn=t.rank_cbn))
    return summarize(
        "T3", "sandwich Rank_J <= R0 <= Rank_CBN: certified R(f; L) for growing L and the "
        "certified interval of R0", CONJECTURAL, rows,
        message="per depth: certified [lower, upper] of R (T1; Lipschitz bound, construction, "
                "minimal_norm re-verified); per target: certified R0 interval against "
                "[Rank_J, Rank_CBN], with the uncertified slope of the upper bounds")

