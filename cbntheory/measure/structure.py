"""Frequency structure of a network's weights and activations (T5, T6) and its CBN rank.

Three measurements, each a frozen dataclass with a text rendering:

* :func:`weight_spectra` -- per layer, the singular values of every frequency block
  ``c_l What_l[m]`` of the kernel (the dense head: of its weight);
* :func:`activation_structure` -- per layer, on a data set, the share of the activation
  energy at every frequency, ``sum_{x, channels} |ahat_l(x)[m]|^2`` normalised to sum 1,
  and the span dimension ``dim span{ahat_l(x)[m] : x}`` with an explicit relative
  threshold (:func:`frequency_span` does it for any stack of signals);
* :func:`estimate_cbn_rank` -- the CBN rank vector ``(k_m)`` of a trained network, by a
  documented rule on either measurement.

:func:`analyze_structure` runs all three (``cbn analyze`` prints it).  Counts are grouped
by frequency degree with :func:`cbntheory.fourier.describe_degrees`.

The per-frequency measurements themselves live in :mod:`cbntheory.measure.spectra`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from .spectra import (  # noqa: F401  (re-exported: public names of the structure API)
    FrequencySpan,
    LayerActivations,
    LayerSpectrum,
    _by_degree,
    _fmt,
    activation_structure,
    frequency_span,
    weight_spectra,
)


@dataclasses.dataclass(frozen=True)
class CBNRankEstimate:
    """Estimated CBN rank vector ``(k_m)`` of a network and how it was obtained.

    Attributes
    ----------
    k : ndarray of int, shape spatial
        Estimated number of kept directions at every frequency.
    spatial_shape : tuple of int
    method : str
        ``"weights"`` or ``"activations"``.
    threshold : float
        The cut used: absolute on singular values of ``c What_l[m]`` ("weights") or
        relative to the layer's largest singular value ("activations").
    layers : tuple of int
        The 1-based layers the estimate was read from.
    rule : str
        One sentence stating the rule.
    """

    k: np.ndarray
    spatial_shape: tuple[int, ...]
    method: str
    threshold: float
    layers: tuple[int, ...]
    rule: str

    @property
    def total(self) -> int:
        """``sum_m k_m``."""
        return int(self.k.sum())

    def describe(self, kind: str = "l1") -> str:
        """Grouping by degree, e.g. ``"1 constant, 2 degree-1"``."""
        return fourier.describe_degrees(self.k, self.spatial_shape, kind)


def _middle_index(layers: Sequence[int], depth: int) -> int:
    return min(layers, key=lambda l: (abs(2 * l - depth), l))


def _weights_estimate(spectra: Sequence[LayerSpectrum], threshold: float) -> CBNRankEstimate:
    conv = [s for s in spectra if s.kind == "conv"]
    middle = conv[1:-1] if len(conv) >= 3 else conv
    smallest = min(int(np.prod(s.spatial_shape)) for s in middle)
    middle = [s for s in middle if int(np.prod(s.spatial_shape)) == smallest]
    shape = middle[0].spatial_shape
    middle = [s for s in middle if s.spatial_shape == shape]
    counts = np.stack([s.counts(threshold) for s in middle])
    k = np.sort(counts, axis=0)[(len(middle) - 1) // 2]
    rule = (f"per frequency, the lower median over layers {[s.layer for s in middle]} of the "
            f"number of singular values of c What_l[m] above {threshold:g} (convolutions "
            "without the first and last when there are >= 3, at the smallest resolution)")
    return CBNRankEstimate(k.astype(int), shape, "weights", float(threshold),
                           tuple(s.layer for s in middle), rule)


def _activations_estimate(acts: Sequence[LayerActivations], depth: int) -> CBNRankEstimate:
    hidden = [a for a in acts if a.role == "hidden"]
    if not hidden:
        raise V.fail("net", "have at least one hidden layer (depth >= 2) for the "
                     "activation-based estimate", f"depth {depth}")
    best = min(int(a.span.span_dims.sum()) for a in hidden)
    ties = [a.layer for a in hidden if int(a.span.span_dims.sum()) == best]
    pick = next(a for a in hidden if a.layer == _middle_index(ties, depth))
    rtol = pick.span.rtol
    rule = (f"the span dimensions of the hidden layer with the smallest total (layer "
            f"{pick.layer}; ties go to the most central), counting singular values above "
            f"{rtol:g} x the layer's largest")
    return CBNRankEstimate(pick.span.span_dims, pick.span.spatial_shape, "activations", rtol,
                           (pick.layer,), rule)


def estimate_cbn_rank(net: Any, data: Any = None, *, threshold: float | None = None
                      ) -> CBNRankEstimate:
    """Estimate the CBN rank vector ``(k_m)`` of a (trained) network.

    Parameters
    ----------
    net : Network
    data : array_like, shape (N, n_0, *spatial_shape), optional
        With data, the estimate reads the activations; without, the weights.
    threshold : float, optional
        Weights: absolute cut on the singular values of ``c_l What_l[m]`` (default
        STRUCTURE_WEIGHT_THRESHOLD).  Activations: relative span threshold (default
        STRUCTURE_SPAN_RTOL).

    Returns
    -------
    CBNRankEstimate

    Notes
    -----
    Rules.  *Weights*: by T5 a near-minimal-norm deep network has, in all but a few
    layers, ``k`` singular values near 1 and the rest near 0; per frequency, count the
    singular values above the threshold in every middle convolution (all but the first
    and the last when there are at least three; with resampling, only those at the
    smallest resolution) and take the lower median over those layers.  *Activations*
    (T3's ``k_m(g) = dim span{ghat(x)[m]}``): among the hidden layers take the one with
    the smallest total span dimension (ties: the most central) and report its
    per-frequency span dimensions.

    Examples
    --------
    A linear network whose middle layers are the projection onto frequencies 0, +-1:

    >>> import numpy as np
    >>> import cbntheory as cbn
    >>> d = 8
    >>> p = np.arange(d)
    >>> proj = (1 + 2 * np.cos(2 * np.pi * p / d)) / np.sqrt(d)   # multipliers 1 at m = 0, +-1
    >>> arch = cbn.Architecture((d,), (1, 1, 1, 1, 1), activation="linear", bias=False)
    >>> net = cbn.Network(arch, [proj.reshape(1, 1, d)] * 4, [])
    >>> est = estimate_cbn_rank(net)
    >>> est.describe(), est.layers
    ('1 constant, 2 degree-1', (2, 3))
    """
    from ..nets.network import Network

    if not isinstance(net, Network):
        raise V.fail("net", "be a cbntheory.Network", net)
    if data is not None:
        acts = activation_structure(net, data, rtol=threshold)
        return _activations_estimate(acts, net.architecture.depth)
    t = settings.STRUCTURE_WEIGHT_THRESHOLD if threshold is None else float(threshold)
    if not (np.isfinite(t) and t >= 0):
        raise V.fail("threshold", "be a finite number >= 0", threshold)
    return _weights_estimate(weight_spectra(net), t)


# ---------------------------------------------------------------------- report
@dataclasses.dataclass(frozen=True)
class StructureReport:
    """Weights, optional activations and the CBN rank estimate of one network.

    Attributes
    ----------
    weights : tuple of LayerSpectrum
    activations : tuple of LayerActivations or None
    estimate : CBNRankEstimate
        From the activations when data were given, else from the weights.
    weights_estimate : CBNRankEstimate
        Always the weight-based estimate.
    weight_threshold : float
    architecture : dict
        ``Architecture.to_dict()``.
    param_norm : float
    """

    weights: tuple[LayerSpectrum, ...]
    activations: tuple[LayerActivations, ...] | None
    estimate: CBNRankEstimate
    weights_estimate: CBNRankEstimate
    weight_threshold: float
    architecture: dict
    param_norm: float

    def render(self, kind: str = "l1") -> str:
        """Human-readable report (see ``docs/structure.md``)."""
        a = self.architecture
        title = (f"network: channels {tuple(a['channels'])}, image {tuple(a['spatial_shape'])}, "
                 f"{a['activation']}, normalization {a['normalization']}, head {a['head']}; "
                 f"||theta||^2 = {self.param_norm:.6g}")
        t = self.weight_threshold
        lines = [title, "", f"weights (singular values of c What_l[m], threshold {t:g}):"]
        lines += [w.render(self.weight_threshold, kind) for w in self.weights]
        if self.activations is not None:
            n = self.activations[0].span.n_samples
            rtol = self.activations[0].span.rtol
            lines += ["", f"activations ({n} samples, span threshold {rtol:g} x largest):"]
            lines += ["  " + act.render(kind) for act in self.activations]
        for est in ([self.estimate] if self.estimate is self.weights_estimate
                    else [self.estimate, self.weights_estimate]):
            lines += ["", f"CBN rank estimate ({est.method}): {est.total} = {est.describe(kind)}",
                      f"  rule: {est.rule}"]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (arrays as nested lists)."""
        def est(e: CBNRankEstimate) -> dict[str, Any]:
            return {"method": e.method, "k": e.k, "total": e.total, "describe": e.describe(),
                    "threshold": e.threshold, "layers": list(e.layers), "rule": e.rule,
                    "spatial_shape": list(e.spatial_shape)}
        out: dict[str, Any] = {
            "architecture": self.architecture, "param_norm": self.param_norm,
            "weight_threshold": self.weight_threshold,
            "weights": [{"layer": w.layer, "kind": w.kind, "spatial_shape": list(w.spatial_shape),
                         "channels": list(w.channels), "singular_values": w.singular_values,
                         "counts": w.counts(self.weight_threshold),
                         "describe": w.describe(self.weight_threshold)} for w in self.weights],
            "estimate": est(self.estimate), "weights_estimate": est(self.weights_estimate)}
        if self.activations is not None:
            out["activations"] = [
                {"layer": act.layer, "role": act.role,
                 "spatial_shape": list(act.span.spatial_shape),
                 "span_dims": act.span.span_dims, "energy": act.span.energy,
                 "energy_by_degree": act.span.energy_by_degree(), "describe": act.span.describe(),
                 "rtol": act.span.rtol, "threshold": act.span.threshold}
                for act in self.activations]
        return out


def analyze_structure(net: Any, data: Any = None, *, weight_threshold: float | None = None,
                      span_rtol: float | None = None) -> StructureReport:
    """Weight spectra, activation structure (with ``data``) and the CBN rank estimate.

    Parameters
    ----------
    net : Network
    data : array_like, shape (N, n_0, *spatial_shape), optional
    weight_threshold : float, optional
        Default STRUCTURE_WEIGHT_THRESHOLD.
    span_rtol : float, optional
        Default STRUCTURE_SPAN_RTOL.

    Returns
    -------
    StructureReport

    Examples
    --------
    >>> import numpy as np
    >>> import cbntheory as cbn
    >>> net = cbn.Architecture((6,), (1, 3, 3, 1)).init(rng=0)
    >>> rep = analyze_structure(net, np.random.default_rng(0).standard_normal((5, 1, 6)))
    >>> rep.estimate.method, "CBN rank estimate" in rep.render()
    ('activations', True)
    """
    t = settings.STRUCTURE_WEIGHT_THRESHOLD if weight_threshold is None else float(weight_threshold)
    w_est = estimate_cbn_rank(net, threshold=t)
    spectra = weight_spectra(net)
    acts = None
    est = w_est
    if data is not None:
        acts = activation_structure(net, data, rtol=span_rtol)
        est = _activations_estimate(acts, net.architecture.depth)
    return StructureReport(spectra, acts, est, w_est, t, net.architecture.to_dict(),
                           float(net.param_norm()))
