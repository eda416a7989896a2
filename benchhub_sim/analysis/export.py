"""Write a run in formats other tools read: Batsim's ``jobs.csv`` (and SWF, re-exported)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchhub_sim.analysis.metrics import node_intervals
from benchhub_sim.io import write_text_atomic
from benchhub_sim.workload.swf import write_swf

#: Column order of Batsim's ``jobs.csv`` as read by evalys.
BATSIM_COLUMNS: tuple[str, ...] = (
    "jobID",
    "submission_time",
    "requested_number_of_processors",
    "requested_time",
    "success",
    "starting_time",
    "execution_time",
    "finish_time",
    "waiting_time",
    "turnaround_time",
    "stretch",
    "allocated_processors",
)


def interval_set(indices: Iterable[int]) -> str:
    """Batsim's interval-set text of integer indices: ``[0, 1, 2, 3, 5] -> "0-3 5"``.

    Examples
    --------
    >>> interval_set([5, 0, 2, 1, 3])
    '0-3 5'
    >>> interval_set([])
    ''
    """
    values = sorted(set(int(i) for i in indices))
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return " ".join(parts)


def batsim_jobs(run: Any) -> pd.DataFrame:
    """A run's jobs as a DataFrame with Batsim's ``jobs.csv`` columns.

    Only jobs that started and stopped appear (jobs aborted in the queue, or still
    running when the run ended, are left out: Batsim's file has no row for them either).
    ``success`` is 1 for a finished job, 0 for an aborted one; ``stretch`` is
    turnaround / execution time (empty when the execution time is 0);
    ``requested_time`` is the job's walltime (empty when unknown);
    ``allocated_processors`` is the interval set of the rows in ``run.nodes`` of the
    nodes assigned to the job (from the ``assign`` events, see
    :func:`~benchhub_sim.analysis.metrics.node_intervals`).
    """
    jobs = run.jobs
    done = jobs[jobs["start_time"].notna() & jobs["stop_time"].notna()]
    done = done.sort_values(["submit_time", "job_id"], kind="stable")
    iv = node_intervals(run)
    iv = iv[iv["node_index"] >= 0]
    alloc = iv.groupby("job_id")["node_index"].agg(interval_set)
    submit = done["submit_time"].to_numpy(float)
    start = done["start_time"].to_numpy(float)
    stop = done["stop_time"].to_numpy(float)
    execution = stop - start
    turnaround = stop - submit
    with np.errstate(divide="ignore", invalid="ignore"):
        stretch = np.where(execution > 0, turnaround / execution, np.nan)
    return pd.DataFrame(
        {
            "jobID": done["job_id"].to_numpy(),
            "submission_time": submit,
            "requested_number_of_processors": done["n_nodes"].to_numpy(),
            "requested_time": done["walltime"].to_numpy(float),
            "success": (done["status"].astype(object).to_numpy() == "finished").astype(int),
            "starting_time": start,
            "execution_time": execution,
            "finish_time": stop,
            "waiting_time": start - submit,
            "turnaround_time": turnaround,
            "stretch": stretch,
            "allocated_processors": [alloc.get(j, "") for j in done["job_id"]],
        },
        columns=list(BATSIM_COLUMNS),
    )


def to_batsim_csv(run: Any, path: str | os.PathLike[str]) -> Path:
    """Write a run as Batsim's ``jobs.csv`` (readable by evalys' ``JobSet.from_csv``).

    Jobs that never started, or never stopped, are left out; see :func:`batsim_jobs`
    for every column.

    Parameters
    ----------
    run : Run-like
        Anything with ``jobs``, ``nodes`` and ``job_events`` DataFrames.
    path : str or path-like
        The CSV file to write (atomically).

    Returns
    -------
    pathlib.Path
    """
    out = Path(path)
    text = batsim_jobs(run).to_csv(index=False, float_format="%.6f", lineterminator="\n")
    write_text_atomic(out, text)
    return out


def to_swf(run: Any, path: str | os.PathLike[str]) -> Path:
    """Write a run as an SWF trace; same as :func:`benchhub_sim.workload.swf.write_swf`."""
    return write_swf(run, path)
