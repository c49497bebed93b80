"""``bound_row`` jobs: one row of ``cbn table`` each, the network behind it in the store.

The references are independent of the sweep machinery: a direct ``bound_table`` call /
``cbn table`` run with the same seed and options, the network re-read from the store's
bytes and checked by the direct (pixel-space) forward pass and norm of
``output/artifacts``, and the store read with plain sqlite3."""
from __future__ import annotations

import dataclasses
import inspect
import json
import signal

import _sweep_helpers as h
import pytest

from cbntheory import settings, targets
from cbntheory.cli import main
from cbntheory.errors import ParamError
from cbntheory.measure.tables import tables_from_store
from cbntheory.measure.tabulate import bound_table
from cbntheory.output.artifacts import direct_forward, direct_norm
from cbntheory.results import relative_residual
from cbntheory.sweep.jobs import job_key, normalize_params, run_job
from cbntheory.sweep.kinds import NETWORK_FILE, TABLE_OPTIONS, network_from_bytes

TARGETS = ("mixer_1d", "shift_autoencoder_1d")
DEPTHS = (1, 2, 3)
MAX_ITER = 300  # a small budget keeps the test short; both sides use it


def test_parameters_follow_cbn_table():
    p = normalize_params("bound_row", {"target": "mixer_1d", "depth": 2, "quick": True})
    assert p == {"target": "mixer_1d", "depth": 2, "quick": True, "restarts": 1,
                 "max_iter": settings.QUICK_MAX_ITER, "time_limit": None, "epsilon": None}
    assert normalize_params("bound_row", dict(p, epsilon=0)) == p   # eps = 0 is R itself
    # the quick budget written out or left to its default is one job, not two
    explicit = normalize_params("bound_row", dict(p))
    assert job_key("bound_row", explicit, 0) == job_key("bound_row", p, 0)
    assert set(TABLE_OPTIONS) <= set(inspect.signature(bound_table).parameters)  # pass-through
    with pytest.raises(ParamError, match="valid targets|one of"):
        normalize_params("bound_row", {"target": "no_such_target", "depth": 1})
    with pytest.raises(ParamError, match="not a parameter"):
        normalize_params("bound_row", {"target": "mixer_1d", "depth": 1, "path": "/tmp/x"})
    with pytest.raises(ParamError, match="> 0"):
        normalize_params("bound_row", {"target": "mixer_1d", "depth": 1, "time_limit": 0})


def _direct_row(target, depth, seed, **options):
    return bound_table(target, [depth], rng=seed, **options).rows[0]


def test_a_linear_row_equals_the_direct_table_row():
    p = normalize_params("bound_row", {"target": "mixer_1d", "depth": 3, "quick": True})
    out = run_job("bound_row", p, 4)
    assert out["ok"], out.get("error")
    ref = _direct_row("mixer_1d", 3, 4, quick=True, max_iter=settings.QUICK_MAX_ITER)
    res = out["result"]
    assert (res["lower"], res["upper"], res["status"]) == (ref.lower, ref.upper, ref.status)
    assert out["artifacts"] == {}       # closed form: target and depth rebuild it (T1)


def test_a_data_row_stores_a_network_that_reproduces_the_data():
    """Depth 1 of a data target (affine least-norm map and construction: fast)."""
    name = "shift_autoencoder_1d"
    p = normalize_params("bound_row", {"target": name, "depth": 1, "quick": True})
    out = run_job("bound_row", p, 0)
    assert out["ok"], out.get("error")
    res = out["result"]
    net = network_from_bytes(out["artifacts"][NETWORK_FILE])
    X, Y = targets.get(name).data(quick=True)
    assert relative_residual(direct_forward(net, X), Y) <= settings.FIT_RTOL
    assert direct_norm(net) == pytest.approx(res["upper"], rel=1e-9)
    ref = _direct_row(name, 1, 0, quick=True, max_iter=settings.QUICK_MAX_ITER)
    assert (res["lower"], res["upper"], res["status"]) == (ref.lower, ref.upper, ref.status)


