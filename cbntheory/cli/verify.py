"""``cbn verify``: re-check table rows from their saved networks.

Usage::

    cbn verify TABLE.json [--target NAME] [--depth L] [--root DIR] [--json]

``TABLE.json`` is a JSON table of ``cbn report`` (``DIR/tables/<target>.json``, networks in
``DIR/networks/``) or of ``cbn table --format json --save-networks DIR``.  Every row with a
saved network (or the row of ``--target``/``--depth``) is re-checked without the solver:
the network file is loaded, the data are regenerated from the target and the table's mode,
a direct forward pass (convolutions summed in pixel space, not the FFT engine) gives the
residual, the norm is recomputed from the weights, and both are compared with the row
(:func:`cbntheory.output.artifacts.verify_rows`).  Exit status 0 when every row checked
verifies, 1 when one fails, 2 for a bad file or option.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from ..output.files import to_plain
from ._common import add_shared


def register(subparsers: Any) -> None:
    """Add the ``verify`` sub-command."""
    parser = subparsers.add_parser(
        "verify", help="re-check table rows from their saved networks (independent forward pass)",
        description="Re-check the rows of a JSON bound table from the networks saved with it: "
                    "regenerate the data, run each network by a direct forward pass, "
                    "recompute its norm and compare both with the row.")
    parser.add_argument("table", metavar="TABLE.json",
                        help="a JSON table of cbn report (DIR/tables/<target>.json) or of "
                             "cbn table --format json --save-networks DIR")
    parser.add_argument("--target", default=None, help="only the rows of this target")
    parser.add_argument("--depth", type=int, default=None, help="only the row of this depth")
    parser.add_argument("--root", default=None, metavar="DIR",
                        help="directory the rows' network files are relative to (default: "
                             "next to the table, or one folder up)")
    add_shared(parser, "--json")


def run(args: argparse.Namespace) -> int:
    """Print one verdict per row; 0 when all verify, 1 otherwise."""
    from ..output.artifacts import verify_rows

    checks = verify_rows(args.table, target=args.target, depth=args.depth, root=args.root)
    if args.json:
        plain = to_plain([dataclasses.asdict(c) for c in checks])
        sys.stdout.write(json.dumps(plain, indent=1) + "\n")
    else:
        for check in checks:
            print(check.describe())
    failed = sum(c.verdict != "verified" for c in checks)
    print(f"{len(checks) - failed} of {len(checks)} row(s) verified", file=sys.stderr)
    return 1 if failed else 0
