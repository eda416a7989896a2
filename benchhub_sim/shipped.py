"""The examples shipped with the package: job specs, clusters, jobs files, an SWF trace.

They live in the folder ``examples`` inside the installed package (in a checkout,
``benchhub_sim/examples`` is a link to the repository's ``data/``), so the same code finds
them from a wheel, from an editable install and from a checkout on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from benchhub_sim.errors import WorkloadError

#: the folders of the examples, in the order they are listed, and what they hold
KINDS: tuple[tuple[str, str], ...] = (
    ("specs", "job specs"),
    ("clusters", "clusters"),
    ("jobs", "jobs files"),
    ("traces", "traces"),
)
_SUFFIXES = (".yml", ".yaml", ".swf", ".gz")


@dataclass(frozen=True)
class Example:
    """One shipped example file.

    Parameters
    ----------
    kind : str
        Its folder: ``specs``, ``clusters``, ``jobs`` or ``traces``.
    path : Path
        Where it is.
    description : str
        One line: the first comment paragraph of a YAML file, the header of a trace.
    """

    kind: str
    path: Path
    description: str


def examples_dir() -> Path:
    """The folder of the shipped examples (``specs/``, ``clusters/``, ``jobs/``, ``traces/``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    WorkloadError
        When the folder is missing (a broken install).

    Examples
    --------
    >>> (examples_dir() / "specs" / "pingpong.yml").is_file()
    True
    """
    folder = Path(__file__).parent / "examples"
    if not (folder / "specs").is_dir() or not (folder / "clusters").is_dir():
        raise WorkloadError(
            [f"{folder}: the shipped examples are missing (expected specs/ and clusters/ there)"]
        )
    return folder


def list_examples() -> list[Example]:
    """Every shipped example, by kind (specs, clusters, jobs, traces), then by name."""
    root = examples_dir()
    out = []
    for kind, _ in KINDS:
        folder = root / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name.endswith(_SUFFIXES):
                out.append(Example(kind, path, describe(path)))
    return out


def describe(path: Path, width: int = 72) -> str:
    """One line about an example file: its first comment paragraph, cut to ``width``.

    A trace is described by its ``Computer`` and ``MaxJobs`` header lines.
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".swf":
        header = dict(
            line[1:].strip().split(":", 1)
            for line in text.splitlines()
            if line.startswith(";") and ":" in line
        )
        bits = [header.get(k, "").strip() for k in ("Computer", "MaxJobs")]
        return f"SWF trace: {bits[0] or 'unknown machine'}, {bits[1] or '?'} jobs"
    words: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#") or (words and stripped == "#"):
            break
        words.extend(stripped.lstrip("#").split())
    line = " ".join(words)
    if len(line) > width:
        line = line[: width - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return line


def copy_examples(dest: str | os.PathLike[str]) -> list[Path]:
    """Copy the shipped examples into ``dest`` (created), keeping their folders.

    Nothing is replaced: when a file to copy is already in ``dest``, nothing is copied.

    Parameters
    ----------
    dest : path
        The folder to copy into.

    Returns
    -------
    list of Path
        The files written, relative to ``dest``.

    Raises
    ------
    WorkloadError
        Naming every file that is already there.
    """
    root = examples_dir()
    target = Path(dest)
    files = [e.path.relative_to(root) for e in list_examples()]
    there = [str(target / f) for f in files if (target / f).exists()]
    if there:
        raise WorkloadError(
            [f"{p}: already exists (copy into an empty or new folder)" for p in there]
        )
    for rel in files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target / rel)
    return files
