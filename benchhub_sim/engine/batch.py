"""Batch mode: uniform simple jobs in one tight loop, with the general loop's rows.

Most of an M/M/c job's time in the general loop goes to bookkeeping whose answer is
known in advance: an event object per arrival, pass and completion, a policy call, a
binding search, a job object, snapshot rows checked and updated one transition at a
time. When

- every job is *simple* (:func:`~benchhub_sim.engine.compiled.simple_stage`) on all
  its slots, each slot of role ``any`` with no selector or requirement, and its tasks
  take equal times on all its nodes;
- every node is of role ``any``, all nodes have one speed, and none fails (no
  ``mtbf``, no injected faults);
- the policy is ``fcfs``, or ``easy`` / ``conservative`` while every job needs one
  node (they then start the same jobs at the same times: with no free node, no job can
  be backfilled);

a run follows from the rules the general loop obeys, and :func:`run_batch` applies them
directly, on plain lists:

- at one instant, arrivals are handled first, then completions in the order their jobs
  started, then one scheduling pass (the loop's priorities ``URGENT``, ``NORMAL``,
  ``LATE``);
- a pass starts queued jobs in submit order while the first one fits;
- a job takes the lowest-numbered free nodes, slot ``i`` the ``i``-th (what
  :func:`~benchhub_sim.sched.assign.try_assign` picks among nodes of role ``any``).

It logs the rows the general loop logs, with the same ``seq``: each job's submit,
binding + start and end + release are the store's bulk templates
(:mod:`benchhub_sim.store.simple`), handed to the history as arrays every few thousand
jobs (:meth:`~benchhub_sim.store.history.History.blocks`); an ended job's stage and
task rows go to the compact :class:`~benchhub_sim.store.rows.SimpleRows`. With the
store's checks on, each hand-over is checked as a whole (:func:`_check`): the
transitions the state machine would have refused one at a time.

At the first job it cannot run this way (another kind of spec, a job bound to nodes,
durations that differ between a job's nodes, a job that can never fit), it hands the
clock, the queue and the running jobs over to the general loop, which goes on from
there: batch mode never changes a run, it only makes the runs it can take faster. The
tests compare both paths table for table (``Engine(batch=False)``).
"""

from __future__ import annotations

import heapq
import time as _time
from bisect import insort
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from benchhub_sim.engine.compiled import CompiledSpec, CompiledStage
from benchhub_sim.engine.loop import URGENT
from benchhub_sim.engine.simexec import SimulatedExecutor
from benchhub_sim.engine.state import JobRun
from benchhub_sim.errors import StoreError, WorkloadError
from benchhub_sim.rng import SpecStreams
from benchhub_sim.sched.assign import Binding, Role, min_nodes
from benchhub_sim.sched.policies import conservative, easy, fcfs
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.store.blocks import Template
from benchhub_sim.store.schema import JOBS_SCHEMA
from benchhub_sim.store.simple import (
    assign_template,
    finish_template,
    start_template,
    states_template,
)
from benchhub_sim.store.store import BOUND, RELEASED, SUBMIT, Store
from benchhub_sim.workload.base import ALL_NODES, JobRequest

_INF = float("inf")
_DICT = pa.dictionary(pa.int32(), pa.string())
#: rows of the history between two hand-overs of the batch loop's records
_EMIT_ROWS = 65_536

# fields of a job record (a list: the loop updates it in place)
_ID, _KIND, _REQ, _DRAWS, _SUBMIT, _SUB_SEQ, _TIME, _START, _START_SEQ = range(9)
_NODES, _END, _END_SEQ = 9, 10, 11


def ready(engine: Any) -> bool:
    """True when ``engine`` may start its run in batch mode (its own settings allow it;
    each job is looked at as it arrives)."""
    central = engine.central
    nodes = central.nodes
    return (
        type(engine.executor) is SimulatedExecutor
        and engine.dispatcher._simple_time is not None
        and isinstance(engine.store, Store)
        and engine.store.bulk
        and central.policy in (fcfs, easy, conservative)
        and not engine.faults.explicit
        and engine.jobs_submitted == 0
        and bool(nodes)
        and not central.offline
        and len({n.node_id for n in nodes}) == len(nodes)
        and all(
            n.role is Role.ANY and not n.mtbf and min(n.cores, n.mem_mb, n.disk_mb) >= 0
            for n in nodes
        )
        and len({n.speed for n in nodes}) == 1
    )


