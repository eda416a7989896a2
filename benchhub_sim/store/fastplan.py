"""Fast planning of the job events an engine sends most, checks included.

:meth:`JobStore.plan <benchhub_sim.store.jobs.JobStore.plan>` handles every event: it
checks it, fills in what the caller left out and expands events that end stages or jobs.
An engine sends mostly events with every field given, on rows that exist, that expand
to nothing; for those, :func:`plan_fast` runs the same checks (when the store checks)
and fills the same fields from the snapshot, with one small function per event kind.

It returns the one planned event — the tuple :meth:`JobStore.plan` returns for it — or
None for everything else: a missing field, a retry, a stop or an abort of a stage
that still runs tasks, a job end, and any event that fails a check. The general
planner then plans it, or raises with its message, so the two paths cannot disagree
on what is legal. ``Store(fast_plan=False)`` plans every
event the general way; tests/store/test_fast_plan.py plans every event of a BenchHub
mix both ways and compares.

Rows are keyed by slot (``node_name``) as in :mod:`benchhub_sim.store.jobs`; an event
that names no slot is planned here only when its node holds exactly one slot of the job.
"""

from __future__ import annotations

from collections.abc import Callable

from benchhub_sim.store.jobs import (
    E_EVENT,
    E_JOB,
    E_NNAME,
    E_NODE,
    E_PIPE,
    E_STAGE,
    E_STATUS,
    EXPECTED,
    J_ID,
    J_NNODES,
    J_NPIPE,
    J_PIPE,
    J_STATUS,
    S_BG,
    S_PIPE,
    S_SNAME,
    S_STATUS,
    T_BG,
    T_DRIVER,
    T_STATUS,
    T_TNAME,
    T_TP,
    JobStore,
    LiveJob,
)
from benchhub_sim.store.nodes import NodeStore

_LIVE_STAGE = frozenset({"running", "background"})
_LIVE_TASK = frozenset({"queued", "running", "background"})
#: task events that advance or end an attempt -> statuses the attempt may have before
_TASK_FROM = {
    "task_ready": frozenset({"running"}),
    "task_finish": frozenset({"running"}),
    "task_fail": frozenset({"running", "background"}),
    "task_stop": _LIVE_TASK,
}

#: a planned event and the row it changes, when the planner found it (see
#: :meth:`JobStore.apply <benchhub_sim.store.jobs.JobStore.apply>`)
Planned = tuple[tuple, "list | None"]
Planner = Callable[[JobStore, NodeStore, LiveJob, tuple, bool], "Planned | None"]


def plan_fast(store: JobStore, nodes: NodeStore, ev: tuple, apply: bool = False) -> tuple | None:
    """The one event :meth:`JobStore.plan` would plan for ``ev``, or None to plan it there.

    Parameters
    ----------
    store : JobStore
        The job snapshot; its ``check`` says whether to check.
    nodes : NodeStore
        The node snapshot (an ``assign`` checks the node).
    ev : tuple
        The arguments of :meth:`Store.job <benchhub_sim.store.store.Store.job>`, in order.
    apply : bool
        Also apply the planned event to ``store`` (nothing is applied when the result
        is None). The row the planner found (a task attempt's, a stage's) goes to
        :meth:`JobStore.apply`, which then does not look it up again. False: the
        snapshot is not changed.
    """
    event, status = ev[E_EVENT], ev[E_STATUS]
    planner = _PLANNERS.get(event)
    if planner is None or status is None:
        return None  # default statuses are the general planner's business
    chk = store.check
    if chk and status not in EXPECTED[event]:
        return None
    job = store.live.get(ev[E_JOB])
    if job is None:
        return None
    if job.lazy is not None:
        job.build()
    planned = planner(store, nodes, job, ev, chk)
    if planned is None:
        return None
    one, row = planned
    if apply:
        store.apply(one, job, row)
    return one


def _slot(job: LiveJob, node_id: str | None, node_name: str | None, chk: bool) -> str | None:
    """The slot an event on ``node_id`` names, as the general planner resolves it, or None.

    None when the general planner must decide (and may raise): no node id, a slot that is
    not bound (or, checked, bound to another node), or no slot named while the node holds
    several slots of the job.
    """
    if node_id is None:
        return None
    if node_name is None:
        names = job.slots_on.get(node_id)
        return names[0] if names is not None and len(names) == 1 else None
    bound = job.slots.get(node_name)
    if bound is None or (chk and bound != node_id):
        return None
    return node_name


def _assign(
    store: JobStore, nodes: NodeStore, job: LiveJob, ev: tuple, chk: bool
) -> Planned | None:
    node_id, node_name = ev[E_NODE], ev[E_NNAME]
    if node_id is None or node_name is None:
        return None
    if chk:
        owner = store.owner.get(node_id)
        if (
            job.row[J_STATUS] != "queued"
            or not nodes.is_live(node_id)
            or (owner is not None and owner != job.row[J_ID])
            or node_name in job.slots
            or len(job.slots) >= job.row[J_NNODES]
        ):
            return None
    return ev, None


def _start(store: JobStore, nodes: NodeStore, job: LiveJob, ev: tuple, chk: bool) -> Planned | None:
    if chk and (job.row[J_STATUS] != "queued" or len(job.slots) != job.row[J_NNODES]):
        return None
    return ev, None


def _pipeline_start(
    store: JobStore, nodes: NodeStore, job: LiveJob, ev: tuple, chk: bool
) -> Planned | None:
    pipeline = ev[E_PIPE]
    if pipeline is None:
        return None
    if chk:
        current, n = job.row[J_PIPE], job.row[J_NPIPE]
        if job.row[J_STATUS] != "running" or pipeline in job.pipelines:
            return None
        if n is not None and not 0 <= pipeline < n:
            return None
        if current is not None and (pipeline < current or job.pipelines[current] == "running"):
            return None
    return ev, None


