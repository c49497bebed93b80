"""A Ctrl-C delivered inside a ReLU solve, deterministically: the constraint raises
``KeyboardInterrupt`` after a given number of evaluations (what the solver sees when the
signal lands in its optimiser)."""
from __future__ import annotations

from typing import Any

from cbntheory.solvers import relu as solve_relu


def interrupt_solves(monkeypatch: Any, after: int, on_solve: int | None = None) -> dict:
    """Interrupt the ``on_solve``-th solve (every solve when None) after ``after`` evaluations.

    Returns a dict whose ``"n"`` counts the solves started.
    """
    real = solve_relu.minimize_norm_subject_to
    solves = {"n": 0}

    def patched(constraint, x0, **kw):
        solves["n"] += 1
        if on_solve is not None and solves["n"] != on_solve:
            return real(constraint, x0, **kw)
        count = {"n": 0}

        def cut(theta):
            count["n"] += 1
            if count["n"] > after:
                raise KeyboardInterrupt
            return constraint(theta)

        return real(cut, x0, **kw)

    monkeypatch.setattr(solve_relu, "minimize_norm_subject_to", patched)
    return solves
