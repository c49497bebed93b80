"""T1-data (exact): linear CNNs on finite data, ``R = min {T1 cost of A : A x_i = y_i}``.

:func:`cbntheory.minimal_norm` on a linear architecture with data ``(X, Y)`` returns a
certified interval.  The rows compare it with computations that share none of its code:

* the dense route: the map ``w -> (conv(w, x_i))_i`` is assembled column by column from
  dense convolution matrices built by index arithmetic
  (:func:`cbntheory.checks.t1_linear_cost.dense_operator`); its least-norm solution is
  ``R(f; Omega, 1)`` (the squared kernel norm), and for every depth
  ``R(f; Omega, L) = (L/(d c^2)) sum_i s_i(M)^{2/L}`` with ``s_i`` the singular values of
  the dense matrix ``M`` of the least-norm map: any feasible ``A`` satisfies
  ``A P = M`` with ``P`` the orthogonal projection onto the span of the inputs (per
  frequency), and ``s_i(A P) <= s_i(A)``, so ``M`` is optimal at every depth (the unique
  map when the data determine it);
* one sample per data set: at each frequency ``A_m x_m = y_m`` forces
  ``s_1(A_m) >= ||y_m|| / ||x_m||`` and rank >= 1, attained by a rank-one map, so
  ``R = (L/(d c^2)) sum_m (||y_m|| / ||x_m||)^{2/L}`` (numpy FFT);
* the invariances ``R(X, t Y) = t^{2/L} R(X, Y)`` and ``R(shift X, shift Y) = R(X, Y)``;
* every returned network reproduces the data, with ``lower <= upper``.

Run ``python proofs_checks/t1_data.py [--full]`` for the table.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import settings
from ..nets.architecture import Architecture
from ..results import relative_residual
from ..solvers.dispatch import minimal_norm
from .t1_linear_cost import dense_operator
from .verdicts import EXACT, CheckReport, compare_equal, compare_leq, summarize


def _solve(arch: Architecture, X: np.ndarray, Y: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return minimal_norm(arch, data=(X, Y))


def _system(X: np.ndarray, cout: int, normalization: str) -> np.ndarray:
    """Matrix of ``w -> (conv(w, x_i))_i`` (columns: kernel entries in C order)."""
    N, cin = X.shape[:2]
    shape = X.shape[2:]
    cols = []
    for j in range(cout * cin * int(np.prod(shape))):
        w = np.zeros((cout, cin) + shape)
        w.flat[j] = 1.0
        M = dense_operator(w, normalization)
        cols.append(np.concatenate([M @ x.ravel() for x in X]))
    return np.stack(cols, axis=1)


def _arch(shape: tuple[int, ...], cin: int, cout: int, L: int, norm: str) -> Architecture:
    width = max(cin, cout)
    return Architecture(shape, (cin,) + (width,) * (L - 1) + (cout,), activation="linear",
                        bias=False, normalization=norm)


def _factor(shape: tuple[int, ...], norm: str) -> float:
    return 1.0 if norm == "operator" else 1.0 / int(np.prod(shape))


def _dense_rows(case: str, X: np.ndarray, Y: np.ndarray, cout: int, norm: str,
                depths: tuple[int, ...]) -> list[dict]:
    shape = X.shape[2:]
    B = _system(X, cout, norm)
    rhs = Y.reshape(-1)
    w, *_ = np.linalg.lstsq(B, rhs, rcond=None)
    determined = np.linalg.matrix_rank(B) == B.shape[1]
    W = w.reshape((cout, X.shape[1]) + shape)
    s = np.linalg.svd(dense_operator(W, norm), compute_uv=False)
    s = s[s > s.max() * s.size * np.finfo(float).eps * 10]
    rows = []
    for L in depths:
        res = _solve(_arch(shape, X.shape[1], cout, L, norm), X, Y)
        rows.extend(_verified(f"{case} L={L}", res, X, Y))
        if L == 1:
            rows.append(compare_equal(f"{case} L=1: R = least-norm kernel (dense lstsq)",
                                      res.upper, float(np.sum(w ** 2)), depth=L))
        witness = _factor(shape, norm) * L * float(np.sum(s ** (2.0 / L)))
        what = "the unique map" if determined else "the least-norm map"
        rows.append(compare_equal(f"{case} L={L}: R = (L/(d c^2)) sum s(M)^(2/L) of {what} "
                                  "(dense)", res.upper, witness, depth=L))
    return rows


def _verified(case: str, res, X: np.ndarray, Y: np.ndarray) -> list[dict]:
    rows = []
    if res.network is not None:
        resid = relative_residual(res.network(X), Y)
        rows.append(compare_leq(f"{case}: network reproduces the data", resid,
                                settings.FIT_RTOL, rtol=0.0, status=res.status))
        direct = sum(float(np.sum(k ** 2)) for k in res.network.kernels)
        rows.append(compare_equal(f"{case}: upper = norm of the network", res.upper, direct))
    if res.lower is not None:
        rows.append(compare_leq(f"{case}: lower <= upper", res.lower, res.upper,
                                rtol=settings.GAP_RTOL))
    return rows


def _single_sample_rows(case: str, x: np.ndarray, y: np.ndarray, norm: str,
                        depths: tuple[int, ...]) -> list[dict]:
    shape = x.shape[1:]
    axes = tuple(range(1, x.ndim))
    xh = np.fft.fftn(x, axes=axes).reshape(x.shape[0], -1)
    yh = np.fft.fftn(y, axes=axes).reshape(y.shape[0], -1)
    ratio = np.linalg.norm(yh, axis=0) / np.linalg.norm(xh, axis=0)
    ratio = ratio[ratio > ratio.max() * settings.GAIN_CUTOFF_RTOL]
    rows = []
    for L in depths:
        res = _solve(_arch(shape, x.shape[0], y.shape[0], L, norm), x[None], y[None])
        rows.extend(_verified(f"{case} L={L}", res, x[None], y[None]))
        closed = _factor(shape, norm) * L * float(np.sum(ratio ** (2.0 / L)))
        rows.append(compare_equal(f"{case} L={L}: R = (L/(d c^2)) sum_m (|y_m|/|x_m|)^(2/L)",
                                  res.upper, closed, depth=L))
    return rows


def _invariance_rows(case: str, X: np.ndarray, Y: np.ndarray, norm: str,
                     depths: tuple[int, ...], rng: np.random.Generator) -> list[dict]:
    shape = X.shape[2:]
    axes = tuple(range(2, X.ndim))
    shift = tuple(int(v) for v in rng.integers(0, shape))
    t = float(rng.uniform(0.3, 3.0))
    rows = []
    for L in depths:
        arch = _arch(shape, X.shape[1], Y.shape[1], L, norm)
        base = _solve(arch, X, Y)
        rows.extend(_verified(f"{case} L={L}", base, X, Y))
        scaled = _solve(arch, X, t * Y)
        moved = _solve(arch, np.roll(X, shift, axis=axes), np.roll(Y, shift, axis=axes))
        if base.status == "optimal" and scaled.status == "optimal":
            rows.append(compare_equal(f"{case} L={L}: R(X, tY) = t^(2/L) R(X, Y), t={t:.3g}",
                                      scaled.upper, t ** (2.0 / L) * base.upper,
                                      rtol=settings.OBJECTIVE_RTOL, depth=L))
        if base.status == "optimal" and moved.status == "optimal":
            rows.append(compare_equal(f"{case} L={L}: R invariant under the shift {shift}",
                                      moved.upper, base.upper, rtol=settings.OBJECTIVE_RTOL,
                                      depth=L))
    return rows


def _feasible(rng: np.random.Generator, shape: tuple[int, ...], cin: int, cout: int, N: int,
              norm: str) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs and the outputs of a random equivariant map (feasible data)."""
    X = rng.standard_normal((N, cin) + shape)
    W = rng.standard_normal((cout, cin) + shape)
    M = dense_operator(W, norm)
    Y = np.stack([(M @ x.ravel()).reshape((cout,) + shape) for x in X])
    return X, Y


