"""Throughput of ``cbn sweep``: worker scaling, store overhead, and the same through Dask.

Targets (issue 7, on the 2-core development machine):

1. a sweep of 40 short CPU-bound jobs (the test kind ``spin``: pure-Python arithmetic,
   about 0.25 s each, no BLAS threads) runs at least 1.7x faster with 2 local worker
   processes than with 1 (both measured here, interleaved, on fresh stores);
2. the store adds at most 50 ms per job: the time of one job's store transactions
   (claim + commit of its result, ``synchronous=FULL``), timed alone over many jobs;
3. the same 40-job sweep through a local Dask cluster (2 worker processes vs 1), reported.

Pool and cluster start-up are outside the clock (the workers are warmed up first): the
figures are those of a running sweep.  Run ``python benchmarks/bench_sweep.py``
(``--repeats N``, ``--jobs N``, ``--job-seconds S``, ``--no-dask``).  The job kinds
``spin`` and ``echo`` are the test suite's (``tests/_sweep_helpers.py``): this script puts
``tests/`` on the path of itself and of its workers and registers them with
``cbntheory.sweep.jobs.register`` (see docs/sweeps.md).

The speed-up needs two idle cores.  Besides the times, each line prints how many jobs
the sweep kept running at once (sum of the jobs' wall times / elapsed: what the sweep
machinery controls) and how many cores they actually got (CPU seconds / elapsed).  On a
machine busy with other work the second figure stays below the worker count — with
Linux's autogroup scheduling, all processes of one terminal session share one session's
CPU share, so two workers may get no more CPU than one — and the speed-up cannot show;
the load average is printed too.  Rerun on an idle machine before quoting the ratio.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

from cbntheory.sweep.config import parse_config
from cbntheory.sweep.executor import DaskExecutor, Executor, LocalExecutor
from cbntheory.sweep.jobs import normalize_params, run_job
from cbntheory.sweep.runner import run_sweep
from cbntheory.sweep.store import Store

TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")
sys.path.insert(0, TESTS)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [TESTS, os.environ.get("PYTHONPATH")]))
import _sweep_helpers  # noqa: E402  (the test kinds echo and spin)

_sweep_helpers.use_test_kinds()
spin_job = _sweep_helpers.spin_job


def calibrate(seconds: float) -> int:
    """Iterations of the ``spin`` job that take about ``seconds`` here (median of 3)."""
    probe = 200_000
    times = []
    for _ in range(3):
        start = time.perf_counter()
        spin_job({"iterations": probe}, 0)
        times.append(time.perf_counter() - start)
    return max(1, int(probe * seconds / statistics.median(times)))


def spin_sweep(iterations: int, jobs: int):
    seeds = ", ".join(str(s) for s in range(jobs))
    return parse_config(f'[sweep]\nkind = "spin"\nseeds = [{seeds}]\n'
                        f'[fixed]\niterations = {iterations}\n', source="bench")


def warm_up(executor: Executor, n: int) -> None:
    """Start every worker (jobs that overlap in time) before the clock starts."""
    xs = ", ".join(str(float(i)) for i in range(n))
    cfg = parse_config(f'[sweep]\nkind = "echo"\n[grid]\nsleep = [0.3]\nx = [{xs}]\n')
    futures = [executor.submit(job) for job in cfg.jobs]
    pending = list(futures)
    while pending:
        for f in executor.wait(pending, 60):
            pending.remove(f)
            assert executor.outcome(f)["ok"]


def timed_sweep(cfg, executor: Executor, directory: str,
                tag: str) -> tuple[float, float, float]:
    """Seconds of one sweep into a fresh store, the CPU seconds its jobs received and the
    sum of the jobs' own wall times.

    Checks the stored answers against the job computed here.
    """
    path = os.path.join(directory, f"{tag}-{time.monotonic_ns()}.sqlite")
    with Store(path) as store:
        start = time.perf_counter()
        summary = run_sweep(cfg, store, executor, progress=False)
        elapsed = time.perf_counter() - start
        rows = store.rows()
    assert summary.done == len(cfg.jobs) == len(rows), summary
    check = {r["seed"]: r["value"] for r in rows}
    for seed in (0, len(cfg.jobs) - 1):   # the stored answer is the job's answer
        assert check[seed] == spin_job(cfg.jobs[0].params, seed)["value"]
    return (elapsed, sum(r["result"]["cpu_time"] for r in rows),
            sum(r["wall_time"] for r in rows))


def compare(label: str, make, cfg, repeats: int, directory: str) -> dict[str, float]:
    """Interleaved sweeps with 1 and 2 workers; prints medians, spread and the ratio."""
    times: dict[int, list[float]] = {1: [], 2: []}
    cores: dict[int, list[float]] = {1: [], 2: []}
    overlap: dict[int, list[float]] = {1: [], 2: []}
    executors = {n: make(n) for n in (1, 2)}
    try:
        for ex in executors.values():
            warm_up(ex, 4)
        for _ in range(repeats):
            for n in (1, 2):
                elapsed, cpu, busy = timed_sweep(cfg, executors[n], directory, f"{label}{n}")
                times[n].append(elapsed)
                cores[n].append(cpu / elapsed)
                overlap[n].append(busy / elapsed)
    finally:
        for ex in executors.values():
            ex.close()
    med = {n: statistics.median(t) for n, t in times.items()}
    ratios = [a / b for a, b in zip(times[1], times[2])]
    print(f"{label}: {len(cfg.jobs)} jobs")
    for n in (1, 2):
        print(f"  {n} worker(s): median {med[n]:6.2f} s  (min {min(times[n]):.2f}, "
              f"max {max(times[n]):.2f}, n = {repeats})  {len(cfg.jobs) / med[n]:5.2f} jobs/s"
              f"  jobs running at once {statistics.median(overlap[n]):.2f}"
              f"  cores they got {statistics.median(cores[n]):.2f}")
    ratio = med[1] / med[2]
    print(f"  speed-up 2 vs 1: {ratio:.2f}x  (per pair {min(ratios):.2f} .. {max(ratios):.2f})"
          f"  target >= 1.7x: {'met' if ratio >= 1.7 else 'MISSED'}")
    print("  (jobs running at once = sum of job wall times / elapsed: how busy the sweep kept "
          "its workers;\n   cores they got = CPU seconds the jobs received / elapsed: below "
          "the worker count when other processes share the cores)")
    return {"one": med[1], "two": med[2], "ratio": ratio,
            "cores_one": statistics.median(cores[1]), "cores_two": statistics.median(cores[2])}


def store_overhead(directory: str, n: int = 300) -> dict[str, float]:
    """Per-job time of the store's transactions alone: claim + commit of a result."""
    xs = ", ".join(str(float(i)) for i in range(n))
    cfg = parse_config(f'[sweep]\nkind = "echo"\n[grid]\nx = [{xs}]\n')
    outcome = run_job("echo", normalize_params("echo", {"x": 1.0}), 0)
    per_job = []
    with Store(os.path.join(directory, "overhead.sqlite")) as store:
        start = time.perf_counter()
        store.add_jobs(cfg.jobs, cfg.name, cfg.config_hash)
        add = (time.perf_counter() - start) / n
        run = store.start_run("bench")
        for job in cfg.jobs:
            start = time.perf_counter()
            assert store.claim(job.key, run) == "claimed"
            assert store.record(job.key, run, outcome)
            per_job.append(time.perf_counter() - start)
    ms = sorted(1e3 * t for t in per_job)
    med, p95 = statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]
    print(f"store overhead per job (claim + commit, synchronous=FULL, {n} jobs): median "
          f"{med:.2f} ms, 95th percentile {p95:.2f} ms, max {ms[-1]:.2f} ms; plus "
          f"{1e3 * add:.3f} ms to register it")
    print(f"  target <= 50 ms: {'met' if med + 1e3 * add <= 50 else 'MISSED'}")
    return {"median_ms": med, "p95_ms": p95, "add_ms": 1e3 * add}


