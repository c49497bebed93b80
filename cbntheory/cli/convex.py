"""``cbn convex``: exact minimal norm of a two-layer ReLU CNN on finite data (convex program).

Usage::

    cbn convex DATA.npz [--kernel-size K] [--no-bias | --free-bias]
                        [--patterns enumerate|sample] [--n-patterns P] [--seed S]
                        [--solver NAME] [--max-patterns M] [--out NET.npz] [--json]

``DATA.npz`` holds ``X`` of shape ``(N, n_0, d)`` or ``(N, n_0, d1, d2)`` and ``Y`` of
shape ``(N, n_out)`` (or ``(N,)``).  The architecture is the two-layer CNN with the
average-pool head: ``x -> V mean_p relu(c W * x + b)[p] + b_out``.  The command prints
the minimal parameter norm over any number of hidden channels, the certified lower bound,
the number of activation patterns and how they were obtained.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import settings
from ..errors import CBNError, ValidationError
from ..nets.architecture import Architecture
from ..results import NormResult
from ..solvers.convex.program import two_layer_min_norm
from ._common import add_shared, announce, fmt_number, load_npz, output_file, show


def _kernel_size(text: str | None, ndim: int) -> tuple[int, ...] | None:
    if text is None or text == "full":
        return None
    try:
        parts = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise ValidationError(f"--kernel-size must be 'full', an int K or 'K1,K2'; got {text!r}"
                              ) from None
    return parts * ndim if len(parts) == 1 else parts


def register(subparsers: Any) -> None:
    """Add the ``convex`` sub-command to the ``cbn`` parser."""
    parser = subparsers.add_parser(
        "convex", help="exact min-norm two-layer ReLU CNN on finite data (convex program)",
        description="Minimal parameter norm sum ||W||^2 + ||V||^2 (+ biases if penalised) of a "
                    "two-layer ReLU CNN with the average-pool head that interpolates the data, "
                    "over any number of hidden channels, by the convex group-lasso program over "
                    "activation patterns (Pilanci & Ergen 2020, Ergen & Pilanci 2021).",
    )
    parser.add_argument("data", metavar="DATA.npz",
                        help="archive with X (N, n_0, *spatial) and Y (N, n_out) or (N,)")
    parser.add_argument("--kernel-size", default=None, metavar="K",
                        help="window of taps: K, 'K1,K2' in 2D, or 'full' (default: full-size)")
    bias = parser.add_mutually_exclusive_group()
    bias.add_argument("--no-bias", action="store_true", help="no biases at all")
    bias.add_argument("--free-bias", action="store_true",
                      help="biases present but not counted in the norm (default: penalised)")
    add_shared(parser, "--normalization")
    parser.add_argument("--hidden", type=int, default=1, metavar="N1",
                        help="n_1 of the architecture, only reported against the width "
                             "the solution uses (default 1)")
    parser.add_argument("--patterns", choices=("enumerate", "sample"), default="enumerate",
                        help="enumerate every activation pattern (exact, default) or sample")
    parser.add_argument("--n-patterns", type=int, default=None, metavar="P",
                        help="random neurons drawn with --patterns sample (default 20 N)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling (default 0)")
    parser.add_argument("--solver", default=None, metavar="NAME",
                        help="conic solver (CLARABEL, SCS); default CLARABEL then SCS")
    parser.add_argument("--max-patterns", type=int, default=None, metavar="M",
                        help="refuse to enumerate more patterns than this (default "
                             f"{settings.MAX_PATTERNS})")
    parser.add_argument("--out", default=None, metavar="NET.npz",
                        help="save the minimal-norm network (default: not saved)")
    parser.add_argument("--save-network", default=None, metavar="NET.npz",
                        help=argparse.SUPPRESS)  # the old spelling of --out (deprecated)
    add_shared(parser, "--json")


def summary(result: NormResult, arch: Architecture) -> dict[str, Any]:
    """Plain-data form of the result for the CLI and JSON."""
    info = result.info
    pat = info.get("patterns", {})
    out = result.summary()
    out.update({
        "architecture": arch.to_dict(),
        "patterns": {k: pat.get(k) for k in ("method", "count", "draws", "generic_count")},
        "completeness": pat.get("certificate"),
        "hyperplanes": info.get("hyperplanes"),
        "hidden_channels": info.get("hidden_channels"),
        "relative_gap": info.get("relative_gap"),
        "solvers_tried": info.get("solvers_tried"),
    })
    return out


def _print_text(s: dict[str, Any]) -> None:
    a = s["architecture"]
    print(f"architecture: channels {a['channels']}, spatial {a['spatial_shape']}, kernel_size "
          f"{a['kernel_size'] or 'full'}, bias {a['bias']}, penalize_bias {a['penalize_bias']}")
    print(f"minimal norm      = {s['value']:.10g}   (status {s['status']}, exact {s['exact']})")
    print(f"certified lower   = {fmt_number(s['lower'])}   (relative gap {s['relative_gap']:.3g})")
    p = s["patterns"]
    how = "enumerated" if p["method"] != "sample" else f"sampled from {p['draws']} neurons"
    print(f"patterns          = {p['count']} {how}, {s['hyperplanes']} distinct hyperplanes")
    if s["completeness"] is not None:
        c = s["completeness"]
        print(f"completeness      = {'certified' if c['complete'] else 'NOT certified'} "
              f"({c['walls_checked']} wall crossings checked, {c['missing']} missing)")
    print(f"hidden channels   = {s['hidden_channels']}, fit residual {s['residual']:.3g}, "
          f"{s['wall_time']:.2f} s")
    print(f"message: {s['message']}")


#: Python spellings in library messages -> the options of ``cbn convex``.
_CLI_WORDS = (("patterns='sample'", "--patterns sample"),
              ('patterns="sample"', "--patterns sample"),
              ("n_patterns=", "--n-patterns "), ("n_patterns", "--n-patterns"),
              ("max_patterns", "--max-patterns"))


def cli_words(message: str) -> str:
    """A library message with its keyword-argument spellings turned into CLI options.

    Examples
    --------
    >>> cli_words("use patterns='sample' with n_patterns=200 or raise max_patterns")
    'use --patterns sample with --n-patterns 200 or raise --max-patterns'
    """
    for python, cli in _CLI_WORDS:
        message = message.replace(python, cli)
    return message


def _out_path(args: argparse.Namespace) -> str | None:
    """``--out``, or the deprecated ``--save-network`` with a note on standard error."""
    if args.save_network is not None:
        if args.out is not None:
            raise ValidationError("give --out only (--save-network is its old spelling)")
        print("cbn convex: --save-network is deprecated; use --out", file=sys.stderr)
        return str(args.save_network)
    return None if args.out is None else str(args.out)


def run(args: argparse.Namespace) -> int:
    """Solve and print; errors propagate to the dispatcher (one line, exit 2)."""
    flag = "--save-network" if args.save_network is not None else "--out"
    save_to = output_file(_out_path(args), flag, suffix=".npz")  # checked before solving
    data = load_npz(args.data, "DATA")
    missing = [k for k in ("X", "Y") if k not in data]
    if missing:
        raise ValidationError(f"DATA must contain arrays 'X' and 'Y'; got keys {sorted(data)}")
    X, Y = data["X"], data["Y"]
    if X.ndim not in (3, 4):
        raise ValidationError(f"X must have shape (N, n_0, d) or (N, n_0, d1, d2); got {X.shape}")
    n_out = 1 if Y.ndim == 1 else Y.shape[-1]
    arch = Architecture(tuple(X.shape[2:]), (X.shape[1], args.hidden, n_out),
                        kernel_size=_kernel_size(args.kernel_size, X.ndim - 2), head="avgpool",
                        bias=not args.no_bias, penalize_bias=not args.free_bias,
                        normalization=args.normalization)
    announce("convex", f"{'enumerating' if args.patterns == 'enumerate' else 'sampling'} "
                       "activation patterns and solving the convex program")
    try:
        result = two_layer_min_norm(arch, X, Y, patterns=args.patterns,
                                    n_patterns=args.n_patterns, solver=args.solver,
                                    max_patterns=args.max_patterns, rng=args.seed)
    except CBNError as exc:  # the library speaks Python; the command line speaks options
        exc.args = (cli_words(str(exc)),)
        raise
    s = summary(result, arch)
    if save_to is not None and result.network is not None:
        s["saved"] = str(result.network.save(save_to))
    elif save_to is not None:
        s["saved"] = None
        print(f"cbn convex: note: no verified network to save (status {result.status})",
              file=sys.stderr)
    return show(args.json, s, lambda: _print_text(s))
