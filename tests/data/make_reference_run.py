"""Write tests/data/run-v2/: the reference run directory of schema version 2.

A hand-built event sequence (no engine, no randomness), written through Store, History
and RunWriter. Rerun only when the format changes on purpose (then bump the schema
version and add a new directory next to this one):

    python tests/data/make_reference_run.py

``run-v1/`` beside it was written by this script as it was for schema version 1 (git
history of this file); it stays as it is, to check that old runs still load.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from benchhub_sim.cluster import Node
from benchhub_sim.spec.model import Role
from benchhub_sim.store import History, RunWriter, Store

OUT = Path(__file__).resolve().parent / "run-v2"

NODES = (
    Node(
        "db-0",
        role=Role.DATABASE,
        host="h-db",
        ip="10.0.0.1",
        bind_addr=":6081",
        remote_addr="10.0.0.1:52114",
        provider="aws",
        provider_region="us-west-2",
        provider_instance="m5.xlarge",
        cores=4,
        mem_mb=8192,
        mem_free_mb=6000,
        disk_mb=100_000,
        disk_free_mb=80_000,
        start_time=1_500_000_100.0,
        boot_time=1_500_000_000.0,
        labels=(("rack", "a"),),
        reporting_time=1.0,
        cleanup_time=1.0,
    ),
    Node("ld-0", role=Role.LOADER, host="h-ld", ip="10.0.0.2", cores=2, mem_mb=4096),
    Node("spare", host="h-spare", ip="10.0.0.3"),
)
PINGPONG = "# a ping-pong\nname: pingpong\n"


def record(store: Store) -> None:
    for node in NODES:
        store.add_node(0.0, node)
    pingpong = {
        "raw_spec": PINGPONG,
        "spec_hash": hashlib.sha256(PINGPONG.encode()).hexdigest(),
        "n_pipelines": 2,
        "n_task_pipelines": [1, 1],
    }
    store.add_job(0.0, 1, "pingpong", n_nodes=2, walltime=120.0, **pingpong)
    store.add_job(2.0, 2, "big", n_nodes=4, walltime=60.0, priority=1.0, raw_spec="name: big\n",
                  n_pipelines=1, n_task_pipelines=[1])  # fmt: skip
    j = store.job
    store.bind(1.0, 1, [("db-0", "srv", "database", "exact"), ("ld-0", "cli", "loader", "exact")])
    j(1.0, 1, "start", "running")
    j(1.0, 1, "pipeline_start", "running", pipeline=0)
    j(1.0, 1, "stage_start", "running", pipeline=0, stage=0, stage_name="server",
      node_id="db-0", background=True)  # fmt: skip
    j(1.0, 1, "task_start", "running", stage=0, node_id="db-0", task=0, task_name="pingserver",
      driver="docker", background=True, attempt=0, detail="logs/1/srv/server.pingserver.0.out",
      task_pipeline=0, command="docker run -p 8080:8080 pingpong:latest")  # fmt: skip
    j(3.0, 1, "task_ready", "background", stage=0, node_id="db-0", task=0, attempt=0)
    j(3.0, 1, "stage_ready", "background", stage=0, node_id="db-0")
    j(3.0, 1, "pipeline_finish", "background", pipeline=0)
    j(2.0, 2, "abort", "aborted", detail="unschedulable: needs 4 nodes, the cluster has 3")
    j(3.0, 1, "pipeline_start", "running", pipeline=1)
    j(3.0, 1, "stage_start", "running", pipeline=1, stage=1, stage_name="client",
      node_id="ld-0", background=False)  # fmt: skip
    j(3.0, 1, "task_start", "running", stage=1, node_id="ld-0", task=0, task_name="pingclient",
      driver="shell", attempt=0, task_pipeline=0, command="curl 10.0.0.1:8080/ping")  # fmt: skip
    j(5.0, 1, "task_fail", "failed", stage=1, node_id="ld-0", task=0, attempt=0, exit_code=7,
      detail="exit code 7")  # fmt: skip
    j(5.0, 1, "task_retry", "queued", stage=1, node_id="ld-0", task=0, attempt=1)
    j(5.0, 1, "task_start", "running", stage=1, node_id="ld-0", task=0, attempt=1,
      command="curl 10.0.0.1:8080/ping")  # fmt: skip
    j(9.0, 1, "task_finish", "finished", stage=1, node_id="ld-0", task=0, attempt=1, exit_code=0)
    j(9.0, 1, "stage_finish", "finished", stage=1, node_id="ld-0")
    j(9.0, 1, "pipeline_finish", "finished", pipeline=1)
    # stops the background server task and stage, finishes pipeline 0 left in the background
    j(10.0, 1, "finish", "finished")
    store.release(10.0, 1, ["ld-0"])
    # db-0 takes a second to report and another to clean up (reporting_time, cleanup_time)
    steps = store.end_steps(1)
    store.node_states(10.0, 1, ["db-0"], steps[:2])  # finished, reporting
    store.node_states(11.0, 1, ["db-0"], steps[2:3])  # cleanup
    store.node_states(12.0, 1, ["db-0"], steps[3:])  # idle
    # job 3 loses a node: its other node ends in error
    store.add_job(11.0, 3, "pingpong", n_nodes=2, walltime=120.0, **pingpong)
    store.bind(11.0, 3, [("spare", "srv", "database", "any"), ("ld-0", "cli", "loader", "exact")])
    j(11.0, 3, "start", "running")
    j(11.0, 3, "pipeline_start", "running", pipeline=0)
    j(11.0, 3, "stage_start", "running", pipeline=0, stage=0, stage_name="server",
      node_id="spare", background=True)  # fmt: skip
    j(11.0, 3, "task_start", "running", stage=0, node_id="spare", task=0,
      task_name="pingserver", driver="docker", background=True, attempt=0, task_pipeline=0,
      command="docker run -p 8080:8080 pingpong:latest")  # fmt: skip
    store.node(12.0, "spare", "fail", "offline", detail="disk full")
    j(12.0, 3, "task_fail", "failed", stage=0, node_id="spare", task=0, attempt=0,
      detail="disk full")  # fmt: skip
    j(12.0, 3, "stage_abort", "aborted", stage=0, node_id="spare", detail="disk full")
    j(12.0, 3, "abort", "aborted", detail="node spare failed: disk full")
    store.release(12.0, 3, ["ld-0"])
    store.node(14.0, "spare", "recover", "idle")


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
