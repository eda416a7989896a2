"""The engine side of real execution: task attempts handed to agents, their events back.

:class:`AgentExecutor` is what the dispatcher drives (``start``/``stop``, then the
callbacks ``task_exit``/``task_ready`` through :meth:`~AgentExecutor.poll`, as
:mod:`benchhub_sim.engine.wall` expects). It renders each attempt's templates with the
addresses of the job's nodes, hands a :class:`~benchhub_sim.engine.agent.TaskCommand`
to the agent of the node, and turns the agents' :class:`~benchhub_sim.engine.agent.Report`
back into callbacks. Stoppers are run here: a stopper ends when every attempt it
stopped is gone, on whatever node. What agents observe (metrics, results, remote log
bytes) is kept in the run directory.

How agents are reached is a subclass's business: in this process
(:class:`~benchhub_sim.engine.local.LocalExecutor`) or on Dask workers
(:class:`~benchhub_sim.engine.dask_agents.DaskExecutor`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa

from benchhub_sim.clock import monotonic
from benchhub_sim.cluster import Node
from benchhub_sim.engine.agent import Report, TaskCommand
from benchhub_sim.engine.observe import Observations, Scope
from benchhub_sim.engine.procs import EXIT_CANNOT_START, kill_marked, log_stem
from benchhub_sim.engine.state import JobRun, TaskRun, Unit
from benchhub_sim.errors import SpecError
from benchhub_sim.plan import PlannedTask, plan_task
from benchhub_sim.spec.model import Driver

Callback = tuple[Callable[[Any], object], Any]
#: an operation for an agent: ("start", TaskCommand) | ("stop", key) | ("snapshot", Scope, kind)
Op = tuple[Any, ...]

#: stage events after which a stage is over on its node (its "after" snapshot)
_STAGE_ENDS = frozenset({"stage_finish", "stage_stop", "stage_abort"})


def task_key(tr: TaskRun) -> str:
    """How the engine side and an agent name one task attempt (unique within a run)."""
    u = tr.unit
    return f"{u.job.job_id}/{u.binding.slot.name}/{u.stage.name}/{tr.task.name}/{tr.attempt}"


def apply_op(agent: Any, op: Op) -> None:
    """Do ``op`` on ``agent`` (an :class:`~benchhub_sim.engine.agent.Agent`)."""
    name = op[0]
    if name == "start":
        agent.start(op[1])
    elif name == "stop":
        agent.stop(op[1])
    elif name == "snapshot":
        agent.snapshot(Scope(*op[1]), op[2])
    # "touch" (a remote agent's lease) needs nothing here


class AgentExecutor:
    """Runs task attempts through agents (see the module docstring).

    Parameters
    ----------
    root : path
        The run directory (``logs/`` of remote agents are written here).
    run_id : str
        Every process gets it as ``BENCHHUB_RUN_ID``.
    grace : float
        Seconds between SIGTERM and SIGKILL when a task is stopped.
    ready_timeout : float
        Readiness timeout of background tasks that give none.
    tick : float
        Seconds between two looks at the agents while waiting.
    metrics_interval : float or None
        Seconds between metric samples (None: agents measure nothing).
    sink : callable, optional
        ``sink(table, batch)`` for the ``metrics`` and ``results`` rows (the run writer's).
    """

    kind = "agents"

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        run_id: str,
        grace: float = 3.0,
        ready_timeout: float = 60.0,
        tick: float = 0.01,
        metrics_interval: float | None = 1.0,
        sink: Callable[[str, pa.RecordBatch], None] | None = None,
    ) -> None:
        # tasks run in their own cwd: paths handed to them must be absolute
        self.root = Path(root).resolve()
        self.run_id = run_id
        self.grace = grace
        self.ready_timeout = ready_timeout
        self.tick = tick
        self.metrics_interval = metrics_interval
        self.observations = Observations(sink)
        self.loop: Any = None  # set by the engine
        self.dispatcher: Any = None  # set by the engine
        self.central: Any = None  # set by the engine
        self._live: dict[str, TaskRun] = {}  # started, not ended: by key
        self._stopping: dict[str, TaskRun] = {}  # stopped, not gone yet
        self._stoppers: list[TaskRun] = []
        self._pending: list[Callback] = []

    # -- what a subclass provides ------------------------------------------------------

    def address(self, node: Node) -> str:
        """What templates render as the address of ``node``."""
        return node.address

    def send(self, node_id: str, op: Op) -> None:
        """Hand ``op`` to the agent of node ``node_id``."""
        raise NotImplementedError

    def collect(self) -> list[Report]:
        """The reports agents made since the last call (does not wait)."""
        raise NotImplementedError

    def wait(self, seconds: float | None) -> None:
        """Wait up to ``seconds`` (None: a tick) for agents to have something to report."""
        raise NotImplementedError

    # -- the executor contract ---------------------------------------------------------

    def start(self, tr: TaskRun) -> None:
        """Start attempt ``tr``; its end or readiness comes back through :meth:`poll`."""
        if tr.task.driver is Driver.STOPPER:
            self._stoppers.append(tr)  # its targets are being stopped: done when they are gone
            return
        u = tr.unit
        try:
            planned = self._render(tr)
        except SpecError as exc:
            reason = f"cannot render the task: {exc}"
            self._pending.append((self._report_exit, (tr, EXIT_CANNOT_START, reason)))
            return
        key = task_key(tr)
        ready = tr.task.ready
        cmd = TaskCommand(
            key,
            _scope(u, tr),
            planned,
            background=tr.background,
            timeout=tr.task.timeout,
            ready_timeout=(
                tr.task.ready_timeout if tr.task.ready_timeout is not None else self.ready_timeout
            ),
            check_timeouts=tuple(check.timeout for check in ready),
        )
        tr.handle = key
        self._live[key] = tr
        self.send(u.binding.node.node_id, ("start", cmd))

    def stop(self, tr: TaskRun) -> None:
        """Stop attempt ``tr``: SIGTERM to its group, SIGKILL after the grace period."""
        if tr in self._stoppers:
            self._stoppers.remove(tr)
            return
        key = tr.handle
        if key is None or self._live.pop(key, None) is None:
            return
        tr.handle = None
        self._stopping[key] = tr
        self.send(tr.unit.binding.node.node_id, ("stop", key))

    def busy(self) -> bool:
        """Something still runs, ends, or waits to be reported."""
        return bool(self._live or self._stopping or self._stoppers or self._pending)

    def poll(self, timeout: float | None) -> list[Callback]:
        """Wait up to ``timeout`` seconds (None: until something happens) for events.

        Returns
        -------
        list of (callback, arg)
            Dispatcher callbacks for the tasks that ended or became ready.
        """
        deadline = None if timeout is None else monotonic() + timeout
        while True:
            out, self._pending = self._pending, []
            for report in self.collect():
                self.apply(report, out)
            self._end_stoppers(out)
            self.observations.maybe_flush()
            now = monotonic()
            if out or (deadline is None and not self.busy()):
                return out
            if deadline is not None and now >= deadline:
                return out
            self.wait(None if deadline is None else deadline - now)

    def post(self, callback: Callable[[Any], object], arg: Any = None) -> None:
        """Have ``callback(arg)`` run in the engine's thread at the next poll (signal handlers)."""
        self._pending.append((callback, arg))

    def command(self, tr: TaskRun) -> str | None:
        """The command line ``tr`` runs (:attr:`PlannedTask.line
        <benchhub_sim.plan.PlannedTask.line>`: templates rendered with the job's node
        addresses); None when it cannot be rendered (the task then fails to start)."""
        try:
            return self._render(tr).line
        except SpecError:
            return None

    def log_path(self, tr: TaskRun) -> str | None:
        """The stdout log of ``tr``, relative to the run directory (None for stoppers)."""
        if tr.task.driver is Driver.STOPPER:
            return None
        u = tr.unit
        stem = log_stem(u.job.job_id, u.binding.slot.name, u.stage.name, tr.task.name, tr.attempt)
        return stem + ".out"

    def observe(self, event: str, job: JobRun, unit: Unit | None) -> None:
        """Dispatcher hook: a job or a stage on a node started or ended; the agents take
        a system snapshot before and after each (store2018.md)."""
        if self.metrics_interval is None:
            return
        if unit is not None:
            if event != "stage_start" and event not in _STAGE_ENDS:
                return
            kind = "before" if event == "stage_start" else "after"
            node_id = unit.binding.node.node_id
            scope = Scope(node_id, job.job_id, unit.binding.slot.name, unit.stage.name)
            self.send(node_id, ("snapshot", tuple(scope), kind))
            return
        kind = "before" if event == "start" else "after"
        for node_id in job.node_ids:
            self.send(node_id, ("snapshot", tuple(Scope(node_id, job.job_id)), kind))

    def sweep(self) -> int:
        """SIGKILL every process on this machine that carries this run's
        ``BENCHHUB_RUN_ID`` (strays that left their process group); returns how many."""
        return kill_marked("BENCHHUB_RUN_ID", self.run_id)

    # -- reports -----------------------------------------------------------------------

    def apply(self, report: Report, out: list[Callback]) -> None:
        """Turn one agent report into callbacks (``out``) and kept observations."""
        for event in report.events:
            kind, key = event[0], event[1]
            if kind == "exit":
                tr = self._live.pop(key, None)
                if tr is not None:
                    tr.handle = None
                    out.append((self._report_exit, (tr, int(event[2]), event[3])))
            elif kind == "ready":
                tr = self._live.get(key)
                if tr is not None:
                    out.append((self._report_ready, tr))
            elif kind == "gone":
                self._stopping.pop(key, None)
        self.observations.add(report.metrics, report.results)
        for problem in report.problems:
            self.observations.problem(problem)
        for rel, offset, data in report.logs:
            self._write_log(rel, offset, data)

    def forget_node(self, node_id: str) -> None:
        """The agent of ``node_id`` is gone: nothing of it will be reported again."""
        for key, tr in list(self._stopping.items()):
            if tr.unit.binding.node.node_id == node_id:
                del self._stopping[key]
        for key, tr in list(self._live.items()):
            if tr.unit.binding.node.node_id == node_id:
                del self._live[key]
                tr.handle = None

    def _end_stoppers(self, out: list[Callback]) -> None:
        for st in list(self._stoppers):
            if not any(_is_target(st, tr) for tr in self._stopping.values()):
                self._stoppers.remove(st)
                out.append((self._report_exit, (st, 0, None)))

    def _write_log(self, rel: str, offset: int, data: bytes) -> None:
        """Write log bytes a remote agent sent, at ``offset`` of ``RUN/rel``."""
        parts = PurePosixPath(rel).parts
        if not parts or parts[0] != "logs" or ".." in parts or PurePosixPath(rel).is_absolute():
            self.observations.problem(f"{rel}: not a log file of this run: ignored")
            return
        path = self.root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "r+b" if path.exists() else "wb") as f:
            f.seek(offset)
            f.write(data)

    def _report_exit(self, arg: tuple[TaskRun, int, str | None]) -> None:
        self.dispatcher.task_exit(*arg)

    def _report_ready(self, tr: TaskRun) -> None:
        self.dispatcher.task_ready(tr)

    # -- rendering ---------------------------------------------------------------------

    def _render(self, tr: TaskRun) -> PlannedTask:
        """The task with its templates rendered with the job's node addresses (shell-quoted
        in shell commands; the planner's rules)."""
        u = tr.unit
        nodes: dict[str, list[str]] = {}
        for b in u.job.bindings:
            nodes.setdefault(b.slot.assignment, []).append(self.address(b.node))
        node = u.binding.node
        this = (u.binding.slot.name, node.node_id, self.address(node))
        return plan_task(tr.task, nodes, this, True)


def _scope(u: Unit, tr: TaskRun) -> Scope:
    return Scope(
        u.binding.node.node_id,
        u.job.job_id,
        u.binding.slot.name,
        u.stage.name,
        tr.task.name,
        tr.attempt,
    )


def _is_target(stopper: TaskRun, tr: TaskRun | None) -> bool:
    """Whether ``tr`` (a task being stopped) is one that ``stopper`` stops."""
    target = stopper.task.stopper
    if tr is None or target is None or tr.unit.job is not stopper.unit.job:
        return False
    return tr.unit.stage.name == target.stage and (
        target.task is None or tr.task.name == target.task
    )


def reports_of(messages: Iterable[Any]) -> list[Report]:
    """Reports from their msgpack form (lists of lists) or as they are."""
    return [m if isinstance(m, Report) else Report(*(list(part) for part in m)) for m in messages]
