"""GLSS2018: script wrapper; the check is :mod:`cbntheory.checks.anchor_glss2018`.

Run ``python proofs_checks/anchor_glss2018.py [--full]`` for the table, or ``cbn check GLSS2018``.
"""
from __future__ import annotations

from cbntheory.checks.anchor_glss2018 import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
