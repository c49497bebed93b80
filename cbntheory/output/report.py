"""``cbn report``: checks, bound tables and figures of the built-in targets in one directory.

:func:`run_report` runs, in order, every proof check (:mod:`cbntheory.checks`), the bound
table of every built-in target of the plan (:func:`cbntheory.measure.tabulate.bound_table`), the
figures (:mod:`cbntheory.output.figures`) and the down-sampling comparison (T7), and writes::

    DIR/index.md                      status of every item, links, closing note
    DIR/checks.md, DIR/checks.json    verdict and evidence of every statement
    DIR/tables/<target>.{md,tex,csv,json}, DIR/tables/all.{md,tex,csv,json}
    DIR/tables/downsampling.{md,json}
    DIR/networks/<target>_L<depth>.npz  the network behind every upper bound (``cbn verify``)
    DIR/figures/*.png, *.pdf
    DIR/logs/<item>.txt               traceback of any item that failed

Writing is incremental: every file is written as soon as its item finishes and
``index.md`` is rewritten after every item (atomically), so an interruption or a failure
never loses what was computed.  Nothing is allowed to crash the run: a failing solver is a
row status in its table, a check that raises is an ``error`` verdict, an item that fails
is a ``failed`` status with its message, a solve stopped by its safety time cap is
``time_capped``, a solve reached after the run's safety cap is ``skipped`` (both say so),
and an output directory that cannot be written is replaced by a fresh
temporary directory (the index says so).  A plain-text progress bar goes to stderr.

The two plans (:data:`PLANS`): ``"default"`` (27 minutes on 2 shared cores at load
9-10, with the shift autoencoders up to L = 32 and 16) and ``"quick"`` (at most ~2
minutes; the tests run a cut-down copy).  See ``docs/report.md``.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .. import settings
from . import report_index as IX
from . import report_items as RI
from .files import write_text
from .progress import Progress, check_interrupt
from .report_index import Item

#: Item statuses that make the report's exit status 1.
BAD_STATUSES: tuple[str, ...] = ("failed", "violated", "error")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a report computes and how much work it may do.

    Every numerical solve is bounded by ``max_iter`` iterations, so a seed gives the same
    numbers on any machine load; the two times are safety caps only.

    Attributes
    ----------
    name : str
    linear_depths : str
        Depths of the linear (whole-space) targets, exact by T1.
    data_depths : str
        Depths of the data targets (numerical solves).
    data_targets : tuple of str
        Data targets tabulated (linear targets: see ``linear_targets``).
    time_limit : float
        Safety cap in seconds of one numerical solve: a solve it stops is a
        ``time_capped`` row (not a budget: see ``max_iter``).
    budget : float
        Safety cap in seconds of the run: solves not started by then are ``skipped`` rows
        that say so (the run then only writes).
    bottleneck : tuple of (str, int)
        Target and depth of the network whose weights and activations are drawn.
    downsampling : tuple of (str, int)
        (target, stride) pairs of the T7 comparison.
    downsampling_depths : tuple of int
    downsampling_width : int or None
        Hidden width of both architectures of the T7 comparison (None: the target's).
        Down-sampled middle layers need more channels than the quick width 2 of
        ``shift_autoencoder_1d`` (no interpolating network there); the T7 check's 4 has one.
    linear_targets : tuple of str or None
        The linear (whole-space) targets tabulated; None: all of them.
    quick_data : bool
        Use the targets' small samples (``Target.data(quick=True)``) and widths.
    check_quick : bool
        Run the checks in their quick mode.
    workers : int
        Processes running the checks and the solves of the data targets in parallel; 1
        runs everything in this process.
    checks : tuple of str or None
        Names of the checks to run (labels or modules, see ``cbn check``); None: all.
    target_depths : tuple of (str, str)
        Per-target depths replacing ``data_depths`` (targets whose solves rarely succeed
        within the iteration budget get fewer depths).
    max_iter : int
        L-BFGS-B iterations per restart of every numerical solve of the tables (the
        checks use their own counts, from :mod:`cbntheory.settings`).
    target_max_iter : tuple of (str, int)
        Per-target iteration budgets replacing ``max_iter`` (see :meth:`iterations`).
    emergence_seeds : int
        Random-start solves (per architecture, with and without biases) of the bottleneck
        target whose middle layers are compared with the predicted CBN vector
        (:mod:`cbntheory.measure.emergence`); 0 leaves the item out.
    """

    name: str
    linear_depths: str
    data_depths: str
    data_targets: tuple[str, ...]
    time_limit: float
    budget: float
    bottleneck: tuple[str, int]
    downsampling: tuple[tuple[str, int], ...]
    downsampling_depths: tuple[int, ...]
    quick_data: bool = True
    check_quick: bool = True
    workers: int = 2
    checks: tuple[str, ...] | None = None
    target_depths: tuple[tuple[str, str], ...] = ()
    max_iter: int = settings.QUICK_MAX_ITER
    target_max_iter: tuple[tuple[str, int], ...] = ()
    emergence_seeds: int = 0
    downsampling_width: int | None = None
    linear_targets: tuple[str, ...] | None = None

    def iterations(self, target: str) -> int:
        """L-BFGS-B iterations per restart of ``target``'s table solves.

        Examples
        --------
        >>> plan = PLANS["default"]
        >>> plan.iterations("shift_autoencoder_2d") > plan.iterations("shift_autoencoder_1d")
        True
        """
        return int(dict(self.target_max_iter).get(target, self.max_iter))


