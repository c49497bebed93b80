"""Reports of theorem checks: both sides of every comparison, the margin and a verdict.

Every script in ``proofs_checks/`` returns a :class:`CheckReport` from its ``main()``.
A report is a list of rows, one per case (a kernel, a network, a depth...), each
holding the two sides of the statement, the margin and the row's verdict, and an
overall verdict:

* exact statements (equalities or inequalities that are theorems) are judged
  ``"holds"`` or ``"violated"`` against a stated tolerance;
* conjectural statements are judged ``"consistent"``, ``"violated"`` or
  ``"not_certified"`` on certified intervals, never a bare pass.

Examples
--------
>>> rows = [compare_leq("x=1", 1.0, 2.0), compare_equal("x=2", 4.0, 4.0 + 1e-13)]
>>> report = summarize("demo", "an example", "exact", rows)
>>> report.verdict, abs(report.margin) < 1e-12
('holds', True)
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .. import _validate as V
from .. import settings

EXACT = "exact"
CONJECTURAL = "conjectural"
HOLDS, VIOLATED = "holds", "violated"
CONSISTENT, NOT_CERTIFIED = "consistent", "not_certified"


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """Outcome of checking one statement of ``docs/theory.md``.

    Attributes
    ----------
    label : str
        Statement label (``"T1"``, ``"T2"``, ..., or an anchor key such as ``"GLSS2018"``).
    title : str
        One-line statement of what is checked.
    kind : str
        ``"exact"`` or ``"conjectural"``.
    verdict : str
        ``"holds"``/``"violated"`` (exact) or ``"consistent"``/``"violated"``/``"not_certified"``.
    margin : float
        Smallest row margin (``rhs - lhs`` for ``lhs <= rhs``; minus the absolute error
        for equalities), so a negative margin beyond tolerance is a violation.
    rows : tuple of dict
        One dict per case with at least ``case``, ``lhs``, ``rhs``, ``margin``, ``verdict``.
    message : str
        What was checked, on what, and with which tolerance.
    """

    label: str
    title: str
    kind: str
    verdict: str
    margin: float
    rows: tuple[Mapping[str, Any], ...]
    message: str = ""

    @property
    def ok(self) -> bool:
        """False only when the statement was found violated."""
        return self.verdict != VIOLATED

    def as_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON output."""
        return {"label": self.label, "title": self.title, "kind": self.kind,
                "verdict": self.verdict, "margin": self.margin, "message": self.message,
                "rows": [dict(r) for r in self.rows]}


def _slack(scale: float, rtol: float) -> float:
    return rtol * max(1.0, abs(scale))


def compare_leq(case: str, lhs: float, rhs: float, *, rtol: float | None = None,
                **extra: Any) -> dict[str, Any]:
    """Row for an inequality ``lhs <= rhs``; holds when ``rhs - lhs >= -rtol * max(1, |rhs|)``."""
    rtol = settings.INEQUALITY_RTOL if rtol is None else rtol
    margin = float(rhs) - float(lhs)
    ok = margin >= -_slack(max(abs(lhs), abs(rhs)), rtol)
    return {"case": case, "lhs": float(lhs), "rhs": float(rhs), "margin": margin,
            "relation": "<=", "verdict": HOLDS if ok else VIOLATED, **extra}


def compare_equal(case: str, lhs: float, rhs: float, *, rtol: float | None = None,
                  **extra: Any) -> dict[str, Any]:
    """Row for an equality ``lhs == rhs``; margin is ``-|lhs - rhs|``."""
    rtol = settings.INEQUALITY_RTOL if rtol is None else rtol
    err = abs(float(lhs) - float(rhs))
    ok = err <= _slack(max(abs(lhs), abs(rhs)), rtol)
    return {"case": case, "lhs": float(lhs), "rhs": float(rhs), "margin": -err,
            "relation": "==", "verdict": HOLDS if ok else VIOLATED, **extra}


def interval_row(case: str, lower: float | None, upper: float, claim_low: float,
                 claim_high: float, **extra: Any) -> dict[str, Any]:
    """Row for a conjectural claim ``value in [claim_low, claim_high]`` judged on a certified
    interval ``[lower, upper]`` of the measured value.

    ``violated`` when the certified interval lies entirely outside the claim,
    ``consistent`` when it lies inside, ``not_certified`` otherwise.
    """
    lo = float("-inf") if lower is None else float(lower)
    # Scale the slack by the finite quantities only: an infinite claim or bound must not
    # make the slack infinite (which would call any interval consistent).
    finite = [abs(v) for v in (lo, upper, claim_low, claim_high) if math.isfinite(v)]
    slack = _slack(max(finite, default=1.0), settings.GAP_RTOL)
    if lo > claim_high + slack or upper < claim_low - slack:
        verdict = VIOLATED
    elif lo >= claim_low - slack and upper <= claim_high + slack:
        verdict = CONSISTENT
    else:
        verdict = NOT_CERTIFIED
    margin = min(upper - claim_low, claim_high - lo) if lower is not None else claim_high - upper
    return {"case": case, "lhs": lo, "rhs": float(upper), "claim_low": float(claim_low),
            "claim_high": float(claim_high), "margin": float(margin), "verdict": verdict, **extra}


def summarize(label: str, title: str, kind: str, rows: Iterable[Mapping[str, Any]],
              message: str = "") -> CheckReport:
    """Combine rows into a report: violated if any row is, else the weakest verdict."""
    rows = tuple(rows)
    if kind not in (EXACT, CONJECTURAL):
        raise V.fail("kind", "be 'exact' or 'conjectural'", kind)
    if not rows:
        raise V.fail("rows", f"be non-empty for check {label!r}", rows)
    verdicts = {r["verdict"] for r in rows}
    if VIOLATED in verdicts:
        verdict = VIOLATED
    elif kind == EXACT:
        verdict = HOLDS
    else:
        verdict = NOT_CERTIFIED if NOT_CERTIFIED in verdicts else CONSISTENT
    margin = min(float(r["margin"]) for r in rows)
    return CheckReport(label, title, kind, verdict, margin, rows, message)
