"""Array-level arithmetic of the Jacobian bounds: Schatten costs and Horn bottleneck terms.

These functions take plain arrays (a Jacobian matrix, per-layer singular values) and do
the arithmetic behind T2 and T5; :mod:`cbntheory.theory.bounds` assembles the arrays from a
network and calls them.

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
