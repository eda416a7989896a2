"""Validation: one test per rule, each asserting the message and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchhub_sim.errors import SpecError
from benchhub_sim.spec import (
    Driver,
    JobSpec,
    NodeAssignment,
    Selector,
    ShellPayload,
    Stage,
    Task,
    load_spec,
    validate_spec,
)

DATA = Path(__file__).resolve().parent / "data"

# lines 1-5; the stages given to spec() start on line 6
HEAD = """\
name: t
nodeAssignments:
  - properties: {name: srv, role: database}
  - properties: {name: cli, role: loader}
stages:
"""


def problems(text: str) -> list[str]:
    """The problems of a spec that must not load, as ``file:line: path: message``."""
    with pytest.raises(SpecError) as info:
        load_spec(text, name_hint="t.yml")
    return [str(p) for p in info.value.problems]


def spec(stages: str) -> str:
    return HEAD + stages


# ---------------------------------------------------------------- keys, types, enums


def test_unknown_key_suggests_the_closest_and_hides_its_consequence() -> None:
    text = spec("""\
  - name: a
    selelectors: [{name: srv}]
    tasks: [{shell: {command: x}}]
""")
    # no "selects no node" for the stage: it follows from the typo
    assert problems(text) == [
        "t.yml:7: stages[0].selelectors: unknown key (did you mean 'selectors'?)"
    ]


def test_unknown_keys_of_benchhub_files() -> None:
    text = spec("""\
  - name: a
    selectors: [{name: srv}]
    takss: [{shell: {command: x}}]
  - name: b
    selectors: [{name: srv}]
    tasks:
      - docker: {image: db, port: [{guest: 1, host: 1}]}
  - name: c
    selectors: [{name: srv}]
    tasks: [{shell: {command: x}}]
    colour: red
""")
    assert problems(text) == [
        "t.yml:8: stages[0].takss: unknown key (did you mean 'tasks'?)",
        "t.yml:12: stages[1].tasks[0].docker.port: unknown key (did you mean 'ports'?)",
        "t.yml:16: stages[2].colour: unknown key",
    ]


def test_wrong_types() -> None:
    text = spec("""\
  - name: a
    background: "yes"
    selectors: {name: srv}
    tasks: run it
""")
    assert problems(text) == [
        "t.yml:7: stages[0].background: expected true or false, found a string ('yes')",
        "t.yml:8: stages[0].selectors: expected selectors (a list), found a mapping",
        "t.yml:9: stages[0].tasks: expected tasks (a list), found a string ('run it')",
    ]


def test_exec_args_beside_an_argv_list_and_args_not_a_list() -> None:
    text = spec("""\
  - name: a
    selectors: [{name: srv}]
    tasks:
      - exec: {command: [ls, -l], args: [/tmp]}
      - exec: {command: ls, args: -l}
""")
    assert problems(text) == [
        "t.yml:9: stages[0].tasks[0].exec.args: args given beside an argv list in command: "
        "expected command: PROGRAM with args: [...], or command: [PROGRAM, ARG...] alone",
        "t.yml:10: stages[0].tasks[1].exec.args: expected args (a list), found a string ('-l')",
    ]


def test_enums_any_case_are_accepted() -> None:
    text = """\
name: t
nodeAssignments:
  - properties: {name: srv, role: DATABASE}
stages:
  - name: a
    selectors: [{role: Database}]
    tasks:
      - driver: DOCKER
        docker: {image: db, action: Run}
"""
    loaded = load_spec(text)
    task = loaded.stages[0].tasks[0]
    assert (task.driver.value, task.docker.action.value) == ("docker", "run")  # type: ignore[union-attr]


def test_bad_enum_values() -> None:
    text = """\
name: t
nodeAssignments:
  - properties: {name: srv, role: dtabase}
stages:
  - name: a
    selectors: [{name: srv}]
    tasks:
      - driver: bash
        shell: {command: x}
      - docker: {image: db, action: begin}
      - docker: {image: db, action: 0}
      - docker: {image: db, action: 3}
