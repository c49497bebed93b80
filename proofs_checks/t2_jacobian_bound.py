"""T2: script wrapper; the check is :mod:`cbntheory.checks.t2_jacobian_bound`.

Run ``python proofs_checks/t2_jacobian_bound.py [--full]`` for the table, or ``cbn check T2``.
"""
from __future__ import annotations

from cbntheory.checks.t2_jacobian_bound import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
