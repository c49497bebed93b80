"""cbntheory: numerical checks of minimal parameter norms and bottleneck structure in CNNs.

The package computes representation costs (minimal parameter norms) of linear and
ReLU convolutional networks on the cyclic pixel group, exactly where a closed form or
a convex program exists and as certified ``[lower, upper]`` intervals elsewhere, and
compares them with the bounds of Wen & Jacot (ICML 2024): depth x CBN rank, the
Jacobian bounds and the regularity corrections.  See ``docs/theory.md``.
"""
from __future__ import annotations

from . import convex, fourier, settings, symbolic, targets
from .architecture import Architecture
from .bounds import (
    BottleneckBound,
    JacobianBound,
    JacobianCost,
    jacobian_bound,
    jacobian_cost,
    weight_bottleneck_bound,
)
from .data_bounds import LipschitzBound, lipschitz_lower_bound
from .errors import (
    CBNError,
    InaccurateSolutionWarning,
    InfeasibleError,
    NotEquivariantError,
    SolverError,
    ValidationError,
)
from .linear import LinearCost, balanced_factorization, linear_cost
from .minimal_norm import minimal_norm
from .network import Network
from .operators import ConvOperator
from .report import run_report
from .results import STATUSES, NormResult
from .structure import (
    CBNRankEstimate,
    StructureReport,
    activation_structure,
    analyze_structure,
    estimate_cbn_rank,
    frequency_span,
    weight_spectra,
)
from .tables import BoundTable, DepthRow
from .tabulate import bound_table

__version__ = "0.1.0"

__all__ = [
    "Architecture",
    "Network",
    "CBNError",
    "ConvOperator",
    "LinearCost",
    "balanced_factorization",
    "linear_cost",
    "minimal_norm",
    "InaccurateSolutionWarning",
    "InfeasibleError",
    "NormResult",
    "NotEquivariantError",
    "STATUSES",
    "SolverError",
    "ValidationError",
    "convex",
    "fourier",
    "settings",
    "symbolic",
    "targets",
    "BottleneckBound",
    "JacobianBound",
    "JacobianCost",
    "jacobian_bound",
    "jacobian_cost",
    "weight_bottleneck_bound",
    "LipschitzBound",
    "lipschitz_lower_bound",
    "CBNRankEstimate",
    "StructureReport",
    "activation_structure",
    "analyze_structure",
    "estimate_cbn_rank",
    "frequency_span",
    "weight_spectra",
    "BoundTable",
    "DepthRow",
    "bound_table",
    "run_report",
]
