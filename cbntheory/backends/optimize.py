"""The one module that talks to :mod:`scipy.optimize`.

Small, self-contained numerical building blocks used by the solvers of cbntheory.
Each routine states what it certifies; none of them trusts an optimiser's success
flag without recomputing the quantity it returns.

Linear programming (HiGHS through :func:`scipy.optimize.linprog`)
    :func:`strict_cone_point` finds a point strictly inside a polyhedral cone,
    optionally on a hyperplane; it is the feasibility test of the incremental
    enumeration of activation patterns (:mod:`cbntheory.solvers.convex.patterns`).
Non-negative least squares (:func:`scipy.optimize.nnls`)
    :func:`cone_support_bound` gives a certified upper bound on the support function
    of a polyhedral cone intersected with a (semi-)norm ball; it turns the dual of
    the convex two-layer program into a certified lower bound (:mod:`cbntheory.convex`).
L-BFGS-B (:func:`scipy.optimize.minimize`)
    :func:`lbfgsb` runs it with BLAS on one thread; the augmented-Lagrangian
    minimiser of :mod:`cbntheory.solvers.augmented` drives it.

Examples
--------
>>> import numpy as np
>>> G = np.array([[1.0, 0.0], [0.0, 1.0]])          # the open positive quadrant
>>> u = strict_cone_point(G)
>>> bool(np.all(G @ u >= 1 - 1e-9))
True
>>> strict_cone_point(G, equality=np.array([[1.0, 1.0]])) is None   # x + y = 0 misses it
True
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import linprog, minimize, nnls

from .. import settings
from ..errors import SolverError

__all__ = ["cone_support_bound", "lbfgsb", "one_blas_thread",
           "strict_cone_point"]


def strict_cone_point(G: np.ndarray, equality: np.ndarray | None = None) -> np.ndarray | None:
    """A point of the open cone ``{u : G u > 0}`` (on ``E u = 0`` if given), or None.

    Parameters
    ----------
    G : ndarray, shape (m, r)
        Rows ``g_i`` of the strict inequalities ``<g_i, u> > 0``.
    equality : ndarray, shape (e, r), optional
        Rows of the homogeneous equalities ``E u = 0``.

    Returns
    -------
    ndarray of shape (r,) or None
        A point with ``G u >= 1`` (up to HiGHS's feasibility tolerance, ~1e-7) and
        ``E u = 0``; None when no such point exists.

    Raises
    ------
    SolverError
        If HiGHS stops for any reason other than "solved" or "infeasible".

    Notes
    -----
    The set is a cone, so ``G u > 0`` is feasible iff ``G u >= 1`` is (scale ``u``); the
    margin 1 keeps the test away from HiGHS's tolerances.  The LP has a zero objective
    and free variables.
    """
    G = np.atleast_2d(np.asarray(G, dtype=float))
    r = G.shape[1]
    kwargs = {}
    if equality is not None and np.size(equality):
        E = np.atleast_2d(np.asarray(equality, dtype=float))
        kwargs = {"A_eq": E, "b_eq": np.zeros(E.shape[0])}
    if G.shape[0] == 0:
        return np.zeros(r)  # no strict inequality: the origin satisfies E u = 0
    res = linprog(np.zeros(r), A_ub=-G, b_ub=-np.ones(G.shape[0]), bounds=[(None, None)] * r,
                  method="highs", **kwargs)
    if res.status == 0:
        return np.asarray(res.x, dtype=float)
    if res.status == 2:
        return None
    raise SolverError(f"HiGHS (scipy.optimize.linprog) failed on a cone feasibility LP with "
                      f"{G.shape[0]} rows: status {res.status}, {res.message!r}; the "
                      "hyperplanes may be badly scaled")


def cone_support_bound(g: np.ndarray, G: np.ndarray, free: int | None = None) -> float:
    """Certified upper bound on ``max{<g, u> : G u >= 0, ||u_w|| <= 1}``.

    Parameters
    ----------
    g : ndarray, shape (r,)
        Direction.
    G : ndarray, shape (m, r)
        Rows of the cone ``K = {u : G u >= 0}``.
    free : int, optional
        Index of a coordinate left out of the norm (``u_w`` is ``u`` without it); None:
        the Euclidean norm of all of ``u``.

    Returns
    -------
    float
        ``||(g + G^T mu)_w||`` for a ``mu >= 0`` with ``(g + G^T mu)_free = 0``, which by
        weak duality bounds the maximum from above; ``inf`` when no such ``mu`` was found
        (then the maximum may be infinite).

    Notes
    -----
    Lagrangian duality: ``max{<g,u> : Gu >= 0, ||u_w|| <= 1} =
    min{||(g + G^T mu)_w|| : mu >= 0, (g + G^T mu)_free = 0}`` (the free coordinate of
    ``u`` is unbounded, so its multiplier must vanish).  Without a free coordinate this
    is the distance from ``g`` to the polar cone, computed by NNLS; every ``mu >= 0``
    gives an upper bound, so the answer is certified whatever NNLS's accuracy.  With a
    free coordinate the equality is first enforced by a heavy row in NNLS, then made
    exact by increasing one multiplier whose row has the right sign there.

    Examples
    --------
    >>> G = np.eye(2)                                   # the closed positive quadrant
    >>> bool(abs(cone_support_bound(np.array([1.0, -1.0]), G) - 1.0) < 1e-12)
    True
    >>> bool(abs(cone_support_bound(np.array([-1.0, -1.0]), G)) < 1e-12)
    True
    """
    g = np.asarray(g, dtype=float)
    G = np.atleast_2d(np.asarray(G, dtype=float))
    B = G.T  # columns = generators of the negative polar cone
    if B.shape[1] == 0:
        if free is not None and g[free] != 0.0:
            return float("inf")
        w = np.delete(g, free) if free is not None else g
        return float(np.linalg.norm(w))
    if free is None:
        mu, _ = nnls(B, -g, maxiter=50 * B.shape[1])
        return float(np.linalg.norm(g + B @ mu))
    scale = max(1.0, float(np.linalg.norm(g)), float(np.abs(B).max()))
    weight = settings.NNLS_FREE_ROW_WEIGHT * scale
    rows = np.ones(len(g), dtype=bool)
    rows[free] = False
    A = np.vstack([B[rows], weight * B[free]])
    rhs = -np.concatenate([g[rows], [weight * g[free]]])
    mu, _ = nnls(A, rhs, maxiter=50 * B.shape[1])
    mu = mu.copy()
    for _ in range(B.shape[1] + 1):
        resid = float(g[free] + B[free] @ mu)
        if abs(resid) <= settings.NNLS_ZERO_RTOL * scale:
            break  # zero up to round-off (g's free entry is itself a rounded sum)
        # raise a multiplier whose column pushes the free entry towards 0 ...
        up = np.flatnonzero(B[free] * resid < 0)
        if up.size:
            growth = np.abs(resid / B[free, up]) * np.linalg.norm(B[rows][:, up], axis=0)
            j = up[int(np.argmin(growth))]
            mu[j] += -resid / B[free, j]
            continue
        # ... or lower a positive one whose column pushes it away (down to 0 at most)
        down = np.flatnonzero((B[free] * resid > 0) & (mu > 0))
        if not down.size:
            return float("inf")
        j = down[int(np.argmax(mu[down] * np.abs(B[free, down])))]
        mu[j] = max(0.0, mu[j] - resid / B[free, j])
    else:
        return float("inf")
    return float(np.linalg.norm((g + B @ mu)[rows]))


def one_blas_thread() -> Any:
    """Limit BLAS to one thread (a context manager; a no-op without threadpoolctl).

    Many small BLAS calls otherwise spend most of their time waking threads, which spin
    while the other cores are busy: L-BFGS-B measured 20x slower on a busy 2-core
    machine, the convex working set (weight dimension 3, n = 160) 82 CPU s against 44.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def lbfgsb(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray, *,
           maxiter: int, maxcor: int, gtol: float,
           callback: Callable[[Any], None] | None = None) -> np.ndarray:
    """Run L-BFGS-B (:func:`scipy.optimize.minimize`) on ``fun(x) -> (value, gradient)``.

    BLAS is limited to one thread during the run.  Returns the final iterate; exceptions
    raised by ``callback`` (used by callers to enforce budgets) propagate.

    Examples
    --------
    >>> import numpy as np
    >>> x = lbfgsb(lambda x: (float(np.sum((x - 3.0) ** 2)), 2 * (x - 3.0)), np.zeros(2),
    ...            maxiter=100, maxcor=5, gtol=1e-10)
    >>> bool(np.allclose(x, 3.0))
    True
    """
    with one_blas_thread():
        res = minimize(fun, x0, jac=True, method="L-BFGS-B", callback=callback,
                       options={"maxiter": max(1, int(maxiter)), "maxcor": maxcor,
                                "ftol": 1e-16, "gtol": gtol, "maxls": 40})
    return np.asarray(res.x, dtype=float)
