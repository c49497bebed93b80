"""Networks trained elsewhere: PyTorch ``nn.Sequential`` CNNs to and from :class:`Network`.

Supported: ``Conv1d``/``Conv2d`` with circular padding ``k // 2`` (odd kernel size ``k``
up to the image, the same on every axis), stride 1 or 2, no dilation or groups; ``ReLU``
between them; optionally ``AdaptiveAvgPool{1,2}d(1)``, ``Flatten`` and a final
``Linear`` (the average-pool head).  The state dict alone (``Module.state_dict()``, e.g.
saved with ``numpy.savez``) is enough: :func:`from_state_dict` needs no torch, and
:func:`from_torch` / :func:`to_torch` use it when torch is installed (extra ``[torch]``).

The conversion, from PyTorch's documented semantics (cross-correlation):
``y[o, p] = b[o] + sum_{i, q} w[o, i, q] x_pad[i, s p + q]`` with ``x_pad`` the input
circularly padded by ``k // 2`` on each side, i.e. ``x_pad[j] = x[(j - k//2) mod d]``.
A :class:`Network` layer computes ``c sum_t W[o, i, t] x[i, p - t]`` (a convolution);
the two agree at stride 1 when ``W[o, i, (k//2 - q) mod d] = w[o, i, q] / c``.  The plain
normalisation (``c = 1``) is used, so that the parameter norm of the imported network is
PyTorch's ``sum ||w||^2 + ||b||^2``.  A stride-2 convolution is the stride-1 one followed
by keeping the even pixels, and ReLU commutes with that, so it becomes a down-sampling of
the layer's activation (``Architecture.resample``).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> state = {"0.weight": rng.standard_normal((3, 1, 3)), "0.bias": rng.standard_normal(3),
...          "2.weight": rng.standard_normal((1, 3, 3)), "2.bias": rng.standard_normal(1)}
>>> net = from_state_dict(state, (8,))
>>> net.architecture.channels, net.architecture.kernel_size, net.architecture.normalization
((1, 3, 1), (3,), 'plain')
>>> back = to_state_dict(net)
>>> all(np.allclose(back[k], state[k]) for k in state)
True
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import ValidationError
from .architecture import Architecture
from .network import Network


def _layers(state: Mapping[str, Any]) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """``(prefix, weight, bias)`` per parametrised module, in the Sequential's order."""
    prefixes = sorted({k.rsplit(".", 1)[0] for k in state if k.endswith(".weight")},
                      key=lambda p: [int(t) if t.isdigit() else t for t in p.split(".")])
    if not prefixes:
        raise V.fail("state", "hold '<index>.weight' arrays (a Sequential's state_dict)",
                     sorted(state))
    unknown = [k for k in state if k.rsplit(".", 1)[-1] not in ("weight", "bias")]
    if unknown:
        raise V.fail("state", "hold only weights and biases of Conv and Linear layers", unknown)
    out = []
    for p in prefixes:
        bias = state.get(f"{p}.bias")
        out.append((p, V.real_array(f"{p}.weight", state[f"{p}.weight"]),
                    None if bias is None else V.real_array(f"{p}.bias", bias)))
    return out


def _check_structure(layers: list[tuple[str, np.ndarray, np.ndarray | None]],
                     ndim: int) -> tuple[int, bool, bool]:
    """The common odd kernel size, whether a Linear head ends it, whether biases exist."""
    head = layers[-1][1].ndim == 2
    convs = layers[:-1] if head else layers
    if not convs or any(w.ndim != ndim + 2 for _, w, _ in convs):
        raise V.fail("state", f"hold Conv{ndim}d weights (C_out, C_in, *k), then optionally "
                     "one Linear weight", [w.shape for _, w, _ in layers])
    sizes = {s for _, w, _ in convs for s in w.shape[2:]}
    if len(sizes) != 1 or min(sizes) % 2 == 0:
        raise V.fail("state", "use one odd kernel size on every axis and layer (circular "
                     "padding k // 2 keeps the image size only for odd k)", sorted(sizes))
    with_bias = {b is not None for _, _, b in layers}
    if len(with_bias) != 1:
        raise V.fail("state", "have a bias in every layer or in none", sorted(s for s in
                                                                               with_bias))
    widths = [w.shape[:2] for _, w, _ in layers]
    for (n_out, _), (_, n_in) in zip(widths, widths[1:]):
        if n_out != n_in:
            raise V.fail("state", "chain the channels (C_out of a layer = C_in of the next)",
                         widths)
    return int(sizes.pop()), head, with_bias.pop()


