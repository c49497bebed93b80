"""``cbn cost``: the exact cost of a convolution as a deep linear CNN (statement T1).

Usage::

    cbn cost KERNEL.npy --depth L [--normalization operator|plain] [--json]
    cbn cost --example NAME --depth L [--json]
    cbn cost KERNEL.npy --depth 1,2,4 [--json]       (several depths: 1,2,4 or 1-8)

``KERNEL.npy`` holds one real array of shape ``(C_out, C_in, d)`` or
``(C_out, C_in, d1, d2)``.  The command prints the minimal parameter norm
``R(A; L)``, the coefficients ``R0, R1, R2`` of its large-depth expansion, the
truncated expansion ``L R0 + R1 + R2/L`` and the CBN rank grouped by frequency degree.
With several depths it prints the coefficients once and one line ``L, R(A; L), L R0 +
R1 + R2/L`` per depth (JSON: ``{"depths": [...], "costs": [one summary per depth]}``).
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import ValidationError
from ..operators import ConvOperator
from ..theory.linear import LinearCost, linear_cost
from ._common import add_shared, load_array, show

#: Old ``--example`` spellings (before the one vocabulary): old name -> target name.
DEPRECATED_EXAMPLES = {"band-limited": "cosine_filter_1d", "low-rank-mixer": "smooth_mixer_2d",
                       "gaussian-blur": "gaussian_blur_2d"}


def _example_names() -> list[str]:
    """The built-in linear targets: the names ``cbn table`` and ``cbntheory.targets`` use."""
    from .. import targets

    return [n for n in targets.names() if targets.get(n).kind == "operator"]


def _example_help() -> str:
    from .. import targets

    lines = ["built-in examples (--example NAME): the linear targets of cbn table --list"]
    for name in _example_names():
        lines.append(f"  {name}")
        lines += textwrap.wrap(targets.get(name).title, width=78, initial_indent="      ",
                               subsequent_indent="      ")
    lines.append("deprecated spellings (still accepted, with a note on standard error):")
    lines += [f"  {old} -> {new}" for old, new in DEPRECATED_EXAMPLES.items()]
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    """Add the ``cost`` sub-command to the ``cbn`` parser."""
    parser = subparsers.add_parser(
        "cost", help="exact cost R(A; L) of a convolution as a depth-L linear CNN (T1)",
        description="Exact minimal parameter norm of a depth-L linear CNN (full-size filters, no "
                    "biases) computing the convolution KERNEL, its large-depth expansion "
                    "L R0 + R1 + R2/L and the CBN rank grouped by frequency degree.",
        epilog=_example_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kernel", nargs="?", metavar="KERNEL.npy",
                        help="real array (C_out, C_in, d) or (C_out, C_in, d1, d2)")
    parser.add_argument("--example", choices=_example_names() + list(DEPRECATED_EXAMPLES),
                        default=None, metavar="NAME",
                        help="a built-in linear target instead of a file (see below)")
    parser.add_argument("--depth", "--depths", "-L", type=_depth_list, required=True,
                        metavar="L", dest="depth",
                        help="number of layers L >= 1, or several: 1,2,4 or 1-8")
    add_shared(parser, "--normalization", "--json")


def _depth_list(text: str) -> list[int]:
    """An argparse ``type``: ``"4"``, ``"1,2,4"`` or ``"1-8"`` (checked ``>= 1`` later)."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            out += list(range(a, int(hi) + 1)) if sep and lo else [int(part)]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a depth such as 4, a list 1,2,4 or a range 1-8; got {text!r}") from None
    return out


def _load(args: argparse.Namespace) -> tuple[np.ndarray, str]:
    if (args.kernel is None) == (args.example is None):
        raise ValidationError("cbn cost needs exactly one of KERNEL.npy or --example NAME; got "
                              + ("neither" if args.kernel is None else
                                 f"both ({args.kernel!r} and {args.example!r})"))
    if args.example is not None:
        from .. import targets

        name = DEPRECATED_EXAMPLES.get(args.example, args.example)
        if name != args.example:
            print(f"cbn cost: --example {args.example} is deprecated; it is the target {name} "
                  f"(use --example {name})", file=sys.stderr)
        target = targets.get(name)
        op = target.operator()
        assert op is not None  # every name offered is a linear (operator) target
        return np.array(op.kernel), f"target {name!r}: {target.title}"
    array = load_array(args.kernel, "KERNEL")
    if not isinstance(array, np.ndarray):  # an .npz archive
        close = getattr(array, "close", None)
        if close is not None:
            close()
        raise ValidationError(f"KERNEL must be a .npy file holding one array; got {args.kernel!r} "
                              "(an .npz archive)")
    return array, f"kernel file {args.kernel}"


