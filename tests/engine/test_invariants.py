"""Invariants of the engine on random workloads of BenchHub-style specs (hypothesis)."""

from __future__ import annotations

import dataclasses

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from strategies import job_specs

from benchhub_sim.cluster import Cluster
from benchhub_sim.sched.assign import job_slots
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.model import JobSpec, Requirements
from benchhub_sim.store.fold import fold_history
from benchhub_sim.workload.base import JobRequest


def runnable(spec: JobSpec) -> JobSpec:
    """No injected failures, no timeouts, no capacity requirements: every job must finish."""

    def fix(task):
        return dataclasses.replace(
            task, fail_prob=0.0, timeout=None, ready=tuple(fix(r) for r in task.ready)
        )

    stages = tuple(
        dataclasses.replace(s, tasks=tuple(fix(t) for t in s.tasks)) for s in spec.stages
    )
    nas = tuple(dataclasses.replace(a, requirements=Requirements()) for a in spec.node_assignments)
    return dataclasses.replace(spec, stages=stages, node_assignments=nas)


@st.composite
def workloads(draw):
    specs = [
        runnable(s)
        for s in draw(st.lists(job_specs(max_stages=4, max_tasks=3), min_size=1, max_size=3))
    ]
    need = max(len(job_slots(s)) for s in specs)
    n_nodes = draw(st.integers(need, need + 6))
    submits = sorted(draw(st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=12)))
    reqs = [JobRequest(specs[i % len(specs)], t) for i, t in enumerate(submits)]
    policy = draw(st.sampled_from(["fcfs", "easy", "conservative", "sjf", "priority"]))
    cleanup = draw(st.sampled_from([0.0, 0.0, 3.0]))  # seconds a node cleans up after a job
    return Cluster.uniform(n_nodes, cleanup_time=cleanup), reqs, policy


def _v(x):
    return None if x is None or x != x else x


def check_no_double_booking(run) -> None:
    ev = run.job_events
    assigned = ev[ev.event == "assign"][["job_id", "node_id"]].drop_duplicates()
    spans = assigned.merge(run.jobs[["job_id", "start_time", "stop_time"]], on="job_id")
    for _, g in spans.groupby("node_id"):
        g = g.sort_values("start_time")
        assert (g.start_time.to_numpy()[1:] >= g.stop_time.to_numpy()[:-1]).all(), g


def check_node_job_states(run) -> None:
    """Each node serves each of its jobs as BenchHub's states say, one job at a time:
    running, finished, reporting, cleanup, then idle (every job here finishes)."""
    ne = run.node_events[run.node_events.event == "state"]
    for _, node in ne.groupby("node_id", observed=True):
        steps = [
            (_v(j), "idle" if s == "idle" else js)
            for j, s, js in zip(node.job_id, node.state, node.job_state, strict=True)
        ]
        assert len(steps) % 5 == 0, steps
        for i in range(0, len(steps), 5):
            job = steps[i][0]
            assert steps[i : i + 5] == [
                (job, "running"), (job, "finished"), (job, "reporting"), (job, "cleanup"),
                (None, "idle"),
            ], steps  # fmt: skip


def check_barriers(run) -> None:
    st_ = run.stages
    for _, job in st_.groupby("job_id"):
        for p in sorted(job.pipeline.unique())[1:]:
            # every earlier pipeline's foreground stages finished, background ones ready
            # (a stage whose label selector matched no node has no rows: look further back)
            prev = job[job.pipeline < p]
            gate = pd.concat(
                [prev.loc[~prev.background, "stop_time"], prev.loc[prev.background, "ready_time"]]
            ).max()
            assert gate == gate, prev  # not NaN: every earlier row has its time
            assert (job.loc[job.pipeline == p, "start_time"] >= gate).all()


def check_background_stopped_at_end(run) -> None:
    tasks = run.tasks.merge(
        run.jobs[["job_id", "stop_time"]].rename(columns={"stop_time": "job_stop"}), on="job_id"
    )
    bg = tasks[tasks.background]
    assert set(bg.status) <= {"stopped"}
    assert (bg.stop_time <= bg.job_stop).all()
    assert not set(run.tasks.status) & {"running", "queued", "background"}


@settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(workloads(), st.integers(0, 2**32 - 1))
def test_random_workloads_keep_every_invariant(w, seed):
    cluster, reqs, policy = w
    run = simulate(cluster, reqs, policy=policy, seed=seed)
    assert (run.jobs.status == "finished").all(), run.jobs[["job_id", "status", "reason"]]
    check_no_double_booking(run)
    check_barriers(run)
    check_background_stopped_at_end(run)
    check_node_job_states(run)
    # snapshots equal the fold of the history
    folded = fold_history(
        run.tables["job_events"], run.tables["node_events"], run.tables["jobs"], run.tables["nodes"]
    )
    for name, table in folded.items():
        assert table.equals(run.tables[name]), name
    # the same seed gives the same tables
    again = simulate(cluster, reqs, policy=policy, seed=seed)
    for name, table in run.tables.items():
        assert again.tables[name].equals(table), name
