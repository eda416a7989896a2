"""The central: job queue, node pool, scheduling passes, node failures.

It is the ``view`` that queue policies see (:mod:`benchhub_sim.sched.policies`).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.engine.loop import LATE, EventLoop
from benchhub_sim.engine.parts import EngineStore
from benchhub_sim.engine.polling import Poller
from benchhub_sim.engine.state import JobRun
from benchhub_sim.errors import ScheduleError, WorkloadError
from benchhub_sim.sched.assign import (
    Binding,
    SlotRanks,
    min_nodes,
    node_matches,
    try_assign,
    unschedulable_reason,
)


class Queueable(Protocol):
    """What a :class:`JobQueue` needs of a job."""

    queued: bool
    qseq: int


J = TypeVar("J", bound=Queueable)


class _Moved:
    """Where a job was before :meth:`JobQueue.push_back` moved it: keeps the ranks sorted."""

    __slots__ = ("qseq",)
    queued = False

    def __init__(self, qseq: int) -> None:
        self.qseq = qseq


class JobQueue(Generic[J]):
    """Queued jobs in submit order; removal is O(1) and iteration is safe meanwhile (an
    iteration does not see the jobs appended or pushed back after it began).

    Each job gets a rank in append order (``job.qseq``); :meth:`since` iterates over the
    jobs appended from a given rank on without walking the ones before.
    """

    def __init__(self) -> None:
        self._jobs: list[Any] = []  # jobs, and _Moved where a job was pushed back from
        self._head = 0  # jobs before it are all gone
        self._gone = 0
        self.size = 0
        self.appended = 0  # rank of the next job appended

    def append(self, job: J) -> None:
        job.qseq = self.appended
        self.appended += 1
        self._jobs.append(job)
        self.size += 1

    def remove(self, job: J) -> None:
        job.queued = False
        self.size -= 1
        self._gone += 1

    def push_back(self, job: J) -> None:
        """Move a queued job to the back of the queue (a new rank)."""
        i = bisect_left(self._jobs, job.qseq, lo=self._head, key=_rank)
        self._jobs[i] = _Moved(job.qseq)
        self._gone += 1
        job.qseq = self.appended
        self.appended += 1
        self._jobs.append(job)

    def rotate(self, k: int) -> None:
        """Push the first ``k`` queued jobs to the back, in order (``k`` < :attr:`size`):
        :meth:`push_back` of each head job in turn, without looking for them."""
        jobs = self._jobs
        i = self._head
        moved: list[Any] = []
        while len(moved) < k:
            job = jobs[i]
            if job.queued:
                jobs[i] = _Moved(job.qseq)
                moved.append(job)
            i += 1
        self._gone += k
        for job in moved:
            job.qseq = self.appended
            self.appended += 1
        jobs.extend(moved)

    def __iter__(self) -> Iterator[J]:
        return self._from(self._head)

    def since(self, rank: int) -> Iterator[J]:
        """Queued jobs appended with rank ``rank`` or later, in order."""
        return self._from(bisect_left(self._jobs, rank, lo=self._head, key=_rank))

    def _from(self, i: int) -> Iterator[J]:
        jobs = self._jobs
        end = len(jobs)
        while i < end:
            job = jobs[i]
            if job.queued:
                yield job
            i += 1

    def compact(self) -> None:
        jobs = self._jobs
        while self._head < len(jobs) and not jobs[self._head].queued:
            self._head += 1
            self._gone -= 1
        if self._gone > 1024 and self._gone * 2 > len(jobs) - self._head:
            self._jobs = [j for j in jobs[self._head :] if j.queued]
            self._head = 0
            self._gone = 0
        elif self._head > 1024 and self._head * 2 > len(jobs):
            # drop the started prefix, or every job ever queued stays alive (a new list:
            # an iteration still running keeps the old one)
            self._jobs = jobs[self._head :]
            self._head = 0


def _rank(job: Queueable) -> int:
    return job.qseq


def policy_error(
    policy: Any, error: Exception, now: float, queue: JobQueue[JobRun]
) -> ScheduleError:
    """The error of a policy that raised: its name, the time, the job at the queue's head."""
    name = getattr(policy, "__name__", repr(policy))
    head = next(iter(queue), None)
    job = f"job {head.job_id} at the head of {queue.size} queued" if head else "no job queued"
    return ScheduleError(
        f"policy {name} raised {type(error).__name__}: {error} (at t={now:g} s, {job})"
    )


def binding_rows(bindings: Sequence[Binding]) -> list[tuple[str, str, str, str]]:
    """What :meth:`Store.bind <benchhub_sim.store.store.Store.bind>` takes of bindings:
    (node id, slot name, role the slot asks for, how the node matched it)."""
    return [(b.node.node_id, b.slot.name, b.slot.role.value, b.match) for b in bindings]


