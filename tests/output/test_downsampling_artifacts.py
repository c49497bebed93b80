"""The T7 comparison's networks are saved and re-verify through ``cbn verify``.

The re-check is the independent direct forward pass of :mod:`cbntheory.output.artifacts`
(convolutions summed in pixel space, resampling by slicing) on data regenerated from the
target, not the FFT engine that produced the rows (tests/cli/test_cli_verify.py checks that
pass against the engine for down-sampling architectures).
"""
from __future__ import annotations

import json
import types

from cbntheory.measure.tabulate import downsampling_comparison
from cbntheory.output.artifacts import verify_rows
from cbntheory.output.report_items import _comparison_json


def test_downsampling_rows_are_saved_and_verify(tmp_path):
    comp = downsampling_comparison("shift_autoencoder_1d", 2, (3,), quick=True, max_iter=300)
    item = types.SimpleNamespace(files=[])
    run = types.SimpleNamespace(dir=tmp_path, plan=types.SimpleNamespace(quick_data=True),
                                state=types.SimpleNamespace(comparisons=[comp]))
    text = _comparison_json(run, item)
    (tmp_path / "tables").mkdir()
    path = tmp_path / "tables" / "downsampling.json"
    path.write_text(text)
    doc = json.loads(text)
    assert [t["variant"] for t in doc["tables"]] == ["plain", "downsampled"]
    saved = [r for t in doc["tables"] for r in t["rows"] if r["network_file"]]
    assert saved and len(item.files) == len(saved)
    checks = verify_rows(path)
    assert len(checks) == len(saved)
    assert all(c.verdict == "verified" for c in checks), [c.describe() for c in checks]
    for t in doc["tables"]:                   # a row without an upper bound saves nothing
        for r in t["rows"]:
            assert (r["network_file"] is None) == (r["upper"] is None)
            if r["network_file"]:
                assert f"_s2_{t['variant']}_L3" in r["network_file"]


def test_certified_infeasible_rows_complete_the_comparison():
    # stride 6 at width 4: the last layer's width cannot reach the data (certificate), so
    # the down-sampled row is infeasible at once; the item is done, and says why
    from cbntheory.output.report_index import _ratio_text
    from cbntheory.output.report_items import _comparison_status

    comp = downsampling_comparison("shift_autoencoder_1d", 6, (3,), quick=True, width=4,
                                   max_iter=300)
    assert [r.status for r in comp.downsampled] == ["infeasible"]
    assert "channels[2] = 4 is too narrow" in comp.downsampled[0].message
    status, message = _comparison_status([comp])
    assert status == ("done" if comp.plain[0].upper is not None else "incomplete")
    assert "1 rows certified infeasible" in message
    assert _ratio_text(comp) == "L=3: no down-sampled network exists (certified infeasible)"
