"""The objects passed between :func:`cbntheory.minimal_norm` and the per-case solvers.

:func:`~cbntheory.solvers.dispatch.minimal_norm` validates its arguments into a
:class:`Problem`, hands it to the solver of the architecture's case (linear, ReLU, ...),
and receives an :class:`Outcome`: candidate networks with how each was obtained, and a
certified lower bound with how it was obtained.  Verification (forward pass, parameter
norm, interval, status) is done once, by the dispatcher, for every case alike.  A case
solver is a function ``solve(problem) -> Outcome``; see ``docs/solvers.md``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

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

    @property
    def kind(self) -> str:
        """``"target"`` (whole space) or ``"data"`` (finite)."""
        return "data" if self.target is None else "target"

    def residual(self, net: Network) -> float:
        """Relative interpolation residual of ``net``, recomputed by a forward pass."""
        return relative_residual(net(self.X), self.Y)


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
        At least one.
    lower : float or None
        Certified lower bound on the minimal norm (for exactly interpolating networks).
    lower_how : str
        How ``lower`` was obtained (or why there is none).
    info : Mapping
        Extras for ``NormResult.info``.
    exact : bool or None
        The case's own proof of exactness, kept when the network verifies; None:
        exact when the interval closes on a candidate marked exact.
    """

    candidates: tuple[Candidate, ...]
    lower: float | None
    lower_how: str
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    exact: bool | None = None


def numerical_candidate(problem: Problem, *, reference: np.ndarray | None = None,
                        what: str = "") -> Candidate:
    """Upper bound from :func:`~cbntheory.solvers.interpolate.interpolate` with the options."""
    from .interpolate import interpolate

    opts = problem.options
    out = interpolate(problem.arch, problem.X, problem.Y, rng=problem.seed,
                      restarts=problem.restarts, tol=problem.tol,
                      init=opts.get("init", "auto"), reference=reference,
                      time_limit=problem.time_limit,
                      **({"max_iter": opts["max_iter"]} if "max_iter" in opts else {}))
    res = out.result
    how = (f"augmented Lagrangian with L-BFGS-B inner solves from {len(out.runs)} random "
           f"start(s){what} (best: seed {out.network.seed}, {res.n_iterations} iterations, "
           f"{res.status}: {res.message})")
    info = {"runs": out.runs, "iterations": res.n_iterations,
            "evaluations": res.n_evaluations, "optimizer_status": res.status,
            "perturbations": res.perturbations, "interrupted": res.interrupted,
            "history": res.history}
    return Candidate(out.network, how, out.solver, converged=res.residual <= problem.tol,
                     info=info, options=out.options)
