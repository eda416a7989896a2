"""Plots of a run: ``plot_x(data, *, ax=None, **kwargs) -> Axes``.

Each function imports matplotlib when called, draws on ``ax`` (or on a new figure's
axes, in constrained layout so a saved figure keeps its labels) and returns the axes;
none calls ``show()``. Legends sit outside the axes, so they never cover data. The
plots over time take one run or a list of runs (one colour per run, as the wait CDF).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from benchhub_sim.analysis.metrics import (
    _jobs,
    job_metrics,
    node_intervals,
    node_states,
    queue_length,
    run_end,
    run_names,
    stage_times,
    utilization,
)
from benchhub_sim.errors import StoreError
from benchhub_sim.store.query import no_such_job

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: colour of failure markers and aborted spans
FAIL_COLOR = "#d62728"
#: fixed colours of node states and of the job states of a node serving a job, so every
#: plot of every run reads the same
STATE_COLORS = {
    "finding_central": "#c7c7c7",
    "idle": "#aec7e8",
    "running_job": "#1f77b4",
    "running": "#1f77b4",
    "finished": "#17becf",
    "error": "#ff9896",
    "waiting_instruction": "#ff7f0e",
    "reporting": "#2ca02c",
    "cleanup": "#9467bd",
    "offline": FAIL_COLOR,
}
#: colours of job statuses in the Gantt chart (``color_by="status"``)
STATUS_COLORS = {
    "finished": "#1f77b4",
    "aborted": FAIL_COLOR,
    "running": "#ff7f0e",
    "queued": "#c7c7c7",
}
#: the order of the Gantt chart's role bands (other roles follow, as they first appear)
ROLE_ORDER = ("database", "loader", "any", "central")
#: fewest points of height per node for the Gantt chart to label every node
_POINTS_PER_LABELLED_ROW = 5.0


def _axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.0)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _legend_outside(
    ax: Axes, handles: Sequence[Any] | None = None, *, gap: float = 0.1, **kwargs: Any
) -> None:
    """A legend ``gap`` inches right of the axes, so it never covers what is drawn."""
    from matplotlib.transforms import ScaledTranslation

    shift = ScaledTranslation(gap, 0.0, ax.figure.dpi_scale_trans)
    opts: dict[str, Any] = {
        "loc": "upper left",
        "bbox_to_anchor": (1.0, 1.0),
        "bbox_transform": ax.transAxes + shift,
        "borderaxespad": 0.0,
        "fontsize": "small",
        "frameon": False,
    }
    opts.update(kwargs)
    if handles is None:
        ax.legend(**opts)
    else:
        ax.legend(handles=list(handles), **opts)


def _as_runs(runs: Any) -> list[Any]:
    return list(runs) if isinstance(runs, (list, tuple)) else [runs]


# --- Gantt -------------------------------------------------------------------------------


def node_rows(run: Any) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Where each node of ``run.nodes`` goes in the Gantt chart: grouped by role.

    Roles come in :data:`ROLE_ORDER` (others after them, as they first appear); nodes
    keep their order within a role.

    Returns
    -------
    rows : numpy.ndarray
        ``rows[i]`` is the chart row of node ``i`` of ``run.nodes``.
    bands : list of (role, first row, number of nodes)
    """
    nodes = run.nodes
    n = len(nodes)
    if "role" in nodes:
        roles = [str(r) if not pd.isna(r) else "?" for r in nodes["role"].astype(object)]
    else:
        roles = ["any"] * n
    seen = list(dict.fromkeys(roles))
    order_of = {r: i for i, r in enumerate([r for r in ROLE_ORDER if r in seen])}
    for r in seen:
        order_of.setdefault(r, len(order_of))
    order = sorted(range(n), key=lambda i: order_of[roles[i]])  # stable within a role
    rows = np.empty(n, dtype=np.int64)
    rows[order] = np.arange(n)
    bands: list[tuple[str, int, int]] = []
    for i in order:
        if bands and bands[-1][0] == roles[i]:
            role, first, count = bands[-1]
            bands[-1] = (role, first, count + 1)
        else:
            bands.append((roles[i], int(rows[i]), 1))
    return rows, bands


