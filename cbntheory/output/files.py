"""Files of the report, the tables and the stores: atomic text files and plain JSON data.

A reader never sees half a file (:func:`write_text`); every JSON document of the package
(tables, sweep stores, ``--json`` output) goes through :func:`to_plain`.
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from typing import Any


def to_plain(obj: Any) -> Any:
    """JSON-able copy of ``obj``: the one convention of the package for JSON data.

    Mappings become dicts with string keys, tuples lists, numpy arrays and scalars Python
    values; NaN (a missing value) becomes ``None`` (JSON ``null``) and the infinities the
    strings ``"inf"`` and ``"-inf"`` (so that a bound known to be infinite is not read as
    missing).

    Examples
    --------
    >>> import numpy as np
    >>> to_plain({"a": float("nan"), "b": float("inf"), "c": (1, np.float64(2.5))})
    {'a': None, 'b': 'inf', 'c': [1, 2.5]}
    """
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if hasattr(obj, "tolist"):
        return to_plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def file_mode() -> int:
    """Permissions of a new file under the current umask (``mkstemp`` alone gives 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_text(p, "one"); write_text(p, "two")
    >>> p.read_text(), oct(p.stat().st_mode & 0o777) == oct(file_mode())
    ('two', True)
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".cbn-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
