"""The SQLite store of a sweep: one row per job, claimed and committed in its own transaction.

Layout (schema version :data:`SCHEMA_VERSION`):

``cbntheory_store(key, value)``
    ``application = cbntheory.sweep``, ``schema_version``, creation time and version.
``runs``
    One row per ``cbn sweep`` process: host, pid, heartbeat, end time.
``artifacts``
    Files a job produced, by ``(job_key, name)``, with their SHA-256: the ``.npz``
    network behind a ``bound_row`` value (:mod:`cbntheory.nets.files` format).  They are
    written in the transaction that stores the job's result, never to a path.
``jobs``
    One row per job, keyed by :func:`cbntheory.sweep.jobs.job_key` (PRIMARY KEY, so a
    job can never be stored twice): inputs (kind, params JSON, seed), ``status``
    (pending / running / done / failed), the owning run, the NormResult fields,
    the full result JSON, error and traceback, provenance JSON and wall time.

The file header also carries ``application_id`` = :data:`APPLICATION_ID` and
``user_version`` = :data:`SCHEMA_VERSION`; any existing file without them is refused
before it is opened, so it is never modified.  A damaged file (pages overwritten) is
detected by :meth:`Store.check` (``PRAGMA quick_check``), run by every reader
(:func:`read_rows`, ``cbn sweep --status``, ``cbn table --from``), and reported in one line.

Concurrency: WAL journal, ``synchronous=FULL`` and a busy timeout; a job is *claimed*
(pending -> running, owned by a run) in a ``BEGIN IMMEDIATE`` transaction, so two
sweeps on one store never run the same job; a claim whose run has died (dead pid on
this host, or no heartbeat for :data:`cbntheory.settings.SWEEP_STALE_AFTER` seconds)
may be taken over, which is how a killed sweep resumes.

Examples
--------
>>> import os, tempfile
>>> from cbntheory.sweep.config import parse_config
>>> cfg = parse_config('[sweep]\\nkind = "linear_cost"\\nseeds = [0, 1]\\n'
...                    '[fixed]\\ntarget = "identity"\\n')
>>> path = os.path.join(tempfile.mkdtemp(), "s.sqlite")
>>> with Store(path) as store:
...     _ = store.add_jobs(cfg.jobs, cfg.name, cfg.config_hash)
...     run = store.start_run("doctest", cfg.config_hash)
...     job = cfg.jobs[0]
...     claimed = store.claim(job.key, run)
...     ok = store.record(job.key, run, {"ok": True, "result": {"value": 1.5}, "wall_time": 0.1})
...     counts = store.counts()
>>> claimed, ok, counts["done"], counts["pending"]
('claimed', True, 1, 1)
>>> [row["value"] for row in read_rows(path)]
[1.5]
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from .. import settings
from .._version import __version__
from .schema import (
    APPLICATION,
    APPLICATION_ID,
    BUSY,
    CLAIMED,
    DONE,
    FAILED,
    JOB_STATES,
    JSON_COLUMNS,
    MISSING,
    PENDING,
    RUNNING,
    SCHEMA,
    SCHEMA_VERSION,
    StoreError,
    check_file,
    dumps,
    real_or_none,
)

__all__ = ["APPLICATION", "APPLICATION_ID", "BUSY", "CLAIMED", "DONE", "FAILED", "JOB_STATES",
           "MISSING", "PENDING", "RUNNING", "SCHEMA_VERSION", "Store", "StoreError",
           "check_file", "damaged", "read_rows"]

def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host is running (zombies count as dead)."""
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class Store:
    """A sweep store on one SQLite file (see the module docstring for the layout).

    Parameters
    ----------
    path : str or path-like
        The file; created (with its parent's permissions) when missing and ``create``.
    create : bool
        False to refuse a missing file (reading, ``--status``).
    busy_timeout : float, optional
        Seconds a write waits for another process's transaction; default
        :data:`cbntheory.settings.SWEEP_BUSY_TIMEOUT`.

    Raises
    ------
    StoreError
        See :func:`check_file`; the file is left untouched.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True,
                 busy_timeout: float | None = None) -> None:
        self.path = os.fspath(path)
        fresh = check_file(self.path, create=create)
        timeout = settings.SWEEP_BUSY_TIMEOUT if busy_timeout is None else float(busy_timeout)
        self.host = socket.gethostname()
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path!r} cannot be opened ({exc}); does its "
                             "directory exist and is it writable?") from None
        try:
            self._init_or_verify(fresh)
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network file system
                raise StoreError(f"store {self.path!r} cannot use WAL journaling (got {mode!r})")
            self._conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"store {self.path!r}: {exc}") from None
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------ lifecycle
    def _meta(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT key, value FROM cbntheory_store").fetchall())

    def _init_or_verify(self, fresh: bool) -> None:
        c = self._conn
        with self._transaction(immediate=False):
            empty = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if fresh and empty:  # (another process may be creating it too: re-check under lock)
            with self._transaction():
                if c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                    self._create()
        with self._transaction(immediate=False):
            app = c.execute("PRAGMA application_id").fetchone()[0]
            names = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            meta = self._meta() if "cbntheory_store" in names else {}
        if app != APPLICATION_ID or meta.get("application") != APPLICATION:
            raise StoreError(f"refusing {self.path!r}: not a cbntheory sweep store; it was "
                             "not modified")
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StoreError(f"refusing {self.path!r}: schema version "
                             f"{meta.get('schema_version')!r} recorded, this cbntheory reads "
                             f"{SCHEMA_VERSION}; it was not modified")

    def _create(self) -> None:
        c = self._conn
        c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        for statement in SCHEMA:
            c.execute(statement)
        c.executemany("INSERT INTO cbntheory_store VALUES (?, ?)", [
            ("application", APPLICATION), ("schema_version", str(SCHEMA_VERSION)),
            ("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")), ("created_by", __version__)])

    @contextlib.contextmanager
    def _transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> None:
        """Raise :class:`StoreError` (one line) unless ``PRAGMA quick_check`` finds the file sound.

        ``quick_check`` reads every page of the file (O(size), without the index
        cross-checks of ``integrity_check``), so overwritten pages are found even where
        the counts by status, read from an index, would look normal.
        """
        try:
            found = [r[0] for r in self._conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            found = [str(exc)]
        if found != ["ok"]:
            raise StoreError(damaged(self.path, found))

    # ------------------------------------------------------------------ jobs and runs
    def add_jobs(self, jobs: Iterable[Any], sweep: str = "", config_hash: str = "") -> int:
        """Insert the jobs (objects with key, kind, params, seed) not yet stored, as pending.

        One transaction; existing rows (whatever their status) are left alone.  Returns
        the number of rows added.
        """
        rows = [(j.key, j.kind, dumps(j.params), int(j.seed), sweep, config_hash)
                for j in jobs]
        with self._transaction() as c:
            before = c.total_changes
            c.executemany("INSERT OR IGNORE INTO jobs (job_key, kind, params, seed, sweep, "
                          "config_hash, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')", rows)
            return c.total_changes - before

    def statuses(self, keys: Iterable[str]) -> dict[str, str]:
        """``{job_key: status}`` for the given keys that are stored."""
        keys = list(keys)
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self._conn.execute(
                f"SELECT job_key, status FROM jobs WHERE job_key IN ({marks})", chunk))
        return out

    def start_run(self, source: str = "", config_hash: str = "", executor: str = "") -> str:
        """Register this process as a run (host, pid, heartbeat); returns its id."""
        run_id = uuid.uuid4().hex
        now = time.time()
        self._conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                           (run_id, self.host, os.getpid(), now, now, source, config_hash,
                            executor, __version__))
        return run_id

    def heartbeat(self, run_id: str) -> None:
        """Tell other sweeps that ``run_id`` is alive."""
        self._conn.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ?", (time.time(), run_id))

    def end_run(self, run_id: str) -> None:
        """Mark ``run_id`` finished; its leftover claims become free to take over."""
        self._conn.execute("UPDATE runs SET finished = ?, heartbeat = ? WHERE run_id = ?",
                           (time.time(), time.time(), run_id))

    def run_alive(self, run_id: str | None, now: float | None = None) -> bool:
        """Whether ``run_id`` is running: not finished, recent heartbeat, live pid on this host."""
        row = self._conn.execute("SELECT host, pid, heartbeat, finished FROM runs "
                                 "WHERE run_id = ?", (run_id,)).fetchone()
        if row is None or row[3] is not None:
            return False
        host, pid, beat, _ = row
        now = time.time() if now is None else now
        if now - beat > settings.SWEEP_STALE_AFTER:
            return False
        return pid_alive(int(pid)) if host == self.host else True

    def claim(self, key: str, run_id: str, *, retry_failed: bool = False) -> str:
        """Try to take job ``key`` for ``run_id``, atomically across processes.

        Returns
        -------
        str
            ``"claimed"`` (pending, failed with ``retry_failed``, or running under a dead
            run), ``"busy"`` (running under a live run), ``"done"``, ``"failed"`` or
            ``"missing"`` (not in the store).
        """
        with self._transaction() as c:
            row = c.execute("SELECT status, run_id FROM jobs WHERE job_key = ?",
                            (key,)).fetchone()
            if row is None:
                return MISSING
            status, owner = row
            free = (status == PENDING or (status == FAILED and retry_failed)
                    or (status == RUNNING and owner != run_id and not self.run_alive(owner)))
            if not free:
                return BUSY if status == RUNNING else status
            c.execute("UPDATE jobs SET status = 'running', run_id = ?, claimed_at = ?, "
                      "attempts = attempts + 1 WHERE job_key = ?", (run_id, time.time(), key))
            return CLAIMED

    def record(self, key: str, run_id: str, outcome: dict[str, Any]) -> bool:
        """Commit a job's outcome (see :func:`cbntheory.sweep.jobs.run_job`) in one transaction.

        Returns False, writing nothing, when ``run_id`` no longer holds the claim
        (another sweep took it over after this one was presumed dead).
        """
        result = outcome.get("result") or {}
        ok = bool(outcome.get("ok"))
        values = (
            DONE if ok else FAILED, time.time(),
            *(real_or_none(result.get(k)) for k in ("value", "lower", "upper")),
            result.get("status"), result.get("message"), real_or_none(result.get("residual")),
            real_or_none(outcome.get("wall_time")), dumps(result) if ok else None,
            outcome.get("error"), outcome.get("traceback"),
            dumps(outcome.get("provenance") or {}), key, run_id)
        files = (outcome.get("artifacts") or {}) if ok else {}
        with self._transaction() as c:
            cur = c.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, value = ?, lower = ?, upper = ?, "
                "result_status = ?, message = ?, residual = ?, wall_time = ?, result = ?, "
                "error = ?, traceback = ?, provenance = ? "
                "WHERE job_key = ? AND run_id = ? AND status = 'running'", values)
            if cur.rowcount != 1:
                return False
            c.execute("DELETE FROM artifacts WHERE job_key = ?", (key,))
            c.executemany("INSERT INTO artifacts VALUES (?, ?, ?, ?)",
                          [(key, str(name), sqlite3.Binary(bytes(data)),
                            hashlib.sha256(bytes(data)).hexdigest())
                           for name, data in sorted(files.items())])
        return True

    def release(self, run_id: str) -> int:
        """Return every job still claimed by ``run_id`` to pending; returns how many."""
        cur = self._conn.execute("UPDATE jobs SET status = 'pending', run_id = NULL "
                                 "WHERE run_id = ? AND status = 'running'", (run_id,))
        return cur.rowcount

    # ------------------------------------------------------------------ reading
    def counts(self, keys: Iterable[str] | None = None) -> dict[str, int]:
        """Number of jobs per status (all four statuses present), over ``keys`` or all rows."""
        out = dict.fromkeys(JOB_STATES, 0)
        if keys is None:
            out.update(self._conn.execute("SELECT status, count(*) FROM jobs GROUP BY status"))
        else:
            for status in self.statuses(keys).values():
                out[status] += 1
        return out

    def live_runs(self) -> list[dict[str, Any]]:
        """Runs not marked finished whose heartbeat is recent (host, pid, started, heartbeat)."""
        rows = self._conn.execute("SELECT run_id, host, pid, started, heartbeat FROM runs "
                                  "WHERE finished IS NULL").fetchall()
        keys = ("run_id", "host", "pid", "started", "heartbeat")
        return [dict(zip(keys, r)) for r in rows if self.run_alive(r[0])]

    def rows(self, status: str | None = DONE, *, kind: str | None = None,
             sweep: str | None = None) -> list[dict[str, Any]]:
        """Stored jobs as dicts, JSON columns decoded, ordered by kind, parameters and seed.

        Parameters
        ----------
        status : str or None
            Keep only this status (default ``"done"``); None for every row.
        kind, sweep : str, optional
            Keep only this job kind / sweep name.

        Returns
        -------
        list of dict
            Keys: every column of the ``jobs`` table (``job_key``, ``kind``, ``params``
            (dict), ``seed``, ``status``, ``value``, ``lower``, ``upper``,
            ``result_status``, ``message``, ``residual``, ``wall_time``, ``result`` (dict
            or None), ``error``, ``traceback``, ``provenance`` (dict), ``attempts``,
            ``finished_at``...).
        """
        where, args = [], []
        for column, value in (("status", status), ("kind", kind), ("sweep", sweep)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        cur = self._conn.execute(sql + " ORDER BY kind, params, seed", args)
        names = [d[0] for d in cur.description]
        out = []
        for row in cur:
            record = dict(zip(names, row))
            for column in JSON_COLUMNS:
                if record[column] is not None:
                    record[column] = json.loads(record[column])
            out.append(record)
        return out


    def artifact(self, key: str, name: str) -> bytes | None:
        """The file ``name`` stored with job ``key`` (None when there is none).

        Raises
        ------
        StoreError
            When its bytes no longer match the SHA-256 recorded with them.
        """
        row = self._conn.execute("SELECT data, sha256 FROM artifacts WHERE job_key = ? AND "
                                 "name = ?", (key, name)).fetchone()
        if row is None:
            return None
        data = bytes(row[0])
        if hashlib.sha256(data).hexdigest() != row[1]:
            raise StoreError(f"store {self.path!r} is damaged: artifact {name!r} of job "
                             f"{key[:12]} does not match its recorded SHA-256")
        return data


def damaged(path: str, problems: list[str]) -> str:
    """The one-line message of a store that fails ``PRAGMA quick_check``."""
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return (f"store {path!r} is damaged: PRAGMA quick_check reports "
            f"{problems[0]!r}{more}; its rows cannot be trusted: restore a copy, or run "
            "the sweep into a new --store file")


def read_rows(path: str | os.PathLike, status: str | None = DONE, *, kind: str | None = None,
              sweep: str | None = None) -> list[dict[str, Any]]:
    """The rows of an existing store (see :meth:`Store.rows`); for ``cbn table --from``.

    The store is checked first (:meth:`Store.check`); a damaged one raises
    :class:`StoreError` with one line, never a raw ``sqlite3`` error.
    """
    try:
        with Store(path, create=False) as store:
            store.check()
            return store.rows(status, kind=kind, sweep=sweep)
    except sqlite3.DatabaseError as exc:
        raise StoreError(damaged(os.fspath(path), [str(exc)])) from None