"""
    assert problems(text) == [
        "t.yml:3: nodeAssignments[0].properties.role: expected one of any, loader, database, "
        "central (any case), found a string ('dtabase') (did you mean 'database'?)",
        "t.yml:8: stages[0].tasks[0].driver: expected one of shell, exec, docker, stopper "
        "(any case), found a string ('bash')",
        "t.yml:10: stages[0].tasks[1].docker.action: expected one of pull, run, build, start "
        "(any case), found a string ('begin')",
        "t.yml:11: stages[0].tasks[2].docker.action: expected 1 (PULL) or 2 (RUN) as a number, "
        "found 0 (types.proto's UNKNOWN, which BenchHub's runner refuses)",
        "t.yml:12: stages[0].tasks[3].docker.action: expected 1 (PULL) or 2 (RUN) as a number, "
        "found 3",
    ]


# ---------------------------------------------------------------- pipelines


PIPE_HEAD = """\
name: t
nodeAssignments: [{properties: {name: srv}}]
stages:
  - {name: a, selectors: [{all: true}], tasks: [{shell: {command: x}}]}
  - {name: b, selectors: [{all: true}], tasks: [{shell: {command: x}}]}
pipelines:
"""


def test_pipeline_naming_unknown_stage() -> None:
    text = PIPE_HEAD + "  - {name: p, stages: [a, b, bb]}\n"
    assert problems(text) == [
        "t.yml:7: pipelines[0].stages[2]: unknown stage 'bb' (did you mean 'b'?)"
    ]


def test_stage_in_two_pipelines() -> None:
    text = PIPE_HEAD + "  - name: p\n    stages: [a, b]\n  - name: q\n    stages: [b]\n"
    assert problems(text) == [
        "t.yml:10: pipelines[1].stages[0]: stage 'b' is already in pipelines[0] (at line 8): "
        "expected each stage in exactly one pipeline"
    ]


def test_stage_in_no_pipeline() -> None:
    text = PIPE_HEAD + "  - {name: p, stages: [a]}\n"
    assert problems(text) == [
        "t.yml:5: stages[1].name: stage 'b' is in no pipeline: it would never run "
        "(expected it in one of 'pipelines')"
    ]


# ---------------------------------------------------------------- names


def test_duplicate_stage_names() -> None:
    text = spec("""\
  - name: a
    selectors: [{name: srv}]
    tasks: [{shell: {command: x}}]
  - name: a
    selectors: [{name: cli}]
    tasks: [{shell: {command: y}}]
""")
    assert problems(text) == ["t.yml:9: stages[1].name: duplicate stage name 'a' (first at line 6)"]


def test_duplicate_task_names_in_a_stage() -> None:
    text = spec("""\
  - name: a
    selectors: [{name: srv}]
    tasks:
      - {name: x, shell: {command: x}}
      - {name: x, shell: {command: y}}
""")
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[1].name: duplicate task name 'x' in stage 'a' (first at line 9)"
    ]


def test_duplicate_assignment_names() -> None:
    text = """\
name: t
nodeAssignments:
  - properties: {name: srv, role: database}
  - properties: {name: srv, role: loader}
stages:
  - {name: a, selectors: [{all: true}], tasks: [{shell: {command: x}}]}
"""
    assert problems(text) == [
        "t.yml:4: nodeAssignments[1].properties.name: duplicate assignment name 'srv' (first at line 3)"
    ]


def test_duplicate_node_names_earlier_dialect() -> None:
    text = """\
name: t
nodes:
  - {name: db, type: database}
  - {name: db, type: loader}
stages:
  - {name: a, selectors: [{type: database}], tasks: [{shell: {command: x}}]}
