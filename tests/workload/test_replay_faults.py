"""Replaying the node failures of a recorded run; every expected time worked out by hand.

The recording (fcfs, nodes ``a`` and ``b``, every job one 10 s task on one node, and one
injected fault ``(4, "a", 3)``):

- job 0, submitted at 0, starts on ``a`` at 0; job 1, submitted at 1, starts on ``b``;
- at 4 node ``a`` fails: job 0 aborts; ``a`` is offline until 4 + 3 = 7;
- job 2, submitted at 5, finds no free node (``a`` down, ``b`` busy until 11) and starts
  on ``a`` when it recovers at 7; it ends at 17.

Without the fault job 0 would run its 10 s and end at 10, and job 2 would start at 10.
"""

from __future__ import annotations

import types

import pandas as pd
import pytest

from benchhub_sim.cli import main
from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.errors import WorkloadError
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
from benchhub_sim.store.run import load_run
from benchhub_sim.workload.base import JobRequest
from benchhub_sim.workload.replay import faults_since, recorded_faults

FAULT = (4.0, "a", 3.0)
RECORDED_STATUS = {0: "aborted", 1: "finished", 2: "finished"}
RECORDED_START = {0: 0.0, 1: 1.0, 2: 7.0}
NO_FAULT_START = {0: 0.0, 1: 1.0, 2: 10.0}


