"""The headline numbers of a run from plain arrays: jobs by outcome, makespan, mean wait,
utilization.

:func:`~benchhub_sim.analysis.metrics.summary` computes them with these functions from
its DataFrames; :func:`headline` computes them from a run's Arrow columns, without
pandas, for the line a command prints at its end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def job_span(submit: np.ndarray, stop: np.ndarray) -> float:
    """Makespan: last job stop minus first job submit (NaN without jobs or stops)."""
    if not len(submit) or np.isnan(stop).all():
        return float("nan")
    return float(np.nanmax(stop) - np.nanmin(submit))


def mean_wait(submit: np.ndarray, start: np.ndarray) -> float:
    """Mean of ``start - submit`` over the jobs that started (NaN if none did)."""
    wait = start - submit
    wait = wait[~np.isnan(wait)]
    return float(wait.mean()) if len(wait) else float("nan")


def last_time(times: Iterable[Any]) -> float:
    """The largest of ``times``, None and NaN left out (0.0 when nothing is left)."""
    values = [float(t) for t in times if t is not None and not np.isnan(t)]
    return max(values) if values else 0.0


def window(submit: np.ndarray, stop: np.ndarray, end: float) -> tuple[float, float]:
    """From the first submit to the last stop (``end`` when no job stopped)."""
    start = float(np.nanmin(submit)) if len(submit) else 0.0
    last = np.nanmax(stop) if len(stop) and not np.isnan(stop).all() else np.nan
    return start, float(last) if not np.isnan(last) else end


def mean_busy(
    starts: np.ndarray,
    stops: np.ndarray,
    weight: np.ndarray,
    span: tuple[float, float],
    n_nodes: int,
) -> float:
    """Busy node-seconds over nodes x window: each time ``weight`` nodes were held, from
    ``starts`` to ``stops``, clipped to the window ``span``; NaN for an empty window."""
    start, end = span
    if end <= start:
        return float("nan")
    held = np.clip(stops, start, end) - np.clip(starts, start, end)
    return float(np.sum(weight * held) / max(n_nodes, 1) / (end - start))


def held_of_bindings(
    job_id: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    bound_job: np.ndarray,
    bound_time: np.ndarray,
    end: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """When nodes were held, from the bindings of nodes to jobs (``assignments`` rows of
    a run without loader packing, where a job holds a node once): from the binding to
    the job's stop, or to ``end`` for a job still running or not in the jobs table.
    None when a started job has no binding (its nodes are known from elsewhere).

    Parameters
    ----------
    job_id, start, stop : numpy.ndarray
        The jobs table's ids (unique), start and stop times (NaN: none).
    bound_job, bound_time : numpy.ndarray
        One binding per row: its job id and time.
    end : float
        The run's last time.
    """
    times = bound_time.astype(np.float64)
    if not len(job_id):
        return times, np.full(len(times), end), np.ones(len(times))
    order = np.argsort(job_id, kind="stable")
    at = np.searchsorted(job_id[order], bound_job).clip(0, len(job_id) - 1)
    known = job_id[order][at] == bound_job
    pos = order[at][known]
    bound = np.zeros(len(job_id), dtype=bool)
    bound[pos] = True
    if (~np.isnan(start) & ~bound).any():
        return None
    stops = np.full(len(times), np.nan)
    stops[known] = stop[pos]
    stops = np.where(np.isnan(stops), end, stops)
    return times, stops, np.ones(len(times))


def headline(run: Any) -> dict[str, Any] | None:
    """``jobs``, ``finished``, ``aborted``, ``unfinished``, ``makespan_s``,
    ``mean_wait_s`` and ``utilization`` of a :class:`~benchhub_sim.store.run.Run`, as
    :func:`~benchhub_sim.analysis.metrics.summary` defines them, read from its Arrow
    columns (only those it needs). None when the run is not a ``Run``, may pack
    loaders, or has a started job without an ``assignments`` row: ``summary`` then
    finds the nodes each job held in its history.
    """
    meta = getattr(run, "meta", None) or {}
    rows_table = getattr(run, "rows_table", None)
    if not callable(rows_table) or meta.get("max_loader_pack") != 1:
        return None
    jobs = rows_table("jobs", ["job_id", "status", "submit_time", "start_time", "stop_time"])
    status = jobs["status"].to_numpy(zero_copy_only=False).astype(object)
    job_id = jobs["job_id"].to_numpy(zero_copy_only=False)
    submit, start, stop = (
        jobs[c].to_numpy(zero_copy_only=False).astype(np.float64)
        for c in ("submit_time", "start_time", "stop_time")
    )
    finished = int((status == "finished").sum())
    aborted = int((status == "aborted").sum())
    utilization = float("nan")
    if len(job_id):
        a = rows_table("assignments", ["job_id", "time"])
        if not a.num_rows:
            return None
        end = last_time(
            [
                np.nanmax(stop) if not np.isnan(stop).all() else None,
                np.nanmax(submit) if not np.isnan(submit).all() else None,
                *(run.time_span(name)[1] for name in ("job_events", "node_events")),
            ]
        )
        held = held_of_bindings(
            job_id,
            start,
            stop,
            a["job_id"].to_numpy(zero_copy_only=False),
            a["time"].to_numpy(zero_copy_only=False),
            end,
        )
        if held is None:
            return None
        utilization = mean_busy(*held, window(submit, stop, end), run.num_rows("nodes"))
    return {
        "jobs": len(job_id),
        "finished": finished,
        "aborted": aborted,
        "unfinished": len(job_id) - finished - aborted,
        "makespan_s": job_span(submit, stop),
        "mean_wait_s": mean_wait(submit, start),
        "utilization": utilization,
    }
