"""Short ``__repr__``/``__str__``/``summary()`` of the result types, and exact check names."""
from __future__ import annotations

import numpy as np
import pytest

import cbntheory as cbn
from cbntheory import checks
from cbntheory.errors import ValidationError
from cbntheory.measure.tables import DepthRow
from cbntheory.results import NormResult


def test_norm_result_prints_like_an_optimize_result():
    net = cbn.Architecture((4,), (1, 2, 1)).init(0)
    message = "a long account " * 20 + "that ends here"
    r = NormResult(value=2.5, lower=2.0, upper=2.5, status="not_certified", message=message,
                   network=net, solver="demo")
    assert repr(r) == "NormResult(status='not_certified', lower=2, upper=2.5, solver='demo')"
    text = str(r)
    lines = text.splitlines()
    assert lines[0] == "NormResult" and "interval: [2, 2.5]" in text
    assert all(len(line) <= 100 for line in lines)
    # the message is wrapped at word boundaries, never cut: its words come back in order
    body = " ".join(line.strip() for line in lines[lines.index(
        next(ln for ln in lines if ln.strip().startswith("message:"))):])
    assert body.replace("message: ", "") == message.strip()
    assert "kernels" not in text          # no dump of the network's arrays


def test_linear_cost_and_tables_are_short():
    p = np.arange(8)
    A = cbn.ConvOperator.from_kernel((2 + np.cos(2 * np.pi * p / 8)).reshape(1, 1, 8))
    cost = cbn.linear_cost(A, 3)
    assert repr(cost).startswith("LinearCost(depth=3, value=") and "array" not in repr(cost)
    assert cost.summary()["cbn_rank"] == 3 and "by_degree: 1 constant, 2 degree-1" in str(cost)
    assert cost.rank_cbn == 3 and cost.cbn_vector is cost.cbn_rank
    table = cbn.bound_table("bandlimited_1d", [1, 2])
    assert repr(table) == "BoundTable(target='bandlimited_1d', depths=[1, 2], rank_j=7, " \
                          "rank_cbn=7)"
    assert "L = 2: [8, 8] optimal (from closed_form)" in str(table)
    assert repr(DepthRow(3, None, 9.0, "not_certified")) == \
        "DepthRow(depth=3, upper=9, status='not_certified')"


def test_check_names_match_exactly_and_families_need_a_star():
    assert [e.label for e in checks.find("T3")] == ["T3"]
    assert [e.label for e in checks.find("t3*")] == ["T3-construction", "T3"]
    assert {e.label for e in checks.find("SYM*")} == {"SYM-conv", "SYM-scalar", "SYM-series"}
    assert [e.label for e in checks.find("t3_construction")] == ["T3-construction"]
    with pytest.raises(ValidationError, match=r"family such as .*T1\*"):
        checks.find("SYM")
