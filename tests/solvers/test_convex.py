"""Tests of cbntheory.convex.two_layer_min_norm against independent references.

(a) univariate data, free biases: values derived by hand from Savarese et al. (COLT 2019);
(b) fully connected data: an independent cvxpy program written here with explicit loops
    over sign vectors checked by LP;
(c) a small non-convex solver written here (augmented Lagrangian, L-BFGS): never below;
(d) invariances: circular shifts, scaling and negation of the labels, channel order,
    reflection;
(e) sampled patterns give upper bounds of the enumerated value.
Plus: the returned network reproduces the data and its norm (recomputed here from the
arrays) is the value; the certified lower bound; bad input.
"""
from __future__ import annotations

import itertools
import json

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize

import cbntheory as cbn
from cbntheory.cli import main as cli_main
from cbntheory.convex import two_layer_min_norm
from cbntheory.errors import InfeasibleError, SolverError, ValidationError
from cbntheory.solvers.convex import patterns
from cbntheory.solvers.convex.arrangements import TooManyCellsError


def _arch(spatial, channels, **kw):
    return cbn.Architecture(spatial, channels, head="avgpool", **kw)


def _norm_from_arrays(net) -> float:
    # sum of squares of every kernel, plus the biases when penalised (independent of
    # Network.param_norm)
    total = sum(float(np.sum(np.asarray(w) ** 2)) for w in net.kernels)
    if net.architecture.penalize_bias:
        total += sum(float(np.sum(np.asarray(b) ** 2)) for b in net.biases)
    return total


def _check_result(res, X, Y, rtol=1e-6):
    Y = np.asarray(Y).reshape(len(X), -1)
    out = res.network(X)
    assert np.linalg.norm(out - Y) <= rtol * max(np.linalg.norm(Y), 1.0)
    assert res.value == pytest.approx(_norm_from_arrays(res.network), rel=1e-12, abs=1e-14)
    if res.lower is not None:
        assert res.lower <= res.value * (1 + 1e-6) + 1e-9


# ------------------------------------------------------------------ (a) univariate, by hand
# Free biases, one input x in R, f = sum_j v_j relu(w_j x + b_j) + b_out, cost
# sum w_j^2 + v_j^2 >= 2 sum |v_j w_j| (equality after rescaling each unit).  Savarese et
# al.: the least 2-layer cost of f is max(int |f''|, |f'(-inf) + f'(+inf)|) (half the
# network norm).  For data x_1 < ... < x_N with chord slopes s_1..s_{N-1}: by the mean
# value theorem f' takes the values s_i at points xi_1 < ... < xi_{N-1}, so with
# alpha = f'(-inf), beta = f'(+inf) and T = sum_i |s_{i+1} - s_i|,
#     int |f''| >= |s_1 - alpha| + T + |beta - s_{N-1}| =: T + delta,
# and |alpha + beta| >= |s_1 + s_{N-1}| - delta.  Hence the cost is at least
# min_delta max(T + delta, |s_1 + s_L| - delta) = max(T, (T + |s_1 + s_L|) / 2), attained
# by the piecewise-linear interpolant with kinks at the data whose end slopes are moved
# towards each other by delta.  Network norm = 2 * max(T, (T + |s_1 + s_L|) / 2).
#  * (0,0), (2,3): s = 1.5, T = 0            -> 2 * max(0, 1.5) = 3
#  * (-1,-2), (0,0), (1,2): s = 2, 2, T = 0  -> 2 * max(0, 2)   = 4
#  * hat (-1,0), (0,1), (1,0): s = 1, -1, T = 2, |s1 + sL| = 0 -> 2 * 2 = 4
#  * (0,0), (1,0), (2,1): s = 0, 1, T = 1, |s1 + sL| = 1       -> 2 * 1 = 2
#  * (0,0), (1,1), (2,3): s = 1, 2, T = 1, |s1 + sL| = 3       -> 2 * max(1, 2) = 4
HAND = [
    ([0.0, 2.0], [0.0, 3.0], 3.0),
    ([-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], 4.0),
    ([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], 4.0),
    ([0.0, 1.0, 2.0], [0.0, 0.0, 1.0], 2.0),
    ([0.0, 1.0, 2.0], [0.0, 1.0, 3.0], 4.0),
]


def _savarese(x, y) -> float:
    order = np.argsort(x)
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    s = np.diff(y) / np.diff(x)
    T = float(np.sum(np.abs(np.diff(s))))
    return 2 * max(T, (T + abs(s[0] + s[-1])) / 2)


