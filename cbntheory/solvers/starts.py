"""Starting points of the numerical routes, and the rescalings that keep a network's function.

One vocabulary, :data:`INITS`, for the linear and the ReLU routes: "gaussian" (He),
"identity" (middle convolutions the identity plus noise: a deep network that starts as a
two-layer one), "orthogonal" (linear networks: Haar-random unitary blocks per frequency,
or an orthogonal centre tap for ``k`` taps; with a reference map the sign of ``det`` at
the real frequencies is matched, since real invertible blocks cannot change it), "target"
(a network written in the architecture, :func:`warm_start`) and "auto".  Random starts
are scaled so that the outputs have the size of ``Y``; :func:`rebalance` is the positive
rescaling of the layers that keeps the function and lowers the norm.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((6,), (1, 4, 4, 4, 1))
>>> X = np.random.default_rng(0).standard_normal((3, 1, 6))
>>> Y = np.random.default_rng(1).standard_normal((3, 1, 6))
>>> net = cbn.Network.from_vector(arch, random_start(arch, 0, X, Y, "identity"))
>>> bool(np.isclose(np.linalg.norm(net(X)), np.linalg.norm(Y)))
True
>>> better = rebalance(net)
>>> bool(np.allclose(better(X), net(X))), better.param_norm() <= net.param_norm()
(True, True)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..nets.architecture import Architecture
from ..nets.network import Network

__all__ = ["INITS", "RANDOM_INITS", "embed", "initial_vector", "orthogonal_full",
           "orthogonal_taps", "random_start", "rebalance", "scale_to_data", "start_kind",
           "warm_start", "warm_starts"]

#: The random starts (scaled to the data, then rebalanced: :func:`random_start`).
RANDOM_INITS = ("gaussian", "identity")

#: Initialisation strategies of both numerical routes (see the module notes).
INITS = ("auto", "gaussian", "identity", "orthogonal", "target")

#: The ones the ReLU route takes (orthogonal starts are built for linear networks).
RELU_INITS = tuple(i for i in INITS if i != "orthogonal")


# ------------------------------------------------------------------ random starts
def initial_vector(arch: Architecture, rng: np.random.Generator, *, init: str = "auto",
                   reference: np.ndarray | None = None) -> np.ndarray:
    """A random starting point of the flat parameter vector.

    Parameters
    ----------
    arch : Architecture
    rng : numpy.random.Generator
    init : {"auto", "orthogonal", "gaussian", "identity"}
        See the module notes; "auto" is orthogonal where it applies (linear networks
        without head or resampling), else Gaussian.
    reference : ndarray, shape (*spatial, n_L, n_0), optional
        Blocks of a map the network should reach: with equal widths, the orthogonal
        start matches the sign of its ``det`` at the real frequencies (module notes).

    Returns
    -------
    ndarray, shape (arch.n_free,)
        Biases zero.
    """
    if init not in INITS or init == "target":
        raise V.fail("init", f"be one of {INITS[:-1]} (a 'target' start needs a target "
                     "network: the ReLU route)", init)
    plain = (arch.activation == "linear" and arch.head is None
             and all(r == 1 for r in arch.resample))  # type: ignore[union-attr]
    if init == "orthogonal" and not plain:
        raise V.fail("init", "be 'gaussian' or 'auto' for this architecture (orthogonal "
                     "initialisation needs a linear network without head or resampling)", init)
    if init in RANDOM_INITS or not plain:
        theta = arch.init(rng=rng).to_vector()
        return _identity_middle(arch, theta) if init == "identity" else theta
    square = len(set(arch.channels)) == 1
    ref = reference if square else None
    full = arch.kernel_size is None or all(bool(np.all(w)) for w in arch.windows)
    kernels = (orthogonal_full if full else orthogonal_taps)(arch, rng, ref)
    biases = [np.zeros(s) for s in arch.bias_shapes]
    return Network(arch, kernels, biases).to_vector()


def scale_to_data(arch: Architecture, theta: np.ndarray,
                  constraint: Callable[..., Any]) -> np.ndarray:
    """Scale the kernels so that ``||f_theta(X)|| = ||Y||`` (homogeneity in the kernels).

    ``constraint`` is the residual map of :mod:`cbntheory.solvers.constraints`.
    """
    r_theta, _ = constraint(theta)
    r_zero, _ = constraint(np.zeros_like(theta))
    ratio = float(np.linalg.norm(r_theta - r_zero))  # ||f_theta(X) - f_0(X)|| / ||Y||
    if not np.isfinite(ratio) or ratio <= 0:
        return theta
    return _scale_kernels(arch, theta.copy(), ratio ** (-1.0 / arch.depth))


def _scale_kernels(arch: Architecture, theta: np.ndarray, factor: float) -> np.ndarray:
    """Multiply the kernel entries of ``theta`` by ``factor`` in place (biases unchanged)."""
    for name, sl in arch.vector_layout:
        if name.startswith("kernels"):
            theta[sl] *= factor
    return theta



def _identity_middle(arch: Architecture, theta: np.ndarray) -> np.ndarray:
    """``theta`` with every middle convolution the identity on ``min(C_in, C_out)`` channels
    (centre tap ``1/c_l``) plus its He draw times ``settings.IDENTITY_INIT_NOISE``."""
    net = Network.from_vector(arch, theta)
    kernels = net.kernels
    for l in range(1, arch.n_conv - 1):
        k = kernels[l] * settings.IDENTITY_INIT_NOISE
        for i in range(min(k.shape[:2])):
            k[(i, i) + (0,) * arch.ndim] += 1.0 / arch.constants[l]
        kernels[l] = k
    return Network(arch, kernels, net.biases).to_vector()


def random_start(arch: Architecture, seed: int, X: np.ndarray, Y: np.ndarray,
                 kind: str) -> np.ndarray:
    """Random start ("gaussian" or "identity") scaled so that ``||f_theta(X)|| = ||Y||``,
    then rebalanced.  In an identity start the activations after the first ReLU are
    non-negative and pass the middle layers unchanged: a well-conditioned two-layer start.
    """
    theta = initial_vector(arch, np.random.default_rng(seed), init=kind)
    out = float(np.linalg.norm(Network.from_vector(arch, theta)(X)))  # biases are zero
    if out > 0 and np.isfinite(out):
        _scale_kernels(arch, theta, (float(np.linalg.norm(Y)) / out) ** (1.0 / arch.depth))
    return rebalance(Network.from_vector(arch, theta)).to_vector()


def start_kind(arch: Architecture, init: Any, j: int) -> str:
    """Random start of restart ``j``: "auto" alternates identity/Gaussian (deep ReLU nets)."""
    if init in RANDOM_INITS:
        return str(init)
    deep = arch.n_conv >= 3 and arch.activation == "relu"
    return "identity" if deep and j % 2 == 0 else "gaussian"

# ------------------------------------------------------------------ orthogonal starts
def _haar(rng: np.random.Generator, rows: int, cols: int, real: bool) -> np.ndarray:
    """A Haar-random (semi-)unitary ``rows x cols`` matrix (orthonormal rows or columns)."""
    n, k = max(rows, cols), min(rows, cols)
    z = rng.standard_normal((n, k))
    if not real:
        z = z + 1j * rng.standard_normal((n, k))
    q, r = np.linalg.qr(z)
    q = q * (np.diag(r) / np.abs(np.diag(r)))
    return q if rows >= cols else q.T


def _self_conjugate(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    mask = fourier.self_conjugate_mask(shape)
    return [tuple(int(i) for i in m) for m in zip(*np.nonzero(mask))]


def orthogonal_full(arch: Architecture, rng: np.random.Generator,
                    reference: np.ndarray | None) -> list[np.ndarray]:
    """Full-size kernels with Haar-random (semi-)unitary blocks at every frequency."""
    shape = arch.spatial_shape
    reps = fourier.representative_mask(shape)
    selfc = fourier.self_conjugate_mask(shape)
    kernels = []
    for l in range(arch.depth):
        co, ci = arch.channels[l + 1], arch.channels[l]
        blocks = np.zeros(shape + (co, ci), dtype=complex)
        for m in zip(*np.nonzero(reps)):
            blocks[m] = _haar(rng, co, ci, bool(selfc[m]))
        partner = ~reps
        blocks = np.where(partner[..., None, None], fourier.conjugate(blocks, len(shape)).conj(),
                          blocks)
        kernels.append(blocks)
    if reference is not None:  # match the sign of det at the real (self-conjugate) frequencies
        for m in _self_conjugate(shape):
            prod = np.eye(arch.channels[0])
            for b in kernels:
                prod = b[m].real @ prod
            want = np.sign(np.linalg.det(reference[m].real))
            if want != 0 and np.sign(np.linalg.det(prod)) != want:
                kernels[0][m][0] *= -1.0
    c = arch.constants[0]
    axes = tuple(range(len(shape)))
    out = []
    for b in kernels:
        k = np.fft.ifftn(b / c, axes=axes).real
        out.append(np.ascontiguousarray(np.moveaxis(k, (-2, -1), (0, 1))))
    return out


def orthogonal_taps(arch: Architecture, rng: np.random.Generator,
                    reference: np.ndarray | None) -> list[np.ndarray]:
    """Delta-orthogonal kernels (orthogonal matrix on the centre tap), parity best effort."""
    shape = arch.spatial_shape
    kernels = []
    for l, shp in enumerate(arch.kernel_shapes):
        k = np.zeros(shp)
        k[(slice(None), slice(None)) + (0,) * len(shape)] = (
            _haar(rng, shp[0], shp[1], True) / arch.constants[l])
        kernels.append(k)
    if reference is None:
        return kernels
    points = _self_conjugate(shape)
    want = np.array([np.sign(np.linalg.det(reference[m].real)) for m in points])
    base = np.sign(np.linalg.det(np.linalg.multi_dot(
        [k[(slice(None), slice(None)) + (0,) * len(shape)] for k in kernels[::-1]] +
        [np.eye(arch.channels[0])])))
    best, best_score = None, -1
    # shifting row 0 of layer 1 by -a pixels multiplies its block at m by
    # prod_j (-1)^(a_j [m_j != 0])
    for a in np.ndindex(*(2,) * len(shape)):
        if not arch.windows[0][tuple(-ai % s for ai, s in zip(a, shape))]:
            continue
        char = np.array([np.prod([(-1.0) ** (ai * (mj != 0)) for ai, mj in zip(a, m)])
                         for m in points])
        for flip in (1.0, -1.0):
            score = int(np.sum((base * char * flip == want) | (want == 0)))
            if score > best_score:
                best, best_score = (a, flip), score
    a, flip = best  # type: ignore[misc]
    if any(a):
        centre = kernels[0][(0, slice(None)) + (0,) * len(shape)].copy()
        kernels[0][(0, slice(None)) + (0,) * len(shape)] = 0.0
        kernels[0][(0, slice(None)) + tuple(-ai % s for ai, s in zip(a, shape))] = centre
    kernels[0][0] *= flip
    return kernels


# ------------------------------------------------------------------ warm starts
def warm_start(arch: Architecture, init: Any, target: Network | None
               ) -> tuple[Network, str] | None:
    """The network of the first restart (or None for a Gaussian start)."""
    if isinstance(init, Network):
        source, what = init, "the given network"
    elif init in RELU_INITS:
        if init in RANDOM_INITS or target is None:
            if init == "target":
                raise V.fail("init", "be 'auto', 'gaussian' or 'identity' without a target "
                             "network", init)
            return None
        source, what = target, "the target network"
    else:
        raise V.fail("init", f"be one of {RELU_INITS} or a Network", init)
    net, why = embed(source, arch)
    if net is None:
        if init == "auto":
            return None
        raise V.fail("init", f"be a network that fits the architecture ({why})", init)
    return rebalance(net), f"{what}, embedded and rebalanced"


def warm_starts(arch: Architecture, init: Any, target: Network | None
                ) -> list[tuple[Network, str]]:
    """The networks the first restarts start from, in order, each with a sentence.

    ``init`` is a name of :data:`RELU_INITS`, a Network, or a sequence of Networks (and
    ``(Network, sentence)`` pairs naming where each comes from, e.g. a construction or
    the best network of the neighbouring depth).  Every network must embed in ``arch``
    (:func:`embed`); it is rebalanced.  Names give at most one warm start
    (:func:`warm_start`).

    Examples
    --------
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((4,), (1, 3, 3, 1))
    >>> a, b = arch.init(rng=0), arch.init(rng=1)
    >>> [why for _, why in warm_starts(arch, [(a, "source A"), b], None)]
    ['source A, embedded and rebalanced', 'the given network 2, embedded and rebalanced']
    """
    if isinstance(init, (Network, str)):
        one = warm_start(arch, init, target)
        return [] if one is None else [one]
    if not isinstance(init, (list, tuple)) or not init:
        raise V.fail("init", f"be one of {RELU_INITS}, a Network or a non-empty sequence of "
                     "Networks", init)
    out = []
    for i, item in enumerate(init):
        net, what = item if isinstance(item, tuple) else (item, f"the given network {i + 1}")
        if not isinstance(net, Network):
            raise V.fail(f"init[{i}]", "be a Network or a (Network, str) pair", item)
        embedded, why = embed(net, arch)
        if embedded is None:
            raise V.fail(f"init[{i}]", f"be a network that fits the architecture ({why})", what)
        out.append((rebalance(embedded), f"{what}, embedded and rebalanced"))
    return out


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
        if dec <= settings.REBALANCE_DECREMENT_RTOL * max(1.0, val):
            break
        alpha = 1.0
        while alpha > settings.REBALANCE_MIN_STEP:
            cand = t + alpha * step
            cval, cgrad, chess = parts(cand)
            if cval <= val - settings.REBALANCE_ARMIJO * alpha * dec:
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
