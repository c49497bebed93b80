"""T5: script wrapper; the check is :mod:`cbntheory.checks.t5_weight_bottleneck`.

Run ``python proofs_checks/t5_weight_bottleneck.py [--full]`` for the table, or ``cbn check T5``.
"""
from __future__ import annotations

from cbntheory.checks.t5_weight_bottleneck import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    import sys

    from cbntheory.checks import script_main

    sys.exit(script_main(main))
