"""The shifts a resampling architecture commutes with, and the orbit certificate on them.

``certificates.shift_steps`` claims that shifting the input by ``k * steps`` shifts the
output by ``k * moves``; ``orbit_residual`` uses it to prove data infeasible.  The claim
is checked on random networks (outputs of shifted inputs, by the engine and by the
package's independent direct forward pass), the steps against values worked out by hand,
and the certificate against its closed form on two samples.
"""
from __future__ import annotations

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.output.artifacts import direct_forward
from cbntheory.solvers.certificates import orbit_residual, shift_steps

CASES = [  # architecture, steps, moves (worked out from the layer resolutions)
    (cbn.Architecture((12,), (1, 2, 2, 1), resample=(6, -6)), (6,), (6,)),
    (cbn.Architecture((12,), (1, 2, 2, 2, 1), resample=(2, 3, -6)), (6,), (6,)),
    (cbn.Architecture((12,), (1, 2, 2, 1), resample=(2, 3)), (6,), (1,)),
    (cbn.Architecture((12,), (1, 2, 2, 1), resample=(-2, 2)), (1,), (1,)),
    (cbn.Architecture((8, 6), (1, 2, 2, 1), resample=(2, 1)), (2, 2), (1, 1)),
    (cbn.Architecture((8, 6), (1, 2, 2, 3), resample=(2, 1), head="avgpool"), (2, 2), (1, 1)),
    (cbn.Architecture((12,), (1, 2, 1)), (1,), (1,)),
]


@pytest.mark.parametrize("arch, steps, moves", CASES, ids=lambda c: str(getattr(c, "resample", c)))
def test_the_steps_match_the_hand_computed_ones(arch, steps, moves):
    assert shift_steps(arch) == (steps, moves)


@pytest.mark.parametrize("arch, steps, moves", CASES, ids=lambda c: str(getattr(c, "resample", c)))
def test_networks_commute_with_the_claimed_shifts(arch, steps, moves):
    rng = np.random.default_rng(0)
    net = cbn.Network.from_vector(arch, rng.standard_normal(arch.n_free))
    x = rng.standard_normal((1,) + arch.input_shape)
    axes = tuple(range(2, 2 + arch.ndim))
    X = np.concatenate([x, np.roll(x, steps, axis=axes), np.roll(x, tuple(3 * s for s in steps),
                                                                 axis=axes)])
    Y = direct_forward(net, X)                        # loops, not the FFT engine
    assert np.allclose(Y, net(X), atol=1e-10)
    if arch.head == "avgpool":
        assert np.allclose(Y[1], Y[0], atol=1e-10)
    else:
        out_axes = tuple(range(1, 1 + arch.ndim))
        assert np.allclose(Y[1], np.roll(Y[0], moves, axis=out_axes), atol=1e-10)
    # a network's own outputs are consistent, so the certificate must find nothing
    assert orbit_residual(arch, X, Y) <= 1e-12


def test_the_certificate_on_two_samples_in_closed_form():
    # x and its shift by 6 through a stride-6 architecture: f(x_2) = shift_6 f(x_1), so
    # the best pair of outputs is the mean of y1 and y2 shifted back
    arch = CASES[0][0]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 1, 12))
    y1, y2 = rng.standard_normal((2, 1, 12))
    X, Y = np.concatenate([x, np.roll(x, 6, axis=-1)]), np.stack([y1, y2])
    want = np.linalg.norm(y1 - np.roll(y2, -6, axis=-1)) / np.sqrt(2) / np.linalg.norm(Y)
    assert orbit_residual(arch, X, Y) == pytest.approx(want, rel=1e-12)
    with pytest.raises(cbn.InfeasibleError, match="equivariance"):
        cbn.minimal_norm(arch, data=(X, Y))
    # a shift by 1 is no symmetry of this architecture: any outputs are allowed
    X1 = np.concatenate([x, np.roll(x, 1, axis=-1)])
    assert orbit_residual(arch, X1, Y) == 0.0
