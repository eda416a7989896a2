"""The headline numbers of a run from plain arrays: jobs by outcome, makespan, mean wait,
utilization.

:func:`~benchhub_sim.analysis.metrics.summary` computes them with these functions from
its DataFrames; :func:`headline` computes them from a run's Arrow columns, without
pandas, for the line a command prints at its end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pyarrow.compute as pc


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


#: values summed at once by :class:`BlockSum` (its result does not depend on the pieces)
SUM_BLOCK = 65_536


class BlockSum:
    """The sum of values given in pieces, the same whatever the pieces: ``np.sum`` of
    each block of :data:`SUM_BLOCK` values in order, the blocks' sums added exactly. A
    run read row group by row group and the same run in memory give the same number;
    under one block it is ``np.sum`` of the values."""

    def __init__(self) -> None:
        self._sums: list[float] = []
        self._rest = np.empty(0)

    def add(self, values: np.ndarray) -> None:
        """Add ``values`` (in order, after those added before)."""
        values = np.concatenate([self._rest, values]) if len(self._rest) else values
        full = len(values) - len(values) % SUM_BLOCK
        self._sums.extend(
            float(np.sum(values[lo : lo + SUM_BLOCK])) for lo in range(0, full, SUM_BLOCK)
        )
        self._rest = values[full:]

    def total(self) -> float:
        return math.fsum([*self._sums, float(np.sum(self._rest))])


def busy_seconds(
    starts: np.ndarray, stops: np.ndarray, weight: np.ndarray | float, span: tuple[float, float]
) -> np.ndarray:
    """Node-seconds of each time ``weight`` nodes were held from ``starts`` to
    ``stops``, clipped to the window ``span``."""
    start, end = span
    return np.asarray(weight * (np.clip(stops, start, end) - np.clip(starts, start, end)))


def busy_fraction(busy: float, span: tuple[float, float], n_nodes: int) -> float:
    """``busy`` node-seconds over nodes x window (NaN for an empty window)."""
    start, end = span
    if end <= start:
        return float("nan")
    return float(busy / max(n_nodes, 1) / (end - start))


def bound_busy(
    job_id: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    bindings: Iterable[tuple[np.ndarray, np.ndarray]],
    end: float,
    span: tuple[float, float],
) -> float | None:
    """Busy node-seconds in the window ``span``, from the bindings of nodes to jobs
    (``assignments`` rows of a run without loader packing, where a job holds a node
    once): each node held from its binding to its job's stop, or to ``end`` for a job
    still running or not in the jobs table. The bindings come in pieces, so that a
    10M-job run is read a row group at a time. None when there is no binding or a
    started job has none (its nodes are known from elsewhere).

    Parameters
    ----------
    job_id, start, stop : numpy.ndarray
        The jobs table's ids (unique), start and stop times (NaN: none).
    bindings : iterable of (numpy.ndarray, numpy.ndarray)
        Pieces of the bindings: job ids and times, one per binding.
    end : float
        The run's last time.
    span : (float, float)
        The window.
    """
    order = np.argsort(job_id, kind="stable")
    bound = np.zeros(len(job_id), dtype=bool)
    total = BlockSum()
    n = 0
    for bound_job, bound_time in bindings:
        n += len(bound_job)
        stops = _stops_of_bindings(job_id, order, stop, bound_job, end, bound)
        total.add(busy_seconds(bound_time.astype(np.float64), stops, 1.0, span))
    if not n or (~np.isnan(start) & ~bound).any():
        return None
    return total.total()


def run_bindings(run: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The job ids and times of a :class:`~benchhub_sim.store.run.Run`'s
    ``assignments``, a row group at a time (:meth:`Run.row_pieces`)."""
    for piece in run.row_pieces("assignments", ["job_id", "time"]):
        yield (
            piece["job_id"].to_numpy(zero_copy_only=False),
            piece["time"].to_numpy(zero_copy_only=False),
        )


def held_of_bindings(
    job_id: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    bound_job: np.ndarray,
    bound_time: np.ndarray,
    end: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """When nodes were held, from the bindings of nodes to jobs, as :func:`bound_busy`
    counts them (all at once): starts, stops and weights (ones). None when a started job
    has no binding."""
    bound = np.zeros(len(job_id), dtype=bool)
    order = np.argsort(job_id, kind="stable")
    stops = _stops_of_bindings(job_id, order, stop, bound_job, end, bound)
    if (~np.isnan(start) & ~bound).any():
        return None
    return bound_time.astype(np.float64), stops, np.ones(len(stops))


def _stops_of_bindings(
    job_id: np.ndarray,
    order: np.ndarray,
    stop: np.ndarray,
    bound_job: np.ndarray,
    end: float,
    bound: np.ndarray,
) -> np.ndarray:
    """The stop of each binding's job (``order`` sorts ``job_id``), ``end`` for a job
    without a stop or not in the jobs table; marks the jobs found in ``bound``."""
    stops = np.full(len(bound_job), end)
    if not len(job_id):
        return stops
    ids = job_id[order]
    at = np.searchsorted(ids, bound_job).clip(0, len(ids) - 1)
    known = ids[at] == bound_job
    pos = order[at][known]
    bound[pos] = True
    stops[known] = stop[pos]
    return np.where(np.isnan(stops), end, stops)


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
    if not callable(rows_table) or not callable(getattr(run, "row_pieces", None)):
        return None
    if meta.get("max_loader_pack") != 1:
        return None
    jobs = rows_table("jobs", ["job_id", "status", "submit_time", "start_time", "stop_time"])
    counts = {
        str(v["values"]): int(v["counts"]) for v in pc.value_counts(jobs["status"]).to_pylist()
    }
    job_id = jobs["job_id"].to_numpy(zero_copy_only=False)
    submit, start, stop = (
        jobs[c].to_numpy(zero_copy_only=False).astype(np.float64)
        for c in ("submit_time", "start_time", "stop_time")
    )
    finished, aborted = counts.get("finished", 0), counts.get("aborted", 0)
    utilization = float("nan")
    if len(job_id):
        end = last_time(
            [
                np.nanmax(stop) if not np.isnan(stop).all() else None,
                np.nanmax(submit) if not np.isnan(submit).all() else None,
                *(run.time_span(name)[1] for name in ("job_events", "node_events")),
            ]
        )
        span = window(submit, stop, end)
        busy = bound_busy(job_id, start, stop, run_bindings(run), end, span)
        if busy is None:
            return None
        utilization = busy_fraction(busy, span, run.num_rows("nodes"))
    return {
        "jobs": len(job_id),
        "finished": finished,
        "aborted": aborted,
        "unfinished": len(job_id) - finished - aborted,
        "makespan_s": job_span(submit, stop),
        "mean_wait_s": mean_wait(submit, start),
        "utilization": utilization,
    }
