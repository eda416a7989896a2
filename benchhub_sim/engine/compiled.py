"""A job spec compiled once for the engine: indices instead of names, draws located.

Many jobs share a spec (a trace of a million jobs may have a few dozen shapes), so the
work of resolving pipelines, selectors and random positions is done once per spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchhub_sim.cluster import Node
from benchhub_sim.plan import static_command
from benchhub_sim.sched.assign import Binding, Slot, job_slots, select_bindings
from benchhub_sim.spec.model import (
    Driver,
    Duration,
    JobSpec,
    Stage,
    Task,
    effective_task_pipelines,
    stage_selectors,
    text_hash,
)
from benchhub_sim.store.simple import SimpleShape


@dataclass(frozen=True)
class CompiledStage:
    index: int
    name: str
    pipeline: int
    background: bool
    stage: Stage
    tasks: tuple[Task, ...]
    #: task pipelines as tuples of task indices
    task_pipelines: tuple[tuple[int, ...], ...]
    #: slot indices the stage runs on, when that does not depend on the bound nodes
    static_slots: tuple[int, ...] | None
    #: per task, the index of its task pipeline (None: in none, it never runs)
    task_pipeline_of: tuple[int | None, ...] = ()
    #: per task, its command line when it names no node (else rendered per node)
    commands: tuple[str | None, ...] = ()
    #: per task, its driver's name (the ``driver`` column)
    drivers: tuple[str, ...] = ()


# (stage, slot, task, check, attempt, kind) -> index in a job's draws; kind "d" or "f"
PosKey = tuple[int, int, int, int, int, str]


class CompiledSpec:
    """Everything the engine needs to run jobs of one spec."""

    def __init__(self, spec: JobSpec, *, walltime: float, raw_spec: str | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.slots: tuple[Slot, ...] = job_slots(spec)
        self.walltime = walltime
        self.raw_spec = raw_spec
        #: SHA-256 of ``raw_spec`` (store2018.md's ``job_spec.hash``), None without one
        self.spec_hash = None if raw_spec is None else text_hash(raw_spec)
        self.priority = spec.priority
        names = [p.stages for p in spec.effective_pipelines()]
        index = {s.name: i for i, s in enumerate(spec.stages)}
        self.pipelines: tuple[tuple[int, ...], ...] = tuple(
            tuple(index[n] for n in p) for p in names
        )
        pipeline_of = {s: p for p, ss in enumerate(self.pipelines) for s in ss}
        self.stages: tuple[CompiledStage, ...] = tuple(
            _compile_stage(spec, i, st, pipeline_of.get(i, -1), self.slots)
            for i, st in enumerate(spec.stages)
        )
        self.stage_index = index
        #: what the job store keeps of the spec (keyword arguments of ``Store.add_job``)
        self.submit_info: dict[str, Any] = {
            "raw_spec": raw_spec,
            "spec_hash": self.spec_hash,
            "n_pipelines": len(self.pipelines),
            "n_task_pipelines": tuple(len(st.task_pipelines) for st in self.stages),
        }
        self.positions: dict[PosKey, int] = {}
        self.dists: list[Duration | None] = []
        self._locate_draws()
        #: the one stage of a simple job (see :func:`simple_stage`), else None
        self.simple_stage = simple_stage(self)
        self.simple: SimpleShape | None = None
        if self.simple_stage is not None:
            st = self.simple_stage
            task = st.tasks[0]
            self.simple = SimpleShape(
                st.pipeline, st.index, st.name, 0, task.name, task.driver.value, st.commands[0]
            )

    def _locate_draws(self) -> None:
        for st in self.stages:
            slots = st.static_slots if st.static_slots is not None else range(len(self.slots))
            for i in slots:
                for t, task in enumerate(st.tasks):
                    for a in range(task.retries + 1):
                        self._add(task.duration, (st.index, i, t, -1, a, "d"))
                        if task.fail_prob > 0:
                            self._add(None, (st.index, i, t, -1, a, "f"))
                        for c, check in enumerate(task.ready):
                            self._add(check.duration, (st.index, i, t, c, a, "d"))

    def _add(self, dist: Duration | None, key: PosKey) -> None:
        if key[5] == "d" and (dist is None or dist.dist == "constant"):
            return  # nothing random to draw
        self.positions[key] = len(self.dists)
        self.dists.append(dist)

    def select(self, stage: CompiledStage, bindings: tuple[Binding, ...]) -> tuple[Binding, ...]:
        """Bindings a stage runs on for one job."""
        if stage.static_slots is not None:
            return tuple([bindings[i] for i in stage.static_slots])
        return select_bindings(self.spec, stage.stage, bindings)


def _compile_stage(
    spec: JobSpec, i: int, stage: Stage, pipeline: int, slots: tuple[Slot, ...]
) -> CompiledStage:
    task_index = {t.name: k for k, t in enumerate(stage.tasks)}
    tps = tuple(tuple(task_index[n] for n in tp.tasks) for tp in effective_task_pipelines(stage))
    static = None
    if not any(sel.labels for sel in stage_selectors(spec, stage)):
        # without label selectors the choice depends on slots only: bind to dummies
        dummies = tuple(Binding(s, Node(f"_{s.index}"), "exact") for s in slots)
        static = tuple(b.slot.index for b in select_bindings(spec, stage, dummies))
    tp_of: list[int | None] = [None] * len(stage.tasks)
    for k, tp in enumerate(tps):
        for t in tp:
            tp_of[t] = k
    return CompiledStage(
        i, stage.name, pipeline, stage.background, stage, stage.tasks, tps, static,
        tuple(tp_of), tuple(static_command(t) for t in stage.tasks),
        tuple(t.driver.value for t in stage.tasks),
    )  # fmt: skip


def simple_stage(c: CompiledSpec) -> CompiledStage | None:
    """The stage of a job whose whole run is one step, or None.

    A job is *simple* when it has one pipeline of one foreground stage that runs on fixed
    slots, and that stage has one task: foreground, not a stopper, without readiness
    checks, failure probability or timeout, whose command names no node (so that it is one
    text on every node). Once durations are drawn such a job's run is settled when it
    starts: every task starts then, and (when their durations are equal) all end together. The engine starts and ends it in one step each
    (:meth:`~benchhub_sim.engine.dispatch.Dispatcher.start_job`).
    """
    if len(c.pipelines) != 1 or len(c.pipelines[0]) != 1:
        return None
    st = c.stages[c.pipelines[0][0]]
    if st.background or not st.static_slots or len(st.tasks) != 1 or st.task_pipelines != ((0,),):
        return None
    task = st.tasks[0]
    if (
        task.background
        or task.driver is Driver.STOPPER
        or task.ready
        or task.fail_prob > 0
        or task.timeout is not None
        or st.commands[0] is None
    ):
        return None
    return st