class _Kind:
    """What the batch loop needs of one spec: its shape, its templates, its timing."""

    __slots__ = ("c", "streams", "k", "stage", "templates", "slot_names", "random", "all_key",
                 "executor", "speed", "shape", "rows", "one", "fixed")  # fmt: skip

    def __init__(self, engine: Any, c: CompiledSpec, streams: SpecStreams) -> None:
        stage = c.simple_stage
        assert stage is not None and c.simple is not None
        store = engine.store
        self.c = c
        self.streams = streams
        self.k = k = len(c.slots)
        self.stage: CompiledStage = stage
        self.shape = shape = c.simple
        self.slot_names = names = tuple(s.name for s in c.slots)
        t = store._template
        #: per job: submit; assign, bind, start; finish, release (see Store)
        self.templates: tuple[Template, ...] = (
            t(("assign", names), assign_template, names),
            t(("states", k, BOUND), states_template, k, BOUND),
            t(("start", shape, names), start_template, shape, names),
            t(("finish", shape, names), finish_template, shape, names),
            t(("states", k, RELEASED), states_template, k, RELEASED),
        )
        #: True when each slot draws its own duration (they may then differ)
        self.random = any(key[0] == stage.index for key in c.positions)
        self.all_key = (stage.name, ALL_NODES, stage.tasks[0].name)
        self.executor: SimulatedExecutor = engine.executor
        self.speed: float = engine.central.nodes[0].speed
        self.rows = 4 * k + 2  # rows logged at a start, and again at an end
        #: the stream of the one random duration of a one-slot job
        self.one = None
        #: what every job takes when nothing is random
        self.fixed = None
        if k == 1 and len(c.dists) == 1 and (stage.index, 0, 0, -1, 0, "d") in c.positions:
            self.one = streams.streams[0].next
        elif not c.dists:
            self.fixed = self.time(JobRequest(c.spec), [])

    def draw(self, req: JobRequest) -> tuple[list[float], float | None]:
        """A new job's draws (what :meth:`Engine.new_job
        <benchhub_sim.engine.engine.Engine.new_job>` takes) and the seconds it runs
        (None: :meth:`time`)."""
        if req.durations is None:
            if self.one is not None:  # one random duration: the usual M/M/c job
                x = self.one()
                return [x], x / self.speed
            if self.fixed is not None:
                return [], self.fixed
        draws = self.streams.take() if self.c.dists else []
        return draws, self.time(req, draws)

    def time(self, req: JobRequest, draws: list[float]) -> float | None:
        """Seconds a job of this kind runs (node speed included), or None when its tasks
        would take different times on different nodes."""
        slot_time = self.executor.slot_time
        c, stage = self.c, self.stage
        slots = c.slots
        first = slot_time(c, req, draws, stage, slots[0]) / self.speed
        observed = req.durations
        if self.k > 1 and (
            self.random or (observed and (len(observed) > 1 or self.all_key not in observed))
        ):
            for slot in slots[1:]:
                if slot_time(c, req, draws, stage, slot) / self.speed != first:
                    return None
        return first


def _kind(engine: Any, spec: JobSpec) -> _Kind | None:
    """The kind of ``spec``, or None when its jobs cannot run in batch mode."""
    c, streams = engine.compile(spec)
    stage = c.simple_stage
    k = len(c.slots)
    central = engine.central
    if (
        stage is None
        or stage.static_slots != tuple(range(k))
        or any(s.role is not Role.ANY or s.constrained for s in c.slots)
        or k > len(central.nodes)  # never fits: the general path aborts it
        or min_nodes(c.slots, central.max_loader_pack) != k
        or (k > 1 and central.policy is not fcfs)
    ):
        return None
    return _Kind(engine, c, streams)


class _Unlogged:
    """Takes the store's bulk rows and drops them: the batch loop logged them already
    and only needs the snapshot rebuilt (see :func:`_hand_over`)."""

    def block(self, *_: Any) -> None:
        pass


