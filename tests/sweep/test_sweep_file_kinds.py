"""Job kinds on user files (minimal_norm, convex_two_layer, structure).

References: the stored network re-checked by the direct pixel-space forward pass and norm
(``output/artifacts``, not the FFT engine), a closed form for the one-layer linear least
norm, the direct library call with the same seed for the pass-through, and the file's
SHA-256 for the content check."""
from __future__ import annotations

import numpy as np
import pytest

from cbntheory import settings
from cbntheory.errors import ParamError
from cbntheory.nets.architecture import Architecture
from cbntheory.output.artifacts import direct_forward, direct_norm
from cbntheory.results import relative_residual
from cbntheory.sweep.jobs import normalize_params, run_job
from cbntheory.sweep.kinds import NETWORK_FILE, network_from_bytes


def _save(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def _stored_network(out):
    return network_from_bytes(out["artifacts"][NETWORK_FILE])


def test_minimal_norm_linear_one_layer_is_the_least_norm_kernel(tmp_path):
    """One linear layer without bias, full kernel, one sample: min ||W||^2 with W * X = Y
    is the solution of a square linear system, computed here with a dense convolution
    matrix built by loops."""
    rng = np.random.default_rng(3)
    d, N = 5, 1
    X = rng.standard_normal((N, 1, d))
    Y = rng.standard_normal((N, 1, d))
    data = _save(tmp_path / "d.npz", X=X, Y=Y)
    p = normalize_params("minimal_norm", {"data": data, "channels": [1, 1],
                                          "activation": "linear", "bias": False})
    out = run_job("minimal_norm", p, 0)
    assert out["ok"], out.get("error")
    arch = Architecture((d,), (1, 1), activation="linear", bias=False)
    c = float(arch.constants[0])
    # y[p] = c sum_q w[q] x[p - q]: rows (n, p), columns q
    A = np.array([[c * X[n, 0, (p_ - q) % d] for q in range(d)] for n in range(N)
                  for p_ in range(d)])
    w = np.linalg.pinv(A) @ Y.reshape(-1)
    res = out["result"]
    assert res["upper"] == pytest.approx(float(w @ w), rel=1e-6)
    net = _stored_network(out)
    assert relative_residual(direct_forward(net, X), Y) <= settings.FIT_RTOL
    assert direct_norm(net) == pytest.approx(res["upper"], rel=1e-9)


def test_convex_two_layer_network_reproduces_the_data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 1, 3))
    Y = rng.standard_normal((3, 1))
    data = _save(tmp_path / "d.npz", X=X, Y=Y)
    p = normalize_params("convex_two_layer", {"data": data})
    out = run_job("convex_two_layer", p, 0)
    assert out["ok"], out.get("error")
    res = out["result"]
    assert res["status"] == "optimal" and res["lower"] <= res["upper"] * (1 + 1e-6)
    net = _stored_network(out)
    assert relative_residual(direct_forward(net, X), Y) <= 1e-5
    assert direct_norm(net) == pytest.approx(res["upper"], rel=1e-6)


def test_structure_of_a_network_file(tmp_path):
    """A one-channel linear network with delta kernels: every frequency block is the
    scalar c * 1, so with a threshold below c each layer keeps all d frequencies."""
    arch = Architecture((6,), (1, 1, 1), activation="linear", bias=False)
    kernels = []
    for c in arch.constants[:2]:
        k = np.zeros((1, 1, 6))
        k[0, 0, 0] = 1.0 / float(c)             # c * fft(k) = 1 at every frequency
        kernels.append(k)
    from cbntheory.nets.network import Network

    path = Network(arch, kernels, None).save(tmp_path / "n.npz")
    p = normalize_params("structure", {"network": str(path), "weight_threshold": 0.5})
    out = run_job("structure", p, 0)
    assert out["ok"], out.get("error")
    res = out["result"]
    for layer in res["weights"]:
        assert np.allclose(np.concatenate([np.ravel(v) for v in
                                           _leaves(layer["singular_values"])]), 1.0)
    assert res["value"] == res["weights_estimate"]["total"]


def _leaves(values):
    if isinstance(values, dict):
        return [v for x in values.values() for v in _leaves(x)]
    return [np.asarray(values, dtype=float)]


def test_files_are_identified_by_content(tmp_path):
    data = _save(tmp_path / "d.npz", X=np.ones((2, 1, 3)), Y=np.ones((2, 1, 3)))
    p = normalize_params("minimal_norm", {"data": data, "channels": [1, 1]})
    assert set(p["data"]) == {"path", "sha256"} and p["data"]["path"] == data
    assert normalize_params("minimal_norm", dict(p)) == p      # idempotent
    _save(tmp_path / "d.npz", X=np.zeros((2, 1, 3)), Y=np.ones((2, 1, 3)))
    out = run_job("minimal_norm", p, 0)                       # edited after the sweep was read
    assert not out["ok"] and "content it had when the sweep was read" in out["error"]
    with pytest.raises(ParamError, match="content it had"):
        normalize_params("minimal_norm", dict(p))
    with pytest.raises(ParamError, match="existing file"):
        normalize_params("minimal_norm", {"data": str(tmp_path / "none.npz"), "channels": [1, 1]})
