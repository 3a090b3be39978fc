"""The notebooks: stored with their outputs, and run from top to bottom.

Their cells assert what they show, so executing them is a test. Executing
needs the ``notebooks`` extra (nbclient, nbformat, ipykernel, matplotlib,
pandas; all in the ``test`` extra, so CI runs them) and is skipped when one is
missing. ``python notebooks/build.py`` regenerates the stored outputs with the
same function.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
# Seconds one cell may take in the test (the slowest cell needs a few seconds of CPU).
CELL_TIMEOUT = 300


def _load_builder():
    spec = importlib.util.spec_from_file_location("notebooks_build", FOLDER / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3
    assert [p.name for p in NOTEBOOKS] == [p.name for p in _load_builder().notebooks()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_with_its_outputs(path):
    cells = _code_cells(path)
    # executed top to bottom, in order, without errors
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    outputs = [o for c in cells for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    # figures are inline PNGs, visible when browsing the repository
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert not any("matplotlib.use(" in "".join(c["source"]) for c in cells)
    # figures exported for the README (cells tagged figure:NAME) are stored too
    for cell in cells:
        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith("figure:"):
                assert (FOLDER / "figures" / f"{tag.split(':', 1)[1]}.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    for module in ("nbformat", "nbclient", "ipykernel", "matplotlib", "pandas"):
        pytest.importorskip(module)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    # raises CellExecutionError, with the cell and its traceback, if a cell fails
    notebook = _load_builder().execute(copy, timeout=CELL_TIMEOUT, cwd=tmp_path)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
