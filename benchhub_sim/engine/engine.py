"""One engine, two clocks: wires the loop, the central, the dispatcher and an executor.

The same engine runs a workload in virtual time with the simulated executor, or in wall
time with the local-process executor; both write the same tables through the store.

The general loop (the event loop, :class:`~benchhub_sim.engine.central.Central`, the
:class:`~benchhub_sim.engine.dispatch.Dispatcher` walking a job event by event) runs
every job. Two fast paths take the jobs they can and give the same tables: batch mode
(:mod:`~benchhub_sim.engine.batch`, whole runs of simple jobs, ``batch=False`` turns it
off) and one-step jobs (:mod:`~benchhub_sim.engine.dispatch`, ``one_step=False``).
:attr:`Engine.paths` counts the jobs each path started.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from benchhub_sim.cluster import Cluster
from benchhub_sim.engine import batch
from benchhub_sim.engine.central import Central
from benchhub_sim.engine.compiled import CompiledSpec
from benchhub_sim.engine.dispatch import Dispatcher
from benchhub_sim.engine.faults import Faults
from benchhub_sim.engine.loop import URGENT, EventLoop
from benchhub_sim.engine.parts import Clock, EngineStore, Executor
from benchhub_sim.engine.simexec import SimulatedExecutor
from benchhub_sim.engine.state import JobRun
from benchhub_sim.errors import WorkloadError
from benchhub_sim.rng import Seed, SpecStreams, seed_sequence
from benchhub_sim.sched.policies import Policy, get_policy
from benchhub_sim.spec.model import JobSpec
from benchhub_sim.workload.base import JobRequest


class Engine:
    """Runs a stream of job requests on a cluster and records everything in ``store``.

    Parameters
    ----------
    cluster : Cluster
    store : Store
        Receives every transition (see :class:`benchhub_sim.store.Store`).
    policy : str or callable
        A name in :data:`benchhub_sim.sched.policies.POLICIES` or a policy callable.
    seed : int, numpy Generator or None
        Seeds durations, failure draws and node faults.
    executor : object, optional
        Defaults to the simulated executor (virtual time).
    default_duration : float
        Seconds a simulated task takes when its spec gives no ``duration``.
    max_loader_pack : int
        How many loader slots of one job may share a node (1: none share).
    faults : sequence of (time, node_id, down_seconds), optional
        Explicit node failures, besides the nodes' own ``mtbf``/``mttr``.
    on_job_end : callable, optional
        Called with the number of jobs ended so far (progress bars).
    one_step : bool
        Start and end a simple job (one stage of one task per node, see
        :func:`~benchhub_sim.engine.compiled.simple_stage`) in one loop step each when
        its tasks take equal times. ``False`` runs every job step by step: same tables,
        slower (the reference the tests compare with).
    batch : bool
        Run uniform simple workloads (M/M/c models, SWF traces; any built-in policy) in
        batch mode while they allow it (:mod:`~benchhub_sim.engine.batch`); needs
        ``one_step``.
        ``False``: the general loop throughout. Same tables either way.
    """

    def __init__(
        self,
        cluster: Cluster,
        store: EngineStore,
        *,
        policy: str | Policy = "fcfs",
        seed: Seed = 0,
        executor: Executor | None = None,
        default_duration: float = 1.0,
        max_loader_pack: int = 1,
        faults: Sequence[tuple[float, str, float]] = (),
        walltime_of: Callable[[JobSpec], float] | None = None,
        one_step: bool = True,
        batch: bool = True,
    ) -> None:
        self.loop = EventLoop()
        self.batch = batch
        #: jobs submitted in batch mode (see :mod:`~benchhub_sim.engine.batch`), and the
        #: ones of them it started (the others it handed over queued)
        self.batch_jobs = 0
        self.batch_started = 0
        #: jobs left queued or running when the run could not go on (see :meth:`run`)
        self.stalled: dict[str, Any] | None = None
        self.store = store
        self.cluster = cluster
        self.seed = seed_sequence(seed)
        self.executor = (
            executor
            if executor is not None
            else SimulatedExecutor(self.loop, default_duration=default_duration)
        )
        self.executor.loop = self.loop
        self.central = Central(
            self.loop, store, cluster, get_policy(policy), max_loader_pack=max_loader_pack
        )
        self.dispatcher = Dispatcher(
            self.loop, store, self.executor, self.central.release, one_step=one_step
        )
        self.central.dispatcher = self.dispatcher
        self.executor.dispatcher = self.dispatcher
        self.executor.central = self.central  # executors whose nodes can fail take them offline
        self.default_duration = default_duration
        self._walltime_of = walltime_of or self._estimate
        self._compiled: dict[int, tuple[CompiledSpec, SpecStreams]] = {}
        #: the requests still to arrive, and the job ids taken
        self.arrivals = Arrivals()
        self.jobs_submitted = 0
        self.faults = Faults(self, faults)

    def _estimate(self, spec: JobSpec) -> float:
        from benchhub_sim.spec.walltime import estimate_walltime

        return estimate_walltime(spec, default_task_duration=self.default_duration)

    def compile(self, spec: JobSpec) -> tuple[CompiledSpec, SpecStreams]:
        """The compiled form and random streams of ``spec`` (once per distinct spec object)."""
        entry = self._compiled.get(id(spec))
        if entry is None:
            walltime = spec.walltime if spec.walltime is not None else self._walltime_of(spec)
            c = CompiledSpec(spec, walltime=walltime, raw_spec=_raw(spec))
            streams = SpecStreams(self.seed, len(self._compiled), c.dists)
            entry = self._compiled[id(spec)] = (c, streams)
        return entry

    # -- arrivals ---------------------------------------------------------------------

    def run(
        self,
        workload: Iterable[JobRequest],
        *,
        until: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Submit ``workload`` (in submit order) and run until nothing is left to do.

        With a wall ``clock`` (:class:`~benchhub_sim.clock.WallClock`) the loop
        waits in real time for timers and for the executor's process events.

        The run stops when nothing that is still to happen can change the fate of a
        queued or running job: no arrival pending, no job running, and no offline node
        coming back that would make a queued job fit (:meth:`waits_for_faults`). Node
        failures and recoveries alone never keep it going. Jobs then left queued or
        running are recorded in :attr:`stalled` (``None`` when every job ended).
        """
        for node in self.cluster.nodes:
            self.store.add_node(0.0, node)
        self.arrivals.start(workload)
        wall = clock is not None and clock.kind == "wall"
        if self.batch and until is None and not wall and batch.ready(self):
            with fewer_collections():
                batch.run_batch(self)  # returns done, or handing over to the loop
        else:
            self._next_arrival()
        self.faults.start()
        if clock is not None and wall:
            from benchhub_sim.engine.wall import run_wall

            run_wall(self, clock)
        else:
            with fewer_collections():
                self.loop.run(until, idle=self.waits_for_faults)
        self.stalled = self._stall(until)

    def waits_for_faults(self) -> bool:
        """With only node failures and recoveries left to happen (no arrival pending, no
        job running): True while one of them can still change a queued job's fate, or,
        once every job ended, while a failed node is still to come back (no new failure
        starts then)."""
        if self.done:
            return bool(self.central.offline)
        return self.central.waiting_on_nodes()

    def _stall(self, until: float | None) -> dict[str, Any] | None:
        """What :attr:`stalled` says: the jobs left queued or running, and why."""
        central = self.central
        queued = [job.job_id for job in central.queued()]
        running = [job.job_id for job in central.running()]
        if not queued and not running:
            return None
        if until is not None and self.loop.now >= until:
            reason = f"the run was stopped at t = {until:g} s"
        else:
            reason = central.stall_reason()
        ids = sorted(queued + running)
        return {
            "count": len(ids),
            "queued": len(queued),
            "running": len(running),
            "job_ids": ids[:20],
            "reason": reason,
        }

    @property
    def paths(self) -> dict[str, int]:
        """How many jobs each path ran: started in batch mode (:mod:`~benchhub_sim.engine.batch`),
        started in one step (a simple job, :meth:`Dispatcher.start_job
        <benchhub_sim.engine.dispatch.Dispatcher.start_job>`), or by the general loop step
        by step (with the jobs that never started)."""
        batch, one = self.batch_started, self.dispatcher.one_step_jobs
        return {"batch": batch, "one_step": one, "general": self.jobs_submitted - batch - one}

    def _next_arrival(self) -> None:
        req = self.arrivals.next()
        if req is not None:
            self.loop.at(req.submit, self._arrive, req, URGENT)

    def resume_arrivals(self, first: JobRequest | JobRun) -> None:
        """Go on with the arrivals in the loop from ``first``, the request (or the job
        made of it) that another path took from :attr:`arrivals` and left to the loop
        (batch mode's hand-over, :mod:`~benchhub_sim.engine.batch`)."""
        if isinstance(first, JobRun):
            self.loop.at(first.req.submit, self._admit, first, URGENT)
        else:
            self.loop.at(first.submit, self._arrive, first, URGENT)

    def count_batch(self, submitted: int, started: int) -> None:
        """Count the jobs batch mode submitted, and those of them it started (see
        :attr:`paths`)."""
        self.jobs_submitted += submitted
        self.batch_jobs += submitted
        self.batch_started += started

    def _arrive(self, req: JobRequest) -> None:
        self._admit(self.new_job(req))

    def new_job(self, req: JobRequest) -> JobRun:
        """The job of ``req``: its id (checked unused), compiled spec and draws."""
        job_id = self.arrivals.claim(req)
        if job_id is None:
            raise WorkloadError([f"job id {req.job_id} is used twice"])
        c, streams = self.compile(req.spec)
        return JobRun(job_id, req, c, streams.take() if c.dists else [])

    def _admit(self, job: JobRun) -> None:
        """Submit (or start bound) a job that has just arrived, then wait for the next."""
        req = job.req
        self.jobs_submitted += 1
        if req.bind_to is not None:
            self.central.start_bound(job, req.bind_to)
        else:
            self.central.submit(job)
        self._next_arrival()

    @property
    def done(self) -> bool:
        """True when every submitted job has ended, no more will arrive and no node is
        still cleaning up after a job."""
        central = self.central
        return (
            self.arrivals.requests is None
            and central.jobs_ended == self.jobs_submitted
            and not central.cleaning
        )


