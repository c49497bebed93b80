"""Certificates of the ReLU case that need no optimiser: infeasibility and the conditional T2 bound.

* :func:`orbit_residual`: every network of a translation-equivariant architecture maps a
  circular shift of an input to the same shift of its output (to the output itself with
  the average-pool head), so inputs in one shift orbit constrain each other's outputs;
  the smallest relative residual any network can reach on the data is at least the
  distance of ``Y`` to the consistent outputs, computed here exactly;
* :func:`conditional_t2`: the Jacobian bound T2 of a target network at the samples, valid
  only under the assumption that the network must equal the target on an open set.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import fourier, settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..theory.bounds import jacobian_cost

__all__ = ["conditional_t2", "orbit_residual", "t2_factor"]


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
    shifting = all(r == 1 for r in arch.resample)  # type: ignore[union-attr]
    pooled = arch.head == "avgpool"
    axes = tuple(range(1, 1 + arch.ndim))
    groups: dict[bytes, list[np.ndarray]] = {}
    for x, y in zip(X, Y):
        if shifting:
            key, shifts = _canonical(x, arch.ndim)
        else:
            key, shifts = np.ascontiguousarray(x).tobytes(), [(0,) * arch.ndim]
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


def t2_factor(arch: Architecture) -> float:
    """``1 / kappa`` with ``kappa = max_l d_l c_l^2`` over the layers (1 for the dense head)."""
    kappas = [1.0 / fourier.cost_factor(arch.normalization, s) for s in arch.layer_shapes]
    if arch.head == "avgpool":
        kappas.append(1.0)
    return 1.0 / max(kappas)


def conditional_t2(arch: Architecture, target: Network, X: np.ndarray,
                    points: int) -> dict[str, Any]:
    """T2 at up to ``points`` samples where the target is differentiable (see module notes)."""
    if arch.output_size * arch.input_size > settings.T2_MAX_JACOBIAN_ENTRIES:
        return {"value": None, "note": f"not computed: a dense Jacobian of {arch.output_size} x "
                f"{arch.input_size} entries exceeds settings.T2_MAX_JACOBIAN_ENTRIES"}
    factor = t2_factor(arch)
    best: dict[str, Any] = {"value": None, "note": "no sample where the target is "
                            "differentiable (a pre-activation at 0)"}
    pre = target.activations(X[:points], pre=True) if target.architecture.depth > 1 else []
    for i in range(min(points, X.shape[0])):
        margins = [float(np.min(np.abs(u[i]))) / max(1e-300, float(np.max(np.abs(u[i]))))
                   for u in pre]
        if margins and min(margins) <= settings.T2_PREACTIVATION_RTOL:
            continue
        cost = jacobian_cost(target.jacobian(X[i]), arch.depth, factor=factor)
        if best["value"] is None or cost.value > best["value"]:
            best = {"value": cost.value, "sample": i, "rank": cost.rank,
                    "log_pdet": cost.log_pdet, "note": ""}
    best["condition"] = ("valid only for R(target; U, L) with U an open set around the samples "
                         "on which the network must equal the target; NOT a lower bound of the "
                         "finite-data problem whose upper bound is returned")
    return best
