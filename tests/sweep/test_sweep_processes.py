"""``cbn sweep`` as real processes: SIGKILL mid-way then resume, two sweeps on one store at
once, Ctrl-C.  Checked with plain sqlite3 and with the jobs' own start log (how many
times each job actually ran), never through cbntheory's own counters."""
from __future__ import annotations

import json
import os
import re
import signal

import _sweep_helpers as h
import pytest

from cbntheory import settings

N_JOBS = 12


def _finish(proc, timeout=120):
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        h.kill_group(proc)
    return proc.returncode, out, err


def _stored(path):
    rows = h.query(path, "SELECT params, seed, status, value, attempts FROM jobs")
    return [(json.loads(p)["x"], s, st, v, a) for p, s, st, v, a in rows]


def _assert_complete(path, n):
    rows = _stored(path)
    assert len(rows) == n
    assert len({(x, s) for x, s, *_ in rows}) == n              # nothing stored twice
    assert {(x, s) for x, s, *_ in rows} == {(float(i), 0) for i in range(n)}
    assert all(st == "done" and v == x + s for x, s, st, v, _ in rows)
    assert h.query(path, "PRAGMA integrity_check") == [("ok",)]
    return rows


def test_sigkill_mid_sweep_then_resume_stores_every_job_once(tmp_path):
    log, store = tmp_path / "starts.log", tmp_path / "s.sqlite"
    cfg = h.echo_config(tmp_path / "e.toml", range(N_JOBS), sleep=0.25, log=log)
    args = ("sweep", cfg, "--store", store, "--workers", 2, "--no-progress")
    proc = h.start_cli(*args)
    try:
        h.wait_until(lambda: h.count_status(store, "done") >= 3, what="3 finished jobs")
        proc.send_signal(signal.SIGKILL)          # the sweep process only, no clean-up
        proc.wait(timeout=30)
    finally:
        h.kill_group(proc)                        # then its orphaned workers, if any
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = h.count_status(store, "done")
    in_flight = h.count_status(store, "running")
    assert 3 <= done_at_kill < N_JOBS and 1 <= in_flight <= 4  # killed mid-way, claims left
    started_before = h.log_counts(log)

    code, out, err = _finish(h.start_cli(*args))
    assert code == 0, err
    assert f"({done_at_kill} were already finished)" in out
    rows = _assert_complete(store, N_JOBS)
    starts = h.log_counts(log)
    assert set(starts) == {(float(i), 0) for i in range(N_JOBS)}
    rerun = {k for k, n in starts.items() if n > 1}
    # only jobs that had started but not been committed before the kill ran again
    assert all(started_before.get(k, 0) == 1 for k in rerun)
    assert len(rerun) <= in_flight and max(starts.values()) <= 2
    assert sum(a for *_, a in rows) == N_JOBS + in_flight    # attempts: in-flight claimed twice


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table in /proc")
def test_workers_of_a_sigkilled_sweep_exit_on_their_own(tmp_path):
    """SIGKILL to the sweep process alone: its pool workers, the fork server and the
    resource tracker must all be gone within a few SWEEP_ORPHAN_POLL periods (before the
    watchdog they lived on with parent PID 1, each job running to its end)."""
    store = tmp_path / "s.sqlite"
    cfg = h.echo_config(tmp_path / "e.toml", range(4), sleep=30.0)
    proc = h.start_cli("sweep", cfg, "--store", store, "--workers", 2, "--no-progress")
    try:
        h.wait_until(lambda: h.count_status(store, "running") >= 2, what="2 running jobs")
        h.wait_until(lambda: len(h.session_members(proc.pid)) >= 4, what="pool processes")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        h.wait_until(lambda: not h.session_members(proc.pid),
                     timeout=5 * settings.SWEEP_ORPHAN_POLL + 5, what="the orphans to exit")
    finally:
        h.kill_group(proc)
        proc.communicate()


def test_two_sweeps_on_one_store_at_once_share_the_work(tmp_path):
    log, store = tmp_path / "starts.log", tmp_path / "s.sqlite"
    n = 16
    cfg = h.echo_config(tmp_path / "e.toml", range(n), sleep=0.1, log=log)
    args = ("sweep", cfg, "--store", store, "--workers", 1, "--no-progress")
    procs = [h.start_cli(*args), h.start_cli(*args)]    # same moment, store not yet created
    results = [_finish(p) for p in procs]
    for code, _out, err in results:
        assert code == 0, err
    _assert_complete(store, n)
    starts = h.log_counts(log)
    assert len(starts) == n and set(starts.values()) == {1}    # no job ran twice
    committed = [int(re.search(r"this run committed (\d+)", out).group(1))
                 for _, out, _ in results]
    assert sum(committed) == n, committed


def test_ctrl_c_keeps_finished_rows_and_releases_the_rest(tmp_path):
    store = tmp_path / "s.sqlite"
    cfg = h.echo_config(tmp_path / "e.toml", range(N_JOBS), sleep=0.3)
    args = ("sweep", cfg, "--store", store, "--workers", 2, "--no-progress")
    proc = h.start_cli(*args)
    try:
        h.wait_until(lambda: h.count_status(store, "done") >= 2, what="2 finished jobs")
        import os
        os.killpg(proc.pid, signal.SIGINT)       # what a terminal's Ctrl-C does
        code, out, err = _finish(proc, timeout=60)
    finally:
        h.kill_group(proc)
    assert code == 130, err
    assert "interrupted" in out
    done = h.count_status(store, "done")
    assert 2 <= done < N_JOBS
    assert h.count_status(store, "running") == 0            # in-flight claims returned
    assert h.count_status(store, "pending") == N_JOBS - done
    assert h.query(store, "SELECT count(*) FROM runs WHERE finished IS NULL") == [(0,)]
    code, out, err = _finish(h.start_cli(*args))
    assert code == 0, err
    _assert_complete(store, N_JOBS)


@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_sigterm_is_a_clean_stop_too(tmp_path, sig):
    store = tmp_path / "s.sqlite"
    cfg = h.echo_config(tmp_path / "e.toml", range(6), sleep=0.5)
    proc = h.start_cli("sweep", cfg, "--store", store, "--workers", 1, "--no-progress")
    try:
        h.wait_until(lambda: h.count_status(store, "done") >= 1, what="1 finished job")
        proc.send_signal(sig)
        code, _out, err = _finish(proc, timeout=60)
    finally:
        h.kill_group(proc)
    assert code == 130, err
    assert h.count_status(store, "running") == 0 and h.count_status(store, "done") >= 1
