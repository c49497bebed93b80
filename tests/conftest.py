"""Shared test set-up: the independent references live beside this file.

``_bruteforce.py`` builds every reference from the definitions (dense convolution
matrices by loops, finite DFT sums, brute-force SVDs), sharing no code with the package;
``_sweep_helpers.py`` runs sweeps in real subprocesses.  Test modules in the sub-folders
(which mirror the package: ``tests/nets``, ``tests/solvers``...) import them by name, so
this folder is put on ``sys.path`` once, here.
"""
from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
