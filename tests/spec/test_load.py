"""Loading job specs: sources, both dialects, BenchHub's reference files, examples, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis_profiles import examples
from strategies import job_specs

from benchhub_sim.errors import SpecError
from benchhub_sim.spec import (
    DockerAction,
    Driver,
    Duration,
    ExecPayload,
    JobSpec,
    OwnerType,
    Role,
    Selector,
    dump_spec,
    load_spec,
    validate_spec,
)

HERE = Path(__file__).resolve().parent
REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / ".." / "shared" / "reference" / "benchhub"
EXAMPLES = REPO / "data" / "specs"

MINIMAL = """\
name: tiny
nodeAssignments:
  - properties: {name: one, role: Loader}
stages:
  - name: hello
    selectors: [{name: one}]
    tasks:
      - shell: {command: echo hi}
      - name: bye
        driver: EXEC
        exec: {command: [echo, bye]}
"""


def reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"{path} not available (shared reference files missing)")
    return path


# ---------------------------------------------------------------- sources


def test_text_path_str_pathlike_and_mapping_give_the_same_spec(tmp_path: Path) -> None:
    file = tmp_path / "tiny.yml"
    file.write_text(MINIMAL)
    from_text = load_spec(MINIMAL)
    assert load_spec(file) == from_text
    assert load_spec(str(file)) == from_text
    assert load_spec(yaml.safe_load(MINIMAL)) == from_text


def test_minimal_spec_fields() -> None:
    spec = load_spec(MINIMAL)
    assert spec.name == "tiny"
    assert spec.dialect == "nodeAssignments"
    assert spec.node_assignments[0].role is Role.LOADER  # enum given as 'Loader'
    hello = spec.stage("hello")
    # unnamed task gets task-N (its index), the driver is inferred from the payload
    assert [t.name for t in hello.tasks] == ["task-0", "bye"]
    assert hello.tasks[0].driver is Driver.SHELL
    assert hello.tasks[1].driver is Driver.EXEC
    # the argv-list shorthand: program first, then its args
    assert hello.tasks[1].exec == ExecPayload("echo", ("bye",))
    assert spec.pipelines == ()
    assert [p.stages for p in spec.effective_pipelines()] == [("hello",)]
    assert spec.walltime is None


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(SpecError) as info:
        load_spec(missing)
    assert str(info.value) == f"{missing}: no such file"
    with pytest.raises(SpecError, match="nope.yml: no such file"):
        load_spec(str(missing))


def test_yaml_syntax_error_has_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\nstages:\n  - name: [unclosed\n  - name: y\n")
    with pytest.raises(SpecError) as info:
        load_spec(bad)
    (problem,) = info.value.problems
    assert problem.where == str(bad)
    assert problem.line == 4  # the flow sequence opened on line 3 is still open on line 4
    assert "YAML syntax error" in problem.message


def test_yaml_duplicate_key_is_a_problem() -> None:
    text = MINIMAL + "name: again\n"
    with pytest.raises(SpecError) as info:
        load_spec(text, name_hint="d.yml")
    assert [str(p) for p in info.value.problems] == [
        "d.yml:12: name: duplicate key (first at line 1)"
    ]


def test_not_a_mapping() -> None:
    with pytest.raises(SpecError) as info:
        load_spec("- a\n- b\n", name_hint="l.yml")
    assert str(info.value) == "l.yml:1: expected a job spec (a mapping), found a list"


def test_sim_fields_snake_and_camel_case() -> None:
    text = """\
name: sim
walltime: 120
priority: 2
nodeAssignments:
  - properties: {name: one}
    count: 3
    requirements: {cores: 2, mem_mb: 512, disk_mb: 1000}
stages:
  - name: s
    selectors: [{all: true}]
    tasks:
      - name: a
        shell: {command: "true"}
        failProb: 0.25
        timeout: 30
        retries: 2
        duration: {dist: lognormal, sigma: 0.5, mu: 1}
      - name: b
        shell: {command: "true"}
        fail_prob: 0.5
        duration: 4
      - name: c
        shell: {command: "true"}
        env: {Z: 1, A: "two", B: true}
