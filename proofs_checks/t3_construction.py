"""T3-construction: script wrapper; the check is :mod:`cbntheory.checks.t3_construction`.

Run ``python proofs_checks/t3_construction.py [--full]`` for the table, or
``cbn check T3-construction``.
"""
from __future__ import annotations

from cbntheory.checks.t3_construction import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