PLANS: dict[str, Plan] = {
    "quick": Plan("quick", "1-16", "1-4", ("shift_autoencoder_1d", "invariant_pool"),
                  time_limit=settings.REPORT_SOLVE_CAP[0], budget=settings.REPORT_SAFETY_CAP[0],
                  max_iter=settings.QUICK_MAX_ITER, bottleneck=("shift_autoencoder_1d", 4),
                  downsampling=(("shift_autoencoder_1d", 2), ("shift_autoencoder_1d", 6)),
                  downsampling_depths=(3,),
                  downsampling_width=settings.REPORT_QUICK_DOWNSAMPLING_WIDTH),
    "default": Plan("default", "1-16", "1-8",
                    ("shift_autoencoder_1d", "invariant_pool", "shape_pattern_1d",
                     "shift_autoencoder_2d", "digits_classifier", "digits_autoencoder"),
                    time_limit=settings.REPORT_SOLVE_CAP[1],
                    budget=settings.REPORT_SAFETY_CAP[1], max_iter=settings.REPORT_MAX_ITER,
                    bottleneck=("shift_autoencoder_1d", 8),
                    downsampling=(("shift_autoencoder_1d", 2), ("shift_autoencoder_1d", 6),
                                  ("shape_pattern_1d", 2)),
                    downsampling_depths=(3, 4), quick_data=False,
                    # the shift autoencoders also at larger depths (issue 15): each deep
                    # row is one more walk step of the depth continuation
                    target_depths=(("shift_autoencoder_1d", settings.REPORT_DEEP_DEPTHS_1D),
                                   ("shift_autoencoder_2d", settings.REPORT_DEEP_DEPTHS_2D),
                                   ("digits_classifier", "2-4"), ("digits_autoencoder", "1-4")),
                    target_max_iter=(("shift_autoencoder_2d", settings.REPORT_MAX_ITER_2D),),
                    emergence_seeds=settings.EMERGENCE_SEEDS),
}


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """Outcome of :func:`run_report`.

    Attributes
    ----------
    directory : Path
        Where the report was written (a temporary directory if the requested one was not
        writable).
    index : Path
    items : tuple of Item
    exit_status : int
        0: complete, no exact statement violated, no item failed; 1 otherwise.
    seconds : float
    notes : tuple of str
    """

    directory: Path
    index: Path
    items: tuple[Item, ...]
    exit_status: int
    seconds: float
    notes: tuple[str, ...]


