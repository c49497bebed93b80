"""Certified lower bounds of the minimal norm on finite data, from Lipschitz constants.

On finite data a network is free between the samples, so the Jacobian bound (T2) does
not apply; but any interpolating network must be at least as steep as the data:
``||f_theta(x_i) - f_theta(x_j)|| <= Lip(f_theta) ||x_i - x_j||``.  A ReLU is
1-Lipschitz, biases cancel in differences, down-sampling and zero-insertion
up-sampling have operator norm 1, the average pool over ``d'`` pixels has operator norm
``1/sqrt(d')``, and a convolution's operator norm is at most its Frobenius norm
``sqrt(d_l) c_l ||W_l||_F``.  With ``Lambda = max_{i != j} ||y_i - y_j|| / ||x_i - x_j||``
and the arithmetic-geometric mean inequality over the ``L`` layers,

    ||theta||^2 >= sum_l ||W_l||_F^2 >= L (gamma Lambda^2)^{1/L},
    gamma = prod_{conv l} 1/(d_l c_l^2)  [ x d' with the avgpool head ],

so ``R(f; Omega, L) / L >= (gamma Lambda^2)^{1/L} -> 1/(d c^2)``, the factor of one
middle layer.  With the operator normalisation ``d_l c_l^2 = 1``: every non-constant
target has ``R0 >= 1`` (the rank-one case of T2's ``R0 >= Rank_J``) and
``R(f; Omega, L) - L >= log(gamma Lambda^2)`` (from ``e^t >= 1 + t``); with the plain
normalisation only ``R0 >= 1/d``.  ``gamma`` is a product of inverse factors
``1/(d_l c_l^2)``, the opposite kind of constant to T2's ``kappa = max_l d_l c_l^2``
(:mod:`cbntheory.theory.bounds`); it is the field ``gamma`` of :class:`LipschitzBound`
(``kappa`` is kept as its former name).

Approximate fits: the object ``R_eps``.  When the networks asked for only need
``||f_theta(x_i) - y_i|| <= eps`` at every sample (an absolute, per-sample tolerance),
the triangle inequality gives

    ||f_theta(x_i) - f_theta(x_j)|| >= ||y_i - y_j|| - ||f_theta(x_i) - y_i||
                                       - ||f_theta(x_j) - y_j|| >= ||y_i - y_j|| - 2 eps,

so every such network is at least ``Lambda_eps``-steep, with
``Lambda_eps = max_{i != j} (||y_i - y_j|| - 2 eps)_+ / ||x_i - x_j||``, and the same chain
of inequalities gives ``R_eps(f; Omega, L) >= L (gamma Lambda_eps^2)^{1/L}``
(``eps = 0`` is exact interpolation).  A relative residual ``rho`` in the sense of
:func:`cbntheory.results.relative_residual` bounds every sample's error by
``eps = rho ||Y||_F``, so ``eps = rho ||Y||_F`` makes the bound hold for every network
that fits to ``rho``.  Without the slack the exact bound can exceed the norm of a network
that fits only approximately: the two would not be bounds of one object.

Examples
--------
All shifts of a bump with ``f = id`` have ``Lambda = 1``, so ``R >= L``:

>>> import cbntheory as cbn
>>> t = cbn.targets.get("shift_autoencoder_1d")
>>> X, Y = t.data()
>>> b = lipschitz_lower_bound(t.architecture(5), X, Y)
>>> bool(np.isclose(b.lipschitz, 1.0)), bool(np.isclose(b.value, 5.0))
(True, True)
>>> bool(b.value <= t.construction(5).norm)
True
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier
from ..errors import InfeasibleError
from ..nets.architecture import Architecture


@dataclasses.dataclass(frozen=True)
class LipschitzBound:
    """``R(f; Omega, L) >= L (gamma Lambda^2)^{1/L}`` for one architecture and data set.

    Attributes
    ----------
    value : float
        The certified lower bound ``L (gamma Lambda^2)^{1/L}`` of ``||theta||^2``.
    lipschitz : float
        ``Lambda``, the largest difference quotient of the data.
    pair : tuple of int
        The two samples attaining it.
    gamma : float
        ``gamma = prod_conv 1/(d_l c_l^2)`` (times ``d'`` with the head): the architecture's
        constant, 1 without head under the operator normalisation.  It underflows to 0 for
        deep plain-normalised networks (beyond about 285 layers of 12 pixels): ``value``
        and :attr:`r1_bound` are computed from ``log_gamma``, which never does.
    log_gamma : float
        ``log gamma``, summed layer by layer.
    depth : int
        ``L``.
    eps : float
        Per-sample tolerance of the object (0: exact interpolation; else ``R_eps`` and
        ``lipschitz`` is ``Lambda_eps``).
    """

    value: float
    lipschitz: float
    pair: tuple[int, int]
    gamma: float
    log_gamma: float
    depth: int
    eps: float = 0.0

    @property
    def kappa(self) -> float:
        """The former name of :attr:`gamma` (kept for old scripts; it is not T2's ``kappa``)."""
        return self.gamma

    @property
    def r1_bound(self) -> float:
        """``log(gamma Lambda^2)``: a certified lower bound of ``R(f; Omega, L) - L``."""
        if self.lipschitz <= 0:
            return -np.inf
        return self.log_gamma + 2.0 * float(np.log(self.lipschitz))


def lipschitz_constant(X: Any, Y: Any, eps: float = 0.0) -> tuple[float, tuple[int, int]]:
    """``max_{i != j} (||y_i - y_j|| - 2 eps)_+ / ||x_i - x_j||`` over the samples, and the pair.

    ``eps`` is an absolute per-sample tolerance (0: exact interpolation); see the module
    docstring for why ``2 eps`` is the slack.

    Raises
    ------
    InfeasibleError
        If two equal inputs have outputs further apart than ``2 eps`` (no function fits
        them).

    Examples
    --------
    >>> X, Y = np.array([[0.0], [2.0]]), np.array([[0.0], [3.0]])
    >>> lipschitz_constant(X, Y)[0], lipschitz_constant(X, Y, eps=0.5)[0]
    (1.5, 1.0)
    """
    eps = float(eps)
    if not (np.isfinite(eps) and eps >= 0):
        raise V.fail("eps", "be a finite number >= 0 (a per-sample tolerance)", eps)
    Xf = V.real_array("X", X).reshape(len(X), -1)
    Yf = V.real_array("Y", Y).reshape(len(Y), -1)
    if len(Xf) != len(Yf):
        raise V.fail("Y", f"have one row per input ({len(Xf)})", Y)
    dx = np.sqrt(np.maximum(((Xf[:, None] - Xf[None]) ** 2).sum(-1), 0.0))
    dy = np.sqrt(np.maximum(((Yf[:, None] - Yf[None]) ** 2).sum(-1), 0.0))
    off = ~np.eye(len(Xf), dtype=bool)
    dy = np.maximum(dy - 2.0 * eps, 0.0)
    clash = off & (dx == 0) & (dy > 0)
    if clash.any():
        i, j = np.argwhere(clash)[0]
        raise InfeasibleError(f"data must give equal outputs for equal inputs (to 2 eps = "
                              f"{2 * eps:g}); samples {i} and {j} are equal inputs with "
                              "different outputs")
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(off & (dx > 0), dy / np.where(dx > 0, dx, 1.0), 0.0)
    i, j = np.unravel_index(int(np.argmax(q)), q.shape)
    return float(q[i, j]), (int(i), int(j))


def lipschitz_lower_bound(arch: Architecture, X: Any, Y: Any,
                          eps: float = 0.0) -> LipschitzBound:
    """Certified lower bound ``L (gamma Lambda^2)^{1/L}`` of ``R(f; Omega, L)`` (or ``R_eps``).

    Parameters
    ----------
    arch : Architecture
        Any architecture (ReLU or linear, biases, resampling, avgpool head).
    X : array_like, shape (N, n_0, *spatial)
    Y : array_like, shape (N, *output_shape)
    eps : float
        Per-sample tolerance: 0 (default) bounds exact interpolation; ``eps > 0`` bounds
        ``R_eps``, the least norm of networks within ``eps`` of every sample, with
        ``Lambda_eps`` (the ``2 eps`` slack of the module docstring).

    Returns
    -------
    LipschitzBound

    Notes
    -----
    See the module docstring for the derivation; ``gamma = prod_conv 1/(d_l c_l^2)``
    times ``d'`` (pixels entering the pool) with the avgpool head.  The bound holds for
    every network of the architecture that interpolates the data, whatever its width.

    References
    ----------
    [WJ2024] Y. Wen, A. Jacot, Which frequencies do CNNs need? ICML 2024 (T2 is the
    pointwise, Jacobian version of this bound).
    """
    if not isinstance(arch, Architecture):
        raise V.fail("arch", "be a cbntheory.Architecture", arch)
    lam, pair = lipschitz_constant(X, Y, eps)
    # in logs: the product of 1/(d_l c_l^2) underflows for deep plain-normalised networks
    factors = [fourier.cost_factor(arch.normalization, s) for s in arch.layer_shapes]
    if arch.head == "avgpool":
        factors.append(float(np.prod(arch.layer_shapes[-1])))
    gamma = float(np.prod(factors))
    log_gamma = float(np.sum(np.log(factors)))
    L = arch.depth
    value = L * float(np.exp((log_gamma + 2.0 * np.log(lam)) / L)) if lam > 0 else 0.0
    return LipschitzBound(value=value, lipschitz=lam, pair=pair, gamma=gamma, log_gamma=log_gamma,
                          depth=L, eps=float(eps))
