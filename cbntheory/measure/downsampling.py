"""Down-sampling in the bottleneck (T7): aliasing of the CBN frequencies and measured costs.

Stride-``s`` down-sampling of a ``d``-pixel signal keeps the pixels ``0, s, 2s, ...``; in
Fourier it folds frequency ``m`` onto ``m mod d/s`` (per axis).  T7 (conjectural) says
that when the frequencies a target keeps in its bottleneck (its CBN vector ``k_m``) stay
distinct after this folding, the middle layers can run at resolution ``d/s`` with the same
leading cost ``R0``.  :func:`aliasing` decides which case a (target, stride) pair is in;
:func:`downsampled` gives the architecture with the middle layers down-sampled (resample
codes ``(s, 1, ..., 1, -s)``: down after the first hidden layer, zero-insertion
up-sampling before the last layer); :func:`cbntheory.measure.tabulate.downsampling_comparison`
measures ``R(f; Omega, L)`` at every depth with both and returns a
:class:`DownsamplingComparison`.

Examples
--------
>>> import numpy as np
>>> k = np.zeros(12, dtype=int); k[[0, 1, 11]] = 1        # constant and +-1 on Z_12
>>> aliasing(k, 2).collide, aliasing(k, 6).collide      # 1, 11 -> 1, 5 mod 6; 1, 1 mod 2
(False, True)
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .tables import DepthRow, consistent_row


@dataclasses.dataclass(frozen=True)
class Aliasing:
    """Where the kept frequencies land after stride-``s`` down-sampling.

    Attributes
    ----------
    kept : tuple of tuple of int
        Frequencies with ``k_m > 0`` (non-negative indices, C order).
    folded : tuple of tuple of int
        Their images ``m mod d/s``.
    collide : bool
        True when two kept frequencies fold onto the same one.
    stride : int
    """

    kept: tuple[tuple[int, ...], ...]
    folded: tuple[tuple[int, ...], ...]
    collide: bool
    stride: int

    def describe(self) -> str:
        """One line, e.g. ``"kept 0, 1, 11 -> 0, 1, 5 mod 6: distinct"``."""
        def show(ms: Sequence[tuple[int, ...]]) -> str:
            return ", ".join(str(m[0]) if len(m) == 1 else str(m) for m in ms)
        verdict = "collide" if self.collide else "distinct"
        return f"stride {self.stride}: kept {show(self.kept)} -> {show(self.folded)}: {verdict}"


def aliasing(cbn_vector: Any, stride: int) -> Aliasing:
    """Fold the support of a CBN vector ``(k_m)`` by stride-``stride`` down-sampling.

    Raises
    ------
    ValidationError
        If the stride does not divide every image axis.
    """
    k = np.asarray(cbn_vector)
    s = V.positive_int("stride", stride, minimum=2)
    if any(n % s for n in k.shape):
        raise V.fail("stride", f"divide every image axis {k.shape}", s)
    kept = tuple(tuple(int(v) for v in m) for m in np.argwhere(k > 0))
    small = tuple(n // s for n in k.shape)
    folded = tuple(tuple(v % n for v, n in zip(m, small)) for m in kept)
    return Aliasing(kept, folded, len(set(folded)) < len(folded), s)


def downsampled(arch: Any, stride: int) -> Any:
    """The same architecture with the middle layers at ``1/stride`` resolution (depth >= 3)."""
    if arch.depth < 3:
        raise V.fail("depth", "be >= 3 to down-sample after the first hidden layer and "
                     "up-sample before the last one", arch.depth)
    codes = (stride,) + (1,) * (arch.depth - 3) + (-stride,)
    return dataclasses.replace(arch, resample=codes)


@dataclasses.dataclass(frozen=True)
class DownsamplingComparison:
    """Measured ``R(f; Omega, L)`` with and without down-sampling for one target and stride.

    Attributes
    ----------
    target : str
    stride : int
    aliasing : str
        :meth:`Aliasing.describe` of the target's CBN vector.
    collide : bool
    plain, downsampled : tuple of DepthRow
        One row per depth, same order.
    rank_cbn : int or None
    """

    target: str
    stride: int
    aliasing: str
    collide: bool
    plain: tuple[DepthRow, ...]
    downsampled: tuple[DepthRow, ...]
    rank_cbn: int | None

    def __post_init__(self) -> None:
        # the rows are printed too: the one upper >= lower check of the tables
        for name in ("plain", "downsampled"):
            rows = tuple(consistent_row(r) for r in getattr(self, name))
            object.__setattr__(self, name, rows)

    def ratios(self) -> list[tuple[int, float | None]]:
        """``(L, upper_down / upper_plain)`` per depth (None where either is missing)."""
        out = []
        for a, b in zip(self.plain, self.downsampled):
            ok = a.upper is not None and b.upper is not None and a.upper > 0
            out.append((a.depth, b.upper / a.upper if ok else None))  # type: ignore[operator]
        return out
