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

Examples
--------
All circular shifts of one bump span one dimension at every frequency of the bump:

>>> import numpy as np
>>> p = np.arange(8)
>>> bump = np.exp(-0.5 * ((p - 4) / 1.2) ** 2)
>>> shifts = np.stack([np.roll(bump, j) for j in range(8)])[:, None, :]
>>> span = frequency_span(shifts, rtol=1e-10)
>>> span.span_dims.tolist(), bool(np.isclose(span.energy.sum(), 1.0))
([1, 1, 1, 1, 1, 1, 1, 1], True)
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..theory.bounds import layer_operators


def _fmt(values: np.ndarray, n: int = 4) -> str:
    vals = [f"{v:.3g}" for v in np.asarray(values)[:n]]
    more = "" if len(values) <= n else f" ... ({len(values)})"
    return " ".join(vals) + more


def _by_degree(spatial_shape: tuple[int, ...], kind: str) -> dict[int, np.ndarray]:
    deg = fourier.degree(spatial_shape, kind)
    return {int(g): deg == g for g in np.unique(deg)}


# ---------------------------------------------------------------------- signals
@dataclasses.dataclass(frozen=True)
class FrequencySpan:
    """Energy and span dimension per frequency of a stack of multi-channel signals.

    Attributes
    ----------
    span_dims : ndarray of int, shape spatial
        ``dim span{zhat(x)[m]}``: singular values of the ``(C, N)`` matrix at ``m`` above
        :attr:`threshold`.
    energy : ndarray, shape spatial
        ``sum_{x, c} |zhat(x)[m]|^2`` divided by its sum over ``m`` (zeros if all signals vanish).
    singular_values : ndarray, shape (*spatial, min(C, N))
        Per frequency, decreasing.
    threshold : float
        Absolute cut: ``rtol`` times the largest singular value over all frequencies.
    rtol : float
    spatial_shape : tuple of int
    n_samples : int
    """

    span_dims: np.ndarray
    energy: np.ndarray
    singular_values: np.ndarray
    threshold: float
    rtol: float
    spatial_shape: tuple[int, ...]
    n_samples: int

    def describe(self, kind: str = "l1") -> str:
        """Span dimensions grouped by degree, e.g. ``"1 constant, 2 degree-1"``."""
        return fourier.describe_degrees(self.span_dims, self.spatial_shape, kind)

    def energy_by_degree(self, kind: str = "l1") -> dict[int, float]:
        """Share of the energy at every frequency degree (sums to 1 unless all zero)."""
        return {g: float(self.energy[mask].sum())
                for g, mask in _by_degree(self.spatial_shape, kind).items()}


def frequency_span(signals: Any, *, rtol: float | None = None) -> FrequencySpan:
    """Per-frequency energy and span dimension of signals ``(N, C, *spatial)``.

    Parameters
    ----------
    signals : array_like, shape (N, C, *spatial)
        Real signals (1 or 2 spatial axes), e.g. one layer's activations over a data set.
    rtol : float, optional
        Relative threshold (default :data:`cbntheory.settings.STRUCTURE_SPAN_RTOL`): at
        frequency ``m`` count the singular values of ``[zhat(x_1)[m], ..., zhat(x_N)[m]]``
        above ``rtol * s_ref``, ``s_ref`` the largest singular value over all frequencies.

    Returns
    -------
    FrequencySpan

    Notes
    -----
    One common reference ``s_ref`` (rather than one per frequency) keeps frequencies that
    carry only round-off from counting as a full dimension.  Frequencies ``m`` and ``-m``
    have conjugate matrices, hence equal dimensions; only the ``rfftn`` half is decomposed.
    """
    z = V.real_array("signals", signals, ndim=(3, 4))
    shape = tuple(z.shape[2:])
    ndim = len(shape)
    rtol = settings.STRUCTURE_SPAN_RTOL if rtol is None else float(rtol)
    if not (np.isfinite(rtol) and rtol >= 0):
        raise V.fail("rtol", "be a finite number >= 0", rtol)
    zh = np.fft.rfftn(z, axes=fourier.spatial_axes(ndim))       # (N, C, *half)
    mats = np.moveaxis(zh, (0, 1), (-1, -2))                      # (*half, C, N)
    half_s = np.linalg.svd(mats, compute_uv=False)
    s = fourier.half_to_full(half_s, shape)
    power = fourier.half_to_full(np.sum(np.abs(mats) ** 2, axis=(-2, -1)), shape)
    total = float(power.sum())
    energy = power / total if total > 0 else np.zeros(shape)
    s_ref = float(s.max(initial=0.0))
    thr = rtol * s_ref
    dims = np.count_nonzero(s > thr, axis=-1) if s_ref > 0 else np.zeros(shape, dtype=int)
    return FrequencySpan(dims.astype(int), energy, s, thr, rtol, shape, int(z.shape[0]))


