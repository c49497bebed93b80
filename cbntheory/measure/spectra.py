"""Per-frequency measurements of a network's weights and activations (T5, T6).

* :func:`weight_spectra` -- per layer, the singular values of every frequency block
  ``c_l What_l[m]`` of the kernel (the dense head: of its weight);
* :func:`activation_structure` -- per layer, on a data set, the share of the activation
  energy at every frequency and the span dimension ``dim span{ahat_l(x)[m] : x}``;
* :func:`frequency_span` -- the same two quantities for any stack of signals.

:mod:`cbntheory.measure.structure` turns them into a CBN-rank estimate and a report.

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
from typing import Any

import numpy as np

from .. import _validate as V
from .. import fourier, settings
from ..operators import ConvOperator


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
    from ..nets.network import Network

    if not isinstance(net, Network):
        raise V.fail("net", "be a cbntheory.Network", net)
    arch = net.architecture
    out = []
    for l, w in enumerate(net.kernels):
        if l < arch.n_conv:
            op = ConvOperator(w, arch.normalization)
            out.append(LayerSpectrum(l + 1, "conv", op.spatial_shape, op.singular_values(),
                                     (op.in_channels, op.out_channels)))
        else:
            out.append(LayerSpectrum(l + 1, "dense", (), np.linalg.svd(w, compute_uv=False),
                                     (int(w.shape[1]), int(w.shape[0]))))
    return tuple(out)


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
