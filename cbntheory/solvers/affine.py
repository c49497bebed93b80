"""Depth 1 of any activation: the network is affine, and its minimal norm has a closed form.

A depth-1 network applies no activation (the output layer is linear): it computes
``x -> W * x + b`` with ``b`` constant over pixels per channel (or no ``b``).  On the
spectrum the constraints ``W * x_i + b = y_i`` decouple, ``A_m X_m = Y_m`` at every
``m != 0`` with ``A_m = c What[m]``, and ``A_0 X_0 + d b 1^T = Y_0`` at ``m = 0``.  By
Parseval ``||W||_F^2 = (1/(d c^2)) sum_m ||A_m||_F^2``, so the minimal norm is a sum of
independent least-norm problems (:mod:`cbntheory.theory.linear_data`):

* ``m != 0``: ``A_m = Y_m X_m^+``;
* ``m = 0``, no bias: the same; free bias (not in the norm): ``A_0`` fitted to the
  centred samples, ``b`` the mean offset; penalised bias: ``[sqrt(k) A_0, b]`` of least
  norm with ``k = 1/(d c^2)``;
* ``k``-tap windows: one least-norm solve over the window taps (the frequencies no
  longer decouple).

The value is certified twice: the norm of the least-norm solution is the minimum (a
convex problem: the least-norm solution of consistent linear equations), and
:func:`cbntheory.solvers.verify.finish` re-checks the network's forward pass and
recomputed norm against it.  Data that no affine equivariant map fits raise
:class:`~cbntheory.errors.InfeasibleError` naming the least-squares residual.  The
derivation is in ``docs/solvers.md`` ("Depth 1 exactly").

With ``epsilon > 0`` (the object ``R_eps``: networks within the relative residual
``epsilon``) the problem ``min ||theta_pen||^2  s.t.  ||J theta - y|| <= delta`` (``J`` the
network's parameter Jacobian, exact since a depth-1 network is linear in its parameters;
free biases eliminated by projection; ``delta = epsilon ||Y||``) is a trust-region
problem with the closed form of Tikhonov regularisation: :func:`within_epsilon` finds the
multiplier by bisection on the monotone residual, and certifies the value from below by
the Lagrange dual function at the same multiplier, so both sides bound ``R_eps``.

Examples
--------
A depth-1 ReLU network is affine; its minimal norm on data from a planted one is the
least-norm value, reached exactly:

>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (2, 1), penalize_bias=False)
>>> X = np.random.default_rng(0).standard_normal((2, 2, 6))
>>> Y = arch.init(rng=1)(X) + 0.5
>>> res = cbn.minimal_norm(arch, data=(X, Y))
>>> res.status, bool(np.isclose(res.lower, res.upper, rtol=1e-12)), bool(res.residual < 1e-12)
('optimal', True, True)
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..errors import InfeasibleError
from ..nets.architecture import Architecture
from ..nets.jacobian import parameter_jacobian
from ..nets.network import Network
from ..theory.linear_data import bias_least_norm, least_norm_map, taps_least_norm
from .problem import Candidate, Outcome, Problem, judge_feasibility

__all__ = ["OPTIONS", "SOLVER", "EpsilonFit", "affine_least_norm", "least_norm_layer", "solve",
           "within_epsilon"]

#: Options accepted (and not needed) at depth 1: those of the linear and ReLU cases.
OPTIONS = ("rank_rtol", "solver", "init", "max_iter", "assume_open_set", "bound_points")

SOLVER = "closed form (depth 1: affine least-norm map)"


def _bias_words(arch: Architecture) -> str:
    if not arch.bias:
        return "no bias"
    return "penalised bias" if arch.penalize_bias else "free bias (not in the norm)"


def _infeasible(arch: Architecture, residual: float, where: str,
                tol: float) -> InfeasibleError:
    return InfeasibleError(
        f"no depth-1 network of this architecture fits the data: a depth-1 network is the "
        f"affine equivariant map x -> W * x{' + b' if arch.bias else ''}, and the best such "
        f"map ({where}) leaves a relative residual {residual:.3e} > tol = {tol:.1e}")


def least_norm_layer(arch: Architecture, X: np.ndarray, Y: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One convolution ``W * x (+ b)`` of least norm fitting ``(X, Y)`` in the least-squares sense.

    The core of :func:`affine_least_norm`, which never raises for inconsistent data (the
    last-layer finishing of :mod:`.exact_fit` uses it too).  ``arch`` has depth 1 and no
    head; returns the kernel, the bias (zeros without one), the norm on the spectrum
    (full-size filters) or of the taps (windows), and the relative least-squares residual.
    """
    full = arch.kernel_size is None or bool(np.all(arch.windows[0]))
    penalised = arch.bias and arch.penalize_bias
    if not full:
        kernel, bias, residual = taps_least_norm(arch, X, Y)
        value = float(np.sum(kernel ** 2)) + (float(bias @ bias) if penalised else 0.0)
        return kernel, bias, value, float(residual)
    fit = least_norm_map(X, Y, affine=arch.bias, normalization=arch.normalization)
    op, bias = (bias_least_norm(X, Y, arch.normalization) if penalised
                else (fit.operator, fit.offset))
    k = fourier.cost_factor(arch.normalization, arch.spatial_shape)
    value = k * float(np.sum(np.abs(op.blocks) ** 2))
    if penalised:
        value += float(bias @ bias)
    return op.kernel, bias, value, float(fit.residual)


