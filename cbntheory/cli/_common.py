"""Helpers shared by the sub-commands: loading arrays and printing results."""
from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..output.files import to_plain


def load_array(path: str, name: str = "file") -> np.ndarray:
    """Load a ``.npy`` array, turning unreadable files into a one-line ValidationError."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValidationError(f"{name} must be an existing .npy file; got {path!r} "
                              "(no such file)") from None
    except (ValueError, OSError) as exc:
        raise ValidationError(
            f"{name} must be a readable .npy file; got {path!r} ({exc})") from None


def load_npz(path: str, name: str = "file") -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` archive (no pickles)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise ValidationError(f"{name} must be an existing .npz file; got {path!r} "
                              "(no such file)") from None
    except (ValueError, OSError) as exc:
        raise ValidationError(
            f"{name} must be a readable .npz file; got {path!r} ({exc})") from None


def print_json(obj: Any) -> None:
    """Print ``obj`` as JSON (numpy arrays and scalars converted, non-finite floats as strings)."""
    json.dump(to_plain(obj), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
