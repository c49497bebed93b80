"""Does the bottleneck emerge on its own?  Random-start solves, their middle layers counted.

The theory says a near-minimal-norm deep network of a target keeps, in its middle layers,
exactly the frequencies of the target's CBN vector ``k``.  The explicit constructions keep
them *by construction*; the evidence that the optimum does so comes from networks found
without them.  :func:`emergent_bottleneck` solves one target at one depth from random
starts only (``init="auto"`` without a target: identity and Gaussian starts, no
construction, no neighbouring depth) over several seeds, for the architecture with and
without biases, and reads the bottleneck of every verified network from its activations
(:func:`cbntheory.measure.structure.frequency_span` of the hidden layer with the
smallest total span, :data:`cbntheory.settings.STRUCTURE_SPAN_RTOL`).

With biases the constant frequency can be carried by the biases: a hidden layer whose
mean is the same for every sample adds no direction to the affine span, so at frequency
0 the dimension counted is that of the centred activations (the rank with biases of
:mod:`cbntheory.targets`, ``Target.rank_cbn_bias``), and the prediction lowers ``k_0`` by
``rank_cbn - rank_cbn_bias``.

Examples
--------
>>> from cbntheory import targets
>>> em = emergent_bottleneck(targets.get("shift_autoencoder_1d"), 3, seeds=1, quick=True,
...                          max_iter=300, biases=(False,))
>>> em.predicted[False].tolist()[:2], len(em.runs)
([1, 1], 1)
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..errors import InaccurateSolutionWarning
from ..solvers.dispatch import minimal_norm, stop_if_interrupted
from .structure import frequency_span

__all__ = ["Emergence", "EmergenceRun", "bottleneck_dims", "emergent_bottleneck"]


@dataclasses.dataclass(frozen=True)
class EmergenceRun:
    """One random-start solve: its seed, architecture kind, norm and measured bottleneck."""

    seed: int
    bias: bool
    verified: bool
    norm: float
    residual: float
    layer: int
    k: np.ndarray
    matches: bool


@dataclasses.dataclass(frozen=True)
class Emergence:
    """Random-start solves of one target at one depth and how often ``k`` emerged.

    Attributes
    ----------
    target : str
    depth : int
    predicted : dict of bool to ndarray of int
        The CBN vector the theory predicts, without (False) and with (True) biases.
    runs : tuple of EmergenceRun
    max_iter : int
    rule : str
        How the bottleneck of a network is read.
    """

    target: str
    depth: int
    predicted: dict[bool, np.ndarray]
    runs: tuple[EmergenceRun, ...]
    max_iter: int
    rule: str

    def rate(self, bias: bool) -> tuple[int, int]:
        """``(matches, verified runs)`` for the architecture with or without biases."""
        done = [r for r in self.runs if r.bias == bias and r.verified]
        return sum(r.matches for r in done), len(done)

    def rows(self) -> list[dict[str, Any]]:
        """One plain row per run (for tables and JSON)."""
        return [{"target": self.target, "depth": self.depth, "bias": r.bias, "seed": r.seed,
                 "verified": r.verified, "norm": r.norm, "residual": r.residual,
                 "layer": r.layer, "k": r.k.tolist(), "total": int(r.k.sum()),
                 "predicted": self.predicted[r.bias].tolist(), "matches": r.matches}
                for r in self.runs]


def bottleneck_dims(net: Any, X: np.ndarray, bias: bool) -> tuple[int, np.ndarray]:
    """The hidden layer with the smallest total span and its per-frequency dimensions.

    With ``bias`` the frequency-0 entry counts the centred activations (the affine span).
    Ties go to the most central layer.
    """
    acts = net.activations(X)
    depth = net.architecture.depth
    best: tuple[tuple[int, int], int, np.ndarray] | None = None
    for l, a in enumerate(acts, start=1):
        dims = frequency_span(a).span_dims.copy()
        if bias:
            zero = (0,) * (a.ndim - 2)
            centred = frequency_span(a - a.mean(axis=0, keepdims=True),
                                     rtol=settings.STRUCTURE_SPAN_RTOL * _ratio(a))
            dims[zero] = centred.span_dims[zero]
        key = (int(dims.sum()), abs(2 * l - depth))
        if best is None or key < best[0]:
            best = (key, l, dims)
    assert best is not None
    return best[1], best[2]


def _ratio(a: np.ndarray) -> float:
    """Keep the centred count's threshold at the raw activations' (largest singular value)."""
    raw = float(frequency_span(a).singular_values.max(initial=0.0))
    cen = float(frequency_span(a - a.mean(axis=0, keepdims=True)).singular_values.max(
        initial=0.0))
    return raw / cen if cen > 0 else 1.0


def emergent_bottleneck(target: Any, depth: int, *, seeds: int = 5, quick: bool = False,
                        max_iter: int = settings.QUICK_MAX_ITER,
                        biases: Sequence[bool] = (False, True)) -> Emergence:
    """Solve ``target`` at ``depth`` from random starts over ``seeds`` seeds and count ``k``.

    Parameters
    ----------
    target : Target
        A data target with a CBN vector (``Target.cbn_vector``).
    depth : int
        At least 3 (a middle layer).
    seeds : int
        Seeds ``0 .. seeds - 1``, one restart each.
    quick : bool
        The target's small data and widths.
    max_iter : int
        L-BFGS-B iterations per solve (the budget).
    biases : sequence of bool
        Architectures measured: without (False) and with (True) biases.

    Returns
    -------
    Emergence

    Raises
    ------
    ValidationError
        A target without data or CBN vector, or a depth below 3.
    """
    V.positive_int("depth", depth, minimum=3)
    seeds = V.positive_int("seeds", seeds)
    data = target.data(quick=quick) if target.kind == "data" else None
    if data is None or target.cbn_vector is None:
        raise V.fail("target", "be a data target with a CBN vector", target.name)
    X, Y = data
    predicted = {False: np.asarray(target.cbn_vector, dtype=int)}
    with_bias = predicted[False].copy()
    drop = target.rank_cbn - (target.rank_cbn_bias if target.rank_cbn_bias is not None
                              else target.rank_cbn)
    with_bias[(0,) * with_bias.ndim] -= drop
    predicted[True] = with_bias
    runs = []
    for bias in biases:
        arch = dataclasses.replace(target.architecture(depth, quick=quick), bias=bool(bias))
        for seed in range(seeds):
            with warnings.catch_warnings():  # a failed solve is a run, counted as unverified
                warnings.simplefilter("ignore", InaccurateSolutionWarning)
                res = stop_if_interrupted(minimal_norm(arch, data=(X, Y), rng=seed, restarts=1,
                                                       max_iter=max_iter))
            net = res.network
            if net is None:
                runs.append(EmergenceRun(seed, bool(bias), False, float("nan"), float("nan"),
                                         0, np.zeros_like(predicted[bias]), False))
                continue
            layer, k = bottleneck_dims(net, X, bool(bias))
            runs.append(EmergenceRun(seed, bool(bias), True, float(net.param_norm()),
                                     float(res.residual), layer, k,
                                     bool(np.array_equal(k, predicted[bias]))))
    rule = ("per frequency, the span dimension over the samples of the hidden layer with the "
            f"smallest total (ties: the most central), singular values above "
            f"{settings.STRUCTURE_SPAN_RTOL:g} x the layer's largest; with biases the "
            "constant frequency counts the centred activations (affine span)")
    return Emergence(target.name, int(depth), predicted, tuple(runs), int(max_iter), rule)
