"""The reference run directories read, with hand-known values: schema version 2 (the
current one) as written, schema version 1 mapped to it (see ``benchhub_sim.store.legacy``)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from benchhub_sim.store import (
    as_of,
    fold_history,
    job_detail,
    load_run,
    nodes_by,
    nodes_in_stage,
    stages_on_node,
    tasks_on_node,
)

RUN_V1 = Path(__file__).resolve().parents[1] / "data" / "run-v1"
RUN_V2 = Path(__file__).resolve().parents[1] / "data" / "run-v2"


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
    # pipeline 0 was in the background when the job finished: schema 1 logged no event
    # for it; mapped, it ends with the job (schema 2 logs a pipeline_finish)
    assert [(p["status"], p["stop_time"]) for p in detail["pipelines"]] == [
        ("finished", 10.0),
        ("finished", 9.0),
    ]
    assert [(n["node_id"], n["node_name"], n["role"], n["match"]) for n in detail["nodes"]] == [
        ("db-0", "srv", None, "exact"),  # schema 1 did not log the role an assignment asks
        ("ld-0", "cli", None, "any"),
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


def test_v1_columns_map_to_v2(run):
    ne = run.node_events
    # schema 1's merged state "cleanup" is state running_job, job state cleanup
    cleanup = ne[ne["time"] == 10.0]
    assert cleanup[["state", "job_state", "job_id"]].astype(object).values.tolist() == [
        ["running_job", "cleanup", 1],
        ["running_job", "cleanup", 1],
    ]
    running = ne[(ne["state"] == "running_job") & (ne["time"] == 1.0)]
    assert running["job_state"].tolist() == ["running", "running"]
    assert ne.loc[ne["state"] == "idle", "job_state"].isna().all()
    jobs = run.jobs.set_index("job_id")
    assert jobs.loc[1, "spec_hash"] == hashlib.sha256(b"name: pingpong\n").hexdigest()
    assert (jobs.loc[1, "create_time"], jobs.loc[1, "update_time"]) == (0.0, 10.0)
    assert (jobs.loc[2, "create_time"], jobs.loc[2, "update_time"]) == (2.0, 2.0)
    assert pd.isna(jobs.loc[1, "n_pipelines"]) and jobs["n_task_pipelines"].isna().all()
    assert run.tasks["task_pipeline"].isna().all() and run.tasks["command"].isna().all()
    assert run.task_pipelines.empty  # schema 1 did not record which one a task ran in
    nodes = run.nodes.set_index("node_id")
    assert (nodes["job_count"] == 0).all() and nodes["job_state"].isna().all()
    assert nodes["bind_addr"].isna().all() and (nodes["cleanup_time"] == 0).all()


def test_an_incomplete_v1_run_folds_its_tables_from_the_mapped_events(tmp_path):
    path = tmp_path / "run"
    shutil.copytree(RUN_V1, path)
    meta = json.loads((path / "run.json").read_text())
    (path / "run.json").write_text(json.dumps({**meta, "complete": False}))
    for name in ("nodes", "jobs", "stages", "tasks"):
        (path / f"{name}.parquet").unlink()
    with pytest.warns(UserWarning, match="incomplete"):
        run = load_run(path)
    nodes = run.nodes.set_index("node_id")
    assert nodes.loc["db-0", "state"] == "idle" and nodes.loc["spare", "heartbeat"] == 8.0
    assert run.assignments["node_name"].tolist() == ["srv", "cli"]
    assert run.jobs.set_index("job_id").loc[1, "status"] == "finished"


# -- schema version 2 ---------------------------------------------------------------


@pytest.fixture(scope="module")
def run2():
    return load_run(RUN_V2)


def test_v2_node_store(run2):
    assert run2.meta["schema_version"] == 2
    nodes = run2.nodes.set_index("node_id")
    db = nodes.loc["db-0"]
    assert (db["host"], db["ip"], db["bind_addr"], db["remote_addr"]) == (
        "h-db", "10.0.0.1", ":6081", "10.0.0.1:52114"
    )  # fmt: skip
    assert (db["provider"], db["provider_region"], db["provider_instance"]) == (
        "aws", "us-west-2", "m5.xlarge"
    )  # fmt: skip
    assert (db["mem_mb"], db["mem_free_mb"], db["disk_mb"], db["disk_free_mb"]) == (
        8192.0, 6000.0, 100_000.0, 80_000.0
    )  # fmt: skip
    assert (db["start_time"], db["boot_time"]) == (1_500_000_100.0, 1_500_000_000.0)
    assert (db["reporting_time"], db["cleanup_time"]) == (1.0, 1.0)
    # the last events: db-0 idle at 12, ld-0 at 12, spare recovered at 14 (its failure
    # at 12 was the central noticing, not a heartbeat)
    assert nodes["heartbeat"].tolist() == [12.0, 12.0, 14.0]
    assert set(nodes["state"]) == {"idle"} and nodes["job_state"].isna().all()
    assert nodes["job_count"].tolist() == [0, 0, 0]


def test_v2_node_states_as_of(run2):
    """A node serving a job has its job state; the aborted job's node passes through error."""

    def status(nodes, node):
        row = nodes.loc[node]
        return (row["state"], row["job_state"] if row["job_state"] == row["job_state"] else None,
                row["job_count"], row["node_name"] if row["job_count"] else None)  # fmt: skip

    at = {t: as_of(run2, t)["nodes"].set_index("node_id") for t in (10.5, 11.5)}
    assert status(at[10.5], "db-0") == ("running_job", "reporting", 1, "srv")
    assert status(at[10.5], "ld-0") == ("idle", None, 0, None)
    assert status(at[11.5], "db-0") == ("running_job", "cleanup", 1, "srv")
    assert status(at[11.5], "ld-0") == ("running_job", "running", 1, "cli")
    ld = run2.node_events[run2.node_events["node_id"] == "ld-0"]
    assert ld["job_state"].astype(object).where(ld["job_state"].notna(), None).tolist() == [
        None, "running", "finished", "reporting", "cleanup", None,
        "running", "error", "reporting", "cleanup", None,
    ]  # fmt: skip


