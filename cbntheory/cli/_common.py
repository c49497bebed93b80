"""Helpers shared by the sub-commands: shared options, loading arrays, printing results."""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
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


def _writable_dir(directory: Path, option: str, value: str) -> None:
    """Create ``directory`` (and its parents) if missing; refuse when that fails or it is
    not writable."""
    if directory.exists() and not directory.is_dir():
        raise ValidationError(f"{option} must name a directory; got {value!r} ({directory} "
                              "is a file)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(f"{option} must be in a directory that exists or can be "
                              f"created; got {value!r} ({exc.strerror or exc})") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValidationError(f"{option} must be in a writable directory; got {value!r} "
                              f"({directory} is not writable)")


def output_file(value: str | None, option: str, *, suffix: str | None = None) -> str | None:
    """THE check of an output FILE option, made before any computation.

    ``None`` passes through.  A path that is an existing directory is refused (a file is
    asked for); missing parent directories are created; an unwritable or uncreatable place
    is refused with a one-line error.  ``suffix`` (e.g. ``".npz"``) is appended when the
    name lacks it, as the writer will, and the returned path is the one that will be
    written.
    """
    if value is None:
        return None
    path = Path(value)
    if value.endswith(os.sep) or path.is_dir():
        raise ValidationError(f"{option} must be a file path, not a directory; got {value!r} "
                              f"(e.g. {os.path.join(value, 'out' + (suffix or ''))!r})")
    if suffix is not None and path.suffix != suffix:
        path = path.with_name(path.name + suffix)
    _writable_dir(path.parent if str(path.parent) else Path("."), option, value)
    if path.exists() and not os.access(path, os.W_OK):
        raise ValidationError(f"{option} must be writable; got {value!r} (the file exists "
                              "and is read-only)")
    return str(path)


def output_dir(value: str | None, option: str) -> str | None:
    """THE check of an output DIR option, made before any computation: the directory is
    created (with its parents) when missing; a file, or a place that cannot be created or
    written, is refused with a one-line error.  ``None`` passes through."""
    if value is None:
        return None
    _writable_dir(Path(value), option, value)
    return value


def _load(path: str, name: str, suffix: str, read: Callable[[str], Any]) -> Any:
    """``read(path)``, turning a missing or unreadable file into a one-line ValidationError."""
    try:
        return read(path)
    except FileNotFoundError:
        raise ValidationError(f"{name} must be an existing {suffix} file; got {path!r} "
                              "(no such file)") from None
    except ValidationError:
        raise
    except (ValueError, OSError, EOFError, MemoryError) as exc:
        raise ValidationError(
            f"{name} must be a readable {suffix} file; got {path!r} "
            f"({type(exc).__name__ if isinstance(exc, MemoryError) else ''}{exc})") from None


def _read_npy(path: str, name: str) -> np.ndarray:
    """``np.load`` after checking the header: the declared size against the file's bytes
    and the size cap (a 64-byte file may claim terabytes).  Files without the ``.npy``
    magic go to ``np.load`` as they are (it names an ``.npz`` archive, or refuses)."""
    from .. import _validate as V

    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            return np.load(path, allow_pickle=False)
        fh.seek(0)
        try:
            version = np.lib.format.read_magic(fh)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                    np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(fh)
        except (ValueError, OSError, SyntaxError, TypeError) as exc:
            raise ValidationError(f"{name} must be a readable .npy file; got {path!r} (a "
                                  f"damaged header: {exc})") from None
        offset = fh.tell()
    V.check_size(f"the array in {path!r} (shape {shape}, dtype {dtype})", shape,
                 max(np.dtype(dtype).itemsize, 1))
    items = 1
    for s in shape:
        items *= int(s)
    declared, held = items * np.dtype(dtype).itemsize, os.path.getsize(path) - offset
    if not dtype.hasobject and declared > held:
        raise ValidationError(f"{name} must be a complete .npy file; got {path!r} (truncated: "
                              f"the header declares shape {shape}, {declared} bytes, but the "
                              f"file holds {held} bytes of data)")
    return np.load(path, allow_pickle=False)


def load_array(path: str, name: str = "file") -> np.ndarray:
    """Load a ``.npy`` array (no pickles), its header checked first (size cap, truncation)."""
    return _load(path, name, ".npy", lambda p: _read_npy(p, name))


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
