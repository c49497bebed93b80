"""Certified lower bounds on the minimal norm of two-layer ReLU CNNs with image outputs.

For depth ``L = 2`` without head (outputs are images, the second layer a convolution)
the minimal parameter norm over networks of *any* width that interpolate finite data is
bounded from below by weak Lagrangian duality, certified over every activation pattern
of the data.  Write a hidden channel as ``u = (w, b)`` (first-layer weights on the
window, bias) with output weights ``V in R^{n_out x K}`` (the second-layer taps).  For
a multiplier ``lam`` of the shape of ``Y``,

    <lam, Y> = <lam, f(X)> = sum_j <V_j, G_lam(u_j)> + <b_out, s>,   s_o = sum_{n,p} lam[n,o,p],

with ``G_lam(u)[o,q] = c sum_{n,p} lam[n,o,p] relu(<u, zhat_{n,p-q}>)``.  On the closed
cone ``K_D`` of an activation pattern ``D`` this is linear, ``G_lam(u) = M_D u``; if
``kappa >= max_D max{||M_D u||_F : u in K_D, ||u_w|| <= 1}`` then
``<V_j, G_lam(u_j)> <= kappa ||u_j||_w ||V_j|| <= kappa (||u_j||_w^2 + ||V_j||^2) / 2``, and

    ||theta||^2  >=  2 <lam, Y> / kappa  -  ||s||^2 / kappa^2     (penalised output bias;
                                                                   s = 0 when it is free,
                                                                   no s without biases).

``kappa`` is bounded per pattern by :func:`cbntheory.solvers.convex.model.pattern_kappas`
(certified cone-support bounds, row by row, or the spectral norm), over a list of
patterns whose completeness is itself certified: every sign vector when the hyperplanes
are linearly independent (then all ``2^M`` are cells), else the enumeration with its
closure certificate.  With full-size filters in both layers, rolling a channel's kernel
by ``s`` permutes the rows of ``M_D`` and maps the pattern ``D`` to its shift, so one
pattern per shift orbit suffices (``M_D`` and its shift have the same bounds).

Any ``lam`` gives a valid bound; the multipliers tried are the stationarity multipliers
of the given networks (least squares on ``J^T lam = 2 theta``, which an optimal network
satisfies; on the output layer's rows alone, and on all rows) and ``Y`` itself; the best
bound is kept with its certificate.

Examples
--------
One pixel (``d = 1``): a two-layer fully connected network; the output 1 at the input 1
costs at least 2 (``f = v relu(w x + b) + b_out`` with ``v w + ...= 1``).

>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((1,), (1, 2, 1), bias=False)
>>> cert = depth2_lower_bound(arch, np.ones((1, 1, 1)), np.ones((1, 1, 1)))
>>> bool(abs(cert.value - 2.0) < 1e-9), cert.patterns
(True, 2)
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..errors import TooManyCellsError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..nets.patches import patches, tap_offsets
from .convex.model import pattern_kappas
from .convex.patterns import Arrangement
from .convex.screen import cone_support_bounds

__all__ = ["Depth2Certificate", "applies", "cone_norm_bounds", "depth2_lower_bound"]


@dataclasses.dataclass(frozen=True)
class Depth2Certificate:
    """A certified lower bound on ``R(f; Omega, 2)`` and what proves it.

    Attributes
    ----------
    value : float
        The lower bound on the parameter norm (``param_norm`` units), over every network
        of the architecture's class (any hidden width) that interpolates the data.
    kappa : float
        Certified upper bound on ``max_D max{||M_D u|| : u in K_D, ||u_w|| <= 1}``.
    dual_value : float
        ``<lam, Y>``.
    multipliers : ndarray
        ``lam``, shape of ``Y``.
    source : str
        Where ``lam`` came from.
    patterns : int
        Activation patterns covered (all of them).
    representatives : int
        Patterns whose bound was computed (one per shift orbit when reduced).
    completeness : str
        Why the pattern list is every pattern.
    hyperplanes : int
        Distinct hyperplanes of the first layer's patches.
    critical_pattern : ndarray of int8
        A pattern attaining ``kappa`` (sign per hyperplane).
    wall_time : float
        Seconds.
    """

    value: float
    kappa: float
    dual_value: float
    multipliers: np.ndarray
    source: str
    patterns: int
    representatives: int
    completeness: str
    hyperplanes: int
    critical_pattern: np.ndarray
    wall_time: float

    def slackened(self, epsilon: float, Y: Any) -> float:
        """The bound for ``R_eps``: networks whose outputs are within ``epsilon ||Y||`` of ``Y``.

        ``<lam, Y'>  >=  <lam, Y> - epsilon ||lam|| ||Y||`` for such outputs ``Y'``, so the
        dual value drops by that much (the output-bias term does not depend on ``Y``).
        """
        if not (np.isfinite(self.kappa) and self.kappa > 0):
            return 0.0
        slack = float(epsilon) * float(np.linalg.norm(self.multipliers)) * float(
            np.linalg.norm(Y))
        return max(0.0, self.value - 2.0 * slack / self.kappa)

    def describe(self) -> str:
        """One sentence for a table row."""
        return (f"depth-2 dual certificate: multipliers from {self.source}, <lam, Y> = "
                f"{self.dual_value:.6g}, kappa = "
                f"{self.kappa:.6g} over all {self.patterns} activation patterns "
                f"({self.completeness}; {self.representatives} bounded), "
                f"{self.hyperplanes} hyperplanes")


def applies(arch: Any) -> bool:
    """Depth 2, ReLU, no head, no resampling: the architectures this bound is for."""
    return (isinstance(arch, Architecture) and arch.depth == 2 and arch.activation == "relu"
            and arch.head is None and all(r == 1 for r in (arch.resample or ())))


def _check(arch: Any, X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    if not applies(arch):
        raise V.fail("arch", "be a two-layer ReLU CNN without head and without resampling",
                     arch)
    X = V.real_array("X", X, ndim=arch.ndim + 2)
    if X.shape[1:] != arch.input_shape:
        raise V.fail("X", f"have shape (N, {', '.join(map(str, arch.input_shape))})", X)
    Y = V.real_array("Y", Y, ndim=arch.ndim + 2)
    if Y.shape != (X.shape[0], *arch.output_shape):
        raise V.fail("Y", f"have shape (N, {', '.join(map(str, arch.output_shape))})", Y)
    return X, Y


def _all_patterns(arr: Arrangement, max_patterns: int, orbit: int) -> tuple[np.ndarray, str]:
    """Every activation pattern, with the reason the list is complete.

    ``max_patterns`` caps the representatives, about ``count / orbit`` (``orbit`` shifts).
    """
    M, r = arr.normals.shape
    rank = int(np.linalg.matrix_rank(arr.normals)) if M else 0
    if rank == M:
        # independent normals: u -> (<n_i, u>)_i is onto R^M, so every sign vector is a cell
        if 2 ** M > max_patterns * orbit:
            raise TooManyCellsError(
                f"{M} linearly independent hyperplanes in R^{r}: all 2^{M} = {2 ** M} sign "
                f"vectors are activation patterns, at least {2 ** M // orbit} up to the "
                f"{orbit} shifts, above the cap of {max_patterns} "
                "(settings.DEPTH2_MAX_PATTERNS)")
        bits = (np.arange(2 ** M)[:, None] >> np.arange(M)[None, :]) & 1
        cells = (2 * bits - 1).astype(np.int8)
        return cells, f"the {M} hyperplanes are linearly independent: all 2^{M}"
    cells, info = arr.enumerate(max_patterns=max_patterns * orbit)
    cert = info["certificate"]
    if not cert["complete"]:
        raise TooManyCellsError(f"the pattern enumeration failed its closure check {cert}")
    return cells, (f"enumerated, closure certificate: {cert['walls_checked']} walls "
                   "crossed, none leaves the set")


def _shift_permutations(arch: Architecture, arr: Arrangement) -> np.ndarray | None:
    """Per shift ``s``, the hyperplane ``i -> pi_s(i)`` of the rolled kernel; None if not closed.

    Rolling a full-size kernel by ``s`` turns ``<u, zhat_{n,p}>`` into
    ``<u, zhat_{n,p-s}>``; on hyperplanes this is a permutation when the data's patches
    are closed under it (e.g. a union of shift orbits).
    """
    if arch.kernel_size is not None:
        return None
    shape, n0 = arch.spatial_shape, arch.channels[0]
    taps = tap_offsets(None, shape)
    index = {tuple(q): i for i, q in enumerate(taps.tolist())}
    key = {np.round(v, settings.PATCH_KEY_DECIMALS).tobytes(): i
           for i, v in enumerate(arr.normals)}
    perms = []
    for s in taps:
        moved = [index[tuple((q + s) % np.array(shape))] for q in taps]
        cols = np.concatenate([i * len(taps) + np.array(moved) for i in range(n0)])
        if arr.bias:
            cols = np.append(cols, arr.dim - 1)
        # normal n_i of the rolled kernel u' = R u: <u', n_i> = <u, R^T n_i>
        target = arr.normals[:, cols]
        found = [key.get(np.round(t, settings.PATCH_KEY_DECIMALS).tobytes()) for t in target]
        if any(f is None for f in found):
            return None
        perms.append(np.array(found))
    return np.array(perms)


def _orbit_representatives(cells: np.ndarray, perms: np.ndarray | None) -> np.ndarray:
    """Indices of one pattern per orbit of the hyperplane permutations (all without)."""
    if perms is None or len(cells) == 0:
        return np.arange(len(cells))
    M = cells.shape[1]
    if M > 63:  # codes would overflow; no reduction (still every pattern)
        return np.arange(len(cells))
    weights = np.left_shift(np.uint64(1), np.arange(M, dtype=np.uint64))
    codes = np.stack([(cells[:, p] > 0).astype(np.uint64) @ weights for p in perms])
    _, first = np.unique(codes.min(axis=0), return_index=True)
    return np.sort(first)


def _features(arch: Architecture, arr: Arrangement, cells: np.ndarray) -> np.ndarray:
    """``F[P, (n, p), r] = D_{n,p} zhat_{n,p}``: the masked patches of every pattern."""
    act = arr.active(cells).astype(float)                      # (P, N, d)
    P, N, d = act.shape
    return (act[..., None] * arr.vectors[None]).reshape(P, N * d, arr.dim)


def _second_layer(arch: Architecture, lam: np.ndarray) -> np.ndarray:
    """``L[(n, p), (o, q)] = c lam[n, o, p + q]``: ``M_D = F_D^T L`` row by row."""
    shape = arch.spatial_shape
    c = fourier.normalization_constant(arch.normalization, shape)
    axes = tuple(range(2, 2 + len(shape)))
    taps = tap_offsets(arch.kernel_size, shape)
    N, n_out = lam.shape[:2]
    d = fourier.spatial_size(shape)
    rolled = np.stack([np.roll(lam, tuple(-int(v) for v in q), axis=axes) for q in taps],
                      axis=2)                                  # (N, n_out, K, *spatial)
    return c * rolled.reshape(N, n_out * len(taps), d).transpose(0, 2, 1).reshape(N * d, -1)


def stationarity_multipliers(net: Network, X: np.ndarray, *,
                             output_only: bool = False) -> np.ndarray:
    """Least-squares ``lam`` with ``J^T lam = 2 mask * theta`` (an optimum's multipliers).

    ``output_only``: only the rows of the output layer (kernel and bias), where ``f`` is
    linear in the parameters; an optimal network often has units on a hyperplane of the
    data (a pre-activation exactly 0), where the first layer's rows use one of the ReLU's
    one-sided derivatives and need not hold.
    """
    out, backward = net.pullback(X)
    basis = np.eye(out.size)
    J_T = np.stack([backward(b.reshape(out.shape)) for b in basis], axis=1)
    arch = net.architecture
    rhs = 2.0 * net.to_vector() * arch.penalty_mask()
    if output_only:
        keep = np.zeros(len(rhs), dtype=bool)
        for name, sl in arch.vector_layout:
            keep[sl] = name.endswith(f"[{arch.depth - 1}]")
        J_T, rhs = J_T[keep], rhs[keep]
    lam = np.linalg.lstsq(J_T, rhs, rcond=None)[0]
    return lam.reshape(out.shape)


def _units(net: Network) -> np.ndarray:
    """Hidden channels ``u_j = (w_j, b_j)`` of a depth-2 network, on the window, ``(n_1, r)``."""
    arch = net.architecture
    taps = tap_offsets(arch.kernel_size, arch.spatial_shape)
    W = net.kernels[0][(slice(None), slice(None), *taps.T)]      # (n_1, n_0, K)
    U = W.reshape(W.shape[0], -1)
    return np.hstack([U, net.biases[0][:, None]]) if arch.bias else U


def _reached(arch: Architecture, arr: Arrangement, L: np.ndarray,
             networks: Sequence[Network]) -> float:
    """``max ||M_D u|| / ||u_w||`` over the networks' channels: a value ``kappa`` must reach."""
    U = [u for net in networks for u in _units(net)]
    if not U:
        return 0.0
    U_arr = np.array(U)
    norms = np.linalg.norm(U_arr[:, :-1] if arch.bias and not arch.penalize_bias else U_arr,
                           axis=1)
    F = _features(arch, arr, arr.pattern_of(U_arr))
    vals = np.linalg.norm(np.einsum("jnr,no,jr->jo", F, L, U_arr), axis=1)
    ok = norms > 0
    return float(np.max(vals[ok] / norms[ok], initial=0.0))


def _kappas(arr: Arrangement, cells: np.ndarray, F: np.ndarray, L: np.ndarray,
            free_hidden: bool, reached: float = 0.0, refine: bool = True,
            give_up: float = np.inf) -> np.ndarray:
    """Per pattern, a certified bound on ``max{||M_D u|| : u in K_D, ||u_w|| <= 1}``.

    First row by row (the certified cone-support screen
    :func:`cbntheory.solvers.convex.screen.cone_support_bounds` of every row of ``M_D``,
    or the spectral norm); then, in decreasing order, the patterns that decide the
    maximum get the semidefinite bound :func:`cone_norm_bounds`.  With a free hidden bias
    (a coordinate outside the norm) :func:`cbntheory.solvers.convex.model.pattern_kappas`
    refines by the exact NNLS instead.  ``reached``: a
    value of ``||M_D u||`` some unit attains, below which no bound can go (the level of
    the semidefinite bound's steps); ``refine=False``: the row-by-row bounds only;
    ``give_up``: stop refining once the maximum is known to exceed it (the bounds stay
    certified, only less tight).
    """
    G = np.matmul(L.T, F)                                  # (P, n_out K, r)
    spectral = np.linalg.norm(G, ord=2, axis=(1, 2)) if len(cells) else np.zeros(0)
    settled = settings.DEPTH2_SCREEN_SETTLED * float(np.max(spectral, initial=0.0))
    if free_hidden:  # no semidefinite step: the exact NNLS refines the deciding patterns
        return pattern_kappas(arr, cells, F, L, free_hidden, threshold=settled)
    k = G.shape[1]
    ub = cone_support_bounds(np.concatenate([G, -G], axis=1), cells, arr.normals, None,
                             threshold=settled, iterations=settings.DEPTH2_SCREEN_ITERATIONS)
    rows = np.maximum(np.maximum(ub[:, :k], ub[:, k:]), 0.0)
    kappas = np.minimum(np.linalg.norm(rows, axis=1), spectral)
    if len(cells) == 0 or not refine:
        return kappas
    S = cells[:, :, None] * arr.normals[None]            # K_D = {u : S_D u >= 0}
    order = np.argsort(-kappas, kind="stable")
    best = float(reached)
    batch = settings.DEPTH2_SDP_BATCH
    for lo in range(0, len(order), batch):
        idx = order[lo:lo + batch]
        if kappas[idx[0]] <= best:
            break
        level = best if best > 0 else None
        kappas[idx] = np.minimum(kappas[idx], cone_norm_bounds(G[idx], S[idx], target=level))
        best = max(best, float(kappas[idx].max()))
        if best > give_up:
            break
    return kappas


def cone_norm_bounds(G: np.ndarray, S: np.ndarray, iterations: int | None = None,
                     target: float | None = None) -> np.ndarray:
    """Certified upper bounds on ``max{||G_b u|| : S_b u >= 0, ||u|| <= 1}`` for a batch.

    Parameters
    ----------
    G : ndarray, shape (B, k, r)
    S : ndarray, shape (B, m, r)
        Rows of the polyhedral cones.
    iterations : int, optional
        Subgradient steps (default :data:`cbntheory.settings.DEPTH2_SDP_ITERATIONS`).
    target : float, optional
        A level the bounds need not go below (e.g. a value the maximum is known to
        reach): Polyak's step size towards it instead of ``1/sqrt(k)`` steps.

    Returns
    -------
    ndarray, shape (B,)

    Notes
    -----
    For ``u`` in the cone and any symmetric ``Gamma >= 0`` (entrywise),
    ``<Gamma, S u u^T S^T> >= 0``, so with ``U = u u^T`` (``tr U <= 1``)

        ||G u||^2 = <G^T G, U> <= <G^T G + S^T Gamma S, U> <= lambda_max(G^T G + S^T Gamma S)^+,

    the dual of the Shor relaxation with the cone's entrywise constraints.  Every
    ``Gamma >= 0`` gives a certified bound (the eigenvalue is computed anew in numpy), so
    ``Gamma`` may come from a cheap method: projected subgradient descent on
    ``lambda_max`` (subgradient ``S v v^T S^T`` at the top eigenvector ``v``, steps
    ``lambda_max(G^T G) / ||S||^2 / sqrt(k)`` or Polyak's towards ``target^2``), keeping
    the best iterate.  ``Gamma = 0``
    gives the spectral norm.

    Examples
    --------
    The quadrant ``u >= 0`` of the plane and ``G = (1, -1)``: the maximum is 1 (at
    ``u = e_1``), the spectral norm sqrt(2).

    >>> b = cone_norm_bounds(np.array([[[1.0, -1.0]]]), np.eye(2)[None])
    >>> bool(1.0 <= b[0] < 1.01)
    True
    """
    iterations = settings.DEPTH2_SDP_ITERATIONS if iterations is None else int(iterations)
    C = G.transpose(0, 2, 1) @ G
    St = S.transpose(0, 2, 1)
    Gam = np.zeros((S.shape[0], S.shape[1], S.shape[1]))
    margin = 4 * C.shape[1] * np.finfo(float).eps
    best = np.linalg.eigvalsh(C)[:, -1] + margin * np.linalg.norm(C, axis=(1, 2))
    step0 = best / np.maximum(np.linalg.norm(S, ord=2, axis=(1, 2)) ** 2, 1e-300)
    aim = None if target is None else float(target) ** 2
    for k in range(1, iterations + 1):
        A = C + St @ Gam @ S
        w, vec = np.linalg.eigh(A)
        # round-off of eigh is below n eps ||A||_F: added so the bound stays certified
        top = w[:, -1] + margin * np.linalg.norm(A, axis=(1, 2))
        best = np.minimum(best, top)
        sv = (S @ vec[:, :, -1:])[:, :, 0]
        if aim is None:
            step = step0 / np.sqrt(k)
        else:  # Polyak's step towards the level the bound has to reach
            step = np.maximum(w[:, -1] - aim, 0.0) / np.maximum(np.sum(sv * sv, 1) ** 2, 1e-300)
        if aim is not None and np.all(best <= aim):
            break  # every bound is at the level already: no need to go further
        Gam = np.maximum(0.0, Gam - step[:, None, None] * sv[:, :, None] * sv[:, None, :])
    return np.sqrt(np.maximum(best, 0.0))


def _bound(lam: np.ndarray, Y: np.ndarray, kappa: float, output_bias: str) -> tuple[float, float]:
    """The lower bound of multipliers ``lam`` with ``kappa``, and ``<lam, Y>``."""
    lin = float(np.sum(lam * Y))
    if not (np.isfinite(kappa) and kappa > 0 and lin > 0):
        return 0.0, lin
    value = 2.0 * lin / kappa
    if output_bias == "penalized":
        s = lam.sum(axis=tuple(i for i in range(lam.ndim) if i != 1))
        value -= float(np.sum(s * s)) / kappa ** 2
    return max(0.0, value), lin


def _kappa_to_beat(lam: np.ndarray, Y: np.ndarray, value: float, output_bias: str) -> float:
    """The ``kappa`` above which multipliers ``lam`` give a bound below ``value``."""
    lin = float(np.sum(lam * Y))
    q = 0.0
    if output_bias == "penalized":
        q = float(np.sum(lam.sum(axis=tuple(i for i in range(lam.ndim) if i != 1)) ** 2))
    if value <= 0:
        return np.inf
    # 2 lin / k - q / k^2 = value  <=>  value k^2 - 2 lin k + q = 0 (the larger root)
    disc = max(lin * lin - value * q, 0.0)
    return (lin + np.sqrt(disc)) / value


def _ranked_multipliers(arch: Architecture, arr: Arrangement, reps: np.ndarray, F: np.ndarray,
                        X: np.ndarray, Y: np.ndarray, networks: Sequence[Network],
                        output_bias: str, free_hidden: bool
                        ) -> list[tuple[float, np.ndarray, str, np.ndarray]]:
    """Every candidate multiplier with its row-by-row bound, best first.

    ``(bound, lam, source, L)`` for the stationarity multipliers of every network (output
    layer and all layers) and for ``Y``, both signs, made to sum to 0 per output with a
    free output bias; those with ``<lam, Y> <= 0`` (bound 0) are left out.
    """
    candidates = [(stationarity_multipliers(n, X, output_only=last), f"the stationarity "
                   f"({'output layer' if last else 'all layers'}) of a network of norm "
                   f"{n.param_norm():.6g}") for n in networks for last in (True, False)]
    candidates.append((Y, "the labels"))
    tried = []
    for lam0, source in candidates:
        for lam in (lam0, -lam0):
            if output_bias == "free":
                lam = lam - lam.mean(axis=tuple(i for i in range(lam.ndim) if i != 1),
                                     keepdims=True)
            if not np.all(np.isfinite(lam)) or float(np.sum(lam * Y)) <= 0:
                continue
            L = _second_layer(arch, lam)
            rows = _kappas(arr, reps, F, L, free_hidden, refine=False)
            tried.append((_bound(lam, Y, float(np.max(rows, initial=0.0)), output_bias)[0],
                          lam, source, L))
    tried.sort(key=lambda t: -t[0])  # the semidefinite bound only for the most promising
    return tried


def depth2_lower_bound(arch: Architecture, X: Any, Y: Any, *,
                       networks: Sequence[Network] = (),
                       max_patterns: int | None = None) -> Depth2Certificate:
    """Certified lower bound on the minimal norm of a depth-2 ReLU CNN with image outputs.

    Parameters
    ----------
    arch : Architecture
        Depth 2, ReLU, ``head=None``, no resampling; any channels, kernel size, bias
        setting and normalisation (the bound holds for every hidden width).
    X : array_like, shape (N, n_0, *spatial)
    Y : array_like, shape (N, n_out, *spatial)
    networks : sequence of Network
        Networks of ``arch`` whose stationarity multipliers are tried (e.g. the verified
        upper bounds of the same row); ``Y`` itself is always tried.
    max_patterns : int, optional
        Refuse beyond this many pattern representatives
        (default :data:`cbntheory.settings.DEPTH2_MAX_PATTERNS`).

    Returns
    -------
    Depth2Certificate

    Raises
    ------
    ValidationError
        Wrong architecture or shapes.
    TooManyCellsError
        The arrangement has too many patterns (the message gives the count).
    """
    start = time.perf_counter()
    X, Y = _check(arch, X, Y)
    cap = settings.DEPTH2_MAX_PATTERNS if max_patterns is None else V.positive_int(
        "max_patterns", max_patterns)
    Z = patches(X, arch.spatial_shape, arch.kernel_size, arch.normalization)
    arr = Arrangement.from_patches(Z, bias=arch.bias)
    perms = _shift_permutations(arch, arr)
    orbit = 1 if perms is None else len(perms)
    cells, why = _all_patterns(arr, cap, orbit)
    reps = cells[_orbit_representatives(cells, perms)]
    if perms is not None and arch.kernel_size is None:
        why += f", reduced to one per orbit of the {orbit} shifts"
    F = _features(arch, arr, reps)
    output_bias = "none" if not arch.bias else ("penalized" if arch.penalize_bias else "free")
    free_hidden = arch.bias and not arch.penalize_bias
    tried = _ranked_multipliers(arch, arr, reps, F, X, Y, networks, output_bias, free_hidden)
    best: Depth2Certificate | None = None
    for _, lam, source, L in tried[:settings.DEPTH2_REFINED_CANDIDATES]:
        give_up = np.inf if best is None else _kappa_to_beat(lam, Y, best.value, output_bias)
        kappas = _kappas(arr, reps, F, L, free_hidden, reached=_reached(arch, arr, L, networks),
                         give_up=give_up)
        kappa = float(np.max(kappas, initial=0.0))
        value, lin = _bound(lam, Y, kappa, output_bias)
        if best is None or value > best.value:
            best = Depth2Certificate(
                value=value, kappa=kappa, dual_value=lin, multipliers=lam, source=source,
                patterns=len(cells), representatives=len(reps), completeness=why,
                hyperplanes=arr.n_hyperplanes,
                critical_pattern=reps[int(np.argmax(kappas))] if len(reps) else reps,
                wall_time=0.0)
    if best is None:
        best = Depth2Certificate(value=0.0, kappa=float("inf"), dual_value=0.0,
                                 multipliers=np.zeros_like(Y), source="none (zero labels)",
                                 patterns=len(cells), representatives=len(reps),
                                 completeness=why, hyperplanes=arr.n_hyperplanes,
                                 critical_pattern=np.zeros(0, np.int8), wall_time=0.0)
    return dataclasses.replace(best, wall_time=time.perf_counter() - start)
