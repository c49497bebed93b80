"""Figures of the report (matplotlib, Agg canvas, no pyplot state): PNG and PDF.

* :func:`cost_figure` -- ``R(f; L)/L`` against ``L`` (interval bars where a lower bound
  is known) with the lines ``Rank_J`` and ``Rank_CBN``: the slope of ``R`` is read where
  the points settle (T2, T3).
* :func:`norm_figure` -- ``R(f; L)`` against ``L`` with the fitted line (or the
  construction's, labelled "by construction") and the lines ``L·Rank_J``, ``L·Rank_CBN``.
* :func:`weight_spectra_figure` -- layer x frequency heat map of the largest singular
  value of the frequency blocks ``c_l What_l[m]`` of a (near-optimal) network, with the
  number of values above the threshold in every cell: the bottleneck picture of T5 (a
  few values near 1 in the middle layers, the rest near 0).
* :func:`activation_energy_figure` -- layer x frequency heat map of the share of the
  activation energy at every frequency, with the per-frequency span dimension (T6).
* :func:`downsampling_figure` -- ``R/L`` with and without stride-``s`` down-sampling in
  the middle layers (T7), from :class:`cbntheory.measure.downsampling.DownsamplingComparison`.

The arrays behind the heat maps come from :func:`spectra_grid` and :func:`energy_grid`,
so that what is drawn can be checked independently.  :func:`save_figure` writes
``stem.png`` and ``stem.pdf``.  Frequencies are ordered by signed value in 1D
(``-d/2+1, ..., d/2``) and by degree ``|m1| + |m2|`` in 2D (:func:`frequency_order`).

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> import cbntheory as cbn
>>> net = cbn.Architecture((8,), (1, 2, 2, 1)).init(rng=0)
>>> grid = spectra_grid(net)
>>> grid.values.shape     # 3 layers x 8 frequencies x at most 2 singular values
(3, 8, 2)
>>> paths = save_figure(weight_spectra_figure(net), pathlib.Path(tempfile.mkdtemp()) / "w")
>>> [p.suffix for p in paths], all(p.stat().st_size > 0 for p in paths)
(['.png', '.pdf'], True)
"""
from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import _validate as V
from .. import fourier, settings

#: Resolution of the PNG files.
PNG_DPI = 150


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf``; returns the two paths."""
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=PNG_DPI)
    return paths


def frequency_order(spatial_shape: Sequence[int]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Display order of the frequencies, their labels and degrees.

    Returns
    -------
    order : ndarray of int
        Flat (C-order) frequency indices in display order.
    labels : list of str
        ``"m"`` in 1D, ``"(m1,m2)"`` in 2D (signed).
    degrees : ndarray of int
        Degree of every displayed frequency (``|m|``, or ``|m1| + |m2|``).

    Examples
    --------
    >>> order, labels, deg = frequency_order((6,))
    >>> labels, order.tolist()
    (['-2', '-1', '0', '1', '2', '3'], [4, 5, 0, 1, 2, 3])
    """
    shape = V.spatial_shape("spatial_shape", spatial_shape)
    signed = fourier.signed_frequencies(shape).reshape(-1, len(shape))
    deg = fourier.degree(shape).ravel()
    if len(shape) == 1:
        order = np.argsort(signed[:, 0], kind="stable")
        labels = [str(int(m)) for m in signed[order, 0]]
    else:
        order = np.lexsort((signed[:, 1], signed[:, 0], deg))
        labels = [f"({int(a)},{int(b)})" for a, b in signed[order]]
    return order, labels, deg[order]


# ---------------------------------------------------------------------- R(f; L)/L
def _exact(row: Any) -> bool:
    """A row whose interval is closed (lower == upper): its point is the value, not a bound."""
    return row.lower is not None and row.upper is not None and \
        abs(row.upper - row.lower) <= 1e-9 * max(1.0, abs(row.upper))


def _rank_lines(ax: Any, table: Any, scale: np.ndarray | None = None) -> None:
    """``Rank_J`` and ``Rank_CBN`` as levels (``scale`` None) or as the lines ``L Rank``."""
    ranks = [("Rank_J", table.rank_j, "C2", "--"), ("Rank_CBN", table.rank_cbn, "C3", ":")]
    if table.rank_j is not None and table.rank_j == table.rank_cbn:
        ranks = [("Rank_J = Rank_CBN", table.rank_j, "C2", "--")]
    for name, rank, colour, style in ranks:
        if rank is None:
            continue
        if scale is None:
            ax.axhline(rank, color=colour, linestyle=style, label=f"{name} = {rank}")
        else:
            ax.plot(scale, rank * scale, color=colour, linestyle=style,
                    label=f"L·{name} (= {rank} L)")


