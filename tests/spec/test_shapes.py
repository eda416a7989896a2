"""Every field shape of BenchHub's types.proto, and each of its three dialects, loads.

Each spec here is written by hand; the expected model is written out from its text.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from benchhub_sim.errors import SpecError
from benchhub_sim.spec import (
    DockerAction,
    DockerPayload,
    DockerPort,
    Driver,
    ExecPayload,
    JobSpec,
    NodeAssignment,
    Owner,
    OwnerType,
    Role,
    Selector,
    ShellPayload,
    Stage,
    StopperPayload,
    Task,
    Workload,
    dump_spec,
    load_spec,
)

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / ".." / "shared" / "reference" / "benchhub"

#: types.proto's form, with every shape it defines
PROTO = """\
# a comment, kept in the source
id: "42"
name: shapes
owner: {id: "7", name: team, type: ORG}
workload: {framework: fw, frameworkVersion: "1", database: db, databaseVersion: "2"}
nodeAssignments:
  - properties: {name: srv, role: database}
    selectors:
      - labels: [{k: disk, v: ssd}, {k: rack, v: 2}]
  - properties: {name: cli, role: loader}
stages:
  - name: serve
    background: true
    selectors: [{name: srv}]
    tasks:
      - name: db
        background: true
        driver: docker
        docker:
          image: cassandra:3.11
          action: 2
          ports: [{guest: 9042}, {guest: 7000, host: 17000}]
        env:
          - {k: HEAP, v: 1G}
          - {k: EMPTY}
        ready:
          tasks:
            - driver: exec
              exec: {command: nc, args: [-z, "{{.Node.Ip}}", 9042]}
  - name: load
    selectors: [{name: srv, role: loader}]
    tasks:
      - driver: exec
        exec: {command: xb, args: [load, "a b", "", "$X"]}
  - name: stop
    selectors: [{none: true}]
    tasks:
      - driver: stopper
        stopper: {stage: serve, all: true}
"""

PROTO_MODEL = JobSpec(
    name="shapes",
    id="42",
    owner=Owner("7", "team", OwnerType.ORG),
    workload=Workload("fw", "1", "db", "2"),
    node_assignments=(
        NodeAssignment(
            "srv", Role.DATABASE, selectors=(Selector(labels=(("disk", "ssd"), ("rack", "2"))),)
        ),
        NodeAssignment("cli", Role.LOADER),
    ),
    stages=(
        Stage(
            "serve",
            background=True,
            selectors=(Selector(name="srv"),),
            tasks=(
                Task(
                    "db",
                    Driver.DOCKER,
                    docker=DockerPayload(
                        "cassandra:3.11",
                        DockerAction.RUN,
                        ports=(DockerPort(9042, 0), DockerPort(7000, 17000)),
                    ),
                    env=(("HEAP", "1G"), ("EMPTY", "")),
                    background=True,
                    ready=(
                        Task(
                            "ready-0",
                            Driver.EXEC,
                            exec=ExecPayload("nc", ("-z", "{{.Node.Ip}}", "9042")),
                        ),
                    ),
                ),
            ),
        ),
        Stage(
            "load",
            selectors=(Selector(name="srv", role=Role.LOADER),),
            tasks=(Task("task-0", Driver.EXEC, exec=ExecPayload("xb", ("load", "a b", "", "$X"))),),
        ),
        Stage(
            "stop",
            selectors=(Selector(none=True),),
            tasks=(Task("task-0", Driver.STOPPER, stopper=StopperPayload("serve", all=True)),),
        ),
    ),
)

#: job-v2.1.md's form: flat assignments, stage type, task longRunning, docker start
V21 = """\
name: v21
nodeAssignments:
  - name: db
    role: database
  - name: client
    role: loader
    selectors: [{role: loader}]
stages:
  - name: start_db
    type: long running
    selectors: [{name: db}]
    tasks:
      - name: server
        longRunning: true
        driver: docker
        docker: {image: "mysql:5.7", action: start, ports: [{guest: 3306, host: 3306}]}
  - name: bench
    type: short running
    selectors: [{role: loader}]
    tasks:
      - driver: shell
        shell: {command: run}
  - name: teardown
    type: stopper
    selectors: [{name: db}]
    tasks:
      - driver: stopper
        stopper: {stage: start_db, task: server}
