"""The stage graph: barrier edges, duration estimates, critical path, drawing."""

from __future__ import annotations

import math

import matplotlib
import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from strategies import job_specs

from benchhub_sim.graph import barrier_edges, critical_path, plot_stage_graph, stage_graph
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
    Task,
    TaskPipeline,
)
from benchhub_sim.spec.walltime import estimate_walltime

matplotlib.use("Agg")


def sh(name: str, seconds: float | None = None, **kw) -> Task:
    duration = None if seconds is None else Duration.constant(seconds)
    return Task(name, Driver.SHELL, shell=ShellPayload(f"run {name}"), duration=duration, **kw)


def pingpong() -> JobSpec:
    """BenchHub's pingpong.yml, built by hand."""
    srv, cli = (Selector(name="srv"),), (Selector(name="cli"),)
    return JobSpec(
        "pingpong",
        node_assignments=(
            NodeAssignment("srv", Role.DATABASE, (Selector(role=Role.DATABASE),)),
            NodeAssignment("cli", Role.LOADER, (Selector(role=Role.LOADER),)),
        ),
        pipelines=(
            StagePipeline("download", ("download_client", "download_server")),
            StagePipeline("run_server", ("start_server",)),
            StagePipeline("run_workload", ("ping_server",)),
        ),
        stages=(
            Stage("download_client", selectors=cli, tasks=(sh("task-0"),)),
            Stage("download_server", selectors=srv, tasks=(sh("task-0"),)),
            Stage(
                "start_server",
                background=True,
                selectors=srv,
                tasks=(sh("task-0", background=True, ready=(sh("task-0"),)),),
            ),
            Stage("ping_server", selectors=cli, tasks=(sh("task-0"),)),
        ),
    )


# --- structure -----------------------------------------------------------------------


def test_pingpong_graph():
    g = stage_graph(pingpong())
    assert list(g.nodes) == ["download_client", "download_server", "start_server", "ping_server"]
    assert {n: g.nodes[n]["pipeline"] for n in g} == {
        "download_client": 0,
        "download_server": 0,
        "start_server": 1,
        "ping_server": 2,
    }
    assert g.nodes["start_server"]["background"] is True
    assert g.nodes["download_client"]["background"] is False
    assert g.nodes["ping_server"]["selectors"] == (Selector(name="cli"),)
    assert g.nodes["ping_server"]["pipeline_name"] == "run_workload"
    assert sorted(g.edges(data="kind")) == [
        ("download_client", "start_server", "finished"),
        ("download_server", "start_server", "finished"),
        ("start_server", "ping_server", "ready"),
    ]
    assert g.graph["pipelines"] == ["download", "run_server", "run_workload"]
    assert g.graph["job"] == "pingpong"


def test_no_pipelines_runs_stages_one_by_one():
    spec = JobSpec("j", stages=(Stage("a"), Stage("b", background=True), Stage("c")))
    g = stage_graph(spec)
    assert [g.nodes[n]["pipeline"] for n in "abc"] == [0, 1, 2]
    assert sorted(g.edges(data="kind")) == [("a", "b", "finished"), ("b", "c", "ready")]


def test_barrier_is_complete_bipartite_between_consecutive_pipelines():
    spec = JobSpec(
        "j",
        pipelines=(StagePipeline("p", ("a", "b")), StagePipeline("q", ("c", "d", "e"))),
        stages=tuple(Stage(n) for n in "abcde"),
    )
    g = stage_graph(spec)
    assert sorted(barrier_edges(g)) == [(s, t) for s in "ab" for t in "cde"]


# --- durations -----------------------------------------------------------------------


def stage_duration(stage: Stage, default: float = 1.0) -> float:
    """The ``duration`` the graph gives ``stage`` (as the only stage of a job)."""
    graph = stage_graph(JobSpec("j", stages=(stage,)), default_task_duration=default)
    return graph.nodes[stage.name]["duration"]


def test_stage_duration_follows_task_pipelines():
    # pipeline 1 runs a (2 s) beside b (exponential, mean 5 s): 5 s; pipeline 2 runs
    # c (uniform 1..3, mean 2 s): the stage takes 5 + 2 = 7 s on one node.
    stage = Stage(
        "s",
        tasks=(
            sh("a", 2),
            Task("b", Driver.SHELL, ShellPayload("b"), duration=Duration.of("exponential", mean=5)),
            Task(
                "c", Driver.SHELL, ShellPayload("c"), duration=Duration.of("uniform", low=1, high=3)
            ),
        ),
        pipelines=(TaskPipeline("one", ("a", "b")), TaskPipeline("two", ("c",))),
    )
    assert stage_duration(stage) == pytest.approx(7.0)


def test_stage_duration_defaults_and_lognormal():
    # no duration: 1 s each, one after another
    assert stage_duration(Stage("s", tasks=(sh("a"), sh("b"), sh("c")))) == 3.0
    assert stage_duration(Stage("s", tasks=(sh("a"),)), default=2.5) == 2.5
    lognormal = Task("x", duration=Duration.of("lognormal", mu=0.0, sigma=1.0))
    assert stage_duration(Stage("s", tasks=(lognormal,))) == pytest.approx(math.exp(0.5))
    assert stage_duration(Stage("empty")) == 0.0


