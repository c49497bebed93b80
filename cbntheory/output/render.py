"""Writing bound tables as Markdown, LaTeX (booktabs), CSV and JSON, each with provenance.

Every format carries the same columns (:data:`COLUMNS`) and the same provenance:
package and solver versions, platform, creation time, the named tolerances, and per
table the seeds, the solvers and the number of rows per status.

* ``md``: a provenance list, a summary table (per target the certified ``R0`` interval,
  ``R/L`` at the largest depth, the fitted slope and the slope by construction next to
  ``Rank_J`` and ``Rank_CBN``), then one section per target with the object it measures,
  its table and notes for every row that is not a closed interval.  Missing values print
  as ``—``.
* ``tex``: provenance as ``%`` comments, then one ``table`` environment per target using
  ``\\toprule``/``\\midrule``/``\\bottomrule`` (needs ``\\usepackage{booktabs}``); missing
  values print as ``---`` (an em dash in TeX).
* ``csv``: provenance as leading ``# key: value`` lines, then one header line and one row
  per (target, depth), numbers at full precision (``repr``), missing values empty.
* ``json``: ``{"provenance": ..., "tables": [...]}``, missing values ``null``, infinite
  ones ``"inf"`` (:func:`cbntheory.output.files.to_plain`).

Examples
--------
>>> import csv, io, json
>>> import numpy as np
>>> from cbntheory.measure.tabulate import operator_table
>>> from cbntheory.operators import ConvOperator
>>> A = ConvOperator(np.array([[[2.0, 1.0, 0.0, 1.0]]]))
>>> table = operator_table("toy", A, depths=[1, 2, 3, 4])
>>> data = json.loads(render([table], "json"))
>>> [row["upper"] == row["lower"] for row in data["tables"][0]["rows"]]
[True, True, True, True]
>>> text = render([table], "csv")
>>> rows = list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))
>>> bool(np.isclose(float(rows[3]["upper"]), table.rows[3].upper, rtol=1e-15))
True
"""
from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from .. import _validate as V
from ..measure.tables import BoundTable, provenance
from .files import to_plain

FORMATS: tuple[str, ...] = ("md", "tex", "csv", "json")

#: (record key, Markdown/CSV heading, LaTeX heading) of the per-depth columns.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("depth", "L", "$L$"),
    ("lower", "lower", "lower"),
    ("upper", "upper", "upper"),
    ("status", "status", "status"),
    ("residual", "residual", "residual"),
    ("source", "upper from", "upper from"),
    ("lower_source", "lower from", "lower from"),
    ("conditional_lower", "open-set T2 (conditional)", "open-set T2 (conditional)"),
    ("r_over_l", "R/L", "$R/L$"),
    ("l_rank_j", "L·Rank_J", r"$L\,\mathrm{Rank}_J$"),
    ("l_rank_cbn", "L·Rank_CBN", r"$L\,\mathrm{Rank}_{\mathrm{CBN}}$"),
    ("excess", "R − L·R0", r"$R - L R_0$"),
    ("r1_bound", "lower bound on R1", r"lower bound on $R_1$"),
    ("t1_excess", "R1 + R2/L (T1)", r"$R_1 + R_2/L$ (T1)"),
)
CSV_FIELDS: tuple[str, ...] = (("target",) + tuple(c[0] for c in COLUMNS)
                               + ("rank_j", "rank_cbn", "r0", "slope", "slope_depths",
                                  "solver", "seed", "wall_time", "message", "object", "r0_low",
                                  "r0_high", "slope_by_construction"))
MISSING_TEXT = "—"
MISSING_TEX = "---"


def _num(value: Any, digits: int = 6) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return f"{value:.{digits}g}"
    return str(value)


def table_provenance(table: BoundTable) -> dict[str, Any]:
    """Per-table provenance: seeds, solvers, statuses and the measurement options."""
    solvers = sorted({part for row in table.rows for part in row.solver.split("; ") if part})
    return {"seeds": table.seeds(), "solvers": solvers, "statuses": table.status_counts(),
            **dict(table.info)}


def _fit_text(table: BoundTable) -> str:
    if table.fit is None:
        text = ("no slope (fewer than three depths whose upper bounds come from one solver or "
                "closed form)")
    else:
        text = (f"fitted slope {table.fit.slope:.4g} ({table.fit.method}; rms "
                f"{table.fit.rms:.2g})")
    con = table.construction_fit
    if con is not None:
        text += (f"; slope {con.slope:.4g} by construction at L = "
                 f"{', '.join(map(str, con.depths))} (fixed by the construction's design, "
                 "not evidence)")
    return text


