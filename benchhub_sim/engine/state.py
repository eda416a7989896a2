"""Live state of running jobs: a job, its stages on nodes (units), its task attempts.

Plain ``__slots__`` classes: the engine creates one per live entity and drops it when the
entity ends; the history (not these objects) is the record.
"""

from __future__ import annotations

from typing import Any

from benchhub_sim.engine.compiled import CompiledSpec, CompiledStage
from benchhub_sim.sched.assign import Binding
from benchhub_sim.spec.model import Task
from benchhub_sim.workload.base import JobRequest

RUNNING = "running"
BACKGROUND = "background"
DONE = "done"  # finished, failed or stopped: no longer live


class JobRun:
    __slots__ = (
        "job_id",
        "req",
        "c",
        "submit",
        "walltime",
        "priority",
        "draws",
        "queued",
        "bindings",
        "node_ids",
        "start",
        "pipeline",
        "pending",
        "units",
        "alive",
        "qseq",
        "simple",
        "n_nodes",
    )

    def __init__(self, job_id: int, req: JobRequest, c: CompiledSpec, draws: list[float]) -> None:
        self.job_id = job_id
        self.req = req
        self.c = c
        self.submit = req.submit
        self.walltime = req.walltime if req.walltime is not None else c.walltime
        self.priority = req.priority if req.priority is not None else c.priority
        self.draws = draws
        self.queued = True
        self.bindings: tuple[Binding, ...] = ()
        self.node_ids: tuple[str, ...] = ()
        #: distinct nodes the job holds once bound; while queued, the fewest it can run on
        #: (its slots, fewer with loader packing: set by Central.submit)
        self.n_nodes = len(c.slots)
        self.start = 0.0
        self.pipeline = -1
        self.pending = 0
        self.units: list[Unit] = []
        self.alive = True
        self.qseq = -1  # rank in the queue's append order (JobQueue)
        #: bindings of a simple job started in one step (Dispatcher.start_job), else None
        self.simple: tuple[Binding, ...] | None = None

    @property
    def expected_end(self) -> float:
        return self.start + self.walltime

    def __repr__(self) -> str:
        return f"<JobRun {self.job_id} {self.c.name}>"


class Unit:
    """One stage of one job on one bound node."""

    __slots__ = ("job", "stage", "binding", "tp", "pending", "live", "status")

    def __init__(self, job: JobRun, stage: CompiledStage, binding: Binding) -> None:
        self.job = job
        self.stage = stage
        self.binding = binding
        self.tp = -1
        self.pending = 0
        self.live: list[TaskRun] = []  # attempts running or in background
        #: running -> finished (foreground) | ready (background) -> stopped; or aborted
        self.status = "running"


class TaskRun:
    """One attempt of one task of a unit."""

    __slots__ = ("unit", "t", "task", "attempt", "state", "handle", "reason")

    def __init__(self, unit: Unit, t: int, task: Task, attempt: int) -> None:
        self.unit = unit
        self.t = t
        self.task = task
        self.attempt = attempt
        self.state = RUNNING
        self.handle: Any = None  # the executor's own (a process, a timer token)
        self.reason = ""

    @property
    def background(self) -> bool:
        return self.task.background

    def __repr__(self) -> str:
        u = self.unit
        return f"<TaskRun job {u.job.job_id} {u.stage.name}.{self.task.name}@{u.binding.slot.name} #{self.attempt} {self.state}>"
