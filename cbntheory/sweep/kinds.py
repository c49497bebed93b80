"""What a job kind is, and the kinds that ship with cbntheory.

A :class:`JobKind` is a function ``fn(params, seed) -> dict`` with a table of
:class:`Param` (default, check, description) that validates, completes and normalises a
sweep file's parameters.  :data:`BUILTIN_KINDS` lists the kinds of the installed
package; :mod:`cbntheory.sweep.jobs` builds its registry from it (this module imports
nothing from the registry, so the two never import each other).

``linear_cost``
    Exact T1 cost of a named linear target built deterministically from the parameters
    and the seed, re-verified by composing its balanced factorisation.
``bound_row``
    One (target, depth) row of ``cbn table``: the same function
    (:func:`cbntheory.measure.tabulate.bound_table`), options (:data:`TABLE_OPTIONS`) and
    seed give the same numbers; the network behind the upper bound is stored in the store.

The test suite and the throughput benchmark add kinds of their own (``echo``, ``spin``)
by calling :func:`cbntheory.sweep.jobs.register` in their own processes; none of them
ships here, and nothing a sweep file or the environment holds can add one.

Examples
--------
>>> from cbntheory.sweep.jobs import normalize_params
>>> p = normalize_params("linear_cost", {"target": "identity", "channels": [2, 2]})
>>> out = linear_cost_job(p, seed=0)
>>> bool(abs(out["value"] - 2 * 2 * 8) < 1e-9)   # L * (channels * pixels) at L = 2
True
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier
from ..errors import ParamError
from ..operators import ConvOperator
from ..results import OPTIMAL, OPTIMAL_INACCURATE, NormResult
from ..theory.linear import verified_linear_cost

#: Key of a job's result dict holding ``{name: bytes}`` files (a network's ``.npz``) that
#: the store keeps beside the result (:meth:`cbntheory.sweep.store.Store.artifact`): a
#: kind never chooses a path, and nothing in a sweep file names one.
ARTIFACTS = "artifacts"

#: Marker for a parameter without default (the sweep file must set it).
REQUIRED: Any = object()


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a job kind: its default, its check and a one-line description.

    ``check(name, value)`` returns the normalised (JSON-able) value or raises
    :class:`~cbntheory.errors.ValidationError` naming the parameter, rule and value.
    """

    default: Any = REQUIRED
    check: Callable[[str, Any], Any] = lambda name, value: value
    doc: str = ""


@dataclasses.dataclass(frozen=True)
class JobKind:
    """A named computation a sweep can run.

    Attributes
    ----------
    name : str
    fn : callable
        ``fn(params: dict, seed: int) -> dict`` of JSON-able results.
    params : Mapping[str, Param]
        Every accepted parameter; anything else in a sweep file is an error.
    doc : str
        One line shown in error messages and docs.
    version : int
        Part of the job key: bump it when ``fn`` changes what it computes, so that
        stores do not mistake old results for new ones.
    testing : bool
        True for kinds that exist only for tests and benchmarks.
    prepare : callable, optional
        ``prepare(params) -> params`` run after the per-parameter checks: checks that
        involve several parameters (raise :class:`ParamError`) and blanking of
        parameters the chosen variant ignores, so they do not split one job into many.
    """

    name: str
    fn: Callable[[dict, int], dict]
    params: Mapping[str, Param]
    doc: str
    version: int = 1
    testing: bool = False
    prepare: Callable[[dict], dict] | None = None


# --------------------------------------------------------------------- parameter checks
def integer(minimum: int = 1) -> Callable[[str, Any], int]:
    """Check: an integer ``>= minimum``."""
    return lambda name, value: V.positive_int(name, value, minimum=minimum)