class Central:
    """Queue + node pool + policy; starts jobs through the dispatcher."""

    def __init__(
        self,
        loop: EventLoop,
        store: EngineStore,
        cluster: Cluster,
        policy: Any,
        *,
        max_loader_pack: int = 1,
    ) -> None:
        self.loop = loop
        self.store = store
        self.policy = policy
        self.max_loader_pack = max_loader_pack
        self.nodes = list(cluster.nodes)
        self._index = {n.node_id: i for i, n in enumerate(self.nodes)}
        self._free: list[int] = list(range(len(self.nodes)))  # sorted cluster indices
        self._free_nodes: list[Node] | None = None  # the nodes of _free, rebuilt after a change
        self.offline: set[str] = set()
        self.node_job: dict[str, JobRun] = {}
        #: nodes reporting and cleaning up after a job (not free yet) -> that job's id
        self.cleaning: dict[str, int] = {}
        self.queue: JobQueue[JobRun] = JobQueue()
        self._running: dict[int, JobRun] = {}
        self._pending_pass = False
        interval = getattr(policy, "interval", None)
        #: the ticks of a policy that polls (see :mod:`~benchhub_sim.engine.polling`)
        self.poller = (
            Poller(self, interval, getattr(policy, "idle_polls", None))
            if interval is not None
            else None
        )
        self.started = 0  # jobs started so far
        self.dispatcher: Any = None
        self.jobs_ended = 0
        #: progress hook: ``on_job_end(jobs_ended, now)``
        self.on_job_end: Any = None
        self._unschedulable: dict[int, str | None] = {}  # id(compiled spec) -> reason
        self._need: dict[int, int] = {}  # id(compiled spec) -> fewest nodes it runs on
        self._ranks: dict[int, SlotRanks] = {}  # id(compiled spec) -> its node ranks
        #: bumped whenever free nodes, running jobs or queued jobs change other than by
        #: a submission; policies compare it to skip work that would give the same answer
        self.version = 0
        #: what policies keep from one pass to the next (see sched.view.IncrementalView);
        #: None makes every pass a full pass by the policy's plain rule
        self.memo: dict[str, Any] | None = {}

    # -- the view policies see --------------------------------------------------------

    @property
    def now(self) -> float:
        return self.loop.now

    @property
    def total_nodes(self) -> int:
        return len(self.nodes) - len(self.offline)

    def queued(self) -> Iterator[JobRun]:
        return iter(self.queue)

    def queue_mark(self) -> int:
        """Rank of the next job to be queued: :meth:`queued_since` it gives later ones."""
        return self.queue.appended

    def queued_since(self, mark: int) -> Iterator[JobRun]:
        """Queued jobs submitted after :meth:`queue_mark` returned ``mark``, in order."""
        return self.queue.since(mark)

    def free_count(self) -> int:
        return len(self._free)

    def free_indices(self) -> list[int]:
        """The free nodes, as sorted indices into :attr:`nodes` (a copy)."""
        return list(self._free)

    def running(self) -> Any:
        return self._running.values()

    def try_start(self, job: JobRun) -> bool:
        if not job.queued:
            return False
        free = self._free_nodes
        if free is None:
            nodes = self.nodes
            free = self._free_nodes = [nodes[i] for i in self._free]
        c = job.c
        ranks = self._ranks.get(id(c))
        if ranks is None:
            ranks = self._ranks[id(c)] = SlotRanks(c.slots)
        bindings = try_assign(c.slots, free, max_loader_pack=self.max_loader_pack, ranks=ranks)
        if bindings is None:
            return False
        self.queue.remove(job)
        self._bind(job, bindings)
        self.dispatcher.start_job(job)
        return True

    # -- submit, bind, release --------------------------------------------------------

    def adopt(self, job: JobRun, bindings: tuple[Binding, ...]) -> None:
        """Take over ``job``, submitted and started at ``job.start`` on ``bindings`` by
        another path (batch mode's hand-over, :mod:`~benchhub_sim.engine.batch`): its
        nodes are no longer free, it runs. The store logs what it is told as usual
        (wrap the call in :meth:`Store.unlogged <benchhub_sim.store.store.Store.unlogged>`
        when the rows are logged already)."""
        job.queued = False
        self._bind(job, bindings, job.start)

    def enqueue(self, job: JobRun) -> None:
        """Queue ``job``, submitted already (its row is in the store) by another path."""
        self.queue.append(job)
        self.version += 1

    def count_ended(self, n: int) -> None:
        """Count ``n`` jobs that ended on another path (batch mode) as ended."""
        self.jobs_ended += n

    def submit(self, job: JobRun) -> None:
        now = self.loop.now
        c = job.c
        self._record_submit(job)
        key = id(c)
        if key not in self._unschedulable:
            fits = try_assign(c.slots, self.nodes, max_loader_pack=self.max_loader_pack)
            self._unschedulable[key] = (
                None
                if fits
                else unschedulable_reason(c.spec, self.nodes, max_loader_pack=self.max_loader_pack)
            )
            # with loader packing a job may run on fewer nodes than it has slots: policies
            # count nodes, so a queued job's n_nodes is the fewest it can start on
            self._need[key] = min_nodes(c.slots, self.max_loader_pack)
        job.n_nodes = self._need[key]
        reason = self._unschedulable[key]
        if reason is not None:
            job.queued = False
            job.alive = False
            self.store.job(now, job.job_id, "abort", "aborted", detail=f"unschedulable: {reason}")
            self._ended()
            return
        if self.poller is not None:
            self.poller.catch_up()  # the polls skipped before this job joined the queue
        self.queue.append(job)
        self.request_pass()

    def start_bound(self, job: JobRun, node_ids: Sequence[str]) -> None:
        """Submit ``job`` and start it at once on ``node_ids`` (one per slot, in slot order).

        No policy is asked: the job was already running (a warm-started replay). Raises
        :class:`~benchhub_sim.errors.WorkloadError` when the ids do not match the slots
        or a node is unknown, offline or taken.
        """
        c = job.c
        where = f"job {job.job_id}: bind_to"
        if len(node_ids) != len(c.slots):
            raise WorkloadError([f"{where}: {len(node_ids)} node ids for {len(c.slots)} slots"])
        bindings = []
        for slot, node_id in zip(c.slots, node_ids, strict=True):
            i = self._index.get(node_id)
            if i is None:
                raise WorkloadError([f"{where}: node {node_id!r} is not in the cluster"])
            if node_id in self.node_job:
                raise WorkloadError(
                    [f"{where}: node {node_id!r} already runs job {self.node_job[node_id].job_id}"]
                )
            if node_id in self.cleaning:
                raise WorkloadError(
                    [
                        f"{where}: node {node_id!r} still cleans up after job {self.cleaning[node_id]}"
                    ]
                )
            if node_id in self.offline:
                raise WorkloadError([f"{where}: node {node_id!r} is offline"])
            node = self.nodes[i]
            bindings.append(Binding(slot, node, node_matches(slot, node) or "any"))
        self._record_submit(job)
        job.queued = False
        self._bind(job, tuple(bindings))
        self.dispatcher.start_job(job)

    def _record_submit(self, job: JobRun) -> None:
        c = job.c
        self.store.add_job(
            self.loop.now,
            job.job_id,
            c.name,
            n_nodes=len(c.slots),
            walltime=job.walltime,
            priority=job.priority,
            **c.submit_info,
        )

    def _ended(self) -> None:
        self.jobs_ended += 1
        if self.on_job_end is not None:
            self.on_job_end(self.jobs_ended, self.loop.now)

    def abort_queued(self, reason: str) -> None:
        """Abort every queued job (e.g. when the run is interrupted)."""
        now = self.loop.now
        self.version += 1
        for job in list(self.queue):
            self.queue.remove(job)
            job.alive = False
            self.store.job(now, job.job_id, "abort", "aborted", detail=reason)
            self._ended()
        self.queue.compact()

    def request_pass(self) -> None:
        """Run the policy once at this instant, after every release and submit at it (a
        policy that polls: at its next tick)."""
        if self.poller is not None:
            self.poller.wake()
        elif not self._pending_pass:
            self._pending_pass = True
            self.loop.at(self.loop.now, self._pass, None, LATE)

    def _pass(self, _: object) -> None:
        self._pending_pass = False
        if self.queue.size and self._free:
            self._run_policy()

    def poll(self) -> bool:
        """One poll of a polling policy (its tick); True when it started a job. The
        policy runs even when no node is free: it turns the queue all the same."""
        started = self.started
        if self.queue.size:
            self._run_policy()
        return self.started != started

    def _run_policy(self) -> None:
        try:
            self.policy(self)
        except Exception as exc:
            raise policy_error(self.policy, exc, self.now, self.queue) from exc
        self.queue.compact()

    def push_back(self, job: JobRun) -> None:
        """Move a queued job to the back of the queue (BenchHub's ``PushbackJobSpec``)."""
        if job.queued:
            self.queue.push_back(job)
            self.version += 1

    def turn(self, polls: int) -> None:
        """Push the job at the head of the queue to the back, ``polls`` times."""
        if self.queue.size and polls % self.queue.size:
            self.queue.rotate(polls % self.queue.size)
            self.queue.compact()
            self.version += 1

    def _bind(self, job: JobRun, bindings: tuple, time: float | None = None) -> None:
        now = self.loop.now if time is None else time
        store = self.store
        self.version += 1
        self.started += 1
        job.bindings = bindings
        job.start = now
        store.bind(now, job.job_id, binding_rows(bindings))
        job.node_ids = tuple(dict.fromkeys(b.node.node_id for b in bindings))
        job.n_nodes = len(job.node_ids)
        for node_id in job.node_ids:
            self._free.remove(self._index[node_id])
            self.node_job[node_id] = job
        self._free_nodes = None
        self._running[job.job_id] = job

    def release(self, job: JobRun, failed_node: str | None) -> None:
        """Dispatcher callback: the job ended; its nodes report, clean up and become idle.

        A node whose ``reporting_time`` and ``cleanup_time`` are 0 is free at once;
        another one goes through job states ``reporting`` and ``cleanup`` for those
        many seconds first (:meth:`_after_job`).
        """
        now = self.loop.now
        self.version += 1
        self._running.pop(job.job_id, None)
        self._ended()
        back, later = [], []
        for node_id in job.node_ids:
            del self.node_job[node_id]
            if node_id != failed_node and node_id not in self.offline:
                node = self.nodes[self._index[node_id]]
                if node.reporting_time or node.cleanup_time:
                    later.append(node)
                else:
                    back.append(node_id)
                    insort(self._free, self._index[node_id])
        self.store.release(now, job.job_id, back)
        for node in later:
            self.cleaning[node.node_id] = job.job_id
            self._after_job((node, job.job_id, self.store.end_steps(job.job_id), 0))
        self._free_nodes = None
        self.request_pass()

    def _after_job(self, arg: tuple[Node, int, tuple, int]) -> None:
        """Node ``node`` ends its part in job ``job_id``: from step ``k`` of ``steps``
        (finished or error, reporting, cleanup, idle), the steps due now; then waits the
        node's ``reporting_time`` or ``cleanup_time``, or is free. A node that failed
        meanwhile is left alone (it is offline)."""
        node, job_id, steps, k = arg
        node_id = node.node_id
        if self.cleaning.get(node_id) != job_id:
            return  # failed (and maybe recovered) since
        wait = {"reporting": node.reporting_time, "cleanup": node.cleanup_time}
        end = k
        while end < len(steps) and not wait.get(steps[end][1] or "", 0.0):
            end += 1  # steps that take no time, up to the first that does
        end = min(end + 1, len(steps))
        self.store.node_states(self.loop.now, job_id, [node_id], steps[k:end])
        if end < len(steps):
            self.loop.after(wait[steps[end - 1][1]], self._after_job, (node, job_id, steps, end))
            return
        del self.cleaning[node_id]
        self.version += 1
        insort(self._free, self._index[node_id])
        self._free_nodes = None
        self.request_pass()

    # -- when nothing moves -------------------------------------------------------------

    def _fits(self, job: JobRun, nodes: Sequence[Node]) -> bool:
        return try_assign(job.c.slots, nodes, max_loader_pack=self.max_loader_pack) is not None

    def waiting_on_nodes(self) -> bool:
        """True when a queued job that does not fit the free nodes now would fit once
        every offline node is back (a recovery can still change its fate)."""
        if not self.offline or not self.queue.size:
            return False
        free = [self.nodes[i] for i in self._free]
        back = free + [self.nodes[self._index[node_id]] for node_id in sorted(self.offline)]
        return any(not self._fits(job, free) and self._fits(job, back) for job in self.queue)

    def stall_reason(self) -> str:
        """Why the queued jobs cannot start, once nothing runs and nothing will arrive."""
        free = [self.nodes[i] for i in self._free]
        declined = sum(self._fits(job, free) for job in self.queue)
        name = getattr(self.policy, "__name__", repr(self.policy))
        if declined:
            return (
                f"policy {name!r} started none of the {declined} queued job(s) that fit the "
                f"{len(free)} free node(s), with no job running and none left to arrive"
            )
        offline = f"; {len(self.offline)} node(s) offline for good" if self.offline else ""
        return f"no queued job fits the {len(free)} free node(s){offline}"

    # -- node failures ----------------------------------------------------------------

    def fail_node(self, node_id: str, reason: str) -> bool:
        """Take a node offline; its job (if any) aborts. False if it was offline already."""
        if node_id in self.offline:
            return False
        self.offline.add(node_id)
        self.version += 1
        self.store.node(self.loop.now, node_id, "fail", "offline", detail=reason)
        job = self.node_job.get(node_id)
        if job is not None:
            self.dispatcher.fail_node(job, node_id, reason)
        elif self.cleaning.pop(node_id, None) is None:  # a cleaning node is not free
            self._free.remove(self._index[node_id])
            self._free_nodes = None
        return True

    def recover_node(self, node_id: str) -> None:
        if node_id not in self.offline:
            return
        self.offline.discard(node_id)
        self.version += 1
        self.store.node(self.loop.now, node_id, "recover", "idle")
        insort(self._free, self._index[node_id])
        self._free_nodes = None
        self.request_pass()
