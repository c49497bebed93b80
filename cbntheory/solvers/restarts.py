"""The one restart driver of the numerical routes (:mod:`.interpolate` and :mod:`.relu`).

Restart ``j`` gets the seed of the ``j``-th child of ``SeedSequence(master seed)`` (any run
can be repeated alone); the restarts share one clock and stop at a KeyboardInterrupt,
keeping what was found so far.

Examples
--------
>>> runs, stop = run_restarts(0, 3, lambda r: (r.seed % 7, False), time_limit=None)
>>> len(runs), stop
(3, '')
>>> [r % 7 for r in run_seeds(0, 3)] == runs
True
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

R = TypeVar("R")

#: Reasons :func:`run_restarts` stops before its last restart.
INTERRUPTED, OUT_OF_TIME = "interrupted", "out_of_time"


@dataclasses.dataclass(frozen=True)
class Restart:
    """One restart: its index, its seed and the seconds left of the shared budget."""

    index: int
    seed: int
    left: float | None


def run_seeds(seed: int | None, count: int) -> list[int]:
    """Seeds of ``count`` restarts derived from the master ``seed``."""
    return [int(child.generate_state(1)[0] % (2**31))
            for child in np.random.SeedSequence(seed).spawn(count)]


def run_restarts(seed: int | None, count: int, attempt: Callable[[Restart], tuple[R, bool]], *,
                 time_limit: float | None, start: float | None = None,
                 enough: Callable[[int, list[R]], bool] | None = None,
                 min_runs: int = 0) -> tuple[list[R], str]:
    """Run ``attempt`` for up to ``count`` restarts; return the runs and why they stopped.

    ``attempt(restart) -> (run, stop)``, ``stop`` ending the sequence after that run (it
    was interrupted).  ``time_limit`` seconds for all restarts count from ``start``
    (default: now); once ``min_runs`` runs are done, a restart with no time left is not
    started.  ``enough(j, runs)`` True ends the sequence before restart ``j``.  The reason
    returned is ``""`` (all done, or enough), ``"interrupted"`` (a stop flag, or a
    KeyboardInterrupt between runs) or ``"out_of_time"``.
    """
    start = time.perf_counter() if start is None else start
    runs: list[R] = []
    try:
        for j, run_seed in enumerate(run_seeds(seed, count)):
            if enough is not None and enough(j, runs):
                return runs, ""
            left = None if time_limit is None else time_limit - (time.perf_counter() - start)
            if left is not None and left <= 0 and len(runs) >= min_runs:
                return runs, OUT_OF_TIME
            run, stop = attempt(Restart(index=j, seed=run_seed, left=left))
            runs.append(run)
            if stop:
                return runs, INTERRUPTED
    except KeyboardInterrupt:
        return runs, INTERRUPTED
    return runs, ""
