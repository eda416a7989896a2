"""Bulk transitions: a whole binding, start or end of a simple job in one call.

Most simulated jobs are *simple*: one pipeline of one foreground stage that runs one
task on each of its nodes (every job of an SWF trace, the jobs of an M/M/c model). The
start of such a job is a fixed sequence of events at one instant (``start``,
``pipeline_start``, a ``stage_start`` per node, a ``task_start`` per node), and so is
its end. Logging them one by one costs a check, a planning step and an apply per event;
here each ``can_*`` function checks the whole sequence at once against the snapshot,
each ``apply_*`` function applies it, and each ``*_template`` function spells out the
rows it logs, as a :class:`~benchhub_sim.store.blocks.Template` the history expands at
flush time.

The rows are exactly those the general path (:meth:`Store.job
<benchhub_sim.store.store.Store.job>` once per event) logs. When a ``can_*`` function
says no, the store makes those calls one by one, which raise with the general path's
message: the two paths cannot disagree on what is legal, and the tests compare them
table for table.

The bulk calls run when the store was made with ``bulk=True`` (the default) and the
``can_*`` check says yes; ``Store(bulk=False)`` makes every one of them the single-event
calls (tests/engine/test_one_step.py and tests/store/test_blocks.py compare both).

Rows are keyed by slot, as in :mod:`benchhub_sim.store.jobs`, so a job whose loader
slots share a node (loader packing) binds, starts and ends in bulk too: a unit is a
slot, and several units may name one node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from benchhub_sim.store.blocks import UNIT_DETAIL, Template
from benchhub_sim.store.jobs import (
    J_NNODES,
    J_PIPE,
    J_START,
    J_STATUS,
    J_STOP,
    J_UPDATE,
    S_STATUS,
    S_STOP,
    T_EXIT,
    T_STATUS,
    T_STOP,
    JobStore,
    LiveJob,
    set_pipeline,
)
from benchhub_sim.store.nodes import NodeStore
from benchhub_sim.store.schema import ASSIGNMENTS_SCHEMA


@dataclass(frozen=True)
class SimpleShape:
    """The one stage and the one task of a simple job, as its events name them.

    ``command`` is the task's rendered command: a simple job's command does not depend
    on the nodes it runs on, so it is one text for every job of its spec.
    """

    pipeline: int
    stage: int
    stage_name: str
    task: int
    task_name: str
    driver: str
    command: str | None = None


#: (node_id, slot name, role the slot asks for, how the node matched it) of one binding
BindingRow = tuple[str, str, str | None, str]
#: (node_id, slot name) of one slot a simple stage runs on
UnitRow = tuple[str, str]


def can_bind(jobs: JobStore, nodes: NodeStore, job_id: int, bindings: Sequence[BindingRow]) -> bool:
    """True when binding ``bindings`` to queued job ``job_id`` is plainly legal.

    A node may take several slots of the job (loader packing). False when a check fails:
    the general path then raises with its message.
    """
    job = jobs.live.get(job_id)
    if job is None:
        return False
    if jobs.check:
        slots = set(job.slots)
        if job.row[J_STATUS] != "queued" or len(slots) + len(bindings) > job.row[J_NNODES]:
            return False
        owner = jobs.owner
        for node_id, slot, _, _ in bindings:
            held = owner.get(node_id)
            if (held is not None and held != job_id) or slot in slots or not nodes.is_live(node_id):
                return False
            slots.add(slot)
    return len({slot for _, slot, _, _ in bindings}) == len(bindings)


def assign_template(slots: Sequence[str], roles: Sequence[str | None]) -> Template:
    """One ``assign`` per binding (detail: how the node matched the slot; role: the one
    the slot asks for)."""
    return Template(tuple(
        ("job", u, ("assign", "queued", None, None, None, None, slot, None, None, None, None,
                    None, None, UNIT_DETAIL, role, None, None))
        for u, (slot, role) in enumerate(zip(slots, roles, strict=True))
    ))  # fmt: skip


#: one node state step: (state, job state, whether the event names the job)
Step = tuple[str, str | None, bool]


def states_template(width: int, steps: Sequence[Step]) -> Template:
    """Node after node, one ``state`` event per step."""
    return Template(tuple(
        ("node", u, (None, "state", state, job_state, True if with_job else None, None))
        for u in range(width)
        for state, job_state, with_job in steps
    ))  # fmt: skip


def apply_bind(
    jobs: JobStore, nodes: NodeStore, time: float, job_id: int, bindings: Sequence[BindingRow]
) -> None:
    """Apply a binding :func:`can_bind` allowed: the job's slots, and the assignments as
    the node store and the job store keep them."""
    job = jobs.live[job_id]
    job.row[J_UPDATE] = time
    owner = jobs.owner
    on = job.slots_on
    assigned = jobs.assigned
    for node_id, slot, role, match in bindings:
        assigned.append((job_id, len(job.slots), slot, role, node_id, match, time))
        nodes.assign(node_id, job_id, slot, role)
        job.slots[slot] = node_id
        names = on.get(node_id)
        if names is None:
            on[node_id] = [slot]
        else:
            names.append(slot)
        owner[node_id] = job_id


def assignments_batch(
    job_id: np.ndarray, time: np.ndarray, width: np.ndarray, slots: pa.Array, roles: pa.Array,
    nodes: pa.Array, match: pa.Array,
) -> pa.RecordBatch:  # fmt: skip
    """``assignments`` rows of jobs bound in bulk: job ``i`` bound its ``width[i]`` slots
    at ``time[i]``; ``slots``, ``roles`` (the role each asks for), ``nodes`` and ``match``
    (how each node matched) give them, job after job."""
    width = np.asarray(width, np.int64)
    first = np.repeat(np.cumsum(width) - width, width)
    columns = {
        "job_id": pa.array(np.repeat(np.asarray(job_id, np.int64), width), pa.int64()),
        "position": pa.array(np.arange(len(first)) - first, pa.int32()),
        "node_name": slots,
        "role": roles,
        "node_id": nodes,
        "match": match,
        "time": pa.array(np.repeat(np.asarray(time, np.float64), width), pa.float64()),
    }
    return pa.RecordBatch.from_arrays(
        [columns[f.name].cast(f.type) for f in ASSIGNMENTS_SCHEMA], schema=ASSIGNMENTS_SCHEMA
    )


def can_start(jobs: JobStore, job_id: int, units: Sequence[UnitRow]) -> bool:
    """True when starting simple job ``job_id`` on ``units`` is plainly legal: the job is
    queued with all its slots assigned, has started nothing, and each unit is one of its
    slots, on the node it is bound to."""
    job = jobs.live.get(job_id)
    if job is None or not units or job.srows or job.pipelines:
        return False
    slots = job.slots
    if jobs.check:
        if job.row[J_STATUS] != "queued" or len(slots) != job.row[J_NNODES]:
            return False
        if any(slots.get(slot) != node_id for node_id, slot in units):
            return False
    elif any(slot not in slots for _, slot in units):
        return False
    return len({slot for _, slot in units}) == len(units)


def start_template(shape: SimpleShape, slots: Sequence[str]) -> Template:
    """``start``, ``pipeline_start``, a ``stage_start`` per unit, then a ``task_start``
    per unit (attempt 0, detail its log path), as the dispatcher logs them."""
    p, s, name = shape.pipeline, shape.stage, shape.stage_name
    t, tname, driver, command = shape.task, shape.task_name, shape.driver, shape.command
    none = (None, None, None)  # role, task pipeline, command
    return Template((
        ("job", -1, ("start", "running", None, None, None, None, None, None, None, None, None,
                     None, None, None, *none)),
        ("job", -1, ("pipeline_start", "running", p, None, None, None, None, None, None, None,
                     None, None, None, None, *none)),
        *[("job", u, ("stage_start", "running", p, s, name, None, slot, None, None, None,
                      False, None, None, None, *none)) for u, slot in enumerate(slots)],
        *[("job", u, ("task_start", "running", p, s, name, None, slot, t, tname, driver,
                      False, 0, None, UNIT_DETAIL, None, 0, command))
          for u, slot in enumerate(slots)],
    ))  # fmt: skip


def apply_start(
    jobs: JobStore, time: float, job_id: int, shape: SimpleShape, units: Sequence[UnitRow],
    log_paths: Sequence[str | None] | None = None,
) -> None:  # fmt: skip
    """Apply a start :func:`can_start` allowed: the snapshot the single events build, its
    stage and task rows left to :meth:`~benchhub_sim.store.jobs.LiveJob.build`."""
    job = jobs.live[job_id]
    row = job.row
    row[J_STATUS], row[J_START], row[J_PIPE], row[J_UPDATE] = "running", time, shape.pipeline, time
    set_pipeline(job, shape.pipeline, "running", time)
    job.stage_counts[shape.stage] = {"running": len(units)}
    job.fg.add(shape.stage)
    units = tuple(units)
    job.simple = (shape, units)
    # the stage and task rows are built only if something needs them (LiveJob.build)
    job.lazy = (shape, units, time, None if log_paths is None else tuple(log_paths))


def can_finish(jobs: JobStore, job_id: int) -> bool:
    """True when simple job ``job_id`` can end now with all its tasks succeeding: it was
    started by :func:`apply_start` and nothing of it ended since."""
    job = jobs.live.get(job_id)
    return job is not None and job.simple is not None and _untouched(job)


def finish_template(shape: SimpleShape, slots: Sequence[str]) -> Template:
    """Per unit its ``task_finish`` (exit code 0) and ``stage_finish``, then
    ``pipeline_finish`` and ``finish``."""
    p, s, name = shape.pipeline, shape.stage, shape.stage_name
    t, tname, driver = shape.task, shape.task_name, shape.driver
    none = (None, None, None)  # role, task pipeline, command
    per_unit = [
        row
        for u, slot in enumerate(slots)
        for row in (
            ("job", u, ("task_finish", "finished", p, s, name, None, slot, t, tname, driver,
                        False, 0, 0, None, None, 0, None)),
            ("job", u, ("stage_finish", "finished", p, s, name, None, slot, None, None, None,
                        False, None, None, None, *none)),
        )
    ]  # fmt: skip
    return Template((
        *per_unit,
        ("job", -1, ("pipeline_finish", "finished", p, None, None, None, None, None, None,
                     None, None, None, None, None, *none)),
        ("job", -1, ("finish", "finished", None, None, None, None, None, None, None, None,
                     None, None, None, None, *none)),
    ))  # fmt: skip


def _untouched(job: LiveJob) -> bool:
    """True while a simple job is exactly as :func:`apply_start` left it."""
    shape, units = job.simple  # type: ignore[misc]
    s, t = shape.stage, shape.task
    if job.row[J_STATUS] != "running" or job.pipelines.get(shape.pipeline) != "running":
        return False
    if len(job.pipelines) != 1:
        return False
    if job.lazy is not None:
        return True  # its rows were never built, so nothing of its stage ended
    if len(job.srows) != 1 or len(job.trows) != len(units):
        return False
    by_slot = job.srows[s]
    for _, slot in units:
        by_task = job.trows.get((s, slot))
        if by_task is None or len(by_task) != 1 or by_task[(t, 0)][T_STATUS] != "running":
            return False
        if by_slot[slot][S_STATUS] != "running":
            return False
    return True


def apply_finish(jobs: JobStore, time: float, job_id: int) -> None:
    """Apply an end :func:`can_finish` allowed, and retire the job."""
    job = jobs.live[job_id]
    shape, units = job.simple  # type: ignore[misc]
    s, t = shape.stage, shape.task
    if job.lazy is None:  # built since it started (a query read them): finish them
        by_slot = job.srows[s]
        for _, slot in units:
            trow = job.trows[(s, slot)][(t, 0)]
            trow[T_STATUS], trow[T_EXIT], trow[T_STOP] = "finished", 0, time
            srow = by_slot[slot]
            srow[S_STATUS], srow[S_STOP] = "finished", time
    job.stage_counts[s] = {"running": 0, "finished": len(units)}
    job.fg.discard(s)
    job.fin.add(s)
    set_pipeline(job, shape.pipeline, "finished", time)
    job.row[J_STATUS], job.row[J_STOP], job.row[J_UPDATE] = "finished", time, time
    job.simple = None
    jobs.retire(job)
