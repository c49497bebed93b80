"""Explicit CBN constructions: networks ``h o (projections) o g`` certifying ``R <= L K + C``.

The upper side of the sandwich ``Rank_J <= R0 <= Rank_CBN`` (THEORY T3, [WJ2024]) comes
from a construction: a first part ``g`` maps the data to a non-negative equivariant
representation whose spectrum lives on few frequencies (``k_m`` directions at frequency
``m``); every middle layer applies the orthogonal projection onto that span, which fixes
the representation, passes the ReLU unchanged (the signal is non-negative) and costs
``sum_m k_m`` with the operator normalisation; a last part ``h`` decodes.  Its parameter
norm is ``L * sum_m k_m + C(g, h)``, a certified upper bound of the minimal norm
``R(f; Omega, L)`` because the network reproduces the data (checked by the tests).

Two constructions are implemented:

* :func:`orbit_construction` -- ``Omega`` = all circular shifts of one signal, ``f = id``
  (the shift autoencoders, the bump times a pattern);
* :func:`pool_construction` -- the invariant target ``mean_p relu(x[p] - x[p-1])``
  through the average-pool head.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> t = cbn.targets.get("shift_autoencoder_1d")
>>> con = t.construction(6)
>>> X, Y = t.data()
>>> bool(np.allclose(con.network(X), Y)), con.rank_cbn
(True, 3)
>>> bool(np.isclose(con.norm, 6 * 3 + con.constant))
True
"""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..operators import ConvOperator


@dataclasses.dataclass(frozen=True)
class CBNConstruction:
    """A network built from a CBN factorisation ``f = h o g`` and its cost split.

    Attributes
    ----------
    network : Network
        Reproduces the target on its domain; ``network.param_norm() == norm``.
    depth : int
        ``L``.
    cbn_vector : ndarray of int, shape spatial
        ``k_m`` of the bottleneck representation.
    norm : float
        ``||theta||^2`` of the network.
    rank_cbn : int
        ``sum_m k_m`` (the cost of one projection layer with the operator normalisation).
    layers : tuple of str
        What every layer does.
    bias_aware : bool
        True when the biases carry the constant frequency (the slope ``rank_cbn`` is
        then the CBN rank with biases, :func:`bias_orbit_construction`).
    """

    network: Network
    depth: int
    cbn_vector: np.ndarray
    norm: float
    rank_cbn: int
    layers: tuple[str, ...]
    bias_aware: bool = False

    @property
    def constant(self) -> float:
        """``C(g, h) = norm - L * rank_cbn``: the depth-independent part of the bound."""
        return self.norm - self.depth * self.rank_cbn


def projector(spatial_shape: Sequence[int], frequencies: Sequence[Sequence[int]],
              normalization: str = "operator") -> ConvOperator:
    """Single-channel orthogonal projection onto the given frequencies (closed under ``-m``).

    Examples
    --------
    >>> P = projector((8,), [(0,), (1,), (-1,)])
    >>> bool(np.isclose(P.param_norm(), 3.0)), bool(np.allclose((P @ P).kernel, P.kernel))
    (True, True)
    """
    shape = tuple(spatial_shape)
    mask = np.zeros(shape)
    for m in frequencies:
        mask[tuple(int(v) % n for v, n in zip(m, shape))] = 1.0
    if not np.array_equal(mask, fourier.conjugate(mask, len(shape))):
        raise V.fail("frequencies", "be closed under m -> -m (real projection)",
                     list(frequencies))
    return ConvOperator.from_blocks(mask[..., None, None].astype(complex), normalization)


def _embed(arch: Architecture, kernels: list[np.ndarray], biases: list[np.ndarray]) -> Network:
    """Place single-channel layers in channel 0 of the architecture (zeros elsewhere)."""
    ks = [np.zeros(s) for s in arch.kernel_shapes]
    for l, w in enumerate(kernels):
        ks[l][(slice(0, w.shape[0]), slice(0, w.shape[1])) + (Ellipsis,)] = w
    bs = [np.zeros(s) for s in arch.bias_shapes]
    if arch.bias:
        for l, b in enumerate(biases):
            bs[l][: b.size] = b
    elif any(np.any(b != 0) for b in biases):
        raise V.fail("architecture", "have biases for this construction", arch.bias)
    return Network(arch, ks, bs)


