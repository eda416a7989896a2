"""The store: one object through which every transition is checked, applied and logged.

:class:`Store` holds the live snapshots (:class:`NodeStore`, :class:`JobStore`) and the
append-only :class:`History`. Each call checks the transition against the snapshot
(raising :class:`~benchhub_sim.errors.StoreError` and writing nothing when it is not
legal), then updates the snapshot and appends the event(s) to the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from benchhub_sim.cluster import Node
from benchhub_sim.display import counts_text, html_table, plural
from benchhub_sim.errors import StoreError
from benchhub_sim.store.blocks import Template
from benchhub_sim.store.fastplan import plan_fast
from benchhub_sim.store.history import History
from benchhub_sim.store.jobs import TABLES as JOB_TABLES
from benchhub_sim.store.jobs import JobStore
from benchhub_sim.store.nodes import NodeStore, job_state_of
from benchhub_sim.store.packed import PackedTable
from benchhub_sim.store.rows import UnionRows
from benchhub_sim.store.schema import TABLES
from benchhub_sim.store.simple import (
    BindingRow,
    SimpleShape,
    Step,
    UnitRow,
    apply_bind,
    apply_finish,
    apply_start,
    assign_template,
    can_bind,
    can_finish,
    can_start,
    finish_template,
    start_template,
    states_template,
)

#: node state steps (state, job state, names the job) of a binding, and of the end of a
#: finished and of an aborted job on a node: its job state goes ``finished`` (``error``),
#: ``reporting``, ``cleanup``, then the node is ``idle`` (see :meth:`Store.release`)
BOUND: tuple[Step, ...] = (("running_job", "running", True),)
REPORTED: tuple[Step, ...] = (("running_job", "reporting", True), ("running_job", "cleanup", True))
RELEASED: tuple[Step, ...] = (("running_job", "finished", True), *REPORTED, ("idle", None, False))
RELEASED_ERROR: tuple[Step, ...] = (
    ("running_job", "error", True),
    *REPORTED,
    ("idle", None, False),
)
#: the row of a submission (also logged in bulk by the engine's batch mode)
SUBMIT = Template((("job", -1, ("submit", "queued", *[None] * 15)),))


class Store:
    """Node store + job store + history, kept in step.

        Parameters
        ----------
        history : History, optional
            The log to append to (give one with a ``sink`` to stream to a run directory).
            A new in-memory :class:`History` by default.
        check : bool
            Check each transition before applying it. ``False`` trusts the caller (faster);
            an illegal transition may then corrupt the snapshot.
        bulk : bool
            Apply the bulk transitions (:meth:`bind`, :meth:`start_simple`,
            :meth:`finish_simple`) in one step when they are plainly legal. ``False`` makes
            them the equivalent single-event calls (same tables, slower: the reference the
            tests compare with).
        fast_plan : bool
            Plan the usual job events and node state events by the fast planners
            (:func:`~benchhub_sim.store.fastplan.plan_fast`,
            :meth:`NodeStore.set_state <benchhub_sim.store.nodes.NodeStore.set_state>`),
            which leave anything unusual to the general ones. ``False``: every event
            through the general planner (same tables, slower).
        spill : callable, optional
            ``spill(name, rows)``, e.g. :meth:`RunWriter.spill
            <benchhub_sim.store.run.RunWriter.spill>`: takes the rows of ended jobs as
            the run goes (see :class:`~benchhub_sim.store.jobs.JobStore`), so that a
            run streamed to a run directory keeps no growing snapshot in memory;
            :meth:`tables` then holds only what was not handed over, and
            :meth:`final_tables` the rest to give ``RunWriter.finish``.

        Examples
        --------
        >>> from benchhub_sim.cluster import Node
    from benchhub_sim.display import counts_text, html_table
        >>> s = Store()
        >>> s.add_node(0.0, Node("n0"))
        >>> s.add_job(0.0, 1, "demo", n_nodes=1, walltime=60.0)
        >>> s.job(1.0, 1, "assign", "queued", node_id="n0", node_name="srv", detail="any")
        >>> s.job(1.0, 1, "start", "running")
        >>> s.job(2.0, 1, "start", "running")
        Traceback (most recent call last):
        ...
        benchhub_sim.errors.StoreError: job 1: cannot start: status is running
    """

    def __init__(
        self,
        history: History | None = None,
        *,
        check: bool = True,
        bulk: bool = True,
        fast_plan: bool = True,
        spill: Callable[[str, PackedTable | UnionRows], None] | None = None,
    ) -> None:
        self.history = history if history is not None else History()
        self.nodes = NodeStore()
        self.jobs = JobStore(check=check, spill=spill)
        self.check = check
        self.bulk = bulk
        self.fast_plan = fast_plan
        self._templates: dict[tuple, Template] = {}

    # -- nodes --------------------------------------------------------------------------

    def add_node(self, time: float, node: Node) -> None:
        """Register ``node`` (its info, state ``idle``) and log a ``register`` event."""
        state = self.nodes.check(node.node_id, "register", "idle", new_info=True)
        self.nodes.apply(time, node.node_id, "register", state, None, info=node)
        self.history.node(time, node.node_id, "register", state)

    def node(
        self,
        time: float,
        node_id: str,
        event: str,
        state: str | None,
        job_id: int | None = None,
        detail: str | None = None,
        *,
        job_state: str | None = None,
    ) -> None:
        """Log a node event (``state``, ``deregister``, ``fail``, ``recover``, re-``register``).

        Parameters
        ----------
        time : float
            Seconds on the run's clock.
        node_id : str
            A node added with :meth:`add_node`.
        event : str
            One of :data:`~benchhub_sim.store.schema.NODE_EVENTS`.
        state : str or None
            The node's new state; None takes the event's usual one (``offline`` for
            ``fail`` / ``deregister``, ``idle`` for ``recover`` / ``register``).
        job_id : int, optional
            The job the node runs after this event (the nodes row keeps the latest).
        detail : str, optional
            Free text (why it failed, ...).
        job_state : str, optional
            The node's job state (:data:`~benchhub_sim.store.schema.NODE_JOB_STATES`):
            only with state ``running_job``, where it defaults to ``running``.
        """
        if (
            event != "state"
            or not self.fast_plan
            or not self.nodes.set_state(time, node_id, state, job_state, job_id)
        ):
            if self.check or state is None:
                state = self.nodes.check(node_id, event, state, new_info=False)
            job_state = job_state_of(node_id, state, job_state)  # type: ignore[arg-type]
            self.nodes.apply(time, node_id, event, state, job_id, job_state=job_state)  # type: ignore[arg-type]
        self.history.node(time, node_id, event, state, job_id, detail, job_state)

    # -- jobs ---------------------------------------------------------------------------

    def add_job(
        self,
        time: float,
        job_id: int,
        name: str,
        *,
        n_nodes: int,
        walltime: float,
        priority: float = 0.0,
        raw_spec: str | None = None,
        spec_hash: str | None = None,
        n_pipelines: int | None = None,
        n_task_pipelines: Sequence[int] | None = None,
    ) -> None:
        """Submit a job (its info, status ``queued``) and log a ``submit`` event.

        ``n_pipelines`` and ``n_task_pipelines`` (per stage) are the shape of its spec:
        with them, ``stage_pipelines`` lists every pipeline from the start and
        ``task_pipelines`` every task pipeline of a stage as it starts, queued until
        they run; without them, they are listed as they start.
        """
        self.jobs.check_submit(job_id)
        self.jobs.submit(time, job_id, name, n_nodes, walltime, priority, raw_spec, spec_hash,
                         n_pipelines, n_task_pipelines)  # fmt: skip
        if self.bulk:
            self.history.block(SUBMIT, time, job_id)
        else:
            self.history.job(time, job_id, "submit", "queued")

    def job(
        self,
        time: float,
        job_id: int,
        event: str,
        status: str | None,
        pipeline: int | None = None,
        stage: int | None = None,
        stage_name: str | None = None,
        node_id: str | None = None,
        node_name: str | None = None,
        task: int | None = None,
        task_name: str | None = None,
        driver: str | None = None,
        background: bool | None = None,
        attempt: int | None = None,
        exit_code: int | None = None,
        detail: str | None = None,
        role: str | None = None,
        task_pipeline: int | None = None,
        command: str | None = None,
    ) -> None:
        """Log a job, pipeline, stage or task transition (same arguments as History.job).

        ``status`` is the new status of the entity the event is about; None takes the
        event's usual one. Ids and names the snapshot knows (the pipeline of a stage,
        the slot name of a node, the attempt of a task, ...) are filled in when None.
        See :mod:`benchhub_sim.store.jobs` for the rules and the events a stage stop,
        a finish or an abort add for what still runs. ``role`` is an ``assign``'s (the
        role the slot asks for), ``task_pipeline`` a task event's, ``command`` a
        ``task_start``'s (the rendered command).
        """
        ev = (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
              task, task_name, driver, background, attempt, exit_code, detail, role,
              task_pipeline, command)  # fmt: skip
        # most events: no expansion to plan
        one = plan_fast(self.jobs, self.nodes, ev, True) if self.fast_plan else None
        if one is not None:
            self.history.job_row(one)
        else:
            apply, log = self.jobs.apply, self.history.job_row
            for planned in self.jobs.plan(list(ev), self.nodes):
                apply(planned)
                log(planned)
        if event == "assign":
            self.nodes.assign(node_id, job_id, node_name or node_id, role)  # type: ignore[arg-type]

    # -- bulk transitions (see benchhub_sim.store.simple) ------------------------------

    def bind(self, time: float, job_id: int, bindings: Sequence[BindingRow]) -> None:
        """Bind nodes to queued job ``job_id``: one ``assign`` per binding, then one node
        ``state running_job`` (job state ``running``) per distinct node.

        The same as those :meth:`job` and :meth:`node` calls in that order.

        Parameters
        ----------
        bindings : sequence of (node_id, slot name, role, match)
            ``role`` (the one the slot asks for) goes to the assign event's ``role``,
            ``match`` (how the node met the slot) to its ``detail``.
        """
        if self.bulk and can_bind(self.jobs, self.nodes, job_id, bindings):
            apply_bind(self.jobs, self.nodes, time, job_id, bindings)
            slots = tuple(slot for _, slot, _, _ in bindings)
            roles = tuple(role for _, _, role, _ in bindings)
            template = self.template(("assign", slots, roles), assign_template, slots, roles)
            nodes = [node_id for node_id, _, _, _ in bindings]
            self.history.block(template, time, job_id, nodes, [m for _, _, _, m in bindings])
        else:
            for node_id, slot, role, match in bindings:
                self.job(time, job_id, "assign", "queued", node_id=node_id, node_name=slot,
                         detail=match, role=role)  # fmt: skip
        distinct = list(dict.fromkeys(node_id for node_id, _, _, _ in bindings))
        self.node_states(time, job_id, distinct, BOUND)

    def release(self, time: float, job_id: int, node_ids: Sequence[str]) -> None:
        """Nodes of ended job ``job_id`` end their part in it and become idle at once.

        Four ``state`` events each: job state ``finished`` (``error`` when the job
        aborted), ``reporting``, ``cleanup``, then state ``idle``. An engine whose nodes
        take time to report and clean up logs the steps of :meth:`end_steps` itself, at
        their times (:meth:`node_states`).
        """
        self.node_states(time, job_id, node_ids, self.end_steps(job_id))

    def end_steps(self, job_id: int) -> tuple[Step, ...]:
        """The node state steps of the end of ``job_id`` (ended): :data:`RELEASED`, or
        :data:`RELEASED_ERROR` when it aborted."""
        return RELEASED_ERROR if self.jobs.status(job_id) == "aborted" else RELEASED

    def node_states(
        self, time: float, job_id: int, node_ids: Sequence[str], steps: Sequence[Step]
    ) -> None:
        """Per node, one ``state`` event per ``(state, job state, names the job)`` step,
        like :meth:`node` calls.

        Whether a ``state`` event is legal does not depend on which live state it sets,
        so checking the last step checks them all.
        """
        steps = tuple(steps)
        state, job_state, with_job = steps[-1]
        job = job_id if with_job else None
        if self.bulk and self.nodes.set_states(time, node_ids, state, job_state, job):
            width = len(node_ids)
            template = self.template(("states", width, steps), states_template, width, steps)
            self.history.block(template, time, job_id, node_ids)
            return
        for node_id in node_ids:
            for state, job_state, with_job in steps:
                self.node(time, node_id, "state", state, job_id if with_job else None,
                          job_state=job_state)  # fmt: skip

    def template(self, key: tuple, build: Callable[..., Template], *args: Any) -> Template:
        """The template of ``key``, built once by ``build(*args)``."""
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = build(*args)
        return template

    def start_simple(
        self,
        time: float,
        job_id: int,
        shape: SimpleShape,
        units: Sequence[UnitRow],
        log_paths: Sequence[str | None] | None = None,
    ) -> None:
        """Start a simple job (one stage, one foreground task per node) on ``units``.

        The same as these :meth:`job` calls in order: ``start``, ``pipeline_start``,
        ``stage_start`` per unit, ``task_start`` per unit (attempt 0, ``detail`` the
        log path). See :mod:`benchhub_sim.store.simple`.

        Parameters
        ----------
        shape : SimpleShape
            The pipeline, stage and task the job runs.
        units : sequence of (node_id, slot name)
            The assigned nodes the stage runs on, in order.
        log_paths : sequence of str or None, optional
            Each unit's task log path.
        """
        if self.bulk and can_start(self.jobs, job_id, units):
            apply_start(self.jobs, time, job_id, shape, units, log_paths)
            slots = tuple(slot for _, slot in units)
            template = self.template(("start", shape, slots), start_template, shape, slots)
            nodes = [node_id for node_id, _ in units]
            self.history.block(template, time, job_id, nodes, log_paths)
            return
        p, s, name = shape.pipeline, shape.stage, shape.stage_name
        self.job(time, job_id, "start", "running")
        self.job(time, job_id, "pipeline_start", "running", p)
        for node_id, slot in units:
            self.job(time, job_id, "stage_start", "running", p, s, name, node_id, slot,
                     background=False)  # fmt: skip
        logs = log_paths if log_paths is not None else [None] * len(units)
        for (node_id, slot), log in zip(units, logs, strict=True):
            self.job(time, job_id, "task_start", "running", p, s, name, node_id, slot,
                     shape.task, shape.task_name, shape.driver, False, 0, detail=log,
                     task_pipeline=0, command=shape.command)  # fmt: skip
        self.jobs.live[job_id].simple = (shape, tuple(units))  # for finish_simple

    def finish_simple(self, time: float, job_id: int) -> None:
        """End a job started by :meth:`start_simple` whose tasks all succeed now.

        The same as these :meth:`job` calls in order: per unit ``task_finish`` (exit
        code 0) and ``stage_finish``, then ``pipeline_finish`` and ``finish``.
        """
        live = self.jobs.live.get(job_id)
        simple = live.simple if live is not None else None
        if self.bulk and simple is not None and can_finish(self.jobs, job_id):
            shape, units = simple
            apply_finish(self.jobs, time, job_id)
            slots = tuple(slot for _, slot in units)
            template = self.template(("finish", shape, slots), finish_template, shape, slots)
            self.history.block(template, time, job_id, [node_id for node_id, _ in units])
            return
        if live is None or live.simple is None:
            if live is None:
                self.job(time, job_id, "finish", "finished")  # raises: ended or never submitted
            raise StoreError(f"job {job_id}: cannot finish in bulk: not started by start_simple")
        shape, units = live.simple
        p, s = shape.pipeline, shape.stage
        for node_id, slot in units:
            self.job(time, job_id, "task_finish", "finished", p, s, shape.stage_name, node_id,
                     slot, shape.task, attempt=0, exit_code=0, task_pipeline=0)  # fmt: skip
            self.job(time, job_id, "stage_finish", "finished", p, s, shape.stage_name, node_id,
                     slot)  # fmt: skip
        self.job(time, job_id, "pipeline_finish", "finished", p)
        self.job(time, job_id, "finish", "finished")

    @contextmanager
    def unlogged(self) -> Iterator[None]:
        """Inside the block, transitions change the snapshots and log nothing: for rows
        the history holds already (the engine's batch mode hands its live jobs over to
        the general loop this way)."""
        history, self.history = self.history, _NoHistory()  # type: ignore[assignment]
        try:
            yield
        finally:
            self.history = history

    # -- output -------------------------------------------------------------------------

    def tables(self) -> dict[str, pa.Table]:
        """The tables of a run, in the schemas of :mod:`benchhub_sim.store.schema`.

        Event tables hold what the history kept in memory (empty with a sink: the
        history is flushed into it first, and the run directory has those).
        """
        self.history.flush()
        out = {"nodes": self.nodes.table(), **self.jobs.tables()}  # in TABLES order
        out["node_events"] = self.history.node_events()
        out["job_events"] = self.history.job_events()
        return out

    def final_tables(self) -> Mapping[str, pa.Table]:
        """The tables of the run for :meth:`RunWriter.finish <benchhub_sim.store.run.RunWriter.finish>`
        (or :meth:`Run.of_store <benchhub_sim.store.run.Run.of_store>`), at the end of a
        run, without holding them all in memory at once.

        The job store's tables are built when looked up, unsorted (give
        ``sort=SORT_KEYS`` to ``finish``), and the store's buffers of ended rows are
        emptied as they are: look each one up once, in the order of
        :data:`~benchhub_sim.store.schema.TABLES`. ``node_events`` and ``job_events``
        are the events the history has not handed to its sink (see
        :meth:`History.job_events <benchhub_sim.store.history.History.job_events>`), so
        a run shorter than the history's ``flush_seconds`` goes to disk once, here.
        """
        return _FinalTables(self)

    def _counts(self) -> tuple[str, str]:
        """Nodes by state and jobs by status, as text (states with no node left out)."""
        nodes = {k: v for k, v in self.nodes.by_state().items() if v}
        jobs = {k: v for k, v in self.jobs.by_status().items() if v}
        return counts_text(nodes) or "none", counts_text(jobs) or "none"

    def __repr__(self) -> str:
        nodes, jobs = self._counts()
        return (
            f"<Store: {plural(len(self.nodes), 'node')} ({nodes}), "
            f"{plural(len(self.jobs), 'job')} ({jobs}), {plural(self.history.seq, 'event')}>"
        )

    def _repr_html_(self) -> str:
        nodes, jobs = self._counts()
        rows = [
            ("nodes", f"{len(self.nodes):,} ({nodes})"),
            ("jobs", f"{len(self.jobs):,} ({jobs})"),
            ("events", f"{self.history.seq:,}"),
        ]
        return html_table([], rows, caption="Store")


class _NoHistory:
    """Takes what :class:`Store` logs and drops it (see :meth:`Store.unlogged`)."""

    def job(self, *args: Any, **kwargs: Any) -> None:
        pass

    def job_row(self, ev: tuple) -> None:
        pass

    def block(self, *args: Any) -> None:
        pass

    def node(self, *args: Any) -> None:
        pass


class _FinalTables(Mapping[str, pa.Table]):
    """The run's tables, built on lookup; ended rows are handed over (see Store.final_tables)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getitem__(self, name: str) -> pa.Table:
        store = self._store
        if name == "nodes":
            return store.nodes.table()
        if name in JOB_TABLES:
            return store.jobs.final_rows(name)  # type: ignore[return-value]
        if name == "node_events":
            return store.history.node_events()
        if name == "job_events":
            return store.history.job_events()
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(TABLES)

    def __len__(self) -> int:
        return len(TABLES)
