"""Exact representation cost of linear CNNs (statement T1 of ``docs/theory.md``).

For a translation-equivariant linear map ``A`` with frequency blocks ``A_m`` and a
linear CNN of depth ``L`` with full-size filters and enough channels,

    R(A; L) = (L / (d c^2)) * sum_m sum_i s_i(A_m)^(2/L),

attained by the *balanced factorisation*, whose every layer has, at each frequency,
the singular values ``s_i(A_m)^(1/L)``.  Expanding ``L s^(2/L) = L + 2 log s +
(2/L) (log s)^2 + O(1/L^2)`` splits the cost into ``L R0 + R1 + R2/L``.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..operators import ConvOperator, batch_singular_values
from ..results import field_lines, one_line


@dataclasses.dataclass(frozen=True)
class LinearCost:
    """Representation cost of a linear map by a depth-``L`` linear CNN, with its expansion.

    Attributes
    ----------
    value : float
        ``(L/(d c^2)) sum_m ||A_m||_{S_{2/L}}^{2/L}``: the minimal ``sum_l ||W_l||_F^2``.
    r0, r1, r2 : float
        Coefficients of ``R = L r0 + r1 + r2 / L + O(1/L^2)``, all with the factor
        ``1/(d c^2)``: ``r0 = sum_m rank A_m``, ``r1 = 2 sum_m log|A_m|_+``,
        ``r2 = 2 sum_m sum_i (log s_i)^2``.
    cbn_rank : ndarray of int, shape spatial
        ``rank A_m`` per frequency (the linear CBN rank vector ``k_m``).
    depth : int
    singular_values : ndarray, shape (*spatial, min(C_out, C_in))
        Singular values per frequency, decreasing, numerically-zero ones set to 0.
    zero_tol : float
        Absolute threshold under which singular values were counted as zero.
    normalization : str
    spatial_shape : tuple of int
    """

    value: float
    r0: float
    r1: float
    r2: float
    cbn_rank: np.ndarray
    depth: int
    singular_values: np.ndarray
    zero_tol: float
    normalization: str
    spatial_shape: tuple[int, ...]

    def expansion(self, depth: int | None = None) -> float:
        """Truncated expansion ``L r0 + r1 + r2 / L`` (default ``L`` = :attr:`depth`)."""
        L = self.depth if depth is None else V.positive_int("depth", depth)
        return L * self.r0 + self.r1 + self.r2 / L

    def rank_by_degree(self, kind: str = "l1") -> dict[int, int]:
        """CBN rank summed by frequency degree, e.g. ``{0: 1, 1: 2}``."""
        return fourier.degree_counts(self.cbn_rank, self.spatial_shape, kind)

    def describe(self, kind: str = "l1") -> str:
        """Grouping of the CBN rank such as ``"1 constant, 2 degree-1"``."""
        return fourier.describe_degrees(self.cbn_rank, self.spatial_shape, kind)

    @property
    def cbn_vector(self) -> np.ndarray:
        """``k_m = rank A_m`` per frequency: the glossary's name for :attr:`cbn_rank`."""
        return self.cbn_rank

    @property
    def rank_cbn(self) -> int:
        """``Rank_CBN = sum_m k_m`` (equal to ``r0`` times ``d c^2``)."""
        return int(self.cbn_rank.sum())

    def summary(self) -> dict[str, Any]:
        """Plain data: the value, the expansion's coefficients and the CBN rank by degree."""
        return {"depth": self.depth, "value": self.value, "r0": self.r0, "r1": self.r1,
                "r2": self.r2, "expansion": self.expansion(),
                "cbn_rank": int(self.cbn_rank.sum()), "by_degree": self.describe(),
                "normalization": self.normalization,
                "spatial_shape": list(self.spatial_shape), "zero_tol": self.zero_tol}

    def __repr__(self) -> str:
        return one_line("LinearCost", {"depth": self.depth, "value": self.value,
                                       "r0": self.r0, "r1": self.r1, "r2": self.r2})

    def __str__(self) -> str:
        return field_lines("LinearCost", self.summary())


def _as_operator(A: Any) -> ConvOperator:
    if not isinstance(A, ConvOperator):
        raise V.fail("A", "be a cbntheory.ConvOperator (see ConvOperator.from_kernel)", A)
    return A


def _zero_tol(A: ConvOperator, s_max: float, rtol: float | None) -> float:
    n = A.size * max(A.in_channels, A.out_channels)
    return settings.rank_tolerance(s_max, n, rtol)


