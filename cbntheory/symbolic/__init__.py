"""Exact (symbolic) mathematics behind cbntheory, with sympy.

* :func:`exact_cbn_rank`, :func:`exact_blocks` — frequency blocks of integer or rational
  kernels and their ranks, computed in the cyclotomic field ``Q(zeta_n)`` with no
  floating-point tolerance (module :mod:`~cbntheory.symbolic.ranks`).
* :func:`convolution_theorem`, :func:`parseval` — both identities proved for small images
  by reduction modulo the cyclotomic polynomial (:mod:`~cbntheory.symbolic.convolution`).
* :func:`scalar_identity`, :func:`scalar_identity_lagrange` —
  ``min {sum_l w_l^2 : prod_l w_l = s} = L s^(2/L)`` (:mod:`~cbntheory.symbolic.scalar`).
* :func:`depth_series`, :func:`depth_coefficients` — ``L s^(2/L)`` in powers of ``1/L``,
  giving ``R0``, ``R1``, ``R2`` (:mod:`~cbntheory.symbolic.series`).

Every symbolic formula has a numeric twin (the ``*_numeric`` functions) evaluated with
numpy, so tests compare both at random points.  sympy is imported lazily, inside the
functions that use it, so ``import cbntheory`` does not pay for it.

Examples
--------
>>> import numpy as np
>>> exact_cbn_rank(np.array([[[1, 1]]])).tolist()     # [1, 1] kills m = 1 when d = 2
[1, 0]
"""
from __future__ import annotations

from . import cyclotomic
from .convolution import (
    convolution_sides_numeric,
    convolution_theorem,
    parseval,
    parseval_sides_numeric,
    reduce_cyclotomic,
)
from .proof import Derivation, ProofStep, SymbolicIdentity
from .ranks import ExactSpectrum, exact_blocks, exact_cbn_rank, rational_kernel
from .scalar import balanced_cost_numeric, scalar_identity, scalar_identity_lagrange
from .series import (
    depth_coefficients,
    depth_coefficients_numeric,
    depth_series,
    schatten_cost_numeric,
)

__all__ = [
    "Derivation",
    "ExactSpectrum",
    "ProofStep",
    "SymbolicIdentity",
    "balanced_cost_numeric",
    "convolution_sides_numeric",
    "convolution_theorem",
    "cyclotomic",
    "depth_coefficients",
    "depth_coefficients_numeric",
    "depth_series",
    "exact_blocks",
    "exact_cbn_rank",
    "parseval",
    "parseval_sides_numeric",
    "rational_kernel",
    "reduce_cyclotomic",
    "scalar_identity",
    "scalar_identity_lagrange",
    "schatten_cost_numeric",
]
