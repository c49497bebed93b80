"""Tests of cbntheory.Architecture: validation, shapes, windows, vector layout, init."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.errors import ValidationError

# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("kwargs,pattern", [
    ({"spatial_shape": (4, 4, 4), "channels": (1, 1)}, "spatial_shape must have 1 or 2 axes"),
    ({"spatial_shape": (0,), "channels": (1, 1)}, r"spatial_shape\[0\] must be >= 1"),
    ({"spatial_shape": (4,), "channels": (1,)}, "channels must have at least 2 entries"),
    ({"spatial_shape": (4,), "channels": (1, 0, 1)}, r"channels\[1\] must be >= 1"),
    ({"spatial_shape": (4,), "channels": (1, 2.5)}, r"channels\[1\] must be an integer"),
    ({"spatial_shape": (4,), "channels": 3}, "channels must be a sequence"),
    ({"spatial_shape": (4,), "channels": (1, 1), "kernel_size": 5},
     "kernel_size must be <= the image"),
    ({"spatial_shape": (4, 6), "channels": (1, 1), "kernel_size": (3, 7)},
     "kernel_size must be <= the image size"),
    ({"spatial_shape": (4, 6), "channels": (1, 1), "kernel_size": (3,)},
     "kernel_size must have one entry per spatial axis"),
    ({"spatial_shape": (4,), "channels": (1, 1), "kernel_size": 0},
     r"kernel_size\[0\] must be >= 1"),
    ({"spatial_shape": (4,), "channels": (1, 1), "activation": "tanh"},
     "activation must be one of"),
    ({"spatial_shape": (4,), "channels": (1, 1), "head": "maxpool"}, "head must be one of"),
    ({"spatial_shape": (4,), "channels": (1, 1), "head": "avgpool"},
     "channels must have at least 3 entries with head='avgpool'"),
    ({"spatial_shape": (4,), "channels": (1, 1), "normalization": "unit"},
     "normalization must be one of"),
    ({"spatial_shape": (4,), "channels": (1, 1), "bias": 1}, "bias must be True or False"),
    ({"spatial_shape": (4,), "channels": (1, 1), "penalize_bias": "no"},
     "penalize_bias must be True or False"),
    ({"spatial_shape": (4,), "channels": (1, 2, 1), "resample": (2, 2)},
     r"resample must have one entry per hidden layer \(depth - 1 = 1\)"),
    ({"spatial_shape": (4,), "channels": (1, 2, 1), "resample": (0,)}, r"resample\[0\] must be 1"),
    ({"spatial_shape": (4,), "channels": (1, 2, 1), "resample": (-1,)}, r"resample\[0\] must be 1"),
    ({"spatial_shape": (4,), "channels": (1, 2, 1), "resample": (1.5,)},
     r"resample\[0\] must be 1"),
    ({"spatial_shape": (6,), "channels": (1, 2, 2, 1), "resample": (2, 2)},
     r"resample\[1\] must divide the image size \(3,\) of hidden layer 2"),
    ({"spatial_shape": (6, 4), "channels": (1, 2, 1), "resample": (4,)},
     r"resample\[0\] must divide the image size \(6, 4\) of hidden layer 1"),
    ({"spatial_shape": (8,), "channels": (1, 2, 2, 1), "kernel_size": 5, "resample": (2, 1)},
     r"kernel_size must be <= the image size \(4,\) of convolution layer 1 \(after resampling\)"),
])
def test_invalid_arguments_name_parameter_rule_and_value(kwargs, pattern):
    with pytest.raises(ValidationError, match=pattern) as info:
        cbn.Architecture(**kwargs)
    assert "; got " in str(info.value)


def test_replace_revalidates_and_instances_are_hashable():
    arch = cbn.Architecture((8,), (1, 2, 1), kernel_size=3)
    assert hash(arch) == hash(cbn.Architecture((8,), [1, 2, 1], kernel_size=(3,)))
    assert arch == cbn.Architecture(8, (1, 2, 1), kernel_size=3, resample=(1,))
    with pytest.raises(ValidationError, match="kernel_size"):
        dataclasses.replace(arch, kernel_size=9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        arch.channels = (1, 1)  # type: ignore[misc]


# --------------------------------------------------------------------------- shapes and windows

def test_shapes_with_resampling_and_head():
    arch = cbn.Architecture((8, 4), (3, 5, 6, 7, 2), kernel_size=(3, 1),
                            resample=(2, -4, 1), head="avgpool")
    assert arch.depth == 4 and arch.n_conv == 3 and arch.ndim == 2
    assert arch.layer_shapes == ((8, 4), (4, 2), (16, 8))
    assert arch.kernel_shapes == ((5, 3, 8, 4), (6, 5, 4, 2), (7, 6, 16, 8), (2, 7))
    assert arch.bias_shapes == ((5,), (6,), (7,), (2,))
    assert arch.input_shape == (3, 8, 4) and arch.output_shape == (2,)
    assert arch.input_size == 96 and arch.output_size == 2
    assert arch.constants == pytest.approx((1 / np.sqrt(32), 1 / np.sqrt(8), 1 / np.sqrt(128)))
    plain = dataclasses.replace(arch, normalization="plain")
    assert plain.constants == (1.0, 1.0, 1.0)
    headless = cbn.Architecture((6,), (1, 2, 3), resample=(-2,), bias=False)
    assert headless.output_shape == (3, 12) and headless.bias_shapes == ()


@pytest.mark.parametrize("k,d", [(1, 5), (2, 5), (3, 5), (4, 6), (5, 5), (6, 6), (3, 3)])
def test_window_taps_are_the_documented_offsets(k, d):
    arch = cbn.Architecture((d,), (1, 1), kernel_size=k)
    expected = {(j - k // 2) % d for j in range(k)}
    assert set(np.flatnonzero(arch.windows[0]).tolist()) == expected
    assert int(arch.windows[0].sum()) == k


def test_2d_window_is_product_of_axis_windows():
    arch = cbn.Architecture((5, 4), (1, 1), kernel_size=(3, 2))
    rows = {(j - 1) % 5 for j in range(3)}
    cols = {(j - 1) % 4 for j in range(2)}
    for p in np.ndindex(5, 4):
        assert bool(arch.windows[0][p]) == (p[0] in rows and p[1] in cols)
    assert not arch.windows[0].flags.writeable


def test_full_size_windows_cover_everything():
    arch = cbn.Architecture((6, 2), (2, 3, 1), resample=(2,))
    assert [w.shape for w in arch.windows] == [(6, 2), (3, 1)]
    assert all(w.all() for w in arch.windows)


# --------------------------------------------------------------------------- flat vector

@pytest.mark.parametrize("arch", [
    cbn.Architecture((7,), (2, 3, 1), kernel_size=3),
    cbn.Architecture((4, 4), (1, 2, 2, 3), kernel_size=2, head="avgpool", resample=(2, 1),
                     penalize_bias=False),
    cbn.Architecture((6,), (2, 2, 2), bias=False),
])
def test_n_free_and_layout_count_window_taps_and_biases(arch):
    count = 0
    for l, shp in enumerate(arch.kernel_shapes):
        if l < arch.n_conv:
            count += shp[0] * shp[1] * int(arch.windows[l].sum())
        else:
            count += shp[0] * shp[1]
    if arch.bias:
        count += sum(arch.channels[1:])
    assert arch.n_free == count
    # the blocks tile [0, n_free) in order
    stops = [0] + [sl.stop for _, sl in arch.vector_layout]
    assert [sl.start for _, sl in arch.vector_layout] == stops[:-1]
    mask = arch.penalty_mask()
    n_bias = sum(arch.channels[1:]) if arch.bias else 0
    assert int((~mask).sum()) == (0 if arch.penalize_bias else n_bias)


# --------------------------------------------------------------------------- serialisation

@pytest.mark.parametrize("arch", [
    cbn.Architecture((8,), (1, 2, 1)),
    cbn.Architecture((4, 6), (2, 3, 3, 4), kernel_size=(3, 1), activation="linear", bias=False,
                     penalize_bias=False, normalization="plain", head="avgpool", resample=(-2, 2)),
])
def test_dict_round_trip_through_json(arch):
    data = json.loads(json.dumps(arch.to_dict()))
    back = cbn.Architecture.from_dict(data)
    assert back == arch
    assert back.to_dict() == arch.to_dict()


def test_from_dict_rejects_bad_mappings():
    with pytest.raises(ValidationError, match="data must only have the keys"):
        cbn.Architecture.from_dict({"spatial_shape": [4], "channels": [1, 1], "depth": 3})
    with pytest.raises(ValidationError, match="data must contain the key 'channels'"):
        cbn.Architecture.from_dict({"spatial_shape": [4]})
    with pytest.raises(ValidationError, match="data must be a mapping"):
        cbn.Architecture.from_dict([4, 1])


# --------------------------------------------------------------------------- init

def test_init_is_reproducible_and_records_seed():
    arch = cbn.Architecture((6,), (2, 4, 1), kernel_size=3)
    a, b, c = arch.init(rng=7), arch.init(rng=7), arch.init(rng=8)
    assert a.seed == 7 and c.seed == 8
    np.testing.assert_array_equal(a.to_vector(), b.to_vector())
    assert not np.array_equal(a.to_vector(), c.to_vector())
    assert arch.init(rng=np.random.default_rng(1)).seed is None
    assert isinstance(arch.init(rng=None).seed, int)
    assert all(np.all(w == 0) for w in a.biases)
    assert all(np.all(w[..., ~arch.windows[l]] == 0) for l, w in enumerate(a.kernels[:2]))
    half = arch.init(rng=7, scale=0.5)
    for w, w2 in zip(a.kernels, half.kernels):
        np.testing.assert_allclose(w2, 0.5 * w)
    with pytest.raises(ValidationError, match="scale must be"):
        arch.init(scale=-1.0)
    with pytest.raises(ValidationError, match="rng must be"):
        arch.init(rng="seed")


@pytest.mark.parametrize("norm,ks", [("operator", None), ("plain", None), ("operator", 3),
                                     ("plain", 3)])
def test_default_init_keeps_preactivation_variance(norm, ks):
    """He scaling: unit-variance inputs give unit-variance pre-activations (empirically)."""
    arch = cbn.Architecture((16,), (32, 32, 32, 32), kernel_size=ks, normalization=norm,
                            bias=False)
    net = arch.init(rng=0)
    x = np.random.default_rng(1).standard_normal((64,) + arch.input_shape)
    pre = net.activations(x, pre=True)
    for u in pre:
        assert 0.7 < float(np.mean(u ** 2)) < 1.4
    assert 0.7 < float(np.mean(net(x) ** 2)) < 1.4


def test_init_std_formula():
    arch = cbn.Architecture((4, 4), (3, 5, 2), kernel_size=3, normalization="plain")
    stds = arch.init_std()
    assert stds[0] == pytest.approx(np.sqrt(1.0 / (9 * 3)))   # data input: gain 1
    assert stds[1] == pytest.approx(np.sqrt(2.0 / (9 * 5)))   # ReLU input: gain 2
    lin = dataclasses.replace(arch, activation="linear")
    assert lin.init_std()[1] == pytest.approx(np.sqrt(1.0 / (9 * 5)))
    up = cbn.Architecture((4,), (1, 2, 1), resample=(-2,))
    # after an up-sampling by 2 half the pixels are zero: the fan-in halves
    assert up.init_std()[1] == pytest.approx(np.sqrt(2.0 / ((1 / 8) * 8 * 2 / 2)))
    head = cbn.Architecture((4,), (1, 6, 3), head="avgpool")
    assert head.init_std()[-1] == pytest.approx(np.sqrt(2 / 6))
