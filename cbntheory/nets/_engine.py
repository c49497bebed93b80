"""Forward and reverse passes of a network in the frequency domain (internal layout).

The functions here take the *compiled* parameters of a network (:class:`Compiled`:
kernel spectra in the computation dtype, biases, head weights) and activations in the
internal layout ``(*spatial, C, N)`` of :mod:`cbntheory.nets._layers`.  Each convolution is
``rfftn -> batched matmul over frequencies -> irfftn``; biases are added at frequency
0 (``d * b``), which ``irfftn`` turns into the constant ``b``.

The forward pass can record a :class:`Tape` (the input spectrum of every convolution,
the ReLU masks, the pooled features), from which :func:`backward` computes the
gradients for every kernel and bias, and optionally the input cotangent, without
re-running the forward pass or re-transforming anything.  :func:`tangent_forward`
pushes tangent vectors through the linearised network (masks fixed), which is how the
dense Jacobian is assembled column block by column block; :func:`parameter_tangent` does
the same for a tangent of the parameters.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np

from . import _layers as K
from .architecture import Architecture


class Compiled:
    """Network parameters prepared for one dtype: spectra, adjoint spectra, biases."""

    def __init__(self, arch: Architecture, kernels: Sequence[np.ndarray],
                 biases: Sequence[np.ndarray], dtype: np.dtype) -> None:
        self.arch = arch
        self.dtype = dtype
        self.specs = [K.kernel_spectrum(kernels[l], arch.constants[l], dtype)
                      for l in range(arch.n_conv)]
        self._adjs: list[np.ndarray | None] = [None] * arch.n_conv
        self.biases = [np.asarray(b, dtype=dtype) for b in biases]
        self.head_weight = (np.asarray(kernels[-1], dtype=dtype)
                            if arch.head == "avgpool" else None)

    def adj(self, l: int) -> np.ndarray:
        """Conjugate-transposed spectrum of layer ``l`` (computed once)."""
        a = self._adjs[l]
        if a is None:
            a = self._adjs[l] = K.adjoint_spectrum(self.specs[l])
        return a


class Tape:
    """What the reverse pass needs from a forward pass."""

    __slots__ = ("masks", "pool_shape", "pooled", "zh")

    def __init__(self) -> None:
        self.zh: list[np.ndarray] = []
        self.masks: list[np.ndarray | None] = []
        self.pooled: np.ndarray | None = None
        self.pool_shape: tuple[int, ...] = ()


def _conv(comp: Compiled, l: int, zh: np.ndarray, with_bias: bool) -> np.ndarray:
    arch = comp.arch
    shape = arch.layer_shapes[l]
    uh = np.matmul(comp.specs[l], zh)
    if with_bias and arch.bias:
        uh[(0,) * arch.ndim] += float(np.prod(shape)) * comp.biases[l][:, None]
    return K.irfft(uh, shape)


def forward(comp: Compiled, x: np.ndarray, *, record: bool = False,
            hidden: list | None = None, pre: bool = False) -> tuple[np.ndarray, Tape | None]:
    """Network output (internal layout, or ``(n_L, N)`` with the head) and the tape.

    When ``hidden`` is a list, the hidden activations ``a_l`` (or the pre-activations
    when ``pre``) are appended to it, before resampling.
    """
    arch = comp.arch
    ndim = arch.ndim
    relu = arch.activation == "relu"
    tape = Tape() if record else None
    z = x
    for l in range(arch.n_conv):
        zh = K.rfft(z, ndim)
        if tape is not None:
            tape.zh.append(zh)
        u = _conv(comp, l, zh, True)
        if l == arch.depth - 1:  # last convolution of a head-less network
            return u, tape
        if hidden is not None and pre:
            hidden.append(u)
        if relu:
            mask = u > 0
            if hidden is not None and pre:
                u = u * mask
            else:
                u *= mask
            if tape is not None:
                tape.masks.append(mask)
        elif tape is not None:
            tape.masks.append(None)
        if hidden is not None and not pre:
            hidden.append(u)
        z = K.resample(u, arch.resample[l], ndim)  # type: ignore[index]
    # avgpool head: mean over pixels, then the dense layer
    pooled = z.mean(axis=K.lead_axes(ndim))
    if tape is not None:
        tape.pooled = pooled
        tape.pool_shape = z.shape[:ndim]
    out = comp.head_weight @ pooled  # type: ignore[operator]
    if arch.bias:
        out += comp.biases[-1][:, None]
    return out, tape


def backward(comp: Compiled, tape: Tape, cot: np.ndarray, *, want_params: bool = True,
             want_input: bool = False, rows: np.ndarray | None = None,
             spectral: bool = False) -> tuple[list, list, np.ndarray | None]:
    """Reverse pass: gradients of ``<cot, f(x)>`` for kernels, biases and (optionally) input.

    Returns ``(kernel_grads, bias_grads, input_cotangent)``; kernel gradients are in
    the public layout and projected onto the window (zero outside); the input
    cotangent is in the internal layout (None unless ``want_input``).  With ``rows``
    (the taped sample of every column of ``cot``), the parameter gradients are kept per
    column instead of summed, with that column first: kernels ``(R, C_out, C_in,
    *spatial)`` (full size, not projected), the head ``(R, n_L, C)``, biases ``(R, C)``;
    with ``spectral`` too, the kernel gradients stay half spectra ``(*half, C_out, C_in,
    R)`` (:func:`~cbntheory.nets._layers.kernel_spectrum_rows`: no inverse transform).
    """
    arch = comp.arch
    ndim = arch.ndim
    kgrads: list = [None] * arch.depth
    bgrads: list = [None] * arch.depth if arch.bias else []
    g = cot
    if arch.head == "avgpool":
        if want_params:
            pooled = tape.pooled if rows is None else tape.pooled[:, rows]  # type: ignore[index]
            if rows is None:
                kgrads[-1] = g @ pooled.T  # type: ignore[union-attr]
            else:
                kgrads[-1] = np.moveaxis(g[:, None, :] * pooled[None], -1, 0)  # type: ignore[index]
            if arch.bias:
                bgrads[-1] = g.sum(axis=1) if rows is None else g.T
        gp = comp.head_weight.T @ g  # type: ignore[union-attr]
        gp /= float(np.prod(tape.pool_shape))
        g = np.broadcast_to(gp, tape.pool_shape + gp.shape)
    for l in range(arch.n_conv - 1, -1, -1):
        shape = arch.layer_shapes[l]
        if l < arch.depth - 1:  # hidden layer: undo resampling, then the ReLU mask
            g = K.resample_adjoint(g, arch.resample[l], ndim)  # type: ignore[index]
            mask = tape.masks[l]
            if mask is not None:
                g = g * (mask if rows is None else mask[..., rows])
        gh = K.rfft(g, ndim)
        if want_params and rows is None:
            if arch.bias:
                bgrads[l] = gh[(0,) * ndim].real.sum(axis=-1)
            grad = K.kernel_gradient(gh, tape.zh[l], arch.constants[l], shape)
            kgrads[l] = grad * arch.windows[l] if arch.kernel_size is not None else grad
        elif want_params:
            if arch.bias:
                bgrads[l] = gh[(0,) * ndim].real.T
            per_row = K.kernel_spectrum_rows if spectral else partial(
                K.kernel_gradient_rows, shape=shape)
            kgrads[l] = per_row(gh, tape.zh[l][..., rows], arch.constants[l])
        if l > 0 or want_input:
            g = K.irfft(np.matmul(comp.adj(l), gh), shape)
    return kgrads, bgrads, (g if want_input else None)


def tangent_forward(comp: Compiled, tape: Tape, t: np.ndarray) -> np.ndarray:
    """Push tangents ``t`` (internal layout) through the network linearised at the taped input.

    Biases drop out and the ReLU masks of the tape are applied: this is
    ``C_L D_{L-1} C_{L-1} ... D_1 C_1 t`` (with resampling and the head where present).
    """
    arch = comp.arch
    ndim = arch.ndim
    for l in range(arch.n_conv):
        u = _conv(comp, l, K.rfft(t, ndim), False)
        if l == arch.depth - 1:
            return u
        t = _linearised_activation(comp, tape, l, u)
    return comp.head_weight @ t.mean(axis=K.lead_axes(ndim))  # type: ignore[operator]


def parameter_tangent(comp: Compiled, tape: Tape, dcomp: Compiled) -> np.ndarray:
    """``d/dt f_{theta + t v}(x)`` at ``t = 0`` for the taped input ``x``.

    ``dcomp`` is the tangent ``v`` compiled like parameters (its kernel spectra, biases
    and head weight).  Layer by layer, with the masks of the tape, the tangent of
    ``u_l = W_l * z_{l-1} + b_l`` is ``dW_l * z_{l-1} + W_l * dz_{l-1} + db_l``.
    """
    arch = comp.arch
    ndim = arch.ndim
    t = None                                   # tangent of the layer input (data: none)
    for l in range(arch.n_conv):
        uh = np.matmul(dcomp.specs[l], tape.zh[l])
        if t is not None:
            uh += np.matmul(comp.specs[l], K.rfft(t, ndim))
        if arch.bias:
            uh[(0,) * ndim] += float(np.prod(arch.layer_shapes[l])) * dcomp.biases[l][:, None]
        u = K.irfft(uh, arch.layer_shapes[l])
        if l == arch.depth - 1:
            return u
        t = _linearised_activation(comp, tape, l, u)
    out = (comp.head_weight @ t.mean(axis=K.lead_axes(ndim))  # type: ignore[operator, union-attr]
           + dcomp.head_weight @ tape.pooled)  # type: ignore[operator]
    if arch.bias:
        out += dcomp.biases[-1][:, None]
    return out


def _linearised_activation(comp: Compiled, tape: Tape, l: int, u: np.ndarray) -> np.ndarray:
    """A tangent through hidden layer ``l``'s activation: the tape's ReLU mask (in place),
    then the layer's resampling."""
    mask = tape.masks[l]
    if mask is not None:
        u *= mask
    return K.resample(u, comp.arch.resample[l], comp.arch.ndim)  # type: ignore[index]
