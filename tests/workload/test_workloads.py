"""Workloads can be read twice: arrival processes, jobs files, SWF traces, recorded runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from engine.builders import one_task  # tests/ is on the path (tests/conftest.py)

import benchhub_sim as bh
from benchhub_sim.errors import WorkloadError
from benchhub_sim.workload import Workload
from benchhub_sim.workload.base import JobRequest
from benchhub_sim.workload.replay import replay_workload
from benchhub_sim.workload.swf import read_swf, swf_jobs


def _same_jobs(workload: Workload) -> None:
    """Two readings give equal requests, as many as ``len()`` says, as ``to_pandas`` shows."""
    first = [(r.job_id, r.submit, r.spec) for r in workload]
    second = [(r.job_id, r.submit, r.spec) for r in workload]
    assert first == second and len(first) == len(workload) > 0
    df = workload.to_pandas()
    assert df["submit"].tolist() == [s for _, s, _ in first]
    assert df["spec"].tolist() == [spec.name for _, _, spec in first]
    assert df["n_nodes"].tolist() == [sum(a.count for a in s.node_assignments) for *_, s in first]


def test_poisson_arrivals_are_the_same_jobs_every_time_and_the_textbook_stream():
    a, b = one_task(1, 2.0, name="a"), one_task(2, 3.0, name="b")
    jobs = bh.poisson_arrivals([a, b], rate=0.5, count=6, seed=7)
    assert isinstance(jobs, Workload) and len(jobs) == 6
    _same_jobs(jobs)
    # the arrival times are the running sum of exponential gaps of mean 1/rate drawn
    # from stream 1 of the seed (an independent computation of the documented process)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7, spawn_key=(1,))))
    expected = np.cumsum(rng.exponential(1 / 0.5, 6))
    np.testing.assert_array_equal(jobs.to_pandas()["submit"].to_numpy(), expected)
    assert jobs.to_pandas()["spec"].tolist() == ["a", "b"] * 3  # mix="cycle"
    # a seed of None is drawn once, when the workload is made
    loose = bh.poisson_arrivals(a, rate=1.0, count=3, seed=None)
    assert [r.submit for r in loose] == [r.submit for r in loose]


def test_one_poisson_workload_under_two_policies_compares_job_for_job():
    """Before: the second simulate() ran 0 jobs and compare_runs showed NaN."""
    wide, narrow = one_task(3, 10.0, name="wide"), one_task(1, 2.0, name="narrow")
    jobs = bh.poisson_arrivals([wide, narrow], rate=1.0, count=8, seed=3)
    runs = [bh.simulate(3, jobs, policy=p, seed=3) for p in ("fcfs", "easy")]
    table = bh.compare_runs(runs, ["fcfs", "easy"])
    assert table["jobs"].tolist() == [8, 8]
    numbers = table[["makespan_s", "mean_wait_s", "utilization"]].to_numpy(float)
    assert np.isfinite(numbers).all()
    submits = [r.jobs.sort_values("job_id")["submit_time"].tolist() for r in runs]
    assert submits[0] == submits[1] == jobs.to_pandas()["submit"].tolist()


def test_every_reader_returns_a_workload(tmp_path):
    spec = one_task(1, 1.0)
    _same_jobs(bh.fixed_arrivals(spec, every=2.0, count=3))
    jobs_file = tmp_path / "jobs.yml"
    inline = {
        "name": "x",
        "nodeAssignments": [{"properties": {"name": "w", "role": "any"}}],
        "stages": [
            {
                "name": "s",
                "selectors": [{"name": "w"}],
                "tasks": [{"name": "t", "shell": {"command": "true"}}],
            }
        ],
    }
    jobs_file.write_text(json.dumps({"jobs": [{"spec": inline, "submit": 5, "count": 2}]}))
    _same_jobs(bh.load_jobs(jobs_file))
    trace = tmp_path / "t.swf"
    trace.write_text(
        "; MaxProcs: 4\n"
        "1 0 -1 10 2 -1 -1 2 20 -1 1 1 1 -1 1 1 -1 -1\n"
        "2 3 -1 -1 1 -1 -1 1 20 -1 1 1 1 -1 1 1 -1 -1\n"  # no run time: skipped
        "3 4 -1 5 8 -1 -1 8 20 -1 1 1 1 -1 1 1 -1 -1\n"  # 8 procs on 4 nodes: skipped
    )
    swf, _ = swf_jobs(read_swf(trace), nodes=4)
    _same_jobs(swf)
    assert dict(swf.skipped) == {"no_run_time": 1, "too_large": 1}
    assert swf.to_pandas()["run_time"].tolist() == [10.0]
    recorded = replay_workload(bh.simulate(2, bh.fixed_arrivals(spec, count=2)))
    _same_jobs(recorded)


def test_a_one_shot_iterator_is_refused_the_second_time_not_run_empty():
    """Before: the second run of a generator ran 0 jobs, silently."""
    spec = one_task(1, 1.0)
    stream = (JobRequest(spec, float(t)) for t in range(3))
    assert len(bh.simulate(1, stream).jobs) == 3
    with pytest.raises(WorkloadError, match="read by an earlier run"):
        bh.simulate(1, stream)
    used = iter([JobRequest(spec, 0.0)])  # no weak reference to a list iterator
    bh.simulate(1, used)
    with pytest.raises(WorkloadError, match="yields no jobs"):
        bh.simulate(1, used)


def test_no_jobs_is_an_error_that_says_why(tmp_path):
    """Before: an empty run exited 0 with NaN metrics."""
    with pytest.raises(WorkloadError, match="the workload has no jobs"):
        bh.simulate(2, [])
    trace = tmp_path / "t.swf"
    trace.write_text("; MaxProcs: 2\n1 0 -1 10 4 -1 -1 4 20 -1 1 1 1 -1 1 1 -1 -1\n")
    with pytest.raises(WorkloadError, match=r"every job was skipped: 1 too_large"):
        bh.replay(trace)
