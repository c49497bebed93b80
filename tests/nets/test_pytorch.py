"""PyTorch Sequential CNNs <-> Network, against a numpy reference of PyTorch's documented
semantics (cross-correlation over the circularly padded input, stride, ReLU, adaptive
average pool, Linear), written here with explicit index arithmetic; and, when torch is
installed, against torch itself (those tests say they were skipped otherwise)."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.errors import ValidationError
from cbntheory.nets.pytorch import from_state_dict, from_torch, to_state_dict, to_torch


def torch_conv(x, w, b, stride):
    """``y[n, o, p] = b[o] + sum_{i, q} w[o, i, q] x_pad[n, i, stride p + q]`` (PyTorch docs),
    ``x_pad`` = ``x`` circularly padded by ``k // 2`` on both sides of every axis."""
    k = w.shape[2]
    pad = k // 2
    nd = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pad, pad)] * nd, mode="wrap")
    out_shape = tuple((n + 2 * pad - k) // stride + 1 for n in x.shape[2:])
    y = np.zeros((x.shape[0], w.shape[0]) + out_shape)
    for p in itertools.product(*[range(n) for n in out_shape]):
        for q in itertools.product(*[range(k)] * nd):
            src = tuple(stride * pp + qq for pp, qq in zip(p, q))
            y[(slice(None), slice(None)) + p] += np.einsum(
                "oi,ni->no", w[(slice(None), slice(None)) + q],
                xp[(slice(None), slice(None)) + src])
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nd)
    return y


def torch_forward(state, x, strides, head):
    names = sorted({k.rsplit(".", 1)[0] for k in state}, key=int)
    h = x
    convs = names[:-1] if head else names
    for j, (name, s) in enumerate(zip(convs, strides)):
        h = torch_conv(h, state[f"{name}.weight"], state.get(f"{name}.bias"), s)
        if head or j < len(convs) - 1:
            h = np.maximum(h, 0.0)
    if head:
        pooled = h.mean(axis=tuple(range(2, h.ndim)))
        h = pooled @ state[f"{names[-1]}.weight"].T + state.get(f"{names[-1]}.bias", 0.0)
    return h


def _state(rng, widths, k, nd, head, bias=True):
    state, idx = {}, 0
    for j, (a, b) in enumerate(zip(widths, widths[1:])):
        last = j == len(widths) - 2
        shape = (b, a) if head and last else (b, a) + (k,) * nd
        state[f"{idx}.weight"] = rng.standard_normal(shape)
        if bias:
            state[f"{idx}.bias"] = rng.standard_normal(b)
        idx += 2 if not (head and j == len(widths) - 3) else 4
    return state


@pytest.mark.parametrize("shape,k,strides,head", [
    ((8,), 3, (1, 1), False), ((16,), 5, (2, 1), False), ((7,), 7, (1, 1), False),
    ((6, 6), 3, (1, 2), True), ((4, 6), 3, (2,), True), ((6, 6), 3, (1, 1, 1), False)])
def test_imported_network_computes_the_pytorch_function(shape, k, strides, head):
    rng = np.random.default_rng(len(shape) + k + sum(strides))
    n_conv = len(strides)
    widths = [2] + [3] * n_conv + ([2] if head else [])
    if not head:
        widths = [2] + [3] * (n_conv - 1) + [2]
    state = _state(rng, widths, k, len(shape), head)
    net = from_state_dict(state, shape, strides=strides)
    x = rng.standard_normal((3, 2) + shape)
    assert np.allclose(net(x), torch_forward(state, x, strides, head), atol=1e-12)
    # the parameter norm is PyTorch's sum of squares (plain normalisation, c = 1)
    assert np.isclose(net.param_norm(), sum(float(np.sum(v ** 2)) for v in state.values()))
    back = to_state_dict(net)
    assert back.keys() == state.keys()
    assert all(np.allclose(back[key], state[key]) for key in state)


def test_unsupported_layouts_say_why():
    rng = np.random.default_rng(0)
    even = {"0.weight": rng.standard_normal((2, 1, 4)), "0.bias": np.zeros(2)}
    with pytest.raises(ValidationError, match="odd kernel size"):
        from_state_dict(even, (8,))
    ok = {"0.weight": rng.standard_normal((2, 1, 3)), "0.bias": np.zeros(2)}
    with pytest.raises(ValidationError, match="strides"):
        from_state_dict(ok, (8,), strides=[2])
    with pytest.raises(ValidationError, match="strides"):
        from_state_dict(ok, (8,), strides=[3])
    with pytest.raises(ValidationError, match="chain the channels"):
        from_state_dict({**ok, "2.weight": rng.standard_normal((1, 3, 3)),
                         "2.bias": np.zeros(1)}, (8,))
    with pytest.raises(ValidationError, match="plain normalisation"):
        to_state_dict(cbn.Architecture((8,), (1, 2, 1)).init(0))


def test_cli_analyze_reads_a_state_dict(tmp_path, capsys):
    from cbntheory.cli import main

    rng = np.random.default_rng(3)
    state = _state(rng, [1, 3, 1], 3, 1, head=False)
    np.savez(tmp_path / "sd.npz", **state)
    code = main(["analyze", str(tmp_path / "sd.npz"), "--pytorch", "8", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["architecture"]["normalization"] == "plain"
    assert np.isclose(doc["param_norm"], sum(float(np.sum(v ** 2)) for v in state.values()))


@pytest.mark.parametrize("shape,k,strides,head", [((6, 6), 3, [2, 1], True),
                                                  ((12,), 5, [2, 1, 1], False)])
def test_parity_with_torch(shape, k, strides, head):
    torch = pytest.importorskip("torch", reason="torch not installed: parity with torch "
                                                "itself skipped (the numpy reference ran)")
    rng = np.random.default_rng(5)
    widths = [2, 3, 3, 2] if head else [2, 3, 3, 1]
    state = _state(rng, widths, k, len(shape), head=head)
    net = from_state_dict(state, shape, strides=strides)
    module = to_torch(net)
    x = rng.standard_normal((4, 2) + shape)
    with torch.no_grad():
        y = module(torch.from_numpy(x)).numpy()
    assert np.allclose(y, net(x), atol=1e-10)
    again = from_torch(module, shape)
    assert np.allclose(again(x), net(x), atol=1e-10)
