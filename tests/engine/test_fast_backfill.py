"""Backfilling passes that reuse the last pass's reservations decide as full passes do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import benchhub_sim.sched.policies as policies
from benchhub_sim.cluster import Cluster
from benchhub_sim.engine.engine import Engine
from benchhub_sim.store import History, Store
from benchhub_sim.workload.base import JobRequest

from .builders import one_task


def run(reqs, n_nodes, policy, faults, *, memo: bool):
    store = Store(History())
    engine = Engine(Cluster.uniform(n_nodes), store, policy=policy, faults=faults)
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
        size = draw(st.integers(1, n_nodes))
        run_time = draw(st.sampled_from([1.0, 2.0, 5.0]))
        # walltimes below the run time make running jobs overdue: their reservations move
        walltime = run_time * draw(st.sampled_from([0.5, 1.0, 2.0]))
        reqs.append(JobRequest(one_task(size, run_time), t, job_id=i, walltime=walltime))
    faults = draw(st.lists(st.tuples(st.sampled_from([0.5, 2.0, 4.0, 7.0]), st.integers(0, n_nodes - 1),
                                     st.sampled_from([0.0, 1.5])), max_size=2))  # fmt: skip
    faults = [(at, f"node-{i}", down) for at, i, down in faults]
    return reqs, n_nodes, faults


@pytest.fixture
def reuse_count(monkeypatch):
    """How many passes reused the state of the pass before."""
    count = {"reused": 0}
    unchanged = policies._unchanged

    def spy(view, key):
        last = unchanged(view, key)
        count["reused"] += last is not None
        return last

    monkeypatch.setattr(policies, "_unchanged", spy)
    return count


@pytest.mark.parametrize("policy", ["easy", "conservative"])
@settings(max_examples=40, deadline=None)
@given(workload=workloads())
def test_reusing_passes_give_the_tables_of_full_passes(policy, workload):
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
    assert reuse_count["reused"] == 4  # t=2, 3, 4, 5
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
    assert reuse_count["reused"] == 1  # t=0.7 only
