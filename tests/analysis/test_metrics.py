"""Metrics on the hand-built run of conftest.py; every expected number is worked out there
or in the comments here."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.analysis.metrics import (
    compare_jobs,
    compare_runs,
    job_metrics,
    makespan,
    mean_utilization,
    node_intervals,
    node_states,
    node_utilization,
    queue_length,
    stage_durations,
    summary,
    throughput,
    time_average,
    utilization,
)
from benchhub_sim.errors import UsageError


def test_job_metrics(run):
    jm = job_metrics(run).set_index("job_id")
    assert jm.loc[[1, 2, 3], "wait"].tolist() == [0.0, 0.0, 8.0]
    assert jm.loc[[1, 2, 3], "turnaround"].tolist() == [10.0, 4.0, 28.0]
    assert jm.loc[[1, 2, 3], "runtime"].tolist() == [10.0, 4.0, 20.0]
    assert jm.loc[[1, 2, 3], "slowdown"].tolist() == pytest.approx([1.0, 1.0, 1.4])
    # J2: 4 / max(4, 10) = 0.4 -> bounded below by 1
    assert jm.loc[[1, 2, 3], "bounded_slowdown"].tolist() == pytest.approx([1.0, 1.0, 1.4])
    assert jm.loc[4, ["wait", "turnaround", "runtime", "bounded_slowdown"]].isna().all()
    assert jm.loc[3, "status"] == "aborted"


def test_bounded_slowdown_tau():
    jobs = pd.DataFrame(
        {
            "job_id": [1],
            "submit_time": [0.0],
            "start_time": [6.0],
            "stop_time": [8.0],
            "status": ["finished"],
            "n_nodes": [1],
        }
    )
    # turnaround 8, runtime 2: slowdown 4, bounded: 8 / max(2, 10) -> 0.8 -> 1; tau=4: 2
    jm = job_metrics(jobs)
    assert jm["slowdown"].iloc[0] == 4.0
    assert jm["bounded_slowdown"].iloc[0] == 1.0
    assert job_metrics(jobs, tau=4)["bounded_slowdown"].iloc[0] == 2.0


def test_makespan_and_throughput(run):
    assert makespan(run) == 30.0
    assert throughput(run) == pytest.approx(2 / 30)


def test_node_intervals(run):
    iv = node_intervals(run)
    got = list(iv.itertuples(index=False, name=None))
    assert got == [
        (1, "n0", 0, 0.0, 10.0),
        (2, "n1", 1, 1.0, 5.0),
        (3, "n0", 0, 10.0, 30.0),
        (3, "n1", 1, 10.0, 30.0),
    ]


def test_node_intervals_fall_back_to_stages(run):
    run.job_events = run.job_events[run.job_events["event"] != "assign"]
    iv = node_intervals(run)
    # same nodes, held from the job's start
    assert sorted(zip(iv["job_id"], iv["node_id"], iv["start"], iv["stop"], strict=True)) == [
        (1, "n0", 0.0, 10.0),
        (2, "n1", 1.0, 5.0),
        (3, "n0", 10.0, 30.0),
        (3, "n1", 10.0, 30.0),
    ]


def test_utilization_step_function(run):
    u = utilization(run)
    assert u.index.tolist() == [0.0, 1.0, 5.0, 10.0, 30.0]
    assert u.tolist() == [0.5, 1.0, 0.5, 1.0, 0.0]
    # busy node-seconds 10 + 4 + 2 * 20 = 54 over 2 nodes x 30 s
    assert mean_utilization(run) == pytest.approx(0.9)


def test_utilization_without_node_rows_counts_n_nodes(run):
    run.job_events = run.job_events.iloc[0:0]
    run.stages = run.stages.iloc[0:0]
    assert utilization(run).tolist() == [0.5, 1.0, 0.5, 1.0, 0.0]


def test_utilization_binned(run):
    u = utilization(run, freq=7.0)
    assert u.index.tolist() == [0.0, 7.0, 14.0, 21.0, 28.0]
    # [0,7): 0.5*1 + 1*4 + 0.5*2 = 5.5; [7,14): 0.5*3 + 1*4 = 5.5; then full; last bin 2 s wide
    assert u.tolist() == pytest.approx([5.5 / 7, 5.5 / 7, 1.0, 1.0, 1.0])


def test_node_utilization(run):
    nu = node_utilization(run)
    assert nu.index.tolist() == ["n0", "n1"]
    assert nu.tolist() == pytest.approx([30 / 30, 24 / 30])


def test_queue_length(run):
    q = queue_length(run)
    # J3 waits from 2 to 10; J4 enters and leaves (aborted) at 20: no change
    assert q.index.tolist() == [0.0, 2.0, 10.0]
    assert q.tolist() == [0.0, 1.0, 0.0]
    assert queue_length(run, freq=10.0).tolist() == pytest.approx([0.8, 0.0, 0.0])


def test_node_states(run):
    ns = node_states(run)
    assert list(ns.columns) == ["idle", "running_job"]
    assert ns.index.tolist() == [0.0, 1.0, 5.0, 10.0, 30.0]
    assert ns["idle"].tolist() == [1, 0, 1, 0, 2]
    assert ns["running_job"].tolist() == [1, 2, 1, 2, 0]
    by_job_state = node_states(run, job_states=True)  # what the nodes do for their jobs
    assert list(by_job_state.columns) == ["idle", "running"]
    assert by_job_state["running"].tolist() == ns["running_job"].tolist()


def test_stage_durations_are_split_by_spec(run):
    sd = stage_durations(run)
    # jobs 1 and 2 are spec a, job 3 spec b: same-named stages of a and b are not pooled
    assert sd.index.tolist() == [("a", "run"), ("a", "setup"), ("b", "db"), ("b", "run"),
                                 ("b", "setup")]  # fmt: skip
    assert sd["count"].tolist() == [2, 2, 1, 1, 2]
    # a/run: [8, 3]; p95 at rank 0.95 * 1 -> 3 + 0.95 * (8 - 3)
    assert sd.loc[("a", "run"), ["mean", "p50", "p95"]].tolist() == pytest.approx([5.5, 5.5, 7.75])
    # a/setup: [2, 1]; b/setup: [3, 2]
    assert sd.loc[("a", "setup"), "p95"] == pytest.approx(1.95)
    assert sd.loc[("b", "setup"), ["mean", "p95"]].tolist() == pytest.approx([2.5, 2.95])
    assert sd.loc[("b", "db"), "mean"] == 17.0 and sd.loc[("b", "run"), "mean"] == 15.0


def test_summary(run):
    s = summary(run)
    assert isinstance(s, pd.Series) and s.name == "fcfs"
    assert (s["jobs"], s["finished"], s["aborted"], s["unfinished"]) == (4, 2, 2, 0)
    assert all(type(s[k]) is int for k in ("jobs", "finished", "aborted", "unfinished"))
    assert s["makespan_s"] == 30.0
    assert s["throughput_per_h"] == pytest.approx(2 / 30 * 3600)
    # waits [0, 0, 8]: p95 at rank 1.9 -> 0 + 0.9 * 8
    assert s["mean_wait_s"] == pytest.approx(8 / 3)
    assert s["median_wait_s"] == 0.0
    assert s["p95_wait_s"] == pytest.approx(7.2)
    assert s["mean_bounded_slowdown"] == pytest.approx(3.4 / 3)
    assert s["utilization"] == pytest.approx(0.9)


def test_compare_runs_one_row_per_run(run, make_run):
    other = make_run()
    other.jobs.loc[other.jobs["job_id"] == 3, "start_time"] = 12.0
    df = compare_runs([run, other], names=["a", "b"])
    assert df.index.tolist() == ["a", "b"]
    assert df.loc["a", "mean_wait_s"] == pytest.approx(8 / 3)
    assert df.loc["b", "mean_wait_s"] == pytest.approx(10 / 3)
    assert list(df.columns[:4]) == ["policy", "cluster", "nodes", "jobs"]
    assert df["policy"].tolist() == ["fcfs", "fcfs"] and df["nodes"].tolist() == [2, 2]
    assert df["cluster"].isna().all()  # the tiny run's meta names no cluster
    # default names: the policy, made unique
    assert compare_runs([run, other]).index.tolist() == ["fcfs", "fcfs (2)"]
    with pytest.raises(ValueError):
        compare_runs([run], names=["a", "b"])
    # a mapping names its runs by its keys; anything but a run is named in the error
    by_name = compare_runs({"x": run, "y": other})
    assert by_name.index.tolist() == ["x", "y"]
    assert by_name.loc["y", "mean_wait_s"] == pytest.approx(10 / 3)
    with pytest.raises(UsageError, match="expected a run .* found str 'x'"):
        compare_runs(["x"])


def test_compare_jobs(run, make_run):
    other = make_run()
    jobs = other.jobs
    jobs.loc[jobs["job_id"] == 3, ["start_time", "stop_time"]] = [5.0, 25.0]
    jobs = jobs[jobs["job_id"] != 1]
    other.jobs = pd.concat(
        [
            jobs,
            pd.DataFrame(
                {
                    "job_id": [99],
                    "submit_time": [0.0],
                    "start_time": [0.0],
                    "stop_time": [1.0],
                    "status": ["finished"],
                    "n_nodes": [1],
                }
            ),
        ]
    )
    cj = compare_jobs(run, other)
    assert cj.index.tolist() == [1, 2, 3, 4, 99]
    assert cj.loc[3, ["wait_a", "wait_b", "wait_diff"]].tolist() == [8.0, 3.0, -5.0]
    assert cj.loc[3, ["start_a", "start_b", "start_diff"]].tolist() == [10.0, 5.0, -5.0]
    assert cj.loc[3, ["runtime_a", "runtime_b", "runtime_diff"]].tolist() == [20.0, 20.0, 0.0]
    assert cj.loc[2, "wait_diff"] == 0.0
    assert np.isnan(cj.loc[1, "wait_b"]) and np.isnan(cj.loc[99, "wait_a"])


def test_time_average():
    s = pd.Series([0.0, 2.0, 0.0], index=[0.0, 1.0, 3.0])
    assert time_average(s) == pytest.approx(4 / 3)
    assert time_average(s, 1.0, 2.0) == 2.0
    # before the first index the function is 0; after the last it holds
    assert time_average(s, -1.0, 5.0) == pytest.approx(4 / 6)


# --- Little's law and invariants on random schedules ----------------------------------


def _queue_run(arrivals, waits, services, n_nodes=1):
    submit = np.asarray(arrivals, dtype=float)
    start = submit + np.asarray(waits, dtype=float)
    stop = start + np.asarray(services, dtype=float)
    jobs = pd.DataFrame(
        {
            "job_id": np.arange(len(submit)),
            "submit_time": submit,
            "start_time": start,
            "stop_time": stop,
            "status": ["finished"] * len(submit),
            "n_nodes": 1,
        }
    )
    nodes = pd.DataFrame({"node_id": [f"n{i}" for i in range(n_nodes)]})
    return SimpleNamespace(
        jobs=jobs,
        nodes=nodes,
        stages=pd.DataFrame(),
        job_events=pd.DataFrame(),
        node_events=pd.DataFrame(),
    )


def test_littles_law_on_a_single_server_queue():
    # FIFO single server, arrivals at 0, 1, 2, 3 with service 2 each: starts 0, 2, 4, 6,
    # waits 0, 1, 2, 3. Over [0, 8]: L = integral of queue / 8 = (1 + 2 + 3) / 8,
    # lambda = 4 / 8, W = 6 / 4, and L = lambda * W.
    arrivals, services = [0.0, 1.0, 2.0, 3.0], [2.0, 2.0, 2.0, 2.0]
    starts = [0.0, 2.0, 4.0, 6.0]
    run = _queue_run(arrivals, np.subtract(starts, arrivals), services)
    q = queue_length(run)
    # t=2: one arrives, one starts -> no change, so no step there
    assert q.index.tolist() == [0.0, 1.0, 3.0, 4.0, 6.0]
    assert q.tolist() == [0.0, 1.0, 2.0, 1.0, 0.0]
    L = time_average(q, 0.0, 8.0)
    lam = 4 / 8
    W = summary(run)["mean_wait_s"]
    assert pytest.approx(6 / 8) == L
    assert pytest.approx(lam * W) == L
    # and the server is busy 8 s out of 8
    assert mean_utilization(run) == pytest.approx(1.0)


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 30), st.integers(1, 20)),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 4),
)
def test_little_and_utilization_identities(rows, n_nodes):
    arrivals = [float(r[0]) for r in rows]
    waits = [float(r[1]) for r in rows]
    services = [float(r[2]) for r in rows]
    run = _queue_run(arrivals, waits, services, n_nodes=n_nodes)
    q = queue_length(run)
    assert (q >= 0).all()
    assert q.iloc[-1] == 0
    start, end = min(arrivals), float(run.jobs["stop_time"].max())
    # Little's law over a horizon that contains every job: L * T = sum of waits
    assert time_average(q, start, end) * (end - start) == pytest.approx(sum(waits))
    # utilization integrates to the busy node-seconds (jobs may overlap: unchecked capacity)
    u = utilization(run)
    assert u.iloc[-1] == pytest.approx(0.0)
    assert time_average(u, start, end) * (end - start) * n_nodes == pytest.approx(sum(services))
