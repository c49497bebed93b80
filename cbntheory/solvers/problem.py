"""The objects passed between :func:`cbntheory.minimal_norm` and the per-case solvers.

:func:`~cbntheory.solvers.dispatch.minimal_norm` validates its arguments into a
:class:`Problem`, hands it to the solver of the architecture's case (linear, ReLU, ...),
and receives an :class:`Outcome`: candidate networks with how each was obtained, and a
certified lower bound with how it was obtained.  Verification (forward pass, parameter
norm, interval, status) is done once, by :mod:`.verify`, for every case alike.  A case
solver is a function ``solve(problem) -> Outcome``; see ``docs/solvers.md``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import _validate as V
from .. import settings
from ..errors import InfeasibleError, ValidationError
from ..nets.architecture import Architecture
from ..nets.network import Network
from ..operators import ConvOperator
from ..results import relative_residual

METHODS = ("auto", "closed_form", "convex", "numerical")


@dataclasses.dataclass(frozen=True)
class Problem:
    """A validated minimal-norm problem.

    Attributes
    ----------
    arch : Architecture
    X : ndarray, shape (N, n_0, *spatial)
        Inputs; for a whole-space ``target`` the unit impulses at pixel 0 of every input
        channel (and the zero image when the architecture has biases): an equivariant
        linear (affine) map that is right on them is right everywhere.
    Y : ndarray, shape (N, *arch.output_shape)
        Outputs to reproduce.
    target : ConvOperator or None
        The whole-space target, in the architecture's normalisation, if one was given.
    tol : float
        Relative residual ``||f(X) - Y|| / ||Y||`` a network must reach.
    seed : int or None
        Master seed (restart seeds derive from it); None when nothing is drawn.
    restarts : int
    method : str
        One of ``METHODS``.
    time_limit : float or None
    strict : bool
    options : Mapping
        Case-specific options (``rank_rtol``, ``solver``, ``init``, ``max_iter``...).
    network_target : Network or None
        A target network sampled at the inputs ``X`` (then ``Y = network_target(X)``);
        used by the ReLU case for warm starts and the conditional T2 bound.
    epsilon : float
        The object: 0 for exact interpolation ``R``; else ``R_eps``, networks within the
        relative residual ``epsilon`` (then ``tol == epsilon``).
    """

    arch: Architecture
    X: np.ndarray
    Y: np.ndarray
    target: ConvOperator | None
    tol: float
    seed: int | None
    restarts: int
    method: str
    time_limit: float | None
    strict: bool
    options: Mapping[str, Any]
    network_target: Network | None = None
    epsilon: float = 0.0

    @property
    def kind(self) -> str:
        """``"target"`` (whole space) or ``"data"`` (finite)."""
        return "data" if self.target is None else "target"


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A network proposed as an upper bound, with its provenance.

    Attributes
    ----------
    network : Network
    how : str
        One sentence on how it was obtained (goes into the result's message).
    solver : str
        Method or solver name.
    converged : bool
        The method's own success flag (a failed solve whose network still verifies is
        kept, but a non-verifying network from a converged method is reported as
        ``optimal_inaccurate`` rather than ``solver_error``).
    claimed : float or None
        Norm claimed by the method (e.g. a conic objective), re-checked against the
        recomputed ``param_norm()``.
    exact : bool
        The method proves this network optimal (closed form, convex program).
    info : Mapping
    options : Mapping
    """

    network: Network
    how: str
    solver: str
    converged: bool = True
    claimed: float | None = None
    exact: bool = False
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a case solver returns: candidates and a certified lower bound.

    Attributes
    ----------
    candidates : tuple of Candidate
        Possibly empty (then the result has no network).
    lower : float or None
        Certified lower bound on the minimal norm (for exactly interpolating networks).
    lower_how : str
        How ``lower`` was obtained (or why there is none).
    info : Mapping
        Extras for ``NormResult.info``.
    note : str
        What the case says about its search as a whole (restarts verified,
        interruptions); ends the result's message.
    withhold_unfit : bool
        When no candidate fits: False returns the closest one as the (unverified)
        network; True returns no network and ``upper = inf``, with the closest in
        ``info["best_unverified"]`` (a local method whose failure bounds nothing).
    exact : bool or None
        The case's own proof that the value is the minimum, kept when the network
        verifies (the convex program); None: exact when the interval closes on a
        candidate marked exact.
    lower_sensitivity : float
        How far ``lower`` (a bound for exactly interpolating networks) can drop per unit
        of relative residual; the verification path rounds ``lower`` down by this times
        the kept network's residual (0: the bound needs no rounding).
    """

    candidates: tuple[Candidate, ...]
    lower: float | None
    lower_how: str
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    note: str = ""
    withhold_unfit: bool = False
    exact: bool | None = None
    lower_sensitivity: float = 0.0


# ---------------------------------------------------------------------- feasibility
def judge_feasibility(residual: float, tol: float, what: str) -> str:
    """THE feasibility rule: data are judged against the tolerance the user asked for.

    ``residual`` is the relative least-squares residual of the best map of the class
    (``what`` says which).  Above ``tol`` no network of the class reproduces the data to
    ``tol``: :class:`~cbntheory.errors.InfeasibleError`, with the measured residual.  At
    or below :data:`cbntheory.settings.FEASIBILITY_RTOL` the data are consistent to
    round-off and ``""`` is returned.  In between, the data are reproducible to ``tol``
    but not exactly, and the returned sentence says why a lower bound proved for exact
    interpolation does not apply (the case then gives no lower bound).
    """
    if not residual <= tol:
        raise InfeasibleError(
            f"the data must be reproducible to tol = {tol:.1e}; the best {what} leaves a "
            f"relative residual {residual:.3e} > tol, so no network of this architecture "
            "reproduces them (raise tol if the data are noisy)")
    if residual <= settings.FEASIBILITY_RTOL:
        return ""
    return (f"none: the data are reproducible to tol = {tol:.1e} but not exactly (the best "
            f"{what} leaves a relative residual {residual:.3e} > FEASIBILITY_RTOL = "
            f"{settings.FEASIBILITY_RTOL:.0e}), and the closed-form bound holds only for "
            "exact interpolation")


# ---------------------------------------------------------------------- the question
def check_data(arch: Architecture, X: object, Y: object) -> tuple[np.ndarray, np.ndarray]:
    """The one data rule: ``X`` as ``(N, n_0, *spatial)``, ``Y`` as ``(N, *arch.output_shape)``.

    Finite real floats; ``Y`` of shape ``(N,)`` is accepted for a scalar output.

    Raises
    ------
    ValidationError
        Wrong ranks or shapes, NaN/inf, complex or empty arrays.
    """
    Xa = V.real_array("X", X)
    if Xa.ndim != arch.ndim + 2 or Xa.shape[1:] != arch.input_shape:
        raise V.fail("X", f"have shape (N, {', '.join(map(str, arch.input_shape))}) for this "
                     f"architecture (batch, channels n_0 = {arch.channels[0]}, spatial_shape "
                     f"= {arch.spatial_shape})", Xa)
    Ya = V.real_array("Y", Y)
    want = (Xa.shape[0],) + arch.output_shape
    if Ya.shape != want:
        if Ya.shape == want[:1] and arch.output_shape == (1,):
            Ya = Ya.reshape(want)  # (N,) for a scalar output
        else:
            raise V.fail("Y", f"have shape {want} (N = {Xa.shape[0]} samples of the output "
                         f"shape {arch.output_shape})", Ya)
    return Xa, Ya


def sample_target(arch: Architecture, target: Any, data: Any,
                  rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X`` and outputs ``Y = target(X)`` of a target network (``data=X``).

    ``target`` must have the architecture's input shape ``(n_0, *spatial)`` and output
    shape (the message gives both); ``data`` is ``X``, ``(X,)`` or ``(X, Y)`` with ``Y``
    equal to ``target(X)`` to the relative residual ``rtol``.  Raises
    :class:`~cbntheory.errors.ValidationError` otherwise.
    """
    if not isinstance(target, Network):
        raise V.fail("target", "be a cbntheory.Network for a ReLU architecture", target)
    ta = target.architecture
    if ta.input_shape != arch.input_shape:
        raise ValidationError(
            f"target must take inputs of the architecture's shape (n_0, *spatial) = "
            f"{arch.input_shape}; got a target with input shape {ta.input_shape} "
            f"(channels {ta.channels[0]}, spatial shape {ta.spatial_shape})")
    if ta.output_shape != arch.output_shape:
        raise ValidationError(
            f"target must have the architecture's output shape {arch.output_shape} "
            f"(n_L = {arch.channels[-1]}, head {arch.head!r}); got a target with output shape "
            f"{ta.output_shape} (n_L = {ta.channels[-1]}, head {ta.head!r})")
    Y = None
    if isinstance(data, (tuple, list)):
        if len(data) not in (1, 2):
            raise V.fail("data", "be the inputs X, (X,) or (X, Y) with a target network", data)
        X, Y = data[0], (data[1] if len(data) == 2 else None)
    else:
        X = data
    if X is None:
        raise V.fail("data", "hold the inputs X at which the target network is sampled", X)
    Xa, Yt = check_data(arch, X, target(V.real_array("X", X)))
    Ya = Yt if Y is None else check_data(arch, Xa, Y)[1]
    gap = relative_residual(Ya, Yt)
    if gap > rtol:
        raise V.fail("data", f"have Y = target(X) (to {rtol:g}) when both a target network "
                     f"and outputs are given (relative difference {gap:.3g})", Ya)
    return Xa, Yt


