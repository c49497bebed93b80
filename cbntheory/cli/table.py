"""``cbn table``: bound tables of built-in targets, or of the rows of a sweep store.

Usage::

    cbn table TARGET... [--depths 1-16] [--format md|tex|csv|json] [--out FILE]
              [--quick] [--seed S] [--restarts K] [--max-iter N] [--time-limit SECONDS]
              [--epsilon EPS] [--open-set] [--save-networks DIR] [--no-progress]
    cbn table [TARGET...] --from STORE.sqlite [--format ...] [--out FILE] [--save-networks DIR]
    cbn table --data DATA.npz [--activation relu|linear] [--no-bias | --free-bias]
              [--head avgpool] [--width N] [--normalization operator|plain] [--name NAME]
              [--depths ...] [...]
    cbn table --kernel KERNEL.npy [--normalization operator|plain] [--depths ...] [...]

For every target (``cbn table --list`` names them) and depth, the certified interval
``[lower, upper]`` of ``R(f; Omega, L)`` with its status, ``R/L``, ``L Rank_J``,
``L Rank_CBN``, ``R - L R0`` against the T2/T4 regularity bound (T1's ``R1 + R2/L``
for linear targets), and the fitted slope of ``R`` against ``L`` next to ``Rank_J``
and ``Rank_CBN``; see ``docs/report.md`` for the columns and formats.  With
``--from``, the tables come from a sweep store (``cbn sweep``) instead of new solves;
TARGETs then select groups by their ``target`` parameter.  ``bound_row`` jobs give the
same rows as a direct run with the same seed and options, and ``--save-networks`` then
writes the networks the store holds, for ``cbn verify``.  ``--data (arrays ``X`` and
``Y`` as for ``cbn fit``) and ``--kernel`` (one array ``(C_out, C_in, *spatial)``) tabulate
one's own target (:meth:`cbntheory.targets.Target.from_data`,
:meth:`~cbntheory.targets.Target.from_operator`); a kernel's table is T1's closed form.

Every solve is bounded by ``--max-iter`` L-BFGS-B iterations per restart (default
``settings.QUICK_MAX_ITER`` with ``--quick``, else the solver's ``AL_MAX_ITER``), so the
same seed prints the same numbers on an idle and on a loaded machine.  ``--time-limit``
is only a safety cap per solve (default ``settings.SOLVE_SAFETY_CAP``): a solve it stops
is a ``time_capped`` row without the solver's upper bound.

The object is exact interpolation ``R(f; Omega, L)``; ``--epsilon EPS`` asks for ``R_eps``
instead (networks within the relative residual ``EPS`` of the data), and then every bound
of the table is one of that object (the tables say which).

``--out FILE`` names a file (its directory is created if missing; an existing directory
is refused), checked before any solve; ``--save-networks DIR`` names a directory, created
if missing.  Ctrl-C (or SIGTERM) stops the command within about a second: the tables of the
targets already finished are written, then the finished rows of the target in progress
under an "interrupted" heading (the interrupted solve is not a row), and the exit status
is 130.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ValidationError
from ..output.files import write_text
from ._common import add_shared, output_dir, output_file


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
    parser.add_argument("--epsilon", type=float, default=None, metavar="EPS",
                        help="tabulate R_eps, the least norm of networks within the relative "
                             "residual EPS of the data, instead of exact interpolation "
                             "(default: exact); data targets only")
    parser.add_argument("--open-set", action="store_true",
                        help="add the open-set variant's T2 value (networks must match the "
                             "target's Jacobians too) as its own column, conditional on that "
                             "assumption and never part of [lower, upper] (issue 15)")
    add_shared(parser, "--no-progress")
    parser.add_argument("--list", action="store_true", help="list the built-in targets and exit")
    _register_custom(parser)


def _register_custom(parser: argparse.ArgumentParser) -> None:
    """Options that tabulate one's own target instead of built-in ones."""
    group = parser.add_argument_group("one's own target (instead of TARGET names)")
    group.add_argument("--data", metavar="DATA.npz", default=None,
                       help="arrays X (N, n_0, *spatial) and Y (N, n_L, *spatial), or (N, n_L) "
                            "with --head avgpool: the data target (X[i], Y[i])")
    group.add_argument("--kernel", metavar="KERNEL.npy", default=None,
                       help="a convolution kernel (C_out, C_in, *spatial): the exact T1 table")
    group.add_argument("--activation", choices=("relu", "linear"), default="relu",
                       help="with --data: network family (default relu)")
    group.add_argument("--no-bias", action="store_true",
                       help="with --data: networks without biases (default: penalised biases)")
    group.add_argument("--free-bias", action="store_true",
                       help="with --data: biases not counted in the norm (default: penalised)")
    group.add_argument("--head", choices=("avgpool",), default=None,
                       help="with --data: average pool and a dense layer at the end "
                            "(default none)")
    group.add_argument("--width", type=int, default=4, metavar="N",
                       help="with --data: hidden width of every layer (default 4)")
    group.add_argument("--name", default=None,
                       help="name of the target in the table (default: the file's stem)")
    add_shared(group, "--normalization")  # type: ignore[arg-type]