def _architecture(layers: list[tuple[str, np.ndarray, np.ndarray | None]],
                  spatial_shape: tuple[int, ...], strides: Sequence[int]) -> Architecture:
    k, head, bias = _check_structure(layers, len(spatial_shape))
    channels = (layers[0][1].shape[1],) + tuple(w.shape[0] for _, w, _ in layers)
    n_conv = len(layers) - (1 if head else 0)
    if len(strides) != n_conv or any(s not in (1, 2) for s in strides):
        raise V.fail("strides", f"give 1 or 2 for each of the {n_conv} convolutions", strides)
    if not head and strides[-1] != 1:
        raise V.fail("strides", "be 1 at the last convolution (its output is the image "
                     "output)", strides)
    resample = tuple(strides) if head else tuple(strides[:-1])
    return Architecture(spatial_shape, channels, kernel_size=(k,) * len(spatial_shape),
                        activation="relu", bias=bias,
                        penalize_bias=True, normalization="plain",
                        head="avgpool" if head else None,
                        resample=resample if any(s != 1 for s in resample) else None)


def from_state_dict(state: Mapping[str, Any], spatial_shape: Any, *,
                    strides: Sequence[int] | None = None) -> Network:
    """The :class:`Network` of a PyTorch Sequential CNN's state dict (see the module notes).

    Parameters
    ----------
    state : mapping of str to array_like
        ``"<index>.weight"`` and ``"<index>.bias"`` arrays in the Sequential's order.
    spatial_shape : int or tuple of int
        The input image shape ``(d,)`` or ``(d1, d2)`` (a state dict does not hold it).
    strides : sequence of int, optional
        Stride (1 or 2) of every convolution; default all 1.

    Raises
    ------
    ValidationError
        For layouts outside the supported family (the message says which rule failed).
    """
    shape = V.spatial_shape("spatial_shape", spatial_shape)
    layers = _layers(state)
    n_conv = sum(1 for _, w, _ in layers if w.ndim > 2)
    arch = _architecture(layers, shape, tuple(strides) if strides is not None else (1,) * n_conv)
    kernels, biases = [], []
    for l, (_, w, b) in enumerate(layers):
        if l < arch.n_conv:
            kernels.append(_to_kernel(w, arch.layer_shapes[l]))
        else:
            kernels.append(w.copy())
        if b is not None:
            biases.append(b.copy())
    return Network(arch, kernels, biases if arch.bias else None)


