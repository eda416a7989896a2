"""Bulk transitions: a whole binding, start or end of a simple job in one call.

Most simulated jobs are *simple*: one pipeline of one foreground stage that runs one
task on each of its nodes (every job of an SWF trace, the jobs of an M/M/c model). The
start of such a job is a fixed sequence of events at one instant (``start``,
``pipeline_start``, a ``stage_start`` per node, a ``task_start`` per node), and so is
its end. Logging them one by one costs a check, a planning step and an apply per event;
the functions here check the whole sequence at once against the snapshot, then return
the rows so the store applies and logs them together.

Each ``*_rows`` function returns exactly the rows the general path
(:meth:`Store.job <benchhub_sim.store.store.Store.job>` once per event) would log, or
None when the sequence is not plainly legal; the store then makes those calls one by
one, which raise with the general path's message. The two paths cannot disagree on what
is legal, and the tests compare them table for table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchhub_sim.store.jobs import (
    J_NNODES,
    J_PIPE,
    J_START,
    J_STATUS,
    J_STOP,
    S_STATUS,
    S_STOP,
    T_EXIT,
    T_STATUS,
    T_STOP,
    JobStore,
    LiveJob,
)
from benchhub_sim.store.nodes import NodeStore


@dataclass(frozen=True)
class SimpleShape:
    """The one stage and the one task of a simple job, as its events name them."""

    pipeline: int
    stage: int
    stage_name: str
    task: int
    task_name: str
    driver: str


#: (node_id, slot name, how the node matched the slot) of one binding
BindingRow = tuple[str, str, str]
#: (node_id, slot name) of one node a simple stage runs on
UnitRow = tuple[str, str]


def bind_rows(
    jobs: JobStore, nodes: NodeStore, time: float, job_id: int, bindings: Sequence[BindingRow]
) -> list[tuple] | None:
    """The ``assign`` events binding ``bindings`` to queued job ``job_id``, or None.

    None when a check fails, or when a node is bound twice (loader packing): the general
    path decides those.
    """
    job = jobs.live.get(job_id)
    if job is None:
        return None
    if jobs.check:
        taken = job.nodes
        slots = set(taken.values())
        if job.row[J_STATUS] != "queued" or len(taken) + len(bindings) > job.row[J_NNODES]:
            return None
        for node_id, slot, _ in bindings:
            if (
                node_id in taken
                or node_id in jobs.owner
                or slot in slots
                or not nodes.is_live(node_id)
            ):
                return None
            slots.add(slot)
    if len({b[0] for b in bindings}) != len(bindings):
        return None
    return [
        (time, job_id, "assign", "queued", None, None, None, node_id, slot, None, None, None,
         None, None, None, match)
        for node_id, slot, match in bindings
    ]  # fmt: skip


def apply_bind(jobs: JobStore, job_id: int, bindings: Sequence[BindingRow]) -> None:
    """Apply what :func:`bind_rows` planned."""
    job = jobs.live[job_id]
    owner = jobs.owner
    for node_id, slot, _ in bindings:
        job.nodes[node_id] = slot
        owner[node_id] = job_id


def start_rows(
    jobs: JobStore, time: float, job_id: int, shape: SimpleShape, units: Sequence[UnitRow],
    log_paths: Sequence[str | None] | None = None,
) -> list[tuple] | None:  # fmt: skip
    """The events starting simple job ``job_id`` on ``units``, or None.

    In order: ``start``, ``pipeline_start``, one ``stage_start`` per unit, then one
    ``task_start`` per unit (attempt 0, ``detail`` its log path), as the dispatcher logs
    them. The job must be queued with all its nodes assigned, and have started nothing.
    """
    job = jobs.live.get(job_id)
    if job is None or not units or job.stages or job.pipelines:
        return None
    if jobs.check:
        if job.row[J_STATUS] != "queued" or len(job.nodes) != job.row[J_NNODES]:
            return None
        slots = job.nodes
        if any(slots.get(node_id) != slot for node_id, slot in units):
            return None
        if len({u[0] for u in units}) != len(units):
            return None
    p, s, name = shape.pipeline, shape.stage, shape.stage_name
    t, tname, driver = shape.task, shape.task_name, shape.driver
    logs = log_paths if log_paths is not None else [None] * len(units)
    return [
        (time, job_id, "start", "running", None, None, None, None, None, None, None, None,
         None, None, None, None),
        (time, job_id, "pipeline_start", "running", p, None, None, None, None, None, None,
         None, None, None, None, None),
        *[(time, job_id, "stage_start", "running", p, s, name, node_id, slot, None, None, None,
           False, None, None, None) for node_id, slot in units],
        *[(time, job_id, "task_start", "running", p, s, name, node_id, slot, t, tname, driver,
           False, 0, None, log) for (node_id, slot), log in zip(units, logs, strict=True)],
    ]  # fmt: skip


def apply_start(
    jobs: JobStore, time: float, job_id: int, shape: SimpleShape, units: Sequence[UnitRow],
    log_paths: Sequence[str | None] | None = None,
) -> None:  # fmt: skip
    """Apply what :func:`start_rows` planned: the same snapshot the single events build."""
    job = jobs.live[job_id]
    row = job.row
    p, s, name, t = shape.pipeline, shape.stage, shape.stage_name, shape.task
    row[J_STATUS], row[J_START], row[J_PIPE] = "running", time, p
    job.pipelines[p] = "running"
    by_node = job.stages[s] = {}
    tasks = job.tasks
    last = job.last_attempt
    logs = log_paths if log_paths is not None else [None] * len(units)
    for (node_id, slot), log in zip(units, logs, strict=True):
        by_node[node_id] = [job_id, p, s, name, node_id, slot, False, "running", time, None, None]
        tasks[(s, node_id)] = {
            (t, 0): [job_id, p, s, name, node_id, slot, t, shape.task_name, shape.driver, 0,
                     None, False, "running", time, None, None, None, log]
        }  # fmt: skip
        last[(s, node_id, t)] = 0
    job.stage_counts[s] = {"running": len(units)}
    job.fg.add(s)
    job.simple = (shape, tuple(units))


def finish_rows(jobs: JobStore, time: float, job_id: int) -> list[tuple] | None:
    """The events ending simple job ``job_id`` whose tasks all succeed now, or None.

    In order: per unit its ``task_finish`` (exit code 0) and ``stage_finish``, then
    ``pipeline_finish`` and ``finish``. The job must have been started by
    :func:`start_rows` and nothing of it may have ended since.
    """
    job = jobs.live.get(job_id)
    if job is None or job.simple is None or not _untouched(job):
        return None
    shape, units = job.simple
    p, s, name = shape.pipeline, shape.stage, shape.stage_name
    t, tname, driver = shape.task, shape.task_name, shape.driver
    rows: list[tuple] = []
    for node_id, slot in units:
        rows.append((time, job_id, "task_finish", "finished", p, s, name, node_id, slot, t,
                     tname, driver, False, 0, 0, None))  # fmt: skip
        rows.append((time, job_id, "stage_finish", "finished", p, s, name, node_id, slot,
                     None, None, None, False, None, None, None))  # fmt: skip
    rows.append((time, job_id, "pipeline_finish", "finished", p, None, None, None, None, None,
                 None, None, None, None, None, None))  # fmt: skip
    rows.append((time, job_id, "finish", "finished", None, None, None, None, None, None, None,
                 None, None, None, None, None))  # fmt: skip
    return rows


def _untouched(job: LiveJob) -> bool:
    """True while a simple job is exactly as :func:`apply_start` left it."""
    shape, units = job.simple  # type: ignore[misc]
    s, t = shape.stage, shape.task
    if job.row[J_STATUS] != "running" or job.pipelines.get(shape.pipeline) != "running":
        return False
    if len(job.pipelines) != 1 or len(job.stages) != 1 or len(job.tasks) != len(units):
        return False
    by_node = job.stages[s]
    for node_id, _ in units:
        by_task = job.tasks.get((s, node_id))
        if by_task is None or len(by_task) != 1 or by_task[(t, 0)][T_STATUS] != "running":
            return False
        if by_node[node_id][S_STATUS] != "running":
            return False
    return True


def apply_finish(jobs: JobStore, time: float, job_id: int) -> None:
    """Apply what :func:`finish_rows` planned, and retire the job."""
    job = jobs.live[job_id]
    shape, units = job.simple  # type: ignore[misc]
    s, t = shape.stage, shape.task
    by_node = job.stages[s]
    for node_id, _ in units:
        trow = job.tasks[(s, node_id)][(t, 0)]
        trow[T_STATUS], trow[T_EXIT], trow[T_STOP] = "finished", 0, time
        srow = by_node[node_id]
        srow[S_STATUS], srow[S_STOP] = "finished", time
    job.stage_counts[s] = {"running": 0, "finished": len(units)}
    job.fg.discard(s)
    job.fin.add(s)
    job.pipelines[shape.pipeline] = "finished"
    job.row[J_STATUS], job.row[J_STOP] = "finished", time
    job.simple = None
    jobs.retire(job)
