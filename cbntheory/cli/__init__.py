"""The ``cbn`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser, and ``run(args) -> int``, which
:func:`build_parser` sets as the parser's ``func``.  Errors raised by cbntheory (or bad
files) are printed as one line on stderr with a non-zero exit status, never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Sub-command modules, in the order ``cbn --help`` lists them.
COMMANDS: tuple[str, ...] = ("cost", "analyze", "fit", "sweep", "table", "convex", "check",
                             "report", "verify")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="cbn",
        description="Minimal parameter norms of CNNs against depth x CBN rank bounds.",
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"cbn (cbntheory) {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
        sub.choices[name].set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``cbn`` command; returns the exit status."""
    from ..errors import CBNError
    from ..output.progress import interrupt_handlers, interrupt_requested

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with interrupt_handlers():
            status = int(args.func(args) or 0)
            # a solve that caught the Ctrl-C returned what it had: printed, still 130
            return 130 if interrupt_requested() else status
    except BrokenPipeError:
        # The reader went away (``cbn ... | head``): not an error of ours.  Point stdout at
        # devnull so that the interpreter's final flush does not complain again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CBNError, ValueError, OSError) as exc:
        print(f"cbn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cbn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
