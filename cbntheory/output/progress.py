"""A plain-text progress bar on stderr (no dependency): redrawn in place on a terminal,
one line per tenth of the work otherwise (log files of cluster jobs).

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

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
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

    def _line(self) -> str:
        done, failed, running = self._state
        finished = done + failed
        fill = self.width if self.total == 0 else int(self.width * finished / self.total)
        bar = "#" * fill + "-" * (self.width - fill)
        elapsed = time.monotonic() - self._start
        text = (f"{self.label} [{bar}] {finished}/{self.total} ({done} done, {failed} failed), "
                f"{running} running, {_duration(elapsed)}")
        new = finished - (self._first or 0)
        if 0 < new and finished < self.total:
            text += f", eta {_duration(elapsed / new * (self.total - finished))}"
        return text

    def update(self, done: int, failed: int, running: int) -> None:
        """Record the current counts and redraw if it is time to."""
        if self._first is None:
            self._first = done + failed
        self._state = (done, failed, running)
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw >= 0.1:
                self.stream.write("\r" + self._line() + "\x1b[K")
                self.stream.flush()
                self._last_draw = now
            return
        tenth = 10 * (done + failed) // max(self.total, 1)
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self._write_line()

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