UNIVARIATE = _arch((1,), (1, 2, 1), penalize_bias=False)


@pytest.mark.parametrize("x,y,expected", HAND)
def test_univariate_hand_values(x, y, expected):
    assert _savarese(x, y) == pytest.approx(expected)  # the formula reproduces the hand values
    X = np.array(x).reshape(-1, 1, 1)
    res = two_layer_min_norm(UNIVARIATE, X, np.array(y)[:, None])
    assert res.status == "optimal" and res.exact
    assert res.value == pytest.approx(expected, rel=1e-6)
    _check_result(res, X, np.array(y)[:, None])


def test_univariate_random_data_against_formula():
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = np.sort(rng.uniform(-2, 2, 5))
        y = rng.standard_normal(5)
        res = two_layer_min_norm(UNIVARIATE, x.reshape(-1, 1, 1), y)
        assert res.value == pytest.approx(_savarese(x, y), rel=1e-6)
        assert res.lower == pytest.approx(_savarese(x, y), rel=1e-6)


# ------------------------------------------------------------------ (b) independent cvxpy
def _independent_fc_value(X: np.ndarray, y: np.ndarray, bias: str) -> float:
    """Pilanci-Ergen program for a dense two-layer net, written with explicit loops.

    Patterns: every D in {0,1}^N whose cone {u : (2D-1)_n <xhat_n, u> >= 1} is non-empty
    (LP).  Program: min sum_D ||u_D||_w + ||u'_D||_w (+ b^2/2) s.t.
    sum_D diag(D) Xhat (u_D - u'_D) (+ b) = y, (2D-1) * Xhat u_D >= 0 (same for u'_D).
    Returns twice the optimum.
    """
    N = len(X)
    Xh = np.hstack([X, np.ones((N, 1))]) if bias != "none" else X
    r = Xh.shape[1]
    pats = []
    for D in itertools.product((0, 1), repeat=N):
        D = np.array(D, float)
        u = cp.Variable(r)
        lp = cp.Problem(cp.Minimize(0), [cp.multiply(2 * D - 1, Xh @ u) >= 1])
        lp.solve(solver="CLARABEL")
        if lp.status == cp.OPTIMAL:
            pats.append(D)
    wdim = r - 1 if bias == "free" else r
    terms, fit, cons = [], 0, []
    for D in pats:
        u, up = cp.Variable(r), cp.Variable(r)
        terms += [cp.norm(u[:wdim], 2), cp.norm(up[:wdim], 2)]
        fit = fit + cp.multiply(D, Xh @ (u - up))
        cons += [cp.multiply(2 * D - 1, Xh @ u) >= 0, cp.multiply(2 * D - 1, Xh @ up) >= 0]
    b = cp.Variable()
    obj = cp.sum(cp.hstack(terms))
    if bias != "none":
        fit = fit + b
    if bias == "penalized":
        obj = obj + 0.5 * cp.square(b)
    prob = cp.Problem(cp.Minimize(obj), cons + [fit == y])
    prob.solve(solver="CLARABEL")
    return 2 * float(prob.value)


@pytest.mark.parametrize("bias", ["penalized", "free", "none"])
def test_fully_connected_against_independent_program(bias):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((5, 2))
    y = rng.standard_normal(5)
    arch = _arch((1,), (2, 3, 1), bias=bias != "none", penalize_bias=bias == "penalized")
    res = two_layer_min_norm(arch, X.reshape(5, 2, 1), y)
    assert res.exact and res.status == "optimal"
    assert res.value == pytest.approx(_independent_fc_value(X, y, bias), rel=1e-6)
    _check_result(res, X.reshape(5, 2, 1), y)


