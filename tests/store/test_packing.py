"""Loader packing in the store: several slots of one job on one node, rows per slot."""

from __future__ import annotations

import pytest

from benchhub_sim.cluster import Node
from benchhub_sim.errors import StoreError
from benchhub_sim.store import History, Store, fold_history
from benchhub_sim.store.fastplan import plan_fast
from benchhub_sim.store.query import job_detail, nodes_in_stage, stages_on_node, tasks_on_node


def expect_rejected(store: Store, call, message: str) -> None:
    before, seq = store.tables(), store.history.seq
    with pytest.raises(StoreError) as info:
        call()
    assert str(info.value) == message
    assert store.history.seq == seq
    after = store.tables()
    assert all(after[k].equals(before[k]) for k in before)


def assert_fold_equals_snapshot(store: Store) -> None:
    t = store.tables()
    folded = fold_history(t["job_events"], t["node_events"], t["jobs"], t["nodes"])
    for name in ("nodes", "jobs", "stages", "tasks"):
        assert folded[name].equals(t[name]), name


def packed_store(bulk: bool = True) -> Store:
    """Job 1 (3 slots): ``srv`` on db-0, loaders ``cli-0`` and ``cli-1`` both on ld-0."""
    s = Store(History(flush_rows=4), bulk=bulk)
    for n in ("db-0", "ld-0", "n9"):
        s.add_node(0.0, Node(n))
    s.add_job(0.0, 1, "pack", n_nodes=3, walltime=60.0)
    s.job(1.0, 1, "assign", "queued", node_id="db-0", node_name="srv", detail="exact")
    s.job(1.0, 1, "assign", "queued", node_id="ld-0", node_name="cli-0", detail="exact")
    s.job(1.0, 1, "assign", "queued", node_id="ld-0", node_name="cli-1", detail="exact")
    return s


def run_packed_job(s: Store) -> None:
    """Stage 0 ``load`` on both loader slots (node_name given), then stage 1 on ``srv``
    (node_id only: its node holds one slot). Task durations: cli-0 2 s, cli-1 3 s."""
    j = s.job
    j(1.0, 1, "start", "running")
    j(1.0, 1, "pipeline_start", "running", pipeline=0)
    for slot in ("cli-0", "cli-1"):
        j(1.0, 1, "stage_start", "running", 0, 0, "load", "ld-0", slot, background=False)
    for slot in ("cli-0", "cli-1"):
        j(1.0, 1, "task_start", "running", 0, 0, "load", "ld-0", slot, 0, "write", "shell",
          False, 0)  # fmt: skip
    j(3.0, 1, "task_finish", "finished", stage=0, node_id="ld-0", node_name="cli-0", task=0,
      attempt=0, exit_code=0)  # fmt: skip
    j(3.0, 1, "stage_finish", "finished", stage=0, node_id="ld-0", node_name="cli-0")
    # a slot alone names its node
    j(4.0, 1, "task_finish", "finished", stage=0, node_name="cli-1", task=0, exit_code=0)
    j(4.0, 1, "stage_finish", "finished", stage=0, node_name="cli-1")
    j(4.0, 1, "pipeline_finish", "finished", 0)
    j(4.0, 1, "pipeline_start", "running", pipeline=1)
    j(4.0, 1, "stage_start", "running", stage=1, stage_name="check", node_id="db-0")
    j(4.0, 1, "task_start", "running", stage=1, node_id="db-0", task=0, task_name="count",
      driver="shell")  # fmt: skip
    j(6.0, 1, "task_finish", "finished", stage=1, node_id="db-0", task=0, exit_code=0)
    j(6.0, 1, "stage_finish", "finished", stage=1, node_id="db-0")
    j(6.0, 1, "pipeline_finish", "finished", 1)
    j(6.0, 1, "finish", "finished")


