"""Shared pieces of the sweep tests: the test-only job kinds, writing sweep files, running
``cbn sweep`` in a subprocess, and reading a store with plain sqlite3 (not through cbntheory).

The job kinds ``echo`` and ``spin`` live here, not in the package.  :func:`use_test_kinds`
registers them in this process with :func:`cbntheory.sweep.jobs.register` (the one door:
no environment variable or file can add a kind); ``cbn sweep`` subprocesses started by
:func:`start_cli` run a command line that registers them first.  Pool and Dask workers
receive the kinds' functions by reference and import them from this module, which
:func:`env` puts on their ``PYTHONPATH``.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time

from cbntheory.results import OPTIMAL, NormResult
from cbntheory.sweep.jobs import register
from cbntheory.sweep.kinds import JobKind, Param, boolean, integer, number, text

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
#: ``cbn`` with the test kinds registered (as a program embedding cbntheory would do it).
CLI = ("import sys, _sweep_helpers; _sweep_helpers.use_test_kinds(); "
       "from cbntheory.cli import main; sys.exit(main(sys.argv[1:]))")
#: ``cbn`` exactly as a user runs it: only the package's kinds.
PLAIN_CLI = "import sys; from cbntheory.cli import main; sys.exit(main(sys.argv[1:]))"


# ------------------------------------------------------------------ test-only job kinds
def _summary(value, seed, solver, wall_time):
    return NormResult(value=value, lower=value, upper=value, status=OPTIMAL, message=solver,
                      seed=seed, solver=solver, residual=0.0, wall_time=wall_time).summary()


def echo_job(params, seed):
    """``value = x + seed`` after ``sleep`` seconds.

    ``log``: append ``"<x> <seed> <pid>"`` to this file when the job starts (to count
    executions); ``fail``: raise; ``fail_while``: raise while this file exists;
    ``crash``: end the worker process abruptly (as a segfault or the OOM killer would).
    """
    if params["log"]:
        with open(params["log"], "a") as fh:
            fh.write(f"{params['x']!r} {seed} {os.getpid()}\n")
    if params["crash"]:
        os._exit(70)
    if params["sleep"]:
        time.sleep(params["sleep"])
    if params["fail"] or (params["fail_while"] and os.path.exists(params["fail_while"])):
        raise RuntimeError(f"echo job asked to fail (x={params['x']}, seed={seed})")
    return _summary(params["x"] + seed, seed, "echo", params["sleep"])


def spin_job(params, seed):
    """``iterations`` steps of a linear congruential generator in pure Python (real CPU
    work, no BLAS threads): the unit of work of the throughput benchmark."""
    start, cpu = time.perf_counter(), time.process_time()
    acc = seed
    for _ in range(params["iterations"]):
        acc = (acc * 1103515245 + 12345) & 0x7FFFFFFF
    out = _summary(float(acc), seed, "spin", time.perf_counter() - start)
    out["cpu_time"] = time.process_time() - cpu   # < wall_time when the core was shared
    return out


KINDS = (
    JobKind("echo", echo_job,
            {"x": Param(0.0, number(None), "value returned (plus the seed)"),
             "sleep": Param(0.0, number(0.0), "seconds to sleep"),
             "fail": Param(False, boolean, "raise instead of returning"),
             "crash": Param(False, boolean, "kill the worker process (never use in-process)"),
             "fail_while": Param("", text, "raise while this file exists"),
             "log": Param("", text, "file to which the job appends a line when it starts")},
            "testing only: returns x + seed", testing=True),
    JobKind("spin", spin_job, {"iterations": Param(1_000_000, integer(1), "loop steps")},
            "testing/benchmark only: fixed pure-Python CPU work", testing=True),
)


def use_test_kinds():
    """Register ``echo`` and ``spin`` in this process (idempotent)."""
    for kind in KINDS:
        register(kind)


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
    paths = [REPO, HERE] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def start_cli(*args, plain=False):
    """Start ``cbn <args>`` in its own session (so that its process group can be signalled);
    with the test kinds registered unless ``plain``."""
    code = PLAIN_CLI if plain else CLI
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def kill_group(proc):
    """SIGKILL whatever is left of the process group of ``proc`` (workers, fork server)."""
    import signal
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def session_members(sid):
    """Live processes of session ``sid`` (a :func:`start_cli` process and its children),
    read from /proc: ``[(pid, command line)]``."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline") as fh:
                command = fh.read().replace("\0", " ")
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in "ZX":
            out.append((int(pid), command))
    return out


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