def linear_cost(A: ConvOperator, depth: int, *, rtol: float | None = None) -> LinearCost:
    """Minimal ``sum_l ||W_l||_F^2`` of a depth-``L`` linear CNN computing ``A`` (T1, exact).

    Parameters
    ----------
    A : ConvOperator
        The target map.
    depth : int
        Number of layers ``L >= 1`` (full-size filters, widths ``>= max_m rank A_m``).
    rtol : float, optional
        Singular values ``<= rtol * s_max`` count as zero.  The default,
        ``eps * d * max(C_out, C_in)``, is the threshold ``numpy.linalg.matrix_rank``
        would apply to the dense operator matrix.  Zeroing matters: ``s^(2/L)`` of a
        round-off singular value ``1e-16`` is ``0.01`` at ``L = 16``.

    Returns
    -------
    LinearCost
        The value ``(L/(d c^2)) sum_m sum_i s_i(A_m)^(2/L)`` and its expansion
        ``L r0 + r1 + r2/L``.

    Notes
    -----
    Per frequency, the product of ``L`` blocks equal to ``A_m`` has cost at least
    ``L ||A_m||_{S_{2/L}}^{2/L}`` (the singular values of a product are controlled by
    Horn's inequalities, and ``min{sum w_l^2 : prod w_l = s} = L s^(2/L)``); Parseval
    turns block norms into kernel norms with the factor ``1/(d c^2)``.  Only the
    ``rfftn`` half-spectrum is decomposed: ``A_{-m} = conj(A_m)`` has the same
    singular values.

    References
    ----------
    [WJ2024] Wen & Jacot, ICML 2024.  [GLSS2018] Gunasekar, Lee, Soudry, Srebro, NeurIPS 2018.

    Examples
    --------
    A single-channel filter that keeps the constant and one conjugate pair of frequencies
    has CBN rank 3, and at depth 2 its cost is the sum of the moduli of its multipliers:

    >>> import numpy as np
    >>> d = 8
    >>> p = np.arange(d)
    >>> kernel = (2.0 + np.cos(2 * np.pi * p / d)).reshape(1, 1, d) / np.sqrt(d)
    >>> A = ConvOperator.from_kernel(kernel)
    >>> cost = linear_cost(A, depth=2)
    >>> int(cost.r0), cost.describe()
    (3, '1 constant, 2 degree-1')
    >>> mult = np.abs(np.fft.fft(kernel[0, 0])) / np.sqrt(d)
    >>> bool(np.isclose(cost.value, 2 * mult.sum()))
    True
    """
    A = _as_operator(A)
    L = V.positive_int("depth", depth)
    half = batch_singular_values(A.half_blocks())
    tol = _zero_tol(A, float(half.max(initial=0.0)), rtol)
    nonzero = half > tol
    s = np.where(nonzero, half, 1.0)
    w = fourier.half_spectrum_weights(A.spatial_shape)[..., None]
    factor = fourier.cost_factor(A.normalization, A.spatial_shape)
    logs = np.where(nonzero, np.log(s), 0.0)
    value = factor * L * float(np.sum(w * np.where(nonzero, s ** (2.0 / L), 0.0)))
    r0 = factor * float(np.sum(w * nonzero))
    r1 = factor * 2.0 * float(np.sum(w * logs))
    r2 = factor * 2.0 * float(np.sum(w * logs ** 2))
    rank = fourier.half_to_full(nonzero.sum(axis=-1), A.spatial_shape).astype(int)
    svals = fourier.half_to_full(np.where(nonzero, half, 0.0), A.spatial_shape)
    return LinearCost(value, r0, r1, r2, rank, L, svals, tol, A.normalization,
                      A.spatial_shape)


def _frequency_svd(A: ConvOperator, rtol: float | None):
    """SVD of every block with conjugate-consistent factors.

    Representatives of each pair ``{m, -m}`` are decomposed; their partners take the
    complex-conjugate factors, and self-conjugate frequencies (real blocks) get a real
    SVD, so that every layer built from the factors has a real kernel.
    """
    shape = A.spatial_shape
    n = A.ndim
    blocks = A.blocks
    u, s, vh = np.linalg.svd(blocks, full_matrices=False)
    selfconj = fourier.self_conjugate_mask(shape)
    if np.any(selfconj):
        ur, sr, vhr = np.linalg.svd(blocks[selfconj].real, full_matrices=False)
        u[selfconj], s[selfconj], vh[selfconj] = ur, sr, vhr
    partner = ~fourier.representative_mask(shape)
    u = np.where(partner[..., None, None], fourier.conjugate(u, n).conj(), u)
    vh = np.where(partner[..., None, None], fourier.conjugate(vh, n).conj(), vh)
    s = np.where(partner[..., None], fourier.conjugate(s, n), s)
    tol = _zero_tol(A, float(s.max(initial=0.0)), rtol)
    return u, np.where(s > tol, s, 0.0), vh


