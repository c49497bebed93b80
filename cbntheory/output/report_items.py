"""The work items of ``cbn report``: each runner computes one thing, writes its files at once
and records its status on the item (see :mod:`cbntheory.output.report`)."""
from __future__ import annotations

import json
from typing import Any

from .. import _validate as V
from ..results import INFEASIBLE
from .files import to_plain
from .report_index import checks_markdown, slug


def run_check(run: Any, item: Any, entry: Any) -> None:
    """One proof check (never raises: an exception becomes the verdict ``error``)."""
    from .. import checks as proofs

    future = run.check_futures.get(entry.module)
    result = None
    if future is not None:
        try:
            result = future.result()
        except Exception as exc:  # the worker died: run the check here instead
            item.message = f"pool failed ({type(exc).__name__}); run in the main process. "
    if result is None:
        result = proofs.run(entry, quick=run.plan.check_quick)
    run.state.check_runs.append(result)
    item.status = result.verdict
    rep = result.report
    if rep is None:
        item.message += f"not checked: {result.error}"
    else:
        item.message += f"{rep.kind}, smallest margin {rep.margin:.3g}, {len(rep.rows)} rows"
    run.write("checks.md", checks_markdown(run.state.check_runs), item)
    text = json.dumps(to_plain([r.as_dict() for r in run.state.check_runs]), indent=1,
                      allow_nan=False)
    run.write("checks.json", text + "\n", item)


def _provenance(run: Any, name: str | None = None) -> dict[str, Any]:
    """The report's provenance; of one target's table when ``name`` is given (its budget)."""
    from ..measure.tables import provenance

    budget: dict[str, Any] = {"max_iter": run.plan.max_iter}
    if name is not None:
        budget["max_iter"] = run.plan.iterations(name)
    elif run.plan.target_max_iter:
        budget["target_max_iter"] = dict(run.plan.target_max_iter)
    return provenance(command=f"cbn report ({run.plan.name} plan)", seed=run.seed,
                      plan=run.plan.name, safety_time_cap=run.plan.time_limit, **budget)


def run_table(run: Any, item: Any, name: str) -> None:
    """Bound table of one target, in the four formats; the combined tables are rewritten."""
    from .. import targets
    from ..measure.tables import parse_depths, with_stored_rows
    from ..measure.tabulate import bound_table
    from .render import FORMATS, render

    target = targets.get(name)
    linear = target.kind == "operator"
    if not linear:
        try:
            target.data(quick=run.plan.quick_data)
        except Exception as exc:  # e.g. the digits without scikit-learn: not a failure
            item.status = "skipped"
            item.message = f"data unavailable: {' '.join(str(exc).split())}"
            return
    depths = (run.plan.linear_depths if linear
              else dict(run.plan.target_depths).get(name, run.plan.data_depths))

    def on_row(row: Any) -> None:
        run.state.bar.note(f"{item.key}: L = {row.depth} {row.status}")

    stored = _stored(run, name)
    todo = [L for L in parse_depths(depths) if L not in stored]
    table = None if not todo else bound_table(
        target, todo, quick=run.plan.quick_data, rng=run.seed,
        time_limit=run.plan.time_limit, max_iter=run.plan.iterations(name),
        deadline=run.deadline, on_row=on_row, executor=None if linear else run.pool())
    if stored:
        table = with_stored_rows(table, stored, run.stored_networks)
    assert table is not None  # computed, or read from the store
    from .artifacts import save_networks

    table = save_networks(table, run.dir)  # the networks behind the upper bounds
    item.files.extend(r.network_file for r in table.rows if r.network_file)
    run.state.tables[name] = table
    own, combined = _provenance(run, name), _provenance(run)
    for fmt in FORMATS:
        run.write(f"tables/{name}.{fmt}", render([table], fmt, prov=own), item)
    everything = list(run.state.tables.values())
    for fmt in FORMATS:
        run.write(f"tables/all.{fmt}", render(everything, fmt, prov=combined))
    counts = table.status_counts()
    missing = sum(n for s, n in counts.items()
                  if s in ("skipped", "time_capped", "solver_error", "infeasible"))
    item.status = "incomplete" if missing else "done"
    slope = "no slope" if table.fit is None else f"slope {table.fit.slope:.4g}"
    item.message = f"{', '.join(f'{k} {v}' for k, v in counts.items())}; {slope}"
    if stored:
        item.message += f"; {len(stored)} of {len(table.rows)} rows from the sweep store"


