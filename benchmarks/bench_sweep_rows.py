"""Throughput of ``bound_row`` sweeps (real ReLU table rows) with 1 and 2 local workers,
and the store's time per such job (claim + commit of the result and its network).

The jobs: ``shift_autoencoder_1d`` with ``quick = true`` (the quick budget
``QUICK_MAX_ITER``) at depths 2..5, ``--seeds`` seeds each: the rows of ``cbn table
shift_autoencoder_1d --quick`` that need the numerical solver.  Both worker counts run
the same jobs into fresh stores, alternately, after the pool is warmed up (start-up off
the clock).  Each line prints jobs per second, how many jobs the sweep kept running at
once (sum of the jobs' wall times / elapsed) and the load average: the 2-worker figure
shows a speed-up only when two cores are idle (see ``bench_sweep.py`` for why).

Run ``python benchmarks/bench_sweep_rows.py [--seeds N] [--repeats N]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from cbntheory.sweep.config import parse_config
from cbntheory.sweep.executor import LocalExecutor
from cbntheory.sweep.jobs import normalize_params, run_job
from cbntheory.sweep.runner import run_sweep
from cbntheory.sweep.store import Store

TARGET = "shift_autoencoder_1d"
DEPTHS = (2, 3, 4, 5)


def rows_sweep(seeds: int):
    listed = ", ".join(str(s) for s in range(seeds))
    return parse_config(f'[sweep]\nkind = "bound_row"\nseeds = [{listed}]\n[fixed]\n'
                        f'target = "{TARGET}"\nquick = true\n[grid]\n'
                        f'depth = {list(DEPTHS)}\n', source="bench-rows")


def timed(cfg, executor, directory: str, tag: str) -> tuple[float, float]:
    """Seconds of one sweep into a fresh store, and the sum of the jobs' wall times."""
    path = os.path.join(directory, f"{tag}-{time.monotonic_ns()}.sqlite")
    with Store(path) as store:
        start = time.perf_counter()
        summary = run_sweep(cfg, store, executor, progress=False)
        elapsed = time.perf_counter() - start
        rows = store.rows()
    assert summary.done == len(cfg.jobs) == len(rows), summary
    return elapsed, sum(r["wall_time"] for r in rows)


def throughput(cfg, repeats: int, directory: str) -> dict[int, float]:
    executors = {n: LocalExecutor(n) for n in (1, 2)}
    times: dict[int, list[float]] = {1: [], 2: []}
    busy: dict[int, list[float]] = {1: [], 2: []}
    try:
        warm = rows_sweep(1)
        for n, ex in executors.items():   # start and warm every worker (imports, caches)
            timed(warm, ex, directory, f"warm{n}")
        for _ in range(repeats):
            for n, ex in executors.items():
                elapsed, wall = timed(cfg, ex, directory, f"w{n}")
                times[n].append(elapsed)
                busy[n].append(wall / elapsed)
    finally:
        for ex in executors.values():
            ex.close()
    med = {n: statistics.median(t) for n, t in times.items()}
    for n in (1, 2):
        print(f"  {n} worker(s): median {med[n]:6.2f} s for {len(cfg.jobs)} jobs = "
              f"{len(cfg.jobs) / med[n]:.3f} jobs/s (min {min(times[n]):.2f}, max "
              f"{max(times[n]):.2f}, n = {repeats}); jobs running at once "
              f"{statistics.median(busy[n]):.2f}")
    print(f"  ratio 2 vs 1 workers: {med[1] / med[2]:.2f}x  (load average now "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    return {n: len(cfg.jobs) / med[n] for n in (1, 2)}


def store_overhead(directory: str, n: int = 200) -> float:
    """Median ms of claim + commit of a stored bound_row result with its network file."""
    params = normalize_params("bound_row", {"target": TARGET, "depth": 2, "quick": True})
    outcome = run_job("bound_row", params, 0)
    assert outcome["ok"] and outcome["artifacts"], outcome.get("error")
    size = sum(len(b) for b in outcome["artifacts"].values())
    cfg = parse_config(f'[sweep]\nkind = "bound_row"\nseeds = {list(range(n))}\n[fixed]\n'
                       f'target = "{TARGET}"\ndepth = 2\nquick = true\n')
    per_job = []
    with Store(os.path.join(directory, "overhead.sqlite")) as store:
        store.add_jobs(cfg.jobs, cfg.name, cfg.config_hash)
        run = store.start_run("bench")
        for job in cfg.jobs:
            start = time.perf_counter()
            assert store.claim(job.key, run) == "claimed"
            assert store.record(job.key, run, outcome)
            per_job.append(1e3 * (time.perf_counter() - start))
    med = statistics.median(per_job)
    print(f"store per bound_row job (claim + commit of result and a {size}-byte network, "
          f"synchronous=FULL, {n} jobs): median {med:.2f} ms, max {max(per_job):.2f} ms")
    return med


def main(seeds: int = 2, repeats: int = 1) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    cfg = rows_sweep(seeds)
    with tempfile.TemporaryDirectory() as directory:
        store_overhead(directory)
        print(f"bound_row sweep: {TARGET} --quick, depths {DEPTHS}, {seeds} seed(s)")
        throughput(cfg, repeats, directory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    a = parser.parse_args()
    main(a.seeds, a.repeats)