def _impulses(arch: Architecture) -> np.ndarray:
    n0 = arch.channels[0]
    X = np.zeros((n0,) + arch.input_shape)
    for j in range(n0):
        X[(j, j) + (0,) * arch.ndim] = 1.0
    if arch.bias:  # an affine map is pinned down by its value at 0 as well
        X = np.concatenate([X, np.zeros((1,) + arch.input_shape)])
    return X


def _operator_data(arch: Architecture, target: Any) -> tuple[ConvOperator, np.ndarray,
                                                               np.ndarray]:
    """A whole-space target in the architecture's normalisation, with its data on impulses."""
    if not isinstance(target, ConvOperator):
        raise V.fail("target", "be a cbntheory.ConvOperator (the whole-space map)", target)
    if arch.activation != "linear":
        raise V.fail("target", f"be given only for linear architectures (activation "
                     f"{arch.activation!r}: pass data=(X, Y) instead)", target)
    if arch.head is not None:
        raise V.fail("target", "be paired with head=None (a convolution maps images to "
                     "images)", target)
    if target.spatial_shape != arch.spatial_shape:
        raise V.fail("target.spatial_shape", f"equal arch.spatial_shape = "
                     f"{arch.spatial_shape}", target.spatial_shape)
    if (target.in_channels, target.out_channels) != (arch.channels[0], arch.channels[-1]):
        raise V.fail("target", f"map {arch.channels[0]} to {arch.channels[-1]} channels "
                     "(arch.channels[0] -> arch.channels[-1])",
                     f"{target.in_channels} -> {target.out_channels} channels")
    op = (target if target.normalization == arch.normalization
          else ConvOperator.from_blocks(target.blocks, arch.normalization))
    X = _impulses(arch)
    return op, X, op.apply(X)