def run_batch(engine: Any) -> None:
    """Run ``engine``'s arrivals in batch mode (see the module docstring) until they and
    every job have ended, or hand over to the general loop at the first job it cannot
    take. ``engine._arrivals`` must be the arrivals, none consumed."""
    loop = engine.loop
    central = engine.central
    kinds: dict[int, _Kind | None] = {}
    free: list[int] = central._free  # sorted cluster indices, updated in place
    queue: deque[list] = deque()
    heap: list[tuple[float, int, list]] = []  # (end, start order, record)
    log = _Log(engine)
    submitted_log, started_log, ended_log = log.submitted, log.started, log.ended
    hook = central.on_job_end
    ids = engine._ids
    next_id = engine._next_id
    arrivals: Iterator[JobRequest] = engine._arrivals
    push, pop = heapq.heappush, heapq.heappop
    now = loop.now
    seq = log.history.seq
    emit_at = log.emit_at
    events = ended = submitted = order = 0
    pending = False  # a scheduling pass is due at ``now``
    handed: JobRequest | JobRun | None = None

    last_submit = engine._last_submit
    req = next(arrivals, None)
    ta = _INF
    if req is not None:  # (no order to check: nothing came before it)
        last_submit = req.submit
        ta = req.submit if req.submit > now else now
    while True:
        if req is not None and (not heap or ta <= heap[0][0]) and (not pending or ta <= now):
            # -- an arrival: URGENT, before anything else at its time -----------------
            key = id(req.spec)
            if key in kinds:
                kind = kinds[key]
            else:
                kind = kinds[key] = _kind(engine, req.spec)
            job_id = req.job_id
            if job_id is None:
                job_id = next_id
            if kind is None or req.bind_to is not None or job_id in ids:
                handed = req  # the general path takes it from the start
                break
            ids.add(job_id)
            if job_id >= next_id:
                next_id = job_id + 1
            draws, d = kind.draw(req)
            if d is None:
                handed = JobRun(job_id, req, kind.c, draws)
                break
            now = ta
            events += 1
            submitted += 1
            rec = [job_id, kind, req, draws, now, seq, d, 0.0, 0, None, 0.0, 0]
            seq += 1
            queue.append(rec)
            submitted_log.append(rec)
            pending = True
            req = next(arrivals, None)
            if req is not None:
                if req.submit < last_submit:
                    raise WorkloadError(
                        [f"job requests must come in submit order: {req.submit} after {last_submit}"]
                    )  # fmt: skip
                last_submit = req.submit
                ta = req.submit if req.submit > now else now
        elif heap and (not pending or heap[0][0] <= now):
            # -- a completion: NORMAL, in the order the jobs started ------------------
            now, _, rec = pop(heap)
            events += 1
            rec[_END] = now
            rec[_END_SEQ] = seq
            seq += rec[_KIND].rows  # finish, then release
            for i in rec[_NODES]:
                insort(free, i)
            ended += 1
            ended_log.append(rec)
            if hook is not None:
                hook(central.jobs_ended + ended, now)
            pending = True
        elif pending:
            # -- a scheduling pass: LATE, once everything else at ``now`` is done -----
            events += 1
            pending = False
            while queue:
                rec = queue[0]
                kind = rec[_KIND]
                k = kind.k
                if k > len(free):
                    break
                queue.popleft()
                rec[_NODES] = free[:k]
                del free[:k]
                rec[_START] = now
                rec[_START_SEQ] = seq
                seq += kind.rows  # assign, bind, start
                end = now + rec[_TIME]
                order += 1
                push(heap, (end if end > now else now, order, rec))
                started_log.append(rec)
        else:
            break
        if seq >= emit_at:
            log.emit(seq)
            emit_at = log.emit_at
    log.emit(seq)
    loop.now = now
    loop.events_run += events
    central.jobs_ended += ended
    engine.jobs_submitted += submitted
    engine.batch_jobs += submitted
    engine._next_id = next_id
    engine._last_submit = last_submit
    if handed is None:
        engine._arrivals = None
        return
    _hand_over(engine, queue, heap, pending, handed, arrivals)


