"""Reproducible artifacts: the networks behind a table's upper bounds, saved and re-checked.

:func:`save_networks` writes the witness network of every row with an upper bound to
``<dir>/networks/<target>_L<depth>.npz`` (:meth:`cbntheory.nets.network.Network.save`) and
records the file on the row (``network_file`` in the JSON tables).  :func:`verify_rows`
(``cbn verify``) re-checks such rows from their files alone: the data are regenerated from
the target and the table's mode, the network is run by :func:`direct_forward` (circular
convolutions summed offset by offset from the definition, not the FFT engine of
:mod:`cbntheory.nets`), its parameter norm is recomputed by :func:`direct_norm`, and both
are compared with the row.

Examples
--------
A network reproduces its own outputs, and the direct pass agrees with the engine:

>>> import numpy as np
>>> from cbntheory.nets.architecture import Architecture
>>> net = Architecture((6,), (1, 2, 1), kernel_size=3).init(rng=1)
>>> X = np.random.default_rng(0).standard_normal((4, 1, 6))
>>> bool(np.allclose(direct_forward(net, X), net(X), atol=1e-12))
True
>>> bool(np.isclose(direct_norm(net), net.param_norm(), rtol=1e-12))
True
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..nets.network import Network
from ..results import relative_residual

__all__ = ["NETWORKS_DIR", "RowCheck", "direct_forward", "direct_norm", "save_networks",
           "save_row_networks", "verify_rows"]

#: Folder (inside a report directory) of the saved networks.
NETWORKS_DIR = "networks"


def _file_stem(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


def save_networks(table: Any, directory: str | Path) -> Any:
    """Save the network behind every upper bound of ``table``; the table with the files.

    Each row with a witness network is written to
    ``directory/networks/<target>_L<depth>.npz``; the returned table (a copy) records the
    path relative to ``directory`` in each such row's ``network_file``.
    """
    return dataclasses.replace(table, rows=save_row_networks(table.rows, directory, table.target))


def save_row_networks(rows: Any, directory: str | Path, stem: str) -> tuple[Any, ...]:
    """Save the witness network of every row with an upper bound; the rows with the files.

    Files are ``directory/networks/<stem>_L<depth>.npz``; the returned rows (copies) record
    the path relative to ``directory`` in ``network_file``.  Used for the bound tables
    (:func:`save_networks`) and for any other rows of a report (the T7 comparison).
    """
    root = Path(directory)
    (root / NETWORKS_DIR).mkdir(parents=True, exist_ok=True)
    out = []
    for row in rows:
        if row.network is None or row.upper is None:
            out.append(row)
            continue
        rel = f"{NETWORKS_DIR}/{_file_stem(stem)}_L{row.depth}.npz"
        row.network.save(root / rel)
        out.append(dataclasses.replace(row, network_file=rel))
    return tuple(out)


def _conv_direct(W: np.ndarray, z: np.ndarray, c: float) -> np.ndarray:
    """``y[n, o, p] = c sum_i sum_q W[o, i, q] z[n, i, p - q]``, one offset ``q`` at a time."""
    shape = W.shape[2:]
    axes = tuple(range(2, 2 + len(shape)))
    y = np.zeros((z.shape[0], W.shape[0]) + shape)
    for q in itertools.product(*[range(d) for d in shape]):
        tap = W[(slice(None), slice(None)) + q]
        if np.any(tap):
            y += c * np.einsum("oi,ni...->no...", tap, np.roll(z, q, axis=axes))
    return y


def _resample_direct(z: np.ndarray, r: int) -> np.ndarray:
    """Code ``r``: 1 none, ``s > 1`` keep every ``s``-th pixel, ``-s`` insert zeros."""
    spatial = (slice(None), slice(None))
    if r == 1:
        return z
    if r > 1:
        return z[spatial + (slice(None, None, r),) * (z.ndim - 2)]
    s = -r
    out = np.zeros(z.shape[:2] + tuple(n * s for n in z.shape[2:]))
    out[spatial + (slice(None, None, s),) * (z.ndim - 2)] = z
    return out


def direct_forward(net: Network, X: Any) -> np.ndarray:
    """The network's outputs on ``X`` (shape ``(N, n_0, *spatial)``) from the definition.

    Convolutions are summed over every offset in pixel space (no FFT), each followed by
    the per-channel bias, the ReLU (for ReLU networks) and the resampling; an ``avgpool``
    head averages over pixels and applies its dense layer and bias.
    """
    arch = net.architecture
    z = np.asarray(X, dtype=float)
    kernels, biases = net.kernels, net.biases
    relu = arch.activation == "relu"
    for l in range(arch.n_conv):
        z = _conv_direct(np.asarray(kernels[l], dtype=float), z, float(arch.constants[l]))
        if arch.bias:
            z = z + np.asarray(biases[l], dtype=float).reshape((1, -1) + (1,) * (z.ndim - 2))
        if l == arch.depth - 1:  # the last convolution of a head-less network
            return z
        if relu:
            z = np.maximum(z, 0.0)
        z = _resample_direct(z, int(arch.resample[l]))  # type: ignore[index]
    pooled = z.mean(axis=tuple(range(2, z.ndim)))
    out = pooled @ np.asarray(kernels[-1], dtype=float).T
    return out + np.asarray(biases[-1], dtype=float) if arch.bias else out


def direct_norm(net: Network) -> float:
    """``sum ||W_l||^2`` plus ``sum ||b_l||^2`` when the biases are penalised."""
    total = math.fsum(float(np.sum(np.square(W))) for W in net.kernels)
    if net.architecture.bias and net.architecture.penalize_bias:
        total += math.fsum(float(np.sum(np.square(b))) for b in net.biases)
    return total


@dataclasses.dataclass(frozen=True)
class RowCheck:
    """The re-check of one table row from its saved network.

    Attributes
    ----------
    target : str
    depth : int
    network_file : str
    verdict : str
        ``"verified"`` or ``"failed"``.
    residual : float
        Relative residual of the direct forward pass on the regenerated data (NaN if not run).
    norm : float
        Parameter norm recomputed from the file (NaN if not read).
    upper, lower : float or None
        The row's bounds.
    reasons : tuple of str
        What failed (empty when verified).
    """

    target: str
    depth: int
    network_file: str
    verdict: str
    residual: float
    norm: float
    upper: float | None
    lower: float | None
    reasons: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: the verdict with its numbers and, when it failed, why."""
        head = (f"{self.target} L={self.depth}: {self.verdict} (residual {self.residual:.2e}, "
                f"norm {self.norm:.10g} against the table's upper bound {self.upper})")
        return head if not self.reasons else f"{head}: {'; '.join(self.reasons)}"


