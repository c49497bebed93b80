"""Bound tables: the measured minimal norm ``R(f; Omega, L)`` of a target against depth x rank.

A :class:`BoundTable` holds, for one target and a list of depths, the certified
interval ``[lower, upper]`` of the representation cost at every depth (one
:class:`DepthRow` each, measured by :mod:`cbntheory.measure.intervals` and
:func:`cbntheory.measure.tabulate.bound_table`) and the bounds of
docs/theory.md it is read against:

* ``L Rank_J`` and ``L Rank_CBN`` (T2 and T3: ``Rank_J <= R0 <= Rank_CBN``; on finite
  data ``Rank_J`` is the rank of the curve's Jacobian, not a certified bound);
* ``R - L R0`` against the regularity bound of T2/T4 (``R1 >= 2 log|Jf|_+ / (d c^2)``);
  for linear targets T1 gives ``R0``, ``R1`` and ``R2`` exactly, so the column
  ``R1 + R2/L`` is the expansion the measured excess follows up to ``O(1/L^2)``;
* the least-squares slope of ``R`` against ``L`` over the larger depths (:func:`fit_slope`),
  only through at least three depths whose upper bounds come from one solver or closed
  form (:func:`fit_rows`); the slope of an explicit construction is kept apart and labelled
  "by construction" (its norm is ``L rank + C`` by design);
* every row's source and residual, and no row with ``upper < lower`` (:func:`consistent_row`).

:func:`provenance` records versions, tolerances and the time; :func:`tables_from_store`
builds tables from the rows of a sweep store; :mod:`cbntheory.output.render` writes tables as
Markdown, LaTeX, CSV and JSON.

Row statuses are those of :data:`cbntheory.results.STATUSES` plus ``"skipped"`` (depth
not run: safety time cap reached or depth not allowed by the architecture) and
``"time_capped"`` (a solve stopped by its safety time cap).

Examples
--------
>>> rows = tuple(DepthRow(L, 3.0 * L, 3.0 * L + 1.0, "not_certified", solver="solver x")
...              for L in (2, 4, 8, 16))
>>> table = BoundTable("demo", "demo", "", "data", "relu", 3, 5, 3.0, None, None, rows,
...                    fit_rows(rows))
>>> rec = table.records()[-1]
>>> rec["l_rank_cbn"], rec["excess"], round(table.fit.slope, 12), table.fit.depths
(80, 1.0, 3.0, (4, 8, 16))
>>> rec["source"], table.fit.source
('solver', 'solver')
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..results import (
    NOT_CERTIFIED,
    OPTIMAL,
    OPTIMAL_INACCURATE,
    SOLVER_ERROR,
    STATUSES,
    NormResult,
    field_lines,
    interval_status,
    one_line,
)

#: Row status of a depth that was not run (safety time cap, or refused by the architecture).
SKIPPED = "skipped"
#: Row status of a depth whose solve was stopped by its safety time cap (not a budget: the
#: budgets are iteration counts); the solver's upper bound is then not reported.
TIME_CAPPED = "time_capped"
ROW_STATUSES: tuple[str, ...] = STATUSES + (SKIPPED, TIME_CAPPED)

#: Packages whose versions go into every table's provenance (read from the installed
#: metadata, without importing them).
PROVENANCE_PACKAGES: tuple[str, ...] = ("numpy", "scipy", "sympy", "cvxpy", "clarabel", "scs",
                                        "matplotlib")

#: Named tolerances recorded in the provenance (all live in :mod:`cbntheory.settings`).
PROVENANCE_TOLERANCES: tuple[str, ...] = ("RANK_RTOL_FACTOR", "FIT_RTOL", "GAP_RTOL",
                                          "OBJECTIVE_RTOL", "CONIC_EPS", "INEQUALITY_RTOL")


#: Sources of an upper bound (:attr:`DepthRow.source`): a closed form (T1, the affine depth-1
#: case), a numerical solver, an explicit construction (norm ``L rank + C`` by design), the
#: convex two-layer program.
CLOSED_FORM, SOLVER, CONSTRUCTION, CONVEX = "closed_form", "solver", "construction", "convex"
SOURCES: tuple[str, ...] = (CLOSED_FORM, SOLVER, CONSTRUCTION, CONVEX)
#: Sources whose upper bounds a slope is fitted through: the slope of a construction is
#: fixed by its design (``L rank + C``), so it is reported "by construction", never as evidence.
SLOPE_SOURCES: tuple[str, ...] = (CLOSED_FORM, SOLVER)
_UPPER_FROM = "upper bound from "


#: Short names of the producers of certified lower bounds (issue 15), by solver name.
LOWER_SOURCES: dict[str, str] = {"lipschitz_bound": "Lipschitz",
                                 "depth2_dual_certificate": "depth-2 dual",
                                 "closed_form_T1": "closed form"}


def lower_source_of(row: DepthRow) -> str:
    """Short name of the producer of ``row.lower`` (``""``: none or unknown).

    Examples
    --------
    >>> lower_source_of(DepthRow(2, 8.9, 10.1, "not_certified",
    ...                          lower_from="depth2_dual_certificate"))
    'depth-2 dual'
    """
    if row.lower is None:
        return ""
    name = row.lower_from or ("" if ";" in row.solver else row.solver)
    if name in LOWER_SOURCES:
        return LOWER_SOURCES[name]
    return "convex dual" if "convex" in name.lower() else ("solver" if name else "")


def source_of(name: str) -> str:
    """The source class (:data:`SOURCES`) of the producer ``name`` of an upper bound.

    Names are the ``solver`` strings of the rows: ``"closed_form_T1"``, ``"closed form
    (T1)"``, ``"cbn_construction"``, ``"convex group lasso (CLARABEL)"``, the numerical
    solvers' names; ``""`` when unknown.

    Examples
    --------
    >>> [source_of(n) for n in ("closed_form_T1", "cbn_construction", "convex group lasso (SCS)",
    ...                         "augmented Lagrangian + L-BFGS-B", "")]
    ['closed_form', 'construction', 'convex', 'solver', '']
    """
    low = name.lower().replace("_", " ")
    if not low.strip():
        return ""
    if "closed form" in low:
        return CLOSED_FORM
    if "construction" in low:
        return CONSTRUCTION
    if "convex" in low:
        return CONVEX
    return SOLVER


def checked_status(status: str, lower: float | None, upper: float | None) -> str:
    """``status``, with an ``"optimal"`` re-judged by :func:`cbntheory.results.interval_status`.

    An "optimal" without a lower bound (or whose interval does not close) is
    ``"not_certified"``; every other status is kept.

    Examples
    --------
    >>> checked_status("optimal", None, 2.0), checked_status("optimal", 2.0, 2.0)
    ('not_certified', 'optimal')
    """
    if status != OPTIMAL:
        return status
    return NOT_CERTIFIED if upper is None else interval_status(lower, float(upper))


@dataclasses.dataclass(frozen=True)
class DepthRow:
    """The measured interval of ``R(f; Omega, L)`` at one depth.

    Attributes
    ----------
    depth : int
    lower : float or None
        Certified lower bound (None when none is known).
    upper : float or None
        Parameter norm of a verified network (None when the solve failed or was skipped).
    status : str
        One of :data:`ROW_STATUSES`.
    message : str
    solver : str
    seed : int or None
    wall_time : float
        Seconds.
    residual : float
        Relative interpolation/reproduction residual of the witness network (NaN if none).
    network : Network or None
        The witness network of ``upper`` when the measurement kept it (not rendered).
    networks : Mapping
        Every verified network of the measurement by the name of its source (the best
        one is :attr:`network`; not rendered).
    network_file : str
        Where :attr:`network` was saved (relative to the report directory; ``""`` when it
        was not), for ``cbn verify``.
    upper_from : str
        Name of the producer of ``upper`` when the row joins several measurements
        (:func:`cbntheory.measure.intervals.combine`); ``""``: the row's ``solver``.
    lower_from : str
        Name of the producer of ``lower`` when the row joins several measurements (e.g.
        ``"lipschitz_bound"``, ``"depth2_dual_certificate"``); ``""``: the row's ``solver``.
    conditional_lower : float or None
        The open-set variant's T2 value (``measure_depth(..., open_set=True)``): a lower
        bound only under the open-set assumption, never part of ``[lower, upper]``.
    """

    depth: int
    lower: float | None
    upper: float | None
    status: str
    message: str = ""
    solver: str = ""
    seed: int | None = None
    wall_time: float = float("nan")
    residual: float = float("nan")
    network: Any = dataclasses.field(default=None, repr=False, compare=False)
    networks: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False,
                                                    compare=False)
    network_file: str = ""
    upper_from: str = ""
    lower_from: str = ""
    conditional_lower: float | None = None

    def __repr__(self) -> str:
        return one_line("DepthRow", {"depth": self.depth, "lower": self.lower,
                                     "upper": self.upper, "status": self.status,
                                     "source": self.source or None})

    @property
    def source(self) -> str:
        """Where ``upper`` comes from, one of :data:`SOURCES` (``""``: no upper bound or unknown).

        Read from :attr:`upper_from`, else from a message ``"upper bound from X; ..."``
        (rows read back from a sweep store), else from :attr:`solver`.
        """
        if self.upper is None:
            return ""
        name = self.upper_from
        if not name and self.message.startswith(_UPPER_FROM):
            name = self.message[len(_UPPER_FROM):].split(";")[0]
        return source_of(name or self.solver)

    @classmethod
    def from_result(cls, depth: int, result: NormResult) -> DepthRow:
        """Row from a :class:`~cbntheory.results.NormResult` (the interval is re-checked)."""
        lower = None if result.lower is None else float(result.lower)
        upper = float(result.upper)
        status = checked_status(result.status, lower, upper)
        return cls(depth, lower, upper, status, result.message, result.solver, result.seed,
                   float(result.wall_time), float(result.residual), result.network)


def consistent_row(row: DepthRow) -> DepthRow:
    """``row`` with its two sides made to certify one object: upper never below lower.

    An upper bound below the certified lower bound within the interval slack
    (``GAP_RTOL``, :func:`cbntheory.results.interval_status`) is round-off: the lower bound
    is lowered to it (a smaller lower bound is still certified).  Further below, the two
    sides are about different problems (a network fitted only approximately against an
    exact-interpolation bound, or a bug): the upper bound is withheld, the status is
    ``"optimal_inaccurate"`` and the message gives both numbers.  Every row of a
    :class:`BoundTable` passes through here, so no rendered row has ``upper < lower``.

    Examples
    --------
    >>> row = consistent_row(DepthRow(1, 11.2, 11.07, "optimal_inaccurate", "", "x",
    ...                               residual=1e-6))
    >>> row.upper is None, row.lower, row.status, row.message.split(":")[0]
    (True, 11.2, 'optimal_inaccurate', 'upper bound 11.07 (residual 1e-06) withheld')
    >>> consistent_row(DepthRow(2, 4.0 + 1e-12, 4.0, "optimal")).lower
    4.0
    """
    lo, up = row.lower, row.upper
    if lo is None or up is None or not math.isfinite(lo) or up >= lo:
        return row
    if up >= lo - settings.GAP_RTOL * max(1.0, abs(up)):
        return dataclasses.replace(row, lower=up)
    note = (f"upper bound {up:.10g} (residual {row.residual:.1g}) withheld: it lies below the "
            f"certified lower bound {lo:.10g} of the same object by more than GAP_RTOL = "
            f"{settings.GAP_RTOL:g}, so the two sides are not about one problem")
    return dataclasses.replace(row, upper=None, status=OPTIMAL_INACCURATE,
                               message=f"{note} | {row.message}" if row.message else note)


@dataclasses.dataclass(frozen=True)
class SlopeFit:
    """Least-squares line ``R ~ slope L + intercept`` through the upper bounds.

    Attributes
    ----------
    slope, intercept : float
    depths : tuple of int
        The depths used: the larger half of the eligible depths, at least
        :data:`cbntheory.settings.SLOPE_MIN_DEPTHS` of them.
    rms : float
        Root-mean-square residual of the fit.
    source : str
        The one source (:data:`SOURCES`) of every fitted upper bound, ``""`` when the
        sources were not given.
    """

    slope: float
    intercept: float
    depths: tuple[int, ...]
    rms: float
    source: str = ""

    @property
    def by_construction(self) -> bool:
        """True when the fitted upper bounds are a construction's (slope fixed by design)."""
        return self.source == CONSTRUCTION

    @property
    def method(self) -> str:
        """One sentence saying what was fitted."""
        what = f" ({self.source})" if self.source else ""
        text = (f"least squares of the upper bounds{what} against L at L = "
                f"{', '.join(map(str, self.depths))}")
        return text + ("; by construction: the construction's norm is L rank + C by design, "
                       "so this slope is not evidence" if self.by_construction else "")


