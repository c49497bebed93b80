"""Run every proofs_checks script: adding a script to proofs_checks/ adds a test here.

Each ``proofs_checks/<name>.py`` (names starting with ``_`` are helpers and skipped)
must define ``main(quick: bool = True)`` returning a :class:`cbntheory.checks.verdicts.CheckReport`.
A report must never be "violated"; an exact statement must "hold" on every row.
"""
from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

from cbntheory.checks.verdicts import CONJECTURAL, EXACT, HOLDS, VIOLATED, CheckReport

FOLDER = Path(__file__).resolve().parents[2] / "proofs_checks"
SCRIPTS = sorted(p.name for p in FOLDER.glob("*.py") if not p.name.startswith("_"))
REQUIRED_ROW_KEYS = {"case", "lhs", "rhs", "margin", "verdict"}


def _load(name: str):
    path = FOLDER / name
    spec = importlib.util.spec_from_file_location(f"_proofs_checks_{path.stem}", path)
    assert spec is not None and spec.loader is not None, f"cannot import {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_folder_has_scripts():
    assert FOLDER.is_dir(), f"missing folder {FOLDER}"
    assert SCRIPTS, f"no proofs_checks scripts found in {FOLDER}"


#: Scripts whose quick run still solves ReLU networks for seconds: outside the fast loop.
SLOW_SCRIPTS = {"t6_activation_structure.py", "t7_downsampling.py", "anchor_pe2020.py"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_SCRIPTS
                                  else n for n in SCRIPTS] or ["<none found>"])
def test_proof_check_script(name, monkeypatch):
    assert SCRIPTS, f"no proofs_checks scripts found in {FOLDER}"
    monkeypatch.syspath_prepend(str(FOLDER))        # scripts may import their _helpers
    module = _load(name)
    main = getattr(module, "main", None)
    assert callable(main), f"{name} has no main()"
    assert "quick" in inspect.signature(main).parameters, f"{name}: main() takes no 'quick'"
    report = main(quick=True)
    assert isinstance(report, CheckReport), f"{name}: main() returned {type(report).__name__}"
    assert report.kind in (EXACT, CONJECTURAL), f"{name}: unknown kind {report.kind!r}"
    assert report.rows, f"{name}: empty report"
    for row in report.rows:
        missing = REQUIRED_ROW_KEYS - set(row)
        assert not missing, f"{name}: row {row.get('case')!r} lacks {sorted(missing)}"
    bad = [f"{r['case']} (margin {r['margin']:.3g})" for r in report.rows
           if r["verdict"] == VIOLATED]
    assert report.verdict != VIOLATED, f"{report.label} violated on: {bad}"
    if report.kind == EXACT:
        not_holding = [r["case"] for r in report.rows if r["verdict"] != HOLDS]
        assert report.verdict == HOLDS and not not_holding, (
            f"{report.label}: exact statement not holding on {not_holding}")
