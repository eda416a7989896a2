"""Issue 13's acceptance spec (data/specs/benchhub-shapes.yml) from validation to a real
run, and what its shapes mean: selectors, ``none`` stages, the raw spec kept verbatim."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from benchhub_sim.cli import main
from benchhub_sim.cluster import Cluster, Node, load_cluster
from benchhub_sim.engine.compiled import CompiledSpec
from benchhub_sim.plan import plan_job
from benchhub_sim.replay import replay
from benchhub_sim.simulate import simulate
from benchhub_sim.spec import Role, load_spec
from benchhub_sim.store.run import load_run
from benchhub_sim.workload.base import JobRequest

REPO = Path(__file__).resolve().parents[1]
SHAPES = REPO / "data" / "specs" / "benchhub-shapes.yml"
SMALL = REPO / "data" / "clusters" / "small.yml"

#: what echo_args must receive: the args exactly as the file writes them (the template
#: rendered to the local node's address), and GREETING and EMPTY from the {k, v} list
ARGS_SEEN = {
    "args": ["two words", 'it\'s "quoted"', "$HOME and ${USER}", "", "127.0.0.1"],
    "GREETING": "hello, world",
    "EMPTY": "",
}


def test_acceptance_spec_validates_and_plans_with_rendered_args(capsys):
    assert main(["validate", str(SHAPES)]) == 0
    assert main(["plan", str(SHAPES), "--cluster", str(SMALL)]) == 0
    out = capsys.readouterr().out
    # small.yml binds srv to db (10.0.0.10) and cli to loader-0
    assert "server [exec, background] python3 -m http.server 0 --bind 10.0.0.10\n" in out
    assert "' 'two words' 'it'\"'\"'s \"quoted\"' '$HOME and ${USER}' '' 10.0.0.10\n" in out
    assert "env GREETING=hello, world\n" in out
    assert (
        "stage stop_everything (from the central, on the nodes of the stages it stops)\n"
        "    on srv (db)\n" in out
    )


def test_acceptance_spec_simulates_with_its_text_as_raw_spec():
    spec = load_spec(SHAPES)
    run = simulate(load_cluster(SMALL), [JobRequest(spec), JobRequest(spec)], seed=1)
    data = SHAPES.read_bytes()
    assert [raw.encode() for raw in run.jobs["raw_spec"]] == [data, data]
    assert spec.spec_hash == hashlib.sha256(data).hexdigest()
    # job 0 binds srv -> db, cli -> loader-0; job 1 srv -> spare (any), cli -> loader-1.
    # The none stage runs its stopper on the node of the stage it stops.
    rows = run.stages[["job_id", "stage_name", "node_id", "status"]].astype(object)
    assert sorted(map(tuple, rows.to_numpy().tolist())) == [
        (0, "show_args", "loader-0", "finished"),
        (0, "start_server", "db", "stopped"),
        (0, "stop_everything", "db", "finished"),
        (1, "show_args", "loader-1", "finished"),
        (1, "start_server", "spare", "stopped"),
        (1, "stop_everything", "spare", "finished"),
    ]
    ev = run.job_events
    stops = ev[ev["event"].astype(object) == "task_stop"]
    assert stops["detail"].tolist() == ["stopped by stop_everything.stop_server"] * 2


@pytest.mark.skipif(
    shutil.which("python3") is None or not Path("/proc/self/environ").exists(),
    reason="needs python3 and Linux /proc",
)
def test_acceptance_spec_really_runs_with_args_and_env_intact(tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(SHAPES), "--out", str(out)]) == 0
    assert json.loads((out / "work" / "0" / "cli" / "args.json").read_text()) == ARGS_SEEN
    run = load_run(out)
    assert run.jobs["raw_spec"][0].encode() == SHAPES.read_bytes()
    tasks = run.tasks.set_index("task_name")["status"].astype(object)
    assert tasks.to_dict() == {
        "server": "stopped",
        "echo_args": "finished",
        "stop_server": "finished",
    }


# ---------------------------------------------------------------- selectors and none


SELECT = """\
name: select
nodeAssignments:
  - properties: {name: srv, role: database}
  - properties: {name: cli, role: loader}
    count: 2
  - properties: {name: x}
