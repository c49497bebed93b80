"""Markdown of ``cbn report``: the items and their state, ``checks.md``, ``index.md`` and the
closing note.  The runners that fill the state live in :mod:`cbntheory.output.report_items`;
the run itself in :mod:`cbntheory.output.report`."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..results import INFEASIBLE
from .progress import duration

#: Item statuses besides the check verdicts.
ITEM_STATUSES = ("pending", "running", "done", "incomplete", "skipped", "failed")


@dataclasses.dataclass
class Item:
    """One unit of work of the report and what became of it (mutable while the run goes)."""

    key: str
    section: str
    title: str
    fn: Callable[[Item], None] = dataclasses.field(repr=False)
    status: str = "pending"
    files: list[str] = dataclasses.field(default_factory=list)
    message: str = ""
    seconds: float = 0.0


@dataclasses.dataclass
class State:
    """Results gathered so far (the index is rendered from them)."""

    plan_name: str
    seed: int
    check_runs: list[Any] = dataclasses.field(default_factory=list)
    tables: dict[str, Any] = dataclasses.field(default_factory=dict)
    comparisons: list[Any] = dataclasses.field(default_factory=list)
    bottleneck: dict[str, Any] = dataclasses.field(default_factory=dict)
    emergence: dict[str, Any] = dataclasses.field(default_factory=dict)
    finished: bool = False
    bar: Any = None
    #: Stopped by Ctrl-C or SIGTERM (the index then says "interrupted", not "finished").
    interrupted: bool = False


def slug(text: str) -> str:
    """File-name friendly form of an item key."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _margin(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{float(value):.3g}"


# ---------------------------------------------------------------------- checks.md
def _row_value(row: Any, key: str) -> str:
    value = row.get(key)
    if isinstance(value, float):
        return _margin(value)
    return "—" if value is None else _cell(value)