"""
    spec = load_spec(text)
    assert spec.walltime == 120.0 and spec.priority == 2.0
    a = spec.node_assignments[0]
    assert (a.count, a.requirements.cores, a.requirements.mem_mb, a.requirements.disk_mb) == (
        3,
        2,
        512,
        1000,
    )
    ta, tb, tc = spec.stages[0].tasks
    assert (ta.fail_prob, ta.timeout, ta.retries) == (0.25, 30.0, 2)
    assert ta.duration == Duration.of("lognormal", mu=1, sigma=0.5)
    assert tb.fail_prob == 0.5 and tb.duration == Duration.constant(4)
    # env keeps file order, values become strings
    assert tc.env == (("Z", "1"), ("A", "two"), ("B", "true"))


def test_ready_list_or_mapping_and_timeout_aliases() -> None:
    base = """\
name: r
nodeAssignments: [{properties: {name: db}}]
stages:
  - name: s
    background: true
    selectors: [{name: db}]
    tasks:
      - name: server
        background: true
        shell: {command: serve}
"""
    as_list = load_spec(
        base + "        ready:\n          - shell: {command: check}\n        readyTimeout: 30\n"
    )
    as_map = load_spec(
        base
        + "        ready:\n          tasks:\n            - shell: {command: check}\n          timeout: 30\n"
    )
    assert as_list == as_map
    task = as_map.stages[0].tasks[0]
    assert task.ready_timeout == 30.0
    assert [c.name for c in task.ready] == ["ready-0"]


# ---------------------------------------------------------------- BenchHub's files


def test_reference_pingpong_later_dialect() -> None:
    spec = load_spec(reference("pingpong.yml"))
    assert spec.dialect == "nodeAssignments"
    assert spec.name == "pingpong"
    assert (spec.owner.id, spec.owner.name, spec.owner.type) == ("1", "at15", OwnerType.USER)
    assert spec.workload.framework_version == "0.0.1" and spec.workload.database == "pingpong"
    assert [(a.name, a.role) for a in spec.node_assignments] == [
        ("srv", Role.DATABASE),
        ("cli", Role.LOADER),
    ]
    assert spec.node_assignments[0].selectors == (Selector(role=Role.DATABASE),)
    assert [(p.name, p.stages) for p in spec.pipelines] == [
        ("download", ("download_client", "download_server")),
        ("run_server", ("start_server",)),
        ("run_workload", ("ping_server",)),
    ]
    start = spec.stage("start_server")
    assert start.background
    assert start.selectors == (Selector(name="srv"),)
    (server,) = start.tasks
    assert (
        server.background and server.shell is not None and server.shell.command == "pingserver 8080"
    )
    (check,) = server.ready
    assert (
        check.shell is not None and check.shell.command == "waitforit -w http://localhost:8080/ping"
    )
    ping = spec.stage("ping_server").tasks[0]
    assert ping.shell is not None and "{{.Nodes.srv.Ip}}" in ping.shell.command


def test_reference_xephonb_earlier_dialect() -> None:
    spec = load_spec(reference("xephonb-kairosdb.yml"))
    assert spec.dialect == "nodes"
    assert spec.reason == "example"
    assert (spec.workload.framework, spec.workload.database, spec.workload.name) == (
        "xephon-b",
        "kairosdb",
        "constant",
    )
    assert [(a.name, a.role) for a in spec.node_assignments] == [
        ("db", Role.DATABASE),
        ("loader1", Role.LOADER),
        ("loader2", Role.LOADER),
    ]
    assert len(spec.pipelines) == 5
    assert [p.name for p in spec.pipelines] == [f"pipeline-{i}" for i in range(5)]
    assert spec.pipelines[0].stages == ("install_xephon_b", "install_cassandra", "build_kairosdb")
    assert spec.stage("install_xephon_b").selectors == (Selector(role=Role.LOADER),)
    cassandra = spec.stage("start_cassandra").tasks[0]
    assert cassandra.background and cassandra.driver is Driver.DOCKER
    assert cassandra.docker is not None and cassandra.docker.action is DockerAction.RUN
    assert [(p.guest, p.host) for p in cassandra.docker.ports] == [(9042, 9042)]
    # ready given as a plain list
    assert [c.shell.command for c in cassandra.ready if c.shell] == ["sleep 40"]
    assert spec.stage("build_kairosdb").tasks[1].docker.action is DockerAction.BUILD  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "key"), [("pingpong.yml", "nodeAssignments"), ("xephonb-kairosdb.yml", "nodes")]
)
def test_reference_round_trip_keeps_dialect(name: str, key: str) -> None:
    spec = load_spec(reference(name))
    dumped = dump_spec(spec)
    assert key in dumped and "dialect" not in dumped  # written in its own dialect
    assert load_spec(dumped) == spec
    assert load_spec(yaml.safe_dump(dumped, sort_keys=False)) == spec


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize(
    "name", ["pingpong.yml", "db-loaders.yml", "task-pipelines.yml", "oltp.yml"]
)
def test_examples_validate_and_round_trip(name: str) -> None:
    spec = load_spec(EXAMPLES / name)
    assert load_spec(dump_spec(spec)) == spec


def test_db_loaders_example_shape() -> None:
    spec = load_spec(EXAMPLES / "db-loaders.yml")
    loaders = [a for a in spec.node_assignments if a.role is Role.LOADER]
    assert [a.count for a in loaders] == [3]
    db = spec.stage("run_db")
    assert db.background and db.tasks[0].background and db.tasks[0].ready
    last = spec.stage(spec.pipelines[-1].stages[0]).tasks[-1]
    assert (
        last.driver is Driver.STOPPER
        and last.stopper is not None
        and last.stopper.stage == "run_db"
    )


def test_task_pipelines_example_runs_tasks_together() -> None:
    stage = load_spec(EXAMPLES / "task-pipelines.yml").stage("prepare")
    assert [p.tasks for p in stage.pipelines] == [
        ("fetch_tool", "fetch_data"),
        ("unpack_tool", "unpack_data"),
        ("self_test",),
    ]


def test_oltp_example_uses_lognormal_durations() -> None:
    spec = load_spec(EXAMPLES / "oltp.yml")
    assert [p.name for p in spec.pipelines] == ["install", "start", "load", "run", "stop"]
    dists = {t.duration.dist for s in spec.stages for t in s.tasks if t.duration is not None}
    assert dists == {"lognormal"}


# ---------------------------------------------------------------- round trip


@settings(max_examples=examples(25), deadline=None)
@given(job_specs())
def test_generated_specs_are_valid_and_round_trip(spec: JobSpec) -> None:
    assert validate_spec(spec) == []
    dumped = dump_spec(spec)
    assert load_spec(dumped) == spec
    assert load_spec(yaml.safe_dump(dumped, sort_keys=False)) == spec


def test_dump_omits_defaults() -> None:
    spec = load_spec(MINIMAL)
    assert dump_spec(spec) == {
        "name": "tiny",
        "nodeAssignments": [{"properties": {"name": "one", "role": "loader"}}],
        "stages": [
            {
                "name": "hello",
                "selectors": [{"name": "one"}],
                "tasks": [
                    {"driver": "shell", "shell": {"command": "echo hi"}},
                    {
                        "name": "bye",
                        "driver": "exec",
                        "exec": {"command": "echo", "args": ["bye"]},
                    },
                ],
            }
        ],
    }


def test_mapping_with_tuples_and_read_only_mappings() -> None:
    from types import MappingProxyType

    data = yaml.safe_load(MINIMAL)
    data["stages"] = tuple(MappingProxyType(s) for s in data["stages"])
    assert load_spec(MappingProxyType(data)) == load_spec(MINIMAL)