# ------------------------------------------------------------------ (c) non-convex route
def _nonconvex_norm(Zh: np.ndarray, y: np.ndarray, width: int, penalize_bias: bool,
                    seed: int) -> tuple[float, float]:
    """Augmented Lagrangian (L-BFGS-B inner solves) for min ||theta||^2 s.t. f(X) = y.

    ``Zh`` (N, d, r): augmented patches (last coordinate 1), so a hidden channel is
    mean_p relu(<u, zhat_p>).  Returns (norm, max |f(X) - y|).
    """
    N, d, r = Zh.shape
    wmask = np.ones(r)
    if not penalize_bias:
        wmask[-1] = 0.0
    rng = np.random.default_rng(seed)

    def unpack(th):
        return th[:width * r].reshape(width, r), th[width * r:width * r + width], th[-1]

    def cost(th):
        U, v, b = unpack(th)
        return float(np.sum(U ** 2 * wmask) + v @ v + (b * b if penalize_bias else 0.0))

    def fg(th, mu, lam):
        U, v, b = unpack(th)
        pre = Zh @ U.T
        act = pre > 0
        h = np.where(act, pre, 0.0).mean(axis=1)
        R = h @ v + b - y + lam / mu
        g = mu * R
        gU = np.einsum("ndj,ndr->jr", act * (g[:, None, None] * v[None, None, :] / d), Zh)
        grad = np.concatenate([(gU + 2 * U * wmask).ravel(), h.T @ g + 2 * v,
                               [g.sum() + (2 * b if penalize_bias else 0.0)]])
        return cost(th) + 0.5 * mu * R @ R, grad

    th = rng.standard_normal(width * r + width + 1)
    lam, mu = np.zeros_like(y), 1e3  # a large first penalty: fit first, then shrink
    for _ in range(11):
        th = minimize(fg, th, args=(mu, lam), jac=True, method="L-BFGS-B",
                      options={"maxiter": 400, "gtol": 1e-11, "ftol": 1e-16}).x
        U, v, b = unpack(th)
        out = np.maximum(Zh @ U.T, 0).mean(axis=1) @ v + b
        lam, mu = lam + mu * (out - y), min(3 * mu, 1e6)
    return cost(th), float(np.max(np.abs(out - y)))


def test_nonconvex_never_below_and_reaches_easy_case():
    # easy case: two points (0,0), (2,3), free biases; convex value 3 (hand derivation
    # above), reached by one unit; every interpolating local solution is >= 3
    # (the hat, value 4, has local solutions of norm 6 and dead-unit stalls: 3 restarts)
    for x, y, width in [([0.0, 2.0], [0.0, 3.0], 3), ([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0], 4)]:
        X, y = np.array(x).reshape(-1, 1, 1), np.array(y)
        convex = two_layer_min_norm(UNIVARIATE, X, y).value
        Zh = np.concatenate([X.reshape(-1, 1, 1), np.ones((len(y), 1, 1))], axis=2)
        runs = [_nonconvex_norm(Zh, y, width, False, s) for s in range(3)]
        ok = [n for n, res in runs if res < 1e-6]
        assert ok, "no non-convex run interpolated the data"
        assert min(ok) >= convex * (1 - 1e-5)
        if len(x) == 2:
            assert min(ok) == pytest.approx(convex, rel=1e-6)
    # a small CNN (d = 4, k = 2, penalised biases, binary inputs)
    rng = np.random.default_rng(5)
    X = rng.integers(0, 2, (4, 1, 4)).astype(float)
    arch = _arch((4,), (1, 2, 1), kernel_size=2)
    y = arch.init(rng=3)(X)[:, 0] + 0.5
    res = two_layer_min_norm(arch, X, y)
    Zh = np.concatenate([patterns.patches(X, (4,), 2, "operator"), np.ones((4, 4, 1))], 2)
    runs = [_nonconvex_norm(Zh, y, 4, True, s) for s in range(2)]
    ok = [n for n, r in runs if r < 1e-6 * max(1.0, np.abs(y).max())]
    assert ok and min(ok) >= res.value * (1 - 1e-5)


def test_project_minimal_norm_never_below_and_reaches_easy_case():
    # the project's numerical solver (augmented Lagrangian) on the same problems
    X = np.array([0.0, 2.0]).reshape(2, 1, 1)
    y = np.array([[0.0], [3.0]])
    convex = two_layer_min_norm(UNIVARIATE, X, y)
    num = cbn.minimal_norm(_arch((1,), (1, 2, 1), penalize_bias=False), data=(X, y),
                           method="numerical", restarts=2, rng=0)
    assert num.value >= convex.value * (1 - 1e-6)
    assert num.value == pytest.approx(convex.value, rel=1e-4)  # hand value 3
    rng = np.random.default_rng(5)
    X = rng.integers(0, 2, (4, 1, 4)).astype(float)
    arch = _arch((4,), (1, 4, 1), kernel_size=2)
    y = arch.init(rng=3)(X) + 0.5
    convex = two_layer_min_norm(arch, X, y)
    num = cbn.minimal_norm(arch, data=(X, y), method="numerical", restarts=2, rng=0)
    assert num.value >= convex.value * (1 - 1e-6)


