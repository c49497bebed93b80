"""T7's rows name the certificate when a down-sampled architecture cannot fit the data."""
import math

from cbntheory.checks import t7_downsampling


def test_the_colliding_stride_row_carries_the_folded_rank_certificate():
    # width 4, stride 6: the last layer reads 4 channels on 2 pixels and the 12 shifts of
    # the bump need rank 6 per class, so no network exists; T7 is then not tested there
    report = t7_downsampling.main(quick=True)
    rows = {("stride 6" in r["case"]): r for r in report.rows}
    collided, distinct = rows[True], rows[False]
    assert collided["verdict"] == "not_certified"
    assert "certified" in collided["case"] and "channels[2] >= 6" in collided["case"]
    assert "is too narrow" in collided["certificate"]         # the whole argument
    assert collided["certified_residual"] > 1e-4   # > tol = 1e-6: the high frequencies are small
    assert collided["down"]["solver_status"] == "infeasible"
    assert math.isinf(collided["down"]["R_upper"])
    assert "certified_residual" not in distinct
