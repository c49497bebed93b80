"""Exact finishing: make a fitted network reproduce the data to round-off, its cost included.

The numerical route stops when ``||f_theta(X) - Y|| <= tol ||Y||`` (``tol = 1e-6`` by
default), while every certified lower bound is about networks that reproduce the data
*exactly*.  An upper bound from an inexact fit bounds a different object and can fall
below the exact minimum.  :func:`finish_exactly` closes the gap: the network's last layer
is linear in its parameters given the penultimate activations ``a = a_{L-1}(x_i)``
(after resampling), so the correction ``(dW, db)`` of least norm with

    ``(W + dW) * a_i + b + db = y_i``  for every sample ``i``

is a least-norm linear problem: per frequency for a convolutional last layer (reusing
:func:`cbntheory.solvers.affine.least_norm_layer` on the residuals ``r_i = y_i - f(x_i)``,
with the bias on frequency 0, penalised, free or absent), dense for the ``"avgpool"``
head (the pooled features times the dense weight).  The other layers are kept; the
norm is recomputed with the correction included.  When the penultimate features do not
span what the residual needs, the correction cannot reach round-off: the network is
kept unchanged and the record says so.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (1, 4, 1))
>>> net = arch.init(rng=0)
>>> X = np.random.default_rng(1).standard_normal((3, 1, 6))
>>> Y = net(X) * (1 + 1e-6)                       # a fit to a relative residual 1e-6
>>> fit = finish_exactly(net, X, Y)
>>> fit.exact, bool(fit.residual <= 1e-12), bool(abs(fit.norm - fit.norm_before) < 1e-4)
(True, True, True)
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .. import fourier, settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..results import relative_residual
from ..theory.linear_data import contrasts
from .affine import least_norm_layer
from .problem import Candidate, Problem

__all__ = ["ExactFit", "finish_candidate", "finish_exactly", "penultimate"]


@dataclasses.dataclass(frozen=True)
class ExactFit:
    """A network after the last-layer finishing, with the record of what changed.

    Attributes
    ----------
    network : Network
        The finished network when ``exact``, else the input network unchanged.
    exact : bool
        The finished network reproduces the data to ``settings.EXACT_FIT_RTOL``.
    residual, residual_before : float
        Relative residual of ``network`` (recomputed by its forward pass) and of the input.
    norm, norm_before : float
        ``param_norm()`` of ``network`` and of the input.
    reached : float
        Residual the correction reached (equal to ``residual`` when ``exact``).
    """

    network: Network
    exact: bool
    residual: float
    residual_before: float
    norm: float
    norm_before: float
    reached: float

    def describe(self) -> str:
        """One clause for a candidate's ``how``."""
        if self.exact:
            return (f"last layer finished exactly (least-norm correction: residual "
                    f"{self.residual_before:.1e} -> {self.residual:.1e}, norm "
                    f"{self.norm_before:.10g} -> {self.norm:.10g})")
        return (f"last-layer finishing could not make the fit exact (the penultimate features "
                f"do not span the residual: {self.residual_before:.1e} -> {self.reached:.1e} "
                f"> {settings.EXACT_FIT_RTOL:.0e}); network kept as fitted")


def penultimate(net: Network, X: np.ndarray) -> np.ndarray:
    """Inputs of the last layer: ``a_{L-1}`` after its resampling (``X`` itself at depth 1)."""
    arch = net.architecture
    if arch.depth == 1:
        return np.asarray(X, dtype=float)
    a = net.activations(X)[-1]
    r = arch.resample[-1]  # type: ignore[index]
    lead = (slice(None), slice(None))
    if r > 1:
        return np.ascontiguousarray(a[lead + (slice(None, None, r),) * arch.ndim])
    if r < -1:
        out = np.zeros(a.shape[:2] + tuple(n * -r for n in a.shape[2:]))
        out[lead + (slice(None, None, -r),) * arch.ndim] = a
        return out
    return a


