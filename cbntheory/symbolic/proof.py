"""Records of symbolic proofs: identities with their reduced residual, and derivations.

A :class:`SymbolicIdentity` holds both sides of an identity between sympy expressions
in a root of unity ``zeta`` and free variables, together with the difference reduced
modulo the cyclotomic polynomial; it is proved when that residual is exactly zero.
A :class:`Derivation` is a list of :class:`ProofStep` s, each a claim whose sympy check
came out true.

Examples
--------
>>> import sympy
>>> x = sympy.Symbol("x")
>>> step = ProofStep("x - x vanishes", sympy.Eq(x - x, 0), True)
>>> Derivation("trivial", sympy.Integer(0), (step,)).proved
True
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class ProofStep:
    """One checked claim of a derivation.

    Attributes
    ----------
    claim : str
        The claim in words.
    expression : sympy object
        What sympy checked (an equation, an inequality, a computed value...).
    verified : bool
        Whether sympy confirmed the claim.
    """

    claim: str
    expression: Any
    verified: bool


@dataclasses.dataclass(frozen=True)
class Derivation:
    """A result with the chain of sympy-checked steps that establishes it.

    Attributes
    ----------
    statement : str
        What is established.
    result : sympy expression
        The closed form (a minimum value, a series...).
    steps : tuple of ProofStep
        The checked claims, in the order of the argument.
    symbols : dict
        Name -> sympy Symbol of the free variables in :attr:`result`.
    """

    statement: str
    result: Any
    steps: tuple[ProofStep, ...]
    symbols: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def proved(self) -> bool:
        """True when every step was verified."""
        return bool(self.steps) and all(step.verified for step in self.steps)

    def failed_steps(self) -> list[str]:
        """Claims that sympy did not confirm (empty when :attr:`proved`)."""
        return [step.claim for step in self.steps if not step.verified]


@dataclasses.dataclass(frozen=True)
class SymbolicIdentity:
    """An identity ``lhs == rhs`` in ``Q(zeta_n)[variables]``, proved by exact reduction.

    Attributes
    ----------
    name : str
        Short name of the identity.
    lhs, rhs : sympy.ImmutableMatrix
        The two sides as written (powers of ``zeta`` not reduced), same shape.
    residual : sympy.ImmutableMatrix
        ``lhs - rhs`` expanded and reduced modulo ``Phi_n(zeta)``: a polynomial of degree
        ``< phi(n)`` in ``zeta`` per entry, zero exactly when the identity holds.
    zeta : sympy.Symbol
        Stands for ``exp(2 pi i / n)``.
    order : int
        ``n``.
    variables : tuple of sympy.Symbol
        The free variables (kernel entries, signal entries, constants), in a fixed order.
    """

    name: str
    lhs: Any
    rhs: Any
    residual: Any
    zeta: Any
    order: int
    variables: tuple[Any, ...]

    @property
    def proved(self) -> bool:
        """True when the reduced residual is identically zero."""
        return all(entry == 0 for entry in self.residual)

    def evaluate(self, values: Mapping[Any, complex]) -> tuple[np.ndarray, np.ndarray]:
        """Both sides as complex arrays at given variable values, ``zeta = exp(2 pi i / n)``.

        Parameters
        ----------
        values : mapping
            Symbol -> number for every symbol in :attr:`variables`.

        Returns
        -------
        lhs, rhs : ndarray of complex, shape of the sides
        """
        import sympy

        args = [values[v] for v in self.variables] + [np.exp(2j * np.pi / self.order)]
        out = []
        for side in (self.lhs, self.rhs):
            fun = sympy.lambdify(list(self.variables) + [self.zeta], side, "numpy")
            out.append(np.asarray(fun(*args), dtype=complex).reshape(side.shape))
        return out[0], out[1]
