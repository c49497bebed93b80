"""Deterministic budgets: solves are bounded by iteration counts, wall-clock limits are
safety caps whose rows say so.

The reference of the determinism test is a second run of the same command with a
CPU-burning process beside it: every printed number must be identical.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cbntheory import settings, targets
from cbntheory.measure import intervals
from cbntheory.measure.tables import SKIPPED, TIME_CAPPED, DepthRow
from cbntheory.measure.tabulate import measure_named

# 1,000 iterations per restart (a quarter of the quick budget: issue 15, the test took
# ~60 s): still thousands of iterations whose count, not the clock, ends every solve
TABLE = [sys.executable, "-m", "cbntheory.cli", "table", "shift_autoencoder_1d", "--depths",
         "2,3", "--quick", "--max-iter", "1000", "--format", "json", "--no-progress"]
BURN = [sys.executable, "-c", "while True: pass"]


def _numbers(text):
    """Every number and status of the tables (not the times of the run)."""
    doc = json.loads(text)
    out = []
    for table in doc["tables"]:
        out.append(table["fit"])
        for row in table["rows"]:
            out.append({k: row[k] for k in ("depth", "lower", "upper", "status", "r_over_l",
                                            "excess", "solver")})
    return out


def _run_table():
    done = subprocess.run(TABLE, capture_output=True, text=True, env=dict(os.environ),
                          timeout=600, check=True)
    return _numbers(done.stdout)


@pytest.mark.slow
def test_same_seed_same_numbers_idle_and_loaded():
    idle = _run_table()
    burners = [subprocess.Popen(BURN) for _ in range(2)]
    try:
        loaded = _run_table()
    finally:
        for p in burners:
            p.kill()
            p.wait()
    assert loaded == idle
    assert all(r["status"] not in (TIME_CAPPED, SKIPPED) for r in idle[1:])


def test_same_seed_same_row_idle_and_loaded_in_process():
    # the fast variant of the test above: one depth, in this process, a small budget
    from cbntheory.measure.tables import row_state

    def solve():
        row = measure_named("shift_autoencoder_1d", 3, quick=True, max_iter=150)
        state = row_state(row)
        return {k: state[k] for k in ("lower", "upper", "status", "residual", "solver")}

    idle = solve()
    burner = subprocess.Popen(BURN)
    try:
        loaded = solve()
    finally:
        burner.kill()
        burner.wait()
    assert loaded == idle and idle["status"] not in (TIME_CAPPED, SKIPPED)


def test_a_solve_cut_by_its_safety_cap_says_so_and_drops_its_upper_bound():
    t = targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    arch = t.architecture(3, quick=True)
    built = t.construction(3, quick=True)
    parts = intervals.measurements(arch, X, Y, 3, construction=built, convex=False,
                                   time_limit=1e-3)
    row = parts["minimal_norm"]
    assert row.status == TIME_CAPPED and row.upper is None
    assert "stopped by the safety time cap" in row.message
    assert row.lower == pytest.approx(3.0)  # the Lipschitz bound L Lambda^(2/L), Lambda = 1
    joined = intervals.combine(3, list(parts.values()))
    assert joined.status == TIME_CAPPED
    assert joined.upper == pytest.approx(built.network.param_norm(), rel=1e-12)
    assert joined.message.startswith("stopped by the safety time cap")


def test_cap_share_is_below_every_wall_clock_stop():
    keep = (1 - settings.AL_POLISH_RESERVE) * (1 - settings.RELU_PROJECT_RESERVE)
    assert intervals.cap_share(1) == pytest.approx(keep)
    assert intervals.cap_share(4) == pytest.approx(keep / 4)


def test_the_run_cap_skips_with_its_own_message():
    row = measure_named("shift_autoencoder_1d", 2, quick=True, deadline=0.0)
    assert isinstance(row, DepthRow) and row.status == SKIPPED and row.upper is None
    assert "safety time cap of the run" in row.message


def test_budgets_are_counts_in_the_report_plans():
    from cbntheory.output.report import PLANS

    assert PLANS["quick"].max_iter == settings.QUICK_MAX_ITER
    assert PLANS["default"].max_iter == settings.REPORT_MAX_ITER
    for plan in PLANS.values():  # the caps sit far above the time of the counts
        assert plan.time_limit >= 60.0 and plan.budget >= 600.0
