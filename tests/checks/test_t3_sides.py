"""T3 names its evidence: on finite data the upper side of the R0 interval is by construction
and the lower side the Lipschitz limit; the solver's slope needs three solved depths."""
from __future__ import annotations

import pytest

import cbntheory as cbn
from cbntheory.checks._measure import Interval
from cbntheory.checks.t3_cbn_sandwich import _r0_row


def _measured(depths, solver=None):
    return [Interval(depth=L, lower=float(L), upper=3.0 * L + 4.0, lower_source="Lipschitz",
                     upper_source="CBN construction", construction=3.0 * L + 4.0,
                     solver_upper=None if solver is None else solver(L),
                     solver_status="not run" if solver is None else "not_certified")
            for L in depths]


def test_data_row_names_the_construction_side():
    t = cbn.targets.get("shift_autoencoder_1d")
    row = _r0_row(t.name, t, True, [2, 3, 4, 8], _measured([2, 3, 4, 8]))
    assert row["upper_side"].startswith("by construction")
    assert "Lipschitz" in row["lower_side"]
    assert row["slope_of_solver"] is None                  # the solver never ran
    assert row["slope_by_construction"] == pytest.approx(3.0)
    assert row["lhs"] == pytest.approx(1.0)                # Lipschitz limit, operator norm.


def test_solver_slope_only_through_three_solved_depths():
    t = cbn.targets.get("shift_autoencoder_1d")
    two = _measured([2, 3], solver=lambda L: 2.5 * L + 6)
    assert _r0_row(t.name, t, True, [2, 3], two)["slope_of_solver"] is None
    three = _measured([2, 3, 4], solver=lambda L: 2.5 * L + 6)
    assert _r0_row(t.name, t, True, [2, 3, 4], three)["slope_of_solver"] == pytest.approx(2.5)


def test_two_dimensional_shifts_are_not_certified_on_data():
    t = cbn.targets.get("shift_autoencoder_2d")
    row = _r0_row(t.name, t, True, [2, 3], _measured([2, 3]))
    assert t.rank_j == 2 and row["lhs"] < 2 and row["verdict"] == "not_certified"
