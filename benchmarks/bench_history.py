"""Log job events through the Store (checked) and through a bare History, then save them.

Prints events/s for each way of logging and for saving, and bytes/event on disk::

    python benchmarks/bench_history.py            # 1,000,000 job events
    python benchmarks/bench_history.py --n 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchhub_sim.cluster import Node
from benchhub_sim.store import History, RunWriter, Store

N_NODES = 64
EVENTS_PER_JOB = 12


def drive(store: Store, n_events: int) -> int:
    """Run one-node jobs of one stage and two tasks until ``n_events`` job events."""
    for i in range(N_NODES):
        store.add_node(0.0, Node(f"node-{i}"))
    job = 0
    t = 0.0
    while (job + 1) * EVENTS_PER_JOB <= n_events:
        node = f"node-{job % N_NODES}"
        t += 1.0
        j = store.job
        store.add_job(t, job, "bench", n_nodes=1, walltime=60.0, raw_spec="name: bench")
        j(t, job, "assign", "queued", node_id=node, node_name="srv", detail="any")
        j(t, job, "start", "running")
        j(t, job, "pipeline_start", "running", pipeline=0)
        j(t, job, "stage_start", "running", pipeline=0, stage=0, stage_name="load", node_id=node)
        for task in (0, 1):
            j(
                t,
                job,
                "task_start",
                "running",
                stage=0,
                node_id=node,
                task=task,
                task_name="run",
                driver="shell",
                attempt=0,
            )
            j(
                t + 0.5,
                job,
                "task_finish",
                "finished",
                stage=0,
                node_id=node,
                task=task,
                attempt=0,
                exit_code=0,
            )
        j(t + 1, job, "stage_finish", "finished", stage=0, node_id=node)
        j(t + 1, job, "pipeline_finish", "finished", pipeline=0)
        j(t + 1, job, "finish", "finished")
        job += 1
    return job * EVENTS_PER_JOB


def bare_history(n_events: int) -> History:
    h = History()
    log = h.job
    for i in range(n_events):
        log(
            float(i),
            i // EVENTS_PER_JOB,
            "task_start",
            "running",
            0,
            0,
            "load",
            "node-0",
            "srv",
            0,
            "run",
            "shell",
            False,
            0,
            None,
            None,
        )
    h.flush()
    return h


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="job events to log")
    args = parser.parse_args()

    t0 = time.perf_counter()
    h = bare_history(args.n)
    dt = time.perf_counter() - t0
    print(
        f"bare History.job      : {args.n:>9,} events in {dt:6.2f} s = {args.n / dt:>10,.0f} events/s"
    )
    del h

    with tempfile.TemporaryDirectory() as tmp:
        # in memory, then Run.save
        store = Store()
        t0 = time.perf_counter()
        n = drive(store, args.n)
        dt = time.perf_counter() - t0
        print(f"Store (checked), memory: {n:>9,} events in {dt:6.2f} s = {n / dt:>10,.0f} events/s")
        t0 = time.perf_counter()
        tables = store.tables()
        from benchhub_sim.store import Run

        Run(tables, {"policy": "bench"}).save(Path(tmp) / "mem")
        dt = time.perf_counter() - t0
        print(f"tables() + Run.save    : {dt:6.2f} s = {n / dt:>10,.0f} events/s")
        ev = (Path(tmp) / "mem" / "job_events.parquet").stat().st_size
        print(
            f"job_events.parquet     : {ev / n:6.2f} bytes/event; run directory {size(Path(tmp) / 'mem') / n:6.2f} bytes/event"
        )
        del store, tables

        # streamed to a run directory while logging, then finish()
        writer = RunWriter(Path(tmp) / "stream", {"policy": "bench"})
        store = Store(History(sink=writer.sink, flush_rows=65_536, flush_seconds=2.0))
        t0 = time.perf_counter()
        n = drive(store, args.n)
        writer.finish(store.tables())
        dt = time.perf_counter() - t0
        print(
            f"Store + RunWriter sink : {n:>9,} events in {dt:6.2f} s = {n / dt:>10,.0f} events/s (incl. finish)"
        )
        print(f"run directory          : {size(Path(tmp) / 'stream') / n:6.2f} bytes/event")


if __name__ == "__main__":
    main()
