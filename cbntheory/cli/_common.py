"""Helpers shared by the sub-commands: shared options, loading arrays, printing results."""
from __future__ import annotations

import argparse
import collections
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..output.files import to_plain

#: Options several sub-commands share, with their one meaning: flag -> add_argument keywords.
SHARED_OPTIONS: dict[str, dict[str, Any]] = {
    "--json": {"action": "store_true", "help": "print JSON instead of text"},
    "--no-progress": {"action": "store_true", "help": "no progress bar on standard error"},
    "--seed": {"type": int, "default": 0, "help": "seed of every solve (default 0)"},
    "--normalization": {"choices": ("operator", "plain"), "default": "operator",
                        "help": "convolution constant c = 1/sqrt(d) (operator, default) "
                                "or 1 (plain)"},
}


def add_shared(parser: argparse.ArgumentParser, *flags: str) -> None:
    """Add the :data:`SHARED_OPTIONS` named by ``flags`` to ``parser``."""
    for flag in flags:
        parser.add_argument(flag, **SHARED_OPTIONS[flag])


def number(*, strict: bool) -> Callable[[str], float]:
    """An argparse ``type``: a finite number ``> 0`` (``strict``) or ``>= 0``."""
    rule = "> 0" if strict else ">= 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
        if not np.isfinite(value) or value < 0 or (strict and value == 0):
            raise argparse.ArgumentTypeError(f"must be a finite number {rule}; got {text!r}")
        return value
    return parse


def _load(path: str, name: str, suffix: str, read: Callable[[str], Any]) -> Any:
    """``read(path)``, turning a missing or unreadable file into a one-line ValidationError."""
    try:
        return read(path)
    except FileNotFoundError:
        raise ValidationError(f"{name} must be an existing {suffix} file; got {path!r} "
                              "(no such file)") from None
    except (ValueError, OSError) as exc:
        raise ValidationError(
            f"{name} must be a readable {suffix} file; got {path!r} ({exc})") from None


def load_array(path: str, name: str = "file") -> np.ndarray:
    """Load a ``.npy`` array (no pickles)."""
    return _load(path, name, ".npy", lambda p: np.load(p, allow_pickle=False))


def _read_npz(path: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def load_npz(path: str, name: str = "file") -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` archive (no pickles)."""
    return _load(path, name, ".npz", _read_npz)


def show(as_json: bool, data: Any, print_text: Callable[[], None]) -> int:
    """Print ``data`` as JSON or call ``print_text``; returns exit status 0."""
    if as_json:
        print_json(data)
    else:
        print_text()
    return 0


def announce(command: str, text: str) -> None:
    """Say on standard error, when it is a terminal, what a long step is about to do.

    Commands without a progress bar (one solve) call it before the solve, so that an
    interactive user is never left with a silent terminal; pipes and logs stay clean.
    """
    if getattr(sys.stderr, "isatty", lambda: False)():
        print(f"cbn {command}: {text}", file=sys.stderr, flush=True)


def tally(labels: Iterable[str]) -> str:
    """``"2 holds, 1 violated"``: how many times each label occurs, labels sorted."""
    return ", ".join(f"{n} {label}" for label, n in sorted(collections.Counter(labels).items()))


def fmt_number(value: float | None) -> str:
    """``"none"`` for a missing bound, else ten significant digits."""
    return "none" if value is None else f"{value:.10g}"


def print_json(obj: Any) -> None:
    """Print ``obj`` as JSON (numpy arrays and scalars converted, non-finite floats as strings)."""
    json.dump(to_plain(obj), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