stages:
  - name: bg
    background: true
    selectors: [{role: loader}]
    tasks: [{name: svc, background: true, shell: {command: serve}}]
  - name: both
    selectors: [{name: srv, role: loader}]
    tasks: [{shell: {command: run}}]
  - name: halt
    selectors: [{none: true}]
    tasks: [{stopper: {stage: bg, all: true}}]
"""


def test_name_and_role_in_one_selector_are_ored_as_benchhubs_planner_does():
    plan = plan_job(load_spec(SELECT), Cluster.uniform(4))
    picked = {s.name: [n.name for n in s.nodes] for p in plan.pipelines for s in p.stages}
    # 'both' picks srv by name and the two loaders by role, not x; 'halt' runs where bg runs
    assert picked == {
        "bg": ["cli-0", "cli-1"],
        "both": ["srv", "cli-0", "cli-1"],
        "halt": ["cli-0", "cli-1"],
    }


def test_assignment_selector_ors_node_name_and_role():
    x = "  - properties: {name: x}\n"
    spec = load_spec(SELECT.replace(x, x + "    selectors: [{name: n9, role: central}]\n"))
    base = [Node("db1", Role.DATABASE), Node("l1", Role.LOADER), Node("l2", Role.LOADER)]
    for extra in (Node("n9", Role.LOADER), Node("c1", Role.CENTRAL)):  # by name, by role
        bound = {a.name: a.node_id for a in plan_job(spec, [*base, extra]).assignments}
        assert bound["x"] == extra.node_id


def test_raw_spec_of_generated_and_mapping_specs():
    # a spec built from a mapping has no text: the jobs table holds it dumped, hashed alike
    spec = load_spec(
        {
            "name": "m",
            "nodeAssignments": [{"properties": {"name": "a"}}],
            "stages": [
                {"name": "s", "selectors": [{"all": True}], "tasks": [{"shell": {"command": "x"}}]}
            ],
        }
    )
    run = simulate(Cluster.uniform(1), [JobRequest(spec)])
    raw = run.jobs["raw_spec"][0]
    assert spec.source is None and raw.startswith("name: m\n")
    assert (
        CompiledSpec(spec, walltime=1.0, raw_spec=raw).spec_hash
        == hashlib.sha256(raw.encode()).hexdigest()
    )
    assert CompiledSpec(spec, walltime=1.0).spec_hash is None


def test_replay_keeps_the_name_a_nameless_file_was_given(tmp_path):
    path = tmp_path / "unnamed-bench.yml"
    path.write_text(SELECT.replace("name: select\n", ""))
    run = simulate(Cluster.uniform(4), [JobRequest(load_spec(path))], out=tmp_path / "run")
    again = replay(tmp_path / "run")
    assert run.jobs["name"].tolist() == again.jobs["name"].tolist() == ["unnamed-bench"]
    assert again.jobs["raw_spec"][0] == path.read_text()


def test_stage_graph_marks_the_central_stopper_stage_and_links_it_to_what_it_stops():
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation

    from benchhub_sim.graph import plot_stage_graph, stage_graph

    g = stage_graph(load_spec(SHAPES))
    assert [(n, d["central"], d["stops"]) for n, d in g.nodes(data=True)] == [
        ("start_server", False, ()),
        ("show_args", False, ()),
        ("stop_everything", True, ("start_server",)),
    ]
    ax = plot_stage_graph(g, ax=Figure().add_subplot())
    central = {c.get_label(): c for c in ax.collections}["stopper stage (central)"]
    assert central.get_offsets().tolist() == [[2.0, 0.0]]  # pipeline 2, alone in it
    (stops,) = [t for t in ax.texts if isinstance(t, Annotation) and t.get_gid() == "stops"]
    assert (stops.xyann, stops.xy) == ((2.0, 0.0), (0.0, 0.0))