def _eligible_run(pairs: Sequence[tuple[int, float, str]],
                  eligible: Sequence[str]) -> list[tuple[int, float, str]]:
    """The deepest run of consecutive depths whose values share one eligible source."""
    runs: list[list[tuple[int, float, str]]] = []
    for p in pairs:
        if runs and runs[-1][-1][2] == p[2]:
            runs[-1].append(p)
        else:
            runs.append([p])
    good = [r for r in runs if r[0][2] in eligible and len(r) >= settings.SLOPE_MIN_DEPTHS]
    return good[-1] if good else []


def fit_slope(depths: Sequence[int], values: Sequence[float | None],
              sources: Sequence[str] | None = None, *,
              eligible: Sequence[str] = SLOPE_SOURCES) -> SlopeFit | None:
    """Fit ``R ~ slope L + intercept`` on the larger half (at least 3) of the eligible depths.

    Parameters
    ----------
    depths : sequence of int
    values : sequence of float or None
        Upper bounds; None entries are ignored.
    sources : sequence of str, optional
        Source of every value (:data:`SOURCES`, e.g. :attr:`DepthRow.source`).  When given,
        only values from an ``eligible`` source count, and only the deepest run of
        consecutive depths sharing one source is fitted: where the best source switches
        (construction at one depth, solver at the next) a slope would measure the switch.
    eligible : sequence of str
        The sources fitted (default :data:`SLOPE_SOURCES`; ``(CONSTRUCTION,)`` gives the
        slope "by construction").

    Returns
    -------
    SlopeFit or None
        None when fewer than :data:`cbntheory.settings.SLOPE_MIN_DEPTHS` depths qualify.

    Notes
    -----
    With ``R = L R0 + R1 + R2/L + o(1/L)``, the slope over depths ``L_1 < ... < L_n``
    tends to ``R0`` as the depths grow; the larger half (``L >= `` the median of the
    eligible depths) keeps the ``R2/L`` term small, and at least three depths keep one
    noisy upper bound from deciding the slope alone (two points fit any line exactly).

    Examples
    --------
    >>> fit = fit_slope([1, 2, 3, 4, 5], [5.0, None, 11.0, 14.0, 17.0])
    >>> fit.depths, round(fit.slope, 12)
    ((3, 4, 5), 3.0)
    >>> fit_slope([1, 2], [2.0, 4.0]) is None
    True
    >>> src = ["solver", "solver", "solver", "construction", "construction", "construction"]
    >>> fit_slope([1, 2, 3, 4, 5, 6], [3.0, 5.0, 7.0, 9.5, 12.5, 15.5], src).depths
    (1, 2, 3)
    >>> fit_slope([1, 2, 3, 4, 5, 6], [3.0, 5.0, 7.0, 9.5, 12.5, 15.5], src,
    ...           eligible=["construction"]).slope
    3.0
    """
    tags = [""] * len(depths) if sources is None else list(sources)
    if len(tags) != len(depths):
        raise V.fail("sources", f"have one entry per depth ({len(depths)})", sources)
    pairs = sorted((int(L), float(v), str(tag)) for L, v, tag in zip(depths, values, tags)
                   if v is not None and math.isfinite(v))
    if sources is not None:
        pairs = _eligible_run(pairs, eligible)
    if len(pairs) < settings.SLOPE_MIN_DEPTHS:
        return None
    keep = pairs[min(len(pairs) // 2, len(pairs) - settings.SLOPE_MIN_DEPTHS):]
    L = np.array([p[0] for p in keep], dtype=float)
    R = np.array([p[1] for p in keep])
    slope, intercept = np.polyfit(L, R, 1)
    rms = float(np.sqrt(np.mean((slope * L + intercept - R) ** 2)))
    return SlopeFit(float(slope), float(intercept), tuple(int(x) for x in L), rms,
                    keep[0][2] if sources is not None else "")


def fit_rows(rows: Sequence[DepthRow], *,
             eligible: Sequence[str] = SLOPE_SOURCES) -> SlopeFit | None:
    """:func:`fit_slope` of the upper bounds of ``rows`` (after :func:`consistent_row`) by source.

    ``eligible=(CONSTRUCTION,)`` gives the slope "by construction" of a table.

    Examples
    --------
    >>> rows = [DepthRow(L, None, 3.0 * L + 2, "not_certified", solver="cbn_construction")
    ...         for L in (2, 4, 8)]
    >>> fit_rows(rows) is None, fit_rows(rows, eligible=[CONSTRUCTION]).by_construction
    (True, True)
    """
    checked = [consistent_row(r) for r in rows]
    return fit_slope([r.depth for r in checked], [r.upper for r in checked],
                     [r.source for r in checked], eligible=eligible)


@dataclasses.dataclass(frozen=True)
class BoundTable:
    """Measured ``R(f; Omega, L)`` of one target over depths, with its bounds.

    Attributes
    ----------
    target : str
        Name (e.g. a :func:`cbntheory.targets.names` entry).
    title : str
    description : str
    kind : str
        ``"operator"`` (whole space) or ``"data"`` (finite domain ``Omega``).
    activation : str
    rank_j, rank_cbn : int or None
        ``Rank_J`` and ``Rank_CBN`` (T3) of the target.  On finite data ``Rank_J`` is the
        rank of the Jacobian of the curve the data sample, not a certified bound on ``R0``
        (T2 needs an open set).
    r0 : float or None
        The ``R0`` subtracted in the excess column: exact (T1) for linear targets, else
        the reference value ``Rank_J`` (not certified on finite data).
    r1_bound : float or None
        Lower bound on ``R1`` the excess is read against; its source is
        ``info["regularity_bound"]`` (T1's exact ``R1`` for linear targets, the Lipschitz
        form ``R - L >= log(gamma Lambda^2)`` for data).
    r2 : float or None
        T1's ``R2`` (linear targets only).
    rows : tuple of DepthRow
        Passed through :func:`consistent_row` on construction (no row has upper < lower).
    fit : SlopeFit or None
        Slope of the upper bounds from a solver or a closed form (:func:`fit_rows`): None
        when fewer than three such depths exist.
    info : Mapping
        Extras for the provenance (architecture, quick mode, restarts...).
    construction_fit : SlopeFit or None
        Slope of the upper bounds that come from the explicit construction: "by
        construction", fixed by its design, not evidence.
    r0_low, r0_high : float or None
        Certified interval of ``R0 = lim R/L`` (:func:`cbntheory.measure.tabulate.r0_interval`):
        a proven lower bound, and the rank of a construction (by construction).
    r0_how : str
        Where the two sides of ``[r0_low, r0_high]`` come from.
    epsilon : float or None
        None: the object is exact interpolation ``R(f; Omega, L)``.  A number ``eps``: the
        object is ``R_eps`` (networks within the relative residual ``eps`` of the data),
        and every bound of the table is one of that object.
    """

    target: str
    title: str
    description: str
    kind: str
    activation: str
    rank_j: int | None
    rank_cbn: int | None
    r0: float | None
    r1_bound: float | None
    r2: float | None
    rows: tuple[DepthRow, ...]
    fit: SlopeFit | None
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    construction_fit: SlopeFit | None = None
    r0_low: float | None = None
    r0_high: float | None = None
    r0_how: str = ""
    epsilon: float | None = None

    def __post_init__(self) -> None:
        # the one check of every rendered row: upper never below lower (consistent_row)
        object.__setattr__(self, "rows", tuple(consistent_row(r) for r in self.rows))

    @property
    def object_name(self) -> str:
        """``"R"`` (exact interpolation) or ``"R_eps"`` with the tolerance asked for."""
        return "R" if self.epsilon is None else f"R_eps (eps = {self.epsilon:g})"

    def __repr__(self) -> str:
        return one_line("BoundTable", {"target": self.target,
                                       "depths": tuple(r.depth for r in self.rows),
                                       "rank_j": self.rank_j, "rank_cbn": self.rank_cbn})

    def __str__(self) -> str:
        """The target, its ranks, the certified ``R0`` interval and one line per depth."""
        fields: dict[str, Any] = {
            "target": f"{self.target}: {self.title}", "object": self.object_name,
            "Rank_J": self.rank_j, "Rank_CBN": self.rank_cbn,
            "certified R0": f"[{_num(self.r0_low)}, {_num(self.r0_high)}]"}
        for row in self.rows:
            fields[f"L = {row.depth}"] = (f"[{_num(row.lower)}, {_num(row.upper)}] {row.status}"
                                          + (f" (from {row.source})" if row.source else ""))
        return field_lines("BoundTable", fields)

    def deepest(self) -> DepthRow | None:
        """The deepest row with an upper bound (None when no row has one)."""
        rows = [r for r in self.rows if r.upper is not None]
        return max(rows, key=lambda r: r.depth) if rows else None

    def records(self) -> list[dict[str, Any]]:
        """One dict per depth with every column (None where not available).

        Keys: ``depth, lower, upper, status, residual, source, r_over_l, l_rank_j,
        l_rank_cbn, excess, r1_bound, t1_excess, solver, seed, wall_time, message,
        network_file``, where
        ``residual`` is the relative residual of the network behind ``upper``, ``source``
        where ``upper`` comes from (:data:`SOURCES`), ``r_over_l = upper/L``,
        ``excess = upper - L r0`` and ``t1_excess = R1 + R2/L`` (linear targets).
        """
        out = []
        for row in self.rows:
            L = row.depth
            up = row.upper
            t1 = (None if self.r2 is None or self.r1_bound is None
                  else self.r1_bound + self.r2 / L)
            out.append({
                "depth": L, "lower": row.lower, "upper": up, "status": row.status,
                "residual": None if up is None or not math.isfinite(row.residual)
                else row.residual, "source": row.source or None,
                "lower_source": lower_source_of(row) or None,
                "conditional_lower": row.conditional_lower,
                "r_over_l": None if up is None else up / L,
                "l_rank_j": None if self.rank_j is None else L * self.rank_j,
                "l_rank_cbn": None if self.rank_cbn is None else L * self.rank_cbn,
                "excess": None if (up is None or self.r0 is None) else up - L * self.r0,
                "r1_bound": self.r1_bound, "t1_excess": t1, "solver": row.solver,
                "seed": row.seed, "wall_time": row.wall_time, "message": row.message,
                "network_file": row.network_file or None})
        return out

    def status_counts(self) -> dict[str, int]:
        """Number of rows per status (only statuses that occur)."""
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def seeds(self) -> list[int]:
        """Distinct seeds of the rows, sorted."""
        return sorted({row.seed for row in self.rows if row.seed is not None})


def provenance(**extra: Any) -> dict[str, Any]:
    """Versions, platform, BLAS, time and tolerances behind a table (plus ``extra`` entries).

    ``blas`` names each BLAS library loaded and the kernels it chose for this processor
    (:func:`blas_kernels`): the ReLU solver's upper bounds repeat exactly on one machine,
    and across machines when the kernels are the same (docs/report.md, "Across machines").

    Examples
    --------
    >>> prov = provenance(command="doctest")
    >>> prov["package"], prov["command"], "GAP_RTOL" in prov["tolerances"]
    ('cbntheory', 'doctest', True)
    """
    import platform
    from importlib import metadata  # here: importing it costs ~0.1 s

    from .._version import __version__

    versions: dict[str, str | None] = {}
    for name in PROVENANCE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"package": "cbntheory", "version": __version__, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions, "blas": blas_kernels(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "tolerances": {k: getattr(settings, k) for k in PROVENANCE_TOLERANCES}, **extra}


def blas_kernels() -> str:
    """The BLAS libraries loaded: name, version and the kernels each uses.

    numpy's and scipy's at least (scipy.linalg is imported here), and any that a solver
    brought (SCS comes with its own OpenBLAS).  OpenBLAS picks its kernels by processor
    (``OPENBLAS_CORETYPE`` overrides the choice), and different kernels round differently.

    Examples
    --------
    >>> text = blas_kernels()
    >>> isinstance(text, str) and len(text) > 0
    True
    """
    import scipy.linalg  # noqa: F401  (loads scipy's own BLAS, used by its solvers)
    from threadpoolctl import threadpool_info

    found = sorted({f"{lib.get('internal_api')} {lib.get('version')} "
                    f"({lib.get('architecture') or 'unknown'} kernels)"
                    for lib in threadpool_info() if lib.get("user_api") == "blas"})
    return "; ".join(found) or "unknown (threadpoolctl sees no BLAS)"


def parse_depths(spec: Any) -> tuple[int, ...]:
    """Depths from ``"1-16"``, ``"1,2,4,8"``, ``"1-4,8,16"`` or a sequence of ints.

    Examples
    --------
    >>> parse_depths("1-4,8,16")
    (1, 2, 3, 4, 8, 16)
    >>> parse_depths([3, 1, 3])
    (1, 3)
    """
    if isinstance(spec, str):
        out: set[int] = set()
        for part in spec.replace(" ", "").split(","):
            lo, sep, hi = part.partition("-")
            try:
                a = int(lo)
                b = int(hi) if sep else a
            except ValueError:
                raise V.fail("depths", "be a list such as '1-16' or '1,2,4,8' (ranges "
                             "'a-b' and single depths, comma separated)", spec) from None
            if a < 1 or b < a:
                raise V.fail("depths", "hold ranges a-b with 1 <= a <= b", spec)
            out.update(range(a, b + 1))
        return tuple(sorted(out))
    try:
        values = [V.positive_int("depths[i]", v) for v in spec]
    except TypeError:
        raise V.fail("depths", "be a string such as '1-16' or a sequence of ints", spec) from None
    if not values:
        raise V.fail("depths", "be non-empty", spec)
    return tuple(sorted(set(values)))


# ---------------------------------------------------------------------- from a sweep store
def _store_group(row: Mapping[str, Any]) -> tuple[str, str]:
    params = {k: v for k, v in (row.get("params") or {}).items() if k != "depth"}
    params["seed"] = row.get("seed")
    label = params.pop("target", row["kind"])
    detail = ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if v is not None)
    return str(label), f"{row['kind']}: {detail}"


def _unique_names(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """``target`` alone when it names one group, else ``target[the differing parameters]``."""
    names = {}
    for label, detail in keys:
        same = [d.split(": ", 1)[-1].split(", ") for lab, d in keys if lab == label]
        if len(same) == 1:
            names[(label, detail)] = label
            continue
        mine = detail.split(": ", 1)[-1].split(", ")
        differ = [part for part in mine if not all(part in other for other in same)]
        names[(label, detail)] = f"{label}[{', '.join(differ)}]"
    return names


def _num(value: float | None) -> str:
    """A bound for the short text forms: ``"none"`` when missing, else 10 digits."""
    return "none" if value is None else f"{value:.10g}"


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _store_depth_row(row: Mapping[str, Any]) -> DepthRow:
    result = row.get("result") or {}
    depth = int((row.get("params") or {}).get("depth", result.get("depth", 0)) or 0)
    if row.get("status") in ("pending", "running"):
        return DepthRow(depth, None, None, SKIPPED, f"job {row.get('status')} in the store "
                        "(sweep not finished)", "", row.get("seed"))
    if row.get("status") != "done":
        text = str(row.get("error") or f"job {row.get('status')}").strip() or "job failed"
        return DepthRow(depth, None, None, SOLVER_ERROR, text.splitlines()[-1], "",
                        row.get("seed"))
    status = row.get("result_status") or NOT_CERTIFIED
    if status not in ROW_STATUSES:
        status = NOT_CERTIFIED
    lower = row.get("lower")
    status = checked_status(status, lower, row.get("upper"))
    return DepthRow(depth, lower, row.get("upper"), status, row.get("message") or "",
                    result.get("solver", ""), row.get("seed"),
                    _number(row.get("wall_time")), _number(row.get("residual")))


# the parts of a table that a one-depth job stores and a table over depths is rebuilt from
_NOT_STATE = ("rows", "fit", "construction_fit")
_ROW_OBJECTS = ("network", "networks")


def table_state(table: BoundTable) -> dict[str, Any]:
    """Everything of ``table`` but its rows and fits (plain values): what a row job stores.

    With :func:`row_state` of each row it is enough for :func:`table_from_states` to
    rebuild the table; a field added to :class:`BoundTable` travels with no change here.
    """
    return {f.name: getattr(table, f.name) for f in dataclasses.fields(table)
            if f.name not in _NOT_STATE}


def row_state(row: DepthRow) -> dict[str, Any]:
    """The fields of ``row`` but its network objects (those are stored as files)."""
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)
            if f.name not in _ROW_OBJECTS}


