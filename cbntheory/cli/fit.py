"""``cbn fit``: a small-norm network that reproduces data from an ``.npz`` file.

Usage::

    cbn fit DATA.npz --channels 1,8,8,1 [--kernel-size k] [--activation relu|linear]
            [--no-bias] [--free-bias] [--normalization operator|plain] [--head avgpool]
            [--restarts R] [--seed S] [--tol t] [--time-limit SEC] [--max-iter N]
            [--target NET.npz [--assume-open-set]] [--out NET.npz] [--json]

``DATA.npz`` holds the inputs ``X`` of shape ``(N, n_0, *spatial)`` (the spatial shape of
the architecture is read from it) and the outputs ``Y`` of shape ``(N, n_L, *spatial)``
(``(N, n_L)`` with ``--head avgpool``).  With ``--target NET.npz`` (a file written by
``Network.save``) ``Y`` may be omitted: it is the target's output on ``X``.  The command
runs :func:`cbntheory.minimal_norm` and prints the status, the upper bound (the norm of a
network verified to reproduce the data to ``--tol``), the certified lower bound and one
line per restart; ``--out`` saves the network.  When no restart reproduced the data the
closest network is saved instead and the output says it is not verified.  Ctrl-C stops
the solve and keeps the best verified network found so far.

Exit status: 0 for a verified network, 1 when none was found, 2 for bad input.
"""
from __future__ import annotations

import argparse
import warnings
from typing import Any

import numpy as np

from .. import settings
from ..errors import InaccurateSolutionWarning, ValidationError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..results import VERIFIED, NormResult
from ..solvers.dispatch import minimal_norm
from ._common import (
    add_shared,
    announce,
    fmt_number,
    load_npz,
    number,
    output_file,
    print_json,
)


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers; got {text!r}") \
            from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"must be positive integers; got {text!r}")
    return values


def register(subparsers: Any) -> None:
    """Add the ``fit`` sub-command."""
    parser = subparsers.add_parser(
        "fit", help="minimal-norm network reproducing data (X, Y) from an .npz file",
        description="Fit a network of the given widths to the data at (locally) minimal "
                    "parameter norm and report the certified interval [lower, upper].")
    parser.add_argument("data", metavar="DATA.npz", help="arrays X (N, n_0, *spatial) and Y")
    parser.add_argument("--channels", type=_ints, required=True, metavar="n0,...,nL",
                        help="widths, e.g. 1,8,8,1 (depth = number of entries - 1)")
    parser.add_argument("--kernel-size", type=_ints, default=None, metavar="k",
                        help="filter taps per axis (k, or k1,k2 in 2D); default full-size")
    parser.add_argument("--activation", choices=("relu", "linear"), default="relu",
                        help="nonlinearity after every layer but the last (default relu)")
    parser.add_argument("--no-bias", action="store_true", help="networks without biases")
    parser.add_argument("--free-bias", action="store_true",
                        help="biases not counted in the norm (default: penalised)")
    add_shared(parser, "--normalization")
    parser.add_argument("--head", choices=("avgpool",), default=None,
                        help="average pool and a dense layer at the end (default: none)")
    parser.add_argument("--restarts", type=int, default=1, metavar="R",
                        help="random starts of the numerical solver (default 1)")
    add_shared(parser, "--seed")
    parser.add_argument("--tol", type=number(strict=True), default=None, metavar="t",
                        help="relative residual to reach (default "
                             f"{settings.FIT_RTOL:g})")
    parser.add_argument("--time-limit", type=number(strict=True), default=None, metavar="SEC",
                        help="safety cap in seconds on all restarts together (default: no "
                             "overall cap; each restart stops after "
                             f"{settings.RELU_TIME_LIMIT:g} s)")
    parser.add_argument("--max-iter", type=int, default=None, metavar="N",
                        help="L-BFGS-B iterations per restart: the budget (default "
                             f"{settings.AL_MAX_ITER})")
    parser.add_argument("--target", metavar="NET.npz", default=None,
                        help="target network (Network.save); Y defaults to its outputs on X")
    parser.add_argument("--assume-open-set", action="store_true",
                        help="with --target: also report the T2 bound conditional on the "
                             "network having to equal the target on an open set")
    parser.add_argument("--out", metavar="NET.npz", default=None,
                        help="save the network (default: not saved)")
    add_shared(parser, "--json")


def _architecture(args: argparse.Namespace, X: np.ndarray) -> Architecture:
    if X.ndim not in (3, 4):
        raise ValidationError(f"X must have shape (N, n_0, d) or (N, n_0, d1, d2); got an array "
                              f"of shape {X.shape}")
    if args.no_bias and args.free_bias:
        raise ValidationError("--free-bias must not be combined with --no-bias")
    ks = args.kernel_size
    if ks is not None and len(ks) == 1:
        ks = ks[0]
    return Architecture(tuple(X.shape[2:]), args.channels, kernel_size=ks,
                        activation=args.activation, bias=not args.no_bias,
                        penalize_bias=not args.free_bias, normalization=args.normalization,
                        head=args.head)


