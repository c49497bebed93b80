"""Result objects shared by the solvers: the status vocabulary and :class:`NormResult`.

Every solver of cbntheory returns a frozen dataclass, never a bare float.  The
status is one of a fixed vocabulary (:data:`STATUSES`) so that tables and sweeps
can group answers without parsing messages.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import settings
from .errors import InaccurateSolutionWarning, SolverError, ValidationError

#: Interval closed to tolerance and every residual re-verified in numpy.
OPTIMAL = "optimal"
#: An answer exists but a re-verification or the solver itself reports reduced accuracy.
OPTIMAL_INACCURATE = "optimal_inaccurate"
#: The problem has no feasible point (raised as InfeasibleError at the API boundary).
INFEASIBLE = "infeasible"
#: The solver failed to produce a usable answer.
SOLVER_ERROR = "solver_error"
#: A verified feasible answer (upper bound) whose optimality is not certified.
NOT_CERTIFIED = "not_certified"

STATUSES: tuple[str, ...] = (OPTIMAL, OPTIMAL_INACCURATE, INFEASIBLE, SOLVER_ERROR, NOT_CERTIFIED)

#: Status groups (as cvxpy keeps its own): answers whose upper bound is a verified network.
VERIFIED: tuple[str, ...] = (OPTIMAL, NOT_CERTIFIED)
#: Answers that carry no usable upper bound.
FAILED: tuple[str, ...] = (INFEASIBLE, SOLVER_ERROR)


def _short(value: Any) -> str:
    """One value for :func:`field_lines` / :func:`one_line`: floats to 10 digits, arrays
    by shape (and entries when short), networks by their own repr."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    if isinstance(value, np.ndarray):
        return (np.array2string(value, separator=", ", threshold=20) if value.size <= 20
                else f"array of shape {value.shape}")
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (float, int)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def one_line(kind: str, fields: Mapping[str, Any]) -> str:
    """``Kind(a=1, b='x')``: the short ``__repr__`` of the result types (None fields left out).

    Examples
    --------
    >>> one_line("Demo", {"status": "optimal", "upper": 2.0, "lower": None})
    "Demo(status='optimal', upper=2)"
    """
    parts = [f"{k}={v!r}" if isinstance(v, str) else f"{k}={_short(v)}"
             for k, v in fields.items() if v is not None]
    return f"{kind}({', '.join(parts)})"


def field_lines(kind: str, fields: Mapping[str, Any]) -> str:
    """The ``__str__`` of the result types: one ``name: value`` line per field, names
    right-aligned (as ``scipy.optimize.OptimizeResult`` prints); long text is wrapped at
    word boundaries, never cut.

    Examples
    --------
    >>> print(field_lines("Demo", {"status": "optimal", "upper": 2.0}))
    Demo
     status: optimal
      upper: 2
    """
    import textwrap

    width = max((len(k) for k in fields), default=0)
    lines = [kind]
    for key, value in fields.items():
        text = _short(value)
        wrapped = textwrap.wrap(text, 88 - width, break_long_words=False) or [""]
        lines.append(f"{key:>{width + 1}}: {wrapped[0]}")
        lines += [" " * (width + 3) + more for more in wrapped[1:]]
    return "\n".join(lines)


def relative_residual(output: Any, Y: Any) -> float:
    """Relative residual ``||output - Y|| / ||Y||`` (the absolute error when ``Y = 0``).

    The one residual of the package: every fit (``tol``) and every table is judged by it.

    Examples
    --------
    >>> import numpy as np
    >>> r = relative_residual(np.array([1.0, 2.0]), np.array([1.0, 2.5]))
    >>> bool(np.isclose(r, 0.5 / np.sqrt(7.25)))
    True
    >>> relative_residual(np.array([0.0, 1e-3]), np.zeros(2))
    0.001
    """
    out = np.asarray(output, dtype=float)
    target = np.asarray(Y, dtype=float)
    err = float(np.linalg.norm(out - target))
    scale = float(np.linalg.norm(target))
    return err / scale if scale > 0 else err


def interval_status(lower: float | None, upper: float, *,
                    rtol: float = settings.GAP_RTOL) -> str:
    """The interval-closing rule: the status of a verified upper bound against a lower bound.

    ``"optimal"`` when ``upper - lower <= rtol * max(1, |upper|)``; ``"not_certified"``
    when the gap is wider or no lower bound is known (an "optimal" without a lower bound
    does not exist); ``"optimal_inaccurate"`` when the upper bound lies below the lower
    one by more than the slack (the two sides do not certify the same object to the
    accuracy asked for).

    Examples
    --------
    >>> interval_status(1.0, 1.0 + 1e-9), interval_status(None, 2.0), interval_status(2.0, 1.0)
    ('optimal', 'not_certified', 'optimal_inaccurate')
    """
    if lower is None or not np.isfinite(lower):
        return NOT_CERTIFIED
    slack = rtol * max(1.0, abs(upper))
    if upper < lower - slack:
        return OPTIMAL_INACCURATE
    return OPTIMAL if upper - lower <= slack else NOT_CERTIFIED


