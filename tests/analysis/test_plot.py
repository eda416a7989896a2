from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from benchhub_sim.analysis.plot import (  # noqa: E402
    FAIL_COLOR,
    STATUS_COLORS,
    gantt_rects,
    node_rows,
    plot_gantt,
    plot_job_timeline,
    plot_node_states,
    plot_queue_length,
    plot_stage_durations,
    plot_utilization,
    plot_wait_by_spec,
    plot_wait_cdf,
)
from benchhub_sim.errors import StoreError  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _new_ax():
    from matplotlib.figure import Figure

    return Figure().subplots()


def _boxes(coll):
    return [
        (v[:, 0].min(), v[:, 0].max(), v[:, 1].min(), v[:, 1].max())
        for v in (p.vertices for p in coll.get_paths())
    ]


def test_gantt_merges_adjacent_nodes_of_one_job(run):
    ax = plot_gantt(run, ax=_new_ax())
    (coll,) = ax.collections
    # J1 on row 0 [0,10), J2 on row 1 [1,5), J3 on rows 0-1 [10,30) as one rectangle
    np.testing.assert_allclose(
        sorted(_boxes(coll)),
        [(0.0, 10.0, -0.4, 0.4), (1.0, 5.0, 0.6, 1.4), (10.0, 30.0, -0.4, 1.4)],
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == ["n0", "n1"]
    assert ax.get_title() == "Jobs by node"
    # coloured by spec: J1 and J2 are spec a, J3 spec b; the legend names them
    faces = {tuple(c) for c in coll.get_facecolors()}
    assert len(faces) == 2
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["a", "b", "aborted (at its end)"]
    # the aborted J3: red edge, and an x at its end, in the middle of its two rows
    red = matplotlib.colors.to_rgba(FAIL_COLOR)
    edges = [tuple(c) == red for c in coll.get_edgecolors()]
    order = np.argsort([b[0] for b in _boxes(coll)])
    assert [edges[i] for i in order] == [False, False, True]
    (mark,) = [line for line in ax.lines if line.get_label() == "aborted"]
    assert mark.get_xydata().tolist() == [[30.0, 0.5]]


def test_gantt_by_status(run):
    ax = plot_gantt(run, ax=_new_ax(), color_by="status")
    (coll,) = ax.collections
    faces = [tuple(c) for c in coll.get_facecolors()]
    by_start = dict(zip([b[0] for b in _boxes(coll)], faces, strict=True))
    finished = matplotlib.colors.to_rgba(STATUS_COLORS["finished"])
    aborted = matplotlib.colors.to_rgba(STATUS_COLORS["aborted"])
    assert (by_start[0.0], by_start[1.0], by_start[10.0]) == (finished, finished, aborted)
    with pytest.raises(ValueError, match="color_by"):
        plot_gantt(run, color_by="job")


def _role_run(roles):
    """One job per node, node i busy over [i, i + 1); nodes given in this role order."""
    n = len(roles)
    ids = [f"{r}-{i}" for i, r in enumerate(roles)]
    jobs = pd.DataFrame(
        {
            "job_id": np.arange(n),
            "name": ["s"] * n,
            "submit_time": np.arange(n, dtype=float),
            "start_time": np.arange(n, dtype=float),
            "stop_time": np.arange(n, dtype=float) + 1.0,
            "status": "finished",
            "n_nodes": 1,
        }
    )
    events = pd.DataFrame(
        {
            "seq": np.arange(n),
            "time": np.arange(n, dtype=float),
            "job_id": np.arange(n),
            "event": "assign",
            "node_id": ids,
        }  # fmt: skip
    )
    nodes = pd.DataFrame({"node_id": ids, "role": roles})
    return SimpleNamespace(
        jobs=jobs, nodes=nodes, job_events=events, stages=pd.DataFrame(), node_events=pd.DataFrame()
    )


def test_gantt_groups_nodes_by_role_with_separators():
    run = _role_run(["any", "loader", "database", "loader", "any"])
    rows, bands = node_rows(run)
    # database first, then loaders, then any; nodes keep their order within a role
    assert rows.tolist() == [3, 1, 0, 2, 4]
    assert bands == [("database", 0, 1), ("loader", 1, 2), ("any", 3, 2)]
    ax = plot_gantt(run, ax=_new_ax())
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "database-2", "loader-1", "loader-3", "any-0", "any-4"
    ]  # fmt: skip
    # job k ran on node k: its bar is on that node's row
    rects, _ = gantt_rects(run)
    assert dict(zip(rects["job_id"], rects["y"], strict=True)) == {0: 3, 1: 1, 2: 0, 3: 2, 4: 4}
    separators = [line.get_ydata()[0] for line in ax.lines if line.get_label() != "aborted"]
    assert separators == [0.5, 2.5]


