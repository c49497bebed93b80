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