def _r0_text(table: BoundTable) -> str:
    """``certified R0 in [a, b] (how); at L = n, R/L in [c, d]`` (the certified statement)."""
    def show(x: float | None, default: str) -> str:
        return default if x is None else f"{x:.4g}"
    text = (f"certified R0 in [{show(table.r0_low, '—')}, {show(table.r0_high, '∞')}]"
            + (f" ({table.r0_how})" if table.r0_how else ""))
    row = table.deepest()
    if row is not None and row.upper is not None:
        low = None if row.lower is None else row.lower / row.depth
        text += (f"; measured at L = {row.depth}: {table.object_name}/L in "
                 f"[{show(low, '—')}, {row.upper / row.depth:.4g}]")
    return text


def _ranks_text(table: BoundTable) -> str:
    def show(x: Any) -> str:
        return MISSING_TEXT if x is None else _num(x) or MISSING_TEXT
    linear = table.kind == "operator" and table.activation == "linear"
    rank_j = "" if linear else " (rank of the curve's Jacobian on the data, not a certified bound)"
    r0 = "exact, T1" if linear else "reference value Rank_J, not certified"
    obj = (f"object {table.object_name}: exact interpolation" if table.epsilon is None
           else f"object {table.object_name}: networks within eps of the data; lower bounds "
                "with the 2 eps slack")
    r1 = table.info.get("regularity_bound") or "none"
    return (f"{obj}; Rank_J = {show(table.rank_j)}{rank_j}, Rank_CBN = {show(table.rank_cbn)}, "
            f"R0 = {show(table.r0)} in the excess column ({r0}); lower bound on R1: {r1}; "
            f"{_r0_text(table)}")


def _short(text: str, n: int = 240) -> str:
    """``text`` on one line; a longer one keeps its whole words within ``n`` characters
    and points to the full text (``textwrap.shorten``: never cut mid-word).

    Examples
    --------
    >>> _short("the explicit construction forces g(x_0) to have trivial stabiliser", 30)
    'the explicit construction [...] (full text: --format json)'
    """
    tail = " [...] (full text: --format json)"
    return textwrap.shorten(text, n + len(tail), placeholder=tail)


def _prov_lines(prov: Mapping[str, Any]) -> list[tuple[str, str]]:
    versions = prov.get("versions", {})
    out = [("package", f"{prov.get('package')} {prov.get('version')}"),
           ("python", f"{prov.get('python')} on {prov.get('platform')}"),
           ("versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
           ("tolerances", ", ".join(f"{k} = {v:g}" for k, v in prov.get("tolerances", {}).items())),
           ("created", str(prov.get("created")))]
    out += [(k, str(v)) for k, v in prov.items()
            if k not in ("package", "version", "python", "platform", "versions", "tolerances",
                         "created")]
    return out


# ---------------------------------------------------------------------- Markdown
def _md_cell(value: Any) -> str:
    text = _num(value)
    return MISSING_TEXT if text is None else text.replace("|", "\\|")


def summary_markdown(tables: Sequence[BoundTable]) -> str:
    """Markdown table: per target, Rank_J, Rank_CBN, the fitted slope and the statuses."""
    lines = ["| target | Rank_J | Rank_CBN | certified R0 | R/L at the largest L "
             "| slope of R against L (solver, closed form) | depths fitted "
             "| slope by construction | statuses |",
             "| --- | ---: | ---: | --- | --- | ---: | --- | ---: | --- |"]
    for t in tables:
        slope = None if t.fit is None else t.fit.slope
        depths = MISSING_TEXT if t.fit is None else ", ".join(map(str, t.fit.depths))
        con = None if t.construction_fit is None else round(t.construction_fit.slope, 4)
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(t.status_counts().items()))
        r0 = (MISSING_TEXT if t.r0_low is None and t.r0_high is None else
              f"[{_md_cell(t.r0_low)}, {'∞' if t.r0_high is None else _md_cell(t.r0_high)}]")
        row = t.deepest()
        at = MISSING_TEXT if row is None or row.upper is None else (
            f"L = {row.depth}: [{_md_cell(None if row.lower is None else row.lower / row.depth)}"
            f", {_md_cell(row.upper / row.depth)}]")
        lines.append(f"| {t.target} | {_md_cell(t.rank_j)} | {_md_cell(t.rank_cbn)} | {r0} | "
                     f"{at} | {_md_cell(None if slope is None else round(slope, 4))} | {depths} "
                     f"| {_md_cell(con)} | {statuses} |")
    return "\n".join(lines)


