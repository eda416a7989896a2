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
    A synthetic SWF trace made in memory (lognormal run times, 1..64 procs, Poisson
    arrivals at offered load 0.85) replayed on 256 nodes under that policy, streamed to
    a temporary run directory (time includes writing it).
``store``
    The M/M/8 workload streamed to a run directory: Parquet bytes per history row, then
    the time to load the run and to compute ``summary()``.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MM_SERVERS, MM_RATE, MM_MEAN = 8, 6.4, 1.0
MIX_RATE = 0.04
SWF_NODES, SWF_LOAD = 256, 0.85
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


def swf_trace(n: int, seed: int = SEED) -> Any:
    """An in-memory SWF trace for a 256-node machine at offered load 0.85."""
    import pandas as pd

    from benchhub_sim.workload.swf import SWF_FIELDS, SwfTrace

    rng = np.random.default_rng(seed)
    run = np.clip(np.rint(rng.lognormal(np.log(300.0), 1.2, n)), 1, 24 * 3600)
    sizes = np.array([1, 2, 4, 8, 16, 32, 64])
    procs = rng.choice(sizes, size=n, p=[0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05])
    procs = np.minimum(procs + rng.integers(0, 2, n) * (procs > 1), 64)  # some odd sizes
    mean_gap = float((procs * run).mean()) / (SWF_LOAD * SWF_NODES)
    submit = np.floor(np.cumsum(rng.exponential(mean_gap, n)))
    requested = np.maximum(np.ceil(run * rng.uniform(1.0, 3.0, n) / 60.0) * 60.0, run)
    jobs = pd.DataFrame({name: np.full(n, -1, dtype=np.int64) for name in SWF_FIELDS})
    for name, values in {
        "job_number": np.arange(1, n + 1),
        "submit_time": submit,
        "run_time": run,
        "allocated_procs": procs,
        "requested_procs": procs,
        "requested_time": requested,
        "status": np.ones(n),
    }.items():
        jobs[name] = values.astype(jobs[name].dtype if name.endswith("procs") else np.float64)
    return SwfTrace(header={"MaxProcs": str(SWF_NODES)}, jobs=jobs, path="<synthetic>")


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
    blank = (None,) * 16  # every column after job_id, event and status

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
        log(jobs, k, "pipeline_start", "running", 0, *blank[:15])
        run, task = (0, 0, "run", node, "w"), (0, "t", "shell", False, 0)
        no_task = (None, None, None, False, None, None, None, None, None, None)
        log(jobs, k, "stage_start", "running", *run, *no_task)
        log(jobs, k, "task_start", "running", *run, *task, None, None, None, 0, "true")
        yield env.timeout(service)
        log(jobs, k, "task_finish", "finished", *run, *task, 0, None, None, 0, None)
        log(jobs, k, "stage_finish", "finished", *run, *no_task)
        log(jobs, k, "pipeline_finish", "finished", 0, *blank[:15])
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


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


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

    simpy_wait, simpy_s = _timed(simpy_mmc, n)
    out: dict[str, Any] = {
        "simpy_seconds": simpy_s,
        "simpy_jobs_per_s": n / simpy_s,
        "simpy_mean_wait": simpy_wait,
        "erlang_c_wait": erlang_c_wait(MM_SERVERS, MM_RATE, 1.0 / MM_MEAN),
    }
    _, logged_s = _timed(simpy_mmc_logged, n)
    out["simpy_logged_jobs_per_s"] = n / logged_s
    for label, check in (("", False), ("checked_", True)):
        run, seconds = _timed(simulate, MM_SERVERS, mm_workload(n), seed=SEED, check=check)
        out[f"{label}seconds"] = seconds
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
    run, seconds = _timed(simulate, REPO / "data" / "clusters" / "64.yml", workload, seed=SEED)
    finished = int((run.jobs["status"] == "finished").sum())
    return {
        "seconds": seconds,
        "jobs_per_s": n / seconds,
        "history_rows": _rows(run),
        "rows_per_s": _rows(run) / seconds,
        "finished": finished,
        "mean_wait": _mean_wait(run),
    }


def case_swf(n: int, policy: str) -> dict[str, Any]:
    from benchhub_sim.analysis.metrics import mean_utilization
    from benchhub_sim.workload.replay import replay

    trace = swf_trace(n)
    with tempfile.TemporaryDirectory(prefix="bench-swf-") as tmp:
        # streamed to a run directory, as a replay of a long trace would be
        run, seconds = _timed(
            replay, trace, policy=policy, nodes=SWF_NODES, seed=SEED, out=Path(tmp) / "run"
        )
        sim_rss = peak_rss_mb()  # before the metrics read anything back
        rows = _rows(run)
        return {
            "seconds": seconds,
            "jobs_per_s": n / seconds,
            "history_rows": rows,
            "rows_per_s": rows / seconds,
            "simulate_peak_rss_mb": sim_rss,
            "mean_wait": _mean_wait(run),
            "utilization": mean_utilization(run),
        }


def case_store(n: int) -> dict[str, Any]:
    from benchhub_sim.analysis.metrics import summary
    from benchhub_sim.simulate import simulate
    from benchhub_sim.store.run import load_run

    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        out_dir = Path(tmp) / "run"
        run, seconds = _timed(simulate, MM_SERVERS, mm_workload(n), seed=SEED, out=out_dir)
        rows = _rows(run)
        del run
        sim_rss = peak_rss_mb()  # before loading it back: what the streaming run itself took
        files = {p.name: p.stat().st_size for p in out_dir.glob("*.parquet")}
        loaded, load_s = _timed(load_run, out_dir)
        _, summary_s = _timed(summary, loaded)
        events = files.get("job_events.parquet", 0) + files.get("node_events.parquet", 0)
    return {
        "seconds": seconds,
        "jobs_per_s": n / seconds,
        "history_rows": rows,
        "rows_per_s": rows / seconds,
        "parquet_bytes": sum(files.values()),
        "event_bytes_per_row": events / rows if rows else float("nan"),
        "bytes_per_history_row": sum(files.values()) / rows if rows else float("nan"),
        "simulate_peak_rss_mb": sim_rss,
        "load_seconds": load_s,
        "summary_seconds": summary_s,
    }


CASES = {
    "mm8": case_mm8,
    "mix": case_mix,
    "swf-fcfs": lambda n: case_swf(n, "fcfs"),
    "swf-easy": lambda n: case_swf(n, "easy"),
    "swf-conservative": lambda n: case_swf(n, "conservative"),
    "store": case_store,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in CASES:
        print(f"usage: cases.py ({'|'.join(CASES)}) N", file=sys.stderr)
        return 2
    name, n = argv[0], int(argv[1])
    result = {"case": name, "size": n, **CASES[name](n), "peak_rss_mb": peak_rss_mb()}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
