"""One benchmark case at one size, run in its own process; prints one JSON line.

``benchmarks/run.py`` starts this script once per (case, size) so that the peak RSS it
reports belongs to that case alone and a case that runs out of memory cannot take the
others down. It can also be run by hand::

    python benchmarks/cases.py mm8 10000
    python benchmarks/cases.py swf-easy 100000

Cases
-----
``mm8``
    M/M/8 at rho = 0.8 (one-task jobs, exponential durations of mean 1 s, Poisson
    arrivals at 6.4 jobs/s): a bare SimPy model of the same queue, the same SimPy model
    appending the rows benchhub_sim records (what recording alone costs it), then the
    full engine with full history unchecked (``check=False``) and checked
    (``check=True``), all in this process. Mean waits against Erlang C.
``mix``
    BenchHub specs pingpong, db-loaders and oltp in turn, Poisson arrivals at
    0.04 jobs/s on ``data/clusters/64.yml`` (utilization about 0.65).
``swf-fcfs``, ``swf-easy``, ``swf-conservative``
    ``data/make_swf.py``'s trace (lognormal run times, 1..32 procs, Poisson arrivals at
    offered load 0.85 on 256 nodes) replayed from its file under that policy, streamed to
    a run directory (the time includes reading the file and writing the run).
``store``
    The M/M/8 workload streamed to a run directory: Parquet bytes per history row, the
    time its writer took at the end (``finish``), then the time to load the run and to
    compute ``summary()``.
``mm8-memory``
    The engine alone on the M/M/8 workload, in memory (no run directory): peak RSS.
``summary``
    ``summary()`` of the ``swf-easy`` run of the same size (kept in the work folder by
    that case): its time and peak RSS, in a process of its own.
``accasim``
    The peer: AccaSim's ``fifo`` dispatcher (FirstInFirstOut with FirstFit) on the
    ``peer`` trace (``data/make_swf.py``: 256 nodes, offered load 0.9, integer fields)
    and a generated system config of 256 one-core nodes; its own simulation time (its
    clock around the simulation loop, which reads the trace as it goes), the jobs it
    loaded, and the start time of every job (for ``cmd-replay``).
``cmd-replay``
    Our whole command on the same trace, as a user runs it: ``python -m benchhub_sim
    replay TRACE --policy fcfs --out RUN`` in a subprocess (start-up, reading,
    simulating, writing the run directory); best of three below 1,000 jobs. Compares
    the start time of every job with AccaSim's when ``accasim`` ran first.
``cmd-help``
    ``python -m benchhub_sim --help``, best of five.
``overload-fcfs``, ``overload-easy``, ``overload-conservative``, ``overload-sjf``, ``overload-priority``,
``overload-benchhub``
    A long queue: the ``data/make_swf.py`` trace at offered load 2.5 on 400 nodes,
    replayed from the file to a run directory under that policy.
``write``
    What writing costs in the ``peer`` trace's replay, in this process: seconds in the
    run writer (``sink`` and ``finish``), Parquet files opened for writing per event
    table, Parquet data read back while writing.

Cases that share files (traces, AccaSim's start times, the ``swf-easy`` run for
``summary``) keep them in ``$BENCH_WORK`` (``run.py`` sets it; a temporary folder
otherwise).
"""

from __future__ import annotations

import functools
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MM_SERVERS, MM_RATE, MM_MEAN = 8, 6.4, 1.0
MIX_RATE = 0.04
SWF_NODES, SWF_LOAD = 256, 0.85
PEER_NODES, PEER_LOAD = 256, 0.9
OVERLOAD_NODES, OVERLOAD_LOAD = 400, 2.5
OVERLOAD_POLICIES = ("fcfs", "easy", "conservative", "sjf", "priority", "benchhub")
#: AccaSim's trace times start here (its default 0 works too; this keeps every
#: simulated time of AccaSim positive): subtracted again from its start times
ACCASIM_EPOCH = 1_000_000
SEED = 1