def _pipeline_finish(
    store: JobStore, nodes: NodeStore, job: LiveJob, ev: tuple, chk: bool
) -> Planned | None:
    pipeline = ev[E_PIPE]
    if pipeline is None:
        return None
    if chk and (
        job.row[J_STATUS] != "running"
        or job.pipelines.get(pipeline, "queued") != "running"
        or job.fg
    ):
        return None
    return ev, None


def _stage_start(
    store: JobStore, nodes: NodeStore, job: LiveJob, ev: tuple, chk: bool
) -> Planned | None:
    (_, _, _, _, pipeline, stage, stage_name, node_id, node_name, _, _, _, background) = ev[:13]
    if None in (pipeline, stage, stage_name, node_id, node_name, background):
        return None
    if _slot(job, node_id, node_name, chk) is None:
        return None
    same = job.srows.get(stage)
    if same is not None and node_name in same:
        return None  # started twice
    if chk and (
        job.row[J_STATUS] != "running" or job.pipelines.get(pipeline, "queued") != "running"
    ):
        return None
    return ev, None


def _stage_end(
    store: JobStore, nodes: NodeStore, job: LiveJob, ev: tuple, chk: bool
) -> Planned | None:
    """stage_ready / finish / stop / abort: pipeline, name and background come from the
    stage row. A stop or an abort of a stage that still runs tasks stops them first:
    the general planner's work."""
    event, stage, node_id, node_name = ev[E_EVENT], ev[E_STAGE], ev[E_NODE], ev[E_NNAME]
    if stage is None or node_name is None or _slot(job, node_id, node_name, chk) is None:
        return None
    same = job.srows.get(stage)
    row = same.get(node_name) if same else None
    if row is None or row[S_STATUS] not in _LIVE_STAGE:
        return None
    if event == "stage_stop" or event == "stage_abort":
        tasks = job.trows.get((stage, node_name), {}).values()
        if any(trow[T_STATUS] in _LIVE_TASK for trow in tasks):
            return None
    elif chk:
        tasks = job.trows.get((stage, node_name), {}).values()
        if event == "stage_ready":
            if not row[S_BG] or row[S_STATUS] != "running":
                return None
            if any(trow[T_STATUS] in ("queued", "running") for trow in tasks):
                return None
        elif any(trow[T_STATUS] in _LIVE_TASK for trow in tasks):
            return None
    return (*ev[:4], row[S_PIPE], stage, row[S_SNAME], *ev[7:12], row[S_BG], *ev[13:]), row


def _task_start(
    store: JobStore, nodes: NodeStore, job: LiveJob, ev: tuple, chk: bool
) -> Planned | None:
    """A first attempt: the row is new; pipeline and stage name come from the stage row."""
    (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name, task,
     task_name, driver, background, attempt, exit_code, detail, role, task_pipeline,
     command) = ev  # fmt: skip
    if attempt != 0 or None in (stage, node_id, task, task_name, driver, background):
        return None
    slot = _slot(job, node_id, node_name, chk)
    if slot is None:
        return None
    by_task = job.trows.get((stage, slot))
    if by_task and (task, 0) in by_task:
        return None
    same = job.srows.get(stage)
    srow = same.get(slot) if same else None
    if srow is not None:
        pipeline, stage_name = srow[S_PIPE], srow[S_SNAME]
    elif chk:
        return None
    if chk and srow[S_STATUS] != "running":  # type: ignore[index]
        return None
    planned = (time, job_id, event, status, pipeline, stage, stage_name, node_id, slot, task,
               task_name, driver, background, 0, exit_code, detail, role, task_pipeline,
               command)  # fmt: skip
    return planned, None


def _task_end(
    store: JobStore, nodes: NodeStore, job: LiveJob, ev: tuple, chk: bool
) -> Planned | None:
    """task_ready / finish / fail / stop of an attempt whose row is in a legal status."""
    (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name, task, _, _,
     _, attempt, exit_code, detail, role, _, command) = ev  # fmt: skip
    if None in (stage, task, attempt):
        return None
    slot = _slot(job, node_id, node_name, chk)
    if slot is None:
        return None
    by_task = job.trows.get((stage, slot))
    row = by_task.get((task, attempt)) if by_task else None
    if row is None or row[T_STATUS] not in _TASK_FROM[event]:
        return None
    if (event == "task_ready" and not row[T_BG]) or (event == "task_finish" and row[T_BG]):
        return None  # illegal for this kind of task (unchecked, the general planner allows it)
    same = job.srows.get(stage)
    srow = same.get(slot) if same else None
    if srow is not None:
        pipeline, stage_name = srow[S_PIPE], srow[S_SNAME]
    planned = (time, job_id, event, status, pipeline, stage, stage_name, node_id, slot, task,
               row[T_TNAME], row[T_DRIVER], row[T_BG], attempt, exit_code, detail, role,
               row[T_TP], command)  # fmt: skip
    return planned, row


_PLANNERS: dict[str, Planner] = {
    "assign": _assign,
    "start": _start,
    "pipeline_start": _pipeline_start,
    "pipeline_finish": _pipeline_finish,
    "stage_start": _stage_start,
    "stage_ready": _stage_end,
    "stage_finish": _stage_end,
    "stage_stop": _stage_end,
    "stage_abort": _stage_end,
    "task_start": _task_start,
    "task_ready": _task_end,
    "task_finish": _task_end,
    "task_fail": _task_end,
    "task_stop": _task_end,
}
