"""Certificates of the ReLU case that need no optimiser: infeasibility and the conditional T2 bound.

* :func:`orbit_residual`: every network of a translation-equivariant architecture maps a
  circular shift of an input to the same shift of its output (to the output itself with
  the average-pool head; with resampling, for the shifts of :func:`shift_steps`), so
  inputs in one shift orbit constrain each other's outputs; the smallest relative
  residual any network can reach on the data is at least the distance of ``Y`` to the
  consistent outputs, computed here exactly;
* :func:`last_layer_residual`: the last layer is affine in its ``n_{L-1}`` input
  channels, so each output frequency (each class of frequencies that an up-sampling
  before it folds together; the pooled outputs of the average-pool head) carries at most
  ``n_{L-1}`` directions over the samples; the Eckart-Young theorem turns that rank
  bound into a certified least residual;
* :func:`conditional_t2`: the Jacobian bound T2 of a target network at the samples, valid
  only under the assumption that the network must equal the target on an open set.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .. import fourier, settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..theory.bounds import jacobian_cost

__all__ = ["OPEN_SET_CONDITION", "LastLayerRank", "conditional_t2", "open_set_t2",
           "last_layer_residual", "orbit_representatives", "orbit_residual", "shift_steps",
           "t2_factor"]


def _canonical(x: np.ndarray, ndim: int, steps: tuple[int, ...]
               ) -> tuple[bytes, list[tuple[int, ...]]]:
    """Smallest circular shift of ``x`` by multiples of ``steps`` (bytes, lexicographic)
    and every such shift reaching it."""
    spatial = x.shape[1:]
    best: bytes | None = None
    shifts: list[tuple[int, ...]] = []
    for k in np.ndindex(*(d // st for d, st in zip(spatial, steps))):
        s = tuple(kk * st for kk, st in zip(k, steps))
        key = np.ascontiguousarray(np.roll(x, s, axis=tuple(range(1, 1 + ndim)))).tobytes()
        if best is None or key < best:
            best, shifts = key, [s]
        elif key == best:
            shifts.append(s)
    assert best is not None
    return best, shifts


def shift_steps(arch: Architecture) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The shifts every network of ``arch`` commutes with, per axis.

    Returns ``(steps, moves)``: shifting the input by ``k * steps`` shifts the output by
    ``k * moves`` (the output is invariant with the average-pool head).  Without
    resampling both are 1.  A layer at ``d_l`` pixels sees an input shift ``t`` as the
    shift ``t d_l / d_0``, which must be whole for stride-``s`` down-sampling (it keeps
    pixels ``0, s, 2s, ...``) and zero insertion to commute with it, so ``steps`` is the
    least common multiple of ``d_0 / gcd(d_0, d_l)`` over the layers.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> shift_steps(cbn.Architecture((12,), (1, 2, 2, 1), resample=(6, -6)))
    ((6,), (6,))
    >>> shift_steps(cbn.Architecture((8, 6), (1, 2, 2, 1), resample=(2, 1)))
    ((2, 2), (1, 1))
    """
    steps, moves = [], []
    for axis, d0 in enumerate(arch.spatial_shape):
        step = 1
        for shape in arch.layer_shapes:
            step = math.lcm(step, d0 // math.gcd(d0, shape[axis]))
        steps.append(step)
        moves.append(step * arch.layer_shapes[-1][axis] // d0)
    return tuple(steps), tuple(moves)


def _orbit_keys(arch: Architecture, X: np.ndarray) -> list[tuple[bytes, list[tuple[int, ...]]]]:
    """Per input, the key of its orbit under the shifts of :func:`shift_steps` and the
    shifts taking it to the orbit's key."""
    steps = shift_steps(arch)[0]
    if all(st == d for st, d in zip(steps, arch.spatial_shape)):  # only the identity
        return [(np.ascontiguousarray(x).tobytes(), [(0,) * arch.ndim]) for x in X]
    return [_canonical(x, arch.ndim, steps) for x in X]


def orbit_representatives(arch: Architecture, X: np.ndarray,
                          Y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Indices of one sample per shift orbit, when fitting them fits every sample.

    Parameters
    ----------
    arch : Architecture
        Decides the shifts (:func:`shift_steps`): every circular shift without
        resampling, the multiples of the steps with it.
    X : ndarray, shape (N, n_0, *spatial)
    Y : ndarray, shape (N, *output_shape)

    Returns
    -------
    (ndarray of int, ndarray of int) or None
        The first sample of every orbit (increasing indices) and the number of samples
        of each orbit; None when no two samples share an orbit or the outputs of an
        orbit are not the shifted outputs of its first sample (to
        :data:`cbntheory.settings.ORBIT_MATCH_RTOL` times the largest output entry: then
        fitting the representatives need not fit the rest).

    Notes
    -----
    A network ``f`` of ``arch`` satisfies ``f(shift_s x) = shift_s f(x)`` (``= f(x)`` with
    the average-pool head; with resampling ``s`` is a multiple of the steps and the output
    moves by the matching amount at its resolution).  Inputs are compared exactly (their
    smallest circular shift, as in :func:`orbit_residual`).  When ``x_j = shift_s x_i``
    and ``y_j = shift_s y_i``, ``||f(x_j) - y_j|| = ||f(x_i) - y_i||``, so the squared
    residual on all samples is the representatives' one weighted by the orbit sizes
    ``n_o``: the relative residual on all samples is at most ``sqrt(max n_o / min n_o)``
    times the representatives' (equal for a single orbit).  Callers re-verify on every
    sample anyway (:mod:`cbntheory.solvers.verify`).

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
    >>> strided = cbn.Architecture((4,), (1, 2, 2, 1), resample=(2, -2))
    >>> X3 = np.concatenate([x, np.roll(x, 1, axis=-1), np.roll(x, 2, axis=-1)])
    >>> [r.tolist() for r in orbit_representatives(strided, X3, X3)]  # steps of 2 only
    [[0, 1], [2, 1]]
    """
    if X.shape[0] < 2:
        return None
    steps, moves = shift_steps(arch)
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
        # x_j = shift_{-s_j} z and x_i = shift_{-s_i} z, so x_j = shift_{s_i - s_j} x_i;
        # s_i - s_j is a whole number of steps, and the output moves as many `moves`
        move = tuple((a - b) // st * mv
                     for a, b, st, mv in zip(s_i, shifts[0], steps, moves))
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
        Decides the symmetry (:func:`shift_steps`): circular shifts act on inputs and
        (without head) on outputs; with resampling only the shifts by multiples of the
        strides, which move the output by the matching amount at its resolution.
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
    ``x_j = shift_{-s} z`` then ``f(x_j) = shift_{-s} f(z)`` (with resampling, ``s`` a
    multiple of the steps and the output shift scaled to its resolution), so each group fixes one
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
    >>> strided = cbn.Architecture((4,), (1, 2, 2, 1), resample=(2, -2))
    >>> bool(orbit_residual(strided, X, X[::-1]) == 0.0)        # a shift by 1: no constraint
    True
    >>> X2 = np.concatenate([x, np.roll(x, 2, axis=-1)])
    >>> bool(orbit_residual(strided, X2, X2 * [[[1.0]], [[2.0]]]) > 0.1)  # a shift by 2 is one
    True
    """
    scale = float(np.linalg.norm(Y))
    if scale == 0.0 or X.shape[0] == 0:
        return 0.0
    steps, moves = shift_steps(arch)
    pooled = arch.head == "avgpool"
    axes = tuple(range(1, 1 + arch.ndim))
    groups: dict[bytes, list[np.ndarray]] = {}
    for (key, shifts), y in zip(_orbit_keys(arch, X), Y):
        if pooled:
            groups.setdefault(key, []).append(y[None])
        else:  # an input shift of k steps moves the output by k moves
            groups.setdefault(key, []).append(np.stack([
                np.roll(y, tuple(a // st * mv for a, st, mv in zip(s, steps, moves)), axis=axes)
                for s in shifts]))
    total = 0.0
    for members in groups.values():
        centre = np.mean([m.mean(axis=0) for m in members], axis=0)
        total += sum(float(np.sum((m[0] - centre) ** 2)) for m in members)
    return float(np.sqrt(total)) / scale


@dataclasses.dataclass(frozen=True)
class LastLayerRank:
    """The outputs' ranks against the last layer's width (:func:`last_layer_residual`).

    Attributes
    ----------
    width : int
        ``n_{L-1}``, the channels the last layer reads.
    factor : int
        The up-sampling factor ``s`` before the last layer (1 without up-sampling).
    coarse_shape : tuple of int
        The grid of the classes ``m mod coarse_shape`` of output frequencies (the last
        layer's image without up-sampling, so each class is one frequency; ``()`` with
        the average-pool head, whose pooled outputs form one class).
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

    width: int
    factor: int
    coarse_shape: tuple[int, ...]
    bias: bool
    classes: tuple[tuple[int, ...], ...]
    singular_values: tuple[tuple[float, ...], ...]
    scale: float

    def _allowed(self, width: int, cls: tuple[int, ...]) -> int:
        return width + int(self.bias and not any(cls))

    def _lost(self, width: int, i: int) -> float:
        beyond = self.singular_values[i][self._allowed(width, self.classes[i]):]
        return float(np.sum(np.square(beyond)))

    @property
    def residual(self) -> float:
        """Certified: no network of the architecture reproduces the data to a smaller
        relative residual ``||f(X) - Y|| / ||Y||`` (``residual_at(width)``)."""
        return self.residual_at(self.width)

    def residual_at(self, width: int) -> float:
        """Certified least relative residual with ``width`` channels into the last layer."""
        tail = sum(self._lost(width, i) for i in range(len(self.classes)))
        margin = settings.FOLDED_RANK_ROUNDOFF * np.finfo(float).eps
        return max(0.0, float(np.sqrt(tail) / self.scale - margin))

    def width_needed(self, tol: float) -> int:
        """Smallest width whose certified residual is at most ``tol`` (necessary only)."""
        width = self.width
        while self.residual_at(width) > tol:
            width += 1
        return width

    def _structure(self) -> str:
        if not self.coarse_shape:
            return "the average-pool head maps the pooled channels affinely, so the outputs have"
        if self.factor == 1:
            return ("at each output frequency m the last convolution mixes the channels' "
                    "coefficients at m alone, so the outputs at m have")
        return (f"the up-sampling by {self.factor} before the last layer leaves it images of "
                f"{self.coarse_shape} pixels with zeros between, so the outputs' frequencies "
                f"fold into {len(self.classes)} classes m mod {self.coarse_shape}, and each "
                "class has")

    def _bias_note(self) -> str:
        if not self.coarse_shape:
            return " (one more through the output bias)"
        return f" (one more at {'m' if self.factor == 1 else 'class'} = 0, through the output bias)"

    def describe(self, tol: float, layer: int) -> str:
        """Why no network reaches ``tol``: the rule, the value and the width it needs."""
        worst = self.classes[max(range(len(self.classes)), key=lambda i: self._lost(self.width, i))]
        label = worst[0] if len(worst) == 1 else worst
        where = f" (most at {'m' if self.factor == 1 else 'class'} = {label})" if worst else ""
        return (f"channels[{layer}] = {self.width} is too narrow for these outputs: "
                f"{self._structure()} rank at most {self.width} over the samples"
                + (self._bias_note() if self.bias else "")
                + f"; the data need more{where}, so no network of this architecture reaches a "
                f"relative residual below {self.residual:.3g} > tol = {tol:g}; use "
                f"channels[{layer}] >= {self.width_needed(tol)} (necessary, not sufficient)")


def _output_blocks(arch: Architecture, Y: np.ndarray, factor: int
                   ) -> tuple[tuple[int, ...], list[tuple[tuple[int, ...], np.ndarray]]]:
    """The class grid and, per class, the samples x (channel, frequency) block of ``Y``."""
    n = Y.shape[0]
    if arch.head == "avgpool":
        return (), [((), Y.reshape(n, -1))]
    shape = arch.layer_shapes[-1]
    coarse = tuple(d // factor for d in shape)
    spectrum = np.fft.fftn(Y, axes=tuple(range(2, Y.ndim)), norm="ortho")
    lead = (slice(None), slice(None))
    return coarse, [(cls, spectrum[lead + tuple(slice(r, None, c) for r, c in zip(cls, coarse))]
                     .reshape(n, -1)) for cls in np.ndindex(*coarse)]


def last_layer_residual(arch: Architecture, X: np.ndarray, Y: np.ndarray) -> LastLayerRank | None:
    """Certified least residual that the width of the last layer's input leaves.

    Parameters
    ----------
    arch : Architecture
        Any architecture of depth at least 2 (None for depth 1, whose closed form decides
        feasibility exactly).
    X : ndarray, shape (N, n_0, *spatial)
        The inputs (only their number matters: the bound holds for any inputs).
    Y : ndarray, shape (N, *output_shape)

    Returns
    -------
    LastLayerRank or None
        Its ``residual`` is at most ``||f(X) - Y|| / ||Y||`` for every network ``f`` of
        ``arch``, whatever its weights and activation.

    Notes
    -----
    The last layer is affine in what it reads, ``n_{L-1}`` channels.  A convolution
    computes ``hat y_o[m] = c' sum_c hat W_oc[m] hat z_c[m]`` per frequency, plus the bias
    at ``m = 0``.  When the layer reads the zero-inserted image of an ``h_c`` on ``d/s``
    pixels per axis (resample code ``-s`` last), ``hat z_c[m] = hat h_c[m mod d/s]``, so
    every frequency of one class ``rho`` is a combination of the same ``n_{L-1}`` numbers
    ``hat h_c[rho]``.  Either way, the samples x (output channel, frequency in the class)
    block of the outputs' spectrum factors through ``n_{L-1}`` columns: rank
    ``<= n_{L-1}``, one more at class 0 with a bias.  With the average-pool head the
    outputs are an affine map of the ``n_{L-1}`` pooled channels: one class, the same
    rank.  The spectrum is orthonormal and the classes are disjoint, so by Eckart-Young
    every network's squared residual is at least the sum over classes of the squared
    singular values of each block beyond that rank.  The bound ignores that the outputs
    are real and that what the last layer reads comes from a network, so it is not tight
    in general; the margin :data:`cbntheory.settings.FOLDED_RANK_ROUNDOFF` ``* eps``
    covers the round-off of the transform and the SVD.

    Examples
    --------
    The 12 shifts of a bump have rank 6 in each class ``m mod 2``: stride 6 needs 6
    channels into the last layer.

    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((12,), (1, 4, 4, 1), resample=(6, -6))
    >>> X = np.stack([np.roll(np.exp(-np.arange(12.0)), k)[None] for k in range(12)])
    >>> bound = last_layer_residual(arch, X, X)
    >>> bound.width, bound.width_needed(1e-6), bool(bound.residual > 0.1)
    (4, 6, True)

    Three one-hot classes through an average-pool head need two pooled channels.

    >>> pooled = cbn.Architecture((4,), (1, 3, 1, 3), head="avgpool")
    >>> last_layer_residual(pooled, np.ones((3, 1, 4)), np.eye(3)).width_needed(1e-6)
    2
    """
    if arch.depth < 2:
        return None
    code = (arch.resample or (1,))[-1] if arch.head is None else 1
    factor = -int(code) if code < -1 else 1
    Y = np.asarray(Y, dtype=float)
    scale = float(np.linalg.norm(Y))
    coarse, blocks = _output_blocks(arch, Y, factor)
    values = tuple(tuple(float(v) for v in np.linalg.svd(b, compute_uv=False)) for _, b in blocks)
    return LastLayerRank(width=int(arch.channels[-2]), factor=factor, coarse_shape=coarse,
                         bias=bool(arch.bias), classes=tuple(c for c, _ in blocks),
                         singular_values=values, scale=scale if scale > 0 else 1.0)


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
