"""A run that cannot go on stops and says so (issue 12 §1).

The engine stops when nothing still to happen can change the fate of a queued or
running job; node failures alone never keep it going. Jobs left over are reported on the
Run, in run.json, as a warning in Python and as a line and exit code 1 from the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from strategies import job_specs

from benchhub_sim.cli import main
from benchhub_sim.cluster import Cluster, load_cluster
from benchhub_sim.errors import StalledRunWarning
from benchhub_sim.sched.assign import job_slots
from benchhub_sim.sched.policies import POLICIES
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.model import (
    Duration,
)
from benchhub_sim.store.fold import fold_history
from benchhub_sim.store.run import load_run
from benchhub_sim.workload.arrivals import poisson_arrivals
from benchhub_sim.workload.base import JobRequest

from .builders import no_units, one_task

DATA = Path(__file__).resolve().parents[2] / "data"


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the block runs longer than ``seconds``."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def noop(view: object) -> None:
    """A policy that starts nothing."""


@pytest.mark.filterwarnings(
    "ignore:simulate\\(.*deprecated:DeprecationWarning"
)  # the whole pipeline, switch on
@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("batch", [True, False])
def test_jobs_with_no_units_all_end_under_every_policy(policy, batch):
    # The case: 3 nodes, two 3-node jobs with no units, both submitted at 0.
    # conservative left the second one queued and reported the run complete.
    spec = no_units(3)
    run = simulate(3, [JobRequest(spec, 0.0), JobRequest(spec, 0.0)], policy=policy, batch=batch)
    assert run.jobs.status.tolist() == ["finished", "finished"]
    polls = policy == "benchhub"  # one job per poll, every 0.5 s
    assert run.jobs.start_time.tolist() == ([0.0, 0.5] if polls else [0.0, 0.0])
    assert run.meta["end_time"] == (0.5 if polls else 0.0)
    assert run.stalled is None


def test_a_job_with_no_units_does_not_end_inside_the_policy_call():
    # What the policy sees right after starting it: the job runs and holds its nodes.
    seen = []

    def watch(view):
        for job in list(view.queued()):
            started = view.try_start(job)
            seen.append((job.job_id, started, view.free_count(), len(list(view.running()))))

    spec = no_units(2)
    run = simulate(4, [JobRequest(spec, 0.0), JobRequest(spec, 0.0)], policy=watch)
    assert seen == [(0, True, 2, 1), (1, True, 0, 2)]
    assert run.jobs.status.tolist() == ["finished", "finished"]


def test_a_policy_that_starts_nothing_on_a_faulty_cluster_ends_and_says_so():
    # The case: it ran for ever (the MTBF/MTTR process kept making events).
    cluster = load_cluster(DATA / "clusters" / "64.yml")
    spec = one_task(2, 10.0)
    with deadline(20), pytest.warns(StalledRunWarning, match=r"5 job\(s\) never ended"):
        run = simulate(cluster, poisson_arrivals(spec, rate=0.1, count=5, seed=1), policy=noop)
    assert run.jobs.status.tolist() == ["queued"] * 5
    last_arrival = run.jobs.submit_time.max()
    assert run.meta["end_time"] == last_arrival  # no fault event after it was run
    assert run.meta["events"] < 50
    assert run.stalled == {
        "count": 5,
        "queued": 5,
        "running": 0,
        "job_ids": [0, 1, 2, 3, 4],
        "reason": "policy 'noop' started none of the 5 queued job(s) that fit the 64 free "
        "node(s), with no job running and none left to arrive",
    }


def test_a_stalled_run_directory_says_so(tmp_path):
    with pytest.warns(StalledRunWarning):
        simulate(4, [JobRequest(one_task(2, 1.0), 0.0)], policy=noop, out=tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["complete"] is True  # the directory was fully written ...
    assert meta["stalled"]["count"] == 1  # ... and says that a job never ended
    assert load_run(tmp_path / "run").stalled == meta["stalled"]
    assert "STALLED" in repr(load_run(tmp_path / "run"))


def test_a_run_where_every_job_ends_records_no_stall_and_its_paths(tmp_path):
    reqs = [
        JobRequest(one_task(1, 1.0), 0.0),
        JobRequest(no_units(1), 5.0),
        JobRequest(one_task(1, 1.0), 6.0),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", StalledRunWarning)
        run = simulate(2, reqs, out=tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "run.json").read_text())
    assert meta["stalled"] is None and run.stalled is None
    # batch mode starts the first job and hands over at the one with no units (general
    # loop); the third is simple again: one step
    assert meta["paths"] == {"batch": 1, "one_step": 1, "general": 1}


def test_a_job_that_needs_a_failed_node_waits_for_its_recovery():
    # 2 nodes; node-1 fails at 0 for 100 s; its recovery is pending, so a job
    # that needs both nodes waits for it: the run goes on until the recovery, not for
    # ever, and the job then runs.
    cluster = Cluster.uniform(2)
    run = simulate(cluster, [JobRequest(one_task(2, 5.0), 0.0)], faults=[(0.0, "node-1", 100.0)])
    assert run.jobs.start_time.tolist() == [100.0]
    assert run.stalled is None


def test_faults_after_the_last_job_do_not_extend_the_run():
    cluster = Cluster.uniform(2)
    faults = [(50.0, "node-0", 10.0), (1e6, "node-1", 10.0)]
    run = simulate(cluster, [JobRequest(one_task(1, 5.0), 0.0)], faults=faults)
    assert run.meta["end_time"] == 5.0
    assert run.jobs.stop_time.tolist() == [5.0]


def test_a_node_down_at_the_last_job_end_still_comes_back():
    # once every job ended, the failures already in progress end (their recoveries
    # are logged), but no new failure starts
    nodes = tuple(dataclasses.replace(n, mtbf=1e6, mttr=50.0) for n in Cluster.uniform(2).nodes)
    run = simulate(
        Cluster(nodes), [JobRequest(one_task(1, 5.0), 0.0)], faults=[(1.0, "node-1", 30.0)], seed=3
    )
    events = run.node_events
    assert events[events.node_id == "node-1"].event.tolist()[-2:] == ["fail", "recover"]
    assert run.meta["end_time"] == 31.0


def test_the_cli_prints_the_stall_and_exits_1(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_policies.py").write_text("def nothing(view):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = DATA / "specs" / "pingpong.yml"
    out = tmp_path / "run"
    code = main(
        ["simulate", "--nodes", "4", "--spec", str(spec), "--count", "2", "--quiet"]
        + ["--policy", "my_policies:nothing", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "stalled: 2 job(s) never ended (2 queued, 0 running; job ids 0, 1)" in err
    assert "Warning" not in err  # one line of ours, not Python's warning format
    assert json.loads((out / "run.json").read_text())["stalled"]["count"] == 2
    sys.modules.pop("my_policies", None)


# -- every run ends, and says which jobs did not ------------------------------------

TIMES = st.sampled_from(
    [Duration.constant(0.0), Duration.constant(1.0), Duration.constant(2.0)]
    + [Duration.constant(5.0), Duration.of("exponential", mean=3.0)]
)


def reverse_order(view):
    """Starts what fits, last submitted first."""
    for job in reversed(list(view.queued())):
        view.try_start(job)


def some_of(seed: int):
    """Starts a pseudo-random subset of the jobs that fit (the same subset for the same
    jobs, time and seed)."""

    def subset(view):
        for job in list(view.queued()):
            if random.Random(f"{seed} {job.job_id} {view.now}").random() < 0.5:
                view.try_start(job)

    return subset


@st.composite
def short(draw, spec):
    """``spec`` with short, tie-prone task times: zeros, equal constants, exponentials."""

    def task(t):
        ready = tuple(task(r) for r in t.ready)
        return dataclasses.replace(t, duration=draw(TIMES), ready=ready, ready_timeout=None)

    stages = tuple(
        dataclasses.replace(s, tasks=tuple(task(t) for t in s.tasks)) for s in spec.stages
    )
    walltime = draw(st.none() | st.sampled_from([1.0, 5.0, 20.0]))
    return dataclasses.replace(spec, stages=stages, walltime=walltime)


@st.composite
def liveness_cases(draw):
    specs = [
        draw(short(s))
        for s in draw(st.lists(job_specs(max_stages=3, max_tasks=2), min_size=1, max_size=3))
    ]
    specs += draw(st.lists(st.sampled_from([no_units(1), no_units(2)]), max_size=1))
    need = max(len(job_slots(s)) for s in specs)
    n_nodes = draw(st.integers(max(1, need - 2), need + 3))  # some jobs may never fit
    nodes = list(Cluster.uniform(n_nodes).nodes)
    faults = []
    if draw(st.booleans()):  # node failures: MTBF/MTTR processes, explicit ones, or both
        for i in draw(st.sets(st.integers(0, n_nodes - 1), max_size=n_nodes)):
            nodes[i] = dataclasses.replace(
                nodes[i],
                mtbf=draw(st.sampled_from([5.0, 30.0, 200.0])),
                mttr=draw(st.sampled_from([0.0, 3.0, 20.0])),
            )
        for _ in range(draw(st.integers(0, 3))):
            node = draw(st.sampled_from(nodes)).node_id
            faults.append((float(draw(st.integers(0, 40))), node, float(draw(st.integers(0, 30)))))
    submits = sorted(draw(st.lists(st.integers(0, 30), min_size=1, max_size=10)))
    reqs = [JobRequest(specs[i % len(specs)], float(t)) for i, t in enumerate(submits)]
    policy = draw(st.sampled_from([*sorted(POLICIES), "noop", "reverse", "subset"]))
    return Cluster(tuple(nodes)), reqs, faults, policy


CUSTOM = {"noop": lambda seed: noop, "reverse": lambda seed: reverse_order, "subset": some_of}


@settings(max_examples=examples(12, long=500))  # issue 12 asks for 500 before a release
@given(liveness_cases(), st.integers(0, 2**16))
def test_every_run_ends_and_every_job_ended_or_is_listed_as_stalled(case, seed):
    cluster, reqs, faults, name = case
    policy = CUSTOM[name](seed) if name in CUSTOM else name
    with deadline(30), warnings.catch_warnings():
        warnings.simplefilter("ignore", StalledRunWarning)
        run = simulate(cluster, reqs, policy=policy, seed=seed, faults=faults)
    assert run.meta["events"] < 100_000
    jobs = run.jobs
    left = set(jobs.job_id[~jobs.status.isin(["finished", "aborted"])])
    if name in POLICIES:
        # every node comes back: a built-in policy starts every job that fits at last
        assert not left, jobs[["job_id", "status", "reason"]]
    if left:
        assert run.stalled["count"] == len(left)
        assert set(run.stalled["job_ids"]) == left
        assert run.stalled["queued"] + run.stalled["running"] == len(left)
    else:
        assert run.stalled is None
    assert sum(run.meta["paths"].values()) == len(jobs)
    folded = fold_history(
        run.tables["job_events"], run.tables["node_events"], run.tables["jobs"], run.tables["nodes"]
    )
    for table in ("nodes", "jobs", "stages", "tasks"):
        assert folded[table].equals(run.tables[table]), table
