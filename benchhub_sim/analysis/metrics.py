"""Metrics over a run's tables: plain functions over DataFrames.

Every function takes a *run*: anything with the DataFrame attributes ``nodes``,
``jobs``, ``stages``, ``tasks``, ``node_events`` and ``job_events`` (a
:class:`benchhub_sim.store.run.Run`, or a namespace built by hand); the per-job
functions also take the ``jobs`` DataFrame itself. Times are seconds on the run's clock.

Step functions (utilization, queue length, node states) are returned as a Series or
DataFrame indexed by ``time``: the value at one index holds until the next index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchhub_sim.analysis.display import SETUP_FIELDS, SUMMARY_FIELDS, Summary, SummaryTable
from benchhub_sim.analysis.headline import (
    BlockSum,
    bound_busy,
    busy_fraction,
    busy_seconds,
    held_of_bindings,
    job_span,
    last_time,
    mean_wait,
    run_bindings,
    window,
)
from benchhub_sim.errors import UsageError

#: tau of the bounded slowdown, in seconds
BSLD_TAU = 10.0

_JOB_TIMES = ("submit_time", "start_time", "stop_time")


# --- helpers -------------------------------------------------------------------------


def _jobs(run: Any) -> pd.DataFrame:
    if isinstance(run, pd.DataFrame):
        return run
    jobs = getattr(run, "jobs", None)
    if not isinstance(jobs, pd.DataFrame):
        raise UsageError(
            "expected a run (load_run(...), simulate(...)) or anything with jobs, nodes, "
            "stages, tasks, node_events and job_events DataFrames, "
            f"found {type(run).__name__} {run!r:.60}"
        )
    return jobs


def _job_columns(run: Any) -> pd.DataFrame:
    """The jobs table's columns the headline metrics use: of a
    :class:`~benchhub_sim.store.run.Run` not yet converted, only those are read (not
    its specs and list columns)."""
    rows = getattr(run, "rows", None)
    if callable(rows) and not isinstance(run, pd.DataFrame):
        return rows("jobs", ["job_id", "name", "status", "n_nodes", *_JOB_TIMES])
    return _jobs(run)


def _floats(df: pd.DataFrame, *columns: str) -> list[np.ndarray]:
    return [df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in columns]


def _status(df: pd.DataFrame) -> np.ndarray:
    return np.asarray(df["status"].astype(object).to_numpy())


def _table(run: Any, name: str) -> pd.DataFrame | None:
    df = getattr(run, name, None)
    return df if isinstance(df, pd.DataFrame) else None


def _event_rows(
    run: Any,
    name: str,
    columns: list[str],
    events: set[str] | None = None,
    categorical: tuple[str, ...] = (),
) -> pd.DataFrame | None:
    """``columns`` of table ``name`` (rows of ``events`` only), None if the run has no
    such table. A :class:`~benchhub_sim.store.run.Run` reads only those columns, the
    ``categorical`` ones as categoricals."""
    rows = getattr(run, "rows", None)
    if callable(rows):
        return rows(name, columns, events=events, categorical=categorical)
    df = _table(run, name)
    if df is None or not len(df):
        return None
    if events is not None:
        df = df.loc[df["event"].astype(object).isin(events).to_numpy()]
    return df[columns]


def run_end(run: Any) -> float:
    """Last time anything happened in a run: the latest job stop or event time."""
    return _run_end(run, _jobs(run))


def _run_end(run: Any, jobs: pd.DataFrame) -> float:
    candidates: list[Any] = [jobs["stop_time"].max(), jobs["submit_time"].max()]
    span = getattr(run, "time_span", None)
    for name in ("job_events", "node_events"):
        if callable(span):  # a Run: from the Parquet footers when still on disk
            last = span(name)[1]
            if last is not None:
                candidates.append(last)
            continue
        df = _table(run, name)
        if df is not None and len(df):
            candidates.append(df["time"].max())
    return last_time(candidates)


def run_name(run: Any, index: int = 0) -> str:
    """A short label for a run: ``meta['name']``, its directory name, its policy, or ``run N``."""
    meta = getattr(run, "meta", None) or {}
    if meta.get("name"):
        return str(meta["name"])
    path = getattr(run, "path", None)
    if path:
        return Path(path).name
    if meta.get("policy"):
        return str(meta["policy"])
    return f"run {index + 1}"


def run_names(runs: Sequence[Any], names: Sequence[str] | None) -> list[str]:
    """One label per run: ``names`` if given (as many as runs), else :func:`run_name`.

    Names that repeat get the run's position appended (``easy``, ``easy (2)``).

    Raises
    ------
    ValueError
        When ``names`` and ``runs`` differ in length.
    """
    if names is not None:
        if len(names) != len(runs):
            raise ValueError(f"{len(names)} names given for {len(runs)} runs")
        return [str(n) for n in names]
    out: list[str] = []
    for i, r in enumerate(runs):
        name = run_name(r, i)
        out.append(name if name not in out else f"{name} ({i + 1})")
    return out


def _step(times: np.ndarray, deltas: np.ndarray, *, origin: float | None, name: str) -> pd.Series:
    """A step function from +/- changes: value after all changes at each time."""
    s = pd.Series(deltas, index=times, dtype=np.float64).groupby(level=0).sum().cumsum()
    if origin is not None and (s.empty or origin < s.index[0]):
        s = pd.concat([pd.Series([0.0], index=[origin]), s])
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = ~np.isclose(s.to_numpy()[1:], s.to_numpy()[:-1], rtol=0, atol=1e-12)
    s = s[keep]
    s.index = pd.Index(s.index.to_numpy(dtype=np.float64), name="time")
    s.name = name
    return s


def time_average(series: pd.Series, start: float | None = None, end: float | None = None) -> float:
    """Time-weighted mean of a step function over ``[start, end]``.

    Parameters
    ----------
    series : pandas.Series
        Values indexed by time; each value holds until the next index. Before its first
        index the function is 0.
    start, end : float, optional
        Window, by default from the first to the last index.

    Examples
    --------
    >>> time_average(pd.Series([0.0, 2.0, 0.0], index=[0.0, 1.0, 3.0]))
    1.3333333333333333
    """
    if series.empty:
        return float("nan")
    t = series.index.to_numpy(dtype=np.float64)
    start = t[0] if start is None else float(start)
    end = t[-1] if end is None else float(end)
    if end <= start:
        return float("nan")
    return float(np.diff(_integral(series, np.array([start, end])))[0] / (end - start))


def _integral(series: pd.Series, at: np.ndarray) -> np.ndarray:
    """Integral of a step function from -inf to each time in ``at`` (0 before it starts)."""
    t = series.index.to_numpy(dtype=np.float64)
    v = series.to_numpy(dtype=np.float64)
    cum = np.concatenate([[0.0], np.cumsum(v[:-1] * np.diff(t))])
    idx = np.searchsorted(t, at, side="right") - 1
    out = np.zeros(len(at))
    inside = idx >= 0
    out[inside] = cum[idx[inside]] + v[idx[inside]] * (at[inside] - t[idx[inside]])
    return out


def _resample(series: pd.Series, freq: float, start: float, end: float) -> pd.Series:
    """Time-weighted mean of a step function per bin ``[start + k*freq, start + (k+1)*freq)``."""
    if freq <= 0:
        raise ValueError(f"freq must be positive seconds, got {freq}")
    if end <= start:
        return pd.Series([], index=pd.Index([], name="time"), name=series.name, dtype=float)
    edges = np.arange(start, end, freq, dtype=np.float64)
    edges = np.append(edges, end)
    values = np.diff(_integral(series, edges)) / np.diff(edges)
    return pd.Series(values, index=pd.Index(edges[:-1], name="time"), name=series.name)


# --- per job -------------------------------------------------------------------------


def job_metrics(run: Any, *, tau: float = BSLD_TAU) -> pd.DataFrame:
    """Per-job wait, turnaround, runtime, slowdown and bounded slowdown.

    ``wait = start - submit``, ``turnaround = stop - submit``, ``runtime = stop - start``,
    ``slowdown = turnaround / runtime`` and
    ``bounded_slowdown = max(1, turnaround / max(runtime, tau))``. A job that never
    started has NaN in all of them.

    Parameters
    ----------
    run : Run-like or pandas.DataFrame
        A run or its ``jobs`` table.
    tau : float
        Runtime floor of the bounded slowdown, 10 s by default.

    Returns
    -------
    pandas.DataFrame
        One row per job, in the jobs table's order: ``job_id``, ``name``, ``status``,
        ``n_nodes``, the three times and the five metrics.
    """
    jobs = _jobs(run)
    cols = [c for c in ("job_id", "name", "status", "n_nodes", *_JOB_TIMES) if c in jobs]
    out = jobs[cols].reset_index(drop=True).copy()
    for c in ("name", "status"):
        if c in out:
            out[c] = out[c].astype(object)
    submit = out["submit_time"].to_numpy(dtype=np.float64)
    start = out["start_time"].to_numpy(dtype=np.float64)
    stop = out["stop_time"].to_numpy(dtype=np.float64)
    runtime = stop - start
    turnaround = np.where(np.isnan(start), np.nan, stop - submit)
    out["wait"] = start - submit
    out["turnaround"] = turnaround
    out["runtime"] = runtime
    with np.errstate(divide="ignore", invalid="ignore"):
        out["slowdown"] = np.where(runtime > 0, turnaround / runtime, np.nan)
        bsld = np.maximum(1.0, turnaround / np.maximum(runtime, tau))
    out["bounded_slowdown"] = np.where(np.isnan(turnaround), np.nan, bsld)
    return out


def makespan(run: Any) -> float:
    """Last job stop minus first job submit, in seconds (NaN without jobs)."""
    jobs = _jobs(run)
    return job_span(*_floats(jobs, "submit_time", "stop_time"))


def throughput(run: Any) -> float:
    """Finished jobs per second over the makespan."""
    span = makespan(run)
    finished = int((_status(_jobs(run)) == "finished").sum())
    return finished / span if span > 0 else float("nan")


# --- nodes and cluster ---------------------------------------------------------------


def node_intervals(run: Any) -> pd.DataFrame:
    """When each node was held by each job: from its ``assign`` event to the job's stop.

    The ``assign`` events of ``job_events`` give the node and the time it was bound; the
    node is free again when the job stops (finishes or aborts). A job still running when
    the run ended holds its nodes until :func:`run_end`. Jobs with no ``assign`` event
    fall back to the nodes in ``stages``, held from the job's start.

    Returns
    -------
    pandas.DataFrame
        Columns ``job_id``, ``node_id`` (categorical), ``node_index`` (row of the node
        in ``run.nodes``, -1 if unknown), ``start``, ``stop``; sorted by start, node
        index.
    """
    return _node_intervals(run, _jobs(run))


def _node_intervals(run: Any, jobs: pd.DataFrame) -> pd.DataFrame:
    end = _run_end(run, jobs)
    parts = []
    a = _event_rows(run, "job_events", ["job_id", "node_id", "time"], {"assign"}, ("node_id",))
    if a is not None and len(a):
        a = a.sort_values("time", kind="stable").drop_duplicates(["job_id", "node_id"])
        parts.append(a.rename(columns={"time": "start"}))
    seen = np.unique(parts[0]["job_id"].to_numpy()) if parts else np.zeros(0, np.int64)
    # stage rows exist only for jobs that started: read them only if some started job
    # has no assign event (a big run's stages table is ten times its jobs table)
    started = jobs.loc[jobs["start_time"].notna(), "job_id"]
    missing = started[~started.isin(seen)]
    st = _event_rows(run, "stages", ["job_id", "node_id"]) if len(missing) else None
    if st is not None and len(st):
        s = st.loc[st["job_id"].isin(missing)].drop_duplicates()
        s = s.merge(jobs[["job_id", "start_time"]], on="job_id", how="left")
        parts.append(s.rename(columns={"start_time": "start"}))
    cols = ["job_id", "node_id", "node_index", "start", "stop"]
    if not parts:
        return pd.DataFrame({c: [] for c in cols})
    # node ids as one categorical (the assign rows' may be one already): a big run's
    # ten million ids then cost four bytes each, and mapping them to node indices is
    # a lookup per distinct id
    if len(parts) == 1 and isinstance(parts[0]["node_id"].dtype, pd.CategoricalDtype):
        node_ids = parts[0]["node_id"].reset_index(drop=True)
    else:
        node_ids = pd.concat([p["node_id"].astype(object) for p in parts], ignore_index=True)
    iv = pd.concat([p.drop(columns="node_id") for p in parts], ignore_index=True)
    iv["node_id"] = node_ids.astype("category")
    iv = iv.merge(jobs[["job_id", "stop_time"]], on="job_id", how="left")
    iv["stop"] = iv["stop_time"].fillna(end).astype(np.float64)
    iv = iv.dropna(subset=["start"])
    index = {nid: i for i, nid in enumerate(run.nodes["node_id"].astype(object))}
    of_category = np.array([index.get(n, -1) for n in iv["node_id"].cat.categories] + [-1])
    iv["node_index"] = of_category[iv["node_id"].cat.codes.to_numpy()]  # code -1: none
    iv = iv[cols].sort_values(["start", "node_index"], kind="stable").reset_index(drop=True)
    return iv


def _n_nodes(run: Any) -> int:
    return max(len(run.nodes), 1)


def utilization(run: Any, *, freq: float | None = None) -> pd.Series:
    """Cluster utilization over time: busy nodes / nodes, as a step function.

    A node is busy while a job holds it, from the node's ``assign`` event to the job's
    stop (see :func:`node_intervals`); the time a node then spends reporting and
    cleaning up (job states ``reporting``, ``cleanup``) does not count. Without any assign or stage rows, each started job holds
    ``n_nodes`` nodes from start to stop. The denominator is ``len(run.nodes)``.

    Parameters
    ----------
    run : Run-like
    freq : float, optional
        Bin width in seconds: return the time-weighted mean per bin from the first
        submit to the last stop, instead of the exact step function.

    Returns
    -------
    pandas.Series
        Named ``utilization``, indexed by ``time``; starts at the first submit with 0.
    """
    jobs = _jobs(run)
    starts, stops, weight = _held(run, jobs)
    times = np.concatenate([starts, stops])
    deltas = np.concatenate([weight, -weight]) / _n_nodes(run)
    origin = float(jobs["submit_time"].min()) if len(jobs) else None
    s = _step(times, deltas, origin=origin, name="utilization")
    if freq is not None:
        return _resample(s, freq, *_window(run))
    return s


def _held(run: Any, jobs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, stop and number of nodes of each time nodes were held: per node from
    :func:`node_intervals`, or, without assign or stage rows, ``n_nodes`` per started
    job from its start to its stop. In no particular order."""
    fast = _held_unpacked(run, jobs)
    return fast if fast is not None else _held_from_history(run, jobs)