"""
    assert problems(text) == [
        "t.yml:4: nodes[1].name: duplicate assignment name 'db' (first at line 3)"
    ]


# ---------------------------------------------------------------- task pipelines

TP_STAGE = """\
  - name: a
    selectors: [{name: srv}]
    tasks:
      - {name: x, shell: {command: x}}
      - {name: y, shell: {command: y}}
    pipelines:
"""  # lines 6-11, task pipelines from line 12


def test_task_pipeline_naming_unknown_task() -> None:
    text = spec(TP_STAGE + "      - {name: both, tasks: [x, y, z]}\n")
    assert problems(text) == [
        "t.yml:12: stages[0].pipelines[0].tasks[2]: unknown task 'z' in stage 'a'"
    ]


def test_task_pipelines_need_named_tasks() -> None:
    text = spec("""\
  - name: a
    selectors: [{name: srv}]
    tasks:
      - {name: x, shell: {command: x}}
      - shell: {command: y}
    pipelines:
      - {tasks: [x, task-1]}
""")
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[1]: task has no name: stage 'a' has task pipelines, "
        "which can only name named tasks (expected a 'name')"
    ]


def test_task_in_two_task_pipelines() -> None:
    text = spec(TP_STAGE + "      - {tasks: [x, y]}\n      - {tasks: [y]}\n")
    assert problems(text) == [
        "t.yml:13: stages[0].pipelines[1].tasks[0]: task 'y' is already in a task pipeline "
        "(at line 12): expected each task in exactly one"
    ]


def test_task_in_no_task_pipeline() -> None:
    text = spec(TP_STAGE + "      - {tasks: [x]}\n")
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[1].name: task 'y' is in no task pipeline of stage 'a': "
        "it would never run (expected it in exactly one of 'pipelines')"
    ]


# ---------------------------------------------------------------- selectors


def test_selector_naming_unknown_assignment() -> None:
    text = spec("""\
  - name: a
    selectors: [{name: sv}]
    tasks: [{shell: {command: x}}]
""")
    assert problems(text) == [
        "t.yml:7: stages[0].selectors[0].name: unknown assignment 'sv' (did you mean 'srv'?): "
        "expected one of 'srv', 'cli'"
    ]


def test_stage_without_selectors_selects_no_node() -> None:
    text = spec("  - name: a\n    tasks: [{shell: {command: x}}]\n")
    assert problems(text) == [
        "t.yml:6: stages[0].selectors: stage 'a' selects no node: expected a selector (name, "
        "role, labels or all: true) matching an assignment, found none"
    ]


def test_stage_with_none_only_and_no_stopper_selects_no_node() -> None:
    text = spec("  - name: a\n    selectors: [{none: true}]\n    tasks: [{shell: {command: x}}]\n")
    assert problems(text) == [
        "t.yml:7: stages[0].selectors: stage 'a' selects no node: expected a selector (name, "
        "role, labels or all: true) matching an assignment, found selectors that match no "
        "assignment (none: true picks nodes only in a stage of stoppers: those of the stages "
        "they stop)"
    ]


def test_stage_selecting_a_role_no_assignment_has() -> None:
    text = spec(
        "  - name: a\n    selectors:\n      - role: central\n    tasks: [{shell: {command: x}}]\n"
    )
    assert problems(text) == [
        "t.yml:8: stages[0].selectors[0].role: stage 'a' selects no node: no assignment has role 'central'"
    ]


def test_earlier_dialect_type_selector_of_missing_role() -> None:
    text = """\
name: t
nodes:
  - {name: db, type: database}
stages:
  - name: a
    selectors:
      - type: loader
    tasks: [{shell: {command: x}}]
"""
    assert problems(text) == [
        "t.yml:7: stages[0].selectors[0].type: stage 'a' selects no node: no assignment has role 'loader'"
    ]


# ---------------------------------------------------------------- background


def test_background_stage_without_background_task() -> None:
    text = spec("""\
  - name: a
    background: true
    selectors: [{name: srv}]
    tasks: [{shell: {command: x}}]