def test_v2_job_store_detail(run2):
    jobs = run2.jobs.set_index("job_id")
    assert (
        jobs.loc[1, "spec_hash"] == hashlib.sha256(b"# a ping-pong\nname: pingpong\n").hexdigest()
    )
    assert (jobs.loc[1, "create_time"], jobs.loc[1, "update_time"]) == (0.0, 10.0)
    assert (jobs.loc[3, "create_time"], jobs.loc[3, "update_time"]) == (11.0, 12.0)
    assert list(jobs.loc[1, "n_task_pipelines"]) == [1, 1] and jobs.loc[1, "n_pipelines"] == 2
    pipes = run2.stage_pipelines
    assert pipes.astype(object).where(pipes.notna(), None).values.tolist() == [
        [1, 0, "finished", 1.0, 3.0, 10.0],  # in the background from 3, finished with the job
        [1, 1, "finished", 3.0, None, 9.0],
        [2, 0, "queued", None, None, None],  # never ran: the job could not be placed
        [3, 0, "aborted", 11.0, None, 12.0],
        [3, 1, "queued", None, None, None],
    ]
    tps = run2.task_pipelines
    assert tps[["job_id", "node_name", "status", "start_time", "stop_time"]].values.tolist() == [
        [1, "srv", "finished", 1.0, 10.0],  # the server, ready and then stopped at the end
        [1, "cli", "finished", 3.0, 9.0],  # its retry finished
        [3, "srv", "aborted", 11.0, 12.0],  # its node failed
    ]
    detail = job_detail(run2, 1).to_dict()
    assert [(n["node_name"], n["role"], n["match"]) for n in detail["nodes"]] == [
        ("srv", "database", "exact"),
        ("cli", "loader", "exact"),
    ]
    client = detail["pipelines"][1]["stages"][0]["nodes"][0]
    assert [t["status"] for t in client["task_pipelines"]] == ["finished"]
    assert [(t["attempt"], t["command"]) for t in client["tasks"]] == [
        (0, "curl 10.0.0.1:8080/ping"),
        (1, "curl 10.0.0.1:8080/ping"),
    ]


def test_v2_snapshot_equals_fold(run2):
    tables = run2.tables
    folded = fold_history(
        tables["job_events"], tables["node_events"], tables["jobs"], tables["nodes"]
    )
    for name, table in folded.items():
        assert table.equals(tables[name]), name