def table_markdown(table: BoundTable, level: int = 2) -> str:
    """One target's section: heading, ranks, the depth table, notes and its provenance."""
    head = "#" * level
    lines = [f"{head} {table.target}: {table.title}", ""]
    if table.description:
        lines += [" ".join(table.description.split()), ""]
    lines += [f"{_ranks_text(table)}; {_fit_text(table)}.", ""]
    lines.append("| " + " | ".join(c[1] for c in COLUMNS) + " |")
    lines.append("| " + " | ".join("---:" if c[0] != "status" else "---" for c in COLUMNS) + " |")
    for rec in table.records():
        lines.append("| " + " | ".join(_md_cell(rec[c[0]]) for c in COLUMNS) + " |")
    notes = [f"- L = {r.depth} ({r.status}): {_short(r.message)}" for r in table.rows
             if r.status != "optimal" and r.message]
    if notes:
        lines += ["", "Notes:", ""] + notes
    prov = table_provenance(table)
    lines += ["", "Provenance: " + "; ".join(f"{k} {to_plain(v)}" for k, v in prov.items())]
    return "\n".join(lines)


def to_markdown(tables: Sequence[BoundTable], prov: Mapping[str, Any]) -> str:
    """The Markdown document (see the module docstring)."""
    lines = ["# Bound tables: R(f; Omega, L) against depth x rank", "",
             "Columns: certified interval [lower, upper] of R(f; Omega, L) (the object each "
             "table names: exact interpolation unless it says R_eps) and its status; the "
             "relative residual of the network behind the upper bound and where the upper "
             "bound comes from (closed_form, solver, construction, convex); R/L = upper/L; "
             "L·Rank_J and L·Rank_CBN (on finite data Rank_J is the rank of the curve's "
             "Jacobian, not a certified bound); R − L·R0 = upper − L·R0 against a lower bound "
             "on R1 (its source is named per table) and, for linear targets, T1's R1 + R2/L. "
             "Slopes only through at least three depths whose upper bounds come from one "
             "solver or closed form; a construction's slope is marked 'by construction'. "
             f"{MISSING_TEXT} = not available.", "", "Provenance:", ""]
    lines += [f"- {k}: {v}" for k, v in _prov_lines(prov)]
    lines += ["", "## Summary", "", summary_markdown(tables)]
    for table in tables:
        lines += ["", table_markdown(table)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- LaTeX
_TEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                "\\": r"\textbackslash{}", "—": "---", "−": "-", "·": r"$\cdot$",
                "∞": r"$\infty$", "|": r"$|$", "<": r"$<$", ">": r"$>$", "≤": r"$\le$",
                "≥": r"$\ge$", "±": r"$\pm$", "≈": r"$\approx$", "×": r"$\times$",
                "→": r"$\to$", "²": r"$^2$", "ε": r"$\varepsilon$", "Ω": r"$\Omega$"}
#: Two-character ASCII spellings that mean one mathematical sign in the captions.
_TEX_PAIRS = {"<=": r"$\le$", ">=": r"$\ge$", "+-": r"$\pm$", "->": r"$\to$"}


def tex_escape(text: str) -> str:
    r"""Text for LaTeX's text mode: specials escaped, signs set in math mode.

    ``|``, ``<``, ``>``, ``<=``, ``>=``, ``+-`` and the Unicode signs the tables use become
    math (text-mode ``<`` prints as an inverted exclamation mark in the default fonts).

    Examples
    --------
    >>> tex_escape("a_b & 50%")
    'a\\_b \\& 50\\%'
    >>> tex_escape("|m| <= 3, +-1")
    '$|$m$|$ $\\le$ 3, $\\pm$1'
    """
    out = []
    i = 0
    while i < len(text):
        pair = _TEX_PAIRS.get(text[i:i + 2])
        if pair is not None:
            out.append(pair)
            i += 2
            continue
        out.append(_TEX_SPECIAL.get(text[i], text[i]))
        i += 1
    return "".join(out)


def _tex_cell(value: Any) -> str:
    text = _num(value)
    return MISSING_TEX if text is None else tex_escape(text)


