"""Feasibility restoration for the ReLU solver: Gauss-Newton projection onto ``f_theta(X) = Y``.

The augmented Lagrangian of :mod:`cbntheory.solvers.augmented` approaches the constraint set slowly
when it is stopped by its time budget (the residual decays like ``1/mu``).  Near the
set, a few Gauss-Newton steps finish the job: with ``J`` the Jacobian of the residual
``r(theta) = (f_theta(X) - Y) / ||Y||`` with respect to the free parameters,

    ``delta = -J^T (J J^T + lambda I)^{-1} r``

is the smallest correction (Levenberg-Marquardt damped) that cancels the linearised
residual, so the norm moves by ``O(||delta||)`` while the residual converges
quadratically.  This is a projection, not a second minimiser: it does not lower the norm.

:func:`cbntheory.nets.jacobian.parameter_jacobian` gives ``J``.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((4,), (1, 3, 1), kernel_size=3)
>>> net = arch.init(rng=0)
>>> X = np.random.default_rng(1).standard_normal((2, 1, 4))
>>> Y = net(X)
>>> moved = cbn.Network.from_vector(arch, net.to_vector() + 1e-4)
>>> _, resid, steps = project(moved, X, Y, 1e-10)
>>> bool(resid <= 1e-10), steps >= 1
(True, True)
"""
from __future__ import annotations

import time

import numpy as np

from .. import settings
from ..nets.jacobian import parameter_jacobian
from ..nets.network import Network
from ..results import relative_residual


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
    lam = settings.PROJECT_DAMPING
    steps = 0
    while best[0] > target and steps < max_steps:
        if deadline is not None and time.perf_counter() > deadline:
            break
        steps += 1
        J /= scale
        G = J @ J.T
        shift = float(np.trace(G)) / G.shape[0]
        for _ in range(settings.PROJECT_DAMPING_TRIES):
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
            rn = relative_residual(trial(X), Y)
            if rn < best[0]:
                best, theta = (rn, trial), cand
                lam = max(lam / 10.0, settings.PROJECT_DAMPING_MIN)
                break
            lam *= 10.0
        else:
            break
        if best[0] <= target:
            break
        out, J = parameter_jacobian(best[1], X)
        r = (out - Y).ravel() / scale
    return best[1], best[0], steps