def _check_arch(arch: Architecture, head: str | None, min_depth: int) -> None:
    if not isinstance(arch, Architecture):
        raise V.fail("arch", "be a cbntheory.Architecture", arch)
    if arch.activation != "relu" or arch.head != head or arch.kernel_size is not None:
        raise V.fail("arch", f"be a ReLU architecture with full-size filters and head={head!r}",
                     arch)
    if any(r != 1 for r in arch.resample):  # type: ignore[union-attr]
        raise V.fail("arch", "have no resampling", arch.resample)
    if arch.depth < min_depth:
        raise V.fail("arch", f"have depth >= {min_depth}", arch.depth)


def _decoder(x0: np.ndarray, g0: np.ndarray, depth: int, K: int, beta: float,
             normalization: str) -> tuple[float, np.ndarray, float]:
    """Pick the ReLU threshold ``theta`` that minimises the balanced cost of the decoder.

    Returns ``(theta, V kernel, cost)``; ``V`` solves ``V * relu(g0 - theta) = x0`` per
    frequency, ``Vhat[m] = x0hat[m] / (c uhat[m])``.
    """
    best: tuple[float, np.ndarray, float] | None = None
    for theta, blocks in _thresholds(x0, g0, normalization):
        Vop = ConvOperator.from_blocks(blocks[..., None, None], normalization)
        vnorm = float(np.sqrt(Vop.param_norm()))
        if depth >= 3:
            cost = (depth - 2) * K + 2 * vnorm * np.sqrt(K + beta ** 2 + theta ** 2)
        else:
            cost = 2 * vnorm * np.sqrt(K + (beta - theta) ** 2)
        if best is None or cost < best[2]:
            best = (theta, np.array(Vop.kernel[0, 0]), float(cost))
    if best is None:  # pragma: no cover - a single active pixel always works
        raise V.fail("signal", "admit a ReLU decoder from its projection", x0.shape)
    return best


def orbit_construction(arch: Architecture, signal: Any,
                       frequencies: Sequence[Sequence[int]]) -> CBNConstruction:
    """CBN network for ``Omega`` = all circular shifts of ``signal`` and ``f = id``.

    Parameters
    ----------
    arch : Architecture
        ReLU, full-size filters, no head, biases, ``n_0 = n_L = 1``, depth ``L >= 2``.
    signal : array_like, shape arch.spatial_shape
        One point of the orbit (the data are all its shifts).
    frequencies : sequence of frequency tuples
        The set ``S`` kept by the bottleneck (closed under ``-m``, containing 0), e.g.
        ``[(0,), (1,), (-1,)]``; must generate the dual group when ``signal`` has
        trivial stabiliser.

    Returns
    -------
    CBNConstruction
        Layer 1: ``a (P x + beta)``; layers ``2..L-1``: ``P`` (layer ``L-1`` with bias
        ``-a theta``); layer ``L``: ``V / a``.  ``P`` is the projection onto ``S``.

    Notes
    -----
    ``g(x) = P x + beta`` with ``beta = max(0, -min_p (P x_0)[p])`` is equivariant and
    non-negative on the orbit, with ``k_m = 1`` on ``S`` (one channel).  ``P`` fixes
    ``g``, so the middle layers pass it through the ReLU unchanged, each costing
    ``K = |S|``.  The decoder ``h(z) = V * relu(z - theta)`` uses a threshold that lets
    through a few top pixels of ``g(x_0)``, so ``u = relu(g(x_0) - theta)`` has no zero
    Fourier coefficient where ``x_0`` has one, and ``Vhat[m] = x0hat[m] / (c uhat[m])``;
    by equivariance ``h(g(x_t)) = x_t`` for every shift.  Rescaling layer 1 (and the
    bias of layer ``L-1``) by ``a`` and the last layer by ``1/a`` with
    ``a^4 = ||V||^2 / (K + beta^2 + theta^2)`` gives, for ``L >= 3``,
    ``||theta||^2 = (L - 2) K + 2 ||V|| sqrt(K + beta^2 + theta^2)``; ``theta`` is chosen
    among the pixel levels to minimise it.
    """
    _check_arch(arch, None, 2)
    x0 = V.real_array("signal", signal)
    if x0.shape != arch.spatial_shape or arch.channels[0] != 1 or arch.channels[-1] != 1:
        raise V.fail("signal", f"have shape {arch.spatial_shape} for an architecture with "
                     "n_0 = n_L = 1", x0)
    L, norm = arch.depth, arch.normalization
    P = projector(arch.spatial_shape, frequencies, norm)
    K = int(round(float(np.sum(np.abs(P.blocks[..., 0, 0]) > 0.5))))
    raw = P.apply(x0[None, None])[0, 0]
    beta = max(0.0, -float(raw.min()))
    g0 = raw + beta
    theta, v, _ = _decoder(x0, g0, L, K, beta, norm)
    pk = np.array(P.kernel)
    vnorm2 = float(np.sum(v ** 2))
    head = K + beta ** 2 + theta ** 2 if L >= 3 else K + (beta - theta) ** 2
    a = (vnorm2 / head) ** 0.25
    v = v[None, None]
    if L == 2:
        kernels = [a * pk, v / a]
        biases = [np.array([a * (beta - theta)]), np.zeros(1)]
        layers: tuple[str, ...] = ("g and threshold: a (P x + beta - theta), ReLU",
                                   "decoder V / a")
    else:
        kernels = [a * pk] + [pk] * (L - 2) + [v / a]
        biases = ([np.array([a * beta])] + [np.zeros(1)] * (L - 3)
                  + [np.array([-a * theta]), np.zeros(1)])
        layers = (("g: a (P x + beta), ReLU",) + ("projection P, ReLU",) * (L - 3)
                  + ("projection P, bias -a theta, ReLU", "decoder V / a"))
    net = _embed(arch, kernels, biases)
    vec = (np.abs(P.blocks[..., 0, 0]) > 0.5).astype(int)
    return CBNConstruction(net, L, vec, net.param_norm(), K, layers)


