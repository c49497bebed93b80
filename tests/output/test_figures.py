"""Figures: the arrays behind every plot against loop-built references (dense operator
matrices, DFTs as finite sums), the plotted curves against dense-SVD T1 values, files
written as real PNG and PDF, the T7 aliasing rule by hand."""
from __future__ import annotations

import _bruteforce as bf
import numpy as np
import pytest

import cbntheory as cbn
from cbntheory.measure.downsampling import DownsamplingComparison, aliasing, downsampled
from cbntheory.measure.tables import DepthRow
from cbntheory.measure.tabulate import operator_table
from cbntheory.output.figures import (
    activation_energy_figure,
    cost_figure,
    downsampling_figure,
    energy_grid,
    frequency_order,
    save_figure,
    spectra_grid,
    weight_spectra_figure,
)


def _files_ok(paths):
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"


def test_frequency_order_1d_and_2d():
    order, labels, deg = frequency_order((5,))
    assert labels == ["-2", "-1", "0", "1", "2"] and order.tolist() == [3, 4, 0, 1, 2]
    assert deg.tolist() == [2, 1, 0, 1, 2]
    order, labels, deg = frequency_order((4, 4))
    assert sorted(order.tolist()) == list(range(16)) and np.all(np.diff(deg) >= 0)
    assert labels[0] == "(0,0)" and set(labels[1:5]) == {"(-1,0)", "(0,-1)", "(0,1)", "(1,0)"}
    m = np.array([[int(v) for v in lab.strip("()").split(",")] for lab in labels])
    assert np.array_equal(np.abs(m).sum(axis=1), deg)


@pytest.mark.parametrize("shape", [(6,), (3, 4)])
def test_spectra_grid_against_the_dense_layer_matrices(shape):
    net = cbn.Architecture(shape, (2, 3, 1), bias=False).init(rng=1)
    grid = spectra_grid(net)
    assert grid.layers == (1, 2) and grid.values.shape[:2] == (2, int(np.prod(shape)))
    for i, kernel in enumerate(net.kernels):
        dense = np.sort(bf.dense_singular_values(bf.dense_matrix(kernel)))[::-1]
        mine = grid.values[i][np.isfinite(grid.values[i])]
        assert np.allclose(np.sort(mine)[::-1], dense, atol=1e-10)
    # the display order puts, for 1D, frequency -m left of +m: columns are conjugate pairs
    if len(shape) == 1:
        assert grid.labels == ["-2", "-1", "0", "1", "2", "3"]
        assert np.allclose(grid.values[:, 0], grid.values[:, 4], equal_nan=True)   # -2, +2
        assert np.allclose(grid.values[:, 1], grid.values[:, 3], equal_nan=True)   # -1, +1


def test_energy_grid_against_a_finite_sum_dft():
    net = cbn.Architecture((6,), (1, 2, 2, 1)).init(rng=2)
    X = np.random.default_rng(3).standard_normal((5, 1, 6))
    grid = energy_grid(net, X)
    assert grid.rows == ("input", "layer 1", "layer 2", "output")
    order, _, _ = frequency_order((6,))
    layers = [X] + net.activations(X) + [net(X)]
    for row, a in enumerate(layers):
        power = np.sum(np.abs(bf.dft(a, (6,))) ** 2, axis=(0, 1))
        assert np.allclose(grid.energy[row], (power / power.sum())[order], atol=1e-12)
    assert np.allclose(grid.energy.sum(axis=1), 1.0)
    assert np.all(grid.span <= 2) and np.all(grid.span[0] <= 1)   # one input channel


def test_cost_figure_plots_the_dense_t1_values(tmp_path):
    A = cbn.ConvOperator(np.random.default_rng(4).standard_normal((2, 2, 5)))
    table = operator_table("rand", A, "1-6")
    fig = cost_figure(table)
    line = fig.axes[0].get_lines()[0]
    s = bf.dense_singular_values(bf.dense_matrix(A.kernel))
    s = s[s > 0]
    L = np.arange(1, 7)
    expected = [np.sum(s ** (2.0 / l)) for l in L]           # R/L = sum s^(2/L)
    assert np.allclose(line.get_xdata(), L) and np.allclose(line.get_ydata(), expected)
    levels = [ln.get_ydata()[0] for ln in fig.axes[0].get_lines()
              if "Rank" in str(ln.get_label())]
    assert levels == [s.size]
    _files_ok(save_figure(fig, tmp_path / "cost"))


def test_heat_maps_and_t7_figure_are_written(tmp_path):
    net = cbn.Architecture((4, 4), (1, 2, 2, 1)).init(rng=0)
    X = np.random.default_rng(0).standard_normal((3, 1, 4, 4))
    _files_ok(save_figure(weight_spectra_figure(net, title="t"), tmp_path / "w"))
    _files_ok(save_figure(activation_energy_figure(net, X), tmp_path / "e"))
    rows = (DepthRow(3, 3.0, 10.0, "not_certified"), DepthRow(4, 4.0, None, "solver_error"))
    comp = DownsamplingComparison("t", 2, "stride 2: distinct", False, rows, rows, 3)
    assert comp.ratios() == [(3, 1.0), (4, None)]
    fig = downsampling_figure([comp, comp])
    assert len(fig.axes) == 2
    _files_ok(save_figure(fig, tmp_path / "d"))
    _files_ok(save_figure(downsampling_figure([]), tmp_path / "empty"))


def test_aliasing_by_hand():
    k = np.zeros(16, dtype=int)
    k[[0, 5, 11]] = 1                                   # constant and +-5 on Z_16
    assert aliasing(k, 2).folded == ((0,), (5,), (3,)) and not aliasing(k, 2).collide
    assert aliasing(k, 8).folded == ((0,), (1,), (1,)) and aliasing(k, 8).collide
    k2 = np.zeros((6, 6), dtype=int)
    k2[0, 0] = k2[0, 1] = k2[0, 5] = k2[1, 0] = k2[5, 0] = 1
    assert not aliasing(k2, 2).collide and aliasing(k2, 3).collide   # (0,1),(0,5) mod 2
    with pytest.raises(cbn.ValidationError, match="stride"):
        aliasing(k, 3)
    arch = cbn.Architecture((12,), (1, 2, 2, 2, 1))
    assert downsampled(arch, 2).resample == (2, 1, -2)
    assert downsampled(arch, 2).layer_shapes[1:3] == ((6,), (6,))
    with pytest.raises(cbn.ValidationError, match="depth"):
        downsampled(cbn.Architecture((12,), (1, 2, 1)), 2)