def _measured(table: Any) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray]:
    """Rows with an upper bound, their depths, upper bounds and which are exact."""
    rows = [r for r in table.rows if r.upper is not None]
    L = np.array([r.depth for r in rows], dtype=float)
    up = np.array([r.upper for r in rows], dtype=float)
    return rows, L, up, np.array([_exact(r) for r in rows], dtype=bool)


def _finish(ax: Any, depths: np.ndarray, ylabel: str, title: str, legend_size: int) -> None:
    """Integer depth ticks, a y axis from 0 (no magnified ranges around one point), the
    title, a note when nothing was measured, the legend."""
    ax.set_xlabel("depth L")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(depths):
        ax.set_xlim(min(0.5, depths.min() - 0.5), depths.max() + 0.5)
    else:
        ax.text(0.5, 0.5, "no depth measured", transform=ax.transAxes, ha="center")
    ax.set_ylim(bottom=0.0)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10 if legend_size > 6 else 8)
    ax.legend(fontsize=legend_size)


def cost_figure(table: Any) -> Figure:
    """``R/L`` against ``L`` for one :class:`cbntheory.measure.tables.BoundTable`.

    Exact values (closed intervals) are drawn as filled points labelled "exact", the
    other upper bounds as open points; where a certified lower bound below the upper one
    exists the bar spans ``[lower/L, upper/L]`` (its legend entry only when such a bar
    exists).  Horizontal lines: ``Rank_J`` and ``Rank_CBN``; for linear targets also T1's
    expansion ``R0 + R1/L + R2/L^2``.  The y axis starts at 0.
    """
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    rows, L, up, exact = _measured(table)
    up = up / np.maximum(L, 1)
    label = ("R/L (exact)" if exact.all() else "R/L (upper bound)" if not exact.any()
             else "R/L (exact where filled, else upper bound)")
    ax.plot(L, up, "-", color="C0", marker="o", markerfacecolor="none", label=label)
    if exact.any() and not exact.all():
        ax.plot(L[exact], up[exact], "o", color="C0")
    bars = [(r.depth, r.lower / r.depth, r.upper / r.depth) for r in rows
            if r.lower is not None and not _exact(r)]
    if bars:
        ax.vlines([b[0] for b in bars], [b[1] for b in bars], [b[2] for b in bars],
                  color="C0", linewidth=3, alpha=0.4, label="certified [lower, upper] / L")
    _rank_lines(ax, table)
    if table.r2 is not None and table.r0 is not None and table.r1_bound is not None and len(L):
        grid = np.linspace(max(1.0, L.min()), L.max(), 200)
        ax.plot(grid, table.r0 + table.r1_bound / grid + table.r2 / grid ** 2, color="0.5",
                linewidth=1, label="T1: R0 + R1/L + R2/L²")
    _finish(ax, L, "R(f; L) / L", f"{table.target}: minimal norm per layer", 8)
    return fig


def norm_figure(table: Any) -> Figure:
    """``R`` against ``L`` with the fitted line and the lines ``L·Rank_J``, ``L·Rank_CBN``.

    Certified intervals ``[lower, upper]`` are bars, upper bounds points (filled where
    exact).  The fitted line is the table's slope fit (:attr:`BoundTable.fit`) through
    the upper bounds of one solver or closed form, labelled with its slope and depths;
    where only a construction supplies the slope (:attr:`BoundTable.construction_fit`)
    that line is drawn dashed and labelled "by construction" (its slope is fixed by
    design, not measured).  The slope read from the figure is to be compared with the
    two rank lines through the origin (T3: ``Rank_J <= R0 <= Rank_CBN``).
    """
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    rows, L, up, exact = _measured(table)
    if (~exact).any():
        ax.plot(L[~exact], up[~exact], "o", color="C0", markerfacecolor="none",
                label="R (upper bound: a verified network)")
    if exact.any():
        ax.plot(L[exact], up[exact], "o", color="C0", label="R (exact)")
    bars = [(r.depth, r.lower, r.upper) for r in rows if r.lower is not None and not _exact(r)]
    if bars:
        ax.vlines([b[0] for b in bars], [b[1] for b in bars], [b[2] for b in bars],
                  color="C0", linewidth=3, alpha=0.4, label="certified interval [lower, upper]")
    span = np.linspace(0.0, (L.max() if len(L) else 1.0) + 0.5, 50)
    _rank_lines(ax, table, span)
    for fit, style, how in ((table.fit, "-", "fit"),
                            (table.construction_fit, "--", "by construction")):
        if fit is None or (how == "by construction" and table.fit is not None):
            continue
        ax.plot(span, fit.slope * span + fit.intercept, style, color="0.3", linewidth=1,
                label=f"{how}: R ≈ {fit.slope:.3g} L {fit.intercept:+.3g} "
                      f"(L = {', '.join(map(str, fit.depths))})")
    _finish(ax, L, "R(f; L)", f"{table.target}: minimal norm against depth", 7)
    return fig