def checks_markdown(runs: Sequence[Any]) -> str:
    """Verdict table of every check run, then the rows (the evidence) of each."""
    lines = ["# Checks of the statements of docs/theory.md", "",
             "Exact statements: holds / violated (to the stated tolerance). Conjectural "
             "ones: consistent / violated / not_certified, judged on certified intervals; "
             "their rows below are the evidence. `error`: the check raised (message given). "
             "Margins: rhs − lhs for an inequality lhs <= rhs; −|lhs − rhs| for an equality, "
             "so an equality that holds to round-off shows a tiny negative margin and still "
             "holds (a row fails only beyond the stated tolerance); for a claimed interval, "
             "the distance from the certified interval to the claim's nearer end.",
             "", "| statement | kind | verdict | smallest margin | rows | seconds | what |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for r in runs:
        rep = r.report
        kind = rep.kind if rep is not None else r.entry.kind
        margin = _margin(rep.margin) if rep is not None else "—"
        n = len(rep.rows) if rep is not None else 0
        lines.append(f"| {r.entry.label} | {kind} | {r.verdict} | {margin} | {n} | "
                     f"{r.seconds:.1f} | {_cell(r.entry.title)} |")
    for r in runs:
        rep = r.report
        lines += ["", f"## {r.entry.label}: {r.entry.title}", ""]
        if rep is None:
            lines.append(f"Not checked: {_cell(r.error)}")
            continue
        lines += [f"{rep.kind}, verdict **{rep.verdict}**, smallest margin {_margin(rep.margin)}."
                  + (f" {_cell(rep.message)}" if rep.message else ""), ""]
        rows = list(rep.rows)
        if rep.kind == "exact" and len(rows) > 12:  # the worst rows; all of them in checks.json
            rows = sorted(rows, key=lambda row: float(row.get("margin", 0.0)))[:12]
            lines += [f"The 12 rows of smallest margin out of {len(rep.rows)} (all in "
                      "checks.json):", ""]
        lines += ["| case | lhs | relation | rhs | margin | verdict |",
                  "| --- | ---: | --- | ---: | ---: | --- |"]
        for row in rows:
            lhs, relation, rhs = _sides(row)
            lines.append(f"| {_row_value(row, 'case')} | {lhs} | {relation} | {rhs} | "
                         f"{_row_value(row, 'margin')} | {_row_value(row, 'verdict')} |")
    return "\n".join(lines) + "\n"


def _sides(row: Any) -> tuple[str, str, str]:
    """The two sides of a row: ``lhs <= rhs`` as given, and for a conjectural claim the
    certified interval of the measured value against the claimed interval (an interval row
    stores the measured interval in ``lhs``/``rhs``, which alone would read "5 in 12")."""
    if "claim_low" in row:
        measured = f"[{_row_value(row, 'lhs')}, {_row_value(row, 'rhs')}]"
        claim = f"[{_row_value(row, 'claim_low')}, {_row_value(row, 'claim_high')}]"
        return measured, "in", claim
    return _row_value(row, "lhs"), _cell(row.get("relation", "in")), _row_value(row, "rhs")


# ---------------------------------------------------------------------- closing note
def _sources(t: Any) -> str:
    """Where the best upper bounds came from, by depth, e.g. ``"solver at L = 2, 3"``."""
    by: dict[str, list[str]] = {}
    for row in t.rows:
        if row.upper is not None:
            by.setdefault(row.source or "unknown", []).append(str(row.depth))
    return "; ".join(f"{k} at L = {', '.join(v)}" for k, v in by.items()) or "none"


def _deepest(t: Any) -> str:
    """`` At L = 8, R/L lies in [a, b] (measured).`` for the deepest row with an upper bound."""
    r = t.deepest()
    if r is None:
        return ""
    low = "—" if r.lower is None else f"{r.lower / r.depth:.3g}"
    return (f" At L = {r.depth}, {t.object_name}/L lies in [{low}, {r.upper / r.depth:.3g}] "
            f"(upper from {r.source or 'unknown'}, residual {r.residual:.1g}).")


def _r0_sentence(t: Any) -> str:
    """The certified statement: ``certified R0 in [a, b] (how)``."""
    if t.r0_low is None and t.r0_high is None:
        return "no certified R0 interval"
    low = "—" if t.r0_low is None else f"{t.r0_low:g}"
    high = "∞" if t.r0_high is None else f"{t.r0_high:g}"
    return f"certified R0 in [{low}, {high}]" + (f" ({t.r0_how})" if t.r0_how else "")


def _slope_sentence(t: Any) -> str:
    if t.fit is None:
        text = "no slope (fewer than three depths whose upper bounds come from one solver or " \
               "closed form)"
    else:
        text = (f"slope of R against L {t.fit.slope:.3g} (upper bounds from {t.fit.source}, "
                f"L = {', '.join(map(str, t.fit.depths))}; an upper bound's slope, not a "
                "certified R0)")
    if t.construction_fit is not None:
        text += (f"; slope {t.construction_fit.slope:.3g} by construction (fixed by design, "
                 "not evidence)")
    return text


def _ratio_text(comp: Any) -> str:
    """``L=3: 1.82, L=4: 1.45``; a depth without a down-sampled network says why."""
    parts = []
    for (L, q), down in zip(comp.ratios(), comp.downsampled):
        if q is not None:
            parts.append(f"L={L}: {q:.3g}")
        elif down.status == INFEASIBLE:
            parts.append(f"L={L}: no down-sampled network exists (certified infeasible)")
        else:
            parts.append(f"L={L}: —")
    return ", ".join(parts)


def _table_sentence(t: Any) -> str:
    a, b = t.rank_j, t.rank_cbn
    if t.kind == "operator" and t.activation == "linear":
        head = f"- **{t.target}**: {_slope_sentence(t)}, Rank_J = Rank_CBN = {a}"
        if t.r0 is None or t.r2 is None:
            return head + "."
        return (head + f". Exact (T1): R0 = {t.r0:g}; the fitted slope differs from R0 by the "
                f"R2/L term (R2 = {t.r2:.3g}), and R - L R0 follows R1 + R2/L.")
    ranks = (f"Rank_J = {'—' if a is None else a} (rank of the curve's Jacobian on the data, "
             f"not a certified bound), Rank_CBN = {'—' if b is None else b}")
    slope = _slope_sentence(t)
    obj = "exact interpolation" if t.epsilon is None else "approximate fit"
    return (f"- **{t.target}** (object {t.object_name}, {obj}): {_r0_sentence(t)}.{_deepest(t)} "
            f"{slope[:1].upper() + slope[1:]}. {ranks}. Best upper bounds from "
            f"{_sources(t)}; statuses {t.status_counts()}.")


def closing_note(items: Sequence[Item], state: State) -> list[str]:
    """Bullets summarising what the checks, tables and figures show."""
    lines = []
    runs = state.check_runs
    if runs:
        exact = [r for r in runs if (r.report.kind if r.report else r.entry.kind) == "exact"]
        held = sum(r.verdict == "holds" for r in exact)
        conj = [r for r in runs if r not in exact]
        verdicts = ", ".join(f"{r.entry.label} {r.verdict}" for r in conj) or "none run"
        lines.append(f"- Checks: {held} of {len(exact)} exact statements hold"
                     + ("" if held == len(exact) else " (see the statuses above: "
                        + ", ".join(f"{r.entry.label} {r.verdict}" for r in exact
                                    if r.verdict != "holds") + ")")
                     + f"; conjectural: {verdicts}.")
    for t in state.tables.values():
        lines.append(_table_sentence(t))
    for c in state.comparisons:
        lines.append(f"- T7, {c.target}, {c.aliasing}: R_down/R_plain (upper bounds) "
                     f"{_ratio_text(c)}.")
    if state.bottleneck:
        lines.append(f"- Bottleneck picture ({state.bottleneck.get('source')}): "
                     f"{state.bottleneck.get('summary')}.")
    if state.emergence:
        lines.append(f"- Bottleneck from random starts ({state.emergence.get('target')}, "
                     f"L = {state.emergence.get('depth')}): {state.emergence.get('summary')}.")
    bad = [it for it in items if it.status in ("failed", "error", "violated", "incomplete",
                                               "skipped")]
    if bad:
        lines.append("- Not complete: " + "; ".join(f"{it.key} ({it.status})" for it in bad)
                     + ".")
    return lines or ["- Nothing has finished yet."]


# ---------------------------------------------------------------------- index.md
def _links(files: Sequence[str]) -> str:
    return " ".join(f"[{Path(f).suffix.lstrip('.') or f}]({f})" for f in files) or "—"


def index_markdown(items: Sequence[Item], state: State, notes: Sequence[str], elapsed: float,
                   requested: Path, directory: Path) -> str:
    """The report's front page (rewritten after every item)."""
    from .._version import __version__
    from .render import summary_markdown

    done = sum(it.status not in ("pending", "running", "interrupted") for it in items)
    run_state = ("finished" if state.finished else f"running ({done}/{len(items)} items done)")
    if state.interrupted:
        run_state = f"interrupted ({done}/{len(items)} items done; Ctrl-C or SIGTERM)"
    lines = ["# cbntheory report", "",
             f"- plan: `{state.plan_name}`, seed {state.seed}, cbntheory {__version__}",
             f"- state: {run_state}, {duration(elapsed)} elapsed",
             f"- output: `{directory}`"]
    lines += [f"- **note**: {n}" for n in notes]
    by_section: dict[str, list[Item]] = {}
    for it in items:
        by_section.setdefault(it.section, []).append(it)
    lines += ["", "## Checks", "", "Verdict per statement; evidence (rows with both sides and "
              "the margin) in [checks.md](checks.md), every row in [checks.json](checks.json).",
              "", "| item | status | seconds | message |", "| --- | --- | ---: | --- |"]
    lines += [f"| {it.key} | {it.status} | {it.seconds:.1f} | {_cell(it.message)} |"
              for it in by_section.get("checks", [])]
    lines += ["", "## Bound tables", ""]
    if state.tables:
        lines += ["Certified R0 interval, R/L at the largest depth, and the slopes of R against "
                  "L next to Rank_J and Rank_CBN (all targets in "
                  "[md](tables/all.md) [tex](tables/all.tex) [csv](tables/all.csv) "
                  "[json](tables/all.json)):", "", summary_markdown(list(state.tables.values())),
                  ""]
    lines += ["| item | status | seconds | files | message |", "| --- | --- | ---: | --- | --- |"]
    lines += [f"| {it.key} | {it.status} | {it.seconds:.1f} | {_links(it.files)} | "
              f"{_cell(it.message)} |" for it in by_section.get("tables", [])]
    lines += ["", "## Figures", ""]
    for it in by_section.get("figures", []):
        lines += [f"### {it.title}", "", f"Status: {it.status}"
                  + (f" — {it.message}" if it.message else "") + ".", ""]
        for f in it.files:
            if f.endswith(".png"):
                lines += [f"![{it.key}]({f})", ""]
        if it.files:
            lines += ["Files: " + _links(it.files), ""]
    lines += ["## Closing note", ""] + closing_note(items, state)
    return "\n".join(lines) + "\n"
