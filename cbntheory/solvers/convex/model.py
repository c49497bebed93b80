"""Private helpers of :mod:`cbntheory.convex`: networks from group-lasso blocks, dual bounds.

Kept apart from the public module so that each stays short; nothing here imports
cvxpy (the program itself is :func:`cbntheory.backends.conic.group_lasso`).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ... import settings
from ...nets.architecture import Architecture
from ...nets.network import Network
from ...nets.patches import tap_offsets
from .patterns import Arrangement
from .screen import cone_support_bounds


@dataclasses.dataclass(frozen=True)
class Neurons:
    """Hidden channels ``u_j = (w_j, b_j)`` with output weights ``v_j`` plus an output bias."""

    u: np.ndarray       # (n_1, r)
    v: np.ndarray       # (n_1, n_out)
    out_bias: np.ndarray  # (n_out,)


def active_blocks(semi: np.ndarray, features: np.ndarray, y_scale: float) -> np.ndarray:
    """Blocks worth a hidden channel: seminorm above ``ACTIVE_BLOCK_RTOL`` times a scale.

    ``semi`` holds the seminorms ``(..., P)`` of the blocks.  The scale is the largest
    seminorm or, if larger, ``y_scale / max_D ||g_D(X)||_F`` (the seminorm a block needs
    to produce outputs of the labels' size), so that zero or constant labels give no
    channel made of interior-point residue.
    """
    feat = float(np.sqrt(np.max(np.sum(features ** 2, axis=(1, 2)), initial=0.0)))
    ref = y_scale / feat if feat > 0 else 0.0
    scale = max(float(semi.max(initial=0.0)), ref)
    return (semi > settings.ACTIVE_BLOCK_RTOL * scale) & (semi > 0)


def neurons_from_blocks(pos: np.ndarray, neg: np.ndarray, bias: np.ndarray, all_on: np.ndarray,
                        features: np.ndarray, y_scale: float, norm_dims: int,
                        fold_constants: bool, merge: bool) -> Neurons:
    """One hidden channel per active block (per cluster of parallel blocks when ``merge``).

    ``pos``/``neg`` have shape ``(n_out, P, r)``; ``all_on`` (``(P,)``) marks the pattern
    in which every patch is active.  A block ``a`` with seminorm
    ``t = ||a_w||`` becomes the channel ``u = a / sqrt(t)`` with output weight
    ``+-sqrt(t)``, so that ``||u_w||^2 + v^2 = 2 t``.  Inactive blocks
    (:func:`active_blocks`) are dropped, except that (``fold_constants``:
    free biases) a block of the all-on pattern with no weight part is the constant
    ``b`` and is added to the output bias.  With ``merge`` (several outputs), blocks of
    one pattern whose unit directions agree to ``BLOCK_DIRECTION_ATOL`` share one channel
    ``u`` with the vector ``v`` of their signed seminorms, costing ``2 ||v||_2`` instead
    of ``2 ||v||_1``.
    """
    n_out, P, r = pos.shape
    out_bias = np.array(bias, dtype=float).reshape(n_out).copy()
    blocks = np.stack([pos, neg], axis=0)  # (2, n_out, P, r), both inside the cones
    semi = np.linalg.norm(blocks[..., :norm_dims], axis=-1)
    active = active_blocks(semi, features, y_scale)
    us: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    for p in range(P):
        dirs: list[np.ndarray] = []
        coefs: list[np.ndarray] = []
        for s, sign in enumerate((1.0, -1.0)):
            for o in range(n_out):
                a, t = blocks[s, o, p], semi[s, o, p]
                if not active[s, o, p]:
                    if fold_constants and all_on[p]:
                        out_bias[o] += sign * a[-1]
                    continue
                unit = a / t
                for k, dvec in enumerate(dirs):
                    if merge and np.linalg.norm(dvec - unit) <= settings.BLOCK_DIRECTION_ATOL:
                        coefs[k][o] += sign * t
                        break
                else:
                    dirs.append(unit)
                    c = np.zeros(n_out)
                    c[o] = sign * t
                    coefs.append(c)
        for dvec, c in zip(dirs, coefs):
            scale = float(np.linalg.norm(c))
            if scale == 0.0:
                continue
            us.append(dvec * np.sqrt(scale))
            vs.append(c / np.sqrt(scale))
    if not us:
        return Neurons(np.zeros((0, r)), np.zeros((0, n_out)), out_bias)
    return Neurons(np.array(us), np.array(vs), out_bias)


def block_directions(pos: np.ndarray, neg: np.ndarray, features: np.ndarray, y_scale: float,
                     norm_dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Patterns and unit-seminorm directions of the active blocks (one per direction)."""
    blocks = np.concatenate([pos, neg], axis=0)  # (2 n_out, P, r)
    semi = np.linalg.norm(blocks[..., :norm_dims], axis=-1)
    k, p = np.nonzero(active_blocks(semi, features, y_scale))
    dirs = blocks[k, p] / semi[k, p, None]
    # drop repeated directions of one pattern (several outputs sharing a channel)
    keep: list[int] = []
    for i in range(len(p)):
        if not any(p[j] == p[i] and np.linalg.norm(dirs[j] - dirs[i])
                   <= settings.BLOCK_DIRECTION_ATOL for j in keep):
            keep.append(i)
    return p[keep], dirs[keep]


def neurons_from_output_weights(dirs: np.ndarray, v: np.ndarray, bias: np.ndarray) -> Neurons:
    """Channels ``dir_j sqrt(||v_j||)`` with output weights ``v_j / sqrt(||v_j||)``."""
    size = np.linalg.norm(v, axis=1)
    thresh = settings.ACTIVE_BLOCK_RTOL * max(float(size.max(initial=0.0)), 1e-300)
    on = size > thresh
    root = np.sqrt(size[on])
    return Neurons(dirs[on] * root[:, None], v[on] / root[:, None], np.array(bias, dtype=float))


def refit_exactly(neurons: Neurons, vectors: np.ndarray, Y: np.ndarray, with_bias: bool,
                  norm_dims: int) -> Neurons:
    """Correct the output layer so that the data are fitted to round-off, then rebalance.

    The pooled outputs ``Phi[n, j] = mean_p relu(<u_j, zhat_{n,p}>)`` are recomputed from
    the augmented patches ``vectors`` (``(N, d, r)``); the least-norm correction of
    ``(V, b_out)`` removes the residual of the interior-point solution (when it lies in
    the range of ``Phi``) when that correction is small (relative size at most
    ``REFIT_MAX_CHANGE``), else the neurons are returned unchanged.  Each channel is then
    rescaled, ``(u, v) -> (a u, v / a)`` with ``a^2 = ||v|| / ||u_w||``, which leaves the
    function unchanged and cannot raise the norm.  So the network interpolates exactly
    and its norm is an honest upper bound.
    """
    if neurons.u.shape[0] == 0:
        return neurons
    phi = np.maximum(np.einsum("ndr,jr->njd", vectors, neurons.u), 0.0).mean(axis=2)
    A = np.hstack([phi, np.ones((phi.shape[0], 1))]) if with_bias else phi
    coef = np.vstack([neurons.v, neurons.out_bias[None]]) if with_bias else neurons.v
    resid = Y - A @ coef
    # a well-conditioned correction only: near-parallel channels make A ill-conditioned,
    # and a tiny residual must not buy a large change of the weights
    delta, *_ = np.linalg.lstsq(A, resid, rcond=settings.REFIT_RCOND)
    if float(np.linalg.norm(delta)) > settings.REFIT_MAX_CHANGE * max(float(np.linalg.norm(coef)),
                                                               1e-300):
        return neurons
    coef = coef + delta
    if np.linalg.norm(Y - A @ coef) > np.linalg.norm(resid):
        return neurons
    v = coef[:phi.shape[1]]
    bias = coef[-1] if with_bias else neurons.out_bias
    un = np.linalg.norm(neurons.u[:, :norm_dims], axis=1)
    vn = np.linalg.norm(v, axis=1)
    ok = (un > 0) & (vn > 0)
    scale = np.ones_like(un)
    scale[ok] = np.sqrt(vn[ok] / un[ok])
    return Neurons(neurons.u * scale[:, None], v / scale[:, None], np.array(bias, dtype=float))


def build_network(arch: Architecture, neurons: Neurons) -> Network:
    """The two-layer network of ``neurons`` (at least one hidden channel, zero if unused)."""
    n0 = arch.channels[0]
    taps = tap_offsets(arch.kernel_size, arch.spatial_shape)
    u = neurons.u
    width = max(1, u.shape[0])
    new = dataclasses.replace(arch, channels=(n0, width, arch.channels[2]))
    W = np.zeros((width, n0) + arch.spatial_shape)
    K = len(taps)
    for j in range(u.shape[0]):
        w = u[j, :n0 * K].reshape(n0, K)
        for s, q in enumerate(taps):
            W[(j, slice(None)) + tuple(int(v) for v in q)] = w[:, s]
    V = np.zeros((arch.channels[2], width))
    V[:, :u.shape[0]] = neurons.v.T
    biases: list[np.ndarray] = []
    if arch.bias:
        b1 = np.zeros(width)
        b1[:u.shape[0]] = u[:, -1]
        biases = [b1, neurons.out_bias]
    return Network(new, [W, V], biases)


def dual_lower_bound(arr: Arrangement, cells: np.ndarray, features: np.ndarray,
                     duals: np.ndarray, Y: np.ndarray, output_bias: str,
                     free_hidden_bias: bool, warm: np.ndarray | None = None,
                     refine: bool = True, walls: np.ndarray | None = None) -> dict[str, Any]:
    """Certified lower bound (in network units) from the solver's multipliers ``duals``.

    ``duals`` has shape ``(N, n_out)``.  For every pattern ``D``, output ``o`` and sign,
    :func:`cbntheory.backends.optimize.cone_support_bound` bounds
    ``sigma = max{+-<g_D(X)^T l_o, u> : u in K_D, ||u_w|| <= 1}`` from above;
    ``kappa_D = ||(max_+- sigma)_o||_2`` (or the
    spectral norm of ``L^T g_D(X)`` if smaller, several outputs without free hidden
    biases) bounds ``max ||L^T g_D(X) u||_2`` over the same set, so with
    ``kappa = max_D kappa_D`` the scaled multipliers ``s L``, ``s <= 1/kappa``, are
    feasible for the dual of the network problem itself, and the dual
    value ``s <L, Y> - s^2 ||L^T 1||^2 / 2`` (last term with a penalised output bias)
    bounds half the minimal norm from below.  Both signs of ``L`` are tried (cvxpy's
    sign convention is not relied upon).  Returns ``lower`` (float or None), ``kappa``,
    ``dual_value``, ``kappas`` (the per-pattern bounds of the sign used) and
    ``sensitivity`` ``= 2 s ||L|| ||Y||``: for data within relative distance ``r`` of ``Y``
    the same multipliers bound the norm by ``lower - sensitivity * r``.  ``warm``: the
    screen's multipliers to start from, ``refine``: whether the exact NNLS refines the
    top patterns, ``walls``: the cones' facets (see :func:`pattern_kappas`).
    """
    best: dict[str, Any] = {"lower": None, "kappa": float("inf"), "dual_value": None,
                            "kappas": None}
    L0 = np.asarray(duals, dtype=float)
    if not np.all(np.isfinite(L0)):
        return best
    if output_bias == "free":
        L0 = L0 - L0.mean(axis=0, keepdims=True)
    # kappa_D bounds both signs of every output, so it is the same for L and -L
    per_pattern = pattern_kappas(arr, cells, features, L0, free_hidden_bias, threshold=1.0,
                                 warm=warm, refine=refine, walls=walls)
    for sign in (1.0, -1.0):
        L = sign * L0
        kappa = float(np.max(per_pattern, initial=0.0))
        lin = float(np.sum(L * Y))
        if not np.isfinite(kappa):
            continue
        if lin <= 0:  # s = 0 is the best scale: the trivial bound 0
            if best["lower"] is None:
                best = {"lower": 0.0, "kappa": kappa, "dual_value": 0.0, "kappas": per_pattern}
            continue
        smax = np.inf if kappa == 0 else 1.0 / kappa
        q = float(np.sum(L.sum(axis=0) ** 2)) if output_bias == "penalized" else 0.0
        s = smax if q == 0 else min(smax, lin / q)
        if not np.isfinite(s):
            continue
        value = s * lin - 0.5 * s * s * q
        if best["lower"] is None or 2 * value > best["lower"]:
            # data Y' within r ||Y|| of Y change <L, Y> by at most r ||L|| ||Y||: the bound's
            # certified error per unit of relative residual (issue 14)
            sens = 2.0 * s * float(np.linalg.norm(L)) * float(np.linalg.norm(Y))
            best = {"lower": 2.0 * value, "kappa": kappa, "dual_value": value,
                    "kappas": per_pattern, "sensitivity": sens}
    return best


def pattern_kappas(arr: Arrangement, cells: np.ndarray, features: np.ndarray, L: np.ndarray,
                   free_hidden_bias: bool, threshold: float | None = None, *,
                   warm: np.ndarray | None = None, iterations: int | None = None,
                   refine: bool = True, walls: np.ndarray | None = None) -> np.ndarray:
    """Per pattern, an upper bound on ``max{||L^T g_D(X) u||_2 : u in K_D, ||u_w|| <= 1}``.

    ``L`` has shape ``(N, n_out)``.  A multiplier is dual feasible for pattern ``D`` when
    this is at most 1 (see :func:`dual_lower_bound`), so the caller may pass ``threshold``
    1: bounds that reach it are not improved further.  Every pattern gets the batched
    certified bound of :func:`cbntheory.solvers.convex.screen.cone_support_bounds`; the
    patterns that decide the result (in decreasing order of that bound, while it exceeds
    the largest refined value) are refined by the exact NNLS, so the maximum over all
    patterns is the one the exact bound of every pattern would give.  ``warm`` (shape
    ``(2 P n_out, M)``) holds the screen's multipliers between calls for the same
    patterns (:func:`cbntheory.solvers.convex.screen.cone_support_bounds`);
    ``iterations`` caps the screen; without ``refine`` no NNLS runs (the bounds are
    certified still; for ranking patterns).  ``walls`` (``(P, M)``, the cones' facets)
    makes the screen exact at small weight dimensions (see
    :func:`cbntheory.solvers.convex.screen.wall_support_bounds`).
    """
    free = arr.dim - 1 if free_hidden_bias else None
    G = np.einsum("pnr,no->por", features, L)  # (P, n_out, r)
    both = np.concatenate([G, -G], axis=1)     # both signs of every output
    ub = cone_support_bounds(both, cells, arr.normals, free, threshold=threshold,
                             iterations=iterations, warm=warm, walls=walls)
    n_out = G.shape[1]
    sig = np.maximum(np.maximum(ub[:, :n_out], ub[:, n_out:]), 0.0)
    per_pattern = _combine(sig, G, free)
    if not refine:
        return per_pattern
    best = 0.0
    for p in np.argsort(-per_pattern, kind="stable"):
        if per_pattern[p] <= best:
            break
        exact = _combine(_exact_sigma(arr, cells[p], G[p], free)[None], G[p:p + 1], free)[0]
        per_pattern[p] = min(per_pattern[p], exact)  # both are certified upper bounds
        if np.isfinite(per_pattern[p]):  # an unbounded pattern leaves the others to refine
            best = max(best, per_pattern[p])
    return per_pattern


def _combine(sig: np.ndarray, G: np.ndarray, free: int | None) -> np.ndarray:
    """``||sigma_D||_2`` over the outputs (or the spectral norm of ``G_D`` if smaller)."""
    per_pattern = np.linalg.norm(sig, axis=1)
    if G.shape[1] > 1 and free is None:
        # max over the unit ball of ||G_D u||_2 is also below the spectral norm
        per_pattern = np.minimum(per_pattern, np.linalg.norm(G, ord=2, axis=(1, 2)))
    return per_pattern


def _exact_sigma(arr: Arrangement, cell: np.ndarray, G: np.ndarray,
                 free: int | None) -> np.ndarray:
    """One pattern's support bounds ``(n_out,)`` by the exact NNLS, both signs."""
    from ...backends import (
        optimize as optim,  # scipy.optimize is imported on first use, not with the package
    )

    rows = cell[:, None] * arr.normals
    return np.array([max(optim.cone_support_bound(g, rows, free),
                         optim.cone_support_bound(-g, rows, free), 0.0) for g in G])
