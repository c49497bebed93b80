"""Job kinds on the user's own files: minimal-norm solves, the two-layer convex program,
and the frequency structure of a network.

A sweep file names its input files (``.npz`` data with ``X`` and ``Y``, network files of
:meth:`cbntheory.nets.network.Network.save`); they are only read.  Each file parameter is
normalised to ``{"path": absolute path, "sha256": digest of its bytes}``, so that the
job key changes when the file's content changes, and the job refuses a file whose bytes
no longer match (edited between the start of the sweep and the job).  Relative paths are
read from the directory ``cbn sweep`` runs in; Dask workers need the files at the same
paths.  Results are written to the store only: the verified network behind a value is
returned under :data:`~cbntheory.sweep.kinds.ARTIFACTS`, never to a path.

``minimal_norm``
    :func:`cbntheory.minimal_norm` of an architecture on a data file, or on a target
    network (``target_network``; ``Y`` then defaults to its outputs), as ``cbn fit``.
``convex_two_layer``
    The exact two-layer program (:func:`cbntheory.solvers.convex.program.two_layer_min_norm`)
    on a data file, as ``cbn convex``.
``structure``
    :func:`cbntheory.measure.structure.analyze_structure` of a network file, with the
    inputs of a data file when given, as ``cbn analyze``; its value is the CBN rank estimate.
"""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from typing import Any

import numpy as np

from .. import _validate as V
from .kinds import (
    ARTIFACTS,
    NETWORK_FILE,
    JobKind,
    Param,
    boolean,
    choice,
    integer,
    network_bytes,
    network_from_bytes,
    optional,
    positive_number,
    text,
)

__all__ = ["CONVEX_TWO_LAYER", "FILE_KINDS", "MINIMAL_NORM", "STRUCTURE", "input_file"]


# --------------------------------------------------------------------- parameter checks
def _digest(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def input_file(name: str, value: Any) -> dict[str, str]:
    """Check: an existing readable file, as ``{"path": absolute, "sha256": digest}``.

    Already normalised values are accepted when the file still has that digest.
    """
    wanted = None
    if isinstance(value, dict) and set(value) == {"path", "sha256"}:
        wanted, value = value["sha256"], value["path"]
    path = os.path.abspath(os.path.expanduser(text(name, value)))
    if not os.path.isfile(path):
        raise V.fail(name, "name an existing file", value)
    try:
        digest = _digest(path)
    except OSError as exc:
        raise V.fail(name, "name a readable file", f"{value} ({exc.strerror or exc})") from None
    if wanted is not None and digest != wanted:
        raise V.fail(name, "still have the content it had when the sweep was read", path)
    return {"path": path, "sha256": digest}


def widths(name: str, value: Any) -> list[int]:
    """Check: ``[n_0, ..., n_L]``, at least two positive integers."""
    if not isinstance(value, (list, tuple)) or len(value) < 2:
        raise V.fail(name, "be a list [n_0, ..., n_L] of at least two positive integers", value)
    return [V.positive_int(f"{name}[{i}]", v) for i, v in enumerate(value)]


def kernel(name: str, value: Any) -> list[int]:
    """Check: filter taps ``k`` or ``[k1, k2]``, stored as a list."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if not 1 <= len(values) <= 2:
        raise V.fail(name, "be k or [k1, k2]", value)
    return [V.positive_int(f"{name}[{i}]", v) for i, v in enumerate(values)]


def _read(ref: dict[str, str]) -> bytes:
    """The bytes of a normalised file parameter, refused when they changed."""
    with open(ref["path"], "rb") as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != ref["sha256"]:
        raise V.fail("file", "have the content it had when the sweep was read", ref["path"])
    return data


def _arrays(ref: dict[str, str], what: str, needed: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file parameter (no pickles), with the ``needed`` names."""
    data = _read(ref)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, AttributeError) as exc:
        raise V.fail(what, "be an .npz archive of arrays", f"{ref['path']} ({exc})") from None
    missing = [k for k in needed if k not in arrays]
    if missing:
        raise V.fail(what, f"hold the arrays {', '.join(needed)}",
                     f"{ref['path']} with arrays {sorted(arrays)}")
    return arrays


def _kernel_size(value: list[int] | None) -> Any:
    return None if value is None else (value[0] if len(value) == 1 else tuple(value))


def _with_network(out: dict[str, Any], network: Any) -> dict[str, Any]:
    if network is not None:
        out[ARTIFACTS] = {NETWORK_FILE: network_bytes(network)}
    return out


# --------------------------------------------------------------------- minimal_norm
def minimal_norm_job(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """:func:`cbntheory.minimal_norm` on the data file (``cbn fit``), with its network."""
    from ..errors import InaccurateSolutionWarning
    from ..nets.architecture import Architecture
    from ..solvers.dispatch import minimal_norm

    arrays = _arrays(params["data"], "data", ("X",))
    X = arrays["X"]
    target = None
    if params["target_network"] is not None:
        target = network_from_bytes(_read(params["target_network"]))
    elif "Y" not in arrays:
        raise V.fail("data", "hold an array Y (or set target_network)", params["data"]["path"])
    arch = Architecture(tuple(X.shape[2:]), tuple(params["channels"]),
                        kernel_size=_kernel_size(params["kernel_size"]),
                        activation=params["activation"], bias=params["bias"],
                        penalize_bias=params["penalize_bias"],
                        normalization=params["normalization"], head=params["head"])
    options: dict[str, Any] = {"rng": seed, "restarts": params["restarts"],
                               "time_limit": params["time_limit"]}
    for key in ("tol", "max_iter"):
        if params[key] is not None:
            options[key] = params[key]
    if target is not None:
        options["target"] = target
    data = (X, arrays["Y"]) if "Y" in arrays else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InaccurateSolutionWarning)
        result = minimal_norm(arch, data=data, **options)
    out = dict(result.summary(), architecture=arch.to_dict())
    return _with_network(out, result.network)


