"""cbntheory: numerical checks of minimal parameter norms and bottleneck structure in CNNs.

The package computes representation costs (minimal parameter norms) of linear and
ReLU convolutional networks on the cyclic pixel group, exactly where a closed form or
a convex program exists and as certified ``[lower, upper]`` intervals elsewhere, and
compares them with the bounds of Wen & Jacot (ICML 2024): depth x CBN rank, the
Jacobian bounds and the regularity corrections.  See ``docs/theory.md``.
"""
from __future__ import annotations

from . import convex, fourier, settings, symbolic, targets
from ._version import __version__
from .errors import (
    CBNError,
    InaccurateSolutionWarning,
    InfeasibleError,
    NotEquivariantError,
    SolverError,
    ValidationError,
)
from .measure.structure import (
    CBNRankEstimate,
    StructureReport,
    activation_structure,
    analyze_structure,
    estimate_cbn_rank,
    frequency_span,
    weight_spectra,
)
from .measure.tables import BoundTable, DepthRow
from .measure.tabulate import bound_table
from .nets.architecture import Architecture
from .nets.network import Network
from .operators import ConvOperator
from .output.report import run_report
from .results import STATUSES, NormResult
from .solvers.dispatch import minimal_norm
from .theory.bounds import (
    BottleneckBound,
    JacobianBound,
    JacobianCost,
    jacobian_bound,
    jacobian_cost,
    weight_bottleneck_bound,
)
from .theory.linear import LinearCost, balanced_factorization, linear_cost
from .theory.lipschitz import LipschitzBound, lipschitz_lower_bound

__all__ = [
    "__version__",
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