def _row_from_state(state: Mapping[str, Any], network: Any = None) -> DepthRow:
    known = {f.name: f for f in dataclasses.fields(DepthRow)}
    values = {k: v for k, v in state.items() if k in known and k not in _ROW_OBJECTS}
    for name in ("wall_time", "residual"):  # NaN is stored as null (JSON has no NaN)
        if values.get(name) is None:
            values[name] = float("nan")
    return DepthRow(**values, network=network)


def table_from_states(table: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], *,
                      name: str | None = None,
                      networks: Sequence[Any] | None = None) -> BoundTable:
    """The table over the depths of ``rows`` (:func:`row_state`) with the facts ``table``.

    The slopes are fitted as :func:`cbntheory.measure.tabulate.bound_table` fits them
    (:func:`fit_rows`, construction apart); ``name`` renames the table (several seeds of
    one target), ``networks`` gives each row its witness network back.
    """
    known = {f.name for f in dataclasses.fields(BoundTable)} - set(_NOT_STATE)
    facts = {k: v for k, v in table.items() if k in known}
    if name is not None:
        facts["target"] = name
    nets = list(networks) if networks is not None else [None] * len(rows)
    built = sorted((_row_from_state(r, n) for r, n in zip(rows, nets)), key=lambda r: r.depth)
    return BoundTable(**facts, rows=tuple(built), fit=fit_rows(built),
                      construction_fit=fit_rows(built, eligible=(CONSTRUCTION,)))


