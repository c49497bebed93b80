"""Helpers shared by the sub-commands: loading arrays and printing results."""
from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

from ..errors import ValidationError


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


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def print_json(obj: Any) -> None:
    """Print ``obj`` as JSON (numpy arrays and scalars converted, non-finite floats as strings)."""
    json.dump(_jsonable(obj), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