# ------------------------------------------------------------------ (d) invariances
def _generic_cnn_data(seed=0, n=3, d=5, n0=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n0, d)), rng.standard_normal((n, 1))


def test_circular_shift_invariance_1d_and_2d():
    X, Y = _generic_cnn_data()
    arch = _arch((5,), (1, 2, 1), kernel_size=2)
    base = two_layer_min_norm(arch, X, Y)
    shifted = np.stack([np.roll(x, s, axis=-1) for x, s in zip(X, (1, 3, 4))])
    assert two_layer_min_norm(arch, shifted, Y).value == pytest.approx(base.value, rel=1e-6)
    rng = np.random.default_rng(2)
    X2 = rng.integers(0, 2, (4, 1, 3, 3)).astype(float)
    arch2 = _arch((3, 3), (1, 2, 1), kernel_size=(1, 2), penalize_bias=False)
    Y2 = arch2.init(rng=5)(X2) + 0.1  # labels of a teacher network: feasible
    r2 = two_layer_min_norm(arch2, X2, Y2)
    _check_result(r2, X2, Y2)
    X2s = np.stack([np.roll(x, (1, 2), axis=(-2, -1)) for x in X2])
    assert two_layer_min_norm(arch2, X2s, Y2).value == pytest.approx(r2.value, rel=1e-6)


@pytest.mark.parametrize("bias,penalize", [(True, False), (False, False), (True, True)])
def test_label_scaling_and_negation(bias, penalize):
    # Rescaling v by t maps an interpolant of Y to one of tY; the cost 2 sum ||u_j|| |v_j|
    # is positively homogeneous in v, so value(tY) = t value(Y) when nothing else is
    # penalised (free biases, or none).  A penalised output bias b costs b^2 and does not
    # rescale: value(Y) = min_b [b^2 + g(Y - b)] with g homogeneous, and substituting
    # b = t beta gives value(tY) = t min_beta [t beta^2 + g(Y - beta)], so for t >= 1
    # t value(Y) <= value(tY) <= t^2 value(Y) (and the reverse for t <= 1).
    # Negating v (and b) maps interpolants of Y to those of -Y at the same cost.
    X, Y = _generic_cnn_data(seed=4)
    Y = Y + 1.0  # a non-zero mean makes the output bias matter
    arch = _arch((5,), (1, 2, 1), kernel_size=2, bias=bias, penalize_bias=penalize)
    v = two_layer_min_norm(arch, X, Y).value
    assert two_layer_min_norm(arch, X, -Y).value == pytest.approx(v, rel=1e-6)
    for t in (2.5, 0.4):
        vt = two_layer_min_norm(arch, X, t * Y).value
        if not penalize:
            assert vt == pytest.approx(t * v, rel=1e-6)
        else:
            lo, hi = sorted((t * v, t * t * v))
            assert lo * (1 - 1e-6) <= vt <= hi * (1 + 1e-6)
            assert abs(vt - t * v) > 1e-4 * v  # strictly between for this data


def test_channel_permutation_and_reflection():
    X, Y = _generic_cnn_data(seed=6, n=2, d=4, n0=2)
    arch = _arch((4,), (2, 2, 1), kernel_size=3, penalize_bias=False)
    v = two_layer_min_norm(arch, X, Y).value
    assert two_layer_min_norm(arch, X[:, ::-1], Y).value == pytest.approx(v, rel=1e-6)
    # x[p] -> x[-p]: the symmetric 3-tap window is mapped to itself (kernel flipped)
    refl = np.roll(X[..., ::-1], 1, axis=-1)
    assert two_layer_min_norm(arch, refl, Y).value == pytest.approx(v, rel=1e-6)


# ------------------------------------------------------------------ (e) sampling
def test_sampling_is_an_upper_bound():
    X, Y = _generic_cnn_data(seed=8, n=4)
    arch = _arch((5,), (1, 2, 1), kernel_size=2)
    exact = two_layer_min_norm(arch, X, Y)
    assert exact.exact and exact.info["patterns"]["certificate"]["complete"]
    for seed in range(3):
        samp = two_layer_min_norm(arch, X, Y, patterns="sample", n_patterns=40, rng=seed)
        assert samp.seed == seed and samp.info["patterns"]["method"] == "sample"
        assert samp.value >= exact.value * (1 - 1e-6)
        _check_result(samp, X, Y)
        if not samp.exact:
            assert samp.status == "not_certified"
        # the certificate checked against all patterns is a valid lower bound
        assert samp.lower is not None and samp.lower <= exact.value * (1 + 1e-6)


