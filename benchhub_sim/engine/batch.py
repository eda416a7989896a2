"""Batch mode: uniform simple jobs in one tight loop, with the general loop's rows.

Most of a simple job's time in the general loop goes to bookkeeping whose answer is
known in advance: an event object per arrival, pass and completion, a binding search, a
job object, snapshot rows checked and updated one transition at a time. When

- every job is *simple* (:func:`~benchhub_sim.engine.compiled.simple_stage`) on all
  its slots, each slot of role ``any`` with no selector or requirement, and its tasks
  take equal times on all its nodes (every job of an M/M/c model or an SWF trace);
- every node is of role ``any``, all nodes have one speed, and none fails (no
  ``mtbf``, no injected faults) or takes time to report and clean up after a job;
- the policy is one of the built-in ones (a policy of one's own may look at more of a
  job than batch mode keeps, so it runs in the general loop);

:func:`run_batch` runs the workload with the rules the general loop obeys, on plain
lists:

- at one instant, arrivals are handled first, then completions in the order their jobs
  started, then one scheduling pass (the loop's priorities ``URGENT``, ``NORMAL``,
  ``LATE``);
- a pass calls the policy with the same view the central gives it (queue, free nodes,
  running jobs, ``try_start``, and what backfilling keeps between passes); ``fcfs`` is
  spelled out inline, the same rule: in submit order while the first job fits;
- a job takes the lowest-numbered free nodes, slot ``i`` the ``i``-th (what
  :func:`~benchhub_sim.sched.assign.try_assign` picks among nodes of role ``any``).

It logs the rows the general loop logs, with the same ``seq``: each job's submit,
binding + start and end + release are the store's bulk templates
(:mod:`benchhub_sim.store.simple`), handed to the history as arrays every 65k rows
(:meth:`~benchhub_sim.store.history.History.blocks`); an ended job's stage and task
rows go to the compact :class:`~benchhub_sim.store.rows.SimpleRows`. With the store's
checks on, each hand-over is checked as a whole (:meth:`_Log._check`): the transitions
the state machine would have refused one at a time.

At the first job it cannot run this way (another kind of spec, a job bound to nodes,
durations that differ between a job's nodes, a job that can never fit), it hands the
clock, the queue and the running jobs over to the general loop, which goes on from
there: batch mode never changes a run, it only makes the runs it can take faster. The
tests compare both paths table for table (``Engine(batch=False)``).
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from benchhub_sim.engine.central import JobQueue, binding_rows
from benchhub_sim.engine.compiled import CompiledSpec, CompiledStage
from benchhub_sim.engine.loop import URGENT
from benchhub_sim.engine.simexec import SimulatedExecutor
from benchhub_sim.engine.state import JobRun
from benchhub_sim.errors import StoreError, WorkloadError
from benchhub_sim.rng import SpecStreams
from benchhub_sim.sched.assign import Binding, Role, min_nodes
from benchhub_sim.sched.policies import POLICIES, fcfs
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.store.blocks import Template
from benchhub_sim.store.rows import repeat
from benchhub_sim.store.schema import JOBS_SCHEMA
from benchhub_sim.store.simple import (
    assign_template,
    assignments_batch,
    finish_template,
    start_template,
    states_template,
)
from benchhub_sim.store.store import BOUND, RELEASED, SUBMIT, Store
from benchhub_sim.workload.base import ALL_NODES, JobRequest

_INF = float("inf")
_DICT = pa.dictionary(pa.int32(), pa.string())
#: most rows of the history between two hand-overs of the batch loop's records (fewer
#: when the history flushes more often)
_EMIT_ROWS = 65_536


class _Job:
    """One job of the batch loop: what queue policies see of a job (``job_id``,
    ``submit``, ``walltime``, ``priority``, ``n_nodes``, ``start``, ``expected_end``)
    and what its rows need."""

    __slots__ = ("job_id", "kind", "req", "draws", "submit", "arrived", "sub_seq", "time",
                 "walltime", "priority", "n_nodes", "queued", "qseq", "start", "start_seq",
                 "nodes", "end", "end_seq")  # fmt: skip

    # set when the job starts, and when it ends
    qseq: int
    start: float
    start_seq: int
    nodes: list[int]
    end: float
    end_seq: int

    def __init__(
        self, job_id: int, kind: _Kind, req: JobRequest, draws: list[float], arrived: float,
        sub_seq: int, time: float,
    ) -> None:  # fmt: skip
        c = kind.c
        self.job_id = job_id
        self.kind = kind
        self.req = req
        self.draws = draws
        self.submit = req.submit  # as the policies see it (JobRun.submit)
        self.arrived = arrived  # the submit event's time (the jobs table's)
        self.sub_seq = sub_seq
        self.time = time  # seconds it runs
        self.walltime = c.walltime if req.walltime is None else req.walltime
        self.priority = c.priority if req.priority is None else req.priority
        self.n_nodes = kind.k
        self.queued = True

    @property
    def expected_end(self) -> float:
        return self.start + self.walltime


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
        and central.policy in POLICIES.values()
        and central.poller is None  # a policy that polls runs on its clock, in the loop
        and not engine.faults.explicit
        and engine.jobs_submitted == 0
        and bool(nodes)
        and not central.offline
        and len({n.node_id for n in nodes}) == len(nodes)
        and all(
            n.role is Role.ANY
            and not n.mtbf
            and not n.reporting_time
            and not n.cleanup_time
            and min(n.cores, n.mem_mb, n.disk_mb) >= 0
            for n in nodes
        )
        and len({n.speed for n in nodes}) == 1
    )


class _Kind:
    """What the batch loop needs of one spec: its shape, its templates, its timing."""

    __slots__ = ("c", "streams", "k", "stage", "templates", "slot_names", "slot_roles", "random",
                 "all_key", "executor", "speed", "shape", "start_rows", "end_rows", "one",
                 "fixed")  # fmt: skip

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
        self.slot_roles = roles = tuple(s.role.value for s in c.slots)
        t = store.template  # the store's own, so its blocks and ours share patterns
        #: per job: submit; assign, bind, start; finish, release (see Store)
        self.templates: tuple[Template, ...] = (
            t(("assign", names, roles), assign_template, names, roles),
            t(("states", k, BOUND), states_template, k, BOUND),
            t(("start", shape, names), start_template, shape, names),
            t(("finish", shape, names), finish_template, shape, names),
            t(("states", k, RELEASED), states_template, k, RELEASED),
        )
        assign, bound, start, finish, released = self.templates
        #: rows logged when a job starts, and when it ends
        self.start_rows = assign.size + bound.size + start.size
        self.end_rows = finish.size + released.size
        #: True when each slot draws its own duration (they may then differ)
        self.random = any(key[0] == stage.index for key in c.positions)
        self.all_key = (stage.name, ALL_NODES, stage.tasks[0].name)
        self.executor: SimulatedExecutor = engine.executor
        self.speed: float = engine.central.nodes[0].speed
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
    _Batch(engine).run()


class _Batch:
    """The batch loop, and the view queue policies see while it runs (the central's
    view, :mod:`benchhub_sim.sched.policies`)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        central = engine.central
        self.policy = central.policy
        self.free: list[int] = central._free  # sorted cluster indices, updated in place
        self.total_nodes = len(central.nodes)
        self.queue: JobQueue[_Job] = JobQueue()  # the policy's queue
        #: fcfs's queue instead: it only ever starts the job at the head
        self.fifo: deque[_Job] | None = deque() if self.policy is fcfs else None
        self.running_jobs: dict[int, _Job] = {}
        self.heap: list[tuple[float, int, _Job]] = []  # (end, start order, job)
        self.log = _Log(engine)
        self.now = engine.loop.now
        self.seq = self.log.history.seq
        self.order = 0
        #: as the central's: bumped when a job starts or ends (policies compare it)
        self.version = 0
        #: none when the central keeps none: every pass a full pass, as in the general loop
        self.memo: dict[str, Any] | None = {} if central.memo is not None else None

    # -- the view ---------------------------------------------------------------------

    def queued(self) -> Iterator[_Job]:
        return iter(self.queue)

    def queue_mark(self) -> int:
        return self.queue.appended

    def queued_since(self, mark: int) -> Iterator[_Job]:
        return self.queue.since(mark)

    def free_count(self) -> int:
        return len(self.free)

    def running(self) -> Any:
        return self.running_jobs.values()

    def try_start(self, job: _Job) -> bool:
        if not job.queued or job.n_nodes > len(self.free):
            return False
        self.queue.remove(job)
        self._start(job)
        return True

    def _start(self, job: _Job) -> None:
        """Bind the lowest-numbered free nodes to ``job`` (off the queue) and start it.

        What a policy's ``try_start`` does; :meth:`run` does the same inline for fcfs."""
        free, now, k = self.free, self.now, job.n_nodes
        job.nodes = free[:k]
        del free[:k]
        job.start = now
        job.start_seq = self.seq
        self.seq += job.kind.start_rows  # assign, bind, start
        end = now + job.time
        self.order += 1
        heapq.heappush(self.heap, (end if end > now else now, self.order, job))
        self.running_jobs[job.job_id] = job
        self.version += 1
        self.log.started.append(job)

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        engine = self.engine
        loop = engine.loop
        central = engine.central
        log = self.log
        kinds: dict[int, _Kind | None] = {}
        queue, fifo, free, heap = self.queue, self.fifo, self.free, self.heap
        running_jobs = self.running_jobs
        submitted_log, started_log, ended_log = log.submitted, log.started, log.ended
        policy = self.policy if fifo is None else None  # fcfs: inline below
        hook = central.on_job_end
        ids = engine._ids
        next_id = engine._next_id
        arrivals: Iterator[JobRequest] = engine._arrivals
        push, pop = heapq.heappush, heapq.heappop
        # the loop's own state in locals; self's copy is current while a policy runs
        now, seq, order = self.now, self.seq, self.order
        emit_at = log.emit_at
        events = ended = submitted = 0
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
                # -- an arrival: URGENT, before anything else at its time -------------
                key = id(req.spec)
                if key in kinds:
                    kind = kinds[key]
                else:
                    kind = kinds[key] = _kind(engine, req.spec)
                # Engine.new_job's id and draws, inline: a job of a kind it cannot take
                # leaves both to the general loop; one whose durations turn out unequal
                # is handed over as the JobRun new_job would have made
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
                job = _Job(job_id, kind, req, draws, now, seq, d)
                seq += 1
                if fifo is not None:
                    fifo.append(job)
                else:
                    queue.append(job)
                submitted_log.append(job)
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
                # -- a completion: NORMAL, in the order the jobs started --------------
                now, _, job = pop(heap)
                events += 1
                job.end = now
                job.end_seq = seq
                seq += job.kind.end_rows  # finish, then release
                if policy is not None:
                    del running_jobs[job.job_id]
                    self.version += 1
                for i in job.nodes:
                    insort(free, i)
                ended += 1
                ended_log.append(job)
                if hook is not None:
                    hook(central.jobs_ended + ended, now)
                pending = True
            elif pending:
                # -- a scheduling pass: LATE, once everything else at ``now`` is done -
                events += 1
                pending = False
                if fifo is not None:
                    # fcfs, as _start does it: in submit order while the first one fits
                    while fifo and fifo[0].n_nodes <= len(free):
                        job = fifo.popleft()
                        job.queued = False
                        k = job.n_nodes
                        job.nodes = free[:k]
                        del free[:k]
                        job.start = now
                        job.start_seq = seq
                        seq += job.kind.start_rows  # assign, bind, start
                        end = now + job.time
                        order += 1
                        push(heap, (end if end > now else now, order, job))
                        started_log.append(job)
                elif queue.size and free and policy is not None:
                    self.now, self.seq, self.order = now, seq, order
                    policy(self)
                    seq, order = self.seq, self.order
                    queue.compact()
            else:
                break
            if seq >= emit_at:
                log.emit(seq)
                emit_at = log.emit_at
        log.emit(seq)
        self.now, self.seq, self.order = now, seq, order
        loop.now = now
        loop.events_run += events
        central.jobs_ended += ended
        engine.jobs_submitted += submitted
        engine.batch_jobs += submitted
        engine.batch_started += submitted
        engine._next_id = next_id
        engine._last_submit = last_submit
        if handed is None:
            engine._arrivals = None
            return
        _hand_over(engine, self, pending, handed, arrivals)


