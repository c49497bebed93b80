"""Exact inequalities between parameter norms and Jacobians of ReLU CNNs (T2 and T5).

Both statements rest on one factorisation.  At an input ``x`` the Jacobian of a
network is a product

    J f(x) = E_L P_{L-1} E_{L-1} ... P_1 E_1,

where ``E_l`` is the linear operator of layer ``l`` (a circular convolution with
frequency blocks ``c_l What_l[m]``, or the dense head weight) and every ``P_l`` is a
parameter-free map of operator norm at most one: the 0/1 ReLU mask, then the
stride-``s`` down-sampling or zero-insertion up-sampling of the architecture, and for
the average-pool head the mean over pixels (norm ``1/sqrt(d)``).  Biases only decide
the masks.  Horn's inequality then bounds the singular values of ``J`` by those of the
``E_l`` (:func:`jacobian_bound`, :func:`weight_bottleneck_bound`).  The array-level
functions :func:`jacobian_cost` and :func:`bottleneck_terms` do the arithmetic on plain
arrays (a Jacobian matrix, per-layer singular values); the network-level functions only
assemble those arrays.

See ``docs/theory.md`` (sections T2 and T5) for the proofs.
Examples
--------
>>> import numpy as np
>>> J = np.diag([4.0, 1.0, 0.0])
>>> cost = jacobian_cost(J, depth=2)
>>> cost.rank, bool(np.isclose(cost.value, 2 * (4.0 + 1.0)))
(2, True)
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings

#: Largest dense Jacobian (entries) decomposed only to cross-check the per-frequency
#: computation at translation-invariant inputs (a 2000 x 2000 SVD takes about a second).
DENSE_CROSSCHECK_MAX: int = 4_000_000


# ------------------------------------------------------------------------ array level
@dataclasses.dataclass(frozen=True)
class JacobianCost:
    """Schatten quasi-norm cost of a Jacobian and the depth expansion it bounds.

    Attributes
    ----------
    value : float
        ``factor * L * sum_i s_i^(2/L)`` over the singular values above :attr:`zero_tol`.
    rank : int
        Number of singular values above :attr:`zero_tol`.
    log_pdet : float
        ``log|J|_+ = sum_{i <= rank} log s_i`` (0 for the zero matrix).
    r0_bound, r1_bound : float
        ``factor * rank`` and ``2 * factor * log_pdet``: the lower bounds on ``R0`` and
        (where ``rank`` equals ``R0``) ``R1`` implied by T2.
    singular_values : ndarray, shape (n,)
        All singular values, decreasing (numerically-zero ones kept as computed).
    zero_tol : float
        Absolute threshold under which a singular value counts as zero.
    depth : int
    factor : float
        The ``1/(d c^2)`` in front of the cost.
    rank_by_frequency : ndarray of int or None
        ``rank J_m`` per frequency when the cost was computed from frequency blocks.
    """

    value: float
    rank: int
    log_pdet: float
    r0_bound: float
    r1_bound: float
    singular_values: np.ndarray
    zero_tol: float
    depth: int
    factor: float
    rank_by_frequency: np.ndarray | None = None

    def describe(self, kind: str = "l1") -> str:
        """Rank grouped by frequency degree (only for block input), else ``"rank k"``."""
        if self.rank_by_frequency is None:
            return f"rank {self.rank}"
        return fourier.describe_degrees(self.rank_by_frequency, self.rank_by_frequency.shape,
                                        kind)


def jacobian_cost(jacobian: Any, depth: int, *, factor: float = 1.0,
                  rtol: float | None = None) -> JacobianCost:
    """``factor * L * ||J||_{S_{2/L}}^{2/L}`` with rank and log pseudo-determinant of ``J``.

    Parameters
    ----------
    jacobian : array_like
        Either a dense real matrix ``(n_out, n_in)``, or complex frequency blocks of shape
        ``(*spatial, n_out, n_in)`` (1 or 2 spatial axes) of a translation-equivariant
        Jacobian; the singular values of the dense operator are then the union of those
        of the blocks.
    depth : int
        ``L >= 1``.
    factor : float
        Positive factor ``1/(d c^2)`` (1 for the operator normalisation).
    rtol : float, optional
        Singular values ``<= rtol * s_max`` are dropped.  Default
        ``eps * max(n_out, n_in)`` for a dense matrix and ``eps * d * max(n_out, n_in)``
        for blocks (the threshold of ``numpy.linalg.matrix_rank`` on the dense operator;
        see :func:`cbntheory.settings.rank_tolerance`).

    Returns
    -------
    JacobianCost

    Notes
    -----
    ``L s^(2/L) = L + 2 log s + O(1/L)``, so the cost is ``factor * (L rank + 2 log|J|_+
    + O(1/L))``; hence :attr:`JacobianCost.r0_bound` and :attr:`JacobianCost.r1_bound`.

    Examples
    --------
    Blocks of a 1D single-channel convolution with multipliers ``(2, 1, 0, 1)``:

    >>> import numpy as np
    >>> blocks = np.array([2.0, 1.0, 0.0, 1.0]).reshape(4, 1, 1)
    >>> cost = jacobian_cost(blocks, depth=1)
    >>> cost.rank, cost.describe(), bool(np.isclose(cost.log_pdet, np.log(2.0)))
    (3, '1 constant, 2 degree-1', True)
    """
    L = V.positive_int("depth", depth)
    factor = float(factor)
    if not np.isfinite(factor) or factor <= 0:
        raise V.fail("factor", "be a finite number > 0", factor)
    arr = np.asarray(jacobian)
    if arr.ndim not in (2, 3, 4) or not np.issubdtype(arr.dtype, np.number):
        raise V.fail("jacobian", "be a numeric matrix (n_out, n_in) or frequency blocks "
                     "(*spatial, n_out, n_in)", arr)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise V.fail("jacobian", "be non-empty and finite (no NaN or inf)", arr)
    per_freq = arr.ndim > 2
    svals = np.linalg.svd(arr, compute_uv=False)
    n = max(arr.shape[-2:]) * (int(np.prod(arr.shape[:-2])) if per_freq else 1)
    tol = settings.rank_tolerance(float(svals.max(initial=0.0)), n, rtol)
    keep = svals > tol
    rank = int(np.count_nonzero(keep))
    kept = svals[keep]
    log_pdet = float(np.sum(np.log(kept)))
    value = factor * L * float(np.sum(kept ** (2.0 / L)))
    by_freq = keep.sum(axis=-1).astype(int) if per_freq else None
    flat = np.sort(svals.ravel())[::-1]
    return JacobianCost(value, rank, log_pdet, factor * rank, 2.0 * factor * log_pdet,
                        flat, tol, L, factor, by_freq)


@dataclasses.dataclass(frozen=True)
class BottleneckTerms:
    """Both sides of the weights-bottleneck inequality T5 (array level).

    Attributes
    ----------
    lhs : float
        ``sum_l [sum_{i>k} s_{l,i}^2 + sum_{i<=k} (s_{l,i}^2 - 1 - log s_{l,i}^2)]``.
    rhs : float
        ``operator_mass - k L - 2 log|J|_+``.
    margin : float
        ``rhs - lhs``; equals :attr:`horn_gap` up to round-off.
    horn_gap : float
        ``sum_l sum_{i<=k} log s_{l,i}^2 - 2 log|J|_+`` computed directly (>= 0 by Horn).
    per_layer : tuple of float
        Contribution of every layer to :attr:`lhs` (each is >= 0).
    operator_mass : float
        ``sum_l sum_i s_{l,i}^2 = sum_l ||E_l||_F^2``.
    k : int
    log_pdet : float
    depth : int
    """

    lhs: float
    rhs: float
    margin: float
    horn_gap: float
    per_layer: tuple[float, ...]
    operator_mass: float
    k: int
    log_pdet: float
    depth: int


def _layer_values(name: str, values: Any) -> np.ndarray:
    arr = V.real_array(name, np.ravel(np.asarray(values)), ndim=1, allow_empty=True)
    if np.any(arr < 0):
        raise V.fail(name, "contain singular values (>= 0)", arr)
    return np.sort(arr)[::-1]


def bottleneck_terms(layer_singular_values: Sequence[Any], k: int,
                     log_pdet: float) -> BottleneckTerms:
    """Evaluate both sides of T5 from the singular values of the layer operators.

    Parameters
    ----------
    layer_singular_values : sequence of array_like
        For every layer ``l = 1..L``, all singular values of its operator ``E_l`` (any
        shape, e.g. ``(*spatial, r)`` per frequency; flattened and sorted here).
    k : int
        ``rank J f(x)``.
    log_pdet : float
        ``log|J f(x)|_+``.

    Returns
    -------
    BottleneckTerms

    Notes
    -----
    Writing ``phi(t) = t - 1 - log t >= 0``, the inequality
    ``sum_l [sum_{i>k} s^2 + sum_{i<=k} phi(s^2)] <= sum_l ||E_l||_F^2 - kL - 2 log|J|_+``
    is, after cancelling ``sum s^2``, Horn's inequality
    ``prod_{i<=k} s_i(J) <= prod_l prod_{i<=k} s_{l,i}``.  A layer with fewer than ``k``
    non-zero singular values makes the left side infinite (it cannot occur when ``k``
    is the true rank).

    Examples
    --------
    Two layers equal to ``diag(2, 1/2)``, product ``diag(4, 1/4)``: Horn is tight.

    >>> import numpy as np
    >>> t = bottleneck_terms([[2.0, 0.5], [2.0, 0.5]], k=2, log_pdet=0.0)
    >>> bool(abs(t.margin) < 1e-12), bool(abs(t.horn_gap) < 1e-12)
    (True, True)
    """
    layers = [_layer_values(f"layer_singular_values[{i}]", s)
              for i, s in enumerate(layer_singular_values)]
    L = V.positive_int("len(layer_singular_values)", len(layers))
    k = V.positive_int("k", k, minimum=0)
    log_pdet = float(log_pdet)
    per_layer = []
    top_logs = 0.0
    mass = 0.0
    for s in layers:
        s = np.concatenate([s, np.zeros(max(0, k - s.size))])
        sq = s ** 2
        mass += float(np.sum(sq))
        head = sq[:k]
        with np.errstate(divide="ignore"):
            logs = np.log(head)
        top_logs += float(np.sum(logs))
        per_layer.append(float(np.sum(sq[k:]) + np.sum(head - 1.0 - logs)))
    lhs = float(np.sum(per_layer))
    rhs = mass - k * L - 2.0 * log_pdet
    gap = top_logs - 2.0 * log_pdet
    margin = rhs - lhs if np.isfinite(lhs) else -np.inf
    return BottleneckTerms(lhs, rhs, float(margin), gap, tuple(per_layer), mass, k,
                           log_pdet, L)


# ---------------------------------------------------------------------- network level
def _check_network(net: Any) -> Any:
    from ..nets.network import Network

    if not isinstance(net, Network):
        raise V.fail("net", "be a cbntheory.Network", net)
    return net


def layer_operators(net: Any) -> list[tuple[np.ndarray, float, float]]:
    """Per layer: singular values of its operator ``E_l``, the factor ``kappa_l``, ``||W_l||_F^2``.

    Parameters
    ----------
    net : Network

    Returns
    -------
    list of (ndarray, float, float)
        For a convolution, the singular values per frequency of ``c_l What_l[m]`` (shape
        ``(*layer_shape, r)``) and ``kappa_l = d_l c_l^2`` (1 for the operator
        normalisation, ``d_l`` for plain); for the dense head, the singular values of its
        weight (shape ``(r,)``) and ``kappa = 1``.  In every case
        ``||E_l||_F^2 = kappa_l ||W_l||_F^2``.

    Examples
    --------
    >>> import numpy as np
    >>> import cbntheory as cbn
    >>> net = cbn.Architecture((6,), (1, 2, 3), normalization="plain").init(rng=0)
    >>> s, kappa, w2 = layer_operators(net)[1]
    >>> s.shape, kappa, bool(np.isclose(np.sum(s ** 2), kappa * w2))
    ((6, 2), 6.0, True)
    """
    from ..operators import ConvOperator

    arch = _check_network(net).architecture
    out = []
    for l, w in enumerate(net.kernels):
        w2 = float(np.sum(w * w))
        if l < arch.n_conv:
            op = ConvOperator(w, arch.normalization)
            kappa = 1.0 / fourier.cost_factor(arch.normalization, op.spatial_shape)
            out.append((op.singular_values(), kappa, w2))
        else:
            out.append((np.linalg.svd(w, compute_uv=False), 1.0, w2))
    return out


def _translation_invariant(x: np.ndarray, ndim: int) -> bool:
    flat = x.reshape(x.shape[0], -1)
    return bool(np.all(flat == flat[:, :1]))


def network_jacobian_cost(net: Any, x: Any, *, rtol: float | None = None,
                          factor: float | None = None) -> tuple[JacobianCost, float | None]:
    """T2 cost of ``J f_theta(x)`` at depth ``L`` and the block/dense cross-check.

    At an input that is exactly constant over pixels, for a network without head and
    resampling, the cost is computed from the frequency blocks of the Jacobian
    (``Network.jacobian_blocks``) and, when the dense Jacobian has at most
    ``DENSE_CROSSCHECK_MAX`` entries, compared with it; the second return value is
    then the relative difference of the two values (else None).  Elsewhere the dense
    ``(output_size, n_0 d)`` Jacobian is decomposed.  ``factor`` defaults to
    ``1 / max_l kappa_l`` (see :func:`layer_operators`).
    """
    net = _check_network(net)
    arch = net.architecture
    x = V.real_array("x", x)
    if x.shape != arch.input_shape:
        raise V.fail("x", f"have shape {arch.input_shape} (one input)", x)
    if factor is None:
        factor = 1.0 / max(kappa for _, kappa, _ in layer_operators(net))
    square = arch.head is None and all(r == 1 for r in arch.resample)
    if not (square and _translation_invariant(x, arch.ndim)):
        return jacobian_cost(net.jacobian(x), arch.depth, factor=factor, rtol=rtol), None
    blocks = jacobian_cost(net.jacobian_blocks(x), arch.depth, factor=factor, rtol=rtol)
    if arch.output_size * arch.input_size > DENSE_CROSSCHECK_MAX:
        return blocks, None
    dense = jacobian_cost(net.jacobian(x), arch.depth, factor=factor, rtol=rtol)
    diff = abs(blocks.value - dense.value) / max(1.0, abs(dense.value))
    return blocks, float(diff)


@dataclasses.dataclass(frozen=True)
class JacobianBound:
    """Both sides of T2 at one input: ``lhs <= operator_mass <= middle <= rhs``.

    Attributes
    ----------
    lhs : float
        ``(L / (d c^2)) ||J f(x)||_{S_{2/L}}^{2/L}`` (``d c^2`` = :attr:`kappa`).
    operator_mass : float
        ``(1/kappa) sum_l ||E_l||_F^2``, the tight middle term; equals :attr:`middle` for
        networks of convolutions at one resolution.
    middle : float
        ``sum_l ||W_l||_F^2`` (kernels and dense head, no biases).
    rhs : float
        ``||theta||^2 = Network.param_norm()`` (biases included when penalised).
    margin : float
        ``middle - lhs`` (the inequality on the weights; >= 0 up to round-off).
    margin_total : float
        ``rhs - lhs``.
    margin_operator : float
        ``operator_mass - lhs``.
    cost : JacobianCost
        Rank, ``log|J|_+``, the implied bounds ``r0_bound`` and ``r1_bound``.
    kappa : float
        ``max_l d_l c_l^2``: 1 for the operator normalisation, the largest number of
        pixels of a convolution layer for "plain".
    depth : int
        ``L``: convolutions plus the dense head.
    per_frequency : bool
        True when computed from the Jacobian's frequency blocks.
    crosscheck : float or None
        Relative difference of the block-based and dense values (None if not computed).
    """

    lhs: float
    operator_mass: float
    middle: float
    rhs: float
    margin: float
    margin_total: float
    margin_operator: float
    cost: JacobianCost
    kappa: float
    depth: int
    per_frequency: bool
    crosscheck: float | None

    @property
    def rank(self) -> int:
        """``rank J f(x)``."""
        return self.cost.rank

    @property
    def log_pdet(self) -> float:
        """``log|J f(x)|_+``."""
        return self.cost.log_pdet

    @property
    def r0_bound(self) -> float:
        """``rank J / (d c^2)``: lower bound on ``R0`` when ``f_theta = f`` near ``x``."""
        return self.cost.r0_bound

    @property
    def r1_bound(self) -> float:
        """``2 log|J|_+ / (d c^2)``: lower bound on ``R1`` where ``rank J = R0``."""
        return self.cost.r1_bound

    def holds(self, rtol: float | None = None) -> bool:
        """Whether ``lhs <= operator_mass <= middle <= rhs`` up to ``rtol`` (INEQUALITY_RTOL)."""
        rtol = settings.INEQUALITY_RTOL if rtol is None else rtol
        slack = rtol * max(1.0, abs(self.rhs), abs(self.lhs))
        return bool(self.margin_operator >= -slack and self.middle - self.operator_mass >= -slack
                    and self.rhs - self.middle >= -slack)


def jacobian_bound(net: Any, x: Any, *, rtol: float | None = None) -> JacobianBound:
    """T2 (exact): ``||theta||^2 >= sum_l ||W_l||_F^2 >= (L/(d c^2)) ||J f(x)||_{S_{2/L}}^{2/L}``.

    Parameters
    ----------
    net : Network
        Any architecture: ReLU or linear, biases, kernel windows, resampling, avgpool head.
    x : array_like, shape (n_0, *spatial_shape)
        One input.
    rtol : float, optional
        Relative zero threshold for the singular values of the Jacobian (see
        :func:`jacobian_cost`).

    Returns
    -------
    JacobianBound

    Notes
    -----
    ``J = E_L P_{L-1} ... P_1 E_1`` with ``||P_l||_op <= 1`` (masks, resampling, mean
    pool).  Horn's inequality and the convexity of ``t -> exp(2t/L)`` give
    ``sum_i s_i(J)^(2/L) <= sum_i prod_l s_i(E_l)^(2/L)``, and AM-GM gives
    ``L prod_l s_l^(2/L) <= sum_l s_l^2``; summing, ``L ||J||_{2/L}^{2/L} <= sum_l
    ||E_l||_F^2 = sum_l kappa_l ||W_l||_F^2 <= kappa sum_l ||W_l||_F^2``.  With one
    resolution and no head, ``kappa_l = d c^2`` for all layers.  When ``f_theta = f``
    on a neighbourhood of ``x``, the same holds for the representation cost ``R(f)``.

    References
    ----------
    [WJ2024] Wen & Jacot, ICML 2024, Jacobian lower bound.

    Examples
    --------
    >>> import numpy as np
    >>> import cbntheory as cbn
    >>> net = cbn.Architecture((8,), (2, 4, 4, 1)).init(rng=1)
    >>> b = jacobian_bound(net, np.random.default_rng(2).standard_normal((2, 8)))
    >>> b.holds(), bool(b.lhs <= b.middle <= b.rhs), b.depth
    (True, True, 3)
    """
    net = _check_network(net)
    ops = layer_operators(net)
    kappa = max(k for _, k, _ in ops)
    cost, cross = network_jacobian_cost(net, x, rtol=rtol, factor=1.0 / kappa)
    mass = sum(float(np.sum(np.asarray(s) ** 2)) for s, _, _ in ops) / kappa
    middle = sum(w2 for _, _, w2 in ops)
    rhs = float(net.param_norm())
    lhs = cost.value
    return JacobianBound(lhs, mass, middle, rhs, middle - lhs, rhs - lhs, mass - lhs, cost,
                         kappa, net.architecture.depth, cost.rank_by_frequency is not None,
                         cross)


@dataclasses.dataclass(frozen=True)
class BottleneckBound(BottleneckTerms):
    """Both sides of T5 at one input (see :func:`weight_bottleneck_bound`).

    The array-level terms of :class:`BottleneckTerms` (``lhs``, ``rhs``, ``margin``,
    ``horn_gap``, ``per_layer``, ``operator_mass``, ``k = rank J f(x)``,
    ``log_pdet = log|J f(x)|_+``, ``depth``), where ``operator_mass = sum_l ||E_l||_F^2``
    equals ``(d c^2) ||W||^2`` for convolutions at one resolution, plus:

    Attributes
    ----------
    weight_norm : float
        ``sum_l ||W_l||_F^2`` (no biases).
    layer_singular_values : tuple of ndarray
        Sorted (decreasing) singular values ``s_{l,i}`` of every layer operator.
    jacobian : JacobianCost
    """

    weight_norm: float = float("nan")
    layer_singular_values: tuple[np.ndarray, ...] = ()
    jacobian: JacobianCost | None = None

    def holds(self, rtol: float | None = None) -> bool:
        """Whether ``lhs <= rhs`` up to ``rtol * max(1, |rhs|)`` (default INEQUALITY_RTOL)."""
        rtol = settings.INEQUALITY_RTOL if rtol is None else rtol
        return bool(self.margin >= -rtol * max(1.0, abs(self.rhs), abs(self.lhs)))


def weight_bottleneck_bound(net: Any, x: Any, *, rtol: float | None = None) -> BottleneckBound:
    """T5 (exact): the layers' singular values against ``(d c^2)||W||^2 - kL - 2 log|J f(x)|_+``.

    Parameters
    ----------
    net : Network
    x : array_like, shape (n_0, *spatial_shape)
    rtol : float, optional
        Relative zero threshold deciding ``k = rank J f(x)`` (see :func:`jacobian_cost`).

    Returns
    -------
    BottleneckBound
        ``lhs = sum_l [sum_{i>k} s_{l,i}^2 + sum_{i<=k} (s_{l,i}^2 - 1 - log s_{l,i}^2)]``
        and ``rhs = sum_l ||E_l||_F^2 - kL - 2 log|J|_+``.

    Notes
    -----
    ``s_{l,i}`` are the singular values of the operator of layer ``l`` (the union over
    ``m`` of those of ``c_l What_l[m]``; for the dense head those of its weight), in
    decreasing order.  Biases do not enter.  The inequality is Horn's
    ``prod_{i<=k} s_i(J) <= prod_l prod_{i<=k} s_{l,i}`` (masks, resampling and pooling
    have norm <= 1) rearranged; each bracket is >= 0 because ``log t <= t - 1``, so a
    norm ``||theta||^2 <= kL + C`` forces all but ``O(C)`` layers to have ``k``
    singular values near 1 and the others near 0.

    References
    ----------
    [WJ2024] Wen & Jacot, ICML 2024, weights bottleneck.

    Examples
    --------
    >>> import numpy as np
    >>> import cbntheory as cbn
    >>> net = cbn.Architecture((6,), (1, 3, 3, 1)).init(rng=0)
    >>> b = weight_bottleneck_bound(net, np.random.default_rng(1).standard_normal((1, 6)))
    >>> b.holds(), bool(abs(b.margin - b.horn_gap) < 1e-9 * max(1.0, b.rhs))
    (True, True)
    """
    net = _check_network(net)
    ops = layer_operators(net)
    kappa = max(k for _, k, _ in ops)
    cost, _ = network_jacobian_cost(net, x, rtol=rtol, factor=1.0 / kappa)
    svals = tuple(np.sort(np.ravel(s))[::-1] for s, _, _ in ops)
    t = bottleneck_terms(svals, cost.rank, cost.log_pdet)
    terms = {f.name: getattr(t, f.name) for f in dataclasses.fields(BottleneckTerms)}
    return BottleneckBound(**terms, weight_norm=sum(w2 for _, _, w2 in ops),
                           layer_singular_values=svals, jacobian=cost)