def ten_seconds() -> JobSpec:
    return JobSpec(
        "ten",
        node_assignments=(NodeAssignment("w"),),
        stages=(
            Stage(
                "s",
                selectors=(Selector(all=True),),
                tasks=(Task("t", shell=ShellPayload("true"), duration=Duration.constant(10.0)),),
            ),
        ),
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    spec = ten_seconds()
    reqs = [JobRequest(spec, t) for t in (0.0, 1.0, 5.0)]
    out = tmp_path_factory.mktemp("rec") / "run"
    return simulate(Cluster((Node("a"), Node("b"))), reqs, seed=1, faults=[FAULT], out=out)


def _col(run, name) -> dict[int, object]:
    return dict(
        zip(run.jobs["job_id"].tolist(), run.jobs[name].astype(object).tolist(), strict=True)
    )


def _fail_recover(run) -> list[tuple[float, str, str]]:
    ev = run.node_events.sort_values("seq")
    return [
        (float(t), str(n), str(e))
        for t, n, e in zip(
            ev["time"], ev["node_id"].astype(object), ev["event"].astype(object), strict=True
        )
        if e in ("fail", "recover")
    ]


def test_the_recording_is_as_worked_out(recorded):
    assert _col(recorded, "status") == RECORDED_STATUS
    assert _col(recorded, "start_time") == RECORDED_START
    assert _fail_recover(recorded) == [(4.0, "a", "fail"), (7.0, "a", "recover")]


def test_recorded_faults_returns_the_injected_fault(recorded):
    assert recorded_faults(recorded) == [FAULT]


def test_recorded_faults_pairs_each_fail_with_the_next_recover():
    # a: down 2..5, then fails at 8 and never recovers; b: down 3..4; c only deregisters.
    # The recording's last event is job_events' 20, so a's second failure lasts 20 - 8.
    ev = pd.DataFrame(
        {
            "seq": [1, 2, 3, 4, 5, 6, 7],
            "time": [2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 9.0],
            "node_id": ["a", "b", "b", "a", "c", "a", "a"],
            "event": ["fail", "fail", "recover", "recover", "deregister", "fail", "fail"],
        }
    )
    run = types.SimpleNamespace(node_events=ev, job_events=pd.DataFrame({"time": [1.0, 20.0]}))
    assert recorded_faults(run) == [(2.0, "a", 3.0), (3.0, "b", 1.0), (8.0, "a", 12.0)]
    no_failure = types.SimpleNamespace(node_events=ev[ev.event == "deregister"], job_events=ev)
    assert recorded_faults(no_failure) == []


def test_faults_since_keeps_later_ones_and_shortens_those_down_at_t():
    faults = [(1.0, "a", 2.0), (2.0, "b", 6.0), (5.0, "c", 1.0), (6.0, "a", 1.0)]
    # a's first ends at 3 <= 5: gone; b is down 2..8: (5, b, 3); c fails at 5: kept
    assert faults_since(faults, 5.0) == [(5.0, "b", 3.0), (5.0, "c", 1.0), (6.0, "a", 1.0)]


def test_replay_on_the_recorded_cluster_reproduces_the_failure_by_default(recorded):
    run = replay(recorded.path)
    assert _col(run, "status") == RECORDED_STATUS
    assert _col(run, "start_time") == RECORDED_START
    assert _fail_recover(run) == _fail_recover(recorded)
    opts = run.meta["inputs"]["replay"]
    assert (opts["faults"], opts["faults_applied"], opts["faults_dropped"]) == ("recorded", 1, 0)
    assert opts["faults_recorded"] == 1


@pytest.mark.parametrize("off", [None, "none"])
def test_without_faults_the_aborted_job_finishes(recorded, off):
    run = replay(recorded, faults=off)
    assert _col(run, "status") == {0: "finished", 1: "finished", 2: "finished"}
    assert _col(run, "start_time") == NO_FAULT_START
    assert _col(run, "stop_time") == {0: 10.0, 1: 11.0, 2: 20.0}
    assert _fail_recover(run) == []
    assert run.meta["inputs"]["replay"]["faults"] == "none"


def test_explicit_faults_are_injected(recorded):
    # b fails at 2: job 1 (on b since 1) aborts; b is back at 2 + 1 = 3. Job 0 (no fault
    # now) ends at 10; job 2 at 5 takes b, free since 3, and ends at 15.
    run = replay(recorded, faults=[(2.0, "b", 1.0)])
    assert _col(run, "status") == {0: "finished", 1: "aborted", 2: "finished"}
    assert _col(run, "start_time") == {0: 0.0, 1: 1.0, 2: 5.0}
    assert _fail_recover(run) == [(2.0, "b", "fail"), (3.0, "b", "recover")]
    assert run.meta["inputs"]["replay"]["faults"] == "explicit"


def test_recorded_faults_on_other_nodes_are_dropped_and_counted(recorded):
    # --nodes 2 names its nodes node-0 and node-1: the failure of "a" has no node
    run = replay(recorded, nodes=2, faults="recorded")
    opts = run.meta["inputs"]["replay"]
    assert (opts["faults"], opts["faults_applied"], opts["faults_dropped"]) == ("recorded", 0, 1)
    assert _col(run, "start_time") == NO_FAULT_START
    assert _fail_recover(run) == []


def test_another_cluster_replays_no_faults_by_default(recorded):
    # the same ids on a cluster given explicitly: still other machines, so no failure
    run = replay(recorded, cluster=Cluster((Node("a"), Node("b"))))
    opts = run.meta["inputs"]["replay"]
    assert (opts["faults"], opts["faults_applied"], opts["faults_recorded"]) == ("none", 0, 1)
    assert _col(run, "start_time") == NO_FAULT_START
    again = replay(recorded, cluster=Cluster((Node("a"), Node("b"))), faults="recorded")
    assert _col(again, "start_time") == RECORDED_START


def test_warm_start_after_the_recovery_drops_the_failure(recorded):
    # at 8: job 0 ended, job 1 runs on b (until 11), job 2 on a (until 17); a is back
    run = replay(recorded, warm_start=8.0)
    assert run.meta["inputs"]["replay"]["faults_applied"] == 0
    assert _fail_recover(run) == []
    assert _col(run, "stop_time") == {1: 11.0, 2: 17.0}


def test_warm_start_while_down_replays_what_is_left_of_the_failure(recorded):
    # at 6: a is down until 7, job 1 runs on b, job 2 (submitted at 5) is queued. The
    # failure becomes (6, a, 1): job 2 waits for a until 7, as in the recording.
    # Without it, job 2 would start at 6 on the idle a.
    run = replay(recorded, warm_start=6.0)
    assert _fail_recover(run) == [(6.0, "a", "fail"), (7.0, "a", "recover")]
    assert _col(run, "start_time") == {1: 6.0, 2: 7.0}
    assert _col(run, "stop_time") == {1: 11.0, 2: 17.0}
    without = replay(recorded, warm_start=6.0, faults=None)
    assert _col(without, "start_time") == {1: 6.0, 2: 6.0}


def test_bad_faults_are_reported(recorded, tmp_path):
    with pytest.raises(WorkloadError, match="faults must be 'recorded', 'none'"):
        replay(recorded, faults="sometimes")
    with pytest.raises(WorkloadError) as err:
        replay(recorded, faults=[(1.0, "a"), (-1.0, "a", 2.0)])
    assert err.value.problems == [
        "faults[0]: expected (time, node_id, down_seconds), got (1.0, 'a')",
        "faults[1]: time and down_seconds must be finite numbers >= 0, got (-1.0, 'a', 2.0)",
    ]
    trace = tmp_path / "t.swf"
    trace.write_text("; MaxProcs: 1\n1 0 -1 10 1 -1 -1 1 10 -1 1 1 1 -1 1 1 -1 -1\n")
    with pytest.raises(WorkloadError, match="needs a recorded run"):
        replay(trace, faults="recorded")


@pytest.mark.parametrize(
    "flag, status",
    [([], RECORDED_STATUS), (["--faults", "none"], {0: "finished", 1: "finished", 2: "finished"})],
)
def test_cli_faults_flag(recorded, tmp_path, capsys, flag, status):
    out = tmp_path / "replayed"
    rc = main(["replay", str(recorded.path), *flag, "--out", str(out), "--quiet"])
    assert rc == 0
    assert _col(load_run(out), "status") == status


def test_cli_recorded_flag_and_bad_value(recorded, tmp_path, capsys):
    out = tmp_path / "replayed"
    rc = main(
        [
            "replay",
            str(recorded.path),
            "--nodes",
            "2",
            "--faults",
            "recorded",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    assert load_run(out).meta["inputs"]["replay"]["faults_dropped"] == 1
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(recorded.path), "--faults", "sometimes", "--out", str(out), "--quiet"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--faults: invalid choice: 'sometimes'" in err and "'recorded', 'none'" in err


def test_a_run_with_mtbf_failures_replays_exactly(tmp_path):
    # random node failures (mtbf 50 s, mttr 5 s) abort some jobs; the killed tasks fall
    # back to the spec, which draws the same durations under the same seed, so a replay
    # on the recorded cluster repeats every job and every fail/recover row
    spec = JobSpec(
        "two",
        node_assignments=(NodeAssignment("w0"), NodeAssignment("w1")),
        stages=(
            Stage(
                "s",
                selectors=(Selector(all=True),),
                tasks=(
                    Task(
                        "t",
                        shell=ShellPayload("true"),
                        duration=Duration.of("exponential", mean=5.0),
                    ),
                ),
            ),
        ),
    )
    cluster = Cluster(tuple(Node(f"n{i}", mtbf=50.0, mttr=5.0) for i in range(4)))
    reqs = [JobRequest(spec, float(i)) for i in range(60)]
    rec = simulate(cluster, reqs, seed=3, policy="easy", out=tmp_path / "rec")
    assert (rec.jobs["status"] == "aborted").any()
    run = replay(rec.path, policy="easy")
    for name in ("status", "start_time", "stop_time"):
        assert _col(run, name) == _col(rec, name), name
    assert _fail_recover(run) == _fail_recover(rec)
    assert len(_fail_recover(rec)) == 2 * run.meta["inputs"]["replay"]["faults_applied"]
    quiet = replay(rec.path, policy="easy", faults=None)
    assert set(quiet.jobs["status"]) == {"finished"}