def _stored(run: Any, name: str) -> dict[int, Any]:
    """The depths of ``name`` a sweep store given to the report holds (``cbn report --from``):
    ``bound_row`` jobs with the report's seed, data mode, restarts and iteration budget."""
    from ..measure.tables import stored_depths

    if run.stored_rows is None:
        return {}
    return stored_depths(run.stored_rows, name, run.seed, quick=run.plan.quick_data,
                         max_iter=run.plan.iterations(name), restarts=1, epsilon=None)


def run_cost_figure(run: Any, item: Any, name: str) -> None:
    """``R/L`` and ``R`` against ``L`` (with the fitted line and ``L·Rank``) for a done table."""
    from .figures import cost_figure, norm_figure

    table = run.state.tables.get(name)
    if table is None:
        item.status, item.message = "skipped", "its table was not computed"
        return
    run.save_figure(cost_figure(table), f"cost_{slug(name)}", item)
    run.save_figure(norm_figure(table), f"norm_{slug(name)}", item)
    item.status = "done"


def _bottleneck_networks(run: Any, name: str, depth: int) -> list[tuple[Any, str, str]]:
    """``(network, description, file suffix)``: the best network found at ``depth`` (or the
    deepest row) for ``name``, then any other verified network of that row (e.g. the
    solver's when the construction was better); the construction if there is no row."""
    from .. import targets

    table = run.state.tables.get(name)
    if table is not None:
        rows = [r for r in table.rows if r.network is not None and r.depth == depth]
        rows = rows or sorted((r for r in table.rows if r.network is not None),
                              key=lambda r: r.depth)[-1:]
        if rows:
            row = rows[0]
            source = row.message.split(";")[0] if row.message else row.solver
            out = [(row.network, f"L = {row.depth}, {source}, ||theta||^2 = {row.upper:.5g}",
                    "")]
            for solver, net in row.networks.items():
                if net is not row.network:
                    kind = "construction" if solver == "cbn_construction" else "solver"
                    out.append((net, f"L = {row.depth}, {solver} (not the best bound), "
                                f"||theta||^2 = {net.param_norm():.5g}", f"_{kind}"))
            return out
    target = targets.get(name)
    arch = target.architecture(depth, quick=run.plan.quick_data)
    built = target.construction(depth, quick=run.plan.quick_data, bias_aware=arch.bias)
    if built is None:
        raise V.fail("bottleneck target", "have a table row or a construction at depth "
                     f"{depth}", name)
    kind = "bias-aware CBN construction" if arch.bias else "explicit CBN construction"
    return [(built.network, f"L = {depth}, {kind}, ||theta||^2 = "
             f"{built.norm:.5g}", "")]


