"""Run a sweep: expand, skip what the store holds, submit, commit each result as it arrives.

:func:`run_sweep` is the whole loop behind ``cbn sweep``:

1. every job of the sweep file is inserted as ``pending`` unless its key is stored;
2. jobs are *claimed* one at a time just before submission (so two sweeps on the
   same store share the work and never run a job twice), keeping
   ``executor.capacity`` jobs submitted;
3. each outcome is committed in its own transaction as soon as it arrives: a killed
   process loses only the jobs in flight, whose claims a later run takes over;
4. a heartbeat row tells other sweeps this one is alive; when only jobs held by other
   live sweeps are left, it waits for them (and takes over the claims of a sweep that
   dies), so that every sweep started on a store returns only when its jobs are finished;
5. Ctrl-C (KeyboardInterrupt) stops the workers, returns the in-flight claims to
   ``pending`` and keeps every committed row.

Examples
--------
>>> import os, tempfile
>>> from cbntheory.sweep.config import parse_config
>>> from cbntheory.sweep.executor import LocalExecutor
>>> from cbntheory.sweep.store import Store
>>> cfg = parse_config('[sweep]\\nkind = "linear_cost"\\nseeds = [0, 1]\\n'
...                    '[fixed]\\ntarget = "identity"\\n[grid]\\ndepth = [1, 2]\\n')
>>> path = os.path.join(tempfile.mkdtemp(), "s.sqlite")
>>> with Store(path) as store, LocalExecutor(workers=1) as ex:
...     first = run_sweep(cfg, store, ex, progress=False)
...     again = run_sweep(cfg, store, ex, progress=False)
...     values = sorted(round(r["value"], 9) for r in store.rows())
>>> first.ran, first.done, again.ran, again.done, values
(4, 4, 0, 4, [16.0, 16.0, 32.0, 32.0])
"""
from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any

from .. import settings
from ..output.progress import Progress
from .config import Job, SweepConfig
from .executor import Executor
from .store import BUSY, CLAIMED, DONE, FAILED, PENDING, RUNNING, Store


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    """What a call of :func:`run_sweep` did and where the sweep stands.

    Attributes
    ----------
    total : int
        Jobs of the sweep file.
    done, failed, pending, running : int
        Status of those jobs in the store when the call returned (``running``: held
        by other live sweeps).
    ran : int
        Jobs this call computed and committed (done or failed).
    skipped : int
        Jobs already finished in the store when the call started.
    lost : int
        Results this call dropped because another sweep had taken its claim over.
    released : int
        Claims returned to pending on exit (jobs in flight at Ctrl-C).
    interrupted : bool
    wall_time : float
    """

    total: int
    done: int
    failed: int
    pending: int
    running: int
    ran: int
    skipped: int
    lost: int
    released: int
    interrupted: bool
    wall_time: float

    def describe(self) -> str:
        """One line for the terminal."""
        text = (f"{self.total} jobs: {self.done} done, {self.failed} failed, {self.pending} "
                f"pending, {self.running} running elsewhere; this run committed {self.ran} "
                f"({self.skipped} were already finished) in {self.wall_time:.1f} s")
        if self.lost:
            text += f"; {self.lost} results dropped (claims taken over by another sweep)"
        if self.interrupted:
            text += f"; interrupted, {self.released} jobs in flight returned to pending"
        return text


def run_sweep(config: SweepConfig, store: Store, executor: Executor, *,
              retry_failed: bool = False, progress: Progress | bool | None = None,
              heartbeat: float | None = None) -> SweepSummary:
    """Run every job of ``config`` that ``store`` does not hold yet.

    Parameters
    ----------
    config : SweepConfig
    store : Store
    executor : Executor
        Where the jobs run (:class:`~cbntheory.sweep.executor.LocalExecutor` or
        :class:`~cbntheory.sweep.executor.DaskExecutor`); not closed here.
    retry_failed : bool
        Also run the jobs stored as failed.
    progress : Progress or bool, optional
        A progress bar; None or True draws one on stderr, False none.
    heartbeat : float, optional
        Seconds between heartbeats; default :data:`cbntheory.settings.SWEEP_HEARTBEAT`.

    Returns
    -------
    SweepSummary
        Also when interrupted by Ctrl-C (``interrupted=True``).
    """
    start = time.monotonic()
    beat_every = settings.SWEEP_HEARTBEAT if heartbeat is None else float(heartbeat)
    store.add_jobs(config.jobs, config.name, config.config_hash)
    states = store.statuses(j.key for j in config.jobs)
    wanted = (PENDING, RUNNING, FAILED) if retry_failed else (PENDING, RUNNING)
    todo: collections.deque[Job] = collections.deque(
        j for j in config.jobs if states.get(j.key) in wanted)
    done = sum(s == DONE for s in states.values())
    failed = sum(s == FAILED for s in states.values())
    skipped = done + (0 if retry_failed else failed)
    if retry_failed:
        failed = 0
    if progress is None or progress is True:
        progress = Progress(len(config.jobs))
    elif progress is False:
        progress = Progress(len(config.jobs), enabled=False)

    run_id = store.start_run(config.source, config.config_hash, executor.description)
    inflight: dict[Any, Job] = {}
    deferred: list[Job] = []
    ran = lost = released = 0
    interrupted = False
    last_beat = time.monotonic()
    try:
        progress.update(done, failed, 0)
        while True:
            capacity = executor.capacity
            while todo and len(inflight) < capacity:
                job = todo.popleft()
                state = store.claim(job.key, run_id, retry_failed=retry_failed)
                if state == CLAIMED:
                    inflight[executor.submit(job)] = job
                elif state == BUSY:
                    deferred.append(job)
            if not inflight:
                if not deferred:
                    break
                # only jobs held by other live sweeps are left: wait for them, taking
                # over the claims of any sweep that dies meanwhile
                progress.update(done, failed, len(deferred))
                time.sleep(min(settings.SWEEP_POLL, beat_every))
                if time.monotonic() - last_beat >= beat_every:
                    store.heartbeat(run_id)
                    last_beat = time.monotonic()
                todo.extend(deferred)
                deferred = []
                continue
            timeout = max(settings.SWEEP_MIN_WAIT, beat_every - (time.monotonic() - last_beat))
            for future in executor.wait(list(inflight), timeout):
                job = inflight.pop(future)
                outcome = executor.outcome(future)
                if store.record(job.key, run_id, outcome):
                    ran += 1
                    if outcome.get("ok"):
                        done += 1
                    else:
                        failed += 1
                else:
                    lost += 1
                progress.update(done, failed, len(inflight) + len(deferred))
            if time.monotonic() - last_beat >= beat_every:
                store.heartbeat(run_id)
                last_beat = time.monotonic()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if inflight:
            executor.abort()
        released = store.release(run_id)
        store.end_run(run_id)
        progress.close()
    counts = store.counts(j.key for j in config.jobs)
    return SweepSummary(
        total=len(config.jobs), done=counts[DONE], failed=counts[FAILED],
        pending=counts[PENDING], running=counts[RUNNING], ran=ran, skipped=skipped,
        lost=lost, released=released, interrupted=interrupted,
        wall_time=time.monotonic() - start)
