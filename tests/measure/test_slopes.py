"""Slopes and sources of the bound tables (issue 11): a slope is fitted only through at least
three depths whose upper bounds come from one solver or closed form, never across a switch
of source, construction slopes are apart and "by construction"; no rendered row has
``upper < lower``; every row shows its residual and source; the certified R0 interval."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory import settings
from cbntheory.measure.tables import (
    CONSTRUCTION,
    BoundTable,
    DepthRow,
    consistent_row,
    fit_rows,
    fit_slope,
    source_of,
)
from cbntheory.measure.tabulate import operator_table, r0_interval
from cbntheory.output.render import render
from cbntheory.theory.lipschitz import lipschitz_lower_bound

SOLVER_NAME = "augmented Lagrangian + L-BFGS-B (cbntheory.solvers.augmented), rebalanced"


def ls_slope(L, R):
    """Least-squares slope from the normal equations (no numpy fit)."""
    L, R = np.asarray(L, float), np.asarray(R, float)
    return float(np.sum((L - L.mean()) * (R - R.mean())) / np.sum((L - L.mean()) ** 2))


def row(L, upper, solver, lower=None, residual=1e-9):
    return DepthRow(L, lower, upper, "not_certified", "", solver, 0, 0.1, residual)


def table(rows, **kw):
    rows = tuple(rows)
    return BoundTable("toy", "toy", "", "data", "relu", 1, 3, 1.0, None, None, rows,
                      fit_rows(rows), {}, construction_fit=fit_rows(rows,
                                                                   eligible=(CONSTRUCTION,)),
                      **kw)


def test_source_names_of_the_producers():
    assert source_of("closed_form_T1") == source_of("closed form (T1)") == "closed_form"
    assert source_of("cbn_construction") == "construction"
    assert source_of("convex group lasso (CLARABEL)") == "convex"
    assert source_of(SOLVER_NAME) == "solver"
    # a combined row names its best producer in upper_from, or in its message
    combined = DepthRow(3, 3.0, 9.0, "not_certified", "upper bound from cbn_construction; x",
                        "lipschitz_bound; cbn_construction; " + SOLVER_NAME)
    assert combined.source == "construction"
    assert DepthRow(3, 3.0, None, "solver_error", "", SOLVER_NAME).source == ""


def test_two_eligible_depths_give_no_slope():
    # the digits_autoencoder case: two solved depths fit any line with rms 0
    t = table([row(1, 10.0, SOLVER_NAME), row(2, 14.0, SOLVER_NAME), row(3, None, "")])
    assert t.fit is None
    assert json.loads(render([t], "json"))["tables"][0]["fit"] is None
    assert "no slope (fewer than three" in render([t], "md")


def test_construction_slope_is_apart_and_labelled():
    rows = [row(L, 3.0 * L + 2.0, "cbn_construction") for L in (4, 5, 6, 7, 8)]
    t = table(rows)
    assert t.fit is None                      # by design, not evidence
    assert t.construction_fit.by_construction
    assert t.construction_fit.slope == pytest.approx(3.0)
    data = json.loads(render([t], "json"))["tables"][0]
    assert data["fit"] is None and data["fit_by_construction"]["source"] == "construction"
    assert "by construction" in render([t], "md") and "by construction" in render([t], "tex")


def test_no_fit_across_a_switch_of_source():
    # solver at L = 2..5, construction at 6..8 (the shape_pattern_1d case): the solver's
    # run is fitted alone, the construction's apart; neither straddles the switch
    R = {2: 9.0, 3: 12.2, 4: 15.1, 5: 18.3, 6: 25.0, 7: 28.0, 8: 31.0}
    rows = [row(L, R[L], SOLVER_NAME if L <= 5 else "cbn_construction") for L in sorted(R)]
    t = table(rows)
    assert t.fit.depths == (3, 4, 5) and t.fit.source == "solver"
    assert t.fit.slope == pytest.approx(ls_slope([3, 4, 5], [R[3], R[4], R[5]]))
    assert t.construction_fit.depths == (6, 7, 8)
    mixed = ls_slope([5, 6, 7, 8], [R[5], R[6], R[7], R[8]])        # what a mixed fit says
    assert abs(mixed - t.fit.slope) > 1.0
    # a single construction row among solver rows breaks the run: the deepest run of at
    # least three solver depths (1, 2, 3) is fitted, never 3..6 across the switch
    rows = [row(L, 3.0 * L, "cbn_construction" if L == 4 else SOLVER_NAME) for L in range(1, 7)]
    assert fit_rows(rows).depths == (1, 2, 3)


def test_sources_must_match_depths():
    with pytest.raises(cbn.ValidationError, match="sources"):
        fit_slope([1, 2, 3], [1.0, 2.0, 3.0], ["solver"] * 2)


def test_fit_needs_setting_many_depths():
    n = settings.SLOPE_MIN_DEPTHS
    Ls = list(range(1, n + 1))
    assert fit_slope(Ls[:-1], [2.0 * L for L in Ls[:-1]], ["solver"] * (n - 1)) is None
    assert fit_slope(Ls, [2.0 * L for L in Ls], ["solver"] * n).slope == pytest.approx(2.0)


def _rendered_pairs(t):
    """(lower, upper) of every row as printed, from all four formats."""
    out = []
    data = json.loads(render([t], "json"))["tables"][0]["rows"]
    out += [(r["lower"], r["upper"]) for r in data]
    text = render([t], "csv")
    for r in csv.DictReader(x for x in io.StringIO(text) if not x.startswith("#")):
        out.append((float(r["lower"]) if r["lower"] else None,
                    float(r["upper"]) if r["upper"] else None))
    for fmt, missing in (("md", "—"), ("tex", "---")):
        lines = render([t], fmt).splitlines()
        for line in lines:
            cells = [c.strip() for c in line.strip("|").rstrip("\\ ").replace("&", "|")
                     .split("|")]
            if len(cells) > 3 and cells[0].isdigit():
                lo, up = (None if c == missing else float(c) for c in cells[1:3])
                out.append((lo, up))
    return out


def test_no_rendered_row_has_upper_below_lower():
    rows = [row(1, 11.071, SOLVER_NAME, lower=11.0889, residual=1e-6),   # the depth 1
            row(2, 8.0, SOLVER_NAME, lower=8.0 + 1e-12),                # round-off
            row(3, 9.0, SOLVER_NAME, lower=5.0),
            row(4, None, "", lower=4.0)]
    t = table(rows)
    pairs = _rendered_pairs(t)
    assert len(pairs) == 4 * 4
    for lo, up in pairs:
        assert lo is None or up is None or up >= lo
    first = t.rows[0]
    assert first.upper is None and first.lower == 11.0889
    assert first.status == "optimal_inaccurate" and "11.071" in first.message
    assert t.rows[1].lower == t.rows[1].upper == 8.0         # a lower bound lowered is certified
    assert t.rows[2] == rows[2]                              # an honest row is untouched


def test_consistent_row_on_random_rows():
    rng = np.random.default_rng(3)
    for _ in range(200):
        lo, up = rng.uniform(0, 10, 2)
        lo = lo if rng.random() < 0.8 else None
        r = consistent_row(row(2, float(up), SOLVER_NAME, lower=lo))
        assert r.lower is None or r.upper is None or r.upper >= r.lower
        if lo is not None and r.lower is not None:
            assert r.lower <= lo                              # lower bounds only go down


def test_residual_and_source_columns_in_every_format():
    A = cbn.ConvOperator(np.array([[[2.0, 1.0, 0.0, 1.0]]]))
    t = operator_table("toy", A, depths=[1, 2, 3])
    data = json.loads(render([t], "json"))["tables"][0]
    for r, depth_row in zip(data["rows"], t.rows):
        assert r["source"] == "closed_form" and r["residual"] == depth_row.residual
        assert r["residual"] < 1e-12
    assert data["fit"]["source"] == "closed_form" and data["object"] == "R"
    text = render([t], "csv")
    crow = list(csv.DictReader(x for x in io.StringIO(text) if not x.startswith("#")))
    assert crow[0]["source"] == "closed_form" and float(crow[0]["residual"]) < 1e-12
    assert "| residual | upper from |" in render([t], "md")
    assert "residual & upper from" in render([t], "tex")


def test_r_eps_is_named_when_an_epsilon_is_asked():
    t = table([row(L, 3.0 * L, SOLVER_NAME) for L in (2, 3, 4)], epsilon=1e-3)
    assert "R_eps (eps = 0.001)" in render([t], "md")
    assert json.loads(render([t], "json"))["tables"][0]["epsilon"] == 1e-3
    assert "exact interpolation" in render([table([])], "md")


def test_r0_interval_of_a_data_target_against_its_pieces():
    t = cbn.targets.get("shift_autoencoder_1d")
    low, high, how = r0_interval(t, True)
    X, Y = t.data(quick=True)
    # lower side: the Lipschitz bound divided by L tends to it as L grows (from above,
    # within log(gamma Lambda^2)/L here)
    b = lipschitz_lower_bound(t.architecture(400, quick=True), X, Y)
    assert b.value / 400 == pytest.approx(low, abs=0.02)
    # upper side: the slope of the construction's norms, measured from two depths.  The
    # target's architecture has biases, so the bias-aware construction applies: its norm
    # is rank * L + C(L) with C bounded but not constant (the amplitude profile is
    # re-optimised at every depth), so the slope is measured far out and may exceed the
    # rank by the slow growth of C, never fall below it.
    bias = t.architecture(4, quick=True).bias
    c32, c64 = (t.construction(L, quick=True, bias_aware=bias) for L in (32, 64))
    slope = (c64.network.param_norm() - c32.network.param_norm()) / 32
    assert high <= slope <= high + 0.1
    assert high == 2.0  # Rank_CBN with biases of the 1D shift autoencoder (bias-free: 3)
    assert "Lipschitz" in how and "by construction" in how


def test_r0_interval_of_a_linear_target_is_t1():
    t = cbn.targets.get("bandlimited_1d")
    low, high, _ = r0_interval(t, True)
    assert low == high == t.rank_j


def test_downsampling_rows_pass_the_same_check():
    from cbntheory.measure.downsampling import DownsamplingComparison

    bad = row(3, 5.0, SOLVER_NAME, lower=7.0, residual=1e-6)
    c = DownsamplingComparison("t", 2, "", False, (bad,), (row(3, 9.0, SOLVER_NAME, 7.0),), 3)
    assert c.plain[0].upper is None and c.plain[0].status == "optimal_inaccurate"
    assert c.downsampled[0].upper == 9.0


def test_cli_table_json_has_null_fit_with_two_depths(tmp_path):
    from cbntheory.cli import main

    out = tmp_path / "t.json"
    assert main(["table", "bandlimited_1d", "--depths", "1,2", "--format", "json", "--out",
                 str(out), "--no-progress"]) == 0
    data = json.loads(out.read_text())["tables"][0]
    assert data["fit"] is None and all(r["source"] == "closed_form" for r in data["rows"])
    assert data["r0_certified"]["low"] == data["r0_certified"]["high"] == 7