class _Log:
    """The batch loop's records since the last hand-over to the store."""

    def __init__(self, engine: Any) -> None:
        self.store: Store = engine.store
        self.history = self.store.history
        self.names = [n.node_id for n in engine.central.nodes]
        self.node_ids = pa.array(self.names, pa.string())
        self.check = self.store.check
        self.submitted: list[_Job] = []
        self.started: list[_Job] = []
        self.ended: list[_Job] = []
        self.every = min(_EMIT_ROWS, self.history.flush_rows)
        self.emit_at = self.history.seq + self.every  # hand over when seq gets there
        self.busy: dict[int, int] = {}  # check: node index -> job id holding it
        self.slot_code: dict[str, int] = {}  # slot names of the jobs ended so far
        self.slot_codes: dict[int, list[int]] = {}  # id(kind) -> its slots' codes

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
                np.array([r.sub_seq for r in sub], np.int64),
                np.array([r.arrived for r in sub], np.float64),
                np.array([r.job_id for r in sub], np.int64),
                pa.array([], pa.string()),
            )
        for kind, recs in _by_kind(self.started):
            k = kind.k
            first = np.array([r.start_seq for r in recs], np.int64)
            times = np.array([r.start for r in recs], np.float64)
            job_ids = np.array([r.job_id for r in recs], np.int64)
            nodes = self._nodes(recs, k)
            exact = pa.array(["exact"], pa.string()).take(np.zeros(len(nodes), np.int64))
            assign, bound, start, _, _ = kind.templates
            history.blocks(assign, first, times, job_ids, nodes, exact)
            history.blocks(bound, first + k, times, job_ids, nodes)
            history.blocks(start, first + 2 * k, times, job_ids, nodes)
        for kind, recs in _by_kind(self.ended):
            k = kind.k
            first = np.array([r.end_seq for r in recs], np.int64)
            times = np.array([r.end for r in recs], np.float64)
            job_ids = np.array([r.job_id for r in recs], np.int64)
            nodes = self._nodes(recs, k)
            _, _, _, finish, released = kind.templates
            history.blocks(finish, first, times, job_ids, nodes)
            history.blocks(released, first + finish.size, times, job_ids, nodes)
        if self.ended:
            self._end(self.ended)
        history.seq = seq
        self.emit_at = seq + self.every
        # emptied in place: the batch loop holds their append methods
        del self.submitted[:], self.started[:], self.ended[:]
        history.maybe_flush()

    def _end(self, ended: list[_Job]) -> None:
        """Give the job store the rows of ``ended`` jobs, of any kinds, as one part (a
        part per kind would leave thousands of tiny Arrow arrays behind in a trace of
        many job shapes)."""
        slot_code = self.slot_code
        for kind in {id(r.kind): r.kind for r in ended}.values():
            if id(kind) not in self.slot_codes:
                self.slot_codes[id(kind)] = [
                    slot_code.setdefault(name, len(slot_code)) for name in kind.slot_names
                ]
        codes = self.slot_codes
        slots = pa.DictionaryArray.from_arrays(
            pa.array([c for r in ended for c in codes[id(r.kind)]], pa.int32()),
            pa.array(list(slot_code), pa.string()),
        )
        index = np.array([i for r in ended for i in r.nodes], np.int64)  # node of each unit
        nodes = self.node_ids.take(index)
        starts = np.array([r.start for r in ended], np.float64)
        width = np.array([r.n_nodes for r in ended], np.int64)
        roles = pa.array([role for r in ended for role in r.kind.slot_roles], pa.string())
        assigned = assignments_batch(
            np.array([r.job_id for r in ended], np.int64), starts, width, slots, roles, nodes,
            repeat("exact", pa.string(), len(index)),  # as the assign events say
        )  # fmt: skip
        self.store.jobs.end_simple(
            _jobs_batch(ended), [r.kind.shape for r in ended], starts, slots, nodes, assigned
        )
        # the nodes are idle again, as they were; their heartbeat is their last event's
        last = np.full(len(self.names), -np.inf)
        np.maximum.at(last, index, np.repeat([r.end for r in ended], width))
        heard = np.flatnonzero(last > -np.inf)
        self.store.nodes.heard([self.names[i] for i in heard], last[heard].tolist())

    def _nodes(self, recs: list[_Job], k: int) -> pa.Array:
        """The node ids of each record's nodes, one record after the other."""
        if k == 1:
            index = np.array([r.nodes[0] for r in recs], np.int64)
        else:
            index = np.array([r.nodes for r in recs], np.int64).reshape(-1)
        return self.node_ids.take(index)

    def _check(self) -> None:
        """What the store's state machine checks, over the whole hand-over at once: a
        job is submitted once, starts queued on free nodes, ends running and frees them."""
        status = self.store.jobs.status
        busy = self.busy
        for r in self.submitted:
            if status(r.job_id) is not None:
                raise StoreError(f"job {r.job_id}: submitted twice (batch mode)")
        events = sorted(
            [(r.start_seq, 0, r) for r in self.started] + [(r.end_seq, 1, r) for r in self.ended],
            key=lambda e: e[0],
        )
        for _, ending, r in events:
            job_id = r.job_id
            if not r.arrived <= r.start <= (r.end if ending else r.start):
                raise StoreError(f"job {job_id}: times out of order (batch mode)")
            for i in r.nodes:
                held = busy.get(i)
                if ending:
                    if held != job_id:
                        raise StoreError(f"job {job_id}: ends on node {i} it does not hold")
                    del busy[i]
                elif held is not None:
                    raise StoreError(f"job {job_id}: node {i} is already running job {held}")
                else:
                    busy[i] = job_id