def test_several_outputs_bounds():
    rng = np.random.default_rng(9)
    X = rng.integers(0, 2, (6, 1, 4)).astype(float)
    arch = _arch((4,), (1, 2, 2), kernel_size=2)
    Y = arch.init(rng=1)(X) + np.array([0.3, -0.2])
    res = two_layer_min_norm(arch, X, Y)
    _check_result(res, X, Y)
    assert res.lower is not None and res.lower <= res.value * (1 + 1e-6)
    # dropping the other output gives a network for one output: each single-output value
    # is a lower bound, and the relaxation's bound is at least the largest of them
    singles = [two_layer_min_norm(_arch((4,), (1, 2, 1), kernel_size=2), X, Y[:, [o]]).value
               for o in range(2)]
    assert res.value >= max(singles) * (1 - 1e-6)
    assert res.lower >= max(singles) * (1 - 1e-5)


# ------------------------------------------------------------------ bad input
def test_identical_or_shifted_inputs_with_different_labels():
    arch = _arch((4,), (1, 2, 1), kernel_size=2)
    X = np.array([[[0.0, 1.0, 2.0, 0.0]], [[0.0, 1.0, 2.0, 0.0]]])
    with pytest.raises(InfeasibleError, match="same patches"):
        two_layer_min_norm(arch, X, [1.0, 2.0])
    Xs = np.array([[[0.0, 1.0, 2.0, 0.0]], [[2.0, 0.0, 0.0, 1.0]]])  # a circular shift
    with pytest.raises(InfeasibleError, match="circular shifts"):
        two_layer_min_norm(arch, Xs, [1.0, 2.0])


def test_infeasible_by_averaging():
    # one-pixel patches: x3 has half the patches of x1 and half of x2, so every network
    # gives f(x3) = (f(x1) + f(x2)) / 2; labels 0, 1, 5 cannot be interpolated
    arch = _arch((2,), (1, 2, 1), kernel_size=1)
    X = np.array([[[0.0, 0.0]], [[1.0, 1.0]], [[0.0, 1.0]]])
    with pytest.raises(InfeasibleError, match="span"):
        two_layer_min_norm(arch, X, [0.0, 1.0, 5.0])
    assert two_layer_min_norm(arch, X, [0.0, 1.0, 0.5]).status == "optimal"


def test_too_many_patterns_suggests_sampling():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 1, 16))
    arch = _arch((16,), (1, 4, 1), kernel_size=3)
    with pytest.raises(TooManyCellsError, match="patterns='sample'"):
        two_layer_min_norm(arch, X, rng.standard_normal(40))


def test_bad_arguments():
    X, Y = _generic_cnn_data()
    with pytest.raises(ValidationError, match="avgpool"):
        two_layer_min_norm(cbn.Architecture((5,), (1, 2, 1)), X, Y)
    arch = _arch((5,), (1, 2, 1), kernel_size=2)
    with pytest.raises(ValidationError, match="Y must"):
        two_layer_min_norm(arch, X, np.ones((2, 1)))
    with pytest.raises(ValidationError, match="patterns"):
        two_layer_min_norm(arch, X, Y, patterns="all")
    with pytest.raises(ValidationError, match="X must be finite"):
        two_layer_min_norm(arch, X * np.nan, Y)
    with pytest.raises(SolverError, match="NO_SUCH_SOLVER"):
        two_layer_min_norm(arch, X, Y, solver="NO_SUCH_SOLVER")


def test_cli_json(tmp_path, capsys):
    X, Y = _generic_cnn_data(seed=3)
    path = tmp_path / "data.npz"
    np.savez(path, X=X, Y=Y)
    assert cli_main(["convex", str(path), "--kernel-size", "2", "--free-bias", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    direct = two_layer_min_norm(_arch((5,), (1, 1, 1), kernel_size=2, penalize_bias=False), X, Y)
    assert out["value"] == pytest.approx(direct.value, rel=1e-9)
    assert out["completeness"]["complete"] and out["patterns"]["count"] > 0
    assert cli_main(["convex", str(tmp_path / "missing.npz")]) == 2
