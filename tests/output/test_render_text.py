"""Rendered text: LaTeX that compiles (specials escaped, signs in math mode) and Markdown
notes that are never cut mid-word.  The checks scan the output character by character."""
from __future__ import annotations

import re

from cbntheory.measure.tables import BoundTable, DepthRow
from cbntheory.output.render import render

TITLE = "band-limited, |m| <= 3 & 50% of x_0 ~ {y} # ±1 → R ≥ L·Rank, ε²"
MESSAGE = ("the explicit construction forces g(x_0) to have trivial stabiliser, " * 12).strip()


def _table():
    rows = (DepthRow(2, 2.0, 9.0, "not_certified", MESSAGE, "solver_x"),
            DepthRow(3, 3.0, 12.0, "not_certified", "short", "solver_x"))
    return BoundTable("my_target", TITLE, "desc with | and <", "data", "relu", 1, 3, 1.0, None,
                      None, rows, None, {})


def _outside_math(line):
    assert line.count("$") % 2 == 0, line            # every math group is closed
    return re.sub(r"\$[^$]*\$", "", line)


def _check_text_mode(text):
    plain = _outside_math(text)
    for bad in "|<>≤≥±→²ε·":
        assert bad not in plain, (bad, text)         # would print wrong in text mode
    for ch in "_&%#{}":
        for m in re.finditer(re.escape(ch), plain):
            assert plain[m.start() - 1] == "\\" or (ch in "{}" and _is_command_brace(plain, m)), \
                (ch, plain)


def _is_command_brace(text, m):
    """A brace that belongs to a command such as ``\\caption{`` or ``\\textasciitilde{}``."""
    before = text[:m.start()]
    return bool(re.search(r"\\[a-zA-Z]+(\{[^{}]*\})*$", before)) or before.endswith("{") \
        or text[m.start():m.start() + 2] == "}" and before.rstrip().endswith("{")


def test_latex_caption_and_cells_are_escaped():
    tex = render([_table()], "tex", prov={})
    caption = next(ln for ln in tex.splitlines() if ln.startswith(r"\caption{"))
    assert caption.endswith("}")
    body = caption[len(r"\caption{"):-1]
    _check_text_mode(body)
    assert r"$|$m$|$ $\le$ 3" in body and r"\&" in body and r"x\_0" in body
    assert r"$\pm$1" in body and r"$\ge$" in body and r"$\cdot$" in body
    for line in tex.splitlines():
        if line.endswith(r" \\") and not line.startswith("\\"):
            for cell in line[:-3].split(" & "):
                _check_text_mode(cell)
    assert tex.count(r"\begin{table}") == tex.count(r"\end{table}") == 1


def test_markdown_notes_end_on_whole_words():
    md = render([_table()], "md", prov={})
    note = next(ln for ln in md.splitlines() if ln.startswith("- L = 2"))
    kept = note.split(": ", 1)[1]
    assert kept.endswith(" [...] (full text: --format json)")
    words = kept[:-len(" [...] (full text: --format json)")].split()
    assert words == MESSAGE.split()[:len(words)] and len(words) > 5   # whole words, in order
    assert MESSAGE in render([_table()], "json", prov={})              # the full text


def test_checks_markdown_shows_both_intervals_and_explains_margins():
    from types import SimpleNamespace

    from cbntheory.checks.verdicts import compare_equal, interval_row, summarize
    from cbntheory.output.report_index import checks_markdown

    rows = [interval_row("layer 2 span count", 5.0, 12.0, 1.0, 3.0),
            compare_equal("an identity", 1.0, 1.0 + 1e-15)]
    report = summarize("T6", "demo", "conjectural", rows)
    run = SimpleNamespace(entry=SimpleNamespace(label="T6", kind="conjectural", title="demo"),
                          report=report, verdict=report.verdict, seconds=0.1, error="")
    text = checks_markdown([run])
    line = next(ln for ln in text.splitlines() if ln.startswith("| layer 2 span count"))
    assert "| [5, 12] | in | [1, 3] |" in line
    assert "tiny negative margin and still holds" in text
