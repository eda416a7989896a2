"""Queue policies against schedules computed by hand.

Every job needs ``n`` nodes of role any and runs one task whose duration equals its
walltime, so each start time below follows from the policy's rule alone.
"""

from __future__ import annotations

import pytest
import yaml

from benchhub_sim.cluster import Cluster
from benchhub_sim.errors import ScheduleError
from benchhub_sim.sched.policies import BenchhubCentral, get_policy
from benchhub_sim.simulate import simulate
from benchhub_sim.store.run import load_run
from benchhub_sim.workload.base import JobRequest

from .builders import one_task


def starts(
    policy: str,
    nodes: int,
    jobs: list[tuple[float, int, float]] | list[tuple[float, int, float, float]],
) -> list[float]:
    reqs = []
    for job in jobs:
        submit, n, d = job[:3]
        prio = job[3] if len(job) > 3 else None
        reqs.append(JobRequest(one_task(n, d), submit, priority=prio))
    run = simulate(Cluster.uniform(nodes), reqs, policy=policy)
    jobs_df = run.jobs.sort_values("job_id")
    assert (jobs_df.status == "finished").all()
    return jobs_df.start_time.tolist()


# (submit, nodes, duration = walltime) of the issue's example, on 4 nodes
ISSUE = [(0, 3, 10), (1, 4, 5), (2, 1, 4), (3, 1, 20)]


def test_fcfs_issue_example():
    assert starts("fcfs", 4, ISSUE) == [0, 10, 15, 15]


def test_easy_issue_example():
    # j3 backfills at 2: it ends at 6, before j2's reservation at 10
    assert starts("easy", 4, ISSUE) == [0, 10, 2, 15]


def test_sjf_issue_example():
    # no reservation: j4 (1 node) jumps ahead of j2 (4 nodes) at 6 and j2 starves until 26
    assert starts("sjf", 4, ISSUE) == [0, 26, 2, 6]


def test_conservative_issue_example():
    # j3 fits before j2's reservation; j4 (20 s) would overlap it, so it waits for 15
    assert starts("conservative", 4, ISSUE) == [0, 10, 2, 15]


# A, B, C, D on 4 nodes: EASY protects only the head (B); conservative protects C too.
# A holds 2 nodes until 10; B (3 nodes) is reserved at 10 leaving 1 extra node;
# C (4 nodes) is reserved at 20 by conservative; D (1 node, 30 s) fits the extra node.
PROTECT = [(0, 2, 10), (1, 3, 10), (2, 4, 10), (3, 1, 30)]


def test_easy_backfills_into_extra_nodes_and_delays_the_second_job():
    # D starts at 3 on the extra node; C then waits for D's end at 33
    assert starts("easy", 4, PROTECT) == [0, 10, 33, 3]


def test_conservative_keeps_every_reservation():
    # D would overlap C's reservation [20, 30) where no node is free: it waits for 30
    assert starts("conservative", 4, PROTECT) == [0, 10, 20, 30]


def test_fcfs_protect_example():
    assert starts("fcfs", 4, PROTECT) == [0, 10, 20, 30]


def test_priority_orders_by_priority_then_submit():
    # J1 holds both nodes until 10; then J3 (priority 5) before J2 (priority 1)
    jobs = [(0, 2, 10, 0), (1, 2, 5, 1), (2, 2, 5, 5)]
    assert starts("priority", 2, jobs) == [0, 15, 10]
    assert starts("fcfs", 2, jobs) == [0, 10, 15]


def test_priority_head_blocks():
    # J2 (high priority, 2 nodes) cannot start at 1: J3 (low, 1 node) must not pass it
    jobs = [(0, 1, 10, 0), (1, 2, 5, 9), (2, 1, 1, 0)]
    assert starts("priority", 2, jobs) == [0, 10, 15]


def test_easy_backfills_only_jobs_that_end_before_the_shadow_time():
    # 3 nodes. B (3 nodes) is reserved at 10 with no extra node. C (1 node, 20 s)
    # would still run at 10: it waits. D (1 node, 5 s) ends at 8: it backfills at 3.
    jobs = [(0, 2, 10), (1, 3, 5), (2, 1, 20), (3, 1, 5)]
    assert starts("easy", 3, jobs) == [0, 10, 15, 3]


def test_custom_policy_callable():
    def largest_first(view):
        for job in sorted(view.queued(), key=lambda j: (-j.n_nodes, j.submit, j.job_id)):
            view.try_start(job)

    # both queued at 1 while J0 runs: at 10 the 2-node job goes first
    jobs = [(0, 2, 10), (1, 1, 5), (1, 2, 5)]
    reqs = [JobRequest(one_task(n, d), s) for s, n, d in jobs]
    run = simulate(Cluster.uniform(2), reqs, policy=largest_first)
    assert run.jobs.sort_values("job_id").start_time.tolist() == [0, 15, 10]


def test_unknown_policy_is_a_clear_error():
    with pytest.raises(ScheduleError, match="unknown policy 'fifo'"):
        get_policy("fifo")


def test_easy_counts_every_job_ending_at_the_shadow_time():
    # 10 nodes. A and B (4 nodes each) run until 10; 2 nodes are free. The head H
    # (5 nodes) is reserved at 10, when A *and* B release: 10 nodes free, so the extra
    # nodes are 10 - 5 = 5 (Lifka; Mu'alem & Feitelson 2001), not the 1 left after A
    # alone. C (2 nodes, 100 s) fits now and within the 5 extra nodes: it starts at 2,
    # and H still starts at 10 (8 nodes free then).
    jobs = [(0, 4, 10), (0, 4, 10), (1, 5, 10), (2, 2, 100)]
    assert starts("easy", 10, jobs) == [0, 0, 10, 2]


