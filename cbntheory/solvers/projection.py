"""Feasibility restoration for the ReLU solver: Gauss-Newton projection onto ``f_theta(X) = Y``.

The augmented Lagrangian of :mod:`cbntheory.solvers.augmented` approaches the constraint set slowly
when it is stopped by its time budget (the residual decays like ``1/mu``).  Near the
set, a few Gauss-Newton steps finish the job: with ``J`` the Jacobian of the residual
``r(theta) = (f_theta(X) - Y) / ||Y||`` with respect to the free parameters,

    ``delta = -J^T (J J^T + lambda I)^{-1} r``

is the smallest correction (Levenberg-Marquardt damped) that cancels the linearised
residual, so the norm moves by ``O(||delta||)`` while the residual converges
quadratically.  This is a projection, not a second minimiser: it does not lower the norm.

:func:`cbntheory.nets.jacobian.parameter_gram` gives ``J J^T`` without forming ``J``; the
step ``J^T c`` is one reverse pass (:meth:`~cbntheory.nets.network.Network.pullback`).

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
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg

from .. import settings
from ..nets.jacobian import parameter_gram
from ..nets.network import Network
from ..results import relative_residual


def project(net: Network, X: np.ndarray, Y: np.ndarray, target: float, *,
            deadline: float | None = None, max_steps: int | None = None
            ) -> tuple[Network, float, int]:
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
    max_steps : int, optional
        Jacobian evaluations at most (default :data:`cbntheory.settings.PROJECT_MAX_STEPS`);
        after each Levenberg-Marquardt step, chord steps (the same Jacobian, a new
        residual) follow while they converge fast.  The projection also stops after
        :data:`~cbntheory.settings.PROJECT_STALL_STEPS` steps in a row that each keep more
        than :data:`~cbntheory.settings.PROJECT_STALL_RATIO` of the residual.

    Returns
    -------
    (Network, float, int)
        The lowest-residual network seen, its relative residual, the steps taken.

    Notes
    -----
    Far from the data (relative residual above
    :data:`cbntheory.settings.PROJECT_FLOAT32_ABOVE`) ``J J^T`` is computed in float32,
    at about half the cost: there the accepted steps are damped, so the solve's relative
    error (about ``1e-7`` times the condition number of the damped system) is far below
    what the linear model's own error allows.  Residuals, trial points, the pullback
    ``J^T c`` and the factorisation are float64, and the last steps, which converge
    quadratically, use a float64 ``J J^T``.
    """
    arch = net.architecture
    scale = float(np.linalg.norm(Y)) or 1.0
    theta = net.to_vector()
    r, pull, G = _linearise(net, X, Y, scale)
    best = (float(np.linalg.norm(r)), net)
    lam = settings.PROJECT_DAMPING
    steps = slow = 0
    max_steps = settings.PROJECT_MAX_STEPS if max_steps is None else max_steps
    while best[0] > target and steps < max_steps and slow < settings.PROJECT_STALL_STEPS:
        if deadline is not None and time.perf_counter() > deadline:
            break
        steps += 1
        before = best[0]
        shift = float(np.trace(G)) / G.shape[0]
        for _ in range(settings.PROJECT_DAMPING_TRIES):
            try:
                factor = scipy.linalg.cho_factor(G + lam * shift * np.eye(G.shape[0]))
            except np.linalg.LinAlgError:
                lam *= 10.0
                continue
            cand = theta - pull(scipy.linalg.cho_solve(factor, r))
            if not np.all(np.isfinite(cand)):
                lam *= 10.0
                continue
            trial = Network.from_vector(arch, cand, seed=net.seed)
            out = trial(X)
            rn = relative_residual(out, Y)
            if rn < best[0]:
                best, theta, moved = (rn, trial), cand, (out - Y).ravel() / scale
                lam = max(lam / 10.0, settings.PROJECT_DAMPING_MIN)
                break
            lam *= 10.0
        else:
            break
        best, theta = _chords(best, theta, moved, pull, factor, X, Y, scale, target,
                              deadline)
        if best[0] <= target:
            break
        slow = slow + 1 if best[0] > settings.PROJECT_STALL_RATIO * before else 0
        r, pull, G = _linearise(best[1], X, Y, scale)
    return best[1], best[0], steps


