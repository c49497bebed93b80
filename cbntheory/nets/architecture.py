"""Architectures of convolutional networks on the cyclic pixel group: :class:`Architecture`.

An :class:`Architecture` fixes everything about a network except its weights: the
image shape, the channel widths ``(n_0, ..., n_L)``, the support of the filters, the
activation, the biases and whether they are penalised, the normalisation constant
``c``, the optional average-pool classification head and the optional down/up-sampling
between layers.  It validates itself at construction, knows the shapes of every
weight array, the layout of the flat parameter vector used by the optimisers, and
draws random networks (:meth:`Architecture.init`).

Examples
--------
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((8,), (1, 4, 4, 1), kernel_size=3)
>>> arch.depth, arch.kernel_shapes[0], arch.n_free
(3, (4, 1, 8), 81)
>>> arch == cbn.Architecture.from_dict(arch.to_dict())
True
"""
from __future__ import annotations

import dataclasses
import functools
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validate as V
from .. import fourier
from ._layers import window_mask

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network

ACTIVATIONS = ("relu", "linear")
HEADS = (None, "avgpool")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """Shape and options of a convolutional network (no weights).

    Parameters
    ----------
    spatial_shape : int or tuple of int
        Image shape ``(d,)`` (1D) or ``(d1, d2)`` (2D); pixels form the cyclic group.
    channels : sequence of int
        Widths ``(n_0, ..., n_L)``; the depth is ``L = len(channels) - 1 >= 1``.
    kernel_size : int or tuple of int, optional
        None (default): full-size filters.  ``k`` (or ``(k1, k2)``): filters supported on
        the taps at offsets ``-(k//2), ..., k-1-(k//2)`` (mod the image size, per axis);
        kernels are still stored full-size with zeros elsewhere.  Must not exceed the
        image size of any convolution layer.
    activation : {"relu", "linear"}
        Nonlinearity after every layer but the last.
    bias : bool
        Whether every layer has a bias (one scalar per output channel, constant over pixels).
    penalize_bias : bool
        Whether the biases count in :meth:`Network.param_norm` (default True: ``beta = 1``).
    normalization : {"operator", "plain"}
        Convolution constant ``c = 1/sqrt(d_l)`` (default; ``d_l`` is the number of pixels
        of layer ``l``) or ``c = 1``.
    head : {None, "avgpool"}
        None: all ``L`` layers are convolutions and the output is ``(N, n_L, *spatial_L)``.
        "avgpool": layers ``1..L-1`` are convolutions (each followed by the activation),
        then the plain mean over pixels and a dense ``n_{L-1} -> n_L`` layer with its
        bias; the output is ``(N, n_L)``.  Needs ``L >= 2``.
    resample : sequence of int, optional
        One code per hidden layer (``L - 1`` entries), applied to the activation ``a_l``
        (``l = 1..L-1``) before the next layer: ``1`` = nothing, ``s >= 2`` = stride-``s``
        down-sampling keeping the pixels ``0, s, 2s, ...`` of every axis (so layer ``l``
        followed by it is a strided convolution), ``-s`` = up-sampling by ``s`` by zero
        insertion (the adjoint of down-sampling; followed by the next convolution it is a
        transposed convolution).  Every later layer works on the new image shape
        (:attr:`layer_shapes`).  None (default): no resampling.

    Raises
    ------
    ValidationError
        If a parameter breaks its rule; the message names it, the rule and the value.

    Notes
    -----
    The network is ``a_0 = x``, ``a_l = R_l sigma(W_l * a_{l-1} + b_l)`` for hidden
    layers and ``f(x) = W_L * a_{L-1} + b_L``, with ``(W * z)[p] = c sum_q W[q] z[p - q]``
    (true circular convolution) and ``R_l`` the resampling of hidden layer ``l``.
    Down-sampling aliases frequency ``m`` onto ``m mod d/s`` (THEORY T7).  Instances are
    immutable and hashable; ``dataclasses.replace(arch, ...)`` re-validates.

    References
    ----------
    [WJ2024] Y. Wen, A. Jacot, Which frequencies do CNNs need? ICML 2024.

    Examples
    --------
    >>> arch = Architecture((8, 8), (3, 8, 8, 10), kernel_size=3, head="avgpool",
    ...                     resample=(2, 1))
    >>> arch.layer_shapes, arch.output_shape
    (((8, 8), (4, 4)), (10,))
    >>> [int(w.sum()) for w in arch.windows]
    [9, 9]
    """

    spatial_shape: tuple[int, ...]
    channels: tuple[int, ...]
    _: dataclasses.KW_ONLY
    kernel_size: tuple[int, ...] | None = None
    activation: str = "relu"
    bias: bool = True
    penalize_bias: bool = True
    normalization: str = "operator"
    head: str | None = None
    resample: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        shape = V.spatial_shape("spatial_shape", self.spatial_shape)
        set_("spatial_shape", shape)
        if isinstance(self.channels, (str, bytes)) or not hasattr(self.channels, "__len__"):
            raise V.fail("channels", "be a sequence (n_0, ..., n_L) of positive integers",
                         self.channels)
        channels = tuple(self.channels)
        if len(channels) < 2:
            raise V.fail("channels", "have at least 2 entries (n_0, ..., n_L with depth L >= 1)",
                         self.channels)
        set_("channels", tuple(V.positive_int(f"channels[{i}]", n) for i, n in enumerate(channels)))
        set_("kernel_size", V.kernel_size(self.kernel_size, len(shape)))
        if self.activation not in ACTIVATIONS:
            raise V.fail("activation", f"be one of {ACTIVATIONS}", self.activation)
        set_("bias", V.flag("bias", self.bias))
        set_("penalize_bias", V.flag("penalize_bias", self.penalize_bias))
        set_("normalization", V.normalization("normalization", self.normalization))
        if self.head not in HEADS:
            raise V.fail("head", f"be one of {HEADS}", self.head)
        depth = len(channels) - 1
        if self.head == "avgpool" and depth < 2:
            raise V.fail("channels", "have at least 3 entries with head='avgpool' (depth >= 2: "
                         "one convolution before the pool and the dense layer)", self.channels)
        set_("resample", self._check_resample(shape, depth))
        self._check_kernel_size()

    # ------------------------------------------------------------------ validation
    def _check_resample(self, shape: tuple[int, ...], depth: int) -> tuple[int, ...]:
        if self.resample is None:
            return (1,) * (depth - 1)
        try:
            codes = tuple(self.resample)
        except TypeError:
            raise V.fail("resample", "be None or a sequence of ints", self.resample) from None
        if len(codes) != depth - 1:
            raise V.fail("resample", f"have one entry per hidden layer (depth - 1 = {depth - 1})",
                         self.resample)
        out: list[int] = []
        current = shape
        for i, r in enumerate(codes):
            name = f"resample[{i}]"
            if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r in (0, -1):
                raise V.fail(name, "be 1 (none), s >= 2 (down-sample) or -s <= -2 (up-sample)", r)
            r = int(r)
            if r > 1:
                if any(n % r for n in current):
                    raise V.fail(name, f"divide the image size {current} of hidden layer {i + 1} "
                                 "(stride-s down-sampling)", r)
                current = tuple(n // r for n in current)
            elif r < -1:
                current = tuple(n * -r for n in current)
            out.append(r)
        return tuple(out)

    def _check_kernel_size(self) -> None:
        if self.kernel_size is None:
            return
        for l, shp in enumerate(self.layer_shapes):
            if any(k > n for k, n in zip(self.kernel_size, shp)):
                where = "" if shp == self.spatial_shape else " (after resampling)"
                raise V.fail("kernel_size", f"be <= the image size {shp} of convolution layer "
                             f"{l}{where} along every axis", self.kernel_size)

    # ------------------------------------------------------------------ shapes
    @property
    def depth(self) -> int:
        """Number of layers ``L`` (convolutions plus the dense head, if any)."""
        return len(self.channels) - 1

    @property
    def ndim(self) -> int:
        """Number of spatial axes (1 or 2)."""
        return len(self.spatial_shape)

    @property
    def n_conv(self) -> int:
        """Number of convolution layers: ``L``, or ``L - 1`` with the avgpool head."""
        return self.depth - (self.head == "avgpool")

    @functools.cached_property
    def layer_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Spatial shape on which each convolution layer acts (its input and output)."""
        shapes = [self.spatial_shape]
        for r in self.resample[: self.n_conv - 1]:  # type: ignore[index]
            cur = shapes[-1]
            shapes.append(tuple(n // r for n in cur) if r > 0 else tuple(n * -r for n in cur))
        return tuple(shapes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape ``(n_0, *spatial_shape)`` of one input."""
        return (self.channels[0],) + self.spatial_shape

    @functools.cached_property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one output: ``(n_L, *layer_shapes[-1])`` or ``(n_L,)`` with the head."""
        if self.head == "avgpool":
            return (self.channels[-1],)
        return (self.channels[-1],) + self.layer_shapes[-1]

    @property
    def input_size(self) -> int:
        """Number of input coordinates ``n_0 d``."""
        return int(np.prod(self.input_shape))

    @property
    def output_size(self) -> int:
        """Number of output coordinates."""
        return int(np.prod(self.output_shape))

    @functools.cached_property
    def constants(self) -> tuple[float, ...]:
        """Convolution constant ``c_l`` of every convolution layer (depends on its pixels)."""
        return tuple(fourier.normalization_constant(self.normalization, s)
                     for s in self.layer_shapes)

    @functools.cached_property
    def kernel_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Shapes of ``Network.kernels``: ``(n_l, n_{l-1}, *layer_shape)``, then the dense head."""
        n = self.channels
        shapes = [(n[l + 1], n[l]) + s for l, s in enumerate(self.layer_shapes)]
        if self.head == "avgpool":
            shapes.append((n[-1], n[-2]))
        return tuple(shapes)

    @functools.cached_property
    def bias_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Shapes of ``Network.biases``: ``(n_l,)`` for every layer, or empty without biases."""
        return tuple((n,) for n in self.channels[1:]) if self.bias else ()

    @functools.cached_property
    def windows(self) -> tuple[np.ndarray, ...]:
        """Per convolution layer, the boolean tap mask of its spatial shape (read-only)."""
        out = []
        for s in self.layer_shapes:
            w = window_mask(self.kernel_size, s)
            w.setflags(write=False)
            out.append(w)
        return tuple(out)

    @functools.cached_property
    def _window_index(self) -> tuple[np.ndarray, ...]:
        return tuple(np.flatnonzero(w) for w in self.windows)

    # ------------------------------------------------------------------ flat vector
    @functools.cached_property
    def vector_layout(self) -> tuple[tuple[str, slice], ...]:
        """Blocks of the flat parameter vector, in order: ``(name, slice)`` pairs.

        Layer by layer: ``kernels[l]`` restricted to its window (entries in C order of
        ``(C_out, C_in, taps)``, taps in C order of the image) or the dense head weight
        (C order), then ``biases[l]`` when the architecture has biases.
        """
        blocks = []
        pos = 0
        for l, shp in enumerate(self.kernel_shapes):
            size = shp[0] * shp[1] * (len(self._window_index[l]) if l < self.n_conv else 1)
            blocks.append((f"kernels[{l}]", slice(pos, pos + size)))
            pos += size
            if self.bias:
                blocks.append((f"biases[{l}]", slice(pos, pos + shp[0])))
                pos += shp[0]
        return tuple(blocks)

    @property
    def n_free(self) -> int:
        """Number of free parameters: window taps of every kernel, dense head, biases."""
        return self.vector_layout[-1][1].stop

    def penalty_mask(self) -> np.ndarray:
        """Boolean ``(n_free,)``: True on the entries counted by ``param_norm``.

        ``param_norm() == sum(v[mask] ** 2)`` for ``v = net.to_vector()``; biases are
        masked out when ``penalize_bias`` is False.
        """
        mask = np.ones(self.n_free, dtype=bool)
        if not self.penalize_bias:
            for name, sl in self.vector_layout:
                if name.startswith("biases"):
                    mask[sl] = False
        return mask

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the constructor arguments (lists instead of tuples)."""
        return {
            "spatial_shape": list(self.spatial_shape),
            "channels": list(self.channels),
            "kernel_size": None if self.kernel_size is None else list(self.kernel_size),
            "activation": self.activation,
            "bias": self.bias,
            "penalize_bias": self.penalize_bias,
            "normalization": self.normalization,
            "head": self.head,
            "resample": list(self.resample),  # type: ignore[arg-type]
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Architecture:
        """Inverse of :meth:`to_dict`; unknown or missing keys raise ValidationError."""
        if not isinstance(data, Mapping):
            raise V.fail("data", "be a mapping as returned by Architecture.to_dict()", data)
        names = {f.name for f in dataclasses.fields(cls)} - {"_"}
        unknown = sorted(set(data) - names)
        if unknown:
            raise V.fail("data", f"only have the keys {sorted(names)}", unknown)
        for key in ("spatial_shape", "channels"):
            if key not in data:
                raise V.fail("data", f"contain the key {key!r}", sorted(data))
        kwargs = dict(data)
        shape, channels = kwargs.pop("spatial_shape"), kwargs.pop("channels")
        return cls(shape, channels, **kwargs)

    # ------------------------------------------------------------------ random networks
    def init_std(self) -> tuple[float, ...]:
        """Default standard deviation of the kernel entries of every layer (see :meth:`init`)."""
        stds = []
        for l in range(self.n_conv):
            gain = 2.0 if (self.activation == "relu" and l > 0) else 1.0
            fan_in = self.constants[l] ** 2 * len(self._window_index[l]) * self.channels[l]
            if l > 0 and self.resample[l - 1] < -1:  # type: ignore[index]
                fan_in /= (-self.resample[l - 1]) ** self.ndim  # type: ignore[index]
            stds.append(float(np.sqrt(gain / fan_in)))
        if self.head == "avgpool":
            gain = 2.0 if self.activation == "relu" else 1.0
            stds.append(float(np.sqrt(gain / self.channels[-2])))
        return tuple(stds)

    def init(self, rng: Any = 0, scale: float | None = None) -> Network:
        """A random network: Gaussian window taps, zero biases.

        Parameters
        ----------
        rng : int, numpy.random.Generator or None
            Seed or generator (the seed is recorded in ``Network.seed``).
        scale : float, optional
            Multiplies the default standard deviations (default 1).

        Returns
        -------
        Network
            Kernels with i.i.d. ``N(0, (scale * std_l)^2)`` taps inside the window (zero
            outside), zero biases.

        Notes
        -----
        ``std_l^2 = gain / (c_l^2 K_l n_{l-1})`` with ``K_l`` the number of window taps,
        ``gain = 2`` when the layer's input is a ReLU output (layers ``2..L`` of a ReLU
        network: He initialisation) and 1 otherwise, so every pre-activation and the
        output keep unit variance for unit-variance inputs whatever ``c``; after an
        up-sampling by ``s`` the fan-in counts only the ``1/s^ndim`` non-zero pixels.
        The dense head uses ``std^2 = gain / n_{L-1}``.

        Examples
        --------
        >>> arch = Architecture((16,), (2, 8, 1), kernel_size=3)
        >>> net = arch.init(rng=3)
        >>> net.seed, bool(np.all(net.kernels[0][..., ~arch.windows[0]] == 0))
        (3, True)
        """
        from .network import Network

        V.check_size("the network's weights (Architecture.init)",
                     sum(int(np.prod(shp, dtype=object)) for shp in self.kernel_shapes))
        gen, seed = V.rng_seed(rng)
        factor = 1.0
        if scale is not None:
            factor = float(scale)
            if not np.isfinite(factor) or factor < 0:
                raise V.fail("scale", "be a finite number >= 0", scale)
        kernels = []
        for l, (shp, std) in enumerate(zip(self.kernel_shapes, self.init_std())):
            w = gen.standard_normal(shp) * (factor * std)
            if l < self.n_conv:
                w *= self.windows[l]
            kernels.append(w)
        biases = [np.zeros(s) for s in self.bias_shapes]
        return Network(self, kernels, biases, seed=seed)

