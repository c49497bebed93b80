"""The SQLite sweep store: refusal of foreign files (checked by checksum), claims between
two connections, takeover of dead runs, and rows read back with plain sqlite3."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import _sweep_helpers as h
import pytest

from cbntheory import settings
from cbntheory.sweep.config import parse_config
from cbntheory.sweep.store import APPLICATION_ID, SCHEMA_VERSION, Store, StoreError, read_rows


def _jobs(n=3):
    xs = ", ".join(f"{float(i)}" for i in range(n))
    return parse_config(f'[sweep]\nkind = "echo"\n[grid]\nx = [{xs}]\n')


def _ok(value):
    return {"ok": True, "result": {"value": value, "lower": value, "upper": value,
                                   "status": "optimal", "message": "m", "residual": 0.0},
            "wall_time": 0.01, "provenance": {"hostname": "here"}}


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---------------------------------------------------------------- refusal, file unchanged
def _assert_refused(path, match):
    before = h.checksum(path)
    listing = sorted(os.listdir(os.path.dirname(path)))
    with pytest.raises(StoreError, match=match):
        Store(path)
    assert h.checksum(path) == before
    assert sorted(os.listdir(os.path.dirname(path))) == listing  # no -wal/-shm/-journal


def test_refuses_text_and_random_bytes(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("results of last week\n" * 20)
    _assert_refused(str(text), "not an SQLite database")
    noise = tmp_path / "noise.sqlite"
    noise.write_bytes(os.urandom(4096))
    _assert_refused(str(noise), "not an SQLite database")


def test_refuses_sqlite_database_of_another_application(tmp_path):
    path = str(tmp_path / "other.sqlite")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE jobs (job_key TEXT PRIMARY KEY, status TEXT)")
    con.execute("INSERT INTO jobs VALUES ('a', 'done')")
    con.commit()
    con.close()
    _assert_refused(path, "another application")


def test_refuses_other_schema_version(tmp_path):
    path = str(tmp_path / "old.sqlite")
    with Store(path) as store:
        store.add_jobs(_jobs().jobs)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.execute("UPDATE cbntheory_store SET value = ? WHERE key = 'schema_version'",
                (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.execute("PRAGMA journal_mode=DELETE")  # fold the WAL back into the main file
    con.close()
    _assert_refused(path, f"schema version {SCHEMA_VERSION + 1}")


def test_refuses_our_header_without_our_tables(tmp_path):
    path = str(tmp_path / "forged.sqlite")
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    con.execute("CREATE TABLE something (a)")
    con.commit()
    con.close()
    before = h.checksum(path)
    with pytest.raises(StoreError, match="not a cbntheory sweep store"):
        Store(path)
    assert h.checksum(path) == before


def test_missing_store_for_reading_and_directories(tmp_path):
    with pytest.raises(StoreError, match="no such file"):
        Store(tmp_path / "absent.sqlite", create=False)
    assert not (tmp_path / "absent.sqlite").exists()
    with pytest.raises(StoreError, match="directory"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="cannot be opened"):
        Store(tmp_path / "no" / "such" / "dir" / "s.sqlite")


def test_new_store_header_and_tables_seen_by_plain_sqlite(tmp_path):
    path = str(tmp_path / "new.sqlite")
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    for p in (path, str(empty)):  # a missing or zero-byte file becomes a store
        Store(p).close()
        assert h.query(p, "PRAGMA application_id")[0][0] == APPLICATION_ID
        assert h.query(p, "PRAGMA user_version")[0][0] == SCHEMA_VERSION
        assert h.query(p, "PRAGMA journal_mode")[0][0] == "wal"
        assert dict(h.query(p, "SELECT key, value FROM cbntheory_store"))["schema_version"] \
            == str(SCHEMA_VERSION)
    Store(path, create=False).close()  # reopening our own store is fine


# ---------------------------------------------------------------- jobs, claims, takeover
def test_add_jobs_is_idempotent_and_unique(tmp_path):
    cfg = _jobs(4)
    with Store(tmp_path / "s.sqlite") as store:
        assert store.add_jobs(cfg.jobs, cfg.name, cfg.config_hash) == 4
        assert store.add_jobs(cfg.jobs + cfg.jobs, cfg.name, cfg.config_hash) == 0
    rows = h.query(tmp_path / "s.sqlite", "SELECT params, seed, status FROM jobs")
    assert len(rows) == 4 and len({(p, s) for p, s, _ in rows}) == 4
    assert {s for _, _, s in rows} == {"pending"}


def test_two_connections_never_claim_the_same_job(tmp_path):
    path = tmp_path / "s.sqlite"
    cfg = _jobs(2)
    key, other = cfg.jobs[0].key, cfg.jobs[1].key
    with Store(path) as a, Store(path) as b:
        a.add_jobs(cfg.jobs)
        ra, rb = a.start_run(), b.start_run()
        assert a.claim(key, ra) == "claimed"
        assert b.claim(key, rb) == "busy"        # ra is this (live) process
        assert a.record(key, ra, _ok(1.5))
        assert b.claim(key, rb) == "done"
        assert b.claim("no-such-key", rb) == "missing"
        assert b.claim(other, rb) == "claimed"
        assert b.release(rb) == 1
        assert a.claim(other, ra) == "claimed"
    row = h.query(path, "SELECT status, value, attempts FROM jobs WHERE job_key = ?", (key,))
    assert row == [("done", 1.5, 1)]


def test_claims_of_dead_runs_are_taken_over_and_their_late_results_dropped(tmp_path):
    path = tmp_path / "s.sqlite"
    cfg = _jobs(3)
    k1, k2, k3 = (j.key for j in cfg.jobs)
    with Store(path) as a, Store(path) as b:
        a.add_jobs(cfg.jobs)
        ra, rb = a.start_run(), b.start_run()
        for k in (k1, k2, k3):
            assert a.claim(k, ra) == "claimed"
        # ra's process died on this host: its pid no longer exists
        b._conn.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (_dead_pid(), ra))
        assert b.claim(k1, rb) == "claimed"
        assert not a.record(k1, ra, _ok(9.0))    # the dead run's answer arrives too late
        assert b.record(k1, rb, _ok(1.0))
        # a run on another host whose heartbeat stopped STALE_AFTER seconds ago
        stale = time.time() - settings.SWEEP_STALE_AFTER - 1
        b._conn.execute("UPDATE runs SET host = 'elsewhere', pid = 1, heartbeat = ? "
                        "WHERE run_id = ?", (stale, ra))
        assert b.claim(k2, rb) == "claimed"
        # ... but a recent heartbeat on another host is respected
        b._conn.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ?", (time.time(), ra))
        assert b.claim(k3, rb) == "busy"
        a.end_run(ra)                             # a finished run holds nothing
        assert b.claim(k3, rb) == "claimed"
    rows = {r[0]: r[1:] for r in h.query(path, "SELECT job_key, status, value, attempts, "
                                             "run_id FROM jobs")}
    assert rows[k1][:3] == ("done", 1.0, 2)                # b's result, not the late 9.0
    assert rows[k2][0] == rows[k3][0] == "running"
    assert rows[k2][2] == rows[k3][2] == 2 and rows[k2][3] == rows[k3][3] == rb


def test_failed_jobs_are_kept_and_claimed_again_only_on_request(tmp_path):
    cfg = _jobs(1)
    key = cfg.jobs[0].key
    with Store(tmp_path / "s.sqlite") as store:
        store.add_jobs(cfg.jobs)
        run = store.start_run()
        store.claim(key, run)
        store.record(key, run, {"ok": False, "error": "RuntimeError: boom",
                                "traceback": "Traceback ...", "wall_time": 0.5,
                                "provenance": {}})
        assert store.claim(key, run) == "failed"
        assert store.counts() == {"pending": 0, "running": 0, "done": 0, "failed": 1}
        (row,) = store.rows("failed")
        assert row["error"] == "RuntimeError: boom" and row["result"] is None
        assert store.claim(key, run, retry_failed=True) == "claimed"


def test_rows_decode_json_and_non_finite_numbers(tmp_path):
    path = tmp_path / "s.sqlite"
    cfg = _jobs(2)
    with Store(path) as store:
        store.add_jobs(cfg.jobs, "demo", cfg.config_hash)
        run = store.start_run()
        for job, residual in zip(cfg.jobs, (float("nan"), float("inf"))):
            store.claim(job.key, run)
            out = _ok(2.0)
            out["result"]["residual"] = residual
            out["result"]["extra"] = [1, 2]
            store.record(job.key, run, out)
    rows = read_rows(path)
    assert len(rows) == 2
    for row in rows:
        assert row["residual"] is None                     # NaN/inf are not numbers in SQL
        assert row["result"]["extra"] == [1, 2] and row["params"]["x"] in (0.0, 1.0)
        assert row["provenance"] == {"hostname": "here"} and row["sweep"] == "demo"
    assert {r["result"]["residual"] for r in rows} == {None, "inf"}
    assert read_rows(path, kind="spin") == [] and len(read_rows(path, None)) == 2


# ---------------------------------------------------------------- integrity and artifacts
def _filled_store(path, n=120):
    cfg = _jobs(n)
    with Store(path) as store:
        store.add_jobs(cfg.jobs)
        run = store.start_run()
        for i, job in enumerate(cfg.jobs):
            store.claim(job.key, run)
            out = _ok(float(i))
            out["result"]["message"] = "m" * 300   # rows that fill several pages
            store.record(job.key, run, out)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=DELETE")  # fold the WAL back into the main file
    con.close()


@pytest.mark.parametrize("command", [["sweep", "--status", "--store"], ["table", "--from"],
                                     ["sweep", "CONFIG", "--no-progress", "--store"],
                                     ["report", "--out", "OUT", "--from"]])
def test_a_damaged_store_is_reported_in_one_line(tmp_path, capsys, command):
    """Overwritten pages (a bad disk, a truncated copy): `--status` and `table --from` say
    so in one line (exit 2) instead of counting 120 done or raising sqlite3's error."""
    from cbntheory.cli import main

    path = str(tmp_path / "s.sqlite")
    _filled_store(path)
    assert main(["sweep", "--status", "--store", path]) == 0
    assert "120 jobs: 120 done" in capsys.readouterr().out
    assert os.path.getsize(path) > 4096 * 12
    with open(path, "r+b") as fh:          # pages 6-8: inside the jobs table
        fh.seek(4096 * 5)
        fh.write(b"\x55" * 4096 * 3)
    if "CONFIG" in command:   # running a sweep into it is refused as well
        config = h.echo_config(tmp_path / "e.toml", [1])
        command = [config if c == "CONFIG" else c for c in command]
    command = [str(tmp_path / "report") if c == "OUT" else c for c in command]
    assert main([*command, path]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is damaged: PRAGMA quick_check reports" in err[0], err
    assert not (tmp_path / "report").exists()     # the report stops before writing
    with pytest.raises(StoreError, match="is damaged"):
        read_rows(path)


def test_artifacts_are_stored_with_their_job_and_checked(tmp_path):
    path = str(tmp_path / "s.sqlite")
    cfg = _jobs(2)
    blob = os.urandom(5000)
    with Store(path) as store:
        store.add_jobs(cfg.jobs)
        run = store.start_run()
        first, second = cfg.jobs
        store.claim(first.key, run)
        assert store.record(first.key, run, dict(_ok(1.0), artifacts={"net.npz": blob}))
        store.claim(second.key, run)         # a failed job keeps no artifact
        assert store.record(second.key, run, {"ok": False, "error": "E",
                                              "artifacts": {"net.npz": blob}})
        assert store.artifact(first.key, "net.npz") == blob
        assert store.artifact(second.key, "net.npz") is None
        assert store.artifact(first.key, "other") is None
    rows = h.query(path, "SELECT job_key, name, length(data) FROM artifacts")
    assert rows == [(first.key, "net.npz", 5000)]
    con = sqlite3.connect(path)
    con.execute("UPDATE artifacts SET data = ?", (blob[:-1] + b"!",))
    con.commit()
    con.close()
    with Store(path) as store, pytest.raises(StoreError, match="does not match its recorded"):
        store.artifact(first.key, "net.npz")