def balanced_factorization(A: ConvOperator, depth: int, *, width: int | None = None,
                           rtol: float | None = None) -> list[ConvOperator]:
    """Real-kernel linear CNN of depth ``L`` computing ``A`` at the minimal cost of T1.

    Parameters
    ----------
    A : ConvOperator
        The target map.
    depth : int
        Number of layers ``L >= 1``.
    width : int, optional
        Channels of the hidden layers; default ``max(1, max_m rank A_m)``.  Must be at
        least the largest per-frequency rank.
    rtol : float, optional
        Zero threshold for singular values, as in :func:`linear_cost`.

    Returns
    -------
    list of ConvOperator
        ``depth`` layers, first layer first: ``layers[-1] @ ... @ layers[0]`` equals ``A``
        (up to the singular values counted as zero) and the sum of their ``param_norm()``
        equals ``linear_cost(A, depth).value``.

    Raises
    ------
    ValidationError
        If ``width`` is below the largest per-frequency rank (the message names the frequency).

    Notes
    -----
    With ``A_m = U_m S_m V_m^H``, layer 1 has blocks ``S_m^(1/L) V_m^H``, the middle layers
    ``S_m^(1/L)`` and layer ``L`` has ``U_m S_m^(1/L)`` (zero-padded to ``width``).  Every
    layer contributes ``(1/(d c^2)) sum_m sum_i s_i^(2/L)``, which is the equality case of
    the scalar identity ``min{sum w_l^2 : prod w_l = s} = L s^(2/L)``.

    Examples
    --------
    >>> import numpy as np
    >>> A = ConvOperator.from_kernel(np.random.default_rng(0).standard_normal((3, 2, 4, 4)))
    >>> layers = balanced_factorization(A, depth=4)
    >>> prod = layers[3] @ layers[2] @ layers[1] @ layers[0]
    >>> bool(np.allclose(prod.kernel, A.kernel))
    True
    >>> total = sum(layer.param_norm() for layer in layers)
    >>> bool(np.isclose(total, linear_cost(A, 4).value))
    True
    """
    A = _as_operator(A)
    L = V.positive_int("depth", depth)
    if width is not None:
        width = V.positive_int("width", width)
    if L == 1:  # a single layer has no hidden width: the operator itself
        return [ConvOperator(A.kernel, A.normalization)]
    u, s, vh = _frequency_svd(A, rtol)
    ranks = np.count_nonzero(s, axis=-1)
    needed = max(1, int(ranks.max(initial=0)))
    k = needed if width is None else width
    if k < needed:
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(ranks)), ranks.shape))
        raise V.fail("width", f"be >= the largest per-frequency rank {needed} (reached at "
                     f"frequency {worst})", k)
    r = min(s.shape[-1], k)  # triples beyond the largest rank carry zero singular values
    u, s, vh = u[..., :, :r], s[..., :r], vh[..., :r, :]
    root = s ** (1.0 / L)
    lead = A.blocks.shape[:-2]

    def pad(block: np.ndarray, rows: int, cols: int) -> np.ndarray:
        out = np.zeros(lead + (rows, cols), dtype=complex)
        out[..., :block.shape[-2], :block.shape[-1]] = block
        return out

    first = pad(root[..., :, None] * vh, k, A.in_channels)
    last = pad(u * root[..., None, :], A.out_channels, k)
    middle = pad(root[..., :, None] * np.eye(r), k, k)
    blocks = [first] + [middle] * (L - 2) + [last]
    return [ConvOperator.from_blocks(b, A.normalization) for b in blocks]


@dataclasses.dataclass(frozen=True)
class VerifiedCost:
    """:class:`LinearCost` re-checked through its witness, the balanced factorisation.

    Attributes
    ----------
    cost : LinearCost
    residual : float
        ``||W_L * ... * W_1 - A||_F / ||A||_F`` of the composed factorisation.
    norm_gap : float
        ``|sum_l ||W_l||^2 - cost.value| / max(1, cost.value)``.
    ok : bool
        Both within :data:`cbntheory.settings.FIT_RTOL` and
        :data:`cbntheory.settings.OBJECTIVE_RTOL` respectively.
    """

    cost: LinearCost
    residual: float
    norm_gap: float
    ok: bool


def verified_linear_cost(A: ConvOperator, depth: int, *,
                         rtol: float | None = None) -> VerifiedCost:
    """:func:`linear_cost` together with a numpy re-verification of its witness.

    The balanced factorisation is composed back and compared with ``A``, and its
    parameter norm with the value; callers downgrade their status when ``ok`` is False.

    Examples
    --------
    >>> import numpy as np
    >>> A = ConvOperator.from_kernel(np.random.default_rng(2).standard_normal((2, 2, 6)))
    >>> check = verified_linear_cost(A, depth=3)
    >>> check.ok, bool(check.residual < 1e-12)
    (True, True)
    """
    cost = linear_cost(A, depth, rtol=rtol)
    layers = balanced_factorization(A, depth, rtol=rtol)
    product = layers[0]
    for layer in layers[1:]:
        product = layer @ product
    scale = max(float(np.linalg.norm(A.kernel)), np.finfo(float).tiny)
    residual = float(np.linalg.norm(product.kernel - A.kernel)) / scale
    norm = float(sum(layer.param_norm() for layer in layers))
    gap = abs(norm - cost.value) / max(1.0, abs(cost.value))
    ok = residual <= settings.FIT_RTOL and gap <= settings.OBJECTIVE_RTOL
    return VerifiedCost(cost, residual, gap, ok)
