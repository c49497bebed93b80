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

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import _validate as V
from ... import settings
from ...errors import InfeasibleError, TooManyCellsError, ValidationError
from ...nets.architecture import Architecture
from ...results import OPTIMAL, NormResult, interval_status
from ..problem import Outcome, Problem
from ..verify import finish
from .patterns import Arrangement, patches
from .solve import Answer, ProgramSolver, span_residual

__all__ = ["TooManyCellsError", "two_layer_min_norm"]

PATTERN_MODES = ("enumerate", "sample")


def _check(arch: Any, X: Any, Y: Any) -> tuple[Architecture, np.ndarray, np.ndarray]:
    """A two-layer ReLU avgpool architecture without resampling, and data of its shapes."""
    if not isinstance(arch, Architecture):
        raise V.fail("arch", "be a cbntheory.Architecture", arch)
    if arch.depth != 2 or arch.head != "avgpool" or arch.activation != "relu":
        raise V.fail("arch", "be a two-layer ReLU CNN with the avgpool head: channels "
                     "(n_0, n_1, n_out), head='avgpool', activation='relu'",
                     f"channels={arch.channels}, head={arch.head!r}, "
                     f"activation={arch.activation!r}")
    if any(r != 1 for r in arch.resample or ()):
        raise V.fail("arch", "have no resampling (resample=None)", arch.resample)
    X = V.real_array("X", X, ndim=arch.ndim + 2)
    if X.shape[1:] != arch.input_shape:
        raise V.fail("X", f"have shape (N, {', '.join(map(str, arch.input_shape))})", X)
    n_out = arch.channels[2]
    Y = V.real_array("Y", Y, ndim=(1, 2))
    if Y.ndim == 1 and n_out == 1:
        Y = Y[:, None]
    if Y.shape != (X.shape[0], n_out):
        raise V.fail("Y", f"have shape (N, n_out) = ({X.shape[0]}, {n_out})", Y)
    return arch, X, Y


def _same_patch_multisets(Z: np.ndarray, Y: np.ndarray) -> None:
    """Refuse samples that every network maps to the same output but with other labels."""
    scale = max(1.0, float(np.abs(Y).max()))
    seen: dict[bytes, int] = {}
    for n in range(Z.shape[0]):
        rows = Z[n][np.lexsort(Z[n].T[::-1])]
        key = np.round(rows, settings.PATCH_KEY_DECIMALS).tobytes()
        m = seen.setdefault(key, n)
        if m != n and np.max(np.abs(Y[m] - Y[n])) > settings.FEASIBILITY_RTOL * scale:
            raise InfeasibleError(
                f"samples {m} and {n} have the same patches up to order (identical inputs or "
                "circular shifts of each other), so every network with the avgpool head gives "
                f"them the same output, but their labels differ by "
                f"{np.max(np.abs(Y[m] - Y[n])):.3g}; remove one or make the labels agree")


def two_layer_min_norm(arch: Architecture, X: Any, Y: Any, *, patterns: str = "enumerate",
                       n_patterns: int | None = None, solver: str | Sequence[str] | None = None,
                       max_patterns: int | None = None, rng: Any = 0, certify: bool = True,
                       working_set: bool | None = None, tol: float | None = None,
                       strict: bool = False) -> NormResult:
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
        Conic solver(s), default Clarabel then SCS (:func:`cbntheory.backends.conic.solve`).
    max_patterns : int, optional
        Refuse to enumerate more patterns than this
        (default :data:`cbntheory.settings.MAX_PATTERNS`).
    rng : int or numpy.random.Generator
        Seed of the sampling (recorded in ``.seed``).
    certify : bool
        With sampling, also enumerate all patterns (when within the caps) to certify a
        lower bound from the dual; default True.
    working_set : bool, optional
        Solve the program by a working set of its patterns (enumerated or sampled):
        start from sampled gates and the patterns best correlated with the labels, add
        the patterns whose dual constraint the current multipliers violate until none
        does (then the answer is optimal for all the program's patterns, and with
        enumeration certified).  Default: when there are more than
        :data:`cbntheory.settings.WORKING_SET_MIN_PATTERNS` patterns.
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
    Twice the optimum of the group lasso over the patterns,
    :func:`cbntheory.backends.conic.group_lasso` (with its references); several
    outputs: a relaxation (certified lower bound) and a verified network on its
    channels.  Derivation in ``docs/convex.md``; hand values from [SESS2019]_: P.
    Savarese et al., How do infinite width bounded norm networks look in function
    space? COLT 2019.
    """
    start = time.perf_counter()
    arch, X, Y = _check(arch, X, Y)
    tol = settings.FIT_RTOL if tol is None else V.real_number("tol", tol, low=0.0, high=1.0,
                                                             low_open=True, high_open=True)
    V.rng_seed(rng)  # refuse a bad seed even when enumeration does not draw from it
    if patterns not in PATTERN_MODES:
        raise V.fail("patterns", f"be one of {PATTERN_MODES}", patterns)
    Z = patches(X, arch.spatial_shape, arch.kernel_size, arch.normalization)
    _same_patch_multisets(Z, Y)
    arr = Arrangement.from_patches(Z, bias=arch.bias)
    cells, walls, pinfo = _choose_patterns(arr, patterns, n_patterns, rng, max_patterns,
                                           Y.shape[0])
    problem = Problem(arch=arch, X=X, Y=Y, target=None,
                      tol=tol,
                      seed=pinfo.get("seed"), restarts=1, method="convex", time_limit=None,
                      strict=strict, options={"patterns": patterns, "n_patterns": n_patterns,
                                              "max_patterns": max_patterns, "solver": solver,
                                              "certify": certify})
    program = _program(problem, arr, cells, walls)
    info: dict[str, Any] = {"hyperplanes": arr.n_hyperplanes, "weight_dim": arr.dim,
                            "samples": Y.shape[0], "outputs": Y.shape[1], "patterns": pinfo}
    enumerated = patterns == "enumerate"
    use_ws = (len(cells) > settings.WORKING_SET_MIN_PATTERNS if working_set is None
              else bool(working_set))
    if enumerated or use_ws:  # the working set grows within the program's own patterns
        program.bound_cells, program.bound_F = cells, program.all_F
    # small dense products, factorisations and screens: BLAS threads cost more CPU than
    # they save (they spin while the other cores are busy)
    from ...backends.optimize import one_blas_thread  # scipy.optimize on first use only

    with one_blas_thread():
        if not enumerated and certify and not use_ws:
            _certificate_patterns(program, arr, max_patterns, info)
        best = program.solve_working_set() if use_ws else program.solve(np.arange(len(cells)))
        if not enumerated and use_ws:
            # the working set's certificate holds for the sampled program only: a lower
            # bound on the minimal norm needs every pattern, or there is none
            program.bound_cells = program.bound_F = None
            if certify:
                _certificate_patterns(program, arr, max_patterns, info)
            best = program.recertify(best)
    info["working_set"] = program.ws_info
    return finish(problem, _outcome(problem, program, best, info), start)


def _certificate_patterns(program: ProgramSolver, arr: Arrangement, max_patterns: int | None,
                          info: dict[str, Any]) -> None:
    """Sampling: enumerate every pattern (within the caps) to check the certificate against."""
    try:
        program.bound_cells, binfo = arr.enumerate(max_patterns=max_patterns)
    except TooManyCellsError as exc:
        info["certificate_patterns"] = f"no certificate: {exc}"
        return
    binfo.pop("walls", None)
    program.bound_F = arr.features(program.bound_cells)
    info["certificate_patterns"] = binfo


def _choose_patterns(arr: Arrangement, patterns: str, n_patterns: int | None, rng: Any,
                     max_patterns: int | None, N: int
                     ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Every pattern (completeness checked) with its cone walls, or a sample of patterns."""
    if patterns == "sample":
        cells, info = arr.sample(20 * N if n_patterns is None else n_patterns, rng)
        return cells, None, info
    if n_patterns is not None:
        raise V.fail("n_patterns", "be None with patterns='enumerate'", n_patterns)
    cells, info = arr.enumerate(max_patterns=max_patterns)
    walls = info.pop("walls")
    if not info["certificate"]["complete"]:
        raise ValidationError(
            f"the pattern enumeration failed its completeness check {info['certificate']}"
            "; the data may be nearly degenerate: use patterns='sample'")
    return cells, walls, info


