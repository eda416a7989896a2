"""Sweeps: one replay (or simulation) per cell of a grid, on a local pool or on Dask.

A *grid* maps parameter names to lists of values; its cartesian product gives the
*cells*. Each cell runs in a worker and writes its own run directory
``OUT/<cell>/`` (e.g. ``OUT/policy=easy,nodes=32,seed=0/``); the client gathers one
summary row per cell into ``OUT/summary.parquet``. A cell that raises is recorded with
its error and the others go on; a rerun skips the cells that already finished.

Grid keys
---------
``policy``
    Queue policy name (``fcfs``, ``easy``, ``conservative``, ``sjf``, ``priority``).
    Without it a recorded run is replayed under its own policy, a trace or a jobs file
    under ``fcfs``.
``nodes``
    Cluster size: that many nodes of role ``any``. An SWF trace is replayed on nodes of
    the default capacity, a recorded run on nodes of its nodes' median capacity (see
    :func:`~benchhub_sim.workload.replay.replay_cluster`). A jobs file gets nodes of
    :data:`GENEROUS_NODE` capacity, so that any BenchHub spec's requirements fit. With a
    ``cluster`` key too, every workload gets ``nodes`` nodes as big as that cluster's
    largest node (elementwise maximum of cores, memory and disk).
``seed``
    Seed of what the run draws. Without this key a replay keeps the recorded run's seed
    and a jobs file uses 0.
``speedup``
    How much faster the machine is. A replay divides observed durations and requested
    walltimes by it (see :func:`~benchhub_sim.replay.replay`); a jobs file runs
    on nodes whose ``speed`` is multiplied by it (walltime estimates are unchanged).
``cluster``
    A cluster file (YAML or Parquet). A jobs file needs ``cluster`` or ``nodes``.

Workers must be able to import :mod:`benchhub_sim` and to read the workload and write
``OUT`` at the same paths as the client: on a remote Dask cluster, install the package
on the workers and put the workload and ``OUT`` on a shared file system.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import math
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchhub_sim.clock import monotonic
from benchhub_sim.cluster import Cluster
from benchhub_sim.errors import StalledRunWarning, WorkloadError
from benchhub_sim.io import atomic_path
from benchhub_sim.params import number, require, whole
from benchhub_sim.spec.validate import did_you_mean

#: Grid keys, in the order they appear in cell names and summary columns.
GRID_KEYS: tuple[str, ...] = ("policy", "nodes", "seed", "speedup", "cluster")

#: Capacity of each node when a jobs file runs on ``nodes`` nodes without a ``cluster``.
GENEROUS_NODE: dict[str, float] = {"cores": 256.0, "mem_mb": 2_097_152.0, "disk_mb": 67_108_864.0}

SUMMARY_FILE = "summary.parquet"

#: Columns every summary has besides the grid keys and the metrics.
STATUS_COLUMNS: tuple[str, ...] = ("cell", "status", "error", "run_dir", "elapsed")

#: Jobs of the workload a cell left out (SWF lines without run time or size, jobs larger
#: than the cell's cluster): how many, and ``reason count, ...`` (``run.json``'s ``skipped``).
SKIP_COLUMNS: tuple[str, ...] = ("skipped", "skipped_reasons")

_SAVE_EVERY = 5.0  # seconds between rewrites of summary.parquet while a sweep runs
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")


@dataclass(frozen=True)
class Cell:
    """One grid cell: its readable name and parameter values."""

    name: str
    params: Mapping[str, Any]


# --- grid ---------------------------------------------------------------------------------


def grid_cells(grid: Mapping[str, Sequence[Any]]) -> list[Cell]:
    """The cells of ``grid`` in a deterministic order (cartesian product, keys in :data:`GRID_KEYS` order).

    Raises
    ------
    WorkloadError
        An unknown key, an empty or non-list value, a value the key does not take (a
        ``nodes`` that is not a whole number >= 1, an unknown policy, ...: the rules of
        :func:`~benchhub_sim.replay.replay`), or two cells with the same name.

    Examples
    --------
    >>> [c.name for c in grid_cells({"seed": [0, 1], "policy": ["easy"]})]
    ['policy=easy,seed=0', 'policy=easy,seed=1']
    """
    problems: list[str | None] = []
    for key, values in grid.items():
        if key not in GRID_KEYS:
            problems.append(
                f"sweep: grid key {key!r}: unknown{did_you_mean(str(key), GRID_KEYS)}; "
                f"expected some of {', '.join(GRID_KEYS)}"
            )
        elif isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
            problems.append(f"sweep: grid[{key!r}]: expected a non-empty list, found {values!r}")
        else:
            problems.extend(_value_problem(key, v) for v in values)
    require(WorkloadError, problems)
    keys = [k for k in GRID_KEYS if k in grid]
    cells = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, combo, strict=True))
        cells.append(Cell(cell_name(params), params))
    names = [c.name for c in cells]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise WorkloadError([f"sweep: two grid cells are both named {n!r}" for n in dupes])
    return cells


def _value_problem(key: str, value: Any) -> str | None:
    """What is wrong with one value of grid key ``key`` (the rules every entry point uses)."""
    from benchhub_sim.errors import ScheduleError
    from benchhub_sim.sched.policies import get_policy

    where = f"sweep: grid[{key!r}]"
    if key == "nodes":
        return whole(where, value)
    if key == "seed":
        return whole(where, value, minimum=0)
    if key == "speedup":
        return number(where, value, above=0)
    if key == "policy":
        try:
            get_policy(value)
        except ScheduleError as exc:
            return f"{where}: {exc}"
    if key == "cluster" and not isinstance(value, str | os.PathLike | Cluster):
        return f"{where}: expected a cluster file or a Cluster, found {type(value).__name__}"
    return None


def cell_name(params: Mapping[str, Any]) -> str:
    """A readable directory name for a cell, e.g. ``policy=easy,nodes=32,seed=0``.

    A cluster file shows as its file name without suffix; characters that are unsafe in
    file names become ``_``.
    """
    parts = []
    for key in GRID_KEYS:
        if key not in params:
            continue
        value = params[key]
        if key == "cluster" and isinstance(value, str | os.PathLike):
            text = Path(value).name.split(".")[0]
        elif key == "policy" and callable(value):
            text = getattr(value, "__name__", str(value))
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value)
        parts.append(f"{key}={_UNSAFE.sub('_', text)}")
    return ",".join(parts) or "default"


# --- one cell -----------------------------------------------------------------------------


def workload_kind(workload: str | os.PathLike[str]) -> str:
    """``"run"`` (a run directory), ``"jobs"`` (a YAML jobs or spec file) or ``"swf"`` (``.swf``, ``.swf.gz``).

    Raises
    ------
    WorkloadError
        When the path does not exist or is none of these.
    """
    from benchhub_sim.workload.replay import is_trace_path

    path = Path(workload)
    if path.is_dir():
        return "run"
    expected = "expected an SWF trace (.swf, .swf.gz), a run directory or a jobs file (.yml)"
    if not path.is_file():
        raise WorkloadError([f"{path}: no such file or directory ({expected})"])
    if path.suffix.lower() in (".yml", ".yaml"):
        return "jobs"
    if is_trace_path(path):
        return "swf"
    raise WorkloadError([f"{path}: unknown kind of workload ({expected})"])


def run_cell(workload: str, kind: str, params: Mapping[str, Any], run_dir: str) -> dict[str, Any]:
    """Run one cell into ``run_dir`` and return its summary row; never raises.

    This is what the workers execute. The row holds the cell's parameters,
    ``status`` (``"ok"`` or ``"failed"``), ``error`` (``""`` or the exception, with the
    innermost frame), ``run_dir``, ``elapsed`` (wall seconds), the :data:`SKIP_COLUMNS`,
    the metrics of :func:`benchhub_sim.analysis.metrics.summary` and ``stalled``: how
    many jobs never ended (see :attr:`Run.stalled <benchhub_sim.store.run.Run.stalled>`).
    A run left in ``run_dir`` by a failed or killed earlier attempt is replaced; a
    directory holding anything else is not touched (the cell fails).
    """
    from benchhub_sim.analysis.metrics import summary

    start = monotonic()
    row: dict[str, Any] = {**params, "status": "ok", "error": "", "run_dir": run_dir}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StalledRunWarning)  # the row says it: stalled
            run = _run(workload, kind, params, run_dir)
        skipped = dict(run.meta.get("skipped") or {})
        row.update(
            skipped=sum(skipped.values()),
            skipped_reasons=", ".join(f"{reason} {n}" for reason, n in skipped.items()),
        )
        row.update(summary(run))
        row["stalled"] = run.stalled["count"] if run.stalled else 0
    except Exception as exc:  # a failed cell is data, not a crash of the sweep
        row["status"] = "failed"
        row["error"] = _describe(exc)
    row["elapsed"] = monotonic() - start
    return row


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {Path(last.filename).name}:{last.lineno})"
    return text


def _run(workload: str, kind: str, params: Mapping[str, Any], out: str) -> Any:
    from benchhub_sim.simulate import as_cluster

    speedup = params.get("speedup", 1.0)
    nodes = params.get("nodes")
    cluster = params.get("cluster")
    if nodes is not None and (cluster is not None or kind == "jobs"):
        cluster = _any_nodes(nodes, None if cluster is None else as_cluster(cluster))
        nodes = None
    if kind == "jobs":
        return _simulate_jobs(workload, params, cluster, speedup, out)
    from benchhub_sim.replay import replay

    return replay(
        workload,
        policy=params.get("policy"),  # none in the grid: the recorded run's (fcfs for a trace)
        cluster=cluster,
        nodes=nodes,
        speedup=speedup,
        seed=params.get("seed"),
        out=out,
        overwrite=True,
    )


def _simulate_jobs(
    workload: str, params: Mapping[str, Any], cluster: Any, speedup: float, out: str
) -> Any:
    import dataclasses

    from benchhub_sim.cluster import Cluster
    from benchhub_sim.simulate import as_cluster, simulate

    if cluster is None:
        raise WorkloadError([f"{workload}: a jobs file needs 'nodes' or 'cluster' in the grid"])
    cluster = as_cluster(cluster)
    if speedup != 1.0:
        faster = tuple(dataclasses.replace(n, speed=n.speed * speedup) for n in cluster.nodes)
        cluster = Cluster(faster, name=cluster.name, source=cluster.source)
    return simulate(
        cluster,
        workload,
        policy=params.get("policy", "fcfs"),
        seed=params.get("seed", 0),
        out=out,
        overwrite=True,
        inputs={"jobs": str(workload), "speedup": speedup},
    )


def _any_nodes(n: int, like: Any) -> Any:
    """``n`` nodes of role any, as big as the largest node of ``like`` (or generous)."""
    from benchhub_sim.cluster import Cluster, Node

    require(WorkloadError, [whole("nodes", n)])
    n = int(n)
    if like is None or not len(like):
        capacity = dict(GENEROUS_NODE)
    else:
        capacity = {k: max(getattr(node, k) for node in like.nodes) for k in GENEROUS_NODE}
    cores, mem_mb, disk_mb = (capacity[k] for k in ("cores", "mem_mb", "disk_mb"))
    nodes = tuple(Node(f"node-{i}", cores=cores, mem_mb=mem_mb, disk_mb=disk_mb) for i in range(n))
    return Cluster(nodes, name=f"{n} nodes")


# --- executors ----------------------------------------------------------------------------


@contextmanager
def _executor(executor: Any, max_workers: int | None) -> Iterator[tuple[Any, bool]]:
    """Yield ``(executor, is_dask)``; close what was opened here."""
    if executor is None:
        with cf.ProcessPoolExecutor(max_workers=max_workers or os.cpu_count()) as pool:
            yield pool, False
        return
    if isinstance(executor, str):
        from distributed import Client

        if executor == "dask":
            from distributed import LocalCluster

            n = max_workers or os.cpu_count() or 1
            with (
                LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None) as cluster,  # type: ignore[no-untyped-call]
                Client(cluster) as client,  # type: ignore[no-untyped-call]
            ):
                yield client, True
            return
        if "://" in executor:
            with Client(executor) as client:  # type: ignore[no-untyped-call]
                yield client, True
            return
        raise WorkloadError(
            [
                f"sweep: executor {executor!r}: expected 'dask', a scheduler address tcp://HOST:PORT, or an executor object"
            ]
        )
    if _is_dask_client(executor):
        yield executor, True
        return
    if isinstance(executor, cf.Executor):
        yield executor, False
        return
    raise WorkloadError(
        [
            f"sweep: executor: expected None, 'dask', an address, a distributed.Client or an Executor, found {type(executor).__name__}"
        ]
    )


def _dask_as_completed() -> Callable[..., Any]:
    from distributed import as_completed

    return as_completed


def _is_dask_client(obj: Any) -> bool:
    if "distributed" not in sys.modules:
        return False
    from distributed import Client

    return isinstance(obj, Client)


# --- summary ------------------------------------------------------------------------------


def _finished(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a finished run (written in full, did not raise)."""
    from benchhub_sim.errors import RunFormatError
    from benchhub_sim.store.run import read_meta, unfinished

    try:
        return unfinished(read_meta(run_dir)) is None
    except RunFormatError:
        return False


