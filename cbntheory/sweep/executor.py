"""Where sweep jobs run: one :class:`Executor` interface, a local process pool and a Dask client.

The runner only calls :meth:`Executor.submit`, :meth:`Executor.wait`,
:meth:`Executor.outcome`, :meth:`Executor.abort` and :meth:`Executor.close`, so the
same code path drives both:

:class:`LocalExecutor`
    :class:`concurrent.futures.ProcessPoolExecutor` with ``workers`` processes
    (``forkserver`` start method where available: workers are forked from a clean
    server that has imported cbntheory once, never from a process with threads).
    Workers ignore SIGINT; Ctrl-C is handled by the parent, which terminates them.  A
    worker whose sweep process was killed (SIGKILL) exits on its own within
    :data:`~cbntheory.settings.SWEEP_ORPHAN_POLL` seconds.
:class:`DaskExecutor`
    A :class:`distributed.Client` connected to a running scheduler; jobs are
    ``client.submit(run_job, ...)`` and their results come back through the client.
    Dask is imported only here, only when this class is used.

Each job runs :func:`cbntheory.sweep.jobs.run_job`, which turns a job's exception into
data; :meth:`Executor.outcome` does the same for infrastructure failures (a worker
process that died, a Dask ``KilledWorker``), so the runner never sees an exception
from a job.
"""
from __future__ import annotations

import abc
import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time
import uuid
from typing import Any

from .. import _validate as V
from .. import settings
from ..errors import SchedulerError
from .jobs import get_kind, run_job
from .store import pid_alive


def failure(message: str, *, crashed: bool = False) -> dict[str, Any]:
    """An outcome for a job that did not run to completion for reasons outside the job.

    ``crashed``: the worker process died while the job was in the pool, so the job may
    be innocent (the runner re-runs such jobs one at a time before blaming one).
    """
    return {"ok": False, "error": message, "traceback": "", "wall_time": None,
            "provenance": {}, "crashed": crashed}


class Executor(abc.ABC):
    """Runs jobs somewhere and hands back their outcomes (see the module docstring)."""

    #: Short description stored with each run (``"local: 2 workers"``, ``"dask: tcp://..."``).
    description: str = ""

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """How many jobs the runner should keep submitted at once."""

    @abc.abstractmethod
    def submit(self, job: Any) -> Any:
        """Start ``job`` (key, kind, params, seed); returns a future."""

    @abc.abstractmethod
    def wait(self, futures: list[Any], timeout: float) -> set[Any]:
        """Block until at least one of ``futures`` is done or ``timeout`` passes; the done ones."""

    @abc.abstractmethod
    def outcome(self, future: Any) -> dict[str, Any]:
        """The :func:`~cbntheory.sweep.jobs.run_job` dict of a done future (never raises)."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Drop every job now (Ctrl-C): cancel queued ones, stop running ones."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the workers or the connection."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------- local processes
def _start_time(pid: int) -> str | None:
    """Start time of process ``pid`` (clock ticks since boot, from /proc); None if unknown.

    With the pid it identifies a process even after the pid is reused.
    """
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if fields[0] != "Z" else "zombie"


def _owner_alive(pid: int, started: str | None) -> bool:
    """Whether the sweep process ``pid`` that started at ``started`` still runs."""
    if started is None:  # no /proc: only whether the pid exists
        return pid_alive(pid)
    return _start_time(pid) == started


def _watch_owner(pid: int, started: str | None) -> None:
    while _owner_alive(pid, started):
        time.sleep(settings.SWEEP_ORPHAN_POLL)
    os._exit(1)  # the sweep process is gone (SIGKILL): nobody will read this worker's result


def _init_worker(owner: int, started: str | None) -> None:
    """Pool worker set-up: Ctrl-C is the parent's business, and exit when the parent dies.

    A worker's parent is the fork server, not the sweep process, so the worker watches
    the sweep process itself (pid and start time, polled every
    :data:`cbntheory.settings.SWEEP_ORPHAN_POLL` seconds from a daemon thread).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_owner, args=(owner, started), daemon=True,
                     name="cbn-sweep-owner-watch").start()


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["cbntheory.sweep.jobs"])
        return ctx
    return multiprocessing.get_context("spawn")


