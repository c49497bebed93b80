"""Built-in target functions with derived Jacobian ranks and CBN-rank vectors.

A :class:`Target` is a function to be represented by a CNN together with what the
theory says about it: the Jacobian rank ``Rank_J`` (lower side of the sandwich
``Rank_J <= R0 <= Rank_CBN``, [WJ2024]), the CBN rank ``Rank_CBN`` and one optimal
CBN vector ``(k_m)``.  Every rank is *derived* (the derivation is in the target's
``description`` and in ``docs/targets.md``), never measured; the tests compare the
derivations with independent computations (dense SVD ranks, DFT spans of the data).

Two kinds of targets:

* ``"operator"`` -- a translation-equivariant linear map on the whole space
  (:meth:`Target.operator`), measured with linear networks: T1 gives
  ``R0 = sum_m rank A_m`` exactly, so ``Rank_J = Rank_CBN = R0``;
* ``"data"`` -- a finite domain ``Omega = {(x_i, y_i)}`` (:meth:`Target.data`),
  measured with ReLU networks; ``Rank_CBN`` is the value of an explicit construction
  (an upper bound of ``R0``; :meth:`Target.construction` builds it as a network where
  implemented).

Examples
--------
>>> import cbntheory as cbn
>>> t = cbn.targets.get("shift_autoencoder_1d")
>>> t.rank_j, t.rank_cbn, int(t.cbn_vector.sum())
(1, 3, 3)
>>> X, Y = t.data()
>>> X.shape, bool(np.array_equal(X, Y))
((12, 1, 12), True)
>>> "bandlimited_1d" in cbn.targets.names()
True
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validate as V
from ..errors import ValidationError
from ..nets.architecture import Architecture
from ..operators import ConvOperator
from ..results import one_line
from . import catalog as C
from . import custom
from .custom import BIAS_MODES

if TYPE_CHECKING:  # pragma: no cover
    from ..theory.construction import CBNConstruction

KINDS = ("operator", "data")


@dataclasses.dataclass(frozen=True)
class Target:
    """A target function, its domain and its derived ranks.

    Attributes
    ----------
    name : str
        Registry key (:func:`get`).
    title : str
        One line.
    description : str
        The target and the derivation of ``rank_j``, ``rank_cbn`` and ``cbn_vector``.
    spatial_shape : tuple of int
        ``(d,)`` or ``(d1, d2)``.
    kind : {"operator", "data"}
        Whole-space linear map or finite domain.
    activation : {"linear", "relu"}
        Architecture family used to measure it (:meth:`architecture`).
    head : {None, "avgpool"}
        Classification head of that family.
    rank_j : int or None
        Jacobian rank ``max_x rank Jf(x)`` (on the tangent space of the domain for
        data sampled from a manifold); None when the finite data define no Jacobian.
    rank_cbn : int or None
        ``sum_m k_m``, the CBN rank of architectures *without* biases: exact for linear
        targets; for ReLU targets derived in the description (the explicit construction's
        slope, an upper bound of ``R0`` without biases).
    cbn_vector : ndarray of int, shape spatial_shape, or None
        One optimal ``(k_m)`` (not unique for ReLU targets: the description says which).
    rank_cbn_bias : int or None
        The CBN rank that applies to architectures with a bias per channel: the constant
        frequency counts ``dim`` of the *affine* span of ``{ghat(x)[0] : x in Omega}``
        instead of its linear span (``docs/theory.md``, "CBN rank with biases").  Equal to
        ``rank_cbn`` for linear targets (whole-space domain) and for invariant targets;
        one less for the orbit targets, whose constant frequency is the same on every
        shift.  :meth:`rank_cbn_for` picks the one for an architecture.
    r0_interval : tuple of float, or None
        What is known about ``R0 = lim R(f; Omega, L) / L`` for :meth:`architecture`
        (operator normalisation; penalised biases for data targets): ``(low, high)``.
    r0_source : str
        How both ends of ``r0_interval`` are obtained.
    in_channels, out_channels : int
        ``n_0`` and ``n_L`` of the architecture family.
    default_width, quick_width : int
        Hidden width of :meth:`architecture` when none is given (full / quick).
    bias_mode : {None, "penalised", "free", "none"}
        Biases of :meth:`architecture`: None keeps the family rule (penalised biases for
        ReLU, none for linear targets); the others are set by :meth:`from_data`.
    normalization : {"operator", "plain"}
        Convolution constant of :meth:`architecture` (default "operator").
    kernel_size : tuple of int or None
        Filter taps of :meth:`architecture` (default None: full-size filters).

    Notes
    -----
    Build targets of one's own with :meth:`from_data`, :meth:`from_operator` and
    :meth:`from_network` (no private field needed).
    """

    name: str
    title: str
    description: str
    spatial_shape: tuple[int, ...]
    kind: str
    activation: str
    head: str | None
    rank_j: int | None
    rank_cbn: int | None
    cbn_vector: np.ndarray | None = dataclasses.field(compare=False)
    in_channels: int = 1
    out_channels: int = 1
    default_width: int = 4
    quick_width: int = 2
    _operator: Callable[[], ConvOperator] | None = dataclasses.field(
        default=None, repr=False, compare=False)
    _data: Callable[[bool], tuple[np.ndarray, np.ndarray]] | None = dataclasses.field(
        default=None, repr=False, compare=False)
    _construction: Callable[[Architecture], CBNConstruction] | None = dataclasses.field(
        default=None, repr=False, compare=False)
    rank_cbn_bias: int | None = None
    r0_interval: tuple[float, float] | None = None
    r0_source: str = ""
    _bias_construction: Callable[[Architecture], CBNConstruction] | None = dataclasses.field(
        default=None, repr=False, compare=False)
    bias_mode: str | None = None
    normalization: str = "operator"
    kernel_size: tuple[int, ...] | None = None
    _jacobians: Callable[[np.ndarray], np.ndarray] | None = dataclasses.field(
        default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise V.fail("kind", f"be one of {KINDS}", self.kind)
        if self.bias_mode not in (None, *BIAS_MODES):
            raise V.fail("bias_mode", f"be None or one of {tuple(BIAS_MODES)}", self.bias_mode)
        if self.cbn_vector is not None:
            vec = np.asarray(self.cbn_vector, dtype=int).copy()
            vec.setflags(write=False)
            object.__setattr__(self, "cbn_vector", vec)

    # ------------------------------------------------------------------ one's own targets
    @classmethod
    def from_data(cls, X: Any, Y: Any, *, name: str = "custom_data", title: str = "",
                  activation: str = "relu", bias: str = "penalised", head: str | None = None,
                  width: int = 4, rank_j: int | None = None, rank_cbn: int | None = None,
                  rank_cbn_bias: int | None = None, normalization: str = "operator",
                  kernel_size: Any = None) -> Target:
        """A data target ``Omega = {(X[i], Y[i])}`` measured with the family of ``activation``.

        Parameters
        ----------
        X : array_like, shape (N, n_0, d) or (N, n_0, d1, d2)
            Inputs; their spatial shape is the architecture's.
        Y : array_like, shape (N, n_L, *spatial), or (N, n_L) with ``head="avgpool"``
            Outputs.
        name, title : str
            Label of the tables and reports.
        activation : {"relu", "linear"}
            Network family (:meth:`architecture`).
        bias : {"penalised", "free", "none"}
            A bias per channel counted in the norm (default), not counted, or no biases.
        head : {None, "avgpool"}
            Average pool and a dense layer at the end.
        width : int
            Hidden width of :meth:`architecture` (default 4).
        rank_j, rank_cbn, rank_cbn_bias : int, optional
            Ranks the caller knows; they are recorded as stated, not checked.
        normalization : {"operator", "plain"}
            Convolution constant of :meth:`architecture`.
        kernel_size : int or tuple of int, optional
            Filter taps of :meth:`architecture` (default full-size; the orbit
            constructions need full-size filters).

        Returns
        -------
        Target
            Kind ``"data"``.  When the data are all circular shifts of one single-channel
            signal with trivial stabiliser and ``Y = X`` (ReLU family, no head), the orbit
            argument gives ``rank_cbn``, ``rank_cbn_bias`` and ``cbn_vector`` and the orbit
            constructions give certified upper bounds (:mod:`cbntheory.targets.custom`);
            otherwise the ranks not stated are None ("unknown").

        Raises
        ------
        ValidationError
            For arrays of the wrong shape or non-finite entries and unknown options.

        Examples
        --------
        >>> from cbntheory.targets import signals
        >>> X = signals.all_shifts(signals.bump((8,), 1.0))
        >>> t = Target.from_data(X, X, name="my_shifts")
        >>> t.rank_cbn, t.rank_cbn_bias, t.rank_j
        (3, 2, None)
        >>> t.construction(3).network(X).shape == X.shape
        True
        """
        return cls(**custom.data_spec(X, Y, name=name, title=title, activation=activation,
                                      bias=bias, head=head, width=width, rank_j=rank_j,
                                      rank_cbn=rank_cbn, rank_cbn_bias=rank_cbn_bias,
                                      normalization=normalization, kernel_size=kernel_size))

    @classmethod
    def from_operator(cls, A: Any, *, name: str = "custom_operator", title: str = "",
                      normalization: str = "operator") -> Target:
        """A linear target: the map ``A`` (a ConvOperator or a kernel ``(C_out, C_in, *spatial)``).

        Its ranks are exact (T1: ``Rank_J = Rank_CBN = R0 = sum_m rank A_m``) and its
        tables are the closed form; the default width is ``max_m rank A_m``.

        Examples
        --------
        >>> import numpy as np
        >>> p = np.arange(8)
        >>> t = Target.from_operator((2 + np.cos(2 * np.pi * p / 8)).reshape(1, 1, 8))
        >>> t.rank_j, t.rank_cbn, t.cbn_vector.tolist()
        (3, 3, [1, 1, 0, 0, 0, 0, 0, 1])
        """
        return cls(**custom.operator_spec(A, name=name, title=title,
                                          normalization=normalization))

    @classmethod
    def from_network(cls, net: Any, X: Any, *, name: str = "custom_network",
                     title: str = "") -> Target:
        """The data target ``(X, net(X))``, measured in the network's own family.

        The network must have no resampling and depth >= 2; its activation, biases,
        head, normalisation, filter size and largest hidden width set those of
        :meth:`architecture` (so a network read from PyTorch, :mod:`cbntheory.nets.pytorch`,
        is measured in PyTorch's norm).  Ranks as in :meth:`from_data`.

        Examples
        --------
        >>> import cbntheory as cbn
        >>> net = cbn.Architecture((6,), (1, 3, 1)).init(0)
        >>> X = np.random.default_rng(0).standard_normal((5, 1, 6))
        >>> t = Target.from_network(net, X)
        >>> bool(np.allclose(t.data()[1], net(X))), t.architecture(2) == net.architecture
        (True, True)
        """
        return cls(**custom.network_spec(net, X, name=name, title=title))

    # ------------------------------------------------------------------ the function
    def operator(self) -> ConvOperator | None:
        """The linear map (kind "operator"), else None."""
        return None if self._operator is None else self._operator()

    def data(self, quick: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
        """The finite domain ``(X, Y)`` (kind "data"), else None.

        ``X`` has shape ``(N, in_channels, *spatial_shape)``; ``Y`` the output shape of
        :meth:`architecture` with a batch axis.  ``quick=True`` gives a smaller sample
        where the target is a sample (digits, random inputs); deterministic either way.
        """
        if self._data is None:
            return None
        X, Y = self._data(bool(quick))
        return np.array(X, dtype=float), np.array(Y, dtype=float)

    def open_set_jacobians(self, quick: bool = False) -> np.ndarray | None:
        """Jacobians ``(N, n_out, n_in)`` of the target function at the samples, or None.

        They are what the open-set variant asks a network to match (see
        :func:`cbntheory.solvers.certificates.open_set_t2`): for the orbit targets the
        tangent projector of the shift orbit (``f = id`` on a curve of inputs), for
        ``invariant_pool`` the gradient of the mean upward jump.  None when the target does
        not define its function off the samples (e.g. the digits).
        """
        data = self.data(quick)
        if self._jacobians is None or data is None:
            return None
        J = np.asarray(self._jacobians(data[0]), dtype=float)
        return J.reshape(J.shape[0], -1, int(np.prod(data[0].shape[1:])))

    def architecture(self, depth: int, *, width: int | None = None,
                     quick: bool = False) -> Architecture:
        """The architecture of depth ``depth`` used to measure this target.

        Parameters
        ----------
        depth : int
            ``L >= 1`` (``>= 2`` with the avgpool head).
        width : int, optional
            Hidden width ``n_1 = ... = n_{L-1}``; default ``default_width``
            (``quick_width`` when ``quick``).  Linear targets need
            ``width >= max_m rank A_m`` (T1's hypothesis).
        quick : bool
            Use the smaller default width.

        Returns
        -------
        Architecture
            Linear targets: ``activation="linear"``, no biases.  Data targets: ReLU,
            penalised biases (``beta = 1``), full-size filters, operator normalisation.
        """
        depth = V.positive_int("depth", depth, minimum=2 if self.head == "avgpool" else 1)
        if width is None:
            width = self.quick_width if quick else self.default_width
        width = V.positive_int("width", width)
        channels = (self.in_channels,) + (width,) * (depth - 1) + (self.out_channels,)
        if self.bias_mode is None:
            bias, penalize = self.activation != "linear", True
        else:
            bias, penalize = BIAS_MODES[self.bias_mode]
        return Architecture(self.spatial_shape, channels, activation=self.activation,
                            bias=bias, penalize_bias=penalize or not bias, head=self.head,
                            normalization=self.normalization, kernel_size=self.kernel_size)

    def rank_cbn_for(self, bias: bool) -> int | None:
        """The CBN rank that applies to an architecture with (``bias=True``) or without biases.

        Examples
        --------
        >>> import cbntheory as cbn
        >>> t = cbn.targets.get("shift_autoencoder_1d")
        >>> t.rank_cbn_for(False), t.rank_cbn_for(True)
        (3, 2)
        """
        return self.rank_cbn_bias if bias else self.rank_cbn

    def construction(self, depth: int, *, width: int | None = None,
                     quick: bool = False, bias_aware: bool = False) -> CBNConstruction | None:
        """The explicit CBN construction of depth ``depth`` (:mod:`cbntheory.theory.construction`).

        Its ``.network`` (of :meth:`architecture` with the same arguments) reproduces the
        data, and its ``.norm`` is a certified upper bound of ``R(f; Omega, L)`` of the
        form ``L * rank + C`` (the slope holds by construction).  With ``bias_aware`` the
        construction whose biases carry the constant frequency (slope ``rank_cbn_bias``)
        where one is implemented, else the bias-free one (slope ``rank_cbn``); the
        returned object's ``bias_aware`` says which.  None when no construction is
        implemented for this target (the linear ones: T1's balanced factorisation is
        exact).
        """
        build = self._construction
        if bias_aware and self._bias_construction is not None:
            build = self._bias_construction
        if build is None:
            return None
        return build(self.architecture(depth, width=width, quick=quick))

    def __repr__(self) -> str:
        """One line: name, kind, family and ranks (the description is :attr:`description`).

        Examples
        --------
        >>> get("mixer_1d")
        Target(name='mixer_1d', kind='operator', activation='linear', rank_j=21, rank_cbn=21,
               rank_cbn_bias=21)
        """
        return one_line("Target", {"name": self.name, "kind": self.kind,
                                   "activation": self.activation, "rank_j": self.rank_j,
                                   "rank_cbn": self.rank_cbn,
                                   "rank_cbn_bias": self.rank_cbn_bias})

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary (no data)."""
        return {"name": self.name, "title": self.title, "kind": self.kind,
                "spatial_shape": list(self.spatial_shape), "activation": self.activation,
                "head": self.head, "rank_j": self.rank_j, "rank_cbn": self.rank_cbn,
                "cbn_vector": None if self.cbn_vector is None else self.cbn_vector.tolist(),
                "rank_cbn_bias": self.rank_cbn_bias,
                "r0_interval": None if self.r0_interval is None else list(self.r0_interval),
                "r0_source": self.r0_source,
                "in_channels": self.in_channels, "out_channels": self.out_channels}


@functools.cache
def _registry() -> dict[str, Target]:
    out = {}
    for factory in C.FACTORIES:
        spec = factory()
        target = Target(**spec)
        out[target.name] = target
    return out


def names() -> list[str]:
    """Names of the built-in targets, in catalogue order.

    Examples
    --------
    >>> names()[:2]
    ['bandlimited_1d', 'bandlimited_2d']
    """
    return list(_registry())


def get(name: str) -> Target:
    """The built-in target called ``name``.

    Raises
    ------
    ValidationError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> get("mixer_1d").rank_cbn
    21
    >>> try:
    ...     get("nope")
    ... except ValidationError as exc:
    ...     print("valid names" in str(exc))
    True
    """
    registry = _registry()
    if not isinstance(name, str) or name not in registry:
        raise ValidationError(f"target must be one of the valid names {', '.join(registry)}; "
                              f"got {name!r}")
    return registry[name]