def _to_kernel(w: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``W[o, i, (k//2 - q) mod d] = w[o, i, q]`` per axis (c = 1)."""
    kernel = np.zeros(w.shape[:2] + shape)
    k = w.shape[2]
    for q in np.ndindex(*w.shape[2:]):
        t = tuple((k // 2 - qq) % d for qq, d in zip(q, shape))
        kernel[(slice(None), slice(None)) + t] = w[(slice(None), slice(None)) + q]
    return kernel


def _to_weight(kernel: np.ndarray, k: int) -> np.ndarray:
    """Inverse of :func:`_to_kernel`: the ``k``-tap PyTorch weight."""
    shape = kernel.shape[2:]
    w = np.zeros(kernel.shape[:2] + (k,) * len(shape))
    for q in np.ndindex(*w.shape[2:]):
        t = tuple((k // 2 - qq) % d for qq, d in zip(q, shape))
        w[(slice(None), slice(None)) + q] = kernel[(slice(None), slice(None)) + t]
    return w


def sequential_indices(arch: Architecture) -> list[int]:
    """Index in ``nn.Sequential`` of every parametrised layer: Conv, ReLU, ..., [pool,
    Flatten,] Linear.

    Examples
    --------
    >>> sequential_indices(Architecture((8,), (1, 2, 2, 1), kernel_size=3))
    [0, 2, 4]
    >>> sequential_indices(Architecture((8,), (1, 2, 3), kernel_size=3, head="avgpool"))
    [0, 4]
    """
    n_conv = arch.n_conv
    convs = [2 * l for l in range(n_conv)]
    return convs + ([2 * n_conv + 2] if arch.head == "avgpool" else [])


def to_state_dict(net: Network) -> dict[str, np.ndarray]:
    """The PyTorch state dict of ``net`` (the inverse of :func:`from_state_dict`).

    ``net`` must be in the supported family: ReLU, plain normalisation, an odd
    ``kernel_size`` on every axis, down-sampling by 2 or none.
    """
    arch = net.architecture
    ks = arch.kernel_size
    if (arch.activation != "relu" or arch.normalization != "plain" or ks is None
            or len(set(ks)) != 1 or ks[0] % 2 == 0 or
            any(r not in (1, 2) for r in (arch.resample or ()))):
        raise V.fail("net", "be ReLU with the plain normalisation, one odd kernel_size and "
                     "strides 1 or 2 (what a PyTorch circular Conv computes)", arch)
    state = {}
    for l, idx in enumerate(sequential_indices(arch)):
        kernel = net.kernels[l]
        state[f"{idx}.weight"] = _to_weight(kernel, ks[0]) if l < arch.n_conv else kernel.copy()
        if arch.bias:
            state[f"{idx}.bias"] = np.array(net.biases[l])
    return state


def strides_of(arch: Architecture) -> list[int]:
    """The stride of every convolution of ``arch`` (for :func:`to_torch`)."""
    codes = list(arch.resample or ())
    codes = codes + [1] * (arch.n_conv - len(codes))
    return [int(c) if c > 1 else 1 for c in codes[:arch.n_conv]]


def from_torch(module: Any, spatial_shape: Any) -> Network:
    """The :class:`Network` of a ``torch.nn.Sequential`` (needs torch; see the module notes)."""
    import torch.nn as tnn

    strides = []
    for layer in module:
        if isinstance(layer, (tnn.Conv1d, tnn.Conv2d)):
            k = layer.kernel_size[0]
            ok = (layer.padding_mode == "circular" and set(layer.dilation) == {1}
                  and layer.groups == 1 and set(layer.padding) == {k // 2}
                  and len(set(layer.stride)) == 1 and layer.stride[0] in (1, 2))
            if not ok:
                raise ValidationError(f"module layer {layer} must be a circular Conv with "
                                      "padding k // 2, stride 1 or 2, no dilation or groups")
            strides.append(layer.stride[0])
        elif not isinstance(layer, (tnn.ReLU, tnn.Linear, tnn.Flatten, tnn.AdaptiveAvgPool1d,
                                    tnn.AdaptiveAvgPool2d)):
            raise ValidationError(f"module layer {layer} is not supported (Conv, ReLU, "
                                  "AdaptiveAvgPool, Flatten, Linear)")
    state = {k: v.detach().cpu().double().numpy() for k, v in module.state_dict().items()}
    return from_state_dict(state, spatial_shape, strides=strides)


def to_torch(net: Network) -> Any:
    """A ``torch.nn.Sequential`` (float64) computing ``net`` (needs torch)."""
    import torch
    import torch.nn as tnn

    arch = net.architecture
    state = to_state_dict(net)
    conv = tnn.Conv1d if arch.ndim == 1 else tnn.Conv2d
    pool = tnn.AdaptiveAvgPool1d if arch.ndim == 1 else tnn.AdaptiveAvgPool2d
    k = arch.kernel_size[0]  # type: ignore[index]
    layers: list[Any] = []
    for l, s in enumerate(strides_of(arch)):
        layers.append(conv(arch.channels[l], arch.channels[l + 1], k, stride=s,
                           padding=k // 2, padding_mode="circular", bias=arch.bias))
        if l < arch.depth - 1:
            layers.append(tnn.ReLU())
    if arch.head == "avgpool":
        layers += [pool(1), tnn.Flatten(), tnn.Linear(arch.channels[-2], arch.channels[-1],
                                                     bias=arch.bias)]
    module = tnn.Sequential(*layers).double()
    module.load_state_dict({key: torch.from_numpy(v) for key, v in state.items()})
    return module