class Arrivals:
    """The job requests still to arrive, taken in submit order, and the job ids taken.

    Both the general loop (:meth:`Engine.new_job`) and batch mode take requests and
    ids here, so the two keep one rule for the order of requests and one for ids.
    """

    def __init__(self) -> None:
        #: the requests not taken yet; None once the last one was taken
        self.requests: Iterator[JobRequest] | None = None
        self.ids = TakenIds()
        #: the id of the next request that names none
        self.next_id = 0
        self.last_submit = float("-inf")

    def start(self, requests: Iterable[JobRequest]) -> None:
        self.requests = iter(requests)

    def next(self) -> JobRequest | None:
        """The next request, or None (then :attr:`requests` is None) after the last.

        Raises :class:`~benchhub_sim.errors.WorkloadError` when it comes before the
        one taken last.
        """
        if self.requests is None:
            return None
        req = next(self.requests, None)
        if req is None:
            self.requests = None
            return None
        if req.submit < self.last_submit:
            raise WorkloadError(
                [f"job requests must come in submit order: {req.submit} after {self.last_submit}"]
            )
        self.last_submit = req.submit
        return req

    def claim(self, req: JobRequest) -> int | None:
        """The job id of ``req`` (its own, or the next free one), now taken; None when
        another job took it already."""
        job_id = req.job_id
        if job_id is None:
            job_id = self.next_id
        if job_id in self.ids:
            return None
        self.ids.add(job_id)
        if job_id >= self.next_id:
            self.next_id = job_id + 1
        return job_id


