"""Store transitions: legal ones update the snapshot, illegal ones raise and leave no trace."""

from __future__ import annotations

import pytest

from benchhub_sim.cluster import Node
from benchhub_sim.errors import StoreError
from benchhub_sim.store import History, Store, fold_history


def tables_equal(a, b):
    return all(a[k].equals(b[k]) for k in a)


@pytest.fixture
def store():
    s = Store(History(flush_rows=3))
    for n in ("db-0", "ld-0", "n9"):
        s.add_node(0.0, Node(n))
    s.add_job(0.0, 3, "pp", n_nodes=2, walltime=60.0)
    s.job(1.0, 3, "assign", "queued", node_id="db-0", node_name="srv", detail="exact")
    s.job(1.0, 3, "assign", "queued", node_id="ld-0", node_name="cli", detail="any")
    s.job(1.0, 3, "start", "running")
    s.job(1.0, 3, "pipeline_start", "running", pipeline=0)
    s.job(1.0, 3, "stage_start", "running", stage=1, stage_name="load", node_id="db-0")
    return s


def expect_rejected(store, call, message):
    before, seq = store.tables(), store.history.seq
    with pytest.raises(StoreError) as info:
        call()
    assert str(info.value) == message
    assert store.history.seq == seq
    assert tables_equal(store.tables(), before)


def test_messages_name_entity_and_states(store):
    j = store.job
    expect_rejected(
        store,
        lambda: j(2.0, 3, "task_finish", "finished", stage=1, node_id="db-0", task=0, attempt=0),
        "task job 3 stage 1 (load) node db-0 task 0 attempt 0: cannot finish: status is queued",
    )
    expect_rejected(
        store,
        lambda: j(2.0, 3, "task_start", "running", stage=1, node_id="n9", task=0),
        "job 3: task started on node n9 which is not assigned to the job",
    )
    expect_rejected(
        store,
        lambda: store.add_node(2.0, Node("db-0")),
        "node db-0: registered twice without deregistering",
    )
    expect_rejected(
        store,
        lambda: j(2.0, 3, "stage_ready", "background", stage=1, node_id="db-0"),
        "stage job 3 stage 1 (load) node db-0: cannot become ready: not a background stage",
    )
    expect_rejected(
        store, lambda: j(2.0, 3, "start", "running"), "job 3: cannot start: status is running"
    )
    expect_rejected(
        store,
        lambda: j(2.0, 4, "start", "running"),
        "job 4: cannot start: no such job (never submitted)",
    )
    expect_rejected(
        store,
        lambda: j(2.0, 3, "finish", "finished"),
        "job 3: cannot finish: stages [1] still run in the foreground",
    )
    expect_rejected(
        store,
        lambda: j(2.0, 3, "start", "finished"),
        "job 3: event start sets status running, got 'finished'",
    )


def test_ended_job_refuses_everything(store):
    store.job(2.0, 3, "stage_finish", "finished", stage=1, node_id="db-0")
    store.job(2.0, 3, "finish", "finished")
    expect_rejected(
        store,
        lambda: store.job(3.0, 3, "start", "running"),
        "job 3: cannot start: status is finished",
    )
    expect_rejected(
        store,
        lambda: store.job(3.0, 3, "abort", "aborted"),
        "job 3: cannot abort: status is finished",
    )
    # the job's rows left the live dicts, the node is free for another job
    assert 3 not in store.jobs.live and store.jobs.status(3) == "finished"
    store.add_job(3.0, 4, "next", n_nodes=1, walltime=1.0)
    store.job(3.0, 4, "assign", "queued", node_id="db-0", node_name="srv")
    expect_rejected(
        store,
        lambda: store.add_job(3.0, 3, "again", n_nodes=1, walltime=1.0),
        "job 3: submitted twice (status is finished)",
    )


def test_node_cannot_serve_two_live_jobs(store):
    store.add_job(2.0, 5, "other", n_nodes=1, walltime=1.0)
    expect_rejected(
        store,
        lambda: store.job(2.0, 5, "assign", "queued", node_id="db-0", node_name="x"),
        "job 5: cannot assign node db-0: node is assigned to job 3",
    )
    store.node(2.0, "n9", "fail", None)
    expect_rejected(
        store,
        lambda: store.job(2.0, 5, "assign", "queued", node_id="n9", node_name="x"),
        "job 5: cannot assign node n9: node state is offline",
    )


