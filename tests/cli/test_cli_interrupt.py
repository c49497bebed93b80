"""Ctrl-C and SIGTERM (issue 14): one signal stops a command within about a second, exit
130, finished work kept, the interrupted solve never an ordinary row.

The subprocess tests send the signal to a real ``cbn`` process (marked slow: each waits
for a solve to be under way); the fast tests drive the one handler in-process.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from cbntheory.output.progress import (
    Progress,
    check_interrupt,
    interrupt_handlers,
    interrupt_requested,
)


def test_sigterm_raises_keyboardinterrupt_and_sets_the_flag():
    # the handler before the block, not Python's default: a shell starts background jobs
    # with SIGINT ignored, and that is what must come back
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with interrupt_handlers():
        assert not interrupt_requested()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs at the next bytecode
        assert interrupt_requested()
    assert not interrupt_requested()  # cleared, and the old handlers are back
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_swallowed_interrupt_is_raised_again_at_the_next_checkpoint():
    # as when the KeyboardInterrupt lands in a weakref callback and Python only prints it
    bar = Progress(3, enabled=False)
    with interrupt_handlers():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass  # swallowed
        with pytest.raises(KeyboardInterrupt):
            bar.update(1, 0, 0)
        with pytest.raises(KeyboardInterrupt):
            check_interrupt()


def _interrupt(argv, wait, sig, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "cbntheory.cli", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(wait)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, time.monotonic() - sent, out, err


@pytest.mark.slow
def test_one_ctrl_c_stops_cbn_table_and_keeps_the_finished_rows(tmp_path):
    code, after, _, err = _interrupt(["table", "shift_autoencoder_1d", "--quick", "--depths",
                                      "1-4", "--out", "t.md", "--no-progress"], 9.0,
                                     signal.SIGINT, tmp_path)
    assert code == 130 and after < 5.0, (code, after, err)  # ~1 s idle; slack for load
    text = (tmp_path / "t.md").read_text()
    assert "## interrupted: shift_autoencoder_1d" in text and "L = 1:" in text
    assert "Traceback" not in err


@pytest.mark.slow
def test_sigterm_stops_cbn_report_and_the_index_says_interrupted(tmp_path):
    code, after, _, err = _interrupt(["report", "--quick", "--out", "rep", "--no-progress"],
                                     9.0, signal.SIGTERM, tmp_path)
    assert code == 130 and after < 5.0, (code, after, err)  # ~1 s idle; slack for load
    index = (tmp_path / "rep" / "index.md").read_text()
    assert "- state: interrupted" in index and "state: finished" not in index
    assert "Traceback" not in err
