"""The dispatcher: walks a started job through pipelines, stages on nodes, task pipelines.

It implements the execution semantics of DESIGN.md and records every transition in the
store. What a task *does* is the executor's business: the dispatcher calls
``executor.start(task_run)`` and ``executor.stop(task_run)``, and the executor calls back
:meth:`Dispatcher.task_ready` and :meth:`Dispatcher.task_exit`.

One-step jobs, a fast path: a *simple* job (one stage of one foreground task per node,
:func:`~benchhub_sim.engine.compiled.simple_stage`) starts in one store call and one
loop event, and ends in one of each (:meth:`Dispatcher.run_simple`), when

- the dispatcher was made with ``one_step=True`` (``Engine(one_step=True)``, the
  default) and the executor tells a simple job's time at its start (``simple_time``:
  the simulated executor does, executors of real processes do not);
- the job's tasks take equal times on all its nodes (else ``simple_time`` says None).

A node failing under such a job expands it to the step-by-step state first
(:meth:`_expand`). The rows and their order are the step-by-step path's: the tests
compare both (``Engine(one_step=False)``, tests/engine/test_one_step.py), and
``run.json``'s ``paths`` counts the jobs it started (``one_step``).
"""

from __future__ import annotations

from collections.abc import Callable

from benchhub_sim.engine.loop import EventLoop
from benchhub_sim.engine.parts import EngineStore, Executor
from benchhub_sim.engine.state import BACKGROUND, DONE, RUNNING, JobRun, TaskRun, Unit
from benchhub_sim.sched.assign import Binding
from benchhub_sim.spec.model import Driver


