"""What a sweep store file is: its schema, its identification, and how values are encoded.

A store is an SQLite file whose header carries ``application_id`` =
:data:`APPLICATION_ID` and ``user_version`` = :data:`SCHEMA_VERSION`, with the tables
of :data:`SCHEMA` (see :mod:`cbntheory.sweep.store` for what they hold).
:func:`check_file` decides from the first 100 bytes alone whether a file may be
opened, so that a file that is not a store is never modified.

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> with open(path, "w") as fh:
...     _ = fh.write("not a database" * 10)
>>> try:
...     check_file(path, create=True)
... except StoreError as exc:
...     print(str(exc).split(":")[1].split(",")[0].strip())
it is not an SQLite database
>>> to_plain({"a": float("nan"), "b": float("inf"), "c": (1, 2)})
{'a': None, 'b': 'inf', 'c': [1, 2]}
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

from ..errors import StoreError
from ..output.files import to_plain

#: Stored in the SQLite header (``PRAGMA application_id``): the bytes "CBNS".
APPLICATION_ID = 0x43424E53
#: Version of the layout below; a store with another version is refused, never migrated silently.
#: Version 2 added the ``artifacts`` table (the networks behind the rows).
SCHEMA_VERSION = 2
APPLICATION = "cbntheory.sweep"
#: Job states (the ``status`` column) and answers of :meth:`~cbntheory.sweep.store.Store.claim`.
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
JOB_STATES = (PENDING, RUNNING, DONE, FAILED)
CLAIMED, BUSY, MISSING = "claimed", "busy", "missing"

_SQLITE_MAGIC = b"SQLite format 3\x00"
SCHEMA = (
    "CREATE TABLE cbntheory_store (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
        started REAL NOT NULL, heartbeat REAL NOT NULL, finished REAL,
        source TEXT, config_hash TEXT, executor TEXT, package_version TEXT)""",
    """CREATE TABLE jobs (
        job_key TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL,
        seed INTEGER NOT NULL, sweep TEXT, config_hash TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
        run_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, claimed_at REAL, finished_at REAL,
        value REAL, lower REAL, upper REAL, result_status TEXT, message TEXT,
        residual REAL, wall_time REAL, result TEXT, error TEXT, traceback TEXT,
        provenance TEXT)""",
    "CREATE INDEX jobs_by_status ON jobs (status)",
    """CREATE TABLE artifacts (
        job_key TEXT NOT NULL REFERENCES jobs (job_key), name TEXT NOT NULL,
        data BLOB NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (job_key, name))""",
)
JSON_COLUMNS = ("params", "result", "provenance")


def dumps(obj: Any) -> str:
    """Canonical JSON text of :func:`to_plain` of ``obj`` (sorted keys, no NaN)."""
    return json.dumps(to_plain(obj), sort_keys=True, allow_nan=False)


def real_or_none(value: Any) -> float | None:
    """``float(value)`` for an SQL REAL column; None when missing or not finite."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def check_file(path: str, *, create: bool) -> bool:
    """Refuse, by reading the header only, any existing file that is not a store of this schema.

    Returns True when the file is missing or empty (a new store may be created there).

    Raises
    ------
    StoreError
        Missing file (when ``create`` is False), a directory, a non-SQLite file, an
        SQLite database of another application, or another schema version.
    """
    if not os.path.exists(path):
        if not create:
            raise StoreError(f"store must be an existing sweep store; got {path!r} (no such file)")
        return True
    if os.path.isdir(path):
        raise StoreError(f"store must be a file; got {path!r} (a directory)")
    with open(path, "rb") as fh:
        header = fh.read(100)
    if not header:
        if not create:
            raise StoreError(f"store must be a sweep store; got {path!r} (an empty file)")
        return True
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise StoreError(f"refusing {path!r}: it is not an SQLite database, so not a cbntheory "
                         "sweep store (it was not modified); choose another --store file")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id != APPLICATION_ID:
        raise StoreError(f"refusing {path!r}: it is an SQLite database of another application "
                         f"(application_id {app_id:#x}, a cbntheory store has "
                         f"{APPLICATION_ID:#x}); it was not modified")
    version = int.from_bytes(header[60:64], "big")
    if version != SCHEMA_VERSION:
        raise StoreError(f"refusing {path!r}: it is a cbntheory sweep store of schema version "
                         f"{version}, this cbntheory reads version {SCHEMA_VERSION}; it was not "
                         "modified (use the matching cbntheory or a new --store file)")
    return False
