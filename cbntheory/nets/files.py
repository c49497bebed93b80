"""Network files: a pickle-free ``.npz`` with the architecture as JSON and the weights.

Layout: ``format`` (the string :data:`FILE_FORMAT`), ``version`` (an int), ``meta``
(JSON string: ``{"architecture": Architecture.to_dict(), "seed": int or null}``),
``kernel_<l>`` and ``bias_<l>`` arrays.  Everything is read with
``allow_pickle=False``, so a file can never execute code when loaded.
"""
from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import _validate as V
from ..errors import ValidationError
from .architecture import Architecture

#: Identifies files written by ``Network.save``.
FILE_FORMAT = "cbntheory.Network"
#: Version of the layout above.
FILE_VERSION = 1


def save(path: str | os.PathLike, arch: Architecture, kernels: Sequence[np.ndarray],
         biases: Sequence[np.ndarray], seed: int | None) -> Path:
    """Write the file (``.npz`` appended when missing); returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    meta = json.dumps({"architecture": arch.to_dict(), "seed": seed})
    arrays: dict[str, np.ndarray] = {"format": np.array(FILE_FORMAT),
                                     "version": np.array(FILE_VERSION), "meta": np.array(meta)}
    arrays.update({f"kernel_{l}": w for l, w in enumerate(kernels)})
    arrays.update({f"bias_{l}": b for l, b in enumerate(biases)})
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def _check_version(version: np.ndarray | None, path: Path) -> None:
    """Refuse a file whose declared layout version this package cannot read."""
    try:
        number = int(version) if version is not None and np.ndim(version) == 0 else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1:
        raise V.fail("path", f"be a network file with an integer format version ({path})",
                     None if version is None else str(version))
    if number > FILE_VERSION:
        raise V.fail("path", f"be a network file of format version <= {FILE_VERSION}, the "
                     f"newest this version of cbntheory reads; upgrade cbntheory ({path})",
                     f"version {number}")


def load(path: str | os.PathLike) -> tuple[Architecture, list, list, int | None]:
    """Read ``(architecture, kernels, biases, seed)``; ValidationError for foreign files."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such network file: {path}")
    what = f"be a cbntheory network file (.npz written by Network.save) ({path})"
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise V.fail("path", what, "a single .npy array")
        with data:
            files = {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise V.fail("path", what, f"unreadable file ({type(exc).__name__}: {exc})") from exc
    if "format" not in files or str(files["format"]) != FILE_FORMAT or "meta" not in files:
        raise V.fail("path", what, f"a .npz file with keys {sorted(files)}")
    _check_version(files.get("version"), path)
    try:
        meta = json.loads(str(files["meta"]))
        arch = Architecture.from_dict(meta["architecture"])
        kernels = [files[f"kernel_{l}"] for l in range(arch.depth)]
        biases = [files[f"bias_{l}"] for l in range(len(arch.bias_shapes))]
        seed = meta.get("seed")
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise V.fail("path", what, f"a file with damaged content ({exc!r})") from exc
    return arch, kernels, biases, seed
