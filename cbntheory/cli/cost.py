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
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import ValidationError
from ..operators import ConvOperator
from ..theory.linear import LinearCost, linear_cost
from ._common import add_shared, load_array, show


def _band_limited() -> np.ndarray:
    d = 16
    p = np.arange(d)
    signal = 1.0 + np.cos(2 * np.pi * p / d) + 0.5 * np.cos(4 * np.pi * p / d)
    return signal.reshape(1, 1, d)


def _low_rank_mixer() -> np.ndarray:
    d = 8
    p1, p2 = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    # multiplier 1 at m = 0 and 1/2 at (+-1, 0), (0, +-1) (c = 1/sqrt(64) = 1/8)
    smooth = (1.0 + np.cos(2 * np.pi * p1 / d) + np.cos(2 * np.pi * p2 / d)) / d
    # a fixed rank-2 mixing matrix between 4 channels
    left = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
    right = np.array([[1.0, 2.0, 0.0, -1.0], [0.0, 1.0, 1.0, 1.0]])
    return np.einsum("oi,xy->oixy", left @ right, smooth)


def _gaussian_blur() -> np.ndarray:
    d, sigma = 8, 1.0
    wrapped = np.minimum(np.arange(d), d - np.arange(d))
    r2 = wrapped[:, None] ** 2 + wrapped[None, :] ** 2
    blur = np.exp(-r2 / (2 * sigma ** 2))
    return (np.sqrt(d * d) * blur / blur.sum()).reshape(1, 1, d, d)


#: Built-in kernels: name -> (one-line description, builder).
EXAMPLES: dict[str, tuple[str, Callable[[], np.ndarray]]] = {
    "band-limited": (
        ("1D single-channel filter on 16 pixels, 1 + cos(2 pi p/16) + 0.5 cos(4 pi p/16): it keeps "
         "the constant and the frequencies +-1, +-2 (CBN rank 5)"), _band_limited),
    "low-rank-mixer": (
        ("2D 8x8, 4 -> 4 channels: a fixed rank-2 channel mixer times a smooth filter that keeps "
         "the constant and the four degree-1 frequencies (CBN rank 2 x 5 = 10)"), _low_rank_mixer),
    "gaussian-blur": (
        ("2D 8x8 single-channel periodic Gaussian blur (sigma = 1 pixel, unit gain): full rank 64, "
         "tiny high-frequency multipliers make R1 very negative"), _gaussian_blur),
}


def _example_help() -> str:
    lines = ["built-in examples (--example NAME):"]
    for name, (text, _) in EXAMPLES.items():
        lines.append(f"  {name}")
        lines += textwrap.wrap(text, width=78, initial_indent="      ",
                               subsequent_indent="      ")
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
    parser.add_argument("--example", choices=sorted(EXAMPLES), default=None,
                        help="use a built-in kernel instead of a file (see below)")
    parser.add_argument("--depth", "-L", type=_depth_list, required=True, metavar="L",
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
        text, build = EXAMPLES[args.example]
        return build(), f"example {args.example!r}: {text}"
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