def summary(cost: LinearCost, operator: ConvOperator, source: str) -> dict[str, Any]:
    """Plain-data form of a :class:`~cbntheory.theory.linear.LinearCost` for the CLI and JSON."""
    L = cost.depth
    expansion = cost.expansion()
    return {
        "source": source,
        "channels": {"out": operator.out_channels, "in": operator.in_channels},
        "spatial_shape": list(operator.spatial_shape),
        "normalization": cost.normalization,
        "depth": L,
        "value": cost.value,
        "r0": cost.r0,
        "r1": cost.r1,
        "r2": cost.r2,
        "expansion": expansion,
        "expansion_error": cost.value - expansion,
        "cbn_rank_total": int(cost.cbn_rank.sum()),
        "cbn_rank_by_degree": {"l1": cost.rank_by_degree("l1"),
                               "linf": cost.rank_by_degree("linf")},
        "cbn_rank": cost.cbn_rank,
        "zero_tol": cost.zero_tol,
    }


def _print_text(info: dict[str, Any], cost: LinearCost, ndim: int) -> None:
    L = info["depth"]
    shape = "x".join(str(s) for s in info["spatial_shape"])
    print(f"source: {info['source']}")
    print(f"operator: {info['channels']['in']} -> {info['channels']['out']} channels on "
          f"{shape} pixels, normalization {info['normalization']}, depth L = {L}")
    print(f"R(A; L)             = {info['value']:.10g}   (minimal sum_l ||W_l||_F^2)")
    print(f"R0                  = {info['r0']:.10g}   (sum of ranks of the frequency blocks)")
    print(f"R1                  = {info['r1']:.10g}   (2 x log pseudo-determinant)")
    print(f"R2                  = {info['r2']:.10g}   (2 x sum of squared log singular values)")
    print(f"L R0 + R1 + R2/L    = {info['expansion']:.10g}   "
          f"(R minus this: {info['expansion_error']:.3g})")
    print(f"CBN rank            = {info['cbn_rank_total']}")
    if ndim == 1:
        print(f"  by degree |m|     : {cost.describe('l1')}")
    else:
        print(f"  by |m1|+|m2|      : {cost.describe('l1')}")
        print(f"  by max(|m1|,|m2|) : {cost.describe('linf')}")


def _print_depths(infos: list[dict[str, Any]], cost: LinearCost, ndim: int) -> None:
    """The text form for several depths: the coefficients once, then one line per depth."""
    first = infos[0]
    shape = "x".join(str(s) for s in first["spatial_shape"])
    print(f"source: {first['source']}")
    print(f"operator: {first['channels']['in']} -> {first['channels']['out']} channels on "
          f"{shape} pixels, normalization {first['normalization']}")
    print(f"R0 = {first['r0']:.10g}, R1 = {first['r1']:.10g}, R2 = {first['r2']:.10g}; "
          f"CBN rank {first['cbn_rank_total']} ({cost.describe('l1')})")
    print(f"{'L':>4}  {'R(A; L)':>18}  {'L R0 + R1 + R2/L':>18}  {'R / L':>12}")
    for info in infos:
        L = info["depth"]
        print(f"{L:>4}  {info['value']:>18.10g}  {info['expansion']:>18.10g}  "
              f"{info['value'] / L:>12.6g}")


def run(args: argparse.Namespace) -> int:
    """Compute and print the cost; errors propagate to the dispatcher (one line, exit 2)."""
    depths = sorted({V.positive_int("depth", L) for L in args.depth})
    kernel, source = _load(args)
    operator = ConvOperator.from_kernel(kernel, args.normalization)
    costs = [linear_cost(operator, L) for L in depths]
    infos = [summary(cost, operator, source) for cost in costs]
    if len(infos) == 1:
        return show(args.json, infos[0], lambda: _print_text(infos[0], costs[0], operator.ndim))
    return show(args.json, {"depths": depths, "costs": infos},
                lambda: _print_depths(infos, costs[0], operator.ndim))