def test_two_slots_of_a_job_on_one_node_get_a_row_each():
    s = packed_store()
    run_packed_job(s)
    t = s.tables()
    stages = t["stages"].select(
        ["job_id", "stage", "node_id", "node_name", "status", "start_time", "stop_time"]
    )
    assert stages.to_pylist() == [
        {"job_id": 1, "stage": 0, "node_id": "ld-0", "node_name": "cli-0", "status": "finished",
         "start_time": 1.0, "stop_time": 3.0},
        {"job_id": 1, "stage": 0, "node_id": "ld-0", "node_name": "cli-1", "status": "finished",
         "start_time": 1.0, "stop_time": 4.0},
        {"job_id": 1, "stage": 1, "node_id": "db-0", "node_name": "srv", "status": "finished",
         "start_time": 4.0, "stop_time": 6.0},
    ]  # fmt: skip
    tasks = t["tasks"].select(["stage", "node_id", "node_name", "task_name", "attempt",
                               "status", "start_time", "stop_time"])  # fmt: skip
    assert tasks.to_pylist() == [
        {"stage": 0, "node_id": "ld-0", "node_name": "cli-0", "task_name": "write", "attempt": 0,
         "status": "finished", "start_time": 1.0, "stop_time": 3.0},
        {"stage": 0, "node_id": "ld-0", "node_name": "cli-1", "task_name": "write", "attempt": 0,
         "status": "finished", "start_time": 1.0, "stop_time": 4.0},
        {"stage": 1, "node_id": "db-0", "node_name": "srv", "task_name": "count", "attempt": 0,
         "status": "finished", "start_time": 4.0, "stop_time": 6.0},
    ]  # fmt: skip
    job = t["jobs"].to_pylist()[0]
    assert (job["status"], job["n_nodes"], job["finished_stages"]) == ("finished", 3, [0, 1])
    # events filled in: the slot's node, the node's only slot
    ev = t["job_events"].to_pylist()
    cli1_finish = [e for e in ev if e["event"] == "task_finish" and e["node_name"] == "cli-1"]
    assert [e["node_id"] for e in cli1_finish] == ["ld-0"]
    srv_start = [e for e in ev if e["event"] == "stage_start" and e["stage"] == 1]
    assert [(e["node_id"], e["node_name"]) for e in srv_start] == [("db-0", "srv")]
    assert_fold_equals_snapshot(s)
    # the node is free again: another job may take it
    s.add_job(7.0, 2, "next", n_nodes=1, walltime=1.0)
    s.job(7.0, 2, "assign", "queued", node_id="ld-0", node_name="w")


def test_stage_one_of_two_slots_still_runs_keeps_the_stage_in_the_foreground():
    s = packed_store()
    j = s.job
    j(1.0, 1, "start", "running")
    j(1.0, 1, "pipeline_start", "running", pipeline=0)
    for slot in ("cli-0", "cli-1"):
        j(1.0, 1, "stage_start", "running", 0, 0, "load", "ld-0", slot, background=False)
    j(2.0, 1, "stage_finish", "finished", stage=0, node_id="ld-0", node_name="cli-0")
    assert s.jobs.live[1].fg == {0}  # cli-1's row still runs
    expect_rejected(
        s,
        lambda: j(2.0, 1, "pipeline_finish", "finished", 0),
        "job 1: cannot finish pipeline 0: stages [0] still run in the foreground",
    )
    j(2.5, 1, "stage_finish", "finished", stage=0, node_id="ld-0", node_name="cli-1")
    assert s.jobs.live[1].fin == {0}
    assert_fold_equals_snapshot(s)


def test_an_event_naming_only_a_packed_node_is_refused():
    s = packed_store()
    j = s.job
    j(1.0, 1, "start", "running")
    j(1.0, 1, "pipeline_start", "running", pipeline=0)
    expect_rejected(
        s,
        lambda: j(1.0, 1, "stage_start", "running", 0, 0, "load", "ld-0", background=False),
        "job 1: stage_start on node ld-0: the node holds several slots of the job "
        "('cli-0', 'cli-1'): give node_name",
    )
    j(1.0, 1, "stage_start", "running", 0, 0, "load", "ld-0", "cli-0", background=False)
    expect_rejected(
        s,
        lambda: j(1.0, 1, "task_start", "running", stage=0, node_id="ld-0", task=0),
        "job 1: task started on node ld-0: the node holds several slots of the job "
        "('cli-0', 'cli-1'): give node_name",
    )
    # a slot bound to another node, and a slot the job does not have
    expect_rejected(
        s,
        lambda: j(1.0, 1, "stage_finish", "finished", stage=0, node_id="db-0", node_name="cli-0"),
        "job 1: stage_finish: slot 'cli-0' is bound to node ld-0, not db-0",
    )
    expect_rejected(
        s,
        lambda: j(1.0, 1, "stage_finish", "finished", stage=0, node_id="ld-0", node_name="cli-9"),
        "job 1: stage_finish: slot 'cli-9' is not bound to the job",
    )
    # messages about a packed slot's rows name the slot
    expect_rejected(
        s,
        lambda: j(1.0, 1, "stage_start", "running", 0, 0, "load", "ld-0", "cli-0"),
        "stage job 1 stage 0 (load) node ld-0 slot cli-0: cannot start: status is running",
    )
    expect_rejected(
        s,
        lambda: j(1.0, 1, "task_finish", None, stage=0, node_name="cli-0", task=0, attempt=0),
        "task job 1 stage 0 (load) node ld-0 slot cli-0 task 0 attempt 0: cannot finish: "
        "status is queued",
    )
    # the job-level views by node id refuse to merge the two slots' rows
    with pytest.raises(StoreError, match="several slots"):
        s.jobs.live[1].stages  # noqa: B018
    assert s.jobs.live[1].nodes == {"db-0": "srv", "ld-0": "cli-0"}


