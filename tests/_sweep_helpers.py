"""Shared pieces of the sweep tests: writing sweep files, running ``cbn sweep`` in a
subprocess, and reading a store with plain sqlite3 (not through cbntheory)."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = "import sys; from cbntheory.cli import main; sys.exit(main(sys.argv[1:]))"


def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)
    return str(path)


def echo_config(path, xs, *, seeds=(0,), sleep=0.0, log="", extra=""):
    """A sweep file of echo jobs ``x in xs`` (value = x + seed)."""
    grid = ", ".join(repr(float(x)) for x in xs)
    return write(path, f"""
[sweep]
kind = "echo"
seeds = [{", ".join(str(s) for s in seeds)}]

[fixed]
sleep = {float(sleep)!r}
log = {str(log)!r}

[grid]
x = [{grid}]
{extra}""")


def env():
    """Environment in which a subprocess imports this checkout of cbntheory."""
    paths = [REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def start_cli(*args):
    """Start ``cbn <args>`` in its own session (so that its process group can be signalled)."""
    return subprocess.Popen([sys.executable, "-c", CLI, *map(str, args)], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def kill_group(proc):
    """SIGKILL whatever is left of the process group of ``proc`` (workers, fork server)."""
    import signal
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def query(path, sql, args=()):
    """Rows of ``sql`` on the store, read with plain sqlite3."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def count_status(path, status):
    try:
        return query(path, "SELECT count(*) FROM jobs WHERE status = ?", (status,))[0][0]
    except sqlite3.Error:  # not created yet
        return 0


def wait_until(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def checksum(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def log_counts(path):
    """How many times each (x, seed) started, from the echo jobs' log file."""
    counts: dict[tuple[float, int], int] = {}
    if not os.path.exists(path):
        return counts
    with open(path) as fh:
        for line in fh:
            x, seed, _pid = line.split()
            key = (float(x), int(seed))
            counts[key] = counts.get(key, 0) + 1
    return counts
