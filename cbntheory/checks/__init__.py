"""The proof checks: one module per statement of ``docs/theory.md``, found by ``cbn check``.

Every check module defines ``main(quick: bool = True) -> CheckReport`` (see
:mod:`cbntheory.checks.verdicts`).  The modules live inside the package so that ``cbn check``
works from an installed copy, which never reads the source tree; the scripts in the
source tree's ``proofs_checks/`` directory are thin wrappers that import them
(``python proofs_checks/t3_cbn_sandwich.py`` prints the table).

:data:`CHECKS` is the catalogue: module name, statement label, kind and one line.

Examples
--------
>>> entry = find("t3-construction")[0]
>>> entry.module, entry.kind
('t3_construction', 'exact')
>>> [e.label for e in find("GLSS2018")]
['GLSS2018']
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import time
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..errors import CBNError, ValidationError
from .verdicts import CONJECTURAL, EXACT, CheckReport

#: Verdict of a check whose ``main()`` raised: it was not checked (and is reported so).
ERROR = "error"


@dataclasses.dataclass(frozen=True)
class CheckEntry:
    """One statement: the module holding its check, its label, kind and a title."""

    module: str
    label: str
    kind: str
    title: str


CHECKS: tuple[CheckEntry, ...] = (
    CheckEntry("symbolic_convolution", "SYM-conv", EXACT,
               "convolution theorem, Parseval, exact multiplier ranks (sympy)"),
    CheckEntry("symbolic_scalar_identity", "SYM-scalar", EXACT,
               "min sum_l w_l^2 subject to prod_l w_l = s equals L s^(2/L)"),
    CheckEntry("symbolic_series", "SYM-series", EXACT,
               "L s^(2/L) = L + 2 log s + (2/L)(log s)^2 + O(1/L^2)"),
    CheckEntry("t1_linear_cost", "T1", EXACT,
               "linear CNN cost (L/(d c^2)) sum_m ||A_m||_{S_{2/L}}^{2/L}"),
    CheckEntry("t1_data", "T1-data", EXACT,
               "linear CNNs on finite data: least norm (L=1), nuclear norm (L=2), L>=3"),
    CheckEntry("t1_kernel", "T1-kernel", EXACT,
               "k-tap filters: full-size value <= numerical upper bound"),
    CheckEntry("t2_jacobian_bound", "T2", EXACT,
               "||theta||^2 >= (L/(d c^2)) ||J f(x)||_{S_{2/L}}^{2/L}"),
    CheckEntry("t3_construction", "T3-construction", EXACT,
               "explicit CBN networks reproduce the data: R <= L Rank_CBN + C(g, h)"),
    CheckEntry("t3_cbn_sandwich", "T3", CONJECTURAL,
               "Rank_J <= R0 <= Rank_CBN: measured R(f; L) against both sides"),
    CheckEntry("t4_regularity", "T4", CONJECTURAL,
               "R(f; L) - L R0 against the Jacobian log-determinant bound"),
    CheckEntry("t5_weight_bottleneck", "T5", EXACT,
               "weight singular values: Horn + log t <= t - 1 bound"),
    CheckEntry("t6_activation_structure", "T6", CONJECTURAL,
               "activations of near-optimal networks concentrate on the CBN frequencies"),
    CheckEntry("t7_downsampling", "T7", CONJECTURAL,
               "R(f; L)/L with and without down-sampling (aliasing of the CBN frequencies)"),
    CheckEntry("anchor_glss2018", "GLSS2018", EXACT,
               "single-channel l_{2/L} bridge penalty on Fourier coefficients"),
    CheckEntry("anchor_deep_linear_fc", "deep-linear-FC", EXACT,
               "deep linear fully connected networks: L ||A||_{S_{2/L}}^{2/L}"),
    CheckEntry("anchor_pe2020", "PE2020", EXACT,
               "two-layer ReLU: non-convex interpolants never below the convex optimum"),
    CheckEntry("anchor_sess2019", "SESS2019", EXACT,
               "univariate two-layer ReLU min-norm = max(int |f''|, |f'(-inf) + f'(inf)|)"),
)


def _module_available(name: str) -> bool:
    return importlib.util.find_spec(f"{__name__}.{name}") is not None


def available() -> list[CheckEntry]:
    """The catalogue entries whose module is importable here."""
    return [e for e in CHECKS if _module_available(e.module)]


def find(name: str) -> list[CheckEntry]:
    """Checks matching ``name``: a statement label or module name, or a family ``PREFIX*``.

    A plain name matches exactly one entry, its label or module (case-insensitive): ``T1``
    is the check of T1 only, never ``T1-data``.  A family is selected by a trailing ``*``:
    ``T1*`` is ``T1``, ``T1-data`` and ``T1-kernel`` (the label equals the prefix or
    continues it after a ``-``); ``SYM*`` the symbolic checks (quote it in a shell).

    Raises
    ------
    ValidationError
        If nothing matches; the message lists the valid names and the family syntax.

    Examples
    --------
    >>> [e.label for e in find("T1")], [e.label for e in find("T1*")]
    (['T1'], ['T1', 'T1-data', 'T1-kernel'])
    """
    key = name.strip().lower()
    entries = available()
    if key.endswith("*") and len(key) > 1:
        prefix = key[:-1].rstrip("-")
        hits = [e for e in entries
                if e.label.lower() == prefix or e.label.lower().startswith(prefix + "-")]
    else:
        hits = [e for e in entries if key in (e.label.lower(), e.module.lower())]
    if not hits:
        valid = ", ".join(e.label for e in entries)
        family = sorted({e.label.split("-")[0] + "*" for e in entries if "-" in e.label})
        raise ValidationError(f"check name must be one of the valid names {valid} (or a "
                              "module name such as t3_cbn_sandwich, or a family such as "
                              f"{', '.join(family)}); got {name!r}")
    return hits


def load(entry: CheckEntry) -> ModuleType:
    """Import the module of ``entry``."""
    if not _module_available(entry.module):
        raise ValidationError(f"no module for check {entry.module!r}")
    return importlib.import_module(f"{__name__}.{entry.module}")


@dataclasses.dataclass(frozen=True)
class CheckRun:
    """Outcome of running one check: its report, or the error it raised, and the time."""

    entry: CheckEntry
    report: CheckReport | None
    seconds: float
    error: str = ""

    @property
    def verdict(self) -> str:
        """The report's verdict, or ``"error"`` when ``main()`` raised."""
        return self.report.verdict if self.report is not None else ERROR

    @property
    def failed(self) -> bool:
        """True for a violated exact statement or a check that raised."""
        if self.report is None:
            return True
        return self.report.kind == EXACT and self.report.verdict == "violated"

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON: the report's fields plus module, seconds and error."""
        base = (self.report.as_dict() if self.report is not None
                else {"label": self.entry.label, "title": self.entry.title,
                      "kind": self.entry.kind, "verdict": ERROR, "margin": None,
                      "message": self.error, "rows": []})
        return {"module": self.entry.module, "seconds": round(self.seconds, 3),
                "error": self.error, **base}