def _held_from_history(run: Any, jobs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_held` where the assignments do not tell (loader packing, a started job
    without one): from :func:`node_intervals`, else ``n_nodes`` per started job."""
    iv = _node_intervals(run, jobs)
    if len(iv):
        return iv["start"].to_numpy(float), iv["stop"].to_numpy(float), np.ones(len(iv))
    j = jobs.dropna(subset=["start_time"])
    stops = j["stop_time"].fillna(_run_end(run, jobs)).to_numpy(float)
    return j["start_time"].to_numpy(float), stops, j["n_nodes"].to_numpy(float)


def _held_unpacked(
    run: Any, jobs: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`_held` of a run without loader packing, from its ``assignments`` table:
    one row per binding of a node to a job, as the ``assign`` events (the snapshot is
    the fold of the history), read in two columns instead of filtering the whole job
    history; and without packing a job holds a node once, so there is nothing to
    deduplicate. None (take the general way) when the run may pack loaders, has no
    assignments, or a started job has none (its nodes come from ``stages`` then)."""
    meta = getattr(run, "meta", None) or {}
    if meta.get("max_loader_pack") != 1:
        return None
    a = _event_rows(run, "assignments", ["job_id", "time"])
    if a is None or not len(a):
        return None
    start, stop = _floats(jobs, "start_time", "stop_time")
    job_id = jobs["job_id"].to_numpy()
    end = _run_end(run, jobs)
    return held_of_bindings(job_id, start, stop, a["job_id"].to_numpy(), a["time"].to_numpy(), end)


def _window(run: Any, jobs: pd.DataFrame | None = None) -> tuple[float, float]:
    jobs = _jobs(run) if jobs is None else jobs
    submit, stop = _floats(jobs, "submit_time", "stop_time")
    if len(stop) and not np.isnan(stop).all():
        return window(submit, stop, float("nan"))
    return window(submit, stop, _run_end(run, jobs))


def mean_utilization(run: Any) -> float:
    """Busy node-seconds / (nodes x makespan): :func:`utilization` averaged over the makespan."""
    return _mean_utilization(run, _jobs(run))


def _mean_utilization(run: Any, jobs: pd.DataFrame) -> float:
    """:func:`mean_utilization`, with the run's jobs given: the integral of the step
    function :func:`utilization` builds, summed interval by interval (the time each
    node was held, clipped to the window), without building it."""
    span = _window(run, jobs)
    if not len(jobs) or span[1] <= span[0]:
        return float("nan")
    busy = _busy_unpacked(run, jobs, span)
    if busy is None:  # where _held_unpacked gives None too: not read twice
        total = BlockSum()
        total.add(busy_seconds(*_held_from_history(run, jobs), span))
        busy = total.total()
    return busy_fraction(busy, span, _n_nodes(run))


def _busy_unpacked(run: Any, jobs: pd.DataFrame, span: tuple[float, float]) -> float | None:
    """Busy node-seconds in ``span`` of a run without loader packing, from its
    ``assignments`` a piece at a time (:func:`bound_busy`); None as for
    :func:`_held_unpacked`."""
    meta = getattr(run, "meta", None) or {}
    if meta.get("max_loader_pack") != 1:
        return None
    bindings: Any
    if callable(getattr(run, "row_pieces", None)):
        bindings = run_bindings(run)
    else:
        a = _event_rows(run, "assignments", ["job_id", "time"])
        bindings = [] if a is None else [(a["job_id"].to_numpy(), a["time"].to_numpy())]
    start, stop = _floats(jobs, "start_time", "stop_time")
    end = _run_end(run, jobs)
    return bound_busy(jobs["job_id"].to_numpy(), start, stop, bindings, end, span)


def node_utilization(run: Any) -> pd.Series:
    """Busy fraction of each node over the makespan (first submit to last stop).

    Returns
    -------
    pandas.Series
        Indexed by ``node_id`` in the order of ``run.nodes``; 0 for nodes never used.
    """
    start, end = _window(run)
    iv = node_intervals(run)
    busy = (iv["stop"].clip(start, end) - iv["start"].clip(start, end)).groupby(iv["node_id"]).sum()
    ids = run.nodes["node_id"].astype(object)
    span = end - start
    values = [float(busy.get(n, 0.0)) / span if span > 0 else np.nan for n in ids]
    return pd.Series(values, index=pd.Index(ids, name="node_id"), name="utilization")


def queue_length(run: Any, *, freq: float | None = None) -> pd.Series:
    """Number of queued jobs over time, as a step function.

    A job enters the queue at its submit time and leaves it when it starts, or when it
    stops without having started (aborted in the queue). Jobs still queued at the end
    stay counted.

    Parameters
    ----------
    run : Run-like or pandas.DataFrame
    freq : float, optional
        Bin width in seconds: time-weighted mean per bin instead of the step function.

    Returns
    -------
    pandas.Series
        Named ``queue_length``, indexed by ``time``.
    """
    jobs = _jobs(run)
    submit = jobs["submit_time"].to_numpy(float)
    leave = jobs["start_time"].fillna(jobs["stop_time"]).to_numpy(float)
    left = ~np.isnan(leave)
    times = np.concatenate([submit, leave[left]])
    deltas = np.concatenate([np.ones(len(submit)), -np.ones(int(left.sum()))])
    s = _step(times, deltas, origin=None, name="queue_length")
    if freq is not None:
        start = float(submit.min()) if len(submit) else 0.0
        end = float(np.nanmax(jobs["stop_time"])) if jobs["stop_time"].notna().any() else start
        return _resample(s, freq, start, end)
    return s


def node_states(run: Any, *, job_states: bool = False) -> pd.DataFrame:
    """How many nodes are in each state over time, from ``node_events``.

    Every ``node_events`` row with a state moves its node to that state. Before its
    first event a node counts in no state.

    Parameters
    ----------
    run : Run-like
    job_states : bool
        Count a node that serves a job (state ``running_job``) under its job state
        (``running``, ``finished``, ``error``, ``reporting``, ``cleanup``, ...) instead:
        what it does for the job.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``time``, one column per state seen (in the order of
        :data:`~benchhub_sim.store.schema.NODE_STATES`, with ``running_job`` replaced by
        :data:`~benchhub_sim.store.schema.NODE_JOB_STATES` under ``job_states``),
        integer counts.
    """
    from benchhub_sim.store.schema import NODE_JOB_STATES, NODE_STATES

    ne = _table(run, "node_events")
    if ne is None or ne.empty:
        return pd.DataFrame(index=pd.Index([], name="time", dtype=float))
    ev = ne.dropna(subset=["state"]).sort_values("seq", kind="stable")
    states = ev["state"].astype(object).to_numpy()
    known = list(NODE_STATES)
    if job_states and "job_state" in ev:
        detail = ev["job_state"].astype(object).to_numpy()
        serving = (states == "running_job") & pd.notna(detail)
        states = np.where(serving, detail, states)
        at = known.index("running_job")
        known[at : at + 1] = NODE_JOB_STATES
    nodes = ev["node_id"].astype(object).to_numpy()
    times = ev["time"].to_numpy(float)
    seen = list(dict.fromkeys(states))
    order = [s for s in known if s in seen] + [s for s in seen if s not in known]
    col = {s: i for i, s in enumerate(order)}
    current: dict[Any, int] = {}
    counts = np.zeros(len(order), dtype=np.int64)
    rows: list[np.ndarray] = []
    row_times: list[float] = []
    for t, n, s in zip(times, nodes, states, strict=True):
        prev = current.get(n)
        if prev is not None:
            counts[prev] -= 1
        counts[col[s]] += 1
        current[n] = col[s]
        if row_times and row_times[-1] == t:
            rows[-1] = counts.copy()
        else:
            row_times.append(float(t))
            rows.append(counts.copy())
    return pd.DataFrame(rows, index=pd.Index(row_times, name="time"), columns=order)


# --- stages --------------------------------------------------------------------------


def stage_times(run: Any) -> pd.DataFrame:
    """Each stage's duration on each node, with the spec of its job.

    Rows of ``run.stages`` without a start or a stop are left out. For a background
    stage the duration runs until it was stopped.

    Returns
    -------
    pandas.DataFrame
        Columns ``job_id``, ``spec`` (the job's ``name``), ``stage_name``, ``duration`` (s).
    """
    st = run.stages
    jobs = _jobs(run)
    spec = pd.Series(jobs["name"].astype(object).to_numpy(), index=jobs["job_id"].to_numpy())
    d = pd.DataFrame(
        {
            "job_id": st["job_id"].to_numpy(),
            "spec": st["job_id"].map(spec).astype(object).to_numpy(),
            "stage_name": st["stage_name"].astype(object).to_numpy(),
            "duration": (st["stop_time"] - st["start_time"]).to_numpy(dtype=float),
        }
    )
    return d.dropna(subset=["duration"]).reset_index(drop=True)


def stage_durations(run: Any) -> pd.DataFrame:
    """Duration (stop - start on one node) of each stage of each spec: count, mean, p50, p95.

    Stages are told apart by the spec of their job: a ``setup`` stage of two specs gives
    two rows. See :func:`stage_times` for which rows count.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``spec`` and ``stage_name`` (sorted), columns ``count``, ``mean``,
        ``p50``, ``p95`` (seconds).
    """
    d = stage_times(run)
    g = d.groupby(["spec", "stage_name"], sort=True)["duration"]
    out = pd.DataFrame(
        {
            "count": g.count(),
            "mean": g.mean(),
            "p50": g.quantile(0.5),
            "p95": g.quantile(0.95),
        }
    )
    out.index.names = ["spec", "stage_name"]
    return out


# --- summaries -----------------------------------------------------------------------


def summary(run: Any) -> Summary:
    """The headline numbers of a run, units in the names.

    Returns
    -------
    Summary
        A pandas Series (shown rounded per unit, values exact), named after the run
        (:func:`run_name`): ``jobs``; ``finished``, ``aborted`` and ``unfinished`` (still
        queued or running when the run ended); ``makespan_s``; ``throughput_per_h``
        (finished jobs per hour over the makespan); ``mean_wait_s``, ``median_wait_s``,
        ``p95_wait_s`` (over the jobs that started); ``mean_bounded_slowdown`` (tau =
        :data:`BSLD_TAU`); ``utilization`` (busy node-seconds over nodes x makespan,
        0..1). Counts are ints, the rest floats (NaN when undefined).
    """
    jobs = _job_columns(run)
    jm = job_metrics(jobs)
    status = jm["status"].to_numpy()
    wait = jm["wait"].dropna()
    finished = int((status == "finished").sum())
    aborted = int((status == "aborted").sum())
    values = {
        "jobs": len(jm),
        "finished": finished,
        "aborted": aborted,
        "unfinished": len(jm) - finished - aborted,
        "makespan_s": makespan(jobs),
        "throughput_per_h": throughput(jobs) * 3600.0,
        "mean_wait_s": mean_wait(*_floats(jm, "submit_time", "start_time")),
        "median_wait_s": float(wait.median()) if len(wait) else float("nan"),
        "p95_wait_s": float(wait.quantile(0.95)) if len(wait) else float("nan"),
        "mean_bounded_slowdown": float(jm["bounded_slowdown"].mean()),
        "utilization": _mean_utilization(run, jobs) if len(jm) else float("nan"),
    }
    return Summary(values, dtype=object, name=run_name(run))


def run_setup(run: Any) -> dict[str, Any]:
    """The policy, cluster and node count of a run (``None`` where its meta lacks them)."""
    meta = getattr(run, "meta", None) or {}
    return {"policy": meta.get("policy"), "cluster": meta.get("cluster"), "nodes": len(run.nodes)}


def compare_runs(
    runs: Sequence[Any] | Mapping[str, Any], names: Sequence[str] | None = None
) -> SummaryTable:
    """One row per run: its policy, cluster and nodes, then its :func:`summary`.

    Parameters
    ----------
    runs : sequence of Run-like, or mapping of name to Run-like
        The runs; a mapping (``{"fcfs": run_a, "easy": run_b}``) names them by its keys.
    names : sequence of str, optional
        Row labels; by default the mapping's keys, else from :func:`run_name`.

    Returns
    -------
    SummaryTable
        A pandas DataFrame indexed by ``run`` (shown rounded per unit, values exact).
    """
    if isinstance(runs, Mapping):
        names = list(runs) if names is None else names
        runs = list(runs.values())
    labels = run_names(runs, names)
    rows = [{**summary(r), **run_setup(r)} for r in runs]  # summary() checks each is a run
    columns = [*SETUP_FIELDS, *SUMMARY_FIELDS]
    return SummaryTable(pd.DataFrame(rows, index=pd.Index(labels, name="run"), columns=columns))


def compare_jobs(run_a: Any, run_b: Any) -> pd.DataFrame:
    """Per-job differences between two runs of the same jobs, matched by ``job_id``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``job_id`` (jobs of either run), columns ``wait_a``, ``wait_b``,
        ``wait_diff``, ``start_a``, ``start_b``, ``start_diff``, ``runtime_a``,
        ``runtime_b``, ``runtime_diff``; a diff is ``b - a``, NaN where a job is missing
        from one run or did not start.
    """
    cols = {"wait": "wait", "start": "start_time", "runtime": "runtime"}
    a = job_metrics(run_a).set_index("job_id")
    b = job_metrics(run_b).set_index("job_id")
    a = a[list(cols.values())].rename(columns={v: f"{k}_a" for k, v in cols.items()})
    b = b[list(cols.values())].rename(columns={v: f"{k}_b" for k, v in cols.items()})
    m = a.join(b, how="outer").sort_index()
    out = pd.DataFrame(index=m.index)
    for k in cols:
        out[f"{k}_a"] = m[f"{k}_a"]
        out[f"{k}_b"] = m[f"{k}_b"]
        out[f"{k}_diff"] = m[f"{k}_b"] - m[f"{k}_a"]
    return out
