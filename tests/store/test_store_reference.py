"""The reference run directory of schema version 1 reads, with hand-known values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchhub_sim.store import (
    as_of,
    job_detail,
    load_run,
    nodes_by,
    nodes_in_stage,
    stages_on_node,
    tasks_on_node,
)

RUN_V1 = Path(__file__).resolve().parents[1] / "data" / "run-v1"


@pytest.fixture(scope="module")
def run():
    return load_run(RUN_V1)


def test_meta(run):
    assert run.complete
    assert run.meta["schema_version"] == 1
    assert run.meta["policy"] == "fcfs"
    assert run.meta["counts"] == {
        "nodes": 3,
        "jobs": 2,
        "stages": 2,
        "tasks": 3,
        "node_events": 11,
        "job_events": 24,
    }


def test_jobs(run):
    jobs = run.jobs.set_index("job_id")
    assert jobs.loc[1, "status"] == "finished"
    assert (jobs.loc[1, "submit_time"], jobs.loc[1, "start_time"], jobs.loc[1, "stop_time"]) == (
        0.0,
        1.0,
        10.0,
    )
    assert list(jobs.loc[1, "finished_stages"]) == [0, 1]
    assert (
        list(jobs.loc[1, "foreground_stages"]) == []
        and list(jobs.loc[1, "background_stages"]) == []
    )
    assert jobs.loc[1, "current_pipeline"] == 1
    assert jobs.loc[1, "raw_spec"] == "name: pingpong\n"
    assert jobs.loc[2, "status"] == "aborted"
    assert jobs.loc[2, "reason"] == "unschedulable: needs 4 nodes, the cluster has 3"
    assert pd.isna(jobs.loc[2, "start_time"]) and jobs.loc[2, "stop_time"] == 2.0


def test_tasks_and_stages(run):
    tasks = run.tasks.set_index(["stage", "attempt"])
    server = tasks.loc[(0, 0)]
    assert (server["status"], server["ready_time"], server["stop_time"]) == ("stopped", 3.0, 10.0)
    assert server["reason"] == "job finished" and server["log_path"] == "logs/1/0/db-0/0.0.log"
    assert (tasks.loc[(1, 0), "status"], tasks.loc[(1, 0), "exit_code"]) == ("failed", 1)
    assert (
        tasks.loc[(1, 1), "status"],
        tasks.loc[(1, 1), "start_time"],
        tasks.loc[(1, 1), "stop_time"],
    ) == ("finished", 5.0, 9.0)
    stages = run.stages.set_index("stage")
    assert stages.loc[0, "status"] == "stopped" and stages.loc[0, "node_name"] == "srv"
    assert stages.loc[1, "status"] == "finished" and stages.loc[1, "stop_time"] == 9.0


def test_nodes(run):
    nodes = run.nodes.set_index("node_id")
    assert list(run.nodes["node_id"]) == ["db-0", "ld-0", "spare"]  # registration order
    assert nodes.loc["db-0", "role"] == "database" and nodes.loc["db-0", "cores"] == 4.0
    assert list(nodes.loc["db-0", "labels"]) == [("rack", "a")]
    assert set(nodes["state"]) == {"idle"}
    assert nodes["job_id"].isna().all()
    assert list(nodes_by(run, state="idle", role="loader")["node_id"]) == ["ld-0"]


def test_as_of(run):
    at5 = as_of(run, 5.5)
    jobs = at5["jobs"].set_index("job_id")
    assert jobs.loc[1, "status"] == "running"
    assert list(jobs.loc[1, "background_stages"]) == [0] and list(
        jobs.loc[1, "foreground_stages"]
    ) == [1]
    assert jobs.loc[2, "status"] == "aborted"
    assert dict(zip(at5["nodes"]["node_id"], at5["nodes"]["state"], strict=True)) == {
        "db-0": "running_job",
        "ld-0": "running_job",
        "spare": "idle",
    }
    assert as_of(run, 7.0)["nodes"].set_index("node_id").loc["spare", "state"] == "offline"
    assert list(as_of(run, 0.5)["jobs"]["job_id"]) == [1]


def test_queries(run):
    detail = job_detail(run, 1).to_dict()
    assert [p["status"] for p in detail["pipelines"]] == ["background", "finished"]
    assert [(n["node_id"], n["node_name"], n["match"]) for n in detail["nodes"]] == [
        ("db-0", "srv", "exact"),
        ("ld-0", "cli", "any"),
    ]
    client = detail["pipelines"][1]["stages"][0]
    assert client["stage_name"] == "client"
    assert [t["status"] for t in client["nodes"][0]["tasks"]] == ["failed", "finished"]
    assert list(stages_on_node(run, "db-0")["stage_name"]) == ["server"]
    assert list(tasks_on_node(run, "ld-0")["attempt"]) == [0, 1]
    assert list(nodes_in_stage(run, 1, 0)["node_id"]) == ["db-0"]
    assert job_detail(run, 2).to_dict()["pipelines"] == []


def test_files_read_with_plain_pyarrow():
    table = pq.read_table(RUN_V1 / "jobs.parquet")
    assert table.num_rows == 2
    assert pd.read_parquet(RUN_V1 / "job_events.parquet")["event"].iloc[0] == "submit"
