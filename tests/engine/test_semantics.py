"""Execution semantics (DESIGN.md) on small scenarios whose event logs are known by hand."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.load import load_spec
from benchhub_sim.spec.model import (
    Driver,
    Duration,
    JobSpec,
    NodeAssignment,
    Role,
    Selector,
    ShellPayload,
    Stage,
    StagePipeline,
    StopperPayload,
    Task,
)
from benchhub_sim.workload.base import JobRequest

from .builders import one_task

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "benchhub"
DATA = Path(__file__).resolve().parents[2] / "data"


def sh(name: str, d: float | None = None, **kw: object) -> Task:
    return Task(
        name, shell=ShellPayload("true"), duration=None if d is None else Duration.constant(d), **kw
    )  # type: ignore[arg-type]


def server_client(ping: float = 3.0, probe: float = 2.0, **ping_kw: object) -> JobSpec:
    return JobSpec(
        "tiny",
        node_assignments=(NodeAssignment("srv", Role.DATABASE), NodeAssignment("cli", Role.LOADER)),
        pipelines=(StagePipeline("p0", ("start",)), StagePipeline("p1", ("ping",))),
        stages=(
            Stage(
                "start",
                background=True,
                selectors=(Selector(name="srv"),),
                tasks=(sh("server", background=True, ready=(sh("probe", probe),)),),
            ),
            Stage("ping", selectors=(Selector(name="cli"),), tasks=(sh("ping", ping, **ping_kw),)),
        ),
    )


DB_LD = Cluster((Node("db", Role.DATABASE), Node("ld", Role.LOADER)))


def log(run) -> list[tuple]:
    ev = run.job_events
    return [
        (
            r.time,
            r.event,
            r.status,
            None if r.stage_name is None or r.stage_name != r.stage_name else r.stage_name,
            _s(r.node_name),
            _s(r.task_name),
        )
        for r in ev.itertuples()
    ]


def _s(v: object) -> object:
    return None if v is None or v != v else v


def node_log(run) -> list[tuple]:
    """(time, node, event, state, job state) of every node event, in order."""
    ev = run.node_events
    return [(r.time, r.node_id, r.event, r.state, _s(r.job_state)) for r in ev.itertuples()]


def test_exact_event_log_of_a_server_and_a_client():
    run = simulate(DB_LD, server_client())
    assert log(run) == [
        (0.0, "submit", "queued", None, None, None),
        (0.0, "assign", "queued", None, "srv", None),
        (0.0, "assign", "queued", None, "cli", None),
        (0.0, "start", "running", None, None, None),
        (0.0, "pipeline_start", "running", None, None, None),
        (0.0, "stage_start", "running", "start", "srv", None),
        (0.0, "task_start", "running", "start", "srv", "server"),
        (2.0, "task_ready", "background", "start", "srv", "server"),
        (2.0, "stage_ready", "background", "start", "srv", None),
        (2.0, "pipeline_finish", "background", None, None, None),
        (2.0, "pipeline_start", "running", None, None, None),
        (2.0, "stage_start", "running", "ping", "cli", None),
        (2.0, "task_start", "running", "ping", "cli", "ping"),
        (5.0, "task_finish", "finished", "ping", "cli", "ping"),
        (5.0, "stage_finish", "finished", "ping", "cli", None),
        (5.0, "pipeline_finish", "finished", None, None, None),
        (5.0, "task_stop", "stopped", "start", "srv", "server"),
        (5.0, "stage_stop", "stopped", "start", "srv", None),
        (5.0, "pipeline_finish", "finished", None, None, None),  # pipeline 0, in the background
        (5.0, "finish", "finished", None, None, None),
    ]
    assigns = run.job_events.loc[run.job_events.event == "assign", ["detail", "role"]]
    assert assigns.astype(object).values.tolist() == [["exact", "database"], ["exact", "loader"]]
    assert node_log(run) == [
        (0.0, "db", "register", "idle", None),
        (0.0, "ld", "register", "idle", None),
        (0.0, "db", "state", "running_job", "running"),
        (0.0, "ld", "state", "running_job", "running"),
        (5.0, "db", "state", "running_job", "finished"),
        (5.0, "db", "state", "running_job", "reporting"),
        (5.0, "db", "state", "running_job", "cleanup"),
        (5.0, "db", "state", "idle", None),
        (5.0, "ld", "state", "running_job", "finished"),
        (5.0, "ld", "state", "running_job", "reporting"),
        (5.0, "ld", "state", "running_job", "cleanup"),
        (5.0, "ld", "state", "idle", None),
    ]
    # one global order across both tables
    seqs = sorted(run.job_events.seq.tolist() + run.node_events.seq.tolist())
    assert seqs == list(range(len(seqs)))


def test_failed_task_aborts_job_stops_server_and_releases_nodes():
    spec = server_client(ping=3.0, fail_prob=1.0)
    run = simulate(DB_LD, [JobRequest(spec, 0), JobRequest(spec, 1)])
    jobs = run.jobs.sort_values("job_id")
    assert jobs.status.tolist() == ["aborted", "aborted"]
    assert (
        jobs.reason.iloc[0] == "task ping.ping on cli (ld) failed: simulated failure (fail_prob=1)"
    )
    assert jobs.stop_time.tolist() == [5.0, 10.0]  # the second job got the nodes at 5
    tasks = run.tasks.set_index(["job_id", "task_name"])
    assert tasks.loc[(0, "server"), "status"] == "stopped"
    assert tasks.loc[(0, "ping"), "status"] == "failed"
    assert tasks.loc[(0, "ping"), "exit_code"] == 1
    stages = run.stages.set_index(["job_id", "stage_name"])
    assert stages.loc[(0, "ping"), "status"] == "aborted"
    assert stages.loc[(0, "start"), "status"] == "stopped"
    # the aborted job's nodes go through error, then report and clean up
    assert [e for e in node_log(run) if e[0] == 5.0] == [
        (5.0, "db", "state", "running_job", "error"),
        (5.0, "db", "state", "running_job", "reporting"),
        (5.0, "db", "state", "running_job", "cleanup"),
        (5.0, "db", "state", "idle", None),
        (5.0, "ld", "state", "running_job", "error"),
        (5.0, "ld", "state", "running_job", "reporting"),
        (5.0, "ld", "state", "running_job", "cleanup"),
        (5.0, "ld", "state", "idle", None),
        (5.0, "db", "state", "running_job", "running"),  # the second job
        (5.0, "ld", "state", "running_job", "running"),
    ]
    # both pipelines of job 0 are aborted: one ran, one was in the background
    pipes = run.stage_pipelines[run.stage_pipelines.job_id == 0]
    assert pipes[["pipeline", "status", "stop_time"]].values.tolist() == [
        [0, "aborted", 5.0],
        [1, "aborted", 5.0],
    ]


def test_reporting_and_cleanup_take_the_node_time_before_it_is_idle():
    """db reports for 1 s and cleans up for 2 s: the second job starts when it is idle."""
    cluster = Cluster(
        (Node("db", Role.DATABASE, reporting_time=1.0, cleanup_time=2.0), Node("ld", Role.LOADER))
    )
    spec = server_client()
    run = simulate(cluster, [JobRequest(spec, 0), JobRequest(spec, 0)])
    assert run.jobs.sort_values("job_id").start_time.tolist() == [0.0, 8.0]
    db = [e for e in node_log(run) if e[1] == "db" and 5.0 <= e[0] <= 8.0]
    assert db == [
        (5.0, "db", "state", "running_job", "finished"),
        (5.0, "db", "state", "running_job", "reporting"),
        (6.0, "db", "state", "running_job", "cleanup"),
        (8.0, "db", "state", "idle", None),
        (8.0, "db", "state", "running_job", "running"),
    ]
    assert run.nodes.set_index("node_id").loc["db", "heartbeat"] == 13.0 + 3.0


def test_a_node_failing_while_it_cleans_up_stays_out_until_it_recovers():
    cluster = Cluster((Node("db", Role.DATABASE, cleanup_time=4.0), Node("ld", Role.LOADER)))
    spec = server_client()
    run = simulate(cluster, [JobRequest(spec, 0), JobRequest(spec, 0)], faults=[(6.0, "db", 3.0)])
    db = [e[2:] for e in node_log(run) if e[1] == "db" and 5.0 <= e[0] <= 9.0]
    assert db == [
        ("state", "running_job", "finished"),
        ("state", "running_job", "reporting"),
        ("state", "running_job", "cleanup"),
        ("fail", "offline", None),
        ("recover", "idle", None),
        ("state", "running_job", "running"),
    ]
    assert run.jobs.sort_values("job_id").start_time.tolist() == [0.0, 9.0]


def test_retries_happen_before_the_failure_counts():
    run = simulate(DB_LD, server_client(ping=3.0, fail_prob=1.0, retries=2))
    ping = run.tasks[run.tasks.task_name == "ping"].sort_values("attempt")
    assert ping.attempt.tolist() == [0, 1, 2]
    assert ping.status.tolist() == ["failed", "failed", "failed"]
    assert ping.start_time.tolist() == [2.0, 5.0, 8.0]
    assert run.jobs.status.tolist() == ["aborted"]
    assert run.jobs.stop_time.tolist() == [11.0]
    assert (run.job_events.event == "task_retry").sum() == 2


def test_timeout_fails_the_task_at_the_timeout():
    run = simulate(DB_LD, server_client(ping=10.0, timeout=3.0))
    ping = run.tasks[run.tasks.task_name == "ping"].iloc[0]
    assert (ping.status, ping.stop_time, ping.reason) == ("failed", 5.0, "timeout after 3 s")
    assert run.jobs.status.tolist() == ["aborted"]


def test_stopper_stops_the_background_stage_when_it_runs():
    base = server_client()
    stop = Stage(
        "teardown",
        selectors=(Selector(name="cli"),),
        tasks=(Task("halt", driver=Driver.STOPPER, stopper=StopperPayload("start")),),
    )
    spec = JobSpec(
        "stopped",
        node_assignments=base.node_assignments,
        pipelines=base.pipelines + (StagePipeline("p2", ("teardown",)),),
        stages=base.stages + (stop,),
    )
    run = simulate(DB_LD, spec)
    server = run.tasks[run.tasks.task_name == "server"].iloc[0]
    assert (server.status, server.stop_time, server.reason) == (
        "stopped",
        5.0,
        "stopped by teardown.halt",
    )
    assert run.stages.set_index("stage_name").loc["start", "status"] == "stopped"
    assert run.jobs.status.tolist() == ["finished"]
    # stopped by the stopper, not again at job end
    assert (run.job_events.event == "task_stop").sum() == 1


def test_unschedulable_job_is_refused_and_the_run_goes_on():
    reqs = [JobRequest(one_task(5, 1.0), 0), JobRequest(one_task(2, 1.0), 0)]
    run = simulate(4, reqs)
    jobs = run.jobs.sort_values("job_id")
    assert jobs.status.tolist() == ["aborted", "finished"]
    assert jobs.reason.iloc[0].startswith(
        "unschedulable: assignment 'w' needs 5 node(s) of role any, 4 available"
    )


def test_run_where_every_job_is_refused_ends_cleanly():
    run = simulate(Cluster((Node("a", Role.LOADER),)), [server_client(), server_client()])
    assert run.jobs.status.tolist() == ["aborted", "aborted"]
    assert run.jobs.reason.str.contains(
        "unschedulable: assignment 'srv' needs 1 node\\(s\\) of role database"
    ).all()


def test_injected_node_failure_aborts_its_job_and_node_comes_back():
    reqs = [JobRequest(one_task(1, 10.0), 0), JobRequest(one_task(1, 10.0), 1)]
    run = simulate(Cluster((Node("a"),)), reqs, faults=[(4.0, "a", 3.0)])
    jobs = run.jobs.sort_values("job_id")
    assert jobs.status.tolist() == ["aborted", "finished"]
    assert jobs.reason.iloc[0] == "node a failed: injected fault"
    assert jobs.stop_time.iloc[0] == 4.0
    assert jobs.start_time.iloc[1] == 7.0  # after the 3 s repair
    ev = [
        (r.time, r.event, r.state)
        for r in run.node_events.itertuples()
        if r.event in ("fail", "recover")
    ]
    assert ev == [(4.0, "fail", "offline"), (7.0, "recover", "idle")]
    t = run.tasks.sort_values("job_id").iloc[0]
    assert (t.status, t.reason) == ("failed", "injected fault")


def test_node_speed_divides_durations():
    run = simulate(Cluster((Node("fast", speed=2.0),)), one_task(1, 10.0))
    assert run.jobs.stop_time.tolist() == [5.0]


def test_mtbf_faults_are_reproducible_and_every_job_ends():
    cluster = Cluster(tuple(Node(f"n{i}", mtbf=50.0, mttr=5.0) for i in range(4)))
    reqs = [
        JobRequest(one_task(2, Duration.of("exponential", mean=5.0)), float(i)) for i in range(60)
    ]
    a = simulate(cluster, reqs, seed=3)
    b = simulate(cluster, reqs, seed=3)
    assert set(a.jobs.status) <= {"finished", "aborted"}
    assert (a.jobs.status == "aborted").any() and (a.jobs.status == "finished").any()
    assert a.jobs.reason.dropna().str.contains("mtbf").all()
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name


def test_same_seed_gives_identical_tables_and_files(tmp_path):
    spec = load_spec(DATA / "specs" / "db-loaders.yml")
    cluster = Cluster.uniform(8, cores=8, mem_mb=16384)
    from benchhub_sim.workload.arrivals import poisson_arrivals

    runs = [
        simulate(
            cluster,
            poisson_arrivals(spec, rate=0.01, count=20, seed=5),
            seed=5,
            out=tmp_path / f"r{i}",
        )
        for i in range(2)
    ]
    assert (runs[0].jobs.status == "finished").sum() >= 15  # 1% task failures, one retry
    for name in runs[0].tables:
        assert runs[0].tables[name].equals(runs[1].tables[name]), name
        assert (tmp_path / "r0" / f"{name}.parquet").read_bytes() == (
            tmp_path / "r1" / f"{name}.parquet"
        ).read_bytes()
    other = simulate(cluster, poisson_arrivals(spec, rate=0.01, count=20, seed=5), seed=6)
    assert not other.tables["tasks"].equals(runs[0].tables["tasks"])


def test_durations_do_not_depend_on_the_policy():
    # common random numbers: job k of a spec draws the same durations under any policy
    short = one_task(1, Duration.of("exponential", mean=3.0), walltime=1.0, name="short")
    long = one_task(1, Duration.of("exponential", mean=3.0), walltime=9.0, name="long")
    reqs = [JobRequest(short if i % 2 else long, 0.5 * i) for i in range(30)]
    runs = [simulate(3, reqs, policy=p, seed=11) for p in ("fcfs", "sjf")]
    d = [
        (r.tasks.sort_values("job_id").stop_time - r.tasks.sort_values("job_id").start_time)
        .round(9)
        .tolist()
        for r in runs
    ]
    assert d[0] == d[1]
    assert (
        runs[0].jobs.start_time.tolist() != runs[1].jobs.start_time.tolist()
    )  # the policies did differ


@pytest.mark.skipif(not SHARED.exists(), reason="BenchHub reference files not present")
def test_benchhub_pingpong_server_ready_before_ping_and_stopped_after():
    from benchhub_sim.cluster import load_cluster

    spec = load_spec(SHARED / "pingpong.yml")
    cluster = load_cluster(SHARED / "nodes_2a.yml")
    run = simulate(cluster, [JobRequest(spec, float(i)) for i in range(5)])
    assert (run.jobs.status == "finished").all()
    st = run.stages.set_index(["job_id", "stage_name"])
    for job_id in range(5):
        server, ping = st.loc[(job_id, "start_server")], st.loc[(job_id, "ping_server")]
        assert server.start_time < server.ready_time <= ping.start_time
        assert server.stop_time >= ping.stop_time
        assert server.status == "stopped"


def test_tables_have_the_contract_schemas():
    from benchhub_sim.store.schema import TABLES

    run = simulate(DB_LD, server_client())
    for name, schema in TABLES.items():
        assert run.tables[name].schema.names == schema.names, name
        assert isinstance(run.tables[name], pa.Table)


def test_tasks_record_the_command_they_would_run_rendered_on_their_nodes():
    ping = Task("ping", shell=ShellPayload("ping -c 1 {{.Nodes.srv.Ip}} # on {{.Node.Name}}"))
    spec = JobSpec(
        "ping",
        node_assignments=(NodeAssignment("srv", Role.DATABASE), NodeAssignment("cli", Role.LOADER)),
        stages=(
            Stage("ping", selectors=(Selector(name="cli"),), tasks=(ping,)),
            Stage(
                "halt",
                selectors=(Selector(name="srv"),),
                tasks=(Task("halt", driver=Driver.STOPPER, stopper=StopperPayload("ping")),),
            ),
        ),
    )
    cluster = Cluster((Node("db", Role.DATABASE, ip="10.0.0.7"), Node("ld", Role.LOADER)))
    run = simulate(cluster, spec)
    assert run.tasks[["task_name", "task_pipeline", "command"]].values.tolist() == [
        ["ping", 0, "ping -c 1 10.0.0.7 # on cli"],
        ["halt", 0, "stop ping"],
    ]
    starts = run.job_events[run.job_events["event"] == "task_start"]
    assert starts["command"].tolist() == ["ping -c 1 10.0.0.7 # on cli", "stop ping"]