# ---------------------------------------------------------------------- weights
@dataclasses.dataclass(frozen=True)
class SpectraGrid:
    """Singular values of the frequency blocks, arranged for a heat map.

    Attributes
    ----------
    values : ndarray, shape (n_layers, n_freq, r)
        ``values[i, j, k]``: the ``k``-th largest singular value of ``c What_l[m]`` for the
        ``i``-th plotted layer and the ``j``-th frequency in display order (NaN where the
        layer has fewer than ``r`` values).
    layers : tuple of int
        1-based indices of the plotted layers (convolutions at the input resolution).
    labels : list of str
        Frequency labels in display order.
    degrees : ndarray of int
    describe : tuple of str
        Per plotted layer, the count above the threshold grouped by degree.
    threshold : float
    """

    values: np.ndarray
    layers: tuple[int, ...]
    labels: list[str]
    degrees: np.ndarray
    describe: tuple[str, ...]
    threshold: float


def spectra_grid(net: Any, *, threshold: float | None = None) -> SpectraGrid:
    """Singular values of every frequency block of the convolutions at the input resolution."""
    from ..measure.structure import weight_spectra

    t = settings.STRUCTURE_WEIGHT_THRESHOLD if threshold is None else float(threshold)
    shape = net.architecture.spatial_shape
    spectra = [s for s in weight_spectra(net) if s.kind == "conv" and s.spatial_shape == shape]
    order, labels, deg = frequency_order(shape)
    r = max(s.singular_values.shape[-1] for s in spectra)
    values = np.full((len(spectra), len(order), r), np.nan)
    for i, s in enumerate(spectra):
        flat = s.singular_values.reshape(-1, s.singular_values.shape[-1])[order]
        values[i, :, :flat.shape[1]] = flat
    return SpectraGrid(values, tuple(s.layer for s in spectra), labels, deg,
                       tuple(s.describe(t) for s in spectra), t)


def _freq_ticks(ax: Any, labels: list[str], degrees: np.ndarray, axis: str) -> None:
    """Frequency ticks at the cell centres (integers): every label in 1D / up to 24 cells,
    else one tick per degree at its first frequency."""
    n = len(labels)
    if n <= 24:
        ticks = np.arange(n)
        names = labels
    else:  # 2D: one tick per degree, at the first frequency of that degree
        ticks = np.array([j for j in range(n) if j == 0 or degrees[j] != degrees[j - 1]])
        names = [f"deg {int(degrees[j])}" for j in ticks]
    (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, names, fontsize=7,
                                                       rotation=90 if axis == "x" else 0)


def _wrap(title: str, width: int = 80) -> str:
    """A caller's title wrapped to ``width`` characters, ending in a newline ("" if none)."""
    return "".join(line + "\n" for line in textwrap.wrap(title, width)) if title else ""


