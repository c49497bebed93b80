"""Verdict logic of CheckReport rows, on hand-made cases (including infinite bounds)."""
import math

import pytest

from cbntheory.checks import verdicts as checks

INF = math.inf


@pytest.mark.parametrize("lower, upper, lo, hi, verdict", [
    (1.5, 2.5, 1.0, 3.0, "consistent"),       # interval inside the claim
    (3.5, 4.0, 1.0, 3.0, "violated"),         # certified above the claim
    (0.0, 0.5, 1.0, 3.0, "violated"),         # certified below the claim
    (0.5, 2.0, 1.0, 3.0, "not_certified"),    # straddles the lower end
    (None, 2.0, 1.0, 3.0, "not_certified"),   # no lower bound: cannot exclude < 1
    (None, 0.5, 1.0, 3.0, "violated"),        # upper bound already below the claim
    (None, INF, 1.0, 3.0, "not_certified"),   # nothing known
    (5.0, INF, 1.0, 3.0, "violated"),         # lower bound above the claim, upper unknown
    (1.5, 2.5, 1.0, INF, "consistent"),       # one-sided claim
    (0.0, 0.5, 1.0, INF, "violated"),
    (2.0, INF, 1.0, INF, "consistent"),       # [2, inf) lies inside the claim [1, inf)
])
def test_interval_row_verdicts(lower, upper, lo, hi, verdict):
    row = checks.interval_row("case", lower, upper, lo, hi)
    assert row["verdict"] == verdict


def test_interval_row_tolerates_round_off_only():
    assert checks.interval_row("c", 1.0 - 1e-9, 3.0, 1.0, 3.0)["verdict"] == "consistent"
    assert checks.interval_row("c", 1.0 - 1e-3, 3.0, 1.0, 3.0)["verdict"] == "not_certified"


def test_compare_rows_and_summary():
    rows = [checks.compare_leq("a", 1.0, 2.0), checks.compare_equal("b", 2.0, 2.0 + 1e-12)]
    report = checks.summarize("X", "demo", "exact", rows)
    assert report.verdict == "holds" and report.ok
    bad = checks.summarize("X", "demo", "exact", rows + [checks.compare_leq("c", 2.0, 1.0)])
    assert bad.verdict == "violated" and not bad.ok and bad.margin == pytest.approx(-1.0)
    conj = checks.summarize("Y", "demo", "conjectural",
                            [checks.interval_row("d", None, 2.0, 1.0, 3.0)])
    assert conj.verdict == "not_certified"
    with pytest.raises(ValueError, match="kind"):
        checks.summarize("Z", "demo", "maybe", rows)
    with pytest.raises(ValueError, match="non-empty"):
        checks.summarize("Z", "demo", "exact", [])
