"""Preparation steps of the ReLU minimal-norm solver (:mod:`cbntheory.solvers.relu`).

Four exact, solver-independent pieces:

* :func:`check_data` / :func:`check_target`: shapes of ``(X, Y)`` and agreement of a
  target network with the architecture (input channels, spatial shape, output shape);
* :func:`orbit_residual`: a certificate of infeasibility.  Every network of a
  translation-equivariant architecture maps a circular shift of an input to the same
  shift of its output (to the output itself with the average-pool head), so inputs in
  one shift orbit constrain each other's outputs; the smallest relative residual any
  network can reach on the data is at least the distance of ``Y`` to the consistent
  outputs, computed here exactly;
* :func:`embed`: a target network written in a (wider, larger-window) architecture
  without changing its function or its norm (zero channels, zero taps);
* :func:`rebalance`: the positive rescaling of the layers that keeps the function and
  minimises the parameter norm (ReLU and the identity are positively homogeneous);
* :func:`conditional_t2`: the Jacobian bound T2 of a target network at the samples, valid
  only under the assumption that the network must equal the target on an open set.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (1, 4, 1))
>>> net = arch.init(rng=0)
>>> x = np.random.default_rng(1).standard_normal((3, 1, 6))
>>> better = rebalance(net)
>>> bool(np.allclose(better(x), net(x))), better.param_norm() <= net.param_norm()
(True, True)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..errors import ValidationError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..theory.bounds import jacobian_cost


# ---------------------------------------------------------------------- data and target
def check_data(arch: Architecture, X: object, Y: object) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as ``(N, n_0, *spatial)`` and ``Y`` as ``(N, *arch.output_shape)``, finite floats.

    Raises
    ------
    ValidationError
        Wrong ranks or shapes, NaN/inf, complex or empty arrays.
    """
    Xa = V.real_array("X", X)
    if Xa.ndim != arch.ndim + 2 or Xa.shape[1:] != arch.input_shape:
        raise V.fail("X", f"have shape (N, {', '.join(map(str, arch.input_shape))}) (batch, "
                     "channels n_0, *spatial_shape)", Xa)
    Ya = V.real_array("Y", Y)
    want = (Xa.shape[0],) + arch.output_shape
    if Ya.shape != want:
        if Ya.shape == want[:1] and arch.output_shape == (1,):
            Ya = Ya.reshape(want)  # (N,) for a scalar output
        else:
            raise V.fail("Y", f"have shape {want} (batch, *output_shape of the architecture)",
                         Ya)
    return Xa, Ya


def check_target(arch: Architecture, target: object) -> Network:
    """Refuse a target whose inputs or outputs do not match the architecture's.

    Raises
    ------
    ValidationError
        If ``target`` is not a Network, or its input shape ``(n_0, *spatial)`` or output
        shape differs from the architecture's (the message gives both).
    """
    if not isinstance(target, Network):
        raise V.fail("target", "be a cbntheory.Network for a ReLU architecture", target)
    ta = target.architecture
    if ta.input_shape != arch.input_shape:
        raise ValidationError(
            f"target must take inputs of the architecture's shape (n_0, *spatial) = "
            f"{arch.input_shape}; got a target with input shape {ta.input_shape} "
            f"(channels {ta.channels[0]}, spatial shape {ta.spatial_shape})")
    if ta.output_shape != arch.output_shape:
        raise ValidationError(
            f"target must have the architecture's output shape {arch.output_shape} "
            f"(n_L = {arch.channels[-1]}, head {arch.head!r}); got a target with output shape "
            f"{ta.output_shape} (n_L = {ta.channels[-1]}, head {ta.head!r})")
    return target


# ---------------------------------------------------------------------- orbit certificate
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