def _writable(directory: Path) -> str | None:
    """None when ``directory`` can be created and written, else the reason."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".cbn-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class ReportRun:
    """State of one report run (see :func:`run_report`)."""

    def __init__(self, out: str | os.PathLike, plan: Plan, *, seed: int = 0,
                 stream: TextIO | None = None, progress: bool = True) -> None:
        self.plan, self.seed = plan, seed
        self.requested = Path(out)
        self.notes: list[str] = []
        reason = _writable(self.requested)
        if reason is None:
            self.dir = self.requested
        else:
            self.dir = Path(tempfile.mkdtemp(prefix="cbn-report-"))
            self.notes.append(f"output directory {str(self.requested)!r} is not writable "
                              f"({reason}); the report was written to {str(self.dir)!r} instead")
        self.stream = sys.stderr if stream is None else stream
        self.progress = progress
        self.start = time.monotonic()
        self.deadline = self.start + plan.budget
        self.items: list[Item] = []
        self.state = IX.State(plan_name=plan.name, seed=seed)
        self.executor: Any = None
        self.check_futures: dict[str, Any] = {}
        self.stored_rows: Any = None  # rows of a sweep store (cbn report --from)
        self.stored_networks: dict[str, Any] = {}

    # ------------------------------------------------------------------ files
    def write(self, rel: str, text: str, item: Item | None = None) -> str:
        """Write ``DIR/rel`` atomically and record it on ``item``; returns ``rel``."""
        path = self.dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text)
        if item is not None and rel not in item.files:
            item.files.append(rel)
        return rel

    def save_figure(self, fig: Any, stem: str, item: Item) -> None:
        """``figures/<stem>.png`` and ``.pdf``."""
        from .figures import save_figure

        (self.dir / "figures").mkdir(parents=True, exist_ok=True)
        for path in save_figure(fig, self.dir / "figures" / stem):
            item.files.append(str(path.relative_to(self.dir)))

    def write_index(self) -> None:
        """Rewrite ``index.md`` from the current state (never raises)."""
        try:
            text = IX.index_markdown(self.items, self.state, self.notes,
                                     time.monotonic() - self.start, self.requested, self.dir)
            self.write("index.md", text)
        except Exception as exc:  # pragma: no cover - a broken disk: say so on stderr
            print(f"cbn report: could not write index.md: {exc}", file=self.stream)

    # ------------------------------------------------------------------ items
    def add(self, key: str, section: str, title: str, fn: Callable[[Item], None]) -> None:
        self.items.append(Item(key, section, title, fn))

    def check_entries(self) -> list[Any]:
        """The checks of the plan (all available ones by default)."""
        from .. import checks as proofs

        if self.plan.checks is None:
            return proofs.available()
        out: list[Any] = []
        for name in self.plan.checks:
            out += [e for e in proofs.find(name) if e not in out]
        return out

    def plan_items(self) -> None:
        from .. import targets

        for entry in self.check_entries():
            self.add(f"check {entry.label}", "checks", entry.title,
                     functools.partial(RI.run_check, self, entry=entry))
        names = [n for n in targets.names() if targets.get(n).kind == "operator" and (
            self.plan.linear_targets is None or n in self.plan.linear_targets)]
        names += [n for n in self.plan.data_targets if n in targets.names()]
        for name in names:
            self.add(f"table {name}", "tables", targets.get(name).title,
                     functools.partial(RI.run_table, self, name=name))
            self.add(f"figure cost_{name}", "figures", f"R/L against L: {name}",
                     functools.partial(RI.run_cost_figure, self, name=name))
        self.add("figure bottleneck", "figures", "weights and activations of a near-optimal "
                 f"network ({self.plan.bottleneck[0]}, L = {self.plan.bottleneck[1]})",
                 functools.partial(RI.run_bottleneck, self))
        if self.plan.emergence_seeds:
            self.add("figure emergence", "figures", "the bottleneck from random starts over "
                     f"{self.plan.emergence_seeds} seeds ({self.plan.bottleneck[0]}, L = "
                     f"{self.plan.bottleneck[1]})", functools.partial(RI.run_emergence, self))
        self.add("figure linear_bottleneck", "figures", "weights of the exact optimum of a "
                 "linear target (balanced factorisation, T1)",
                 functools.partial(RI.run_linear_bottleneck, self))
        self.add("T7 downsampling", "figures", "R/L with and without down-sampling (T7)",
                 functools.partial(RI.run_downsampling, self))

    def run_item(self, item: Item, bar: Progress) -> None:
        done, failed = self._finished()
        bar.update(done, failed, 1, note=item.key)
        item.status = "running"
        start = time.perf_counter()
        try:
            item.fn(item)
            check_interrupt()  # a solve inside that caught the Ctrl-C returned a partial result
        except KeyboardInterrupt:
            item.status = "interrupted"
            item.message = "stopped by Ctrl-C or SIGTERM; its partial results are discarded"
            item.seconds = time.perf_counter() - start
            raise
        except Exception as exc:  # an item never stops the report
            item.status = "failed"
            item.message = textwrap.shorten(f"{type(exc).__name__}: {exc}", 300,
                                            placeholder=" [...]")  # whole words only
            try:
                log = self.write(f"logs/{IX.slug(item.key)}.txt", traceback.format_exc())
                item.files.append(log)
            except OSError:
                pass
        item.seconds = time.perf_counter() - start
        done, failed = self._finished()
        bar.update(done, failed, 0, note=f"{item.key}: {item.status}")
        self.write_index()

    def _finished(self) -> tuple[int, int]:
        """Items finished well and items finished badly (failed, violated, error)."""
        ended = [it.status for it in self.items if it.status not in ("pending", "running")]
        failed = sum(status in BAD_STATUSES for status in ended)
        return len(ended) - failed, failed

    def pool(self) -> Any:
        """The process pool of the numerical solves (created on first use), or None."""
        if self.executor is None and self.plan.workers > 1:
            import concurrent.futures as cf
            import multiprocessing

            ctx: Any
            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["cbntheory.measure.tabulate"])
            else:  # pragma: no cover - Windows, macOS without forkserver
                ctx = multiprocessing.get_context("spawn")
            self.executor = cf.ProcessPoolExecutor(self.plan.workers, mp_context=ctx)
        return self.executor

    def submit_checks(self) -> None:
        """Start every check on the pool at once (their items then wait for the results)."""
        from .. import checks as proofs

        pool = self.pool()
        if pool is None:
            return
        for entry in self.check_entries():
            try:
                self.check_futures[entry.module] = pool.submit(proofs.run, entry,
                                                               self.plan.check_quick)
            except Exception:  # a broken pool: the item runs the check here instead
                break

    def _stop_pool(self) -> None:
        """Shut the pool down: waiting for it after a normal run, at once (workers
        terminated) after an interruption, so that Ctrl-C stops the report within ~1 s."""
        if self.executor is None:
            return
        if not self.state.interrupted:
            self.executor.shutdown(wait=True, cancel_futures=True)
            return
        processes = list(getattr(self.executor, "_processes", {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.terminate()

    def run(self) -> ReportResult:
        self.plan_items()
        self.write_index()
        bar = Progress(len(self.items), stream=self.stream, enabled=self.progress,
                       label="report")
        self.state.bar = bar
        try:
            self.submit_checks()
            for item in self.items:
                self.run_item(item, bar)
        except KeyboardInterrupt:
            self.state.interrupted = True
            raise
        finally:
            self._stop_pool()
            bar.close()
            self.state.finished = not self.state.interrupted
            self.write_index()
        bad = [it for it in self.items if it.status in BAD_STATUSES]
        status = 1 if (bad or self.dir != self.requested) else 0
        return ReportResult(self.dir, self.dir / "index.md", tuple(self.items), status,
                            time.monotonic() - self.start, tuple(self.notes))


def run_report(out: str | os.PathLike, *, quick: bool = False, seed: int = 0,
               stream: TextIO | None = None, progress: bool = True,
               plan: Plan | None = None, stored_rows: Any = None,
               stored_networks: Any = None) -> ReportResult:
    """Run the checks, tables and figures of the built-in targets and write ``out/index.md``.

    Parameters
    ----------
    out : path
        Output directory (created if missing).
    quick : bool
        Use :data:`PLANS` ``["quick"]`` (at most ~2 minutes) instead of ``["default"]``.
    seed : int
        Seed of every numerical solve (recorded in the tables).
    stream : file, optional
        Where the progress bar goes (default stderr).
    progress : bool
        Draw the progress bar.
    plan : Plan, optional
        Overrides ``quick``.
    stored_rows : list of dict, optional
        Rows of a sweep store (:func:`cbntheory.sweep.store.read_rows`, ``cbn report
        --from``): the depths of a table that ``bound_row`` jobs with the plan's options
        and ``seed`` hold are read from them, only the others are computed.
    stored_networks : dict, optional
        The networks behind those rows by job key (saved with the report's networks).

    Returns
    -------
    ReportResult
    """
    chosen = plan if plan is not None else PLANS["quick" if quick else "default"]
    run = ReportRun(out, chosen, seed=seed, stream=stream, progress=progress)
    run.stored_rows, run.stored_networks = stored_rows, dict(stored_networks or {})
    return run.run()
