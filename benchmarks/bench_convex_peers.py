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

``--largest``: whether the largest n certified within 60 s at least doubled, for weight
dimensions 3-5.  Every solve runs in its own process (``--one n din``) and is measured by
its CPU time as well as its wall time: on a shared machine the wall time measures the
other jobs (at load 9 on 2 cores a 20 s solve took 75 s), the CPU time the solve.  Per
dimension, the code before issue 16 (``--before DIR``, a checkout such as
``git worktree add /tmp/before e2f256d``) solves n0, the largest n within 60 s it
reached (80, 30, 20), and today's code solves 2 n0, in the same run; today's code at
2 n0 in at most the CPU time of the old code at n0 means the largest n at least doubled.
A solve stops at 3 x 60 CPU seconds (safety net).  Printed per solve: n, patterns, wall
and CPU seconds, status, certified relative gap, working-set rounds.

Run: ``python benchmarks/bench_convex_peers.py [repeats] [--largest [--before DIR]]``.
"""
from __future__ import annotations

import json
import os
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


def run_child(n: int, din: int, code: str, cpu_cap: float) -> dict:
    """``one(n, din)`` in a fresh process importing the package from ``code``."""
    import psutil  # benchmark-only dependency (the child's CPU time while it runs)

    env = dict(os.environ, PYTHONPATH=code)
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--one", str(n),
                              str(din)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    proc, cpu, stopped = psutil.Process(child.pid), 0.0, False
    while child.poll() is None:
        try:
            t = proc.cpu_times()
            cpu = t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            break
        if cpu > cpu_cap:
            child.kill()
            stopped = True
            break
        time.sleep(0.5)
    out, err = child.communicate()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if stopped:
        rec = {"status": f"stopped at {cpu_cap:.0f} CPU s"}
    else:
        rec = json.loads(lines[-1]) if lines else {"status": "crashed", "message": err[-200:]}
    rec["process_wall"] = time.perf_counter() - t0
    rec["cpu"] = cpu
    return rec


def show(label: str, n: int, din: int, rec: dict) -> None:
    """One solve's line."""
    gap = rec.get("gap")
    print(f"  {label:7s} weight dim {din + 1}, n = {n:4d}: "
          f"{rec.get('wall', float('nan')):6.1f} s solve (process {rec['process_wall']:6.1f} s "
          f"wall, {rec['cpu']:6.1f} s CPU), {rec['status']}, gap "
          f"{'-' if gap is None else f'{gap:.1e}'}, {rec.get('patterns', '-')} patterns, "
          f"{rec.get('rounds', '-')} rounds {rec.get('solvers', '')}", flush=True)


def doubled(din: int, before: str | None) -> None:
    """Today's code at 2 n0 against the old code at n0 (its 60 s limit), in CPU seconds."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    n0 = BEFORE[din]
    old = None
    if before is not None:
        old = run_child(n0, din, before, cpu_cap=3 * BUDGET)
        show("before", n0, din, old)
    now = run_child(2 * n0, din, here, cpu_cap=3 * BUDGET)
    show("now", 2 * n0, din, now)
    verdict = "certified" if now["status"] == "optimal" else "NOT certified"
    print(f"  weight dimension {din + 1}: now at n = {2 * n0} {verdict} in {now['cpu']:.1f} CPU s"
          + ("" if old is None else f"; before at n = {n0}: {old['cpu']:.1f} CPU s "
             f"({old['status']}); ratio {now['cpu'] / max(old['cpu'], 1e-9):.2f}")
          + f"; {load()}", flush=True)


def main(repeats: int = 3, largest: bool = False, before: str | None = None) -> None:
    import cvxpy  # noqa: F401  (import cost outside the clock)
    print(f"pyscnn {'present' if ConvexReLU is not None else 'absent: comparison skipped'}")
    print(f"before: {load()}")
    if largest:
        for din in (4, 3, 2):
            doubled(din, before)
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
