"""``cbn fit``: planted data are reproduced by the saved network; statuses and one-line errors.

The data come from a planted network; the saved file is re-loaded and run forward, and
its norm must match the reported upper bound and stay below the planted norm.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from _interrupts import interrupt_solves

import cbntheory as cbn
from cbntheory.cli import main


@pytest.fixture()
def planted(tmp_path):
    arch = cbn.Architecture((3,), (2, 3, 1))
    net = arch.init(rng=11)
    X = np.random.default_rng(21).standard_normal((3, 2, 3))
    np.savez(tmp_path / "data.npz", X=X, Y=net(X))
    np.savez(tmp_path / "inputs.npz", X=X)
    net.save(tmp_path / "planted.npz")
    return tmp_path, net, X


def _run(capsys, *argv):
    code = main(["fit", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_saves_a_verified_network(capsys, planted):
    tmp, net, X = planted
    code, out, err = _run(capsys, tmp / "data.npz", "--channels", "2,3,1", "--max-iter", "3000",
                          "--seed", "1", "--out", tmp / "fit.npz")
    assert code == 0 and err == ""
    assert "status: not_certified" in out and "restart 0: seed" in out
    fitted = cbn.Network.load(tmp / "fit.npz")
    Y = net(X)
    assert np.linalg.norm(fitted(X) - Y) <= 1e-6 * np.linalg.norm(Y)
    upper = float(out.split("upper (verified norm): ")[1].split()[0])
    assert upper == pytest.approx(fitted.param_norm(), rel=1e-9)
    assert upper <= net.param_norm()


def test_json_with_target_network(capsys, planted):
    tmp, net, _ = planted
    code, out, _ = _run(capsys, tmp / "inputs.npz", "--channels", "2,4,1", "--target",
                        tmp / "planted.npz", "--assume-open-set", "--max-iter", "300", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["verified"] and doc["status"] in ("not_certified", "optimal")
    assert doc["upper"] <= net.param_norm() * (1 + 1e-12)
    assert doc["lower"] <= doc["upper"]
    assert doc["conditional_lower"]["value"] <= net.param_norm()
    assert doc["runs"][0]["init"] == "warm start"


def test_width_too_small_exit_one_and_unverified_file(capsys, planted):
    tmp, _, _ = planted
    code, out, err = _run(capsys, tmp / "data.npz", "--channels", "2,1,1", "--no-bias",
                          "--max-iter", "300", "--out", tmp / "bad.npz")
    assert code == 1 and err == ""
    assert "status: solver_error" in out and "may be too small" in out
    assert "NOT verified" in out and (tmp / "bad.npz").exists()


def test_ctrl_c_keeps_the_best_network(capsys, planted, monkeypatch):
    tmp, net, X = planted
    interrupt_solves(monkeypatch, after=10)
    code, out, _ = _run(capsys, tmp / "data.npz", "--channels", "2,3,1", "--target",
                        tmp / "planted.npz", "--out", tmp / "kept.npz")
    assert code == 0 and "interrupted" in out
    kept = cbn.Network.load(tmp / "kept.npz")
    assert np.linalg.norm(kept(X) - net(X)) <= 1e-6 * np.linalg.norm(net(X))


@pytest.mark.parametrize("args,needle", [
    (["--channels", "1,3,1"], "X must have shape"),                 # n_0 disagrees with X
    (["--channels", "2,3,2"], "Y must have shape"),                 # n_L disagrees with Y
    (["--channels", "2,3,1", "--no-bias", "--free-bias"], "--free-bias"),
    (["--channels", "2,3,1", "--kernel-size", "5"], "kernel_size"),
    (["--channels", "2,3,1", "--restarts", "0"], "restarts"),
])
def test_errors_are_one_line(capsys, planted, args, needle):
    tmp, _, _ = planted
    code, out, err = _run(capsys, tmp / "data.npz", *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and err.startswith("cbn fit: error:")


def test_missing_arrays_and_target_mismatch(capsys, planted):
    tmp, _, _ = planted
    code, _, err = _run(capsys, tmp / "inputs.npz", "--channels", "2,3,1")
    assert code == 2 and "'Y'" in err and err.count("\n") == 1
    other = cbn.Architecture((3,), (2, 3, 2)).init(rng=0)
    other.save(tmp / "other.npz")
    code, _, err = _run(capsys, tmp / "inputs.npz", "--channels", "2,3,1", "--target",
                        tmp / "other.npz")
    assert code == 2 and "output shape" in err and err.count("\n") == 1
    code, _, err = _run(capsys, tmp / "missing.npz", "--channels", "2,3,1")
    assert code == 2 and "no such file" in err
    with pytest.raises(SystemExit):
        main(["fit", str(tmp / "data.npz"), "--channels", "2,x,1"])
