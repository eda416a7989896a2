"""Plots of a run: ``plot_x(data, *, ax=None, **kwargs) -> Axes``.

Each function imports matplotlib when called, draws on ``ax`` (or on a new figure's
axes) and returns the axes; none calls ``show()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from benchhub_sim.analysis.metrics import (
    _jobs,
    _names,
    job_metrics,
    node_intervals,
    node_states,
    queue_length,
    run_end,
    utilization,
)
from benchhub_sim.errors import StoreError
from benchhub_sim.store.query import no_such_job

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: colour of failure markers and aborted spans
FAIL_COLOR = "#d62728"
#: fixed colours of node states, so every plot of every run reads the same
STATE_COLORS = {
    "finding_central": "#c7c7c7",
    "idle": "#aec7e8",
    "running_job": "#1f77b4",
    "waiting_peers": "#ff7f0e",
    "reporting": "#2ca02c",
    "cleanup": "#9467bd",
    "offline": FAIL_COLOR,
}


def _axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def gantt_rects(run: Any, *, max_jobs: int = 2000) -> tuple[pd.DataFrame, int]:
    """The rectangles :func:`plot_gantt` draws, and the number of jobs shown.

    Each job's nodes that hold it over the same span and sit on adjacent rows of
    ``run.nodes`` merge into one rectangle. Above ``max_jobs`` jobs, every k-th job in
    start order is kept (deterministic, no RNG), k = ceil(jobs / max_jobs).

    Returns
    -------
    rects : pandas.DataFrame
        Columns ``job_id``, ``x`` (start), ``width``, ``y`` (first node row), ``height``
        (number of rows).
    n_jobs : int
        Jobs in the run that held nodes.
    """
    iv = node_intervals(run)
    iv = iv[iv["node_index"] >= 0]
    order = iv.groupby("job_id", sort=False)["start"].min().sort_values(kind="stable")
    n_jobs = len(order)
    if n_jobs > max_jobs:
        step = -(-n_jobs // max_jobs)
        iv = iv[iv["job_id"].isin(set(order.index[::step]))]
    iv = iv.sort_values(["job_id", "start", "stop", "node_index"], kind="stable")
    rows: list[tuple[Any, float, float, int, int]] = []
    for (job, start, stop), g in iv.groupby(["job_id", "start", "stop"], sort=False):
        idx = g["node_index"].to_numpy()
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        for run_ in np.split(idx, breaks):
            rows.append((job, float(start), float(stop - start), int(run_[0]), len(run_)))
    rects = pd.DataFrame(rows, columns=["job_id", "x", "width", "y", "height"])
    return rects, n_jobs


def plot_gantt(
    run: Any, *, ax: Axes | None = None, max_jobs: int = 2000, cmap: str = "tab20", **kwargs: Any
) -> Axes:
    """Gantt chart by node: one row per node of ``run.nodes``, one colour per job.

    Drawn as a single collection of rectangles (fast for thousands of jobs). Above
    ``max_jobs`` jobs a deterministic sample is drawn and the title says so.

    Parameters
    ----------
    run : Run-like
    ax : matplotlib.axes.Axes, optional
    max_jobs : int
        Most jobs drawn.
    cmap : str
        Colormap cycled over job ids.
    **kwargs
        Passed to the ``PolyCollection`` (e.g. ``edgecolor``, ``linewidth``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib as mpl
    from matplotlib.collections import PolyCollection

    ax = _axes(ax, (10.0, 4.0))
    rects, n_jobs = gantt_rects(run, max_jobs=max_jobs)
    x, w = rects["x"].to_numpy(), rects["width"].to_numpy()
    y, h = rects["y"].to_numpy() - 0.4, rects["height"].to_numpy() - 0.2
    verts = np.stack(
        [
            np.column_stack([x, y]),
            np.column_stack([x + w, y]),
            np.column_stack([x + w, y + h]),
            np.column_stack([x, y + h]),
        ],
        axis=1,
    )
    colors = mpl.colormaps[cmap]
    ncol = getattr(colors, "N", 20)
    job_codes = pd.factorize(rects["job_id"], sort=True)[0]
    kwargs.setdefault("linewidth", 0.3 if len(rects) < 500 else 0.0)
    kwargs.setdefault("edgecolor", "black")
    coll = PolyCollection(
        list(verts), facecolors=colors((job_codes % ncol) / max(ncol - 1, 1)), **kwargs
    )
    coll.set_gid("gantt")
    ax.add_collection(coll)
    n_nodes = len(run.nodes)
    end = run_end(run)
    start = float(run.jobs["submit_time"].min()) if len(run.jobs) else 0.0
    ax.set_xlim(start, end if end > start else start + 1)
    ax.set_ylim(max(n_nodes, 1) - 0.5, -0.5)
    if n_nodes <= 40:
        ax.set_yticks(range(n_nodes))
        ax.set_yticklabels([str(n) for n in run.nodes["node_id"]])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("node")
    shown = rects["job_id"].nunique()
    title = "Jobs by node"
    if shown < n_jobs:
        title += f" (showing {shown} of {n_jobs} jobs, every {-(-n_jobs // max_jobs)}th)"
    ax.set_title(title)
    return ax


def plot_job_timeline(run: Any, job_id: int, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """One job's timeline: a row per (stage, node), in pipeline order.

    A foreground stage is a bar from start to stop; a background stage is a bar from
    start to ready, then a lighter hatched span until it stopped, with a ``|`` marker at
    its ready time. Aborted stages are drawn in red, failed task attempts get a red
    ``x`` at their stop time.

    Parameters
    ----------
    run : Run-like
    job_id : int
    ax : matplotlib.axes.Axes, optional
    **kwargs
        Passed to the foreground ``barh``.

    Returns
    -------
    matplotlib.axes.Axes
        Containers labelled ``stage`` and ``background``, lines labelled ``ready`` and
        ``failed``.

    Raises
    ------
    StoreError
        The run has no such job (as :func:`~benchhub_sim.store.query.job_detail`), or
        the job never started.
    """
    jobs = _jobs(run)
    if not (jobs["job_id"] == job_id).any():
        raise no_such_job(job_id)
    st = run.stages[run.stages["job_id"] == job_id]
    if st.empty:
        raise StoreError(f"job {job_id}: never started, it has no stage to draw")
    st = st.assign(
        stage_name=st["stage_name"].astype(object),
        node_id=st["node_id"].astype(object),
        status=st["status"].astype(object),
    ).sort_values(["pipeline", "stage", "node_id"], kind="stable")
    end = run_end(run)
    ax = _axes(ax, (9.0, 1.0 + 0.35 * len(st)))
    y = np.arange(len(st))
    start = st["start_time"].to_numpy(float)
    stop = st["stop_time"].fillna(end).to_numpy(float)
    ready = st["ready_time"].to_numpy(float)
    bg = st["background"].fillna(False).to_numpy(bool)
    fg_end = np.where(bg & ~np.isnan(ready), ready, stop)
    aborted = st["status"].to_numpy() == "aborted"
    colors = np.where(aborted, FAIL_COLOR, "C0")
    kwargs.setdefault("height", 0.6)
    ax.barh(y, fg_end - start, left=start, color=colors, label="stage", **kwargs)
    has_bg = bg & ~np.isnan(ready)
    ax.barh(
        y[has_bg],
        (stop - ready)[has_bg],
        left=ready[has_bg],
        height=kwargs["height"],
        color="C0",
        alpha=0.35,
        hatch="//",
        label="background",
    )
    ax.plot(ready[has_bg], y[has_bg], "|", color="black", markersize=12, label="ready")
    rows = {(s, n): i for i, (s, n) in enumerate(zip(st["stage"], st["node_id"], strict=True))}
    tasks = getattr(run, "tasks", None)
    fx: list[float] = []
    fy: list[int] = []
    if tasks is not None and len(tasks):
        t = tasks[tasks["job_id"] == job_id]
        failed = t[t["status"].astype(object).to_numpy() == "failed"]
        for s, n, when in zip(
            failed["stage"], failed["node_id"].astype(object), failed["stop_time"], strict=True
        ):
            if (s, n) in rows and not pd.isna(when):
                fx.append(float(when))
                fy.append(rows[(s, n)])
    ax.plot(fx, fy, "x", color=FAIL_COLOR, markersize=10, mew=2, label="failed")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{s} @ {n}" for s, n in zip(st["stage_name"], st["node_id"], strict=True)])
    ax.set_ylim(len(st) - 0.5, -0.5)
    ax.set_xlabel("time (s)")
    status = run.jobs.loc[run.jobs["job_id"] == job_id, "status"].astype(object)
    ax.set_title(f"job {job_id}" + (f" ({status.iloc[0]})" if len(status) else ""))
    return ax


def _plot_step(ax: Axes, s: pd.Series, end: float | None, **kwargs: Any) -> None:
    x = s.index.to_numpy(float)
    yv = s.to_numpy(float)
    if end is not None and len(x) and end > x[-1]:
        x = np.append(x, end)
        yv = np.append(yv, yv[-1])
    ax.step(x, yv, where="post", **kwargs)


def plot_utilization(
    run: Any, *, ax: Axes | None = None, freq: float | None = None, **kwargs: Any
) -> Axes:
    """Cluster utilization over time (see :func:`~benchhub_sim.analysis.metrics.utilization`).

    Drawn as a post-step line; with ``freq`` the per-bin means are drawn instead.
    """
    ax = _axes(ax)
    s = utilization(run, freq=freq)
    kwargs.setdefault("label", "utilization")
    _plot_step(ax, s, None, **kwargs)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("busy nodes / nodes")
    ax.set_title("Cluster utilization")
    return ax


def plot_queue_length(
    run: Any, *, ax: Axes | None = None, freq: float | None = None, **kwargs: Any
) -> Axes:
    """Queued jobs over time, as a post-step line held until the run's end."""
    ax = _axes(ax)
    s = queue_length(run, freq=freq)
    kwargs.setdefault("label", "queued jobs")
    _plot_step(ax, s, None if freq else run_end(run), **kwargs)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("queued jobs")
    ax.set_title("Queue length")
    return ax


def plot_wait_cdf(
    runs: Any, labels: Sequence[str] | None = None, *, ax: Axes | None = None, **kwargs: Any
) -> Axes:
    """Empirical CDF of job wait times, one line per run.

    Each line steps up by 1/n at every wait (jobs that started), n the number of
    started jobs of that run.

    Parameters
    ----------
    runs : Run-like or sequence of Run-like
    labels : sequence of str, optional
        Legend labels, by default from :func:`~benchhub_sim.analysis.metrics.run_name`.
    """
    if not isinstance(runs, (list, tuple)):
        runs = [runs]
    labels = _names(runs, labels)
    ax = _axes(ax)
    for run, label in zip(runs, labels, strict=True):
        w = np.sort(job_metrics(run)["wait"].dropna().to_numpy(float))
        if len(w) == 0:
            continue
        y = np.arange(1, len(w) + 1) / len(w)
        ax.step(
            np.concatenate([[w[0]], w]),
            np.concatenate([[0.0], y]),
            where="post",
            label=label,
            **kwargs,
        )
    ax.set_xlabel("wait (s)")
    ax.set_ylabel("fraction of jobs")
    ax.set_ylim(0, 1.02)
    ax.set_title("Wait time CDF")
    if ax.lines:
        ax.legend(loc="lower right")
    return ax


def plot_node_states(run: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Number of nodes in each state over time, stacked (from ``node_events``)."""
    ax = _axes(ax)
    df = node_states(run)
    if df.empty:
        ax.set_title("Node states (no node events)")
        return ax
    x = df.index.to_numpy(float)
    end = run_end(run)
    if end > x[-1]:
        x = np.append(x, end)
        df = pd.concat([df, df.iloc[[-1]]])
    kwargs.setdefault("colors", [STATE_COLORS.get(c, "#7f7f7f") for c in df.columns])
    ax.stackplot(
        x,
        *[df[c].to_numpy(float) for c in df.columns],
        labels=list(df.columns),
        step="post",
        **kwargs,
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("nodes")
    ax.set_title("Node states")
    ax.legend(loc="upper right", fontsize="small")
    return ax
