"""deep-linear-FC: script wrapper; the check is :mod:`cbntheory.checks.anchor_deep_linear_fc`.

Run ``python proofs_checks/anchor_deep_linear_fc.py [--full]`` for the table, or
``cbn check deep-linear-FC``.
"""
from __future__ import annotations

from cbntheory.checks.anchor_deep_linear_fc import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
