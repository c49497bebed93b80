"""Sweeps on the local process pool: stored values against independent computations
(x + seed for echo jobs, dense-matrix SVDs for T1), failures, retries, the CLI."""
from __future__ import annotations

import io
import json
import os
import socket

import _bruteforce as bf
import _sweep_helpers as h
import numpy as np
import pytest

from cbntheory.cli import main
from cbntheory.output.progress import Progress
from cbntheory.sweep.config import load_config, parse_config
from cbntheory.sweep.executor import LocalExecutor
from cbntheory.sweep.runner import run_sweep
from cbntheory.sweep.store import Store, read_rows


@pytest.fixture(scope="module")
def pool():
    with LocalExecutor(workers=2) as ex:
        yield ex


def test_echo_sweep_values_failures_and_resume(tmp_path, pool):
    path = tmp_path / "s.sqlite"
    cfg = load_config(h.echo_config(tmp_path / "e.toml", [0, 1, 2, 3, 4], seeds=(0, 10),
                                    extra="[[jobs]]\nx = 100.0\nfail = true\nseeds = [3]\n"))
    with Store(path) as store:
        first = run_sweep(cfg, store, pool, progress=False)
        assert (first.total, first.done, first.failed, first.ran) == (11, 10, 1, 11)
        again = run_sweep(cfg, store, pool, progress=False)
        assert (again.ran, again.skipped, again.done, again.failed) == (0, 11, 10, 1)
    rows = h.query(path, "SELECT params, seed, value, status, error, traceback, attempts "
                         "FROM jobs")
    assert len(rows) == 11 and len({(p, s) for p, s, *_ in rows}) == 11
    for params, seed, value, status, error, trace, attempts in rows:
        x = json.loads(params)["x"]
        assert attempts == 1
        if x == 100.0:
            assert (status, value, seed) == ("failed", None, 3)
            assert error == "RuntimeError: echo job asked to fail (x=100.0, seed=3)"
            assert "echo_job" in trace and trace.rstrip().endswith(error)
        else:
            assert status == "done" and value == x + seed


def test_retry_failed_reruns_only_failed_jobs(tmp_path, pool):
    marker = tmp_path / "broken"
    marker.write_text("")
    log = tmp_path / "log.txt"
    cfg = load_config(h.echo_config(
        tmp_path / "e.toml", [1, 2], log=log,
        extra=f"[[jobs]]\nx = 7.0\nfail_while = {str(marker)!r}\n"))
    with Store(tmp_path / "s.sqlite") as store:
        assert run_sweep(cfg, store, pool, progress=False).failed == 1
        marker.unlink()
        assert run_sweep(cfg, store, pool, progress=False).ran == 0   # not without the flag
        summary = run_sweep(cfg, store, pool, retry_failed=True, progress=False)
        assert (summary.ran, summary.done, summary.failed) == (1, 3, 0)
        rows = {r["params"]["x"]: r for r in store.rows()}
    assert rows[7.0]["attempts"] == 2 and rows[7.0]["error"] is None and rows[7.0]["value"] == 7
    assert h.log_counts(log) == {(1.0, 0): 1, (2.0, 0): 1, (7.0, 0): 2}


def test_a_worker_that_dies_fails_only_its_own_job(tmp_path):
    """A crash breaks the whole pool; the jobs it held are re-run one at a time, so the
    innocent ones end done (each started at most twice) and only the culprit is failed."""
    log = tmp_path / "log.txt"
    cfg = load_config(h.echo_config(tmp_path / "e.toml", [1, 2, 3, 4], sleep=0.05, log=log,
                                    extra=f"[[jobs]]\nx = 9.0\ncrash = true\nlog = {str(log)!r}\n"))
    path = tmp_path / "s.sqlite"
    with LocalExecutor(workers=2) as ex, Store(path) as store:
        first = run_sweep(cfg, store, ex, progress=False)
        assert (first.done, first.failed, first.pending, first.running) == (4, 1, 0, 0)
        rows = {r["params"]["x"]: r for r in store.rows(None)}
        assert rows[9.0]["status"] == "failed" and "by itself" in rows[9.0]["error"]
        for x in (1.0, 2.0, 3.0, 4.0):
            assert rows[x]["status"] == "done" and rows[x]["value"] == x
        starts = h.log_counts(log)
        assert starts[(9.0, 0)] == 2 and max(starts.values()) <= 2
        # the pool is rebuilt: retrying runs the culprit again, which fails again
        again = run_sweep(cfg, store, ex, retry_failed=True, progress=False)
        assert again.done == 4 and again.failed == 1