def _jobs_batch(jobs: list[_Job]) -> pa.RecordBatch:
    """The ``jobs`` rows of finished ``jobs`` (what the store's snapshot gives)."""
    n = len(jobs)
    kinds = {id(j.kind): j.kind for j in jobs}
    which = {key: i for i, key in enumerate(kinds)}
    per_job = pa.array([which[id(j.kind)] for j in jobs], pa.int32())

    def by_kind(values: list[Any], typ: pa.DataType) -> pa.Array:
        return pa.array(values, typ).take(per_job)

    def const(value: Any, typ: pa.DataType) -> pa.Array:
        return repeat(value, typ, n)

    specs = [k.c for k in kinds.values()]
    shapes = [k.shape for k in kinds.values()]
    stop = pa.array([j.end for j in jobs], pa.float64())
    columns = {
        "job_id": pa.array([j.job_id for j in jobs], pa.int64()),
        "name": by_kind([c.name for c in specs], _DICT),
        "submit_time": pa.array([j.arrived for j in jobs], pa.float64()),
        "start_time": pa.array([j.start for j in jobs], pa.float64()),
        "stop_time": stop,
        "status": const("finished", _DICT),
        "n_nodes": by_kind([k.k for k in kinds.values()], pa.int32()),
        "walltime": pa.array([j.walltime for j in jobs], pa.float64()),
        "priority": pa.array([j.priority for j in jobs], pa.float64()),
        "current_pipeline": by_kind([s.pipeline for s in shapes], pa.int32()),
        "foreground_stages": const([], pa.list_(pa.int32())),
        "background_stages": const([], pa.list_(pa.int32())),
        "finished_stages": by_kind([[s.stage] for s in shapes], pa.list_(pa.int32())),
        "reason": pa.nulls(n, pa.string()),
        "raw_spec": by_kind([c.raw_spec for c in specs], _DICT),
        "spec_hash": by_kind([c.spec_hash for c in specs], _DICT),
        "create_time": pa.array([j.arrived for j in jobs], pa.float64()),
        "update_time": stop,
        "n_pipelines": by_kind([len(c.pipelines) for c in specs], pa.int32()),
        "n_task_pipelines": by_kind(
            [c.submit_info["n_task_pipelines"] for c in specs], pa.list_(pa.int32())
        ),
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in JOBS_SCHEMA], schema=JOBS_SCHEMA)


