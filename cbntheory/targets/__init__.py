"""Targets: the functions whose representation cost is measured, with their derived ranks.

:mod:`~cbntheory.targets.registry` holds :class:`Target` and the name registry,
:mod:`~cbntheory.targets.catalog` the built-in targets and their rank derivations,
:mod:`~cbntheory.targets.signals` the signals and data sets they are built from.
"""
from __future__ import annotations

from .registry import KINDS, Target, get, names

__all__ = ["KINDS", "Target", "get", "names"]