class TakenIds:
    """A set of job ids, compact for the usual ones: a bit per id for ids in
    ``[0, 2**27)`` (16 MiB at most, 1.25 MB for a million jobs numbered from 0, where a
    ``set`` of them takes about 60 MB), a ``set`` for the others.

    >>> ids = TakenIds()
    >>> ids.add(5); ids.add(-1); ids.add(2**40)
    >>> [i in ids for i in (5, 4, -1, 2**40, 10**9)]
    [True, False, True, True, False]
    """

    DENSE = 1 << 27

    def __init__(self) -> None:
        self._bits = bytearray()
        self._others: set[int] = set()

    def __contains__(self, job_id: int) -> bool:
        if 0 <= job_id < self.DENSE:
            byte = job_id >> 3
            return byte < len(self._bits) and bool(self._bits[byte] >> (job_id & 7) & 1)
        return job_id in self._others

    def add(self, job_id: int) -> None:
        """Take ``job_id``."""
        if 0 <= job_id < self.DENSE:
            byte = job_id >> 3
            if byte >= len(self._bits):  # doubling, so adding n ids costs O(n)
                self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
            self._bits[byte] |= 1 << (job_id & 7)
        else:
            self._others.add(job_id)


@contextmanager
def fewer_collections(threshold: int = 50_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often inside the block, and only over the
    objects made inside it (both restored after).

    A run allocates millions of short-lived containers (history rows, snapshot rows,
    events) that reference counting frees. With Python's default first threshold (700
    allocations) the collector runs every few jobs and takes about a quarter of a
    simulation's time; at ``threshold`` it runs ~70x less often and still collects
    every cycle. The objects that existed before the block (a notebook's data, the
    modules) are frozen meanwhile (:func:`gc.freeze`): a full collection inside the
    block does not walk them again, so its cost does not grow with the caller's heap.
    """
    old = gc.get_threshold()
    if 0 < old[0] < threshold:  # 0: collection is off, leave it so
        gc.set_threshold(threshold, *old[1:])
    froze = gc.isenabled() and gc.get_freeze_count() == 0  # not inside another block
    if froze:
        gc.freeze()
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if froze:
            gc.unfreeze()


def _raw(spec: JobSpec) -> str | None:
    """The spec's text for the jobs table: the text it was loaded from, verbatim, else
    dumped as YAML (generated specs of traces have none)."""
    if spec.source is not None:
        return spec.source
    if not spec.stages or spec.dialect == "swf":
        return None
    from benchhub_sim.spec.load import dump_spec

    return dump_yaml(dump_spec(spec))


def dump_yaml(data: Any) -> str:
    """``yaml.safe_dump(data, sort_keys=False)``, by libyaml's emitter when that is the same text.

    A trace of many distinct job shapes dumps one spec per shape (~1 ms each in pure
    Python, ~10x less in C). The two emitters differ only in where they fold a long
    scalar: PyYAML and libyaml fold a plain or single-quoted scalar at a space only once
    a line passed 80 columns, and choose double quotes (which fold differently) only for
    strings with line breaks or unprintable characters. So when every string is
    printable ASCII and no line of libyaml's text reaches 80 columns, neither emitter
    folded and the texts are equal; otherwise the pure-Python emitter is used. (PyYAML
    also writes an empty key as ``? ''``: keys must not be empty.)
    """
    import yaml

    dumper = getattr(yaml, "CSafeDumper", None)
    if dumper is not None and _printable(data):
        text = yaml.dump(data, Dumper=dumper, sort_keys=False)
        if max(map(len, text.splitlines()), default=0) < 80:
            return text
    return yaml.safe_dump(data, sort_keys=False)


def _printable(data: Any) -> bool:
    """True when every string in ``data`` (keys and values, nested) is printable ASCII,
    and no key is empty."""
    if isinstance(data, str):
        return data.isascii() and data.isprintable()
    if isinstance(data, dict):
        return all(k != "" and _printable(k) and _printable(v) for k, v in data.items())
    if isinstance(data, list | tuple):
        return all(_printable(v) for v in data)
    return True


def iter_sorted(requests: Iterable[JobRequest]) -> Iterator[JobRequest]:
    """Requests in submit order: a list is sorted (stably); an iterator must already be."""
    if isinstance(requests, list | tuple):
        return iter(sorted(requests, key=lambda r: r.submit))
    return iter(requests)
