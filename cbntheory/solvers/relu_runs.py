"""One restart of the ReLU solver (:mod:`cbntheory.solvers.relu`): starts and final polish.

* starting points: a Gaussian (He) network or an "identity" network (middle convolutions
  the identity plus small noise), scaled so that the outputs have the size of ``Y`` and
  rebalanced (:func:`random_start`, :func:`start_kind`); a target or given network
  written in the architecture (:func:`warm_start`);
* the end of a run: the Gauss-Newton projection onto the data when the residual is short
  of the target, the rebalancing, and the choice of the lowest-norm verified candidate
  (:func:`polish`).

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (1, 4, 4, 4, 1))
>>> X = np.random.default_rng(0).standard_normal((3, 1, 6))
>>> Y = np.random.default_rng(1).standard_normal((3, 1, 6))
>>> net = cbn.Network.from_vector(arch, random_start(arch, 0, X, Y, "identity"))
>>> bool(np.isclose(np.linalg.norm(net(X)), np.linalg.norm(Y)))
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from .interpolate import initial_vector
from .projection import project
from .relu_prep import embed, rebalance

#: Initialisation strategies of :func:`cbntheory.solvers.relu.relu_minimal_norm`.
RELU_INITS = ("auto", "gaussian", "identity", "target")


def relative_residual(net: Network, X: np.ndarray, Y: np.ndarray) -> float:
    """``||f_theta(X) - Y|| / ||Y||`` recomputed by a fresh forward pass."""
    scale = float(np.linalg.norm(Y)) or 1.0
    return float(np.linalg.norm(net(X) - Y)) / scale


def random_start(arch: Architecture, seed: int, X: np.ndarray, Y: np.ndarray,
                  kind: str) -> np.ndarray:
    """Random start scaled so that ``||f_theta(X)|| = ||Y||``, then rebalanced.

    "gaussian": He initialisation.  "identity": the same, but every middle convolution
    (all except the first and the last) is the identity on ``min(C_in, C_out)`` channels
    (a centre tap ``1/c_l``) plus the He draw times ``settings.IDENTITY_INIT_NOISE``:
    after the first ReLU the activations are non-negative and pass such layers
    unchanged, so the deep network starts as a well-conditioned two-layer one.
    """
    theta = initial_vector(arch, np.random.default_rng(seed), init="gaussian")
    if kind == "identity":
        net = Network.from_vector(arch, theta)
        kernels = net.kernels
        for l in range(1, arch.n_conv - 1):
            k = kernels[l] * settings.IDENTITY_INIT_NOISE
            for i in range(min(k.shape[:2])):
                k[(i, i) + (0,) * arch.ndim] += 1.0 / arch.constants[l]
            kernels[l] = k
        theta = Network(arch, kernels, net.biases).to_vector()
    out = float(np.linalg.norm(Network.from_vector(arch, theta)(X)))  # biases are zero
    if out > 0 and np.isfinite(out):
        factor = (float(np.linalg.norm(Y)) / out) ** (1.0 / arch.depth)
        for name, sl in arch.vector_layout:
            if name.startswith("kernels"):
                theta[sl] *= factor
    return rebalance(Network.from_vector(arch, theta)).to_vector()


def start_kind(arch: Architecture, init: Any, j: int) -> str:
    """Random start of restart ``j``: "auto" alternates identity/Gaussian (deep ReLU nets)."""
    if init in ("gaussian", "identity"):
        return str(init)
    deep = arch.n_conv >= 3 and arch.activation == "relu"
    return "identity" if deep and j % 2 == 0 else "gaussian"


def polish(net: Network, X: np.ndarray, Y: np.ndarray, tol: float, deadline: float,
            projectable: bool) -> tuple[Network, float, str, bool]:
    """Rebalance, and project onto the data when the residual is short of the target.

    Returns the lowest-norm candidate within ``tol`` (else the lowest-residual one), its
    residual, a note for the run's message and whether a KeyboardInterrupt arrived.
    """
    resid = relative_residual(net, X, Y)
    candidates = [(net, resid)]
    note, stopped = "", False
    aim = tol * settings.RELU_PROJECT_MARGIN
    if projectable and resid > aim:
        try:
            moved, m_resid, steps = project(net, X, Y, aim, deadline=deadline)
            candidates.append((moved, m_resid))
            note = (f"; Gauss-Newton projection: residual {resid:.2e} -> {m_resid:.2e} in "
                    f"{steps} step(s)")
        except KeyboardInterrupt:
            stopped = True
    try:
        for cand, r in list(candidates):
            balanced = rebalance(cand)
            if balanced is not cand:
                b_resid = relative_residual(balanced, X, Y)
                if b_resid <= max(tol, r):
                    candidates.append((balanced, b_resid))
    except KeyboardInterrupt:
        stopped = True
    fitting = [c for c in candidates if c[1] <= tol]
    if fitting:
        net, resid = min(fitting, key=lambda c: c[0].param_norm())
    else:
        net, resid = min(candidates, key=lambda c: c[1])
    return net, resid, note, stopped


def warm_start(arch: Architecture, init: Any, target: Network | None
                ) -> tuple[Network, str] | None:
    """The network of the first restart (or None for a Gaussian start)."""
    if isinstance(init, Network):
        source, what = init, "the given network"
    elif init in RELU_INITS:
        if init in ("gaussian", "identity") or target is None:
            if init == "target":
                raise V.fail("init", "be 'auto', 'gaussian' or 'identity' without a target "
                             "network", init)
            return None
        source, what = target, "the target network"
    else:
        raise V.fail("init", f"be one of {RELU_INITS} or a Network", init)
    net, why = embed(source, arch)
    if net is None:
        if init == "auto":
            return None
        raise V.fail("init", f"be a network that fits the architecture ({why})", init)
    return rebalance(net), f"{what}, embedded and rebalanced"
