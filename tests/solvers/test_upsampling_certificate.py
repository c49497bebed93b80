"""The folded-rank certificate of an up-sampling before the last layer.

``certificates.upsampling_residual`` claims that every network whose last convolution
reads a zero-inserted image leaves at least a certain residual.  It is checked here
against things it does not compute itself: the outputs of random networks, whose
folded blocks (by a DFT written as a finite sum) must have the claimed rank; a closed
form for the shifts of a bump, whose blocks have orthogonal columns; the best refit of
a network's last layer, by least squares on an explicitly built design, which no bound
may beat; and the solver, which must refuse such data before optimising.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from _bruteforce import dft, pixels

import cbntheory as cbn
from cbntheory.errors import InaccurateSolutionWarning
from cbntheory.solvers.certificates import upsampling_residual
from cbntheory.solvers.exact_fit import penultimate

ARCHS = [
    cbn.Architecture((12,), (1, 4, 4, 1), resample=(6, -6)),
    cbn.Architecture((12,), (2, 3, 3, 2), resample=(3, -3), bias=False),
    cbn.Architecture((12,), (1, 3, 1, 1), kernel_size=3, resample=(2, -2)),
    cbn.Architecture((6, 4), (1, 3, 3, 2), resample=(2, -2)),
    cbn.Architecture((8,), (1, 2, 2, 1, 1), resample=(1, 2, -2)),
]


def random_network(arch, seed):
    """Every weight and bias drawn: the bias directions are exercised too."""
    rng = np.random.default_rng(seed)
    return cbn.Network.from_vector(arch, rng.standard_normal(arch.n_free))


def folded_blocks(arch, Y):
    """Per class ``m mod (d/s)``: samples x (output channel, frequency) of the DFT of Y."""
    shape = arch.layer_shapes[-1]
    coarse = tuple(n // -arch.resample[-1] for n in shape)
    spectrum = dft(Y, shape) / np.sqrt(np.prod(shape))
    blocks = {}
    for m in pixels(shape):
        cls = tuple(mm % c for mm, c in zip(m, coarse))
        blocks.setdefault(cls, []).append(spectrum[(slice(None), slice(None)) + m])
    return {cls: np.concatenate(cols, axis=1) for cls, cols in blocks.items()}


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: f"{a.channels}-{a.resample}")
def test_network_outputs_have_the_folded_rank(arch):
    X = np.random.default_rng(1).standard_normal((20,) + arch.input_shape)
    for seed in range(3):
        Y = random_network(arch, seed)(X)
        for cls, block in folded_blocks(arch, Y).items():
            sv = np.linalg.svd(block, compute_uv=False)
            allowed = arch.channels[-2] + (arch.bias and not any(cls))
            assert np.all(sv[allowed:] <= 1e-10 * sv[0]), (cls, sv)
        assert upsampling_residual(arch, X, Y).residual == 0.0
    # the claim can fail: generic data have full rank per class, and then a residual
    Y = np.random.default_rng(2).standard_normal((20,) + arch.output_shape)
    assert upsampling_residual(arch, X, Y).residual > 0.1


def test_the_shifts_of_a_bump_in_closed_form():
    # Y = the 12 shifts of b: the block of class rho has the orthogonal columns
    # w^(-k m) b_hat[m] (m in the class), so its singular values are sqrt(12) |b_hat[m]|
    # and the best rank-r block keeps the r largest of them.
    b = np.exp(-0.7 * np.minimum(np.arange(12), 12 - np.arange(12)) ** 2) + 0.05
    Y = np.stack([np.roll(b, k)[None] for k in range(12)])
    b_hat = np.abs(np.array([sum(b[p] * np.exp(-2j * np.pi * m * p / 12) for p in range(12))
                             for m in range(12)])) / np.sqrt(12)
    for stride, width, bias in itertools.product((2, 3, 6), (1, 2, 4, 6), (True, False)):
        arch = cbn.Architecture((12,), (1, width, width, 1), resample=(stride, -stride),
                                bias=bias)
        coarse = 12 // stride
        lost = 0.0
        for rho in range(coarse):
            kept = width + (bias and rho == 0)
            energies = sorted(b_hat[rho::coarse] ** 2, reverse=True)
            lost += sum(energies[kept:])
        want = np.sqrt(lost / np.sum(b_hat ** 2))
        got = upsampling_residual(arch, Y, Y).residual
        assert got == pytest.approx(want, rel=1e-10, abs=1e-12), (stride, width, bias)


@pytest.mark.parametrize("arch", ARCHS[:2], ids=lambda a: f"{a.channels}-{a.resample}")
def test_no_refit_of_the_last_layer_beats_the_bound(arch):
    # the best last layer for a network's own features, by least squares on a design
    # built here from the definition y[o, p] = c sum_{i,q} W[o, i, q] z[i, p - q] + b[o]
    rng = np.random.default_rng(3)
    X = rng.standard_normal((10,) + arch.input_shape)
    Y = rng.standard_normal((10,) + arch.output_shape)
    bound = upsampling_residual(arch, X, Y).residual
    d = arch.layer_shapes[-1][0]
    c = 1.0 / np.sqrt(d)
    cin, cout = arch.channels[-2], arch.channels[-1]
    for seed in range(3):
        Z = penultimate(random_network(arch, seed), X)
        assert np.all(Z[..., 1::-arch.resample[-1]] == 0) if -arch.resample[-1] > 1 else True
        best = 0.0
        for o in range(cout):
            rows, rhs = [], []
            for n, p in itertools.product(range(X.shape[0]), range(d)):
                taps = [c * Z[n, i, (p - q) % d] for i in range(cin) for q in range(d)]
                rows.append(taps + ([1.0] if arch.bias else []))
                rhs.append(Y[n, o, p])
            A, t = np.array(rows), np.array(rhs)
            sol = np.linalg.lstsq(A, t, rcond=None)[0]
            best += float(np.sum((A @ sol - t) ** 2))
        assert np.sqrt(best) / np.linalg.norm(Y) >= bound - 1e-12


def test_only_an_up_sampling_right_before_the_last_layer_has_the_bound():
    X = np.zeros((2, 1, 12))
    Y = np.ones((2, 1, 12))
    for arch in (cbn.Architecture((12,), (1, 2, 1)),
                 cbn.Architecture((12,), (1, 2, 2, 1), resample=(-2, 2)),
                 cbn.Architecture((12,), (1, 2, 2, 1), resample=(2, 1)),
                 cbn.Architecture((12,), (1, 2, 2, 1), head="avgpool")):
        assert upsampling_residual(arch, X, np.ones((2,) + arch.output_shape)) is None
    assert upsampling_residual(cbn.Architecture((12,), (1, 2, 2, 1), resample=(4, -4)),
                               X, Y).residual == 0.0


def test_minimal_norm_refuses_data_beyond_the_folded_rank():
    t = cbn.targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    narrow = cbn.Architecture((12,), (1, 4, 4, 1), resample=(6, -6))
    with pytest.raises(cbn.InfeasibleError, match=r"channels\[2\] = 4 is too narrow.*"
                                                  r"use channels\[2\] >= 6"):
        cbn.minimal_norm(narrow, data=(X, Y))
    wide = cbn.Architecture((12,), (1, 6, 6, 1), resample=(6, -6))
    with warnings.catch_warnings():  # a short solve need not fit: only the certificate counts
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        res = cbn.minimal_norm(wide, data=(X, Y), max_iter=5)
    assert res.info["upsampling_residual"] == 0.0