"""

V21_MODEL = JobSpec(
    name="v21",
    dialect="job-v2.1",
    node_assignments=(
        NodeAssignment("db", Role.DATABASE),
        NodeAssignment("client", Role.LOADER, selectors=(Selector(role=Role.LOADER),)),
    ),
    stages=(
        Stage(
            "start_db",
            background=True,
            selectors=(Selector(name="db"),),
            tasks=(
                Task(
                    "server",
                    Driver.DOCKER,
                    docker=DockerPayload(
                        "mysql:5.7", DockerAction.RUN, ports=(DockerPort(3306, 3306),)
                    ),
                    background=True,
                ),
            ),
        ),
        Stage(
            "bench",
            selectors=(Selector(role=Role.LOADER),),
            tasks=(Task("task-0", Driver.SHELL, shell=ShellPayload("run")),),
        ),
        Stage(
            "teardown",
            selectors=(Selector(name="db"),),
            tasks=(Task("task-0", Driver.STOPPER, stopper=StopperPayload("start_db", "server")),),
        ),
    ),
)

#: the earlier form: nodes with type, selectors by type, top-level framework
EARLY = """\
name: early
reason: demo
framework: xb
database: kdb
workload: constant
nodes:
  - {name: db, type: database}
stages:
  - name: up
    background: true
    selectors: [{type: database}]
    tasks:
      - background: true
        driver: docker
        docker: {image: kdb, action: run}
        ready:
          - shell: {command: check}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(text, name_hint="t.yml")
    return [str(p) for p in info.value.problems]


# ---------------------------------------------------------------- each form, as a model


def test_types_proto_form_with_every_shape() -> None:
    spec = load_spec(PROTO)
    assert spec == PROTO_MODEL
    assert spec.dialect == "nodeAssignments"
    assert spec.source == PROTO  # comments and all


def test_job_v21_form() -> None:
    assert load_spec(V21) == V21_MODEL


def test_job_v21_form_dumps_in_its_own_form() -> None:
    assert dump_spec(V21_MODEL) == {
        "name": "v21",
        "nodeAssignments": [
            {"name": "db", "role": "database"},
            {"name": "client", "role": "loader", "selectors": [{"role": "loader"}]},
        ],
        "stages": [
            {
                "name": "start_db",
                "type": "long running",
                "selectors": [{"name": "db"}],
                "tasks": [
                    {
                        "name": "server",
                        "driver": "docker",
                        "docker": {
                            "image": "mysql:5.7",
                            "action": "start",
                            "ports": [{"guest": 3306, "host": 3306}],
                        },
                        "longRunning": True,
                    }
                ],
            },
            {
                "name": "bench",
                "selectors": [{"role": "loader"}],
                "tasks": [{"driver": "shell", "shell": {"command": "run"}}],
            },
            {
                "name": "teardown",
                "type": "stopper",
                "selectors": [{"name": "db"}],
                "tasks": [
                    {"driver": "stopper", "stopper": {"stage": "start_db", "task": "server"}}
                ],
            },
        ],
    }


