"""Certificates of the ReLU case that need no optimiser: infeasibility and the conditional T2 bound.

* :func:`orbit_residual`: every network of a translation-equivariant architecture maps a
  circular shift of an input to the same shift of its output (to the output itself with
  the average-pool head), so inputs in one shift orbit constrain each other's outputs;
  the smallest relative residual any network can reach on the data is at least the
  distance of ``Y`` to the consistent outputs, computed here exactly;
* :func:`upsampling_residual`: when the last convolution reads a zero-inserted
  (up-sampled) image, each class of output frequencies that fold together carries at
  most as many directions over the samples as the last layer has input channels; the
  Eckart-Young theorem turns that rank bound into a certified least residual;
* :func:`conditional_t2`: the Jacobian bound T2 of a target network at the samples, valid
  only under the assumption that the network must equal the target on an open set.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import fourier, settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..theory.bounds import jacobian_cost

__all__ = ["OPEN_SET_CONDITION", "FoldedRank", "conditional_t2", "open_set_t2",
           "orbit_representatives", "orbit_residual", "t2_factor", "upsampling_residual"]


def _canonical(x: np.ndarray, ndim: int) -> tuple[bytes, list[tuple[int, ...]]]:
    """Smallest circular shift of ``x`` (bytes, lexicographic) and every shift reaching it."""
    spatial = x.shape[1:]
    best: bytes | None = None
    shifts: list[tuple[int, ...]] = []
    for s in np.ndindex(*spatial):
        key = np.ascontiguousarray(np.roll(x, s, axis=tuple(range(1, 1 + ndim)))).tobytes()
        if best is None or key < best:
            best, shifts = key, [s]
        elif key == best:
            shifts.append(s)
    assert best is not None
    return best, shifts


def _shifting(arch: Architecture) -> bool:
    """True when every network of ``arch`` commutes with the circular shifts (no resampling)."""
    return all(r == 1 for r in arch.resample)  # type: ignore[union-attr]


def _orbit_keys(arch: Architecture, X: np.ndarray) -> list[tuple[bytes, list[tuple[int, ...]]]]:
    """Per input, the key of its shift orbit and the shifts taking it to the orbit's key."""
    if not _shifting(arch):
        return [(np.ascontiguousarray(x).tobytes(), [(0,) * arch.ndim]) for x in X]
    return [_canonical(x, arch.ndim) for x in X]