def test_retry_numbering(store):
    j = store.job
    j(
        2.0,
        3,
        "task_start",
        "running",
        stage=1,
        node_id="db-0",
        task=0,
        task_name="t",
        driver="shell",
    )
    expect_rejected(
        store,
        lambda: j(2.0, 3, "task_retry", "queued", stage=1, node_id="db-0", task=0, attempt=1),
        "task job 3 stage 1 (load) node db-0 task 0 attempt 1: cannot retry: attempt 0 is running",
    )
    j(3.0, 3, "task_fail", "failed", stage=1, node_id="db-0", task=0, exit_code=2, detail="exit 2")
    j(3.0, 3, "task_retry", "queued", stage=1, node_id="db-0", task=0)  # attempt 1 filled in
    j(4.0, 3, "task_start", "running", stage=1, node_id="db-0", task=0)
    j(5.0, 3, "task_finish", "finished", stage=1, node_id="db-0", task=0, exit_code=0)
    tasks = store.tables()["tasks"].to_pylist()
    assert [(t["attempt"], t["status"], t["exit_code"], t["task_name"]) for t in tasks] == [
        (0, "failed", 2, "t"),
        (1, "finished", 0, "t"),
    ]


def test_abort_stops_what_runs(store):
    j = store.job
    j(2.0, 3, "stage_start", "running", stage=2, stage_name="db", node_id="ld-0", background=True)
    j(2.0, 3, "task_start", "running", stage=2, node_id="ld-0", task=0, background=True)
    j(2.5, 3, "task_ready", "background", stage=2, node_id="ld-0", task=0)
    j(2.5, 3, "stage_ready", "background", stage=2, node_id="ld-0")
    j(3.0, 3, "task_start", "running", stage=1, node_id="db-0", task=0)
    j(4.0, 3, "abort", "aborted", detail="node db-0 failed")
    events = store.tables()["job_events"].to_pylist()[-6:]
    assert [(e["event"], e["status"], e["stage"], e["pipeline"], e["detail"]) for e in events] == [
        ("task_stop", "stopped", 1, 0, "job aborted: node db-0 failed"),
        ("stage_abort", "aborted", 1, 0, "job aborted: node db-0 failed"),
        ("task_stop", "stopped", 2, 0, "job aborted: node db-0 failed"),
        ("stage_stop", "stopped", 2, 0, "job aborted: node db-0 failed"),
        ("pipeline_abort", "aborted", None, 0, "job aborted: node db-0 failed"),
        ("abort", "aborted", None, None, "node db-0 failed"),
    ]
    job = store.tables()["jobs"].to_pylist()[0]
    # stage 1 aborted: in no list; stage 2 stopped after being ready: finished
    assert (job["status"], job["reason"], job["finished_stages"], job["foreground_stages"]) == (
        "aborted",
        "node db-0 failed",
        [2],
        [],
    )
    assert store.jobs.owner == {}


def test_gang_start_needs_every_node():
    s = Store()
    s.add_node(0.0, Node("a"))
    s.add_job(0.0, 1, "two", n_nodes=2, walltime=1.0)
    s.job(0.0, 1, "assign", None, node_id="a", node_name="x")
    with pytest.raises(StoreError, match="job 1: cannot start: 1 of 2 nodes assigned"):
        s.job(0.0, 1, "start", None)
    s.job(0.0, 1, "abort", None, detail="unschedulable")
    assert s.jobs.by_status()["aborted"] == 1


def test_node_events():
    s = Store()
    s.add_node(0.0, Node("a"))
    s.node(1.0, "a", "state", "running_job", job_id=7)
    assert s.nodes.table().to_pylist()[0]["job_id"] == 7
    with pytest.raises(StoreError, match="node a: cannot recover: state is running_job"):
        s.node(2.0, "a", "recover", None)
    s.node(2.0, "a", "fail", None, detail="power")
    with pytest.raises(StoreError, match="node a: cannot change state to idle: state is offline"):
        s.node(2.5, "a", "state", "idle")
    s.node(3.0, "a", "recover", None)
    s.node(4.0, "a", "deregister", None)
    s.add_node(5.0, Node("a", cores=8))
    row = s.nodes.table().to_pylist()[0]
    assert (row["state"], row["registered_time"], row["cores"], row["job_id"]) == (
        "idle",
        5.0,
        8.0,
        None,
    )
    with pytest.raises(StoreError, match="node b: cannot state: not registered"):
        s.node(5.0, "b", "state", "idle")


def test_snapshot_equals_fold(store):
    store.job(2.0, 3, "stage_finish", "finished", stage=1, node_id="db-0")
    t = store.tables()
    folded = fold_history(t["job_events"], t["node_events"], t["jobs"], t["nodes"])
    for name in ("nodes", "jobs", "stages", "tasks"):
        assert folded[name].equals(t[name]), name


def test_reprs(store):
    assert repr(store) == "<Store: 3 nodes (idle 3), 1 job (running 1), 9 events>"
    assert "3 (idle 3)" in store._repr_html_() and "1 (running 1)" in store._repr_html_()
