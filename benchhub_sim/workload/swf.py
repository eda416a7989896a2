"""The Standard Workload Format (SWF) of the Parallel Workloads Archive: read and write.

An SWF file is a header of ``; Key: value`` comment lines followed by one line per job
of 18 whitespace-separated numbers, ``-1`` meaning *missing*. :func:`read_swf` parses it
into a :class:`SwfTrace`, :func:`swf_jobs` turns a trace into :class:`JobRequest` objects
for the engine (one stage, one task per job), and :func:`write_swf` writes any run back
out so the results open in the tools people already use.

Each SWF *processor* becomes one node of role ``any``: a job asking for 8 procs needs 8
nodes, and :func:`swf_cluster_size` reads the machine size in processors.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from benchhub_sim.errors import Problem, WorkloadError
from benchhub_sim.io import write_text_atomic
from benchhub_sim.spec.model import (
    Driver,
    JobSpec,
    NodeAssignment,
    Selector,
    ShellPayload,
    Stage,
    Task,
)
from benchhub_sim.workload.base import ALL_NODES, JobRequest, Workload, requests_frame

if TYPE_CHECKING:
    import pandas as pd

#: The 18 standard fields, in file order.
SWF_FIELDS: tuple[str, ...] = (
    "job_number",
    "submit_time",
    "wait_time",
    "run_time",
    "allocated_procs",
    "avg_cpu_time",
    "used_memory",
    "requested_procs",
    "requested_time",
    "requested_memory",
    "status",
    "user_id",
    "group_id",
    "executable",
    "queue",
    "partition",
    "preceding_job",
    "think_time",
)

#: Fields that hold counts or ids (int64); the others are times or sizes (float64).
_INT_FIELDS = frozenset(
    {
        "job_number",
        "allocated_procs",
        "requested_procs",
        "status",
        "user_id",
        "group_id",
        "executable",
        "queue",
        "partition",
        "preceding_job",
    }
)

#: SWF status codes written by :func:`write_swf`.
SWF_STATUS = {"failed": 0, "finished": 1, "cancelled": 5}

#: The fields a replay reads: :func:`swf_jobs` and :func:`swf_cluster_size` need no more.
SWF_REPLAY_FIELDS = (
    "job_number",
    "submit_time",
    "run_time",
    "allocated_procs",
    "requested_procs",
    "requested_time",
)

_HEADER_RE = re.compile(r"^;\s*([A-Za-z][A-Za-z0-9_ ]*?)\s*:\s*(.*?)\s*$")
_MAX_PROBLEMS = 20
#: lines of the file parsed at once: bounds what reading holds beyond the columns kept
#: (a 10M-line trace is read in bounded memory)
_BLOCK_LINES = 65_536


@dataclass(frozen=True, eq=False)
class SwfTrace:
    """A parsed SWF file.

    Parameters
    ----------
    header : mapping of str to str
        The ``; Key: value`` header comments, values as written (e.g. ``MaxNodes``,
        ``MaxProcs``, ``UnixStartTime``).
    columns : mapping of str to numpy.ndarray
        One array per field kept (names from :data:`SWF_FIELDS`, in file order), one
        value per job line (int64 for counts and ids, float64 for times and sizes);
        ``-1`` is kept as the *missing* marker, as in the file.
    path : str
        Where the trace was read from, empty when unknown.
    n_jobs : int, optional
        Job lines read (the length of every column); needed only when no column is kept.
    """

    header: Mapping[str, str]
    columns: Mapping[str, np.ndarray]
    path: str = field(default="")
    n_jobs: int | None = None

    def __post_init__(self) -> None:
        lengths = {len(values) for values in self.columns.values()}
        if self.n_jobs is None and len(lengths) == 1:
            object.__setattr__(self, "n_jobs", lengths.pop())
        elif lengths - {self.n_jobs} or self.n_jobs is None:
            raise ValueError(
                f"SwfTrace: columns of {sorted(lengths)} values for n_jobs={self.n_jobs}"
            )

    def __len__(self) -> int:
        return self.n_jobs or 0  # never None after __post_init__

    @cached_property
    def jobs(self) -> pd.DataFrame:
        """The jobs as a pandas DataFrame, one column per field kept (made on first
        use: a replay needs only :attr:`columns`)."""
        import pandas as pd

        # the arrays themselves, not a copy: a 10M-job trace is not held twice
        return pd.DataFrame(dict(self.columns), copy=False)

    def header_int(self, key: str) -> int | None:
        """The header value ``key`` as an int (its leading number), or None if absent."""
        value = self.header.get(key)
        if value is None:
            return None
        m = re.match(r"\s*(-?\d+)", value)
        return int(m.group(1)) if m else None


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")  # noqa: SIM115


def read_swf(path: str | os.PathLike[str], *, fields: Sequence[str] | None = None) -> SwfTrace:
    """Read an SWF trace (``.swf`` or gzip-compressed ``.swf.gz``).

    Every line is checked whatever ``fields`` keeps. The file is read in blocks of lines,
    each parsed at once with numpy, so reading holds the columns kept and one block, not
    the file's text.

    Parameters
    ----------
    path : str or path-like
        The trace file. Compression is detected from the file's first bytes.
    fields : sequence of str, optional
        The columns to keep, names from :data:`SWF_FIELDS` (default all 18);
        :data:`SWF_REPLAY_FIELDS` is what a replay needs (a third of the memory).

    Returns
    -------
    SwfTrace
        The header comments and one array per field kept, in file order
        (:attr:`SwfTrace.jobs`: the same as a pandas DataFrame).

    Raises
    ------
    WorkloadError
        When a job line does not have 18 fields or a field is not a number (or an id
        field is not an integer); every such line is named ``file:line``.
    FileNotFoundError
        When the file does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.swf"
    >>> _ = p.write_text("; MaxNodes: 4\\n1 0 5 60 2 -1 -1 2 120 -1 1 1 1 -1 -1 -1 -1 -1\\n")
    >>> trace = read_swf(p)
    >>> trace.header["MaxNodes"], int(trace.columns["run_time"][0])
    ('4', 60)
    """
    p = Path(path)
    keep = [(name, SWF_FIELDS.index(name)) for name in _fields(fields)]
    header: dict[str, str] = {}
    columns: dict[str, list[np.ndarray]] = {name: [] for name, _ in keep}
    problems: list[Problem] = []
    lines_read = n_jobs = 0
    with _open_text(p) as fh:  # universal newlines: every line ends in "\n"
        while len(problems) <= _MAX_PROBLEMS and (lines := list(islice(fh, _BLOCK_LINES))):
            text = "".join(lines)
            _add_header(header, text)
            values = None if problems else _parse_numbers(text)
            if values is None:  # find and name every problem, up to _MAX_PROBLEMS
                values = _parse_lines(str(p), lines, lines_read + 1, problems)
            if not problems:
                for name, i in keep:
                    columns[name].append(values[:, i].astype(_dtype(name)))
                n_jobs += len(values)
            lines_read += len(lines)
    if problems:
        if len(problems) > _MAX_PROBLEMS:
            problems = problems[:_MAX_PROBLEMS] + [
                Problem(str(p), None, "", "too many malformed lines, stopped reading")
            ]
        raise WorkloadError(problems)
    data = {
        name: np.concatenate(blocks) if blocks else np.empty(0, _dtype(name))
        for name, blocks in columns.items()
    }
    return SwfTrace(header=header, columns=data, path=str(p), n_jobs=n_jobs)


def _fields(fields: Sequence[str] | None) -> tuple[str, ...]:
    if fields is None:
        return SWF_FIELDS
    if isinstance(fields, str):
        fields = [fields]
    unknown = [name for name in fields if name not in SWF_FIELDS]
    if unknown:
        raise WorkloadError([f"fields: not SWF field names: {', '.join(map(repr, unknown))}"])
    return tuple(name for name in SWF_FIELDS if name in fields)


def _dtype(name: str) -> type:
    return np.int64 if name in _INT_FIELDS else np.float64


_COMMENT_LINE = re.compile(r"^[^\S\n]*;.*$", re.MULTILINE)
_INT_POSITIONS = [i for i, name in enumerate(SWF_FIELDS) if name in _INT_FIELDS]


def _add_header(header: dict[str, str], text: str) -> None:
    """Add the ``; Key: value`` comments of an SWF text to ``header``, but for keys it
    has already (the first of each key counts)."""
    for line in _COMMENT_LINE.finditer(text):
        m = _HEADER_RE.match(line.group().strip())
        if m and m.group(1) not in header:
            header[m.group(1)] = m.group(2)


def _parse_numbers(text: str) -> np.ndarray | None:
    """The job lines of an SWF text as an (n, 18) float array, parsed at once; None
    when anything is unusual (a line of another length, a token that is not a number,
    a ``;`` after a number, a value that is not finite, an id that is not an integer):
    :func:`_parse_lines` then finds and names every problem."""
    comments = "".join(m.group() for m in _COMMENT_LINE.finditer(text))
    if text.count(";") != comments.count(";"):
        return None  # a ";" in a job line: numpy would take the rest as a comment
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            values = np.loadtxt(io.StringIO(text), dtype=np.float64, comments=";", ndmin=2)
    except ValueError:
        return None
    if not values.size:
        return np.zeros((0, len(SWF_FIELDS)))
    ints = values[:, _INT_POSITIONS]
    if (
        values.shape[1] != len(SWF_FIELDS)
        or not np.isfinite(values).all()
        or not (ints == np.trunc(ints)).all()
    ):
        return None
    return values


def _parse_lines(
    where: str, lines: Sequence[str], first_line: int, problems: list[Problem]
) -> np.ndarray:
    """The job lines as an (n, 18) float array, line by line; each malformed line adds a
    :class:`Problem` naming ``where:line`` and the field to ``problems`` (``first_line``:
    the number of ``lines[0]``). Stops after :data:`_MAX_PROBLEMS` problems."""
    rows: list[list[float]] = []
    n_fields = len(SWF_FIELDS)
    int_positions = _INT_POSITIONS
    for lineno, line in enumerate(lines, start=first_line):
        text = line.strip()
        if not text or text.startswith(";"):
            continue
        parts = text.split()
        if len(parts) != n_fields:
            problems.append(
                Problem(where, lineno, "", f"expected {n_fields} fields, found {len(parts)}")
            )
        else:
            try:
                values = [float(x) for x in parts]
            except ValueError:
                values = []
                for i, x in enumerate(parts):
                    try:
                        float(x)
                    except ValueError:
                        problems.append(
                            Problem(
                                where,
                                lineno,
                                SWF_FIELDS[i],
                                f"field {i + 1} is not a number: {x!r}",
                            )
                        )
                        break
            if values:
                bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
                bad = bad or [i for i in int_positions if not values[i].is_integer()]
                if bad:
                    i = bad[0]
                    problems.append(
                        Problem(
                            where,
                            lineno,
                            SWF_FIELDS[i],
                            f"field {i + 1} must be a finite"
                            f"{' integer' if i in int_positions else ' number'},"
                            f" found {parts[i]!r}",
                        )
                    )
                else:
                    rows.append(values)
        if len(problems) > _MAX_PROBLEMS:
            break
    return np.array(rows, dtype=np.float64).reshape(len(rows), n_fields)


def swf_cluster_size(trace: SwfTrace) -> int:
    """Number of nodes a trace's machine has: one node per SWF processor.

    ``MaxProcs`` is read first (a job's procs map one to one to nodes, so the machine
    must have as many nodes as processors), then ``MaxNodes``, then the largest
    requested or allocated procs seen in the jobs.

    Raises
    ------
    WorkloadError
        When none of these gives a positive number.
    """
    for key in ("MaxProcs", "MaxNodes"):
        value = trace.header_int(key)
        if value is not None and value > 0:
            return value
    jobs = trace.columns
    seen = 0
    if len(trace):
        seen = int(max(jobs["requested_procs"].max(), jobs["allocated_procs"].max()))
    if seen > 0:
        return seen
    raise WorkloadError(
        [Problem(trace.path, None, "", "no MaxProcs/MaxNodes header and no job asks for procs")]
    )


def swf_job_spec(n: int) -> JobSpec:
    """A one-stage job on ``n`` nodes of role any, one task ``run`` on each.

    The run time is not part of the spec: :func:`swf_request` gives it to each job
    request, so all jobs of ``n`` nodes share one spec (compiled once by the engine).
    """
    task = Task(name="run", driver=Driver.SHELL, shell=ShellPayload("true"))
    stage = Stage(name="run", selectors=(Selector(all=True),), tasks=(task,))
    return JobSpec(
        name="swf", node_assignments=(NodeAssignment(name="procs", count=n),), stages=(stage,)
    )


def swf_request(
    spec: JobSpec, *, submit: float, job_id: int, run_time: float, walltime: float | None
) -> JobRequest:
    """A request for a job of :func:`swf_job_spec` that runs ``run_time`` seconds on every node."""
    return JobRequest(
        spec=spec,
        submit=submit,
        job_id=job_id,
        walltime=walltime,
        durations={("run", ALL_NODES, "run"): run_time},
    )


def swf_jobs(trace: SwfTrace, *, nodes: int | None = None) -> tuple[SwfRequests, int]:
    """Turn a trace into job requests, one single-stage job per usable line.

    Each job needs ``requested_procs`` nodes (``allocated_procs`` when that is missing)
    of role ``any`` in one assignment named ``procs``; its one stage ``run`` selects all
    of them and runs one task ``run`` for ``run_time`` seconds on each. ``submit`` is the
    submit time, ``walltime`` the requested time (the run time when missing), ``job_id``
    the job number. Jobs of equal procs share one spec object (run times are per request).

    Parameters
    ----------
    trace : SwfTrace
        A trace from :func:`read_swf`.
    nodes : int, optional
        Cluster size: jobs needing more nodes are skipped.

    Returns
    -------
    jobs : SwfRequests
        A workload of requests in submit order (ties keep file order), made as they are
        read: a million-job trace does not hold a million request objects. Its
        ``skipped`` counts the jobs left out by reason, each job under the first that
        applies: ``no_run_time`` (run time missing or <= 0), ``no_size`` (no procs
        requested nor allocated), ``too_large`` (more procs than ``nodes``).
    skipped : int
        How many jobs were left out in all.
    """
    df = trace.columns
    procs = np.where(df["requested_procs"] > 0, df["requested_procs"], df["allocated_procs"])
    run_time = df["run_time"]
    no_run_time = ~(run_time > 0)
    no_size = ~no_run_time & ~(procs > 0)
    too_large = ~no_run_time & ~no_size
    if nodes is not None:
        too_large &= procs > nodes
    else:
        too_large[:] = False
    keep = ~(no_run_time | no_size | too_large)
    req_time = df["requested_time"]
    walltime = np.where(req_time > 0, req_time, run_time)
    submit = df["submit_time"]
    job_number = df["job_number"]
    order = np.argsort(submit, kind="stable")
    order = order[keep[order]]
    counts = {"no_run_time": no_run_time, "no_size": no_size, "too_large": too_large}
    skipped = {reason: int(mask.sum()) for reason, mask in counts.items() if mask.any()}
    jobs = SwfRequests(
        procs[order].astype(np.int64), submit[order], job_number[order].astype(np.int64),
        run_time[order], walltime[order], skipped=skipped,
    )  # fmt: skip
    return jobs, int(len(trace) - keep.sum())


class SwfRequests(Workload, Sequence[JobRequest]):
    """The job requests of a trace (:func:`swf_jobs`), kept as arrays and made one at a
    time as they are read. Jobs with equal procs share one spec object."""

    def __init__(
        self, procs: np.ndarray, submit: np.ndarray, job_id: np.ndarray, run_time: np.ndarray,
        walltime: np.ndarray, *, skipped: Mapping[str, int] | None = None,
    ) -> None:  # fmt: skip
        self.procs, self.submit, self.job_id = procs, submit, job_id
        self.run_time, self.walltime = run_time, walltime
        self.skipped = MappingProxyType(dict(skipped or {}))
        self._specs: dict[int, JobSpec] = {}

    def scaled(self, speedup: float) -> SwfRequests:
        """The same jobs with run times and walltimes divided by ``speedup``."""
        out = SwfRequests(self.procs, self.submit, self.job_id, self.run_time / speedup,
                          self.walltime / speedup, skipped=self.skipped)  # fmt: skip
        out._specs = self._specs
        return out

    def __len__(self) -> int:
        return len(self.submit)

    def to_pandas(self) -> pd.DataFrame:
        """The jobs as a table (see :meth:`Workload.to_pandas`), plus their ``run_time``."""
        n = len(self)
        df = requests_frame(self.job_id, self.submit, ["swf"] * n, self.procs, self.walltime,
                            [None] * n)  # fmt: skip
        df["run_time"] = self.run_time
        return df

    @overload
    def __getitem__(self, i: int) -> JobRequest: ...

    @overload
    def __getitem__(self, i: slice) -> list[JobRequest]: ...

    def __getitem__(self, i: int | slice) -> JobRequest | list[JobRequest]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return self._request(int(self.procs[i]), float(self.submit[i]), int(self.job_id[i]),
                             float(self.run_time[i]), float(self.walltime[i]))  # fmt: skip

    def __iter__(self) -> Iterator[JobRequest]:
        request = self._request
        columns = (self.procs, self.submit, self.job_id, self.run_time, self.walltime)
        # a block at a time: Python numbers for every job at once cost 160 bytes a job
        for lo in range(0, len(self), _BLOCK_LINES):
            block = [column[lo : lo + _BLOCK_LINES].tolist() for column in columns]
            for args in zip(*block, strict=True):
                yield request(*args)

    def _request(
        self, n: int, submit: float, job_id: int, run_time: float, walltime: float
    ) -> JobRequest:
        spec = self._specs.get(n)
        if spec is None:
            spec = self._specs[n] = swf_job_spec(n)
        return swf_request(spec, submit=submit, job_id=job_id, run_time=run_time, walltime=walltime)


# --- writing -------------------------------------------------------------------------


def _num(x: Any) -> str:
    """An SWF number: integers bare, other values to the millisecond, -1 when missing."""
    import pandas as pd

    if x is None or (isinstance(x, float) and not math.isfinite(x)) or pd.isna(x):
        return "-1"
    v = round(float(x), 3)
    if v.is_integer():
        return str(int(v))
    return f"{v:.3f}".rstrip("0")


def _status_code(status: Any, started: bool) -> int:
    import pandas as pd

    status = None if pd.isna(status) else str(status)
    if status == "finished":
        return SWF_STATUS["finished"]
    if status == "aborted":
        return SWF_STATUS["failed"] if started else SWF_STATUS["cancelled"]
    return -1


def write_swf(run: Any, path: str | os.PathLike[str]) -> Path:
    """Write a run's jobs as an SWF trace, one line per job in submit order.

    Fields: job number counts from 1 in submit order (the standard's counter; a run of
    an SWF trace, whose job ids are its job numbers, keeps them); submit time; wait =
    start - submit; run time = stop - start; allocated procs = ``n_nodes`` (``-1`` if
    the job never started); requested procs = ``n_nodes``; requested time =
    ``walltime``; status 1 finished,
    0 failed (aborted after it started), 5 cancelled (aborted before it started),
    ``-1`` otherwise (still queued or running). Every other field is ``-1``. Times are
    written to the millisecond. The header holds ``Version: 2.2``, ``Computer:
    benchhub_sim``, ``MaxNodes``/``MaxProcs`` (the run's node count) and
    ``UnixStartTime`` (the run's epoch, when known).

    Parameters
    ----------
    run : Run-like
        Anything with ``jobs`` and ``nodes`` DataFrames and a ``meta`` dict.
    path : str or path-like
        Output file; ``.gz`` writes it gzip-compressed.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    import pandas as pd

    out = Path(path)
    jobs = run.jobs.sort_values(["submit_time", "job_id"], kind="stable")
    meta = getattr(run, "meta", None) or {}
    n_nodes = len(run.nodes)
    lines = [
        "; Version: 2.2",
        "; Computer: benchhub_sim",
        f"; MaxJobs: {len(jobs)}",
        f"; MaxRecords: {len(jobs)}",
        f"; MaxNodes: {n_nodes}",
        f"; MaxProcs: {n_nodes}",
    ]
    epoch = meta.get("epoch")
    if epoch is not None and not pd.isna(epoch):
        lines.append(f"; UnixStartTime: {int(float(epoch))}")
    notes = [f"{k}={meta[k]}" for k in ("clock", "policy", "seed") if meta.get(k) is not None]
    if notes:
        lines.append("; Note: " + ", ".join(notes))
    for number, submit, start, stop, status, n, walltime in zip(
        range(1, len(jobs) + 1),
        jobs["submit_time"],
        jobs["start_time"],
        jobs["stop_time"],
        jobs["status"].astype(object),
        jobs["n_nodes"],
        jobs["walltime"],
        strict=True,
    ):
        started = not pd.isna(start)
        wait = start - submit if started else None
        runtime = stop - start if started and not pd.isna(stop) else None
        fields = [
            str(number),
            _num(submit),
            _num(wait),
            _num(runtime),
            _num(n if started else None),
            "-1",
            "-1",
            _num(n),
            _num(walltime),
            "-1",
            str(_status_code(status, started)),
        ] + ["-1"] * 7
        lines.append(" ".join(fields))
    write_text_atomic(out, "\n".join(lines) + "\n")
    return out