class Dispatcher:
    def __init__(
        self,
        loop: EventLoop,
        store: EngineStore,
        executor: Executor,
        on_release: Callable[[JobRun, str | None], None],
        *,
        one_step: bool = True,
    ) -> None:
        self.loop = loop
        self.store = store
        self.executor = executor
        self.on_release = on_release  # (job, failed node id or None)
        #: jobs started in one step (see :meth:`start_job`)
        self.one_step_jobs = 0
        #: the job :meth:`start_job` is starting (its synchronous part), else None
        self._starting: JobRun | None = None
        #: how long a simple job's tasks all take, when the executor knows at start
        self._simple_time = getattr(executor, "simple_time", None) if one_step else None
        #: ``observe(event, job, unit)`` of executors that watch jobs and stages start
        #: and end on their nodes (agents take system snapshots then)
        self._observe = getattr(executor, "observe", None)
        #: the command line a task attempt runs, when the executor tells
        self._command = getattr(executor, "command", None)
        #: the log of a task attempt, for executors that keep logs
        self._log_path = getattr(executor, "log_path", None)

    # -- recording --------------------------------------------------------------------

    def _task_event(
        self,
        tr: TaskRun,
        event: str,
        status: str,
        exit_code: int | None = None,
        detail: str | None = None,
        command: str | None = None,
    ) -> None:
        u = tr.unit
        st = u.stage
        b = u.binding
        self.store.job(
            self.loop.now, u.job.job_id, event, status, st.pipeline, st.index, st.name,
            b.node.node_id, b.slot.name, tr.t, tr.task.name, st.drivers[tr.t],
            tr.task.background, tr.attempt, exit_code, detail,
            task_pipeline=st.task_pipeline_of[tr.t], command=command,
        )  # fmt: skip

    def _unit_event(self, u: Unit, event: str, status: str, detail: str | None = None) -> None:
        st = u.stage
        self.store.job(
            self.loop.now, u.job.job_id, event, status, st.pipeline, st.index, st.name,
            u.binding.node.node_id, u.binding.slot.name, background=st.background, detail=detail,
        )  # fmt: skip
        if self._observe is not None:
            self._observe(event, u.job, u)

    def _job_event(self, job: JobRun, event: str, status: str, detail: str | None = None) -> None:
        self.store.job(self.loop.now, job.job_id, event, status, detail=detail)
        if self._observe is not None:
            self._observe(event, job, None)

    # -- forward path -----------------------------------------------------------------

    def start_job(self, job: JobRun) -> None:
        c = job.c
        if c.simple_stage is not None and self._simple_time is not None:
            bindings = c.select(c.simple_stage, job.bindings)
            d = self._simple_time(job, c.simple_stage, bindings)
            if d is not None:
                self._start_simple(job, bindings, d)
                return
        self._job_event(job, "start", "running")
        self._starting = job
        try:
            self.start_pipeline(job, 0)
        finally:
            self._starting = None

    # -- simple jobs: one step to start, one to end -------------------------------------

    @property
    def one_step(self) -> bool:
        """True when simple jobs whose tasks take equal times start and end in one step
        each (the executor tells their time at start, and ``one_step`` was not turned off)."""
        return self._simple_time is not None

    def _start_simple(self, job: JobRun, bindings: tuple[Binding, ...], duration: float) -> None:
        """Start a simple job whose tasks all run ``duration`` seconds: its start and its
        end are each one store call and one loop event, with the rows and the order the
        step-by-step path gives (which :meth:`_expand` falls back to when a node fails)."""
        self.one_step_jobs += 1
        self.run_simple(job, bindings, self.loop.now, self.loop.now + duration)

    def run_simple(
        self, job: JobRun, bindings: tuple[Binding, ...], start: float, end: float
    ) -> None:
        """Run simple job ``job`` (bound to ``bindings``) from ``start`` to ``end``, as
        one step to start it and one to end it. Batch mode's hand-over calls it for the
        jobs it started (``start`` in the past)."""
        units = [(b.node.node_id, b.slot.name) for b in bindings]
        self.store.start_simple(start, job.job_id, job.c.simple, units)
        job.pipeline = 0
        job.simple = bindings
        self.loop.at(end, self._finish_simple, job)

    def _finish_simple(self, job: JobRun) -> None:
        if job.simple is None or not job.alive:  # expanded and aborted meanwhile
            return
        job.simple = None
        job.alive = False
        self.store.finish_simple(self.loop.now, job.job_id)
        self.on_release(job, None)

    def _expand(self, job: JobRun) -> None:
        """Give a running simple job the units and task runs the step-by-step path keeps."""
        bindings, job.simple = job.simple, None
        if bindings is None:
            return
        stage = job.c.simple_stage
        assert stage is not None
        for b in bindings:
            u = Unit(job, stage, b)
            u.tp, u.pending = 0, 1
            u.live.append(TaskRun(u, 0, stage.tasks[0], 0))
            job.units.append(u)
        job.pending = len(bindings)

    def start_pipeline(self, job: JobRun, p: int) -> None:
        job.pipeline = p
        self.store.job(self.loop.now, job.job_id, "pipeline_start", "running", p)
        c = job.c
        units = []
        for s in c.pipelines[p]:
            stage = c.stages[s]
            for b in c.select(stage, job.bindings):
                u = Unit(job, stage, b)
                units.append(u)
                self._unit_event(u, "stage_start", "running")
        job.units.extend(units)
        job.pending = len(units)
        if not units:
            self._pipeline_done(job)
            return
        for u in units:
            if job.alive:
                self._start_tp(u, 0)

    def _start_tp(self, u: Unit, k: int) -> None:
        tps = u.stage.task_pipelines
        if k == len(tps):
            self._unit_done(u)
            return
        u.tp = k
        u.pending = len(tps[k])
        for t in tps[k]:
            if not u.job.alive:
                return
            self._start_task(u, t, 0)

    def _start_task(self, u: Unit, t: int, attempt: int) -> None:
        task = u.stage.tasks[t]
        tr = TaskRun(u, t, task, attempt)
        u.live.append(tr)
        log_path, command = self._log_path, self._command
        self._task_event(
            tr, "task_start", "running", detail=log_path(tr) if log_path else None,
            command=command(tr) if command else None,
        )  # fmt: skip
        if task.driver is Driver.STOPPER:
            self._run_stopper(tr)
        else:
            self.executor.start(tr)

    def _run_stopper(self, tr: TaskRun) -> None:
        job = tr.unit.job
        target = tr.task.stopper
        assert target is not None  # guaranteed by spec validation
        why = f"stopped by {tr.unit.stage.name}.{tr.task.name}"
        for u in list(job.units):
            if u.stage.name != target.stage:
                continue
            for victim in list(u.live):
                if victim.background and (target.task is None or victim.task.name == target.task):
                    was_ready = victim.state is BACKGROUND
                    self._stop_task(victim, why)
                    if (
                        not was_ready
                    ):  # stopped before it was ready: it no longer holds its stage back
                        self._task_complete(u)
            if u.status == "ready" and not u.live:
                u.status = "stopped"
                self._unit_event(u, "stage_stop", "stopped", why)
        self.executor.start(tr)  # the stopper itself ends when the executor says so

    def task_ready(self, tr: TaskRun) -> None:
        """Executor callback: a background task passed its readiness checks."""
        if tr.state is not RUNNING or not tr.unit.job.alive:
            return
        tr.state = BACKGROUND
        self._task_event(tr, "task_ready", "background")
        self._task_complete(tr.unit)

    def task_exit(
        self, tr: TaskRun, exit_code: int, reason: str | None = None, *, node_failed: bool = False
    ) -> None:
        """Executor callback: a task attempt ended with ``exit_code`` (0: success)."""
        u = tr.unit
        job = u.job
        if tr.state is DONE or not job.alive:
            return
        if tr.background and exit_code == 0:
            exit_code, reason = -1, reason or "background task exited before it was stopped"
        if exit_code == 0:
            self._end_task(tr, "task_finish", "finished", 0)
            self._task_complete(u)
            return
        reason = reason or f"exit code {exit_code}"
        self._end_task(tr, "task_fail", "failed", exit_code, reason)
        if tr.attempt < tr.task.retries and not node_failed:
            retry = TaskRun(u, tr.t, tr.task, tr.attempt + 1)  # the row of the new attempt
            self._task_event(retry, "task_retry", "queued", detail=reason)
            self._start_task(u, tr.t, tr.attempt + 1)
            return
        u.status = "aborted"
        self._unit_event(u, "stage_abort", "aborted", reason)
        where = f"{u.stage.name}.{tr.task.name} on {u.binding.slot.name} ({u.binding.node.node_id})"
        self.abort_job(job, f"task {where} failed: {reason}")

    def _end_task(
        self,
        tr: TaskRun,
        event: str,
        status: str,
        exit_code: int | None = None,
        detail: str | None = None,
    ) -> None:
        tr.state = DONE
        tr.unit.live.remove(tr)
        self._task_event(tr, event, status, exit_code, detail)

    def _task_complete(self, u: Unit) -> None:
        u.pending -= 1
        if u.pending == 0:
            self._start_tp(u, u.tp + 1)

    def _unit_done(self, u: Unit) -> None:
        if u.stage.background:
            u.status = "ready"
            self._unit_event(u, "stage_ready", "background")
        else:
            u.status = "finished"
            self._unit_event(u, "stage_finish", "finished")
        job = u.job
        job.pending -= 1
        if job.pending == 0:
            self._pipeline_done(job)

    def _pipeline_done(self, job: JobRun) -> None:
        c = job.c
        p = job.pipeline
        live_bg = False  # a background stage of this pipeline still runs a task
        for u in job.units:
            if u.live and u.stage.background and u.stage.pipeline == p:
                live_bg = True
                break
        self.store.job(
            self.loop.now, job.job_id, "pipeline_finish", "background" if live_bg else "finished", p
        )
        if p + 1 < len(c.pipelines):
            self.start_pipeline(job, p + 1)
        else:
            self._finish_job(job)

    # -- ending -----------------------------------------------------------------------

    def _stop_task(self, tr: TaskRun, why: str) -> None:
        self.executor.stop(tr)
        self._end_task(tr, "task_stop", "stopped", detail=why)

    def _stop_all(self, job: JobRun, why: str) -> None:
        for u in job.units:
            for tr in list(u.live):
                self._stop_task(tr, why)
            if u.status == "ready":
                u.status = "stopped"
                self._unit_event(u, "stage_stop", "stopped", why)
            elif u.status == "running":
                u.status = "aborted"
                self._unit_event(u, "stage_abort", "aborted", why)
        job.units.clear()

    def _finish_job(self, job: JobRun) -> None:
        if job is self._starting:
            # Nothing to run (no stage selects a node, or no stage has a task): it ends
            # at this instant, but at an event of its own, never inside the policy call
            # that started it, so a policy's view changes only by what the policy does.
            self.loop.at(self.loop.now, self._finish_job, job)
            return
        if not job.alive:  # aborted at the same instant, before its end event
            return
        self._stop_all(job, "job end")
        job.alive = False
        self._job_event(job, "finish", "finished")
        self.on_release(job, None)

    def abort_job(self, job: JobRun, reason: str, failed_node: str | None = None) -> None:
        """Stop whatever still runs, log the reason, release the nodes."""
        if not job.alive:
            return
        self._expand(job)
        job.alive = False
        self._stop_all(job, "job aborted")
        self._job_event(job, "abort", "aborted", reason)
        self.on_release(job, failed_node)

    def fail_node(self, job: JobRun, node_id: str, reason: str) -> None:
        """A node of a running job failed: its tasks fail, the job aborts."""
        self._expand(job)
        for u in job.units:
            if u.binding.node.node_id != node_id:
                continue
            for tr in list(u.live):
                self.executor.stop(tr)
                self._end_task(tr, "task_fail", "failed", None, reason)
            if u.status in ("running", "ready"):
                u.status = "aborted"
                self._unit_event(u, "stage_abort", "aborted", reason)
        self.abort_job(job, f"node {node_id} failed: {reason}", node_id)
