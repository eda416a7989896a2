"""Replays of SWF traces and recorded runs; every expected start time worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.analysis.metrics import summary
from benchhub_sim.cli import main
from benchhub_sim.cluster import Cluster
from benchhub_sim.errors import WorkloadError
from benchhub_sim.replay import replay
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.load import load_spec
from benchhub_sim.spec.model import (
    Duration,
    JobSpec,
    NodeAssignment,
    Selector,
    ShellPayload,
    Stage,
    Task,
)
from benchhub_sim.store.run import load_run
from benchhub_sim.workload.arrivals import poisson_arrivals
from benchhub_sim.workload.replay import replay_cluster, replay_workload

REPO = Path(__file__).resolve().parents[2]

# 4 nodes; (job, submit, run time = requested time, procs)
#   1: 0, 10, 2     2: 1, 10, 4     3: 2, 5, 2     4: 3, 20, 1     5: 4, 3, 2
#
# fcfs: 1 starts at 0. 2 needs all 4 nodes: it waits for 1 (t=10) and blocks the queue.
#       2 runs [10, 20); then 3 (2 nodes) and 4 (1 node) start at 20; 5 needs 2 nodes,
#       1 is free until 3 ends at 25: 5 starts at 25.
# easy: 2 is the head, its reservation is t=10 (when 1 ends), with 0 extra nodes.
#       3 fits at 2 and ends by 2 + 5 = 7 <= 10: backfilled at 2. 4 and 5 find no free
#       node (1 and 3 hold all 4). At 7 (3 ends): 4 would end at 27 > 10, no extra node:
#       no; 5 ends at 7 + 3 = 10 <= 10: backfilled at 7. At 10 (1 and 5 end) 2 starts;
#       4 waits for 2's end at 20.
HAND_TRACE = """\
; MaxProcs: 4
1 0 -1 10 2 -1 -1 2 10 -1 1 1 1 -1 1 1 -1 -1
2 1 -1 10 4 -1 -1 4 10 -1 1 1 1 -1 1 1 -1 -1
3 2 -1 5 2 -1 -1 2 5 -1 1 1 1 -1 1 1 -1 -1
4 3 -1 20 1 -1 -1 1 20 -1 1 1 1 -1 1 1 -1 -1
5 4 -1 3 2 -1 -1 2 3 -1 1 1 1 -1 1 1 -1 -1
"""
FCFS_STARTS = {1: 0.0, 2: 10.0, 3: 20.0, 4: 20.0, 5: 25.0}
EASY_STARTS = {1: 0.0, 2: 10.0, 3: 2.0, 4: 20.0, 5: 7.0}
RUN_TIMES = {1: 10.0, 2: 10.0, 3: 5.0, 4: 20.0, 5: 3.0}


def _starts(run) -> dict[int, float]:
    return dict(zip(run.jobs["job_id"].tolist(), run.jobs["start_time"].tolist(), strict=True))


@pytest.fixture
def hand_trace(tmp_path) -> Path:
    p = tmp_path / "hand.swf"
    p.write_text(HAND_TRACE)
    return p


@pytest.mark.parametrize("policy, expected", [("fcfs", FCFS_STARTS), ("easy", EASY_STARTS)])
def test_hand_trace_start_times(hand_trace, policy, expected):
    run = replay(hand_trace, policy=policy)
    assert len(run.nodes) == 4
    assert _starts(run) == expected
    runtime = (run.jobs["stop_time"] - run.jobs["start_time"]).tolist()
    assert dict(zip(run.jobs["job_id"], runtime, strict=True)) == RUN_TIMES
    assert run.meta["inputs"]["replay"]["kind"] == "swf"


def test_hand_trace_speedup_halves_run_times(hand_trace):
    # fcfs at speedup 2: 1 [0, 5), 2 waits for it [5, 10), 3 and 4 at 10, 3 ends 12.5,
    # 5 starts at 12.5
    run = replay(hand_trace, policy="fcfs", speedup=2)
    assert _starts(run) == {1: 0.0, 2: 5.0, 3: 10.0, 4: 10.0, 5: 12.5}
    assert run.jobs.set_index("job_id")["walltime"].to_dict() == {
        k: v / 2 for k, v in RUN_TIMES.items()
    }


def test_hand_trace_fewer_nodes_given(hand_trace):
    # on 2 nodes job 2 (4 procs) cannot run: skipped; fcfs then runs 1 [0,10), 3 [10,15),
    # 4 [15,35) on one node and 5 needs 2: waits for 4, [35, 38)
    run = replay(hand_trace, policy="fcfs", nodes=2)
    assert _starts(run) == {1: 0.0, 3: 10.0, 4: 15.0, 5: 35.0}
    assert run.meta["skipped"] == {"too_large": 1}


def test_replay_of_a_replayed_trace_keeps_it(hand_trace, tmp_path):
    # a run of an SWF trace has no raw_spec: its jobs are rebuilt from n_nodes and run time
    first = replay(hand_trace, policy="easy", out=tmp_path / "first")
    again = replay(tmp_path / "first", policy="fcfs")
    assert _starts(again) == FCFS_STARTS
    assert _starts(replay(first, policy="easy")) == EASY_STARTS
    # by default a replay keeps the recorded policy, so it reproduces the run
    assert _starts(replay(tmp_path / "first")) == EASY_STARTS


def test_cli_replay_of_a_trace(hand_trace, tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["replay", str(hand_trace), "--policy", "easy", "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert text.startswith("jobs 5: 5 finished, 0 aborted")
    run = load_run(out)
    assert _starts(run) == EASY_STARTS
    assert run.meta["policy"] == "easy"
    assert run.meta["inputs"]["replay"]["source"] == str(hand_trace)


def test_synthetic_trace_easy_beats_fcfs():
    trace = REPO / "data" / "traces" / "synthetic.swf"
    fcfs = replay(trace, policy="fcfs")
    easy = replay(trace, policy="easy")
    for run in (fcfs, easy):
        assert len(run.nodes) == 32  # MaxProcs of the header
        assert len(run.jobs) == 300
        assert (run.jobs["status"] == "finished").all()
    assert summary(fcfs)["mean_wait_s"] > summary(easy)["mean_wait_s"]


def test_warm_start_needs_a_recorded_run(hand_trace):
    with pytest.raises(WorkloadError, match="warm-start needs a recorded run"):
        replay(hand_trace, warm_start=5.0)


def test_cluster_and_nodes_exclude_each_other(hand_trace):
    with pytest.raises(WorkloadError, match="not both"):
        replay(hand_trace, nodes=4, cluster=4)


# -- recorded runs -------------------------------------------------------------------------

# 8 uniform nodes, pingpong (2 nodes, a background server) and oltp (2 nodes, a stopper):
# no fail_prob, so every task of every job finishes and is observed.
CLUSTER = Cluster.uniform(8, cores=16, mem_mb=65536, disk_mb=1_048_576)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    specs = [load_spec(REPO / "data" / "specs" / n) for n in ("pingpong.yml", "oltp.yml")]
    out = tmp_path_factory.mktemp("rec") / "run"
    stream = poisson_arrivals(specs, rate=0.012, count=80, seed=4, mix="random")
    simulate(CLUSTER, stream, policy="easy", seed=5, out=out)
    return load_run(out)


def _fg_durations(run):
    t = run.tasks
    t = t[(t["status"] == "finished") & ~t["background"]]
    key = ["job_id", "stage_name", "node_name", "task_name"]
    d = (t["stop_time"] - t["start_time"]).to_numpy()
    return dict(zip(map(tuple, t[key].astype(object).to_numpy()), d, strict=True))


def test_recorded_run_is_interesting(recorded):
    assert summary(recorded)["mean_wait_s"] > 0  # a queue builds up
    assert (recorded.jobs["status"] == "finished").all()


def test_replay_workload_shares_specs_and_keeps_jobs(recorded):
    reqs = replay_workload(recorded)
    jobs = recorded.jobs.set_index("job_id")
    assert [r.job_id for r in reqs] == sorted(jobs.index, key=lambda j: jobs.loc[j, "submit_time"])
    assert len({id(r.spec) for r in reqs}) == 2  # one JobSpec per distinct raw_spec
    for r in reqs:
        assert r.submit == jobs.loc[r.job_id, "submit_time"]
        assert r.walltime == jobs.loc[r.job_id, "walltime"]


def test_same_policy_reproduces_the_run(recorded):
    again = replay(recorded, policy="easy")
    a = recorded.jobs.set_index("job_id")
    b = again.jobs.set_index("job_id")
    assert b.index.sort_values().tolist() == a.index.sort_values().tolist()
    np.testing.assert_array_equal(b.loc[a.index, "submit_time"], a["submit_time"])
    np.testing.assert_allclose(b.loc[a.index, "start_time"], a["start_time"], rtol=0, atol=1e-6)
    da, db = _fg_durations(recorded), _fg_durations(again)
    assert da.keys() == db.keys()
    for k, v in da.items():
        assert db[k] == pytest.approx(v, abs=1e-9)


def test_other_policy_keeps_submits_and_durations(recorded):
    again = replay(recorded, policy="fcfs")
    a = recorded.jobs.set_index("job_id")
    b = again.jobs.set_index("job_id")
    np.testing.assert_array_equal(b.loc[a.index, "submit_time"], a["submit_time"])
    da, db = _fg_durations(recorded), _fg_durations(again)
    for k, v in da.items():
        assert db[k] == pytest.approx(v, abs=1e-9)
    assert again.meta["inputs"]["replay"]["recorded_policy"] == "easy"


def test_fewer_nodes_raise_the_mean_wait(recorded):
    # every job takes 2 nodes; under fcfs halving the pairs cannot start any job earlier
    base = summary(replay(recorded, policy="fcfs"))["mean_wait_s"]
    fewer = replay(recorded, policy="fcfs", nodes=4)
    assert len(fewer.nodes) == 4
    assert set(fewer.nodes["cores"]) == {16.0}  # the recorded nodes' median capacity
    assert summary(fewer)["mean_wait_s"] > base


def test_speedup_halves_observed_durations(recorded):
    fast = replay(recorded, policy="easy", speedup=2)
    da, db = _fg_durations(recorded), _fg_durations(fast)
    for k, v in da.items():
        assert db[k] == pytest.approx(v / 2, abs=1e-9)
    bg = lambda r: r.tasks[r.tasks["background"]].set_index(["job_id", "task_name"])  # noqa: E731
    ra, rb = bg(recorded), bg(fast)
    np.testing.assert_allclose(
        (rb["ready_time"] - rb["start_time"]).loc[ra.index],
        (ra["ready_time"] - ra["start_time"]) / 2,
        atol=1e-9,
    )
    wa = recorded.jobs.set_index("job_id")["walltime"]
    wb = fast.jobs.set_index("job_id")["walltime"]
    np.testing.assert_allclose(wb.loc[wa.index], wa / 2)


def test_cli_speedup_records_options(recorded, tmp_path, capsys):
    out = tmp_path / "fast"
    rc = main(["replay", str(recorded.path), "--speedup", "2", "--out", str(out), "--quiet"])
    assert rc == 0
    assert "run directory" in capsys.readouterr().out
    opts = load_run(out).meta["inputs"]["replay"]
    assert opts["speedup"] == 2.0 and opts["kind"] == "run" and opts["jobs"] == 80
    assert opts["source"] == str(recorded.path)


@pytest.mark.parametrize("frac", [0.25, 0.6])
def test_warm_start_same_policy_continues_the_run(recorded, frac):
    end = float(recorded.jobs["stop_time"].max())
    t = round(frac * end, 3)
    warm = replay(recorded, policy="easy", warm_start=t)
    a = recorded.jobs.set_index("job_id")
    b = warm.jobs.set_index("job_id")
    ended = a.index[a["stop_time"] <= t]
    assert set(b.index) == set(a.index) - set(ended)
    running = a.index[(a["start_time"] <= t) & (a["stop_time"] > t)]
    queued = a.index[(a["submit_time"] <= t) & (a["start_time"] > t)]
    assert len(running) and len(queued)  # the chosen times see both
    # running jobs start again at t on the nodes they held and end when they ended
    assert (b.loc[running, "start_time"] == t).all()
    assert (b.loc[queued, "submit_time"] == t).all()
    np.testing.assert_allclose(b["stop_time"], a.loc[b.index, "stop_time"], atol=1e-6)
    later = a.index[a["start_time"] > t]
    np.testing.assert_allclose(b.loc[later, "start_time"], a.loc[later, "start_time"], atol=1e-6)

    def held(run, jobs):
        ev = run.job_events[run.job_events["event"] == "assign"]
        ev = ev[ev["job_id"].isin(jobs)]
        return sorted(zip(ev["job_id"], ev["node_id"], strict=True))

    assert held(warm, running) == held(recorded, running)


def test_warm_start_on_other_nodes_is_refused(recorded):
    t = float(recorded.jobs["stop_time"].max()) / 2
    with pytest.raises(WorkloadError, match="recorded nodes"):
        replay(recorded, warm_start=t, cluster=Cluster.uniform(8, prefix="other", cores=16))


def test_replay_cluster_median_capacity(recorded):
    assert replay_cluster(recorded) == Cluster(CLUSTER.nodes, name="8 nodes")
    two = replay_cluster(recorded, nodes=2)
    assert [(n.cores, n.mem_mb, n.disk_mb) for n in two.nodes] == [(16.0, 65536.0, 1_048_576.0)] * 2


def _job(name: str, n: int, seconds: float) -> JobSpec:
    task = Task("t", shell=ShellPayload("true"), duration=Duration.constant(seconds))
    stage = Stage("s", selectors=(Selector(all=True),), tasks=(task,))
    return JobSpec(name, node_assignments=(NodeAssignment("w", count=n),), stages=(stage,))


def test_unfinished_jobs_fall_back_to_the_spec():
    # recorded on 1 node, the 2-node job is aborted as unschedulable (no task ever ran);
    # replayed on 2 nodes it runs with its spec's 7 s, after the 1-node job (3 s, fcfs)
    from benchhub_sim.workload.base import JobRequest

    rec = simulate(1, [JobRequest(_job("one", 1, 3.0), 0.0), JobRequest(_job("two", 2, 7.0), 1.0)])
    assert rec.jobs["status"].tolist() == ["finished", "aborted"]
    again = replay(rec, nodes=2)
    jobs = again.jobs.set_index("job_id")
    assert jobs["status"].tolist() == ["finished", "finished"]
    assert jobs.loc[1, ["start_time", "stop_time"]].tolist() == [3.0, 10.0]


@settings(max_examples=examples(25), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(1, 30), st.integers(1, 4), st.integers(0, 20)),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["fcfs", "easy", "sjf"]),
)
def test_random_traces_keep_submits_and_run_times(tmp_path_factory, jobs, policy):
    lines = ["; MaxProcs: 4"]
    for i, (submit, run_time, procs, extra) in enumerate(jobs, start=1):
        fields = [i, submit, -1, run_time, procs, -1, -1, procs, run_time + extra, -1, 1]
        lines.append(" ".join(map(str, fields + [-1] * 7)))
    path = tmp_path_factory.mktemp("swf") / "r.swf"
    path.write_text("\n".join(lines) + "\n")
    run = replay(path, policy=policy)
    j = run.jobs.set_index("job_id").sort_index()
    assert (j["status"] == "finished").all()
    assert j["submit_time"].tolist() == [float(s) for s, *_ in jobs]
    assert (j["stop_time"] - j["start_time"]).tolist() == [float(r) for _, r, *_ in jobs]
    assert (j["start_time"] >= j["submit_time"]).all()


def test_replay_of_retried_tasks_reproduces_the_run_exactly():
    # failed attempts replay with their own durations, not the finished attempt's
    from benchhub_sim.replay import replay
    from benchhub_sim.simulate import simulate
    from benchhub_sim.spec.model import (
        Duration,
        JobSpec,
        NodeAssignment,
        Selector,
        ShellPayload,
        Stage,
        Task,
    )
    from benchhub_sim.workload.arrivals import poisson_arrivals

    task = Task(
        "t",
        shell=ShellPayload("true"),
        duration=Duration.of("exponential", mean=4.0),
        fail_prob=0.4,
        retries=2,
    )
    spec = JobSpec(
        "flaky",
        node_assignments=(NodeAssignment("w"),),
        stages=(Stage("s", selectors=(Selector(all=True),), tasks=(task,)),),
        walltime=4.0,
    )
    run = simulate(3, poisson_arrivals(spec, rate=0.5, count=150, seed=2), policy="easy", seed=2)
    assert (run.tasks.attempt > 0).sum() > 20  # the scenario does retry
    again = replay(run, policy="easy")
    a, b = run.jobs.sort_values("job_id"), again.jobs.sort_values("job_id")
    assert a.start_time.tolist() == b.start_time.tolist()
    assert a.status.tolist() == b.status.tolist()


def test_cli_replay_of_a_run_reproduces_it_by_default(tmp_path):
    """No options: the recorded policy, cluster, seed and node failures, so the same
    start and stop times (BenchHub specs with background services, retries, a 64-node
    cluster with slow nodes and MTBF faults)."""
    data = REPO / "data"
    rec, rep = tmp_path / "rec", tmp_path / "rep"
    args = ["--cluster", str(data / "clusters" / "64.yml"), "--arrivals", "poisson:0.1"]
    for spec in ("pingpong", "db-loaders"):
        args += ["--spec", str(data / "specs" / f"{spec}.yml")]
    assert main(["simulate", *args, "--count", "120", "--policy", "easy", "--seed", "1",
                 "--out", str(rec), "--quiet"]) == 0  # fmt: skip
    assert main(["replay", str(rec), "--out", str(rep), "--quiet"]) == 0
    a, b = load_run(rec), load_run(rep)
    assert b.meta["policy"] == "easy"
    assert _starts(a) == _starts(b)
    stops = [r.jobs.set_index("job_id")["stop_time"].sort_index().tolist() for r in (a, b)]
    assert stops[0] == pytest.approx(stops[1], rel=1e-12)
