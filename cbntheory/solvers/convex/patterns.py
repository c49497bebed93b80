"""Activation patterns of a convolutional ReLU layer on finite data.

A hidden channel of a two-layer CNN computes ``relu(c sum_q W[q] x[p - q] + b)`` at
every pixel ``p``: the inner product of the weights ``u = (w, b)`` with the augmented,
scaled *patch* ``zhat_{n,p} = (c x_n[p - q] for the window taps q, 1)``.  Which of the
``N d`` patches are active depends only on the cell of ``u`` in the arrangement of the
hyperplanes ``{u : <zhat, u> = 0}``; once the activation pattern ``D`` is fixed the
channel is *linear* in ``u`` on the cone ``K_D`` of that cell.  The patches come from
:mod:`cbntheory.nets.patches`; this module merges patches that define the same
hyperplane, lists the patterns (all of them via
:mod:`cbntheory.solvers.convex.arrangements`, or a random sample) and the feature vectors
``g_D(x_n) = (1/d) sum_p D_{n,p} zhat_{n,p}`` of the convex program.

Examples
--------
>>> import numpy as np
>>> X = np.array([[[0.0, 1.0, 0.0, 2.0]]])                 # one signal, d = 4
>>> Z = patches(X, (4,), 3, "plain")                        # taps at offsets -1, 0, 1
>>> Z[0, 1].tolist()                                        # x[p+1], x[p], x[p-1] at p = 1
[0.0, 1.0, 0.0]
>>> arr = Arrangement.from_patches(Z, bias=True)
>>> arr.n_hyperplanes, arr.dim
(4, 4)
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ... import _validate as V
from ... import settings
from ...nets.patches import patches, tap_offsets
from .arrangements import enumerate_cells

__all__ = ["Arrangement", "patches", "tap_offsets"]


@dataclasses.dataclass(frozen=True)
class Arrangement:
    """The patches of a data set grouped into distinct hyperplanes.

    Attributes
    ----------
    vectors : ndarray, shape (N, d, r)
        Augmented patches ``zhat_{n,p}`` (``r = n_0 K + 1`` with a bias, ``n_0 K``
        without).
    normals : ndarray, shape (M, r)
        Unit normals of the distinct hyperplanes.
    index : ndarray of int, shape (N, d)
        Hyperplane of every patch (``-1`` for a zero patch, which is never active).
    orientation : ndarray of int8, shape (N, d)
        ``zhat_{n,p} = |zhat_{n,p}| * orientation * normals[index]``.
    bias : bool
        Whether the last coordinate is the (constant 1) bias coordinate.
    """

    vectors: np.ndarray
    normals: np.ndarray
    index: np.ndarray
    orientation: np.ndarray
    bias: bool

    @classmethod
    def from_patches(cls, Z: np.ndarray, *, bias: bool) -> Arrangement:
        """Group patches ``(N, d, D)`` into hyperplanes (append the bias coordinate if ``bias``).

        Patches are normalised and given a canonical sign (largest entry positive);
        exact duplicates are merged by hashing, near duplicates (unit vectors closer
        than :data:`cbntheory.settings.PATTERN_PARALLEL_ATOL`) by a pairwise pass when
        the number of distinct hyperplanes is at most 4000 (beyond, enumeration is out of
        reach anyway and sampling does not need the merge).
        """
        n, d, _ = Z.shape
        vec = np.concatenate([Z, np.ones((n, d, 1))], axis=2) if bias else np.array(Z)
        flat = vec.reshape(n * d, -1)
        norms = np.linalg.norm(flat, axis=1)
        zero = norms <= settings.ZERO_PATCH_RTOL * max(1.0, float(norms.max(initial=0.0)))
        unit = np.zeros_like(flat)
        unit[~zero] = flat[~zero] / norms[~zero, None]
        lead = np.argmax(np.abs(unit), axis=1)
        sgn = np.sign(unit[np.arange(len(unit)), lead])
        sgn[zero] = 0
        canon = unit * np.where(sgn == 0, 1.0, sgn)[:, None]
        keys = np.round(canon[~zero], settings.PATCH_KEY_DECIMALS)
        reps, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).ravel()
        first = np.full(len(reps), -1)
        first[inverse[::-1]] = np.flatnonzero(~zero)[::-1]  # one original patch per class
        normals = canon[first]
        merge = np.arange(len(reps))
        flip = np.ones(len(reps))
        if 1 < len(reps) <= 4000:  # the Gram matrix: 128 MB at most
            gram = normals @ normals.T
            close = np.abs(gram) >= 1.0 - 0.5 * settings.PATTERN_PARALLEL_ATOL ** 2
            for i in range(len(reps)):
                if merge[i] != i:
                    continue
                js = np.flatnonzero(close[i, i + 1:]) + i + 1
                js = js[merge[js] == js]
                merge[js] = i
                flip[js] = np.sign(gram[i, js])
        keep, new_index = np.unique(merge, return_inverse=True)
        index = np.full(n * d, -1)
        orient = np.zeros(n * d, dtype=np.int8)
        index[~zero] = new_index[inverse]
        orient[~zero] = (sgn[~zero] * flip[inverse]).astype(np.int8)
        return cls(vectors=vec, normals=normals[keep], index=index.reshape(n, d),
                   orientation=orient.reshape(n, d), bias=bool(bias))

    @property
    def n_hyperplanes(self) -> int:
        """Number ``M`` of distinct hyperplanes."""
        return int(self.normals.shape[0])

    @property
    def dim(self) -> int:
        """Dimension ``r`` of the weight space ``u = (w, b)``."""
        return int(self.vectors.shape[2])

    def active(self, cells: np.ndarray) -> np.ndarray:
        """Boolean ``(P, N, d)``: which patches a pattern (sign vector ``(P, M)``) activates."""
        cells = np.asarray(cells)
        idx = np.where(self.index < 0, 0, self.index)
        on = cells[:, idx] * self.orientation[None] > 0
        return on & (self.index >= 0)[None]

    def features(self, cells: np.ndarray) -> np.ndarray:
        """Feature vectors ``g_D(x_n) = (1/d) sum_p D_{n,p} zhat_{n,p}``, shape ``(P, N, r)``."""
        cells = np.asarray(cells)
        d = self.vectors.shape[1]
        out = np.empty((len(cells), self.vectors.shape[0], self.dim))
        for start in range(0, len(cells), 256):
            act = self.active(cells[start:start + 256]).astype(float)
            out[start:start + 256] = np.einsum("pnd,ndr->pnr", act, self.vectors) / d
        return out

    def pattern_of(self, u: np.ndarray) -> np.ndarray:
        """Sign vectors ``(K, M)`` of weight vectors ``u`` of shape ``(K, r)`` (0 counts as +1)."""
        s = np.sign(np.atleast_2d(u) @ self.normals.T).astype(np.int8)
        s[s == 0] = 1
        return s

    def enumerate(self, *, max_patterns: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """All activation patterns (cells), certified complete; see :func:`enumerate_cells`."""
        return enumerate_cells(self.normals, max_cells=max_patterns)

    def sample(self, n_patterns: int, rng: Any = 0) -> tuple[np.ndarray, dict[str, Any]]:
        """Distinct patterns of ``n_patterns`` random weight vectors ``u = (w, b)``.

        ``w`` is standard Gaussian; with a bias, ``b = -<w, z>`` for a random data patch
        ``z`` plus Gaussian jitter of the size of the pre-activations, so the hyperplane
        of the neuron passes near the data (a Gaussian ``b`` would mostly give all-on or
        all-off patterns).  The all-on pattern (``w = 0``, ``b > 0``) is always added
        when there is a bias.
        """
        n_patterns = V.positive_int("n_patterns", n_patterns)
        gen, seed = V.rng_seed(rng)
        r = self.dim
        if self.bias:
            w = gen.standard_normal((n_patterns, r - 1))
            flat = self.vectors.reshape(-1, r)[:, :-1]
            z = flat[gen.integers(0, len(flat), n_patterns)]
            pre = np.einsum("kr,kr->k", w, z)
            spread = float(np.std(flat @ w[0])) if len(flat) > 1 else 1.0
            jitter = 0.5 * max(spread, settings.SAMPLE_SPREAD_FLOOR)
            b = -pre + gen.standard_normal(n_patterns) * jitter
            u = np.concatenate([w, b[:, None]], axis=1)
            u = np.vstack([u, np.eye(r)[-1]])
        else:
            u = gen.standard_normal((n_patterns, r))
        cells = np.unique(self.pattern_of(u), axis=0)
        return cells, {"method": "sample", "count": int(len(cells)), "draws": n_patterns,
                       "seed": seed}
