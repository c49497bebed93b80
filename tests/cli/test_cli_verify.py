"""``cbn verify`` and the saved networks behind table rows (cbntheory.output.artifacts).

The direct forward pass is compared with the FFT engine (two independent implementations
of the same definition) and with the dense matrix of a convolution built by loops; a row of
a real ``cbn table`` run verifies from its saved file, and a tampered file fails.
"""
from __future__ import annotations

import json

import _bruteforce as bf
import numpy as np
import pytest

from cbntheory.cli import main
from cbntheory.nets.architecture import Architecture
from cbntheory.nets.network import Network
from cbntheory.output.artifacts import direct_forward, direct_norm


@pytest.mark.parametrize("arch", [
    Architecture((8,), (1, 3, 2, 1), kernel_size=3),
    Architecture((4, 4), (2, 3, 2), activation="linear", bias=False, normalization="plain"),
    Architecture((8,), (1, 2, 2, 3), head="avgpool", penalize_bias=False),
    Architecture((8,), (1, 2, 2, 1), resample=(2, -2)),
])
def test_direct_forward_agrees_with_the_engine(arch):
    net = arch.init(rng=3)
    biases = [b + np.random.default_rng(l).standard_normal(b.shape)
              for l, b in enumerate(net.biases)]
    net = Network(arch, net.kernels, biases, seed=3)
    X = np.random.default_rng(1).standard_normal((5,) + arch.input_shape)
    assert np.allclose(direct_forward(net, X), net(X), rtol=1e-12, atol=1e-12)
    v = net.to_vector()
    assert direct_norm(net) == pytest.approx(float(np.sum(v[arch.penalty_mask()] ** 2)),
                                             rel=1e-13)


def test_direct_convolution_matches_the_dense_matrix():
    arch = Architecture((6,), (2, 3), activation="linear", bias=False)
    net = arch.init(rng=0)
    X = np.random.default_rng(2).standard_normal((3, 2, 6))
    dense = bf.dense_matrix(net.kernels[0])
    want = (dense @ X.reshape(3, -1).T).T.reshape(3, 3, 6)
    assert np.allclose(direct_forward(net, X), want, atol=1e-12)


@pytest.fixture(scope="module")
def saved_table(tmp_path_factory):
    out = tmp_path_factory.mktemp("verify")
    # --max-iter 1000: every row now runs three solves (two construction warm starts and a
    # random restart) plus the depth-continuation solve; what is tested here is that the
    # saved networks verify, not how far the solves get
    code = main(["table", "shift_autoencoder_1d", "--depths", "2,4", "--quick", "--format",
                 "json", "--out", str(out / "table.json"), "--save-networks", str(out),
                 "--no-progress", "--max-iter", "1000"])
    assert code == 0
    return out


def test_a_saved_row_verifies(saved_table, capsys):
    doc = json.loads((saved_table / "table.json").read_text())
    rows = doc["tables"][0]["rows"]
    assert [r["network_file"] for r in rows] == [
        "networks/shift_autoencoder_1d_L2.npz", "networks/shift_autoencoder_1d_L4.npz"]
    capsys.readouterr()
    assert main(["verify", str(saved_table / "table.json"), "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    assert [c["verdict"] for c in checks] == ["verified", "verified"]
    for check, row in zip(checks, rows):
        assert check["norm"] == pytest.approx(row["upper"], rel=1e-12)
        assert check["residual"] <= 1e-6


def test_a_tampered_network_fails(saved_table, tmp_path, capsys):
    rows = json.loads((saved_table / "table.json").read_text())["tables"][0]["rows"]
    net = Network.load(saved_table / rows[0]["network_file"])
    kernels = [k.copy() for k in net.kernels]
    kernels[0].flat[np.argmax(np.abs(kernels[0]))] *= 1.001  # one weight moved by 0.1 %
    (tmp_path / "networks").mkdir()
    Network(net.architecture, kernels, net.biases, seed=net.seed).save(
        tmp_path / rows[0]["network_file"])
    capsys.readouterr()
    code = main(["verify", str(saved_table / "table.json"), "--depth", "2",
                 "--root", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and "L=2: failed" in out
    assert "does not reproduce the data" in out and "differs from the upper bound" in out


def test_a_row_without_a_network_or_a_bad_file(saved_table, tmp_path, capsys):
    assert main(["verify", str(saved_table / "table.json"), "--depth", "7"]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    assert main(["verify", str(bad)]) == 2
    assert "must be a JSON table" in capsys.readouterr().err
