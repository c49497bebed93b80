"""Orbit reduction and several warm starts in the ReLU case.

References: the shift relations are checked by explicit np.roll loops, the fits by the
network's forward pass on every sample (not only the representatives)."""
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.output.artifacts import direct_forward
from cbntheory.solvers.certificates import orbit_representatives


def orbits(signals, shifts):
    return np.concatenate([np.stack([np.roll(s, t, axis=-1) for t in shifts]) for s in signals])


def test_representatives_match_explicit_shift_search():
    rng = np.random.default_rng(0)
    arch = cbn.Architecture((6,), (1, 3, 1))
    X = orbits(rng.standard_normal((2, 1, 6)), range(6))[rng.permutation(12)]
    Y = arch.init(rng=1)(X)  # an equivariant map: outputs shift with the inputs
    reps, sizes = orbit_representatives(arch, X, Y)
    # brute force: sample j is represented iff no earlier sample is a shift of it
    first = [j for j in range(12)
             if not any(np.array_equal(np.roll(X[i], t, axis=-1), X[j])
                        for i in range(j) for t in range(6))]
    assert reps.tolist() == first and sizes.tolist() == [6, 6]
    Y2 = Y.copy()
    Y2[reps[0] + 1 if reps[0] + 1 not in reps else reps[0] + 2] += 1e-3
    assert orbit_representatives(arch, X, Y2) is None  # outputs no longer shifted copies
    assert orbit_representatives(arch, X[reps], Y[reps]) is None  # nothing to reduce
    pooled = cbn.Architecture((6,), (1, 3, 1), head="avgpool")
    assert orbit_representatives(pooled, X, pooled.init(rng=1)(X))[0].tolist() == first


def assert_orbit_weighted(arch, X, Y, reps, sizes, rng):
    """An unrelated network's squared residual on all samples is the representatives'
    one weighted by the orbit sizes (forward passes by explicit loops)."""
    g = cbn.Network.from_vector(arch, rng.standard_normal(arch.n_free))
    full = np.sum((direct_forward(g, X) - Y) ** 2)
    per_rep = np.sum((direct_forward(g, X[reps]) - Y[reps]).reshape(len(reps), -1) ** 2, axis=1)
    assert np.isclose(full, np.sum(sizes * per_rep), rtol=1e-10)


RESAMPLING = [  # architecture, the input shift step worked out by hand
    (cbn.Architecture((6,), (1, 3, 1), resample=(2,)), 2),          # output at 3 pixels
    (cbn.Architecture((6,), (1, 3, 3, 1), resample=(2, -2)), 2),    # back at 6 pixels
    (cbn.Architecture((6,), (1, 3, 3, 1), resample=(3, -3)), 3),
    (cbn.Architecture((6,), (1, 3, 3, 2), resample=(2, 1), head="avgpool"), 2),
]


@pytest.mark.parametrize("arch, step", RESAMPLING, ids=lambda c: str(getattr(c, "resample", c)))
def test_resampling_orbits_are_the_shifts_by_whole_steps(arch, step):
    rng = np.random.default_rng(2)
    X = orbits(rng.standard_normal((2, 1, 6)), range(6))[rng.permutation(12)]
    Y = direct_forward(arch.init(rng=1), X)           # a network's own outputs: consistent
    reps, sizes = orbit_representatives(arch, X, Y)
    first = [j for j in range(12)
             if not any(np.array_equal(np.roll(X[i], t, axis=-1), X[j])
                        for i in range(j) for t in range(0, 6, step))]
    assert reps.tolist() == first and sizes.tolist() == [6 // step] * (2 * step)
    assert_orbit_weighted(arch, X, Y, reps, sizes, rng)


def test_two_dimensional_resampling_orbits():
    # every shift of one 4x4 image through a stride-2 layer on both axes: steps (2, 2),
    # so four orbits of four, one per parity class of the shift
    arch = cbn.Architecture((4, 4), (1, 2, 2, 1), resample=(2, -2))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 4, 4))
    shifts = [(a, b) for a in range(4) for b in range(4)]
    X = np.stack([np.roll(x, s, axis=(1, 2)) for s in shifts])
    Y = direct_forward(arch.init(rng=2), X)
    reps, sizes = orbit_representatives(arch, X, Y)
    assert [shifts[i] for i in reps] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert sizes.tolist() == [4, 4, 4, 4]
    assert_orbit_weighted(arch, X, Y, reps, sizes, rng)