def test_earlier_form_dumps_in_its_own_form() -> None:
    spec = load_spec(EARLY)
    assert spec.dialect == "nodes"
    assert dump_spec(spec) == {
        "name": "early",
        "framework": "xb",
        "database": "kdb",
        "workload": "constant",
        "reason": "demo",
        "nodes": [{"name": "db", "type": "database"}],
        "stages": [
            {
                "name": "up",
                "background": True,
                "selectors": [{"type": "database"}],
                "tasks": [
                    {
                        "driver": "docker",
                        "docker": {"image": "kdb", "action": "run"},
                        "background": True,
                        "ready": [{"driver": "shell", "shell": {"command": "check"}}],
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize("text", [PROTO, V21, EARLY])
def test_each_form_round_trips_through_yaml(text: str) -> None:
    spec = load_spec(text)
    again = load_spec(yaml.safe_dump(dump_spec(spec), sort_keys=False))
    assert again == spec and again.dialect == spec.dialect


def test_forms_mix_in_one_file() -> None:
    # BenchHub's own v2.1 example writes ``background`` on a task beside flat assignments
    text = V21.replace("longRunning: true", "background: true").replace(
        "type: long running", "background: true"
    )
    assert load_spec(text) == V21_MODEL
    mixed = PROTO.replace(
        "  - properties: {name: cli, role: loader}", "  - {name: cli, role: loader}"
    )
    assert load_spec(mixed) == PROTO_MODEL


def test_old_dumps_of_the_earlier_dialect_still_load() -> None:
    # versions before job-v2.1 wrote the earlier dialect as nodeAssignments + dialect: nodes
    old = "dialect: nodes\n" + PROTO
    spec = load_spec(old)
    assert spec.dialect == "nodes"
    assert spec.node_assignments == PROTO_MODEL.node_assignments


# ---------------------------------------------------------------- single shapes


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("user", OwnerType.USER),
        ("USER", OwnerType.USER),
        ("Org", OwnerType.ORG),
        ("UNKNOWN_OWNER", None),
        ('""', None),
    ],
)
def test_owner_type_spellings(given: str, expected: OwnerType | None) -> None:
    text = PROTO.replace("type: ORG", f"type: {given}")
    assert load_spec(text).owner.type is expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("PULL", DockerAction.PULL),
        ("1", DockerAction.PULL),
        ("RUN", DockerAction.RUN),
        ("start", DockerAction.RUN),
        ("build", DockerAction.BUILD),
    ],
)
def test_docker_action_spellings(given: str, expected: DockerAction) -> None:
    task = load_spec(PROTO.replace("action: 2", f"action: {given}")).stages[0].tasks[0]
    assert task.docker is not None and task.docker.action is expected


def test_exec_argv_list_is_a_shorthand_for_command_and_args() -> None:
    text = PROTO.replace(
        'exec: {command: xb, args: [load, "a b", "", "$X"]}',
        'exec: {command: [xb, load, "a b", "", "$X"]}',
    )
    assert load_spec(text).stage("load") == PROTO_MODEL.stage("load")


def test_env_and_labels_as_mappings_are_shorthands() -> None:
    text = PROTO.replace("[{k: disk, v: ssd}, {k: rack, v: 2}]", "{disk: ssd, rack: 2}").replace(
        "          - {k: HEAP, v: 1G}\n          - {k: EMPTY}\n",
        "          {HEAP: 1G, EMPTY: null}\n",
    )
    assert load_spec(text) == PROTO_MODEL


def test_a_job_without_name_is_named_after_its_file(tmp_path: Path) -> None:
    path = tmp_path / "my-bench.yml"
    path.write_text(PROTO.replace("name: shapes\n", ""))
    assert load_spec(path).name == "my-bench"
    with pytest.raises(SpecError, match="missing job name"):
        load_spec(PROTO.replace("name: shapes\n", ""))  # text has no file to name it after


def test_source_is_the_file_verbatim_and_the_hash_its_sha256(tmp_path: Path) -> None:
    path = tmp_path / "crlf.yml"
    data = PROTO.replace("\n", "\r\n").encode()
    path.write_bytes(data)
    spec = load_spec(path)
    assert spec == PROTO_MODEL
    assert spec.source is not None and spec.source.encode() == data
    assert spec.spec_hash == hashlib.sha256(data).hexdigest()
    # a spec built in code or from a mapping has no source
    assert load_spec(dump_spec(spec)).source is None


# ---------------------------------------------------------------- bad input


def test_bad_shapes_are_each_reported_with_their_line() -> None:
    text = """\
name: t
nodeAssignments:
  - properties: {name: srv, role: database}
    name: srv
  - properties: {name: none_only}
    selectors: [{none: true}]
stages:
  - name: bg
    type: long running
    background: true
    selectors: [{name: srv}]
    tasks:
      - name: server
        longRunning: true
        shell: {command: serve}
        env:
          - {v: 1}
          - {k: A, v: 1}
          - {k: A, v: 2}
          - {k: "B=C"}
        docker: {image: x, ports: [{host: 80}, {guest: 1, host: -1}]}
  - name: stop
    type: stoper
    selectors:
      - {none: true, name: srv}
      - labels: [{k: zone, v: a}, {k: zone, v: b}]
    tasks:
      - stopper: {stage: bg, task: server, all: true}
  - name: only_stoppers
    type: stopper
    selectors: [{name: srv}]
    tasks:
      - shell: {command: x}
"""
    assert problems(text) == [
        "t.yml:4: nodeAssignments[0].name: both properties and a flat 'name' given: expected "
        "properties: {name, role} (types.proto) or a flat name and role (job-v2.1.md)",
        "t.yml:6: nodeAssignments[1].selectors: assignment 'none_only' selects no node: none: "
        "true picks none, so it could never be bound (expected name, role, labels or all: true)",
        "t.yml:9: stages[0].type: both 'background' and 'type' given: expected one",
        "t.yml:17: stages[0].tasks[0].env[0]: missing key 'k': expected {k: NAME, v: VALUE}",
        "t.yml:19: stages[0].tasks[0].env[2].k: duplicate key 'A' (first at line 18)",
        "t.yml:20: stages[0].tasks[0].env[3].k: expected a non-empty name without =, found 'B=C'",
        "t.yml:21: stages[0].tasks[0].docker: payload 'docker' given but driver is 'shell': "
        "expected only 'shell'",
        "t.yml:23: stages[1].type: expected a stage type: short running, long running or "
        "stopper (job-v2.1.md), found a string ('stoper') (did you mean 'stopper'?)",
        "t.yml:25: stages[1].selectors[0]: selector has none: true beside name, role or labels: "
        "expected none: true alone (it picks no node by itself)",
        "t.yml:26: stages[1].selectors[1].labels[1].k: duplicate key 'zone' (first at line 26)",
        "t.yml:28: stages[1].tasks[0].stopper.all: stopper has both task 'server' and all: "
        "true: expected one (all: true stops every background task of the stage)",
        "t.yml:33: stages[2].tasks[0].driver: stage of type stopper: expected only stopper "
        "tasks, found driver shell",
    ]


def test_job_v21_rules_speak_its_keys() -> None:
    assert problems(V21.replace("        longRunning: true\n", "")) == [
        "t.yml:10: stages[0].type: background stage 'start_db' has no background task: "
        "expected at least one task with longRunning: true",
        "t.yml:27: stages[2].tasks[0].stopper.task: stopper stops task 'server' of stage "
        "'start_db', which is not a background task: expected a background task",
    ]


def test_docker_ports_guest_missing_and_host_out_of_range() -> None:
    text = PROTO.replace(
        "ports: [{guest: 9042}, {guest: 7000, host: 17000}]",
        "ports: [{host: 80}, {guest: 1, host: 70000}]",
    )
    assert problems(text) == [
        "t.yml:22: stages[0].tasks[0].docker.ports[0].guest: expected the container's port in "
        "1..65535, found 0",
        "t.yml:22: stages[0].tasks[0].docker.ports[1].host: expected a host port in 0..65535 "
        "(0: docker picks one), found 70000",
    ]


def test_unknown_owner_type() -> None:
    assert problems(PROTO.replace("type: ORG", "type: team")) == [
        "t.yml:4: owner.type: expected one of user, org (any case), found a string ('team')"
    ]


# ---------------------------------------------------------------- BenchHub's own files


def test_every_spec_and_node_file_of_benchhub_loads() -> None:
    from benchhub_sim.cluster import load_cluster

    if not REFERENCE.is_dir():
        pytest.skip(f"BenchHub reference files not available ({REFERENCE})")
    files = sorted(REFERENCE.glob("*.yml"))
    loaded = {}
    for path in files:
        data = yaml.safe_load(path.read_text())
        is_nodes = isinstance(data, list) or "node" in data  # a node snapshot or agent config
        loaded[path.name] = load_cluster(path) if is_nodes else load_spec(path)
    assert {n for n, x in loaded.items() if isinstance(x, JobSpec)} == {
        "pingpong.yml",
        "xephonb-kairosdb.yml",
    }
    assert len(loaded) == len(files) >= 5  # the three node files load as clusters
