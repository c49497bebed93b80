"""Feasibility restoration for the ReLU solver: Gauss-Newton projection onto ``f_theta(X) = Y``.

The augmented Lagrangian of :mod:`cbntheory.backends.optimize` approaches the constraint set slowly
when it is stopped by its time budget (the residual decays like ``1/mu``).  Near the
set, a few Gauss-Newton steps finish the job: with ``J`` the Jacobian of the residual
``r(theta) = (f_theta(X) - Y) / ||Y||`` with respect to the free parameters,

    ``delta = -J^T (J J^T + lambda I)^{-1} r``

is the smallest correction (Levenberg-Marquardt damped) that cancels the linearised
residual, so the norm moves by ``O(||delta||)`` while the residual converges
quadratically.  This is a projection, not a second minimiser: it does not lower the norm.

:func:`parameter_jacobian` assembles ``J`` row by row of the output in one batched reverse
pass (rows = samples x output coordinates) using the network engine's tape; its cost is
about ``rows`` backward passes of one sample, done as one batch.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((4,), (1, 3, 1), kernel_size=3)
>>> net = arch.init(rng=0)
>>> X = np.random.default_rng(1).standard_normal((2, 1, 4))
>>> out, J = parameter_jacobian(net, X)
>>> v, e = net.to_vector(), np.zeros(arch.n_free)
>>> e[5] = 1e-6
>>> fd = (cbn.Network.from_vector(arch, v + e)(X) - cbn.Network.from_vector(arch, v - e)(X))
>>> bool(np.allclose(J[:, 5], fd.ravel() / 2e-6, atol=1e-6))
True
"""
from __future__ import annotations

import time

import numpy as np

from ..nets import _engine as E
from ..nets import _layers as K
from ..nets.network import Network


def parameter_jacobian(net: Network, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outputs ``f_theta(X)`` and ``d f_theta(X) / d theta`` (rows in C order of the outputs).

    Parameters
    ----------
    net : Network
    X : ndarray, shape (N, n_0, *spatial)

    Returns
    -------
    out : ndarray, shape (N, *output_shape)
    J : ndarray, shape (N * output_size, n_free)
        Columns in the layout of ``Network.to_vector`` (window taps only).
    """
    arch = net.architecture
    nd = arch.ndim
    comp = net._comp(np.dtype(np.float64))
    out, tape = E.forward(comp, K.to_internal(X, nd), record=True)
    assert tape is not None
    N, size = X.shape[0], arch.output_size
    R = N * size
    rows = np.arange(R)
    sample = rows // size                       # the sample of every row
    kblocks: list[np.ndarray] = [np.empty(0)] * arch.depth
    bblocks: list[np.ndarray] = [np.empty(0)] * arch.depth
    if arch.head == "avgpool":
        n_out = arch.channels[-1]
        onehot = np.zeros((n_out, R))
        onehot[rows % size, rows] = 1.0
        pooled = tape.pooled[:, sample]        # type: ignore[index]
        kblocks[-1] = (onehot[:, None, :] * pooled[None]).reshape(-1, R).T
        bblocks[-1] = onehot.T
        gp = comp.head_weight.T @ onehot / float(np.prod(tape.pool_shape))  # type: ignore
        g = np.ascontiguousarray(np.broadcast_to(gp, tape.pool_shape + gp.shape))
    else:
        cot = np.zeros((R, size))
        cot[rows, rows % size] = 1.0
        g = K.to_internal(cot.reshape((R,) + arch.output_shape), nd)
    for l in range(arch.n_conv - 1, -1, -1):
        shape = arch.layer_shapes[l]
        if l < arch.depth - 1:
            g = K.resample_adjoint(g, arch.resample[l], nd)  # type: ignore[index]
            mask = tape.masks[l]
            if mask is not None:
                g = g * mask[..., sample]
        gh = K.rfft(g, nd)                                   # (*half, C_out, R)
        zh = tape.zh[l][..., sample]                         # (*half, C_in, R)
        if arch.bias:
            bblocks[l] = gh[(0,) * nd].real.T
        prod = gh[..., :, None, :] * np.conj(zh)[..., None, :, :]
        prod *= arch.constants[l]
        grad = K.irfft(prod, shape)                          # (*shape, C_out, C_in, R)
        grad = np.moveaxis(grad, -1, 0)
        grad = np.moveaxis(grad, tuple(range(1, 1 + nd)), tuple(range(3, 3 + nd)))
        grad = grad.reshape(R, grad.shape[1], grad.shape[2], -1)
        kblocks[l] = grad[:, :, :, arch._window_index[l]].reshape(R, -1)
        if l > 0:
            g = K.irfft(np.matmul(comp.adj(l), gh), shape)
    parts = []
    for l in range(arch.depth):
        parts.append(kblocks[l])
        if arch.bias:
            parts.append(bblocks[l])
    public = np.ascontiguousarray(out.T) if arch.head == "avgpool" else K.from_internal(out, nd)
    return public, np.concatenate(parts, axis=1)


def project(net: Network, X: np.ndarray, Y: np.ndarray, target: float, *,
            deadline: float | None = None, max_steps: int = 8) -> tuple[Network, float, int]:
    """Levenberg-Marquardt steps towards ``f_theta(X) = Y``; the best network seen.

    Parameters
    ----------
    net : Network
        Starting point (usually the augmented Lagrangian's answer).
    X, Y : ndarray
        Data.
    target : float
        Stop when the relative residual is at most this.
    deadline : float, optional
        ``time.perf_counter()`` value after which no new step starts.
    max_steps : int
        Jacobian evaluations at most.

    Returns
    -------
    (Network, float, int)
        The lowest-residual network seen, its relative residual, the steps taken.
    """
    arch = net.architecture
    scale = float(np.linalg.norm(Y)) or 1.0
    theta = net.to_vector()
    out, J = parameter_jacobian(net, X)
    r = (out - Y).ravel() / scale
    best = (float(np.linalg.norm(r)), net)
    lam = 1e-10
    steps = 0
    while best[0] > target and steps < max_steps:
        if deadline is not None and time.perf_counter() > deadline:
            break
        steps += 1
        J /= scale
        G = J @ J.T
        shift = float(np.trace(G)) / G.shape[0]
        for _ in range(12):
            try:
                c = np.linalg.solve(G + lam * shift * np.eye(G.shape[0]), r)
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            cand = theta - J.T @ c
            if not np.all(np.isfinite(cand)):
                lam *= 10.0
                continue
            trial = Network.from_vector(arch, cand, seed=net.seed)
            rn = float(np.linalg.norm(trial(X) - Y)) / scale
            if rn < best[0]:
                best, theta = (rn, trial), cand
                lam = max(lam / 10.0, 1e-14)
                break
            lam *= 10.0
        else:
            break
        if best[0] <= target:
            break
        out, J = parameter_jacobian(best[1], X)
        r = (out - Y).ravel() / scale
    return best[1], best[0], steps