def test_an_r_eps_row_equals_the_direct_table_row():
    """`epsilon` passes through to bound_table (cbn table --epsilon) like every option."""
    name = "shift_autoencoder_1d"
    p = normalize_params("bound_row", {"target": name, "depth": 1, "quick": True,
                                       "epsilon": 1e-2})
    out = run_job("bound_row", p, 0)
    assert out["ok"], out.get("error")
    ref = bound_table(name, [1], quick=True, max_iter=settings.QUICK_MAX_ITER, epsilon=1e-2)
    res = out["result"]
    assert (res["lower"], res["upper"], res["status"]) == \
        (ref.rows[0].lower, ref.rows[0].upper, ref.rows[0].status)
    (table,) = tables_from_store([{"kind": "bound_row", "params": p, "seed": 0,
                                   "status": "done", "result": res, "job_key": "k"}])
    assert table.epsilon == 1e-2 == ref.epsilon
    linear = run_job("bound_row", dict(p, target="mixer_1d"), 0)    # R_eps needs data
    assert not linear["ok"] and "epsilon" in linear["error"]


def _store_rows(path):
    rows = h.query(path, "SELECT job_key, params, status, lower, upper, result_status, "
                         "attempts FROM jobs")
    return [(k, json.loads(p), st, lo, up, rs, a) for k, p, st, lo, up, rs, a in rows]


def _cli(capsys, *args):
    """``cbn <args>`` in this process: (exit status, standard output)."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    return code, capsys.readouterr().out


@pytest.mark.slow
def test_sigkill_after_the_first_job_then_resume_gives_the_direct_tables(tmp_path, capsys):
    """The issue's Must hold: 2 targets x 3 depths, SIGKILL after the first finished job,
    run again; every job stored once, and `cbn table T --from STORE --format json` prints
    the lower/upper/status of `cbn table T --depths 1-3 --format json` with the same seed
    and budgets; the stored networks re-verify with `cbn verify`."""
    cfg = h.write(tmp_path / "rows.toml", f"""
