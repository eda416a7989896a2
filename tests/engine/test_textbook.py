"""Every path of the engine gives the schedules of textbook policies written separately.

The reference is :mod:`textbook` (in this folder), which does not import the package.
Workloads are tie-heavy: integer submit times and durations, zero durations, walltimes
equal to, above and below the run time (overdue jobs), jobs larger than the cluster, many
jobs ending at the same time. Each engine path must give the reference's start times:
batch mode, one-step jobs with bulk rows, the general loop step by step, and backfilling
passes that reuse the last pass's reservations or not.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.cluster import Cluster
from benchhub_sim.engine.engine import Engine
from benchhub_sim.sched.policies import BenchhubCentral
from benchhub_sim.store import History, Store
from benchhub_sim.workload.base import JobRequest

from .builders import one_task
from .textbook import Job, poll_schedule, schedule

POLICIES = ["fcfs", "easy", "conservative", "sjf", "priority"]
#: (batch mode, one-step jobs and bulk rows, passes that reuse the last one)
PATHS = {
    "batch": (True, True, True),
    "one_step": (False, True, True),
    "general": (False, False, True),
    "full_passes": (False, False, False),
}


def engine_starts(jobs: list[Job], nodes: int, policy: str, path: str) -> dict[int, float]:
    use_batch, one_step, memo = PATHS[path]
    reqs = [
        JobRequest(
            one_task(j.n, j.duration, walltime=j.walltime), j.submit, job_id=j.job_id,
            priority=j.priority,
        )
        for j in jobs
    ]  # fmt: skip
    store = Store(History(), bulk=one_step)
    engine = Engine(
        Cluster.uniform(nodes), store, policy=policy, one_step=one_step, batch=use_batch
    )
    if not memo:
        engine.central.memo = None  # every pass is a full pass
    engine.run(sorted(reqs, key=lambda r: r.submit))
    assert engine.stalled is None
    table = store.tables()["jobs"].to_pylist()
    return {r["job_id"]: r["start_time"] for r in table if r["start_time"] is not None}


@st.composite
def tie_heavy(draw):
    nodes = draw(st.integers(1, 6))
    jobs = []
    for i in range(draw(st.integers(1, 25))):
        duration = float(draw(st.sampled_from([0, 1, 2, 3, 5])))
        walltime = duration * draw(st.sampled_from([1.0, 1.0, 2.0, 0.5]))
        jobs.append(
            Job(
                job_id=i,
                submit=float(draw(st.integers(0, 8))),
                n=draw(st.integers(1, nodes + 1)),  # some never fit: aborted, no start
                duration=duration,
                walltime=walltime,
                priority=float(draw(st.integers(0, 2))),
            )
        )
    return jobs, nodes


def test_the_reference_by_hand():
    # the EASY tie case of test_policies, computed by the reference too
    jobs = [
        Job(0, 0, 4, 10, 10),
        Job(1, 0, 4, 10, 10),
        Job(2, 1, 5, 10, 10),
        Job(3, 2, 2, 100, 100),
    ]
    assert schedule(jobs, 10, "easy") == {0: 0, 1: 0, 2: 10, 3: 2}
    assert schedule(jobs, 10, "fcfs") == {0: 0, 1: 0, 2: 10, 3: 10}
    assert schedule(jobs, 10, "conservative") == {0: 0, 1: 0, 2: 10, 3: 2}
    # a zero-length job frees its nodes for a second pass at the same instant
    jobs = [Job(0, 0, 2, 0, 0), Job(1, 0, 2, 1, 1)]
    assert schedule(jobs, 2, "fcfs") == {0: 0, 1: 0}


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=examples(12))
@given(workload=tie_heavy())
@example(workload=([Job(0, 0, 4, 10, 10), Job(1, 0, 4, 10, 10), Job(2, 1, 5, 10, 10),
                    Job(3, 2, 2, 100, 100)], 10))  # fmt: skip
def test_every_path_gives_the_textbook_schedule(policy, workload):
    jobs, nodes = workload
    expected = schedule(jobs, nodes, policy)
    for path in PATHS:
        assert engine_starts(jobs, nodes, policy, path) == expected, path


@settings(max_examples=examples(20))
@given(workload=tie_heavy(), interval=st.sampled_from([0.5, 1.0, 2.5]))
def test_benchhub_gives_the_schedule_of_every_poll(workload, interval):
    # the engine pauses while polls cannot start anything; the reference runs them all
    jobs, nodes = workload
    expected = poll_schedule(jobs, nodes, interval)
    for path in ("one_step", "general"):
        policy = BenchhubCentral(interval)
        assert engine_starts(jobs, nodes, policy, path) == expected, path
