"""Write tests/data/run-v1/: the reference run directory of schema version 1.

A hand-built event sequence (no engine, no randomness), written through Store, History
and RunWriter. Rerun only when the format changes on purpose (then bump the schema
version and add a new directory next to this one):

    python tests/data/make_reference_run.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from benchhub_sim.cluster import Node
from benchhub_sim.spec.model import Role
from benchhub_sim.store import History, RunWriter, Store

OUT = Path(__file__).resolve().parent / "run-v1"

NODES = (
    Node(
        "db-0",
        role=Role.DATABASE,
        host="h-db",
        ip="10.0.0.1",
        cores=4,
        mem_mb=8192,
        labels=(("rack", "a"),),
    ),
    Node("ld-0", role=Role.LOADER, host="h-ld", ip="10.0.0.2", cores=2, mem_mb=4096),
    Node("spare", host="h-spare", ip="10.0.0.3"),
)


def record(store: Store) -> None:
    for node in NODES:
        store.add_node(0.0, node)
    store.add_job(0.0, 1, "pingpong", n_nodes=2, walltime=120.0, raw_spec="name: pingpong\n")
    store.add_job(2.0, 2, "big", n_nodes=4, walltime=60.0, priority=1.0, raw_spec="name: big\n")
    j = store.job
    j(1.0, 1, "assign", "queued", node_id="db-0", node_name="srv", detail="exact")
    j(1.0, 1, "assign", "queued", node_id="ld-0", node_name="cli", detail="any")
    store.node(1.0, "db-0", "state", "running_job", job_id=1)
    store.node(1.0, "ld-0", "state", "running_job", job_id=1)
    j(1.0, 1, "start", "running")
    j(1.0, 1, "pipeline_start", "running", pipeline=0)
    j(
        1.0,
        1,
        "stage_start",
        "running",
        pipeline=0,
        stage=0,
        stage_name="server",
        node_id="db-0",
        background=True,
    )
    j(1.0, 1, "task_start", "running", stage=0, node_id="db-0", task=0, task_name="pingserver",
      driver="docker", background=True, attempt=0, detail="logs/1/0/db-0/0.0.log")  # fmt: skip
    j(3.0, 1, "task_ready", "background", stage=0, node_id="db-0", task=0, attempt=0)
    j(3.0, 1, "stage_ready", "background", stage=0, node_id="db-0")
    j(3.0, 1, "pipeline_finish", "background", pipeline=0)
    j(2.0, 2, "abort", "aborted", detail="unschedulable: needs 4 nodes, the cluster has 3")
    j(3.0, 1, "pipeline_start", "running", pipeline=1)
    j(
        3.0,
        1,
        "stage_start",
        "running",
        pipeline=1,
        stage=1,
        stage_name="client",
        node_id="ld-0",
        background=False,
    )
    j(
        3.0,
        1,
        "task_start",
        "running",
        stage=1,
        node_id="ld-0",
        task=0,
        task_name="pingclient",
        driver="shell",
        attempt=0,
    )
    j(
        5.0,
        1,
        "task_fail",
        "failed",
        stage=1,
        node_id="ld-0",
        task=0,
        attempt=0,
        exit_code=1,
        detail="exit code 1",
    )
    store.node(6.0, "spare", "fail", "offline", detail="disk full")
    j(5.0, 1, "task_retry", "queued", stage=1, node_id="ld-0", task=0, attempt=1)
    j(5.0, 1, "task_start", "running", stage=1, node_id="ld-0", task=0, attempt=1)
    store.node(8.0, "spare", "recover", "idle")
    j(9.0, 1, "task_finish", "finished", stage=1, node_id="ld-0", task=0, attempt=1, exit_code=0)
    j(9.0, 1, "stage_finish", "finished", stage=1, node_id="ld-0")
    j(9.0, 1, "pipeline_finish", "finished", pipeline=1)
    j(10.0, 1, "finish", "finished")  # stops the background server task and stage
    for node in ("db-0", "ld-0"):
        store.node(10.0, node, "state", "cleanup", job_id=1)
        store.node(11.0, node, "state", "idle")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    meta = {
        "clock": "virtual",
        "epoch": 0.0,
        "policy": "fcfs",
        "seed": 0,
        "cluster": "3 hand-built nodes",
        "inputs": [],
    }
    writer = RunWriter(OUT, meta)
    store = Store(History(sink=writer.sink, flush_rows=8))
    record(store)
    writer.finish(store.tables())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