def run_bottleneck(run: Any, item: Any) -> None:
    """Weight singular values and activation energy of the best deep networks (T5, T6)."""
    from .. import targets
    from ..measure.structure import analyze_structure
    from .figures import activation_energy_figure, weight_spectra_figure

    name, depth = run.plan.bottleneck
    data = targets.get(name).data(quick=run.plan.quick_data)
    if data is None:
        raise V.fail("bottleneck target", "have data to feed the network", name)
    X = data[0]
    sections = ["# Structure of the networks drawn in the bottleneck figures"]
    for k, (net, source, suffix) in enumerate(_bottleneck_networks(run, name, depth)):
        title = f"{name}: {source}"
        run.save_figure(weight_spectra_figure(net, title=title), f"bottleneck_weights{suffix}",
                        item)
        run.save_figure(activation_energy_figure(net, X, title=title),
                        f"bottleneck_activations{suffix}", item)
        report = analyze_structure(net, X)
        sections.append(f"## {title}\n\n```\n{report.render()}\n```")
        run.write("tables/bottleneck_structure.md", "\n\n".join(sections) + "\n", item)
        if k == 0:
            est, w_est = report.estimate, report.weights_estimate
            run.state.bottleneck = {
                "source": title,
                "summary": f"activations span {est.total} = {est.describe()}, weights keep "
                           f"{w_est.total} = {w_est.describe()} (Rank_CBN = "
                           f"{targets.get(name).rank_cbn})"}
            item.message = title
    item.status = "done"


def run_emergence(run: Any, item: Any) -> None:
    """Whether the bottleneck emerges from random starts, over seeds (issue 15)."""
    from .. import targets
    from ..measure.emergence import emergent_bottleneck
    from .figures import emergence_figure

    name, depth = run.plan.bottleneck
    em = emergent_bottleneck(targets.get(name), depth, seeds=run.plan.emergence_seeds,
                             quick=run.plan.quick_data, max_iter=run.plan.max_iter)
    lines = [f"# Does the bottleneck emerge on its own? {name}, L = {depth}", "",
             f"Random starts only (no construction, no neighbouring depth), seeds 0-"
             f"{run.plan.emergence_seeds - 1}, {em.max_iter} iterations each. Rule: {em.rule}.",
             "", "| biases | seed | verified | norm | layer | sum k | k | = prediction |",
             "| --- | ---: | --- | ---: | ---: | ---: | --- | --- |"]
    for r in em.rows():
        lines.append(f"| {'yes' if r['bias'] else 'no'} | {r['seed']} | {r['verified']} | "
                     f"{r['norm']:.6g} | {r['layer']} | {r['total']} | {r['k']} | "
                     f"{r['matches']} |")
    summary = []
    for bias in sorted(em.predicted):
        hits, done = em.rate(bias)
        summary.append(f"{'with' if bias else 'without'} biases the predicted k = "
                       f"{em.predicted[bias].tolist()} emerged in {hits} of {done} verified "
                       "networks")
    lines += ["", "Emerged: " + "; ".join(summary) + "."]
    run.write("tables/emergence.md", "\n".join(lines) + "\n", item)
    run.write("tables/emergence.json", json.dumps(to_plain(em.rows()), indent=1) + "\n", item)
    run.save_figure(emergence_figure(em), "emergence", item)
    run.state.emergence = {"target": name, "depth": depth, "summary": "; ".join(summary)}
    item.message = "; ".join(summary)
    item.status = "done"


def run_linear_bottleneck(run: Any, item: Any) -> None:
    """Weights of the balanced factorisation of a linear target: the exact optimum (T1)."""
    from .. import targets
    from ..nets.architecture import Architecture
    from ..nets.network import Network
    from ..theory.linear import balanced_factorization
    from .figures import weight_spectra_figure

    name, depth = "bandlimited_1d", 8
    A = targets.get(name).operator()
    if A is None:
        raise V.fail("target", "be a linear operator", name)
    layers = balanced_factorization(A, depth)
    channels = (A.in_channels,) + tuple(lay.out_channels for lay in layers)
    arch = Architecture(A.spatial_shape, channels, activation="linear", bias=False)
    net = Network(arch, [lay.kernel for lay in layers], [])
    total = sum(lay.param_norm() for lay in layers)
    title = f"{name}: balanced factorisation, L = {depth}, ||theta||^2 = {total:.5g} (exact)"
    run.save_figure(weight_spectra_figure(net, title=title), "linear_bottleneck_weights", item)
    item.status, item.message = "done", title


