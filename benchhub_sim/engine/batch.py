"""Batch mode: uniform simple jobs in one tight loop, with the general loop's rows.

Most of a simple job's time in the general loop goes to bookkeeping whose answer is
known in advance: an event object per arrival, pass and completion, a binding search, a
job object, snapshot rows checked and updated one transition at a time.

It runs when (:func:`ready`, and :func:`_kind` per spec as jobs arrive)

- the engine runs in virtual time with the simulated executor, to the end (no
  ``until``), with ``Engine(batch=True, one_step=True)`` (the defaults) on a
  :class:`~benchhub_sim.store.store.Store` with ``bulk=True`` (the default);
- every job is *simple* (:func:`~benchhub_sim.engine.compiled.simple_stage`) on all
  its slots, each slot of role ``any`` with no selector or requirement, not bound to
  nodes (``bind_to``), and its tasks take equal times on all its nodes (every job of an
  M/M/c model or an SWF trace);
- every node is of role ``any``, all nodes have one speed, and none fails (no
  ``mtbf``, no injected faults) or takes time to report and clean up after a job;
- the policy is one of the built-in ones and does not poll (a policy of one's own may
  look at more of a job than batch mode keeps, so it runs in the general loop).

:func:`run_batch` runs the workload with the rules the general loop obeys, on plain
lists:

- arrivals are taken from the engine's :class:`~benchhub_sim.engine.engine.Arrivals`
  (the general loop's order check and job ids);
- at one instant, arrivals are handled first, then completions in the order their jobs
  started, then one scheduling pass (the loop's priorities ``URGENT``, ``NORMAL``,
  ``LATE``);
- a pass calls the policy with the same view the central gives it (queue, free nodes,
  running jobs, ``try_start``, and what backfilling keeps between passes); ``fcfs``
  runs on a deque instead of the queue (:meth:`_Batch.fcfs`, the same rule);
- a job takes the lowest-numbered free nodes, slot ``i`` the ``i``-th (what
  :func:`~benchhub_sim.sched.assign.try_assign` picks among nodes of role ``any``).

It numbers the rows the general loop logs, with the same ``seq``, and hands its jobs to
the store's :class:`~benchhub_sim.store.bulk.BulkLog` every 65k rows, which checks them
as a whole (with the store's checks on) and logs them as arrays.

At the first job it cannot run this way (another kind of spec, a job bound to nodes,
durations that differ between a job's nodes, a job that can never fit), it hands the
clock (:meth:`EventLoop.advance <benchhub_sim.engine.loop.EventLoop.advance>`), the
running jobs (:meth:`Central.adopt <benchhub_sim.engine.central.Central.adopt>`,
:meth:`Dispatcher.run_simple <benchhub_sim.engine.dispatch.Dispatcher.run_simple>`, the
store's snapshot rebuilt :meth:`~benchhub_sim.store.store.Store.unlogged`), the queue
(:meth:`Central.enqueue <benchhub_sim.engine.central.Central.enqueue>`) and the job it
stopped at (:meth:`Engine.resume_arrivals
<benchhub_sim.engine.engine.Engine.resume_arrivals>`) over to the general loop, which
goes on from there: batch mode never changes a run, it only makes the runs it can take
faster. ``run.json``'s ``paths`` counts the jobs it started (``batch``). The tests
compare both paths table for table (``Engine(batch=False)``, tests/engine/test_batch.py).
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from benchhub_sim.engine.central import JobQueue
from benchhub_sim.engine.compiled import CompiledSpec, CompiledStage
from benchhub_sim.engine.simexec import SimulatedExecutor
from benchhub_sim.engine.state import JobRun
from benchhub_sim.rng import SpecStreams
from benchhub_sim.sched.assign import Binding, Role, min_nodes
from benchhub_sim.sched.policies import POLICIES, fcfs
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.store.bulk import BulkLog, SimpleSpec
from benchhub_sim.store.store import Store
from benchhub_sim.workload.base import ALL_NODES, JobRequest

if TYPE_CHECKING:
    from benchhub_sim.engine.engine import Engine

_INF = float("inf")


class _Job:
    """One job of the batch loop: what queue policies see of a job (``job_id``,
    ``submit``, ``walltime``, ``priority``, ``n_nodes``, ``start``, ``expected_end``)
    and what the store's :class:`~benchhub_sim.store.bulk.BulkLog` reads of it."""

    __slots__ = ("job_id", "kind", "spec", "req", "draws", "submit", "arrived", "sub_seq",
                 "time", "walltime", "priority", "n_nodes", "queued", "qseq", "start",
                 "start_seq", "nodes", "end", "end_seq")  # fmt: skip

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
        self.spec = kind.spec
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


