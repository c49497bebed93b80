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

``--largest``: the largest n whose exact certified value takes at most 60 s, for weight
dimensions 3-5.  Every solve runs in its own process (``--one n din``), so that its wall
and CPU time, peak memory and a safety timeout are its own; n grows from the figure
before issue 16 by factors 1.25 until the 60 s budget is exceeded.  Printed per solve:
n, patterns, wall and CPU seconds, status, certified relative gap, working-set rounds.
With ``--before DIR`` (a checkout of the code before issue 16, e.g.
``git worktree add /tmp/before e2f256d``), that code solves the doubled n of each
dimension in the same run (timeout 120 s), as the same-run baseline.

Goals (issue 16): at n = 20, weight dimension 4 (input dimension 3 plus the bias input),
the exact certified value in at most 1.0x pyscnn's SCS time; the largest n within 60 s
at least doubled (today: 80, 30, 20 for weight dimensions 3, 4, 5).

Run: ``python benchmarks/bench_convex_peers.py [repeats] [--largest [--before DIR]]``.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
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


#: Largest n within 60 s before issue 16, per input dimension (weight dimension - 1).
BEFORE = {2: 80, 3: 30, 4: 20}
BUDGET = 60.0


def one(n: int, din: int) -> dict:
    """Solve one instance in this process; the record printed by ``--one``."""
    arch, X, y = instance(n, din)
    t0 = time.perf_counter()
    try:
        res = two_layer_min_norm(arch, X[:, :, None], y, max_patterns=10 ** 7)
    except cbn.errors.CBNError as exc:
        return {"status": type(exc).__name__, "message": str(exc)[:120],
                "wall": time.perf_counter() - t0}
    gap = (None if res.lower is None or res.value is None
           else (res.value - res.lower) / max(1.0, abs(res.value)))
    return {"status": res.status, "value": res.value, "gap": gap,
            "wall": time.perf_counter() - t0,
            "patterns": res.info["patterns"]["count"],
            "rounds": res.info.get("working_set", {}).get("rounds"),
            "solvers": res.info.get("solvers_tried", [])[-1:]}


def run_child(n: int, din: int, code: str, timeout: float) -> dict:
    """``one(n, din)`` in a fresh process importing the package from ``code``."""
    env = dict(os.environ, PYTHONPATH=code)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", str(n),
                              str(din)], env=env, capture_output=True, text=True,
                             timeout=timeout, check=False)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        rec = json.loads(lines[-1]) if lines else {"status": "crashed",
                                                   "message": out.stderr[-200:]}
    except subprocess.TimeoutExpired:
        rec = {"status": f"timeout after {timeout:.0f} s"}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec["process_wall"] = time.perf_counter() - t0
    rec["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return rec


def show(label: str, n: int, din: int, rec: dict) -> None:
    gap = rec.get("gap")
    print(f"  {label:7s} weight dim {din + 1}, n = {n:4d}: "
          f"{rec.get('wall', float('nan')):6.1f} s solve (process {rec['process_wall']:6.1f} s "
          f"wall, {rec['cpu']:6.1f} s CPU), {rec['status']}, gap "
          f"{'-' if gap is None else f'{gap:.1e}'}, {rec.get('patterns', '-')} patterns, "
          f"{rec.get('rounds', '-')} rounds {rec.get('solvers', '')}", flush=True)


def largest_n(din: int, before: str | None) -> int:
    """Largest n (grown by 1.25x from the figure before issue 16) certified within BUDGET s."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    best, n = 0, BEFORE[din]
    if before is not None:
        show("before", 2 * n, din, run_child(2 * n, din, before, timeout=2 * BUDGET))
    while True:
        rec = run_child(n, din, here, timeout=3 * BUDGET)
        show("now", n, din, rec)
        if rec["status"] != "optimal" or rec.get("wall", np.inf) > BUDGET:
            return best
        best, n = n, int(round(n * 1.25))


def main(repeats: int = 3, largest: bool = False, before: str | None = None) -> None:
    import cvxpy  # noqa: F401  (import cost outside the clock)
    print(f"pyscnn {'present' if ConvexReLU is not None else 'absent: comparison skipped'}")
    print(f"before: {load()}")
    if largest:
        for din in (2, 3, 4):
            found = largest_n(din, before)
            print(f"largest n within {BUDGET:.0f} s, weight dimension {din + 1}: {found} "
                  f"(before issue 16: {BEFORE[din]}); {load()}", flush=True)
    else:
        compare(20, 3, repeats, baseline=True)
        compare(40, 2, repeats, baseline=False)
    print(f"after:  {load()}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(one(int(sys.argv[2]), int(sys.argv[3]))))
        sys.exit(0)
    where = sys.argv.index("--before") + 1 if "--before" in sys.argv else None
    old = sys.argv[where] if where is not None else None
    args = [a for i, a in enumerate(sys.argv[1:], 1) if not a.startswith("--") and i != where]
    main(int(args[0]) if args else 3, "--largest" in sys.argv, old)