def gantt_rects(run: Any, *, max_jobs: int = 2000) -> tuple[pd.DataFrame, int]:
    """The rectangles :func:`plot_gantt` draws, and the number of jobs shown.

    Nodes are in the chart's rows (:func:`node_rows`: grouped by role). Each job's
    nodes that hold it over the same span and sit on adjacent rows merge into one
    rectangle. Above ``max_jobs`` jobs, every k-th job in start order is kept
    (deterministic, no RNG), k = ceil(jobs / max_jobs).

    Returns
    -------
    rects : pandas.DataFrame
        Columns ``job_id``, ``x`` (start), ``width``, ``y`` (first row), ``height``
        (number of rows), ``name`` (the job's spec) and ``status``.
    n_jobs : int
        Jobs in the run that held nodes.
    """
    iv = node_intervals(run)
    iv = iv[iv["node_index"] >= 0]
    rows, _ = node_rows(run)
    iv = iv.assign(row=rows[iv["node_index"].to_numpy(dtype=np.int64)] if len(iv) else [])
    order = iv.groupby("job_id", sort=False)["start"].min().sort_values(kind="stable")
    n_jobs = len(order)
    if n_jobs > max_jobs:
        step = -(-n_jobs // max_jobs)
        iv = iv[iv["job_id"].isin(set(order.index[::step]))]
    iv = iv.sort_values(["job_id", "start", "stop", "row"], kind="stable")
    out: list[tuple[Any, float, float, int, int]] = []
    for (job, start, stop), g in iv.groupby(["job_id", "start", "stop"], sort=False):
        idx = g["row"].to_numpy()
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        for run_ in np.split(idx, breaks):
            out.append((job, float(start), float(stop - start), int(run_[0]), len(run_)))
    rects = pd.DataFrame(out, columns=["job_id", "x", "width", "y", "height"])
    jobs = run.jobs
    info = pd.DataFrame(
        {
            "job_id": jobs["job_id"].to_numpy(),
            "name": jobs["name"].astype(object).to_numpy() if "name" in jobs else None,
            "status": jobs["status"].astype(object).to_numpy(),
        }
    )
    rects = rects.merge(info, on="job_id", how="left")
    return rects, n_jobs


def _gantt_height(n_nodes: int) -> float:
    """Inches for a chart that labels up to ~80 nodes one by one."""
    return float(np.clip(1.4 + 0.1 * n_nodes, 3.5, 9.5)) if n_nodes <= 80 else 5.5


def _palette(keys: Sequence[str], cmap: str | None) -> dict[str, Any]:
    import matplotlib as mpl

    name = cmap or ("tab10" if len(keys) <= 10 else "tab20")
    colors = mpl.colormaps[name]
    n = getattr(colors, "N", 20)
    return {k: colors((i % n) / max(n - 1, 1)) for i, k in enumerate(keys)}


def plot_gantt(
    run: Any,
    *,
    ax: Axes | None = None,
    color_by: str = "spec",
    max_jobs: int = 2000,
    cmap: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Gantt chart by node: which job held each node when, nodes grouped by role.

    One row per node of ``run.nodes``, rows grouped by role with a line between the
    groups. When the axes are tall enough, every row is labelled with its node id and
    the roles are named on the right; otherwise (e.g. 1,000 nodes) each role is one
    labelled band. Bars are coloured by the job's spec (or by its status), with a legend;
    an aborted job's bars have a red edge and a red ``x`` at their end. Drawn as one
    collection of rectangles (fast for thousands of jobs); above ``max_jobs`` jobs a
    deterministic sample is drawn and the title says so.

    Parameters
    ----------
    run : Run-like
    ax : matplotlib.axes.Axes, optional
    color_by : {"spec", "status"}
        Colour per job spec (the job's ``name``) or per final status.
    max_jobs : int
        Most jobs drawn.
    cmap : str, optional
        Colormap of the specs (default: tab10, tab20 beyond 10 specs).
    **kwargs
        Passed to the ``PolyCollection`` (e.g. ``alpha``).

    Returns
    -------
    matplotlib.axes.Axes
        The bars are the collection with gid ``"gantt"``; the aborted marks the line
        labelled ``"aborted"``.
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if color_by not in ("spec", "status"):
        raise ValueError(f"color_by must be 'spec' or 'status', got {color_by!r}")
    n_nodes = len(run.nodes)
    ax = _axes(ax, (10.0, _gantt_height(n_nodes)))
    rects, n_jobs = gantt_rects(run, max_jobs=max_jobs)
    x, w = rects["x"].to_numpy(float), rects["width"].to_numpy(float)
    y, h = rects["y"].to_numpy(float) - 0.4, rects["height"].to_numpy(float) - 0.2
    verts = np.stack(
        [
            np.column_stack([x, y]),
            np.column_stack([x + w, y]),
            np.column_stack([x + w, y + h]),
            np.column_stack([x, y + h]),
        ],
        axis=1,
    ).reshape(len(rects), 4, 2)
    key = "name" if color_by == "spec" else "status"
    values = rects[key].fillna("?").astype(str)
    if color_by == "spec":
        colors = _palette(sorted(values.unique()), cmap)
    else:
        colors = {s: STATUS_COLORS.get(s, "#7f7f7f") for s in values.unique()}
    aborted = (rects["status"] == "aborted").to_numpy()
    thin = 0.3 if len(rects) < 500 else 0.0
    kwargs.setdefault("linewidths", np.where(aborted, 1.2, thin))
    kwargs.setdefault("edgecolors", np.where(aborted, FAIL_COLOR, "black"))
    coll = PolyCollection(list(verts), facecolors=[colors[v] for v in values], **kwargs)
    coll.set_gid("gantt")
    ax.add_collection(coll)
    ends = rects[aborted]
    ax.plot(
        (ends["x"] + ends["width"]).to_numpy(float),
        (ends["y"] + (ends["height"] - 1) / 2).to_numpy(float),
        "x",
        color=FAIL_COLOR,
        markersize=6,
        mew=1.5,
        label="aborted",
    )
    end = run_end(run)
    start = float(run.jobs["submit_time"].min()) if len(run.jobs) else 0.0
    ax.set_xlim(start, end if end > start else start + 1)
    ax.set_ylim(max(n_nodes, 1) - 0.5, -0.5)
    _label_nodes(ax, run)
    ax.set_xlabel("time (s)")
    shown = rects["job_id"].nunique()
    title = "Jobs by node"
    if shown < n_jobs:
        title += f" (showing {shown} of {n_jobs} jobs, every {-(-n_jobs // max_jobs)}th)"
    ax.set_title(title)
    handles: list[Any] = [Patch(facecolor=c, edgecolor="none", label=k) for k, c in colors.items()]
    if len(handles) > 15:
        handles = handles[:14] + [Patch(color="none", label=f"+ {len(handles) - 14} more")]
    if aborted.any():
        handles.append(
            Line2D([], [], color=FAIL_COLOR, marker="x", linestyle="", label="aborted (at its end)")
        )
    if handles:
        gap = 0.35 if _labels_every_node(ax, n_nodes) else 0.1  # room for the role names
        _legend_outside(ax, handles, gap=gap, title=color_by)
    return ax


def _points_per_row(ax: Axes, n_rows: int) -> float:
    """The axes' height in points over ``n_rows`` (as placed now, before any layout)."""
    return ax.bbox.height / ax.figure.dpi * 72 / max(n_rows, 1)


def _labels_every_node(ax: Axes, n_nodes: int) -> bool:
    return n_nodes > 0 and _points_per_row(ax, n_nodes) >= _POINTS_PER_LABELLED_ROW


def _label_nodes(ax: Axes, run: Any) -> None:
    """Node ids (and role names on the right) when they fit; else one label per role."""
    rows, bands = node_rows(run)
    n = len(rows)
    for _, first, _ in bands[1:]:
        ax.axhline(first - 0.5, color="0.2", linewidth=0.8)
    if _labels_every_node(ax, n):
        size = float(min(8.0, 0.8 * _points_per_row(ax, n)))
        ids = np.empty(n, dtype=object)
        ids[rows] = run.nodes["node_id"].astype(object).to_numpy()
        ax.set_yticks(range(n), [str(i) for i in ids], fontsize=size)
        ax.set_ylabel("node")
        if len(bands) > 1 or bands[0][0] != "any":
            right = ax.secondary_yaxis("right")
            right.set_yticks(
                [first + (count - 1) / 2 for _, first, count in bands],
                [role for role, _, _ in bands],
                rotation=90,
                va="center",
                fontsize=8,
            )
            right.tick_params(length=0)
    else:
        ax.set_yticks(
            [first + (count - 1) / 2 for _, first, count in bands],
            [f"{role}\n{count:,} nodes" for role, _, count in bands],
        )
        ax.tick_params(axis="y", length=0)
        ax.set_ylabel("nodes by role")


# --- one job -----------------------------------------------------------------------------


def plot_job_timeline(run: Any, job_id: int, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """One job's timeline: a row per (stage, node), in pipeline order.

    A foreground stage is a bar from start to stop; a background stage is a bar from
    start to ready, then a lighter hatched span until it stopped, with a ``|`` mark at
    its ready time. Aborted stages are drawn in red, failed task attempts get a red
    ``x`` at their stop time. The legend (outside the axes) names what is drawn.

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
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

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
    ax = _axes(ax, (10.0, 1.4 + 0.3 * len(st)))
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
    handles: list[Any] = [Patch(color="C0", label="stage (until done, or ready)")]
    if has_bg.any():
        handles.append(
            Patch(facecolor="C0", alpha=0.35, hatch="//", label="background, ready until stopped")
        )
        handles.append(
            Line2D([], [], color="black", marker="|", markersize=10, ls="", label="ready")
        )
    if aborted.any():
        handles.append(Patch(color=FAIL_COLOR, label="aborted stage"))
    if fx:
        handles.append(
            Line2D([], [], color=FAIL_COLOR, marker="x", mew=2, ls="", label="failed attempt")
        )
    _legend_outside(ax, handles)
    return ax


# --- over time ---------------------------------------------------------------------------


def _plot_step(ax: Axes, s: pd.Series, end: float | None, **kwargs: Any) -> None:
    x = s.index.to_numpy(float)
    yv = s.to_numpy(float)
    if end is not None and len(x) and end > x[-1]:
        x = np.append(x, end)
        yv = np.append(yv, yv[-1])
    ax.step(x, yv, where="post", **kwargs)


def _steps_of_runs(
    ax: Axes,
    runs: Any,
    labels: Sequence[str] | None,
    series: Callable[[Any], tuple[pd.Series, float | None]],
    kwargs: dict[str, Any],
) -> None:
    """One post-step line per run, ``series(run)`` giving the step function and the time
    to hold its last value until (None: not held); a legend when there are several."""
    runs = _as_runs(runs)
    names = run_names(runs, labels)
    for i, (run, name) in enumerate(zip(runs, names, strict=True)):
        steps, end = series(run)
        _plot_step(ax, steps, end, **{"color": f"C{i}", "label": name, **kwargs})
    if len(runs) > 1:
        _legend_outside(ax)


def plot_utilization(
    runs: Any,
    labels: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    freq: float | None = None,
    **kwargs: Any,
) -> Axes:
    """Cluster utilization over time (see :func:`~benchhub_sim.analysis.metrics.utilization`).

    Drawn as a post-step line per run (one colour each, a legend when there are
    several); with ``freq`` the per-bin means are drawn instead.

    Parameters
    ----------
    runs : Run-like or sequence of Run-like
    labels : sequence of str, optional
        One per run, by default from :func:`~benchhub_sim.analysis.metrics.run_name`.
    ax : matplotlib.axes.Axes, optional
    freq : float, optional
        Bin width in seconds.
    **kwargs
        Passed to ``step``.
    """
    ax = _axes(ax)
    _steps_of_runs(ax, runs, labels, lambda run: (utilization(run, freq=freq), None), kwargs)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("busy nodes / nodes")
    ax.set_title("Cluster utilization")
    return ax


def plot_queue_length(
    runs: Any,
    labels: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    freq: float | None = None,
    **kwargs: Any,
) -> Axes:
    """Queued jobs over time: a post-step line per run, held until the run's end.

    Parameters are those of :func:`plot_utilization`.
    """
    ax = _axes(ax)

    def held(run: Any) -> tuple[pd.Series, float | None]:
        return queue_length(run, freq=freq), None if freq else run_end(run)

    _steps_of_runs(ax, runs, labels, held, kwargs)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("queued jobs")
    ax.set_title("Queue length")
    return ax


def plot_node_states(run: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Number of nodes in each state over time, stacked (from ``node_events``); a node
    serving a job is shown in its job state (running, reporting, cleanup, ...: see
    :func:`~benchhub_sim.analysis.metrics.node_states`)."""
    ax = _axes(ax)
    df = node_states(run, job_states=True)
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
    _legend_outside(ax, title="state")
    return ax


# --- comparisons -------------------------------------------------------------------------


def _log_waits(ax: Axes, axis: str) -> None:
    """A symmetric-log wait axis from 0: linear below 1 s (zero waits stay visible)."""
    if axis == "x":
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(left=0)
    else:
        top = ax.get_ylim()[1]
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(0, top * 1.6 if top > 0 else 1.0)  # room above the top whisker


def plot_wait_cdf(
    runs: Any,
    labels: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    log: bool = False,
    **kwargs: Any,
) -> Axes:
    """Empirical CDF of job wait times, one line per run.

    Each line steps up by 1/n at every wait (jobs that started), n the number of
    started jobs of that run.

    Parameters
    ----------
    runs : Run-like or sequence of Run-like
    labels : sequence of str, optional
        Legend labels, by default from :func:`~benchhub_sim.analysis.metrics.run_name`.
    ax : matplotlib.axes.Axes, optional
    log : bool
        A symmetric-log wait axis (linear below 1 s): when one run waits far longer
        than the others, theirs stay readable.
    **kwargs
        Passed to ``step``.
    """
    runs = _as_runs(runs)
    labels = run_names(runs, labels)
    ax = _axes(ax)
    for i, (run, label) in enumerate(zip(runs, labels, strict=True)):
        w = np.sort(job_metrics(run)["wait"].dropna().to_numpy(float))
        if len(w) == 0:
            continue
        y = np.arange(1, len(w) + 1) / len(w)
        ax.step(
            np.concatenate([[w[0]], w]),
            np.concatenate([[0.0], y]),
            where="post",
            label=label,
            **{"color": f"C{i}", **kwargs},
        )
    ax.set_xlabel("wait (s)")
    ax.set_ylabel("fraction of jobs")
    ax.set_ylim(0, 1.02)
    if log:
        _log_waits(ax, "x")
    ax.set_title("Wait time CDF")
    if ax.lines:
        _legend_outside(ax)
    return ax


def plot_wait_by_spec(
    runs: Any,
    labels: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    log: bool = False,
    **kwargs: Any,
) -> Axes:
    """Box plot of job waits per spec, one box per run side by side (one colour per run).

    Only jobs that started count. Boxes span the quartiles with the median as a line
    (gid ``"median"``), whiskers reach 1.5 IQR, points beyond are drawn.

    Parameters
    ----------
    runs : Run-like or sequence of Run-like
    labels : sequence of str, optional
        One per run, by default from :func:`~benchhub_sim.analysis.metrics.run_name`.
    ax : matplotlib.axes.Axes, optional
    log : bool
        A symmetric-log wait axis (linear below 1 s).
    **kwargs
        Passed to ``boxplot``.
    """
    from matplotlib.patches import Patch

    runs = _as_runs(runs)
    names = run_names(runs, labels)
    waits = []
    for run in runs:
        jm = job_metrics(run).dropna(subset=["wait"])
        waits.append(jm.groupby(jm["name"].astype(str))["wait"].apply(lambda s: s.to_numpy(float)))
    specs = sorted(set().union(*(w.index for w in waits)))
    ax = _axes(ax, (max(6.0, 1.2 + 1.1 * len(specs) * max(1, len(runs)) ** 0.5), 4.0))
    width = 0.8 / len(runs)
    for j, w in enumerate(waits):
        have = [s for s in specs if s in w.index]
        if not have:
            continue
        positions = [specs.index(s) + (j - (len(runs) - 1) / 2) * width for s in have]
        opts: dict[str, Any] = {
            "positions": positions,
            "widths": width * 0.85,
            "patch_artist": True,
            "boxprops": {"facecolor": f"C{j}", "alpha": 0.6},
            "medianprops": {"color": "black", "gid": "median"},
            "flierprops": {"markersize": 3, "markeredgecolor": f"C{j}"},
            "manage_ticks": False,
            **kwargs,
        }
        ax.boxplot([w[s] for s in have], **opts)
    ax.set_xticks(range(len(specs)), specs)
    ax.set_xlim(-0.6, max(len(specs) - 0.4, 0.6))
    ax.set_xlabel("spec")
    ax.set_ylabel("wait (s)")
    if log:
        _log_waits(ax, "y")
    ax.set_title("Wait by spec")
    if len(runs) > 1:
        handles = [Patch(facecolor=f"C{j}", alpha=0.6, label=n) for j, n in enumerate(names)]
        _legend_outside(ax, handles)
    return ax


def plot_stage_durations(run: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Box plot of each stage's duration on one node, per spec (one colour per spec).

    Same-named stages of different specs are separate boxes (see
    :func:`~benchhub_sim.analysis.metrics.stage_times`); the median is a line with gid
    ``"median"``.

    Parameters
    ----------
    run : Run-like
    ax : matplotlib.axes.Axes, optional
    **kwargs
        Passed to ``boxplot``.
    """
    d = stage_times(run)
    groups = list(d.groupby(["spec", "stage_name"], sort=True)["duration"])
    ax = _axes(ax, (8.0, 1.2 + 0.32 * max(len(groups), 1)))
    specs = list(dict.fromkeys(str(spec) for (spec, _), _ in groups))
    colors = _palette(specs, None)
    for i, ((spec, _), values) in enumerate(groups):
        opts: dict[str, Any] = {
            "positions": [i],
            "orientation": "horizontal",
            "widths": 0.6,
            "patch_artist": True,
            "boxprops": {"facecolor": colors[str(spec)], "alpha": 0.7},
            "medianprops": {"color": "black", "gid": "median"},
            "flierprops": {"markersize": 3},
            "manage_ticks": False,
            **kwargs,
        }
        ax.boxplot([values.to_numpy(float)], **opts)
    ax.set_yticks(range(len(groups)), [f"{spec}: {stage}" for (spec, stage), _ in groups])
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.set_xlabel("duration on one node (s)")
    ax.set_title("Stage durations by spec")
    return ax
