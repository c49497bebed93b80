"""The depth-continuation pass of the tables: each row is at most the previous depth's
upper bound plus the cost of the inserted projection layers, and the network behind it
reproduces the data (forward pass here, norm recomputed here)."""
import numpy as np

from cbntheory import targets
from cbntheory.measure.deepening import CONTINUATION, continue_rows, deepened_start
from cbntheory.measure.intervals import measure_depth
from cbntheory.measure.tables import DepthRow


def test_rows_obey_the_continuation_certificate():
    t = targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    depths = (2, 3, 4)
    rows = [measure_depth(t, L, quick=True, max_iter=60) for L in depths]
    new = continue_rows(t, rows, quick=True, max_iter=60)
    assert [r.depth for r in new] == list(depths)
    for before, prev, row in zip(rows[1:], new[:-1], new[1:]):
        _, cost = deepened_start(prev.network, X, t.architecture(row.depth, quick=True))
        assert cost > 0
        assert row.upper <= min(before.upper, prev.upper + cost) * (1 + 1e-12)
        out = row.network(X)
        assert np.linalg.norm(out - Y) <= 1e-6 * np.linalg.norm(Y)
        assert row.upper == row.network.param_norm()
        if row.upper < before.upper:
            assert CONTINUATION in row.networks and row.source in ("solver", "construction")


def test_a_failed_depth_gets_the_deepened_network():
    # a row without an upper bound (the solver failed there) is filled from the depth
    # before: R_up(3) <= R_up(2) + min_l sum_m k_m(a_l), checked by a forward pass here
    t = targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    first = measure_depth(t, 2, quick=True, max_iter=60)
    failed = DepthRow(3, 3.0, None, "solver_error", "no network")
    prev, row = continue_rows(t, [first, failed], quick=True, max_iter=60)
    _, cost = deepened_start(first.network, X, t.architecture(3, quick=True))
    assert row.upper is not None and row.upper <= first.upper + cost + 1e-9
    assert row.status == "not_certified" and row.lower == 3.0
    assert np.linalg.norm(row.network(X) - Y) <= 1e-6 * np.linalg.norm(Y)
    assert row.network.param_norm() == row.upper
    assert CONTINUATION in row.networks and "depth continuation from L = 2" in row.message
    # the deepened network itself is a construction (its cost per layer fixed by design)
    assert row.source == ("construction" if "warm start unchanged" in row.upper_from
                          else "solver")


def test_rows_without_a_network_or_skipped_stay():
    t = targets.get("shift_autoencoder_1d")
    rows = [DepthRow(2, 2.0, None, "solver_error", "failed"),
            DepthRow(3, None, None, "skipped", "skipped")]
    assert continue_rows(t, rows, quick=True, max_iter=10) == rows
    linear = targets.get(targets.names()[0])
    if linear.kind != "data":
        assert continue_rows(linear, rows) == rows


def test_a_gap_of_depths_inserts_one_projection_layer_per_missing_depth():
    # sparse depths (e.g. 8, 16, 32 in the report) walk across the gap: the network of
    # depth 2 gets three projection layers for depth 5.  Rebalancing scales layers by
    # positive factors, so the spans, and the cost of every further layer, stay those of
    # the first insertion: the gap costs exactly three single steps (an invariance that
    # fails if a layer is skipped or counted twice), and the outputs are unchanged.
    t = targets.get("shift_autoencoder_1d")
    X, Y = t.data(quick=True)
    first = measure_depth(t, 2, quick=True, max_iter=60)
    _, one = deepened_start(first.network, X, t.architecture(3, quick=True))
    net, three = deepened_start(first.network, X, t.architecture(5, quick=True))
    assert net.architecture.depth == 5 and one > 0
    assert np.isclose(three, 3 * one, rtol=1e-9)
    assert np.linalg.norm(net(X) - first.network(X)) <= 1e-9 * np.linalg.norm(Y)
    assert net.param_norm() <= first.upper + three + 1e-9
    gap = DepthRow(5, 5.0, None, "solver_error", "no network")
    _, row = continue_rows(t, [first, gap], quick=True, max_iter=60)
    assert row.upper is not None and row.upper <= first.upper + three + 1e-9
    assert np.linalg.norm(row.network(X) - Y) <= 1e-6 * np.linalg.norm(Y)
    assert "depth continuation from L = 2" in row.message
