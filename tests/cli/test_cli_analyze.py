"""``cbn analyze``: a planted network's structure is printed and serialised; clean errors.

The planted network (THEORY.md T3's construction) has middle layers whose frequency
blocks are 1 at ``m = 0, +-1`` and 0 elsewhere (a closed form: the kernel
``(1 + 2 cos(2 pi p / d)) / sqrt(d)``), and the data are all circular shifts of a
positive raised cosine, so both estimates must read "1 constant, 2 degree-1".
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.cli import main

D = 8


@pytest.fixture()
def files(tmp_path):
    p = np.arange(D)
    proj = ((1 + 2 * np.cos(2 * np.pi * p / D)) / np.sqrt(D)).reshape(1, 1, D)
    first = np.zeros((1, 1, D))
    first[0, 0, 0] = 2.0 * np.sqrt(D)           # multiplier 2 at every frequency
    arch = cbn.Architecture((D,), (1, 1, 1, 1, 1), bias=False)
    net = cbn.Network(arch, [first, proj, proj, proj], [])
    weights = net.save(tmp_path / "net.npz")
    X = np.stack([np.roll(2 + np.cos(2 * np.pi * p / D), j) for j in range(D)])[:, None]
    data = tmp_path / "x.npz"
    np.savez(data, X=X)
    return str(weights), str(data), net


def _run(capsys, *argv):
    code = main(["analyze", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_report_lists_every_layer_and_the_estimate(capsys, files):
    weights, _, _ = files
    code, out, err = _run(capsys, weights)
    assert code == 0 and err == ""
    for l in range(1, 5):
        assert f"layer {l} (conv 1->1 on (8,))" in out
    # layer 1 has multiplier 2 at all 8 frequencies; the projections keep 3 of them
    assert "layer 1 (conv 1->1 on (8,)): singular values > 0.2: 1 constant, 2 degree-1, " \
           "2 degree-2, 2 degree-3, 1 degree-4" in out
    assert "CBN rank estimate (weights): 3 = 1 constant, 2 degree-1" in out
    assert "activations" not in out


def test_data_adds_activations_and_json_matches(capsys, files):
    weights, data, net = files
    code, out, _ = _run(capsys, weights, "--data", data, "--span-rtol", "1e-8")
    assert code == 0
    assert "CBN rank estimate (activations): 3 = 1 constant, 2 degree-1" in out
    code, out, _ = _run(capsys, weights, "--data", data, "--span-rtol", "1e-8", "--json")
    info = json.loads(out)
    assert info["estimate"]["method"] == "activations"
    assert info["estimate"]["k"] == [1, 1, 0, 0, 0, 0, 0, 1]
    assert info["weights_estimate"]["k"] == [1, 1, 0, 0, 0, 0, 0, 1]
    assert np.isclose(info["param_norm"], net.param_norm())
    # input energy of 2 + cos: |DFT|^2 = (4 d^2 at m=0, d^2/4 at m=+-1) / total
    e = np.array(info["activations"][0]["energy"])
    assert np.allclose(e[[0, 1, 7]], np.array([4, 0.25, 0.25]) / 4.5)


def test_threshold_option_changes_the_weight_count(capsys, files):
    weights, _, _ = files
    code, out, _ = _run(capsys, weights, "--threshold", "1.5", "--json")
    info = json.loads(out)
    assert code == 0 and info["weight_threshold"] == 1.5
    assert info["weights_estimate"]["total"] == 0          # the projections' 1 < 1.5
    assert sum(info["weights"][0]["counts"]) == D            # layer 1's 2 > 1.5


def test_errors_are_one_line(capsys, files, tmp_path):
    weights, data, _ = files
    code, _, err = _run(capsys, str(tmp_path / "missing.npz"))
    assert code == 2 and err.count("\n") == 1 and "missing.npz" in err
    bad = tmp_path / "bad.npz"
    np.savez(bad, A=np.zeros(3), B=np.zeros(3))
    code, _, err = _run(capsys, weights, "--data", str(bad))
    assert code == 2 and "'X'" in err and err.count("\n") == 1
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, X=np.zeros((2, 3, D)))
    code, _, err = _run(capsys, weights, "--data", str(wrong))
    assert code == 2 and "data must have shape" in err
    code, _, err = _run(capsys, data)                        # not a network file
    assert code == 2 and "network file" in err
    with pytest.raises(SystemExit):
        main(["analyze", weights, "--threshold", "-1"])
