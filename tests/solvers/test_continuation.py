"""Depth continuation: the inserted projection layer, its cost and the certificate
R_up(L+1) <= R_up(L) + min_l sum_m k_m(a_l), against a forward pass written from the
definition (loops over pixels) and ranks of activation spectra computed by finite sums."""
import numpy as np
import pytest
from _bruteforce import convolve, dft

import cbntheory as cbn
from cbntheory.errors import ValidationError
from cbntheory.solvers.continuation import deepen, insert_projection


def forward(net, X):
    """The network's outputs from the definition: convolutions by loops, ReLU, pool."""
    arch = net.architecture
    a = np.asarray(X, dtype=float)
    biases = net.biases if arch.bias else [np.zeros(n) for n in arch.channels[1:]]
    for l in range(arch.n_conv):
        z = convolve(net.kernels[l], a, arch.normalization)
        z = z + biases[l].reshape((1, -1) + (1,) * arch.ndim)
        last = l == arch.depth - 1
        a = z if last else np.maximum(z, 0.0)
    if arch.head == "avgpool":
        a = a.mean(axis=tuple(range(2, 2 + arch.ndim))) @ net.kernels[-1].T + biases[-1]
    return a


def spectral_ranks(acts, shape):
    """k_m: rank over the samples of the activations' DFT (finite sums) at every m."""
    spec = dft(acts, shape)
    out = np.zeros(shape, dtype=int)
    for m in np.ndindex(*shape):
        out[m] = np.linalg.matrix_rank(spec[(slice(None), slice(None)) + m], tol=1e-9)
    return out


@pytest.mark.parametrize("spatial,head,bias,norm", [
    ((6,), None, True, "operator"), ((3, 2), None, False, "plain"),
    ((5,), "avgpool", True, "operator")])
def test_insertion_keeps_outputs_and_costs_the_spectral_rank(spatial, head, bias, norm):
    arch = cbn.Architecture(spatial, (1, 3, 3, 2), bias=bias, head=head, normalization=norm)
    net = arch.init(rng=5)
    if bias:  # non-zero biases: the projection must fix the affine activations too
        net = cbn.Network(arch, net.kernels, [b + 0.3 for b in net.biases])
    X = np.random.default_rng(6).standard_normal((3, 1) + spatial)
    d = int(np.prod(spatial))
    factor = 1.0 if norm == "operator" else 1.0 / d
    for position in (1, 2):
        ins = insert_projection(net, X, position)
        deeper = ins.network
        assert deeper.architecture.depth == 4
        np.testing.assert_allclose(forward(deeper, X), forward(net, X), atol=1e-10)
        acts = net.activations(X)[position - 1]
        k = spectral_ranks(acts, acts.shape[2:])
        if head == "avgpool" and position == arch.n_conv:  # before the pool: frequency 0
            k = np.where(np.indices(k.shape).sum(axis=0) == 0, k, 0)
        np.testing.assert_array_equal(ins.cbn_vector, k)
        assert ins.cost == pytest.approx(factor * k.sum(), rel=1e-12)
        assert deeper.param_norm() == pytest.approx(net.param_norm() + ins.cost, rel=1e-10)


def test_deepen_certificate_against_the_verified_solver_network():
    # R_up(L) from a solve; the deepened network's own forward pass and norm certify
    # R_up(L + 1) <= R_up(L) + min_l sum_m k_m(a_l)
    arch = cbn.Architecture((5,), (1, 3, 3, 1))
    planted = arch.init(rng=2)
    X = np.random.default_rng(3).standard_normal((4, 1, 5))
    Y = planted(X)
    res = cbn.minimal_norm(arch, data=(X, Y), rng=0, max_iter=400)
    net = res.network
    costs = [insert_projection(net, X, l).cost for l in (1, 2)]
    target = cbn.Architecture((5,), (1, 3, 3, 3, 1))
    step = deepen(net, X, target)
    assert step.network.architecture == target
    assert step.cost == min(costs)
    out = forward(step.network, X)
    assert np.linalg.norm(out - Y) <= 1e-6 * np.linalg.norm(Y)
    assert step.network.param_norm() <= res.value + min(costs) + 1e-9
    # a solve of depth L + 1 warm-started there keeps the certificate
    deeper = cbn.minimal_norm(target, data=(X, Y), rng=0, max_iter=200, init=step.network)
    assert deeper.value <= res.value + min(costs) + 1e-9


def test_non_negative_inputs_deepen_a_one_layer_network():
    # images are >= 0: a projection onto the span of the inputs may go first
    arch = cbn.Architecture((2, 3), (1, 2, 1))
    net = arch.init(rng=1)
    X = np.abs(np.random.default_rng(2).standard_normal((3, 1, 2, 3)))
    ins = insert_projection(net, X, 0)
    assert ins.network.architecture.channels == (1, 1, 2, 1)
    np.testing.assert_allclose(forward(ins.network, X), forward(net, X), atol=1e-10)
    assert ins.cost == pytest.approx(spectral_ranks(X, (2, 3)).sum())
    lin = cbn.Architecture((4,), (1, 1), bias=False).init(rng=0)
    Xp = np.abs(np.random.default_rng(3).standard_normal((2, 1, 4)))
    step = deepen(lin, Xp)
    assert step.position == 0 and step.network.architecture.depth == 2
    np.testing.assert_allclose(forward(step.network, Xp), forward(lin, Xp), atol=1e-10)
    assert step.network.param_norm() <= lin.param_norm() + spectral_ranks(Xp, (4,)).sum() + 1e-9
    with pytest.raises(ValidationError, match="non-negative"):
        insert_projection(lin, -Xp, 0)


def test_refusals():
    X = -np.ones((2, 1, 4))
    with pytest.raises(ValidationError, match="position"):
        insert_projection(cbn.Architecture((4,), (1, 2, 1)).init(rng=0), X, 2)
    with pytest.raises(ValidationError, match="full-size"):
        insert_projection(cbn.Architecture((4,), (1, 2, 1), kernel_size=3).init(rng=0), X, 1)
    with pytest.raises(ValidationError, match="resampling"):
        insert_projection(cbn.Architecture((4,), (1, 2, 1), resample=(2,)).init(rng=0), X, 1)
    with pytest.raises(ValidationError, match="depth"):
        deepen(cbn.Architecture((4,), (1, 1)).init(rng=0), X)
    with pytest.raises(ValidationError, match="hold"):
        deepen(cbn.Architecture((4,), (1, 2, 1)).init(rng=0), X,
               cbn.Architecture((4,), (1, 2, 1, 1)))
