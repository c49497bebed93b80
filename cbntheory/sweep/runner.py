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
   ``pending`` and keeps every committed row;
6. when a worker process dies (a segfault, the OOM killer), every job the pool held
   comes back "crashed" without telling which one killed it: those jobs keep their
   claims and run again one at a time, so only a job that crashes a worker while it
   runs alone is stored as failed, and the innocent ones are computed and stored done.

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


class _Loop:
    """The claim-submit-commit loop of one :func:`run_sweep` call, in named phases."""

    def __init__(self, store: Store, executor: Executor, run_id: str, todo: collections.deque[Job],
                 *, retry_failed: bool, beat_every: float, progress: Progress, done: int,
                 failed: int) -> None:
        self.store, self.executor, self.run_id, self.todo = store, executor, run_id, todo
        self.retry_failed, self.beat_every, self.progress = retry_failed, beat_every, progress
        self.done, self.failed, self.ran, self.lost = done, failed, 0, 0
        self.inflight: dict[Any, Job] = {}
        self.deferred: list[Job] = []
        self.suspects: collections.deque[Job] = collections.deque()  # held by a crashed pool
        self.alone: Any = None  # the future of a suspect running by itself
        self.last_beat = time.monotonic()

    def run(self) -> None:
        """Until every job is finished here or elsewhere (KeyboardInterrupt propagates)."""
        self.progress.update(self.done, self.failed, 0)
        while True:
            self.submit()
            if self.inflight:
                self.collect()
            elif self.deferred:
                self.wait_for_others()
            else:
                return
            self.beat()

    def beat(self) -> None:
        """Refresh this run's heartbeat row when it is due."""
        if time.monotonic() - self.last_beat >= self.beat_every:
            self.store.heartbeat(self.run_id)
            self.last_beat = time.monotonic()

    def submit(self) -> None:
        """Claim and submit jobs up to the executor's capacity; set aside those held elsewhere."""
        if self.suspects:  # after a crash: one job at a time until every suspect has run
            if not self.inflight:
                job = self.suspects.popleft()
                self.alone = self.executor.submit(job)
                self.inflight[self.alone] = job
            return
        capacity = self.executor.capacity
        while self.todo and len(self.inflight) < capacity:
            job = self.todo.popleft()
            state = self.store.claim(job.key, self.run_id, retry_failed=self.retry_failed)
            if state == CLAIMED:
                self.inflight[self.executor.submit(job)] = job
            elif state == BUSY:
                self.deferred.append(job)

    def wait_for_others(self) -> None:
        """Only jobs held by other live sweeps are left: wait, then try to claim them again
        (which takes over the claims of a sweep that died meanwhile)."""
        self.progress.update(self.done, self.failed, len(self.deferred))
        time.sleep(min(settings.SWEEP_POLL, self.beat_every))
        self.todo.extend(self.deferred)
        self.deferred = []

    def collect(self) -> None:
        """Commit, each in its own transaction, the outcomes that arrive before the next beat."""
        wait = max(settings.SWEEP_MIN_WAIT, self.beat_every - (time.monotonic() - self.last_beat))
        for future in self.executor.wait(list(self.inflight), wait):
            job = self.inflight.pop(future)
            outcome = self.executor.outcome(future)
            if outcome.get("crashed") and future is not self.alone:
                self.suspects.append(job)  # maybe innocent: keep the claim, run it alone
                continue
            if outcome.get("crashed"):
                outcome = dict(outcome, error="the worker process died while running this job "
                               "by itself (the jobs a crashed pool held are re-run one at a "
                               "time to find the culprit); --retry-failed runs it again")
            if not self.store.record(job.key, self.run_id, outcome):
                self.lost += 1
            else:
                self.ran += 1
                if outcome.get("ok"):
                    self.done += 1
                else:
                    self.failed += 1
            self.progress.update(self.done, self.failed,
                                 len(self.inflight) + len(self.deferred) + len(self.suspects))


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
    store.add_jobs(config.jobs, config.name, config.config_hash)
    states = store.statuses(j.key for j in config.jobs)
    wanted = (PENDING, RUNNING, FAILED) if retry_failed else (PENDING, RUNNING)
    done = sum(s == DONE for s in states.values())
    failed = sum(s == FAILED for s in states.values())
    skipped = done + (0 if retry_failed else failed)
    if progress is None or progress is True:
        progress = Progress(len(config.jobs))
    elif progress is False:
        progress = Progress(len(config.jobs), enabled=False)
    run_id = store.start_run(config.source, config.config_hash, executor.description)
    loop = _Loop(store, executor, run_id,
                 collections.deque(j for j in config.jobs if states.get(j.key) in wanted),
                 retry_failed=retry_failed, progress=progress, done=done,
                 failed=0 if retry_failed else failed,
                 beat_every=settings.SWEEP_HEARTBEAT if heartbeat is None else float(heartbeat))
    interrupted = False
    try:
        loop.run()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if loop.inflight:
            executor.abort()
        released = store.release(run_id)
        store.end_run(run_id)
        progress.close()
    counts = store.counts(j.key for j in config.jobs)
    return SweepSummary(
        total=len(config.jobs), done=counts[DONE], failed=counts[FAILED],
        pending=counts[PENDING], running=counts[RUNNING], ran=loop.ran, skipped=skipped,
        lost=loop.lost, released=released, interrupted=interrupted,
        wall_time=time.monotonic() - start)