def test_background_stage_counts_its_readiness_checks():
    # foreground install (2 s), then the service: ready after its checks, 3 s + 1 s (default)
    stage = Stage(
        "svc",
        background=True,
        tasks=(sh("install", 2), sh("serve", 100, background=True, ready=(sh("p", 3), sh("q")))),
    )
    assert stage_duration(stage) == 6.0
    # a background task without checks is ready at once
    assert stage_duration(Stage("b", background=True, tasks=(sh("x", 50, background=True),))) == 0


def test_critical_path_over_pipelines():
    spec = JobSpec(
        "j",
        pipelines=(
            StagePipeline("install", ("a", "b")),
            StagePipeline("start", ("db",)),
            StagePipeline("load", ("l",)),
        ),
        stages=(
            Stage("a", tasks=(sh("t", 3),)),
            Stage("b", tasks=(sh("t", 1),)),
            Stage("db", background=True, tasks=(sh("t", background=True, ready=(sh("w", 40),)),)),
            Stage("l", tasks=(sh("t", 10), sh("u", 5))),
        ),
    )
    assert critical_path(stage_graph(spec)) == (["a", "db", "l"], 3 + 40 + 15)


def test_critical_path_of_empty_graph_and_other_weight():
    assert critical_path(nx.DiGraph()) == ([], 0.0)
    g = nx.DiGraph()
    g.add_node("a", duration=5.0, cost=1.0)
    g.add_node("b", duration=1.0, cost=9.0)
    g.add_node("c", duration=1.0, cost=1.0)
    g.add_edges_from([("a", "c"), ("b", "c")])
    assert critical_path(g) == (["a", "c"], 6.0)
    assert critical_path(g, weight="cost") == (["b", "c"], 10.0)


def test_task_nodes():
    stage = Stage(
        "s",
        tasks=(sh("a", 1), sh("b", 2), sh("c", 4)),
        pipelines=(TaskPipeline("p0", ("a", "b")), TaskPipeline("p1", ("c",))),
    )
    spec = JobSpec("j", stages=(stage, Stage("t", tasks=(sh("x"),))))
    g = stage_graph(spec, tasks=True)
    tasks = sorted(n for n, kind in g.nodes(data="kind") if kind == "task")
    assert tasks == [("s", "a"), ("s", "b"), ("s", "c"), ("t", "x")]
    assert g.nodes["s", "c"]["task_pipeline"] == 1
    assert g.nodes["s", "b"]["duration"] == 2.0
    assert sorted(g.edges(data="kind"), key=str) == sorted(
        [
            ("s", ("s", "a"), "contains"),
            ("s", ("s", "b"), "contains"),
            (("s", "a"), ("s", "c"), "sequence"),
            (("s", "b"), ("s", "c"), "sequence"),
            ("s", "t", "finished"),
            ("t", ("t", "x"), "contains"),
        ],
        key=str,
    )
    assert nx.is_directed_acyclic_graph(g)
    # task nodes are inside their stages: the stage path is unchanged (s: 2 + 4, t: 1)
    assert critical_path(g) == (["s", "t"], 7.0)


# --- invariants ----------------------------------------------------------------------


@st.composite
def specs(draw: st.DrawFn) -> JobSpec:
    """Valid specs: distinct stage names, each stage in exactly one pipeline (or none at all)."""
    n = draw(st.integers(1, 8))
    names = [f"s{i}" for i in range(n)]
    order = draw(st.permutations(names))
    stages = []
    for name in names:
        background = draw(st.booleans())
        n_tasks = draw(st.integers(0 if not background else 1, 3))
        tasks = tuple(
            sh(f"t{j}", draw(st.floats(0, 100)), background=background and j == 0)
            for j in range(n_tasks)
        )
        stages.append(Stage(name, background=background, tasks=tasks))
    if draw(st.booleans()):
        return JobSpec("j", stages=tuple(stages))
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=n - 1))) if n > 1 else []
    bounds = [0, *cuts, n]
    pipelines = tuple(
        StagePipeline(f"p{k}", tuple(order[a:b]))
        for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
    )
    return JobSpec("j", pipelines=pipelines, stages=tuple(stages))


@settings(max_examples=examples(50), deadline=None)
@given(specs(), st.booleans())
def test_random_specs_give_acyclic_graphs_with_exact_barriers(spec, with_tasks):
    g = stage_graph(spec, tasks=with_tasks)
    assert nx.is_directed_acyclic_graph(g)
    pipelines = spec.effective_pipelines()
    expected = {
        (s, t)
        for before, after in zip(pipelines, pipelines[1:], strict=False)
        for s in before.stages
        for t in after.stages
    }
    assert set(barrier_edges(g)) == expected
    for s, t, kind in g.edges(data="kind"):
        if (s, t) in expected:
            assert kind == ("ready" if spec.stage(s).background else "finished")
    path, total = critical_path(g)
    # at most one stage per pipeline, consecutive pipelines (zero-length stages may be left
    # out at the ends); the total is the sum of each pipeline's longest stage
    indexes = [g.nodes[s]["pipeline"] for s in path]
    if indexes:
        assert indexes == list(range(indexes[0], indexes[0] + len(indexes)))
    longest = sum(max(g.nodes[s]["duration"] for s in p.stages) for p in pipelines)
    assert total == pytest.approx(longest)
    assert total == pytest.approx(estimate_walltime(spec))