def test_assign_refusals_with_packing():
    s = packed_store()
    s.add_job(0.0, 2, "other", n_nodes=2, walltime=1.0)
    s.add_job(0.0, 3, "small", n_nodes=1, walltime=1.0)
    j = s.job
    expect_rejected(
        s,
        lambda: j(1.0, 1, "assign", "queued", node_id="n9", node_name="cli-0"),
        "job 1: cannot assign node n9: slot 'cli-0' is already bound (to node ld-0)",
    )
    expect_rejected(
        s,
        lambda: j(1.0, 1, "assign", "queued", node_id="ld-0", node_name="cli-2"),
        "job 1: cannot assign node ld-0: all 3 slots are already assigned",
    )
    expect_rejected(
        s,
        lambda: j(1.0, 2, "assign", "queued", node_id="ld-0", node_name="w-0"),
        "job 2: cannot assign node ld-0: node is assigned to job 1",
    )
    s.node(1.0, "n9", "fail", None)
    expect_rejected(
        s,
        lambda: j(1.0, 2, "assign", "queued", node_id="n9", node_name="w-0"),
        "job 2: cannot assign node n9: node state is offline",
    )
    # slot names count against n_nodes even when they share a node
    s.node(1.5, "n9", "recover", None)
    j(2.0, 3, "assign", "queued", node_id="n9", node_name="a")
    expect_rejected(
        s,
        lambda: j(2.0, 3, "assign", "queued", node_id="n9", node_name="b"),
        "job 3: cannot assign node n9: all 1 slots are already assigned",
    )


def test_abort_stops_both_slots_and_frees_the_node_once():
    s = packed_store()
    j = s.job
    j(1.0, 1, "start", "running")
    j(1.0, 1, "pipeline_start", "running", pipeline=0)
    for slot in ("cli-0", "cli-1"):
        j(1.0, 1, "stage_start", "running", 0, 0, "load", "ld-0", slot, background=False)
        j(1.0, 1, "task_start", "running", 0, 0, "load", "ld-0", slot, 0, "write", "shell",
          False, 0)  # fmt: skip
    j(2.0, 1, "abort", "aborted", detail="node ld-0 failed")
    t = s.tables()
    ends = [(e["event"], e["node_name"]) for e in t["job_events"].to_pylist() if e["time"] == 2.0]
    assert ends == [
        ("task_stop", "cli-0"), ("stage_abort", "cli-0"),
        ("task_stop", "cli-1"), ("stage_abort", "cli-1"),
        ("pipeline_abort", None), ("abort", None),
    ]  # fmt: skip
    assert t["stages"].column("status").to_pylist() == ["aborted", "aborted"]
    assert "ld-0" not in s.jobs.owner and "db-0" not in s.jobs.owner
    assert_fold_equals_snapshot(s)


@pytest.mark.parametrize("bulk", [True, False])
def test_bulk_transitions_with_a_node_bound_twice_equal_single_events(bulk):
    """``bind`` / ``start_simple`` / ``finish_simple`` on a packed job: same tables as the
    single events, in bulk or not."""
    from benchhub_sim.store.simple import SimpleShape

    def run(bulk: bool) -> Store:
        s = Store(History(flush_rows=4), bulk=bulk)
        for n in ("n0", "n1"):
            s.add_node(0.0, Node(n))
        s.add_job(0.0, 5, "p", n_nodes=3, walltime=9.0)
        s.bind(0.0, 5, [("n0", "l-0", "loader", "any"), ("n0", "l-1", "loader", "any"),
                        ("n1", "l-2", "loader", "any")])  # fmt: skip
        held = s.tables()["nodes"].select(["node_id", "job_id", "node_name", "job_role"])
        assert held.to_pylist() == [
            {"node_id": "n0", "job_id": 5, "node_name": "l-0,l-1", "job_role": "loader"},
            {"node_id": "n1", "job_id": 5, "node_name": "l-2", "job_role": "loader"},
        ]
        shape = SimpleShape(0, 0, "run", 0, "t", "shell")
        units = [("n0", "l-0"), ("n0", "l-1"), ("n1", "l-2")]
        s.start_simple(0.0, 5, shape, units, ["a", "b", "c"])
        s.finish_simple(2.0, 5)
        s.release(2.0, 5, ["n0", "n1"])
        return s

    s = run(bulk)
    t = s.tables()
    assert t["stages"].select(["node_id", "node_name", "status", "stop_time"]).to_pylist() == [
        {"node_id": "n0", "node_name": "l-0", "status": "finished", "stop_time": 2.0},
        {"node_id": "n0", "node_name": "l-1", "status": "finished", "stop_time": 2.0},
        {"node_id": "n1", "node_name": "l-2", "status": "finished", "stop_time": 2.0},
    ]
    # node n0 went running_job -> ... -> idle once, not once per slot
    states = [
        (e["node_id"], e["job_state"] or e["state"]) for e in t["node_events"].to_pylist()[2:]
    ]
    assert states == [("n0", "running"), ("n1", "running"),
                      ("n0", "finished"), ("n0", "reporting"), ("n0", "cleanup"), ("n0", "idle"),
                      ("n1", "finished"), ("n1", "reporting"), ("n1", "cleanup"), ("n1", "idle")]  # fmt: skip
    assert_fold_equals_snapshot(s)
    ref = run(False).tables()
    assert all(t[k].equals(ref[k]) for k in t)


