"""What the agents of a real run observed: metrics over time, benchmark results.

Plain functions of a run (``run.metrics`` and ``run.results``, long format; see
:data:`~benchhub_sim.store.schema.METRICS_SCHEMA`); a simulated run has neither table
and every function here gives an empty answer for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: units shown scaled: stored unit -> (factor, shown unit)
_SCALED = {"B": (2.0**20, "MiB")}


def _frame(run: Any, name: str) -> pd.DataFrame:
    df = getattr(run, name, None)
    if isinstance(df, pd.DataFrame):
        return df
    from benchhub_sim.store.schema import OPTIONAL_TABLES

    return OPTIONAL_TABLES[name].empty_table().to_pandas()


def metric_series(run: Any, metric: str, node: str | None = None) -> pd.DataFrame:
    """The samples of one metric, one column per series, indexed by ``time``.

    Parameters
    ----------
    run : Run-like
    metric : str
        A metric name of ``run.metrics`` (``cpu_percent``, ``rss_bytes``, ...).
    node : str, optional
        None: one column per node (the node's own measurements). A node id: that node's
        own column (``node``) and one per task attempt that ran on it
        (``stage.task@slot#attempt``).

    Returns
    -------
    pandas.DataFrame
        Values as stored (units in ``run.metrics``); NaN where a series has no sample
        at a time.

    Raises
    ------
    ValueError
        Naming the metrics or nodes the run has, when ``metric`` or ``node`` is not one.
    """
    m = _frame(run, "metrics")
    samples = m[m["kind"].astype(object) == "sample"]
    known = sorted(samples["metric"].astype(object).unique())
    if metric not in known:
        raise ValueError(f"no metric {metric!r} in this run (it has: {', '.join(known) or 'none'})")
    rows = samples[samples["metric"].astype(object) == metric]
    if node is not None:
        nodes = sorted(rows["node_id"].astype(object).unique())
        if node not in nodes:
            raise ValueError(f"no node {node!r} in this run's metrics (nodes: {', '.join(nodes)})")
        rows = rows[rows["node_id"].astype(object) == node]
        own = rows["job_id"].isna()
        label = (
            rows["stage_name"].astype(object)
            + "."
            + rows["task_name"].astype(object)
            + "@"
            + rows["node_name"].astype(object)
            + "#"
            + rows["attempt"].astype("Int64").astype(str)
        )
        key = label.where(~own, "node")
    else:
        rows = rows[rows["job_id"].isna()]
        key = rows["node_id"].astype(object)
    wide = (
        pd.DataFrame({"time": rows["time"].to_numpy(), "key": key.to_numpy(), "v": rows["value"]})
        .pivot_table(index="time", columns="key", values="v", aggfunc="last", sort=True)
        .sort_index()
    )
    wide.columns.name = None
    if node is not None and "node" in wide.columns:  # the node first, then its tasks
        wide = wide[["node", *(c for c in wide.columns if c != "node")]]
    return wide


def metric_unit(run: Any, metric: str) -> str | None:
    """The unit ``run.metrics`` gives for ``metric`` (None when it has none)."""
    m = _frame(run, "metrics")
    units = m.loc[m["metric"].astype(object) == metric, "unit"].dropna().astype(object).unique()
    return str(units[0]) if len(units) else None


def plot_metrics(
    run: Any,
    metric: str = "cpu_percent",
    node: str | None = None,
    *,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """One metric of a real run over time: a line per node, or a node and its tasks.

    Parameters
    ----------
    run : Run-like
    metric : str
        ``cpu_percent``, ``rss_bytes``, ``read_bytes``, ``write_bytes`` (tasks and
        nodes), ``mem_used_bytes`` (nodes), ...
    node : str, optional
        None: a line per node. A node id: the node's line and one per task attempt on it.
    ax : matplotlib.axes.Axes, optional
    **kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
        Bytes are drawn in MiB.
    """
    from benchhub_sim.analysis.plot import _axes

    wide = metric_series(run, metric, node)
    unit = metric_unit(run, metric)
    factor, shown = _SCALED.get(unit or "", (1.0, unit))
    ax = _axes(ax)
    for column in wide.columns:
        series = wide[column].dropna()
        style = {"linewidth": 2.0, "color": "black"} if column == "node" else {}
        ax.plot(
            series.index.to_numpy(float),
            series.to_numpy(float) / factor,
            marker=".",
            label=str(column),
            **{**style, **kwargs},
        )
    ax.set_xlabel("time (s)")
    ax.set_ylim(bottom=0)
    ax.set_ylabel(f"{metric} ({shown})" if shown else metric)
    ax.set_title(f"{metric} on {node}" if node is not None else f"{metric} by node")
    if ax.lines:
        ax.legend(loc="best", fontsize="small")
    return ax


def results_summary(run: Any) -> pd.DataFrame:
    """The benchmark results of a run, per job, task and result name.

    Returns
    -------
    pandas.DataFrame
        Columns ``job_id``, ``node_id``, ``stage_name``, ``task_name``, ``name``,
        ``unit``, ``count``, ``mean``, ``min``, ``p50``, ``p95``, ``max``; one row per
        (job, node, stage, task, name), sorted by them.
    """
    r = _frame(run, "results")
    keys = ["job_id", "node_id", "stage_name", "task_name", "name", "unit"]
    cols = [*keys, "count", "mean", "min", "p50", "p95", "max"]
    if r.empty:
        return pd.DataFrame(columns=cols)
    df = r.assign(**{k: r[k].astype(object) for k in keys[1:]})
    df["unit"] = df["unit"].fillna("")
    g = df.groupby(keys, sort=True, dropna=False)["value"]
    out = pd.DataFrame(
        {
            "count": g.count(),
            "mean": g.mean(),
            "min": g.min(),
            "p50": g.quantile(0.5),
            "p95": g.quantile(0.95),
            "max": g.max(),
        }
    ).reset_index()
    return out[cols]
