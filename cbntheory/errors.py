"""Exceptions and warnings raised by cbntheory.

All errors derive from :class:`CBNError`; the ones about bad input also derive
from :class:`ValueError` so that ``except ValueError`` keeps working.
"""
from __future__ import annotations


class CBNError(Exception):
    """Base class of every cbntheory error."""


class ValidationError(CBNError, ValueError):
    """An argument breaks a rule; the message names the argument, the rule and the value."""


class NotEquivariantError(ValidationError):
    """A dense matrix does not commute with circular shifts (message gives the residual)."""


class InfeasibleError(ValidationError):
    """No network of the architecture can reproduce the data (message gives the residual)."""


class SolverError(CBNError, RuntimeError):
    """Every solver tried failed; the message names them and what to change."""


class TooManyCellsError(ValidationError):
    """An arrangement has more cells (or needs more work) than the caps allow: sample instead."""


class InaccurateSolutionWarning(UserWarning):
    """A solver answer was downgraded after re-verification (``strict=True`` raises instead)."""
