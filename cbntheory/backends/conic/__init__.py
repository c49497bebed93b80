"""The one place that talks to cvxpy: solver choice, fallback, status mapping, programs.

* :func:`solve` (in ``_core``) solves any ``cvxpy.Problem`` with the solvers of
  :data:`cbntheory.settings.CONIC_SOLVERS` in order at :data:`cbntheory.settings.CONIC_EPS`,
  maps cvxpy's status onto :mod:`cbntheory.results`' vocabulary and returns plain arrays
  in a frozen :class:`ConicSolution`; it never raises cvxpy's exceptions (every solver
  failing: :class:`~cbntheory.errors.SolverError`).  A caller that re-verifies answers
  passes its ``check``: the next solver is tried while the check fails.
* One builder per program, plain arrays in and out: :func:`group_lasso` and
  :func:`output_weights_lasso` and :func:`output_weights_basis` (the two-layer ReLU
  program, ``twolayer``) and
  :func:`nuclear_norm_interpolation` (depth-2 linear CNNs, ``nuclear``).

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
from .twolayer import group_lasso, output_weights_basis, output_weights_lasso

__all__ = ["ConicSolution", "NuclearNormSolution", "OUTPUT_BIAS", "group_lasso",
           "nuclear_norm_interpolation", "output_weights_basis", "output_weights_lasso", "solve",
           "solver_options", "solver_order", "status_of"]
