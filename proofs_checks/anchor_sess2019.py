"""SESS2019: script wrapper; the check is :mod:`cbntheory.checks.anchor_sess2019`.

Run ``python proofs_checks/anchor_sess2019.py [--full]`` for the table, or
``cbn check SESS2019``.
"""
from __future__ import annotations

from cbntheory.checks.anchor_sess2019 import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