def check_sweep_dir(out: str | os.PathLike[str]) -> None:
    """Refuse a sweep directory that is a file, or a non-empty directory that is not a sweep.

    A sweep directory holds ``summary.parquet`` and one run directory per cell; a rerun
    finds them there. Any other content is a user's files, which a sweep must not mix
    with its own (nor replace).

    Raises
    ------
    RunFormatError
    """
    from benchhub_sim.errors import RunFormatError

    root = Path(out)
    if root.exists() and not root.is_dir():
        raise RunFormatError(
            f"{root}: is a file, not a directory; give a new or empty directory for the sweep"
        )
    if not root.is_dir() or (root / SUMMARY_FILE).is_file():
        return
    entries = list(root.iterdir())
    if entries and not any((e / "run.json").is_file() for e in entries):
        raise RunFormatError(
            f"{root}: not empty and not a sweep directory (no {SUMMARY_FILE}, no cell run "
            "directories); give a new or empty directory"
        )


def read_summary(out: str | os.PathLike[str]) -> pd.DataFrame | None:
    """``OUT/summary.parquet`` of a sweep, or None when there is none yet."""
    path = Path(out) / SUMMARY_FILE
    return pd.read_parquet(path) if path.is_file() else None


def summary_frame(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> pd.DataFrame:
    """The summary table: grid columns, then status columns, then metrics, one row per cell."""
    metrics: list[str] = []
    for row in rows:
        for k in row:
            if k not in keys and k not in STATUS_COLUMNS and k not in metrics:
                metrics.append(k)
    metrics = [m for m in metrics if m not in SKIP_COLUMNS]
    cols = ["cell", *keys, "status", "error", "run_dir", "elapsed", *SKIP_COLUMNS, *metrics]
    df = pd.DataFrame([{c: row.get(c) for c in cols} for row in rows], columns=cols)
    for c in metrics:
        values = [row[c] for row in rows if not _missing(row.get(c))]
        ints = values and all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values
        )
        df[c] = (
            df[c].astype("Int64") if ints else pd.to_numeric(df[c], errors="coerce").astype(float)
        )
    if "cluster" in df:
        df["cluster"] = df["cluster"].map(str)
    if "policy" in df:  # a policy callable by its name
        df["policy"] = df["policy"].map(
            lambda p: getattr(p, "__name__", str(p)) if callable(p) else p
        )
    df["elapsed"] = df["elapsed"].astype(float)
    df["skipped"] = df["skipped"].astype("Int64")
    df["skipped_reasons"] = df["skipped_reasons"].astype(object)
    return df


