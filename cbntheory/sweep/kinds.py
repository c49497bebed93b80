"""What a job kind is, and the kinds that ship with cbntheory.

A :class:`JobKind` is a function ``fn(params, seed) -> dict`` with a table of
:class:`Param` (default, check, description) that validates, completes and normalises a
sweep file's parameters.  :data:`BUILTIN_KINDS` lists the kinds of the installed
package; :mod:`cbntheory.sweep.jobs` builds its registry from it (this module imports
nothing from the registry, so the two never import each other).

``linear_cost``
    Exact T1 cost of a named linear target built deterministically from the parameters
    and the seed, re-verified by composing its balanced factorisation.

The test suite and the throughput benchmark add kinds of their own (``echo``, ``spin``)
through :data:`cbntheory.sweep.jobs.EXTRA_KINDS_ENV`; none of them ships here.

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


#: The kinds of the installed package, in the order they are documented.
BUILTIN_KINDS: tuple[JobKind, ...] = (LINEAR_COST,)
