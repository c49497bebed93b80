"""The job kinds registered for sweeps (see :mod:`cbntheory.sweep.jobs` for the registry).

``linear_cost``
    Exact T1 cost of a named linear target built deterministically from the parameters
    and the seed, re-verified by composing its balanced factorisation.
``echo`` (testing only)
    Returns ``value = x + seed``; can sleep, fail, log its start: used by the tests of
    the store, the runner and the executors.
``spin`` (testing only)
    A fixed amount of pure-Python arithmetic (real CPU work, no BLAS threads): used by
    the throughput benchmark.

Examples
--------
>>> from cbntheory.sweep.jobs import normalize_params
>>> p = normalize_params("linear_cost", {"target": "identity", "channels": [2, 2]})
>>> out = linear_cost_job(p, seed=0)
>>> bool(abs(out["value"] - 2 * 2 * 8) < 1e-9)   # L * (channels * pixels) at L = 2
True
"""
from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from .. import fourier
from ..operators import ConvOperator
from ..results import OPTIMAL, OPTIMAL_INACCURATE, NormResult
from ..theory.linear import verified_linear_cost
from .jobs import (
    JobKind,
    Param,
    ParamError,
    boolean,
    channel_pair,
    choice,
    integer,
    number,
    register,
    shape,
    text,
)

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


register(JobKind(
    "linear_cost", linear_cost_job,
    {"target": Param(check=choice(*LINEAR_TARGETS), doc=f"one of {LINEAR_TARGETS}"),
     "depth": Param(2, integer(1), "number of layers L"),
     "spatial_shape": Param([8], shape, "[d] or [d1, d2]"),
     "channels": Param([2, 2], channel_pair, "[C_out, C_in]"),
     "normalization": Param("operator", choice("operator", "plain"), "convolution constant"),
     "rank": Param(1, integer(1), "per-frequency rank of target 'lowrank'"),
     "bandwidth": Param(1, integer(0), "largest frequency degree of target 'bandlimited'")},
    "exact linear-CNN cost (T1) of a named random or structured target",
    prepare=_prepare_linear))


# ------------------------------------------------------------------ testing-only kinds
def echo_job(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Testing only: ``value = x + seed`` after ``sleep`` seconds.

    ``log``: append ``"<x> <seed> <pid>"`` to this file when the job starts (to count
    executions); ``fail``: raise; ``fail_while``: raise while this file exists;
    ``crash``: end the worker process abruptly (as a segfault or the OOM killer would).
    """
    if params["log"]:
        with open(params["log"], "a") as fh:
            fh.write(f"{params['x']!r} {seed} {os.getpid()}\n")
    if params["crash"]:
        os._exit(70)
    if params["sleep"]:
        time.sleep(params["sleep"])
    if params["fail"] or (params["fail_while"] and os.path.exists(params["fail_while"])):
        raise RuntimeError(f"echo job asked to fail (x={params['x']}, seed={seed})")
    value = params["x"] + seed
    return NormResult(value, value, value, OPTIMAL, "echo", seed=seed, solver="echo",
                      residual=0.0, wall_time=params["sleep"]).summary()


def spin_job(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Testing only: ``iterations`` steps of a linear congruential generator in pure Python."""
    start, cpu = time.perf_counter(), time.process_time()
    acc = seed
    for _ in range(params["iterations"]):
        acc = (acc * 1103515245 + 12345) & 0x7FFFFFFF
    value = float(acc)
    out = NormResult(value, value, value, OPTIMAL, "spin", seed=seed, solver="spin",
                     residual=0.0, wall_time=time.perf_counter() - start).summary()
    out["cpu_time"] = time.process_time() - cpu   # < wall_time when the core was shared
    return out


register(JobKind(
    "echo", echo_job,
    {"x": Param(0.0, number(None), "value returned (plus the seed)"),
     "sleep": Param(0.0, number(0.0), "seconds to sleep"),
     "fail": Param(False, boolean, "raise instead of returning"),
     "crash": Param(False, boolean, "kill the worker process (never use in-process)"),
     "fail_while": Param("", text, "raise while this file exists"),
     "log": Param("", text, "file to which the job appends a line when it starts")},
    "testing only: returns x + seed", testing=True))

register(JobKind(
    "spin", spin_job, {"iterations": Param(1_000_000, integer(1), "loop steps")},
    "testing/benchmark only: fixed pure-Python CPU work", testing=True))
