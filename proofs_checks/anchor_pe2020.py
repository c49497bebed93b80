"""PE2020: script wrapper; the check is :mod:`cbntheory.checks.anchor_pe2020`.

Run ``python proofs_checks/anchor_pe2020.py [--full]`` for the table, or ``cbn check PE2020``.
"""
from __future__ import annotations

from cbntheory.checks.anchor_pe2020 import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