@settings(max_examples=examples(30), deadline=None)
@given(job_specs())
def test_generated_valid_specs_give_acyclic_graphs_with_exact_barriers(spec):
    g = stage_graph(spec, tasks=True)
    assert nx.is_directed_acyclic_graph(g)
    pipelines = spec.effective_pipelines()
    expected = sorted(
        (s, t)
        for before, after in zip(pipelines, pipelines[1:], strict=False)
        for s in before.stages
        for t in after.stages
    )
    assert sorted(barrier_edges(g)) == expected
    n_tasks = sum(len(stage.tasks) for stage in spec.stages)
    assert g.number_of_nodes() == len(spec.stages) + n_tasks
    assert critical_path(g)[1] == pytest.approx(estimate_walltime(spec))


# --- drawing -------------------------------------------------------------------------


def test_plot_stage_graph_draws_layers():
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation

    ax = Figure().add_subplot()
    out = plot_stage_graph(pingpong(), ax=ax)
    assert out is ax
    by_label = {c.get_label(): c for c in ax.collections}
    fg = sorted(map(tuple, by_label["stage"].get_offsets().tolist()))
    bg = sorted(map(tuple, by_label["background stage"].get_offsets().tolist()))
    # pipeline 0 holds two stages, at y = 0.5 and -0.5; the others are alone at y = 0
    assert fg == [(0.0, -0.5), (0.0, 0.5), (2.0, 0.0)]
    assert bg == [(1.0, 0.0)]
    arrows = [t for t in ax.texts if isinstance(t, Annotation)]
    assert sorted(a.get_gid() for a in arrows) == ["finished", "finished", "ready"]
    ready = next(a for a in arrows if a.get_gid() == "ready")
    assert (ready.xy, ready.xyann) == ((2.0, 0.0), (1.0, 0.0))
    texts = [t for t in ax.texts if not isinstance(t, Annotation)]
    labels = {t.get_text() for t in texts if t.get_gid() == "stage"}
    assert labels == {"download_client", "download_server", "start_server", "ping_server"}
    # where each stage runs: its selectors, with the role of the assignment they name
    runs_on = {t.get_text() for t in texts if t.get_gid() == "runs_on"}
    assert runs_on == {"on srv (database)", "on cli (loader)"}
    # the legend explains the markers and both kinds of edge
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["stage", "background stage", "waits until finished",
                      "waits until ready (background)"]  # fmt: skip
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "download",
        "run_server",
        "run_workload",
    ]


def test_plot_marks_stoppers_and_what_they_stop():
    from matplotlib.figure import Figure

    from benchhub_sim.graph import STOPPER_COLOR
    from benchhub_sim.spec.model import StopperPayload

    stop = Task("stop", Driver.STOPPER, stopper=StopperPayload("db"))
    spec = JobSpec(
        "j",
        stages=(
            Stage("db", background=True, tasks=(sh("server", background=True),)),
            Stage("end", selectors=(Selector(all=True),), tasks=(stop,)),
        ),
    )
    ax = plot_stage_graph(spec, ax=Figure().add_subplot())
    assert [t.get_text() for t in ax.texts if t.get_gid() == "stops_text"] == ["stops db"]
    assert [t.get_gid() for t in ax.texts if t.get_gid() == "stops"] == ["stops"]  # the link
    assert [t.get_text() for t in ax.texts if t.get_gid() == "runs_on"] == ["on no node", "on all"]
    by_label = {c.get_label(): c for c in ax.collections}
    red = matplotlib.colors.to_rgba(STOPPER_COLOR)
    assert [tuple(c) for c in by_label["stage"].get_edgecolors()] == [red]  # "end" stops
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert (
        legend[-1] == "stops a stage (dotted: which)" and "waits until ready (background)" in legend
    )


def test_plot_lists_task_pipelines_when_tasks_are_in_the_graph():
    from matplotlib.figure import Figure

    stage = Stage(
        "s",
        tasks=(sh("a"), sh("b"), sh("c")),
        pipelines=(TaskPipeline("p0", ("a", "b")), TaskPipeline("p1", ("c",))),
    )
    ax = plot_stage_graph(
        stage_graph(JobSpec("j", stages=(stage,)), tasks=True), ax=Figure().add_subplot()
    )
    assert "a | b\nc" in [t.get_text() for t in ax.texts]


def test_plot_without_ax_makes_a_figure():
    import matplotlib.pyplot as plt

    ax = plot_stage_graph(pingpong())
    try:
        assert ax.figure is not None and len(ax.collections) == 2
    finally:
        plt.close(ax.figure)
