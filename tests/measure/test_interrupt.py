"""Ctrl-C in library calls: a table stops at the solve it lands in (not only that solve)."""
import pytest
from _interrupts import interrupt_solves

from cbntheory.measure.tabulate import bound_table


def test_bound_table_from_python_stops_at_the_first_interrupted_solve(monkeypatch):
    solves = interrupt_solves(monkeypatch, after=3)
    with pytest.raises(KeyboardInterrupt):
        bound_table("shift_autoencoder_1d", "2-4", quick=True, restarts=2)
    # the solver itself swallows the interruption to return its best network; without the
    # table passing it on, every later restart and depth would be solved (and cut) too
    assert solves["n"] == 1
