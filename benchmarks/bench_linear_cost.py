"""Speed of ``linear_cost`` (T1): absolute time on a large operator and ratio to a dense SVD.

Targets (issue 2, on the 2-core development machine):

1. ``linear_cost`` on a 16 -> 16 channel operator on 64 x 64 images at L = 8 in at most
   250 ms (median of several runs);
2. at least 150 times faster than computing the same singular values from the dense
   operator matrix (4 channels, 16 x 16 images: a 1024 x 1024 matrix), both measured
   side by side in this run.  The dense matrix is assembled before the clock starts, so
   the baseline is the SVD alone (the ratio is therefore conservative).

Run ``python benchmarks/bench_linear_cost.py`` (``--repeats N`` to change the number of
runs).  Timings are printed, never asserted in tests.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import cbntheory as cbn


def measure(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall times (seconds) of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def describe(times: list[float]) -> str:
    """``median (min .. max)`` in milliseconds."""
    ms = [1e3 * t for t in times]
    return f"median {statistics.median(ms):9.3f} ms   (min {min(ms):.3f}, max {max(ms):.3f}, " \
           f"n = {len(ms)})"


def main(repeats: int = 7) -> dict[str, float]:
    """Run both measurements, print them and return the medians and the ratio."""
    rng = np.random.default_rng(0)

    # 1. absolute time: 16 -> 16 channels, 64 x 64 pixels, L = 8
    big = cbn.ConvOperator.from_kernel(rng.standard_normal((16, 16, 64, 64)))
    # a fresh operator per call, so that cached frequency blocks are not reused
    kernel = big.kernel
    t_big = measure(lambda: cbn.linear_cost(cbn.ConvOperator.from_kernel(kernel), 8), repeats)
    med_big = statistics.median(t_big)
    print("linear_cost, 16 -> 16 channels, 64 x 64, L = 8")
    print(f"  {describe(t_big)}   target <= 250 ms: {'met' if med_big <= 0.25 else 'MISSED'}")

    # 2. ratio against the dense SVD: 4 -> 4 channels, 16 x 16 pixels
    small_kernel = rng.standard_normal((4, 4, 16, 16))
    dense = cbn.ConvOperator.from_kernel(small_kernel).to_matrix()      # 1024 x 1024
    t_fast = measure(lambda: cbn.linear_cost(cbn.ConvOperator.from_kernel(small_kernel), 8),
                     repeats)
    t_dense = measure(lambda: np.linalg.svd(dense, compute_uv=False), repeats)
    # the two computations agree (otherwise the comparison would be meaningless)
    s_fast = np.sort(cbn.ConvOperator.from_kernel(small_kernel).singular_values().ravel())
    s_dense = np.sort(np.linalg.svd(dense, compute_uv=False))
    assert np.allclose(s_fast, s_dense, rtol=1e-9, atol=1e-12)
    ratio = statistics.median(t_dense) / statistics.median(t_fast)
    noise = (min(t_dense) / max(t_fast), max(t_dense) / min(t_fast))
    print("singular values of a 4 -> 4 channel operator on 16 x 16 (dense matrix 1024 x 1024)")
    print(f"  linear_cost (per frequency): {describe(t_fast)}")
    print(f"  dense numpy.linalg.svd     : {describe(t_dense)}")
    print(f"  speed ratio (medians) {ratio:.0f}x  (range {noise[0]:.0f}x .. {noise[1]:.0f}x)   "
          f"target >= 150x: {'met' if ratio >= 150 else 'MISSED'}")
    return {"big_median_s": med_big, "fast_median_s": statistics.median(t_fast),
            "dense_median_s": statistics.median(t_dense), "ratio": ratio}


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    main(parser.parse_args().repeats)
