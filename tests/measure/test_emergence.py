"""The emergent-bottleneck measurement: the counting rule on networks whose bottleneck is
known (the explicit constructions, whose middle layers project onto k), with and without
biases, and the bookkeeping of a small random-start run."""
import numpy as np
import pytest

from cbntheory import targets
from cbntheory.errors import ValidationError
from cbntheory.measure.emergence import bottleneck_dims, emergent_bottleneck


@pytest.mark.parametrize("name", ["shift_autoencoder_1d", "shape_pattern_1d"])
def test_counting_rule_reads_the_constructions_bottleneck(name):
    t = targets.get(name)
    X, _ = t.data(quick=True)
    free = t.construction(5, quick=True, bias_aware=False)
    layer, k = bottleneck_dims(free.network, X, bias=False)
    np.testing.assert_array_equal(k, free.cbn_vector)
    assert 1 < layer < 5
    aware = t.construction(5, quick=True, bias_aware=True)
    assert aware.bias_aware
    _, kb = bottleneck_dims(aware.network, X, bias=True)
    want = np.asarray(t.cbn_vector).copy()
    want[0] -= t.rank_cbn - t.rank_cbn_bias
    np.testing.assert_array_equal(kb, want)
    assert int(kb.sum()) == t.rank_cbn_bias


def test_small_run_bookkeeping():
    t = targets.get("shift_autoencoder_1d")
    em = emergent_bottleneck(t, 3, seeds=2, quick=True, max_iter=150, biases=(True,))
    assert [r.seed for r in em.runs] == [0, 1] and all(r.bias for r in em.runs)
    assert int(em.predicted[True].sum()) == t.rank_cbn_bias
    hits, done = em.rate(True)
    assert done == sum(r.verified for r in em.runs) and 0 <= hits <= done
    for row in em.rows():
        assert row["matches"] == (row["k"] == row["predicted"])
    with pytest.raises(ValidationError, match="depth"):
        emergent_bottleneck(t, 2)
    with pytest.raises(ValidationError, match="CBN vector"):
        emergent_bottleneck(targets.get("bandlimited_1d"), 3)  # a linear operator target
