"""Gauss-Newton descent on the annealing's penalised objective (the ReLU solver's phase 2).

The annealed phase of :mod:`cbntheory.solvers.augmented` minimises

    ``phi(theta) = ||r(theta)||^2 + lam sum_i w_i theta_i^2``,   ``r = (f_theta(X) - Y) / ||Y||``

by L-BFGS, whose progress on this ill-conditioned objective slows long before its
minimum.  Levenberg-Marquardt steps use the curvature of the residual instead:

    ``delta = -(J^T J + alpha I)^{-1} g``,   ``g = J^T r + lam w theta``,   ``alpha = lam + mu``,

computed in the row space of ``J`` (``N m`` rows, fewer than the parameters):
``(J^T J + alpha I)^{-1} g = (g - J^T (J J^T + alpha I)^{-1} J g) / alpha``, with ``J J^T``
from :func:`cbntheory.nets.jacobian.parameter_gram`, ``J g = (J J^T) r + lam J (w theta)``
(one forward-mode pass, :meth:`~cbntheory.nets.network.Network.jvp`) and ``J^T c`` one
reverse pass.  The damping ``mu`` grows until ``phi`` decreases.  With unpenalised
parameters (``w_i = 0``) the uniform ``alpha`` damps them a little more than the model
needs: the step is still a descent direction of ``phi``, and only decreases are accepted.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (1, 4, 4, 1))
>>> X = np.random.default_rng(0).standard_normal((3, 1, 6))
>>> Y = arch.init(rng=1)(X)
>>> start = arch.init(rng=2)
>>> net, values = descend(start, X, Y, 1e-3, np.ones(arch.n_free), steps=5)
>>> len(values) >= 2 and all(b < a for a, b in zip(values, values[1:]))
True
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from .. import settings
from ..nets.network import Network
from .projection import linearise


def descend(net: Network, X: np.ndarray, Y: np.ndarray, lam: float, weights: np.ndarray,
            steps: int) -> tuple[Network, list[float]]:
    """At most ``steps`` Levenberg-Marquardt steps on ``phi``; the last network and the
    values of ``phi`` (the start's first).

    Parameters
    ----------
    net : Network
        Start (usually the annealed phase's answer).
    X, Y : ndarray
        Data.
    lam : float
        The weight of the penalty (the annealing stage's, in the same units:
        ``r`` relative to ``||Y||``).
    weights : ndarray, shape (n_free,)
        ``w``: 1 for a penalised parameter, 0 for a free one.
    steps : int
        Linearisations at most; the descent also stops after a step that lowers ``phi``
        by less than the fraction :data:`cbntheory.settings.DESCENT_STALL`, or when no
        damping (at most :data:`~cbntheory.settings.PROJECT_DAMPING_TRIES` tries, each
        four times the last) lowers it.
    """
    arch = net.architecture
    scale = float(np.linalg.norm(Y)) or 1.0
    theta = net.to_vector()
    values = [_phi(net, X, Y, scale, lam, weights)]
    mu = lam
    for _ in range(steps):
        r, pull, G = linearise(net, X, Y, scale)
        grad = pull(r) + lam * weights * theta
        jg = G @ r + lam * net.jvp(X, weights * theta)[1].ravel() / scale
        for _ in range(settings.PROJECT_DAMPING_TRIES):
            alpha = lam + mu
            try:
                factor = scipy.linalg.cho_factor(G + alpha * np.eye(G.shape[0]))
            except np.linalg.LinAlgError:
                mu *= 4.0
                continue
            cand = theta - (grad - pull(scipy.linalg.cho_solve(factor, jg))) / alpha
            trial = Network.from_vector(arch, cand, seed=net.seed)
            value = _phi(trial, X, Y, scale, lam, weights) if np.all(np.isfinite(cand)) \
                else np.inf
            if value < values[-1]:
                mu = max(mu / 3.0, settings.DESCENT_DAMPING_MIN * lam)
                break
            mu *= 4.0
        else:
            break
        net, theta = trial, cand
        values.append(value)
        if value > (1.0 - settings.DESCENT_STALL) * values[-2]:
            break
    return net, values


def _phi(net: Network, X: np.ndarray, Y: np.ndarray, scale: float, lam: float,
         weights: np.ndarray) -> float:
    """``||(f(X) - Y) / scale||^2 + lam sum(w theta^2)``."""
    r = (net(X) - Y) / scale
    theta = net.to_vector()
    return float(np.sum(r * r)) + lam * float(np.dot(weights, theta * theta))
