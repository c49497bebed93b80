"""Shared timing helpers of the peer benchmarks: interleaved repetitions, load, spread.

Every comparison runs its contenders in turn within each repetition (A, B, C, A, B, C,
...), so a change of the machine's load during the run hits all of them alike; the load
average is printed before and after, and every figure is the median with its min and max.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np


def load() -> str:
    """The 1-, 5- and 15-minute load averages and the core count, as one string."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


def interleaved(contenders: dict[str, Callable[[], object]], repeats: int
                ) -> dict[str, np.ndarray]:
    """Time every contender ``repeats`` times, in turn, after one warm-up call each.

    Repetition ``k`` starts with contender ``k mod n`` (a rotation), so no contender always
    runs in the slot after the same neighbour: a neighbour's after-effects (PyTorch's
    worker threads spinning on after a call) are spread over all of them.
    """
    for fn in contenders.values():
        fn()
    items = list(contenders.items())
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for k in range(repeats):
        shift = k % len(items)
        for name, fn in items[shift:] + items[:shift]:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: np.array(t) for name, t in times.items()}


def spread(t: np.ndarray) -> str:
    """``median (min-max)`` in milliseconds."""
    return f"{1e3 * np.median(t):8.2f} ms ({1e3 * t.min():.2f}-{1e3 * t.max():.2f})"


def ratio(a: np.ndarray, b: np.ndarray) -> str:
    """``a / b`` of the medians, with the ratio of the minima beside it."""
    return f"{np.median(a) / np.median(b):.2f} (min/min {a.min() / b.min():.2f})"