def table_latex(table: BoundTable) -> str:
    """One booktabs ``table`` environment for one target."""
    spec = "".join("l" if c[0] == "status" else "r" for c in COLUMNS)
    caption = tex_escape(f"{table.target}: {table.title}. {_ranks_text(table)}; "
                         f"{_fit_text(table)}.")
    label = "".join(ch if ch.isalnum() else "-" for ch in table.target)
    prov = table_provenance(table)
    lines = [f"% {tex_escape(k)}: {to_plain(v)}" for k, v in prov.items()]
    lines += [r"\begin{table}[ht]", r"\centering", r"\small",
              rf"\caption{{{caption}}}", rf"\label{{tab:cbn-{label}}}",
              rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
              " & ".join(c[2] for c in COLUMNS) + r" \\", r"\midrule"]
    for rec in table.records():
        lines.append(" & ".join(_tex_cell(rec[c[0]]) for c in COLUMNS) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def to_latex(tables: Sequence[BoundTable], prov: Mapping[str, Any]) -> str:
    """The LaTeX fragment (see the module docstring)."""
    lines = ["% Bound tables written by cbntheory; needs \\usepackage{booktabs}.",
             "% Missing values (no certified lower bound, failed solves) print as ---."]
    lines += [f"% {k}: {v}" for k, v in _prov_lines(prov)]
    for table in tables:
        lines += ["", table_latex(table)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- CSV and JSON
def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def to_csv(tables: Sequence[BoundTable], prov: Mapping[str, Any]) -> str:
    """The CSV text (see the module docstring)."""
    out = io.StringIO()
    for k, v in _prov_lines(prov):
        out.write(f"# {k}: {v}\n")
    for t in tables:
        out.write(f"# table {t.target}: " + "; ".join(
            f"{k} {to_plain(v)}" for k, v in table_provenance(t).items()) + "\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for t in tables:
        slope = None if t.fit is None else t.fit.slope
        depths = "" if t.fit is None else " ".join(map(str, t.fit.depths))
        con = None if t.construction_fit is None else t.construction_fit.slope
        for rec in t.records():
            extra = {"target": t.target, "rank_j": t.rank_j, "rank_cbn": t.rank_cbn,
                     "r0": t.r0, "slope": slope, "slope_depths": depths,
                     "message": _short(rec["message"], 400), "object": t.object_name,
                     "r0_low": t.r0_low, "r0_high": t.r0_high, "slope_by_construction": con}
            writer.writerow([_csv_value(extra[f] if f in extra else rec[f]) for f in CSV_FIELDS])
    return out.getvalue()


def table_dict(table: BoundTable) -> dict[str, Any]:
    """Plain-data form of one table (the JSON entry)."""
    def fit_dict(fit: Any) -> dict[str, Any] | None:
        return None if fit is None else {
            "slope": fit.slope, "intercept": fit.intercept, "depths": list(fit.depths),
            "rms": fit.rms, "source": fit.source, "method": fit.method}
    return to_plain({"target": table.target, "title": table.title,
                   "description": table.description, "kind": table.kind,
                   "activation": table.activation, "object": table.object_name,
                   "epsilon": table.epsilon, "rank_j": table.rank_j,
                   "rank_cbn": table.rank_cbn, "r0": table.r0, "r1_bound": table.r1_bound,
                   "r1_source": table.info.get("regularity_bound"), "r2": table.r2,
                   "r0_certified": {"low": table.r0_low, "high": table.r0_high,
                                    "how": table.r0_how},
                   "fit": fit_dict(table.fit),
                   "fit_by_construction": fit_dict(table.construction_fit),
                   "provenance": table_provenance(table), "rows": table.records()})


def to_json(tables: Sequence[BoundTable], prov: Mapping[str, Any]) -> str:
    """The JSON text (see the module docstring)."""
    doc = {"provenance": to_plain(prov), "tables": [table_dict(t) for t in tables]}
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def render(tables: Sequence[BoundTable], fmt: str, *,
           prov: Mapping[str, Any] | None = None) -> str:
    """Render bound tables in one of :data:`FORMATS`.

    Parameters
    ----------
    tables : sequence of BoundTable
    fmt : {"md", "tex", "csv", "json"}
    prov : mapping, optional
        Document provenance; default :func:`cbntheory.measure.tables.provenance`.

    Returns
    -------
    str
    """
    if fmt not in FORMATS:
        raise V.fail("format", f"be one of {FORMATS}", fmt)
    prov = provenance() if prov is None else prov
    writer = {"md": to_markdown, "tex": to_latex, "csv": to_csv, "json": to_json}[fmt]
    return writer(list(tables), prov)