def make_problem(arch: Any, data: Any, target: Any, *, rng: Any, restarts: Any, tol: Any,
                 strict: Any, method: Any, time_limit: Any,
                 options: Mapping[str, Any], epsilon: Any = 0.0) -> Problem:
    """Validate a minimal-norm question into a :class:`Problem` (see ``minimal_norm``).

    ``epsilon > 0`` asks for ``R_eps``: the networks must reach the relative residual
    ``epsilon``, which then replaces ``tol``.
    """
    if not isinstance(arch, Architecture):
        raise V.fail("arch", "be a cbntheory.Architecture", arch)
    tol, time_limit, strict = V.solver_options(tol, time_limit, strict)
    epsilon = V.fit_tolerance("epsilon", epsilon)
    if epsilon > 0 and target is not None and not isinstance(target, Network):
        raise V.fail("epsilon", "be 0 for a whole-space target (R_eps is defined on finite "
                     "data)", epsilon)
    tol = epsilon if epsilon > 0 else tol
    network_target = None
    if isinstance(target, Network):  # a target network sampled at the inputs data=X
        data, network_target, target = sample_target(arch, target, data, tol), target, None
    if (data is None) == (target is None):
        raise ValidationError("minimal_norm needs exactly one of data=(X, Y) (a finite domain) "
                              "or target=ConvOperator (the whole space); got "
                              f"{'both' if data is not None else 'neither'}")
    restarts = V.positive_int("restarts", restarts)
    if method not in METHODS:
        raise V.fail("method", f"be one of {METHODS}", method)
    seed = V.master_seed(rng)
    op = None
    if target is not None:
        op, X, Y = _operator_data(arch, target)
    else:
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise V.fail("data", "be a pair (X, Y) of arrays", data)
        X, Y = check_data(arch, data[0], data[1])
    return Problem(arch=arch, X=X, Y=Y, target=op, tol=tol, seed=seed, restarts=restarts,
                   method=str(method), time_limit=time_limit, strict=strict,
                   options=dict(options), network_target=network_target, epsilon=epsilon)