def dask_maker(directory: str):
    import distributed

    clusters = []

    def make(n: int) -> Executor:
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", local_directory=directory,
            silence_logs=logging.ERROR)
        clusters.append(cluster)
        ex = DaskExecutor(cluster.scheduler_address)
        close = ex.close

        def close_all() -> None:
            close()
            for name in list(logging.root.manager.loggerDict):  # quiet shutdown chatter
                if name.startswith("distributed"):
                    logging.getLogger(name).setLevel(logging.CRITICAL)
            cluster.close()
        ex.close = close_all  # type: ignore[method-assign]
        return ex
    return make


def main(repeats: int = 3, jobs: int = 40, job_seconds: float = 0.25,
         dask: bool = True) -> dict[str, dict[str, float]]:
    """Run every measurement, print the figures, return them."""
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    iterations = calibrate(job_seconds)
    cfg = spin_sweep(iterations, jobs)
    print(f"spin job: {iterations} iterations, about {job_seconds} s each")
    out = {}
    with tempfile.TemporaryDirectory() as directory:
        out["store"] = store_overhead(directory)
        out["local"] = compare("local process pool", LocalExecutor, cfg, repeats, directory)
        if dask:
            out["dask"] = compare("dask LocalCluster", dask_maker(directory), cfg, repeats,
                                  directory)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--job-seconds", type=float, default=0.25)
    parser.add_argument("--no-dask", action="store_true")
    a = parser.parse_args()
    main(a.repeats, a.jobs, a.job_seconds, not a.no_dask)
