"""The progress bar of the package (sweeps, ``cbn table``, ``cbn report``) and its durations.

A plain-text bar on stderr (no dependency): redrawn in place on a terminal, one line per
tenth of the work otherwise (log files of cluster jobs).

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> bar = Progress(4, stream=out, width=8)
>>> bar.update(done=2, failed=1, running=1)
>>> bar.close()
>>> lines = out.getvalue().strip().splitlines()
>>> lines[-1].startswith("sweep [######--] 3/4 (2 done, 1 failed), 1 running")
True
"""
from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

# ------------------------------------------------------------------ interruptions (issue 14)
#: Set by the handler :func:`interrupt_handlers` installs, at the first Ctrl-C or SIGTERM.
_INTERRUPT: dict[str, Any] = {"requested": False, "signal": None}


def interrupt_requested() -> bool:
    """True once a Ctrl-C or SIGTERM arrived under :func:`interrupt_handlers`.

    A KeyboardInterrupt can be lost (raised inside a weakref callback or a ``__del__``,
    where Python only prints "Exception ignored"); the flag is not, so every checkpoint
    (:func:`check_interrupt`, :meth:`Progress.update`) stops the command anyway.
    """
    return bool(_INTERRUPT["requested"])


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if an interruption was requested: a checkpoint between
    pieces of work (rows, report items), where a lost KeyboardInterrupt is re-raised."""
    if _INTERRUPT["requested"]:
        raise KeyboardInterrupt


def _on_signal(signum: int, frame: Any) -> None:
    _INTERRUPT["requested"] = True
    _INTERRUPT["signal"] = signal.Signals(signum).name
    raise KeyboardInterrupt


@contextlib.contextmanager
def interrupt_handlers() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM both set the interruption flag and raise
    KeyboardInterrupt in the main thread (a batch system's SIGTERM stops a command like a
    Ctrl-C); the previous handlers and a clear flag are restored on exit.  Outside the main
    thread it does nothing (signals can only be handled there)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    _INTERRUPT.update(requested=False, signal=None)
    for sig in previous:
        signal.signal(sig, _on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _INTERRUPT.update(requested=False, signal=None)


def duration(seconds: float) -> str:
    """``"42s"``, ``"3m05s"``, ``"2h07m"``: the one duration format of the package.

    Examples
    --------
    >>> duration(42.4), duration(185), duration(7620)
    ('42s', '3m05s', '2h07m')
    """
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, seconds = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Progress of ``total`` jobs: finished (done + failed) out of total, running, ETA.

    Parameters
    ----------
    total : int
        Jobs of the sweep (including those finished before this run).
    stream : file, optional
        Default ``sys.stderr``.
    enabled : bool
        False draws nothing.
    width : int
        Characters of the bar.
    label : str
        First word of the line.

    A note (what is being done) follows the counts: :meth:`update` sets it, :meth:`note`
    changes it in between (redrawn on a terminal only).
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True,
                 width: int = 24, label: str = "sweep") -> None:
        self.total = max(0, int(total))
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.width = width
        self.label = label
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = time.monotonic()
        self._first: int | None = None
        self._last_draw = 0.0
        self._last_tenth = -1
        self._state = (0, 0, 0)
        self._printed: tuple[int, int, int] | None = None
        self._note = ""

    def _line(self) -> str:
        done, failed, running = self._state
        finished = done + failed
        fill = self.width if self.total == 0 else int(self.width * finished / self.total)
        bar = "#" * fill + "-" * (self.width - fill)
        elapsed = time.monotonic() - self._start
        text = (f"{self.label} [{bar}] {finished}/{self.total} ({done} done, {failed} failed), "
                f"{running} running, {duration(elapsed)}")
        new = finished - (self._first or 0)
        if 0 < new and finished < self.total:
            text += f", eta {duration(elapsed / new * (self.total - finished))}"
        return f"{text}  {self._note}" if self._note else text

    def update(self, done: int, failed: int, running: int, note: str | None = None) -> None:
        """Record the current counts (and note) and redraw if it is time to.

        Also a checkpoint: raises KeyboardInterrupt when an interruption was requested
        (see :func:`interrupt_requested`) and swallowed somewhere on its way.
        """
        check_interrupt()
        if self._first is None:
            self._first = done + failed
        self._state = (done, failed, running)
        self._note = self._note if note is None else note
        if not self.enabled:
            return
        if self.tty:
            self._redraw()
            return
        tenth = 10 * (done + failed) // max(self.total, 1)
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self._write_line()

    def note(self, text: str) -> None:
        """Change the note; redrawn on a terminal only (no new log line).  A checkpoint
        like :meth:`update`."""
        check_interrupt()
        self._note = text
        if self.enabled and self.tty:
            self._redraw()

    def _redraw(self) -> None:
        now = time.monotonic()
        if now - self._last_draw >= 0.1:
            self.stream.write("\r" + self._line()[:150] + "\x1b[K")
            self.stream.flush()
            self._last_draw = now

    def _write_line(self) -> None:
        self.stream.write(self._line() + "\n")
        self.stream.flush()
        self._printed = self._state

    def close(self) -> None:
        """Draw the final state and end the line."""
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + self._line() + "\x1b[K\n")
            self.stream.flush()
        elif self._printed != self._state:
            self._write_line()
