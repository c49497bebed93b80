"""Regressions of issue 14 in the solvers: honest failures, feasibility against ``tol``,
lower bounds that never exceed a verified norm.  References are independent: the network's
norm recomputed from its weights, least squares by ``numpy.linalg.lstsq`` on the dense
operator, the tolerance the caller asked for."""
from __future__ import annotations

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.convex import two_layer_min_norm
from cbntheory.solvers.problem import judge_feasibility


@pytest.mark.slow
def test_the_free_bias_certificate_is_rounded_below_the_verified_norm():
    # seed 1: the dual bound exceeded the saved network's norm by 1.3e-6 (residual 2e-7)
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((4, 1, 4)), rng.standard_normal((4, 1))
    arch = cbn.Architecture((4,), (1, 8, 1), kernel_size=2, head="avgpool",
                            penalize_bias=False)
    res = two_layer_min_norm(arch, X, Y)
    norm = float(sum(np.sum(w ** 2) for w in res.network.kernels))  # biases are free
    assert norm == pytest.approx(res.network.param_norm(), rel=1e-12)
    assert res.lower <= norm
    assert res.status == "optimal" and "rounded down" in res.message


def test_noisy_linear_data_are_feasible_to_the_tol_asked_for():
    rng = np.random.default_rng(0)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((1, 1, 6)))
    X = rng.standard_normal((3, 1, 6))
    Y = A.apply(X)
    Y = Y + 4.5e-8 * np.linalg.norm(Y) * rng.standard_normal(Y.shape) / np.sqrt(Y.size)
    arch = cbn.Architecture((6,), (1, 1, 1), activation="linear", bias=False)
    res = cbn.minimal_norm(arch, data=(X, Y), tol=1e-3)
    assert res.status == "not_certified" and res.residual <= 1e-3 and res.lower is None
    with pytest.raises(cbn.InfeasibleError, match=r"tol = 1\.0e-09.*relative residual \S+ > tol"):
        cbn.minimal_norm(arch, data=(X, Y), tol=1e-9)


def test_float32_inputs_with_float64_outputs():
    rng = np.random.default_rng(2)
    A = cbn.ConvOperator.from_kernel(rng.standard_normal((1, 1, 6)))
    X = rng.standard_normal((3, 1, 6)).astype(np.float32)
    Y = A.apply(X.astype(np.float64)).astype(np.float32).astype(np.float64)
    arch = cbn.Architecture((6,), (1, 1, 1), activation="linear", bias=False)
    res = cbn.minimal_norm(arch, data=(X, Y))
    assert res.status in ("optimal", "not_certified") and res.residual <= 1e-6


def test_the_feasibility_rule_names_the_measured_residual():
    # dense least squares from the definition: Y in the span of X only up to noise
    assert judge_feasibility(1e-12, 1e-6, "map") == ""
    assert "3.000e-07" in judge_feasibility(3e-7, 1e-6, "map")
    with pytest.raises(cbn.InfeasibleError, match="2.000e-03 > tol"):
        judge_feasibility(2e-3, 1e-3, "map")
    with pytest.raises(cbn.InfeasibleError):
        judge_feasibility(float("nan"), 1e-3, "map")


def test_a_starved_numerical_solve_has_no_finite_upper():
    arch = cbn.Architecture((6,), (1, 2, 1), activation="linear", bias=False, kernel_size=3)
    X = np.random.default_rng(3).standard_normal((2, 1, 6))
    Y = arch.init(rng=4)(X)
    with pytest.warns(cbn.InaccurateSolutionWarning):
        res = cbn.minimal_norm(arch, data=(X, Y), method="numerical", max_iter=1)
    assert res.status not in ("optimal", "not_certified")
    assert res.upper == res.value == np.inf and res.network is None
    assert "upper bound" not in res.message
    closest = res.info["best_unverified"]
    assert res.info["unverified_norm"] == pytest.approx(closest.param_norm())
