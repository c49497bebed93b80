"""Numerical minimum-norm interpolation: networks with ``f_theta(X) = Y`` and small ``||theta||^2``.

This is the upper-bound route of :func:`cbntheory.minimal_norm` wherever no closed
form or convex program applies (filters of ``k`` taps, deep networks with biases,
ReLU networks).  It poses

    minimise ``sum_l ||W_l||_F^2 (+ sum_l ||b_l||^2)``  subject to  ``f_theta(x_i) = y_i``

over the flat parameter vector of :class:`~cbntheory.nets.network.Network` and hands it to
the augmented-Lagrangian minimiser :func:`cbntheory.solvers.augmented.minimize_norm_subject_to`
(L-BFGS-B inner solves).  Three pieces live here:

* the constraint ``theta -> (r, v -> J^T v)`` with the relative residual
  ``r = (f_theta(X) - Y) / ||Y||``: :func:`network_constraint` uses the network
  engine's reverse pass (any architecture); :class:`SpectralConstraint` is the same
  map for linear networks without biases, computed directly on the kernel spectra
  (one FFT of all kernels, products of small blocks per frequency) and about ten
  times cheaper;
* initialisations (:func:`initial_vector`): Gaussian (``Architecture.init``) or
  *orthogonal* (random unitary blocks per frequency for full-size filters, a random
  orthogonal matrix on the centre tap for ``k``-tap filters), rescaled so that the
  network's outputs have the norm of ``Y``;
* restarts with recorded seeds (:func:`interpolate`).

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (1, 2, 1), activation="linear", bias=False)
>>> X = np.random.default_rng(0).standard_normal((3, 1, 6))
>>> Y = np.roll(X, 1, axis=-1)                      # the shift by one pixel
>>> out = interpolate(arch, X, Y, rng=0)
>>> bool(np.linalg.norm(out.network(X) - Y) <= 1e-6 * np.linalg.norm(Y))
True
>>> shift = cbn.ConvOperator.from_kernel(np.sqrt(6) * np.eye(6)[1].reshape(1, 1, 6))
>>> bool(abs(out.network.param_norm() - cbn.linear_cost(shift, 2).value) < 1e-6)   # T1-data
True
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from .augmented import ConstrainedResult, minimize_norm_subject_to
from .orthogonal import orthogonal_full, orthogonal_taps

__all__ = ["Interpolation", "SpectralConstraint", "initial_vector", "interpolate",
           "network_constraint"]

INITS = ("auto", "orthogonal", "gaussian")


def is_plain_linear(arch: Architecture) -> bool:
    """Linear, no biases, no head, no resampling: the end-to-end map is one convolution."""
    return (arch.activation == "linear" and not arch.bias and arch.head is None
            and all(r == 1 for r in arch.resample))  # type: ignore[union-attr]


def _spectrum(z: np.ndarray, ndim: int) -> np.ndarray:
    """``(N, C, *spatial)`` -> half spectrum ``(*half, C, N)`` (contiguous)."""
    zh = np.fft.rfftn(z, axes=fourier.spatial_axes(ndim))
    return np.ascontiguousarray(np.moveaxis(zh, (0, 1), (-1, -2)))


def network_constraint(arch: Architecture, X: np.ndarray, Y: np.ndarray
                       ) -> Callable[[np.ndarray], tuple[np.ndarray, Callable[..., np.ndarray]]]:
    """Residual ``(f_theta(X) - Y) / ||Y||`` and its vector-Jacobian product (network engine).

    Parameters
    ----------
    arch : Architecture
    X : ndarray, shape (N, n_0, *spatial)
    Y : ndarray, shape (N, *arch.output_shape)

    Returns
    -------
    callable
        ``theta -> (r, vjp)`` with ``r`` flat and ``vjp(v) = J^T v`` of shape ``(n_free,)``.
    """
    scale = float(np.linalg.norm(Y)) or 1.0

    def constraint(theta: np.ndarray) -> tuple[np.ndarray, Callable[..., np.ndarray]]:
        net = Network.from_vector(arch, theta)
        out, backward = net.pullback(X)
        r = ((out - Y) / scale).ravel()
        return r, lambda v: backward(np.reshape(v, out.shape) / scale)

    return constraint


class SpectralConstraint:
    """The residual of :func:`network_constraint` for a linear bias-free network, per frequency.

    With blocks ``B_l[m] = c * rfftn(W_l)[m]`` the network maps ``xhat_i[m]`` to
    ``P_m xhat_i[m]`` with ``P_m = B_L[m] ... B_1[m]``.  The residual is the real view
    of ``sqrt(w_m) (P_m X_m - Y_m) / ||Yhat||`` over the ``rfftn`` half spectrum with
    multiplicities ``w_m``; its Euclidean norm is the relative residual of
    :func:`network_constraint` (Parseval), and the two constraints have the same zeros.

    Parameters
    ----------
    arch : Architecture
        Must satisfy :func:`is_plain_linear`.
    X, Y : ndarray
        Data ``(N, n_0, *spatial)`` and ``(N, n_L, *spatial)``.

    Notes
    -----
    Reverse pass: for the cotangent ``G_m`` of ``P_m X_m`` the block gradient of layer
    ``l`` is ``H_m = S_m^H G_m R_m^H`` (``S``: the layers after ``l``, ``R``: before,
    applied to ``X``), and the kernel gradient is ``c d irfftn(H)`` restricted to the
    window, because ``B = c rfftn(W)`` is, up to the factor ``c d``, adjoint to
    ``irfftn`` on Hermitian spectra.
    """

    def __init__(self, arch: Architecture, X: np.ndarray, Y: np.ndarray) -> None:
        if not is_plain_linear(arch):
            raise V.fail("arch", "be linear without biases, head or resampling", arch)
        self.arch = arch
        self.shape = arch.spatial_shape
        nd = len(self.shape)
        self.axes = tuple(range(2, 2 + nd))
        self.c = arch.constants[0]
        self.d = fourier.spatial_size(self.shape)
        w = fourier.half_spectrum_weights(self.shape)[..., None, None]
        self.sw = np.sqrt(w)
        self.Xh = _spectrum(X, nd)
        self.Yh = _spectrum(Y, nd)
        self.scale = float(np.sqrt(np.sum(w * np.abs(self.Yh) ** 2))) or 1.0
        self.index = [np.flatnonzero(m) for m in arch.windows]
        self.slices = [sl for _, sl in arch.vector_layout]

    def kernels(self, theta: np.ndarray) -> list[np.ndarray]:
        """Full-size kernels of the flat vector (zeros outside the window)."""
        out = []
        ch = self.arch.channels
        for l, sl in enumerate(self.slices):
            w = np.zeros((ch[l + 1], ch[l], self.d))
            w[:, :, self.index[l]] = theta[sl].reshape(ch[l + 1], ch[l], -1)
            out.append(w.reshape((ch[l + 1], ch[l]) + self.shape))
        return out

    def __call__(self, theta: np.ndarray) -> tuple[np.ndarray, Callable[..., np.ndarray]]:
        blocks = [np.moveaxis(np.fft.rfftn(k, axes=self.axes), (0, 1), (-2, -1)) * self.c
                  for k in self.kernels(theta)]
        chain = [self.Xh]
        for B in blocks:
            chain.append(B @ chain[-1])
        res = np.ascontiguousarray((chain[-1] - self.Yh) * (self.sw / self.scale))
        r = res.view(np.float64).ravel()

        def vjp(v: np.ndarray) -> np.ndarray:
            G = np.ascontiguousarray(v).view(np.complex128).reshape(res.shape)
            G = G / (self.sw * self.scale)
            grad = np.empty(self.arch.n_free)
            for l in range(len(blocks) - 1, -1, -1):
                H = G @ np.conj(np.swapaxes(chain[l], -1, -2))
                gk = np.fft.irfftn(np.moveaxis(H, (-2, -1), (0, 1)), s=self.shape,
                                   axes=self.axes) * (self.c * self.d)
                grad[self.slices[l]] = gk.reshape(gk.shape[:2] + (-1,))[:, :, self.index[l]].ravel()
                if l > 0:
                    G = np.conj(np.swapaxes(blocks[l], -1, -2)) @ G
            return grad

        return r, vjp


# ------------------------------------------------------------------ initialisation
def initial_vector(arch: Architecture, rng: np.random.Generator, *, init: str = "auto",
                   reference: np.ndarray | None = None) -> np.ndarray:
    """A random starting point of the flat parameter vector.

    Parameters
    ----------
    arch : Architecture
    rng : numpy.random.Generator
    init : {"auto", "orthogonal", "gaussian"}
        "gaussian": :meth:`Architecture.init`.  "orthogonal" (linear networks without
        head or resampling): full-size filters get Haar-random unitary blocks at every
        frequency (real orthogonal at self-conjugate ones, conjugate pairs matched so
        the kernels are real); ``k``-tap filters a random orthogonal matrix on the
        centre tap.  "auto": orthogonal where it applies, else Gaussian.
    reference : ndarray, shape (*spatial, n_L, n_0), optional
        Blocks of a map the network should reach.  When all widths are equal, the
        orthogonal initialisation matches the sign of ``det`` of the reference at the
        real frequencies (0 and ``d/2``): a product of real invertible blocks cannot
        change that sign without passing through a singular block, where the
        minimisation would stall.

    Returns
    -------
    ndarray, shape (arch.n_free,)
        Biases zero.
    """
    if init not in INITS:
        raise V.fail("init", f"be one of {INITS}", init)
    plain = (arch.activation == "linear" and arch.head is None
             and all(r == 1 for r in arch.resample))  # type: ignore[union-attr]
    if init == "orthogonal" and not plain:
        raise V.fail("init", "be 'gaussian' or 'auto' for this architecture (orthogonal "
                     "initialisation needs a linear network without head or resampling)", init)
    if init == "gaussian" or not plain:
        return arch.init(rng=rng).to_vector()
    square = len(set(arch.channels)) == 1
    ref = reference if square else None
    full = arch.kernel_size is None or all(bool(np.all(w)) for w in arch.windows)
    kernels = (orthogonal_full if full else orthogonal_taps)(arch, rng, ref)
    biases = [np.zeros(s) for s in arch.bias_shapes]
    return Network(arch, kernels, biases).to_vector()


def _rescale(arch: Architecture, theta: np.ndarray, constraint: Callable[..., Any]) -> np.ndarray:
    """Scale the kernels so that ``||f_theta(X)|| = ||Y||`` (homogeneity in the kernels)."""
    r_theta, _ = constraint(theta)
    r_zero, _ = constraint(np.zeros_like(theta))
    ratio = float(np.linalg.norm(r_theta - r_zero))  # ||f_theta(X) - f_0(X)|| / ||Y||
    if not np.isfinite(ratio) or ratio <= 0:
        return theta
    out = theta.copy()
    factor = ratio ** (-1.0 / arch.depth)
    for name, sl in arch.vector_layout:
        if name.startswith("kernels"):
            out[sl] *= factor
    return out


# ------------------------------------------------------------------ restarts
@dataclasses.dataclass(frozen=True)
class Interpolation:
    """Best network over the restarts of :func:`interpolate`, with every run's record.

    Attributes
    ----------
    network : Network
        Lowest-norm network among the runs that met the feasibility target (or, if none
        did, the one with the smallest residual); its ``seed`` is that run's seed.
    result : ConstrainedResult
        The optimiser's record of that run.
    runs : tuple of dict
        Per restart: ``seed``, ``objective``, ``residual``, ``status``, ``iterations``,
        ``wall_time``, ``message``.
    solver : str
        Name of the method.
    options : dict
        Options used.
    wall_time : float
    """

    network: Network
    result: ConstrainedResult
    runs: tuple[dict[str, Any], ...]
    solver: str
    options: dict[str, Any]
    wall_time: float


def interpolate(arch: Architecture, X: np.ndarray, Y: np.ndarray, *, rng: Any = 0,
                restarts: int = 1, tol: float = settings.FIT_RTOL, init: str = "auto",
                reference: np.ndarray | None = None, time_limit: float | None = None,
                max_iter: int = settings.AL_MAX_ITER, penalty_ratio: float = settings.AL_RHO,
                extra_starts: int = 3) -> Interpolation:
    """Small-norm network with ``f_theta(X) = Y``: augmented Lagrangian from random starts.

    Parameters
    ----------
    arch : Architecture
    X : ndarray, shape (N, n_0, *spatial)
    Y : ndarray, shape (N, *arch.output_shape)
    rng : int, Generator or None
        Master seed; restart ``j`` uses the ``j``-th child of its ``SeedSequence``.
    restarts : int
        Number of independent starts.
    tol : float
        Relative residual the returned network must reach; the optimiser aims at
        ``tol * settings.AL_FEAS_FACTOR``.
    init : {"auto", "orthogonal", "gaussian"}
        See :func:`initial_vector`.
    reference : ndarray, optional
        Reference blocks for the orthogonal initialisation (see :func:`initial_vector`).
    time_limit : float, optional
        Seconds for all restarts together.
    max_iter : int
        L-BFGS-B iteration budget per restart.
    penalty_ratio : float
        Initial penalty ``mu = penalty_ratio * max(1, ||theta||^2)`` after the fit phase.
    extra_starts : int
        When none of the ``restarts`` starts reaches ``tol`` (the fit can stall at a
        degenerate saddle or, with ``k`` taps, a spurious local minimum), up to this many
        further starts are tried, one at a time, until one does.

    Returns
    -------
    Interpolation
    """
    gen, seed = V.rng_seed(rng)
    restarts = V.positive_int("restarts", restarts)
    if seed is None:
        seed = int(gen.integers(2**31))
    extra_starts = V.positive_int("extra_starts", extra_starts, minimum=0)
    children = np.random.SeedSequence(seed).spawn(restarts + extra_starts)
    fast = is_plain_linear(arch)
    constraint = SpectralConstraint(arch, X, Y) if fast else network_constraint(arch, X, Y)
    weights = arch.penalty_mask().astype(float)
    start = time.perf_counter()
    runs: list[dict[str, Any]] = []
    best: tuple[tuple[int, float], np.ndarray, ConstrainedResult, int] | None = None
    feas = tol * settings.AL_FEAS_FACTOR
    for j, child in enumerate(children):
        if j >= restarts and best is not None and best[0][0] == 0:
            break  # the extra starts are only for when no start reached tol
        run_seed = int(child.generate_state(1)[0] % (2**31))
        left = None if time_limit is None else time_limit - (time.perf_counter() - start)
        if left is not None and left <= 0 and best is not None:
            break
        theta0 = initial_vector(arch, np.random.default_rng(run_seed), init=init,
                                reference=reference)
        theta0 = _rescale(arch, theta0, constraint)
        res = minimize_norm_subject_to(constraint, theta0, weights=weights, feas_tol=feas,
                                       obj_rtol=settings.AL_OBJ_RTOL, rho=penalty_ratio,
                                       max_iter=max_iter, time_limit=left,
                                       rng=run_seed, accept_tol=0.5 * tol)
        runs.append({"seed": run_seed, "objective": res.objective, "residual": res.residual,
                     "status": res.status, "iterations": res.n_iterations,
                     "wall_time": res.wall_time, "message": res.message})
        key = (0 if res.residual <= tol else 1,
               res.objective if res.residual <= tol else res.residual)
        if best is None or key < best[0]:
            best = (key, res.x, res, run_seed)
        if res.interrupted:
            break
    assert best is not None
    _, x, res, run_seed = best
    net = Network.from_vector(arch, x, seed=run_seed)
    options = {"restarts": restarts, "extra_starts": extra_starts, "init": init, "tol": tol,
               "feas_tol": feas,
               "max_iter": max_iter, "penalty_ratio": penalty_ratio,
               "time_limit": time_limit, "constraint": "spectral" if fast else "engine"}
    return Interpolation(network=net, result=res, runs=tuple(runs),
                         solver="augmented Lagrangian + L-BFGS-B (scipy)", options=options,
                         wall_time=time.perf_counter() - start)
