"""The closing note of ``cbn report`` says only what the tables show: the certified R0
interval and R/L at the largest depth, no slope through fewer than three solver depths,
construction slopes "by construction", Rank_J on data not presented as a bound."""
from __future__ import annotations

import numpy as np

from cbntheory.measure.tables import CONSTRUCTION, BoundTable, DepthRow, fit_rows
from cbntheory.output.report_index import State, closing_note

SOLVER = "augmented Lagrangian + L-BFGS-B (cbntheory.solvers.augmented), rebalanced"


def _table(rows):
    rows = tuple(rows)
    return BoundTable("shift_autoencoder_1d", "t", "", "data", "relu", 1, 3, 1.0, None, None,
                      rows, fit_rows(rows), {},
                      construction_fit=fit_rows(rows, eligible=(CONSTRUCTION,)),
                      r0_low=1.0, r0_high=3.0, r0_how="Lipschitz; by construction")


def _note(table):
    state = State("quick", 0)
    state.tables[table.target] = table
    return "\n".join(closing_note([], state))


def test_construction_slope_is_not_presented_as_evidence():
    rows = [DepthRow(L, float(L), 3.0 * L + 5.0, "not_certified", "", "cbn_construction",
                     residual=1e-15) for L in (4, 5, 6, 7, 8)]
    rows = [DepthRow(2, 2.0, 9.0, "not_certified", "", SOLVER, residual=1e-7),
            DepthRow(3, 3.0, 13.0, "not_certified", "", SOLVER, residual=1e-7)] + rows
    text = _note(_table(rows))
    assert "within [Rank_J, Rank_CBN]" not in text
    assert "No slope (fewer than three" in text
    assert "slope 3 by construction" in text
    assert "certified R0 in [1, 3]" in text
    # R/L at the largest depth, from the row itself
    assert f"At L = 8, R/L lies in [1, {29.0 / 8:.3g}]" in text
    assert "solver at L = 2, 3; construction at L = 4, 5, 6, 7, 8" in text
    assert "not a certified bound" in text


def test_solver_slope_is_reported_with_its_depths():
    Ls = [2, 3, 4, 5, 6]
    rows = [DepthRow(L, float(L), 2.0 * L + 1.0 + 0.01 * L ** -1, "not_certified", "", SOLVER,
                     residual=1e-7) for L in Ls]
    t = _table(rows)
    text = _note(t)
    x = np.array([4.0, 5.0, 6.0])
    y = np.array([r.upper for r in rows[2:]])
    slope = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    assert f"Slope of R against L {slope:.3g} (upper bounds from solver, L = 4, 5, 6" in text
