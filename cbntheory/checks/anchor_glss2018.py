"""Anchor [GLSS2018] (exact): single-channel linear CNNs penalise Fourier coefficients by l_{2/L}.

Gunasekar, Lee, Soudry & Srebro (NeurIPS 2018) showed that depth-L linear convolutional
networks with full-width filters are biased towards the l_{2/L} "bridge" penalty of the
Fourier coefficients of the end-to-end filter.  With one channel, T1 says exactly this:

    R(A; L) = (L / (d c^2)) sum_m |A_m|^{2/L},    A_m = c * fftn(w)[m].

This script evaluates the right-hand side with ``numpy.fft`` alone and compares it with
``linear_cost``; it also checks that every layer of ``balanced_factorization`` has
Fourier multipliers of modulus |A_m|^{1/L} (again with numpy.fft), and that rescaling
the layers' multipliers frequency by frequency (a different factorisation of the same
filter) never costs less.  1D and 2D filters, generic and band-limited (exactly-zero
coefficients), both normalisations.
"""
from __future__ import annotations

import numpy as np

from cbntheory.checks.verdicts import CheckReport, compare_equal, compare_leq, summarize

from .. import fourier, settings
from ..operators import ConvOperator
from ..theory.linear import balanced_factorization, linear_cost


def multipliers(w: np.ndarray, normalization: str) -> np.ndarray:
    """``|c fftn(w)[m]|`` with round-off below ``eps * d * max`` set to zero (numpy.fft)."""
    c = 1.0 / np.sqrt(w.size) if normalization == "operator" else 1.0
    coef = np.abs(c * np.fft.fftn(w))
    return np.where(coef > coef.max(initial=0.0) * w.size * np.finfo(float).eps, coef, 0.0)


def bridge_penalty(w: np.ndarray, depth: int, normalization: str) -> float:
    """``(L/(d c^2)) sum_m |c fftn(w)[m]|^{2/L}`` for a single-channel filter ``w``."""
    c = 1.0 / np.sqrt(w.size) if normalization == "operator" else 1.0
    return depth / (w.size * c * c) * float(np.sum(multipliers(w, normalization) ** (2.0 / depth)))


def _filters(quick: bool, rng: np.random.Generator):
    yield "generic d=8", rng.standard_normal(8)
    yield "generic 4x6", rng.standard_normal((4, 6))
    p = np.arange(12)
    yield "band-limited d=12 (m = 0, +-1, +-4)", 1 + np.cos(2 * np.pi * p / 12) \
        - 0.3 * np.sin(8 * np.pi * p / 12)
    p1, p2 = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    yield "band-limited 6x6 (m = 0, +-(1, 2))", 2 + np.cos(2 * np.pi * (p1 + 2 * p2) / 6)
    if not quick:
        yield "generic d=31", rng.standard_normal(31)
        yield "generic 8x8", rng.standard_normal((8, 8))
        yield "impulse d=10 (all |A_m| equal)", np.eye(10)[3]


def _rescaled_norms(layers, rng, count):
    """Per-frequency positive rescalings of the layers with product one (conjugate-symmetric)."""
    L = len(layers)
    shape = layers[0].spatial_shape
    for _ in range(count):
        logs = rng.normal(scale=0.4, size=(L,) + shape)
        logs = 0.5 * (logs + fourier.conjugate(logs.T, len(shape)).T)  # symmetric in m
        logs -= logs.mean(axis=0)                                           # product of scales = 1
        total = 0.0
        for t, layer in zip(np.exp(logs), layers):
            blocks = layer.blocks * t[..., None, None]
            total += ConvOperator.from_blocks(blocks, layer.normalization).param_norm()
        yield total


def main(quick: bool = True) -> CheckReport:
    """Check the single-channel case of T1 against numpy.fft; returns a CheckReport."""
    rng = np.random.default_rng(2018)
    depths = [1, 2, 3, 6, 16] if quick else [1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32]
    rows = []
    for name, w in _filters(quick, rng):
        kernel = w[None, None]
        for norm in ("operator", "plain"):
            A = ConvOperator.from_kernel(kernel, norm)
            for L in depths:
                case = f"{name} {norm} L={L}"
                cost = linear_cost(A, L)
                rows.append(compare_equal(f"{case}: R vs l_(2/L) bridge penalty", cost.value,
                                          bridge_penalty(w, L, norm), depth=L))
                layers = balanced_factorization(A, L)
                target = multipliers(w, norm) ** (1.0 / L)
                spread = max(float(np.max(np.abs(multipliers(layer.kernel[0, 0], norm) - target)))
                             for layer in layers)
                rows.append(compare_leq(f"{case}: every layer has |multiplier| = |A_m|^(1/L) "
                                        "(max deviation)", spread, 0.0, depth=L))
                if L >= 2:
                    other = min(_rescaled_norms(layers, rng, 1 if quick else 4))
                    rows.append(compare_leq(f"{case}: R <= norm of a rescaled factorisation",
                                            cost.value, other, depth=L))
    return summarize(
        "GLSS2018", "single channel: R(A; L) = (L/(d c^2)) sum_m |A_m|^(2/L), the l_(2/L) bridge "
        "penalty on Fourier coefficients", "exact", rows,
        message="linear_cost and balanced_factorization against numpy.fft of the filter and of "
                f"each layer; tolerance rtol = {settings.INEQUALITY_RTOL:g}")
