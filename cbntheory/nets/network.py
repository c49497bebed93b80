"""Convolutional networks with weights: :class:`Network` (forward, gradients, Jacobians, files).

A :class:`Network` is an :class:`~cbntheory.nets.architecture.Architecture` plus its kernels
and biases.  It evaluates ``f_theta(x)`` on a batch, differentiates any loss of the
outputs with respect to all parameters (reverse mode, in the frequency domain), exposes
the parameters as one flat vector for optimisers, computes the exact Jacobian
``J f_theta(x)`` and, at translation-invariant inputs, its frequency blocks, and
saves itself to a pickle-free ``.npz`` file.

Examples
--------
>>> import numpy as np
>>> import cbntheory as cbn
>>> arch = cbn.Architecture((8,), (2, 4, 1), kernel_size=3)
>>> net = arch.init(rng=0)
>>> x = np.random.default_rng(1).standard_normal((5, 2, 8))
>>> y, grad = net.vjp(x, np.ones((5, 1, 8)))
>>> y.shape, grad.shape == (arch.n_free,)
((5, 1, 8), True)
>>> v = net.to_vector()
>>> bool(np.allclose(cbn.Network.from_vector(arch, v)(x), y))
True
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import _validate as V
from ..errors import ValidationError
from . import _engine as E
from . import _layers as K
from . import files as F
from . import jacobian as J
from . import vector as P
from .architecture import Architecture


class Network:
    """A convolutional network: architecture, kernels and biases.

    Parameters
    ----------
    architecture : Architecture
        Shapes and options.
    kernels : sequence of array_like
        One real array per layer with shape ``architecture.kernel_shapes[l]``:
        ``(n_l, n_{l-1}, *layer_shape)`` for convolutions (full-size, zero outside the
        window), ``(n_L, n_{L-1})`` for the dense layer of the "avgpool" head.
    biases : sequence of array_like
        One ``(n_l,)`` array per layer, or empty (or None) when the architecture has none.
    seed : int, optional
        Seed that generated the weights, recorded for reproducibility.

    Raises
    ------
    ValidationError
        Wrong number or shapes of arrays, NaN/inf, non-zero taps outside the window.

    Notes
    -----
    The arrays are copied and made read-only, so cached kernel spectra stay valid; build
    a new network (e.g. :meth:`from_vector`) to change weights.  The forward pass is
    ``a_l = R_l sigma(W_l * a_{l-1} + b_l)``, ``f(x) = W_L * a_{L-1} + b_L`` (see
    :class:`Architecture`), computed per frequency: ``(W * z)^[m] = c What[m] zhat[m]``.

    Examples
    --------
    >>> arch = Architecture((4,), (1, 1), bias=False, normalization="plain")
    >>> net = Network(arch, [np.array([[[0.0, 1.0, 0.0, 0.0]]])], [])
    >>> net(np.array([[[1.0, 2.0, 3.0, 4.0]]])).tolist()   # a shift by one pixel
    [[[4.0, 1.0, 2.0, 3.0]]]
    """

    def __init__(self, architecture: Architecture, kernels: Sequence[Any],
                 biases: Sequence[Any] | None, *, seed: int | None = None) -> None:
        if not isinstance(architecture, Architecture):
            raise V.fail("architecture", "be a cbntheory.Architecture", architecture)
        arch = architecture
        kernels = list(kernels) if kernels is not None else []
        biases = [] if biases is None else list(biases)
        if len(kernels) != arch.depth:
            raise V.fail("kernels", f"have one array per layer ({arch.depth})",
                         f"{len(kernels)} arrays")
        if len(biases) != len(arch.bias_shapes):
            rule = (f"have one array per layer ({arch.depth})" if arch.bias
                    else "be empty (the architecture has bias=False)")
            raise V.fail("biases", rule, f"{len(biases)} arrays")
        ks = []
        for l, (w, shp) in enumerate(zip(kernels, arch.kernel_shapes)):
            w = V.real_array(f"kernels[{l}]", w).copy()
            if w.shape != shp:
                raise V.fail(f"kernels[{l}]", f"have shape {shp}", w)
            if l < arch.n_conv and arch.kernel_size is not None:
                outside = np.abs(w[..., ~arch.windows[l]])
                if outside.size and outside.max() > 0:
                    raise ValidationError(
                        f"kernels[{l}] must be zero outside the window of kernel_size="
                        f"{arch.kernel_size}; got max |entry| = {outside.max():.3g} outside it")
            ks.append(V.read_only(w))
        bs = []
        for l, (b, shp) in enumerate(zip(biases, arch.bias_shapes)):
            b = V.real_array(f"biases[{l}]", b).copy()
            if b.shape != shp:
                raise V.fail(f"biases[{l}]", f"have shape {shp}", b)
            bs.append(V.read_only(b))
        if seed is not None:
            seed = V.positive_int("seed", seed, minimum=0)
        self._init(arch, ks, bs, seed)

    def _init(self, arch: Architecture, kernels: list, biases: list, seed: int | None) -> None:
        self._arch = arch
        self._kernels = kernels
        self._biases = biases
        self._seed = seed
        self._compiled: dict[str, E.Compiled] = {}

    # ------------------------------------------------------------------ attributes
    @property
    def architecture(self) -> Architecture:
        """The :class:`Architecture`."""
        return self._arch

    @property
    def kernels(self) -> list[np.ndarray]:
        """Kernels, one read-only float64 array per layer (see ``kernel_shapes``)."""
        return list(self._kernels)

    @property
    def biases(self) -> list[np.ndarray]:
        """Biases, one read-only ``(n_l,)`` array per layer (empty without biases)."""
        return list(self._biases)

    @property
    def seed(self) -> int | None:
        """Seed of the random initialisation, if the network came from one."""
        return self._seed

    def __repr__(self) -> str:
        a = self._arch
        return (f"Network(channels={a.channels}, spatial_shape={a.spatial_shape}, "
                f"kernel_size={a.kernel_size}, activation={a.activation!r}, head={a.head!r}, "
                f"param_norm={self.param_norm():.6g})")

    def _comp(self, dtype: np.dtype) -> E.Compiled:
        comp = self._compiled.get(dtype.str)
        if comp is None:
            comp = self._compiled[dtype.str] = E.Compiled(self._arch, self._kernels,
                                                          self._biases, dtype)
        return comp

    def _input(self, x: Any, name: str = "x") -> np.ndarray:
        arch = self._arch
        arr = V.real_array(name, x)
        if arr.ndim != arch.ndim + 2 or arr.shape[1:] != arch.input_shape:
            raise V.fail(name, f"have shape (N, {', '.join(map(str, arch.input_shape))}) "
                         "(batch, channels n_0, *spatial_shape)", arr)
        return arr

    def _single(self, x: Any) -> np.ndarray:
        arr = V.real_array("x", x)
        if arr.shape != self._arch.input_shape:
            raise V.fail("x", f"have shape {self._arch.input_shape} (one input: channels n_0, "
                         "*spatial_shape)", arr)
        return arr

    def _output_internal(self, cot: Any, n: int, dtype: np.dtype) -> np.ndarray:
        arch = self._arch
        arr = V.real_array("cotangent", cot)
        if arr.shape != (n,) + arch.output_shape:
            raise V.fail("cotangent", f"have the output shape {(n,) + arch.output_shape}", arr)
        if arch.head == "avgpool":
            return np.ascontiguousarray(arr.T, dtype=dtype)
        return K.to_internal(arr, arch.ndim, dtype)

    def _output_public(self, out: np.ndarray) -> np.ndarray:
        if self._arch.head == "avgpool":
            return np.ascontiguousarray(out.T)
        return K.from_internal(out, self._arch.ndim)

    # ------------------------------------------------------------------ forward
    def __call__(self, x: Any, *, dtype: Any = None) -> np.ndarray:
        """Outputs ``f_theta(x)`` for a batch ``x`` of shape ``(N, n_0, *spatial_shape)``.

        Returns ``(N, *architecture.output_shape)`` in ``dtype`` (float64 default, or
        float32); raises ValidationError for wrong shapes or NaN/inf.

        Examples
        --------
        >>> net = Architecture((8,), (1, 3, 1), kernel_size=3).init(rng=0)
        >>> x = np.random.default_rng(0).standard_normal((2, 1, 8))
        >>> bool(np.allclose(net(np.roll(x, 3, axis=2)), np.roll(net(x), 3, axis=2)))
        True
        """
        dt = V.float_dtype(dtype)
        xi = K.to_internal(self._input(x), self._arch.ndim, dt)
        out, _ = E.forward(self._comp(dt), xi)
        return self._output_public(out)

    forward = __call__

    def activations(self, x: Any, *, pre: bool = False) -> list[np.ndarray]:
        """Hidden activations ``a_1, ..., a_{L-1}`` before resampling, each ``(N, n_l, *shape_l)``.

        With ``pre=True`` the pre-activations ``W_l * a_{l-1} + b_l`` instead (float64).

        Examples
        --------
        >>> net = Architecture((6,), (1, 4, 4, 1)).init(rng=0)
        >>> x = np.ones((3, 1, 6))
        >>> u, a = net.activations(x, pre=True), net.activations(x)
        >>> len(a), bool(np.array_equal(a[1], np.maximum(u[1], 0)))
        (2, True)
        """
        arch = self._arch
        xi = K.to_internal(self._input(x), arch.ndim)
        hidden: list[np.ndarray] = []
        E.forward(self._comp(V.float_dtype(None)), xi, hidden=hidden, pre=pre)
        return [K.from_internal(h, arch.ndim) for h in hidden]

    # ------------------------------------------------------------------ gradients
    def pullback(self, x: Any, *, dtype: Any = None
                 ) -> tuple[np.ndarray, Callable[..., Any]]:
        """Forward pass that keeps what the reverse pass needs (like ``jax.vjp``).

        Parameters
        ----------
        x : array_like, shape (N, n_0, *spatial_shape)
        dtype : {float64, float32}, optional

        Returns
        -------
        out : ndarray, shape (N, *output_shape)
        backward : callable
            ``backward(cotangent, as_vector=True)`` with ``cotangent`` of the shape of
            ``out`` returns the gradient of ``<cotangent, f_theta(x)>`` with respect to the
            parameters: a ``(n_free,)`` vector (layout of :meth:`to_vector`), or with
            ``as_vector=False`` a pair ``(kernel_grads, bias_grads)`` of lists shaped like
            :attr:`kernels` and :attr:`biases` (kernel gradients are zero outside the
            window: the gradient with respect to the free taps).  It can be called many times.

        Notes
        -----
        ReLU is differentiated with the convention ``sigma'(0) = 0``.
        """
        dt = V.float_dtype(dtype)
        xi = K.to_internal(self._input(x), self._arch.ndim, dt)
        comp = self._comp(dt)
        out, tape = E.forward(comp, xi, record=True)
        n = xi.shape[-1]

        def backward(cotangent: Any, as_vector: bool = True) -> Any:
            cot = self._output_internal(cotangent, n, dt)
            kg, bg, _ = E.backward(comp, tape, cot)  # type: ignore[arg-type]
            return P.pack(self._arch, kg, bg) if as_vector else (kg, bg)

        return self._output_public(out), backward

    def jvp(self, x: Any, tangent: Any, *, dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and their derivative along a parameter direction (forward mode).

        Parameters
        ----------
        x : array_like, shape (N, n_0, *spatial_shape)
        tangent : array_like, shape (n_free,)
            A direction in the layout of :meth:`to_vector`.
        dtype : {float64, float32}, optional

        Returns
        -------
        out : ndarray, shape (N, *output_shape)
        derivative : ndarray, shape (N, *output_shape)
            ``d/dt f_{theta + t v}(x)`` at ``t = 0`` (``J v``), the ReLU masks those of
            ``theta`` (``sigma'(0) = 0``, as in :meth:`pullback`).

        Examples
        --------
        >>> arch = Architecture((5,), (1, 3, 1))
        >>> net = arch.init(rng=0)
        >>> x = np.random.default_rng(1).standard_normal((2, 1, 5))
        >>> v = np.random.default_rng(2).standard_normal(arch.n_free)
        >>> out, dout = net.jvp(x, v)
        >>> ahead = Network.from_vector(arch, net.to_vector() + 1e-7 * v)(x)
        >>> bool(np.allclose(dout, (ahead - out) / 1e-7, atol=1e-5))
        True
        """
        dt = V.float_dtype(dtype)
        arch = self._arch
        v = V.real_array("tangent", tangent)
        if v.shape != (arch.n_free,):
            raise V.fail("tangent", f"have shape ({arch.n_free},) (the layout of to_vector)", v)
        xi = K.to_internal(self._input(x), arch.ndim, dt)
        comp = self._comp(dt)
        out, tape = E.forward(comp, xi, record=True)
        dcomp = E.Compiled(arch, *P.unpack(arch, v), dt)
        dout = E.parameter_tangent(comp, tape, dcomp)  # type: ignore[arg-type]
        return self._output_public(out), self._output_public(dout)

    def vjp(self, x: Any, cotangent: Any, *, dtype: Any = None,
            as_vector: bool = True) -> tuple[np.ndarray, Any]:
        """Outputs and the parameter gradient of ``<cotangent, f_theta(x)>`` (:meth:`pullback`)."""
        out, backward = self.pullback(x, dtype=dtype)
        return out, backward(cotangent, as_vector=as_vector)

    def value_and_grad(self, x: Any, loss: Callable[[np.ndarray], tuple[float, Any]], *,
                       dtype: Any = None) -> tuple[float, np.ndarray, np.ndarray]:
        """Value and parameter gradient of ``loss(f_theta(x))``.

        Parameters
        ----------
        x : array_like, shape (N, n_0, *spatial_shape)
        loss : callable
            ``loss(out) -> (value, dvalue/dout)`` with the derivative shaped like ``out``.

        Returns
        -------
        value : float
        grad : ndarray, shape (n_free,)
            Gradient with respect to :meth:`to_vector` (parameter norm not included).
        out : ndarray
            The outputs ``f_theta(x)``.

        Examples
        --------
        >>> arch = Architecture((6,), (1, 3, 1))
        >>> net = arch.init(rng=0)
        >>> x = np.ones((2, 1, 6))
        >>> val, g, out = net.value_and_grad(x, lambda y: (float((y ** 2).sum()), 2 * y))
        >>> bool(np.isclose(val, (net(x) ** 2).sum())), g.shape
        (True, (40,))
        """
        out, backward = self.pullback(x, dtype=dtype)
        value, cot = loss(out)
        return float(value), backward(cot), out

    # ------------------------------------------------------------------ parameters
    def param_norm(self) -> float:
        """``sum_l ||W_l||_F^2`` (dense head included) ``+ sum_l ||b_l||^2`` if ``penalize_bias``.

        Examples
        --------
        >>> arch = Architecture((4,), (1, 1), penalize_bias=False)
        >>> Network(arch, [np.ones((1, 1, 4))], [np.array([5.0])]).param_norm()
        4.0
        """
        total = sum(float(np.sum(w * w)) for w in self._kernels)
        if self._arch.penalize_bias:
            total += sum(float(np.sum(b * b)) for b in self._biases)
        return total

    def to_vector(self) -> np.ndarray:
        """Free parameters as one float64 vector, layout ``architecture.vector_layout``."""
        return P.pack(self._arch, self._kernels, self._biases)

    @classmethod
    def from_vector(cls, architecture: Architecture, vector: Any, *,
                    seed: int | None = None) -> Network:
        """Network whose free parameters are ``vector`` (inverse of :meth:`to_vector`).

        Raises
        ------
        ValidationError
            If ``vector`` is not a finite real vector of length ``architecture.n_free``.
        """
        if not isinstance(architecture, Architecture):
            raise V.fail("architecture", "be a cbntheory.Architecture", architecture)
        arch = architecture
        v = V.real_array("vector", vector, ndim=1)
        if v.shape != (arch.n_free,):
            raise V.fail("vector", f"have length architecture.n_free = {arch.n_free}", v)
        kernels, biases = P.unpack(arch, v)
        net = cls.__new__(cls)
        net._init(arch, [V.read_only(w) for w in kernels], [V.read_only(b) for b in biases],
                  None if seed is None
                  else V.positive_int("seed", seed, minimum=0))
        return net

    # ------------------------------------------------------------------ Jacobians
    def jacobian(self, x: Any, *, mode: str = "auto") -> np.ndarray:
        """Exact Jacobian of ``f_theta`` at one input ``x`` of shape ``(n_0, *spatial_shape)``.

        Returns a dense ``(output_size, n_0 d)`` array, both sides flattened in C order;
        see :func:`cbntheory.nets.jacobian.dense_jacobian` for the formula, the ReLU
        convention (pre-activation exactly 0 counts as inactive) and ``mode``.
        """
        return J.dense_jacobian(self, self._single(x), mode=mode)

    def jacobian_blocks(self, x: Any, *, rtol: float | None = None) -> np.ndarray:
        """Frequency blocks ``(*spatial, n_L, n_0)`` of the Jacobian at a constant input ``x``.

        See :func:`cbntheory.nets.jacobian.jacobian_blocks`.
        """
        return J.jacobian_blocks(self, self._single(x), rtol=rtol)

    def layer_blocks(self, l: int) -> np.ndarray:
        """Frequency multiplier ``c_l * fftn(kernels[l])`` of convolution ``l`` (0-based).

        Returns a complex ``(*layer_shapes[l], C_out, C_in)`` array; see
        :func:`cbntheory.nets.jacobian.layer_blocks`.
        """
        return J.layer_blocks(self, l)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the network to a ``.npz`` file (no pickles); returns the path written.

        ``.npz`` is appended when missing.  The file holds ``format``, ``version``,
        ``meta`` (JSON: architecture and seed) and the arrays ``kernel_<l>``, ``bias_<l>``.
        """
        return F.save(path, self._arch, self._kernels, self._biases, self._seed)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Network:
        """Read a network written by :meth:`save`.

        Raises
        ------
        ValidationError
            If the file is not a cbntheory network file (or is corrupt).
        FileNotFoundError
            If there is no such file.

        Examples
        --------
        >>> import tempfile, os
        >>> net = Architecture((6,), (1, 2, 1), kernel_size=3).init(rng=5)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     back = Network.load(net.save(os.path.join(tmp, "net")))
        >>> back.seed, bool(np.array_equal(back.to_vector(), net.to_vector()))
        (5, True)
        """
        arch, kernels, biases, seed = F.load(path)
        return cls(arch, kernels, biases, seed=seed)
