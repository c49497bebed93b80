"""Static checks that CI runs through the test command: ruff (lint) and mypy (types).

They run as subprocesses on the whole repository, so a lint or typing regression fails
the suite exactly like a wrong number would.  Both tools come with the ``[test]`` extra;
a missing tool fails (``No module named ...``) rather than skipping.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)


def test_ruff_is_clean():
    done = _run("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow  # about 15 s
def test_mypy_is_clean():
    done = _run("mypy", "--no-incremental", "cbntheory")
    assert done.returncode == 0, done.stdout + done.stderr
