"""SYM-series: script wrapper; the check is :mod:`cbntheory.checks.symbolic_series`.

Run ``python proofs_checks/symbolic_series.py [--full]`` for the table, or
``cbn check SYM-series``.
"""
from __future__ import annotations

from cbntheory.checks.symbolic_series import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
