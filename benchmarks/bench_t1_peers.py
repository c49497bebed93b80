"""The T1 closed form against a plain numpy route and PyTorch's batched ``svdvals`` (issue 16).

Instance: ``linear_cost`` of a random 16 -> 16 channel operator on 64 x 64 images at
depth L = 8 (2,112 complex 16 x 16 blocks on the half spectrum).  Contenders, in turn
within every repetition:

* ``linear_cost``: the package (scipy.fft by the backend rule, the SVD batch split over
  the cores, :func:`cbntheory.operators.batch_singular_values`);
* ``linear_cost, one thread``: the same with the FFT rule and the SVD threads disabled
  (the route before issue 16), as the same-run baseline;
* ``numpy rfft2 + svd``: the bare computation (``numpy.fft.rfft2`` of the kernel, one
  batched ``numpy.linalg.svd``, the weighted sum), no validation, no expansion;
* ``torch``: ``torch.fft.rfft2`` + ``torch.linalg.svdvals`` + the same sum, at the same
  thread count, when torch is installed (optional: not a dependency of the package).

Goal (issue 16): ``linear_cost`` within 1.1x of PyTorch's batched SVD route.

Run: ``python benchmarks/bench_t1_peers.py [repeats]``.
"""
from __future__ import annotations

import os
import sys

import numpy as np

import cbntheory as cbn
from cbntheory import settings

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved, load, ratio, spread  # noqa: E402

try:  # optional peer
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

C, SHAPE, DEPTH = 16, (64, 64), 8


def half_weights():
    w = np.full(SHAPE[1] // 2 + 1, 2.0)
    w[0] = w[-1] = 1.0
    return w


def numpy_route(kernel, c):
    blocks = np.moveaxis(np.fft.rfft2(kernel), (0, 1), (-2, -1)) * c
    s = np.linalg.svd(blocks, compute_uv=False)
    return DEPTH * float(np.sum(half_weights()[:, None] * s ** (2.0 / DEPTH)))


def torch_route(tkernel, c):
    blocks = torch.fft.rfft2(tkernel).permute(2, 3, 0, 1) * c
    s = torch.linalg.svdvals(blocks)
    w = torch.as_tensor(half_weights())[:, None]
    return DEPTH * float(torch.sum(w * s ** (2.0 / DEPTH)))


def one_thread(fn):
    """``fn`` with the FFT backend rule and the SVD threads disabled (before issue 16)."""
    def run():
        names = ("FFT_SCIPY_MIN_SIZE", "FFT_SCIPY_MIN_SIZE_DOUBLE", "SVD_THREADED_MIN_BATCH")
        saved = [getattr(settings, n) for n in names]
        for n in names:
            setattr(settings, n, sys.maxsize)
        try:
            return fn()
        finally:
            for n, v in zip(names, saved):
                setattr(settings, n, v)
    return run


def main(repeats: int = 9) -> dict:
    kernel = np.random.default_rng(0).standard_normal((C, C) + SHAPE)
    c = 1.0 / np.sqrt(np.prod(SHAPE))

    def fresh():  # a new operator each time: its cached spectrum must not be reused
        return cbn.linear_cost(cbn.ConvOperator.from_kernel(kernel), DEPTH).value

    contenders = {"linear_cost": fresh, "linear_cost, one thread": one_thread(fresh),
                  "numpy rfft2 + svd": lambda: numpy_route(kernel, c)}
    values = {name: fn() for name, fn in contenders.items()}
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        tk = torch.as_tensor(kernel)
        contenders["torch"] = lambda: torch_route(tk, c)
        values["torch"] = torch_route(tk, c)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        print("torch is not installed: the PyTorch comparison is skipped")
    ref = values["numpy rfft2 + svd"]
    print("values (relative difference to the numpy route): " + ", ".join(
        f"{k} {abs(v - ref) / ref:.1e}" for k, v in values.items()))
    print(f"before: {load()}")
    times = interleaved(contenders, repeats)
    print(f"after:  {load()}")
    print(f"T1: {C} -> {C} channels, {SHAPE[0]}x{SHAPE[1]}, L = {DEPTH}:")
    for name, t in times.items():
        print(f"  {name:24s} {spread(t)}")
    for name in times:
        if name != "linear_cost":
            print(f"  linear_cost / {name}: {ratio(times['linear_cost'], times[name])}")
    return times


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
