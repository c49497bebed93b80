"""SYM-conv: script wrapper; the check is :mod:`cbntheory.checks.symbolic_convolution`.

Run ``python proofs_checks/symbolic_convolution.py [--full]`` for the table, or
``cbn check SYM-conv``.
"""
from __future__ import annotations

from cbntheory.checks.symbolic_convolution import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