def _custom_target(args: argparse.Namespace) -> Any:
    """The Target of ``--data`` or ``--kernel``, or None when neither is given."""
    from pathlib import Path

    from ..targets import Target
    from ._common import load_array, load_npz

    if args.data is None:
        used = [flag for flag, on in (("--activation", args.activation != "relu"),
                                      ("--no-bias", args.no_bias),
                                      ("--free-bias", args.free_bias),
                                      ("--head", args.head is not None),
                                      ("--width", args.width != 4)) if on]
        if used:
            raise ValidationError(f"{', '.join(used)} apply to --data only (built-in targets "
                                  "have their own architectures)")
    if args.data is None and args.kernel is None:
        if args.name is not None or args.normalization != "operator":
            raise ValidationError("--name and --normalization apply to --data and --kernel only")
        return None
    if args.data is not None and args.kernel is not None:
        raise ValidationError("give at most one of --data and --kernel")
    if args.targets or args.store is not None:
        raise ValidationError("--data and --kernel tabulate one target: give no TARGET names "
                              "and no --from")
    if args.no_bias and args.free_bias:
        raise ValidationError("--free-bias must not be combined with --no-bias")
    if args.kernel is not None:
        kernel = load_array(args.kernel, "--kernel")
        return Target.from_operator(kernel, name=args.name or Path(args.kernel).stem,
                                    normalization=args.normalization)
    arrays = load_npz(args.data, "--data")
    missing = [k for k in ("X", "Y") if k not in arrays]
    if missing:
        raise ValidationError(f"--data must hold arrays named 'X' and 'Y'; {args.data!r} has "
                              f"{sorted(arrays)}")
    bias = "none" if args.no_bias else "free" if args.free_bias else "penalised"
    return Target.from_data(arrays["X"], arrays["Y"], name=args.name or Path(args.data).stem,
                            activation=args.activation, bias=bias, head=args.head,
                            width=args.width, normalization=args.normalization)


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
    from ..output.progress import Progress, check_interrupt

    if args.time_limit is not None and not args.time_limit > 0:
        raise ValidationError(f"--time-limit must be > 0 seconds; got {args.time_limit}")
    if args.max_iter is not None and not args.max_iter > 0:
        raise ValidationError(f"--max-iter must be a positive count; got {args.max_iter}")
    own = _custom_target(args)
    if not args.targets and own is None:
        raise ValidationError("cbn table needs at least one TARGET (or --from STORE, --data, "
                              f"--kernel); valid targets: {', '.join(targets.names())}")
    # unknown names list the valid ones
    chosen = [own] if own is not None else [targets.get(name) for name in args.targets]
    depths = parse_depths(args.depths)
    bar = Progress(len(chosen) * len(depths), label="table",
                   enabled=not args.no_progress)
    counts = {"done": 0, "failed": 0}
    partial: list[Any] = []
    # a first line at once, also when stderr is a log file (later lines every tenth)
    bar.update(0, 0, 1, note=f"solving {chosen[0].name} at L = {depths[0]}")

    def on_row(row: Any) -> None:
        # the solve behind a row that ends after an interruption was cut short: not a row
        check_interrupt()
        partial.append(row)
        counts["done" if row.upper is not None else "failed"] += 1
        bar.update(counts["done"], counts["failed"], 0,
                   note=f"last: L = {row.depth} {row.status}")

    tables = []
    try:
        for target in chosen:
            partial.clear()
            tables.append(bound_table(target, depths, quick=args.quick, rng=args.seed,
                                      restarts=args.restarts, time_limit=args.time_limit,
                                      max_iter=_max_iter(args),
                                      on_row=on_row, epsilon=args.epsilon,
                                      open_set=args.open_set))
    except KeyboardInterrupt:
        raise _Interrupted(tables, chosen[len(tables)].name, list(partial)) from None
    finally:
        bar.close()
    return tables


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C during the solves: the finished tables and rows, for writing before exit."""

    def __init__(self, tables: list[Any], target: str, rows: list[Any]) -> None:
        super().__init__()
        self.tables, self.target, self.rows = tables, target, rows

    def tail(self) -> str:
        """The finished rows of the interrupted target, one line each (plain text)."""
        lines = ["", f"## interrupted: {self.target}", "",
                 "Ctrl-C or SIGTERM stopped the run; the solve in progress was discarded. "
                 "Finished rows of this target:", ""]
        for r in self.rows:
            lines.append(f"- L = {r.depth}: lower {_fmt(r.lower)}, upper {_fmt(r.upper)}, "
                         f"status {r.status}")
        if not self.rows:
            lines.append("- (none)")
        return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.10g}"


def _max_iter(args: argparse.Namespace) -> int | None:
    """The iteration budget per restart: ``--max-iter``, else the quick default or None."""
    from .. import settings

    if args.max_iter is not None:
        return int(args.max_iter)
    return settings.QUICK_MAX_ITER if args.quick else None


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces these tables (recorded in the provenance)."""
    parts = ["cbn table", *args.targets, "--format", args.format]
    if args.kernel is not None:
        parts += ["--kernel", args.kernel, "--normalization", args.normalization]
    if args.data is not None:
        parts += ["--data", args.data, "--activation", args.activation, "--width",
                  str(args.width), "--normalization", args.normalization]
        parts += ["--head", args.head] if args.head else []
        parts += ["--no-bias"] if args.no_bias else ["--free-bias"] if args.free_bias else []
    if args.store is not None:
        return " ".join(parts + ["--from", args.store])
    parts += ["--depths", args.depths, "--seed", str(args.seed), "--restarts", str(args.restarts)]
    if args.max_iter is not None:
        parts += ["--max-iter", str(args.max_iter)]
    if args.time_limit is not None:
        parts += ["--time-limit", f"{args.time_limit:g}"]
    if args.epsilon is not None:
        parts += ["--epsilon", f"{args.epsilon:g}"]
    parts += ["--open-set"] if args.open_set else []
    return " ".join(parts + (["--quick"] if args.quick else []))


