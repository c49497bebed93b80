"""Benchmark of the exact two-layer ReLU CNN minimal norm (cbntheory.convex).

Target: 1D images with d = 16 pixels, one input channel, k = 3 taps, 40 samples, every
activation pattern enumerated, default solver: solved in <= 30 s.

Honest setting: with generic real-valued inputs the patches are 640 points of R^3 in
general position and the patterns (cells of 640 hyperplanes in R^4, biases included)
number 2 * sum_{i<4} C(639, i) ~ 8.7e7, far beyond any enumeration; this script measures
how fast the count explodes on small real-valued problems.  The target case therefore
uses *binary* inputs (pixels in {0, 1}): only 8 distinct patches, 104 patterns (the
linear threshold functions of 3 variables), whatever the number of samples.  Labels
come from a random teacher two-layer CNN (width 4, random biases), so they are
realisable (with binary data an avgpool network only sees the patch histogram).

Baseline, same problem, same run: the project's non-convex solver
``cbn.minimal_norm(method="numerical")`` (augmented Lagrangian with L-BFGS-B, 4 random
restarts, 120 s budget) at the width the convex solution uses; printed: the norm it
reaches against the convex value, and the time ratio.

Also printed: time against the number of samples and against k (binary data), and the
ternary case k = 3 (27 distinct patches, 2702 patterns).
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

import cbntheory as cbn
from cbntheory.convex import two_layer_min_norm
from cbntheory.solvers.convex.arrangements import TooManyCellsError, generic_cell_count

TARGET_SECONDS = 30.0


def binary_problem(n: int, d: int, k: int, seed: int = 0, levels: int = 2):
    """Inputs with pixels in {0, .., levels-1}, labels of a random teacher CNN."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, levels, (n, 1, d)).astype(float)
    arch = cbn.Architecture((d,), (1, 4, 1), kernel_size=k, head="avgpool")
    teacher = arch.init(rng=seed + 1)
    biases = [rng.standard_normal(4) * 0.5, rng.standard_normal(1)]
    teacher = cbn.Network(arch, teacher.kernels, biases)
    return arch, X, teacher(X)


def timed(fn, *args, **kw):
    start = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - start


def nonconvex(arch, X, Y, width: int, budget: float, seed: int = 0):
    """The project's numerical solver (cbn.minimal_norm, augmented Lagrangian + L-BFGS)."""
    wide = dataclasses.replace(arch, channels=(arch.channels[0], width, arch.channels[2]))
    res, sec = timed(cbn.minimal_norm, wide, data=(X, Y), method="numerical", restarts=4,
                     rng=seed, time_limit=budget)
    return res, sec


def real_valued_counts() -> None:
    print("\n-- generic real-valued inputs (d = 16, k = 3, biases): pattern counts --")
    print(f"{'N':>4} {'hyperplanes':>11} {'general-position bound':>23} {'enumerated':>10} "
          f"{'time [s]':>9}")
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 40):
        X = rng.standard_normal((n, 1, 16))
        arch = cbn.Architecture((16,), (1, 4, 1), kernel_size=3, head="avgpool")
        m = 16 * n
        bound = generic_cell_count(m, 4)
        try:
            res, sec = timed(two_layer_min_norm, arch, X, rng.standard_normal(n),
                             max_patterns=20000)
            count = str(res.info["patterns"]["count"])
        except TooManyCellsError:
            count, sec = "refused", float("nan")
        print(f"{n:>4} {m:>11} {bound:>23} {count:>10} {sec:>9.2f}")
    X = rng.standard_normal((40, 1, 16))
    arch = cbn.Architecture((16,), (1, 4, 1), kernel_size=3, head="avgpool")
    y = rng.standard_normal(40)
    res, sec = timed(two_layer_min_norm, arch, X, y, patterns="sample", n_patterns=500, rng=0)
    print(f"N = 40 real-valued with patterns='sample' (500 random neurons, "
          f"{res.info['patterns']['count']} distinct patterns): upper bound {res.value:.6g}, "
          f"lower bound {res.lower} (enumeration refused), {sec:.2f} s, status {res.status}")


def main() -> None:
    arch, X, Y = binary_problem(40, 16, 3)
    print("== target: d = 16, n_0 = 1, k = 3, N = 40 binary inputs, all patterns enumerated ==")
    res, sec = timed(two_layer_min_norm, arch, X, Y)
    p = res.info["patterns"]
    print(f"value {res.value:.8f}  lower {res.lower:.8f}  status {res.status}  exact {res.exact}")
    print(f"patterns {p['count']} (certified complete: {p['certificate']['complete']}), "
          f"{res.info['hyperplanes']} distinct hyperplanes, {res.info['hidden_channels']} "
          f"hidden channels, solvers {res.info['solvers_tried']}")
    print(f"convex time: {sec:.2f} s   (target <= {TARGET_SECONDS:.0f} s: "
          f"{'met' if sec <= TARGET_SECONDS else 'NOT met'})")
    width = res.info["hidden_channels"]
    nres, nsec = nonconvex(arch, X, Y, width, budget=120.0)
    reached = nres.value <= 1.01 * res.value
    print(f"non-convex baseline cbn.minimal_norm(method='numerical', width {width}, 4 restarts, "
          f"120 s budget): norm {nres.value:.8f} ({nres.status}, residual {nres.residual:.1e}) "
          f"in {nsec:.2f} s; {'reached' if reached else 'did NOT reach'} the convex value to 1 %;"
          f" relative excess {(nres.value - res.value) / res.value:.2e}; never below: "
          f"{nres.value >= res.value * (1 - 1e-6)}")
    print(f"ratio non-convex / convex time: {nsec / sec:.1f}x")

    print("\n-- time against the number of samples (binary, k = 3) --")
    print(f"{'N':>5} {'patterns':>8} {'time [s]':>9} {'value':>12}")
    for n in (10, 20, 40, 80, 160):
        a, Xn, Yn = binary_problem(n, 16, 3, seed=n)
        r, s = timed(two_layer_min_norm, a, Xn, Yn)
        print(f"{n:>5} {r.info['patterns']['count']:>8} {s:>9.2f} {r.value:>12.6f}")

    print("\n-- time against k (binary, N = 40) --")
    print(f"{'k':>3} {'hyperplanes':>11} {'patterns':>8} {'time [s]':>9} {'status':>14}")
    for k in (1, 2, 3, 4):
        a, Xk, Yk = binary_problem(40, 16, k, seed=k)
        r, s = timed(two_layer_min_norm, a, Xk, Yk)
        print(f"{k:>3} {r.info['hyperplanes']:>11} {r.info['patterns']['count']:>8} {s:>9.2f} "
              f"{r.status:>14}")

    print("\n-- ternary inputs {0,1,2}, k = 3, N = 40 --")
    a, Xt, Yt = binary_problem(40, 16, 3, seed=7, levels=3)
    r, s = timed(two_layer_min_norm, a, Xt, Yt)
    print(f"hyperplanes {r.info['hyperplanes']}, patterns {r.info['patterns']['count']}, "
          f"time {s:.2f} s, status {r.status}, relative gap {r.info['relative_gap']:.2g}")

    real_valued_counts()


if __name__ == "__main__":
    main()