def test_queries_give_a_row_per_slot():
    s = packed_store()
    run_packed_job(s)
    on_node = stages_on_node(s, "ld-0")
    assert list(zip(on_node.node_name, on_node.stop_time, strict=True)) == [
        ("cli-0", 3.0),
        ("cli-1", 4.0),
    ]
    assert list(tasks_on_node(s, "ld-0").node_name) == ["cli-0", "cli-1"]
    in_stage = nodes_in_stage(s, 1, 0)
    assert list(zip(in_stage.node_id, in_stage.node_name, strict=True)) == [
        ("ld-0", "cli-0"),
        ("ld-0", "cli-1"),
    ]
    detail = job_detail(s, 1).to_dict()
    assert [(n["node_id"], n["node_name"]) for n in detail["nodes"]] == [
        ("db-0", "srv"), ("ld-0", "cli-0"), ("ld-0", "cli-1")
    ]  # fmt: skip
    load = detail["pipelines"][0]["stages"][0]
    assert [(n["node_name"], [t["stop_time"] for t in n["tasks"]]) for n in load["nodes"]] == [
        ("cli-0", [3.0]),
        ("cli-1", [4.0]),
    ]


class ComparingStore(Store):
    """Before each job event, plans it both ways (fast and general) and compares."""

    def __init__(self, check: bool) -> None:
        super().__init__(History(flush_rows=50), check=check, bulk=False)
        self.fast_packed = 0

    def job(self, time, job_id, event, status, pipeline=None, stage=None, stage_name=None,
            node_id=None, node_name=None, task=None, task_name=None, driver=None,
            background=None, attempt=None, exit_code=None, detail=None, role=None,
            task_pipeline=None, command=None):  # fmt: skip
        ev = (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
              task, task_name, driver, background, attempt, exit_code, detail, role,
              task_pipeline, command)  # fmt: skip
        planned = self.jobs.plan(list(ev), self.nodes)  # plan only reads the snapshot
        fast = plan_fast(self.jobs, self.nodes, ev)
        if fast is not None:
            assert [fast] == planned, event
            if node_id is not None and len(self.jobs.live[job_id].slots_on.get(node_id, ())) > 1:
                self.fast_packed += 1
        super().job(*ev)


@pytest.mark.parametrize("check", [True, False])
def test_fast_plans_equal_general_plans_with_packing(check):
    """db-loaders (3 loader slots) on one database and one loader node, pack 3: all three
    loader slots share the loader node."""
    from pathlib import Path

    from benchhub_sim.cluster import Cluster
    from benchhub_sim.engine.engine import Engine
    from benchhub_sim.spec.load import load_spec
    from benchhub_sim.spec.model import Role
    from benchhub_sim.workload.base import JobRequest

    spec = load_spec(Path(__file__).resolve().parents[2] / "data" / "specs" / "db-loaders.yml")
    cluster = Cluster(
        (Node("db", role=Role.DATABASE, cores=8, mem_mb=16384), Node("ld", role=Role.LOADER))
    )
    store = ComparingStore(check)
    reqs = [JobRequest(spec, 10.0 * i, job_id=i) for i in range(3)]
    Engine(cluster, store, seed=4, max_loader_pack=3, one_step=False).run(iter(reqs))
    assert store.fast_packed > 0
    t = store.tables()
    assert set(t["jobs"].column("status").to_pylist()) <= {"finished", "aborted"}
    load = [r for r in t["stages"].to_pylist() if r["stage_name"] == "load"]
    assert {r["node_id"] for r in load} == {"ld"}
    assert len(load) == 3 * len({r["job_id"] for r in load})
    assert_fold_equals_snapshot(store)
