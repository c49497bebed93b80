"""T7: script wrapper; the check is :mod:`cbntheory.checks.t7_downsampling`.

Run ``python proofs_checks/t7_downsampling.py [--full]`` for the table, or
``cbn check T7``.
"""
from __future__ import annotations

from cbntheory.checks.t7_downsampling import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
