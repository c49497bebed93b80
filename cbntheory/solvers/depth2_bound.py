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
from .convex.arrangements import generic_cell_count
from .convex.model import pattern_kappas
from .convex.patterns import Arrangement

__all__ = ["Depth2Certificate", "applies", "depth2_lower_bound"]


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
        return (f"depth-2 dual certificate: multipliers from {self.source}, kappa = "
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


def _kappas(arr: Arrangement, cells: np.ndarray, F: np.ndarray, L: np.ndarray,
            free_hidden: bool) -> np.ndarray:
    """Per pattern, the certified bound on ``max ||M_D u||`` (the screen settles small rows)."""
    G = np.einsum("pnr,no->por", F, L)
    scale = float(np.max(np.linalg.norm(G, ord=2, axis=(1, 2)), initial=0.0))
    return pattern_kappas(arr, cells, F, L, free_hidden,
                          threshold=settings.DEPTH2_SCREEN_SETTLED * scale)


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
    candidates = [(stationarity_multipliers(n, X, output_only=last), f"the stationarity "
                   f"({'output layer' if last else 'all layers'}) of a network of norm "
                   f"{n.param_norm():.6g}") for n in networks for last in (True, False)]
    candidates.append((Y, "the labels"))
    best: Depth2Certificate | None = None
    for lam0, source in candidates:
        for lam in (lam0, -lam0):
            if output_bias == "free":
                lam = lam - lam.mean(axis=tuple(i for i in range(lam.ndim) if i != 1),
                                     keepdims=True)
            if not np.all(np.isfinite(lam)) or float(np.sum(lam * Y)) <= 0:
                continue
            kappas = _kappas(arr, reps, F, _second_layer(arch, lam), free_hidden)
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


def pattern_count(arch: Architecture, X: Any) -> tuple[int, int, int]:
    """``(hyperplanes, rank, generic count)`` of the first layer's arrangement (no enumeration)."""
    X = V.real_array("X", X, ndim=arch.ndim + 2)
    Z = patches(X, arch.spatial_shape, arch.kernel_size, arch.normalization)
    arr = Arrangement.from_patches(Z, bias=arch.bias)
    rank = int(np.linalg.matrix_rank(arr.normals)) if arr.n_hyperplanes else 0
    return arr.n_hyperplanes, rank, generic_cell_count(arr.n_hyperplanes, rank)