def _dense_correction(arch: Architecture, P: np.ndarray, R: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Least-norm ``(dW, db)`` with ``P dW^T + db = R`` (rows are samples)."""
    db = np.zeros(R.shape[1])
    if not arch.bias:
        return (np.linalg.pinv(P) @ R).T, db
    if arch.penalize_bias:
        full = np.linalg.pinv(np.hstack([P, np.ones((P.shape[0], 1))])) @ R
        return full[:-1].T, full[-1]
    dW = (np.linalg.pinv(contrasts(P, axis=0)) @ contrasts(R, axis=0)).T
    return dW, R.mean(axis=0) - dW @ P.mean(axis=0)


def _correction(net: Network, X: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    arch = net.architecture
    feats = penultimate(net, X)
    if arch.head == "avgpool":
        pooled = feats.mean(axis=fourier.spatial_axes(arch.ndim))
        return _dense_correction(arch, pooled, R)
    layer = Architecture(arch.layer_shapes[-1], arch.channels[-2:],
                         kernel_size=arch.kernel_size, activation=arch.activation,
                         bias=arch.bias, penalize_bias=arch.penalize_bias,
                         normalization=arch.normalization)
    dW, db, _, _ = least_norm_layer(layer, feats, R)
    return dW, db


def finish_exactly(net: Network, X: np.ndarray, Y: np.ndarray) -> ExactFit:
    """Least-norm correction of the last layer so that ``net`` reproduces ``(X, Y)`` exactly.

    Parameters
    ----------
    net : Network
        A network that fits the data approximately.
    X, Y : ndarray
        Data of shapes ``(N, n_0, *spatial)`` and ``(N, *output_shape)``.

    Returns
    -------
    ExactFit
        The finished network (other layers unchanged, the last layer's weights and bias
        corrected) when its recomputed residual is at most
        :data:`cbntheory.settings.EXACT_FIT_RTOL`; else ``net`` itself, with the residual
        the correction reached.  A network already within ``EXACT_FIT_RTOL`` is returned
        unchanged (``exact=True``).
    """
    arch = net.architecture
    out = net(X)
    before, norm_before = relative_residual(out, Y), net.param_norm()
    # already exact to round-off: a correction would only fit the round-off, through the
    # smallest singular values of the features, and can move the norm by O(1)
    if before <= settings.EXACT_FIT_RTOL or not np.isfinite(before):
        return ExactFit(network=net, exact=bool(before <= settings.EXACT_FIT_RTOL),
                        residual=before,
                        residual_before=before, norm=norm_before, norm_before=norm_before,
                        reached=before)
    dW, db = _correction(net, X, Y - out)
    kernels, biases = net.kernels, net.biases
    kernels[-1] = kernels[-1] + dW
    if arch.bias:
        biases[-1] = biases[-1] + db
    finished = Network(arch, kernels, biases, seed=net.seed)
    after = relative_residual(finished(X), Y)
    if after <= settings.EXACT_FIT_RTOL:
        return ExactFit(network=finished, exact=True, residual=after, residual_before=before,
                        norm=finished.param_norm(), norm_before=norm_before, reached=after)
    return ExactFit(network=net, exact=False, residual=before, residual_before=before,
                    norm=norm_before, norm_before=norm_before, reached=after)


def finish_candidate(problem: Problem, cand: Candidate) -> Candidate:
    """``cand`` with its network finished exactly on the data (see :func:`finish_exactly`).

    The candidate's ``how`` says what the finishing did and ``info["exact_fit"]`` records
    it; a candidate that cannot be finished keeps its network.  Only networks that already
    fit to ``problem.tol`` are finished: a failed search stays a failure (its closest
    network is reported as such), it is not turned into a fit by the last layer alone.
    """
    if not relative_residual(cand.network(problem.X), problem.Y) <= problem.tol:
        return cand
    fit = finish_exactly(cand.network, problem.X, problem.Y)
    record = {"exact": fit.exact, "residual_before": fit.residual_before,
              "residual": fit.residual, "norm_before": fit.norm_before, "norm": fit.norm,
              "reached": fit.reached}
    claimed = None if cand.claimed is None else cand.claimed + fit.norm - fit.norm_before
    return dataclasses.replace(cand, network=fit.network, how=f"{cand.how}; {fit.describe()}",
                               claimed=claimed, info={**cand.info, "exact_fit": record})
