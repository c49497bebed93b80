"""The fuzz suite's deterministic hypothesis profile and its tally of bad inputs.

Every property here feeds generated (mostly bad) inputs to a public function or a ``cbn``
command and judges the answer with :func:`_fuzz.judge`: a one-line ``CBNError`` (or an
honest status) is right; a raw exception, a traceback or a silently accepted bad value
is a defect.  The profile is derandomised (a fixed seed derived from each test), without
an example database and without deadlines, so a CI run tries the same inputs every time.

``CBN_FUZZ_TALLY=PATH`` switches the properties from asserting to counting: every judged
input is recorded and the totals (inputs tried, defects found, per property) are written
to ``PATH`` as JSON at the end of the session.  Running the suite so on an unfixed
checkout and on this one gives the "before" and "after" counts of issue 14.
"""
from __future__ import annotations

import json
import os

import _fuzz
from hypothesis import HealthCheck, settings

settings.register_profile(
    "cbn-fuzz", derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile("cbn-fuzz")


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get(_fuzz.TALLY_ENV)
    if path:
        with open(path, "w") as fh:
            json.dump(_fuzz.TALLY, fh, indent=1, sort_keys=True)
