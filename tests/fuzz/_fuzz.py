"""Judging one fuzzed call: a clean error or an honest answer, else a defect (counted)."""
from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Callable
from typing import Any

import cbntheory as cbn

#: Environment variable naming the JSON file of the tally (counting mode, see conftest).
TALLY_ENV = "CBN_FUZZ_TALLY"
TALLY: dict[str, Any] = {"tried": 0, "defects": 0, "by_property": {}}


def _record(prop: str, defect: str | None) -> None:
    entry = TALLY["by_property"].setdefault(prop, {"tried": 0, "defects": 0, "first": None})
    TALLY["tried"] += 1
    entry["tried"] += 1
    if defect is not None:
        TALLY["defects"] += 1
        entry["defects"] += 1
        entry["first"] = entry["first"] or defect[:300]


def judge(prop: str, defect: str | None) -> None:
    """Record the verdict; outside counting mode, fail the example on a defect."""
    _record(prop, defect)
    if defect is not None and not os.environ.get(TALLY_ENV):
        raise AssertionError(defect)


def refused(fn: Callable[[], Any]) -> str | None:
    """``None`` when ``fn()`` raises a one-line CBNError (a bad input refused cleanly);
    else what went wrong (accepted silently, a raw exception, a multi-line message)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn()
    except cbn.CBNError as exc:
        return None if "\n" not in str(exc) else f"multi-line message: {exc!r}"
    except Exception as exc:  # noqa: BLE001 - the point is to catch what should not escape
        return f"raw {type(exc).__name__}: {exc}"[:300]
    return f"bad input accepted silently, returned {out!r}"[:300]


def no_raw_error(fn: Callable[[], Any]) -> tuple[str | None, Any]:
    """``(None, value)`` when ``fn()`` returns or raises a one-line CBNError (value None)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return None, fn()
    except cbn.CBNError as exc:
        return (None if "\n" not in str(exc) else f"multi-line message: {exc!r}"), None
    except Exception as exc:  # noqa: BLE001
        return f"raw {type(exc).__name__}: {exc}"[:300], None


def cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``cbn argv`` in-process; returns (exit status, stdout, stderr)."""
    from cbntheory.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
        except BaseException as exc:  # noqa: BLE001 - a traceback is a defect, reported
            return -1, out.getvalue(), f"raw {type(exc).__name__}: {exc}"
    return code, out.getvalue(), err.getvalue()


def cli_refused(argv: list[str]) -> str | None:
    """``None`` when ``cbn argv`` exits 2 with one error line and no traceback."""
    code, _, err = cli(argv)
    lines = err.strip().splitlines()
    if code == 2 and "Traceback" not in err and lines and "error:" in lines[-1]:
        return None
    return f"cbn {' '.join(argv)[:120]}: exit {code}, stderr {err.strip()[-300:]!r}"