def test_shifts_between_the_steps_do_not_share_an_orbit():
    # through a stride-2 layer a shift by one pixel is no symmetry: two orbits of one
    arch = RESAMPLING[1][0]
    x = np.random.default_rng(3).standard_normal((1, 1, 6))
    X = orbits(x, (0, 1))
    assert orbit_representatives(arch, X, arch.init(rng=0)(X)) is None
    # the shifts by 1, 3 and 5 differ by whole steps: one orbit of three
    X = orbits(x, (0, 1, 3, 5))
    reps, sizes = orbit_representatives(arch, X, arch.init(rng=0)(X))
    assert reps.tolist() == [0, 1] and sizes.tolist() == [1, 3]


def test_reduced_solve_with_resampling_fits_every_sample():
    arch = cbn.Architecture((6,), (1, 3, 3, 1), resample=(2, -2))
    planted = arch.init(rng=3)
    X = orbits(np.random.default_rng(4).standard_normal((1, 1, 6)), range(6))
    Y = planted(X)
    res = cbn.minimal_norm(arch, data=(X, Y), rng=0, max_iter=300, init=planted)
    assert res.info["orbit_reduction"]["orbit_sizes"] == [3, 3]
    assert np.linalg.norm(direct_forward(res.network, X) - Y) <= 1e-6 * np.linalg.norm(Y)
    assert res.value <= planted.param_norm() * (1 + 1e-12)


def test_reduced_solve_fits_every_sample_and_runs_every_warm_start():
    arch = cbn.Architecture((5,), (1, 3, 3, 1))
    planted = arch.init(rng=3)
    X = orbits(np.random.default_rng(4).standard_normal((2, 1, 5)), range(5))
    Y = planted(X)
    a, b = arch.init(rng=7), planted
    res = cbn.minimal_norm(arch, data=(X, Y), rng=0, max_iter=300, restarts=1,
                           init=[(a, "a random network"), (b, "the planted network")])
    assert res.info["orbit_reduction"]["orbit_sizes"] == [5, 5]
    # verified on all ten samples, by a forward pass here
    assert np.linalg.norm(res.network(X) - Y) <= 1e-6 * np.linalg.norm(Y)
    sources = [r["source"] for r in res.info["runs"]]
    assert len(sources) == 2 and "a random network" in sources[0] and "planted" in sources[1]
    assert [r["init"] for r in res.info["runs"]] == ["warm start", "warm start"]
    assert res.value <= planted.param_norm() * (1 + 1e-12)  # the planted start fits already
    full = cbn.minimal_norm(arch, data=(X, Y), rng=0, max_iter=300, init=b,
                            orbit_reduction=False)
    assert "orbit_reduction" not in full.info
    assert np.linalg.norm(full.network(X) - Y) <= 1e-6 * np.linalg.norm(Y)


def test_bad_warm_start_sequences():
    arch = cbn.Architecture((4,), (1, 2, 1))
    X = np.random.default_rng(0).standard_normal((3, 1, 4))
    with pytest.raises(cbn.ValidationError, match=r"init\[1\]"):
        cbn.minimal_norm(arch, data=(X, X), init=[arch.init(rng=0), "identity"])
    with pytest.raises(cbn.ValidationError, match=r"init\[0\]"):
        cbn.minimal_norm(arch, data=(X, X), init=[cbn.Architecture((4,), (1, 5, 1)).init()])
    with pytest.raises(cbn.ValidationError, match="init"):
        cbn.minimal_norm(arch, data=(X, X), init=[])


def test_an_unchanged_warm_start_is_named_by_its_source(monkeypatch):
    # a construction that wins without being improved stays a construction in the tables
    from cbntheory import targets
    from cbntheory.measure.tables import source_of

    # issue 15: with the light annealed penalty of warm starts, one iteration and the
    # projection already lower this construction's norm; without it they cannot
    monkeypatch.setattr(cbn.settings, "RELU_WARM_ANNEAL", ())
    t = targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    arch = t.architecture(3, quick=True)
    con = t.construction(3, quick=True, bias_aware=True)
    res = cbn.minimal_norm(arch, data=(X, Y), rng=0, max_iter=1,
                           init=[(con.network, "bias-aware construction")])
    # one iteration cannot beat the construction: the answer is the warm start itself
    assert res.solver.startswith("warm start unchanged")
    assert source_of(res.solver) == "construction"
    assert res.value <= con.network.param_norm() * (1 + 1e-12)


def test_finishing_leaves_a_network_exact_to_round_off_alone():
    # the bias-aware construction fits to ~1e-16; a last-layer "correction" of round-off
    # through the features' smallest singular values used to raise its norm by 6 %
    from cbntheory import targets
    from cbntheory.solvers.exact_fit import finish_exactly

    t = targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    net = t.construction(3, quick=True, bias_aware=True).network
    fit = finish_exactly(net, X, Y)
    assert fit.exact and fit.network is net and fit.norm == net.param_norm()
    assert np.linalg.norm(net(X) - Y) <= 1e-12 * np.linalg.norm(Y)