def weight_spectra_figure(net: Any, *, title: str = "",
                          threshold: float | None = None) -> Figure:
    """Heat map layers x frequency of the largest singular value of ``c What_l[m]`` (T5).

    One cell per (layer, frequency), centred on its tick; the number in a cell (up to 24
    frequencies) is how many singular values of that block exceed the threshold, and the
    row label gives the layer's total.  The full spectra are in :func:`spectra_grid`.
    """
    grid = spectra_grid(net, threshold=threshold)
    n_layers, n_freq, r = grid.values.shape
    top = np.nanmax(np.where(np.isnan(grid.values), -np.inf, grid.values), axis=-1)
    top = np.where(np.isfinite(top), top, np.nan)
    counts = np.sum(np.nan_to_num(grid.values, nan=0.0) > grid.threshold, axis=-1)
    fig = _figure(max(6.0, min(14.0, 0.35 * n_freq + 3.5)), max(3.0, 1.6 + 0.4 * n_layers))
    ax = fig.add_subplot()
    finite = top[np.isfinite(top)]
    vmax = float(finite.max()) if finite.size else 1.0
    cmap = colormaps["magma"].with_extremes(bad="0.85")
    im = ax.imshow(top, aspect="auto", cmap=cmap, vmin=0.0,
                   vmax=max(vmax, settings.FIGURE_VMAX_FLOOR), interpolation="nearest")
    if n_freq <= 24:
        for i in range(n_layers):
            for j in range(n_freq):
                dark = not np.isfinite(top[i, j]) or top[i, j] < 0.5 * vmax
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    _freq_ticks(ax, grid.labels, grid.degrees, "x")
    ax.set_yticks(range(n_layers), [f"layer {l} ({int(c)} above {grid.threshold:g})"
                                    for l, c in zip(grid.layers, counts.sum(axis=1))],
                  fontsize=7)
    ax.set_xlabel("frequency m" + (f" (number in a cell: singular values above "
                                   f"{grid.threshold:g})" if n_freq <= 24 else ""), fontsize=8)
    ax.set_title(_wrap(title) + "largest singular value of c·Ŵ_l[m] per layer and frequency",
                 fontsize=9)
    fig.colorbar(im, ax=ax, label="largest singular value", shrink=0.9)
    return fig


# ---------------------------------------------------------------------- activations
@dataclasses.dataclass(frozen=True)
class EnergyGrid:
    """Activation energy share and span dimension per layer and frequency.

    Attributes
    ----------
    energy : ndarray, shape (n_rows, n_freq)
        Share of ``sum_{x, channels} |ahat_l(x)[m]|^2`` at every frequency (rows sum to 1).
    span : ndarray of int, shape (n_rows, n_freq)
        ``dim span{ahat_l(x)[m]}``.
    rows : tuple of str
        ``"input"``, ``"layer l"``, ``"output"`` (layers at the input resolution only).
    labels : list of str
    degrees : ndarray of int
    """

    energy: np.ndarray
    span: np.ndarray
    rows: tuple[str, ...]
    labels: list[str]
    degrees: np.ndarray


def energy_grid(net: Any, X: Any, *, rtol: float | None = None) -> EnergyGrid:
    """Per-frequency energy and span dimension of the input, hidden layers and output."""
    from ..measure.structure import activation_structure

    acts = activation_structure(net, X, rtol=rtol)
    shape = net.architecture.spatial_shape
    order, labels, deg = frequency_order(shape)
    kept = [a for a in acts if a.span.spatial_shape == shape]
    energy = np.stack([a.span.energy.ravel()[order] for a in kept])
    span = np.stack([a.span.span_dims.ravel()[order] for a in kept])
    names = tuple(a.role if a.role != "hidden" else f"layer {a.layer}" for a in kept)
    return EnergyGrid(energy, span, names, labels, deg)


def activation_energy_figure(net: Any, X: Any, *, title: str = "",
                             rtol: float | None = None) -> Figure:
    """Heat map layers x frequency of the activation energy share, span dims in the cells (T6)."""
    grid = energy_grid(net, X, rtol=rtol)
    n_rows, n_freq = grid.energy.shape
    fig = _figure(max(6.0, min(14.0, 0.35 * n_freq + 3.0)), max(3.5, 1.2 + 0.4 * n_rows + 1.0))
    ax = fig.add_subplot()
    floor = settings.FIGURE_ENERGY_FLOOR
    im = ax.imshow(np.maximum(grid.energy, floor), aspect="auto", cmap="viridis",
                   norm=LogNorm(vmin=floor, vmax=1.0), interpolation="nearest")
    if n_freq <= 24:
        for i in range(n_rows):
            for j in range(n_freq):
                colour = "white" if grid.energy[i, j] < 1e-3 else "black"
                ax.text(j, i, str(int(grid.span[i, j])), ha="center", va="center",
                        fontsize=7, color=colour)
    _freq_ticks(ax, grid.labels, grid.degrees, "x")
    ax.set_yticks(range(n_rows), [f"{name} (span {int(s)})" for name, s in
                                  zip(grid.rows, grid.span.sum(axis=1))], fontsize=7)
    ax.set_xlabel("frequency m" + (" (number in a cell: span dimension)" if n_freq <= 24 else ""))
    ax.set_title(_wrap(title) + "activation energy per frequency "
                 "(share of the layer's total)", fontsize=9)
    fig.colorbar(im, ax=ax, label="energy share", shrink=0.9)
    return fig