# ---------------------------------------------------------------------- weights
@dataclasses.dataclass(frozen=True)
class LayerSpectrum:
    """Singular values of every frequency block of one layer.

    Attributes
    ----------
    layer : int
        1-based layer index.
    kind : str
        ``"conv"`` or ``"dense"`` (the avgpool head; it sees only frequency 0).
    spatial_shape : tuple of int
        The layer's image shape (``()`` for the dense head).
    singular_values : ndarray, shape (*spatial_shape, r)
        Decreasing per frequency, of ``c_l What_l[m]`` (or of the dense weight).
    channels : tuple of int
        ``(C_in, C_out)``.
    """

    layer: int
    kind: str
    spatial_shape: tuple[int, ...]
    singular_values: np.ndarray
    channels: tuple[int, int]

    def counts(self, threshold: float | None = None) -> np.ndarray:
        """Number of singular values above ``threshold`` at every frequency."""
        t = settings.STRUCTURE_WEIGHT_THRESHOLD if threshold is None else float(threshold)
        return np.count_nonzero(self.singular_values > t, axis=-1)

    def describe(self, threshold: float | None = None, kind: str = "l1") -> str:
        """Counts above ``threshold`` grouped by degree."""
        if self.kind == "dense":
            return f"{int(self.counts(threshold))} (dense head, after the mean pool)"
        return fourier.describe_degrees(self.counts(threshold), self.spatial_shape, kind)

    def render(self, threshold: float | None = None, kind: str = "l1") -> str:
        """Table: per degree, the number of frequencies, leading singular values, count."""
        t = settings.STRUCTURE_WEIGHT_THRESHOLD if threshold is None else float(threshold)
        head = (f"layer {self.layer} ({self.kind} {self.channels[0]}->{self.channels[1]}"
                + (f" on {self.spatial_shape}" if self.spatial_shape else "") + ")"
                + f": singular values > {t:g}: {self.describe(t, kind)}")
        if self.kind == "dense":
            return head + f"\n    s = {_fmt(self.singular_values, 6)}"
        lines = [head, "    degree  #freq  count>t  largest singular values"]
        counts = self.counts(t)
        for g, mask in _by_degree(self.spatial_shape, kind).items():
            vals = np.sort(self.singular_values[mask].ravel())[::-1]
            lines.append(f"    {g:6d}  {int(mask.sum()):5d}  {int(counts[mask].sum()):7d}  "
                         f"{_fmt(vals)}")
        return "\n".join(lines)


def weight_spectra(net: Any) -> tuple[LayerSpectrum, ...]:
    """Singular values of every frequency block of every layer of ``net``.

    The values are those of :func:`cbntheory.theory.bounds.layer_operators` (T2, T5).

    Parameters
    ----------
    net : Network

    Returns
    -------
    tuple of LayerSpectrum
        One per layer, first layer first.

    Examples
    --------
    A single-channel kernel ``(2, 1, 0, 0, 0, 1) / sqrt(6)`` has multipliers
    ``2 + 2 cos(2 pi m / 6)`` under the operator normalisation:

    >>> import numpy as np
    >>> import cbntheory as cbn
    >>> arch = cbn.Architecture((6,), (1, 1), bias=False)
    >>> k = np.array([2.0, 1, 0, 0, 0, 1]).reshape(1, 1, 6) * np.sqrt(6)
    >>> spec = weight_spectra(cbn.Network(arch, [k], []))[0]
    >>> m = np.arange(6)
    >>> bool(np.allclose(spec.singular_values[:, 0], np.abs(2 + 2 * np.cos(2 * np.pi * m / 6))))
    True
    """
    ops = layer_operators(net)  # checks that net is a Network
    n_conv = net.architecture.n_conv
    return tuple(LayerSpectrum(l + 1, "conv" if l < n_conv else "dense", tuple(w.shape[2:]),
                               s, (int(w.shape[1]), int(w.shape[0])))
                 for l, (w, (s, _, _)) in enumerate(zip(net.kernels, ops)))


# ---------------------------------------------------------------------- activations
@dataclasses.dataclass(frozen=True)
class LayerActivations:
    """:class:`FrequencySpan` of one layer's activations, with the layer's identity.

    Attributes
    ----------
    layer : int
        0 for the input, ``1..L-1`` for hidden activations ``a_l = sigma(W_l * a_{l-1} + b_l)``
        (before resampling), ``L`` for the output of a head-less network.
    role : str
        ``"input"``, ``"hidden"`` or ``"output"``.
    span : FrequencySpan
    """

    layer: int
    role: str
    span: FrequencySpan

    def render(self, kind: str = "l1", min_share: float = 1e-3) -> str:
        """One line: span dimensions by degree and the energy share by degree."""
        s = self.span
        shares = [f"{g}: {e:.3f}" for g, e in s.energy_by_degree(kind).items() if e >= min_share]
        r = s.singular_values.shape[-1]
        return (f"layer {self.layer} ({self.role}, <= {r} dims per frequency, "
                f"{s.spatial_shape}): span {self.span.describe(kind)} "
                f"[total {int(s.span_dims.sum())}]; energy by degree {{{', '.join(shares)}}}")


def activation_structure(net: Any, data: Any, *, rtol: float | None = None
                         ) -> tuple[LayerActivations, ...]:
    """Per-frequency energy and span dimension of the input, hidden layers and output.

    Parameters
    ----------
    net : Network
    data : array_like, shape (N, n_0, *spatial_shape)
    rtol : float, optional
        Relative span threshold of :func:`frequency_span` (default STRUCTURE_SPAN_RTOL).

    Returns
    -------
    tuple of LayerActivations
        Layer 0 (input), the hidden layers, and the output unless the network has the
        avgpool head (whose output has no pixels).
    """
    from ..nets.network import Network

    if not isinstance(net, Network):
        raise V.fail("net", "be a cbntheory.Network", net)
    x = V.real_array("data", data)
    shape = net.architecture.input_shape
    if x.shape[1:] != shape or x.ndim != len(shape) + 1:
        raise V.fail("data", f"have shape (N, {', '.join(map(str, shape))}) (batch, channels "
                     "n_0, *spatial_shape)", x)
    arrays = [("input", x)] + [("hidden", a) for a in net.activations(x)]
    if net.architecture.head is None:
        arrays.append(("output", net(x)))
    return tuple(LayerActivations(l, role, frequency_span(a, rtol=rtol))
                 for l, (role, a) in enumerate(arrays))


# ---------------------------------------------------------------------- CBN rank


# ------------------------------------------------------------------- CBN rank estimate
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