def pool_construction(arch: Architecture) -> CBNConstruction:
    """CBN network for ``f(x) = mean_p relu(x[p] - x[p-1])`` through the avgpool head.

    Layer 1: ``a`` times the difference filter (``c W[0] = 1``, ``c W[1] = -1``), ReLU;
    layers ``2..L-1``: the projection onto the constant frequency (cost 1 each); pool;
    dense weight ``1/a``.  With ``a^4 = 1/||W||^2`` the norm is
    ``(L - 2) + 2 ||W|| = (L - 2) + 2 sqrt(2 / c^2)`` (``= L - 2 + 2 sqrt(2 d)`` with the
    operator normalisation); ``k = 1`` at ``m = 0`` only.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> t = cbn.targets.get("invariant_pool")
    >>> X, Y = t.data()
    >>> con = t.construction(4)
    >>> bool(np.allclose(con.network(X), Y)), bool(np.isclose(con.norm, 2 + 2 * np.sqrt(16)))
    (True, True)
    """
    _check_arch(arch, "avgpool", 2)
    if arch.ndim != 1 or arch.channels[0] != 1 or arch.channels[-1] != 1:
        raise V.fail("arch", "be 1D with n_0 = n_L = 1", arch.channels)
    L, (d,) = arch.depth, arch.spatial_shape
    c = arch.constants[0]
    w = np.zeros((1, 1, d))
    w[0, 0, 0], w[0, 0, 1] = 1.0 / c, -1.0 / c
    a = float(np.sum(w ** 2)) ** -0.25
    Q = projector((d,), [(0,)], arch.normalization)
    kernels = [a * w] + [np.array(Q.kernel)] * (L - 2) + [np.array([[1.0 / a]])]
    net = _embed(arch, kernels, [])
    vec = np.zeros(d, dtype=int)
    vec[0] = 1
    layers = (("difference filter a (x[p] - x[p-1]), ReLU",)
              + ("projection onto the constant, ReLU",) * (L - 2)
              + ("average pool, dense 1/a",))
    return CBNConstruction(net, L, vec, net.param_norm(), 1, layers)


