"""The rank certificate of the last layer's width.

``certificates.last_layer_residual`` claims that every network whose last layer reads
``n_{L-1}`` channels leaves at least a certain residual: per output frequency, per class
of frequencies folded by an up-sampling before the last layer, or for the pooled outputs
of the average-pool head, the outputs have rank at most ``n_{L-1}`` (one more with a
bias) over the samples.  It is checked here against things it does not compute itself:
the outputs of random networks, whose folded blocks (by a DFT written as a finite sum)
must have the claimed rank; a closed form for the shifts of a bump, whose blocks have
orthogonal columns; the best refit of a network's last layer, by least squares on an
explicitly built design, which no bound may beat; and the solver, which must refuse
such data before optimising.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from _bruteforce import dft, pixels

import cbntheory as cbn
from cbntheory.errors import InaccurateSolutionWarning
from cbntheory.solvers.certificates import last_layer_residual
from cbntheory.solvers.exact_fit import penultimate

ARCHS = [
    cbn.Architecture((12,), (1, 4, 4, 1), resample=(6, -6)),
    cbn.Architecture((12,), (2, 3, 3, 2), resample=(3, -3), bias=False),
    cbn.Architecture((12,), (1, 3, 1, 1), kernel_size=3, resample=(2, -2)),
    cbn.Architecture((6, 4), (1, 3, 3, 2), resample=(2, -2)),
    cbn.Architecture((8,), (1, 2, 2, 1, 1), resample=(1, 2, -2)),
    cbn.Architecture((6,), (1, 3, 1, 3)),                       # per frequency
    cbn.Architecture((12,), (1, 3, 2, 3), resample=(2, 3)),     # down-sampled last layer
    cbn.Architecture((6,), (1, 3, 2, 4), head="avgpool"),       # pooled outputs
]


def random_network(arch, seed):
    """Every weight and bias drawn: the bias directions are exercised too."""
    rng = np.random.default_rng(seed)
    return cbn.Network.from_vector(arch, rng.standard_normal(arch.n_free))


def folded_blocks(arch, Y):
    """Per class: samples x (output channel, frequency) of the orthonormal DFT of Y."""
    if arch.head == "avgpool":
        return {(): Y}
    shape = arch.layer_shapes[-1]
    code = arch.resample[-1]
    coarse = tuple(n // -code for n in shape) if code < -1 else shape
    spectrum = dft(Y, shape) / np.sqrt(np.prod(shape))
    blocks = {}
    for m in pixels(shape):
        cls = tuple(mm % c for mm, c in zip(m, coarse))
        blocks.setdefault(cls, []).append(spectrum[(slice(None), slice(None)) + m])
    return {cls: np.stack(cols, axis=1).reshape(Y.shape[0], -1) for cls, cols in blocks.items()}


@pytest.mark.parametrize("arch", ARCHS, ids=lambda a: f"{a.channels}-{a.resample}")
def test_network_outputs_have_the_folded_rank(arch):
    X = np.random.default_rng(1).standard_normal((20,) + arch.input_shape)
    for seed in range(3):
        Y = random_network(arch, seed)(X)
        for cls, block in folded_blocks(arch, Y).items():
            sv = np.linalg.svd(block, compute_uv=False)
            allowed = arch.channels[-2] + (arch.bias and not any(cls))
            assert np.all(sv[allowed:] <= 1e-10 * sv[0]), (cls, sv)
        assert last_layer_residual(arch, X, Y).residual == 0.0
    # the claim can fail: generic data have full rank per class, and then a residual
    Y = np.random.default_rng(2).standard_normal((20,) + arch.output_shape)
    assert last_layer_residual(arch, X, Y).residual > 0.1


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
        got = last_layer_residual(arch, Y, Y).residual
        assert got == pytest.approx(want, rel=1e-10, abs=1e-12), (stride, width, bias)


@pytest.mark.parametrize("arch", ARCHS[:2], ids=lambda a: f"{a.channels}-{a.resample}")
def test_no_refit_of_the_last_layer_beats_the_bound(arch):
    # the best last layer for a network's own features, by least squares on a design
    # built here from the definition y[o, p] = c sum_{i,q} W[o, i, q] z[i, p - q] + b[o]
    rng = np.random.default_rng(3)
    X = rng.standard_normal((10,) + arch.input_shape)
    Y = rng.standard_normal((10,) + arch.output_shape)
    bound = last_layer_residual(arch, X, Y).residual
    d = arch.layer_shapes[-1][0]
    c = 1.0 / np.sqrt(d)
    cin, cout = arch.channels[-2], arch.channels[-1]
    for seed in range(3):
        Z = penultimate(random_network(arch, seed), X)
        off_grid = np.arange(d) % -arch.resample[-1] != 0    # zero insertion left zeros
        assert np.all(Z[..., off_grid] == 0)
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


def test_wide_enough_last_layers_and_depth_one_claim_nothing():
    X = np.zeros((5, 1, 12))
    Y = np.random.default_rng(4).standard_normal((5, 1, 12))
    assert last_layer_residual(cbn.Architecture((12,), (1, 1)), X, Y) is None  # closed form
    for arch in (cbn.Architecture((12,), (1, 2, 1)),               # one output channel
                 cbn.Architecture((12,), (1, 2, 2, 1), resample=(-2, 2)),
                 cbn.Architecture((12,), (1, 4, 4, 1), resample=(4, -4))):  # classes of 4
        assert last_layer_residual(arch, X, np.resize(Y, (5,) + arch.output_shape)
                                   ).residual == 0.0


def test_pooled_outputs_refit_by_least_squares_never_beat_the_bound():
    # the average-pool head: the best dense layer for the pooled features of random
    # networks, by least squares with a bias column, against the certified residual
    arch = cbn.Architecture((6,), (1, 3, 2, 4), head="avgpool")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((9,) + arch.input_shape)
    Y = rng.standard_normal((9, 4))
    bound = last_layer_residual(arch, X, Y).residual
    assert bound > 0.1
    for seed in range(3):
        P = penultimate(random_network(arch, seed), X).mean(axis=-1)
        A = np.hstack([P, np.ones((9, 1))])
        fit = A @ np.linalg.lstsq(A, Y, rcond=None)[0]
        assert np.linalg.norm(fit - Y) / np.linalg.norm(Y) >= bound - 1e-12


def test_minimal_norm_refuses_data_beyond_the_last_layers_rank():
    t = cbn.targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    narrow = cbn.Architecture((12,), (1, 4, 4, 1), resample=(6, -6))
    with pytest.raises(cbn.InfeasibleError, match=r"channels\[2\] = 4 is too narrow.*"
                                                  r"use channels\[2\] >= 6"):
        cbn.minimal_norm(narrow, data=(X, Y))
    pooled = cbn.Architecture((4,), (1, 3, 1, 3), head="avgpool")   # 3 one-hot classes
    Xp = np.random.default_rng(6).standard_normal((3, 1, 4))
    with pytest.raises(cbn.InfeasibleError, match=r"channels\[2\] = 1 .*average-pool head"
                                                  r".*channels\[2\] >= 2"):
        cbn.minimal_norm(pooled, data=(Xp, np.eye(3)))
    wide = cbn.Architecture((12,), (1, 6, 6, 1), resample=(6, -6))
    with warnings.catch_warnings():  # a short solve need not fit: only the certificate counts
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        res = cbn.minimal_norm(wide, data=(X, Y), max_iter=5)
    assert res.info["last_layer_residual"] == 0.0