def erlang_c_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of M/M/c."""
    a = lam / mu
    rho = a / c
    below = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (below + top) / (c * mu - lam)


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- workloads ----------------------------------------------------------------------------


def mm_spec() -> Any:
    from benchhub_sim.spec.model import (
        Duration,
        JobSpec,
        NodeAssignment,
        Selector,
        ShellPayload,
        Stage,
        Task,
    )

    task = Task("t", shell=ShellPayload("true"), duration=Duration.of("exponential", mean=MM_MEAN))
    stage = Stage("run", selectors=(Selector(all=True),), tasks=(task,))
    return JobSpec("mm", node_assignments=(NodeAssignment("w"),), stages=(stage,), walltime=MM_MEAN)


def mm_workload(n: int) -> Any:
    from benchhub_sim.workload.arrivals import poisson_arrivals

    return poisson_arrivals(mm_spec(), rate=MM_RATE, count=n, seed=SEED)


def work_dir() -> Path:
    """The folder shared by the cases of one ``run.py`` run (``$BENCH_WORK``)."""
    path = Path(os.environ.get("BENCH_WORK") or Path(tempfile.gettempdir()) / "benchhub-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def trace_file(n: int, nodes: int, load: float) -> Path:
    """``data/make_swf.py``'s trace of ``n`` jobs for ``nodes`` at ``load``, in the work
    folder (made once, by the script in a process of its own, so that making a 10M-job
    trace does not count in this case's memory; the same bytes every time)."""
    path = work_dir() / f"trace-{n}-{nodes}-{load:g}.swf"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        subprocess.run(
            [sys.executable, str(REPO / "data" / "make_swf.py"), "--seed", "6", "--jobs", str(n),
             "--nodes", str(nodes), "--load", f"{load:g}", "--out", str(tmp)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        os.replace(tmp, path)
    return path


# --- SimPy --------------------------------------------------------------------------------


def simpy_mmc(n: int, c: int = MM_SERVERS, rate: float = MM_RATE, mean: float = MM_MEAN) -> float:
    """The same M/M/c queue as a bare SimPy model; returns the mean wait (nothing else kept)."""
    import simpy

    rng = np.random.default_rng(SEED)
    gaps = rng.exponential(1.0 / rate, n).tolist()
    services = rng.exponential(mean, n).tolist()
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    total_wait = [0.0]

    def job(service: float) -> Any:
        arrive = env.now
        with servers.request() as req:
            yield req
            total_wait[0] += env.now - arrive
            yield env.timeout(service)

    def source() -> Any:
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(job(service))

    env.process(source())
    env.run()
    return total_wait[0] / n


def simpy_mmc_logged(
    n: int, c: int = MM_SERVERS, rate: float = MM_RATE, mean: float = MM_MEAN
) -> int:
    """The bare SimPy model plus the rows benchhub_sim records for such a job (10 job
    events, 3 node events), appended as tuples and turned into Arrow at the end, with no
    state checked: what recording alone costs a SimPy model. Returns the number of rows."""
    import simpy

    from benchhub_sim.store.rows import rows_to_batch
    from benchhub_sim.store.schema import JOB_EVENTS_SCHEMA, NODE_EVENTS_SCHEMA

    rng = np.random.default_rng(SEED)
    gaps = rng.exponential(1.0 / rate, n).tolist()
    services = rng.exponential(mean, n).tolist()
    env = simpy.Environment()
    servers = simpy.Store(env, capacity=c)
    for i in range(c):
        servers.put(f"node-{i}")
    jobs: list[tuple] = []
    nodes: list[tuple] = []
    seq = [0]
    blank = (None,) * 15  # every column after job_id, event and status

    def log(rows: list[tuple], *row: Any) -> None:
        rows.append((seq[0], env.now, *row))
        seq[0] += 1

    def job(k: int, service: float) -> Any:
        log(jobs, k, "submit", "queued", *blank)
        node = yield servers.get()
        log(jobs, k, "assign", "queued", None, None, None, node, "w", *blank[:6], "any", "any",
            None, None)  # fmt: skip
        log(nodes, node, "state", "running_job", "running", k, None)
        log(jobs, k, "start", "running", *blank)
        log(jobs, k, "pipeline_start", "running", 0, *blank[:14])
        run, task = (0, 0, "run", node, "w"), (0, "t", "shell", False, 0)
        no_task = (None, None, None, False, None, None, None, None, None, None)
        log(jobs, k, "stage_start", "running", *run, *no_task)
        log(jobs, k, "task_start", "running", *run, *task, None, None, None, 0, "true")
        yield env.timeout(service)
        log(jobs, k, "task_finish", "finished", *run, *task, 0, None, None, 0, None)
        log(jobs, k, "stage_finish", "finished", *run, *no_task)
        log(jobs, k, "pipeline_finish", "finished", 0, *blank[:14])
        log(jobs, k, "finish", "finished", *blank)
        for job_state in ("finished", "reporting", "cleanup"):
            log(nodes, node, "state", "running_job", job_state, k, None)
        log(nodes, node, "state", "idle", None, None, None)
        yield servers.put(node)

    def source() -> Any:
        for k, (gap, service) in enumerate(zip(gaps, services, strict=True)):
            yield env.timeout(gap)
            env.process(job(k, service))

    env.process(source())
    env.run()
    rows = 0
    for buffer, schema in ((jobs, JOB_EVENTS_SCHEMA), (nodes, NODE_EVENTS_SCHEMA)):
        for i in range(0, len(buffer), 65_536):
            rows += rows_to_batch(buffer[i : i + 65_536], schema).num_rows
    return rows


# --- cases --------------------------------------------------------------------------------


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    """``fn(*args, **kwargs)``, its wall seconds and its CPU seconds (this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start, time.process_time() - cpu


def _rows(run: Any) -> int:
    count = getattr(run.tables, "num_rows", None)  # a loaded run answers from Parquet metadata
    if count is not None:
        return count("job_events") + count("node_events")
    return run.tables["job_events"].num_rows + run.tables["node_events"].num_rows


def _mean_wait(run: Any) -> float:
    jobs = run.jobs
    return float((jobs["start_time"] - jobs["submit_time"]).mean())


def case_mm8(n: int) -> dict[str, Any]:
    from benchhub_sim.simulate import simulate

    simpy_wait, simpy_s, _ = _timed(simpy_mmc, n)
    out: dict[str, Any] = {
        "simpy_seconds": simpy_s,
        "simpy_jobs_per_s": n / simpy_s,
        "simpy_mean_wait": simpy_wait,
        "erlang_c_wait": erlang_c_wait(MM_SERVERS, MM_RATE, 1.0 / MM_MEAN),
    }
    _, logged_s, _ = _timed(simpy_mmc_logged, n)
    out["simpy_logged_jobs_per_s"] = n / logged_s
    for label, check in (("", False), ("checked_", True)):
        run, seconds, cpu = _timed(simulate, MM_SERVERS, mm_workload(n), seed=SEED, check=check)
        out[f"{label}seconds"] = seconds
        out[f"{label}cpu_seconds"] = cpu
        out[f"{label}jobs_per_s"] = n / seconds
        out[f"{label}ratio_vs_simpy"] = (n / seconds) / (n / simpy_s)
        out["mean_wait"] = _mean_wait(run)
        out["history_rows"] = _rows(run)
        out["rows_per_s" if not label else "checked_rows_per_s"] = _rows(run) / seconds
        del run
    return out


def case_mix(n: int) -> dict[str, Any]:
    from benchhub_sim.simulate import simulate
    from benchhub_sim.spec.load import load_spec
    from benchhub_sim.workload.arrivals import poisson_arrivals

    specs = [
        load_spec(REPO / "data" / "specs" / f"{s}.yml") for s in ("pingpong", "db-loaders", "oltp")
    ]
    workload = poisson_arrivals(specs, rate=MIX_RATE, count=n, seed=SEED)
    run, seconds, cpu = _timed(simulate, REPO / "data" / "clusters" / "64.yml", workload, seed=SEED)
    finished = int((run.jobs["status"] == "finished").sum())
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "jobs_per_s": n / seconds,
        "history_rows": _rows(run),
        "rows_per_s": _rows(run) / seconds,
        "finished": finished,
        "mean_wait": _mean_wait(run),
    }


def case_swf(n: int, policy: str) -> dict[str, Any]:
    from benchhub_sim import replay  # (the top-level name: also in checkouts before replay.py)
    from benchhub_sim.analysis.metrics import mean_utilization

    trace = trace_file(n, SWF_NODES, SWF_LOAD)
    # read from the file and streamed to a run directory, as a replay of a long trace is;
    # the easy run is kept for the summary case (up to 1M jobs)
    out = work_dir() / f"run-swf-{policy}-{n}"
    run, seconds, cpu = _timed(
        replay, trace, policy=policy, nodes=SWF_NODES, seed=SEED, out=out, overwrite=True
    )
    sim_rss = peak_rss_mb()  # before the metrics read anything back
    rows = _rows(run)
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "jobs_per_s": n / seconds,
        "history_rows": rows,
        "rows_per_s": rows / seconds,
        "simulate_peak_rss_mb": sim_rss,
        "mean_wait": _mean_wait(run),
        "utilization": mean_utilization(run),
    }
    if policy != "easy" or n > 1_000_000:
        shutil.rmtree(out)
    return result


def case_store(n: int) -> dict[str, Any]:
    from benchhub_sim.analysis.metrics import summary
    from benchhub_sim.simulate import simulate
    from benchhub_sim.store.run import load_run

    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp, writer_spy() as spy:
        out_dir = Path(tmp) / "run"
        run, seconds, cpu = _timed(simulate, MM_SERVERS, mm_workload(n), seed=SEED, out=out_dir)
        finish_s, reads = spy["finish_seconds"], spy["data_reads"]
        rows = _rows(run)
        del run
        sim_rss = peak_rss_mb()  # before loading it back: what the streaming run itself took
        files = {p.name: p.stat().st_size for p in out_dir.glob("*.parquet")}
        loaded, load_s, _ = _timed(load_run, out_dir)
        _, summary_s, _ = _timed(summary, loaded)
        events = files.get("job_events.parquet", 0) + files.get("node_events.parquet", 0)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "jobs_per_s": n / seconds,
        "history_rows": rows,
        "rows_per_s": rows / seconds,
        "parquet_bytes": sum(files.values()),
        "event_bytes_per_row": events / rows if rows else float("nan"),
        "bytes_per_history_row": sum(files.values()) / rows if rows else float("nan"),
        "simulate_peak_rss_mb": sim_rss,
        "finish_seconds": finish_s,
        "data_reads_while_writing": reads,
        "load_seconds": load_s,
        "summary_seconds": summary_s,
    }


def case_mm8_memory(n: int) -> dict[str, Any]:
    from benchhub_sim.simulate import simulate

    run, seconds, cpu = _timed(simulate, MM_SERVERS, mm_workload(n), seed=SEED)
    rows = _rows(run)
    return {"seconds": seconds, "cpu_seconds": cpu, "jobs_per_s": n / seconds, "history_rows": rows}


def case_summary(n: int) -> dict[str, Any]:
    from benchhub_sim.analysis.metrics import summary
    from benchhub_sim.store.run import load_run

    path = work_dir() / f"run-swf-easy-{n}"
    if not (path / "run.json").exists():
        raise SystemExit(f"no {path}: run swf-easy at {n} first")
    before = peak_rss_mb()
    result, seconds, cpu = _timed(lambda: summary(load_run(path)))
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before_mb": before,
        "mean_wait": result["mean_wait_s" if "mean_wait_s" in result else "mean_wait"],
    }


# --- whole commands and the peer ----------------------------------------------------------


def _command(args: list[str], repeat: int = 1) -> tuple[float, float]:
    """Best wall seconds of running ``python args`` ``repeat`` times, and its CPU seconds
    (user + system of that run); fails if the command does. The peak RSS of the
    commands is this process's ``child_peak_rss_mb``."""
    best = (math.inf, math.inf)
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            raise SystemExit(f"{' '.join(args[:3])}: exit code {proc.returncode}: {tail}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, (wall, cpu))
    return best


def _accasim_starts_file(n: int) -> Path:
    """AccaSim's start times, shared by every checkout ``run.py --baseline`` compares."""
    folder = Path(os.environ.get("BENCH_PEER") or work_dir())
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"accasim-starts-{n}.json"


def case_cmd_replay(n: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    trace = trace_file(n, PEER_NODES, PEER_LOAD)
    out = work_dir() / f"cmd-replay-{n}"
    args = ["-m", "benchhub_sim", "replay", str(trace), "--policy", "fcfs"]
    seconds, cpu = _command(
        [*args, "--out", str(out), "--overwrite", "--quiet"], 3 if n < 1000 else 1
    )
    result: dict[str, Any] = {"seconds": seconds, "cpu_seconds": cpu, "jobs_per_s": n / seconds}
    jobs = pq.read_table(out / "jobs.parquet", columns=["job_id", "start_time"]).to_pydict()
    ours = dict(zip(jobs["job_id"], jobs["start_time"], strict=True))
    shutil.rmtree(out)
    peer = _accasim_starts_file(n)
    if peer.exists():
        theirs = {int(k): v for k, v in json.loads(peer.read_text()).items()}
        differ = sorted(j for j in ours.keys() | theirs.keys() if ours.get(j) != theirs.get(j))
        result.update(
            same_schedule_jobs=len(ours.keys() & theirs.keys()) - len(differ),
            differing_jobs=len(differ),
            differing_examples=[(j, ours.get(j), theirs.get(j)) for j in differ[:5]],
        )
    return result


def case_cmd_help(n: int) -> dict[str, Any]:
    seconds, cpu = _command(["-m", "benchhub_sim", "--help"], 5)
    return {"seconds": seconds, "cpu_seconds": cpu}


def case_accasim(n: int) -> dict[str, Any]:
    import collections
    import collections.abc

    # accasim 1.1.3 imports Mapping from collections, gone since Python 3.10
    collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
    from accasim.base.additional_data import AdditionalData
    from accasim.base.allocator_class import FirstFit
    from accasim.base.scheduler_class import FirstInFirstOut
    from accasim.base.simulator_class import Simulator

    class Starts(AdditionalData):  # type: ignore[misc]
        """Keeps each ended job's start time (AccaSim's hook after job completions)."""

        def __init__(self, event_manager: Any = None) -> None:
            super().__init__(event_manager)
            self.starts: dict[int, float] = {}

        def exec_before_submission(self, *args: Any, **kwargs: Any) -> None: ...
        def exec_after_submission(self, *args: Any, **kwargs: Any) -> None: ...
        def exec_before_dispatching(self, *args: Any, **kwargs: Any) -> None: ...
        def exec_after_dispatching(self, *args: Any, **kwargs: Any) -> None: ...
        def exec_before_completion(self, *args: Any, **kwargs: Any) -> None: ...

        def exec_after_completion(self, removed: list[Any]) -> None:
            for job in removed:
                self.starts[int(job.id)] = job.start_time - ACCASIM_EPOCH

        def stop(self) -> None: ...

    trace = trace_file(n, PEER_NODES, PEER_LOAD)
    system = work_dir() / f"accasim-system-{PEER_NODES}.json"
    system.write_text(
        json.dumps(
            {
                "groups": {"node": {"core": 1, "mem": 4096}},  # one SWF processor = one node
                "resources": {"node": PEER_NODES},
                "equivalence": {"processor": {"core": 1}},
                "start_time": ACCASIM_EPOCH,
            }
        )
    )
    lines = sum(1 for line in trace.read_text().splitlines() if line and not line.startswith(";"))
    sim = Simulator(
        str(trace),
        str(system),
        FirstInFirstOut(FirstFit()),
        additional_data=[Starts],  # a class: AccaSim refuses an instance made before it
        RESULTS_FOLDER_PATH=str(work_dir() / "accasim-results"),
        scheduling_output=False,
        statistics_output=False,
        show_statistics=False,
        LOG_LEVEL="WARNING",
    )
    _, _, cpu = _timed(sim.start_simulation)
    seconds = sim.end_simulation_time - sim.start_simulation_time  # its own clock
    starts = sim.mapper.additional_data[0].starts
    _accasim_starts_file(n).write_text(json.dumps(starts))
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "jobs_per_s": n / seconds,
        "trace_jobs": lines,
        "loaded": sim.loaded_jobs,
        "dispatched": sim.dispatched_jobs,
        "rejected": sim.rejected_jobs,
    }


def case_overload(n: int, policy: str) -> dict[str, Any]:
    from benchhub_sim import replay  # (the top-level name: also in checkouts before replay.py)

    trace = trace_file(n, OVERLOAD_NODES, OVERLOAD_LOAD)
    out = work_dir() / f"run-overload-{policy}-{n}"
    run, seconds, cpu = _timed(replay, str(trace), policy=policy, out=out, overwrite=True)
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "jobs_per_s": n / seconds,
        "mean_wait": _mean_wait(run),
    }
    shutil.rmtree(out)
    return result


# --- what writing costs ---------------------------------------------------------------------


@contextmanager
def writer_spy() -> Iterator[dict[str, Any]]:
    """Count what the run writer does while the block runs: calls of ``RunWriter.sink``
    (batches handed over before the end: part files before, journaled batches now),
    seconds in it and in ``RunWriter.finish``, Parquet files opened for writing (by file name, temp and
    part names folded: ``job_events``...), and Parquet data read (``read`` /
    ``read_row_group`` calls)."""
    import pyarrow.parquet as pq

    from benchhub_sim.store import run as run_module

    spy: dict[str, Any] = {
        "sink_calls": 0,
        "sink_seconds": 0.0,
        "finish_seconds": 0.0,
        "files_written": {},
        "data_reads": 0,
    }
    writer_class, sink, finish = (
        pq.ParquetWriter,
        run_module.RunWriter.sink,
        run_module.RunWriter.finish,
    )
    read, read_group = pq.ParquetFile.read, pq.ParquetFile.read_row_group

    class CountingWriter(writer_class):  # type: ignore[misc,valid-type]
        def __init__(self, where: Any, *args: Any, **kwargs: Any) -> None:
            name = Path(str(where)).name.strip(".").split(".")[0]
            folder = Path(str(where)).parent.name
            key = folder if name.startswith("part-") else name
            spy["files_written"][key] = spy["files_written"].get(key, 0) + 1
            super().__init__(where, *args, **kwargs)

    def timed(fn: Callable[..., Any], key: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            spy["sink_calls"] += key == "sink_seconds"
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spy[key] += time.perf_counter() - start

        return wrapper

    def counted(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            spy["data_reads"] += 1
            return fn(*args, **kwargs)

        return wrapper

    pq.ParquetWriter = CountingWriter
    run_module.RunWriter.sink = timed(sink, "sink_seconds")
    run_module.RunWriter.finish = timed(finish, "finish_seconds")
    pq.ParquetFile.read, pq.ParquetFile.read_row_group = counted(read), counted(read_group)
    try:
        yield spy
    finally:
        pq.ParquetWriter = writer_class
        run_module.RunWriter.sink, run_module.RunWriter.finish = sink, finish
        pq.ParquetFile.read, pq.ParquetFile.read_row_group = read, read_group


def case_write(n: int) -> dict[str, Any]:
    from benchhub_sim import replay  # (the top-level name: also in checkouts before replay.py)

    trace = trace_file(n, PEER_NODES, PEER_LOAD)
    out = work_dir() / f"run-write-{n}"
    with writer_spy() as spy:
        _, seconds, cpu = _timed(replay, str(trace), policy="fcfs", out=out, overwrite=True)
    shutil.rmtree(out)
    written = spy["files_written"]
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "jobs_per_s": n / seconds,
        "write_seconds": spy["sink_seconds"] + spy["finish_seconds"],
        "finish_seconds": spy["finish_seconds"],
        "files_written": written,
        "event_files_written": written.get("job_events", 0) + written.get("node_events", 0),
        "batches_handed_over": spy["sink_calls"],
        "data_reads_while_writing": spy["data_reads"],
    }


CASES = {
    "mm8": case_mm8,
    "mix": case_mix,
    "swf-fcfs": lambda n: case_swf(n, "fcfs"),
    "swf-easy": lambda n: case_swf(n, "easy"),
    "swf-conservative": lambda n: case_swf(n, "conservative"),
    "store": case_store,
    "mm8-memory": case_mm8_memory,
    "summary": case_summary,
    "accasim": case_accasim,
    "cmd-replay": case_cmd_replay,
    "cmd-help": case_cmd_help,
    **{f"overload-{p}": functools.partial(case_overload, policy=p) for p in OVERLOAD_POLICIES},
    "write": case_write,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in CASES:
        print(f"usage: cases.py ({'|'.join(CASES)}) N", file=sys.stderr)
        return 2
    name, n = argv[0], int(argv[1])
    result = {"case": name, "size": n, **CASES[name](n), "peak_rss_mb": peak_rss_mb()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if children:
        result["child_peak_rss_mb"] = children
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
