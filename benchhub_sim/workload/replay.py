"""Replays: a recorded run or an SWF trace, run again under another policy or cluster.

A recorded run (simulated or real) becomes one :class:`JobRequest` per row of its jobs
table (:func:`replay_workload`): the same ``job_id``, submit time, priority and
requested ``walltime``; the spec rebuilt from the row's ``raw_spec``; and the observed
behaviour of its tasks as ``durations`` (stop - start of each task's finished attempt)
and ``ready_delays`` (ready - start of each background task), keyed
``(stage_name, node_name, task_name)``. The simulated executor uses those instead of the
spec's distributions. :func:`benchhub_sim.replay.replay` runs such a workload (or an SWF
trace) and returns the new run; this module turns its sources into workloads.

What is replayed, and what is not:

- *Durations are work, not seconds on one node*: an observed time is multiplied by the
  recorded node's ``speed`` (the executor divides by the new node's speed), so a replay
  on the same nodes keeps every duration, and a slow node stays slow.
- *Tasks that never finished* (the job aborted first, the attempt was stopped or cut
  short by its node's failure, or the job never started) have no observation: they fall
  back to the spec's durations, drawn with the replay's seed. An aborted job therefore
  runs again under the spec's model and may finish; a job aborted as unschedulable is
  submitted again and runs if the new cluster can hold it.
- *Task failures* come from the spec's ``fail_prob``, drawn with the replay's seed. By
  default the seed is the recorded run's, which for a simulated run draws the same
  failures (a job's draws depend on the seed, its spec and its rank among that spec's
  jobs). A failed attempt replays its own duration (key with the attempt number).
- *Node failures* of the recording (its ``fail`` and ``recover`` node events, see
  :func:`recorded_faults`) are replayed as injected faults at the same times on the nodes
  of the same id, by default when the replay runs on the recorded cluster (no ``cluster``,
  no ``nodes``) and not otherwise: ``faults="recorded"`` replays them on any cluster
  (failures of nodes it lacks are dropped and counted in ``meta["inputs"]["replay"]
  ["faults_dropped"]``), ``faults=None`` replays none, so the jobs they aborted run on.
  A warm start at ``T`` replays the failures from ``T`` on (one down at ``T`` for what was
  left of it). A replayed failure is logged with the detail ``injected fault`` whatever
  the recorded reason (an ``mtbf`` failure, too: the node store keeps no ``mtbf``, so the
  replay draws no failures of its own). A failure never recovered in the recording ends
  at the recording's last event, where the replay logs a ``recover`` the recording does
  not have.
- ``speedup`` divides the observed durations, the readiness delays and the requested
  walltimes (the estimate of a faster machine); durations drawn from a spec are not
  divided.
- Jobs without ``raw_spec`` (runs of SWF traces) become one-stage jobs of ``n_nodes``
  nodes of role ``any`` (the spec builder of :mod:`~benchhub_sim.workload.swf`) that run for the
  job's observed run time, or for its walltime when it never ran; jobs with neither are
  skipped (and counted).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.errors import WorkloadError
from benchhub_sim.params import number, require, whole
from benchhub_sim.sched.assign import job_slots
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.workload.base import ALL_NODES, JobRequest, RequestList
from benchhub_sim.workload.swf import (
    SWF_REPLAY_FIELDS,
    SwfRequests,
    SwfTrace,
    read_swf,
    swf_job_spec,
    swf_jobs,
)

if TYPE_CHECKING:
    import pandas as pd

#: (stage_name, node_name, task_name), or with the attempt number appended
Key = tuple[str, str, str] | tuple[str, str, str, int]
Observed = dict[int, dict[Key, float]]


# -- sources ------------------------------------------------------------------------------


def is_trace_path(path: str | os.PathLike[str]) -> bool:
    """True for a ``.swf`` or ``.swf.gz`` file name."""
    name = Path(path).name.lower()
    return name.endswith(".swf") or name.endswith(".swf.gz")


def open_source(source: Any) -> Any:
    """A :class:`~benchhub_sim.store.run.Run` or an :class:`SwfTrace` from a replay source.

    Parameters
    ----------
    source : Run, SwfTrace, or path
        A run directory, or an SWF trace (``.swf`` / ``.swf.gz``); objects pass through.

    Raises
    ------
    RunFormatError
        When a directory is not a readable run.
    WorkloadError
        When a trace is malformed, the path is neither a directory nor a trace, or the
        run is not a finished one (it raised, was killed or is still running): its
        history stops short, and a replay of it would look like a smaller workload.
    """
    from benchhub_sim.store.run import Run, load_run, read_meta

    if isinstance(source, SwfTrace):
        return source
    if isinstance(source, Run):
        require_finished(_where(source), {**source.meta, "complete": source.complete})
        return source
    path = Path(source)
    if path.is_dir():
        require_finished(path, read_meta(path))
        return load_run(path)
    if is_trace_path(path):
        if not path.is_file():
            raise FileNotFoundError(2, "no such file", str(path))
        return read_swf(path, fields=SWF_REPLAY_FIELDS)
    raise WorkloadError(
        [f"{path}: not a run directory nor an SWF trace (.swf, .swf.gz)"]
        if path.exists()
        else [f"{path}: no such run directory or trace"]
    )


def require_finished(where: str | os.PathLike[str], meta: Mapping[str, Any]) -> None:
    """Refuse to replay a run whose ``run.json`` says it did not finish.

    Raises
    ------
    WorkloadError
        Naming the run and why it is not finished (see
        :func:`~benchhub_sim.store.run.unfinished`).
    """
    from benchhub_sim.store.run import unfinished

    why = unfinished(meta)
    if why:
        raise WorkloadError(
            [f"{where}: not a finished run ({why}): a replay needs a run that ended"]
        )


# -- recorded runs ------------------------------------------------------------------------


def _check_speedup(speedup: float) -> None:
    require(WorkloadError, [number("speedup", speedup, above=0)])


def _plain(series: pd.Series) -> np.ndarray:
    """Values of a (possibly categorical) column as an object array, NaN -> None."""
    import pandas as pd  # loaded already: the column comes from a DataFrame

    values = series.astype(object).to_numpy()
    return np.array(
        [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v
         for v in values],
        dtype=object,
    )  # fmt: skip


def observed_times(
    run: Any, *, speedup: float = 1.0, since: float | None = None
) -> tuple[Observed, Observed]:
    """Observed task durations and readiness delays of a run, per job.

    Parameters
    ----------
    run : Run-like
        Needs ``tasks`` and ``nodes`` DataFrames.
    speedup : float
        Every value is divided by it.
    since : float, optional
        Count only the time after ``since`` (a warm start): a task that finished by then
        takes 0, one running then takes what was left of it.

    Returns
    -------
    durations, ready_delays : dict of job_id to dict of (stage_name, node_name, task_name) to float
        Durations of the finished attempt of every foreground task (times the recorded
        node's speed, divided by ``speedup``), and of every finished or failed attempt
        under ``(stage_name, node_name, task_name, attempt)``, except attempts that
        failed because their node failed (stopped when a ``fail`` node event of their
        node was logged): those were cut short, and fall back to the spec; readiness
        delays of background tasks that became ready, likewise.
    """
    tasks = run.tasks
    durations: Observed = {}
    ready: Observed = {}
    if tasks.empty:
        return durations, ready
    nodes = run.nodes
    speed_of = dict(zip(nodes["node_id"], nodes["speed"].astype(float).fillna(1.0), strict=True))
    speed = tasks["node_id"].map(speed_of).astype(float).fillna(1.0).to_numpy()
    start = tasks["start_time"].to_numpy(float)
    lo = start if since is None else np.maximum(start, since)
    stop = tasks["stop_time"].to_numpy(float)
    ready_time = tasks["ready_time"].to_numpy(float)
    background = tasks["background"].fillna(False).to_numpy(bool)
    finished = tasks["status"].astype(object).to_numpy() == "finished"
    job = tasks["job_id"].to_numpy()
    keys = list(
        zip(
            _plain(tasks["stage_name"]),
            _plain(tasks["node_name"]),
            _plain(tasks["task_name"]),
            strict=True,
        )
    )
    with np.errstate(invalid="ignore"):
        run_time = np.maximum(stop - lo, 0.0) * speed / speedup
        delay = np.maximum(ready_time - lo, 0.0) * speed / speedup
    failed = tasks["status"].astype(object).to_numpy() == "failed"
    # an attempt cut short by its node's failure is no observation of the task: the
    # failure is the node's (replayed with ``faults``), not the task's
    failed &= ~_killed_by_node_failure(run, tasks["node_id"], stop, failed)
    attempt = tasks["attempt"].fillna(0).to_numpy(int)
    fg = finished & ~background & np.isfinite(run_time)
    bg = background & np.isfinite(delay)
    # rows come by attempt: a later finished attempt overwrites an earlier one
    for i in np.flatnonzero(fg):
        durations.setdefault(int(job[i]), {})[keys[i]] = float(run_time[i])
    # every ended attempt also under its own number, so a retried task replays its
    # failed attempts with their own durations (the key with the attempt wins)
    for i in np.flatnonzero((fg | failed) & ~background & np.isfinite(run_time)):
        durations.setdefault(int(job[i]), {})[(*keys[i], int(attempt[i]))] = float(run_time[i])
    for i in np.flatnonzero(bg):
        ready.setdefault(int(job[i]), {})[keys[i]] = float(delay[i])
    return durations, ready


def _killed_by_node_failure(
    run: Any, node_ids: pd.Series, stop: np.ndarray, failed: np.ndarray
) -> np.ndarray:
    """True for the failed attempts that ended when their node failed (same node, same time)."""
    out = np.zeros(len(stop), dtype=bool)
    ev = getattr(run, "node_events", None)
    if ev is None or ev.empty or not failed.any():
        return out
    ev = ev[ev["event"].astype(object) == "fail"]
    fails = set(zip(ev["node_id"].astype(object), ev["time"].to_numpy(float), strict=True))
    if fails:
        ids = node_ids.astype(object).to_numpy()
        for i in np.flatnonzero(failed):
            out[i] = (ids[i], float(stop[i])) in fails
    return out


def _requests(
    run: Any, *, speedup: float, since: float | None, where: str
) -> tuple[dict[int, JobRequest], dict[str, int]]:
    """One request per replayable job of ``run`` (by job id, in submit order), and how
    many were skipped by reason (``no_run_time``, ``no_size``)."""
    from benchhub_sim.spec.load import load_spec

    _check_speedup(speedup)
    durations, ready = observed_times(run, speedup=speedup, since=since)
    jobs = run.jobs.sort_values(["submit_time", "job_id"], kind="stable")
    specs: dict[tuple[str, str | None], JobSpec] = {}
    generated: dict[int, JobSpec] = {}
    out: dict[int, JobRequest] = {}
    skipped: dict[str, int] = {}
    columns = zip(
        jobs["job_id"].to_numpy(),
        jobs["submit_time"].to_numpy(float),
        jobs["start_time"].to_numpy(float),
        jobs["stop_time"].to_numpy(float),
        jobs["n_nodes"].to_numpy(float),
        jobs["walltime"].to_numpy(float),
        jobs["priority"].to_numpy(float),
        _plain(jobs["raw_spec"]),
        _plain(jobs["name"]),
        strict=True,
    )
    for job_id, submit, start, stop, n_nodes, walltime, priority, raw, name in columns:
        job_id = int(job_id)
        if raw is not None:
            spec = specs.get((raw, name))
            if spec is None:  # a spec file without a name was named after the file
                spec = specs[(raw, name)] = load_spec(
                    raw, name_hint=f"{where}: raw_spec of job {job_id}", default_name=name
                )
        else:
            lo = start if since is None or math.isnan(start) else max(start, since)
            runtime = (stop - lo) if not (math.isnan(start) or math.isnan(stop)) else walltime
            if not (runtime >= 0 and n_nodes >= 1):
                reason = "no_run_time" if not runtime >= 0 else "no_size"
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            n = int(n_nodes)
            spec = generated.get(n)
            if spec is None:
                spec = generated[n] = swf_job_spec(n)
        out[job_id] = JobRequest(
            spec=spec,
            submit=float(submit),
            job_id=job_id,
            priority=None if math.isnan(priority) else float(priority),
            walltime=None if math.isnan(walltime) else float(walltime) / speedup,
            durations=durations.get(job_id)
            if raw is not None
            else {("run", ALL_NODES, "run"): float(runtime) / speedup},
            ready_delays=ready.get(job_id) if raw is not None else None,
        )
    return out, skipped


def _where(run: Any) -> str:
    path = getattr(run, "path", None)
    return str(path) if path else "<run>"


def replay_workload(run: Any, *, speedup: float = 1.0) -> RequestList:
    """Rebuild the workload of a recorded run, in submit order.

    Parameters
    ----------
    run : Run-like
        A :class:`~benchhub_sim.store.run.Run` (or anything with the ``jobs``, ``tasks``
        and ``nodes`` DataFrames).
    speedup : float
        Observed durations, readiness delays and walltimes are divided by it.

    Returns
    -------
    RequestList
        Same job ids, submit times, priorities and walltimes; specs rebuilt from
        ``raw_spec`` (one :class:`JobSpec` object per distinct text); observed
        ``durations`` and ``ready_delays``. See the module notes for what falls back
        to the spec. Jobs with no ``raw_spec`` and no run time or walltime (or no node
        count) are left out and counted in its ``skipped``.

    Raises
    ------
    SpecError
        When a ``raw_spec`` does not load (named ``run: raw_spec of job N``).
    WorkloadError
        When ``speedup`` is not a positive number.
    """
    requests, skipped = _requests(run, speedup=speedup, since=None, where=_where(run))
    return RequestList(requests.values(), skipped=skipped)


def warm_start_workload(run: Any, t: float, *, speedup: float = 1.0) -> RequestList:
    """The workload of a recorded run from the state it was in at time ``t``.

    Jobs that ended by ``t`` are left out. Jobs running at ``t`` are submitted at ``t``
    bound to the nodes they held (``bind_to``), with what was left of each task and of
    their walltime (so backfilling sees the same expected end). Jobs queued at ``t`` are
    submitted at ``t`` in their queue order (submit time, then id): their wait in the new
    run counts from ``t``. Later jobs keep their submit times. Times stay on the recorded
    run's clock.

    Parameters
    ----------
    run : Run-like
        Needs the event tables too (see :func:`~benchhub_sim.store.fold.as_of`).
    t : float
        Seconds on the recorded run's clock.
    speedup : float
        Divides what is left of the durations and walltimes after ``t``.

    Returns
    -------
    RequestList
        In submit order: the running jobs, then the queued ones, then the later ones.
    """
    from benchhub_sim.store.fold import as_of

    require(WorkloadError, [number("warm start time", t, at_least=0)])
    requests, skipped = _requests(run, speedup=speedup, since=float(t), where=_where(run))
    state = as_of(run, float(t))["jobs"]
    status = dict(zip(state["job_id"].to_numpy(), state["status"].astype(object), strict=True))
    starts = dict(zip(state["job_id"].to_numpy(), state["start_time"].to_numpy(float), strict=True))
    binds = _bindings(run)
    running: list[JobRequest] = []
    queued: list[JobRequest] = []
    later: list[JobRequest] = []
    for job_id, req in requests.items():
        s = status.get(job_id)
        if s is None:
            later.append(req)
        elif s == "queued":
            queued.append(replace(req, submit=float(t)))
        elif s == "running":
            held = binds.get(job_id, {})
            slots = job_slots(req.spec)
            missing = [sl.name for sl in slots if sl.name not in held]
            if missing:
                raise WorkloadError(
                    [
                        f"{_where(run)}: job {job_id} runs at t={t:g} but has no assign event for slot(s) {', '.join(missing)}"
                    ]
                )
            walltime = req.walltime
            if walltime is not None:
                walltime = max(walltime - (t - starts[job_id]) / speedup, 0.0)
            running.append(
                replace(
                    req,
                    submit=float(t),
                    walltime=walltime,
                    bind_to=tuple(held[sl.name] for sl in slots),
                )
            )
    return RequestList(running + queued + later, skipped=skipped)


def _bindings(run: Any) -> dict[int, dict[str, str]]:
    """Node id bound to each slot (node_name) of each job, from the ``assign`` events."""
    ev = run.job_events
    ev = ev[ev["event"].astype(object) == "assign"].sort_values("seq")
    out: dict[int, dict[str, str]] = {}
    for job_id, slot, node_id in zip(
        ev["job_id"].to_numpy(), _plain(ev["node_name"]), ev["node_id"].astype(object), strict=True
    ):
        out.setdefault(int(job_id), {})[str(slot)] = str(node_id)
    return out


#: (time, node_id, down_seconds), as ``simulate(..., faults=...)`` takes them
Fault = tuple[float, str, float]


def recorded_faults(run: Any) -> list[Fault]:
    """The node failures of a recorded run, as injected faults ``(time, node_id, down)``.

    Each ``fail`` node event is paired with the same node's next ``recover`` event:
    ``down`` is the recover time minus the fail time. A failure never recovered in the
    recording (a real run that ended with the node offline) stays down until the
    recording's last event, the latest time in ``node_events`` and ``job_events``. Not
    ``math.inf``: the engine would log the recovery at time ``inf`` and end the run
    there. ``deregister`` events are not failures and are left out.

    Parameters
    ----------
    run : Run-like
        Needs the ``node_events`` DataFrame (and ``job_events`` for the last event time).

    Returns
    -------
    list of (float, str, float)
        In the order of the fail events (by ``seq``, hence by time).

    Examples
    --------
    >>> import pandas as pd, types
    >>> ev = pd.DataFrame({"seq": [3, 5, 8], "time": [2.0, 6.0, 9.0], "node_id": ["a", "a", "b"],
    ...                    "event": ["fail", "recover", "fail"]})
    >>> run = types.SimpleNamespace(node_events=ev, job_events=pd.DataFrame({"time": [12.0]}))
    >>> recorded_faults(run)
    [(2.0, 'a', 4.0), (9.0, 'b', 3.0)]
    """
    ev = run.node_events
    if ev.empty:
        return []
    kind = ev["event"].astype(object)
    ev = ev[(kind == "fail") | (kind == "recover")]
    if ev.empty:
        return []
    if "seq" in ev:
        ev = ev.sort_values("seq", kind="stable")
    times = [run.node_events["time"]]
    job_events = getattr(run, "job_events", None)
    if job_events is not None and len(job_events):
        times.append(job_events["time"])
    ends = [float(t.astype(float).max()) for t in times]
    last = max((e for e in ends if math.isfinite(e)), default=0.0)
    down_since: dict[str, int] = {}
    out: list[list[Any]] = []
    for t, node_id, event in zip(
        ev["time"].to_numpy(float),
        ev["node_id"].astype(object),
        ev["event"].astype(object),
        strict=True,
    ):
        node_id = str(node_id)
        if event == "fail":
            if node_id not in down_since:  # a second fail of a node down already changes nothing
                down_since[node_id] = len(out)
                out.append([float(t), node_id, None])
        elif node_id in down_since:
            i = down_since.pop(node_id)
            out[i][2] = float(t) - out[i][0]
    return [(t, node_id, max(last - t, 0.0) if down is None else down) for t, node_id, down in out]


def faults_since(faults: Sequence[Fault], t: float) -> list[Fault]:
    """The faults that matter from time ``t`` on (a warm start at ``t``).

    Failures at or after ``t`` are kept; one still down at ``t`` (it failed before and
    recovers after ``t``) becomes a failure at ``t`` for what was left of it; the others
    ended by ``t`` and are left out.

    Examples
    --------
    >>> faults_since([(2.0, "a", 3.0), (4.0, "b", 4.0), (7.0, "a", 1.0)], 6.0)
    [(6.0, 'b', 2.0), (7.0, 'a', 1.0)]
    """
    out: list[Fault] = []
    for start, node_id, down in faults:
        if start >= t:
            out.append((start, node_id, down))
        elif start + down > t:
            out.append((t, node_id, start + down - t))
    return out


def replay_cluster(run: Any, *, nodes: int | None = None) -> Cluster:
    """The cluster to replay a run on: its own nodes, or ``nodes`` median nodes.

    Parameters
    ----------
    run : Run-like
        Needs the ``nodes`` DataFrame.
    nodes : int, optional
        Instead of the recorded nodes, this many nodes of role ``any`` with the recorded
        nodes' median cores, memory and disk (speed 1: observed durations are already
        normalised by the recorded speeds).

    Returns
    -------
    Cluster
    """
    from benchhub_sim.cluster import cluster_from_table

    table = run.nodes
    name = str((getattr(run, "meta", None) or {}).get("cluster") or "recorded")
    if nodes is None:
        import pyarrow as pa

        cluster = cluster_from_table(
            pa.Table.from_pandas(table, preserve_index=False), where=f"{_where(run)}/nodes"
        )
        return Cluster(cluster.nodes, name=name, source=_where(run))
    require(WorkloadError, [whole("nodes", nodes)])
    default = Node("x")
    capacity: dict[str, float] = {}
    for key in ("cores", "mem_mb", "disk_mb"):
        known = key in table and bool(table[key].notna().any())
        capacity[key] = float(table[key].astype(float).median()) if known else getattr(default, key)
    cluster = Cluster.uniform(
        nodes, cores=capacity["cores"], mem_mb=capacity["mem_mb"], disk_mb=capacity["disk_mb"]
    )
    return Cluster(cluster.nodes, name=f"{nodes} nodes like {name}")


# -- SWF traces ---------------------------------------------------------------------------


def swf_workload(trace: SwfTrace, *, nodes: int, speedup: float = 1.0) -> tuple[SwfRequests, int]:
    """Job requests of an SWF trace for a cluster of ``nodes`` nodes, durations ÷ ``speedup``.

    See :func:`~benchhub_sim.workload.swf.swf_jobs`; with a speedup, run times and
    requested times are divided by it.

    Returns
    -------
    jobs : SwfRequests
        A sequence of requests, made as they are read.
    skipped : int
        Jobs left out (no run time, no procs, more procs than ``nodes``).
    """
    _check_speedup(speedup)
    jobs, skipped = swf_jobs(trace, nodes=nodes)
    return (jobs if speedup == 1 else jobs.scaled(speedup)), skipped
