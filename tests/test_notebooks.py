"""The tutorial notebooks run top to bottom, and match their generator."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
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


def test_the_four_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "01_specs_and_cluster.ipynb",
        "02_simulate_and_report.ipynb",
        "03_replay_and_compare.ipynb",
        "04_plot_gallery.ipynb",
    ]


def test_the_gallery_shows_every_plot():
    import benchhub_sim as bh

    source = "\n".join(
        c.source for c in nbformat.read(REPO / "notebooks" / "04_plot_gallery.ipynb", 4).cells
    )
    plots = [name for name in bh.__all__ if name.startswith("plot_")]
    assert plots and all(f"bh.{name}(" in source for name in plots)


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


def _execute(path: Path, folder: Path):
    """Run a copy of notebook ``path`` in ``folder``; the executed notebook, or the error."""
    copy = folder / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    try:
        client.execute()  # raises CellExecutionError naming the failing cell
    except Exception as exc:  # re-raised by the test of that notebook
        return exc
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Every notebook, run at once in its own kernel (they start and import in parallel)."""
    with ThreadPoolExecutor(max_workers=len(NOTEBOOKS)) as pool:
        futures = {
            p.stem: pool.submit(_execute, p, tmp_path_factory.mktemp(p.stem)) for p in NOTEBOOKS
        }
        return {stem: f.result() for stem, f in futures.items()}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(executed, path):
    # each ran from a folder of its own: the notebook finds the examples through the package
    nb = executed[path.stem]
    if isinstance(nb, Exception):
        raise nb
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    # as the README does, and it cleaned up the temporary directory it wrote to
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "import benchhub_sim as bh" in first.source
    shown = first.outputs[-1]["data"]["text/plain"]
    work = re.search(r"PosixPath\('([^']*benchhub-nb-[^']*)'\)", shown)
    assert work and not Path(work.group(1)).exists()
