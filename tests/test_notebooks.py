"""The tutorial notebooks run top to bottom, and match their generator."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", REPO / "notebooks" / "make_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_three_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_specs_and_cluster.ipynb",
        "02_simulate_and_report.ipynb",
        "03_replay_and_compare.ipynb",
    ]


def test_committed_without_outputs_and_as_generated(tmp_path):
    built = {p.name: p for p in _generator().build(tmp_path)}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
        fresh = json.loads(built[path.name].read_text())
        assert json.loads(path.read_text()) == fresh, (
            f"{path.name}: rerun notebooks/make_notebooks.py"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(tmp_path, path):
    # a temporary copy laid out like the repository: notebooks/ beside data/
    (tmp_path / "data").symlink_to(REPO / "data", target_is_directory=True)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    copy = folder / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    # it found data/ beside its folder, not the repository's by accident
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert repr(tmp_path / "data") in first.outputs[-1]["data"]["text/plain"]