def _write_interrupted(args: argparse.Namespace, stop: _Interrupted, command: str) -> None:
    """Write the finished tables and rows of an interrupted run (never raises)."""
    from ..measure.tables import provenance
    from ..output.render import render

    try:
        prov = provenance(command=command, quick=args.quick, seed=args.seed,
                          restarts=args.restarts, max_iter=_max_iter(args))
        tables = stop.tables
        if args.save_networks is not None and tables:
            from ..output.artifacts import save_networks

            tables = [save_networks(t, args.save_networks) for t in tables]
        text = render(tables, args.format, prov=prov) if tables else ""
        if args.format == "md":
            text += stop.tail()
        else:  # tex/csv/json must stay parseable: the partial rows go to standard error
            print(stop.tail(), file=sys.stderr)
        if not text:
            return
        if args.out is None:
            sys.stdout.write(text)
        else:
            write_text(args.out, text)
            print(f"wrote {args.out} (interrupted)", file=sys.stderr)
    except Exception as exc:  # pragma: no cover - the exit must stay 130
        print(f"cbn table: could not write the finished rows: {exc}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Build the tables and print or write them; errors go to the dispatcher (exit 2)."""
    from ..measure.tables import provenance, tables_from_store
    from ..output.render import render

    if args.list:
        return _list_targets()
    args.out = output_file(args.out, "--out")  # checked before any solve
    args.save_networks = output_dir(args.save_networks, "--save-networks")
    command = _command(args)
    if args.store is not None:
        from ..sweep.store import read_rows

        rows = read_rows(args.store, None)  # checked first: a damaged store is one line
        networks = None
        if args.save_networks is not None:
            from ..sweep.kinds import stored_networks

            networks = stored_networks(args.store, rows)
        tables = tables_from_store(rows, args.targets or None, networks)
        if args.save_networks is not None:
            from ..output.artifacts import save_networks

            tables = [save_networks(t, args.save_networks) for t in tables]
        if not tables:
            raise ValidationError(f"--from {args.store!r} holds no rows"
                                  + (f" for targets {args.targets}" if args.targets else ""))
        prov = provenance(source=f"sweep store {args.store}", command=command)
    else:
        try:
            tables = _measure(args)
        except _Interrupted as stop:
            _write_interrupted(args, stop, command)
            raise KeyboardInterrupt from None
        if args.save_networks is not None:
            from ..output.artifacts import save_networks

            tables = [save_networks(t, args.save_networks) for t in tables]
        prov = provenance(command=command, quick=args.quick, seed=args.seed,
                          restarts=args.restarts, max_iter=_max_iter(args),
                          epsilon=args.epsilon)
    text = render(tables, args.format, prov=prov)
    if args.out is None:
        sys.stdout.write(text)
    else:
        write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