def _profile(K: int, mu: np.ndarray, v2: float, last: int = 1) -> tuple[np.ndarray, float]:
    """Log-amplitudes ``t_1..t_n`` minimising ``F(t)`` of :func:`bias_orbit_construction`.

    ``F(t) = sum_l K_l exp(2 (t_l - t_{l-1})) + sum_l mu_l^2 exp(2 t_l) + v2 exp(-2 t_n)``
    with ``t_0 = 0``, ``K_l = K`` except ``K_n = last * K`` (the last hidden layer has
    ``last`` channels): a sum of exponentials of linear forms that span ``R^n``, hence
    strictly convex; it is also coercive when ``v2 > 0`` (a direction that lowers every
    increment and ``-t_n`` is zero).  Damped Newton with a tridiagonal Hessian, at most
    ``settings.CONSTRUCTION_PROFILE_ITERATIONS`` steps.  Returns ``(t, F(t))``.

    Examples
    --------
    >>> t, F = _profile(2, np.array([0.0]), 4.0)       # one layer: min 2 e^2t + 4 e^-2t
    >>> bool(np.isclose(F, 2 * np.sqrt(8))), bool(np.isclose(np.exp(4 * t[0]), 2.0))
    (True, True)
    """
    n = mu.size
    w2 = mu ** 2
    weights = np.full(n, float(K))
    weights[-1] *= last

    def parts(t: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        inc = weights * np.exp(2 * np.diff(np.concatenate(([0.0], t))))  # K_l e^{2 dt_l}
        bias = w2 * np.exp(2 * t)
        dec = v2 * np.exp(-2 * t[-1])
        F = float(inc.sum() + bias.sum() + dec)
        grad = 2 * inc + 2 * bias
        grad[:-1] -= 2 * inc[1:]
        grad[-1] -= 2 * dec
        H = np.diag(4 * inc + 4 * bias)
        H[np.arange(n - 1), np.arange(n - 1)] += 4 * inc[1:]
        H[np.arange(n - 1), np.arange(1, n)] = -4 * inc[1:]
        H[np.arange(1, n), np.arange(n - 1)] = -4 * inc[1:]
        H[-1, -1] += 4 * dec
        return F, grad, H

    t = np.zeros(n)
    F, grad, H = parts(t)
    for _ in range(settings.CONSTRUCTION_PROFILE_ITERATIONS):
        step = np.linalg.solve(H, -grad)
        decrement = float(-grad @ step)
        if decrement <= settings.CONSTRUCTION_PROFILE_DECREMENT:
            break
        size = 1.0
        while size > settings.CONSTRUCTION_PROFILE_MIN_STEP:
            F_new = parts(t + size * step)[0]
            if F_new <= F - 0.25 * size * decrement:
                break
            size /= 2
        t = t + size * step
        F, grad, H = parts(t)
    return t, F


def bias_orbit_construction(arch: Architecture, signal: Any,
                            frequencies: Sequence[Sequence[int]]) -> CBNConstruction:
    """Bias-aware CBN network for all circular shifts of ``signal`` and ``f = id``.

    With a bias per channel the constant frequency need not be carried by the weights:
    the middle layers project onto ``S \\ {0}`` (cost ``K' = |S| - 1`` each with the
    operator normalisation) and their biases add back the constant that keeps the
    signal non-negative; an amplitude profile across the layers keeps the biases' total
    cost bounded.

    Parameters
    ----------
    arch : Architecture
        ReLU, full-size filters, no head, with biases, ``n_0 = n_L = 1``, ``L >= 2``.
    signal : array_like, shape arch.spatial_shape
        One point of the orbit.
    frequencies : sequence of frequency tuples
        The set ``S`` (closed under ``-m``; 0 is dropped); its non-zero elements must
        generate the dual group.

    Returns
    -------
    CBNConstruction
        ``rank_cbn = K'``, ``cbn_vector`` the indicator of ``S \\ {0}``, ``bias_aware``.

    Notes
    -----
    Hidden layer ``l < L - 1`` computes ``s_l relu(u + mu)`` on the orbit (``u = P' x_0``,
    ``P'`` the projection onto ``S \\ {0}``, ``mu = -min u``): kernel ``(s_l / s_{l-1}) P'``,
    bias ``s_l mu``.  The last hidden layer has one channel per threshold ``theta_j`` (all
    levels of ``g_0 = u + mu`` and, when the width allows, all pairs are tried) computing
    ``s_{L-1} relu(g_0 - theta_j)``; the decoder ``V / s_{L-1}`` is the least-norm
    solution of ``sum_j V_j * relu(g_0 - theta_j) = x_0`` at the non-zero frequencies, and
    the mean of ``x_0`` is the least-norm mix of its constant frequency and its bias.  The
    norm is convex in ``t_l = log s_l`` and minimised exactly (:func:`_profile`); the
    minimum is ``K' L + C`` with ``C`` bounded in ``L`` (docs/theory.md, T3): the slope
    ``K'`` holds by construction.

    Examples
    --------
    >>> import cbntheory as cbn
    >>> t = cbn.targets.get("shift_autoencoder_1d")
    >>> con = t.construction(16, bias_aware=True)
    >>> X, Y = t.data()
    >>> bool(np.allclose(con.network(X), Y)), con.rank_cbn, bool(con.norm <= 44)
    (True, 2, True)
    """
    _check_arch(arch, None, 2)
    if not arch.bias:
        raise V.fail("arch", "have biases for the bias-aware construction", arch.bias)
    x0 = V.real_array("signal", signal)
    if x0.shape != arch.spatial_shape or arch.channels[0] != 1 or arch.channels[-1] != 1:
        raise V.fail("signal", f"have shape {arch.spatial_shape} for an architecture with "
                     "n_0 = n_L = 1", x0)
    nonzero = [m for m in frequencies if any(int(v) % n for v, n in zip(m, arch.spatial_shape))]
    P = projector(arch.spatial_shape, nonzero, arch.normalization)
    K = int(round(float(np.sum(np.abs(P.blocks[..., 0, 0]) > 0.5))))
    u = P.apply(x0[None, None])[0, 0]
    mu = -float(u.min())
    beta = 1.0 if arch.penalize_bias else 0.0
    n, g0 = arch.depth - 1, u + mu
    levels = _threshold_levels(g0)
    sets: list[tuple[float, ...]] = [(t,) for t in levels]
    if arch.channels[-2] >= settings.CONSTRUCTION_MAX_THRESHOLDS:
        sets += list(itertools.combinations(levels, settings.CONSTRUCTION_MAX_THRESHOLDS))
    best = None
    for thetas in sets:
        blocks = _decoder_blocks(x0, g0, thetas)
        if blocks is None:
            continue
        v2 = float(np.sum(np.abs(blocks[..., 0, :]) ** 2)
                   - np.sum(np.abs(blocks[(0,) * x0.ndim]) ** 2))  # the mean: via the bias
        mus = np.full(n, np.sqrt(beta) * mu)
        mus[-1] = np.sqrt(beta * sum((mu - th) ** 2 for th in thetas))
        t, F = _profile(K, mus, v2, last=len(thetas))
        if best is None or F < best[0]:
            best = (F, thetas, blocks, t)
    if best is None:  # pragma: no cover - a single active pixel always works
        raise V.fail("signal", "admit a ReLU decoder from its projection", x0.shape)
    _, thetas, blocks, t = best
    return _assemble_bias(arch, x0, P, K, mu, thetas, blocks, np.exp(t))


def _threshold_levels(g0: np.ndarray) -> list[float]:
    """Candidate ReLU thresholds: just above every level of ``g0`` but the lowest, highest first.

    A threshold sits ``CONSTRUCTION_LEVEL_OFFSET`` of the level spread above a pixel value,
    so that ``relu(g0 - theta)`` lets through the pixels above that level and round-off
    cannot put a pixel on the wrong side.
    """
    levels = np.unique(np.round(g0, settings.CONSTRUCTION_LEVEL_DECIMALS))[::-1]
    spread = float(levels[0] - levels[-1])
    return [float(nxt) + settings.CONSTRUCTION_LEVEL_OFFSET * spread for nxt in levels[1:]]


def _decoder_blocks(x0: np.ndarray, g0: np.ndarray,
                    thetas: Sequence[float]) -> np.ndarray | None:
    """Least-norm multipliers ``A_m`` (``(*spatial, 1, J)``): ``sum_j A_mj uhat_j[m] = x0hat[m]``.

    ``u_j = relu(g0 - theta_j)``; per frequency the least-Frobenius-norm solution is
    ``A_mj = conj(uhat_j[m]) x0hat[m] / sum_j |uhat_j[m]|^2`` (0 where ``x0hat`` vanishes).
    None when some frequency that ``x0`` uses is missing from every ``u_j``.
    """
    axes = tuple(range(x0.ndim))
    xhat = np.fft.fftn(x0, axes=axes)
    need = np.abs(xhat) > settings.CONSTRUCTION_SUPPORT_RTOL * np.abs(xhat).max()
    U = np.stack([np.fft.fftn(np.maximum(g0 - t, 0.0), axes=axes) for t in thetas], axis=-1)
    energy = np.sum(np.abs(U) ** 2, axis=-1)
    if np.any(energy[need] <= settings.CONSTRUCTION_SUPPORT_RTOL ** 2 * energy.max()):
        return None
    gain = np.where(need, xhat / np.where(need, energy, 1.0), 0.0)
    return (np.conj(U) * gain[..., None])[..., None, :]


def _thresholds(x0: np.ndarray, g0: np.ndarray,
                normalization: str) -> Iterator[tuple[float, np.ndarray]]:
    """Every admissible single ReLU threshold of a decoder from ``g0`` to ``x0``, with its blocks.

    Yields ``(theta, blocks)`` with ``blocks[m] = x0hat[m] / uhat[m]`` (0 where ``x0hat``
    vanishes), ``u = relu(g0 - theta)``: the per-frequency gains of ``V`` with ``V * u = x0``.
    """
    for theta in _threshold_levels(g0):
        blocks = _decoder_blocks(x0, g0, [theta])
        if blocks is not None:
            yield theta, blocks[..., 0, 0]


def _assemble_bias(arch: Architecture, x0: np.ndarray, P: ConvOperator, K: int, mu: float,
                   thetas: Sequence[float], blocks: np.ndarray,
                   s: np.ndarray) -> CBNConstruction:
    """The network of :func:`bias_orbit_construction` from its thresholds and amplitudes."""
    n, norm, J = s.size, arch.normalization, len(thetas)
    dc = (0,) * x0.ndim
    ac_blocks = blocks.copy()
    ac_blocks[dc] = 0.0
    dc_blocks = np.zeros_like(blocks)
    dc_blocks[dc] = blocks[dc]
    v_ac = np.array(ConvOperator.from_blocks(ac_blocks, norm).kernel)
    v_dc = np.array(ConvOperator.from_blocks(dc_blocks, norm).kernel)
    mean = float(x0.mean())
    a = float(np.sum(v_dc ** 2)) / s[-1] ** 2                # cost of the mean through V
    b = mean ** 2 if arch.penalize_bias else 0.0             # ... and through the bias
    lam = b / (a + b) if a + b > 0 else 1.0                  # least-norm mix of the two
    pk = np.array(P.kernel)
    ratios = s / np.concatenate(([1.0], s[:-1]))
    kernels = [r * pk for r in ratios[:-1]] + [ratios[-1] * np.concatenate([pk] * J, axis=0)]
    kernels.append((v_ac + lam * v_dc) / s[-1])
    biases = [np.array([sl * mu]) for sl in s[:-1]]
    biases += [s[-1] * (mu - np.asarray(thetas, dtype=float)), np.array([(1 - lam) * mean])]
    net = _embed(arch, kernels, biases)
    vec = (np.abs(P.blocks[..., 0, 0]) > 0.5).astype(int)
    layers = (("g: s_1 (P' x + mu), ReLU",) * (n > 1)
              + ("bias shift: s_l (P' z / s_(l-1) + mu), ReLU",) * max(n - 2, 0)
              + (f"{J} threshold(s): s_(L-1) (P' z / s_(L-2) + mu - theta_j), ReLU",)
              + ("decoder V / s_(L-1) + mean bias",))
    return CBNConstruction(network=net, depth=arch.depth, cbn_vector=vec,
                           norm=net.param_norm(), rank_cbn=K, layers=layers, bias_aware=True)
