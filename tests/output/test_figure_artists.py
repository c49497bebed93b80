"""What the figures draw, read back from their artists: cells centred on their ticks,
legend entries only for visible things, labels not cut, the R-against-L plot's lines.

References: dense block SVDs written from the definition (``_bruteforce``), the tables'
own slope fits recomputed with ``numpy.polyfit``, and the ranks the tables carry."""
from __future__ import annotations

import _bruteforce as bf
import numpy as np

import cbntheory as cbn
from cbntheory.measure.downsampling import DownsamplingComparison
from cbntheory.measure.tables import BoundTable, DepthRow, SlopeFit
from cbntheory.measure.tabulate import operator_table
from cbntheory.output.figures import (
    cost_figure,
    downsampling_figure,
    norm_figure,
    weight_spectra_figure,
)


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _data_table(rows, fit=None, construction_fit=None):
    return BoundTable("toy", "toy", "", "data", "relu", 1, 3, 1.0, None, None, tuple(rows),
                      fit, {}, construction_fit=construction_fit)


def test_weight_heat_map_cells_sit_on_their_ticks():
    net = cbn.Architecture((8,), (1, 3, 3, 1)).init(rng=0)
    fig = weight_spectra_figure(net, title="a title that is long enough " * 4)
    ax = fig.axes[0]
    image = ax.get_images()[0].get_array()
    assert image.shape == (3, 8)                                   # one cell per frequency
    assert np.allclose(ax.get_xticks(), np.arange(8))              # ticks at cell centres
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-3", "-2", "-1", "0", "1", "2",
                                                            "3", "4"]
    for i, kernel in enumerate(net.kernels):                       # dense reference per cell
        blocks = bf.blocks(kernel, "operator")
        top = np.array([np.linalg.svd(b, compute_uv=False).max() for b in blocks])
        assert np.allclose(image[i], top[[5, 6, 7, 0, 1, 2, 3, 4]], atol=1e-12)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(lab.startswith(f"layer {i + 1} (") and "..." not in lab
               for i, lab in enumerate(labels))
    numbers = [t for t in ax.texts]
    assert len(numbers) == 24 and all(t.get_text().isdigit() for t in numbers)
    title = ax.get_title()
    assert "left:" not in title and "largest singular value" in title
    assert all(len(line) <= 80 for line in title.splitlines())


def test_cost_figure_legend_names_only_what_is_drawn():
    A = cbn.ConvOperator(np.random.default_rng(4).standard_normal((1, 1, 5)))
    labels = _legend(cost_figure(operator_table("rand", A, "1-4")).axes[0])
    assert "R/L (exact)" in labels and not any("upper bound" in t for t in labels)
    assert not any("certified" in t for t in labels)           # closed intervals: no bars
    rows = [DepthRow(2, 2.0, 9.0, "not_certified"), DepthRow(3, 3.0, 12.0, "not_certified")]
    ax = cost_figure(_data_table(rows)).axes[0]
    labels = _legend(ax)
    assert "R/L (upper bound)" in labels and "certified [lower, upper] / L" in labels
    assert "Rank_J = 1" in labels and "Rank_CBN = 3" in labels


def test_a_single_point_is_not_magnified():
    ax = cost_figure(_data_table([DepthRow(2, None, 3.8, "not_certified")])).axes[0]
    low, high = ax.get_ylim()
    assert low == 0.0 and high >= 3.0                         # both rank lines and 0 visible
    ticks = ax.get_yticks()
    assert np.all(np.diff(ticks) >= 0.5) and list(ax.get_xticks()) == [int(t) for t in
                                                                      ax.get_xticks()]


def test_norm_figure_has_the_fit_and_the_rank_lines():
    A = cbn.ConvOperator(np.random.default_rng(5).standard_normal((2, 2, 5)))
    table = operator_table("rand", A, "1-8")
    ax = norm_figure(table).axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    rank = table.rank_j
    rank_line = lines[f"L·Rank_J = Rank_CBN (= {rank} L)"]
    x, y = rank_line.get_xdata(), rank_line.get_ydata()
    assert np.allclose(y, rank * x)                                   # through the origin
    fit_label = next(k for k in lines if k.startswith("fit: R ≈"))
    depths = np.array(table.fit.depths, dtype=float)
    uppers = [r.upper for r in table.rows if r.depth in table.fit.depths]
    slope, intercept = np.polyfit(depths, uppers, 1)
    fx, fy = lines[fit_label].get_xdata(), lines[fit_label].get_ydata()
    assert np.allclose(fy, slope * fx + intercept)
    assert f"{slope:.3g}" in fit_label
    points = lines["R (exact)"]
    assert np.allclose(points.get_xdata(), np.arange(1, 9))
    assert ax.get_xlabel() == "depth L" and ax.get_ylabel() == "R(f; L)"


def test_norm_figure_labels_a_construction_line_as_such():
    rows = [DepthRow(L, float(L), 2.0 * L + 5, "not_certified", upper_from="construction")
            for L in (3, 4, 5)]
    con = SlopeFit(2.0, 5.0, (3, 4, 5), 0.0, "construction")
    labels = _legend(norm_figure(_data_table(rows, construction_fit=con)).axes[0])
    assert any(t.startswith("by construction: R ≈ 2 L +5") for t in labels)
    assert "certified interval [lower, upper]" in labels
    assert "L·Rank_J (= 1 L)" in labels and "L·Rank_CBN (= 3 L)" in labels


def test_downsampling_panel_is_never_silently_empty():
    plain = (DepthRow(3, 3.0, 10.0, "not_certified"), DepthRow(4, 4.0, 13.0, "not_certified"))
    down = (DepthRow(3, 3.0, None, "solver_error"), DepthRow(4, 4.0, None, "time_capped"))
    comp = DownsamplingComparison("t", 2, "stride 2: the CBN frequencies stay distinct",
                                  False, plain, down, 3)
    ax = downsampling_figure([comp]).axes[0]
    labels = _legend(ax)
    assert "middle layers at 1/2: certified lower / L" in labels
    note = " ".join(t.get_text() for t in ax.texts)
    assert "no verified network" in note and "L = 3 (middle layers at 1/2): solver_error" in note
