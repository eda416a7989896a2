from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from benchhub_sim.analysis.plot import (  # noqa: E402
    FAIL_COLOR,
    gantt_rects,
    plot_gantt,
    plot_job_timeline,
    plot_node_states,
    plot_queue_length,
    plot_utilization,
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


def test_gantt_merges_adjacent_nodes_of_one_job(run):
    ax = plot_gantt(run, ax=_new_ax())
    (coll,) = ax.collections
    boxes = sorted(
        (v[:, 0].min(), v[:, 0].max(), v[:, 1].min(), v[:, 1].max())
        for v in (p.vertices for p in coll.get_paths())
    )
    # J1 on row 0 [0,10), J2 on row 1 [1,5), J3 on rows 0-1 [10,30) as one rectangle
    np.testing.assert_allclose(
        boxes, [(0.0, 10.0, -0.4, 0.4), (1.0, 5.0, 0.6, 1.4), (10.0, 30.0, -0.4, 1.4)]
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == ["n0", "n1"]
    assert ax.get_title() == "Jobs by node"
    # different jobs, different colours
    assert len({tuple(c) for c in coll.get_facecolors()}) == 3


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
    assert len(ax.collections) == 2  # idle, running_job
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["idle", "running_job"]
    # the top of the stack is 2 nodes throughout [0, 30]
    top = ax.collections[1].get_paths()[0].vertices
    assert top[:, 1].max() == 2.0


def test_plot_creates_axes_when_none(run):
    ax = plot_utilization(run)
    assert ax.figure is not None
