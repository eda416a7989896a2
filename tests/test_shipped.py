"""The shipped examples are found the same way from a checkout, an editable install and a
wheel installed in a fresh virtual environment outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import benchhub_sim as bh
from benchhub_sim.errors import WorkloadError
from benchhub_sim.shipped import copy_examples, describe, list_examples

REPO = Path(__file__).resolve().parents[1]


def test_examples_dir_holds_every_kind():
    root = bh.examples_dir()
    assert (root / "specs" / "pingpong.yml").is_file()
    assert root.samefile(REPO / "data")  # in a checkout: a link to data/
    kinds = {e.kind for e in list_examples()}
    assert kinds == {"specs", "clusters", "jobs", "traces"}
    assert all(e.description for e in list_examples())


def test_describe_takes_the_first_comment_paragraph(tmp_path):
    f = tmp_path / "x.yml"
    f.write_text("# One node,\n# two tasks.\n#\n# Not this.\nname: x\n")
    assert describe(f) == "One node, two tasks."
    f.write_text("# " + "word " * 40 + "\n")
    assert len(describe(f, width=30)) <= 30 and describe(f, width=30).endswith("…")


def test_copy_replaces_nothing(tmp_path):
    files = copy_examples(tmp_path / "a")
    assert (tmp_path / "a" / "jobs" / "mix.yml").is_file() and len(files) == len(list_examples())
    (tmp_path / "b" / "specs").mkdir(parents=True)
    (tmp_path / "b" / "specs" / "oltp.yml").write_text("mine")
    with pytest.raises(WorkloadError, match="oltp.yml: already exists"):
        copy_examples(tmp_path / "b")
    assert (tmp_path / "b" / "specs" / "oltp.yml").read_text() == "mine"
    assert not (tmp_path / "b" / "clusters").exists()


def _setuptools_builds_here() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77  # pyproject's build requirement


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args[:4]}: {done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
def test_examples_from_a_wheel_in_a_fresh_venv(tmp_path):
    """Build the wheel (from a copy of the sources: the build writes beside them), install
    it alone into a new venv, and run from a folder outside the repository.

    About 15 s on an idle machine, most of it pip setting up the build backend."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    shutil.copytree(REPO / "benchhub_sim", src / "benchhub_sim", symlinks=True, ignore=ignore)
    shutil.copytree(REPO / "data", src / "data", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    # without the build backend pyproject asks for, pip fetches it into a build env
    isolation = ["--no-build-isolation"] if _setuptools_builds_here() else []
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *isolation,
          "-w", str(tmp_path / "dist"), str(src)])  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("benchhub_sim-*.whl")
    venv = tmp_path / "venv"
    # its own site-packages first; numpy, pandas, ... (and pip) come from this Python's
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    _run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], env=env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(
        [
            str(python),
            "-c",
            "import benchhub_sim as bh; print(bh.__file__); print(bh.examples_dir())",
        ],
        cwd=elsewhere,
        env=env,
    ).stdout.splitlines()
    assert Path(where[0]).is_relative_to(venv) and Path(where[1]).is_relative_to(venv)
    assert not Path(where[1]).is_symlink()  # the wheel holds the files themselves
    copied = _run([str(venv / "bin" / "benchhub-sim"), "examples", "--copy", "ex"], cwd=elsewhere,
                  env=env).stdout  # fmt: skip
    assert copied.startswith(f"copied {len(list_examples())} files to ex")
    files = sorted(str(p.relative_to(elsewhere / "ex")) for p in (elsewhere / "ex").rglob("*.*"))
    shipped = sorted(str(e.path.relative_to(bh.examples_dir())) for e in list_examples())
    assert files == shipped
