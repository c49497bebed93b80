"""The network engine against PyTorch and against its own numpy-only FFT (issue 16).

Forward + backward (every kernel and bias gradient) of a depth-12 ReLU CNN with 16
channels and full-size filters, batch 64, on 2D 32 x 32 images and on 1D signals of
length 16, in float64 and float32.  Contenders, run in turn within every repetition:

* ``engine``: the engine with its FFT backend rule (:func:`cbntheory.fourier.fft_backend`);
* ``numpy-FFT engine``: the same engine with every transform forced onto numpy.fft (the
  engine before issue 16), the same-run baseline of "not slower than today";
* ``torch``: the same network in PyTorch (torch.fft, autograd), at the same thread count
  (``torch.set_num_threads(os.cpu_count())``), when torch is installed (optional: it is
  not a dependency of the package).

Goals (issue 16): 2D float32 at least as fast as PyTorch float32; float32 >= 1.5x faster
than float64 in 2D; float64 and 1D not slower than the numpy-FFT engine.

Run: ``python benchmarks/bench_engine_peers.py [repeats]``.
"""
from __future__ import annotations

import os
import sys

import numpy as np

import cbntheory as cbn
from cbntheory import settings

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved, load, ratio, spread  # noqa: E402

CHANNELS, DEPTH, BATCH = 16, 12, 64
CASES = {"2D 32x32": (32, 32), "1D d=16": (16,)}

try:  # optional peer
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


def numpy_only(fn):
    """``fn`` with the FFT backend rule disabled: every transform on numpy.fft."""
    def run():
        saved = settings.FFT_SCIPY_MIN_SIZE, settings.FFT_SCIPY_MIN_SIZE_DOUBLE
        settings.FFT_SCIPY_MIN_SIZE = settings.FFT_SCIPY_MIN_SIZE_DOUBLE = sys.maxsize
        try:
            return fn()
        finally:
            settings.FFT_SCIPY_MIN_SIZE, settings.FFT_SCIPY_MIN_SIZE_DOUBLE = saved
    return run


def torch_network(net, shape, dtype):
    """A closure running forward + backward of ``net`` in PyTorch, and its outputs."""
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    dims = tuple(range(2, 2 + len(shape)))
    consts = net.architecture.constants
    params = []
    for l, (W, b) in enumerate(zip(net.kernels, net.biases)):
        params.append((torch.tensor(W, dtype=tdt, requires_grad=True),
                       torch.tensor(b, dtype=tdt, requires_grad=True), consts[l]))

    def forward(x):
        z = x
        for l, (W, b, c) in enumerate(params):
            what = torch.fft.rfftn(W, dim=dims) * c
            zh = torch.fft.rfftn(z, dim=dims)
            u = torch.fft.irfftn(torch.einsum("oi...,ni...->no...", what, zh), s=shape, dim=dims)
            u = u + b.reshape((1, -1) + (1,) * len(shape))
            z = torch.relu(u) if l < len(params) - 1 else u
        return z

    def run(x, cot):
        for W, b, _ in params:
            W.grad = b.grad = None
        out = forward(x)
        out.backward(cot)
        return out, params
    return run


def one_case(label, shape, repeats):
    arch = cbn.Architecture(shape, (CHANNELS,) * (DEPTH + 1))
    net = arch.init(rng=0)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((BATCH,) + arch.input_shape)
    cot = rng.standard_normal((BATCH,) + arch.output_shape)
    contenders = {}
    for dt in (np.float64, np.float32):
        name = np.dtype(dt).name
        contenders[f"engine {name}"] = lambda dt=dt: net.vjp(X, cot, dtype=dt)
        contenders[f"numpy-FFT engine {name}"] = numpy_only(lambda dt=dt: net.vjp(X, cot, dtype=dt))
        if torch is not None:
            run = torch_network(net, shape, dt)
            tdt = torch.float64 if dt == np.float64 else torch.float32
            tx, tc = torch.tensor(X, dtype=tdt), torch.tensor(cot, dtype=tdt)
            out, _ = run(tx, tc)  # same network: outputs agree
            gap = float(np.abs(out.detach().numpy() - net(X, dtype=dt)).max())
            print(f"  {label} {name}: max |torch - engine| output difference {gap:.1e}")
            contenders[f"torch {name}"] = lambda run=run, tx=tx, tc=tc: run(tx, tc)
    times = interleaved(contenders, repeats)
    print(f"{label}, {CHANNELS} channels, depth {DEPTH}, batch {BATCH}, forward + backward:")
    for name, t in times.items():
        print(f"  {name:26s} {spread(t)}")
    for name in ("float64", "float32"):
        e = times[f"engine {name}"]
        base = times[f"numpy-FFT engine {name}"]
        print(f"  engine / numpy-FFT engine ({name}): {ratio(e, base)}")
        if torch is not None:
            print(f"  engine / torch ({name}):            {ratio(e, times[f'torch {name}'])}")
    print(f"  float64 / float32 (engine):          "
          f"{ratio(times['engine float64'], times['engine float32'])}")
    return times


def main(repeats: int = 7) -> dict:
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        print("torch is not installed: the PyTorch comparison is skipped")
    print(f"before: {load()}")
    out = {label: one_case(label, shape, repeats) for label, shape in CASES.items()}
    print(f"after:  {load()}")
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
