"""Ctrl-C in library calls: a table stops at the solve it lands in (not only that solve)."""
import pytest

from cbntheory.measure.tabulate import bound_table
from cbntheory.solvers import relu as solve_relu


def _interrupt_every_solve(monkeypatch) -> dict:
    """Every ReLU solve gets a KeyboardInterrupt after a few evaluations; count the solves."""
    real = solve_relu.minimize_norm_subject_to
    solves = {"n": 0}

    def patched(constraint, x0, **kw):
        solves["n"] += 1
        count = {"n": 0}

        def cut(theta):
            count["n"] += 1
            if count["n"] > 3:
                raise KeyboardInterrupt
            return constraint(theta)

        return real(cut, x0, **kw)

    monkeypatch.setattr(solve_relu, "minimize_norm_subject_to", patched)
    return solves


def test_bound_table_from_python_stops_at_the_first_interrupted_solve(monkeypatch):
    solves = _interrupt_every_solve(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        bound_table("shift_autoencoder_1d", "2-4", quick=True, restarts=2)
    # the solver itself swallows the interruption to return its best network; without the
    # table passing it on, every later restart and depth would be solved (and cut) too
    assert solves["n"] == 1