def affine_least_norm(arch: Architecture, X: np.ndarray, Y: np.ndarray, *,
                      tol: float | None = None) -> tuple[Network, float, float]:
    """The least-norm depth-1 network of ``arch`` on ``(X, Y)``, its value and fit residual.

    Parameters
    ----------
    arch : Architecture
        Depth 1 (any activation: none is applied), head None.
    X, Y : ndarray
        Data of shapes ``(N, n_0, *spatial)`` and ``(N, n_1, *spatial)``.

    Returns
    -------
    network : Network
        Kernel (and bias) of least norm among those fitting the data.
    value : float
        Its norm evaluated on the spectrum, ``(1/(d c^2)) sum_m ||A_m||_F^2`` (plus
        ``||b||^2`` for a penalised bias), for full-size filters; the sum of squared taps
        (plus bias) for ``k``-tap windows.
    residual : float
        Relative least-squares residual of the best affine (linear without bias) map.

    Raises
    ------
    InfeasibleError
        When that residual exceeds ``tol`` (the relative residual asked for; default
        :data:`cbntheory.settings.FEASIBILITY_RTOL`), naming the measured residual.

    Examples
    --------
    >>> arch = Architecture((4,), (1, 1), bias=False, normalization="plain")
    >>> x = np.array([[[1.0, 0.0, 0.0, 0.0]]])            # an impulse
    >>> net, value, resid = affine_least_norm(arch, x, np.roll(x, 1, axis=-1))
    >>> round(value, 12), bool(resid < 1e-15)             # the shift kernel: one tap of 1
    (1.0, True)
    """
    if arch.depth != 1 or arch.head is not None:
        raise V.fail("arch", "have depth 1 and head None (one convolution)", arch)
    kernel, bias, value, residual = least_norm_layer(arch, X, Y)
    tol = settings.FEASIBILITY_RTOL if tol is None else tol
    if not residual <= tol:
        where = (f"kernel_size={arch.kernel_size}" if arch.kernel_size is not None else
                 "largest residual at frequency m = " + str(least_norm_map(
                     X, Y, affine=arch.bias).worst_frequency()))
        raise _infeasible(arch, residual, where, tol)
    return Network(arch, [kernel], [bias] if arch.bias else []), value, residual


@dataclasses.dataclass(frozen=True)
class EpsilonFit:
    """The least-norm depth-1 network within a residual ``delta`` and its dual certificate.

    Attributes
    ----------
    network : Network
    value : float
        Its norm (the primal value).
    lower : float
        The Lagrange dual function at the multiplier used: a certified lower bound.
    multiplier : float
        ``mu = 1 / lambda`` of the Tikhonov solution (``inf`` when the zero network fits).
    """

    network: Network
    value: float
    lower: float
    multiplier: float


