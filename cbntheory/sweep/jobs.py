"""The registry of job kinds, and what a job is: normalised parameters, a key, a run.

A *job* is one call ``fn(params, seed)`` of a registered
:class:`~cbntheory.sweep.kinds.JobKind`; it returns a JSON-able dict whose fields follow
:meth:`cbntheory.NormResult.summary` (``value``, ``lower``, ``upper``, ``status``,
``message``, ``residual``, ``wall_time``...) plus any kind-specific extras.  A sweep's
TOML file names the kind and the parameters; the kind's parameter table validates them,
fills defaults and normalises them, so that the job key (:func:`job_key`) of the same
computation is always the same.

The registry starts from :data:`PACKAGE_KINDS` (:data:`cbntheory.sweep.kinds.BUILTIN_KINDS`
and :data:`cbntheory.sweep.file_kinds.FILE_KINDS`).  Only a program
adds kinds, by calling :func:`register` in its own process (the test suite and the
throughput benchmark do so for their ``echo`` and ``spin`` kinds); there is no
environment variable or file that loads kinds, so a sweep file, or a user of ``cbn
sweep``, can name only the package's kinds.  Workers never look a kind up by name: the
executor sends them the kind's function itself (pickled by reference), so a pool or Dask
worker runs exactly what the process that read the sweep file registered.

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

import hashlib
import json
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ParamError, ValidationError
from .file_kinds import FILE_KINDS
from .kinds import ARTIFACTS, BUILTIN_KINDS, REQUIRED, JobKind

#: Every kind of the installed package: the table kinds, then those on user files.
PACKAGE_KINDS: tuple[JobKind, ...] = (*BUILTIN_KINDS, *FILE_KINDS)

#: Registered kinds by name.
KINDS: dict[str, JobKind] = {kind.name: kind for kind in PACKAGE_KINDS}


def register(kind: JobKind) -> JobKind:
    """Add ``kind`` to :data:`KINDS` of this process (replacing a kind of the same name).

    The one way to add a kind: a program calls it before it reads a sweep file.  The
    kind's function must be importable by the workers (a module-level function of a
    module on their path), since it is sent to them by reference.
    """
    if not isinstance(kind, JobKind):
        raise ValidationError(f"register needs a JobKind; got {type(kind).__name__}")
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
            blas=prov["blas"],
            hostname=socket.gethostname())
    return dict(_PROVENANCE, pid=os.getpid())


def _traceback_summary(exc: BaseException, limit: int = 4000) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return text if len(text) <= limit else "...\n" + text[-limit:]


def run_job(kind: str | Callable[[dict, int], dict], params: Mapping[str, Any],
            seed: int) -> dict[str, Any]:
    """Run one job and report its outcome as plain data; never raises for a job's error.

    ``kind`` is a registered kind's name, or its function itself (what the executors
    send to their workers, so that a worker needs no registry).

    Returns
    -------
    dict
        ``ok`` (bool), ``result`` (the kind's dict, when ok), ``artifacts`` (the
        ``{name: bytes}`` the kind returned under :data:`ARTIFACTS`, stored by the store
        beside the result), ``error`` and
        ``traceback`` (when not ok), ``wall_time`` (seconds in ``fn``) and
        ``provenance`` (see :func:`provenance`).
    """
    start = time.perf_counter()
    try:
        fn = get_kind(kind).fn if isinstance(kind, str) else kind
        result = dict(fn(dict(params), int(seed)))
        out: dict[str, Any] = {"ok": True, "result": result,
                               "artifacts": result.pop(ARTIFACTS, None) or {}}
    except Exception as exc:  # noqa: BLE001 - a failing job is data, the sweep goes on
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
               "traceback": _traceback_summary(exc)}
    out["wall_time"] = time.perf_counter() - start
    out["provenance"] = provenance()
    return out

__all__ = ["ARTIFACTS", "KINDS", "PACKAGE_KINDS", "ParamError", "get_kind", "job_key", "kind_names",
           "normalize_params", "provenance", "register", "run_job"]
