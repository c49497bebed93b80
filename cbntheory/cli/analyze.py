"""``cbn analyze``: the frequency structure of a saved network (T5, T6 of docs/theory.md).

Usage::

    cbn analyze WEIGHTS.npz [--data X.npz] [--threshold t] [--span-rtol r]
                [--degree l1|linf] [--json]
    cbn analyze STATE.npz --pytorch d|d1,d2 [--strides s1,s2,...] [...]

``WEIGHTS.npz`` is a file written by ``Network.save``; with ``--pytorch`` it is the state
dict of a PyTorch ``nn.Sequential`` CNN saved with ``numpy.savez`` (circular Conv, ReLU,
optional average pool and Linear; :mod:`cbntheory.nets.pytorch`), on images of the given
shape.  The command prints, per layer,
the singular values of the frequency blocks ``c What_l[m]`` grouped by frequency degree
and the number above ``--threshold`` (default
:data:`cbntheory.settings.STRUCTURE_WEIGHT_THRESHOLD`), then the weight-based estimate
of the CBN rank vector.  With ``--data`` (an ``.npz`` with an array ``X``, or a single
array, of shape ``(N, n_0, *spatial)``; ``.npy`` also accepted) it adds, per layer,
the activation energy by degree and the per-frequency span dimensions (singular values
above ``--span-rtol`` times the layer's largest), and the activation-based estimate.
See ``docs/structure.md`` for how to read the report.
"""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..measure.structure import analyze_structure
from ..nets.network import Network
from ._common import add_shared, load_array, load_npz, number, show


def _load_data(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        return load_array(path, "--data")
    arrays = load_npz(path, "--data")
    for key in ("X", "x"):
        if key in arrays:
            return arrays[key]
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    raise ValidationError(f"--data must hold an array named 'X' (or exactly one array); got "
                          f"{path!r} with arrays {sorted(arrays)}")


def register(subparsers: Any) -> None:
    """Add the ``analyze`` sub-command."""
    parser = subparsers.add_parser(
        "analyze", help="frequency structure of a saved network (weights, activations, CBN rank)",
        description="Singular values of every frequency block of every layer, optional "
                    "activation energy and span dimensions per frequency on data, and an "
                    "estimate of the CBN rank vector, grouped by frequency degree.")
    parser.add_argument("weights", metavar="WEIGHTS.npz", help="network file (Network.save)")
    parser.add_argument("--data", metavar="X.npz",
                        help="inputs (N, n_0, *spatial): array 'X' of an .npz, or an .npy")
    parser.add_argument("--threshold", type=number(strict=False), default=None, metavar="t",
                        help="cut on the singular values of c What_l[m] (default 0.2)")
    parser.add_argument("--span-rtol", type=number(strict=False), default=None, metavar="r",
                        help="relative span threshold for activations (default 1e-3)")
    parser.add_argument("--degree", choices=("l1", "linf"), default="l1",
                        help="2D degree: |m1|+|m2| (l1, default) or max(|m1|,|m2|)")
    parser.add_argument("--pytorch", metavar="d|d1,d2", default=None,
                        help="WEIGHTS.npz is a PyTorch Sequential state dict on images of this "
                             "shape (default: a Network.save file)")
    parser.add_argument("--strides", metavar="s1,s2,...", default=None,
                        help="with --pytorch: stride 1 or 2 of every convolution (default all 1)")
    add_shared(parser, "--json")


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError:
        raise ValidationError(f"{name} must be comma-separated integers; got {text!r}") from None


def _network(args: argparse.Namespace) -> Network:
    """The network of ``WEIGHTS.npz``: a Network.save file, or a PyTorch state dict."""
    if args.pytorch is None:
        if args.strides is not None:
            raise ValidationError("--strides needs --pytorch")
        return Network.load(args.weights)
    from ..nets.pytorch import from_state_dict

    strides = None if args.strides is None else _ints(args.strides, "--strides")
    return from_state_dict(load_npz(args.weights, "WEIGHTS"), _ints(args.pytorch, "--pytorch"),
                           strides=strides)


def run(args: argparse.Namespace) -> int:
    """Load, analyse and print; errors propagate to the dispatcher (one line, exit 2)."""
    net = _network(args)
    data = None if args.data is None else _load_data(args.data)
    report = analyze_structure(net, data, weight_threshold=args.threshold,
                               span_rtol=args.span_rtol)
    return show(args.json, {"file": args.weights, **report.as_dict()},
                lambda: print(f"file: {args.weights}\n{report.render(args.degree)}"))
