"""Depth continuation: a network of depth ``L + 1`` from one of depth ``L``, with its cost.

A hidden layer's activations ``a_l(x) >= 0`` (after the ReLU) span, at every frequency
``m``, a subspace of dimension ``k_m(a_l)`` of ``C^{n_l}`` over the samples.  The
convolution whose block at ``m`` is the orthogonal projector onto that subspace fixes
every ``a_l(x)``, so the ReLU after it passes them unchanged: inserted after layer ``l``
it gives a network of depth ``L + 1`` with the same outputs on the samples.  Its kernel
costs ``sum_m ||P_m||_F^2 / (d c^2) = sum_m k_m(a_l) / (d c^2)`` (``sum_m k_m`` with the
operator normalisation).  Hence the certificate

    R_up(L + 1) <= R_up(L) + min_l sum_m k_m(a_l) / (d c^2),

which a rebalancing (:func:`cbntheory.solvers.starts.rebalance`, never increasing the
norm) and an optimisation from that network can only improve.  Before an average-pool
head only the mean of each channel is read, so the layer inserted there projects at
frequency 0 alone (the activations become their spatial means, still non-negative,
with the same pool): its cost is ``k_0(a_l)``.  Non-negative inputs (images) pass a
ReLU too, so a projection onto the span of the inputs can also go first (``l = 0``):
this deepens even a one-layer network.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (1, 3, 3, 1))
>>> net = arch.init(rng=0)
>>> X = np.random.default_rng(1).standard_normal((4, 1, 6))
>>> step = deepen(net, X)
>>> step.network.architecture.depth, bool(np.allclose(step.network(X), net(X)))
(4, True)
>>> bool(step.network.param_norm() <= net.param_norm() + step.cost + 1e-9)
True
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from .starts import embed, rebalance

__all__ = ["Insertion", "deepen", "insert_projection", "span_projector"]


@dataclasses.dataclass(frozen=True)
class Insertion:
    """A network one layer deeper with the same outputs on the samples, and its cost.

    Attributes
    ----------
    network : Network
        Depth ``L + 1``: the input network with a projection layer inserted (and, from
        :func:`deepen`, rebalanced and written in the requested architecture).
    position : int
        ``l``: the projection acts on the activations of hidden layer ``l`` (``1 <= l <=
        L - 1``; ``0``: the inputs, when they are non-negative) and becomes layer ``l + 1``.
    cbn_vector : ndarray of int, shape spatial_l
        ``k_m(a_l)``: dimension of the span of the activations at every frequency.
    cost : float
        Parameter norm of the inserted layer, ``sum_m k_m / (d c^2)``.
    base_norm : float
        Parameter norm of the input network.
    bound : float
        ``base_norm + cost``: the certified ``R_up(L + 1)`` before rebalancing (the
        network's own norm is at most this).
    """

    network: Network
    position: int
    cbn_vector: np.ndarray
    cost: float
    base_norm: float
    bound: float


def span_projector(acts: np.ndarray, ndim: int, *, mean_only: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per-frequency orthogonal projectors onto the span of activations over the samples.

    Parameters
    ----------
    acts : ndarray, shape (N, n, *spatial)
        Activations of one hidden layer on the samples.
    ndim : int
        Number of spatial axes.
    mean_only : bool
        Project at frequency 0 only (zero blocks elsewhere).

    Returns
    -------
    blocks : ndarray, complex, shape (*spatial, n, n)
        ``P_m``, conjugate-symmetric (``P_{-m} = conj(P_m)``), so a real kernel has them.
    k : ndarray of int, shape spatial
        Their ranks: singular values above :data:`cbntheory.settings.DATA_RANK_RTOL` times
        the largest one (over all frequencies) count.

    Examples
    --------
    >>> a = np.abs(np.random.default_rng(0).standard_normal((5, 2, 4)))
    >>> P, k = span_projector(a, 1)
    >>> ahat = np.fft.fft(a, axis=-1)
    >>> bool(np.allclose(np.einsum("mij,njm->nim", P, ahat), ahat)), int(k.sum())
    (True, 8)
    """
    axes = tuple(range(2, 2 + ndim))
    ahat = np.moveaxis(np.fft.fftn(acts, axes=axes), (0, 1), (-2, -1))  # (*spatial, N, n)
    shape, n = ahat.shape[:ndim], acts.shape[1]
    blocks = np.zeros(shape + (n, n), dtype=complex)
    k = np.zeros(shape, dtype=int)
    svds = {m: np.linalg.svd(ahat[m], full_matrices=False) for m in np.ndindex(*shape)
            if not mean_only or not any(m)}
    top = max((float(s[0]) for _, s, _ in svds.values() if s.size), default=0.0)
    for m, (_, s, vh) in svds.items():
        r = int(np.sum(s > settings.DATA_RANK_RTOL * top)) if top > 0 else 0
        v = vh[:r].conj().T  # orthonormal basis of the row span, columns in C^n
        blocks[m] = v @ v.conj().T
        k[m] = r
    return blocks, k


def _deeper(arch: Architecture, position: int) -> Architecture:
    """``arch`` (without resampling) with one more layer of width ``n_l`` after layer ``l``."""
    n = arch.channels
    return dataclasses.replace(arch, channels=n[:position + 1] + (n[position],)
                               + n[position + 1:], resample=None)


def insert_projection(net: Network, X: np.ndarray, position: int) -> Insertion:
    """Insert the projection onto the span of hidden layer ``position``'s activations.

    Parameters
    ----------
    net : Network
        ReLU network, full-size filters (the projector has every tap), no resampling.
    X : ndarray, shape (N, n_0, *spatial)
        The samples on which the outputs are kept.
    position : int
        ``1 <= position <= L - 1`` (a hidden layer), or ``0`` when ``X >= 0``.

    Returns
    -------
    Insertion
        Not rebalanced: ``network.param_norm() == base_norm + cost`` up to round-off.

    Raises
    ------
    ValidationError
        Linear activation, windowed filters, resampling, or a bad position.
    """
    arch = net.architecture
    if arch.activation != "relu" or arch.kernel_size is not None:
        raise V.fail("net", "be a ReLU network with full-size filters (the projector needs "
                     "every tap)", arch)
    if any(r != 1 for r in arch.resample):  # type: ignore[union-attr]
        raise V.fail("net", "have no resampling", arch.resample)
    V.positive_int("position", position, minimum=0)
    if not 0 <= position <= arch.depth - 1:
        raise V.fail("position", f"lie in 0..{arch.depth - 1} (a hidden layer, or the inputs)",
                     position)
    if position == 0 and not np.all(np.asarray(X) >= 0):
        raise V.fail("position", "be >= 1 unless the inputs are non-negative (a ReLU "
                     "after the projection must pass them)", position)
    acts = np.asarray(X, dtype=float) if position == 0 else net.activations(X)[position - 1]
    head_next = arch.head == "avgpool" and position == arch.n_conv
    blocks, k = span_projector(acts, arch.ndim, mean_only=head_next)
    new_arch = _deeper(arch, position)
    shape = acts.shape[2:]
    c = fourier.normalization_constant(arch.normalization, shape)
    kernel = np.fft.ifftn(blocks / c, axes=tuple(range(arch.ndim))).real
    kernel = np.ascontiguousarray(np.moveaxis(kernel, (-2, -1), (0, 1)))
    kernels = list(net.kernels[:position]) + [kernel] + list(net.kernels[position:])
    biases = list(net.biases)
    if arch.bias:
        biases = biases[:position] + [np.zeros(arch.channels[position])] + biases[position:]
    deeper = Network(new_arch, kernels, biases, seed=net.seed)
    cost = float(fourier.cost_factor(arch.normalization, shape) * k.sum())
    base = float(net.param_norm())
    return Insertion(network=deeper, position=position, cbn_vector=k, cost=cost,
                     base_norm=base, bound=base + cost)


def deepen(net: Network, X: np.ndarray, arch: Architecture | None = None) -> Insertion:
    """The cheapest projection insertion over every hidden layer, rebalanced.

    Parameters
    ----------
    net : Network
        As in :func:`insert_projection`.
    X : ndarray
        The samples.
    arch : Architecture, optional
        Architecture of depth ``L + 1`` to write the result in (wider layers get zero
        weights, :func:`cbntheory.solvers.starts.embed`); default the input's, one layer
        deeper at the chosen position.

    Returns
    -------
    Insertion
        At the position minimising ``cost`` (the first on ties), its network rebalanced:
        ``network.param_norm() <= bound``.

    Raises
    ------
    ValidationError
        As :func:`insert_projection`, or when the result does not fit ``arch``.
    """
    depth = net.architecture.depth
    first = 0 if np.all(np.asarray(X) >= 0) else 1
    if depth <= first:
        raise V.fail("net", "have depth >= 2 (a hidden layer to project) unless the inputs "
                     "are non-negative", depth)
    best = min((insert_projection(net, X, l) for l in range(first, depth)),
               key=lambda i: i.cost)
    out = rebalance(best.network)
    if arch is not None:
        placed, why = embed(out, arch)
        if placed is None:
            raise V.fail("arch", f"hold the deepened network ({why})", arch)
        out = placed
    return dataclasses.replace(best, network=out)
