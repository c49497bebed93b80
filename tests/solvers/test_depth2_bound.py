"""The depth-2 dual certificate of image-output ReLU CNNs (issue 15, lower side).

References are independent of the certificate's own code: the engine's forward pass (the
duality identity), the exact convex program of a one-pixel network (a primal conic
solve), verified networks' norms, the shift symmetry and the pattern list without the
orbit reduction.
"""
from __future__ import annotations

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.errors import TooManyCellsError, ValidationError
from cbntheory.nets.patches import tap_offsets
from cbntheory.results import relative_residual
from cbntheory.solvers import depth2_bound as B
from cbntheory.solvers.convex.patterns import Arrangement
from cbntheory.solvers.convex.program import two_layer_min_norm
from cbntheory.targets import get


def _channel(net: cbn.Network, j: int) -> tuple[np.ndarray, np.ndarray]:
    """``u_j = (w_j, b_j)`` on the window and ``V_j`` flattened as ``o * K + s``."""
    arch = net.architecture
    taps = [tuple(q) for q in tap_offsets(arch.kernel_size, arch.spatial_shape).tolist()]
    W1, W2 = net.kernels
    w = np.concatenate([[W1[j, i][q] for q in taps] for i in range(arch.channels[0])])
    u = np.append(w, net.biases[0][j]) if arch.bias else w
    V = np.concatenate([[W2[o, j][q] for q in taps] for o in range(arch.channels[2])])
    return u, V


@pytest.mark.parametrize("kernel_size, bias, penalize", [(None, True, True), (3, True, False),
                                                         (None, False, True)])
def test_duality_identity_against_the_engine(kernel_size, bias, penalize):
    """<lam, f(X)> = sum_j <V_j, M_D(j) u_j> + <b_out, s>, f from the FFT engine."""
    arch = cbn.Architecture((5,), (2, 3, 2), kernel_size=kernel_size, bias=bias,
                            penalize_bias=penalize)
    rng = np.random.default_rng(0)
    net = arch.init(rng=1)
    if bias:
        net = cbn.Network(arch, net.kernels, [rng.standard_normal(b.shape) for b in net.biases])
    X = rng.standard_normal((4, 2, 5))
    lam = rng.standard_normal((4, 2, 5))
    Z = B.patches(X, arch.spatial_shape, arch.kernel_size, arch.normalization)
    arr = Arrangement.from_patches(Z, bias=bias)
    L = B._second_layer(arch, lam)
    total = 0.0
    for j in range(3):
        u, V = _channel(net, j)
        F = B._features(arch, arr, arr.pattern_of(u))
        M = np.einsum("pnr,no->or", F, L)
        total += float(V @ (M @ u))
    if bias:
        total += float(net.biases[1] @ lam.sum(axis=(0, 2)))
    assert total == pytest.approx(float(np.sum(lam * net(X))), rel=1e-10, abs=1e-10)


def test_one_pixel_matches_the_exact_convex_program():
    """d = 1: a fully connected two-layer network, whose exact minimum the convex program gives."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 2, 1)), rng.standard_normal((5, 1))
    pooled = cbn.Architecture((1,), (2, 8, 1), head="avgpool")
    exact = two_layer_min_norm(pooled, X, y)
    assert exact.status == "optimal"
    n1 = exact.network.kernels[0].shape[0]
    plain = cbn.Architecture((1,), (2, n1, 1))
    net = cbn.Network(plain, [exact.network.kernels[0], exact.network.kernels[1][..., None]],
                      exact.network.biases)
    Y = y[:, :, None]
    assert np.allclose(net(X), Y, atol=1e-7)
    cert = B.depth2_lower_bound(plain, X, Y, networks=[net])
    assert cert.value <= exact.upper * (1 + 1e-7)                  # never above a minimum
    assert cert.value == pytest.approx(exact.upper, rel=1e-4)      # and tight here
    blind = B.depth2_lower_bound(plain, X, Y)                      # multipliers Y only
    assert 0.0 <= blind.value <= cert.value * (1 + 1e-9)


def _bump_orbit(d: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.minimum(np.arange(d), d - np.arange(d))
    x0 = np.exp(-t ** 2 / 2.0)
    X = np.stack([np.roll(x0, s) for s in range(d)])[:, None, :]
    return X, X.copy()


def test_orbit_reduction_and_shift_invariance(monkeypatch):
    """One pattern per shift orbit gives the bound of all patterns; shifted data the same."""
    X, Y = _bump_orbit(6)
    arch = cbn.Architecture((6,), (1, 2, 1))
    reduced = B.depth2_lower_bound(arch, X, Y)
    assert reduced.representatives < reduced.patterns == 2 ** 6
    shifted = B.depth2_lower_bound(arch, np.roll(X, 2, axis=-1), np.roll(Y, 2, axis=-1))
    assert shifted.value == pytest.approx(reduced.value, rel=1e-9)
    monkeypatch.setattr(B, "_shift_permutations", lambda arch, arr: None)
    full = B.depth2_lower_bound(arch, X, Y)
    assert full.representatives == full.patterns == 2 ** 6
    assert full.value == pytest.approx(reduced.value, rel=1e-9)
    assert full.kappa == pytest.approx(reduced.kappa, rel=1e-9)


def test_shift_autoencoder_1d_between_lipschitz_and_a_verified_network():
    """Above the Lipschitz bound (2) and below the verified construction, same object."""
    target = get("shift_autoencoder_1d")
    arch = target.architecture(2)
    X, Y = target.data()
    con = target.construction(2, bias_aware=True)
    assert relative_residual(con.network(X), Y) < 1e-8
    cert = B.depth2_lower_bound(arch, X, Y, networks=[con.network])
    assert 2.0 < cert.value <= con.network.param_norm()
    assert cert.patterns == 2 ** 12 and cert.representatives == 352
    assert cert.slackened(1e-3, Y) < cert.value


def test_refusals():
    target = get("shift_autoencoder_2d")
    X, Y = target.data()
    with pytest.raises(TooManyCellsError, match="2\\^36 = 68719476736"):
        B.depth2_lower_bound(target.architecture(2), X, Y)
    with pytest.raises(ValidationError, match="arch"):
        B.depth2_lower_bound(cbn.Architecture((4,), (1, 2, 2, 1)), X[:, :, 0, :4], X[:, :, 0, :4])


def test_cone_norm_bound_against_a_dense_search():
    """max ||G u|| over a cone and the unit ball, by brute force over sampled directions."""
    rng = np.random.default_rng(5)
    G = rng.standard_normal((6, 4, 3))
    S = rng.standard_normal((6, 3, 3))              # cones {u : S u >= 0} in R^3
    bound = B.cone_norm_bounds(G, S)
    U = rng.standard_normal((200_000, 3))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    for b in range(6):
        inside = U[np.all(U @ S[b].T >= 0, axis=1)]
        best = np.max(np.linalg.norm(inside @ G[b].T, axis=1), initial=0.0)
        assert best <= bound[b] <= np.linalg.norm(G[b], 2) * (1 + 1e-12)
        assert bound[b] <= 1.05 * best + 1e-9 * np.linalg.norm(G[b], 2)  # and close to it