@dataclasses.dataclass(frozen=True)
class NormResult:
    """Outcome of a minimal-norm computation: a certified interval and a witness.

    Attributes
    ----------
    value : float
        Best parameter norm found (equal to ``upper``); ``inf`` whenever the status is not
        in :data:`VERIFIED` (a failed solve carries no number a table could print).
    lower : float or None
        Certified lower bound on the minimal norm, or None when none is available.
    upper : float
        Parameter norm of :attr:`network`, recomputed in numpy.
    status : str
        One of :data:`STATUSES`.
    message : str
        Human-readable account of how the interval was obtained.
    network : Network or None
        A network that reproduces the data to the requested tolerance and whose
        ``param_norm()`` equals :attr:`upper`.
    seed : int or None
        Seed of the random generator used (restarts derive their seeds from it).
    solver : str
        Name of the method/solver that produced the upper bound.
    options : Mapping
        Solver options used.
    residual : float
        Relative interpolation residual of :attr:`network`, recomputed in numpy.
    wall_time : float
        Seconds spent.
    exact : bool
        True when the value is provably the exact minimum (e.g. all activation
        patterns enumerated in the convex two-layer program).
    info : Mapping
        Method-specific extras (per-restart norms, duality gap, pattern counts...).
    """

    value: float
    lower: float | None
    upper: float
    status: str
    message: str
    network: Any = None
    seed: int | None = None
    solver: str = ""
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    residual: float = float("nan")
    wall_time: float = float("nan")
    exact: bool = False
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValidationError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def gap(self) -> float:
        """``upper - lower`` (``inf`` when no lower bound is known)."""
        if self.lower is None:
            return float("inf")
        return float(self.upper - self.lower)

    @property
    def relative_gap(self) -> float:
        """``(upper - lower) / max(1, |upper|)`` (``inf`` when no lower bound is known)."""
        return self.gap / max(1.0, abs(self.upper))

    def __repr__(self) -> str:
        return one_line("NormResult", {"status": self.status, "lower": self.lower,
                                       "upper": self.upper, "solver": self.solver or None})

    def __str__(self) -> str:
        """Every field but ``options``/``info`` on its own line (the message in full)."""
        fields = {"status": self.status,
                  "interval": f"[{_short(self.lower) if self.lower is not None else 'none'}, "
                              f"{_short(self.upper)}]",
                  "gap": self.gap, "residual": self.residual, "solver": self.solver,
                  "seed": self.seed, "wall_time": self.wall_time, "exact": self.exact,
                  "network": repr(self.network), "message": self.message}
        return field_lines("NormResult", fields)

    def summary(self) -> dict[str, Any]:
        """Plain-data summary (no network) suitable for JSON, tables and stores.

        Examples
        --------
        >>> r = NormResult(value=2.0, lower=1.5, upper=2.0, status="not_certified",
        ...                message="demo")
        >>> r
        NormResult(status='not_certified', lower=1.5, upper=2)
        >>> r.summary()["upper"], "interval: [1.5, 2]" in str(r)
        (2.0, True)
        """
        return {
            "value": float(self.value),
            "lower": None if self.lower is None else float(self.lower),
            "upper": float(self.upper),
            "status": self.status,
            "message": self.message,
            "seed": self.seed,
            "solver": self.solver,
            "residual": float(self.residual),
            "wall_time": float(self.wall_time),
            "exact": bool(self.exact),
        }


def report_accuracy(status: str, message: str, *, strict: bool = False) -> None:
    """Warn (or raise with ``strict=True``) when a status is not a clean ``optimal``.

    Parameters
    ----------
    status : str
        Status of the answer about to be returned.
    message : str
        Explanation to put in the warning/exception.
    strict : bool
        Raise :class:`~cbntheory.errors.SolverError` instead of warning.
    """
    if status in (OPTIMAL, NOT_CERTIFIED):
        return
    if strict:
        raise SolverError(f"status {status!r}: {message}")
    warnings.warn(f"status {status!r}: {message}", InaccurateSolutionWarning, stacklevel=3)
