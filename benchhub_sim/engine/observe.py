"""What an agent observes while it runs tasks (BenchHub's store2018.md: "metrics
collected by agent when running job", "snapshot of operating system before and after
each task, stage, job", "result of benchmark").

Node side (inside an agent): :class:`Sampler` measures task process trees and the node
with psutil; :class:`ResultsFile` reads the JSON lines a task writes to
``$BENCHHUB_RESULTS``; :class:`LogTail` reads the log bytes a remote agent sends back.
Engine side: :class:`Observations` buffers the rows agents send and streams them to
the run directory (``metrics`` and ``results`` tables, same crash-safety as history).

Rows are tuples in the column order of
:data:`~benchhub_sim.store.schema.METRICS_SCHEMA` and
:data:`~benchhub_sim.store.schema.RESULTS_SCHEMA`, so they travel through msgpack
(Dask's event stream) as plain lists.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from benchhub_sim.clock import monotonic
from benchhub_sim.store.rows import rows_to_batch
from benchhub_sim.store.schema import METRICS_SCHEMA, RESULTS_SCHEMA

#: ``(metric, value, unit)`` measured at one instant
Measure = tuple[str, float, str | None]
#: the JSON keys of a result line, and which are required
RESULT_KEYS = ("name", "value", "unit", "time")


class Scope(NamedTuple):
    """What a row of ``metrics`` or ``results`` is about: a node (job None), a job on
    it, a stage on it (task None), or a task attempt."""

    node_id: str
    job_id: int | None = None
    node_name: str | None = None
    stage_name: str | None = None
    task_name: str | None = None
    attempt: int | None = None


def metric_rows(t: float, scope: Scope, kind: str, measures: Iterable[Measure]) -> list[tuple]:
    """Rows of the ``metrics`` table for ``measures`` taken at time ``t``."""
    return [(t, *scope, kind, m, float(v), u) for m, v, u in measures]


class Sampler:
    """psutil measurements of task process trees, of the node, and system snapshots.

    A task's tree is its group leader and the leader's descendants, seen at each sample:
    ``cpu_percent`` (of one core, over the time since the last sample), ``rss_bytes``
    (now), ``read_bytes`` / ``write_bytes`` (storage I/O since the task started, summed
    over every process seen; a process that ended between two samples counts with what
    it had done at the last sample it was seen). The node: ``cpu_percent`` (busy share
    of all cores since the last sample), ``mem_used_bytes``, ``read_bytes`` /
    ``write_bytes`` (disk I/O since the agent started). A snapshot: ``load1``,
    ``load5``, ``load15``, ``mem_available_bytes``, ``mem_used_bytes``,
    ``disk_free_bytes`` (of the agent's working directory).

    Parameters
    ----------
    root : Path
        The agent's working directory (whose file system the snapshot's disk is).
    """

    def __init__(self, root: Path) -> None:
        import psutil  # real runs only: a simulation never loads it

        self._psutil = psutil
        self.root = root
        #: key -> (pid, create_time) -> (cpu seconds, read bytes, write bytes)
        self._seen: dict[str, dict[tuple[int, float], tuple[float, int, int]]] = {}
        self._last: dict[str, tuple[float, float]] = {}  # key -> (time, cpu seconds)
        self._cpu = self._cpu_times()
        disk = psutil.disk_io_counters()
        self._disk0 = (disk.read_bytes, disk.write_bytes) if disk else None

    def _cpu_times(self) -> tuple[float, float]:
        t = self._psutil.cpu_times()
        idle = t.idle + getattr(t, "iowait", 0.0)
        return sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0), idle

    def begin(self, key: str, t: float) -> None:
        """Task ``key`` started at time ``t`` (its first ``cpu_percent`` counts from it)."""
        self._seen[key] = {}
        self._last[key] = (t, 0.0)

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)
        self._last.pop(key, None)

    def task(self, key: str, pid: int, t: float) -> list[Measure]:
        """Measure the tree of task ``key`` (group leader ``pid``) at time ``t``."""
        psutil = self._psutil
        seen = self._seen.setdefault(key, {})
        try:
            leader = psutil.Process(pid)
            procs = [leader, *leader.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            procs = []
        rss = 0
        for p in procs:
            try:
                with p.oneshot():
                    ident = (p.pid, p.create_time())
                    cpu = p.cpu_times()
                    mem = p.memory_info().rss
                    io = p.io_counters() if hasattr(p, "io_counters") else None
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            rss += mem
            seen[ident] = (
                cpu.user + cpu.system,
                io.read_bytes if io else 0,
                io.write_bytes if io else 0,
            )
        cpu_total = sum(v[0] for v in seen.values())
        t0, cpu0 = self._last.get(key, (t, cpu_total))
        self._last[key] = (t, cpu_total)
        percent = 100.0 * (cpu_total - cpu0) / (t - t0) if t > t0 else 0.0
        return [
            ("cpu_percent", max(percent, 0.0), "%"),
            ("rss_bytes", rss, "B"),
            ("read_bytes", sum(v[1] for v in seen.values()), "B"),
            ("write_bytes", sum(v[2] for v in seen.values()), "B"),
        ]

    def node(self) -> list[Measure]:
        """Measure the node: CPU since the last call, memory now, disk I/O so far."""
        psutil = self._psutil
        total, idle = self._cpu_times()
        total0, idle0 = self._cpu
        self._cpu = (total, idle)
        busy = 100.0 * (1.0 - (idle - idle0) / (total - total0)) if total > total0 else 0.0
        vm = psutil.virtual_memory()
        out: list[Measure] = [
            ("cpu_percent", min(max(busy, 0.0), 100.0), "%"),
            ("mem_used_bytes", vm.total - vm.available, "B"),
        ]
        disk = psutil.disk_io_counters()
        if disk is not None and self._disk0 is not None:
            out.append(("read_bytes", disk.read_bytes - self._disk0[0], "B"))
            out.append(("write_bytes", disk.write_bytes - self._disk0[1], "B"))
        return out

    def snapshot(self) -> list[Measure]:
        """A short system snapshot: load averages, memory, free disk."""
        vm = self._psutil.virtual_memory()
        load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
        try:
            free = float(shutil.disk_usage(self.root).free)
        except OSError:
            free = math.nan
        return [
            ("load1", load[0], None),
            ("load5", load[1], None),
            ("load15", load[2], None),
            ("mem_available_bytes", vm.available, "B"),
            ("mem_used_bytes", vm.total - vm.available, "B"),
            ("disk_free_bytes", free, "B"),
        ]


class ResultsFile:
    """The JSON lines one task attempt writes to ``$BENCHHUB_RESULTS``.

    Each line is an object ``{"name": str, "value": number, "unit": str (optional),
    "time": unix seconds (optional)}``. :meth:`read` returns the complete lines written
    since the last call (all of them when ``final``) as rows, and one message per line
    it had to skip, naming the file and line.

    Parameters
    ----------
    path : Path
        The file (it may not exist yet: a task that reports nothing).
    shown : str
        How messages name it (relative to the run directory).
    """

    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown
        self.offset = 0
        self.line = 0

    def read(
        self, final: bool = False
    ) -> tuple[list[tuple[str, float, Any, float | None]], list[str]]:
        try:
            if self.path.stat().st_size <= self.offset:
                return [], []
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return [], []
        if not final:
            data = data[: data.rfind(b"\n") + 1]  # a line being written waits
        self.offset += len(data)
        rows, problems = [], []
        for raw in data.splitlines():
            self.line += 1
            if not raw.strip():
                continue
            row, problem = parse_result(raw)
            if problem:
                problems.append(f"{self.shown}:{self.line}: {problem}")
            else:
                rows.append(row)
        return rows, problems


def parse_result(raw: bytes) -> tuple[Any, str]:
    """``((name, value, unit, time), "")`` for a valid result line, else ``(None, why)``.

    Examples
    --------
    >>> parse_result(b'{"name": "latency_ms", "value": 3.2, "unit": "ms"}')
    (('latency_ms', 3.2, 'ms', None), '')
    >>> parse_result(b'{"name": "x", "value": "fast"}')[1]
    "value: expected a number, found 'fast'"
    """
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        return None, f"not a JSON object: {exc}"
    if not isinstance(obj, dict):
        return None, f"expected a JSON object, found {type(obj).__name__}"
    unknown = [k for k in obj if k not in RESULT_KEYS]
    if unknown:
        return None, f"unknown key {unknown[0]!r} (keys: {', '.join(RESULT_KEYS)})"
    name, value, unit, when = (obj.get(k) for k in RESULT_KEYS)
    if not isinstance(name, str) or not name:
        return None, f"name: expected a non-empty string, found {name!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"value: expected a number, found {value!r}"
    if unit is not None and not isinstance(unit, str):
        return None, f"unit: expected a string, found {unit!r}"
    if when is not None and (isinstance(when, bool) or not isinstance(when, int | float)):
        return None, f"time: expected unix seconds, found {when!r}"
    return (name, float(value), unit or None, None if when is None else float(when)), ""


class LogTail:
    """The bytes of one task attempt's log files (``STEM.*``) not yet sent back.

    A remote agent writes logs on its node; :meth:`read` returns ``(path relative to
    the agent's root, offset, bytes)`` chunks of what was appended since the last call,
    at most ``chunk`` bytes per file unless ``final``.
    """

    def __init__(self, root: Path, stem: str, chunk: int = 1 << 20) -> None:
        self.root = root
        self.stem = stem
        self.chunk = chunk
        self.offsets: dict[str, int] = {}

    def read(self, final: bool = False) -> list[tuple[str, int, bytes]]:
        stem = self.root / self.stem
        out = []
        for path in sorted(stem.parent.glob(stem.name + ".*")):
            rel = path.relative_to(self.root).as_posix()
            offset = self.offsets.get(rel, 0)
            try:
                if path.stat().st_size <= offset and rel in self.offsets:
                    continue
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read(-1 if final else self.chunk)
            except OSError:
                continue
            out.append((rel, offset, data))  # an empty file too: it exists
            self.offsets[rel] = offset + len(data)
        return out


class Observations:
    """Engine side: rows from agents, streamed to the run directory every ``flush_seconds``.

    Parameters
    ----------
    sink : callable, optional
        ``sink(table_name, batch)`` (:meth:`RunWriter.sink
        <benchhub_sim.store.run.RunWriter.sink>`); without one the rows are dropped.
    flush_seconds : float
        At most this much of what agents observed is lost if the process is killed.
    """

    def __init__(
        self,
        sink: Callable[[str, pa.RecordBatch], None] | None,
        *,
        flush_seconds: float = 1.0,
    ) -> None:
        self.sink = sink
        self.flush_seconds = flush_seconds
        self.metrics: list[tuple] = []
        self.results: list[tuple] = []
        #: messages about result lines that were skipped (file:line: why)
        self.problems: list[str] = []
        self.n_problems = 0
        self._last = monotonic()

    def add(self, metrics: Iterable[Iterable[Any]], results: Iterable[Iterable[Any]]) -> None:
        self.metrics.extend(tuple(r) for r in metrics)
        self.results.extend(tuple(r) for r in results)

    def problem(self, message: str, keep: int = 20) -> None:
        self.n_problems += 1
        if len(self.problems) < keep:
            self.problems.append(message)

    def maybe_flush(self) -> None:
        if monotonic() - self._last >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self._last = monotonic()
        for name, rows, schema in (
            ("metrics", self.metrics, METRICS_SCHEMA),
            ("results", self.results, RESULTS_SCHEMA),
        ):
            if rows and self.sink is not None:
                self.sink(name, rows_to_batch(rows, schema))
            rows.clear()
