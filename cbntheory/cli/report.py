"""``cbn report``: run the checks, the bound tables and the figures into one directory.

Usage::

    cbn report --out DIR [--quick] [--seed S] [--from STORE.sqlite] [--no-progress]

Writes ``DIR/index.md`` (status of every item, links to every table and figure, closing
note), ``DIR/checks.md``, ``DIR/tables/`` and ``DIR/figures/``; see ``docs/report.md``.
The default run takes about half an hour on two shared cores, ``--quick`` about 2 minutes.
With ``--from`` the table rows a sweep store holds (``bound_row`` jobs with the plan's
data mode, budget and seed) are read from it and only the missing ones are computed.
Failures are reported in the report (status columns), never as a crash; the exit status
is 1 when an exact statement is violated, an item failed or DIR was not writable.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ValidationError
from ._common import add_shared, output_dir, tally


def register(subparsers: Any) -> None:
    """Add the ``report`` sub-command."""
    parser = subparsers.add_parser(
        "report", help="checks, bound tables and figures of the built-in targets (index.md)",
        description="Run every proof check, the bound tables of the built-in targets and the "
                    "figures, writing DIR/index.md with links to every table and figure and a "
                    "closing note. Results are written as they come; a progress bar goes to "
                    "standard error.")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--quick", action="store_true",
                        help="the quick plan (about 2 minutes): fewer targets and depths")
    parser.add_argument("--from", dest="store", metavar="STORE.sqlite", default=None,
                        help="read the table rows a sweep store holds (bound_row jobs with "
                             "the plan's options and --seed); compute only the others")
    add_shared(parser, "--seed", "--no-progress")


def run(args: argparse.Namespace) -> int:
    """Run the report; print where it is and return its exit status."""
    from ..output.report import run_report

    if args.seed < 0:
        raise ValidationError(f"--seed must be >= 0; got {args.seed}")
    rows = networks = None
    if args.store is not None:
        from ..sweep.kinds import stored_networks
        from ..sweep.store import read_rows

        rows = read_rows(args.store, None)  # checked first: a damaged store is one line
        networks = stored_networks(args.store, rows)
    output_dir(args.out, "--out")  # after the inputs, before any work
    result = run_report(args.out, quick=args.quick, seed=args.seed,
                        progress=not args.no_progress, stored_rows=rows,
                        stored_networks=networks)
    for note in result.notes:
        print(f"cbn report: note: {note}", file=sys.stderr)
    print(f"report written to {result.index} in {result.seconds:.0f} s "
          f"({tally(item.status for item in result.items)})")
    return result.exit_status
