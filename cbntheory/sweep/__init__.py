"""Resumable parameter sweeps: a TOML description, an SQLite store, local or Dask execution.

``cbn sweep CONFIG.toml --store results.sqlite`` expands the grid of a sweep file
(:mod:`~cbntheory.sweep.config`), skips the jobs already in the store
(:mod:`~cbntheory.sweep.store`), runs the others on a local process pool or a Dask
cluster (:mod:`~cbntheory.sweep.executor`) and commits each result in its own
transaction as it arrives (:mod:`~cbntheory.sweep.runner`).  Job kinds are a registry
(:mod:`~cbntheory.sweep.jobs`).  Nothing here imports Dask unless a scheduler address
is given.  See ``docs/sweeps.md``.
"""
from __future__ import annotations
