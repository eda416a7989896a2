"""Blocks expand to exactly the rows single appends would give, in seq order."""

from __future__ import annotations

import pytest

from benchhub_sim.store import History
from benchhub_sim.store.blocks import UNIT_DETAIL, Template
from benchhub_sim.store.simple import SimpleShape, assign_template, start_template, states_template


def test_a_block_of_two_units_by_hand():
    h = History()
    h.job(0.0, 7, "submit", "queued")  # seq 0
    assign = assign_template(("w-0", "w-1"), ("database", "any"))
    h.block(assign, 1.5, 7, ["a", "b"], ["exact", "any"])  # 1, 2
    steps = (("running_job", "cleanup", True), ("idle", None, False))
    h.block(states_template(2, steps), 2.5, 7, ["a", "b"])  # 3-6
    h.node(3.0, "c", "state", "idle")  # seq 7
    jobs = h.job_events().to_pylist()
    assert [
        (r["seq"], r["event"], r["node_id"], r["node_name"], r["role"], r["detail"], r["time"])
        for r in jobs
    ] == [
        (0, "submit", None, None, None, None, 0.0),
        (1, "assign", "a", "w-0", "database", "exact", 1.5),
        (2, "assign", "b", "w-1", "any", "any", 1.5),
    ]
    assert all(r["job_id"] == 7 and r["status"] == "queued" for r in jobs)
    nodes = h.node_events().to_pylist()
    assert [(r["seq"], r["node_id"], r["state"], r["job_state"], r["job_id"]) for r in nodes] == [
        (3, "a", "running_job", "cleanup", 7),
        (4, "a", "idle", None, None),
        (5, "b", "running_job", "cleanup", 7),
        (6, "b", "idle", None, None),
        (7, "c", "idle", None, None),
    ]


def test_blocks_interleave_with_single_rows_across_flushes():
    """Many small flushes: every row keeps its seq, the table is in seq order."""
    shape = SimpleShape(0, 0, "run", 0, "t", "shell", "true")
    start = start_template(shape, ("w",))
    h = History(flush_rows=5)
    expected = []
    for job in range(20):
        h.job(float(job), job, "submit", "queued")
        expected.append((job, "submit"))
        h.block(start, float(job), job, [f"n{job}"], [f"log{job}"])
        expected += [(job, e) for e in ("start", "pipeline_start", "stage_start", "task_start")]
    rows = h.job_events().to_pylist()
    assert [r["seq"] for r in rows] == list(range(len(expected)))
    assert [(r["job_id"], r["event"]) for r in rows] == expected
    task_starts = [r for r in rows if r["event"] == "task_start"]
    assert [r["detail"] for r in task_starts] == [f"log{j}" for j in range(20)]
    assert [r["node_id"] for r in task_starts] == [f"n{j}" for j in range(20)]
    assert {
        (r["attempt"], r["task"], r["driver"], r["background"], r["task_pipeline"], r["command"])
        for r in task_starts
    } == {(0, 0, "shell", False, 0, "true")}


def test_templates_are_checked():
    with pytest.raises(ValueError, match="values"):
        Template((("job", -1, ("start",)),))
    with pytest.raises(ValueError, match="needs a unit"):
        Template((("node", -1, (None, "state", "idle", None, None, UNIT_DETAIL)),))


def test_bulk_calls_refuse_what_single_events_refuse():
    from benchhub_sim.cluster import Node
    from benchhub_sim.errors import StoreError
    from benchhub_sim.store import Store

    shape = SimpleShape(0, 0, "run", 0, "t", "shell")
    for bulk in (True, False):
        s = Store(bulk=bulk)
        s.add_node(0.0, Node("a"))
        s.add_job(0.0, 1, "j", n_nodes=1, walltime=1.0)
        with pytest.raises(StoreError, match="cannot start: 0 of 1 nodes assigned"):
            s.start_simple(1.0, 1, shape, [("a", "w")])
        s.bind(1.0, 1, [("a", "w", "any", "any")])
        with pytest.raises(StoreError, match="cannot assign node a: node is assigned to job 1"):
            s.add_job(1.0, 2, "j", n_nodes=1, walltime=1.0)
            s.bind(1.0, 2, [("a", "w", "any", "any")])
        with pytest.raises(StoreError, match="not started by start_simple"):
            s.finish_simple(2.0, 1)  # bound, never started
        s.start_simple(1.0, 1, shape, [("a", "w")])
        s.finish_simple(2.0, 1)
        with pytest.raises(StoreError, match="job 1: cannot finish: status is finished"):
            s.finish_simple(3.0, 1)
        assert s.jobs.status(1) == "finished" and s.history.seq == 1 + 2 + 1 + 4 + 4 + 1


def test_a_simple_job_read_while_running_then_finished_in_bulk():
    """Its rows are built when the live tables are read, and still finish in bulk."""
    from benchhub_sim.cluster import Node
    from benchhub_sim.store import Store

    shape = SimpleShape(0, 0, "run", 0, "t", "shell")
    tables = {}
    for bulk in (True, False):
        s = Store(bulk=bulk)
        for n in ("a", "b"):
            s.add_node(0.0, Node(n))
        s.add_job(0.0, 1, "j", n_nodes=2, walltime=5.0)
        s.bind(1.0, 1, [("a", "w-0", "any", "any"), ("b", "w-1", "any", "any")])
        s.start_simple(1.0, 1, shape, [("a", "w-0"), ("b", "w-1")], ["la", "lb"])
        live = s.tables()["tasks"].to_pylist()
        assert [(r["node_id"], r["status"], r["start_time"], r["log_path"]) for r in live] == [
            ("a", "running", 1.0, "la"),
            ("b", "running", 1.0, "lb"),
        ]
        s.finish_simple(6.0, 1)
        tables[bulk] = s.tables()
        tasks = tables[bulk]["tasks"].to_pylist()
        assert [(r["status"], r["exit_code"], r["stop_time"]) for r in tasks] == [
            ("finished", 0, 6.0)
        ] * 2
    for name in tables[True]:
        assert tables[True][name].equals(tables[False][name]), name
