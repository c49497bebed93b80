"""T3: script wrapper; the check is :mod:`cbntheory.checks.t3_cbn_sandwich`.

Run ``python proofs_checks/t3_cbn_sandwich.py [--full]`` for the table, or
``cbn check T3``.
"""
from __future__ import annotations

from cbntheory.checks.t3_cbn_sandwich import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
