"""The practitioner's baseline for minimal norms: gradient descent with weight decay.

What people run to find small-norm interpolating networks is not a constrained solver
but training with an L2 penalty:

    minimise  E_lambda(theta) = ||f_theta(X) - Y||^2 / ||Y||^2 + lambda * sum_l ||W_l||^2

with Adam (or plain gradient descent), lambda annealed towards 0 (or swept), the
learning rate decayed with it.  As lambda -> 0 the minimisers approach the
minimal-norm interpolant; at any fixed lambda they trade a residual of order lambda for a
norm below the minimum.  This module implements that baseline fairly:

* the same residual and gradients as the solver (the ``constraint`` callables of
  :mod:`cbntheory.solvers.constraints`, numpy only), so a step costs what a solver evaluation
  costs;
* Adam with bias correction, or plain (heavy-ball-free) gradient descent;
* a geometric lambda schedule, each stage run for a fixed number of steps, with the
  learning rate multiplied by ``lr_decay`` per stage;
* the progress measure of the benchmark: ``gap = max(|norm - reference| / reference,
  residual)``, the time when it first falls below ``gap_tol``, and the best gap seen.

Run as a script for a small demonstration.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclasses.dataclass
class BaselineRun:
    """Record of one weight-decay run.

    Attributes
    ----------
    best_gap : float
        Smallest ``max(|norm - reference| / reference, residual)`` seen.
    best_norm, best_residual : float
        Norm and relative residual at that point.
    time_to_gap : float or None
        Seconds until ``gap <= gap_tol`` first held (None if never).
    steps : int
        Gradient steps taken.
    wall_time : float
    options : dict
    trace : list of (seconds, gap)
        Sampled progress.
    """

    best_gap: float
    best_norm: float
    best_residual: float
    time_to_gap: float | None
    steps: int
    wall_time: float
    options: dict[str, Any]
    trace: list[tuple[float, float]]


def weight_decay(constraint: Callable[[np.ndarray], Any], theta0: np.ndarray, *,
                 reference: float, weights: np.ndarray | None = None,
                 optimizer: str = "adam", lr: float = 1e-2, lam0: float = 1e-2,
                 lam_min: float = 1e-12, lam_decay: float = 0.3, stage_steps: int = 500,
                 lr_decay: float = 0.7, gap_tol: float = 1e-6, time_limit: float = 60.0,
                 check_every: int = 10) -> BaselineRun:
    """Adam / gradient descent on ``||r||^2 + lambda ||theta||_w^2`` with lambda annealed.

    Parameters
    ----------
    constraint : callable
        ``theta -> (r, vjp)``: relative residual and ``v -> J^T v`` (as for the solver).
    theta0 : ndarray
        Starting point (the same random start the solver gets).
    reference : float
        The minimal norm (closed form) the run is measured against.
    weights : ndarray, optional
        Penalty mask (1 on penalised parameters).
    optimizer : {"adam", "gd"}
    lr : float
        Initial learning rate.
    lam0, lam_min, lam_decay, stage_steps
        Weight decay starts at ``lam0`` and is multiplied by ``lam_decay`` every
        ``stage_steps`` steps, never below ``lam_min`` (then it stays there).
    lr_decay : float
        Learning-rate factor per stage.
    gap_tol : float
        Target of ``max(|norm - reference| / reference, residual)``.
    time_limit : float
        Seconds.
    check_every : int
        Steps between progress measurements.

    Returns
    -------
    BaselineRun
    """
    theta = np.array(theta0, dtype=float)
    w = np.ones_like(theta) if weights is None else np.asarray(weights, dtype=float)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    b1, b2, eps = 0.9, 0.999, 1e-12
    lam, rate = lam0, lr
    best = (np.inf, np.nan, np.nan)
    reached: float | None = None
    trace: list[tuple[float, float]] = []
    start = time.perf_counter()
    step = 0
    while True:
        elapsed = time.perf_counter() - start
        if elapsed > time_limit:
            break
        r, vjp = constraint(theta)
        if step % check_every == 0:
            norm = float(np.dot(w, theta * theta))
            resid = float(np.linalg.norm(r))
            gap = max(abs(norm - reference) / reference, resid)
            if gap < best[0]:
                best = (gap, norm, resid)
            if reached is None and gap <= gap_tol:
                reached = elapsed
                break
            if step % (50 * check_every) == 0:
                trace.append((elapsed, gap))
        g = 2.0 * vjp(r) + 2.0 * lam * w * theta
        step += 1
        if optimizer == "adam":
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mhat = m / (1 - b1 ** step)
            vhat = v / (1 - b2 ** step)
            theta = theta - rate * mhat / (np.sqrt(vhat) + eps)
        else:
            theta = theta - rate * g
        if not np.all(np.isfinite(theta)):
            break
        if step % stage_steps == 0 and lam > lam_min:
            lam = max(lam * lam_decay, lam_min)
            rate *= lr_decay
    options = {"optimizer": optimizer, "lr": lr, "lam0": lam0, "lam_min": lam_min,
               "lam_decay": lam_decay, "stage_steps": stage_steps, "lr_decay": lr_decay,
               "time_limit": time_limit}
    return BaselineRun(best_gap=best[0], best_norm=best[1], best_residual=best[2],
                       time_to_gap=reached, steps=step, wall_time=time.perf_counter() - start,
                       options=options, trace=trace)


def weight_decay_lbfgs(constraint: Callable[[np.ndarray], Any], theta0: np.ndarray, *,
                       weights: np.ndarray, max_iter: int, lam0: float = 1e-5,
                       lam_decay: float = 0.1, stages: int = 4) -> tuple[np.ndarray, int]:
    """The anchor pipeline's first phase: L-BFGS on ``||r||^2 + lambda ||theta||_w^2``.

    ``lambda`` starts at ``lam0`` and is multiplied by ``lam_decay`` after each of
    ``stages`` stages (the last stage runs with the smallest value), every stage warm-started
    from the previous one and given ``max_iter // stages`` L-BFGS iterations (scipy's
    L-BFGS-B without bounds), so the whole phase costs ``max_iter`` iterations like one
    restart of the solver.  ``lam0`` is small against the relative residual (about 1 at a
    start scaled to the data) times the start's norm (about 1.5e3 on the benchmark): at
    ``1e-2`` the penalty dominates and the network collapses to zero.  Returns the last
    iterate and the iterations used (a stage may stop early when its line search fails).  The
    pipeline then projects onto the data with the solver's own Gauss-Newton projection
    (:func:`cbntheory.solvers.projection.project`) and rebalances.
    """
    from scipy.optimize import minimize

    theta = np.array(theta0, dtype=float)
    w = np.asarray(weights, dtype=float)
    used = 0
    lam = lam0
    for _ in range(stages):
        def fun(t: np.ndarray, lam: float = lam) -> tuple[float, np.ndarray]:
            r, vjp = constraint(t)
            return (float(r @ r + lam * np.dot(w, t * t)), 2.0 * vjp(r) + 2.0 * lam * w * t)

        res = minimize(fun, theta, jac=True, method="L-BFGS-B",
                       options={"maxiter": max(1, max_iter // stages), "gtol": 0.0,
                                "ftol": 0.0, "maxcor": 20})
        theta, used = res.x, used + int(res.nit)
        lam *= lam_decay
    return theta, used


def main() -> None:
    """Tiny demonstration: a depth-3 linear CNN on d = 8 pixels, 2 channels."""
    import cbntheory as cbn
    from cbntheory.solvers.constraints import SpectralConstraint
    from cbntheory.solvers.starts import initial_vector

    rng = np.random.default_rng(0)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 2, 8)))
    arch = cbn.Architecture((8,), (2, 2, 2, 2), activation="linear", bias=False)
    X = np.zeros((2, 2, 8))
    X[0, 0, 0] = X[1, 1, 0] = 1.0
    con = SpectralConstraint(arch, X, A.apply(X))
    theta0 = initial_vector(arch, np.random.default_rng(1))
    ref = cbn.linear_cost(A, 3).value
    run = weight_decay(con, theta0, reference=ref, time_limit=10.0)
    print(f"closed form {ref:.8f}; weight decay best gap {run.best_gap:.2e} "
          f"(norm {run.best_norm:.8f}, residual {run.best_residual:.1e}) after {run.steps} "
          f"steps; reached 1e-6: {run.time_to_gap}")


if __name__ == "__main__":
    main()