def test_gantt_of_many_nodes_labels_role_bands():
    run = _role_run(["database"] * 100 + ["loader"] * 700 + ["any"] * 200)
    ax = plot_gantt(run, ax=_new_ax())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["database\n100 nodes", "loader\n700 nodes", "any\n200 nodes"]
    np.testing.assert_allclose(ax.get_yticks(), [49.5, 449.5, 899.5])


def _many_jobs(n_jobs: int, n_nodes: int = 4):
    submit = np.arange(n_jobs, dtype=float)
    jobs = pd.DataFrame(
        {
            "job_id": np.arange(n_jobs),
            "submit_time": submit,
            "start_time": submit,
            "stop_time": submit + 1.0,
            "status": "finished",
            "n_nodes": 1,
        }
    )
    events = pd.DataFrame(
        {
            "seq": np.arange(n_jobs),
            "time": submit,
            "job_id": np.arange(n_jobs),
            "event": "assign",
            "node_id": [f"n{i % n_nodes}" for i in range(n_jobs)],
        }
    )
    nodes = pd.DataFrame({"node_id": [f"n{i}" for i in range(n_nodes)]})
    return SimpleNamespace(
        jobs=jobs, nodes=nodes, job_events=events, stages=pd.DataFrame(), node_events=pd.DataFrame()
    )


def test_gantt_samples_beyond_max_jobs():
    run = _many_jobs(1000)
    rects, n = gantt_rects(run, max_jobs=300)
    # every ceil(1000 / 300) = 4th job in start order: 0, 4, ..., 996
    assert n == 1000
    assert rects["job_id"].tolist() == list(range(0, 1000, 4))
    ax = plot_gantt(run, ax=_new_ax(), max_jobs=300)
    assert "showing 250 of 1000 jobs" in ax.get_title()
    assert len(ax.collections[0].get_paths()) == 250


def test_job_timeline(run):
    ax = plot_job_timeline(run, 3, ax=_new_ax())
    bars = {c.get_label(): c for c in ax.containers}
    stage = [(p.get_x(), p.get_width(), p.get_y() + p.get_height() / 2) for p in bars["stage"]]
    # rows: setup@n0, setup@n1, db@n1 (foreground until ready at 15), run@n0
    np.testing.assert_allclose(stage, [(10, 3, 0), (10, 2, 1), (13, 2, 2), (15, 15, 3)])
    bg = [(p.get_x(), p.get_width(), p.get_y() + p.get_height() / 2) for p in bars["background"]]
    np.testing.assert_allclose(bg, [(15, 15, 2)])
    lines = {line.get_label(): line for line in ax.lines}
    assert lines["ready"].get_xydata().tolist() == [[15.0, 2.0]]
    assert lines["failed"].get_xydata().tolist() == [[30.0, 3.0]]
    # the aborted stage is red, the others are not
    red = matplotlib.colors.to_rgba(FAIL_COLOR)
    assert [tuple(p.get_facecolor()) == red for p in bars["stage"]] == [False, False, False, True]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["setup @ n0", "setup @ n1", "db @ n1", "run @ n0"]
    # the same error as job_detail (it was a KeyError about stage rows)
    with pytest.raises(StoreError, match="job 42: no such job in this run"):
        plot_job_timeline(run, 42, ax=_new_ax())


def test_utilization_and_queue_lines(run):
    ax = plot_utilization(run, ax=_new_ax())
    (line,) = ax.lines
    assert line.get_xydata().tolist() == [[0, 0.5], [1, 1], [5, 0.5], [10, 1], [30, 0]]
    assert line.get_drawstyle() == "steps-post"
    ax = plot_queue_length(run, ax=_new_ax())
    (line,) = ax.lines
    # held until the run's end at 30
    assert line.get_xydata().tolist() == [[0, 0], [2, 1], [10, 0], [30, 0]]


def test_wait_cdf_of_two_runs(run, make_run):
    other = make_run()
    other.jobs.loc[other.jobs["job_id"] == 3, "start_time"] = 4.0  # wait 2 instead of 8
    ax = plot_wait_cdf([run, other], labels=["a", "b"], ax=_new_ax())
    a, b = ax.lines
    assert (a.get_label(), b.get_label()) == ("a", "b")
    # waits [0, 0, 8]
    assert a.get_xdata().tolist() == [0, 0, 0, 8]
    assert a.get_ydata().tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert b.get_xdata().tolist() == [0, 0, 0, 2]


def test_node_states_stack(run):
    ax = plot_node_states(run, ax=_new_ax())
    assert len(ax.collections) == 2  # idle, running (a job: the nodes' job state)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["idle", "running"]
    # the top of the stack is 2 nodes throughout [0, 30]
    top = ax.collections[1].get_paths()[0].vertices
    assert top[:, 1].max() == 2.0


def test_plot_creates_axes_when_none(run):
    ax = plot_utilization(run)
    assert ax.figure is not None


