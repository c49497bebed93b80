"""T4: script wrapper; the check is :mod:`cbntheory.checks.t4_regularity`.

Run ``python proofs_checks/t4_regularity.py [--full]`` for the table, or
``cbn check T4``.
"""
from __future__ import annotations

from cbntheory.checks.t4_regularity import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
