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

from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..errors import InfeasibleError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..theory.linear_data import bias_least_norm, least_norm_map, taps_least_norm
from .problem import Candidate, Outcome, Problem, judge_feasibility

__all__ = ["OPTIONS", "SOLVER", "affine_least_norm", "least_norm_layer", "solve"]

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
