"""Signals and data sets behind the built-in targets (:mod:`cbntheory.targets`).

Everything here is deterministic: fixed formulas or fixed seeds, so two calls return
equal arrays.  The digits of scikit-learn are loaded from the copy shipped inside the
scikit-learn package (no download); scikit-learn is the optional extra ``data``.
"""
from __future__ import annotations

import numpy as np

from ..errors import CBNError

#: Seed of every random draw made by the targets (inputs, subsampling).
TARGET_SEED = 20240208


def wrapped_distance(n: int, center: float = 0.0) -> np.ndarray:
    """Distance of every pixel ``0..n-1`` of the cycle ``Z_n`` to ``center``."""
    p = np.arange(n, dtype=float)
    diff = np.abs(p - center) % n
    return np.minimum(diff, n - diff)


def bump(spatial_shape: tuple[int, ...], width: float) -> np.ndarray:
    """A smooth non-negative bump centred at pixel 0: a product of wrapped Gaussians.

    Parameters
    ----------
    spatial_shape : tuple of int
        ``(d,)`` or ``(d1, d2)``.
    width : float
        Standard deviation ``sigma`` in pixels: ``exp(-dist^2 / (2 sigma^2))`` per axis.

    Returns
    -------
    ndarray, shape spatial_shape
        Maximum 1 at pixel 0, symmetric under ``p -> -p``.
    """
    out = np.ones(())
    for n in spatial_shape:
        axis = np.exp(-0.5 * (wrapped_distance(n) / width) ** 2)
        out = np.multiply.outer(out, axis)
    return np.asarray(out, dtype=float)


def all_shifts(signal: np.ndarray) -> np.ndarray:
    """Every circular shift of one single-channel signal, shape ``(d, 1, *spatial)``.

    Shifts are listed in C order of the shift vector ``t``: entry ``t`` is
    ``x[p] = signal[p - t]``.
    """
    shape = signal.shape
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    shifts = np.stack([g.ravel() for g in grids], axis=1)
    axes = tuple(range(len(shape)))
    return np.stack([np.roll(signal, tuple(int(v) for v in t), axis=axes)
                     for t in shifts])[:, None]


def shift_tangent_jacobians(X: np.ndarray) -> np.ndarray:
    """Jacobian of the identity along the shift orbits of ``X``: the tangent projectors.

    For ``f = id`` on the orbit of ``x`` under continuous (band-limited, Fourier) shifts,
    the derivative along the curve at ``x`` is ``d/dt x(. - t e_a)``, whose DFT is
    ``-2 pi i m_a / n_a * xhat[m]`` for every spatial axis ``a``; matching ``f`` on an open
    piece of the orbit fixes the Jacobian on their span ``T``, i.e. ``J P_T = P_T``.

    Parameters
    ----------
    X : ndarray, shape (N, 1, *spatial)

    Returns
    -------
    ndarray, shape (N, n, n) with ``n`` the input size: ``P_T`` per sample (rank = the
    number of axes along which ``x`` is not constant: ``Rank_J`` of the orbit targets).
    """
    X = np.asarray(X, dtype=float)
    shape = X.shape[2:]
    axes = tuple(range(1, 1 + len(shape)))
    n = int(np.prod(X.shape[1:]))
    out = np.zeros((X.shape[0], n, n))
    for i, x in enumerate(X):
        xh = np.fft.fftn(x, axes=axes)
        tangents = []
        for a, size in enumerate(shape):
            m = np.fft.fftfreq(size, 1.0 / size)  # signed frequencies
            m = m.reshape([1] + [-1 if b == a else 1 for b in range(len(shape))])
            tangents.append(np.real(np.fft.ifftn(-2j * np.pi * m / size * xh, axes=axes)).ravel())
        T = np.array(tangents).T
        u, sv, _ = np.linalg.svd(T, full_matrices=False)
        keep = u[:, sv > 1e-12 * max(1.0, float(sv.max(initial=0.0)))]
        out[i] = keep @ keep.T
    return out


def upward_jumps_jacobians(x: np.ndarray) -> np.ndarray:
    """Gradient of :func:`upward_jumps` at each input, shape ``(N, 1, d)`` (where differentiable).

    ``d/dx[p] (1/d) sum_q relu(x[q] - x[q-1]) = (1{x[p] > x[p-1]} - 1{x[p+1] > x[p]}) / d``;
    inputs with a tie ``x[p] = x[p-1]`` are not differentiable there (probability 0 for
    the Gaussian inputs of the target).
    """
    up = (x[:, 0, :] > np.roll(x[:, 0, :], 1, axis=-1)).astype(float)
    return ((up - np.roll(up, -1, axis=-1)) / x.shape[-1])[:, None, :]


def shape_times_pattern(d: int, width: float, carrier: int) -> np.ndarray:
    """A low-frequency bump times the high-frequency cosine ``cos(2 pi carrier p / d)``."""
    p = np.arange(d)
    return bump((d,), width) * np.cos(2.0 * np.pi * carrier * p / d)


def gaussian_inputs(n: int, shape: tuple[int, ...], seed: int = TARGET_SEED) -> np.ndarray:
    """``n`` standard normal inputs of shape ``shape`` from a fixed seed."""
    return np.random.default_rng(seed).standard_normal((n,) + tuple(shape))


def upward_jumps(x: np.ndarray) -> np.ndarray:
    """The translation-invariant ``f(x) = (1/d) sum_p relu(x[p] - x[p-1])``, shape ``(N, 1)``.

    ``x`` has shape ``(N, 1, d)``.
    """
    diff = x[:, 0, :] - np.roll(x[:, 0, :], 1, axis=-1)
    return np.maximum(diff, 0.0).mean(axis=-1, keepdims=True)


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 8x8 digits of scikit-learn scaled to [0, 1], shape ``(N, 1, 8, 8)``, and labels.

    Raises
    ------
    CBNError
        If scikit-learn is not installed (``pip install cbntheory[data]``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise CBNError("the digit targets need scikit-learn, which ships the 8x8 digits; "
                       "install it with `pip install cbntheory[data]` "
                       "(or `pip install scikit-learn`)") from exc
    images, labels = load_digits(return_X_y=True)
    return (np.asarray(images, dtype=float).reshape(-1, 1, 8, 8) / 16.0,
            np.asarray(labels, dtype=int))


def balanced_subsample(labels: np.ndarray, per_class: int, seed: int = TARGET_SEED
                       ) -> np.ndarray:
    """Indices of ``per_class`` examples of every label, drawn with a fixed seed, sorted."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(labels.size)
    picks = [order[labels[order] == c][:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(picks))
