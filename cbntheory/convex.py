"""Exact minimal norms of two-layer ReLU CNNs on finite data, by convex programming.

For the architecture ``x -> V mean_p relu(c W * x + b)[p] + b_out`` (channels
``(n_0, n_1, n_out)``, head "avgpool") the minimal parameter norm over any number of
hidden channels that interpolates finite data equals twice the optimum of a convex
group-lasso program over the activation patterns of the data's patches, with cone
constraints (Pilanci & Ergen 2020; Ergen & Pilanci 2021 for CNNs).  Enumerating every
pattern gives the exact value; sampling patterns gives an upper bound.  The derivation
(rescaling argument, factor 2, biases, several outputs) is in ``docs/convex.md``.

Examples
--------
Three points on a line with a kink at 0 (biases free): the hand value is
``2 * max(T, (T + |s_1 + s_L|)/2) = 4`` with slopes ``-1, 1`` (Savarese et al. 2019).

>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((1,), (1, 2, 1), head="avgpool", penalize_bias=False)
>>> X = np.array([-1.0, 0.0, 1.0]).reshape(3, 1, 1)
>>> res = two_layer_min_norm(arch, X, np.array([[1.0], [0.0], [1.0]]))
>>> res.status, res.exact, bool(abs(res.value - 4.0) < 1e-6)
('optimal', True, True)
>>> bool(np.allclose(res.network(X), [[1.0], [0.0], [1.0]], atol=1e-6))
True
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _validate as V
from . import settings
from ._twolayer import (
    Neurons,
    block_directions,
    build_network,
    dual_lower_bound,
    neurons_from_blocks,
    neurons_from_output_weights,
)
from .architecture import Architecture
from .arrangements import TooManyCellsError
from .errors import InfeasibleError, SolverError, ValidationError
from .network import Network
from .patterns import Arrangement, patches
from .results import (
    INFEASIBLE,
    NOT_CERTIFIED,
    OPTIMAL,
    OPTIMAL_INACCURATE,
    NormResult,
    report_accuracy,
)

if TYPE_CHECKING:  # pragma: no cover
    from . import conic

__all__ = ["TooManyCellsError", "two_layer_min_norm"]

PATTERN_MODES = ("enumerate", "sample")


def _check_arch(arch: Any) -> Architecture:
    if not isinstance(arch, Architecture):
        raise V.fail("arch", "be a cbntheory.Architecture", arch)
    if arch.depth != 2 or arch.head != "avgpool" or arch.activation != "relu":
        raise V.fail("arch", "be a two-layer ReLU CNN with the avgpool head: channels "
                     "(n_0, n_1, n_out), head='avgpool', activation='relu'",
                     f"channels={arch.channels}, head={arch.head!r}, "
                     f"activation={arch.activation!r}")
    if any(r != 1 for r in arch.resample or ()):
        raise V.fail("arch", "have no resampling (resample=None)", arch.resample)
    return arch


def _check_data(arch: Architecture, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = V.real_array("X", X, ndim=arch.ndim + 2)
    if X.shape[1:] != arch.input_shape:
        raise V.fail("X", f"have shape (N, {', '.join(map(str, arch.input_shape))})", X)
    n_out = arch.channels[2]
    Y = V.real_array("Y", Y, ndim=(1, 2))
    if Y.ndim == 1 and n_out == 1:
        Y = Y[:, None]
    if Y.shape != (X.shape[0], n_out):
        raise V.fail("Y", f"have shape (N, n_out) = ({X.shape[0]}, {n_out})", Y)
    return X, Y


def _same_patch_multisets(Z: np.ndarray, Y: np.ndarray) -> None:
    """Refuse samples that every network maps to the same output but with other labels."""
    scale = max(1.0, float(np.abs(Y).max()))
    seen: dict[bytes, int] = {}
    for n in range(Z.shape[0]):
        rows = Z[n][np.lexsort(Z[n].T[::-1])]
        key = np.round(rows, 12).tobytes()
        m = seen.setdefault(key, n)
        if m != n and np.max(np.abs(Y[m] - Y[n])) > settings.FEASIBILITY_RTOL * scale:
            raise InfeasibleError(
                f"samples {m} and {n} have the same patches up to order (identical inputs or "
                "circular shifts of each other), so every network with the avgpool head gives "
                f"them the same output, but their labels differ by "
                f"{np.max(np.abs(Y[m] - Y[n])):.3g}; remove one or make the labels agree")


def _span_residual(F: np.ndarray, Y: np.ndarray, with_bias: bool) -> float:
    """Relative residual of the best fit of Y by the span of all pattern features."""
    N = F.shape[1]
    A = F.transpose(1, 0, 2).reshape(N, -1)
    if with_bias:
        A = np.hstack([A, np.ones((N, 1))])
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
    return _relative(A @ coef - Y, Y)


def _relative(diff: np.ndarray, ref: np.ndarray) -> float:
    """``||diff|| / ||ref||`` (absolute when ``ref`` is zero)."""
    scale = float(np.linalg.norm(ref))
    return float(np.linalg.norm(diff)) / (scale if scale > 0 else 1.0)


class _Problem:
    """Data of one call, and the check of a conic answer (network, fit, norm)."""

    def __init__(self, arch: Architecture, X: np.ndarray, Y: np.ndarray, arr: Arrangement,
                 cells: np.ndarray, F: np.ndarray, output_bias: str, norm_dims: int,
                 free_hidden: bool, tol: float) -> None:
        self.arch, self.X, self.Y, self.arr, self.cells, self.F = arch, X, Y, arr, cells, F
        self.output_bias, self.norm_dims, self.free_hidden, self.tol = (
            output_bias, norm_dims, free_hidden, tol)
        #: patterns (and features) against which dual certificates are checked, or None
        self.bound_cells: np.ndarray | None = None
        self.bound_F: np.ndarray | None = None

    def _network(self, neurons: Neurons) -> tuple[Network, float, float]:
        net = build_network(self.arch, neurons)
        fit = _relative(net(self.X) - self.Y, self.Y)
        return net, net.param_norm(), fit

    def evaluate(self, sol: conic.ConicSolution) -> dict[str, Any]:
        """Network of a solution, verified; ``rank`` 0 = fits and (one output) norm matches."""
        from . import conic  # cvxpy is imported on first use, not with the package
        pos, neg, bias = sol.values["pos"], sol.values["neg"], sol.values["bias"]
        n_out = self.Y.shape[1]
        y_scale = float(np.linalg.norm(self.Y)) or 1.0  # zero labels: absolute threshold
        all_on = np.all(self.arr.active(self.cells) | (self.arr.index < 0)[None], axis=(1, 2))
        neurons = neurons_from_blocks(pos, neg, bias, all_on, self.F, y_scale,
                                      self.norm_dims, fold_constants=self.free_hidden,
                                      merge=n_out > 1)
        net, upper, fit = self._network(neurons)
        notes: list[str] = []
        multipliers = [sol.duals["fit"]]
        if n_out > 1:
            # several outputs: the relaxation's blocks give directions; refit output weights
            pats, dirs = block_directions(pos, neg, self.F, y_scale, self.norm_dims)
            if len(pats):
                phi = np.einsum("jnr,jr->jn", self.F[pats], dirs)
                try:
                    pol = conic.output_weights_lasso(phi, self.Y, output_bias=self.output_bias,
                                                     accept=(OPTIMAL, OPTIMAL_INACCURATE))
                    multipliers.append(pol.duals["fit"])
                    cand = self._network(neurons_from_output_weights(
                        dirs, pol.values["v"], pol.values["bias"]))
                    if cand[2] <= self.tol and (fit > self.tol or cand[1] < upper):
                        neurons = neurons_from_output_weights(dirs, pol.values["v"],
                                                              pol.values["bias"])
                        net, upper, fit = cand
                except SolverError:
                    pass
        if fit > self.tol:
            notes.append(f"the reconstructed network misses the data by {fit:.3g} "
                         f"(> tol {self.tol:g})")
        program = 2.0 * sol.objective
        if n_out == 1 and abs(upper - program) > settings.OBJECTIVE_RTOL * max(1.0, program):
            notes.append(f"its norm {upper:.9g} differs from twice the program optimum "
                         f"{program:.9g}")
        bound: dict[str, Any] = {"lower": None}
        cells, feats = self.bound_cells, self.bound_F
        for lam in multipliers if cells is not None and feats is not None else []:
            b = dual_lower_bound(self.arr, cells, feats, lam, self.Y, self.output_bias,
                                 self.free_hidden)
            if b["lower"] is not None and (bound["lower"] is None or b["lower"] > bound["lower"]):
                bound = b
        lower = bound["lower"]
        gap = float("inf") if lower is None else (upper - lower) / max(1.0, abs(upper))
        # an inaccurate answer whose certificate does not close (all patterns in the
        # program, so the gap is the solver's) is worth trying the next solver
        doubt = sol.status != OPTIMAL and self.bound_cells is self.cells and n_out == 1 and (
            gap > settings.GAP_RTOL)
        return {"sol": sol, "net": net, "neurons": neurons, "upper": upper, "fit": fit,
                "notes": notes, "rank": len(notes) + doubt, "bound": bound, "gap": gap}


def two_layer_min_norm(arch: Architecture, X: Any, Y: Any, *, patterns: str = "enumerate",
                       n_patterns: int | None = None, solver: str | Sequence[str] | None = None,
                       max_patterns: int | None = None, rng: Any = 0, certify: bool = True,
                       tol: float | None = None, strict: bool = False) -> NormResult:
    """Minimal parameter norm of a two-layer ReLU CNN interpolating ``(X, Y)``.

    Parameters
    ----------
    arch : Architecture
        Channels ``(n_0, n_1, n_out)``, ``head="avgpool"``, ReLU, any ``kernel_size``,
        ``bias``/``penalize_bias`` settings and normalisation; ``n_1`` only matters for
        the message (the minimum is over any number of hidden channels).
    X : array_like, shape (N, n_0, *spatial_shape)
        Inputs.
    Y : array_like, shape (N, n_out)
        Labels (shape ``(N,)`` accepted when ``n_out = 1``).
    patterns : {"enumerate", "sample"}
        "enumerate": every activation pattern of the patches, certified complete (exact
        value); "sample": the patterns of ``n_patterns`` random neurons (upper bound).
    n_patterns : int, optional
        Random neurons drawn with ``patterns="sample"`` (default ``20 N``).
    solver : str or sequence of str, optional
        Conic solver(s), default Clarabel then SCS (:func:`cbntheory.conic.solve`).
    max_patterns : int, optional
        Refuse to enumerate more patterns than this
        (default :data:`cbntheory.settings.MAX_PATTERNS`).
    rng : int or numpy.random.Generator
        Seed of the sampling (recorded in ``.seed``).
    certify : bool
        With sampling, also enumerate all patterns (when within the caps) to certify a
        lower bound from the dual; default True.
    tol : float, optional
        Relative interpolation tolerance of the returned network
        (default :data:`cbntheory.settings.FIT_RTOL`).
    strict : bool
        Raise instead of warning when the answer is downgraded.

    Returns
    -------
    NormResult
        ``value = upper``: parameter norm of ``.network`` (recomputed in numpy), which
        reproduces the data to ``tol``.  ``lower``: certified lower bound from the dual
        (or None).  ``exact``: True when the value is provably the minimum (all
        patterns enumerated, one output; several outputs: when the bounds meet).
        ``info`` holds the pattern count and its completeness certificate, the number of
        distinct hyperplanes, the group-lasso optimum, the duality gap, the hidden
        channels used and the solvers tried.

    Raises
    ------
    ValidationError
        Bad architecture or data shapes.
    TooManyCellsError
        (a ValidationError) More patterns than ``max_patterns``: use sampling.
    InfeasibleError
        No network fits the data (e.g. inputs that are circular shifts of each other with
        different labels); with sampling, when the sampled patterns cannot fit them.
    SolverError
        Every conic solver failed (names them).

    Notes
    -----
    With patterns ``D`` and cones ``K_D`` (:mod:`cbntheory.patterns`), the program is
    ``min sum_D ||a_D||_w + ||a'_D||_w (+ b^2/2)`` subject to
    ``sum_D g_D(X)(a_D - a'_D) + b = Y``, ``a_D, a'_D in K_D``
    (:func:`cbntheory.conic.group_lasso`); ``||.||_w`` omits a free hidden bias.  The
    minimal norm is twice its optimum.  Several outputs are handled by a relaxation
    whose optimum is a certified lower bound; the network built from its solution is a
    verified upper bound (see ``docs/convex.md``).

    References
    ----------
    [PE2020] M. Pilanci, T. Ergen, Neural networks are convex regularizers, ICML 2020.
    [EP2021] T. Ergen, M. Pilanci, Implicit convex regularizers of CNN architectures,
    ICLR 2021.  [SESS2019] P. Savarese et al., How do infinite width bounded norm networks
    look in function space? COLT 2019.
    """
    start = time.perf_counter()
    arch = _check_arch(arch)
    X, Y = _check_data(arch, X, Y)
    if patterns not in PATTERN_MODES:
        raise V.fail("patterns", f"be one of {PATTERN_MODES}", patterns)
    tol = settings.FIT_RTOL if tol is None else float(tol)
    N, n_out = Y.shape
    Z = patches(X, arch.spatial_shape, arch.kernel_size, arch.normalization)
    _same_patch_multisets(Z, Y)
    arr = Arrangement.from_patches(Z, bias=arch.bias)
    info: dict[str, Any] = {"hyperplanes": arr.n_hyperplanes, "weight_dim": arr.dim,
                            "samples": N, "outputs": n_out}
    seed = None
    if patterns == "enumerate":
        if n_patterns is not None:
            raise V.fail("n_patterns", "be None with patterns='enumerate'", n_patterns)
        cells, pinfo = arr.enumerate(max_patterns=max_patterns)
        if not pinfo["certificate"]["complete"]:
            raise ValidationError(
                f"the pattern enumeration failed its completeness check {pinfo['certificate']}"
                "; the data may be nearly degenerate: use patterns='sample'")
    else:
        n_draw = 20 * N if n_patterns is None else n_patterns
        cells, pinfo = arr.sample(n_draw, rng)
        seed = pinfo["seed"]
    info["patterns"] = pinfo
    enumerated = patterns == "enumerate"
    F = arr.features(cells)
    output_bias = "none" if not arch.bias else ("penalized" if arch.penalize_bias else "free")
    resid = _span_residual(F, Y, output_bias != "none")
    if resid > settings.FEASIBILITY_RTOL:
        what = ("no network of this architecture" if enumerated else
                f"the {len(cells)} sampled patterns cannot; more patterns may (raise n_patterns, "
                "or enumerate)")
        raise InfeasibleError(
            f"the labels are not in the span of the features of all activation patterns "
            f"(relative residual {resid:.3g}): {what} interpolates the data")
    free_hidden = arch.bias and not arch.penalize_bias
    norm_dims = arr.dim - 1 if free_hidden else arr.dim
    problem = _Problem(arch, X, Y, arr, cells, F, output_bias, norm_dims, free_hidden, tol)
    if enumerated:
        problem.bound_cells, problem.bound_F = cells, F
    elif certify:
        try:
            problem.bound_cells, binfo = arr.enumerate(max_patterns=max_patterns)
            problem.bound_F = arr.features(problem.bound_cells)
            info["certificate_patterns"] = binfo
        except TooManyCellsError as exc:
            info["certificate_patterns"] = f"no certificate: {exc}"
    from . import conic  # cvxpy is imported on first use, not with the package

    order = conic.solver_order(solver)
    best: dict[str, Any] | None = None
    tried: list[str] = []
    while order:
        try:
            sol = conic.group_lasso(F, arr.normals, cells, Y, norm_dims=norm_dims,
                                    output_bias=output_bias, solver=order,
                                    accept=(OPTIMAL, OPTIMAL_INACCURATE))
        except SolverError:
            if best is None:
                raise
            break
        tried += list(sol.tried)
        if sol.status == INFEASIBLE:
            raise InfeasibleError(f"the convex program is infeasible ({sol.message}) although "
                                  f"the labels lie in the span of the features ({resid:.3g})")
        cand = problem.evaluate(sol)
        if best is None or cand["rank"] < best["rank"]:
            best = cand
        if cand["rank"] == 0:
            break
        order = order[order.index(sol.solver) + 1:]
    assert best is not None
    sol, net, neurons, upper, fit = (best[k] for k in ("sol", "net", "neurons", "upper", "fit"))
    program = 2.0 * sol.objective
    info.update(group_lasso_optimum=sol.objective, program_value=program,
                hidden_channels=int(neurons.u.shape[0]), solvers_tried=tried,
                solver_message=sol.message, dual=best["bound"], relative_gap=best["gap"])
    lower, gap = best["bound"]["lower"], best["gap"]
    notes = list(best["notes"])
    status = OPTIMAL if not notes else OPTIMAL_INACCURATE
    certified = lower is not None and gap <= settings.GAP_RTOL
    if status == OPTIMAL and not certified:
        status = NOT_CERTIFIED
        if enumerated and n_out == 1:
            notes.append("the dual certificate does not close the gap" if lower is not None
                         else "no dual certificate")
    exact = bool(status in (OPTIMAL, NOT_CERTIFIED) and
                 ((enumerated and n_out == 1) or certified))
    if sol.status != OPTIMAL:
        notes.append(sol.message)
    width_note = ""
    if neurons.u.shape[0] > arch.channels[1]:
        width_note = (f"; the minimiser uses {neurons.u.shape[0]} hidden channels, more than "
                      f"n_1 = {arch.channels[1]} (the value is over any width)")
    how = (f"all {len(cells)} activation patterns enumerated (certified complete)" if enumerated
           else f"{len(cells)} sampled patterns (upper bound)")
    lb = "no certified lower bound" if lower is None else f"certified lower bound {lower:.9g}"
    outs = "" if n_out == 1 else f"; {n_out} outputs: relaxation lower bound, merged network"
    message = (f"two-layer convex program over {how}, {arr.n_hyperplanes} distinct hyperplanes, "
               f"solver {sol.solver}: norm {upper:.9g}, {lb}, relative gap {gap:.2g}{outs}"
               f"{width_note}" + ("; " + "; ".join(notes) if notes else ""))
    report_accuracy(status, message, strict=strict)
    options = {"patterns": patterns, "n_patterns": n_patterns, "max_patterns": max_patterns,
               "solver": sol.solver, "solver_options": dict(sol.options), "tol": tol,
               "certify": certify}
    return NormResult(value=upper, lower=lower, upper=upper, status=status, message=message,
                      network=net, seed=seed, solver=f"convex group lasso ({sol.solver})",
                      options=options, residual=fit, wall_time=time.perf_counter() - start,
                      exact=exact, info=info)
