"""Loader packing in the engine: several loader slots of one job on one node."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.cli import main
from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.engine.engine import Engine
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.load import load_spec
from benchhub_sim.spec.model import (
    Duration,
    JobSpec,
    NodeAssignment,
    Role,
    Selector,
    ShellPayload,
    Stage,
    Task,
)
from benchhub_sim.store import History, Store
from benchhub_sim.store.fold import fold_history
from benchhub_sim.store.run import load_run
from benchhub_sim.workload.base import JobRequest

SPECS = Path(__file__).resolve().parents[2] / "data" / "specs"


def job(roles: list[Role], d: float, name: str = "j") -> JobSpec:
    """One slot ``a<i>`` per role; one stage running one task of ``d`` s on every slot."""
    task = Task("t", shell=ShellPayload("true"), duration=Duration.constant(d))
    return JobSpec(
        name,
        node_assignments=tuple(NodeAssignment(f"a{i}", role=r) for i, r in enumerate(roles)),
        stages=(Stage("run", selectors=(Selector(all=True),), tasks=(task,)),),
        walltime=d,
    )


def repro_requests() -> list[JobRequest]:
    """Job 0 holds one node 5 s; job 1 has two loader slots, 1 s (both submitted at 0)."""
    return [
        JobRequest(job([Role.ANY], 5.0), 0.0, job_id=0),
        JobRequest(job([Role.LOADER, Role.LOADER], 1.0), 0.0, job_id=1),
    ]


def run_tables(requests, *, one_step=True, faults=(), pack=3, policy="fcfs", cluster=None):
    store = Store(History(flush_rows=16), bulk=one_step)
    Engine(cluster or Cluster.uniform(2), store, policy=policy, max_loader_pack=pack,
           faults=faults, one_step=one_step).run(iter(requests))  # fmt: skip
    return store.tables()


def assert_fold_equals_snapshot(t) -> None:
    folded = fold_history(t["job_events"], t["node_events"], t["jobs"], t["nodes"])
    for name in ("nodes", "jobs", "stages", "tasks"):
        assert folded[name].equals(t[name]), name


@pytest.mark.parametrize("one_step", [True, False])
def test_two_loader_slots_pack_onto_the_one_free_node(one_step):
    """fcfs at t=0: job 0's any slot takes node-0 (first any node); job 1 finds one free
    node for two loader slots and, with max_loader_pack 3, puts both on node-1 (an ``any``
    node: match ``any``). Job 1 runs 0..1, job 0 0..5."""
    t = run_tables(repro_requests(), one_step=one_step)
    jobs = t["jobs"].select(["job_id", "status", "start_time", "stop_time", "n_nodes"])
    assert jobs.to_pylist() == [
        {"job_id": 0, "status": "finished", "start_time": 0.0, "stop_time": 5.0, "n_nodes": 1},
        {"job_id": 1, "status": "finished", "start_time": 0.0, "stop_time": 1.0, "n_nodes": 2},
    ]
    assigns = [
        (e["job_id"], e["node_id"], e["node_name"], e["detail"])
        for e in t["job_events"].to_pylist()
        if e["event"] == "assign"
    ]
    assert assigns == [(0, "node-0", "a0", "exact"), (1, "node-1", "a0", "any"),
                       (1, "node-1", "a1", "any")]  # fmt: skip
    cols = ["job_id", "node_id", "node_name", "status", "start_time", "stop_time"]
    assert t["stages"].select(cols).to_pylist() == [
        {"job_id": 0, "node_id": "node-0", "node_name": "a0", "status": "finished",
         "start_time": 0.0, "stop_time": 5.0},
        {"job_id": 1, "node_id": "node-1", "node_name": "a0", "status": "finished",
         "start_time": 0.0, "stop_time": 1.0},
        {"job_id": 1, "node_id": "node-1", "node_name": "a1", "status": "finished",
         "start_time": 0.0, "stop_time": 1.0},
    ]  # fmt: skip
    assert t["tasks"].select(cols).to_pylist() == t["stages"].select(cols).to_pylist()
    # node-1 is bound once and released once, although it held two slots
    node1 = [
        (e["time"], e["event"], e["state"], e["job_state"], e["job_id"])
        for e in t["node_events"].to_pylist()
        if e["node_id"] == "node-1"
    ]
    assert node1 == [
        (0.0, "register", "idle", None, None),
        (0.0, "state", "running_job", "running", 1),
        (1.0, "state", "running_job", "finished", 1),
        (1.0, "state", "running_job", "reporting", 1),
        (1.0, "state", "running_job", "cleanup", 1),
        (1.0, "state", "idle", None, None),
    ]
    # while it held them, the node store named both slots
    assert t["assignments"].select(["job_id", "node_id", "node_name", "role"]).to_pylist()[1:] == [
        {"job_id": 1, "node_id": "node-1", "node_name": "a0", "role": "loader"},
        {"job_id": 1, "node_id": "node-1", "node_name": "a1", "role": "loader"},
    ]
    assert_fold_equals_snapshot(t)


def test_one_step_and_step_by_step_give_the_same_packed_tables():
    a, b = run_tables(repro_requests(), one_step=True), run_tables(repro_requests(), one_step=False)
    assert all(a[k].equals(b[k]) for k in a)


@pytest.mark.parametrize(("pack", "status"), [(1, "aborted"), (2, "aborted"), (3, "finished")])
def test_three_loaders_on_one_node_need_a_pack_of_three(pack, status):
    t = run_tables([JobRequest(job([Role.LOADER] * 3, 2.0), 0.0, job_id=0)],
                   pack=pack, cluster=Cluster.uniform(1))  # fmt: skip
    row = t["jobs"].to_pylist()[0]
    assert row["status"] == status
    if status == "aborted":
        assert row["reason"].startswith("unschedulable: ")
        assert t["stages"].num_rows == 0
    else:
        assert (row["start_time"], row["stop_time"]) == (0.0, 2.0)
        names = t["stages"].column("node_name").to_pylist()
        assert names == ["a0", "a1", "a2"]
        assert set(t["stages"].column("node_id").to_pylist()) == {"node-0"}
    assert_fold_equals_snapshot(t)


@pytest.mark.parametrize("one_step", [True, False])
def test_a_fault_on_a_packed_node_aborts_the_job_cleanly(one_step):
    """node-1 (job 1's two slots) fails at 0.5 for 10 s: both slots' tasks fail, both
    stage rows abort, the job aborts; node-1 goes offline (no cleanup) and is back at
    10.5. Job 0 on node-0 is untouched."""
    t = run_tables(repro_requests(), one_step=one_step, faults=[(0.5, "node-1", 10.0)])
    jobs = t["jobs"].select(["job_id", "status", "stop_time", "reason"]).to_pylist()
    assert jobs == [
        {"job_id": 0, "status": "finished", "stop_time": 5.0, "reason": None},
        {"job_id": 1, "status": "aborted", "stop_time": 0.5,
         "reason": "node node-1 failed: injected fault"},
    ]  # fmt: skip
    tasks = t["tasks"].select(["job_id", "node_name", "status", "stop_time", "reason"])
    assert tasks.to_pylist()[1:] == [
        {"job_id": 1, "node_name": "a0", "status": "failed", "stop_time": 0.5,
         "reason": "injected fault"},
        {"job_id": 1, "node_name": "a1", "status": "failed", "stop_time": 0.5,
         "reason": "injected fault"},
    ]  # fmt: skip
    stages = t["stages"].select(["job_id", "node_name", "status", "stop_time"]).to_pylist()
    assert stages[1:] == [
        {"job_id": 1, "node_name": "a0", "status": "aborted", "stop_time": 0.5},
        {"job_id": 1, "node_name": "a1", "status": "aborted", "stop_time": 0.5},
    ]
    node1 = [
        (e["time"], e["event"], e["state"])
        for e in t["node_events"].to_pylist()
        if e["node_id"] == "node-1"
    ]
    assert node1 == [
        (0.0, "register", "idle"),
        (0.0, "state", "running_job"),
        (0.5, "fail", "offline"),
        (10.5, "recover", "idle"),
    ]
    assert_fold_equals_snapshot(t)


# -- random loader-heavy workloads -----------------------------------------------------


def _no_failures(spec: JobSpec) -> JobSpec:
    def fix(task: Task) -> Task:
        return dataclasses.replace(task, fail_prob=0.0, ready=tuple(fix(r) for r in task.ready))

    stages = tuple(
        dataclasses.replace(s, tasks=tuple(fix(t) for t in s.tasks)) for s in spec.stages
    )
    return dataclasses.replace(spec, stages=stages)


def _three_loaders() -> JobSpec:
    """Three loader slots: a setup stage on all, then two tasks one after the other."""
    quick = Task(
        "setup", shell=ShellPayload("true"), duration=Duration.of("uniform", low=1, high=3)
    )
    load = Task("load", shell=ShellPayload("true"), duration=Duration.of("exponential", mean=20.0))
    check = Task("check", shell=ShellPayload("true"), duration=Duration.constant(1.0))
    return JobSpec(
        "three-loaders",
        node_assignments=(NodeAssignment("ld", role=Role.LOADER, count=3),),
        stages=(
            Stage("setup", selectors=(Selector(all=True),), tasks=(quick,)),
            Stage("load", selectors=(Selector(role=Role.LOADER),), tasks=(load, check)),
        ),
        walltime=40.0,
    )


DB_LOADERS = _no_failures(load_spec(SPECS / "db-loaders.yml"))
THREE = _three_loaders()


@st.composite
def workloads(draw):
    """One database node and 1..3 loader nodes; 1..6 jobs, each of one of the two specs
    (both have 3 loader slots), any policy, a pack of 1..3."""
    n_loaders = draw(st.integers(1, 3))
    nodes = [Node("db", role=Role.DATABASE, cores=8, mem_mb=16384)]
    nodes += [Node(f"ld-{i}", role=Role.LOADER) for i in range(n_loaders)]
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=6))
    submits = sorted(draw(st.lists(st.floats(0, 600, allow_nan=False), min_size=len(kinds),
                                   max_size=len(kinds))))  # fmt: skip
    reqs = [
        JobRequest(DB_LOADERS if k else THREE, t, job_id=i)
        for i, (k, t) in enumerate(zip(kinds, submits, strict=True))
    ]
    policy = draw(st.sampled_from(["fcfs", "easy", "conservative", "sjf", "priority"]))
    pack = draw(st.integers(1, 3))
    return Cluster(tuple(nodes)), reqs, policy, pack, n_loaders


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads(), st.integers(0, 2**16))
def test_random_packed_workloads_keep_every_invariant(w, seed):
    cluster, reqs, policy, pack, n_loaders = w
    run = simulate(cluster, reqs, policy=policy, seed=seed, max_loader_pack=pack)
    jobs = run.jobs
    # 3 loader slots fit on n loader nodes iff n * pack >= 3
    fits = n_loaders * pack >= 3
    if fits:
        assert (jobs.status == "finished").all(), jobs[["job_id", "status", "reason"]]
    else:
        assert (jobs.status == "aborted").all()
        assert jobs.reason.str.startswith("unschedulable: ").all()
    ev = run.job_events
    assigns = ev[ev.event == "assign"]
    # at most `pack` slots of a job on a node, and only loader slots share a node
    per_node = Counter(zip(assigns.job_id, assigns.node_id, strict=True))
    assert max(per_node.values(), default=0) <= pack
    shared = assigns[assigns.duplicated(["job_id", "node_id"], keep=False)]
    assert shared.node_id.str.startswith("ld-").all()
    if fits and n_loaders < 3:  # 3 loader slots on fewer loader nodes: every job packs
        assert set(shared.job_id) == set(jobs.job_id)
    # no node hosts two jobs at once
    spans = (
        assigns[["job_id", "node_id"]]
        .drop_duplicates()
        .merge(jobs[["job_id", "start_time", "stop_time"]], on="job_id")
    )
    for _, g in spans.groupby("node_id"):
        g = g.sort_values("start_time")
        assert (g.start_time.to_numpy()[1:] >= g.stop_time.to_numpy()[:-1]).all(), g
    # a node is bound and released once per job, however many slots it held
    ne = run.node_events
    states = ne[ne.event == "state"]
    held = states.groupby(["job_id", "node_id", "job_state"], observed=True).size()
    assert set(held.to_numpy()) <= {1}
    # every started job has a row per slot in each stage that ran
    stages = run.stages
    for job_id, g in stages.groupby("job_id"):
        for _, rows in g.groupby("stage"):
            assert rows.node_name.is_unique, rows
        assert set(g.node_name) <= set(assigns[assigns.job_id == job_id].node_name)
    if fits:
        load = stages[stages.stage_name == "load"]
        assert (load.groupby("job_id").size() == 3).all()
    # snapshots equal the fold of the history; the same seed gives the same tables
    t = run.tables
    folded = fold_history(t["job_events"], t["node_events"], t["jobs"], t["nodes"])
    for name in ("nodes", "jobs", "stages", "tasks"):
        assert folded[name].equals(t[name]), name
    again = simulate(cluster, reqs, policy=policy, seed=seed, max_loader_pack=pack)
    for name, table in t.items():
        assert again.tables[name].equals(table), name


def test_cli_simulate_with_loader_packing(tmp_path, capsys):
    """db-loaders on one database node and one loader node: only a pack of 3 runs it."""
    cluster = tmp_path / "tiny.yml"
    cluster.write_text(
        "nodes:\n"
        "  - {id: db, role: database, cores: 8, mem_mb: 16384}\n"
        "  - {id: ld, role: loader}\n"
    )
    out = tmp_path / "run"
    argv = ["simulate", "--cluster", str(cluster), "--spec", str(SPECS / "db-loaders.yml"),
            "--arrivals", "fixed:10", "--count", "2", "--seed", "1", "--out", str(out),
            "--max-loader-pack", "3"]  # fmt: skip
    assert main(argv) == 0
    run = load_run(out)
    load = run.stages[run.stages.stage_name == "load"]
    assert sorted(load.node_name) == ["loaders-0", "loaders-0", "loaders-1", "loaders-1",
                                      "loaders-2", "loaders-2"]  # fmt: skip
    assert set(load.node_id) == {"ld"}
    assert set(run.jobs.job_id) == {0, 1} and run.jobs.status.notna().all()