def main(quick: bool = True) -> CheckReport:
    """Check minimal_norm on linear architectures with finite data."""
    rng = np.random.default_rng(1801)
    depths = (1, 2, 3, 5) if quick else (1, 2, 3, 4, 6, 8, 16)
    rows = []
    dense_cases = [((6,), 2, 2, 3, "operator"), ((4, 3), 2, 1, 3, "plain"),
                   ((6,), 3, 2, 2, "operator")]
    if not quick:
        dense_cases += [((8,), 2, 3, 2, "plain"), ((3, 4), 3, 2, 4, "operator")]
    for shape, cin, cout, N, norm in dense_cases:
        X, Y = _feasible(rng, shape, cin, cout, N, norm)
        rows.extend(_dense_rows(f"dense {shape} {cin}->{cout} N={N} {norm}", X, Y, cout, norm,
                                depths))
    for shape, cin, cout, norm in [((6,), 3, 2, "operator"), ((4, 4), 2, 2, "plain")]:
        x = rng.standard_normal((cin,) + shape)
        y = rng.standard_normal((cout,) + shape)
        rows.extend(_single_sample_rows(f"one sample {shape} {cin}->{cout} {norm}", x, y, norm,
                                        depths))
    for shape, cin, cout, N, norm in [((6,), 3, 2, 2, "operator")] + (
            [((4, 4), 3, 2, 2, "plain")] if not quick else []):
        X, Y = _feasible(rng, shape, cin, cout, N, norm)
        rows.extend(_invariance_rows(f"invariance {shape} {cin}->{cout} N={N} {norm}",
                                     X, Y, norm, (1, 2) if quick else (1, 2, 3), rng))
    return summarize(
        "T1-data", "linear CNNs on finite data: R(f; Omega, L) = min over equivariant A with "
        "A x_i = y_i of the T1 cost", EXACT, rows,
        message="minimal_norm against dense least squares from the definition (least-norm map, "
                "optimal at every depth), one-sample closed forms, invariances (label scaling, "
                "shifts); "
                f"rtol {settings.INEQUALITY_RTOL:g} (solver rows {settings.OBJECTIVE_RTOL:g})")
