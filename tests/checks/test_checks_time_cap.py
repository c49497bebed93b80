"""A check whose solve was stopped by its wall-clock safety cap compares nothing with it.

The cap is made to act by a solve result whose recorded wall time exceeds it (no timing
in the test): the rows must say ``time_capped`` instead of an inequality on a network that
depends on the machine's load.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from cbntheory.checks import _measure, t1_kernel
from cbntheory.nets.architecture import Architecture


def test_time_capped_solve_gives_an_unchecked_row(monkeypatch):
    real = t1_kernel.minimal_norm

    def slow(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), wall_time=1e9)

    monkeypatch.setattr(t1_kernel, "minimal_norm", slow)
    arch = Architecture((8,), (1, 1, 1), activation="linear", bias=False, kernel_size=3)
    rows = t1_kernel._case_rows("case", arch, seed=0, max_iter=50)
    assert rows[0]["verdict"] == "holds"                    # the closed-form row stays
    assert rows[-1]["time_capped"] is True and rows[-1]["verdict"] == "not_certified"
    assert "safety time cap" in rows[-1]["case"] and np.isnan(rows[-1]["lhs"])
    assert len(rows) == 2


def test_time_capped_threshold_is_the_share_of_the_cap():
    class R:
        wall_time = 0.0
    assert not _measure.time_capped(R())
    R.wall_time = 1e9
    assert _measure.time_capped(R())
