"""``cbn check``: run the proof checks and print one verdict line per statement.

Usage::

    cbn check [NAMES...] [--full] [--json] [--list]

``NAMES`` are statement labels (``T1``, ``T3``, ``PE2020``, ...), matched exactly, or module
names of :mod:`cbntheory.checks`; a family is selected with a trailing ``*`` (``'T1*'`` is
``T1``, ``T1-data`` and ``T1-kernel``; ``'SYM*'`` the symbolic checks; quote it in a
shell); none means all.  Each line gives the label, the kind (exact or
conjectural), the smallest margin, the verdict and the time.  Exact statements are
``holds``/``violated``; conjectural ones ``consistent``/``violated``/``not_certified``
(judged on certified intervals); a check that raised is reported as ``error`` with its
message, and the others still run.  The exit status is 1 when an exact statement is
violated or a check raised, 0 otherwise (2 for bad arguments, e.g. an unknown name,
whose message lists the valid names).
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import checks as proofs
from ._common import print_json, tally


def register(subparsers: Any) -> None:
    """Add the ``check`` sub-command."""
    parser = subparsers.add_parser(
        "check", help="run the proof checks of docs/theory.md (one verdict per statement)",
        description="Run the checks of the statements T1-T7 and the anchors and print, per "
                    "statement, the label, kind, smallest margin and verdict. Exit status 1 "
                    "when an exact statement is violated or a check fails to run.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="labels (T1, T3, PE2020, ...; exact) or module names; a family "
                             "with a trailing * ('T1*' = T1, T1-data, T1-kernel); default all")
    parser.add_argument("--full", action="store_true",
                        help="run the full checks (more cases; slower) instead of quick ones")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON list of reports (with every row) instead of lines")
    parser.add_argument("--list", action="store_true",
                        help="list the available checks without running them")


def _selected(names: list[str]) -> list[proofs.CheckEntry]:
    if not names:
        return proofs.available()
    out: list[proofs.CheckEntry] = []
    for name in names:
        for entry in proofs.find(name):
            if entry not in out:
                out.append(entry)
    return out


def _margin(run: proofs.CheckRun) -> str:
    if run.report is None:
        return "-"
    return f"{run.report.margin:.3g}"


def format_line(run: proofs.CheckRun) -> str:
    """``LABEL  KIND  margin M  VERDICT  (t s, n rows)`` for one check."""
    rows = 0 if run.report is None else len(run.report.rows)
    line = (f"{run.entry.label:16s} {run.entry.kind if run.report is None else run.report.kind:12s}"
            f" margin {_margin(run):>10s}  {run.verdict:14s} ({run.seconds:.1f} s, {rows} rows)")
    if run.error:
        line += f"  {run.error}"
    return line


def run(args: argparse.Namespace) -> int:
    """Run the selected checks; print lines (as they finish) or JSON; return the status."""
    entries = _selected(list(args.names))
    if args.list:
        for e in entries:
            print(f"{e.label:16s} {e.kind:12s} {e.module:26s} {e.title}")
        return 0
    runs = []
    for entry in entries:
        result = proofs.run(entry, quick=not args.full)
        runs.append(result)
        if not args.json:
            print(format_line(result), flush=True)
    failed = [r for r in runs if r.failed]
    if args.json:
        print_json([r.as_dict() for r in runs])
    else:
        print(f"{len(runs)} checks: {tally(r.verdict for r in runs)}"
              + (f"; FAILED: {', '.join(r.entry.label for r in failed)}" if failed else ""))
    sys.stdout.flush()
    return 1 if failed else 0
