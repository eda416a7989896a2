"""The job store: live state of every job, its stages per slot and its task attempts.

A job event is first *planned* (:meth:`JobStore.plan`: checked against the snapshot,
missing ids and names filled in from it, and expanded with the events that ending a
stage or a job implies), then each planned event is *applied*. Nothing is applied when
planning raises, so an illegal transition leaves no trace.

Rules kept here (DESIGN.md, "Execution semantics"):

- a stage index is in ``foreground_stages`` while one of its node rows is ``running``,
  else in ``background_stages`` while one is ``background``, else in
  ``finished_stages`` when all rows are ``finished`` or ``stopped`` (an aborted stage
  is in none of the three);
- ``task_retry`` carries the *new* attempt number (failed attempt + 1) and queues it;
- ``task_start``'s ``detail`` is the task's log path (``tasks.log_path``); the
  ``detail`` of ``task_fail`` / ``task_stop`` is the task's ``reason``;
- a stage stop/abort first stops its live tasks; ``finish`` stops whatever still runs in
  the background and finishes the pipelines left in the background; ``abort`` stops live
  tasks, aborts running stage rows, stops background ones and aborts the running and
  background pipelines. Each of those is an explicit event, written before the ending
  event;
- a job's stage pipelines (``stage_pipelines``) are all listed from its submission when
  its number of pipelines is known (``n_pipelines``), queued until they start; its task
  pipelines (``task_pipelines``) are listed per stage row from the stage's start, one
  per task pipeline of the stage (``n_task_pipelines``), or as their tasks start when
  that is not known. A task pipeline's row is a view of its task rows: its status
  follows the last attempt of each of its tasks (:func:`task_pipeline_status`), built
  when a table is asked for or the job ends, not at every event;
- every binding is a row of ``assignments`` as it is made (a binding never changes).

Rows are keyed by *slot* (``node_name``, unique within a job), with ``node_id`` as a
column: a stage has one row per slot it runs on, a task attempt one row per slot.
Without loader packing a job holds one slot per node, so that is one row per node. With
it (``max_loader_pack`` > 1) a node may hold several slots of one job, never slots of two
jobs:

- ``assign`` refuses a slot name already bound, a node held by another job, a node that
  is not live, and more slots than the job's ``n_nodes`` (which counts slots); a second
  slot of the same job on the same node is legal;
- stage and task events name their slot with ``node_name``; one that gives only
  ``node_id`` gets the node's slot filled in when the job holds exactly one slot there,
  and is refused when it holds several (the caller must say which). One that gives only
  ``node_name`` gets the slot's ``node_id``.

When a job ends, its rows move out of the live dicts into completed-row buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from benchhub_sim.errors import StoreError
from benchhub_sim.store.nodes import NodeStore
from benchhub_sim.store.packed import PackedTable
from benchhub_sim.store.rows import (
    SORT_KEYS,
    RowBuffer,
    SimpleRows,
    UnionRows,
    columns,
    sort_canonical,
)
from benchhub_sim.store.schema import (
    ASSIGNMENTS_SCHEMA,
    JOB_EVENTS_SCHEMA,
    JOBS_SCHEMA,
    STAGE_PIPELINES_SCHEMA,
    STAGES_SCHEMA,
    TASK_PIPELINES_SCHEMA,
    TASKS_SCHEMA,
)
from benchhub_sim.store.schema import TABLES as ALL_TABLES


class JobEvent(NamedTuple):
    """A planned job event: ``job_events``' columns after ``seq``, which are
    :meth:`History.job <benchhub_sim.store.history.History.job>`'s arguments.

    What :meth:`JobStore.plan` returns. The store's hot path (:meth:`Store.job
    <benchhub_sim.store.store.Store.job>` and the fast planner) passes the same fields
    as a plain tuple: making a NamedTuple takes about twice as long, once per event."""

    time: float
    job_id: int
    event: str
    status: str | None
    pipeline: int | None = None
    stage: int | None = None
    stage_name: str | None = None
    node_id: str | None = None
    node_name: str | None = None
    task: int | None = None
    task_name: str | None = None
    driver: str | None = None
    background: bool | None = None
    attempt: int | None = None
    exit_code: int | None = None
    detail: str | None = None
    role: str | None = None
    task_pipeline: int | None = None
    command: str | None = None


# positions in the live row lists, by column name (see rows.columns)
J = columns(JOBS_SCHEMA)
S = columns(STAGES_SCHEMA)
T = columns(TASKS_SCHEMA)
P = columns(STAGE_PIPELINES_SCHEMA)
#: job event tuples (JobEvent): job_events' columns after ``seq``
E = columns(JOB_EVENTS_SCHEMA, skip=1)
# the positions hot paths read, as module constants (a global is read faster than an
# attribute of J, S, T, P, E)
J_ID, J_STATUS, J_START, J_STOP = J.job_id, J.status, J.start_time, J.stop_time
J_NNODES, J_PIPE, J_REASON, J_UPDATE = J.n_nodes, J.current_pipeline, J.reason, J.update_time
J_NPIPE, J_NTP = J.n_pipelines, J.n_task_pipelines
J_FG, J_BG, J_FIN = J.foreground_stages, J.background_stages, J.finished_stages
S_PIPE, S_STAGE, S_SNAME, S_NODE = S.pipeline, S.stage, S.stage_name, S.node_id
S_NNAME, S_BG, S_STATUS = S.node_name, S.background, S.status
S_START, S_READY, S_STOP = S.start_time, S.ready_time, S.stop_time
T_PIPE, T_STAGE, T_SNAME, T_NODE = T.pipeline, T.stage, T.stage_name, T.node_id
T_NNAME, T_TASK, T_TNAME, T_DRIVER = T.node_name, T.task, T.task_name, T.driver
T_ATTEMPT, T_EXIT, T_BG, T_STATUS = T.attempt, T.exit_code, T.background, T.status
T_START, T_READY, T_STOP, T_REASON = T.start_time, T.ready_time, T.stop_time, T.reason
T_LOG, T_TP, T_CMD = T.log_path, T.task_pipeline, T.command
P_STATUS, P_START, P_READY, P_STOP = P.status, P.start_time, P.ready_time, P.stop_time
E_JOB, E_EVENT, E_STATUS, E_PIPE = E.job_id, E.event, E.status, E.pipeline
E_STAGE, E_SNAME, E_NODE, E_NNAME = E.stage, E.stage_name, E.node_id, E.node_name
E_BG, E_DETAIL, E_ROLE, E_TP, E_CMD = E.background, E.detail, E.role, E.task_pipeline, E.command
#: the job store's tables, in the order a run directory lists them
_NAMES = ("jobs", "assignments", "stage_pipelines", "stages", "task_pipelines", "tasks")
TABLES = {name: ALL_TABLES[name] for name in _NAMES}

#: allowed new status of each event (the first is the default when status is None)
EXPECTED: dict[str, tuple[str, ...]] = {
    "submit": ("queued",),
    "assign": ("queued",),
    "start": ("running",),
    "pipeline_start": ("running",),
    "pipeline_finish": ("finished", "background"),
    "pipeline_abort": ("aborted",),
    "stage_start": ("running",),
    "stage_ready": ("background",),
    "stage_finish": ("finished",),
    "stage_stop": ("stopped",),
    "stage_abort": ("aborted",),
    "task_start": ("running",),
    "task_ready": ("background",),
    "task_finish": ("finished",),
    "task_fail": ("failed",),
    "task_retry": ("queued",),
    "task_stop": ("stopped",),
    "finish": ("finished",),
    "abort": ("aborted",),
}
_LIVE_TASK = frozenset({"queued", "running", "background"})
_TASK_EVENTS = frozenset(e for e in EXPECTED if e.startswith("task_"))
_STAGE_EVENTS = frozenset(e for e in EXPECTED if e.startswith("stage_"))
_LIVE_STAGE = frozenset({"running", "background"})
_FINAL_CODE = {"finished": 1, "aborted": 2}
_FINAL_NAME = {1: "finished", 2: "aborted"}
_DENSE_IDS = 1 << 27
#: ended jobs between two hand-overs of their rows to a run directory (JobStore's
#: ``spill``): about ten rows a job, a few megabytes packed
SPILL_JOBS = 131_072


class LiveJob:
    """One job that has not ended: its jobs row and the rows of its stages and tasks.

    Stage and task rows are keyed by slot name (``node_name``); see the module docstring.
    """

    __slots__ = ("row", "slots", "slots_on", "srows", "trows", "attempts", "pipelines", "prows",
                 "fg", "bg", "fin", "stage_counts", "simple", "lazy")  # fmt: skip

    def __init__(self, row: list) -> None:
        self.row = row
        self.slots: dict[str, str] = {}  # slot name -> node_id, in assign order
        self.slots_on: dict[str, list[str]] = {}  # node_id -> its slot names, in assign order
        self.srows: dict[int, dict[str, list]] = {}  # stage -> slot -> stages row
        #: (stage, slot) -> (task, attempt) -> tasks row
        self.trows: dict[tuple[int, str], dict[tuple[int, int], list]] = {}
        self.attempts: dict[tuple[int, str, int], int] = {}  # (stage, slot, task) -> last
        self.pipelines: dict[int, str] = {}  # pipeline -> status, once it started
        #: pipeline -> stage_pipelines row (every pipeline, when n_pipelines is known)
        self.prows: dict[int, list] = {}
        n = row[J_NPIPE]
        if n is not None:
            for p in range(n):
                self.prows[p] = [row[J_ID], p, "queued", None, None, None]
        self.fg: set[int] = set()
        self.bg: set[int] = set()
        self.fin: set[int] = set()
        #: stage -> status -> number of its slot rows in that status (kept by JobStore)
        self.stage_counts: dict[int, dict[str, int]] = {}
        #: (shape, units) of a job started in bulk (see :mod:`benchhub_sim.store.simple`)
        self.simple: tuple | None = None
        #: (shape, units, start, log paths) of a job started in bulk whose stage and task
        #: rows are not built yet (see :meth:`build`)
        self.lazy: tuple | None = None

    @property
    def status(self) -> str:
        return self.row[J_STATUS]

    def job_row(self) -> tuple:
        row = list(self.row)
        row[J_FG], row[J_BG], row[J_FIN] = sorted(self.fg), sorted(self.bg), sorted(self.fin)
        return tuple(row)

    def build(self) -> None:
        """Build the stage and task rows of a simple job started in bulk.

        A simple job (:mod:`benchhub_sim.store.simple`) that starts and ends in bulk never
        needs them as Python lists: its rows are kept as ``lazy`` and written compactly
        when it ends. Anything else that reads or changes them (a general event, a
        table of the live state) builds them first: the rows the single events build.
        """
        lazy, self.lazy = self.lazy, None
        if lazy is None:
            return
        shape, units, start, logs = lazy
        job_id = self.row[J_ID]
        p, s, name, t = shape.pipeline, shape.stage, shape.stage_name, shape.task
        by_slot = self.srows[s] = {}
        for (node_id, slot), log in zip(units, logs or [None] * len(units), strict=True):
            by_slot[slot] = new_stage_row(
                job_id, p, s, name, node_id, slot, False, "running", start
            )
            trow = new_task_row(job_id, p, s, name, node_id, slot, t, shape.task_name,
                                shape.driver, 0, False, "running", 0)  # fmt: skip
            trow[T_START], trow[T_LOG], trow[T_CMD] = start, log, shape.command
            self.trows[(s, slot)] = {(t, 0): trow}
            self.attempts[(s, slot, t)] = 0

    def stage_rows(self):
        self.build()
        for by_slot in self.srows.values():
            yield from by_slot.values()

    def task_rows(self):
        self.build()
        for by_task in self.trows.values():
            yield from by_task.values()

    def task_pipeline_rows(self) -> list[tuple]:
        """Rows of ``task_pipelines``: per stage row, one per task pipeline of the stage when
        their number is known (queued until a task of it starts), and one per task
        pipeline its tasks named (:func:`task_pipeline_status` of their last attempts)."""
        self.build()
        job_id, counts, attempts = self.row[J_ID], self.row[J_NTP], self.attempts
        groups: dict[tuple[int, str, int], list[list]] = {}
        for (stage, slot), by_task in self.trows.items():
            for trow in by_task.values():
                tp = trow[T_TP]
                if tp is not None:
                    group = groups.get((stage, slot, tp))
                    if group is None:
                        groups[(stage, slot, tp)] = [trow]
                    else:
                        group.append(trow)
        out: list[tuple] = []
        if counts is not None:
            for stage, by_slot in self.srows.items():
                if 0 <= stage < len(counts):
                    for slot, srow in by_slot.items():
                        for k in range(counts[stage]):
                            if (stage, slot, k) not in groups:
                                out.append(
                                    (job_id, stage, srow[S_NODE], slot, k, "queued", None, None)
                                )
        for (stage, slot, tp), rows in groups.items():
            if len(rows) == 1:  # one task, one attempt (its last): the usual task pipeline
                row = rows[0]
                status = task_pipeline_status(((row[T_STATUS], row[T_READY]),))
                start, stop = row[T_START], row[T_STOP]
            else:
                last = [
                    (r[T_STATUS], r[T_READY])
                    for r in rows
                    if attempts[(stage, slot, r[T_TASK])] == r[T_ATTEMPT]
                ]
                status = task_pipeline_status(last)
                start = min((r[T_START] for r in rows if r[T_START] is not None), default=None)
                stop = max((r[T_STOP] for r in rows if r[T_STOP] is not None), default=None)
            if status != "finished" and status != "aborted":
                stop = None
            out.append((job_id, stage, rows[0][T_NODE], slot, tp, status, start, stop))
        return out

    def pipeline_rows(self) -> list[list]:
        return [self.prows[p] for p in sorted(self.prows)]

    # -- read-only views by node id (one slot per node: no packing) ---------------------

    def _node_key(self) -> dict[str, str]:
        """slot -> node_id, refusing a job that holds several slots on one node."""
        self.build()
        for node_id, names in self.slots_on.items():
            if len(names) > 1:
                raise StoreError(
                    f"job {self.row[J_ID]}: node {node_id} holds several slots of the job "
                    f"({', '.join(map(repr, names))}): read its rows by slot (srows, trows)"
                )
        return self.slots

    @property
    def nodes(self) -> dict[str, str]:
        """node_id -> slot name (a node's first slot; :attr:`slots_on` lists them all)."""
        return {node_id: names[0] for node_id, names in self.slots_on.items()}

    @property
    def stages(self) -> dict[int, dict[str, list]]:
        """stage -> node_id -> stages row; :class:`StoreError` when a node holds two slots."""
        key = self._node_key()
        return {s: {key[slot]: r for slot, r in rows.items()} for s, rows in self.srows.items()}

    @property
    def tasks(self) -> dict[tuple[int, str], dict[tuple[int, int], list]]:
        """(stage, node_id) -> (task, attempt) -> tasks row; like :attr:`stages`."""
        key = self._node_key()
        return {(s, key[slot]): rows for (s, slot), rows in self.trows.items()}

    @property
    def last_attempt(self) -> dict[tuple[int, str, int], int]:
        """(stage, node_id, task) -> last attempt; like :attr:`stages`."""
        key = self._node_key()
        return {(s, key[slot], t): a for (s, slot, t), a in self.attempts.items()}


def new_stage_row(
    job_id: int, pipeline: int | None, stage: int, stage_name: str | None, node_id: str,
    slot: str, background: bool | None, status: str, start: float,
) -> list:  # fmt: skip
    """A stages row as ``stage_start`` creates it (ready and stop times empty)."""
    return [job_id, pipeline, stage, stage_name, node_id, slot, background, status, start,
            None, None]  # fmt: skip


def new_task_row(
    job_id: int, pipeline: int | None, stage: int, stage_name: str | None, node_id: str,
    slot: str, task: int, task_name: str | None, driver: str | None, attempt: int,
    background: bool | None, status: str, task_pipeline: int | None = None,
) -> list:  # fmt: skip
    """A tasks row as the first event of an attempt creates it (no times, exit code,
    reason, log or command yet)."""
    return [job_id, pipeline, stage, stage_name, node_id, slot, task, task_name, driver,
            attempt, None, background, status, None, None, None, None, None, task_pipeline,
            None]  # fmt: skip


def set_pipeline(job: LiveJob, pipeline: int, status: str, time: float) -> None:
    """Pipeline ``pipeline`` of ``job`` goes to ``status`` at ``time`` (its row's times:
    started when running, ready when in the background, stopped when it ended)."""
    job.pipelines[pipeline] = status
    row = job.prows.get(pipeline)
    if row is None:
        row = job.prows[pipeline] = [job.row[J_ID], pipeline, "queued", None, None, None]
    row[P_STATUS] = status
    if status == "running":
        row[P_START] = time
    elif status == "background":
        row[P_READY] = time
    else:
        row[P_STOP] = time


def task_pipeline_status(last: Sequence[tuple[str, float | None]]) -> str:
    """Status of a task pipeline on one slot, from the (status, ready time) of the last
    attempt of each of its tasks that started.

    ``queued`` before any starts; ``running`` while one is queued (a retry) or running;
    ``aborted`` once one failed or was stopped before it was done (a foreground task,
    or a background task stopped before it was ready); else ``background`` while a
    background task runs on, else ``finished``.
    """
    if not last:
        return "queued"
    # one task: its status alone (no set to build, once per task pipeline of every job)
    statuses = (last[0][0],) if len(last) == 1 else {s for s, _ in last}
    if "running" in statuses or "queued" in statuses:
        return "running"
    if "failed" in statuses or "aborted" in statuses:
        return "aborted"
    if "stopped" in statuses and any(s == "stopped" and ready is None for s, ready in last):
        return "aborted"
    if "background" in statuses:
        return "background"
    return "finished"


def _stage_who(
    job_id: int, stage: object, stage_name: object, node_id: object, slot: object = None
) -> str:
    name = f" ({stage_name})" if stage_name is not None else ""
    where = f" slot {slot}" if slot is not None else ""
    return f"stage job {job_id} stage {stage}{name} node {node_id}{where}"


def _packed_slot(job: LiveJob, node_id: str, slot: str) -> str | None:
    """``slot`` when its node holds several slots of the job (messages name it), else None."""
    names = job.slots_on.get(node_id)
    return slot if names is not None and len(names) > 1 else None


class JobStore:
    """Live snapshot of the jobs, plus buffers of the rows of ended jobs.

    Parameters
    ----------
    check : bool
        Check every transition (raise :class:`StoreError` on an illegal one). Without
        checks an illegal transition may corrupt the snapshot.
    spill : callable, optional
        ``spill(name, rows)``: takes the buffered rows of ended jobs of each table of
        :data:`TABLES` (and the assignments made so far) each time ``spill_jobs`` more
        jobs ended, e.g. :meth:`RunWriter.spill
        <benchhub_sim.store.run.RunWriter.spill>`, so that memory does not grow with
        the run. The store's tables then hold only the rows not handed over.
    spill_jobs : int, optional
        Ended jobs between two hand-overs to ``spill`` (default :data:`SPILL_JOBS`).
    """

    def __init__(
        self,
        check: bool = True,
        spill: Callable[[str, PackedTable | UnionRows], None] | None = None,
        spill_jobs: int | None = None,
    ) -> None:
        self.check = check
        self.spill = spill
        self.spill_jobs = SPILL_JOBS if spill_jobs is None else spill_jobs
        self._unspilled = 0  # jobs ended since the last hand-over
        self.n_spilled = 0  # jobs whose rows were handed over
        self.live: dict[int, LiveJob] = {}
        self.owner: dict[str, int] = {}  # node_id -> live job holding it
        self._final = bytearray()
        self._final_sparse: dict[int, int] = {}
        self.n_ended = {"finished": 0, "aborted": 0}
        self.done_jobs = RowBuffer(JOBS_SCHEMA)
        self.done_stage_pipelines = RowBuffer(STAGE_PIPELINES_SCHEMA)
        self.done_stages = RowBuffer(STAGES_SCHEMA)
        self.done_task_pipelines = RowBuffer(TASK_PIPELINES_SCHEMA)
        self.done_tasks = RowBuffer(TASKS_SCHEMA)
        #: every binding made, live job or not (a binding never changes)
        self.assigned = RowBuffer(ASSIGNMENTS_SCHEMA)
        self.done_simple = SimpleRows()  # stage and task rows of simple jobs ended in bulk

    def __len__(self) -> int:
        return len(self.live) + self.n_ended["finished"] + self.n_ended["aborted"]

    # -- ended jobs ---------------------------------------------------------------------

    def final_status(self, job_id: int) -> str | None:
        """``finished`` / ``aborted`` for an ended job, None otherwise."""
        if 0 <= job_id < len(self._final):
            return _FINAL_NAME.get(self._final[job_id])
        return _FINAL_NAME.get(self._final_sparse.get(job_id, 0))

    def status(self, job_id: int) -> str | None:
        """Current status of ``job_id`` (None when never submitted)."""
        job = self.live.get(job_id)
        return job.row[J_STATUS] if job is not None else self.final_status(job_id)

    def _set_final(self, job_id: int, status: str) -> None:
        code = _FINAL_CODE[status]
        if 0 <= job_id < _DENSE_IDS:
            self._grow_final(job_id + 1)
            self._final[job_id] = code
        else:
            self._final_sparse[job_id] = code

    def _grow_final(self, need: int) -> None:
        """Make room for the final status of dense ids below ``need`` (doubling)."""
        if need > len(self._final):
            self._final.extend(bytes(max(need - len(self._final), len(self._final))))

    def end_simple(
        self, jobs: pa.RecordBatch, shapes: Sequence[Any], start: np.ndarray,
        slots: pa.Array, nodes: pa.Array, assigned: pa.RecordBatch,
    ) -> None:  # fmt: skip
        """Record many simple jobs that ran and finished outside the live snapshot (the
        engine's batch mode): their ``jobs`` and ``assignments`` rows, and their
        pipeline, stage and task rows kept compact like those of
        :func:`~benchhub_sim.store.simple.apply_finish`. Job ``i`` (row ``i`` of
        ``jobs``) ran a stage of ``shapes[i]`` from ``start[i]``, one unit per slot;
        ``slots`` and ``nodes`` give the units, job after job."""
        job_id = np.asarray(jobs.column("job_id"), dtype=np.int64)
        stop = np.asarray(jobs.column("stop_time"), dtype=np.float64)
        units = np.asarray(jobs.column("n_nodes"), dtype=np.int64)
        self.done_jobs.add_batch(jobs)
        self.assigned.add_batch(assigned)
        self.done_simple.extend(shapes, job_id, start, stop, units, nodes, slots)
        code = _FINAL_CODE["finished"]
        dense = (job_id >= 0) & (job_id < _DENSE_IDS)
        if dense.any():
            self._grow_final(int(job_id[dense].max()) + 1)
            view = np.frombuffer(self._final, dtype=np.uint8)
            view[job_id[dense]] = code
            del view  # the bytearray cannot grow while a view exists
        for j in job_id[~dense].tolist():
            self._final_sparse[j] = code
        self.n_ended["finished"] += len(job_id)
        self._count_ended(len(job_id))

    def _count_ended(self, n: int) -> None:
        """Count ``n`` more ended jobs; hand the ended rows to ``spill`` when it is time."""
        self._unspilled += n
        if self.spill is not None and self._unspilled >= self.spill_jobs:
            for name in TABLES:
                self.spill(name, self._release(name, []))
            self.n_spilled += self._unspilled
            self._unspilled = 0

    # -- submit -------------------------------------------------------------------------

    def check_submit(self, job_id: int) -> None:
        if job_id in self.live or self.final_status(job_id) is not None:
            raise StoreError(f"job {job_id}: submitted twice (status is {self.status(job_id)})")

    def submit(self, time: float, job_id: int, name: str, n_nodes: int, walltime: float,
               priority: float, raw_spec: str | None, spec_hash: str | None = None,
               n_pipelines: int | None = None,
               n_task_pipelines: Sequence[int] | None = None) -> None:  # fmt: skip
        row = [job_id, name, time, None, None, "queued", n_nodes, walltime, priority,
               None, None, None, None, None, raw_spec, spec_hash, time, time, n_pipelines,
               None if n_task_pipelines is None else list(n_task_pipelines)]  # fmt: skip
        self.live[job_id] = LiveJob(row)

    # -- planning -----------------------------------------------------------------------

    def plan(self, ev: list, nodes: NodeStore) -> list[JobEvent]:
        """Check job event ``ev`` (History.job argument order, as a list) and expand it.

        Returns the events to apply, in order, with ids and names filled in.
        """
        time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name = ev[:9]
        detail = ev[E_DETAIL]
        chk = self.check
        allowed = EXPECTED.get(event)
        if allowed is None or event == "submit":
            raise StoreError(f"job {job_id}: unknown job event {event!r} (submit: Store.add_job)")
        if status is None:
            ev[E_STATUS] = status = allowed[0]
        elif chk and status not in allowed:
            raise StoreError(
                f"job {job_id}: event {event} sets status {' or '.join(allowed)}, got {status!r}"
            )
        job = self.live.get(job_id)
        if job is None:
            final = self.final_status(job_id)
            what = f"status is {final}" if final else "no such job (never submitted)"
            raise StoreError(f"job {job_id}: cannot {event.replace('_', ' ')}: {what}")
        if job.lazy is not None:
            job.build()
        jstatus = job.row[J_STATUS]
        if event.startswith("task_"):
            return self._plan_task(ev, job, chk)
        if event.startswith("stage_"):
            return self._plan_stage(ev, job, chk)
        if event == "assign":
            if node_id is None:
                raise StoreError(f"job {job_id}: assign needs a node_id")
            if node_name is None:
                ev[E_NNAME] = node_name = node_id
            if chk:
                self._check_assign(job, node_id, node_name, nodes)
        elif event == "start":
            if chk and jstatus != "queued":
                raise StoreError(f"job {job_id}: cannot start: status is {jstatus}")
            if chk and len(job.slots) != job.row[J_NNODES]:
                raise StoreError(
                    f"job {job_id}: cannot start: {len(job.slots)} of {job.row[J_NNODES]} nodes assigned"
                )
        elif event == "pipeline_start":
            if chk:
                self._check_pipeline_start(job, pipeline)
        elif event == "pipeline_finish":
            if pipeline is None:
                ev[E_PIPE] = pipeline = job.row[J_PIPE]
            if chk:
                self._check_pipeline_finish(job, pipeline)
        elif event == "pipeline_abort":
            if pipeline is None:
                ev[E_PIPE] = pipeline = job.row[J_PIPE]
            pstatus = job.pipelines.get(pipeline, "queued")  # type: ignore[arg-type]
            if pstatus not in ("running", "background"):
                raise StoreError(
                    f"job {job_id}: cannot abort pipeline {pipeline}: status is {pstatus}"
                )
        elif event == "finish":
            if chk and jstatus != "running":
                raise StoreError(f"job {job_id}: cannot finish: status is {jstatus}")
            if chk and job.fg:
                raise StoreError(
                    f"job {job_id}: cannot finish: stages {sorted(job.fg)} still run in the foreground"
                )
            return self._end_live(job, time, "job finished", abort=False) + [JobEvent._make(ev)]
        elif event == "abort":
            why = f"job aborted: {detail}" if detail else "job aborted"
            return self._end_live(job, time, why, abort=True) + [JobEvent._make(ev)]
        return [JobEvent._make(ev)]

    def _check_assign(self, job: LiveJob, node_id: str, node_name: str, nodes: NodeStore) -> None:
        who = f"job {job.row[J_ID]}: cannot assign node {node_id}"
        if job.row[J_STATUS] != "queued":
            raise StoreError(f"{who}: status is {job.row[J_STATUS]}")
        if node_id not in nodes:
            raise StoreError(f"{who}: node is not registered")
        if not nodes.is_live(node_id):
            raise StoreError(f"{who}: node state is {nodes.state(node_id)}")
        owner = self.owner.get(node_id)
        if owner is not None and owner != job.row[J_ID]:
            raise StoreError(f"{who}: node is assigned to job {owner}")
        bound = job.slots.get(node_name)
        if bound is not None:
            raise StoreError(f"{who}: slot {node_name!r} is already bound (to node {bound})")
        if len(job.slots) >= job.row[J_NNODES]:
            raise StoreError(f"{who}: all {job.row[J_NNODES]} slots are already assigned")

    @staticmethod
    def _slot(ev: list, job: LiveJob, chk: bool, what: str) -> str:
        """The slot a stage or task event is about; fills ``node_id`` / ``node_name``.

        ``what`` names the event in messages (``"stage_start"``, ``"task started"``).
        """
        job_id, node_id, node_name = ev[E_JOB], ev[E_NODE], ev[E_NNAME]
        if node_name is not None:
            bound = job.slots.get(node_name)
            if bound is None:
                names = job.slots_on.get(node_id) if node_id is not None else None
                if names is not None and len(names) == 1:
                    raise StoreError(
                        f"job {job_id}: node {node_id} is bound to slot {names[0]!r}, "
                        f"not {node_name!r}"
                    )
                raise StoreError(
                    f"job {job_id}: {what}: slot {node_name!r} is not bound to the job"
                )
            if node_id is None:
                ev[E_NODE] = bound
            elif chk and node_id != bound:
                raise StoreError(
                    f"job {job_id}: {what}: slot {node_name!r} is bound to node {bound}, "
                    f"not {node_id}"
                )
            return node_name
        names = job.slots_on.get(node_id)  # type: ignore[arg-type]
        if names is None:
            raise StoreError(
                f"job {job_id}: {what} on node {node_id} which is not assigned to the job"
            )
        if len(names) > 1:
            raise StoreError(
                f"job {job_id}: {what} on node {node_id}: the node holds several slots of the "
                f"job ({', '.join(map(repr, names))}): give node_name"
            )
        ev[E_NNAME] = names[0]
        return names[0]

    def _check_pipeline_start(self, job: LiveJob, pipeline: int | None) -> None:
        who = f"job {job.row[J_ID]}: cannot start pipeline {pipeline}"
        if job.row[J_STATUS] != "running":
            raise StoreError(f"{who}: status is {job.row[J_STATUS]}")
        if pipeline is None:
            raise StoreError(f"{who}: pipeline_start needs a pipeline index")
        if pipeline in job.pipelines:
            raise StoreError(f"{who}: pipeline status is {job.pipelines[pipeline]}")
        n = job.row[J_NPIPE]
        if n is not None and not 0 <= pipeline < n:
            raise StoreError(f"{who}: the job has {n} pipelines")
        current = job.row[J_PIPE]
        if current is not None:
            if pipeline < current:
                raise StoreError(f"{who}: pipeline {current} already started")
            if job.pipelines[current] == "running":
                raise StoreError(f"{who}: pipeline {current} is running")

    def _check_pipeline_finish(self, job: LiveJob, pipeline: int | None) -> None:
        who = f"job {job.row[J_ID]}: cannot finish pipeline {pipeline}"
        if job.row[J_STATUS] != "running":
            raise StoreError(f"{who}: status is {job.row[J_STATUS]}")
        pstatus = job.pipelines.get(pipeline, "queued")  # type: ignore[arg-type]
        if pstatus != "running":
            raise StoreError(f"{who}: pipeline status is {pstatus}")
        if job.fg:
            raise StoreError(f"{who}: stages {sorted(job.fg)} still run in the foreground")

    def _plan_stage(self, ev: list, job: LiveJob, chk: bool) -> list[JobEvent]:
        time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name = ev[:9]
        if stage is None or (node_id is None and node_name is None):
            raise StoreError(f"job {job_id}: {event} needs a stage and a node_id or node_name")
        slot = self._slot(ev, job, chk, event)
        node_id = ev[E_NODE]
        packed = _packed_slot(job, node_id, slot)
        same = job.srows.get(stage)
        row = same.get(slot) if same else None
        if event == "stage_start":
            if row is not None:
                who = _stage_who(job_id, stage, row[S_SNAME], node_id, packed)
                raise StoreError(f"{who}: cannot start: status is {row[S_STATUS]}")
            if pipeline is None:
                ev[E_PIPE] = pipeline = job.row[J_PIPE]
            if chk:
                pstatus = job.pipelines.get(pipeline, "queued")
                if job.row[J_STATUS] != "running" or pstatus != "running":
                    who = _stage_who(job_id, stage, stage_name, node_id, packed)
                    raise StoreError(
                        f"{who}: cannot start: job status is {job.row[J_STATUS]}, "
                        f"pipeline {pipeline} status is {pstatus}"
                    )
            if same:
                other = next(iter(same.values()))
                if stage_name is None:
                    ev[E_SNAME] = other[S_SNAME]
                if ev[E_BG] is None:
                    ev[E_BG] = other[S_BG]
            if ev[E_BG] is None:
                ev[E_BG] = False
            return [JobEvent._make(ev)]
        current = "queued" if row is None else row[S_STATUS]
        who = _stage_who(job_id, stage, row[S_SNAME] if row else stage_name, node_id, packed)
        verb = {"stage_ready": "become ready", "stage_finish": "finish", "stage_stop": "stop"}.get(
            event, "abort"
        )
        if row is None or current not in _LIVE_STAGE:
            raise StoreError(f"{who}: cannot {verb}: status is {current}")
        ev[E_PIPE], ev[E_SNAME], ev[E_BG] = row[S_PIPE], row[S_SNAME], row[S_BG]
        tasks = job.trows.get((stage, slot), {})
        if event == "stage_ready":
            if chk and not row[S_BG]:
                raise StoreError(f"{who}: cannot become ready: not a background stage")
            if chk and current != "running":
                raise StoreError(f"{who}: cannot become ready: status is {current}")
            for (t, a), trow in tasks.items() if chk else ():
                if trow[T_STATUS] in ("queued", "running"):
                    raise StoreError(
                        f"{who}: cannot become ready: task {t} attempt {a} is {trow[T_STATUS]}"
                    )
            return [JobEvent._make(ev)]
        if event == "stage_finish":
            for (t, a), trow in tasks.items() if chk else ():
                if trow[T_STATUS] in _LIVE_TASK:
                    raise StoreError(
                        f"{who}: cannot finish: task {t} attempt {a} is {trow[T_STATUS]}"
                    )
            return [JobEvent._make(ev)]
        why = ev[E_DETAIL] or ("stage stopped" if event == "stage_stop" else "stage aborted")
        out = [
            _stop_task(job_id, time, trow, why)
            for trow in tasks.values()
            if trow[T_STATUS] in _LIVE_TASK
        ]
        out.append(JobEvent._make(ev))
        return out

    def _plan_task(self, ev: list, job: LiveJob, chk: bool) -> list[JobEvent]:
        (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
         task, task_name, driver, background, attempt, exit_code, detail, role,
         task_pipeline, command) = ev  # fmt: skip
        if stage is None or (node_id is None and node_name is None) or task is None:
            raise StoreError(
                f"job {job_id}: {event} needs a stage, a node_id or node_name, and a task"
            )
        verb = "started" if event == "task_start" else f"event {event}"
        slot = self._slot(ev, job, chk, f"task {verb}")
        node_id = ev[E_NODE]
        packed = _packed_slot(job, node_id, slot)
        same = job.srows.get(stage)
        srow = same.get(slot) if same else None
        if srow is not None:
            stage_name = srow[S_SNAME]
        by_task = job.trows.get((stage, slot))
        last = job.attempts.get((stage, slot, task))
        if attempt is None:
            if event == "task_retry":
                attempt = 0 if last is None else last + 1
            elif event == "task_start" and last is not None:
                prev = by_task[(task, last)][T_STATUS]  # type: ignore[index]
                attempt = last if prev == "queued" else last + 1
            else:
                attempt = last or 0
        row = by_task.get((task, attempt)) if by_task else None

        def who() -> str:
            where = _stage_who(job_id, stage, stage_name, node_id, packed)[6:]
            return f"task {where} task {task} attempt {attempt}"

        current = "queued" if row is None else row[T_STATUS]
        if event in ("task_start", "task_retry"):
            if chk and (srow is None or srow[S_STATUS] != "running"):
                sstatus = "queued" if srow is None else srow[S_STATUS]
                raise StoreError(f"{who()}: cannot {event[5:]}: stage status is {sstatus}")
            if row is not None and (event == "task_retry" or current != "queued"):
                raise StoreError(f"{who()}: cannot {event[5:]}: status is {current}")
            if row is None and attempt > 0:
                prev_row = by_task.get((task, attempt - 1)) if by_task else None
                prev = "queued" if prev_row is None else prev_row[T_STATUS]
                if last != attempt - 1 or prev != "failed":
                    raise StoreError(
                        f"{who()}: cannot {event[5:]}: attempt {attempt - 1} is {prev}"
                    )
            elif row is None and event == "task_retry":
                raise StoreError(f"{who()}: cannot retry: no failed attempt before it")
            src = row
            if src is None and last is not None:
                src = by_task[(task, last)]  # type: ignore[index]
            if src is not None:
                task_name = src[T_TNAME] if task_name is None else task_name
                driver = src[T_DRIVER] if driver is None else driver
                background = src[T_BG] if background is None else background
                task_pipeline = src[T_TP] if task_pipeline is None else task_pipeline
            if background is None:
                background = False
        else:
            verb = {"task_ready": "become ready", "task_finish": "finish", "task_fail": "fail"}.get(
                event, "stop"
            )
            ok = {"task_ready": ("running",), "task_finish": ("running",),
                  "task_fail": ("running", "background")}.get(event, _LIVE_TASK)  # fmt: skip
            if row is None or current not in ok:
                raise StoreError(f"{who()}: cannot {verb}: status is {current}")
            if chk and event == "task_ready" and not row[T_BG]:
                raise StoreError(f"{who()}: cannot become ready: not a background task")
            if chk and event == "task_finish" and row[T_BG]:
                raise StoreError(
                    f"{who()}: cannot finish: a background task ends by task_stop (or task_fail)"
                )
            task_name, driver, background = row[T_TNAME], row[T_DRIVER], row[T_BG]
            task_pipeline = row[T_TP]
        return [
            JobEvent(
                time,
                job_id,
                event,
                status,
                srow[S_PIPE] if srow else pipeline,
                stage,
                stage_name,
                node_id,
                slot,
                task,
                task_name,
                driver,
                background,
                attempt,
                exit_code,
                detail,
                role,
                task_pipeline,
                command,
            )
        ]

    def _end_live(self, job: LiveJob, time: float, why: str, abort: bool) -> list[JobEvent]:
        """Events that stop or abort what still runs when a job ends: its live tasks and
        stage rows, then its running or background pipelines."""
        out: list[JobEvent] = []
        job_id = job.row[J_ID]
        for by_slot in job.srows.values():
            for slot, srow in by_slot.items():
                if srow[S_STATUS] not in _LIVE_STAGE:
                    continue
                for trow in job.trows.get((srow[S_STAGE], slot), {}).values():
                    if trow[T_STATUS] in _LIVE_TASK:
                        out.append(_stop_task(job_id, time, trow, why))
                event = "stage_abort" if abort and srow[S_STATUS] == "running" else "stage_stop"
                status = "aborted" if event == "stage_abort" else "stopped"
                out.append(
                    JobEvent(
                        time,
                        job_id,
                        event,
                        status,
                        srow[S_PIPE],
                        srow[S_STAGE],
                        srow[S_SNAME],
                        srow[S_NODE],
                        slot,
                        background=srow[S_BG],
                        detail=why,
                    )
                )
        for p in sorted(job.pipelines):
            pstatus = job.pipelines[p]
            if abort and pstatus in ("running", "background"):
                event, status = "pipeline_abort", "aborted"
            elif not abort and pstatus in ("running", "background"):
                event, status = "pipeline_finish", "finished"
            else:
                continue
            out.append(JobEvent(time, job_id, event, status, p, detail=why))
        return out

    # -- applying -----------------------------------------------------------------------

    def apply(self, ev: tuple, job: LiveJob | None = None, row: list | None = None) -> None:
        """Update the snapshot for one planned event.

        A caller that looked them up already (the fast planner) gives ``job``, the
        event's live job, and ``row``: the tasks row of a task event's attempt (None for
        a new attempt), the stages row of a stage event but ``stage_start``.
        """
        (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
         task, task_name, driver, background, attempt, exit_code, detail, role, task_pipeline,
         command) = ev  # fmt: skip
        if job is None:
            job = self.live[job_id]
        job.row[J_UPDATE] = time
        if event in _TASK_EVENTS:
            if row is None:
                key = (stage, node_name)
                by_task = job.trows.get(key)
                if by_task is None:
                    by_task = job.trows[key] = {}
                row = by_task.get((task, attempt))
                if row is None:
                    row = new_task_row(job_id, pipeline, stage, stage_name, node_id, node_name,
                                       task, task_name, driver, attempt, background, status,
                                       task_pipeline)  # fmt: skip
                    by_task[(task, attempt)] = row
                    job.attempts[(stage, node_name, task)] = attempt
            row[T_STATUS] = status
            if exit_code is not None:
                row[T_EXIT] = exit_code
            if event == "task_start":
                row[T_START], row[T_LOG], row[T_CMD] = time, detail, command
            elif event == "task_ready":
                row[T_READY] = time
            elif event != "task_retry":
                row[T_STOP] = time
                if event != "task_finish":
                    row[T_REASON] = detail
        elif event in _STAGE_EVENTS:
            if event == "stage_start":
                row = new_stage_row(job_id, pipeline, stage, stage_name, node_id, node_name,
                                    background, status, time)  # fmt: skip
                by_slot = job.srows.get(stage)
                if by_slot is None:
                    by_slot = job.srows[stage] = {}
                by_slot[node_name] = row
                old = None
            else:
                if row is None:
                    row = job.srows[stage][node_name]
                old = row[S_STATUS]
                row[S_STATUS] = status
                if event == "stage_ready":
                    row[S_READY] = time
                else:
                    row[S_STOP] = time
            self._place(job, stage, old, status)
        elif event == "assign":
            self.assigned.append((job_id, len(job.slots), node_name, role, node_id, detail, time))
            job.slots[node_name] = node_id
            on = job.slots_on.get(node_id)
            if on is None:
                job.slots_on[node_id] = [node_name]
            else:
                on.append(node_name)
            self.owner[node_id] = job_id
        elif event == "start":
            job.row[J_STATUS], job.row[J_START] = status, time
        elif event.startswith("pipeline_"):
            set_pipeline(job, pipeline, status, time)
            if event == "pipeline_start":
                job.row[J_PIPE] = pipeline
        else:  # finish / abort
            job.row[J_STATUS], job.row[J_STOP] = status, time
            if event == "abort":
                job.row[J_REASON] = detail
            self.retire(job)

    @staticmethod
    def _place(job: LiveJob, stage: int, old: str | None, new: str) -> None:
        """Move ``stage`` between fg/bg/fin after one of its rows went ``old`` -> ``new``.

        Counts of rows per status are kept per stage, so a stage on 256 slots costs O(1)
        per event instead of a scan of its rows.
        """
        counts = job.stage_counts.get(stage)
        if counts is None:
            counts = job.stage_counts[stage] = {}
        if old is not None:
            counts[old] -= 1
        counts[new] = counts.get(new, 0) + 1
        job.fg.discard(stage)
        job.bg.discard(stage)
        job.fin.discard(stage)
        if counts.get("running"):
            job.fg.add(stage)
        elif counts.get("background"):
            job.bg.add(stage)
        elif counts.get("finished", 0) + counts.get("stopped", 0) == len(job.srows[stage]):
            job.fin.add(stage)

    def retire(self, job: LiveJob) -> None:
        """Move an ended job's rows from the live dicts to the row buffers."""
        job_id = job.row[J_ID]
        del self.live[job_id]
        for node_id in job.slots_on:
            if self.owner.get(node_id) == job_id:
                del self.owner[node_id]
        self.done_jobs.append(job.job_row())
        if job.lazy is not None:  # a simple job that finished in bulk: rows stay compact
            shape, units, start, logs = job.lazy
            self.done_simple.append(shape, job_id, start, job.row[J_STOP], units, logs)
            job.lazy = None
        else:
            self.done_stage_pipelines.extend(map(tuple, job.pipeline_rows()))
            self.done_stages.extend(map(tuple, job.stage_rows()))
            self.done_task_pipelines.extend(job.task_pipeline_rows())
            self.done_tasks.extend(map(tuple, job.task_rows()))
        self._set_final(job_id, job.row[J_STATUS])
        self.n_ended[job.row[J_STATUS]] += 1
        self._count_ended(1)

    # -- output -------------------------------------------------------------------------

    def tables(self) -> dict[str, pa.Table]:
        """The job store's tables (:data:`TABLES`): ended rows then live rows, sorted,
        canonical."""
        return {
            name: sort_canonical(self.rows(name), schema, SORT_KEYS[name])
            for name, schema in TABLES.items()
        }

    def rows(self, name: str) -> pa.Table:
        """Every row of table ``name`` (one of :data:`TABLES`): ended jobs' rows then live
        ones, in no particular order and not canonical.

        Raises
        ------
        StoreError
            Rows of ended jobs were handed to ``spill``: the run directory has them.
        """
        if self.n_spilled:
            raise StoreError(
                f"the rows of {self.n_spilled} ended jobs were handed to the run directory"
                " as the run went: read it back (load_run), or finish it with final_tables()"
            )
        buffer, live = self._buffer(name)
        table = buffer.table(live)
        if name not in SimpleRows.TABLES or not self.done_simple.num_rows(name):
            return table
        return pa.concat_tables([table, self.done_simple.rows(name)])

    def final_rows(self, name: str) -> PackedTable | UnionRows:
        """Every row of table ``name``, handed over at the end of a run: the buffers of ended
        rows are emptied. The rows come still packed (:class:`PackedTable`), and the
        tables of :attr:`SimpleRows.TABLES` as :class:`UnionRows`, so that they are
        decoded or expanded one row group at a time as they are written; hand them over
        in that order."""
        return self._release(name, self._buffer(name)[1])

    def _release(self, name: str, live: list[tuple]) -> PackedTable | UnionRows:
        """The buffered rows of table ``name``, then ``live``; the buffers are emptied
        (those of :attr:`SimpleRows.TABLES` once the last of them is released)."""
        buffer, _ = self._buffer(name, live=False)
        table = buffer.release(live)
        if name not in SimpleRows.TABLES:
            return table
        rows = UnionRows(table, self.done_simple, name)
        if name == SimpleRows.TABLES[-1]:  # all of them have been handed over
            self.done_simple = SimpleRows()
        return rows

    def _buffer(self, name: str, *, live: bool = True) -> tuple[RowBuffer, list[tuple]]:
        """The row buffer of table ``name`` (ended jobs, but simple ones that ended in
        bulk) and the live jobs' rows of that table (none unless ``live``)."""
        jobs = self.live.values() if live else ()
        if name == "jobs":
            return self.done_jobs, [j.job_row() for j in jobs]
        if name == "assignments":
            return self.assigned, []
        buffer, rows_of = {
            "stage_pipelines": (self.done_stage_pipelines, LiveJob.pipeline_rows),
            "stages": (self.done_stages, LiveJob.stage_rows),
            "task_pipelines": (self.done_task_pipelines, LiveJob.task_pipeline_rows),
            "tasks": (self.done_tasks, LiveJob.task_rows),
        }[name]
        return buffer, [tuple(r) for j in jobs for r in rows_of(j)]

    def by_status(self) -> dict[str, int]:
        """Number of jobs in each status."""
        out = {"queued": 0, "running": 0, **self.n_ended}
        for job in self.live.values():
            out[job.row[J_STATUS]] += 1
        return out


def _stop_task(job_id: int, time: float, trow: list, why: str) -> JobEvent:
    """The event that stops a live task attempt (its tasks row ``trow``)."""
    return JobEvent(
        time,
        job_id,
        "task_stop",
        "stopped",
        pipeline=trow[T_PIPE],
        stage=trow[T_STAGE],
        stage_name=trow[T_SNAME],
        node_id=trow[T_NODE],
        node_name=trow[T_NNAME],
        task=trow[T_TASK],
        task_name=trow[T_TNAME],
        driver=trow[T_DRIVER],
        background=trow[T_BG],
        attempt=trow[T_ATTEMPT],
        detail=why,
        task_pipeline=trow[T_TP],
    )