def ready(engine: Engine) -> bool:
    """True when ``engine`` may start its run in batch mode (its own settings allow it;
    each job is looked at as it arrives)."""
    central = engine.central
    nodes = central.nodes
    return (
        type(engine.executor) is SimulatedExecutor
        and engine.dispatcher.one_step
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
    """What the batch loop needs of one spec: its shape, its rows, its timing."""

    __slots__ = ("c", "streams", "k", "stage", "spec", "random", "all_key", "executor",
                 "speed", "start_rows", "end_rows", "one", "fixed")  # fmt: skip

    def __init__(self, engine: Engine, c: CompiledSpec, streams: SpecStreams, log: BulkLog) -> None:
        stage = c.simple_stage
        assert stage is not None and c.simple is not None
        self.c = c
        self.streams = streams
        self.k = k = len(c.slots)
        self.stage: CompiledStage = stage
        #: what the store keeps of the spec
        self.spec = SimpleSpec(
            c.name, c.simple, tuple(s.name for s in c.slots),
            tuple(s.role.value for s in c.slots), **c.submit_info,
        )  # fmt: skip
        #: rows logged when a job starts, and when it ends
        self.start_rows, self.end_rows = log.rows(self.spec)
        #: True when each slot draws its own duration (they may then differ)
        self.random = any(key[0] == stage.index for key in c.positions)
        self.all_key = (stage.name, ALL_NODES, stage.tasks[0].name)
        executor = engine.executor
        assert isinstance(executor, SimulatedExecutor)  # batch mode's condition (ready)
        self.executor = executor
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


def _kind(engine: Engine, spec: JobSpec, log: BulkLog) -> _Kind | None:
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
    return _Kind(engine, c, streams, log)


def run_batch(engine: Engine) -> None:
    """Run ``engine``'s arrivals in batch mode (see the module docstring) until they and
    every job have ended, or hand over to the general loop at the first job it cannot
    take. None of ``engine.arrivals`` may be taken yet."""
    _Batch(engine).run()


class _Batch:
    """The batch loop, and the view queue policies see while it runs (the central's
    view, :mod:`benchhub_sim.sched.policies`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        central = engine.central
        self.policy = central.policy
        #: the central's free nodes, as sorted indices: the batch loop's own from here
        #: on (all of them, as nothing ran yet; see :func:`_hand_over`)
        self.free: list[int] = central.free_indices()
        self.total_nodes = len(central.nodes)
        self.queue: JobQueue[_Job] = JobQueue()  # the policy's queue
        #: fcfs's queue instead: it only ever starts the job at the head (see :meth:`fcfs`)
        self.fifo: deque[_Job] | None = deque() if self.policy is fcfs else None
        self.running_jobs: dict[int, _Job] = {}
        self.heap: list[tuple[float, int, _Job]] = []  # (end, start order, job)
        store = engine.store
        assert isinstance(store, Store)  # batch mode's condition (ready)
        self.log = BulkLog(store, [n.node_id for n in central.nodes])
        self.log_start = self.log.started.append
        self.now = engine.loop.now
        self.seq = self.log.seq
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
        """Start ``job`` (queued) on the lowest-numbered free nodes, slot ``i`` the
        ``i``-th (what :func:`~benchhub_sim.sched.assign.try_assign` picks among nodes
        of role ``any``); False when too few are free."""
        if not job.queued or job.n_nodes > len(self.free):
            return False
        self.queue.remove(job)
        self._start(job)
        # the view's running jobs and version: kept only while a policy looks at them
        # (not for fcfs's deque, see fcfs)
        self.running_jobs[job.job_id] = job
        self.version += 1
        return True

    def _start(self, job: _Job) -> None:
        """Start ``job``, off the queue, on the lowest-numbered free nodes (as many as
        it has slots, which are free)."""
        free, now, k, seq = self.free, self.now, job.n_nodes, self.seq
        job.queued = False
        job.nodes = free[:k]
        del free[:k]
        job.start = now
        job.start_seq = seq
        self.seq = seq + job.kind.start_rows  # assign, bind, start
        end = now + job.time
        self.order = order = self.order + 1
        heapq.heappush(self.heap, (end if end > now else now, order, job))
        self.log_start(job)

    def fcfs(self) -> None:
        """:func:`~benchhub_sim.sched.policies.fcfs` on :attr:`fifo`, the same rule (in
        submit order while the first job fits) without a pass over :attr:`queue`: through
        the queue and the view, batch mode ran M/M/8 ~15% slower (50k jobs, CPU time).
        The tests compare batch mode under ``fcfs`` with the general loop
        (tests/engine/test_batch.py)."""
        fifo, free, start = self.fifo, self.free, self._start
        assert fifo is not None
        while fifo and fifo[0].n_nodes <= len(free):
            start(fifo.popleft())

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        engine = self.engine
        central = engine.central
        log = self.log
        kinds: dict[int, _Kind | None] = {}
        queue, fifo, free, heap = self.queue, self.fifo, self.free, self.heap
        running_jobs = self.running_jobs
        submitted_log, ended_log = log.submitted, log.ended
        policy, fifo_pass = self.policy, self.fcfs
        enqueue = fifo.append if fifo is not None else queue.append
        hook = central.on_job_end
        arrivals = engine.arrivals
        take, claim = arrivals.next, arrivals.claim
        pop = heapq.heappop
        # the loop's own state in locals; self's copy is current while a policy runs
        now, seq = self.now, self.seq
        emit_at = log.emit_at
        events = ended = submitted = 0
        pending = False  # a scheduling pass is due at ``now``
        handed: JobRequest | JobRun | None = None

        req = take()
        ta = _INF
        if req is not None:
            ta = req.submit if req.submit > now else now
        while True:
            if req is not None and (not heap or ta <= heap[0][0]) and (not pending or ta <= now):
                # -- an arrival: URGENT, before anything else at its time -------------
                key = id(req.spec)
                if key in kinds:
                    kind = kinds[key]
                else:
                    kind = kinds[key] = _kind(engine, req.spec, log)
                # a job of a kind it cannot take (or whose id is taken) is the general
                # loop's from the start; one whose durations turn out unequal is handed
                # over as the JobRun Engine.new_job would have made
                if kind is None or req.bind_to is not None:
                    handed = req
                    break
                job_id = claim(req)
                if job_id is None:
                    handed = req  # the general path raises
                    break
                draws, d = kind.draw(req)
                if d is None:
                    handed = JobRun(job_id, req, kind.c, draws)
                    break
                now = ta
                events += 1
                submitted += 1
                job = _Job(job_id, kind, req, draws, now, seq, d)
                seq += 1
                enqueue(job)
                submitted_log.append(job)
                pending = True
                req = take()
                if req is not None:
                    ta = req.submit if req.submit > now else now
            elif heap and (not pending or heap[0][0] <= now):
                # -- a completion: NORMAL, in the order the jobs started --------------
                now, _, job = pop(heap)
                events += 1
                job.end = now
                job.end_seq = seq
                seq += job.kind.end_rows  # finish, then release
                if fifo is None:  # the policy's view (see try_start)
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
                    if fifo and fifo[0].n_nodes <= len(free):
                        self.now, self.seq = now, seq
                        fifo_pass()
                        seq = self.seq
                elif queue.size and free:
                    self.now, self.seq = now, seq
                    policy(self)
                    seq = self.seq
                    queue.compact()
            else:
                break
            if seq >= emit_at:
                log.emit(seq)
                emit_at = log.emit_at
        log.emit(seq)
        self.now, self.seq = now, seq
        engine.loop.advance(now, events)
        central.count_ended(ended)
        left = len(fifo) if fifo is not None else queue.size
        engine.count_batch(submitted, submitted - left)
        if handed is not None:
            _hand_over(engine, self, pending, handed)


def _hand_over(engine: Engine, batch: _Batch, pending: bool, handed: JobRequest | JobRun) -> None:
    """Give the general loop the batch loop's live jobs, then the job it stopped at.

    Their rows are logged already: the store only rebuilds its snapshot of them."""
    central = engine.central
    store = batch.log.store
    nodes = central.nodes
    running = sorted(batch.heap, key=lambda e: (e[0], e[1]))  # in the order they end
    queued = list(batch.fifo if batch.fifo is not None else batch.queue)
    with store.unlogged():
        runs = {}
        for job in sorted([j for _, _, j in running] + queued, key=lambda j: j.sub_seq):
            runs[job.job_id] = _resubmit(store, job)
        for end, _, job in running:
            run = runs[job.job_id]
            bindings = tuple(
                Binding(slot, nodes[i], "exact")
                for slot, i in zip(job.kind.c.slots, job.nodes, strict=True)
            )
            run.start = job.start
            central.adopt(run, bindings)
            engine.dispatcher.run_simple(run, bindings, job.start, end)
        for job in queued:
            central.enqueue(runs[job.job_id])
    if pending:
        central.request_pass()
    engine.resume_arrivals(handed)


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