class _Log:
    """The batch loop's records since the last hand-over to the store."""

    def __init__(self, engine: Any) -> None:
        self.store: Store = engine.store
        self.history = self.store.history
        self.names = [n.node_id for n in engine.central.nodes]
        self.node_ids = pa.array(self.names, pa.string())
        self.check = self.store.check
        self.submitted: list[list] = []
        self.started: list[list] = []
        self.ended: list[list] = []
        self.emit_at = self.history.seq + _EMIT_ROWS  # hand over when seq gets there
        self._clock = _time.monotonic()
        self.busy: dict[int, int] = {}  # check: node index -> job id holding it

    def emit(self, seq: int) -> None:
        """Hand every row logged so far to the history and every ended job to the job
        store (checked first when the store checks transitions)."""
        if self.check:
            self._check()
        history = self.history
        if self.submitted:
            sub = self.submitted
            history.blocks(
                SUBMIT,
                np.array([r[_SUB_SEQ] for r in sub], np.int64),
                np.array([r[_SUBMIT] for r in sub], np.float64),
                np.array([r[_ID] for r in sub], np.int64),
                pa.array([], pa.string()),
            )
        for kind, recs in _by_kind(self.started):
            k = kind.k
            first = np.array([r[_START_SEQ] for r in recs], np.int64)
            times = np.array([r[_START] for r in recs], np.float64)
            job_ids = np.array([r[_ID] for r in recs], np.int64)
            nodes = self._nodes(recs, k)
            exact = pa.array(["exact"], pa.string()).take(np.zeros(len(nodes), np.int64))
            assign, bound, start, _, _ = kind.templates
            history.blocks(assign, first, times, job_ids, nodes, exact)
            history.blocks(bound, first + k, times, job_ids, nodes)
            history.blocks(start, first + 2 * k, times, job_ids, nodes)
        for kind, recs in _by_kind(self.ended):
            k = kind.k
            first = np.array([r[_END_SEQ] for r in recs], np.int64)
            times = np.array([r[_END] for r in recs], np.float64)
            job_ids = np.array([r[_ID] for r in recs], np.int64)
            nodes = self._nodes(recs, k)
            _, _, _, finish, released = kind.templates
            history.blocks(finish, first, times, job_ids, nodes)
            history.blocks(released, first + 2 * k + 2, times, job_ids, nodes)
            kind_jobs = _jobs_batch(kind, recs, job_ids, times)
            starts = np.array([r[_START] for r in recs], np.float64)
            self.store.jobs.end_simple(kind.shape, kind_jobs, starts, kind.slot_names, nodes)
        history.seq = seq
        self.emit_at = seq + _EMIT_ROWS
        # emptied in place: the batch loop holds their append methods
        del self.submitted[:], self.started[:], self.ended[:]
        if history._block_rows >= history.flush_rows:
            history.flush()
        else:
            history.maybe_flush()

    def _nodes(self, recs: list[list], k: int) -> pa.Array:
        """The node ids of each record's nodes, one record after the other."""
        if k == 1:
            index = np.array([r[_NODES][0] for r in recs], np.int64)
        else:
            index = np.array([r[_NODES] for r in recs], np.int64).reshape(-1)
        return self.node_ids.take(index)

    def _check(self) -> None:
        """What the store's state machine checks, over the whole hand-over at once: a
        job is submitted once, starts queued on free nodes, ends running and frees them."""
        status = self.store.jobs.status
        busy = self.busy
        for r in self.submitted:
            if status(r[_ID]) is not None:
                raise StoreError(f"job {r[_ID]}: submitted twice (batch mode)")
        events = sorted(
            [(r[_START_SEQ], 0, r) for r in self.started]
            + [(r[_END_SEQ], 1, r) for r in self.ended],
            key=lambda e: e[0],
        )
        for _, ending, r in events:
            job_id = r[_ID]
            if not r[_SUBMIT] <= r[_START] <= (r[_END] if ending else r[_START]):
                raise StoreError(f"job {job_id}: times out of order (batch mode)")
            for i in r[_NODES]:
                held = busy.get(i)
                if ending:
                    if held != job_id:
                        raise StoreError(f"job {job_id}: ends on node {i} it does not hold")
                    del busy[i]
                elif held is not None:
                    raise StoreError(f"job {job_id}: node {i} is already running job {held}")
                else:
                    busy[i] = job_id