def orbit_representatives(arch: Architecture, X: np.ndarray,
                          Y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Indices of one sample per shift orbit, when fitting them fits every sample.

    Parameters
    ----------
    arch : Architecture
        Its networks commute with the circular shifts when it has no resampling (and
        are invariant with the average-pool head).
    X : ndarray, shape (N, n_0, *spatial)
    Y : ndarray, shape (N, *output_shape)

    Returns
    -------
    (ndarray of int, ndarray of int) or None
        The first sample of every orbit (increasing indices) and the number of samples
        of each orbit; None when no two samples share an orbit, the architecture has
        resampling, or the outputs of an orbit are not the shifted outputs of its first
        sample (to :data:`cbntheory.settings.ORBIT_MATCH_RTOL` times the largest output
        entry: then fitting the representatives need not fit the rest).

    Notes
    -----
    A network ``f`` of ``arch`` satisfies ``f(shift_s x) = shift_s f(x)`` (``= f(x)`` with
    the average-pool head).  Inputs are compared exactly (their smallest circular shift,
    as in :func:`orbit_residual`).  When ``x_j = shift_s x_i`` and ``y_j = shift_s y_i``,
    ``||f(x_j) - y_j|| = ||f(x_i) - y_i||``, so the squared residual on all samples is the
    representatives' one weighted by the orbit sizes ``n_o``: the relative residual on
    all samples is at most ``sqrt(max n_o / min n_o)`` times the representatives' (equal
    for a single orbit).  Callers re-verify on every sample anyway
    (:mod:`cbntheory.solvers.verify`).

    Examples
    --------
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((4,), (1, 2, 1))
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    >>> X = np.concatenate([x, np.roll(x, 1, axis=-1), 2 * x])
    >>> reps, sizes = orbit_representatives(arch, X, X)
    >>> reps.tolist(), sizes.tolist()
    ([0, 2], [2, 1])
    >>> orbit_representatives(arch, X, X[[0, 0, 2]]) is None   # not equivariant
    True
    """
    if not _shifting(arch) or X.shape[0] < 2:
        return None
    axes = tuple(range(1, 1 + arch.ndim))
    pooled = arch.head == "avgpool"
    atol = settings.ORBIT_MATCH_RTOL * float(np.max(np.abs(Y), initial=0.0))
    first: dict[bytes, tuple[int, tuple[int, ...]]] = {}
    sizes: dict[bytes, int] = {}
    for j, (key, shifts) in enumerate(_orbit_keys(arch, X)):
        sizes[key] = sizes.get(key, 0) + 1
        if key not in first:
            first[key] = (j, shifts[0])
            continue
        i, s_i = first[key]
        # x_j = shift_{-s_j} z and x_i = shift_{-s_i} z, so x_j = shift_{s_i - s_j} x_i
        move = tuple(a - b for a, b in zip(s_i, shifts[0]))
        want = Y[i] if pooled else np.roll(Y[i], move, axis=axes)
        if np.max(np.abs(want - Y[j]), initial=0.0) > atol:
            return None
    if len(first) == X.shape[0]:
        return None
    order = sorted(first, key=lambda k: first[k][0])
    return (np.array([first[k][0] for k in order]), np.array([sizes[k] for k in order]))


def orbit_residual(arch: Architecture, X: np.ndarray, Y: np.ndarray) -> float:
    """Least relative residual ``||f(X) - Y|| / ||Y||`` over every map with the symmetries.

    Parameters
    ----------
    arch : Architecture
        Decides the symmetry: circular shifts act on inputs and (without head) on outputs
        for architectures without resampling; with resampling only equal inputs count.
    X : ndarray, shape (N, n_0, *spatial)
    Y : ndarray, shape (N, *output_shape)

    Returns
    -------
    float
        ``min_f ||f(X) - Y|| / ||Y||`` over all functions ``f`` that commute with the
        shifts (every network of the architecture is one), 0 when ``Y`` is consistent.

    Notes
    -----
    Inputs are grouped by their smallest circular shift ``z`` (exact comparison): if
    ``x_j = shift_{-s} z`` then ``f(x_j) = shift_{-s} f(z)``, so each group fixes one
    output ``f(z)``, which must also be invariant under the stabiliser of ``z``.  The
    best ``f(z)`` is the mean over the group and the stabiliser of the outputs shifted
    back, and the residual is the distance to it.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((4,), (1, 2, 1))
    >>> x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    >>> X = np.concatenate([x, np.roll(x, 1, axis=-1)])
    >>> bool(orbit_residual(arch, X, X) == 0.0)                 # the identity is fine
    True
    >>> bool(orbit_residual(arch, X, X[::-1]) > 0.1)            # this is not equivariant
    True
    """
    scale = float(np.linalg.norm(Y))
    if scale == 0.0 or X.shape[0] == 0:
        return 0.0
    shifting = _shifting(arch)
    pooled = arch.head == "avgpool"
    axes = tuple(range(1, 1 + arch.ndim))
    groups: dict[bytes, list[np.ndarray]] = {}
    for (key, shifts), y in zip(_orbit_keys(arch, X), Y):
        if pooled or not shifting:
            groups.setdefault(key, []).append(y[None])
        else:
            groups.setdefault(key, []).append(np.stack([np.roll(y, s, axis=axes)
                                                        for s in shifts]))
    total = 0.0
    for members in groups.values():
        centre = np.mean([m.mean(axis=0) for m in members], axis=0)
        total += sum(float(np.sum((m[0] - centre) ** 2)) for m in members)
    return float(np.sqrt(total)) / scale


@dataclasses.dataclass(frozen=True)
class FoldedRank:
    """The outputs' folded ranks against the last layer's width (:func:`upsampling_residual`).

    Attributes
    ----------
    residual : float
        Certified: no network of the architecture reproduces the data to a smaller
        relative residual ``||f(X) - Y|| / ||Y||`` (``residual_at(width)``).
    width : int
        ``n_{L-1}``, the input channels of the last convolution.
    factor : int
        The up-sampling factor ``s`` before the last layer.
    coarse_shape : tuple of int
        The image the last layer reads before zero insertion (``d / s`` per axis); the
        frequency classes are ``m mod coarse_shape``.
    bias : bool
        Whether the output bias adds one direction at class ``0``.
    classes : tuple of tuple of int
        The classes, in the order of ``singular_values``.
    singular_values : tuple of tuple of float
        Per class, the singular values (descending) of the samples x (output channel,
        frequency in the class) block of the orthonormal DFT of ``Y``.
    scale : float
        ``||Y||``.
    """

    residual: float
    width: int
    factor: int
    coarse_shape: tuple[int, ...]
    bias: bool
    classes: tuple[tuple[int, ...], ...]
    singular_values: tuple[tuple[float, ...], ...]
    scale: float

    def _allowed(self, width: int, cls: tuple[int, ...]) -> int:
        return width + int(self.bias and not any(cls))

    def residual_at(self, width: int) -> float:
        """Certified least relative residual with ``width`` channels into the last layer."""
        tail = sum(float(np.sum(np.square(sv[self._allowed(width, c):])))
                   for c, sv in zip(self.classes, self.singular_values))
        margin = settings.FOLDED_RANK_ROUNDOFF * np.finfo(float).eps
        return max(0.0, float(np.sqrt(tail) / self.scale - margin))

    def width_needed(self, tol: float) -> int:
        """Smallest width whose certified residual is at most ``tol`` (necessary only)."""
        width = self.width
        while self.residual_at(width) > tol:
            width += 1
        return width

    def describe(self, tol: float, layer: int) -> str:
        """Why no network reaches ``tol``: the rule, the value and the width it needs."""
        worst = max(range(len(self.classes)), key=lambda i: float(np.sum(np.square(
            self.singular_values[i][self._allowed(self.width, self.classes[i]):]))))
        cls = self.classes[worst]
        label = cls[0] if len(cls) == 1 else cls
        return (f"channels[{layer}] = {self.width} is too narrow for the up-sampling by "
                f"{self.factor} before the last layer: the last convolution reads images of "
                f"{self.coarse_shape} pixels with zeros between, so the outputs' frequencies "
                f"fold into {len(self.classes)} classes m mod {self.coarse_shape}, and over the "
                f"samples each class has rank at most {self.width}"
                + (" (one more at class 0, through the output bias)" if self.bias else "")
                + f"; the data need more (most at class {label}), so no network of this "
                f"architecture reaches a relative residual below {self.residual:.3g} > "
                f"tol = {tol:g}; use channels[{layer}] >= {self.width_needed(tol)} "
                "(necessary, not sufficient)")


def upsampling_residual(arch: Architecture, X: np.ndarray, Y: np.ndarray) -> FoldedRank | None:
    """Certified least residual when zero-insertion up-sampling precedes the last layer.

    Parameters
    ----------
    arch : Architecture
        Only architectures without head whose last resampling code is an up-sampling
        ``-s`` have the bound; for every other one the answer is None.
    X : ndarray, shape (N, n_0, *spatial)
        The inputs (only their number matters: the bound holds for any inputs).
    Y : ndarray, shape (N, *output_shape)

    Returns
    -------
    FoldedRank or None
        Its ``residual`` is at most ``||f(X) - Y|| / ||Y||`` for every network ``f`` of
        ``arch``, whatever its weights and activation.

    Notes
    -----
    The last layer computes ``y_o = c sum_c W_{oc} * z_c + b_o`` with ``z_c`` the
    zero-inserted image of an ``h_c`` on ``d/s`` pixels per axis.  The DFT of ``z_c`` at
    ``m`` is that of ``h_c`` at ``m mod d/s``, so for the frequencies ``m`` of one class
    ``rho``, ``hat y_o[m] = sum_c hat W_{oc}[m] hat h_c[rho]`` (plus the bias at
    ``m = 0``): the samples x (output channel, ``m`` in the class) block of the outputs'
    spectrum is a product through ``n_{L-1}`` columns, rank ``<= n_{L-1}`` (one more at
    class 0 with a bias).  The spectrum is orthonormal and the classes are disjoint, so
    by Eckart-Young every network's squared residual is at least the sum over classes of
    the squared singular values of ``hat Y``'s block beyond that rank.  The bound ignores
    that the outputs are real and that ``h`` comes from a network, so it is not tight in
    general; the margin :data:`cbntheory.settings.FOLDED_RANK_ROUNDOFF` ``* eps`` covers
    the round-off of the transform and the SVD.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((12,), (1, 4, 4, 1), resample=(6, -6))
    >>> X = np.stack([np.roll(np.exp(-np.arange(12.0)), k)[None] for k in range(12)])
    >>> bound = upsampling_residual(arch, X, X)   # the 12 shifts of a bump: rank 6 per class
    >>> bound.width, bound.width_needed(1e-6), bool(bound.residual > 0.1)
    (4, 6, True)
    """
    codes = arch.resample or ()
    if arch.head is not None or arch.depth < 2 or not codes or codes[-1] >= -1:
        return None
    factor = -int(codes[-1])
    shape = arch.layer_shapes[-1]
    coarse = tuple(n // factor for n in shape)
    Y = np.asarray(Y, dtype=float)
    scale = float(np.linalg.norm(Y))
    spectrum = np.fft.fftn(Y, axes=tuple(range(2, Y.ndim)), norm="ortho")
    classes = tuple(np.ndindex(*coarse))
    values = []
    for cls in classes:
        block = spectrum[(slice(None), slice(None))
                         + tuple(slice(r, None, n) for r, n in zip(cls, coarse))]
        values.append(tuple(float(v) for v in np.linalg.svd(block.reshape(Y.shape[0], -1),
                                                             compute_uv=False)))
    folded = FoldedRank(residual=0.0, width=int(arch.channels[-2]), factor=factor,
                        coarse_shape=coarse, bias=bool(arch.bias), classes=classes,
                        singular_values=tuple(values), scale=scale if scale > 0 else 1.0)
    return dataclasses.replace(folded, residual=folded.residual_at(folded.width))


def t2_factor(arch: Architecture) -> float:
    """``1 / kappa`` with ``kappa = max_l d_l c_l^2`` over the layers (1 for the dense head)."""
    kappas = [1.0 / fourier.cost_factor(arch.normalization, s) for s in arch.layer_shapes]
    if arch.head == "avgpool":
        kappas.append(1.0)
    return 1.0 / max(kappas)


#: The condition every open-set value carries (never a bound of the finite-data problem).
OPEN_SET_CONDITION = ("conditional on the open-set assumption: valid only for R(f; U, L) with "
                      "U an open set around the samples (or an open piece of their orbit "
                      "curve) on which the network must equal f, so that its Jacobian there "
                      "is f's; NOT a lower bound of the finite-data problem")


def open_set_t2(arch: Architecture, jacobians: Any,
                samples: Any = None) -> dict[str, Any]:
    """T2 under the open-set assumption: the largest ``(L/kappa) ||J_i||_{S_{2/L}}^{2/L}``.

    Parameters
    ----------
    arch : Architecture
        Gives ``L`` and ``kappa`` (:func:`t2_factor`).
    jacobians : sequence of ndarray ``(n_out, n_in)``
        The target's Jacobian at each sample, or its restriction ``J P_T`` to the tangent
        space ``T`` of the domain there (singular values of ``J_net P_T`` are at most those
        of ``J_net``, so T2 bounds every network whose Jacobian agrees with ``J`` on ``T``).
    samples : sequence of int, optional
        Sample index of each Jacobian (default ``0, 1, ...``).

    Returns
    -------
    dict
        ``value`` (None when there is no Jacobian), ``sample``, ``rank`` (the slope in
        ``L``: ``Rank_J``), ``log_pdet``, ``note`` and ``condition``
        (:data:`OPEN_SET_CONDITION`).

    Examples
    --------
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((4,), (1, 2, 1))
    >>> out = open_set_t2(arch, [np.diag([1.0, 1.0, 0.0, 0.0])])   # two unit directions
    >>> out["value"], out["rank"]                                   # L * 2 / kappa
    (4.0, 2)
    """
    factor = t2_factor(arch)
    idx = range(len(jacobians)) if samples is None else list(samples)
    best: dict[str, Any] = {"value": None, "note": "no Jacobian given"}
    for i, J in zip(idx, jacobians):
        cost = jacobian_cost(np.asarray(J, dtype=float), arch.depth, factor=factor)
        if best["value"] is None or cost.value > best["value"]:
            best = {"value": float(cost.value), "sample": int(i), "rank": int(cost.rank),
                    "log_pdet": float(cost.log_pdet), "note": ""}
    best["condition"] = OPEN_SET_CONDITION
    return best


def conditional_t2(arch: Architecture, target: Network, X: np.ndarray,
                    points: int) -> dict[str, Any]:
    """T2 at up to ``points`` samples where the target is differentiable (see module notes)."""
    if arch.output_size * arch.input_size > settings.T2_MAX_JACOBIAN_ENTRIES:
        return {"value": None, "note": f"not computed: a dense Jacobian of {arch.output_size} x "
                f"{arch.input_size} entries exceeds settings.T2_MAX_JACOBIAN_ENTRIES"}
    pre = target.activations(X[:points], pre=True) if target.architecture.depth > 1 else []
    samples = []
    for i in range(min(points, X.shape[0])):
        margins = [float(np.min(np.abs(u[i]))) / max(1e-300, float(np.max(np.abs(u[i]))))
                   for u in pre]
        if not (margins and min(margins) <= settings.T2_PREACTIVATION_RTOL):
            samples.append(i)
    best = open_set_t2(arch, [target.jacobian(X[i]) for i in samples], samples)
    if best["value"] is None:
        best["note"] = "no sample where the target is differentiable (a pre-activation at 0)"
    best["condition"] = ("valid only for R(target; U, L) with U an open set around the samples "
                         "on which the network must equal the target; NOT a lower bound of the "
                         "finite-data problem whose upper bound is returned")
    return best
