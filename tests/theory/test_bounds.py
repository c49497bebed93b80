"""Tests of the exact inequalities T2 and T5 (cbntheory.theory.bounds).

References (none calls cbntheory.theory.bounds' arithmetic):
* a dense reference network: per-layer operator matrices built with loops over pixels
  (``_bruteforce.dense_matrix``), resampling and pooling matrices by index arithmetic,
  ReLU masks from a dense forward pass; its Jacobian is the product of those matrices;
* both sides of T2 and T5 evaluated on dense SVDs of those matrices;
* the exact cost of linear CNNs (``cbn.linear_cost``, T1) and its balanced factorisation,
  at which both inequalities are equalities (derived in docs/theory.md);
* closed forms for diagonal and scalar factorisations.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import _bruteforce as bf
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.errors import ValidationError
from cbntheory.theory import bounds as bounds_module
from cbntheory.theory.bounds import (
    bottleneck_terms,
    jacobian_bound,
    jacobian_cost,
    layer_operators,
    weight_bottleneck_bound,
)

RTOL = 1e-9

# --------------------------------------------------------------------------- references


def _down_matrix(channels, shape, s):
    """Dense matrix of 'keep pixels s*p' (C order over (channel, *pixels))."""
    pix = bf.pixels(shape)
    index = {p: k for k, p in enumerate(pix)}
    small = bf.pixels(tuple(n // s for n in shape))
    d, ds = len(pix), len(small)
    R = np.zeros((channels * ds, channels * d))
    for ch in range(channels):
        for a, p in enumerate(small):
            R[ch * ds + a, ch * d + index[tuple(s * i for i in p)]] = 1.0
    return R


def _resample_matrix(channels, shape, r):
    if r == 1:
        return np.eye(channels * int(np.prod(shape)))
    if r > 1:
        return _down_matrix(channels, shape, r)
    big = tuple(n * -r for n in shape)
    return _down_matrix(channels, big, -r).T          # zero insertion = adjoint


def reference(net, x):
    """Dense Jacobian and the dense operator matrix of every layer (loops, no FFT)."""
    arch = net.architecture
    a = x.ravel()
    J = np.eye(a.size)
    mats = []
    for l in range(arch.n_conv):
        shape = arch.layer_shapes[l]
        d = int(np.prod(shape))
        M = bf.dense_matrix(net.kernels[l], arch.normalization)
        mats.append(M)
        u = M @ a
        if arch.bias:
            u = u + np.repeat(net.biases[l], d)
        J = M @ J
        if l == arch.depth - 1:
            return J, mats
        if arch.activation == "relu":
            mask = (u > 0).astype(float)
            u, J = u * mask, mask[:, None] * J
        R = _resample_matrix(arch.channels[l + 1], shape, arch.resample[l])
        a, J = R @ u, R @ J
    n = arch.channels[-2]
    d = a.size // n
    P = np.kron(np.eye(n), np.full((1, d), 1.0 / d))   # mean over pixels per channel
    V = net.kernels[-1]
    mats.append(V)
    return V @ P @ J, mats


def dense_sides(net, x):
    """T2 lhs and T5 both sides from dense SVDs of the reference matrices."""
    arch = net.architecture
    J, mats = reference(net, x)
    L = arch.depth
    s = np.linalg.svd(J, compute_uv=False)
    s = s[s > s.max(initial=0.0) * max(J.shape) * np.finfo(float).eps]
    kappas = [np.prod(sh) * bf.norm_constant(arch.normalization, sh) ** 2
              for sh in arch.layer_shapes[:arch.n_conv]] + [1.0] * (arch.head == "avgpool")
    kappa = max(kappas)
    t2 = L * np.sum(s ** (2.0 / L)) / kappa
    k, logdet = s.size, float(np.sum(np.log(s)))
    lhs5 = 0.0
    mass = 0.0
    for M in mats:
        sl = np.linalg.svd(M, compute_uv=False)
        sl = np.concatenate([sl, np.zeros(max(0, k - sl.size))])
        for i, v in enumerate(sl):
            lhs5 += v ** 2 if i >= k else v ** 2 - 1.0 - np.log(v ** 2)
        mass += float(np.sum(M ** 2))
    return {"J": J, "t2": t2, "rank": k, "logdet": logdet, "t5_lhs": lhs5,
            "t5_rhs": mass - k * L - 2 * logdet, "kappa": kappa}


def random_network(arch, rng, bias_scale=0.3):
    net = arch.init(rng=rng)
    scales = rng.uniform(0.5, 2.0, size=arch.depth)
    kernels = [w * s for w, s in zip(net.kernels, scales)]
    biases = [bias_scale * rng.standard_normal(b.shape) for b in net.biases]
    return cbn.Network(arch, kernels, biases)


def random_architecture(rng):
    ndim = int(rng.integers(1, 3))
    shape = (int(rng.integers(2, 7)),) if ndim == 1 else tuple(int(v) for v in
                                                               rng.integers(2, 4, size=2))
    depth = int(rng.integers(1, 9))
    channels = tuple(int(v) for v in rng.integers(1, 4, size=depth + 1))
    return cbn.Architecture(
        shape, channels, activation=str(rng.choice(["relu", "linear"])),
        bias=bool(rng.integers(2)), penalize_bias=bool(rng.integers(2)),
        normalization=str(rng.choice(["operator", "plain"])))


SPECIAL = {
    "avgpool-1d": cbn.Architecture((6,), (2, 3, 3, 2), head="avgpool"),
    "avgpool-2d-plain": cbn.Architecture((2, 4), (1, 3, 2), head="avgpool",
                                         normalization="plain"),
    "down-up-1d": cbn.Architecture((8,), (1, 3, 2, 3, 1), resample=(2, 1, -2)),
    "down-2d-plain": cbn.Architecture((4, 4), (2, 2, 3, 1), resample=(2, 1),
                                      normalization="plain"),
    "down-avgpool": cbn.Architecture((6,), (1, 3, 2, 2), head="avgpool", resample=(3, 1)),
    "windows": cbn.Architecture((7,), (2, 3, 3, 1), kernel_size=3),
}

# --------------------------------------------------------------------------- T2 and T5


@pytest.mark.parametrize("seed", range(40))
def test_t2_t5_hold_on_random_networks_and_match_dense_reference(seed):
    rng = np.random.default_rng(seed)
    arch = random_architecture(rng)
    net = random_network(arch, rng)
    x = rng.standard_normal(arch.input_shape)
    ref = dense_sides(net, x)
    b2 = jacobian_bound(net, x)
    b5 = weight_bottleneck_bound(net, x)
    assert b2.holds() and b5.holds()
    assert b2.lhs <= b2.middle * (1 + RTOL) + RTOL
    assert b5.lhs <= b5.rhs + RTOL * max(1.0, abs(b5.rhs))
    assert b2.rank == ref["rank"] == b5.k
    assert np.isclose(b2.lhs, ref["t2"], rtol=1e-8, atol=1e-10)
    assert np.isclose(b2.log_pdet, ref["logdet"], rtol=1e-8, atol=1e-8)
    assert np.isclose(b5.lhs, ref["t5_lhs"], rtol=1e-8, atol=1e-8)
    assert np.isclose(b5.rhs, ref["t5_rhs"], rtol=1e-8, atol=1e-8)
    # the three sides of T2 from their definitions
    weights = sum(float(np.sum(w ** 2)) for w in net.kernels)
    assert np.isclose(b2.middle, weights, rtol=1e-12)
    assert np.isclose(b2.rhs, weights + arch.penalize_bias * sum(
        float(np.sum(v ** 2)) for v in net.biases), rtol=1e-12)
    assert np.isclose(b5.margin, b5.horn_gap, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_t2_t5_hold_with_resampling_pooling_and_windows(name):
    arch = SPECIAL[name]
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        net = random_network(arch, rng)
        x = rng.standard_normal(arch.input_shape)
        ref = dense_sides(net, x)
        assert np.allclose(net.jacobian(x), ref["J"], atol=1e-10)
        b2, b5 = jacobian_bound(net, x), weight_bottleneck_bound(net, x)
        assert b2.holds() and b5.holds()
        assert np.isclose(b2.kappa, ref["kappa"])
        assert np.isclose(b2.lhs, ref["t2"], rtol=1e-8, atol=1e-10)
        assert np.isclose(b5.lhs, ref["t5_lhs"], rtol=1e-8, atol=1e-8)
        assert np.isclose(b5.rhs, ref["t5_rhs"], rtol=1e-8, atol=1e-8)


def test_layer_operator_mass_is_kappa_times_kernel_norm():
    """||E_l||_F^2 from the dense loop matrix equals kappa_l ||W_l||^2."""
    net = random_network(SPECIAL["down-2d-plain"], np.random.default_rng(0))
    for (s, kappa, w2), W in zip(layer_operators(net), net.kernels):
        M = bf.dense_matrix(W, "plain")
        assert np.isclose(np.sum(s ** 2), np.sum(M ** 2), rtol=1e-12)
        assert np.isclose(kappa * w2, np.sum(M ** 2), rtol=1e-12)


CASES = [((6,), 3, 2, "operator"), ((6,), 2, 3, "plain"), ((3, 4), 2, 2, "operator"),
         ((2, 3), 1, 3, "plain"), ((5,), 1, 1, "operator")]


@pytest.mark.parametrize("shape,cin,cout,norm", CASES)
@pytest.mark.parametrize("depth", [1, 2, 3, 6])
def test_both_inequalities_are_tight_at_the_balanced_factorisation(shape, cin, cout, norm,
                                                                   depth):
    """Linear CNN built by the balanced factorisation of A: T2 and T5 are equalities."""
    rng = np.random.default_rng(depth)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((cout, cin) + shape), norm)
    layers = cbn.balanced_factorization(A, depth)
    channels = (cin,) + tuple(op.out_channels for op in layers)
    arch = cbn.Architecture(shape, channels, activation="linear", bias=False,
                            normalization=norm)
    net = cbn.Network(arch, [op.kernel for op in layers], [])
    cost = cbn.linear_cost(A, depth)
    for x in (rng.standard_normal(arch.input_shape), np.full(arch.input_shape, 0.7)):
        b2 = jacobian_bound(net, x)
        assert np.isclose(b2.lhs, cost.value, rtol=1e-9)
        assert np.isclose(b2.middle, cost.value, rtol=1e-9)
        assert abs(b2.margin) <= 1e-9 * cost.value and abs(b2.margin_total) <= 1e-9 * cost.value
        assert np.isclose(b2.r0_bound, cost.r0) and np.isclose(b2.r1_bound, cost.r1, atol=1e-9)
        b5 = weight_bottleneck_bound(net, x)
        assert abs(b5.margin) <= 1e-9 * max(1.0, b5.operator_mass)
        assert abs(b5.horn_gap) <= 1e-9 * max(1.0, b5.operator_mass)
        # there the left side of T5 is the remainder of T1's expansion: R - L R0 - R1
        remainder = (cost.value - depth * cost.r0 - cost.r1) * b2.kappa
        assert np.isclose(b5.lhs, remainder, rtol=1e-8, atol=1e-9)


def test_translation_invariant_input_uses_frequency_blocks():
    arch = cbn.Architecture((4, 4), (2, 3, 3, 2), normalization="plain")
    rng = np.random.default_rng(7)
    net = random_network(arch, rng, bias_scale=1.0)
    x = np.ones(arch.input_shape) * np.array([0.5, -0.2])[:, None, None]
    b = jacobian_bound(net, x)
    assert b.per_frequency and b.crosscheck is not None and b.crosscheck < 1e-10
    ref = dense_sides(net, x)
    assert b.rank == ref["rank"] and np.isclose(b.lhs, ref["t2"], rtol=1e-9)
    # rank per frequency from the DFT of the dense (circulant) Jacobian, block by block
    J = ref["J"].reshape(2, 16, 2, 16)
    F = np.fft.fft2(np.eye(16).reshape(16, 4, 4), axes=(1, 2)).reshape(16, 16)
    blocks = np.einsum("mp,opiq,qn->mnoi", F, J, F.conj().T / 16)
    freq = np.einsum("mmoi->moi", blocks)
    ranks = [np.linalg.matrix_rank(B, tol=b.cost.zero_tol) for B in freq]
    assert b.cost.rank_by_frequency.ravel().tolist() == ranks
    # a non-constant input goes through the dense Jacobian
    x2 = x.copy()
    x2[0, 1, 2] += 1e-3
    assert not jacobian_bound(net, x2).per_frequency


def test_large_network_at_constant_input_skips_the_dense_crosscheck():
    """32x32 images, 3 channels: the dense Jacobian (3072^2 entries) is never decomposed."""
    rng = np.random.default_rng(8)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((3, 3, 32, 32)))
    layers = cbn.balanced_factorization(A, 3)
    arch = cbn.Architecture((32, 32), (3, 3, 3, 3), activation="linear", bias=False)
    net = cbn.Network(arch, [op.kernel for op in layers], [])
    assert arch.input_size * arch.output_size > bounds_module.DENSE_CROSSCHECK_MAX
    b = jacobian_bound(net, np.ones(arch.input_shape))
    assert b.per_frequency and b.crosscheck is None
    assert np.isclose(b.lhs, cbn.linear_cost(A, 3).value, rtol=1e-9)


# --------------------------------------------------------------------------- array level


def test_jacobian_cost_closed_form_and_blocks_equal_dense():
    s = np.array([3.0, 0.5, 2.0])
    for L in (1, 2, 5):
        c = jacobian_cost(np.diag(s), L, factor=0.25)
        assert np.isclose(c.value, 0.25 * L * np.sum(s ** (2.0 / L)))
        assert c.rank == 3 and np.isclose(c.log_pdet, np.log(3.0))
        assert np.isclose(c.r0_bound, 0.75) and np.isclose(c.r1_bound, 0.5 * np.log(3.0))
    rng = np.random.default_rng(0)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((2, 3, 5)))
    from_blocks = jacobian_cost(A.blocks, 3)
    dense = jacobian_cost(bf.dense_matrix(A.kernel), 3)
    assert np.isclose(from_blocks.value, dense.value, rtol=1e-12)
    assert from_blocks.rank == dense.rank == 10
    assert from_blocks.rank_by_frequency.tolist() == [2] * 5


def test_jacobian_cost_drops_roundoff_singular_values():
    """A rank-1 matrix with a round-off second singular value: s^(2/L) of 1e-17 is not 0."""
    u = np.array([1.0, 2.0, 3.0])
    J = np.outer(u, u) + 1e-17 * np.eye(3)
    c = jacobian_cost(J, 20)
    assert c.rank == 1
    assert np.isclose(c.value, 20 * (u @ u) ** (1 / 10))


def test_bottleneck_terms_scalar_closed_form():
    """1x1 layers s_l with masks all on: J = prod s_l and Horn is an equality."""
    s = np.array([0.3, 2.0, 1.7, 0.9])
    t = bottleneck_terms([[v] for v in s], k=1, log_pdet=float(np.sum(np.log(s))))
    assert np.allclose(t.per_layer, s ** 2 - 1 - np.log(s ** 2))
    assert np.isclose(t.rhs, np.sum(s ** 2) - 4 - 2 * np.sum(np.log(s)))
    assert abs(t.margin) < 1e-12
    # a mask that kills the product: k = 0, every term is s^2 and the margin is 0
    t0 = bottleneck_terms([[v] for v in s], k=0, log_pdet=0.0)
    assert np.isclose(t0.lhs, np.sum(s ** 2)) and abs(t0.margin) < 1e-12
    # a layer with fewer than k non-zero singular values: the left side is infinite
    bad = bottleneck_terms([[1.0, 0.0], [1.0, 1.0]], k=2, log_pdet=0.0)
    assert bad.lhs == np.inf and bad.margin == -np.inf


def test_bottleneck_terms_strict_when_singular_directions_misalign():
    """diag(2, 1/2) followed by diag(1/2, 2): product = identity, Horn strict for k = 1."""
    t = bottleneck_terms([[2.0, 0.5], [2.0, 0.5]], k=2, log_pdet=0.0)
    assert abs(t.margin) < 1e-12
    t1 = bottleneck_terms([[2.0, 0.5], [2.0, 0.5]], k=1, log_pdet=0.0)
    assert np.isclose(t1.margin, 2 * np.log(4.0))


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_named_parameter():
    net = cbn.Architecture((4,), (1, 2, 1)).init(rng=0)
    with pytest.raises(ValidationError, match="x must"):
        jacobian_bound(net, np.zeros((2, 4)))
    with pytest.raises(ValidationError, match="finite"):
        weight_bottleneck_bound(net, np.full((1, 4), np.nan))
    with pytest.raises(ValidationError, match="net must"):
        jacobian_bound("net", np.zeros((1, 4)))
    with pytest.raises(ValidationError, match="depth"):
        jacobian_cost(np.eye(2), 0)
    with pytest.raises(ValidationError, match="factor"):
        jacobian_cost(np.eye(2), 1, factor=-1.0)
    with pytest.raises(ValidationError, match="jacobian"):
        jacobian_cost(np.array([np.inf, 1.0]).reshape(1, 2), 1)
    with pytest.raises(ValidationError, match=r"layer_singular_values\[0\]"):
        bottleneck_terms([[-1.0]], k=0, log_pdet=0.0)
    with pytest.raises(ValidationError, match="k must"):
        bottleneck_terms([[1.0]], k=-1, log_pdet=0.0)


# --------------------------------------------------------------------------- proof checks


def _load_check(name):
    path = Path(__file__).resolve().parents[2] / "proofs_checks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name,label", [("t2_jacobian_bound", "T2"),
                                        ("t5_weight_bottleneck", "T5")])
def test_proof_check_scripts_hold(name, label):
    report = _load_check(name).main(quick=True)
    assert report.label == label and report.kind == "exact"
    assert report.verdict == "holds" and len(report.rows) >= 10
    assert all(r["verdict"] == "holds" for r in report.rows)
