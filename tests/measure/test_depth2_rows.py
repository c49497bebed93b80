"""Issue 15, lower side, in the tables: the depth-2 certificate and the open-set variant.

The certificate's row must bound the same object as the row's upper bound (it never
exceeds a verified network's norm, exact fit or ``R_eps``); the open-set value stays out
of the interval.  References: verified networks, the Lipschitz row, finite differences
of the target functions, closed forms of T2 at unit singular values.
"""
from __future__ import annotations

import numpy as np
import pytest

from cbntheory.measure import intervals
from cbntheory.measure.tables import DepthRow
from cbntheory.solvers.certificates import OPEN_SET_CONDITION, open_set_t2
from cbntheory.targets import get
from cbntheory.targets import signals as S


def test_small_orbit_row_joins_the_certificate_and_the_lipschitz_bound():
    """Six shifts of a bump, f = id: the certificate beats Lipschitz's L = 2 and is labelled."""
    import cbntheory as cbn

    X = S.all_shifts(S.bump((6,), 1.0))
    arch = cbn.Architecture((6,), (1, 2, 1))
    parts = intervals.measurements(arch, X, X, 2, max_iter=300)
    row = intervals.combine(2, list(parts.values()))
    assert parts["lipschitz"].lower == pytest.approx(2.0)
    # the solver's verified network supplies the multipliers; the bound stays below it
    assert 2.0 < row.lower <= row.upper == parts["minimal_norm"].upper
    assert row.lower_from == intervals.DEPTH2_DUAL
    assert "over all 64 activation patterns" in row.message


@pytest.mark.slow
def test_the_l2_row_takes_the_certificate_as_its_lower_side():
    target = get("shift_autoencoder_1d")
    arch = target.architecture(2)
    X, Y = target.data()
    con = target.construction(2, bias_aware=True)
    parts = intervals.measurements(arch, X, Y, 2, construction=con, solver=False)
    assert set(parts) == {"lipschitz", "construction", "depth2_dual"}
    row = intervals.combine(2, list(parts.values()))
    assert row.lower_from == intervals.DEPTH2_DUAL
    assert parts["lipschitz"].lower == pytest.approx(2.0)          # Lambda = 1: L
    assert 2.0 < row.lower <= con.network.param_norm() == row.upper
    assert "over all 4096 activation patterns" in row.message
    eps = intervals.depth2_row(arch, X, Y, 2, [con.network], epsilon=1e-2)
    assert 0.0 < eps.lower < row.lower and "R_eps" in eps.message
    assert intervals.measurements(arch, X, Y, 2, construction=con, solver=False,
                                  convex=False).keys() == {"lipschitz", "construction"}


def test_too_many_patterns_is_said_with_the_count_not_failed():
    target = get("shift_autoencoder_2d")
    X, Y = target.data()
    row = intervals.depth2_row(target.architecture(2), X, Y, 2)
    assert row.lower is None and row.status == "not_certified"
    assert "2^36 = 68719476736" in row.message


def test_shift_tangents_against_finite_differences():
    """The tangent projector contains the central difference of a Fourier shift."""
    x0 = S.bump((12,), 1.5)
    X = S.all_shifts(x0)
    P = S.shift_tangent_jacobians(X)
    m = np.fft.fftfreq(12, 1 / 12)
    h = 1e-5

    def shifted(t: float) -> np.ndarray:
        return np.real(np.fft.ifft(np.fft.fft(X[3, 0]) * np.exp(-2j * np.pi * m * t / 12)))

    fd = (shifted(h) - shifted(-h)) / (2 * h)
    assert np.linalg.matrix_rank(P[3], tol=1e-9) == 1
    assert np.allclose(P[3] @ fd, fd, atol=1e-7 * np.linalg.norm(fd))


def test_upward_jump_gradient_against_finite_differences():
    X = S.gaussian_inputs(3, (1, 8))
    J = S.upward_jumps_jacobians(X)
    h = 1e-6
    for i in range(3):
        for p in range(8):
            e = np.zeros((1, 1, 8))
            e[0, 0, p] = h
            fd = (S.upward_jumps(X[i:i + 1] + e) - S.upward_jumps(X[i:i + 1] - e)) / (2 * h)
            assert J[i, 0, p] == pytest.approx(float(fd[0, 0]), abs=1e-8)


@pytest.mark.parametrize("name, rank", [("shift_autoencoder_1d", 1), ("shift_autoencoder_2d", 2)])
def test_open_set_value_is_rank_j_times_l_and_stays_apart(name, rank):
    """Unit singular values: T2 gives exactly L Rank_J (kappa = 1); the interval is untouched."""
    target = get(name)
    for L in (2, 8):
        arch = target.architecture(L)
        out = open_set_t2(arch, target.open_set_jacobians())
        assert out["rank"] == rank == target.rank_j
        assert out["value"] == pytest.approx(L * rank, rel=1e-12)
        row = intervals.open_set_row(DepthRow(L, 1.5, 9.0, "not_certified", "m"), target, arch)
        assert (row.lower, row.upper, row.conditional_lower) == (1.5, 9.0, out["value"])
        assert OPEN_SET_CONDITION in row.message
    digits = get("digits_classifier")
    row = intervals.open_set_row(DepthRow(2, 1.0, 2.0, "not_certified"), digits,
                                 digits.architecture(2, quick=True), quick=True)
    assert row.conditional_lower is None and "not available" in row.message


@pytest.mark.slow
def test_cli_table_shows_both_lower_labels(tmp_path):
    """``cbn table --open-set``: the certificate is the row's lower end, the T2 value apart."""
    import csv
    import io

    from cbntheory.cli import main

    out = tmp_path / "t.csv"
    main(["table", "shift_autoencoder_1d", "--depths", "2", "--quick", "--max-iter", "40",
          "--open-set", "--format", "csv", "--out", str(out), "--no-progress"])
    body = "".join(line for line in out.read_text().splitlines(True)
                   if not line.startswith("#"))
    rows = [r for r in csv.DictReader(io.StringIO(body)) if r.get("depth") == "2"]
    row = rows[0]
    assert row["lower_source"] == "depth-2 dual" and float(row["lower"]) > 2.0
    assert float(row["conditional_lower"]) == pytest.approx(2.0)
    assert float(row["lower"]) <= float(row["upper"])