def _program(problem: Problem, arr: Arrangement, cells: np.ndarray,
             walls: np.ndarray | None) -> ProgramSolver:
    """The program over the chosen patterns, after checking that they can fit the labels."""
    arch = problem.arch
    F = arr.features(cells)
    output_bias = "none" if not arch.bias else ("penalized" if arch.penalize_bias else "free")
    resid = span_residual(F, problem.Y, output_bias != "none")
    if resid > settings.FEASIBILITY_RTOL:
        what = ("no network of this architecture" if problem.options["patterns"] == "enumerate"
                else f"the {len(cells)} sampled patterns cannot; more patterns may (raise "
                "n_patterns, or enumerate)")
        raise InfeasibleError(
            f"the labels are not in the span of the features of all activation patterns "
            f"(relative residual {resid:.3g}): {what} interpolates the data")
    return ProgramSolver(problem, arr, cells, F, walls, output_bias,
                         free_hidden=arch.bias and not arch.penalize_bias)


def _outcome(problem: Problem, program: ProgramSolver, best: Answer,
             info: dict[str, Any]) -> Outcome:
    """The checked network and the dual certificate, described, for the verification path."""
    sol, n_out, width = best.sol, problem.Y.shape[1], int(best.neurons.u.shape[0])
    lower = best.bound["lower"]
    info.update(group_lasso_optimum=sol.objective, program_value=2.0 * sol.objective,
                hidden_channels=width, solvers_tried=program.tried,
                solver_message=sol.message, relative_gap=best.gap,
                dual={k: v for k, v in best.bound.items() if k != "kappas"})
    P, enumerated = len(program.all_cells), problem.options["patterns"] == "enumerate"
    over = (f"all {P} activation patterns enumerated (certified complete)" if enumerated
            else f"{P} sampled patterns (upper bound)")
    how = (f"two-layer convex program over {over}, {info['hyperplanes']} distinct hyperplanes, "
           f"solver {sol.solver}")
    if n_out > 1:
        how += (f"; {n_out} outputs: convex relaxation (lower bound) and a network on its "
                "channels with refitted output weights")
    if width > problem.arch.channels[1]:
        how += (f"; the minimiser uses {width} hidden channels, more than "
                f"n_1 = {problem.arch.channels[1]} (the value is over any width)")
    if sol.status != OPTIMAL:
        how += f"; {sol.message}"
    lower_how = ("no dual certificate" if lower is None else
                 f"dual certificate of the group-lasso program (relative gap {best.gap:.2g})")
    cand = dataclasses.replace(best.check.candidate, how=how,
                               solver=f"convex group lasso ({sol.solver})",
                               options={"solver": sol.solver,
                                        "solver_options": dict(sol.options)})
    # all patterns and one output: the program's optimum is the minimum, certificate or not
    proved = enumerated and n_out == 1
    exact = proved or interval_status(lower, best.check.norm) == OPTIMAL
    return Outcome(candidates=(cand,), lower=lower, lower_how=lower_how, info=info,
                   exact=exact, lower_sensitivity=float(best.bound.get("sensitivity", 0.0)))