""")
    assert problems(text) == [
        "t.yml:7: stages[0].background: background stage 'a' has no background task: "
        "expected at least one task with background: true"
    ]


def test_background_task_in_foreground_stage() -> None:
    text = spec("""\
  - name: a
    selectors: [{name: srv}]
    tasks:
      - shell: {command: serve}
        background: true
""")
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[0].background: background task in foreground stage 'a': "
        "expected background: true on the stage too"
    ]


def test_readiness_check_that_is_a_background_task() -> None:
    text = spec("""\
  - name: a
    background: true
    selectors: [{name: srv}]
    tasks:
      - shell: {command: serve}
        background: true
        ready:
          tasks:
            - shell: {command: check}
              background: true
""")
    assert problems(text) == [
        "t.yml:15: stages[0].tasks[0].ready.tasks[0].background: readiness check is a "
        "background task: expected a task that runs to completion"
    ]


# ---------------------------------------------------------------- drivers


def test_driver_payload_mismatch() -> None:
    text = spec("""\
  - name: a
    selectors: [{name: srv}]
    tasks:
      - driver: shell
        shell: {}
      - driver: exec
      - driver: docker
        docker: {action: pull}
      - driver: stopper
        stopper: {}
      - driver: shell
        shell: {command: x}
        docker: {image: y}
""")
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[0].shell: driver shell needs shell.command: expected a command, found none",
        "t.yml:11: stages[0].tasks[1].exec: driver exec needs exec.command: expected a program, found none",
        "t.yml:13: stages[0].tasks[2].docker: driver docker needs docker.image: expected an image, found none",
        "t.yml:15: stages[0].tasks[3].stopper: driver stopper needs stopper.stage: expected a stage name, found none",
        "t.yml:18: stages[0].tasks[4].docker: payload 'docker' given but driver is 'shell': expected only 'shell'",
    ]


# ---------------------------------------------------------------- stoppers

STOP_HEAD = spec("""\
  - name: bg
    background: true
    selectors: [{name: srv}]
    tasks:
      - {name: server, background: true, shell: {command: serve}}
      - {name: setup, shell: {command: setup}}
  - name: fg
    selectors: [{name: srv}]
    tasks: [{name: once, shell: {command: x}}]
  - name: stop
    selectors: [{name: srv}]
    tasks:
""")  # stopper tasks from line 18


def test_stopper_naming_unknown_stage() -> None:
    text = STOP_HEAD + "      - stopper: {stage: bgg}\n"
    assert problems(text) == [
        "t.yml:18: stages[2].tasks[0].stopper.stage: stopper names unknown stage 'bgg' (did you mean 'bg'?)"
    ]


def test_stopper_naming_unknown_task() -> None:
    text = STOP_HEAD + "      - stopper: {stage: bg, task: sever}\n"
    assert problems(text) == [
        "t.yml:18: stages[2].tasks[0].stopper.task: stopper names unknown task 'sever' of stage 'bg' (did you mean 'server'?)"
    ]


def test_stopper_of_a_foreground_stage() -> None:
    text = STOP_HEAD + "      - stopper: {stage: fg}\n"
    assert problems(text) == [
        "t.yml:18: stages[2].tasks[0].stopper.stage: stopper stops stage 'fg', which is not a "
        "background stage: expected a background stage"
    ]


def test_stopper_of_a_foreground_task() -> None:
    text = STOP_HEAD + "      - stopper: {stage: bg, task: setup}\n"
    assert problems(text) == [
        "t.yml:18: stages[2].tasks[0].stopper.task: stopper stops task 'setup' of stage 'bg', which "
        "is not a background task: expected a background task"
    ]


def test_valid_stoppers_load() -> None:
    text = (
        STOP_HEAD
        + "      - stopper: {stage: bg, task: server}\n      - driver: Stopper\n        stopper: {stage: bg}\n"
    )
    stops = load_spec(text).stage("stop").tasks
    assert [t.driver for t in stops] == [Driver.STOPPER, Driver.STOPPER]
    assert [(t.stopper.stage, t.stopper.task) for t in stops] == [("bg", "server"), ("bg", None)]  # type: ignore[union-attr]


# ---------------------------------------------------------------- templates

TEMPLATE_HEAD = spec("""\
  - name: a
    selectors: [{name: cli}]
    tasks:
""")  # tasks from line 9


def test_template_forms_that_are_valid() -> None:
    text = TEMPLATE_HEAD + (
        '      - shell: {command: "ping {{.Nodes.srv.Ip}} {{.Node.srv.Ip}} {{ .Node.Ip }} '
        '{{.Node.Name}} {{.Node.Id}}"}\n'
        '      - exec: {command: [ping, "{{.Nodes.cli.Ip}}"]}\n'
        '        env: {TARGET: "{{.Node.srv.Ip}}"}\n'
    )
    assert len(load_spec(text).stages[0].tasks) == 2


def test_template_naming_unknown_assignment() -> None:
    text = TEMPLATE_HEAD + '      - shell: {command: "ping {{.Nodes.server.Ip}}"}\n'
    assert problems(text) == [
        "t.yml:9: stages[0].tasks[0].shell.command: template {{.Nodes.server.Ip}} names unknown "
        "assignment 'server' (did you mean 'srv'?): expected one of 'srv', 'cli'"
    ]


def test_template_unknown_assignment_in_env_of_earlier_form() -> None:
    text = (
        TEMPLATE_HEAD
        + '      - shell: {command: "echo $T"}\n        env:\n          T: "{{.Node.db.Ip}}"\n'
    )
    assert problems(text) == [
        "t.yml:11: stages[0].tasks[0].env.T: template {{.Node.db.Ip}} names unknown assignment "
        "'db': expected one of 'srv', 'cli'"
    ]


def test_template_malformed() -> None:
    text = TEMPLATE_HEAD + (
        '      - shell: {command: "ping {{.Nodes.srv.Ip"}\n'
        '      - shell: {command: "ping {{.Nodes.srv.Port}}"}\n'
        '      - shell: {command: "ping {{.Cluster.srv}}"}\n'
    )
    assert problems(text) == [
        "t.yml:9: stages[0].tasks[0].shell.command: unclosed '{{' at offset 5: expected '}}', found end of text",
        "t.yml:10: stages[0].tasks[1].shell.command: template {{.Nodes.srv.Port}}: unknown field 'Port' (expected Ip)",
        "t.yml:11: stages[0].tasks[2].shell.command: malformed template {{.Cluster.srv}}: expected "
        ".Nodes.NAME.Ip, .Node.NAME.Ip, .Node.Ip, .Node.Name or .Node.Id, found '.Cluster.srv'",
    ]


# ---------------------------------------------------------------- durations and numbers

DUR_HEAD = spec("""\
  - name: a
    selectors: [{name: srv}]
    tasks:
""")  # tasks from line 9


def test_negative_duration() -> None:
    text = DUR_HEAD + "      - shell: {command: x}\n        duration: -2\n"
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[0].duration: negative duration parameter: expected value >= 0, found -2.0"
    ]


def test_unknown_distribution() -> None:
    text = (
        DUR_HEAD
        + "      - shell: {command: x}\n        duration: {dist: lognormall, mu: 1, sigma: 1}\n"
    )
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[0].duration.dist: unknown distribution 'lognormall' (did you mean "
        "'lognormal'?): expected one of constant, exponential, lognormal, normal, uniform"
    ]


def test_missing_and_unknown_duration_parameters() -> None:
    text = DUR_HEAD + (
        "      - shell: {command: x}\n"
        "        duration:\n"
        "          dist: normal\n"
        "          mean: 3\n"
        "          sd: 1\n"
    )
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[0].duration: distribution 'normal' needs parameter 'std': "
        "expected mean, std, found mean, sd",
        "t.yml:13: stages[0].tasks[0].duration.sd: unknown parameter 'sd' of distribution 'normal' (did you mean 'std'?): expected mean, std",
    ]


def test_uniform_low_above_high() -> None:
    text = (
        DUR_HEAD
        + "      - shell: {command: x}\n        duration: {dist: uniform, low: 5, high: 1}\n"
    )
    assert problems(text) == [
        "t.yml:10: stages[0].tasks[0].duration: uniform duration: expected low <= high, found low=5.0 > high=1.0"
    ]


def test_negative_timeout_retries_walltime_and_bad_fail_prob() -> None:
    text = (
        "walltime: -1\n"
        + DUR_HEAD
        + (
            "      - shell: {command: x}\n"
            "        timeout: -5\n"
            "        retries: -1\n"
            "        failProb: 1.5\n"
            "        readyTimeout: 0\n"
        )
    )  # one line added on top: tasks from line 10
    assert problems(text) == [
        "t.yml:1: walltime: expected a number of seconds > 0, found -1.0",
        "t.yml:11: stages[0].tasks[0].timeout: expected a number of seconds > 0, found -5.0",
        "t.yml:12: stages[0].tasks[0].retries: expected a number of retries >= 0, found -1",
        "t.yml:13: stages[0].tasks[0].failProb: expected a probability in [0, 1], found 1.5",
        "t.yml:14: stages[0].tasks[0].readyTimeout: expected a number of seconds > 0, found 0.0",
    ]


def test_count_below_one() -> None:
    text = """\
name: t
nodeAssignments:
  - properties: {name: srv}
    count: 0
stages:
  - {name: a, selectors: [{all: true}], tasks: [{shell: {command: x}}]}
"""
    assert problems(text) == ["t.yml:4: nodeAssignments[0].count: expected a count >= 1, found 0"]


# ---------------------------------------------------------------- all at once


def test_misspelled_file_reports_every_problem_in_line_order() -> None:
    path = DATA / "typos.yml"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    where = str(path)
    assert [str(p) for p in info.value.problems] == [
        f"{where}:8: nodeAssignments[0].properties.role: expected one of any, loader, database, "
        "central (any case), found a string ('dtabase') (did you mean 'database'?)",
        f"{where}:16: pipelines[1].stages[1]: unknown stage 'pong' (did you mean 'ping'?)",
        f"{where}:21: stages[0].takss: unknown key (did you mean 'tasks'?)",
        f"{where}:35: stages[1].tasks[0].docker.port: unknown key (did you mean 'ports'?)",
        f"{where}:39: stages[2].selelectors: unknown key (did you mean 'selectors'?)",
        f"{where}:44: stages[2].tasks[0].shell.command: template {{{{.Nodes.server.Ip}}}} names "
        "unknown assignment 'server' (did you mean 'srv'?): expected one of 'srv', 'cli'",
    ]
    assert isinstance(info.value, ValueError)  # SpecError is a ValueError too


def test_validate_spec_on_a_model_without_lines() -> None:
    bad = JobSpec(
        "j",
        node_assignments=(NodeAssignment("a"),),
        stages=(
            Stage(
                "s",
                selectors=(Selector(name="b"),),
                tasks=(Task("t", driver=Driver.SHELL, shell=ShellPayload("x"), retries=-1),),
            ),
        ),
    )
    assert [str(p) for p in validate_spec(bad, where="mem")] == [
        "mem: stages[0].selectors[0].name: unknown assignment 'b': expected one of 'a'",
        "mem: stages[0].tasks[0].retries: expected a number of retries >= 0, found -1",
    ]


def test_background_stage_without_tasks() -> None:
    text = spec("  - name: a\n    background: true\n    selectors: [{name: srv}]\n    tasks: []\n")
    assert problems(text) == [
        "t.yml:9: stages[0].tasks: background stage 'a' has no background task: "
        "expected at least one task with background: true, found no tasks"
    ]
