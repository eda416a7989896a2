"""The simulated executor: tasks take virtual time drawn from their ``duration``.

Durations come, in order of preference, from the job request's observed ``durations``
(replays), from the job's pre-drawn random numbers (common random numbers, see
:mod:`benchhub_sim.rng`), from a constant ``duration``, or from the run's default. A
node's ``speed`` divides them. A background task becomes ready after its own duration
(its start-up time, usually absent) plus its readiness checks' durations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchhub_sim.engine.compiled import CompiledSpec, CompiledStage
from benchhub_sim.engine.state import RUNNING, JobRun, TaskRun
from benchhub_sim.errors import SpecError
from benchhub_sim.plan import command_line
from benchhub_sim.sched.assign import Binding, Slot
from benchhub_sim.spec.model import Driver, Task
from benchhub_sim.workload.base import ALL_NODES, JobRequest


class SimulatedExecutor:
    kind = "simulated"

    def __init__(self, loop: Any, *, default_duration: float = 1.0) -> None:
        self.loop = loop
        self.default_duration = default_duration
        self.dispatcher: Any = None  # set by the engine
        self.central: Any = None  # set by the engine (unused: faults go through Faults)

    def _draw(self, tr: TaskRun, check: int) -> float:
        """Duration of the task (check -1) or of its readiness check ``check``."""
        u = tr.unit
        job = u.job
        return self._draw_in(
            job.c, job.draws, u.stage.index, u.binding.slot.index, tr.t, tr.task, check,
            tr.attempt,
        )  # fmt: skip

    def _draw_in(
        self, c: CompiledSpec, draws: Sequence[float], stage: int, slot: int, t: int,
        task: Task, check: int, attempt: int,
    ) -> float:  # fmt: skip
        """A duration drawn for a job of ``c`` whose draws are ``draws``, else the constant
        or default one."""
        pos = c.positions.get((stage, slot, t, check, attempt, "d"))
        if pos is not None:
            return draws[pos]
        d = task.duration if check < 0 else task.ready[check].duration
        if d is not None:
            return d.param("value")  # a constant: random ones have a position
        return 0.0 if task.driver is Driver.STOPPER else self.default_duration

    @staticmethod
    def _observed(table: Any, tr: TaskRun) -> float | None:
        if not table:
            return None
        u = tr.unit
        return _observed_at(table, u.stage.name, u.binding.slot.name, tr.task.name, tr.attempt)

    def ready_delay(self, tr: TaskRun) -> float:
        """Seconds from a background task's start to its readiness, before node speed."""
        observed = self._observed(tr.unit.job.req.ready_delays, tr)
        if observed is not None:
            return observed
        own = self._draw(tr, -1) if tr.task.duration is not None else 0.0
        return own + sum(self._draw(tr, c) for c in range(len(tr.task.ready)))

    def run_time(self, tr: TaskRun) -> float:
        """Seconds a foreground task runs, before node speed."""
        observed = self._observed(tr.unit.job.req.durations, tr)
        return observed if observed is not None else self._draw(tr, -1)

    def simple_time(
        self, job: JobRun, stage: CompiledStage, bindings: Sequence[Binding]
    ) -> float | None:
        """Seconds every task of a simple job's stage runs (node speed included), or None
        when they differ from node to node (the job then runs step by step)."""
        first = None
        for b in bindings:
            d = self.slot_time(job.c, job.req, job.draws, stage, b.slot) / b.node.speed
            if first is None:
                first = d
            elif d != first:
                return None
        return first

    def slot_time(
        self, c: CompiledSpec, req: JobRequest, draws: Sequence[float], stage: CompiledStage,
        slot: Slot,
    ) -> float:  # fmt: skip
        """Seconds the task of simple stage ``stage`` (its first attempt) runs on ``slot``,
        before node speed, for a job of ``c`` requested by ``req`` with ``draws``."""
        task = stage.tasks[0]
        observed = req.durations
        d = _observed_at(observed, stage.name, slot.name, task.name, 0) if observed else None
        return (
            d if d is not None else self._draw_in(c, draws, stage.index, slot.index, 0, task, -1, 0)
        )

    def command(self, tr: TaskRun) -> str | None:
        """The command line ``tr`` would run: rendered with the addresses of the job's
        nodes (ip, else node id), as the planner renders it; None if it cannot be."""
        u = tr.unit
        static = u.stage.commands[tr.t]
        if static is not None:
            return static
        nodes: dict[str, list[str]] = {}
        for b in u.job.bindings:
            nodes.setdefault(b.slot.assignment, []).append(b.node.address)
        node = u.binding.node
        try:
            this = (u.binding.slot.name, node.node_id, node.address)
            return command_line(tr.task, nodes, this, True)
        except SpecError:
            return None

    def start(self, tr: TaskRun) -> None:
        speed = tr.unit.binding.node.speed
        if tr.background:
            self.loop.after(self.ready_delay(tr) / speed, self._ready, tr)
            return
        d = self.run_time(tr) / speed
        fail = False
        if tr.task.fail_prob > 0:
            u = tr.unit
            pos = u.job.c.positions[
                (u.stage.index, u.binding.slot.index, tr.t, -1, tr.attempt, "f")
            ]
            fail = u.job.draws[pos] < tr.task.fail_prob
        if tr.task.timeout is not None and d > tr.task.timeout:
            self.loop.after(tr.task.timeout, self._timeout, tr)
        else:
            self.loop.after(d, self._fail if fail else self._finish, tr)

    def stop(self, tr: TaskRun) -> None:
        """Nothing to kill: the pending callback sees the task is no longer running."""

    def _finish(self, tr: TaskRun) -> None:
        if tr.state is RUNNING:
            self.dispatcher.task_exit(tr, 0)

    def _fail(self, tr: TaskRun) -> None:
        if tr.state is RUNNING:
            self.dispatcher.task_exit(tr, 1, f"simulated failure (fail_prob={tr.task.fail_prob:g})")

    def _timeout(self, tr: TaskRun) -> None:
        if tr.state is RUNNING:
            self.dispatcher.task_exit(tr, -9, f"timeout after {tr.task.timeout:g} s")

    def _ready(self, tr: TaskRun) -> None:
        if tr.state is RUNNING:
            self.dispatcher.task_ready(tr)


def _observed_at(table: Any, stage: str, slot: str, task: str, attempt: int) -> float | None:
    """A recorded duration: of this attempt, else of the task on this node, else on every node."""
    key = (stage, slot, task)
    value = table.get((*key, attempt))  # this very attempt, when recorded
    if value is None:
        value = table.get(key)
    if value is None:  # one duration for every node (traces record one per job)
        value = table.get((stage, ALL_NODES, task))
    return value