def number(minimum: float | None = 0.0) -> Callable[[str, Any], float]:
    """Check: a finite real number, ``>= minimum`` unless None (ints accepted, stored as float)."""
    rule = "be a finite number" + ("" if minimum is None else f" >= {minimum}")

    def check(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise V.fail(name, "be a number", value)
        if not np.isfinite(value) or (minimum is not None and value < minimum):
            raise V.fail(name, rule, value)
        return float(value)
    return check


def choice(*values: str) -> Callable[[str, Any], str]:
    """Check: one of ``values`` (the message lists them all)."""
    def check(name: str, value: Any) -> str:
        if value not in values:
            raise V.fail(name, f"be one of {', '.join(repr(v) for v in values)}", value)
        return str(value)
    return check


def boolean(name: str, value: Any) -> bool:
    """Check: ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise V.fail(name, "be true or false", value)
    return value


def text(name: str, value: Any) -> str:
    """Check: a string."""
    if not isinstance(value, str):
        raise V.fail(name, "be a string", value)
    return value


def shape(name: str, value: Any) -> list[int]:
    """Check: a spatial shape ``d``, ``[d]`` or ``[d1, d2]``, stored as a list."""
    return list(V.spatial_shape(name, value))


def channel_pair(name: str, value: Any) -> list[int]:
    """Check: ``[C_out, C_in]``, two positive integers."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise V.fail(name, "be a pair [C_out, C_in] of positive integers", value)
    return [V.positive_int(f"{name}[{i}]", v) for i, v in enumerate(value)]


def optional(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """Check: ``check``, or nothing (TOML has no null: the parameter is left out)."""
    return lambda name, value: None if value is None else check(name, value)


def positive_number(name: str, value: Any) -> float:
    """Check: a finite number ``> 0``."""
    out = number(0.0)(name, value)
    if not out > 0:
        raise V.fail(name, "be a finite number > 0", value)
    return out


LINEAR_TARGETS = ("random", "lowrank", "bandlimited", "identity")


def linear_target(params: dict[str, Any], seed: int) -> ConvOperator:
    """The linear target named by ``params["target"]``, built from ``seed``.

    ``random``: i.i.d. standard normal kernel.  ``lowrank``: composition of random
    ``C_in -> rank`` and ``rank -> C_out`` convolutions (every block has rank
    ``<= rank``).  ``bandlimited``: random kernel with every frequency of degree
    ``> bandwidth`` removed.  ``identity``: the identity map (``C_out == C_in``).
    """
    rng = np.random.default_rng(seed)
    spatial = tuple(params["spatial_shape"])
    c_out, c_in = params["channels"]
    norm = params["normalization"]
    target = params["target"]
    if target == "random":
        return ConvOperator(rng.standard_normal((c_out, c_in) + spatial), norm)
    if target == "lowrank":
        r = params["rank"]
        first = ConvOperator(rng.standard_normal((r, c_in) + spatial), norm)
        second = ConvOperator(rng.standard_normal((c_out, r) + spatial), norm)
        return second @ first
    if target == "bandlimited":
        axes = fourier.spatial_axes(len(spatial))
        spectrum = np.fft.fftn(rng.standard_normal((c_out, c_in) + spatial), axes=axes)
        keep = fourier.degree(spatial) <= params["bandwidth"]
        return ConvOperator(np.fft.ifftn(spectrum * keep, axes=axes).real, norm)
    kernel = np.zeros((c_out, c_in) + spatial)
    kernel[(slice(None), slice(None)) + (0,) * len(spatial)] = np.eye(c_out)
    return ConvOperator(kernel / fourier.normalization_constant(norm, spatial), norm)


def _prepare_linear(params: dict[str, Any]) -> dict[str, Any]:
    if params["target"] == "identity" and params["channels"][0] != params["channels"][1]:
        raise ParamError("channels", "channels must be equal ([C, C]) for target 'identity'; "
                                     f"got {params['channels']}")
    if params["target"] == "lowrank" and params["rank"] > min(params["channels"]):
        raise ParamError("rank", f"rank must be <= min(channels) = {min(params['channels'])} "
                                 f"for target 'lowrank' (a {params['channels'][0]}x"
                                 f"{params['channels'][1]} block has no larger rank); got "
                                 f"{params['rank']}")
    # parameters a target ignores are blanked so that they do not split one job into many
    if params["target"] != "lowrank":
        params["rank"] = None
    if params["target"] != "bandlimited":
        params["bandwidth"] = None
    return params


def linear_cost_job(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """T1 cost of :func:`linear_target` at ``params["depth"]``, as a NormResult summary."""
    start = time.perf_counter()
    A = linear_target(params, seed)
    depth = params["depth"]
    check = verified_linear_cost(A, depth)
    cost, residual = check.cost, check.residual
    result = NormResult(
        value=cost.value, lower=cost.value, upper=cost.value,
        status=OPTIMAL if check.ok else OPTIMAL_INACCURATE,
        message=f"closed form (T1); balanced factorisation reproduces the target to "
                f"relative residual {residual:.1e} and its norm to {check.norm_gap:.1e}",
        seed=seed, solver="closed_form_T1", residual=residual,
        wall_time=time.perf_counter() - start, exact=True)
    out = result.summary()
    out.update(r0=cost.r0, r1=cost.r1, r2=cost.r2, depth=depth,
               cbn_rank=cost.cbn_rank.tolist(), rank_description=cost.describe(),
               rank_by_degree={str(k): v for k, v in cost.rank_by_degree().items()})
    return out


LINEAR_COST = JobKind(
    "linear_cost", linear_cost_job,
    {"target": Param(check=choice(*LINEAR_TARGETS), doc=f"one of {LINEAR_TARGETS}"),
     "depth": Param(2, integer(1), "number of layers L"),
     "spatial_shape": Param([8], shape, "[d] or [d1, d2]"),
     "channels": Param([2, 2], channel_pair, "[C_out, C_in]"),
     "normalization": Param("operator", choice("operator", "plain"), "convolution constant"),
     "rank": Param(1, integer(1), "per-frequency rank of target 'lowrank'"),
     "bandwidth": Param(1, integer(0), "largest frequency degree of target 'bandlimited'")},
    "exact linear-CNN cost (T1) of a named random or structured target",
    prepare=_prepare_linear)


# --------------------------------------------------------------------- bound_row
def builtin_target(name: str, value: Any) -> str:
    """Check: the name of a built-in target (the message lists them all)."""
    from .. import targets

    return str(targets.get(text(name, value)).name)


#: The keyword options of :func:`cbntheory.measure.tabulate.bound_table` that a
#: ``bound_row`` job passes through unchanged (the seed is the job's seed).  An option
#: added to ``bound_table`` (and ``cbn table``) is one line here.
TABLE_OPTIONS: dict[str, Param] = {
    "quick": Param(False, boolean, "the target's small data and architectures (--quick)"),
    "restarts": Param(1, integer(1), "restarts of the numerical solver (--restarts)"),
    "max_iter": Param(None, optional(integer(1)),
                      "L-BFGS-B iterations per restart (--max-iter; default as cbn table)"),
    "time_limit": Param(None, optional(positive_number),
                        "safety cap in seconds per solve (--time-limit)"),
    "epsilon": Param(None, lambda name, value: V.fit_tolerance(name, value) or None,
                     "R_eps: relative residual allowed (--epsilon); none: exact interpolation"),
}

#: Name of the witness network's file among a ``bound_row`` job's artifacts.
NETWORK_FILE = "network.npz"


def _prepare_bound_row(params: dict[str, Any]) -> dict[str, Any]:
    from .. import settings

    # the budget cbn table uses: --max-iter, else QUICK_MAX_ITER with --quick, else the
    # solver's own; written out so that one computation has one job key
    if params["max_iter"] is None and params["quick"]:
        params["max_iter"] = settings.QUICK_MAX_ITER
    return params


def network_bytes(network: Any) -> bytes:
    """The ``.npz`` file of ``network`` (:meth:`cbntheory.nets.network.Network.save`) as bytes."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="cbn-net-") as tmp:
        return Path(network.save(Path(tmp) / NETWORK_FILE)).read_bytes()


def network_from_bytes(data: bytes) -> Any:
    """The network of a ``.npz`` file's bytes (:func:`network_bytes`), read without pickles."""
    import tempfile
    from pathlib import Path

    from ..nets.network import Network

    with tempfile.TemporaryDirectory(prefix="cbn-net-") as tmp:
        path = Path(tmp) / NETWORK_FILE
        path.write_bytes(data)
        return Network.load(path)


def stored_networks(path: str, rows: Any) -> dict[str, Any]:
    """The witness networks a sweep store holds for its done ``bound_row`` jobs, by job key.

    ``rows`` are the store's rows (:func:`cbntheory.sweep.store.read_rows`).
    """
    from .store import Store

    out = {}
    with Store(path, create=False) as store:
        for row in rows:
            if row["kind"] == "bound_row" and row["status"] == "done":
                data = store.artifact(row["job_key"], NETWORK_FILE)
                if data is not None:
                    out[row["job_key"]] = network_from_bytes(data)
    return out


def bound_row_job(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """One depth of ``cbn table TARGET``: :func:`~cbntheory.measure.tabulate.bound_table`
    at ``[depth]`` with the job's seed and :data:`TABLE_OPTIONS`, as stored data.

    The result holds the row's NormResult-like summary, ``row`` and ``table`` (the
    states :func:`cbntheory.measure.tables.tables_from_store` rebuilds the table from) and,
    under :data:`~cbntheory.sweep.jobs.ARTIFACTS`, the witness network's ``.npz`` (the
    store keeps it beside the result; closed-form rows have none: target and depth
    rebuild them).
    """
    from ..measure.tables import SKIPPED, DepthRow, row_state, table_state
    from ..measure.tabulate import bound_table

    depth = params["depth"]
    table = bound_table(params["target"], [depth], rng=seed,
                        **{name: params[name] for name in TABLE_OPTIONS})
    row = table.rows[0] if table.rows else DepthRow(
        depth, None, None, SKIPPED, f"the architecture of {params['target']!r} refuses "
        f"depth {depth}", seed=seed)
    out: dict[str, Any] = {
        "value": row.upper, "lower": row.lower, "upper": row.upper, "status": row.status,
        "message": row.message, "residual": row.residual, "solver": row.solver,
        "seed": row.seed, "wall_time": row.wall_time, "depth": depth,
        "source": row.source or None, "row": row_state(row), "table": table_state(table)}
    if row.network is not None and row.upper is not None:
        out["network_norm"] = float(row.network.param_norm())
        out[ARTIFACTS] = {NETWORK_FILE: network_bytes(row.network)}
    return out


BOUND_ROW = JobKind(
    "bound_row", bound_row_job,
    {"target": Param(check=builtin_target, doc="a built-in target (cbn table --list)"),
     "depth": Param(check=integer(1), doc="number of layers L"), **TABLE_OPTIONS},
    "one (target, depth) row of cbn table, with the network behind its upper bound",
    prepare=_prepare_bound_row)


#: The kinds of the installed package, in the order they are documented.
BUILTIN_KINDS: tuple[JobKind, ...] = (LINEAR_COST, BOUND_ROW)