def _missing(value: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


# --- the sweep ----------------------------------------------------------------------------


def sweep(
    workload: str | os.PathLike[str],
    grid: Mapping[str, Sequence[Any]],
    *,
    out: str | os.PathLike[str],
    executor: Any = None,
    progress: bool | None = None,
    max_workers: int | None = None,
    on_cell: Callable[[Mapping[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run one replay or simulation per grid cell and summarise them.

    Parameters
    ----------
    workload : path
        An SWF trace (``.swf``, ``.swf.gz``), a run directory (both replayed with
        :func:`benchhub_sim.replay.replay`), or a YAML jobs file or spec file
        (simulated with :func:`benchhub_sim.simulate.simulate`).
    grid : mapping of str to list
        Values per key of :data:`GRID_KEYS` (``policy``, ``nodes``, ``seed``,
        ``speedup``, ``cluster``); see the module docstring for what each means.
    out : path
        Sweep directory: one run directory per cell plus ``summary.parquet``.
    executor : None, "dask", str, distributed.Client or concurrent.futures.Executor
        None: a local process pool of ``max_workers`` (default ``os.cpu_count()``).
        ``"dask"``: a ``distributed.LocalCluster`` of ``max_workers`` single-threaded
        workers, started and closed here. ``"tcp://HOST:PORT"``: a client of that
        scheduler. A Client or Executor object is used as is and left open.
    progress : bool, optional
        Show a bar of cells done; by default only when stderr is a terminal.
    max_workers : int, optional
        Workers of the pool or LocalCluster started here.
    on_cell : callable, optional
        Called in the client with each new summary row as its cell ends.

    Returns
    -------
    pandas.DataFrame
        One row per cell in grid order: ``cell``, the grid keys, ``status`` (``ok`` /
        ``failed``), ``error``, ``run_dir``, ``elapsed`` (wall seconds in the worker),
        ``skipped`` and ``skipped_reasons`` (jobs of the workload the cell left out,
        e.g. larger than its cluster), then the metrics of :func:`~benchhub_sim.analysis.metrics.summary`. Also written
        atomically to ``OUT/summary.parquet`` (rewritten every few seconds while the
        sweep runs). ``df.attrs["skipped"]`` counts the cells a rerun did not redo: those
        whose run directory is complete and whose summary row says ``ok``.

    Raises
    ------
    WorkloadError
        A bad grid or executor, a workload path that does not exist, or a recorded run
        that is not finished.
    RunFormatError
        ``out`` is a file, or a non-empty directory that is not a sweep.
    """
    kind = workload_kind(workload)
    if kind == "run":  # refused here, not once per cell
        from benchhub_sim.store.run import read_meta
        from benchhub_sim.workload.replay import require_finished

        require_finished(workload, read_meta(workload))
    cells = grid_cells(grid)
    keys = [k for k in GRID_KEYS if k in grid]
    check_sweep_dir(out)
    root = Path(out).resolve()
    root.mkdir(parents=True, exist_ok=True)
    source = str(Path(workload).resolve())

    rows: dict[str, dict[str, Any]] = {}
    old = read_summary(root)
    if old is not None and "cell" in old:
        done = {r["cell"]: r for r in old.to_dict("records") if r.get("status") == "ok"}
        for cell in cells:
            if cell.name in done and _finished(root / cell.name):
                rows[cell.name] = {**done[cell.name], "cell": cell.name}
    skipped = len(rows)
    todo = [c for c in cells if c.name not in rows]

    def table() -> pd.DataFrame:
        ordered = [rows[c.name] for c in cells if c.name in rows]
        return summary_frame(ordered, keys)

    last_save = monotonic()
    if todo:
        from benchhub_sim.progress import wants_progress

        show = wants_progress() if progress is None else bool(progress)
        with (
            _executor(executor, max_workers) as (ex, is_dask),
            _bar(len(cells), skipped, show) as tick,
        ):
            submit = (lambda *a: ex.submit(*a, pure=False)) if is_dask else ex.submit
            futures = {
                submit(run_cell, source, kind, _for_workers(c.params), str(root / c.name)): c
                for c in todo
            }
            as_completed = _dask_as_completed() if is_dask else cf.as_completed
            try:
                for fut in as_completed(list(futures)):
                    cell = futures[fut]
                    try:
                        row = fut.result()
                    except Exception as exc:  # the worker itself died
                        row = {
                            **cell.params,
                            "status": "failed",
                            "error": _describe(exc),
                            "run_dir": str(root / cell.name),
                            "elapsed": math.nan,
                        }
                    row.update(cell.params, cell=cell.name)  # as given, not as resolved
                    rows[cell.name] = row
                    tick(row)
                    if on_cell is not None:
                        on_cell(row)
                    if monotonic() - last_save > _SAVE_EVERY:
                        _write_atomic(table(), root / SUMMARY_FILE)
                        last_save = monotonic()
            finally:
                for fut in futures:
                    fut.cancel()
                _write_atomic(table(), root / SUMMARY_FILE)
    else:
        _write_atomic(table(), root / SUMMARY_FILE)
    df = table()
    df.attrs["skipped"] = skipped
    return df


def _for_workers(params: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's parameters with a cluster file as an absolute path (workers may run elsewhere)."""
    out = dict(params)
    if isinstance(out.get("cluster"), str | os.PathLike):
        out["cluster"] = str(Path(out["cluster"]).resolve())
    return out


@contextmanager
def _bar(total: int, initial: int, enabled: bool) -> Iterator[Callable[[Mapping[str, Any]], None]]:
    if not enabled:
        yield lambda row: None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, desc="sweep", unit="cell")
    failed = 0

    def tick(row: Mapping[str, Any]) -> None:
        nonlocal failed
        failed += row.get("status") != "ok"
        bar.update(1)
        bar.set_postfix_str(
            f"last {row.get('cell')}" + (f", {failed} failed" if failed else ""), refresh=False
        )

    try:
        yield tick
    finally:
        bar.close()