def _comparison_markdown(comparisons: list[Any]) -> str:
    lines = ["# T7: R(f; L) with and without down-sampling in the middle layers", "",
             "Upper bounds of R (status in parentheses); down-sampling by the stride after "
             "the first hidden layer, zero-insertion up-sampling before the last layer. "
             "`infeasible`: certified that no network of that architecture reproduces the "
             "data (the row's message in downsampling.json gives the certificate).", "",
             "| target | aliasing | L | R (full resolution) | R (down-sampled) | ratio |",
             "| --- | --- | ---: | --- | --- | ---: |"]

    def show(r: Any) -> str:
        return f"{'—' if r.upper is None else f'{r.upper:.5g}'} ({r.status})"
    for c in comparisons:
        for a, b, (_, q) in zip(c.plain, c.downsampled, c.ratios()):
            lines.append(f"| {c.target} | {c.aliasing} | {a.depth} | {show(a)} | {show(b)} | "
                         f"{'—' if q is None else f'{q:.4g}'} |")
    return "\n".join(lines) + "\n"


def _comparison_json(run: Any, item: Any) -> str:
    """The T7 rows as JSON tables ``cbn verify`` reads, their networks saved beside them."""
    from .artifacts import save_row_networks

    tables = []
    for c in run.state.comparisons:
        for variant, rows in (("plain", c.plain), ("downsampled", c.downsampled)):
            saved = save_row_networks(rows, run.dir, f"{c.target}_s{c.stride}_{variant}")
            item.files.extend(r.network_file for r in saved
                              if r.network_file and r.network_file not in item.files)
            tables.append({
                "target": c.target, "variant": variant, "stride": c.stride,
                "aliasing": c.aliasing, "collide": c.collide,
                "provenance": {"quick": bool(run.plan.quick_data)},
                "rows": [{"depth": r.depth, "lower": r.lower, "upper": r.upper,
                          "status": r.status, "residual": r.residual, "message": r.message,
                          "network_file": r.network_file or None} for r in saved]})
    return json.dumps(to_plain({"tables": tables}), indent=1) + "\n"


def run_downsampling(run: Any, item: Any) -> None:
    """T7 comparison for the plan's (target, stride) pairs: table and figure."""
    from ..measure.tabulate import downsampling_comparison
    from .figures import downsampling_figure

    plain: dict[str, Any] = {}  # a target's plain rows are solved once, for every stride
    for name, stride in run.plan.downsampling:
        run.state.bar.note(f"{item.key}: {name}, stride {stride}")
        comp = downsampling_comparison(
            name, stride, run.plan.downsampling_depths, quick=run.plan.quick_data,
            seed=run.seed, time_limit=run.plan.time_limit, max_iter=run.plan.max_iter,
            deadline=run.deadline, width=run.plan.downsampling_width,
            executor=run.pool(), plain=plain.get(name))
        plain.setdefault(name, comp.plain)
        run.state.comparisons.append(comp)
        run.write("tables/downsampling.md", _comparison_markdown(run.state.comparisons), item)
        run.write("tables/downsampling.json", _comparison_json(run, item), item)
    run.save_figure(downsampling_figure(run.state.comparisons), "downsampling", item)
    item.status, item.message = _comparison_status(run.state.comparisons)


def _comparison_status(comparisons: list[Any]) -> tuple[str, str]:
    """The T7 item's status and message: a certified infeasible row is an answer
    (``R = inf``), not a missing one."""
    rows = [r for c in comparisons for r in c.plain + c.downsampled]
    infeasible = sum(r.status == INFEASIBLE for r in rows)
    missing = sum(r.upper is None and r.status != INFEASIBLE for r in rows)
    return ("incomplete" if missing else "done",
            f"{len(comparisons)} comparisons"
            + (f", {missing} solves without an upper bound" if missing else "")
            + (f", {infeasible} rows certified infeasible (no network of that "
               "width reproduces the data)" if infeasible else ""))