def run(entry: CheckEntry, quick: bool = True) -> CheckRun:
    """Run one check, catching any exception into the result (never raises)."""
    start = time.perf_counter()
    try:
        report = load(entry).main(quick=quick)
        if not isinstance(report, CheckReport):
            raise CBNError(f"main() of {entry.module} returned {type(report).__name__}, "
                            "not a CheckReport")
        return CheckRun(entry, report, time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - reported, never lost
        tail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return CheckRun(entry, None, time.perf_counter() - start, tail)


def script_main(main: Callable[..., CheckReport], argv: list[str] | None = None) -> int:
    """Body of ``if __name__ == "__main__"`` in the ``proofs_checks/`` scripts.

    Prints every row and the verdict; ``--full`` runs the full (non-quick) check.
    Returns 1 when the statement is violated, else 0.
    """
    import sys

    argv = sys.argv[1:] if argv is None else argv
    report = main(quick="--full" not in argv)
    for row in report.rows:
        print(f"{row['verdict']:13s} {row['lhs']:12.6g} {row.get('relation', 'in'):2s} "
              f"{row['rhs']:12.6g} margin {row['margin']:10.3g}  {row['case']}")
    print(f"{report.label} ({report.kind}): {report.verdict}, smallest margin "
          f"{report.margin:.3g}; {report.message}")
    return 0 if report.ok else 1
