"""Anchor [PE2020] (exact): no two-layer ReLU network interpolates below the convex optimum.

Pilanci & Ergen (ICML 2020; Ergen & Pilanci, ICLR 2021 for CNNs) showed that the
minimal norm of a two-layer ReLU network (any number of hidden channels) interpolating
finite data equals the optimum of a convex group-lasso program over activation
patterns.  :func:`cbntheory.convex.two_layer_min_norm` solves it with every pattern
enumerated.  On small random problems (1D signals of 1-3 pixels with the avgpool head,
penalised and free biases) the rows check:

* the returned network reproduces the data and its norm, recomputed from its arrays,
  equals the reported value; the dual lower bound does not exceed it;
* every other interpolating network found independently has a norm at least the convex
  value: random-feature networks (random first layer with many hidden channels, output
  layer by least squares, then the optimal rescaling of every neuron,
  ``2 |v_j| sqrt(||w_j||^2 + beta b_j^2)``), and, when :func:`cbntheory.minimal_norm`
  is available, its non-convex local solutions.

Run ``python proofs_checks/anchor_pe2020.py [--full]`` for the table.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import settings
from ..errors import SolverError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..results import relative_residual
from ..solvers.dispatch import minimal_norm, stop_if_interrupted
from ._measure import capped_row, time_capped
from .verdicts import EXACT, CheckReport, compare_equal, compare_leq, summarize


def random_feature_network(arch: Architecture, X: np.ndarray, Y: np.ndarray, width: int,
                           rng: np.random.Generator) -> Network | None:
    """An interpolating two-layer network with ``width`` random hidden channels, balanced.

    Returns None when the random features cannot fit the data.
    """
    n0, d = arch.channels[0], int(np.prod(arch.spatial_shape))
    wide = Architecture(arch.spatial_shape, (n0, width, arch.channels[-1]), head="avgpool",
                        bias=arch.bias, penalize_bias=arch.penalize_bias,
                        normalization=arch.normalization)
    W = rng.standard_normal((width, n0) + arch.spatial_shape)
    b = rng.standard_normal(width) if arch.bias else np.zeros(width)
    probe = Network(wide, [W, np.eye(arch.channels[-1], width)],
                    [b, np.zeros(arch.channels[-1])] if arch.bias else [])
    H = probe.activations(X)[0].reshape(len(X), width, d).mean(axis=-1)   # pooled features
    A = np.hstack([H, np.ones((len(X), 1))]) if arch.bias else H
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
    if np.linalg.norm(A @ coef - Y) > settings.FIT_RTOL * np.linalg.norm(Y):
        return None
    V = coef[:width].T
    b_out = coef[width] if arch.bias else np.zeros(arch.channels[-1])
    beta = 1.0 if arch.penalize_bias else 0.0
    inner = np.sqrt(np.sum(W ** 2, axis=tuple(range(1, W.ndim))) + beta * b ** 2)
    outer = np.linalg.norm(V, axis=0)
    alpha = np.sqrt(np.where(inner > 0, outer / np.where(inner > 0, inner, 1.0), 1.0))
    alpha = np.where(alpha > 0, alpha, 1.0)
    W = W * alpha.reshape((-1,) + (1,) * (W.ndim - 1))
    net = Network(wide, [W, V / alpha], [b * alpha, b_out] if arch.bias else [])
    return net


def _cases(quick: bool, rng: np.random.Generator):
    shapes = [(1, 6, False), (2, 4, True), (2, 5, False), (3, 4, True)]
    if not quick:
        shapes += [(1, 8, True), (2, 6, True), (3, 5, False), (4, 4, True)]
    for d, N, penalize in shapes:
        arch = Architecture((d,), (1, 4, 1), head="avgpool", penalize_bias=penalize)
        yield (f"d={d} N={N} {'penalised' if penalize else 'free'} biases", arch,
               rng.standard_normal((N, 1, d)), rng.standard_normal((N, 1)))


def main(quick: bool = True) -> CheckReport:
    """Compare the convex optimum with independent interpolating networks."""
    from ..solvers.convex.program import two_layer_min_norm

    rng = np.random.default_rng(2020)
    rows = []
    for case, arch, X, Y in _cases(quick, rng):
        res = two_layer_min_norm(arch, X, Y)
        if not res.exact:
            raise SolverError(f"{case}: the convex program was not solved exactly "
                               f"({res.status}: {res.message})")
        net = res.network
        rows.append(compare_equal(f"{case}: convex network norm = value", net.param_norm(),
                                  res.value,
                                  rtol=settings.OBJECTIVE_RTOL))
        resid = relative_residual(net(X), Y)
        rows.append(compare_leq(f"{case}: convex network reproduces the data", resid,
                                settings.FIT_RTOL, rtol=0.0))
        if res.lower is not None:
            rows.append(compare_leq(f"{case}: dual lower bound <= value", res.lower, res.value,
                                    rtol=settings.GAP_RTOL))
        widths = (2 * len(X), 8 * len(X)) if quick else (len(X) + 1, 2 * len(X), 8 * len(X),
                                                         32 * len(X))
        for width in widths:
            other = random_feature_network(arch, X, Y, width, rng)
            if other is None:
                continue
            rows.append(compare_leq(
                f"{case}: convex value <= balanced random-feature interpolant ({width} "
                "channels)", res.value, other.param_norm(), rtol=settings.OBJECTIVE_RTOL,
                residual=relative_residual(other(X), Y)))
        if not quick or len(X) <= 4:
            rows.extend(_local_solutions(case, arch, X, Y, res.value, quick))
    return summarize(
        "PE2020", "two-layer ReLU CNNs: the convex group-lasso optimum (all patterns "
        "enumerated) is the minimal norm; no interpolating network goes below it", EXACT, rows,
        message="cbn.convex.two_layer_min_norm against its own network (recomputed norm, fit) "
                "and independent interpolants (balanced random features; minimal_norm's "
                f"local solutions when available); rtol {settings.OBJECTIVE_RTOL:g}")


def _local_solutions(case: str, arch: Architecture, X: np.ndarray, Y: np.ndarray,
                     value: float, quick: bool) -> list[dict]:
    """Rows ``convex value <= minimal_norm's non-convex solution``."""
    rows = []
    for seed in range(1 if quick else 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = stop_if_interrupted(minimal_norm(
                    arch, data=(X, Y), rng=seed, time_limit=settings.SOLVE_SAFETY_CAP,
                    max_iter=settings.QUICK_MAX_ITER if quick else settings.AL_MAX_ITER))
            except Exception:  # noqa: BLE001 - a failed local solve proves nothing
                continue
        if time_capped(res):                    # its network would depend on machine load
            rows.append(capped_row(f"{case}: minimal_norm local solution (seed {seed})", res))
            continue
        if res.network is None:
            continue
        rows.append(compare_leq(f"{case}: convex value <= minimal_norm local solution "
                                f"(seed {seed})", value, res.network.param_norm(),
                                rtol=settings.OBJECTIVE_RTOL, status=res.status))
    return rows