[sweep]
kind = "bound_row"
seeds = [0]
[fixed]
quick = true
max_iter = {MAX_ITER}
[grid]
target = {json.dumps(list(TARGETS))}
depth = {json.dumps(list(DEPTHS))}
""")
    store = tmp_path / "s.sqlite"
    args = ("sweep", cfg, "--store", store, "--workers", 2, "--no-progress")
    proc = h.start_cli(*args, plain=True)
    try:
        h.wait_until(lambda: h.count_status(store, "done") >= 1, timeout=300,
                     what="the first finished job")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        h.kill_group(proc)
        proc.communicate()
    done_at_kill = h.count_status(store, "done")
    assert 1 <= done_at_kill < len(TARGETS) * len(DEPTHS)
    again = h.start_cli(*args, plain=True)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert f"({done_at_kill} were already finished)" in out

    rows = _store_rows(store)
    assert sorted((p["target"], p["depth"]) for _, p, *_ in rows) == sorted(
        (t, L) for t in TARGETS for L in DEPTHS)                 # each job once
    assert all(st == "done" for _, _, st, *_ in rows)
    assert h.query(store, "PRAGMA integrity_check") == [("ok",)]
    nets = dict(h.query(store, "SELECT job_key, length(data) FROM artifacts"))
    data_keys = {k for k, p, *_ in rows if p["target"] == "shift_autoencoder_1d"}
    assert set(nets) == data_keys                               # the ReLU rows' networks

    for target in TARGETS:
        code, text = _cli(capsys, "table", target, "--depths", "1-3", "--quick", "--seed", 0,
                          "--max-iter", MAX_ITER, "--format", "json", "--no-progress")
        direct = json.loads(text)["tables"]
        code, text = _cli(capsys, "table", target, "--from", store, "--format", "json")
        stored = json.loads(text)["tables"]
        assert [t["target"] for t in stored] == [target]
        assert len(stored[0]["rows"]) == len(DEPTHS)
        pick = ("depth", "lower", "upper", "status", "source", "residual", "message")
        for a, b in zip(stored[0]["rows"], direct[0]["rows"], strict=True):
            assert {k: a[k] for k in pick} == {k: b[k] for k in pick}

    table = tmp_path / "t.json"
    code, _ = _cli(capsys, "table", "shift_autoencoder_1d", "--from", store, "--format", "json",
                   "--save-networks", tmp_path, "--out", table)
    assert code == 0
    code, text = _cli(capsys, "verify", table)
    assert code == 0 and text.count(": verified") == len(DEPTHS), text


def test_tables_from_store_mark_unfinished_rows():
    """A store read mid-sweep: a pending job is a skipped row, a failed one an error row."""
    p = normalize_params("bound_row", {"target": "mixer_1d", "depth": 1, "quick": True})
    out = run_job("bound_row", p, 0)["result"]
    rows = [{"kind": "bound_row", "params": p, "seed": 0, "status": "done", "result": out,
             "job_key": "a", "sweep": "s"},
            {"kind": "bound_row", "params": dict(p, depth=2), "seed": 0, "status": "pending",
             "result": None, "job_key": "b", "sweep": "s"},
            {"kind": "bound_row", "params": dict(p, depth=3), "seed": 0, "status": "failed",
             "result": None, "error": "RuntimeError: boom", "job_key": "c", "sweep": "s"}]
    (table,) = tables_from_store(rows)
    assert [(r.depth, r.status) for r in table.rows] == [
        (1, "optimal"), (2, "skipped"), (3, "solver_error")]
    assert table.rank_cbn == bound_table("mixer_1d", [1], quick=True).rank_cbn


def _store_with_rows(path, target, depths, seed, **options):
    """A store holding the bound_row jobs of ``target`` at ``depths``, computed here."""
    from cbntheory.sweep.config import parse_config
    from cbntheory.sweep.store import Store

    fixed = "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
    cfg = parse_config(f'[sweep]\nkind = "bound_row"\nseeds = [{seed}]\n[fixed]\n'
                       f'target = "{target}"\n{fixed}[grid]\ndepth = {list(depths)}\n')
    with Store(path) as store:
        store.add_jobs(cfg.jobs, cfg.name, cfg.config_hash)
        run = store.start_run()
        for job in cfg.jobs:
            store.claim(job.key, run)
            assert store.record(job.key, run, run_job(job.kind, job.params, job.seed))


@pytest.mark.slow
def test_report_tables_read_stored_depths_and_compute_only_the_others(tmp_path, monkeypatch):
    """`cbn report --from`: a table's depths held by the store (same seed, data mode and
    budget) are not computed again; the others are; the joined table has the numbers of a
    direct bound_table over all depths, and the stored networks are saved with it."""
    import cbntheory.measure.tabulate as tabulate
    from cbntheory.output.progress import Progress
    from cbntheory.output.report import PLANS, ReportRun
    from cbntheory.output.report_index import Item
    from cbntheory.output.report_items import run_table
    from cbntheory.sweep.kinds import stored_networks
    from cbntheory.sweep.store import read_rows

    name, seed = "shift_autoencoder_1d", 2
    store = str(tmp_path / "s.sqlite")
    _store_with_rows(store, name, [1, 3], seed, quick=True, max_iter=MAX_ITER)
    plan = dataclasses.replace(PLANS["quick"], data_depths="1-3", workers=1, max_iter=MAX_ITER)
    run = ReportRun(tmp_path / "report", plan, seed=seed, progress=False)
    run.state.bar = Progress(1, enabled=False)
    run.stored_rows = read_rows(store, None)
    run.stored_networks = stored_networks(store, run.stored_rows)
    asked = []
    real = tabulate.bound_table
    monkeypatch.setattr(tabulate, "bound_table",
                        lambda t, depths, **kw: asked.append(list(depths)) or real(t, depths,
                                                                                    **kw))
    item = Item(f"table {name}", "tables", name, fn=lambda _: None)
    run_table(run, item, name)
    assert asked == [[2]]                                  # only the missing depth
    assert "2 of 3 rows from the sweep store" in item.message
    table = run.state.tables[name]
    ref = real(name, [1, 2, 3], quick=True, rng=seed, max_iter=MAX_ITER)
    assert [(r.depth, r.lower, r.upper, r.status) for r in table.rows] == \
        [(r.depth, r.lower, r.upper, r.status) for r in ref.rows]
    saved = [r.network_file for r in table.rows]
    assert all(saved) and all((tmp_path / "report" / f).is_file() for f in saved)