def _jobs_batch(
    kind: _Kind, recs: list[list], job_ids: np.ndarray, stop: np.ndarray
) -> pa.RecordBatch:
    """The ``jobs`` rows of finished jobs of ``kind`` (what the store's snapshot gives)."""
    c, shape = kind.c, kind.shape
    n = len(recs)
    zeros = pa.array(np.zeros(n, np.int64))

    def const(value: Any, typ: pa.DataType) -> pa.Array:
        return pa.array([value], typ).take(zeros)

    walltime = [r[_REQ].walltime for r in recs]
    priority = [r[_REQ].priority for r in recs]
    columns = {
        "job_id": pa.array(job_ids, pa.int64()),
        "name": const(c.name, _DICT),
        "submit_time": pa.array([r[_SUBMIT] for r in recs], pa.float64()),
        "start_time": pa.array([r[_START] for r in recs], pa.float64()),
        "stop_time": pa.array(stop, pa.float64()),
        "status": const("finished", _DICT),
        "n_nodes": const(kind.k, pa.int32()),
        "walltime": pa.array([c.walltime if w is None else w for w in walltime], pa.float64()),
        "priority": pa.array([c.priority if p is None else p for p in priority], pa.float64()),
        "current_pipeline": const(shape.pipeline, pa.int32()),
        "foreground_stages": const([], pa.list_(pa.int32())),
        "background_stages": const([], pa.list_(pa.int32())),
        "finished_stages": const([shape.stage], pa.list_(pa.int32())),
        "reason": pa.nulls(n, pa.string()),
        "raw_spec": const(c.raw_spec, _DICT),
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in JOBS_SCHEMA], schema=JOBS_SCHEMA)


def _by_kind(recs: list[list]) -> list[tuple[_Kind, list[list]]]:
    """``recs`` grouped by kind, in order within each group."""
    if not recs:
        return []
    first = recs[0][_KIND]
    if all(r[_KIND] is first for r in recs):
        return [(first, recs)]
    groups: dict[int, tuple[_Kind, list[list]]] = {}
    for r in recs:
        kind = r[_KIND]
        group = groups.get(id(kind))
        if group is None:
            group = groups[id(kind)] = (kind, [])
        group[1].append(r)
    return list(groups.values())


def _hand_over(
    engine: Any,
    queue: deque[list],
    heap: list[tuple[float, int, list]],
    pending: bool,
    handed: JobRequest | JobRun,
    arrivals: Iterator[JobRequest],
) -> None:
    """Give the general loop the batch loop's live jobs, then the job it stopped at."""
    loop = engine.loop
    central = engine.central
    store = engine.store
    nodes = central.nodes
    history, store.history = store.history, _Unlogged()  # rows are logged: rebuild only
    try:
        running = sorted(heap, key=lambda e: (e[0], e[1]))  # the order they end in
        for _, _, r in sorted(running, key=lambda e: e[2][_SUB_SEQ]):
            _resubmit(central, store, r)
        for r in queue:
            _resubmit(central, store, r)
        for end, _, r in running:
            job = r[_REQ]  # replaced by the job's JobRun in _resubmit
            kind = r[_KIND]
            bindings = tuple(
                Binding(slot, nodes[i], "exact")
                for slot, i in zip(kind.c.slots, r[_NODES], strict=True)
            )
            store.bind(
                r[_START], job.job_id, [(b.node.node_id, b.slot.name, "exact") for b in bindings]
            )
            units = [(b.node.node_id, b.slot.name) for b in bindings]
            store.start_simple(r[_START], job.job_id, kind.shape, units)
            job.queued = False
            job.bindings = bindings
            job.start = r[_START]
            job.node_ids = tuple(b.node.node_id for b in bindings)
            job.n_nodes = len(job.node_ids)
            job.pipeline = 0
            job.simple = bindings
            for node_id in job.node_ids:
                central.node_job[node_id] = job
            central._running[job.job_id] = job
            loop.at(end, engine.dispatcher._finish_simple, job)
        for r in queue:
            central.queue.append(r[_REQ])
    finally:
        store.history = history
    central._free_nodes = None
    central.version += 1
    if pending:
        central.request_pass()
    engine._arrivals = arrivals
    if isinstance(handed, JobRun):
        engine._last_submit = handed.req.submit
        loop.at(handed.req.submit, engine._admit, handed, URGENT)
    else:
        engine._last_submit = handed.submit
        loop.at(handed.submit, engine._arrive, handed, URGENT)


def _resubmit(central: Any, store: Store, r: list) -> None:
    """The snapshot and job object of a job the batch loop submitted (its ``_REQ`` field
    becomes the job)."""
    kind = r[_KIND]
    c = kind.c
    job = JobRun(r[_ID], r[_REQ], c, r[_DRAWS])
    job.n_nodes = kind.k
    store.add_job(
        r[_SUBMIT], job.job_id, c.name, n_nodes=len(c.slots), walltime=job.walltime,
        priority=job.priority, raw_spec=c.raw_spec,
    )  # fmt: skip
    r[_REQ] = job
