"""The linear case of :func:`cbntheory.minimal_norm`: closed forms, the convex route, certificates.

For ``activation="linear"`` without head or resampling every network computes
``x -> A x (+ beta)`` with ``A`` a convolution; the certificates all come from that.

=====================================  ==========================  =====================
case                                   upper bound (network)       lower bound
=====================================  ==========================  =====================
target, full-size filters              balanced factorisation      T1 cost (equal)
data, full-size, no / free biases      balanced factorisation of   T1 cost of ``A0``
                                       ``A0 = Y_m X_m^+`` (+ bias)  (equal, T1-data)
depth 1, any window, any biases        least-norm solve (convex)   the same value
depth 2, full-size (``method=convex``) nuclear-norm programs       T1-data value
``k``-tap filters, depth >= 2          augmented Lagrangian        full-size value
penalised biases on data, depth >= 2   best of numerical and two   T1 cost of ``A*``
                                       feasible constructions      (linear part only)
=====================================  ==========================  =====================

``A*`` is the least-norm map fitted with the frequency-0 constraint on differences of
samples (an offset absorbs the rest).  See ``docs/solvers.md`` for the arguments.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..errors import InfeasibleError, ValidationError
from ..nets.network import Network
from ..operators import ConvOperator
from ..theory.linear import balanced_factorization, linear_cost
from ..theory.linear_data import (
    check_support,
    check_widths,
    least_norm_map,
)
from .affine import least_norm_layer
from .interpolate import numerical_candidate
from .problem import Candidate, Outcome, Problem, judge_feasibility

__all__ = ["OPTIONS", "solve"]

#: Options understood by the linear case (passed as ``**options`` to ``minimal_norm``).
OPTIONS = ("rank_rtol", "solver", "init", "max_iter")

CLOSED = "closed form (T1)"


def _network(problem: Problem, layers: list[ConvOperator], offset: np.ndarray | None
             ) -> Network:
    """Embed ``L`` operators (first layer first) into the widths of the architecture."""
    arch = problem.arch
    kernels = []
    for layer, shp in zip(layers, arch.kernel_shapes):
        k = np.zeros(shp)
        k[:layer.out_channels, :layer.in_channels] = layer.kernel
        kernels.append(k)
    biases = [np.zeros(s) for s in arch.bias_shapes]
    if arch.bias and offset is not None:
        biases[-1] = np.asarray(offset, dtype=float).copy()
    return Network(arch, kernels, biases)


def _nuclear(problem: Problem, affine: bool, offset: np.ndarray) -> Candidate:
    """Depth 2: per-frequency nuclear-norm programs (cvxpy), then the balanced factorisation."""
    from ..backends.conic import nuclear_norm_interpolation

    arch = problem.arch
    axes = fourier.spatial_axes(arch.ndim)
    Xh = np.moveaxis(np.fft.fftn(problem.X, axes=axes), (0, 1), (-1, -2))
    Yh = np.moveaxis(np.fft.fftn(problem.Y, axes=axes), (0, 1), (-1, -2))
    if affine:
        zero = (0,) * arch.ndim
        Xh[zero] -= Xh[zero].mean(axis=-1, keepdims=True)
        Yh[zero] -= Yh[zero].mean(axis=-1, keepdims=True)
    sol = nuclear_norm_interpolation(Xh, Yh, solver=problem.options.get("solver"))
    if sol.status == "infeasible":
        raise InfeasibleError(f"the nuclear-norm program is infeasible ({sol.message})")
    op = ConvOperator.from_blocks(sol.blocks, arch.normalization)
    factor = fourier.cost_factor(arch.normalization, arch.spatial_shape)
    claimed = 2.0 * factor * float(np.sum(sol.norms))
    layers = balanced_factorization(op, 2)
    net = _network(problem, layers, offset)
    how = (f"per-frequency nuclear-norm programs ({sol.n_programs} small conic programs, "
           f"{sol.solver}), factored into two balanced layers")
    return Candidate(net, how, sol.solver, converged=sol.status == "optimal", claimed=claimed,
                     exact=sol.status == "optimal",
                     info={"conic_status": sol.status, "conic_objective": claimed,
                           "conic_message": sol.message, "conic_time": sol.wall_time})


def _only_numerical(problem: Problem, why: str) -> Outcome:
    if problem.method in ("closed_form", "convex"):
        raise ValidationError(f"method={problem.method!r} is not available: {why}; use "
                              "method='numerical' or 'auto'")
    return Outcome(candidates=(numerical_candidate(problem),), lower=None,
                   lower_how=f"none ({why}; no certificate is implemented)")


@dataclasses.dataclass(frozen=True)
class _Reference:
    """The map the certificate is computed from: the target, or the least-norm fit."""

    A: ConvOperator
    offset: np.ndarray
    rtol: float | None
    what: str
    base: str
    affine: bool
    #: Why the closed-form lower bound does not apply ("" when it does): data that are
    #: reproducible to ``tol`` but not exactly (see ``judge_feasibility``).
    inexact: str = ""


def _reference(problem: Problem) -> _Reference:
    arch, opts = problem.arch, problem.options
    if problem.target is not None:  # the offset of a whole-space linear target is zero
        return _Reference(A=problem.target, offset=np.zeros(arch.channels[-1]),
                          rtol=opts.get("rank_rtol"), what="the target",
                          base="T1: (L/(d c^2)) sum_m ||A_m||_{S_{2/L}}^{2/L} of the target",
                          affine=False)
    affine = arch.bias
    fit = least_norm_map(problem.X, problem.Y, affine=affine, normalization=arch.normalization)
    kind = "affine (linear plus a constant per channel)" if affine else "linear"
    inexact = judge_feasibility(
        fit.residual, problem.tol, f"translation-equivariant {kind} map (largest residual "
        f"at frequency m = {fit.worst_frequency()})")
    rtol = opts.get("rank_rtol", settings.DATA_RANK_RTOL)
    base = ("T1-data: T1 cost of the least-norm map A0_m = Y_m X_m^+, which has the "
            "smallest singular values of all maps fitting the data"
            + (" (frequency 0 fitted on differences of samples: the constant offset is "
               "free to a network with biases, and the bias norm is not counted)"
               if affine else "")
            + f"; exact for the rank threshold rank_rtol = {rtol:g} (singular values at or "
            "below rank_rtol * s_max count as zero: the value depends on that choice)")
    return _Reference(A=fit.operator, offset=fit.offset, rtol=rtol, what="the data",
                      base=base, affine=affine, inexact=inexact)


def _depth_one(problem: Problem, info: dict[str, Any], inexact: str) -> Outcome:
    """Depth 1: a convex least-norm problem, exact for every window and bias setting.

    Solved by the depth-1 case's :func:`~cbntheory.solvers.affine.least_norm_layer`.
    """
    arch = problem.arch
    kernel, bias, _, _ = least_norm_layer(arch, problem.X, problem.Y)
    net = Network(arch, [kernel], [bias] if arch.bias else [])
    cand = Candidate(net, "least-norm solution of the depth-1 (convex) problem", CLOSED,
                     exact=True)
    if inexact:
        return Outcome(candidates=(cand,), lower=None, lower_how=inexact, info=info)
    return Outcome(candidates=(cand,), lower=net.param_norm(),
                   lower_how="the same least-norm problem (depth 1 is convex)", info=info)


def _penalised_candidates(problem: Problem, ref: _Reference) -> list[Candidate]:
    """Penalised biases on data: two feasible factorisations to compare with the numerics."""
    arch, L = problem.arch, problem.arch.depth
    layers = balanced_factorization(ref.A, L, rtol=ref.rtol)
    out = [Candidate(_network(problem, layers, ref.offset), "balanced factorisation of A* "
                     "with the offset in the last bias", CLOSED)]
    plain = least_norm_map(problem.X, problem.Y, normalization=arch.normalization)
    narrow = min(arch.channels[1:-1], default=arch.channels[-1])
    if (plain.residual <= problem.tol
            and linear_cost(plain.operator, L, rtol=ref.rtol).cbn_rank.max() <= narrow):
        layers = balanced_factorization(plain.operator, L, rtol=ref.rtol)
        out.append(Candidate(_network(problem, layers, None), "balanced factorisation of the "
                             "bias-free least-norm map, zero biases", CLOSED))
    return out


def solve(problem: Problem) -> Outcome:
    """Linear architectures: certified interval and witnesses (see the module table).

    Raises
    ------
    InfeasibleError
        No equivariant linear (affine) map fits the data, a hidden width is below the
        rank of the least-norm map at some frequency, or the data need taps outside the
        reach of ``k``-tap layers.
    ValidationError
        Unknown options, or a forced ``method`` that does not apply.
    """
    arch, opts, method = problem.arch, problem.options, problem.method
    unknown = sorted(set(opts) - set(OPTIONS))
    if unknown:
        raise V.fail("options", f"be among {OPTIONS} for linear architectures", unknown)
    if problem.epsilon > 0:
        raise V.fail("epsilon", "be 0 for linear architectures (their closed forms and "
                     "programs certify exact interpolation; R_eps is implemented for "
                     "non-linear activations)", problem.epsilon)
    if arch.head is not None or any(r != 1 for r in arch.resample):  # type: ignore[union-attr]
        return _only_numerical(problem, "the architecture has a head or resampling layers")
    L = arch.depth
    full = arch.kernel_size is None or all(bool(np.all(w)) for w in arch.windows)
    ref = _reference(problem)
    cost = linear_cost(ref.A, L, rtol=ref.rtol)
    check_widths(arch, cost, ref.what)
    if not full:
        check_support(arch, problem.X, problem.Y)
    lower: float | None = float(cost.value)
    lower_how = ref.base if full else (ref.base + "; a k-tap network is a full-size network, "
                                       "so the full-size value bounds the k-tap one from below")
    if ref.inexact:
        lower, lower_how = None, ref.inexact
    info: dict[str, Any] = {"cbn_rank": cost.cbn_rank, "reference_cost": lower,
                            "rank_rtol": ref.rtol}
    penalised_data = ref.affine and arch.penalize_bias
    if L == 1 and method in ("auto", "closed_form") and (penalised_data or not full):
        return _depth_one(problem, info, ref.inexact)
    closed_ok = full and not penalised_data
    if method == "closed_form" and not closed_ok:
        raise ValidationError("method='closed_form' needs full-size filters and no penalised "
                              "biases on finite data; use method='numerical' or 'auto'")
    if method == "convex":
        if not (L == 2 and full and not penalised_data):
            raise ValidationError("method='convex' (per-frequency nuclear norms) needs depth 2, "
                                  "full-size filters and no penalised biases on finite data")
        return Outcome(candidates=(_nuclear(problem, ref.affine, ref.offset),), lower=lower,
                       lower_how=lower_how, info=info)
    if closed_ok and method in ("auto", "closed_form"):
        layers = balanced_factorization(ref.A, L, rtol=ref.rtol)
        net = _network(problem, layers, ref.offset if ref.affine else None)
        how = ("balanced factorisation of the " + ("target" if problem.target is not None else
               "least-norm map") + " (each layer has singular values s_i(A_m)^(1/L))"
               + (", last bias = the offset" if ref.affine else ""))
        return Outcome(candidates=(Candidate(net, how, CLOSED, exact=True),), lower=lower,
                       lower_how=lower_how, info=info)
    candidates = _penalised_candidates(problem, ref) if (
        penalised_data and full and method == "auto") else []
    candidates.append(numerical_candidate(problem, reference=ref.A.blocks))
    return Outcome(candidates=tuple(candidates), lower=lower, lower_how=lower_how, info=info)