def gauss_newton_metric(arch: Any, X: np.ndarray, Y: np.ndarray,
                        damping: float | None = None
                        ) -> Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """The metric of an annealed phase that penalises the distance to the data.

    Returns ``metric``: ``metric(theta)`` linearises at ``theta`` and gives ``apply``,
    ``apply(r) = (J J^T + d I)^{-1} r`` for the residual ``r = (f_theta(X) - Y) / ||Y||``
    of :func:`cbntheory.solvers.constraints.network_constraint` (``J`` its Jacobian,
    ``d`` = ``damping`` times the mean eigenvalue of ``J J^T``, default
    :data:`cbntheory.settings.RELU_METRIC_DAMPING`).  ``r^T apply(r)`` is then the
    squared length of the damped Gauss-Newton step from ``theta`` to the data, and its
    gradient is ``2 J^T apply(r)`` at the point where ``apply`` was made.

    ``J J^T`` is computed in float32 (as far from the data in :func:`project`); the
    factorisation and the solves are float64.

    Examples
    --------
    Without damping, ``apply`` inverts ``J J^T`` (here with ``J`` from its definition):

    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((5,), (1, 2, 2, 1), kernel_size=3)
    >>> net, X = arch.init(rng=3), np.random.default_rng(4).standard_normal((3, 1, 5))
    >>> Y = 2.0 * net(X)
    >>> r = ((net(X) - Y) / np.linalg.norm(Y)).ravel()
    >>> apply = gauss_newton_metric(arch, X, Y, damping=0.0)(net.to_vector())
    >>> from cbntheory.nets.jacobian import parameter_jacobian
    >>> J = parameter_jacobian(net, X)[1] / np.linalg.norm(Y)
    >>> bool(np.allclose(J @ J.T @ apply(r), r, rtol=1e-4, atol=1e-6))
    True
    """
    scale = float(np.linalg.norm(Y)) or 1.0
    relative = settings.RELU_METRIC_DAMPING if damping is None else float(damping)

    def metric(theta: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        _, G = parameter_gram(Network.from_vector(arch, theta), X, dtype=np.float32)
        G /= scale * scale
        mean = float(np.trace(G)) / G.shape[0]
        if not mean > 0.0:  # no parameter moves the outputs: the plain residual
            return lambda r: r
        for tries in range(settings.PROJECT_DAMPING_TRIES):
            shift = relative * 10.0 ** tries * mean
            try:  # float32 round-off can exceed a small damping: raise it
                factor = scipy.linalg.cho_factor(G + shift * np.eye(G.shape[0]))
            except np.linalg.LinAlgError:
                continue
            return lambda r: scipy.linalg.cho_solve(factor, r)
        return lambda r: r / mean

    return metric


def _linearise(net: Network, X: np.ndarray, Y: np.ndarray, scale: float
               ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray], np.ndarray]:
    """At ``net``: the residual ``r`` (float64), the pullback ``c -> J^T c`` of its
    Jacobian (float64, one reverse pass) and ``J J^T`` (float64; computed in float32
    while ``||r||`` exceeds ``PROJECT_FLOAT32_ABOVE``)."""
    out, backward = net.pullback(X)
    r = (out - Y).ravel() / scale
    far = float(np.linalg.norm(r)) > settings.PROJECT_FLOAT32_ABOVE
    _, G = parameter_gram(net, X, dtype=np.float32 if far else np.float64)
    G /= scale * scale

    def pull(coef: np.ndarray) -> np.ndarray:
        return backward(coef.reshape(out.shape) / scale)

    return r, pull, G


def _chords(best: tuple[float, Network], theta: np.ndarray, r: np.ndarray,
            pull: Callable[[np.ndarray], np.ndarray], factor: Any,
            X: np.ndarray, Y: np.ndarray, scale: float, target: float,
            deadline: float | None) -> tuple[tuple[float, Network], np.ndarray]:
    """Chord steps: the last step's Jacobian and factorisation with a new residual
    (``r``, the residual vector at ``best``, comes from the accepted step's forward pass).

    A new linearisation costs one batched reverse pass and ``J J^T`` (``N m`` by ``N m``
    inner products of length ``P``: most of a step's time); a chord step costs one
    forward pass, one reverse pass and a triangular solve.  Near the data it converges
    linearly at a rate set by how much ``J`` moved, so the steps go on while each keeps at most
    ``PROJECT_CHORD_RATIO`` of the residual (at most ``PROJECT_CHORD_STEPS``), then a
    new Jacobian is taken.  The correction stays in the row space of ``J``: small.
    """
    arch, seed = best[1].architecture, best[1].seed
    for _ in range(settings.PROJECT_CHORD_STEPS):
        if best[0] <= target or (deadline is not None and time.perf_counter() > deadline):
            break
        cand = theta - pull(scipy.linalg.cho_solve(factor, r))
        if not np.all(np.isfinite(cand)):
            break
        trial = Network.from_vector(arch, cand, seed=seed)
        out = trial(X)
        rn = relative_residual(out, Y)
        if not rn < best[0]:
            break
        slow = rn > settings.PROJECT_CHORD_RATIO * best[0]
        best, theta, r = (rn, trial), cand, (out - Y).ravel() / scale
        if slow:
            break
    return best, theta
