"""Public door to the exact two-layer convex program: ``cbn.convex.two_layer_min_norm``.

The program itself lives in :mod:`cbntheory.solvers.convex` (pattern enumeration, the
group-lasso model, its solution and certificate); this module only names the public part,
so that ``from cbntheory.convex import two_layer_min_norm`` keeps working.
"""
from __future__ import annotations

from .errors import TooManyCellsError
from .solvers.convex.program import two_layer_min_norm

__all__ = ["TooManyCellsError", "two_layer_min_norm"]