def _by_kind(recs: list[_Job]) -> list[tuple[_Kind, list[_Job]]]:
    """``recs`` grouped by kind, in order within each group."""
    if not recs:
        return []
    first = recs[0].kind
    if all(r.kind is first for r in recs):
        return [(first, recs)]
    groups: dict[int, tuple[_Kind, list[_Job]]] = {}
    for r in recs:
        kind = r.kind
        group = groups.get(id(kind))
        if group is None:
            group = groups[id(kind)] = (kind, [])
        group[1].append(r)
    return list(groups.values())


def _hand_over(
    engine: Any, batch: _Batch, pending: bool, handed: JobRequest | JobRun,
    arrivals: Iterator[JobRequest],
) -> None:  # fmt: skip
    """Give the general loop the batch loop's live jobs, then the job it stopped at."""
    loop = engine.loop
    central = engine.central
    store = engine.store
    nodes = central.nodes
    running = sorted(batch.heap, key=lambda e: (e[0], e[1]))  # in the order they end
    queued = list(batch.fifo if batch.fifo is not None else batch.queue)
    engine.batch_started -= len(queued)  # the general loop starts them
    history, store.history = store.history, _Unlogged()  # rows are logged: rebuild only
    try:
        runs = {}
        for job in sorted([j for _, _, j in running] + queued, key=lambda j: j.sub_seq):
            runs[job.job_id] = _resubmit(store, job)
        for end, _, job in running:
            run = runs[job.job_id]
            bindings = tuple(
                Binding(slot, nodes[i], "exact")
                for slot, i in zip(job.kind.c.slots, job.nodes, strict=True)
            )
            rows = binding_rows(bindings)
            store.bind(job.start, job.job_id, rows)
            store.start_simple(job.start, job.job_id, job.kind.shape, [r[:2] for r in rows])
            run.queued = False
            run.bindings = bindings
            run.start = job.start
            run.node_ids = tuple(b.node.node_id for b in bindings)
            run.n_nodes = len(run.node_ids)
            run.pipeline = 0
            run.simple = bindings
            for node_id in run.node_ids:
                central.node_job[node_id] = run
            central._running[run.job_id] = run
            loop.at(end, engine.dispatcher._finish_simple, run)
        for job in queued:
            central.queue.append(runs[job.job_id])
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


def _resubmit(store: Store, job: _Job) -> JobRun:
    """The snapshot row and the general loop's job object of a job the batch loop
    submitted."""
    c = job.kind.c
    run = JobRun(job.job_id, job.req, c, job.draws)
    run.n_nodes = job.n_nodes
    store.add_job(
        job.arrived, job.job_id, c.name, n_nodes=len(c.slots), walltime=run.walltime,
        priority=run.priority, **c.submit_info,
    )  # fmt: skip
    return run