def _solve(args: argparse.Namespace) -> tuple[NormResult, Architecture]:
    arrays = load_npz(args.data, "DATA")
    if "X" not in arrays:
        raise ValidationError(f"DATA must hold an array named 'X'; got {args.data!r} with "
                              f"arrays {sorted(arrays)}")
    X = arrays["X"]
    arch = _architecture(args, X)
    target = None if args.target is None else Network.load(args.target)
    if target is None and "Y" not in arrays:
        raise ValidationError(f"DATA must hold an array named 'Y' (or give --target); got "
                              f"{args.data!r} with arrays {sorted(arrays)}")
    options: dict[str, Any] = {"rng": args.seed, "restarts": args.restarts,
                               "time_limit": args.time_limit}
    if args.tol is not None:
        options["tol"] = args.tol
    if args.max_iter is not None:
        options["max_iter"] = args.max_iter
    data = (X, arrays["Y"]) if "Y" in arrays else X
    if target is not None:
        if arch.activation != "relu":
            raise ValidationError("--target must be used with --activation relu")
        options.update(target=target, assume_open_set=args.assume_open_set)
    elif args.assume_open_set:
        raise ValidationError("--assume-open-set needs --target")
    budget = options.get("max_iter", settings.AL_MAX_ITER)
    announce("fit", f"solving (exact routes first; else {args.restarts} restart(s) of at most "
                    f"{budget} L-BFGS-B iterations each); Ctrl-C keeps the best network")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        return minimal_norm(arch, data=data, **options), arch


def _run_line(j: int, r: dict[str, Any]) -> str:
    """One restart as text; every solver's record works (the linear and the ReLU routes
    store different keys: a missing one is left out, never a KeyError)."""
    parts = [f"restart {j}: seed {r.get('seed')}"]
    if r.get("init") is not None:
        parts.append(f"init {r['init']}")
    if r.get("objective") is not None:
        parts.append(f"norm {r['objective']:.10g}")
    if r.get("residual") is not None:
        parts.append(f"residual {r['residual']:.2e}")
    if r.get("iterations") is not None:
        parts.append(f"{r['iterations']} iterations")
    if r.get("wall_time") is not None:
        parts.append(f"{r['wall_time']:.2f} s")
    verified = r.get("verified", r.get("status") in VERIFIED)
    return ", ".join(parts) + ("" if verified else f" (not verified: {r.get('status')})")


def run(args: argparse.Namespace) -> int:
    """Fit, print, save; returns 0 (verified), 1 (no verified network)."""
    args.out = output_file(args.out, "--out", suffix=".npz")  # before the solve
    res, arch = _solve(args)
    info = res.info
    net = res.network
    verified = net is not None and res.status in ("optimal", "not_certified")
    if net is None:
        net = info.get("best_unverified")
    saved = None
    if args.out is not None and net is not None:
        saved = str(net.save(args.out))
    runs = [{k: v for k, v in r.items() if k != "message"} for r in info.get("runs", ())]
    cond = info.get("conditional_lower")
    if args.json:
        print_json({"data": args.data, "architecture": arch.to_dict(), **res.summary(),
                    "verified": verified, "interrupted": bool(info.get("interrupted", False)),
                    "runs": runs, "saved": saved, "saved_verified": verified and saved is not None,
                    "conditional_lower": None if cond is None else
                    {k: v for k, v in cond.items()}})
        return 0 if verified else 1
    print(f"data: {args.data}  architecture: channels {arch.channels}, spatial "
          f"{arch.spatial_shape}, kernel_size {arch.kernel_size}, {arch.activation}, "
          f"bias {'free' if arch.bias and not arch.penalize_bias else arch.bias}, "
          f"head {arch.head}")
    print(f"status: {res.status}"
          + (" (interrupted: Ctrl-C or SIGTERM)" if info.get("interrupted") else ""))
    print(f"upper (verified norm): {fmt_number(res.upper) if verified else 'none'}")
    print(f"lower (certified): {fmt_number(res.lower)}")
    print(f"relative residual: {res.residual:.3e}")
    print(f"seed: {res.seed}  wall time: {res.wall_time:.2f} s")
    for j, r in enumerate(runs):
        print("  " + _run_line(j, r))
    if cond is not None:
        print(f"conditional T2 bound: {fmt_number(cond.get('value'))} ({cond['condition']})")
    print(f"message: {res.message}")
    if saved is not None:
        print(f"saved: {saved}" + ("" if verified else " (NOT verified: closest network found)"))
    return 0 if verified else 1
