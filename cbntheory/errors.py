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


# ---------------------------------------------------------------- sweeps and symbolic arithmetic
class ParamError(ValidationError):
    """A job parameter is unknown, missing or invalid; :attr:`key` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class ConfigError(ValidationError):
    """A sweep file is not valid TOML or breaks the sweep format (message gives the line)."""


class SchedulerError(CBNError, ConnectionError):
    """The Dask scheduler could not be reached (the message gives the address)."""


class StoreError(CBNError):
    """The store file is missing, is not a cbntheory sweep store, or has another schema."""


class ModularArithmeticError(CBNError, ArithmeticError):
    """Exact arithmetic modulo primes found no usable prime or root of unity."""


class TooLargeError(ValidationError):
    """A requested array would exceed the size cap (:data:`cbntheory.settings.MAX_ARRAY_BYTES`,
    overridable by the environment variable ``CBNTHEORY_MAX_BYTES``); the message gives the
    estimate and the cap.  Raised before anything is allocated."""