#: Job kind whose results carry :func:`table_state` and :func:`row_state` (``cbn sweep``).
BOUND_ROW_KIND = "bound_row"


def stored_depths(rows: Iterable[Mapping[str, Any]], target: str, seed: int,
                  **options: Any) -> dict[int, Mapping[str, Any]]:
    """The done ``bound_row`` jobs of ``target`` and ``seed`` whose options are ``options``.

    Returns ``{depth: store row}`` (:func:`cbntheory.sweep.store.read_rows` rows); only
    the options given are compared, so a safety cap left out matches any.
    """
    out: dict[int, Mapping[str, Any]] = {}
    for row in rows:
        params = row.get("params") or {}
        if (row.get("kind") == BOUND_ROW_KIND and row.get("status") == "done"
                and params.get("target") == target and row.get("seed") == seed
                and (row.get("result") or {}).get("row") is not None
                and all(params.get(k) == v for k, v in options.items())):
            out[int(params["depth"])] = row
    return out


def with_stored_rows(table: BoundTable | None, stored: Mapping[int, Mapping[str, Any]],
                     networks: Mapping[str, Any] | None = None) -> BoundTable:
    """``table`` (the depths computed now, or None) joined with the ``stored`` depths.

    The facts come from ``table`` when given, else from a stored job; the slopes are
    fitted again over every depth (:func:`table_from_states`).
    """
    networks = networks or {}
    states = [row_state(r) for r in (table.rows if table is not None else ())]
    nets = [r.network for r in (table.rows if table is not None else ())]
    for depth in sorted(stored):
        result = stored[depth]["result"]
        states.append(result["row"])
        nets.append(networks.get(str(stored[depth].get("job_key"))))
    if table is not None:
        facts = table_state(table)
    else:
        facts = dict(stored[min(stored)]["result"]["table"])
    return table_from_states(facts, states, networks=nets)