def test_linear_cost_jobs_against_dense_svd_and_closed_forms(tmp_path, pool):
    cfg = parse_config("""
[sweep]
kind = "linear_cost"
seeds = [0, 1]
[fixed]
spatial_shape = [5]
channels = [2, 3]
rank = 1
bandwidth = 1
[grid]
target = ["random", "lowrank", "bandlimited"]
depth = [1, 3]
[[jobs]]
target = "identity"
channels = [2, 2]
spatial_shape = [3, 2]
depth = 4
normalization = "plain"
seeds = [0]
""")
    path = tmp_path / "lin.sqlite"
    with Store(path) as store:
        assert run_sweep(cfg, store, pool, progress=False).done == 13
    rows = read_rows(path)
    assert len(rows) == 13
    wrapped = np.minimum(np.arange(5), 5 - np.arange(5))     # |m| on Z_5
    for row in rows:
        p, seed = row["params"], row["seed"]
        assert row["result_status"] == "optimal" and row["lower"] == row["upper"]
        assert row["residual"] < 1e-10
        if p["target"] == "random":   # the documented construction, rebuilt here
            kernel = np.random.default_rng(seed).standard_normal((2, 3, 5))
            ref = bf.t1_from_dense(kernel, p["depth"])
            assert row["value"] == pytest.approx(ref["value"], rel=1e-10)
            assert row["result"]["r0"] == ref["r0"] == 10
        elif p["target"] == "lowrank":
            assert max(np.ravel(row["result"]["cbn_rank"])) <= 1
            assert row["result"]["r0"] <= 5
        elif p["target"] == "bandlimited":
            rank = np.array(row["result"]["cbn_rank"])
            assert np.all(rank[wrapped > 1] == 0) and np.all(rank[wrapped <= 1] == 2)
        else:  # identity, plain normalisation: (L / d) * sum of C*d unit singular values
            assert row["value"] == pytest.approx(4 * 2, rel=1e-12)
        prov = row["provenance"]
        assert prov["hostname"] == socket.gethostname() and prov["numpy"] == np.__version__
        assert prov["pid"] != os.getpid() and prov["cbntheory"]


def test_progress_bar_reaches_total(tmp_path, pool):
    cfg = load_config(h.echo_config(tmp_path / "e.toml", range(6)))
    out = io.StringIO()
    with Store(tmp_path / "s.sqlite") as store:
        run_sweep(cfg, store, pool, progress=Progress(len(cfg.jobs), stream=out))
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("sweep [") and "6/6 (6 done, 0 failed), 0 running" in last


def _cli(*args):
    return main(["sweep", *map(str, args)])


def test_cli_run_status_and_exit_codes(tmp_path, capsys):
    cfg = h.echo_config(tmp_path / "e.toml", [1, 2, 3], extra="[[jobs]]\nfail = true\n")
    store = tmp_path / "s.sqlite"
    assert _cli(cfg, "--store", store, "--workers", 1, "--no-progress") == 1  # one failed
    out = capsys.readouterr().out
    assert "4 jobs: 3 done, 1 failed, 0 pending" in out
    assert _cli(cfg, "--store", store, "--status") == 0
    out = capsys.readouterr().out
    assert f"store {store}: 4 jobs: 3 done, 1 failed, 0 running, 0 pending" in out
    assert "failed: echo" in out and "RuntimeError" in out
    assert _cli("--store", store, "--status") == 0             # CONFIG optional here
    bigger = h.echo_config(tmp_path / "f.toml", [1, 2, 3, 4, 5])
    assert _cli(bigger, "--store", store, "--status") == 0
    assert "f.toml: 5 jobs: 3 done, 0 failed, 0 running, 2 pending" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["--workers", 0], ["--workers must be >= 1"]),
    (["--workers", 2, "--scheduler", "tcp://127.0.0.1:1"], ["--workers must not be combined"]),
])
def test_cli_bad_options(tmp_path, capsys, args, words):
    cfg = h.echo_config(tmp_path / "e.toml", [1])
    assert _cli(cfg, "--store", tmp_path / "s.sqlite", *args) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert not (tmp_path / "s.sqlite").exists()


def test_cli_reports_config_and_store_errors_in_one_line(tmp_path, capsys):
    bad = h.write(tmp_path / "bad.toml", '[sweep]\nkind = "echo"\n[grid]\nz = [1]\n')
    assert _cli(bad, "--store", tmp_path / "s.sqlite") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cbn sweep: error: ") and f"{bad}, line 4 ([grid] z)" in err
    assert "\n" not in err
    foreign = tmp_path / "foreign.sqlite"
    foreign.write_text("not a database")
    good = h.echo_config(tmp_path / "e.toml", [1])
    assert _cli(good, "--store", foreign, "--no-progress") == 2
    assert "refusing" in capsys.readouterr().err
    assert _cli("--store", tmp_path / "none.sqlite", "--status") == 2
    assert "no such file" in capsys.readouterr().err
    assert _cli("--store", tmp_path / "x.sqlite") == 2
    assert "CONFIG.toml must be given" in capsys.readouterr().err
