"""Job kinds a sweep can run: a registry from a name to ``fn(params, seed) -> dict``.

A *job* is one call ``fn(params, seed)`` of a registered :class:`JobKind`; it returns
a JSON-able dict whose fields follow :meth:`cbntheory.NormResult.summary` (``value``,
``lower``, ``upper``, ``status``, ``message``, ``residual``, ``wall_time``...) plus any
kind-specific extras.  A sweep's TOML file names the kind and the parameters; the
kind's parameter table (:class:`Param`) validates them, fills defaults and normalises
them, so that the job key (:func:`job_key`) of the same computation is always the same.

The kinds themselves live in :mod:`cbntheory.sweep.kinds`.  Adding a kind is one
function and one :func:`register` line there::

    def _my_job(params, seed):
        ...
        return result.summary()

    register(JobKind("my_kind", _my_job, {"depth": Param(2, integer(1))}, "What it does."))

Kinds marked ``testing=True`` ("echo", "spin") exist only for the test suite and the
throughput benchmark: they compute nothing of mathematical interest.

Examples
--------
>>> params = normalize_params("linear_cost", {"target": "random", "depth": 3})
>>> params["depth"], params["spatial_shape"]
(3, [8])
>>> out = run_job("linear_cost", params, seed=0)
>>> out["ok"], out["result"]["status"], out["result"]["lower"] == out["result"]["upper"]
(True, 'optimal', True)
>>> job_key("linear_cost", params, 0) == job_key("linear_cost", dict(params), 0)
True
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import ValidationError

#: Marker for a parameter without default (the sweep file must set it).
REQUIRED: Any = object()


class ParamError(ValidationError):
    """A job parameter is unknown, missing or invalid; :attr:`key` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


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


#: Registered kinds by name.
KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Add ``kind`` to :data:`KINDS` (replacing a kind of the same name)."""
    KINDS[kind.name] = kind
    return kind


def kind_names(*, include_testing: bool = True) -> list[str]:
    """Sorted names of the registered kinds."""
    return sorted(k for k, v in KINDS.items() if include_testing or not v.testing)


def get_kind(name: Any) -> JobKind:
    """The kind called ``name``; an unknown name raises a ValidationError listing the valid ones."""
    if not isinstance(name, str) or name not in KINDS:
        valid = ", ".join(f"{k} (testing only)" if KINDS[k].testing else k for k in kind_names())
        raise ValidationError(f"job kind must be one of: {valid}; got {name!r}")
    return KINDS[name]


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


def normalize_params(kind_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``params`` against the kind's table; return them complete, sorted by name.

    Raises
    ------
    ParamError
        For an unknown parameter (the message lists the valid ones), a missing required
        one, or a value its check refuses.
    """
    kind = get_kind(kind_name)
    for key in params:
        if key not in kind.params:
            valid = ", ".join(sorted(kind.params))
            raise ParamError(key, f"{key!r} is not a parameter of job kind {kind.name!r}; "
                                  f"valid parameters: {valid}")
    out: dict[str, Any] = {}
    for key in sorted(kind.params):
        spec = kind.params[key]
        if key not in params:
            if spec.default is REQUIRED:
                raise ParamError(key, f"job kind {kind.name!r} needs parameter {key!r} "
                                      f"({spec.doc})")
            out[key] = spec.default
            continue
        try:
            out[key] = spec.check(key, params[key])
        except ValidationError as exc:
            raise ParamError(key, str(exc)) from None
    return kind.prepare(out) if kind.prepare is not None else out


def job_key(kind_name: str, params: Mapping[str, Any], seed: int) -> str:
    """SHA-256 of the job's inputs: kind, kind version, normalised parameters and seed.

    Two jobs have the same key exactly when they compute the same thing, which is how
    a store recognises finished work (parameters must already be normalised).
    """
    kind = get_kind(kind_name)
    blob = json.dumps({"kind": kind.name, "version": kind.version, "params": dict(params),
                       "seed": int(seed)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------- worker side
_PROVENANCE: dict[str, Any] = {}


def provenance() -> dict[str, Any]:
    """Versions and host of the process computing a job (no heavy imports).

    The flat form stored with every job, read from the one provenance builder
    :func:`cbntheory.measure.tables.provenance`.
    """
    if not _PROVENANCE:
        from ..measure.tables import provenance as full

        prov = full()
        versions = prov["versions"]
        _PROVENANCE.update(
            cbntheory=prov["version"], numpy=versions["numpy"], scipy=versions["scipy"],
            cvxpy=versions["cvxpy"], python=prov["python"], platform=prov["platform"],
            hostname=socket.gethostname())
    return dict(_PROVENANCE, pid=os.getpid())


def _traceback_summary(exc: BaseException, limit: int = 4000) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return text if len(text) <= limit else "...\n" + text[-limit:]


def run_job(kind_name: str, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Run one job and report its outcome as plain data; never raises for a job's error.

    Returns
    -------
    dict
        ``ok`` (bool), ``result`` (the kind's dict, when ok), ``error`` and
        ``traceback`` (when not ok), ``wall_time`` (seconds in ``fn``) and
        ``provenance`` (see :func:`provenance`).
    """
    start = time.perf_counter()
    try:
        result = get_kind(kind_name).fn(dict(params), int(seed))
        out: dict[str, Any] = {"ok": True, "result": result}
    except Exception as exc:  # noqa: BLE001 - a failing job is data, the sweep goes on
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
               "traceback": _traceback_summary(exc)}
    out["wall_time"] = time.perf_counter() - start
    out["provenance"] = provenance()
    return out


# Importing the kinds registers them (kept in their own module, one concept each).
from . import kinds as _kinds  # noqa: E402, F401  (registration side effect)

__all__ = [
    "KINDS",
    "REQUIRED",
    "JobKind",
    "Param",
    "ParamError",
    "boolean",
    "channel_pair",
    "choice",
    "get_kind",
    "integer",
    "job_key",
    "kind_names",
    "normalize_params",
    "number",
    "provenance",
    "register",
    "run_job",
    "shape",
    "text",
]
