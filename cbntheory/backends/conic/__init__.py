"""The one place that talks to cvxpy: solver choice, fallback, status mapping, programs.

Two layers, kept apart on purpose:

* :func:`solve` — the generic core.  It solves any ``cvxpy.Problem`` with the
  solvers of :data:`cbntheory.settings.CONIC_SOLVERS` in order (Clarabel, then SCS),
  at the accuracy :data:`cbntheory.settings.CONIC_EPS`, maps cvxpy's status onto the
  fixed vocabulary of :mod:`cbntheory.results`, and returns the named primal and dual
  values as plain numpy arrays in a frozen :class:`ConicSolution`.  It never raises
  cvxpy's exceptions: when every solver fails it raises
  :class:`~cbntheory.errors.SolverError` naming them.  A caller that re-verifies answers
  passes its ``check``: the next solver is tried while the check fails.
* Program builders, one function per convex program, each taking and returning plain
  arrays: :func:`group_lasso` and :func:`output_weights_lasso` (the convex two-layer
  ReLU program of Pilanci & Ergen used by :mod:`cbntheory.convex`, in
  :mod:`cbntheory.backends.conic.twolayer`) and :func:`nuclear_norm_interpolation` (per-frequency
  nuclear norms for depth-2 linear CNNs, in :mod:`cbntheory.backends.conic.nuclear`).

No module outside this package imports cvxpy.

Examples
--------
>>> import cvxpy as cp
>>> x = cp.Variable(2)
>>> prob = cp.Problem(cp.Minimize(cp.norm(x, 2)), [x[0] + x[1] == 2])
>>> sol = solve(prob, variables={"x": x})
>>> sol.status, bool(np.allclose(sol.values["x"], [1.0, 1.0], atol=1e-7))
('optimal', True)
"""
from __future__ import annotations

import numpy as np  # noqa: F401  (used by the doctest above)

from ._core import OUTPUT_BIAS, ConicSolution, solve, solver_options, solver_order, status_of
from .nuclear import NuclearNormSolution, nuclear_norm_interpolation
from .twolayer import group_lasso, output_weights_lasso

__all__ = ["ConicSolution", "NuclearNormSolution", "OUTPUT_BIAS", "group_lasso",
           "nuclear_norm_interpolation", "output_weights_lasso", "solve", "solver_options",
           "solver_order", "status_of"]
