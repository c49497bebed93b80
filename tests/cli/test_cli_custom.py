"""``cbn table --kernel/--data``, ``cbn cost --depth LIST`` and ``cbn fit`` on linear data.

References: T1 evaluated on the singular values of the dense operator matrix built from the
definition (``_bruteforce``) and theory/linear's closed form; a dense least-norm solve for
the depth-1 row of a data table; single-depth runs of ``cbn cost``.
"""
from __future__ import annotations

import json

import _bruteforce as bf
import numpy as np
import pytest

from cbntheory.cli import main
from cbntheory.operators import ConvOperator
from cbntheory.theory.linear import linear_cost


def _run(capsys, *argv):
    code = main([*map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def kernel_file(tmp_path):
    rng = np.random.default_rng(0)
    kernel = np.einsum("oj,ji,jp->oip", rng.standard_normal((2, 1)), rng.standard_normal((1, 2)),
                       rng.standard_normal((1, 6)))            # rank <= 1 at every frequency
    np.save(tmp_path / "K.npy", kernel)
    return tmp_path / "K.npy", kernel


def test_kernel_table_equals_the_closed_form(capsys, kernel_file):
    path, kernel = kernel_file
    code, out, err = _run(capsys, "table", "--kernel", path, "--depths", "1,2,4", "--format",
                          "json", "--no-progress")
    assert code == 0 and "Traceback" not in err
    table = json.loads(out)["tables"][0]
    assert table["target"] == "K" and table["rank_cbn"] == table["rank_j"] == 6
    op = ConvOperator.from_kernel(kernel)
    for row in table["rows"]:
        dense = bf.t1_from_dense(kernel, row["depth"])["value"]
        assert row["status"] == "optimal"
        assert row["lower"] == row["upper"] == pytest.approx(dense, rel=1e-10)
        assert row["upper"] == pytest.approx(linear_cost(op, row["depth"]).value, rel=1e-12)


def test_data_table_from_a_user_file(capsys, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 1, 5))
    Y = 0.5 * np.roll(X, 1, axis=-1)
    np.savez(tmp_path / "D.npz", X=X, Y=Y)
    code, out, err = _run(capsys, "table", "--data", tmp_path / "D.npz", "--depths", "1,2",
                          "--format", "json", "--max-iter", "300", "--no-progress",
                          "--no-bias")
    assert code == 0 and "Traceback" not in err
    doc = json.loads(out)
    table = doc["tables"][0]
    rows = {r["depth"]: r for r in table["rows"]}
    assert set(rows) == {1, 2} and table["rank_cbn"] is None      # no rank argument applies
    # depth 1, no bias: the least-norm kernel of c W * x_i = y_i, solved densely
    A = np.concatenate([np.stack([bf.dense_matrix(np.eye(5)[q].reshape(1, 1, 5)) @ x[0]
                                  for q in range(5)], axis=-1) for x in X])
    sol = np.linalg.pinv(A) @ Y.reshape(-1)
    assert rows[1]["status"] == "optimal"
    assert rows[1]["upper"] == pytest.approx(float(sol @ sol), rel=1e-9)
    assert rows[2]["lower"] <= rows[2]["upper"] * (1 + 1e-9)
    assert "--data" in doc["provenance"]["command"] and "--no-bias" in doc["provenance"]["command"]


@pytest.mark.parametrize("argv,pattern", [
    (["--kernel", "K.npy", "--data", "D.npz"], "at most one of --data and --kernel"),
    (["bandlimited_1d", "--kernel", "K.npy"], "give no TARGET names"),
    (["--data", "Xonly.npz"], "must hold arrays named 'X' and 'Y'"),
    (["--data", "missing.npz"], "no such file"),
    (["bandlimited_1d", "--activation", "linear"], "--activation apply to --data only"),
    (["bandlimited_1d", "--name", "x"], "--name and --normalization apply"),
])
def test_table_custom_errors_are_one_line(capsys, tmp_path, monkeypatch, argv, pattern):
    monkeypatch.chdir(tmp_path)
    np.save("K.npy", np.ones((1, 1, 4)))
    np.savez("D.npz", X=np.ones((2, 1, 4)), Y=np.ones((2, 1, 4)))
    np.savez("Xonly.npz", X=np.ones((2, 1, 4)))
    code, out, err = _run(capsys, "table", *argv)
    assert code == 2 and out == "" and pattern in err and "Traceback" not in err


def test_cost_depth_list_agrees_with_single_depths(capsys, kernel_file):
    path, _ = kernel_file
    code, out, _ = _run(capsys, "cost", path, "--depth", "1,2,4", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["depths"] == [1, 2, 4]
    for info in doc["costs"]:
        _, single, _ = _run(capsys, "cost", path, "--depth", info["depth"], "--json")
        assert json.loads(single)["value"] == info["value"]
    code, out, _ = _run(capsys, "cost", path, "--depth", "1-3")
    lines = [ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert code == 0 and [int(ln[0]) for ln in lines] == [1, 2, 3]


@pytest.fixture()
def linear_data(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 1, 8))
    Y = np.roll(X, 1, axis=-1) + 0.3 * np.roll(X, -2, axis=-1) + 1.0   # an offset: biases work
    np.savez(tmp_path / "L.npz", X=X, Y=Y)
    np.savez(tmp_path / "P.npz", X=X, Y=2 * X.mean(axis=(1, 2))[:, None] + 0.5)
    return tmp_path


@pytest.mark.parametrize("extra", [[], ["--kernel-size", "3"], ["--free-bias"]])
def test_fit_linear_data_through_the_numerical_solver_has_no_traceback(capsys, linear_data,
                                                                       extra):
    code, out, err = _run(capsys, "fit", linear_data / "L.npz", "--channels", "1,2,1",
                          "--activation", "linear", *extra)
    assert "Traceback" not in err and code == 0
    assert "status: optimal" in out or "status: not_certified" in out
    lower = float(out.split("lower (certified): ")[1].split()[0])
    upper = float(out.split("upper (verified norm): ")[1].split()[0])
    assert lower <= upper * (1 + 1e-9)


def test_fit_linear_avgpool_head(capsys, linear_data):
    code, out, err = _run(capsys, "fit", linear_data / "P.npz", "--channels", "1,2,1",
                          "--activation", "linear", "--head", "avgpool")
    assert code == 0 and "Traceback" not in err and "restart 0" in out
