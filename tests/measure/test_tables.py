"""Bound tables: numbers against dense SVDs (T1), every format parsed back, missing values,
LaTeX booktabs structure, slope fit against the normal equations, data rows, sweep stores,
and ``cbn table``."""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import re
import subprocess
import sys

import _bruteforce as bf
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.cli import main
from cbntheory.measure import intervals
from cbntheory.measure.intervals import data_rows
from cbntheory.measure.tables import (
    BoundTable,
    DepthRow,
    fit_slope,
    parse_depths,
    tables_from_store,
)
from cbntheory.measure.tabulate import bound_table, operator_table
from cbntheory.output.render import CSV_FIELDS, render

LINEAR = [n for n in cbn.targets.names() if cbn.targets.get(n).kind == "operator"]


def dense_t1(kernel, depths):
    """T1 value, R0, R1, R2 per depth from the singular values of the loop-built matrix."""
    s = bf.dense_singular_values(bf.dense_matrix(kernel))
    s = s[s > 0]
    out = {L: float(L * np.sum(s ** (2.0 / L))) for L in depths}
    return out, float(s.size), float(2 * np.sum(np.log(s))), float(2 * np.sum(np.log(s) ** 2))


def csv_rows(text):
    return list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))


def md_rows(text):
    """Data rows of the first Markdown table whose header starts with ``| L |``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| L |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return lines[start], rows


def num(text):
    return None if text in ("", "—", "---") else float(text)


@pytest.mark.parametrize("name", LINEAR)
def test_linear_target_tables_against_dense_svd_in_every_format(name):
    target = cbn.targets.get(name)
    depths = list(range(1, 17))
    ref, r0, r1, r2 = dense_t1(target.operator().kernel, depths)
    table = bound_table(name, "1-16")
    # JSON: full precision
    data = json.loads(render([table], "json"))
    t = data["tables"][0]
    assert t["target"] == name and t["rank_j"] == t["rank_cbn"] == round(r0)
    assert np.isclose(t["r0"], r0) and np.isclose(t["r1_bound"], r1, rtol=1e-9, atol=1e-9)
    assert np.isclose(t["r2"], r2, rtol=1e-9, atol=1e-9)
    for row in t["rows"]:
        L = row["depth"]
        assert row["status"] == "optimal" and row["lower"] == row["upper"]
        assert np.isclose(row["upper"], ref[L], rtol=1e-10)
        assert np.isclose(row["r_over_l"], ref[L] / L, rtol=1e-10)
        assert row["l_rank_j"] == row["l_rank_cbn"] == L * round(r0)
        assert np.isclose(row["excess"], ref[L] - L * r0, rtol=1e-9, atol=1e-9)
        assert np.isclose(row["t1_excess"], r1 + r2 / L, rtol=1e-9, atol=1e-9)
    # the slope: least squares over L = 9..16 computed here from the normal equations
    Ls = np.arange(9, 17.0)
    R = np.array([ref[int(L)] for L in Ls])
    slope = (np.mean(Ls * R) - Ls.mean() * R.mean()) / (np.mean(Ls ** 2) - Ls.mean() ** 2)
    assert t["fit"]["depths"] == list(range(9, 17)) and np.isclose(t["fit"]["slope"], slope)
    # CSV: same numbers, every field present
    rows = csv_rows(render([table], "csv"))
    assert len(rows) == 16 and tuple(rows[0]) == CSV_FIELDS
    for row in rows:
        L = int(row["depth"])
        assert float(row["upper"]) == pytest.approx(ref[L], rel=1e-10)
        assert float(row["lower"]) == float(row["upper"]) and row["status"] == "optimal"
        assert float(row["slope"]) == pytest.approx(slope)
    # Markdown: 6 significant digits
    header, rows = md_rows(render([table], "md"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    assert cols[:4] == ["L", "lower", "upper", "status"]
    assert len(rows) == 16
    for row in rows:
        L = int(row[0])
        assert num(row[2]) == pytest.approx(ref[L], rel=1e-5)
        assert num(row[cols.index("R/L")]) == pytest.approx(ref[L] / L, rel=1e-5)


def test_provenance_is_in_every_format():
    A = cbn.ConvOperator(np.random.default_rng(0).standard_normal((2, 2, 6)))
    table = operator_table("rand", A, "1-3")
    for fmt in ("md", "tex", "csv"):
        text = render([table], fmt)
        for needle in ("cbntheory 0.1.0", "numpy", "cvxpy", "clarabel", "GAP_RTOL", "FIT_RTOL",
                       "statuses", "seeds"):
            assert needle in text, (fmt, needle)
    prov = json.loads(render([table], "json"))
    assert prov["provenance"]["versions"]["scipy"]
    assert "FIT_RTOL" in prov["provenance"]["tolerances"]
    assert prov["tables"][0]["provenance"]["statuses"] == {"optimal": 3}


def test_provenance_names_the_blas_kernels_in_use():
    # this process records the kernels threadpoolctl reports; OpenBLAS reads
    # OPENBLAS_CORETYPE when it loads, so a fresh process with a forced kernel must record
    # that one (Nehalem's run on any x86-64 processor of the last fifteen years)
    from threadpoolctl import threadpool_info

    from cbntheory.measure.tables import provenance

    text = provenance()["blas"]
    libs = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    assert libs and all(f"{lib.get('architecture') or 'unknown'} kernels" in text
                       for lib in libs)
    if platform.machine() not in ("x86_64", "AMD64") or not any(
            lib.get("internal_api") == "openblas" for lib in libs):
        pytest.skip("forcing a kernel needs OpenBLAS on x86-64")
    code = "from cbntheory.measure.tables import provenance; print(provenance()['blas'])"
    env = dict(os.environ, OPENBLAS_CORETYPE="Nehalem")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    entries = out.strip().split("; ")
    assert entries and all(e.endswith("(Nehalem kernels)") for e in entries), out


def _uncertified_table():
    rows = (DepthRow(2, None, 9.5, "not_certified", "no lower bound", "x", 3),
            DepthRow(4, 4.0, 14.0, "not_certified", "Lipschitz", "x", 3),
            DepthRow(8, None, None, "solver_error", "it broke | badly", "x", 3))
    return BoundTable("toy_target", "toy", "", "data", "relu", 1, 3, 1.0, None, None, rows,
                      fit_slope([2, 4, 8], [9.5, 14.0, None]))


def test_missing_values_in_every_format():
    table = _uncertified_table()
    _, rows = md_rows(render([table], "md"))
    assert rows[0][1] == "—" and rows[0][3] == "not_certified" and rows[2][2] == "—"
    tex = render([table], "tex")
    first = next(line for line in tex.splitlines() if line.startswith("2 &"))
    cells = [c.strip() for c in first.rstrip("\\ ").split("&")]
    assert cells[1] == "---" and cells[3] == r"not\_certified"
    crow = csv_rows(render([table], "csv"))
    assert crow[0]["lower"] == "" and crow[0]["status"] == "not_certified"
    assert crow[2]["upper"] == "" and crow[2]["status"] == "solver_error"
    jrow = json.loads(render([table], "json"))["tables"][0]["rows"]
    assert jrow[0]["lower"] is None and jrow[2]["upper"] is None and jrow[2]["r_over_l"] is None
    assert jrow[1]["excess"] == 14.0 - 4 * 1.0


def test_latex_has_booktabs_structure():
    A = cbn.ConvOperator(np.random.default_rng(1).standard_normal((1, 1, 5)))
    tex = render([operator_table("a_b", A, "1-4"), _uncertified_table()], "tex")
    body = [line for line in tex.splitlines() if not line.startswith("%")]
    text = "\n".join(body)
    assert text.count(r"\begin{table}") == text.count(r"\end{table}") == 2
    envs = re.findall(r"\\begin\{tabular\}\{(\w+)\}(.*?)\\end\{tabular\}", text, re.S)
    assert len(envs) == 2
    for spec, inner in envs:
        lines = [line for line in inner.strip().splitlines()]
        assert lines[0] == r"\toprule" and lines[2] == r"\midrule" and lines[-1] == r"\bottomrule"
        for line in [lines[1]] + lines[3:-1]:
            assert line.endswith(r"\\") and line.count("&") == len(spec) - 1
    assert text.count("{") == text.count("}")
    # every underscore outside math is escaped
    for line in body:
        plain = re.sub(r"\$[^$]*\$", "", line)
        assert not re.search(r"(?<!\\)_", plain), line
    assert r"\label{tab:cbn-a-b}" in text


def test_fit_slope_uses_the_larger_half_and_skips_missing():
    L = [1, 2, 3, 4, 5, 6]
    R = [10.0, 13.0, None, 19.0, 22.0, 25.5]
    fit = fit_slope(L, R)
    x, y = np.array([4.0, 5.0, 6.0]), np.array([19.0, 22.0, 25.5])   # larger half of 5 values
    slope = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    assert fit.depths == (4, 5, 6) and np.isclose(fit.slope, slope)
    assert fit_slope([1, 2], [3.0, None]) is None
    # changed on purpose (issue 11): two points fit any line with rms 0, so a two-point
    # "slope" is no evidence; at least settings.SLOPE_MIN_DEPTHS = 3 depths are fitted
    assert fit_slope([2, 3], [1.0, 4.0]) is None
    assert fit_slope([2, 3, 4], [1.0, 4.0, 7.0]).slope == pytest.approx(3.0)


def test_parse_depths():
    assert parse_depths("1-16") == tuple(range(1, 17))
    assert parse_depths("8, 2-3,1") == (1, 2, 3, 8)
    for bad in ("0-3", "4-2", "a", "", [0], []):
        with pytest.raises(cbn.ValidationError, match="depths"):
            parse_depths(bad)


def test_data_row_joins_the_lipschitz_bound_and_a_construction(monkeypatch):
    target = cbn.targets.get("shift_autoencoder_1d")
    X, Y = target.data(quick=True)

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(intervals, "minimal_norm", broken)
    L = 3
    arch = target.architecture(L, quick=True)
    built = target.construction(L, quick=True)
    row = data_rows(arch, X, Y, L, construction=built)
    # Lipschitz bound by hand: f = id on shifts, Lambda = max ||y_i - y_j|| / ||x_i - x_j|| = 1
    lam = max(np.linalg.norm(Y[i] - Y[j]) / np.linalg.norm(X[i] - X[j])
              for i in range(len(X)) for j in range(i) if np.linalg.norm(X[i] - X[j]) > 0)
    assert np.isclose(row.lower, L * lam ** (2.0 / L))
    norm = sum(float(np.sum(w ** 2)) for w in built.network.kernels + built.network.biases)
    assert np.isclose(row.upper, norm) and row.status == "not_certified"
    assert "RuntimeError: solver exploded" in row.message
    row = data_rows(arch, X, Y, L)                 # no construction: only the failed solver
    assert row.upper is None and row.status == "solver_error" and np.isclose(row.lower, L)
    text = render([BoundTable("s", "s", "", "data", "relu", 1, 3, 1.0, None, None, (row,),
                              None)], "md")
    assert "solver_error" in text and "solver exploded" in text


def _sweep_store(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('[sweep]\nkind = "linear_cost"\nseeds = [0, 1]\n[fixed]\n'
                    'spatial_shape = [6]\nchannels = [2, 2]\n[grid]\ntarget = ["random"]\n'
                    'depth = [1, 2, 3, 4]\n')
    store = tmp_path / "s.sqlite"
    assert main(["sweep", str(toml), "--store", str(store), "--workers", "1",
                 "--no-progress"]) == 0
    return store


def test_tables_from_a_sweep_store_against_dense_svd(tmp_path, capsys):
    from cbntheory.sweep.kinds import linear_target
    from cbntheory.sweep.store import read_rows

    store = _sweep_store(tmp_path)
    capsys.readouterr()
    tables = tables_from_store(read_rows(store))
    assert sorted(t.target for t in tables) == ["random[seed=0]", "random[seed=1]"]
    assert main(["table", "--from", str(store), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    params = {"target": "random", "spatial_shape": [6], "channels": [2, 2],
              "normalization": "operator"}
    for t in data["tables"]:
        seed = int(t["target"].split("=")[1].rstrip("]"))
        ref, r0, _, _ = dense_t1(linear_target(params, seed).kernel, range(1, 5))
        assert t["rank_j"] == round(r0) and [r["depth"] for r in t["rows"]] == [1, 2, 3, 4]
        for row in t["rows"]:
            assert np.isclose(row["upper"], ref[row["depth"]], rtol=1e-10)
            assert row["status"] == "optimal"
    assert "sweep store" in data["provenance"]["source"]
    assert main(["table", "nothing", "--from", str(store)]) == 2
    assert "holds no rows" in capsys.readouterr().err


def test_cli_table_writes_files_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main(["table", "bandlimited_1d", "--depths", "2,4", "--format", "csv",
                 "--out", str(out), "--no-progress"]) == 0
    rows = csv_rows(out.read_text())
    assert [int(r["depth"]) for r in rows] == [2, 4]
    A = cbn.targets.get("bandlimited_1d").operator()
    ref, _, _, _ = dense_t1(A.kernel, [2, 4])
    assert float(rows[1]["upper"]) == pytest.approx(ref[4], rel=1e-10)
    capsys.readouterr()
    assert main(["table", "no_such_target"]) == 2
    err = capsys.readouterr().err
    assert "valid names" in err and "shift_autoencoder_1d" in err and "\n" == err[-1]
    assert main(["table", "bandlimited_1d", "--depths", "3-1"]) == 2
    assert "depths" in capsys.readouterr().err
    assert main(["table"]) == 2
    assert "at least one TARGET" in capsys.readouterr().err
    assert main(["table", "--list"]) == 0
    assert "mixer_2d" in capsys.readouterr().out