def test_easy_ties_at_the_shadow_time_with_overdue_jobs():
    # The same with A and B overdue at the pass (walltime 5 < duration 10): both count
    # as releasing now, so the shadow time is now and the extra nodes are 10 - 5 = 5.
    reqs = [
        JobRequest(one_task(4, 10), 0.0, walltime=5.0),
        JobRequest(one_task(4, 10), 0.0, walltime=5.0),
        JobRequest(one_task(5, 10), 6.0),
        JobRequest(one_task(2, 100), 7.0),
    ]
    run = simulate(Cluster.uniform(10), reqs, policy="easy")
    assert run.jobs.sort_values("job_id").start_time.tolist() == [0, 0, 10, 7]


# -- BenchHub's central: one job per poll, pushed to the back when it does not fit --------

ABC = [(0, 3, 10), (0, 3, 10), (0, 1, 1)]  # A, B, C at t=0, in this order, on 4 nodes


def test_benchhub_polls_one_job_and_pushes_it_back():
    # polls at 0, 0.5, 1.0, ...: A starts at 0; B does not fit at 0.5 and goes to the
    # back; C starts at 1.0; B waits for A's end at 10 (fcfs: A 0, B 10, C 10)
    assert starts("benchhub", 4, ABC) == [0, 10, 1.0]
    assert starts("fcfs", 4, ABC) == [0, 10, 10]


def test_benchhub_poll_interval():
    # polls every 2 s: A at 0, B pushed back at 2, C at 4, B at 10
    reqs = [JobRequest(one_task(n, d), s) for s, n, d in ABC]
    run = simulate(Cluster.uniform(4), reqs, policy=BenchhubCentral(interval=2.0))
    assert run.jobs.start_time.tolist() == [0, 10, 4]
    assert run.meta["policy"] == "benchhub"


def test_benchhub_turns_the_queue_while_nothing_can_start():
    # 2 nodes. L (2 nodes, 10 s), X (2 nodes, 1 s), Y (1 node, 1 s) at 0. L starts at 0;
    # then every poll pops X or Y in turn and pushes it back: X at odd polls, Y at even
    # ones. L ends at 10 = poll 20: Y's turn, it starts; X (poll 21 at 10.5) does not
    # fit; Y ends at 11 = poll 22: X starts. (fcfs: X at 10, Y at 11.) The polls from
    # 1.5 to 9.5 change nothing and are not run one by one: the queue is turned by
    # them when L ends.
    reqs = [JobRequest(one_task(n, d), s) for s, n, d in [(0, 2, 10), (0, 2, 1), (0, 1, 1)]]
    run = simulate(Cluster.uniform(2), reqs, policy="benchhub")
    assert run.jobs.start_time.tolist() == [0, 11, 10]
    assert run.meta["events"] < 30  # not one event per poll: 22 polls in 11 s


def test_benchhub_in_the_cli(tmp_path, capsys):
    from benchhub_sim.cli import main
    from benchhub_sim.spec.dump import dump_spec

    lines = ["jobs:"]
    for name, (submit, n, d) in zip("ABC", ABC, strict=True):
        path = tmp_path / f"{name}.yml"
        path.write_text(yaml.safe_dump(dump_spec(one_task(n, d, name=name))))
        lines += [f"  - spec: {path.name}", f"    submit: {submit}"]
    (tmp_path / "jobs.yml").write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    code = main(
        ["simulate", "--nodes", "4", "--jobs", str(tmp_path / "jobs.yml"), "--policy", "benchhub"]
        + ["--out", str(out), "--quiet"]
    )
    assert code == 0, capsys.readouterr().err
    jobs = load_run(out).jobs.sort_values("job_id")
    assert jobs.name.tolist() == ["A", "B", "C"]
    assert jobs.start_time.tolist() == [0, 10, 1.0]


def test_a_pushed_back_job_is_seen_once_per_iteration():
    # a policy that pushes back every job it cannot start, while iterating the queue
    seen = []

    def rotate_all(view):
        for job in view.queued():
            seen.append(job.job_id)
            if not view.try_start(job):
                view.push_back(job)

    reqs = [JobRequest(one_task(2, 5.0), 0.0), JobRequest(one_task(2, 5.0), 0.0)]
    run = simulate(Cluster.uniform(2), reqs, policy=rotate_all)
    assert run.jobs.start_time.tolist() == [0, 5]
    assert seen == [0, 1, 1]  # at 0: both (job 1 pushed back), at 5: job 1


def test_benchhub_after_a_pause_polls_the_first_job_that_fits():
    # 3 nodes; all at t=0: L (2 nodes, 100 s), K (1 node, 50 s), X1..X5 (2 nodes, 1 s),
    # Y (1 node, 1 s). L starts at 0, K at 0.5; then nothing fits and the poller pauses.
    # K ends at 50.5 (tick 101): ticks 2-100 turned the queue 99 times (by 3 of 6):
    # X4, X5, Y, X1, X2, X3. Tick 101 pushes X4 back, 102 X5, 103 starts Y at 51.5 (the
    # poll-by-poll reference, textbook.poll_schedule, gives the same). The polls skipped
    # during the pause once counted as idle after K's end: the poller paused again at
    # tick 101 and Y waited for L's end.
    jobs = [(0, 2, 100), (0, 1, 50)] + [(0, 2, 1)] * 5 + [(0, 1, 1)]
    assert starts("benchhub", 3, jobs) == [0, 0.5, 102, 100, 104, 101, 103, 51.5]
