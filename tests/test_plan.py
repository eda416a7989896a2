"""The planner: node binding, then pipelines -> stages -> nodes -> task pipelines -> tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis_profiles import examples
from strategies import job_specs

from benchhub_sim.cluster import Cluster, Node, load_cluster
from benchhub_sim.errors import ScheduleError
from benchhub_sim.plan import Plan, plan_job
from benchhub_sim.spec.model import (
    DockerAction,
    DockerPayload,
    DockerPort,
    Driver,
    ExecPayload,
    JobSpec,
    NodeAssignment,
    Role,
    Selector,
    ShellPayload,
    Stage,
    StagePipeline,
    StopperPayload,
    Task,
    TaskPipeline,
    effective_task_pipelines,
)

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / ".." / "shared" / "reference" / "benchhub"
CLUSTERS = REPO / "data" / "clusters"

WGET = "wget https://github.com/benchhub/benchhub/releases/download/v0.0.1/"


def reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"BenchHub reference files not available ({REFERENCE})")
    return path


def shell_task(name: str, command: str, background: bool = False) -> dict:
    return {"name": name, "driver": "shell", "command": command, "background": background}


def one_task_node(name: str, node_id: str, task: dict) -> dict:
    return {
        "name": name,
        "node_id": node_id,
        "task_pipelines": [{"name": "autogen-0", "tasks": [task]}],
    }


#: pingpong.yml on nodes_1l1d.yml, written out from the two files
PINGPONG_PLAN = {
    "job": "pingpong",
    "assignments": [
        {"name": "srv", "role": "database", "node_id": "id-database", "match": "exact"},
        {"name": "cli", "role": "loader", "node_id": "id-loader", "match": "exact"},
    ],
    "pipelines": [
        {
            "name": "download",
            "stages": [
                {
                    "name": "download_client",
                    "background": False,
                    "nodes": [
                        one_task_node(
                            "cli",
                            "id-loader",
                            shell_task(
                                "task-0",
                                WGET + "pingclient-0.0.1.zip && unzip pingclient-0.0.1.zip",
                            ),
                        )
                    ],
                },
                {
                    "name": "download_server",
                    "background": False,
                    "nodes": [
                        one_task_node(
                            "srv",
                            "id-database",
                            shell_task(
                                "task-0",
                                WGET + "pingserver-0.0.1.zip && unzip pingserver-0.0.1.zip",
                            ),
                        )
                    ],
                },
            ],
        },
        {
            "name": "run_server",
            "stages": [
                {
                    "name": "start_server",
                    "background": True,
                    "nodes": [
                        one_task_node(
                            "srv",
                            "id-database",
                            {
                                **shell_task("task-0", "pingserver 8080", background=True),
                                "ready": [
                                    shell_task("ready-0", "waitforit -w http://localhost:8080/ping")
                                ],
                            },
                        )
                    ],
                }
            ],
        },
        {
            "name": "run_workload",
            "stages": [
                {
                    "name": "ping_server",
                    "background": False,
                    "nodes": [
                        one_task_node(
                            "cli",
                            "id-loader",
                            shell_task("task-0", "pingclient http://id-database:8080"),
                        )
                    ],
                }
            ],
        },
    ],
}


def test_pingpong_on_1l1d():
    from benchhub_sim.spec.load import load_spec

    spec = load_spec(reference("pingpong.yml"))
    plan = plan_job(spec, load_cluster(reference("nodes_1l1d.yml")))
    assert isinstance(plan, Plan)
    assert plan.to_dict() == PINGPONG_PLAN


def test_pingpong_on_two_any_nodes_matches_any():
    from benchhub_sim.spec.load import load_spec

    plan = plan_job(load_spec(reference("pingpong.yml")), load_cluster(reference("nodes_2a.yml")))
    assert {a.name: a.match for a in plan.assignments} == {"srv": "any", "cli": "any"}
    assert {a.node_id for a in plan.assignments} == {"id-loader", "id-database"}


# --- expansion on hand-built specs ---------------------------------------------------


def sh(name: str, command: str, **kw) -> Task:
    return Task(name, Driver.SHELL, shell=ShellPayload(command), **kw)


def test_count_expands_slots_and_templates_see_every_address():
    spec = JobSpec(
        "load",
        node_assignments=(
            NodeAssignment("db", Role.DATABASE),
            NodeAssignment("cli", Role.LOADER, count=2),
        ),
        stages=(
            Stage(
                "load",
                selectors=(Selector(name="cli"),),
                tasks=(
                    sh("go", "xb --target={{.Nodes.db.Ip}} --peers={{.Nodes.cli.Ip}}"),
                    sh("me", "echo {{.Node.Name}} {{.Node.Id}} {{.Node.Ip}}"),
                ),
            ),
        ),
    )
    plan = plan_job(spec, load_cluster(CLUSTERS / "small.yml"))
    # small.yml: db at 10.0.0.10, loaders loader-0/1 at 10.0.0.20/21
    assert [(a.name, a.node_id, a.match) for a in plan.assignments] == [
        ("db", "db", "exact"),
        ("cli-0", "loader-0", "exact"),
        ("cli-1", "loader-1", "exact"),
    ]
    (pipeline,) = plan.pipelines
    assert pipeline.name == "autogen-0"
    nodes = pipeline.stages[0].nodes
    assert [(n.name, n.node_id) for n in nodes] == [("cli-0", "loader-0"), ("cli-1", "loader-1")]
    first = [tp.tasks[0].command for tp in nodes[0].task_pipelines]
    assert first == [
        "xb --target=10.0.0.10 --peers=10.0.0.20,10.0.0.21",
        "echo cli-0 loader-0 10.0.0.20",
    ]
    assert nodes[1].task_pipelines[1].tasks[0].command == "echo cli-1 loader-1 10.0.0.21"


def test_drivers_and_task_pipelines():
    stage = Stage(
        "svc",
        background=True,
        selectors=(Selector(all=True),),
        tasks=(
            Task("pull", Driver.DOCKER, docker=DockerPayload("cassandra:3.11")),
            Task("build", Driver.DOCKER, docker=DockerPayload("me/kdb:1", DockerAction.BUILD)),
            Task(
                "run",
                Driver.DOCKER,
                docker=DockerPayload(
                    "cassandra:3.11",
                    DockerAction.RUN,
                    ports=(DockerPort(9042, 19042),),
                    args=("-Dx=1",),
                ),
                background=True,
                ready=(
                    Task(
                        "probe", Driver.EXEC, exec=ExecPayload("nc", ("-z", "{{.Node.Ip}}", "9042"))
                    ),
                ),
            ),
            Task(
                "hi",
                Driver.EXEC,
                exec=ExecPayload("echo", ("a b",)),
                env=(("PEER", "{{.Node.Ip}}"),),
            ),
        ),
        pipelines=(
            TaskPipeline("images", ("pull", "build")),
            TaskPipeline("serve", ("run", "hi")),
        ),
    )
    stop = Stage(
        "stop",
        selectors=(Selector(none=True),),
        tasks=(
            Task("one", Driver.STOPPER, stopper=StopperPayload("svc", "run")),
            Task("all", Driver.STOPPER, stopper=StopperPayload("svc")),
        ),
    )
    spec = JobSpec(
        "d",
        node_assignments=(NodeAssignment("n"),),
        pipelines=(StagePipeline("a", ("svc",)), StagePipeline("b", ("stop",))),
        stages=(stage, stop),
    )
    plan = plan_job(spec, [Node("h", ip="10.9.9.9")])
    (node,) = plan.pipelines[0].stages[0].nodes
    assert [tp.to_dict() for tp in node.task_pipelines] == [
        {
            "name": "images",
            "tasks": [
                {
                    "name": "pull",
                    "driver": "docker",
                    "command": "docker pull cassandra:3.11",
                    "background": False,
                },
                {
                    "name": "build",
                    "driver": "docker",
                    "command": "docker build -t me/kdb:1 .",
                    "background": False,
                },
            ],
        },
        {
            "name": "serve",
            "tasks": [
                {
                    "name": "run",
                    "driver": "docker",
                    "command": "docker run -p 19042:9042 cassandra:3.11 -Dx=1",
                    "background": True,
                    "ready": [
                        {
                            "name": "probe",
                            "driver": "exec",
                            "command": ["nc", "-z", "10.9.9.9", "9042"],
                            "background": False,
                        }
                    ],
                },
                {
                    "name": "hi",
                    "driver": "exec",
                    "command": ["echo", "a b"],
                    "background": False,
                    "env": {"PEER": "10.9.9.9"},
                },
            ],
        },
    ]
    # a stage of stoppers selected by ``none``: the central runs it on the nodes of the
    # stage it stops (here the one node of svc)
    (stop_stage,) = plan.pipelines[1].stages
    assert stop_stage.central and [n.name for n in stop_stage.nodes] == ["n"]
    stopper_stage = Stage("stop", selectors=(Selector(name="n"),), tasks=stop.tasks)
    spec2 = JobSpec("d", node_assignments=spec.node_assignments, stages=(stage, stopper_stage))
    stops = plan_job(spec2, [Node("h")]).pipelines[1].stages[0].nodes[0].task_pipelines
    assert [tp.tasks[0].command for tp in stops] == ["stop svc.run", "stop svc"]


def test_quote_protects_shell_commands_not_argv():
    spec = JobSpec(
        "q",
        node_assignments=(NodeAssignment("n"),),
        stages=(
            Stage(
                "s",
                selectors=(Selector(name="n"),),
                tasks=(
                    sh("a", "ping {{.Node.Ip}}"),
                    Task("b", Driver.EXEC, exec=ExecPayload("ping", ("{{.Node.Ip}}",))),
                ),
            ),
        ),
    )
    cluster = Cluster((Node("odd; id"),))
    tps = plan_job(spec, cluster, quote=True).pipelines[0].stages[0].nodes[0].task_pipelines
    assert tps[0].tasks[0].command == "ping 'odd; id'"
    assert tps[1].tasks[0].command == ("ping", "odd; id")
    unquoted = plan_job(spec, cluster).pipelines[0].stages[0].nodes[0].task_pipelines
    assert unquoted[0].tasks[0].command == "ping odd; id"


def test_unschedulable_names_the_assignment():
    spec = JobSpec("x", node_assignments=(NodeAssignment("db", Role.DATABASE),))
    with pytest.raises(ScheduleError, match="'db'"):
        plan_job(spec, Cluster((Node("l", Role.LOADER),)))


def test_to_text_tree():
    spec = JobSpec(
        "t",
        node_assignments=(NodeAssignment("srv", Role.DATABASE),),
        stages=(
            Stage(
                "up",
                background=True,
                selectors=(Selector(name="srv"),),
                tasks=(
                    sh("serve", "serve", background=True, ready=(sh("chk", "curl {{.Node.Ip}}"),)),
                ),
            ),
        ),
    )
    text = plan_job(spec, [Node("d1", Role.DATABASE, ip="1.2.3.4")]).to_text()
    assert text.splitlines() == [
        "job t",
        "assignments",
        "  srv  database  -> d1 (exact match)",
        "pipeline 0 autogen-0",
        "  stage up (background)",
        "    on srv (d1)",
        "      autogen-0",
        "        serve [shell, background] serve",
        "          ready: chk [shell] curl 1.2.3.4",
    ]


@settings(max_examples=examples(30), deadline=None)
@given(job_specs())
def test_generated_specs_expand_fully_with_templates_rendered(spec):
    # 16 nodes of role any, larger than any drawn requirement (at most 3 x 4 slots)
    big = {"cores": 1e5, "mem_mb": 1e5, "disk_mb": 1e5}
    cluster = Cluster(tuple(Node(f"n{i}", ip=f"10.0.0.{i}", **big) for i in range(16)))
    plan = plan_job(spec, cluster)
    n_slots = sum(a.count for a in spec.node_assignments)
    assert len(plan.assignments) == n_slots
    assert len({a.node_id for a in plan.assignments}) == n_slots
    assert [p.name for p in plan.pipelines] == [p.name for p in spec.effective_pipelines()]
    for pipeline, planned in zip(spec.effective_pipelines(), plan.pipelines, strict=True):
        assert [s.name for s in planned.stages] == list(pipeline.stages)
        for planned_stage in planned.stages:
            stage = spec.stage(planned_stage.name)
            want = [(tp.name, tp.tasks) for tp in effective_task_pipelines(stage)]
            for node in planned_stage.nodes:
                got = [(tp.name, tuple(t.name for t in tp.tasks)) for tp in node.task_pipelines]
                assert got == want
                for tp in node.task_pipelines:
                    for task in tp.tasks:
                        for text in (task.command, *(c.command for c in task.ready)):
                            assert "{{" not in str(text)