def _judge(record: Mapping[str, Any], net: Network, X: np.ndarray, Y: np.ndarray,
           depth: int, epsilon: float | None = None) -> tuple[float, float, list[str]]:
    """Residual, norm and the failed rules of one saved network against its row.

    The residual allowed is the table's ``epsilon`` for an ``R_eps`` table, else
    ``FIT_RTOL * FIT_RECHECK_FACTOR`` (exact interpolation, re-checked).
    """
    reasons = []
    if net.architecture.depth != depth:
        reasons.append(f"the network has depth {net.architecture.depth}, the row {depth}")
        return float("nan"), direct_norm(net), reasons
    residual = relative_residual(direct_forward(net, X), Y)
    norm = direct_norm(net)
    limit = float(epsilon) if epsilon else settings.FIT_RTOL * settings.FIT_RECHECK_FACTOR
    if not residual <= limit:
        reasons.append(f"residual {residual:.3e} > {limit:.3g}: it does not reproduce the data")
    upper, lower = record.get("upper"), record.get("lower")
    if upper is None or not abs(norm - float(upper)) <= settings.VERIFY_NORM_RTOL * max(
            1.0, abs(float(upper))):
        reasons.append(f"norm {norm:.12g} differs from the upper bound {upper} by more than "
                       f"VERIFY_NORM_RTOL={settings.VERIFY_NORM_RTOL:g} (relative)")
    if lower is not None and not float(lower) <= norm * (1.0 + settings.GAP_RTOL):
        reasons.append(f"the lower bound {lower} exceeds the network's norm {norm:.12g}")
    return residual, norm, reasons


def _locate(path: Path, rel: str, root: Path | None) -> Path:
    """The saved file: under ``root``, else next to the table or one folder up."""
    bases = [root] if root is not None else [path.parent, path.parent.parent]
    for base in bases:
        if (base / rel).is_file():
            return base / rel
    return bases[0] / rel


def verify_rows(table_file: str | Path, *, target: str | None = None,
                depth: int | None = None, root: str | Path | None = None) -> list[RowCheck]:
    """Re-check the rows of a JSON table (``cbn table --format json``, ``cbn report``).

    Every row with a ``network_file`` (or only those of ``target`` and ``depth``) is
    re-checked: the network file is loaded, the data are regenerated with
    ``targets.get(name).data(quick=...)`` (the table's mode), the outputs come from
    :func:`direct_forward` and the norm from :func:`direct_norm`.  A row verifies when the
    residual is at most ``FIT_RTOL * FIT_RECHECK_FACTOR``, the norm equals the row's upper
    bound to ``VERIFY_NORM_RTOL`` and the row's lower bound does not exceed it.  A row
    asked for by ``depth`` without a saved network fails.

    Raises
    ------
    ValidationError
        When the file is not a JSON table or nothing matches ``target`` and ``depth``.
    """
    from .. import targets

    path = Path(table_file)
    try:
        doc = json.loads(path.read_text())
        tables = list(doc["tables"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise V.fail("table_file", "be a JSON table written by cbn table or cbn report",
                     f"{path} ({type(exc).__name__}: {exc})") from None
    out = []
    for table in tables:
        if target is not None and table.get("target") != target:
            continue
        quick = bool(table.get("provenance", {}).get("quick", False))
        data = None
        for record in table.get("rows", []):
            L = int(record["depth"])
            rel = record.get("network_file")
            if (depth is not None and L != depth) or (rel is None and depth is None):
                continue
            name = str(table["target"])
            if rel is None:
                out.append(RowCheck(name, L, "", "failed", float("nan"), float("nan"),
                                    record.get("upper"), record.get("lower"),
                                    ("the row has no saved network",)))
                continue
            if data is None:
                data = targets.get(name).data(quick=quick)
                if data is None:
                    raise V.fail("target", "have data to regenerate", name)
            net = Network.load(_locate(path, rel, None if root is None else Path(root)))
            residual, norm, reasons = _judge(record, net, data[0], data[1], L,
                                             table.get("epsilon"))
            out.append(RowCheck(name, L, rel, "failed" if reasons else "verified", residual,
                                norm, record.get("upper"), record.get("lower"),
                                tuple(reasons)))
    if not out:
        raise V.fail("table_file", "hold a row with a saved network for the target and depth "
                     "asked for", f"{path} (target {target}, depth {depth})")
    return out
