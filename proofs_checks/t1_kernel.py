"""T1-kernel: script wrapper; the check is :mod:`cbntheory.checks.t1_kernel`.

Run ``python proofs_checks/t1_kernel.py [--full]`` for the table, or
``cbn check T1-kernel``.
"""
from __future__ import annotations

from cbntheory.checks.t1_kernel import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