def _eliminate_free(J: np.ndarray, y: np.ndarray, free: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project the free columns out: ``(B, c, U_f)`` with ``B = Q J_pen``, ``c = Q y``."""
    Jf = J[:, free]
    if Jf.shape[1] == 0:
        return J, y, np.zeros((len(y), 0))
    U, s, _ = np.linalg.svd(Jf, full_matrices=False)
    Uf = U[:, s > settings.rank_tolerance(s[0] if s.size else 0.0, max(Jf.shape))]
    return J[:, ~free] - Uf @ (Uf.T @ J[:, ~free]), y - Uf @ (Uf.T @ y), Uf


def _tikhonov_multiplier(s: np.ndarray, a: np.ndarray, rest2: float, delta: float) -> float:
    """``mu`` with ``sum (mu a / (s^2 + mu))^2 + rest2 = delta^2`` (bisection in log mu)."""
    def residual2(mu: float) -> float:
        return float(np.sum((mu * a / (s ** 2 + mu)) ** 2)) + rest2

    lo, hi = 1e-300, max(1.0, float(np.max(s, initial=0.0)) ** 2)
    while residual2(hi) < delta ** 2:
        hi *= 1e3
    for _ in range(settings.EPSILON_BISECTION_STEPS):  # an iteration count, not a time
        mid = float(np.sqrt(lo * hi))
        lo, hi = (mid, hi) if residual2(mid) <= delta ** 2 else (lo, mid)
    return lo                                                # the feasible side


def within_epsilon(arch: Architecture, X: np.ndarray, Y: np.ndarray,
                   epsilon: float) -> EpsilonFit:
    """The least-norm depth-1 network with relative residual at most ``epsilon``.

    ``min ||theta_pen||^2`` subject to ``||f_theta(X) - Y|| <= epsilon ||Y||``: convex, with
    the Tikhonov solution ``theta = V diag(s / (s^2 + mu)) U^T c`` for the multiplier ``mu``
    at which the residual equals ``delta`` (aimed just inside it); the lower bound is the
    dual function ``g(1/mu) = sum a_i^2 / (s_i^2 + mu) + (|c_perp|^2 - delta^2) / mu``,
    which equals the primal value at the optimum.

    Raises
    ------
    InfeasibleError
        When no depth-1 network reaches ``epsilon`` (the part of ``Y`` outside the
        network's range is larger than ``delta``).
    ValidationError
        When the dense Jacobian would exceed ``settings.EPSILON_DENSE_MAX_ENTRIES``.

    Examples
    --------
    One pixel, ``f(x) = w x`` with ``x = 1``, ``y = 2``: the least ``w^2`` with
    ``|w - 2| <= 0.5 * 2`` is ``w = 1``:

    >>> arch = Architecture((1,), (1, 1), bias=False, normalization="plain")
    >>> fit = within_epsilon(arch, np.ones((1, 1, 1)), np.full((1, 1, 1), 2.0), 0.5)
    >>> bool(np.isclose(fit.value, 1.0)), bool(np.isclose(fit.lower, 1.0))
    (True, True)
    """
    size = Y.size * arch.n_free
    if size > settings.EPSILON_DENSE_MAX_ENTRIES:
        raise V.fail("epsilon", f"be 0 for this size: the depth-1 R_eps program builds a "
                     f"dense {Y.size} x {arch.n_free} Jacobian (> EPSILON_DENSE_MAX_ENTRIES "
                     f"= {settings.EPSILON_DENSE_MAX_ENTRIES:g} entries)", epsilon)
    _, J = parameter_jacobian(Network.from_vector(arch, np.zeros(arch.n_free)), X)
    y = np.ravel(Y)
    pen = arch.penalty_mask()
    delta = epsilon * float(np.linalg.norm(y)) * (1.0 - settings.EPSILON_AIM_MARGIN)
    B, c, Uf = _eliminate_free(J, y, ~pen)
    U, s, Vt = np.linalg.svd(B, full_matrices=False)
    keep = s > settings.rank_tolerance(s[0] if s.size else 0.0, max(B.shape))
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    a = U.T @ c
    rest2 = max(float(c @ c) - float(a @ a), 0.0)
    if rest2 > delta ** 2:
        raise InfeasibleError(
            f"no depth-1 network of this architecture fits the data to epsilon = {epsilon:g}:"
            f" the best affine equivariant map leaves a relative residual "
            f"{np.sqrt(rest2) / max(float(np.linalg.norm(y)), 1e-300):.3e}")
    theta = np.zeros(arch.n_free)
    if float(c @ c) <= delta ** 2:                   # the zero weights (and free biases) fit
        mu, lower = float("inf"), 0.0
    else:
        mu = _tikhonov_multiplier(s, a, rest2, delta)
        theta[pen] = Vt.T @ (s * a / (s ** 2 + mu))
        lower = float(np.sum(a ** 2 / (s ** 2 + mu)) + (rest2 - delta ** 2) / mu)
    if Uf.shape[1]:                                  # the free biases: least squares
        theta[~pen] = np.linalg.lstsq(J[:, ~pen], y - J[:, pen] @ theta[pen], rcond=None)[0]
    net = Network.from_vector(arch, theta)
    return EpsilonFit(network=net, value=float(net.param_norm()), lower=max(lower, 0.0),
                      multiplier=mu)


def _solve_within(problem: Problem) -> Outcome:
    fit = within_epsilon(problem.arch, problem.X, problem.Y, problem.epsilon)
    how = (f"least-norm depth-1 network within the relative residual epsilon = "
           f"{problem.epsilon:g} (Tikhonov solution, multiplier {fit.multiplier:.3g})")
    cand = Candidate(fit.network, how, SOLVER, exact=True, claimed=fit.value)
    lower_how = ("dual bound of the depth-1 R_eps program (a depth-1 network is linear in its "
                 "parameters, so the problem is convex: Lagrange dual at the same multiplier)")
    return Outcome(candidates=(cand,), lower=fit.lower, lower_how=lower_how,
                   info={"epsilon_dual": fit.lower, "epsilon_multiplier": fit.multiplier})


def solve(problem: Problem) -> Outcome:
    """Depth 1: the least-norm affine network, certified by its own value (a convex problem).

    Raises
    ------
    InfeasibleError
        No affine (linear without bias) equivariant map fits the data.
    ValidationError
        Unknown options, or ``method="convex"`` (no program is needed at depth 1).
    """
    unknown = sorted(set(problem.options) - set(OPTIONS))
    if unknown:
        raise V.fail("options", f"be among {OPTIONS}", unknown)
    if problem.method == "convex":
        raise V.fail("method", "be 'auto', 'closed_form' or 'numerical' at depth 1 (the "
                     "closed form is exact)", problem.method)
    if problem.epsilon > 0:
        return _solve_within(problem)
    arch = problem.arch
    net, value, residual = affine_least_norm(arch, problem.X, problem.Y, tol=problem.tol)
    inexact = judge_feasibility(residual, problem.tol, "depth-1 (affine) map")
    words = _bias_words(arch)
    how = (f"least-norm affine map of depth 1 ({words}; per-frequency Y_m X_m^+"
           if arch.kernel_size is None else f"least-norm depth-1 map ({words}; over the "
           f"window taps") + f"), least-squares residual {residual:.1e}"
    cand = Candidate(net, how, SOLVER, exact=True, claimed=value)
    lower_how = ("closed form: a depth-1 network is affine, so its minimal norm is that of the "
                 "least-norm solution of the (convex) interpolation equations")
    info: dict[str, Any] = {"closed_form": value, "affine_residual": residual}
    if inexact:
        return Outcome(candidates=(cand,), lower=None, lower_how=inexact, info=info)
    return Outcome(candidates=(cand,), lower=value, lower_how=lower_how, info=info)
