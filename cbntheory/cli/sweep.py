"""``cbn sweep``: run a sweep file into an SQLite store, resumably, locally or on Dask.

Exit status: 0 when every job of the file is done, 1 when some are stored as failed
(or still held by another sweep), 2 on bad input, 130 when interrupted (Ctrl-C or
SIGTERM; finished rows are kept, jobs in flight return to pending).  See
``docs/sweeps.md``.
"""
from __future__ import annotations

import argparse
import re
import signal
import sqlite3
import sys
import time
from typing import Any

from .. import _validate as V
from ..errors import ValidationError
from ._common import add_shared


def register(subparsers: Any) -> None:
    """Add the ``sweep`` sub-command."""
    p = subparsers.add_parser(
        "sweep", help="run a resumable sweep (TOML file) into an SQLite store",
        description="Run every job of CONFIG.toml that the store does not hold yet, on a "
                    "local process pool or a Dask cluster, committing each result as it "
                    "finishes.  Re-running the same command resumes.")
    p.add_argument("config", nargs="?", metavar="CONFIG.toml",
                   help="sweep file (optional with --status)")
    p.add_argument("--store", required=True, metavar="FILE.sqlite",
                   help="SQLite store (created if missing; other files are refused)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: number of cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address (e.g. tcp://head:8786) instead of local workers")
    p.add_argument("--retry-failed", action="store_true",
                   help="run again the jobs stored as failed")
    p.add_argument("--status", action="store_true",
                   help="print done/failed/running/pending counts and exit")
    add_shared(p, "--no-progress")


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _status(args: argparse.Namespace) -> int:
    from ..sweep.store import StoreError, damaged

    try:
        return _print_status(args)
    except sqlite3.DatabaseError as exc:
        raise StoreError(damaged(args.store, [str(exc)])) from None


def _print_status(args: argparse.Namespace) -> int:
    from ..sweep.config import load_config
    from ..sweep.store import DONE, FAILED, PENDING, RUNNING, Store

    config = load_config(args.config) if args.config else None
    with Store(args.store, create=False) as store:
        store.check()  # a damaged file is one line, not counts read from a sound index
        scopes: list[tuple[str, list[str] | None]] = [(f"store {args.store}", None)]
        if config is not None:
            scopes.append((config.source, [j.key for j in config.jobs]))
        for label, keys in scopes:  # the whole store, then the jobs of the file
            counts = store.counts(keys)
            total = sum(counts.values()) if keys is None else len(keys)
            missing = total - sum(counts.values())  # jobs of the file not in the store yet
            print(f"{label}: {total} jobs: {counts[DONE]} done, {counts[FAILED]} failed, "
                  f"{counts[RUNNING]} running, {counts[PENDING] + missing} pending")
        now = time.time()
        for run in store.live_runs():
            print(f"live sweep on {run['host']} (pid {run['pid']}), started "
                  f"{now - run['started']:.0f} s ago, last heartbeat {now - run['heartbeat']:.0f} "
                  "s ago")
        failed = store.rows(FAILED)
        for row in failed[:5]:
            print(f"failed: {row['kind']} {row['params']} seed {row['seed']}: {row['error']}")
        if len(failed) > 5:
            print(f"... and {len(failed) - 5} more failed jobs (cbn sweep --retry-failed)")
    return 0


#: A Dask address: optional ``scheme://``, a host (name, IPv4 or [IPv6]) and optional port.
_ADDRESS = re.compile(r"^([a-z][a-z0-9+.-]*://)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?/?$")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``cbn sweep``."""
    if args.status:
        return _status(args)
    if args.config is None:
        raise ValidationError("CONFIG.toml must be given (it may be omitted only with --status)")
    if args.workers is not None:
        V.positive_int("--workers", args.workers)
        if args.scheduler:
            raise ValidationError("--workers must not be combined with --scheduler (the "
                                  "cluster's workers run the jobs); drop one of them")
    if args.scheduler is not None and not _ADDRESS.match(args.scheduler):
        raise ValidationError("--scheduler must be a Dask scheduler address such as "
                              f"tcp://host:8786 or host:8786; got {args.scheduler!r}")
    from ..sweep.config import describe, load_config
    from ..sweep.executor import make_executor
    from ..sweep.runner import run_sweep
    from ..sweep.store import Store, StoreError

    config = load_config(args.config)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # batch systems stop jobs with SIGTERM
    try:
        # the scheduler first: an unreachable one fails fast and leaves no store behind
        with make_executor(args.workers, args.scheduler) as ex, Store(args.store) as store:
            store.check()  # never add results to a damaged file
            print(f"{describe(config)}; store {args.store}; {ex.description}", file=sys.stderr)
            summary = run_sweep(config, store, ex, retry_failed=args.retry_failed,
                                progress=not args.no_progress)
    except sqlite3.Error as exc:  # e.g. disk full, or locked longer than the busy timeout
        raise StoreError(f"store {args.store}: {exc} (finished rows are kept; rerun to "
                         "resume)") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(summary.describe())
    if summary.interrupted:
        return 130
    return 0 if summary.done == summary.total else 1