def test_job_timeline_legend_names_what_is_drawn(run):
    ax = plot_job_timeline(run, 3, ax=_new_ax())
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == [
        "stage (until done, or ready)",
        "background, ready until stopped",
        "ready",
        "aborted stage",
        "failed attempt",
    ]
    # job 1 has no background stage and nothing failed: only what it has
    ax = plot_job_timeline(run, 1, ax=_new_ax())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["stage (until done, or ready)"]


def _inside_figure(ax) -> bool:
    import io

    fig = ax.figure
    fig.savefig(io.BytesIO(), format="png")
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    artists = [*ax.get_yticklabels(), *ax.get_xticklabels(), ax.title, ax.xaxis.label]
    legend = ax.get_legend()
    if legend is not None:
        artists.append(legend)
    for a in artists:
        if a.get_text() if hasattr(a, "get_text") else True:
            e = a.get_window_extent(renderer)
            if e.x0 < box.x0 - 0.5 or e.x1 > box.x1 + 0.5 or e.y0 < box.y0 - 0.5:
                return False
    return True


def test_saved_timeline_keeps_long_labels(run):
    # long stage names: a figure made without constrained layout cuts them at the left
    run.stages["stage_name"] = run.stages["stage_name"].astype(object) + "_of_the_database_server"
    ax = plot_job_timeline(run, 3)
    assert _inside_figure(ax)


def test_legends_are_outside_the_data(run):
    for ax in (
        plot_node_states(run, ax=_new_ax()),
        plot_gantt(run, ax=_new_ax()),
        plot_job_timeline(run, 3, ax=_new_ax()),
        plot_wait_cdf([run, run], labels=["a", "b"], ax=_new_ax()),
    ):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        renderer = FigureCanvasAgg(ax.figure).get_renderer()
        legend = ax.get_legend().get_window_extent(renderer)
        assert legend.x0 >= ax.get_window_extent(renderer).x1, ax.get_title()


def test_utilization_and_queue_of_several_runs_on_one_axes(run, make_run):
    other = make_run()
    other.meta = dict(other.meta, policy="easy")
    ax = plot_utilization([run, other], ax=_new_ax())
    a, b = ax.lines
    assert (a.get_label(), b.get_label()) == ("fcfs", "easy")
    assert a.get_color() != b.get_color()
    assert b.get_xydata().tolist() == [[0, 0.5], [1, 1], [5, 0.5], [10, 1], [30, 0]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["fcfs", "easy"]
    ax = plot_queue_length([run, other], labels=["x", "y"], ax=_new_ax())
    assert [line.get_label() for line in ax.lines] == ["x", "y"]
    assert ax.lines[1].get_xydata().tolist() == [[0, 0], [2, 1], [10, 0], [30, 0]]
    # one run: no legend needed
    assert plot_utilization(run, ax=_new_ax()).get_legend() is None


def _medians(ax):
    return [line.get_ydata()[0] for line in ax.lines if line.get_gid() == "median"]


def test_wait_by_spec_boxes(run, make_run):
    other = make_run()
    other.jobs.loc[other.jobs["job_id"] == 3, "start_time"] = 4.0  # wait 2 instead of 8
    ax = plot_wait_by_spec([run, other], labels=["r1", "r2"], ax=_new_ax())
    # spec a: waits [0, 0] in both runs; spec b: [8] then [2]; spec c never started
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert _medians(ax) == [0.0, 8.0, 0.0, 2.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["r1", "r2"]


def test_stage_durations_boxes_by_spec(run):
    ax = plot_stage_durations(run, ax=_new_ax())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["a: run", "a: setup", "b: db", "b: run", "b: setup"]
    # medians of [8, 3], [2, 1], [17], [15], [3, 2] (see test_metrics)
    assert [line.get_xdata()[0] for line in ax.lines if line.get_gid() == "median"] == [
        5.5, 1.5, 17.0, 15.0, 2.5
    ]  # fmt: skip


def test_every_plot_returns_axes_and_never_shows(run, monkeypatch):
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    from benchhub_sim.graph import plot_stage_graph
    from benchhub_sim.spec.model import JobSpec, Stage

    def no_show(*args, **kwargs):
        raise AssertionError("show() called")

    monkeypatch.setattr(plt, "show", no_show)
    for ax in (
        plot_gantt(run),
        plot_job_timeline(run, 3),
        plot_utilization(run),
        plot_queue_length(run),
        plot_node_states(run),
        plot_wait_cdf(run),
        plot_wait_by_spec(run),
        plot_stage_durations(run),
        plot_stage_graph(JobSpec("j", stages=(Stage("a"), Stage("b")))),
    ):
        assert isinstance(ax, Axes)
        assert ax.figure.get_layout_engine() is not None  # constrained: saved whole


def test_wait_plots_on_a_log_axis_start_at_zero(run):
    ax = plot_wait_cdf(run, ax=_new_ax(), log=True)
    assert ax.get_xscale() == "symlog" and ax.get_xlim()[0] == 0
    ax = plot_wait_by_spec(run, ax=_new_ax(), log=True)
    assert ax.get_yscale() == "symlog" and ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > 8
