"""``cbn table``: bound tables of built-in targets, or of the rows of a sweep store.

Usage::

    cbn table TARGET... [--depths 1-16] [--format md|tex|csv|json] [--out FILE]
              [--quick] [--seed S] [--restarts K] [--max-iter N] [--time-limit SECONDS]
              [--save-networks DIR] [--no-progress]
    cbn table [TARGET...] --from STORE.sqlite [--format ...] [--out FILE]

For every target (``cbn table --list`` names them) and depth, the certified interval
``[lower, upper]`` of ``R(f; Omega, L)`` with its status, ``R/L``, ``L Rank_J``,
``L Rank_CBN``, ``R - L R0`` against the T2/T4 regularity bound (T1's ``R1 + R2/L``
for linear targets), and the fitted slope of ``R`` against ``L`` next to ``Rank_J``
and ``Rank_CBN``; see ``docs/report.md`` for the columns and formats.  With
``--from``, the tables come from a sweep store (``cbn sweep``) instead of new solves;
TARGETs then select groups by their ``target`` parameter.

Every solve is bounded by ``--max-iter`` L-BFGS-B iterations per restart (default
``settings.QUICK_MAX_ITER`` with ``--quick``, else the solver's ``AL_MAX_ITER``), so the
same seed prints the same numbers on an idle and on a loaded machine.  ``--time-limit``
is only a safety cap per solve (default ``settings.SOLVE_SAFETY_CAP``): a solve it stops
is a ``time_capped`` row without the solver's upper bound.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ValidationError
from ..output.files import write_text
from ._common import add_shared


def register(subparsers: Any) -> None:
    """Add the ``table`` sub-command."""
    parser = subparsers.add_parser(
        "table", help="bound tables: R(f; L) against L Rank_J, L Rank_CBN and regularity bounds",
        description="Measure R(f; Omega, L) of built-in targets over depths (or read a sweep "
                    "store) and print the bound tables as Markdown, LaTeX (booktabs), CSV or "
                    "JSON, with provenance (versions, seeds, tolerances, statuses).")
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="built-in target names (see --list); with --from, filters")
    parser.add_argument("--depths", default="1-16", metavar="SPEC",
                        help="depths, e.g. 1-16 (default), 1,2,4,8 or 1-4,8,16")
    parser.add_argument("--format", choices=("md", "tex", "csv", "json"), default="md",
                        help="output format (default md)")
    parser.add_argument("--from", dest="store", metavar="STORE.sqlite", default=None,
                        help="render the done rows of a sweep store instead of solving")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="write to FILE instead of standard output")
    parser.add_argument("--save-networks", metavar="DIR", default=None,
                        help="save the network behind every upper bound to "
                             "DIR/networks/<target>_L<depth>.npz and record it in the rows "
                             "(re-check them with cbn verify)")
    parser.add_argument("--quick", action="store_true",
                        help="small data and architectures (the targets' quick mode)")
    add_shared(parser, "--seed")
    parser.add_argument("--restarts", type=int, default=1,
                        help="random restarts of the numerical solver after its warm starts "
                             "from the target's constructions (default 1)")
    parser.add_argument("--max-iter", type=int, default=None, metavar="N",
                        help="L-BFGS-B iterations per restart of every solve: the budget "
                             "(default 4000 with --quick, else the solver's 50000)")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="safety cap per solve; a solve it stops is marked time_capped "
                             "(default 600)")
    add_shared(parser, "--no-progress")
    parser.add_argument("--list", action="store_true", help="list the built-in targets and exit")


def _list_targets() -> int:
    from .. import targets

    for name in targets.names():
        t = targets.get(name)
        print(f"{name:24s} {t.title}")
    return 0


def _measure(args: argparse.Namespace) -> list[Any]:
    from .. import targets
    from ..measure.tables import parse_depths
    from ..measure.tabulate import bound_table
    from ..output.progress import Progress

    if args.time_limit is not None and not args.time_limit > 0:
        raise ValidationError(f"--time-limit must be > 0 seconds; got {args.time_limit}")
    if args.max_iter is not None and not args.max_iter > 0:
        raise ValidationError(f"--max-iter must be a positive count; got {args.max_iter}")
    if not args.targets:
        raise ValidationError("cbn table needs at least one TARGET (or --from STORE); valid "
                              f"targets: {', '.join(targets.names())}")
    chosen = [targets.get(name) for name in args.targets]  # unknown names list the valid ones
    depths = parse_depths(args.depths)
    bar = Progress(len(chosen) * len(depths), label="table",
                   enabled=not args.no_progress)
    counts = {"done": 0, "failed": 0}

    def on_row(row: Any) -> None:
        counts["done" if row.upper is not None else "failed"] += 1
        bar.update(counts["done"], counts["failed"], 0)

    tables = []
    try:
        for target in chosen:
            tables.append(bound_table(target, depths, quick=args.quick, rng=args.seed,
                                      restarts=args.restarts, time_limit=args.time_limit,
                                      max_iter=_max_iter(args),
                                      on_row=on_row))
    finally:
        bar.close()
    return tables


def _max_iter(args: argparse.Namespace) -> int | None:
    """The iteration budget per restart: ``--max-iter``, else the quick default or None."""
    from .. import settings

    if args.max_iter is not None:
        return int(args.max_iter)
    return settings.QUICK_MAX_ITER if args.quick else None


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces these tables (recorded in the provenance)."""
    parts = ["cbn table", *args.targets, "--format", args.format]
    if args.store is not None:
        return " ".join(parts + ["--from", args.store])
    parts += ["--depths", args.depths, "--seed", str(args.seed), "--restarts", str(args.restarts)]
    if args.max_iter is not None:
        parts += ["--max-iter", str(args.max_iter)]
    if args.time_limit is not None:
        parts += ["--time-limit", f"{args.time_limit:g}"]
    return " ".join(parts + (["--quick"] if args.quick else []))


def run(args: argparse.Namespace) -> int:
    """Build the tables and print or write them; errors go to the dispatcher (exit 2)."""
    from ..measure.tables import provenance, tables_from_store
    from ..output.render import render

    if args.list:
        return _list_targets()
    command = _command(args)
    if args.store is not None:
        from ..sweep.store import read_rows

        tables = tables_from_store(read_rows(args.store, None), args.targets or None)
        if not tables:
            raise ValidationError(f"--from {args.store!r} holds no rows"
                                  + (f" for targets {args.targets}" if args.targets else ""))
        prov = provenance(source=f"sweep store {args.store}", command=command)
    else:
        tables = _measure(args)
        if args.save_networks is not None:
            from ..output.artifacts import save_networks

            tables = [save_networks(t, args.save_networks) for t in tables]
        prov = provenance(command=command, quick=args.quick, seed=args.seed,
                          restarts=args.restarts, max_iter=_max_iter(args))
    text = render(tables, args.format, prov=prov)
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