# ---------------------------------------------------------------------- T7
def _downsampling_panel(ax: Any, comp: Any) -> None:
    """One target: upper bounds (points), certified lower bounds (triangles), and a note
    at every depth without a verified network, so a panel is never silently empty."""
    missing = []
    for rows, colour, marker, name in ((comp.plain, "C0", "o", "full resolution"),
                                       (comp.downsampled, "C1", "s",
                                        f"middle layers at 1/{comp.stride}")):
        pts = [(r.depth, r.upper / r.depth) for r in rows if r.upper is not None]
        if pts:
            ax.plot(*zip(*pts), "-", marker=marker, color=colour, label=f"{name}: upper / L")
        low = [(r.depth, r.lower / r.depth) for r in rows if r.lower is not None]
        if low:
            ax.plot(*zip(*low), "^", color=colour, markerfacecolor="none",
                    label=f"{name}: certified lower / L")
        missing += [f"L = {r.depth} ({name}): {r.status}" for r in rows if r.upper is None]
    if comp.rank_cbn is not None:
        ax.axhline(comp.rank_cbn, color="C3", linestyle=":", label=f"Rank_CBN = {comp.rank_cbn}")
    if missing:
        ax.text(0.02, 0.02, "no verified network:\n" + "\n".join(missing),
                transform=ax.transAxes, fontsize=6, va="bottom", color="0.3")
    depths = np.array([r.depth for r in (*comp.plain, *comp.downsampled)], dtype=float)
    _finish(ax, depths, "R(f; L) / L", f"{comp.target}\n" + _wrap(comp.aliasing, 50).rstrip(),
            6)


def downsampling_figure(comparisons: Sequence[Any]) -> Figure:
    """``R/L`` with and without down-sampling in the middle layers, one panel per target (T7)."""
    n = max(1, len(comparisons))
    fig = _figure(4.2 * n, 3.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, comp in zip(axes, comparisons):
        _downsampling_panel(ax, comp)
    if not comparisons:
        axes[0].text(0.5, 0.5, "no comparison measured", transform=axes[0].transAxes,
                     ha="center")
    return fig




# ---------------------------------------------------------------------- emergence (issue 15)
def emergence_figure(em: Any) -> Figure:
    """Measured bottleneck ``k_m`` of every random-start network against the prediction.

    ``em`` is a :class:`cbntheory.measure.emergence.Emergence`: one panel per architecture
    (without, with biases), one row per seed and a last row with the predicted vector;
    a cross marks a verified network whose ``k`` is not the prediction, grey an unverified one.
    """
    kinds = sorted({r.bias for r in em.runs})
    size = next(iter(em.predicted.values())).size
    rows = max([sum(r.bias == b for r in em.runs) for b in kinds] or [1]) + 1
    fig = _figure(max(5.0, 0.3 * size + 2.0) * max(1, len(kinds)), 0.3 * rows + 2.0)
    axes = fig.subplots(1, max(1, len(kinds)), squeeze=False)[0]
    for ax, bias in zip(axes, kinds):
        runs = [r for r in em.runs if r.bias == bias]
        pred = em.predicted[bias]
        order, labels, _ = frequency_order(pred.shape)
        grid = np.array([r.k.ravel()[order] if r.verified else np.full(order.size, np.nan)
                         for r in runs] + [pred.ravel()[order]], dtype=float)
        ax.imshow(grid, cmap="Blues", vmin=0, vmax=max(1.0, float(np.nanmax(grid))),
                  aspect="auto", interpolation="nearest")
        for i, r in enumerate(runs):
            if r.verified and not r.matches:
                ax.plot([-0.5, order.size - 0.5], [i, i], color="C3", linewidth=0.6)
        ax.set_yticks(range(len(runs) + 1),
                      [f"seed {r.seed}" + ("" if r.verified else " (none)") for r in runs]
                      + ["predicted"], fontsize=7)
        ax.set_xticks(range(order.size), labels, fontsize=6, rotation=90)
        hits, done = em.rate(bias)
        ax.set_title(f"{'with' if bias else 'without'} biases: k emerged in {hits} of {done}",
                     fontsize=8)
        ax.set_xlabel("frequency m")
    fig.suptitle(_wrap(f"{em.target}, L = {em.depth}: bottleneck of random-start solves "
                       f"({em.max_iter} iterations each)"), fontsize=9)
    return fig