# ---------------------------------------------------------------------- embedding
def embed(target: Network, arch: Architecture) -> tuple[Network | None, str]:
    """The target's function written in ``arch`` (same norm), or None and the reason.

    Channels beyond the target's widths get zero weights; the target's taps must lie in
    the window of ``arch``; kernels are rescaled when the normalisations differ
    (``c_target W = c_arch W'``).  Depth, spatial shapes, head, resampling and
    activation must agree.
    """
    ta = target.architecture
    for name in ("depth", "spatial_shape", "head", "resample", "activation"):
        if getattr(ta, name) != getattr(arch, name):
            return None, (f"the target's {name} ({getattr(ta, name)!r}) differs from the "
                          f"architecture's ({getattr(arch, name)!r})")
    if any(t > a for t, a in zip(ta.channels, arch.channels)):
        return None, f"the target's widths {ta.channels} exceed the architecture's {arch.channels}"
    if ta.bias and not arch.bias and any(np.any(b != 0) for b in target.biases):
        return None, "the target has non-zero biases and the architecture none"
    kernels = []
    for l, (w, shp) in enumerate(zip(target.kernels, arch.kernel_shapes)):
        out = np.zeros(shp)
        if l < arch.n_conv:
            w = w * (ta.constants[l] / arch.constants[l])
            if np.any(w[..., ~arch.windows[l]] != 0):
                return None, (f"the target's layer {l} has taps outside the window of "
                              f"kernel_size={arch.kernel_size}")
        out[tuple(slice(0, n) for n in w.shape)] = w
        kernels.append(out)
    biases = []
    for l, shp in enumerate(arch.bias_shapes):
        b = np.zeros(shp)
        if ta.bias:
            b[:ta.channels[l + 1]] = target.biases[l]
        biases.append(b)
    return Network(arch, kernels, biases), ""


# ---------------------------------------------------------------------- rebalancing
def _balance_logs(w: np.ndarray, beta: np.ndarray, iters: int = 60) -> np.ndarray:
    """``t_1..t_{L-1}`` minimising ``sum_l w_l e^{2(t_l - t_{l-1})} + sum_l beta_l e^{2 t_l}``.

    ``t_0 = t_L = 0``.  The function is convex (sums of exponentials of linear forms)
    and strictly so when every ``w_l > 0``; damped Newton from the bias-free optimum.
    """
    L = len(w)
    logw = np.log(w)
    s = 0.5 * (np.mean(logw) - logw)           # a_l^2 w_l equal, sum_l s_l = 0
    t = np.cumsum(s)[:-1]

    def parts(t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        full = np.concatenate([[0.0], t, [0.0]])
        e = w * np.exp(2.0 * np.diff(full))       # layer terms, l = 1..L
        eb = beta[:-1] * np.exp(2.0 * t)          # bias terms of layers 1..L-1
        val = float(e.sum() + eb.sum() + beta[-1])
        grad = 2.0 * (e[:-1] - e[1:]) + 2.0 * eb
        hess = np.diag(4.0 * (e[:-1] + e[1:]) + 4.0 * eb)
        off = -4.0 * e[1:-1]
        hess[np.arange(L - 2), np.arange(1, L - 1)] = off
        hess[np.arange(1, L - 1), np.arange(L - 2)] = off
        return val, grad, hess

    val, grad, hess = parts(t)
    for _ in range(iters):
        step = np.linalg.solve(hess, -grad)
        dec = float(-grad @ step)
        if dec <= 1e-15 * max(1.0, val):
            break
        alpha = 1.0
        while alpha > 1e-10:
            cand = t + alpha * step
            cval, cgrad, chess = parts(cand)
            if cval <= val - 0.25 * alpha * dec:
                break
            alpha *= 0.5
        else:
            break
        t, val, grad, hess = cand, cval, cgrad, chess
    return t


def rebalance(net: Network) -> Network:
    """Same function, smallest norm over positive rescalings of the layers.

    Parameters
    ----------
    net : Network
        ReLU or linear activation (both positively homogeneous).

    Returns
    -------
    Network
        Layer ``l`` multiplied by ``a_l > 0`` and its bias by ``a_1 ... a_l``, with
        ``a_1 ... a_L = 1``, the ``a_l`` minimising the parameter norm; the input network
        itself when some layer is zero (the infimum is then not attained).

    Notes
    -----
    With ``t_l = log(a_1 ... a_l)`` the norm is ``sum_l ||W_l||^2 e^{2(t_l - t_{l-1})} +
    beta sum_l ||b_l||^2 e^{2 t_l}``, convex in ``t``; without (penalised) biases the
    optimum makes every ``a_l^2 ||W_l||^2`` equal to their geometric mean.
    """
    arch = net.architecture
    w = np.array([float(np.sum(k * k)) for k in net.kernels])
    if arch.depth == 1 or np.any(w <= 0) or not np.all(np.isfinite(w)):
        return net
    beta = np.zeros(arch.depth)
    if arch.bias and arch.penalize_bias:
        beta = np.array([float(np.sum(b * b)) for b in net.biases])
    t = _balance_logs(w, beta)
    full = np.concatenate([[0.0], t, [0.0]])
    a = np.exp(np.diff(full))
    kernels = [k * a[l] for l, k in enumerate(net.kernels)]
    biases = [b * np.exp(full[l + 1]) for l, b in enumerate(net.biases)]
    out = Network(arch, kernels, biases, seed=net.seed)
    return out if out.param_norm() <= net.param_norm() else net


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
