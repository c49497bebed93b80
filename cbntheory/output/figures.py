"""Figures of the report (matplotlib, Agg canvas, no pyplot state): PNG and PDF.

* :func:`cost_figure` -- ``R(f; L)/L`` against ``L`` (interval bars where a lower bound
  is known) with the lines ``Rank_J`` and ``Rank_CBN``: the slope of ``R`` is read where
  the points settle (T2, T3).
* :func:`weight_spectra_figure` -- layer x frequency heat map of the singular values of
  the frequency blocks ``c_l What_l[m]`` of a (near-optimal) network: the bottleneck
  picture of T5 (a few values near 1 in the middle layers, the rest near 0).
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
def cost_figure(table: Any) -> Figure:
    """``R/L`` against ``L`` for one :class:`cbntheory.measure.tables.BoundTable`.

    Upper bounds are drawn as points; where a certified lower bound exists the bar spans
    ``[lower/L, upper/L]``.  Horizontal lines: ``Rank_J`` and ``Rank_CBN``; for linear
    targets also T1's expansion ``R0 + R1/L + R2/L^2``.
    """
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    rows = [r for r in table.rows if r.upper is not None]
    L = np.array([r.depth for r in rows], dtype=float)
    up = np.array([r.upper for r in rows], dtype=float) / np.maximum(L, 1)
    ax.plot(L, up, "o-", color="C0", label="R/L (upper bound)")
    certified = [(r.depth, r.lower, r.upper) for r in rows if r.lower is not None]
    if certified:
        cL = np.array([c[0] for c in certified], dtype=float)
        lo = np.array([c[1] for c in certified]) / cL
        hi = np.array([c[2] for c in certified]) / cL
        ax.vlines(cL, lo, hi, color="C0", linewidth=3, alpha=0.4,
                  label="certified interval / L")
    if table.rank_j is not None:
        same = table.rank_cbn == table.rank_j
        name = "Rank_J = Rank_CBN" if same else "Rank_J"
        ax.axhline(table.rank_j, color="C2", linestyle="--", label=f"{name} = {table.rank_j}")
    if table.rank_cbn is not None and table.rank_cbn != table.rank_j:
        ax.axhline(table.rank_cbn, color="C3", linestyle=":",
                   label=f"Rank_CBN = {table.rank_cbn}")
    if table.r2 is not None and table.r0 is not None and table.r1_bound is not None and len(L):
        grid = np.linspace(max(1.0, L.min()), L.max(), 200)
        ax.plot(grid, table.r0 + table.r1_bound / grid + table.r2 / grid ** 2, color="0.5",
                linewidth=1, label="T1: R0 + R1/L + R2/L²")
    ax.set_xlabel("depth L")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("R(f; L) / L")
    ax.set_title(f"{table.target}: minimal norm per layer", fontsize=10)
    if not rows:
        ax.text(0.5, 0.5, "no depth measured", transform=ax.transAxes, ha="center")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
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


def _freq_ticks(ax: Any, labels: list[str], degrees: np.ndarray, width: int, axis: str) -> None:
    n = len(labels)
    if n <= 24:
        ticks = (np.arange(n) + 0.5) * width - 0.5
        names = labels
    else:  # 2D: one tick per degree, at the first frequency of that degree
        starts = [j for j in range(n) if j == 0 or degrees[j] != degrees[j - 1]]
        ticks = np.array(starts) * width - 0.5 + width / 2
        names = [f"deg {int(degrees[j])}" for j in starts]
    (ax.set_xticks if axis == "x" else ax.set_yticks)(ticks, names, fontsize=7,
                                                       rotation=90 if axis == "x" else 0)


def _wrap(title: str, width: int = 80) -> str:
    """A caller's title wrapped to ``width`` characters, ending in a newline ("" if none)."""
    return "".join(line + "\n" for line in textwrap.wrap(title, width)) if title else ""


def _clip(text: str, n: int = 44) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def weight_spectra_figure(net: Any, *, title: str = "",
                          threshold: float | None = None) -> Figure:
    """Heat map layers x (frequency, singular value index) of ``s_i(c What_l[m])`` (T5)."""
    grid = spectra_grid(net, threshold=threshold)
    n_layers, n_freq, r = grid.values.shape
    image = grid.values.reshape(n_layers, n_freq * r)
    fig = _figure(max(8.0, min(14.0, 0.12 * n_freq * r + 7.0)),
                  max(3.5, 1.0 + 0.45 * n_layers + 1.4))
    ax = fig.add_subplot()
    finite = image[np.isfinite(image)]
    vmax = float(finite.max()) if finite.size else 1.0
    cmap = colormaps["magma"].with_extremes(bad="0.85")
    im = ax.imshow(image, aspect="auto", cmap=cmap, vmin=0.0,
                   vmax=max(vmax, settings.FIGURE_VMAX_FLOOR), interpolation="nearest")
    for j in range(1, n_freq):
        ax.axvline(j * r - 0.5, color="white", linewidth=0.4, alpha=0.6)
    _freq_ticks(ax, grid.labels, grid.degrees, r, "x")
    ax.set_yticks(range(n_layers), [f"layer {l}: {_clip(d)}"
                                    for l, d in zip(grid.layers, grid.describe)], fontsize=7)
    ax.set_xlabel(f"frequency m (each cell: the {r} singular values of c·What_l[m], "
                  "decreasing)", fontsize=8)
    ax.set_title(_wrap(title) + "singular values of the weights per layer "
                 f"and frequency (left: counts above {grid.threshold:g})", fontsize=9)
    fig.colorbar(im, ax=ax, label="singular value", shrink=0.9)
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
    _freq_ticks(ax, grid.labels, grid.degrees, 1, "x")
    ax.set_yticks(range(n_rows), [f"{name} (span {int(s)})" for name, s in
                                  zip(grid.rows, grid.span.sum(axis=1))], fontsize=7)
    ax.set_xlabel("frequency m" + (" (number in a cell: span dimension)" if n_freq <= 24 else ""))
    ax.set_title(_wrap(title) + "activation energy per frequency "
                 "(share of the layer's total)", fontsize=9)
    fig.colorbar(im, ax=ax, label="energy share", shrink=0.9)
    return fig


# ---------------------------------------------------------------------- T7
def downsampling_figure(comparisons: Sequence[Any]) -> Figure:
    """``R/L`` with and without down-sampling in the middle layers, one panel per target (T7)."""
    n = max(1, len(comparisons))
    fig = _figure(4.2 * n, 3.8)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, comp in zip(axes, comparisons):
        for rows, style, name in ((comp.plain, "o-", "full resolution"),
                                  (comp.downsampled, "s--", f"middle layers at 1/{comp.stride}")):
            pts = [(r.depth, r.upper / r.depth) for r in rows if r.upper is not None]
            if pts:
                ax.plot(*zip(*pts), style, label=name)
            failed = [r.depth for r in rows if r.upper is None]
            for L in failed:
                ax.axvline(L, color="0.8", linewidth=0.8)
        if comp.rank_cbn is not None:
            ax.axhline(comp.rank_cbn, color="C3", linestyle=":",
                       label=f"Rank_CBN = {comp.rank_cbn}")
        ax.set_title(f"{comp.target}\n{comp.aliasing}", fontsize=8)
        ax.set_xlabel("depth L")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("R(f; L) / L (upper bound)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
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
