"""T6: script wrapper; the check is :mod:`cbntheory.checks.t6_activation_structure`.

Run ``python proofs_checks/t6_activation_structure.py [--full]`` for the table, or
``cbn check T6``.
"""
from __future__ import annotations

from cbntheory.checks.t6_activation_structure import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
