"""Resumable parameter sweeps: a TOML description, an SQLite store, local or Dask execution.

``cbn sweep CONFIG.toml --store results.sqlite`` expands the grid of a sweep file
(:mod:`~cbntheory.sweep.config`), skips the jobs already in the store
(:mod:`~cbntheory.sweep.store`, file layout in :mod:`~cbntheory.sweep.schema`), runs the
others on a local process pool or a Dask cluster (:mod:`~cbntheory.sweep.executor`) and
commits each result in its own transaction as it arrives (:mod:`~cbntheory.sweep.runner`,
with a text progress bar from :mod:`~cbntheory.output.progress`).  Job kinds are a
registry (:mod:`~cbntheory.sweep.jobs`) filled by :mod:`~cbntheory.sweep.kinds` (the
table kinds ``linear_cost`` and ``bound_row``) and :mod:`~cbntheory.sweep.file_kinds`
(``minimal_norm``, ``convex_two_layer``, ``structure`` on user files).  Nothing
here imports Dask unless a scheduler address is given.  See ``docs/sweeps.md``; stored
rows are read back with :func:`cbntheory.sweep.store.read_rows`.
"""
from __future__ import annotations
