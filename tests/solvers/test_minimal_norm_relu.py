"""Tests of the ReLU case of minimal_norm (solvers.relu, certificates, starts, projection).

Independent answers used here: a forward pass written with explicit loops over pixels and
channels (the definition of circular convolution), planted networks (their norm bounds
the minimum from above), the T1 closed form for linear architectures run through the same
solver, the exact scaling law of the lower bound, the exact convex two-layer program
(cbntheory.convex), a closed-form residual for shift-inconsistent data, the closed-form
balanced rescaling, finite-difference Jacobians for the conditional T2 value.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from _interrupts import interrupt_solves

import cbntheory as cbn
from cbntheory.convex import two_layer_min_norm
from cbntheory.errors import InaccurateSolutionWarning, SolverError
from cbntheory.solvers import certificates, starts
from cbntheory.solvers import relu as solve_relu
from cbntheory.solvers.relu import relu_minimal_norm


# ---------------------------------------------------------------------- reference forward
def loop_forward(net: cbn.Network, X: np.ndarray) -> np.ndarray:
    """f_theta(X) for 1D networks without resampling, straight from the definition."""
    arch = net.architecture
    (d,) = arch.spatial_shape
    c = 1.0 / np.sqrt(d) if arch.normalization == "operator" else 1.0
    kernels, biases = net.kernels, net.biases
    outs = []
    for x in X:
        z = x
        for l in range(arch.n_conv):
            W = kernels[l]
            u = np.zeros((W.shape[0], d))
            for o, p in itertools.product(range(W.shape[0]), range(d)):
                s = 0.0
                for i, q in itertools.product(range(W.shape[1]), range(d)):
                    s += W[o, i, q] * z[i, (p - q) % d]
                u[o, p] = c * s + (biases[l][o] if arch.bias else 0.0)
            last = l == arch.depth - 1
            z = u if (last or arch.activation == "linear") else np.maximum(u, 0.0)
        if arch.head == "avgpool":
            pooled = z.mean(axis=1)
            z = kernels[-1] @ pooled + (biases[-1] if arch.bias else 0.0)
        outs.append(z)
    return np.array(outs)


def relative(net: cbn.Network, X: np.ndarray, Y: np.ndarray) -> float:
    return float(np.linalg.norm(loop_forward(net, X) - Y) / np.linalg.norm(Y))


def test_loop_forward_matches_engine():
    arch = cbn.Architecture((5,), (2, 3, 3, 1), kernel_size=3)
    net = arch.init(rng=0)
    net = cbn.Network(arch, net.kernels, [np.full(s, 0.1) for s in arch.bias_shapes])
    X = np.random.default_rng(1).standard_normal((3, 2, 5))
    assert np.allclose(loop_forward(net, X), net(X), atol=1e-12)


# ---------------------------------------------------------------------- planted networks
@pytest.mark.parametrize("channels,head", [((2, 3, 1), None), ((1, 3, 2), "avgpool")])
def test_planted_data_reproduced_below_planted_norm(channels, head):
    arch = cbn.Architecture((3,), channels, head=head)
    planted = arch.init(rng=11)
    X = np.random.default_rng(21).standard_normal((3,) + arch.input_shape)
    Y = planted(X)
    res = cbn.minimal_norm(arch, data=(X, Y), rng=1, max_iter=3000)
    assert res.status in ("not_certified", "optimal")
    assert relative(res.network, X, Y) <= 1e-6
    assert res.value <= planted.param_norm()
    assert np.isclose(res.value, res.network.param_norm(), rtol=1e-12)
    assert res.lower is not None and res.lower <= res.value
    assert res.info["runs"][0]["seed"] is not None and res.seed == 1


def test_target_network_path_and_warm_start():
    arch = cbn.Architecture((4,), (1, 4, 4, 1), kernel_size=3)
    planted = cbn.Architecture((4,), (1, 2, 3, 1), kernel_size=2).init(rng=3)
    X = np.random.default_rng(4).standard_normal((5, 1, 4))
    res = cbn.minimal_norm(arch, data=X, target=planted, rng=0, max_iter=500)
    assert relative(res.network, X, planted(X)) <= 1e-6
    assert res.value <= planted.param_norm() * (1 + 1e-12)
    assert res.info["target_norm"] == pytest.approx(planted.param_norm())
    assert "warm start" in res.info["runs"][0]["init"]


# ---------------------------------------------------------------------- linear, same path
@pytest.mark.parametrize("depth,channels", [(1, 2), (2, 1), (3, 2)])
def test_linear_architecture_matches_t1(depth, channels):
    d = 4
    rng = np.random.default_rng(10 * depth + channels)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((channels, channels, d)))
    arch = cbn.Architecture((d,), (channels,) * (depth + 1), activation="linear", bias=False)
    X = rng.standard_normal((channels * d, channels, d))  # generic: the data determine A
    res = relu_minimal_norm(arch, X, A.apply(X), rng=0, max_iter=3000)
    exact = cbn.linear_cost(A, depth).value
    assert res.value == pytest.approx(exact, rel=1e-6)
    assert res.value >= exact * (1 - 1e-6)


@pytest.mark.parametrize("scale", [1e-3, 1e3])
def test_scaled_data_cost(scale):
    # linear: R(cA) = c^(2/L) R(A) exactly (T1); the solver must follow the scale
    L, C, d = 3, 2, 4
    rng = np.random.default_rng(7)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((C, C, d)))
    arch = cbn.Architecture((d,), (C,) * (L + 1), activation="linear", bias=False)
    X = rng.standard_normal((C * d, C, d))
    res = relu_minimal_norm(arch, X, scale * A.apply(X), rng=0, max_iter=3000)
    assert res.value == pytest.approx(scale ** (2 / L) * cbn.linear_cost(A, L).value, rel=1e-6)
    # ReLU without biases: the certified lower bound scales exactly like R
    relu = cbn.Architecture((d,), (1, 3, 3, 1), bias=False)
    Xr = rng.standard_normal((4, 1, d))
    Yr = relu.init(rng=2)(Xr)
    base = _lower(relu, Xr, Yr)
    assert _lower(relu, Xr, scale * Yr) == pytest.approx(scale ** (2 / L) * base, rel=1e-12)


def _lower(arch, X, Y):
    from cbntheory.theory.lipschitz import lipschitz_lower_bound
    return lipschitz_lower_bound(arch, X, Y).value


# ---------------------------------------------------------------------- convex two-layer anchor
def test_two_layer_reaches_convex_value_on_easy_case():
    # |x| on {-1, 0, 1} with free biases: 2 * max(int|f''|, |f'(-inf)+f'(inf)|) = 4
    arch = cbn.Architecture((1,), (1, 4, 1), head="avgpool", penalize_bias=False)
    X = np.array([-1.0, 0.0, 1.0]).reshape(3, 1, 1)
    Y = np.array([[1.0], [0.0], [1.0]])
    convex = two_layer_min_norm(arch, X, Y)
    assert convex.exact
    res = relu_minimal_norm(arch, X, Y, rng=2, restarts=3, max_iter=3000)
    assert relative(res.network, X, Y) <= 1e-6
    assert res.value >= convex.value * (1 - 1e-6)
    assert res.value <= convex.value * (1 + 1e-4)


def test_two_layer_never_below_convex_value():
    arch = cbn.Architecture((3,), (1, 4, 1), head="avgpool")
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((4, 1, 3)), rng.standard_normal((4, 1))
    convex = two_layer_min_norm(arch, X, Y)
    assert convex.exact
    res = relu_minimal_norm(arch, X, Y, rng=0, max_iter=3000)
    assert relative(res.network, X, Y) <= 1e-6
    assert res.value >= convex.value * (1 - 1e-6)


# ---------------------------------------------------------------------- infeasibility
def test_width_that_cannot_interpolate_ends_with_status():
    arch = cbn.Architecture((4,), (1, 1, 1), bias=False)
    wide = cbn.Architecture((4,), (1, 6, 6, 1)).init(rng=3)
    X = np.random.default_rng(5).standard_normal((6, 1, 4))
    with pytest.warns(InaccurateSolutionWarning, match="may be too small"):
        res = relu_minimal_norm(arch, X, target=wide, rng=0, restarts=2, max_iter=1500,
                                time_limit=20)
    assert res.status == "solver_error" and res.network is None
    assert res.upper == np.inf and len(res.info["runs"]) == 2
    assert isinstance(res.info["best_unverified"], cbn.Network)
    with pytest.raises(SolverError):
        relu_minimal_norm(arch, X, target=wide, rng=0, max_iter=300, strict=True)


def test_orbit_residual_closed_form():
    arch = cbn.Architecture((5,), (1, 3, 1))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 5))
    y1, y2 = rng.standard_normal((2, 1, 5))
    X, Y = np.stack([x, np.roll(x, 1, axis=-1)]), np.stack([y1, y2])
    # f(roll x) = roll f(x): best f(x) is the mean of y1 and roll(y2, -1)
    want = np.linalg.norm(y1 - np.roll(y2, -1, axis=-1)) / np.sqrt(2) / np.linalg.norm(Y)
    assert certificates.orbit_residual(arch, X, Y) == pytest.approx(want, rel=1e-12)
    with pytest.raises(cbn.InfeasibleError, match="equivariance"):
        relu_minimal_norm(arch, X, Y)
    consistent = np.stack([y1, np.roll(y1, 1, axis=-1)])
    assert certificates.orbit_residual(arch, X, consistent) == 0.0
    pooled = cbn.Architecture((5,), (1, 3, 2), head="avgpool")  # invariant outputs
    with pytest.raises(cbn.InfeasibleError):
        cbn.minimal_norm(pooled, data=(X, np.array([[1.0, 0.0], [0.0, 1.0]])))


# ---------------------------------------------------------------------- Ctrl-C
def test_interrupt_keeps_verified_warm_start(monkeypatch):
    arch = cbn.Architecture((4,), (1, 3, 1))
    planted = arch.init(rng=1)
    X = np.random.default_rng(2).standard_normal((4, 1, 4))
    interrupt_solves(monkeypatch, after=20)
    res = relu_minimal_norm(arch, X, target=planted, rng=0)
    assert res.info["interrupted"] and "interrupted" in res.message
    assert res.status == "not_certified"
    assert relative(res.network, X, planted(X)) <= 1e-6
    assert res.value <= planted.param_norm()


def test_interrupt_in_second_restart_returns_first(monkeypatch):
    arch = cbn.Architecture((3,), (2, 3, 1))
    planted = arch.init(rng=11)
    X = np.random.default_rng(21).standard_normal((3, 2, 3))
    Y = planted(X)
    interrupt_solves(monkeypatch, after=5, on_solve=2)
    res = relu_minimal_norm(arch, X, Y, rng=1, restarts=3, max_iter=3000)
    assert res.info["interrupted"] and len(res.info["runs"]) == 2
    assert res.status == "not_certified" and "interrupted" in res.message
    assert relative(res.network, X, Y) <= 1e-6
    assert res.value == pytest.approx(res.info["runs"][0]["objective"])


def test_interrupt_before_any_fit_says_so(monkeypatch):
    arch = cbn.Architecture((3,), (2, 3, 1))
    X = np.random.default_rng(21).standard_normal((3, 2, 3))
    Y = arch.init(rng=11)(X)
    interrupt_solves(monkeypatch, after=3)
    with pytest.warns(InaccurateSolutionWarning, match="interrupted"):
        res = relu_minimal_norm(arch, X, Y, rng=1)
    assert res.status == "solver_error" and res.info["interrupted"]
    assert isinstance(res.info["best_unverified"], cbn.Network)


# ---------------------------------------------------------------------- bad input
def test_target_and_architecture_disagree():
    arch = cbn.Architecture((4,), (1, 3, 1))
    X = np.zeros((2, 1, 4))
    cases = [
        (cbn.Architecture((4,), (2, 3, 1)), "input shape"),          # n_0
        (cbn.Architecture((5,), (1, 3, 1)), "input shape"),          # spatial shape
        (cbn.Architecture((4,), (1, 3, 2)), "output shape"),         # n_L
        (cbn.Architecture((4,), (1, 3, 1), head="avgpool"), "output shape"),
    ]
    for other, what in cases:
        with pytest.raises(cbn.ValidationError, match=what):
            cbn.minimal_norm(arch, data=X, target=other.init(rng=0))
    with pytest.raises(cbn.ValidationError, match="inputs X"):
        cbn.minimal_norm(arch, target=arch.init(rng=0))
    with pytest.raises(cbn.ValidationError, match="target"):
        cbn.minimal_norm(arch, data=(X, np.ones((2, 1, 4))), target=arch.init(rng=0))


def test_bad_data_and_options():
    arch = cbn.Architecture((4,), (1, 3, 1))
    X = np.random.default_rng(0).standard_normal((2, 1, 4))
    bad = X.copy()
    bad[0, 0, 1] = np.nan
    with pytest.raises(cbn.ValidationError, match="finite"):
        cbn.minimal_norm(arch, data=(bad, X))
    with pytest.raises(cbn.ValidationError, match="Y"):
        relu_minimal_norm(arch, X, np.ones((2, 4)))
    with pytest.raises(cbn.ValidationError, match="options"):
        cbn.minimal_norm(arch, data=(X, X), bogus=1)
    with pytest.raises(cbn.ValidationError, match="method"):
        cbn.minimal_norm(arch, data=(X, X), method="convex")
    with pytest.raises(cbn.ValidationError, match="init"):
        relu_minimal_norm(arch, X, X, init="target")


def test_zero_outputs_are_optimal_at_zero():
    arch = cbn.Architecture((4,), (1, 3, 1))
    X = np.random.default_rng(0).standard_normal((2, 1, 4))
    res = relu_minimal_norm(arch, X, np.zeros((2, 1, 4)))
    assert res.status == "optimal" and res.value == 0.0 and res.lower == 0.0


# ---------------------------------------------------------------------- pieces
def test_rebalance_bias_free_closed_form():
    arch = cbn.Architecture((5,), (1, 3, 4, 2), bias=False)
    net = arch.init(rng=0)
    layers = [float(np.sum(w * w)) for w in net.kernels]
    out = starts.rebalance(net)
    X = np.random.default_rng(1).standard_normal((3, 1, 5))
    assert np.allclose(out(X), net(X), atol=1e-12)
    assert out.param_norm() == pytest.approx(3 * np.prod(layers) ** (1 / 3), rel=1e-12)
    assert np.allclose([np.sum(w * w) for w in out.kernels], out.param_norm() / 3)


def test_rebalance_with_biases_is_locally_optimal():
    arch = cbn.Architecture((5,), (1, 3, 4, 2))
    base = arch.init(rng=0)
    rng = np.random.default_rng(3)
    net = cbn.Network(arch, base.kernels, [rng.standard_normal(s) for s in arch.bias_shapes])
    out = starts.rebalance(net)
    X = rng.standard_normal((3, 1, 5))
    assert np.allclose(out(X), net(X), atol=1e-12)
    assert out.param_norm() <= net.param_norm()
    for _ in range(20):  # any other function-preserving rescaling costs more
        a = np.exp(0.05 * rng.standard_normal(3))
        a[-1] = 1.0 / (a[0] * a[1])
        P = np.cumprod(a)
        moved = cbn.Network(arch, [w * a[l] for l, w in enumerate(out.kernels)],
                            [b * P[l] for l, b in enumerate(out.biases)])
        assert np.allclose(moved(X), net(X), atol=1e-10)
        assert moved.param_norm() >= out.param_norm() - 1e-12


def test_embed_narrow_target_keeps_function_and_norm():
    target = cbn.Architecture((6,), (2, 2, 3, 1), kernel_size=3,
                              normalization="plain").init(rng=4)
    target = cbn.Network(target.architecture, target.kernels,
                         [np.full(s, 0.3) for s in target.architecture.bias_shapes])
    arch = cbn.Architecture((6,), (2, 5, 5, 1))
    net, why = starts.embed(target, arch)
    assert why == "" and net is not None
    X = np.random.default_rng(0).standard_normal((4, 2, 6))
    assert np.allclose(net(X), target(X), atol=1e-12)
    # plain -> operator normalisation rescales the convolution kernels by sqrt(d)
    kern = sum(float(np.sum(w * w)) for w in target.kernels) * 6
    bias = sum(float(np.sum(b * b)) for b in target.biases)
    assert net.param_norm() == pytest.approx(kern + bias, rel=1e-12)
    narrow = cbn.Architecture((6,), (2, 5, 5, 1), kernel_size=1)
    assert starts.embed(target, narrow)[0] is None


def test_conditional_t2_against_finite_differences():
    arch = cbn.Architecture((4,), (1, 3, 3, 1))
    target = arch.init(rng=7)
    X = np.random.default_rng(8).standard_normal((3, 1, 4))
    res = relu_minimal_norm(arch, X, target=target, rng=0, max_iter=200,
                            assume_open_set=True, bound_points=3)
    cond = res.info["conditional_lower"]
    assert "NOT a lower bound of the finite-data problem" in cond["condition"]
    assert res.lower != cond["value"]
    i = cond["sample"]
    eps, x = 1e-6, X[i]
    J = np.zeros((4, 4))
    for j in range(4):
        e = np.zeros_like(x)
        e[0, j] = eps
        J[:, j] = (target((x + e)[None]) - target((x - e)[None])).ravel() / (2 * eps)
    s = np.linalg.svd(J, compute_uv=False)
    s = s[s > 1e-9 * s[0]]
    assert cond["value"] == pytest.approx(3 * np.sum(s ** (2 / 3)), rel=1e-6)
    assert cond["value"] <= target.param_norm()   # T2 for the target network itself


# ---------------------------------------------------------------------- projection
@pytest.mark.parametrize("arch", [
    cbn.Architecture((6,), (2, 3, 3, 2), head="avgpool", kernel_size=(3,)),
    cbn.Architecture((8,), (1, 3, 2, 1), resample=(2, -2)),
    cbn.Architecture((3, 4), (1, 2, 1), penalize_bias=False),
    cbn.Architecture((6,), (2, 3, 1), bias=False),
], ids=["avgpool-taps", "resample", "2d", "nobias"])
def test_parameter_jacobian_matches_finite_differences(arch):
    from cbntheory.nets.jacobian import parameter_jacobian
    rng = np.random.default_rng(0)
    v = arch.init(rng=0).to_vector() + 0.1 * rng.standard_normal(arch.n_free)
    X = rng.standard_normal((3,) + arch.input_shape)
    out, J = parameter_jacobian(cbn.Network.from_vector(arch, v), X)
    assert J.shape == (out.size, arch.n_free)
    for i in rng.choice(arch.n_free, size=12, replace=False):
        e = np.zeros_like(v)
        e[i] = 1e-6
        fd = (cbn.Network.from_vector(arch, v + e)(X) - cbn.Network.from_vector(arch, v - e)(X))
        assert np.allclose(J[:, i], fd.ravel() / 2e-6, atol=1e-7)
    # the float32 Jacobian (the projection's, far from the data) is the same matrix to
    # single precision; the finite differences above check the float64 one
    out32, J32 = parameter_jacobian(cbn.Network.from_vector(arch, v), X, dtype=np.float32)
    assert J32.dtype == np.float32 and out32.dtype == np.float32
    assert np.linalg.norm(J32 - J) <= 1e-5 * np.linalg.norm(J)
    assert np.allclose(out32, out, rtol=1e-5, atol=1e-5 * np.abs(out).max())


@pytest.mark.parametrize("arch", [
    cbn.Architecture((6,), (2, 3, 3, 2), head="avgpool", kernel_size=(3,)),
    cbn.Architecture((7,), (1, 3, 2, 1)),
    cbn.Architecture((8,), (1, 3, 2, 1), resample=(2, -2)),
    cbn.Architecture((3, 4), (1, 2, 1), penalize_bias=False),
    cbn.Architecture((4, 5), (2, 3, 2), head="avgpool"),
    cbn.Architecture((4, 4), (1, 2, 1), bias=False),
], ids=["avgpool-taps", "odd", "resample", "2d", "2d-avgpool", "2d-even-nobias"])
def test_parameter_gram_is_j_jt_by_parseval(arch):
    # full-size kernels: the Gram comes from half spectra (Parseval, mirror bins of the
    # half spectrum kept once); J from the inverse transforms (checked by finite
    # differences above): two computations of the same inner products.  Windowed
    # kernels share J's code, so every case is also held against a Jacobian by central
    # differences of the forward pass (itself checked against loops in tests/nets)
    from cbntheory.nets.jacobian import parameter_gram, parameter_jacobian
    rng = np.random.default_rng(1)
    net = cbn.Network.from_vector(arch, arch.init(rng=2).to_vector()
                                  + 0.1 * rng.standard_normal(arch.n_free))
    X = rng.standard_normal((3,) + arch.input_shape)
    out, J = parameter_jacobian(net, X)
    out_g, G = parameter_gram(net, X)
    assert G.dtype == np.float64 and G.shape == (out.size, out.size)
    assert np.array_equal(out_g, out)
    assert np.allclose(G, J @ J.T, rtol=1e-12, atol=1e-12 * np.abs(G).max())
    v, eps = net.to_vector(), 1e-6
    fd = np.empty((out.size, arch.n_free))
    for i in range(arch.n_free):
        e = np.zeros_like(v)
        e[i] = eps
        fd[:, i] = (cbn.Network.from_vector(arch, v + e)(X)
                    - cbn.Network.from_vector(arch, v - e)(X)).ravel() / (2 * eps)
    assert np.linalg.norm(G - fd @ fd.T) <= 1e-7 * np.linalg.norm(G)
    _, G32 = parameter_gram(net, X, dtype=np.float32)
    assert np.linalg.norm(G32 - G) <= 1e-5 * np.linalg.norm(G)


def test_parameter_jacobian_refuses_other_precisions():
    from cbntheory.nets.jacobian import parameter_jacobian
    arch = cbn.Architecture((4,), (1, 2, 1))
    with pytest.raises(cbn.errors.ValidationError, match="dtype"):
        parameter_jacobian(arch.init(rng=0), np.ones((1, 1, 4)), dtype=np.float16)


def test_projection_restores_feasibility_with_a_small_move():
    from cbntheory.solvers.projection import project
    arch = cbn.Architecture((5,), (1, 4, 4, 1))
    planted = arch.init(rng=3)
    X = np.random.default_rng(4).standard_normal((4, 1, 5))
    Y = planted(X)
    v = planted.to_vector()
    bump = 1e-4 * np.random.default_rng(5).standard_normal(v.size)
    bumped = cbn.Network.from_vector(arch, v + bump)
    start = relative(bumped, X, Y)
    moved, resid, steps = project(bumped, X, Y, 1e-10)
    assert start > 1e-6 and resid <= 1e-10 and 1 <= steps <= 8
    assert relative(moved, X, Y) <= 1e-9          # checked by the loop-defined forward pass
    # the minimal-norm correction moves the parameters no more than the bump itself
    assert np.linalg.norm(moved.to_vector() - bumped.to_vector()) <= \
        np.linalg.norm(bumped.to_vector() - v)


def test_projection_from_far_uses_float32_then_reaches_round_off(monkeypatch):
    # a residual of about 1e-2: the first Jacobians are float32 (counted), the last float64,
    # and the answer fits the data to round-off by the loop-defined forward pass
    from cbntheory.nets import jacobian
    from cbntheory.solvers import projection
    arch = cbn.Architecture((5,), (1, 4, 4, 1))
    planted = arch.init(rng=3)
    X = np.random.default_rng(4).standard_normal((6, 1, 5))
    Y = planted(X)
    v = planted.to_vector()
    bumped = cbn.Network.from_vector(arch, v + 3e-2 * np.abs(v).mean()
                                     * np.random.default_rng(5).standard_normal(v.size))
    assert relative(bumped, X, Y) > 10 * cbn.settings.PROJECT_FLOAT32_ABOVE
    kinds: list[str] = []

    def counted(net, X, dtype=np.float64):
        kinds.append(np.dtype(dtype).name)
        return jacobian.parameter_gram(net, X, dtype=dtype)

    monkeypatch.setattr(projection, "parameter_gram", counted)
    moved, resid, steps = projection.project(bumped, X, Y, 1e-12)
    assert resid <= 1e-12 and relative(moved, X, Y) <= 1e-10
    assert kinds[0] == "float32" and kinds[-1] == "float64" and len(kinds) == steps


@pytest.mark.parametrize("stall_steps", [1, 2])
def test_projection_gives_up_after_slow_steps(monkeypatch, stall_steps):
    # every step counts as slow (ratio 0): the projection stops after stall_steps steps
    # although the target (0) is never met and each step lowers the residual
    from cbntheory.solvers.projection import project
    monkeypatch.setattr(cbn.settings, "PROJECT_STALL_RATIO", 0.0)
    monkeypatch.setattr(cbn.settings, "PROJECT_STALL_STEPS", stall_steps)
    arch = cbn.Architecture((5,), (1, 4, 4, 1))
    planted = arch.init(rng=3)
    X = np.random.default_rng(4).standard_normal((6, 1, 5))
    Y = planted(X)
    v = planted.to_vector()
    bumped = cbn.Network.from_vector(arch, v + 1e-2 * np.random.default_rng(5).standard_normal(
        v.size))
    moved, resid, steps = project(bumped, X, Y, 0.0)
    assert steps == stall_steps and resid < relative(bumped, X, Y)


# ------------------------------------------------ issue 15: annealed first phase, polish
def small_identity_restart(planted_rng: int, data_rng: int):
    """One identity restart (900 iterations) on four samples of a planted (1, 4, 4, 4, 1)
    network with 3-tap filters: the data, the result and its run record."""
    arch = cbn.Architecture((4,), (1, 4, 4, 4, 1), kernel_size=3)
    planted = arch.init(rng=planted_rng)
    X = np.random.default_rng(data_rng).standard_normal((4, 1, 4))
    Y = planted(X)
    res = relu_minimal_norm(arch, X, Y, rng=0, init="identity", max_iter=900)
    return planted, X, Y, res, res.info["runs"][0]


def test_random_restart_anneals_then_projects_onto_the_data():
    planted, X, Y, res, run = small_identity_restart(3, 4)
    stages = run["anneal"]
    # projectable, 900 iterations (at most RELU_METRIC_MAX_ITER): one stage in the
    # Gauss-Newton metric, then the projection (no closing)
    assert [st["metric"] for st in stages] == [True]
    assert stages[0]["weight"] == cbn.settings.RELU_METRIC_WEIGHT
    assert run["message"].startswith("annealed penalty") and "fit-first" not in run["message"]
    assert sum(st["iterations"] for st in run["anneal"]) <= 900
    assert relative(res.network, X, Y) <= 1e-6  # independent forward pass
    assert res.value <= planted.param_norm()  # the planted network bounds the minimum


def test_polish_compares_candidates_as_they_will_be_finished():
    from cbntheory.solvers.exact_fit import finish_exactly

    arch = cbn.Architecture((4,), (1, 3, 3, 1), kernel_size=3)
    planted = arch.init(rng=7)
    X = np.random.default_rng(8).standard_normal((4, 1, 4))
    Y = planted(X)
    near = cbn.Network.from_vector(
        arch, planted.to_vector() * (1 + 1e-9 * np.random.default_rng(9).standard_normal(
            arch.n_free)))
    assert 1e-12 < relative(near, X, Y) <= 1e-6
    net, resid, _, _ = solve_relu.polish(near, X, Y, 1e-6, np.inf, True, exact=True)
    assert relative(net, X, Y) <= 1e-6 and resid == pytest.approx(relative(net, X, Y), abs=1e-14)
    # never worse than finishing the unprojected network by its last layer alone, nor than
    # the projection onto the data (to round-off) finished the same way
    projected, _, _ = solve_relu.project(near, X, Y, cbn.settings.EXACT_FIT_RTOL)
    assert net.param_norm() <= finish_exactly(near, X, Y).norm + 1e-12
    assert net.param_norm() <= finish_exactly(projected, X, Y).norm + 1e-12


def stub_failing_projections(monkeypatch, count):
    """The first ``count`` projections fail (return their start unchanged); the calls."""
    real, calls = solve_relu.project, []

    def failing(net, X, Y, target, **kw):
        calls.append(target)
        if len(calls) <= count:
            return net, relative(net, X, Y), 0
        return real(net, X, Y, target, **kw)

    monkeypatch.setattr(solve_relu, "project", failing)
    return calls


def test_a_metric_only_run_that_does_not_fit_restarts_with_the_plain_annealing(monkeypatch):
    # the metric stage (a budget of at most RELU_METRIC_MAX_ITER) can end at a degenerate
    # point that no projection leaves: when the projection fails (made to, here), the
    # restart begins again from the same start with the plain stage (RELU_ANNEAL_PROJECTED,
    # relative to the start's norm)
    calls = stub_failing_projections(monkeypatch, 1)
    planted, X, Y, res, run = small_identity_restart(3, 4)
    assert len(calls) == 2
    assert run["message"].endswith("restarted with the plain annealing")
    assert run["verified"] and relative(res.network, X, Y) <= 1e-6
    stages = run["anneal"]
    assert [st["metric"] for st in stages] == [True, False]
    assert stages[0]["weight"] == cbn.settings.RELU_METRIC_WEIGHT  # not scaled by the norm
    arch = res.network.architecture
    theta0 = starts.random_start(arch, run["seed"], X, Y, "identity")
    f0 = float(np.dot(arch.penalty_mask(), theta0 * theta0))
    first = cbn.settings.RELU_ANNEAL_PROJECTED[0] / max(1.0, f0)
    assert stages[1]["weight"] == pytest.approx(first, rel=1e-12)
    assert run["iterations"] > 900  # both runs are counted
    assert res.value <= planted.param_norm()


def test_the_later_stages_continue_the_plain_stage(monkeypatch):
    # the metric stage's end and the plain restart's end both fail to project: from the
    # plain restart's end, the later stages of RELU_ANNEAL go on at the weights they would
    # have had after it (a geometric continuation of its absolute weight)
    calls = stub_failing_projections(monkeypatch, 2)
    planted, X, Y, res, run = small_identity_restart(3, 4)
    assert len(calls) == 3
    assert run["message"].endswith("continued by the later annealing stages")
    assert run["verified"] and relative(res.network, X, Y) <= 1e-6
    plain = [st["weight"] for st in run["anneal"] if not st["metric"]]
    ratios = [c / cbn.settings.RELU_ANNEAL[0] for c in cbn.settings.RELU_ANNEAL]
    assert len(plain) == len(ratios)
    assert np.allclose(plain, plain[0] * np.array(ratios), rtol=1e-12)
    assert res.value <= planted.param_norm()


def test_an_annealed_run_that_does_not_fit_is_closed_by_the_fit_first_schedule(monkeypatch):
    # a penalty so heavy that the annealing ends near zero weights, far from the data, where
    # the projection cannot close the residual: the restart must still end on the data.
    # Widths 4, not 3: with 3 channels the fit-first schedule itself missed the data in up
    # to 6 of 9 runs whose inputs differed by 1e-13 (and so on some machines' round-off)
    monkeypatch.setattr(cbn.settings, "RELU_ANNEAL_PROJECTED", (1000.0,))
    monkeypatch.setattr(cbn.settings, "RELU_ANNEAL", (1000.0, 100.0))  # the plain closings
    arch = cbn.Architecture((4,), (1, 4, 4, 1))
    planted = arch.init(rng=3)
    X = np.random.default_rng(4).standard_normal((5, 1, 4))
    Y = planted(X)
    res = relu_minimal_norm(arch, X, Y, rng=0, init="gaussian", max_iter=1500)
    run = res.info["runs"][0]
    assert "closed by the fit-first schedule" in run["message"]
    assert run["verified"] and relative(res.network, X, Y) <= 1e-6