def tables_from_store(rows: Iterable[Mapping[str, Any]],
                      targets: Sequence[str] | None = None,
                      networks: Mapping[str, Any] | None = None) -> list[BoundTable]:
    """Bound tables from the rows of a sweep store (:func:`cbntheory.sweep.store.read_rows`).

    Rows are grouped by job kind, parameters other than ``depth``, and seed; every group
    becomes one table over its depths (jobs without a ``depth`` parameter, such as
    ``minimal_norm`` on a data file, are not table rows and are left out).  A group of
    ``bound_row`` jobs is the table ``cbn table`` computes with the same options and seed,
    rebuilt from the stored state of each depth (:func:`table_from_states`); its rows not
    done are ``skipped`` (pending) or ``solver_error`` (failed) rows.  For other kinds,
    ``Rank_J``/``Rank_CBN``/``R0``/``R1``/``R2`` come from the stored results when present
    (kind ``linear_cost`` stores ``r0, r1, r2``: ``Rank_J = Rank_CBN = R0`` for a linear
    map).  ``targets`` keeps only groups whose ``target`` parameter (or kind) is listed;
    ``networks`` maps job keys to the witness networks read from the store.
    """
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        if "depth" not in (row.get("params") or {}):  # not a table row (a solve on a file...)
            continue
        key = _store_group(row)
        if targets and key[0] not in targets:
            continue
        groups.setdefault(key, []).append(row)
    tables = []
    names = _unique_names(sorted(groups))
    for (label, detail), members in sorted(groups.items()):
        if members[0].get("kind") == BOUND_ROW_KIND:
            tables.append(_bound_row_table(names[(label, detail)], members, networks or {}))
            continue
        depth_rows = sorted((_store_depth_row(r) for r in members), key=lambda r: r.depth)
        results = [r.get("result") or {} for r in members]
        r0 = next((res["r0"] for res in results if res.get("r0") is not None), None)
        r1 = next((res["r1"] for res in results if res.get("r1") is not None), None)
        r2 = next((res["r2"] for res in results if res.get("r2") is not None), None)
        rank = None if r0 is None else int(round(float(r0)))
        fit = fit_rows(depth_rows)
        kind = members[0].get("kind", "")
        linear = kind == "linear_cost"
        tables.append(BoundTable(names[(label, detail)], detail, f"sweep store rows of {detail}",
                                 "operator" if linear else "data",
                                 "linear" if linear else "", rank, rank,
                                 None if r0 is None else float(r0),
                                 None if r1 is None else float(r1),
                                 None if r2 is None else float(r2), tuple(depth_rows), fit,
                                 {"sweep": members[0].get("sweep"), "kind": kind},
                                 construction_fit=fit_rows(depth_rows,
                                                           eligible=(CONSTRUCTION,))))
    return tables


def _bound_row_table(name: str, members: Sequence[Mapping[str, Any]],
                     networks: Mapping[str, Any]) -> BoundTable:
    """The table of one group of ``bound_row`` jobs (one target, options and seed)."""
    done = [m for m in members if m.get("status") == "done" and (m.get("result") or {})
            .get("table") is not None]
    states, nets = [], []
    for member in members:
        result = member.get("result") or {}
        if member in done:
            states.append(result["row"])
            nets.append(networks.get(str(member.get("job_key"))))
        else:
            states.append(row_state(_store_depth_row(member)))
            nets.append(None)
    if done:
        facts = dict((done[0].get("result") or {})["table"])
    else:  # nothing finished yet: the target's name and the rows' states only
        target = (members[0].get("params") or {}).get("target", name)
        facts = {"target": target, "title": target, "description": "", "kind": "data",
                 "activation": "", "rank_j": None, "rank_cbn": None, "r0": None,
                 "r1_bound": None, "r2": None}
    facts.setdefault("info", {})
    facts["info"] = dict(facts["info"] or {}, sweep=members[0].get("sweep"))
    return table_from_states(facts, states, name=name, networks=nets)
