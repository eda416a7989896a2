"""Writing files so that a reader never sees half of one: a temporary file, then a rename.

Every file the package writes for a user (reports, exports, traces, images, summaries)
goes through :func:`atomic_path`: a crash or an interrupt leaves either the old file or
the new one, never a truncated file under the final name, and never a stray temporary
file.

It also keeps :data:`RUN_WRITERS`, the formats other tools read that a run can be
written in: the store's ``Run.to_swf`` looks its writer up there, and the layers that
know the formats (the workload's SWF, the analysis' Batsim CSV) register them from above.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_file_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, if it can name a file to write (it is not a directory).

    Call it before long work whose result goes to ``path``, to fail at once.

    Raises
    ------
    IsADirectoryError
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(21, "is a directory, expected a file name", str(target))
    return target


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed to ``path`` when the block ends normally.

    Write the file to the yielded path (with any library: ``savefig``, ``to_parquet``);
    if the block raises, the temporary file is removed and ``path`` is untouched. The
    parent directory is created. The file gets the usual permissions (``0666`` less the
    umask), not the ``0600`` of a temporary file.

    Raises
    ------
    IsADirectoryError
        When ``path`` is a directory.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> out.read_text(), sorted(p.name for p in out.parent.iterdir())
    ('hello', ['a.txt'])
    """
    target = check_file_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, gzip-compressed when it ends in ``.gz``."""
    data = text.encode("utf-8")
    if Path(path).suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    return write_bytes_atomic(path, data)


#: ``writer(run, path) -> Path``: writes a run in one format, returns the file written
RunWriterFunction = Callable[[Any, "str | os.PathLike[str]"], Path]

#: the writer of each format a run can be exported to, by format name
RUN_WRITERS: dict[str, RunWriterFunction] = {}


def register_run_writer(name: str) -> Callable[[RunWriterFunction], RunWriterFunction]:
    """Register ``writer(run, path) -> Path`` as the writer of format ``name``.

    A layer above the store uses it (as a decorator) to give ``Run`` an export without
    the store importing that layer.

    Examples
    --------
    >>> @register_run_writer("example")
    ... def write_example(run, path):
    ...     return Path(path)
    >>> RUN_WRITERS.pop("example") is write_example
    True
    """

    def register(writer: RunWriterFunction) -> RunWriterFunction:
        RUN_WRITERS[name] = writer
        return writer

    return register
