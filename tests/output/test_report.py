"""``cbn report``: one quick run (links resolve, tables parse and match dense SVDs, figures
exist, statuses and exit code agree with checks.json) and small plans for the failure
modes (unwritable directory, failing item, failing solver, interruption, progress bar)."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import shutil
from pathlib import Path

import _bruteforce as bf
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.cli import main
from cbntheory.measure import intervals
from cbntheory.output.report import PLANS, Plan, run_report

LINK = re.compile(r"\]\(([^)\s]+)\)")


#: Two linear targets (1D and 2D) keep the report's tests small: every table costs two
#: figures in two formats, about 2 s on a loaded machine.
LINEAR = ("bandlimited_1d", "bandlimited_2d")

#: The quick plan cut down for the tests (issue 15: the whole quick report took ~110 s of
#: the suite): the same data targets, items, figures, process pool and CLI path, with
#: two linear targets, depths 1-3, the checks that take well under a second (T6, T7,
#: PE2020, T3 and SYM-conv are tested in tests/checks), one T7 stride and 1,000
#: iterations per solve.
TEST_PLAN = dataclasses.replace(
    PLANS["quick"], name="quick (tests)", data_depths="1-3", linear_targets=LINEAR,
    bottleneck=("shift_autoencoder_1d", 3), max_iter=1000,
    downsampling=(("shift_autoencoder_1d", 2),),
    checks=("T1", "T1-data", "T1-kernel", "T2", "T3-construction", "T4", "T5",
            "SYM-scalar", "SYM-series", "GLSS2018", "deep-linear-FC", "SESS2019"))


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:  # `cbn report --quick` runs TEST_PLAN
        mp.setitem(PLANS, "quick", TEST_PLAN)
        code = main(["report", "--out", str(out), "--quick", "--no-progress"])
    return out, code


@pytest.mark.slow  # runs the whole quick report (about a minute)
def test_every_link_of_the_index_resolves(quick_report):
    out, _ = quick_report
    index = (out / "index.md").read_text()
    links = LINK.findall(index)
    assert len(links) > 30
    for link in links:
        assert (out / link).is_file(), link
    assert "state: finished" in index and "## Closing note" in index


@pytest.mark.slow  # runs the whole quick report (about a minute)
def test_tables_parse_and_match_dense_svd(quick_report):
    out, _ = quick_report
    everything = json.loads((out / "tables" / "all.json").read_text())
    names = [t["target"] for t in everything["tables"]]
    assert set(TEST_PLAN.data_targets) <= set(names)
    assert set(LINEAR) <= set(names)
    for name in names:
        data = json.loads((out / "tables" / f"{name}.json").read_text())
        rows = data["tables"][0]["rows"]
        text = (out / "tables" / f"{name}.csv").read_text()
        parsed = list(csv.DictReader(ln for ln in io.StringIO(text) if not ln.startswith("#")))
        assert [int(r["depth"]) for r in parsed] == [r["depth"] for r in rows]
        md = (out / "tables" / f"{name}.md").read_text()
        assert md.count("\n| ") >= len(rows) + 2
        tex = (out / "tables" / f"{name}.tex").read_text()
        assert r"\toprule" in tex and r"\bottomrule" in tex
        for r in rows:          # every row has a status; a missing lower bound is null
            assert r["status"] in cbn.STATUSES + ("skipped",)
            assert r["lower"] is None or r["upper"] is None or r["lower"] <= r["upper"] * 1.000001
    A = cbn.targets.get("bandlimited_1d").operator()
    s = bf.dense_singular_values(bf.dense_matrix(A.kernel))
    s = s[s > 0]
    rows = json.loads((out / "tables" / "bandlimited_1d.json").read_text())["tables"][0]["rows"]
    assert [r["depth"] for r in rows] == list(range(1, 17))
    for r in rows:
        assert np.isclose(r["upper"], r["depth"] * np.sum(s ** (2.0 / r["depth"])), rtol=1e-10)


@pytest.mark.slow  # runs the whole quick report (about a minute)
def test_figures_exist_as_png_and_pdf(quick_report):
    out, _ = quick_report
    figures = out / "figures"
    stems = {p.stem for p in figures.glob("*.png")}
    tables = json.loads((out / "tables" / "all.json").read_text())["tables"]
    expected = {f"cost_{t['target']}" for t in tables} | {
        "bottleneck_weights", "bottleneck_activations", "linear_bottleneck_weights",
        "downsampling"}
    assert expected <= stems
    for stem in expected:
        assert (figures / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (figures / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.slow  # runs the whole quick report (about a minute)
def test_statuses_and_exit_code_agree_with_the_checks(quick_report):
    out, code = quick_report
    checks = json.loads((out / "checks.json").read_text())
    index = (out / "index.md").read_text()
    for c in checks:
        assert f"| check {c['label']} | {c['verdict']} |" in index
    rows = [line for line in index.splitlines() if line.startswith("| ")]
    statuses = [line.split("|")[2].strip() for line in rows
                if line.startswith(("| table ", "| check "))]
    assert "pending" not in statuses and "running" not in statuses
    assert "failed" not in statuses
    bad = [c for c in checks if c["verdict"] == "error"
           or (c["kind"] == "exact" and c["verdict"] == "violated")]
    assert code == (1 if bad else 0)
    assert (f"{sum(c['verdict'] == 'holds' for c in checks if c['kind'] == 'exact')} of "
            f"{sum(c['kind'] == 'exact' for c in checks)} exact statements hold") in index


def _small(**changes):
    base = Plan("test", "1-2", "2", (), time_limit=2.0, budget=60.0,
                bottleneck=("shift_autoencoder_1d", 2), downsampling=(),
                downsampling_depths=(3,), workers=1, checks=("t1_linear_cost",),
                linear_targets=LINEAR)
    return Plan(**{**base.__dict__, **changes})


def test_unwritable_directory_is_reported_not_fatal(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = run_report(blocker / "report", plan=_small(), progress=False)
    try:
        assert result.directory != blocker / "report" and result.exit_status == 1
        assert "not writable" in result.notes[0]
        index = result.index.read_text()
        assert "not writable" in index and "| check T1 | holds |" in index
    finally:
        shutil.rmtree(result.directory)


def test_a_failing_item_is_a_status_with_a_log(tmp_path):
    result = run_report(tmp_path, plan=_small(bottleneck=("no_such_target", 3)),
                        progress=False)
    by_key = {it.key: it for it in result.items}
    failed = by_key["figure bottleneck"]
    assert failed.status == "failed" and "valid names" in failed.message
    assert result.exit_status == 1
    log = next(f for f in failed.files if f.startswith("logs/"))
    assert "Traceback" in (tmp_path / log).read_text()
    assert by_key["figure linear_bottleneck"].status == "done"
    assert "| table bandlimited_1d | done |" in (tmp_path / "index.md").read_text()


def test_a_failing_solver_shows_in_the_table(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("solver on fire")

    monkeypatch.setattr(intervals, "minimal_norm", broken)
    result = run_report(tmp_path, plan=_small(data_targets=("shift_autoencoder_1d",)),
                        progress=False)
    table = json.loads((tmp_path / "tables" / "shift_autoencoder_1d.json").read_text())
    row = table["tables"][0]["rows"][0]
    assert row["depth"] == 2 and "RuntimeError: solver on fire" in row["message"]
    assert row["upper"] is not None and row["status"] == "not_certified"   # the construction
    assert result.exit_status == 0


def test_an_interruption_keeps_what_was_written(tmp_path, monkeypatch):
    from cbntheory.output import report_items as _report_items

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_report_items, "run_cost_figure", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_report(tmp_path, plan=_small(), progress=False)
    index = (tmp_path / "index.md").read_text()
    assert "| check T1 | holds |" in index and "| table bandlimited_1d | done |" in index
    assert "| table bandlimited_2d | pending |" in index
    assert (tmp_path / "tables" / "bandlimited_1d.json").is_file()


def test_progress_bar_on_a_stream(tmp_path):
    stream = io.StringIO()
    result = run_report(tmp_path, plan=_small(checks=()), stream=stream)
    lines = stream.getvalue().splitlines()
    n = len(result.items)
    assert lines[-1].startswith(f"report [{'#' * 24}] {n}/{n}")
    assert all(line.startswith("report [") for line in lines)


def test_cli_report_refuses_a_negative_seed(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path), "--seed", "-1"]) == 2
    assert "--seed" in capsys.readouterr().err
    assert not any(Path(tmp_path).iterdir())


def test_the_quick_t7_comparison_runs_at_its_own_width():
    # the quick width 2 has no interpolating down-sampled network (issue 15); the plan's
    # T7 width reaches the rows: the plain row's network has that width and fits the data
    # (forward pass here, norm recomputed here)
    from cbntheory.measure.tabulate import measure_named

    width = PLANS["quick"].downsampling_width
    assert width is not None and width > cbn.targets.get("shift_autoencoder_1d").quick_width
    row = measure_named("shift_autoencoder_1d", 3, quick=True, width=width, max_iter=20)
    X, Y = cbn.targets.get("shift_autoencoder_1d").data(quick=True)
    assert row.network.architecture.channels == (1, width, width, 1)
    assert np.linalg.norm(row.network(X) - Y) <= 1e-6 * np.linalg.norm(Y)
    assert row.upper == pytest.approx(row.network.param_norm(), rel=1e-12)


def test_the_default_plan_reaches_the_issues_depths():
    from cbntheory.measure.tables import parse_depths

    depths = dict(PLANS["default"].target_depths)
    assert max(parse_depths(depths["shift_autoencoder_1d"])) == 32
    assert max(parse_depths(depths["shift_autoencoder_2d"])) == 16
    assert set(range(1, 9)) <= set(parse_depths(depths["shift_autoencoder_1d"]))


def test_a_per_target_budget_reaches_the_solves_and_the_provenance(monkeypatch, tmp_path):
    # the report's table item hands bound_table the target's own budget, and that table's
    # provenance says which (the combined tables list the per-target budgets)
    import types

    from cbntheory.measure import tabulate
    from cbntheory.output import report_items

    plan = dataclasses.replace(PLANS["quick"], max_iter=11,
                               target_max_iter=(("shift_autoencoder_1d", 22),))
    assert plan.iterations("shift_autoencoder_1d") == 22 and plan.iterations("other") == 11
    seen = {}

    def fake_table(target, depths, **kw):
        seen["max_iter"] = kw["max_iter"]
        raise RuntimeError("stop here")

    monkeypatch.setattr(tabulate, "bound_table", fake_table)  # imported at the call
    run = types.SimpleNamespace(plan=plan, seed=0, stored_rows=None, deadline=None,
                                state=types.SimpleNamespace(bar=None), pool=lambda: None)
    with pytest.raises(RuntimeError, match="stop here"):
        report_items.run_table(run, types.SimpleNamespace(key="k"), "shift_autoencoder_1d")
    assert seen["max_iter"] == 22
    assert report_items._provenance(run, "shift_autoencoder_1d")["max_iter"] == 22
    combined = report_items._provenance(run)
    assert combined["max_iter"] == 11
    assert combined["target_max_iter"] == {"shift_autoencoder_1d": 22}


def test_t7_reuses_a_targets_plain_rows_across_strides():
    # the report solves a target's plain rows once for all its strides: the comparison
    # given them keeps them and its down-sampled rows are those of a full comparison
    from cbntheory.errors import ValidationError
    from cbntheory.measure.tabulate import downsampling_comparison

    opts = dict(quick=True, max_iter=5)
    full = downsampling_comparison("shift_autoencoder_1d", 6, (3,), **opts)
    reused = downsampling_comparison("shift_autoencoder_1d", 6, (3,), plain=full.plain, **opts)
    assert reused.plain == full.plain
    assert [(r.status, r.upper) for r in reused.downsampled] == [
        (r.status, r.upper) for r in full.downsampled]
    with pytest.raises(ValidationError, match="plain"):
        downsampling_comparison("shift_autoencoder_1d", 6, (3, 4), plain=full.plain, **opts)
