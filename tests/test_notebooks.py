"""The course notebooks (docs/notebooks/*.ipynb) execute without error in quick mode.

Each notebook checks its own claims with ``assert`` against computations written from the
definitions, so a clean run means every claim held.  Skipped (and says so) when the
notebook tools of the ``test`` extra (nbformat, nbclient, ipykernel) are not installed.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "docs" / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_at_least_four_notebooks_with_exercises_and_solutions():
    nbformat = pytest.importorskip("nbformat")
    assert len(NOTEBOOKS) >= 4
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        assert "## Exercises" in text and "### Solutions" in text, path.name
        assert text.count("assert ") >= 3, path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
            f"{path.name}: stored outputs (strip them)"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    paths = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("CBN_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
