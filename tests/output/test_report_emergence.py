"""The report's emergent-bottleneck item: its table, JSON, figure and closing-note line."""
import json

from cbntheory.output import report_index as IX
from cbntheory.output import report_items as RI
from cbntheory.output.report import PLANS, Plan, ReportRun


def test_emergence_item_writes_its_table_figure_and_note(tmp_path):
    plan = Plan("test", "1-2", "2", (), time_limit=30.0, budget=60.0,
                bottleneck=("shift_autoencoder_1d", 3), downsampling=(),
                downsampling_depths=(3,), workers=1, checks=(), max_iter=100,
                emergence_seeds=2)
    run = ReportRun(tmp_path, plan, progress=False)
    item = IX.Item("figure emergence", "figures", "emergence", lambda it: None)
    RI.run_emergence(run, item)
    assert item.status == "done"
    rows = json.loads((tmp_path / "tables" / "emergence.json").read_text())
    assert sorted((r["bias"], r["seed"]) for r in rows) == [(False, 0), (False, 1),
                                                            (True, 0), (True, 1)]
    assert all(r["matches"] == (r["k"] == r["predicted"]) for r in rows)
    text = (tmp_path / "tables" / "emergence.md").read_text()
    assert text.count("\n| ") == 6 and "Random starts only" in text  # header, rule, 4 runs
    assert (tmp_path / "figures" / "emergence.png").is_file()
    note = "\n".join(IX.closing_note([item], run.state))
    assert "Bottleneck from random starts (shift_autoencoder_1d, L = 3)" in note
    assert run.state.emergence["summary"] in note and "of 2 verified" in note
    assert PLANS["default"].emergence_seeds >= 5 and PLANS["quick"].emergence_seeds == 0
