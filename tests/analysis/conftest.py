"""A tiny run built by hand: 4 jobs on 2 nodes, every number computed on paper.

    node n0: J1 [0, 10)  J3 [10, 30)
    node n1: J2 [1, 5)   J3 [10, 30)

    job  submit start stop  n  status    walltime
    1    0      0     10    1  finished  20
    2    1      1     5     1  finished  5
    3    2      10    30    2  aborted   40   (task "run" failed on n0 at 30)
    4    20     -     20    3  aborted   60   (never started: needs 3 nodes)

The tables go through the real Arrow schemas and ``to_pandas`` so the dtypes
(categoricals for dictionary columns) are those of a loaded run.
"""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pytest

from benchhub_sim.store.schema import TABLES


def _table(name: str, rows: list[dict]):
    schema = TABLES[name]
    full = [{f: r.get(f) for f in schema.names} for r in rows]
    return pa.Table.from_pylist(full, schema=schema)


def tiny_run():
    nodes = [
        {"node_id": "n0", "host": "h0", "role": "any", "state": "idle", "registered_time": 0.0},
        {"node_id": "n1", "host": "h1", "role": "any", "state": "idle", "registered_time": 0.0},
    ]
    nan = None
    jobs = [
        dict(
            job_id=1,
            name="a",
            submit_time=0.0,
            start_time=0.0,
            stop_time=10.0,
            status="finished",
            n_nodes=1,
            walltime=20.0,
        ),
        dict(
            job_id=2,
            name="a",
            submit_time=1.0,
            start_time=1.0,
            stop_time=5.0,
            status="finished",
            n_nodes=1,
            walltime=5.0,
        ),
        dict(
            job_id=3,
            name="b",
            submit_time=2.0,
            start_time=10.0,
            stop_time=30.0,
            status="aborted",
            n_nodes=2,
            walltime=40.0,
            reason="stage run: task run failed on n0: exit code 1",
        ),
        dict(
            job_id=4,
            name="c",
            submit_time=20.0,
            start_time=nan,
            stop_time=20.0,
            status="aborted",
            n_nodes=3,
            walltime=60.0,
            reason="needs 3 nodes, cluster has 2",
        ),
    ]

    def stage(job, pipe, idx, name, node, start, stop, status, ready=None, bg=False):
        return dict(
            job_id=job,
            pipeline=pipe,
            stage=idx,
            stage_name=name,
            node_id=node,
            node_name="procs",
            background=bg,
            status=status,
            start_time=start,
            ready_time=ready,
            stop_time=stop,
        )

    stages = [
        stage(1, 0, 0, "setup", "n0", 0.0, 2.0, "finished"),
        stage(1, 1, 1, "run", "n0", 2.0, 10.0, "finished"),
        stage(2, 0, 0, "setup", "n1", 1.0, 2.0, "finished"),
        stage(2, 1, 1, "run", "n1", 2.0, 5.0, "finished"),
        stage(3, 0, 0, "setup", "n0", 10.0, 13.0, "finished"),
        stage(3, 0, 0, "setup", "n1", 10.0, 12.0, "finished"),
        stage(3, 1, 1, "db", "n1", 13.0, 30.0, "stopped", ready=15.0, bg=True),
        stage(3, 2, 2, "run", "n0", 15.0, 30.0, "aborted"),
    ]
    tasks = []
    for s in stages:
        t = dict(s, task=0, task_name="t", driver="shell", attempt=0, exit_code=0)
        if s["stage_name"] == "db":
            t.update(exit_code=None)
        if s["job_id"] == 3 and s["stage_name"] == "run":
            t.update(status="failed", exit_code=1, reason="exit code 1")
        tasks.append(t)

    seq = iter(range(1000))
    node_events = []

    def ne(t, node, event, state):
        job_state = "running" if state == "running_job" else None
        node_events.append(
            dict(seq=next(seq), time=t, node_id=node, event=event, state=state, job_state=job_state)
        )

    job_events = []

    def je(t, job, event, status=None, node=None, detail=None):
        job_events.append(
            dict(
                seq=next(seq),
                time=t,
                job_id=job,
                event=event,
                status=status,
                node_id=node,
                detail=detail,
            )
        )

    ne(0.0, "n0", "register", "idle")
    ne(0.0, "n1", "register", "idle")
    je(0.0, 1, "submit", "queued")
    je(0.0, 1, "assign", node="n0", detail="any")
    ne(0.0, "n0", "state", "running_job")
    je(0.0, 1, "start", "running")
    je(1.0, 2, "submit", "queued")
    je(1.0, 2, "assign", node="n1", detail="any")
    ne(1.0, "n1", "state", "running_job")
    je(1.0, 2, "start", "running")
    je(2.0, 3, "submit", "queued")
    je(5.0, 2, "finish", "finished")
    ne(5.0, "n1", "state", "idle")
    je(10.0, 1, "finish", "finished")
    ne(10.0, "n0", "state", "idle")
    je(10.0, 3, "assign", node="n0", detail="any")
    je(10.0, 3, "assign", node="n1", detail="any")
    ne(10.0, "n0", "state", "running_job")
    ne(10.0, "n1", "state", "running_job")
    je(10.0, 3, "start", "running")
    je(20.0, 4, "submit", "queued")
    je(20.0, 4, "abort", "aborted", detail="needs 3 nodes, cluster has 2")
    je(30.0, 3, "abort", "aborted", detail="stage run: task run failed on n0: exit code 1")
    ne(30.0, "n0", "state", "idle")
    ne(30.0, "n1", "state", "idle")

    tables = {
        "nodes": _table("nodes", nodes),
        "jobs": _table("jobs", jobs),
        "stages": _table("stages", stages),
        "tasks": _table("tasks", tasks),
        "node_events": _table("node_events", node_events),
        "job_events": _table("job_events", job_events),
    }
    run = SimpleNamespace(
        tables=tables,
        meta={"clock": "virtual", "epoch": 1_700_000_000.0, "policy": "fcfs", "seed": 1},
    )
    for name, table in tables.items():
        setattr(run, name, table.to_pandas())
    return run


@pytest.fixture
def run():
    """The tiny run (a fresh copy per test)."""
    return tiny_run()


@pytest.fixture
def make_run():
    """A factory of fresh tiny runs, for tests that need two."""
    return tiny_run
