"""T1: script wrapper; the check is :mod:`cbntheory.checks.t1_linear_cost`.

Run ``python proofs_checks/t1_linear_cost.py [--full]`` for the table, or ``cbn check T1``.
"""
from __future__ import annotations

from cbntheory.checks.t1_linear_cost import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
