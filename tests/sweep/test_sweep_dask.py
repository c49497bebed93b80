"""Sweeps through a real dask.distributed LocalCluster (two worker processes on loopback):
results come back through the client into the store; an unreachable scheduler fails
fast with its address in the message."""
from __future__ import annotations

import os
import socket

import _bruteforce as bf
import _sweep_helpers as h
import numpy as np
import pytest

from cbntheory import settings
from cbntheory.cli import main
from cbntheory.sweep.config import load_config, parse_config
from cbntheory.sweep.executor import DaskExecutor, SchedulerError
from cbntheory.sweep.runner import run_sweep
from cbntheory.sweep.store import Store, read_rows

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # the workers are new processes: make sure they import this checkout of cbntheory
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = h.env()["PYTHONPATH"]
    try:
        cl = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            # port 0: a random free port (the default 8787 may be taken, which dask warns about)
            dashboard_address="127.0.0.1:0",
            local_directory=str(tmp_path_factory.mktemp("dask")))
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    try:
        yield cl
    finally:
        cl.close()


def _worker_pids(executor):
    return set(executor.client.run(os.getpid).values())


def test_sweep_on_local_cluster_stores_results_from_both_workers(tmp_path, cluster):
    log = tmp_path / "starts.log"
    cfg = load_config(h.echo_config(tmp_path / "e.toml", range(8), seeds=(0, 2), sleep=0.2,
                                    log=log, extra="[[jobs]]\nfail = true\nseeds = [1]\n"))
    path = tmp_path / "s.sqlite"
    with DaskExecutor(cluster.scheduler_address) as ex, Store(path) as store:
        assert ex.capacity == 4                       # 2 workers x 1 thread, kept 2 deep
        workers = _worker_pids(ex)
        summary = run_sweep(cfg, store, ex, progress=False)
        assert (summary.total, summary.done, summary.failed) == (17, 16, 1)
        again = run_sweep(cfg, store, ex, progress=False)
        assert again.ran == 0
    rows = read_rows(path, None)
    assert len(rows) == 17 and len({(r["params"]["x"], r["seed"]) for r in rows}) == 17
    pids = set()
    for row in rows:
        if row["status"] == "failed":
            assert row["error"].startswith("RuntimeError: echo job asked to fail")
            assert (row["params"]["x"], row["seed"]) == (0.0, 1)
        else:
            assert row["value"] == row["params"]["x"] + row["seed"]
        pids.add(row["provenance"]["pid"])
    assert pids == workers and len(workers) == 2      # both worker processes did jobs
    assert os.getpid() not in pids
    assert set(h.log_counts(log).values()) == {1}     # no job ran twice


def test_linear_cost_on_cluster_matches_dense_svd(tmp_path, cluster):
    cfg = parse_config('[sweep]\nkind = "linear_cost"\nseeds = [3, 4]\n[fixed]\n'
                       'target = "random"\nspatial_shape = [2, 3]\nchannels = [3, 2]\n'
                       '[grid]\ndepth = [1, 2, 5]\n')
    path = tmp_path / "lin.sqlite"
    with DaskExecutor(cluster.scheduler_address) as ex, Store(path) as store:
        assert run_sweep(cfg, store, ex, progress=False).done == 6
    for row in read_rows(path):
        kernel = np.random.default_rng(row["seed"]).standard_normal((3, 2, 2, 3))
        ref = bf.t1_from_dense(kernel, row["params"]["depth"])
        assert row["value"] == pytest.approx(ref["value"], rel=1e-10)
        assert row["result"]["r1"] == pytest.approx(ref["r1"], rel=1e-9, abs=1e-12)


def test_bound_row_sweep_on_cluster_matches_direct_tables(tmp_path, cluster):
    """A small bound_row sweep through the cluster: the rows equal a direct bound_table
    run with the same seed and options, and the ReLU row's network comes back into the
    store (it reproduces the data, re-checked by the direct forward pass)."""
    from cbntheory import targets
    from cbntheory.measure.tables import tables_from_store
    from cbntheory.measure.tabulate import bound_table
    from cbntheory.output.artifacts import direct_forward, direct_norm
    from cbntheory.results import relative_residual
    from cbntheory.sweep.kinds import NETWORK_FILE, network_from_bytes

    cfg = parse_config('[sweep]\nkind = "bound_row"\nseeds = [1]\n[fixed]\nquick = true\n'
                       '[grid]\ntarget = ["mixer_1d", "shift_autoencoder_1d"]\n'
                       'depth = [1]\n[[jobs]]\ntarget = "mixer_1d"\ndepth = 4\n')
    path = tmp_path / "rows.sqlite"
    with DaskExecutor(cluster.scheduler_address) as ex, Store(path) as store:
        assert run_sweep(cfg, store, ex, progress=False).done == 3
        relu = [r for r in store.rows() if r["params"]["target"] == "shift_autoencoder_1d"]
        net = network_from_bytes(store.artifact(relu[0]["job_key"], NETWORK_FILE))
    X, Y = targets.get("shift_autoencoder_1d").data(quick=True)
    assert relative_residual(direct_forward(net, X), Y) <= settings.FIT_RTOL
    assert direct_norm(net) == pytest.approx(relu[0]["upper"], rel=1e-9)
    for table in tables_from_store(read_rows(path)):
        ref = bound_table(table.target, [r.depth for r in table.rows], quick=True, rng=1,
                          max_iter=settings.QUICK_MAX_ITER)
        assert [(r.depth, r.lower, r.upper, r.status) for r in table.rows] == \
            [(r.depth, r.lower, r.upper, r.status) for r in ref.rows]


def test_cli_with_scheduler(tmp_path, cluster, capsys):
    cfg = h.echo_config(tmp_path / "e.toml", [5, 6, 7])
    store = tmp_path / "s.sqlite"
    assert main(["sweep", cfg, "--store", str(store), "--scheduler",
                 cluster.scheduler_address, "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "3 jobs: 3 done" in captured.out and f"dask: {cluster.scheduler_address}" in \
        captured.err
    assert sorted(v for (v,) in h.query(store, "SELECT value FROM jobs")) == [5.0, 6.0, 7.0]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_fails_fast_naming_the_address(tmp_path, capsys, monkeypatch):
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(SchedulerError, match=address.replace(".", r"\.")):
        DaskExecutor(address, timeout=1)
    monkeypatch.setattr(settings, "SWEEP_SCHEDULER_TIMEOUT", 1.0)
    cfg = h.echo_config(tmp_path / "e.toml", [1])
    store = tmp_path / "s.sqlite"
    assert main(["sweep", cfg, "--store", str(store), "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert address in err and "within 1 s" in err
    assert not store.exists()                        # nothing created for a failed start
