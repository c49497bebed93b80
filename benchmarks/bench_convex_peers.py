"""The exact two-layer convex program against pyscnn and against today's full program (issue 16).

Instance (the pyscnn comparison of issue 16): a fully connected ReLU network on
``[x, 1]`` (``x`` standard Gaussian in ``R^din``, the bias a penalised extra input) as a
one-pixel CNN, Gaussian labels.  Contenders, in turn within every repetition:

* ``working set``: ``two_layer_min_norm`` (exact, certified: all patterns enumerated,
  a working set from sampled gates, the dual certificate checked over every pattern);
* ``full program``: the same with ``working_set=False`` (every pattern in one program,
  the route before issue 16's working set), as the same-run baseline (small n only);
* ``pyscnn``: ``scnn.models.ConvexReLU`` over sampled gates, ``CVXPYSolver("scs")``, a
  group-lasso *penalised* fit with small ``lambda`` (it does not interpolate exactly, and
  its sampled gates may miss the optimum): optional, skipped when pyscnn is absent.

Also prints the largest n (doubling then bisecting over a short list) whose exact
certified value takes at most 60 s for weight dimensions 3-5 (``--largest``).

Goals (issue 16): at n = 20, weight dimension 4 (input dimension 3 plus the bias input),
the exact certified value in at most 1.0x pyscnn's SCS time; the largest n within 60 s
at least doubled (today: 80, 30, 20 for weight dimensions 3, 4, 5).

Run: ``python benchmarks/bench_convex_peers.py [repeats] [--largest]``.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import cbntheory as cbn
from cbntheory.convex import two_layer_min_norm

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved, load, ratio, spread  # noqa: E402

try:  # optional peer
    from scnn.activations import sample_gate_vectors
    from scnn.metrics import Metrics
    from scnn.models import ConvexReLU
    from scnn.optimize import optimize_model
    from scnn.regularizers import NeuronGL1
    from scnn.solvers import CVXPYSolver
except ImportError:  # pragma: no cover - depends on the machine
    ConvexReLU = None

PYSCNN_GATES = 5000
PYSCNN_LAMBDA = 1e-6


def instance(n: int, din: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, din))
    X = np.concatenate([x, np.ones((n, 1))], axis=1)
    y = rng.standard_normal((n, 1))
    arch = cbn.Architecture((1,), (din + 1, 8, 1), head="avgpool", bias=False)
    return arch, X, y


def pyscnn_fit(X, y):
    G = sample_gate_vectors(123, X.shape[1], PYSCNN_GATES)
    model = ConvexReLU(G)
    model, _ = optimize_model(model, CVXPYSolver(model, "scs"), Metrics(), X, y,
                              regularizer=NeuronGL1(PYSCNN_LAMBDA), unitize_data=False,
                              dtype="float64")
    return model


def compare(n: int, din: int, repeats: int, baseline: bool) -> None:
    arch, X, y = instance(n, din)
    X3 = X[:, :, None]
    contenders = {"working set": lambda: two_layer_min_norm(arch, X3, y)}
    if baseline:
        contenders["full program"] = lambda: two_layer_min_norm(arch, X3, y, working_set=False)
    if ConvexReLU is not None:
        contenders["pyscnn (SCS)"] = lambda: pyscnn_fit(X, y)
    res = two_layer_min_norm(arch, X3, y)
    print(f"n = {n}, weight dimension {din + 1}: value {res.value:.9g}, lower {res.lower:.9g}, "
          f"status {res.status}, {res.info['patterns']['count']} patterns, working set "
          f"{res.info['working_set']}")
    if baseline:
        full = two_layer_min_norm(arch, X3, y, working_set=False)
        print(f"  full program value {full.value:.9g} (relative difference "
              f"{abs(full.value - res.value) / full.value:.1e})")
    if ConvexReLU is not None:
        model = pyscnn_fit(X, y)
        W1, w2 = model.parameters[0], model.parameters[1]
        print(f"  pyscnn: training residual {np.linalg.norm(model(X) - y) / np.linalg.norm(y):.1e}"
              f" ({PYSCNN_GATES} gates, lambda {PYSCNN_LAMBDA:g}, a penalised fit; "
              f"parameter shapes {np.shape(W1)}, {np.shape(w2)})")
    times = interleaved(contenders, repeats)
    for name, t in times.items():
        print(f"  {name:14s} {spread(t)}")
    for name in times:
        if name != "working set":
            print(f"  working set / {name}: {ratio(times['working set'], times[name])}")


def largest_n(din: int, budget: float = 60.0) -> int:
    """Largest n on the grid whose exact certified value takes at most ``budget`` seconds."""
    best, n = 0, 10
    while True:
        arch, X, y = instance(n, din)
        t0 = time.perf_counter()
        try:
            res = two_layer_min_norm(arch, X[:, :, None], y, max_patterns=10 ** 7)
            ok = res.status == "optimal"
        except cbn.errors.CBNError as exc:
            print(f"  n = {n}: {type(exc).__name__}: {str(exc)[:80]}")
            ok = False
        dt = time.perf_counter() - t0
        print(f"  weight dimension {din + 1}, n = {n}: {dt:.1f} s ({'ok' if ok else 'failed'})")
        if not ok or dt > budget:
            return best
        best, n = n, int(n * 1.5)


def main(repeats: int = 3, largest: bool = False) -> None:
    import cvxpy  # noqa: F401  (import cost outside the clock)
    print(f"pyscnn {'present' if ConvexReLU is not None else 'absent: comparison skipped'}")
    print(f"before: {load()}")
    compare(20, 3, repeats, baseline=True)
    compare(40, 2, repeats, baseline=False)
    if largest:
        for din in (2, 3, 4):
            print(f"largest n within 60 s, weight dimension {din + 1}: {largest_n(din)}")
    print(f"after:  {load()}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 3, "--largest" in sys.argv)