_ARCH = {
    "kernel_size": Param(None, optional(kernel), "filter taps k or [k1, k2] (default full)"),
    "bias": Param(True, boolean, "networks with biases"),
    "penalize_bias": Param(True, boolean, "biases counted in the norm"),
    "normalization": Param("operator", choice("operator", "plain"), "convolution constant"),
}

MINIMAL_NORM = JobKind(
    "minimal_norm", minimal_norm_job,
    {"data": Param(check=input_file, doc=".npz with X (N, n_0, *spatial) and Y"),
     "target_network": Param(None, optional(input_file),
                             "target network file; Y defaults to its outputs"),
     "channels": Param(check=widths, doc="widths [n_0, ..., n_L]"), **_ARCH,
     "activation": Param("relu", choice("relu", "linear"), "activation"),
     "head": Param(None, optional(choice("avgpool")), "average pool and dense layer"),
     "restarts": Param(1, integer(1), "restarts of the numerical solver"),
     "max_iter": Param(None, optional(integer(1)), "L-BFGS-B iterations per restart"),
     "tol": Param(None, optional(positive_number), "relative residual to reach"),
     "time_limit": Param(None, optional(positive_number), "safety cap in seconds")},
    "minimal-norm network of an architecture on a data file (cbn fit), network stored")


# --------------------------------------------------------------------- convex_two_layer
def convex_two_layer_job(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """The exact two-layer program on the data file (``cbn convex``), with its network."""
    from ..nets.architecture import Architecture
    from ..solvers.convex.program import two_layer_min_norm

    arrays = _arrays(params["data"], "data", ("X", "Y"))
    X, Y = arrays["X"], arrays["Y"]
    if X.ndim not in (3, 4):
        raise V.fail("data", "hold X of shape (N, n_0, d) or (N, n_0, d1, d2)", X.shape)
    n_out = 1 if Y.ndim == 1 else Y.shape[-1]
    arch = Architecture(tuple(X.shape[2:]), (X.shape[1], params["hidden"], n_out),
                        kernel_size=_kernel_size(params["kernel_size"]), head="avgpool",
                        bias=params["bias"], penalize_bias=params["penalize_bias"],
                        normalization=params["normalization"])
    result = two_layer_min_norm(arch, X, Y, patterns=params["patterns"],
                                n_patterns=params["n_patterns"], solver=params["solver"],
                                max_patterns=params["max_patterns"], rng=seed)
    info = result.info
    patterns = info.get("patterns", {})
    out = dict(result.summary(), architecture=arch.to_dict(),
               patterns={k: patterns.get(k) for k in ("method", "count", "draws")},
               completeness=patterns.get("certificate"),
               hidden_channels=info.get("hidden_channels"),
               relative_gap=info.get("relative_gap"))
    return _with_network(out, result.network)


CONVEX_TWO_LAYER = JobKind(
    "convex_two_layer", convex_two_layer_job,
    {"data": Param(check=input_file, doc=".npz with X (N, n_0, *spatial) and Y (N, n_out)"),
     **_ARCH, "hidden": Param(1, integer(1), "n_1 reported against the width used"),
     "patterns": Param("enumerate", choice("enumerate", "sample"), "activation patterns"),
     "n_patterns": Param(None, optional(integer(1)), "neurons drawn with 'sample'"),
     "solver": Param(None, optional(choice("CLARABEL", "SCS")), "conic solver"),
     "max_patterns": Param(None, optional(integer(1)), "refuse to enumerate more")},
    "exact two-layer ReLU CNN minimal norm on a data file (cbn convex), network stored")


# --------------------------------------------------------------------- structure
def structure_job(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Frequency structure of the network file (``cbn analyze``); value: the CBN rank estimate."""
    from ..measure.structure import analyze_structure

    net = network_from_bytes(_read(params["network"]))
    X = None if params["data"] is None else _arrays(params["data"], "data", ("X",))["X"]
    report = analyze_structure(net, X, weight_threshold=params["weight_threshold"],
                               span_rtol=params["span_rtol"])
    est = report.estimate
    return dict(report.as_dict(), value=float(est.total),
                message=f"CBN rank estimate ({est.method}): {est.total} = {est.describe()}")


STRUCTURE = JobKind(
    "structure", structure_job,
    {"network": Param(check=input_file, doc="network file (Network.save)"),
     "data": Param(None, optional(input_file), ".npz with inputs X for the activations"),
     "weight_threshold": Param(None, optional(positive_number), "cut on singular values"),
     "span_rtol": Param(None, optional(positive_number), "relative span threshold")},
    "frequency structure and CBN rank estimate of a network file (cbn analyze)")

#: The kinds on user files, in the order they are documented.
FILE_KINDS: tuple[JobKind, ...] = (MINIMAL_NORM, CONVEX_TWO_LAYER, STRUCTURE)
