"""The built-in policies' fast passes (indexes of the queue kept across passes, passes
that reuse the last one's reservations, polls skipped) decide as full passes by the
plain rule do (``central.memo = None``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

import benchhub_sim.sched.memo as pass_memo
from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.engine.engine import Engine
from benchhub_sim.sched.policies import BenchhubCentral
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
from benchhub_sim.workload.base import JobRequest

from .builders import no_units, one_task

#: the policies with a fast path
FAST = ["easy", "conservative", "sjf", "priority", "benchhub"]


def make(policy):
    return BenchhubCentral() if policy == "benchhub" else policy


def run(reqs, n_nodes, policy, faults, *, memo: bool):
    store = Store(History())
    engine = Engine(Cluster.uniform(n_nodes), store, policy=make(policy), faults=faults)
    if not memo:
        engine.central.memo = None  # every pass is a full pass
    engine.run(iter(reqs))
    return store.tables()


@st.composite
def workloads(draw):
    n_nodes = draw(st.integers(2, 8))
    n_jobs = draw(st.integers(1, 25))
    reqs, t = [], 0.0
    for i in range(n_jobs):
        t += draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
        size = draw(st.integers(1, n_nodes + 1))  # n_nodes + 1: never fits, aborted
        run_time = draw(st.sampled_from([0.0, 1.0, 2.0, 5.0]))
        # walltimes below the run time make running jobs overdue: their reservations move
        walltime = run_time * draw(st.sampled_from([0.5, 1.0, 2.0]))
        spec = no_units(size) if draw(st.integers(0, 9)) == 0 else one_task(size, run_time)
        prio = float(draw(st.integers(0, 2)))
        reqs.append(JobRequest(spec, t, job_id=i, walltime=walltime, priority=prio))
    faults = draw(st.lists(st.tuples(st.sampled_from([0.5, 2.0, 4.0, 7.0]), st.integers(0, n_nodes - 1),
                                     st.sampled_from([0.0, 1.5])), max_size=2))  # fmt: skip
    faults = [(at, f"node-{i}", down) for at, i, down in faults]
    return reqs, n_nodes, faults


@pytest.fixture
def reuse_count(monkeypatch):
    """How many passes reused the state of the pass before."""
    count = {"reused": 0}
    unchanged = pass_memo.unchanged

    def spy(view, key):
        last = unchanged(view, key)
        count["reused"] += last is not None
        return last

    monkeypatch.setattr(pass_memo, "unchanged", spy)
    return count


@pytest.mark.parametrize("policy", FAST)
@settings(max_examples=examples(10), deadline=None)
@given(workload=workloads())
def test_fast_passes_give_the_tables_of_full_passes(policy, workload):
    reqs, n_nodes, faults = workload
    fast = run(reqs, n_nodes, policy, faults, memo=True)
    full = run(reqs, n_nodes, policy, faults, memo=False)
    assert all(fast[k].equals(full[k]) for k in fast)


@pytest.mark.parametrize("policy", ["easy", "conservative"])
def test_a_submission_alone_reuses_the_last_pass(policy, reuse_count):
    # job 0 holds two of three nodes until t=10; jobs of two nodes keep arriving: each
    # pass after the first (t=1) only looks at the newcomer
    reqs = [JobRequest(one_task(2, 10.0), 0.0, job_id=0, walltime=10.0)]
    reqs += [JobRequest(one_task(2, 1.0), 1.0 + i, job_id=i + 1, walltime=1.0) for i in range(5)]
    tables = run(reqs, 3, policy, [], memo=True)
    # easy: t=2, 3, 4, 5. conservative keeps its profile after the pass at t=0 that
    # started job 0 (in it as a running job would be), so t=1 reuses it too
    assert reuse_count["reused"] == {"easy": 4, "conservative": 5}[policy]
    starts = tables["jobs"].column("start_time").to_pylist()
    assert starts == [0.0, 10.0, 11.0, 12.0, 13.0, 14.0]


@pytest.mark.parametrize("policy", ["easy", "conservative"])
def test_an_overdue_job_forces_a_full_pass(policy, reuse_count):
    # job 0 was expected to end at t=1 but runs to t=10: from t=1 on, where its nodes
    # count in the reservations moves with the clock, so passes recompute
    reqs = [JobRequest(one_task(2, 10.0), 0.0, job_id=0, walltime=1.0)]
    reqs += [
        JobRequest(one_task(2, 1.0), t, job_id=i + 1, walltime=1.0)
        for i, t in enumerate([0.5, 0.7, 1.5, 2.5])
    ]
    run(reqs, 3, policy, [], memo=True)
    # easy: t=0.7 only; conservative also at t=0.5 (the pass at t=0 started job 0, whose
    # walltime ends at 1: the profile holds until then)
    assert reuse_count["reused"] == {"easy": 1, "conservative": 2}[policy]


def role_job(roles: tuple, run_time: float, name: str) -> JobSpec:
    """One task on every slot; a slot per role in ``roles``."""
    task = Task("t", shell=ShellPayload("true"), duration=Duration.constant(run_time))
    slots = tuple(NodeAssignment(f"s{i}", role=r) for i, r in enumerate(roles))
    stage = Stage("run", selectors=(Selector(all=True),), tasks=(task,))
    return JobSpec(name, node_assignments=slots, stages=(stage,), walltime=run_time)


@st.composite
def role_workloads(draw):
    """Jobs that need database or loader nodes (held back when only other roles are
    free), loaders that may share a node, on a cluster of mixed roles."""
    roles = [Role.DATABASE] * draw(st.integers(1, 2)) + [Role.LOADER] * draw(st.integers(1, 3))
    roles += [Role.ANY] * draw(st.integers(0, 3))
    cluster = Cluster([Node(f"n{i}", role=r) for i, r in enumerate(roles)])
    kinds = [(Role.DATABASE, Role.LOADER), (Role.LOADER, Role.LOADER, Role.LOADER), (Role.ANY,),
             (Role.DATABASE,), (Role.ANY, Role.ANY)]  # fmt: skip
    reqs, t = [], 0.0
    for i in range(draw(st.integers(1, 20))):
        t += draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]))
        kind = draw(st.integers(0, len(kinds) - 1))
        run_time = draw(st.sampled_from([1.0, 2.0, 5.0]))
        walltime = run_time * draw(st.sampled_from([0.5, 1.0, 2.0]))
        spec = role_job(kinds[kind], run_time, f"k{kind}")
        prio = float(draw(st.integers(0, 2)))
        reqs.append(JobRequest(spec, t, job_id=i, walltime=walltime, priority=prio))
    return cluster, reqs, draw(st.sampled_from([1, 3]))


@pytest.mark.parametrize("policy", FAST)
@settings(max_examples=examples(12), deadline=None)
@given(workload=role_workloads())
def test_fast_passes_with_roles_and_packing(policy, workload):
    # try_start refuses jobs that fit by count: held back (conservative), passed over
    # (easy, sjf), blocking (priority), pushed back (benchhub)
    cluster, reqs, pack = workload
    tables = []
    for memo in (True, False):
        engine = Engine(cluster, Store(History()), policy=make(policy), max_loader_pack=pack)
        if not memo:
            engine.central.memo = None
        engine.run(iter(reqs))
        tables.append(engine.store.tables())
    assert all(tables[0][k].equals(tables[1][k]) for k in tables[0])


@pytest.mark.parametrize("memo", [True, False])
def test_a_start_after_a_job_held_for_its_roles_drops_the_profile(memo):
    """Two role-any nodes, two database nodes. At t=0 conservative starts R (both any
    nodes until 10) and B (a database node until 2), and holds X (2 loaders: by count
    it fits now, by role not) for t=10. At t=1 Y (1 node, 3 s) arrives. A full pass
    re-places X by count at t=2 (B's release) first, so Y must wait for t=2; reusing the
    t=0 profile would start Y at 1 on the free database node. X starts when R ends."""
    cluster = Cluster(
        [Node("a0"), Node("a1"), Node("d0", role=Role.DATABASE), Node("d1", role=Role.DATABASE)]
    )
    reqs = [
        JobRequest(role_job((Role.ANY, Role.ANY), 10.0, "R"), 0.0, job_id=0),
        JobRequest(role_job((Role.LOADER, Role.LOADER), 5.0, "X"), 0.0, job_id=1),
        JobRequest(role_job((Role.DATABASE,), 2.0, "B"), 0.0, job_id=2),
        JobRequest(role_job((Role.ANY,), 3.0, "Y"), 1.0, job_id=3),
    ]
    engine = Engine(cluster, Store(History()), policy="conservative")
    if not memo:
        engine.central.memo = None
    engine.run(iter(reqs))
    starts = engine.store.tables()["jobs"].column("start_time").to_pylist()
    assert starts == [0.0, 10.0, 0.0, 2.0]