class LocalExecutor(Executor):
    """A pool of ``workers`` local processes (default: the number of cores).

    Examples
    --------
    >>> from cbntheory.sweep.config import parse_config
    >>> cfg = parse_config('[sweep]\\nkind = "linear_cost"\\n[fixed]\\ntarget = "identity"\\n')
    >>> with LocalExecutor(workers=1) as ex:
    ...     fut = ex.submit(cfg.jobs[0])
    ...     _ = ex.wait([fut], timeout=60)
    ...     out = ex.outcome(fut)
    >>> out["ok"], round(out["result"]["value"], 9), out["provenance"]["pid"] != os.getpid()
    (True, 32.0, True)
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = V.positive_int("workers", workers) if workers is not None \
            else (os.cpu_count() or 1)
        self.description = f"local: {self.workers} worker process(es)"
        self._pool: cf.ProcessPoolExecutor | None = None
        self._broken = False

    @property
    def capacity(self) -> int:
        return 2 * self.workers

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None or self._broken:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            owner = os.getpid()
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=_context(),
                                                initializer=_init_worker,
                                                initargs=(owner, _start_time(owner)))
            self._broken = False
        return self._pool

    def submit(self, job: Any) -> cf.Future:
        return self._get_pool().submit(run_job, get_kind(job.kind).fn, job.params, job.seed)

    def wait(self, futures: list[Any], timeout: float) -> set[Any]:
        done, _ = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return set(done)

    def outcome(self, future: Any) -> dict[str, Any]:
        try:
            return future.result()
        except cf.process.BrokenProcessPool as exc:
            self._broken = True
            return failure(f"worker process died while this job was in the pool "
                           f"(BrokenProcessPool: {exc}); --retry-failed runs it again",
                           crashed=True)
        except Exception as exc:  # noqa: BLE001 - e.g. parameters that cannot be pickled
            return failure(f"{type(exc).__name__}: {exc}")

    def abort(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
        if terminate is not None:  # pragma: no cover - version dependent
            terminate()
            return
        # before 3.14 the pool has no public way to stop running tasks: its process table
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.terminate()
        for proc in processes:
            proc.join(timeout=settings.SWEEP_TERMINATE_GRACE)
            if proc.is_alive():  # pragma: no cover - SIGTERM ignored
                proc.kill()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------- Dask
class DaskExecutor(Executor):
    """Jobs on a Dask distributed cluster reached at ``address`` (e.g. ``tcp://host:8786``).

    The workers must be able to import cbntheory (same environment on every node).

    Parameters
    ----------
    address : str
        Scheduler address, as printed by ``dask scheduler``.
    timeout : float, optional
        Seconds to try to connect; default :data:`cbntheory.settings.SWEEP_SCHEDULER_TIMEOUT`.

    Raises
    ------
    SchedulerError
        dask.distributed is not installed, or the scheduler did not answer in time.
    """

    def __init__(self, address: str, *, timeout: float | None = None) -> None:
        try:
            import distributed
        except ImportError:  # pragma: no cover - the extra is installed in tests
            raise SchedulerError("--scheduler needs dask.distributed: pip install "
                                 "'cbntheory[dask]'") from None
        self._distributed = distributed
        self.address = str(address)
        wait = settings.SWEEP_SCHEDULER_TIMEOUT if timeout is None else float(timeout)
        try:
            self.client = distributed.Client(self.address, timeout=wait, set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - any failure to connect means the same
            raise SchedulerError(
                f"could not reach the Dask scheduler at {self.address!r} within {wait:g} s "
                f"({type(exc).__name__}: {exc}); check the address printed by "
                "`dask scheduler` and that this host can reach it") from None
        self.description = f"dask: {self.address}"
        self._futures: set[Any] = set()
        self._finished = threading.Event()  # set by the client's thread when a future ends
        self._capacity = (0.0, 1)

    @property
    def capacity(self) -> int:
        checked, value = self._capacity
        if time.monotonic() - checked > settings.SWEEP_HEARTBEAT:
            threads = sum(self.client.nthreads().values())
            value = 2 * max(1, threads)
            self._capacity = (time.monotonic(), value)
        return value

    def submit(self, job: Any) -> Any:
        key = f"cbn-{job.kind}-{job.key[:12]}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(run_job, get_kind(job.kind).fn, job.params, job.seed,
                                    key=key, pure=False)
        self._futures.add(future)
        future.add_done_callback(lambda _: self._finished.set())
        return future

    def wait(self, futures: list[Any], timeout: float) -> set[Any]:
        # (distributed.wait would need this client to be the process-wide default one)
        done = {f for f in futures if f.done()}
        if not done:
            self._finished.clear()
            done = {f for f in futures if f.done()}  # one may have ended before the clear
            if not done and self._finished.wait(timeout):
                done = {f for f in futures if f.done()}
        return done

    def outcome(self, future: Any) -> dict[str, Any]:
        self._futures.discard(future)
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection...
            return failure(f"Dask could not run this job ({type(exc).__name__}: {exc}); "
                           "--retry-failed runs it again")

    def abort(self) -> None:
        if self._futures:
            self.client.cancel(list(self._futures), force=True)
            self._futures.clear()

    def close(self) -> None:
        self.abort()
        self.client.close()


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """:class:`DaskExecutor` when ``scheduler`` is given, else :class:`LocalExecutor`."""
    if scheduler:
        return DaskExecutor(scheduler)
    return LocalExecutor(workers)
