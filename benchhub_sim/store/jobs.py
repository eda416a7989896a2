"""The job store: live state of every job, its stages per node and its task attempts.

A job event is first *planned* (:meth:`JobStore.plan`: checked against the snapshot,
missing ids and names filled in from it, and expanded with the events that ending a
stage or a job implies), then each planned event is *applied*. Nothing is applied when
planning raises, so an illegal transition leaves no trace.

Rules kept here (DESIGN.md, "Execution semantics"):

- a stage index is in ``foreground_stages`` while one of its node rows is ``running``,
  else in ``background_stages`` while one is ``background``, else in
  ``finished_stages`` when all rows are ``finished`` or ``stopped`` (an aborted stage
  is in none of the three);
- ``task_retry`` carries the *new* attempt number (failed attempt + 1) and queues it;
- ``task_start``'s ``detail`` is the task's log path (``tasks.log_path``); the
  ``detail`` of ``task_fail`` / ``task_stop`` is the task's ``reason``;
- a stage stop/abort first stops its live tasks; ``finish`` stops whatever still runs in
  the background; ``abort`` stops live tasks, aborts running stage rows and stops
  background ones. Each of those is an explicit event, written before the ending event.

When a job ends, its rows move out of the live dicts into completed-row buffers.
"""

from __future__ import annotations

import pyarrow as pa

from benchhub_sim.errors import StoreError
from benchhub_sim.store.nodes import NodeStore
from benchhub_sim.store.rows import SORT_KEYS, RowBuffer, sort_canonical
from benchhub_sim.store.schema import JOBS_SCHEMA, STAGES_SCHEMA, TASKS_SCHEMA

# column positions of the row lists
J_STATUS, J_START, J_STOP, J_NNODES, J_PIPE, J_REASON = 5, 3, 4, 6, 9, 13
S_PIPE, S_SNAME, S_NNAME, S_BG, S_STATUS, S_START, S_READY, S_STOP = 1, 3, 5, 6, 7, 8, 9, 10
T_PIPE, T_SNAME, T_NNAME, T_TNAME, T_DRIVER, T_EXIT, T_BG, T_STATUS = 1, 3, 5, 7, 8, 10, 11, 12
T_START, T_READY, T_STOP, T_REASON, T_LOG = 13, 14, 15, 16, 17

#: allowed new status of each event (the first is the default when status is None)
EXPECTED: dict[str, tuple[str, ...]] = {
    "submit": ("queued",),
    "assign": ("queued",),
    "start": ("running",),
    "pipeline_start": ("running",),
    "pipeline_finish": ("finished", "background"),
    "stage_start": ("running",),
    "stage_ready": ("background",),
    "stage_finish": ("finished",),
    "stage_stop": ("stopped",),
    "stage_abort": ("aborted",),
    "task_start": ("running",),
    "task_ready": ("background",),
    "task_finish": ("finished",),
    "task_fail": ("failed",),
    "task_retry": ("queued",),
    "task_stop": ("stopped",),
    "finish": ("finished",),
    "abort": ("aborted",),
}
_LIVE_TASK = frozenset({"queued", "running", "background"})
_TASK_EVENTS = frozenset(e for e in EXPECTED if e.startswith("task_"))
_STAGE_EVENTS = frozenset(e for e in EXPECTED if e.startswith("stage_"))
_LIVE_STAGE = frozenset({"running", "background"})
_FINAL_CODE = {"finished": 1, "aborted": 2}
_FINAL_NAME = {1: "finished", 2: "aborted"}
_DENSE_IDS = 1 << 27


class LiveJob:
    """One job that has not ended: its jobs row and the rows of its stages and tasks."""

    __slots__ = ("row", "nodes", "stages", "tasks", "last_attempt", "pipelines", "fg", "bg", "fin",
                 "stage_counts", "simple")  # fmt: skip

    def __init__(self, row: list) -> None:
        self.row = row
        self.nodes: dict[str, str] = {}  # node_id -> slot name
        self.stages: dict[int, dict[str, list]] = {}  # stage -> node_id -> stages row
        self.tasks: dict[tuple[int, str], dict[tuple[int, int], list]] = {}
        self.last_attempt: dict[tuple[int, str, int], int] = {}
        self.pipelines: dict[int, str] = {}
        self.fg: set[int] = set()
        self.bg: set[int] = set()
        self.fin: set[int] = set()
        #: stage -> status -> number of its node rows in that status (see JobStore._place)
        self.stage_counts: dict[int, dict[str, int]] = {}
        #: (shape, units) of a job started in bulk (see :mod:`benchhub_sim.store.simple`)
        self.simple: tuple | None = None

    @property
    def status(self) -> str:
        return self.row[J_STATUS]

    def job_row(self) -> tuple:
        row = list(self.row)
        row[10], row[11], row[12] = sorted(self.fg), sorted(self.bg), sorted(self.fin)
        return tuple(row)

    def stage_rows(self):
        for by_node in self.stages.values():
            yield from by_node.values()

    def task_rows(self):
        for by_task in self.tasks.values():
            yield from by_task.values()


def _stage_who(job_id: int, stage: object, stage_name: object, node_id: object) -> str:
    name = f" ({stage_name})" if stage_name is not None else ""
    return f"stage job {job_id} stage {stage}{name} node {node_id}"


class JobStore:
    """Live snapshot of the jobs, plus buffers of the rows of ended jobs.

    Parameters
    ----------
    check : bool
        Check every transition (raise :class:`StoreError` on an illegal one). Without
        checks an illegal transition may corrupt the snapshot.
    """

    def __init__(self, check: bool = True) -> None:
        self.check = check
        self.live: dict[int, LiveJob] = {}
        self.owner: dict[str, int] = {}  # node_id -> live job holding it
        self._final = bytearray()
        self._final_sparse: dict[int, int] = {}
        self.n_ended = {"finished": 0, "aborted": 0}
        self.done_jobs = RowBuffer(JOBS_SCHEMA)
        self.done_stages = RowBuffer(STAGES_SCHEMA)
        self.done_tasks = RowBuffer(TASKS_SCHEMA)

    def __len__(self) -> int:
        return len(self.live) + self.n_ended["finished"] + self.n_ended["aborted"]

    # -- ended jobs ---------------------------------------------------------------------

    def final_status(self, job_id: int) -> str | None:
        """``finished`` / ``aborted`` for an ended job, None otherwise."""
        if 0 <= job_id < len(self._final):
            return _FINAL_NAME.get(self._final[job_id])
        return _FINAL_NAME.get(self._final_sparse.get(job_id, 0))

    def status(self, job_id: int) -> str | None:
        """Current status of ``job_id`` (None when never submitted)."""
        job = self.live.get(job_id)
        return job.row[J_STATUS] if job is not None else self.final_status(job_id)

    def _set_final(self, job_id: int, status: str) -> None:
        code = _FINAL_CODE[status]
        if 0 <= job_id < _DENSE_IDS:
            if job_id >= len(self._final):
                self._final.extend(bytes(max(job_id + 1 - len(self._final), len(self._final))))
            self._final[job_id] = code
        else:
            self._final_sparse[job_id] = code

    # -- submit -------------------------------------------------------------------------

    def check_submit(self, job_id: int) -> None:
        if job_id in self.live or self.final_status(job_id) is not None:
            raise StoreError(f"job {job_id}: submitted twice (status is {self.status(job_id)})")

    def submit(self, time: float, job_id: int, name: str, n_nodes: int, walltime: float,
               priority: float, raw_spec: str | None) -> None:  # fmt: skip
        row = [job_id, name, time, None, None, "queued", n_nodes, walltime, priority,
               None, None, None, None, None, raw_spec]  # fmt: skip
        self.live[job_id] = LiveJob(row)

    # -- planning -----------------------------------------------------------------------

    def plan(self, ev: list, nodes: NodeStore) -> list[tuple]:
        """Check job event ``ev`` (History.job argument order, as a list) and expand it.

        Returns the events to apply, in order, with ids and names filled in.
        """
        (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
         task, task_name, driver, background, attempt, exit_code, detail) = ev  # fmt: skip
        chk = self.check
        allowed = EXPECTED.get(event)
        if allowed is None or event == "submit":
            raise StoreError(f"job {job_id}: unknown job event {event!r} (submit: Store.add_job)")
        if status is None:
            ev[3] = status = allowed[0]
        elif chk and status not in allowed:
            raise StoreError(
                f"job {job_id}: event {event} sets status {' or '.join(allowed)}, got {status!r}"
            )
        job = self.live.get(job_id)
        if job is None:
            final = self.final_status(job_id)
            what = f"status is {final}" if final else "no such job (never submitted)"
            raise StoreError(f"job {job_id}: cannot {event.replace('_', ' ')}: {what}")
        jstatus = job.row[J_STATUS]
        if event.startswith("task_"):
            return self._plan_task(ev, job, chk)
        if event.startswith("stage_"):
            return self._plan_stage(ev, job, chk)
        if event == "assign":
            if node_id is None:
                raise StoreError(f"job {job_id}: assign needs a node_id")
            if node_name is None:
                ev[8] = node_name = node_id
            if chk:
                self._check_assign(job, node_id, node_name, nodes)
        elif event == "start":
            if chk and jstatus != "queued":
                raise StoreError(f"job {job_id}: cannot start: status is {jstatus}")
            if chk and len(job.nodes) != job.row[J_NNODES]:
                raise StoreError(
                    f"job {job_id}: cannot start: {len(job.nodes)} of {job.row[J_NNODES]} nodes assigned"
                )
        elif event == "pipeline_start":
            if chk:
                self._check_pipeline_start(job, pipeline)
        elif event == "pipeline_finish":
            if pipeline is None:
                ev[4] = pipeline = job.row[J_PIPE]
            if chk:
                self._check_pipeline_finish(job, pipeline)
        elif event == "finish":
            if chk and jstatus != "running":
                raise StoreError(f"job {job_id}: cannot finish: status is {jstatus}")
            if chk and job.fg:
                raise StoreError(
                    f"job {job_id}: cannot finish: stages {sorted(job.fg)} still run in the foreground"
                )
            return self._end_live(job, time, "job finished", abort=False) + [tuple(ev)]
        elif event == "abort":
            why = f"job aborted: {detail}" if detail else "job aborted"
            return self._end_live(job, time, why, abort=True) + [tuple(ev)]
        return [tuple(ev)]

    def _check_assign(self, job: LiveJob, node_id: str, node_name: str, nodes: NodeStore) -> None:
        who = f"job {job.row[0]}: cannot assign node {node_id}"
        if job.row[J_STATUS] != "queued":
            raise StoreError(f"{who}: status is {job.row[J_STATUS]}")
        if node_id not in nodes:
            raise StoreError(f"{who}: node is not registered")
        if not nodes.is_live(node_id):
            raise StoreError(f"{who}: node state is {nodes.state(node_id)}")
        if node_id in job.nodes:
            raise StoreError(f"{who}: node is already assigned to the job")
        owner = self.owner.get(node_id)
        if owner is not None:
            raise StoreError(f"{who}: node is assigned to job {owner}")
        if len(job.nodes) >= job.row[J_NNODES]:
            raise StoreError(f"{who}: all {job.row[J_NNODES]} nodes are already assigned")
        if node_name in job.nodes.values():
            raise StoreError(f"{who}: slot {node_name!r} is already bound")

    def _check_pipeline_start(self, job: LiveJob, pipeline: int | None) -> None:
        who = f"job {job.row[0]}: cannot start pipeline {pipeline}"
        if job.row[J_STATUS] != "running":
            raise StoreError(f"{who}: status is {job.row[J_STATUS]}")
        if pipeline is None:
            raise StoreError(f"{who}: pipeline_start needs a pipeline index")
        if pipeline in job.pipelines:
            raise StoreError(f"{who}: pipeline status is {job.pipelines[pipeline]}")
        current = job.row[J_PIPE]
        if current is not None:
            if pipeline < current:
                raise StoreError(f"{who}: pipeline {current} already started")
            if job.pipelines[current] == "running":
                raise StoreError(f"{who}: pipeline {current} is running")

    def _check_pipeline_finish(self, job: LiveJob, pipeline: int | None) -> None:
        who = f"job {job.row[0]}: cannot finish pipeline {pipeline}"
        if job.row[J_STATUS] != "running":
            raise StoreError(f"{who}: status is {job.row[J_STATUS]}")
        pstatus = job.pipelines.get(pipeline, "queued")  # type: ignore[arg-type]
        if pstatus != "running":
            raise StoreError(f"{who}: pipeline status is {pstatus}")
        if job.fg:
            raise StoreError(f"{who}: stages {sorted(job.fg)} still run in the foreground")

    def _plan_stage(self, ev: list, job: LiveJob, chk: bool) -> list[tuple]:
        time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name = ev[:9]
        if stage is None or node_id is None:
            raise StoreError(f"job {job_id}: {event} needs a stage and a node_id")
        slot = job.nodes.get(node_id)
        if slot is None:
            raise StoreError(
                f"job {job_id}: {event} on node {node_id} which is not assigned to the job"
            )
        if node_name is None:
            ev[8] = slot
        elif chk and node_name != slot:
            raise StoreError(
                f"job {job_id}: node {node_id} is bound to slot {slot!r}, not {node_name!r}"
            )
        same = job.stages.get(stage)
        row = same.get(node_id) if same else None
        if event == "stage_start":
            if row is not None:
                who = _stage_who(job_id, stage, row[S_SNAME], node_id)
                raise StoreError(f"{who}: cannot start: status is {row[S_STATUS]}")
            if pipeline is None:
                ev[4] = pipeline = job.row[J_PIPE]
            if chk:
                pstatus = job.pipelines.get(pipeline, "queued")
                if job.row[J_STATUS] != "running" or pstatus != "running":
                    who = _stage_who(job_id, stage, stage_name, node_id)
                    raise StoreError(
                        f"{who}: cannot start: job status is {job.row[J_STATUS]}, "
                        f"pipeline {pipeline} status is {pstatus}"
                    )
            if same:
                other = next(iter(same.values()))
                if stage_name is None:
                    ev[6] = other[S_SNAME]
                if ev[12] is None:
                    ev[12] = other[S_BG]
            if ev[12] is None:
                ev[12] = False
            return [tuple(ev)]
        current = "queued" if row is None else row[S_STATUS]
        who = _stage_who(job_id, stage, row[S_SNAME] if row else stage_name, node_id)
        verb = {"stage_ready": "become ready", "stage_finish": "finish", "stage_stop": "stop"}.get(
            event, "abort"
        )
        if row is None or current not in _LIVE_STAGE:
            raise StoreError(f"{who}: cannot {verb}: status is {current}")
        ev[4], ev[6], ev[12] = row[S_PIPE], row[S_SNAME], row[S_BG]
        tasks = job.tasks.get((stage, node_id), {})
        if event == "stage_ready":
            if chk and not row[S_BG]:
                raise StoreError(f"{who}: cannot become ready: not a background stage")
            if chk and current != "running":
                raise StoreError(f"{who}: cannot become ready: status is {current}")
            for (t, a), trow in tasks.items() if chk else ():
                if trow[T_STATUS] in ("queued", "running"):
                    raise StoreError(
                        f"{who}: cannot become ready: task {t} attempt {a} is {trow[T_STATUS]}"
                    )
            return [tuple(ev)]
        if event == "stage_finish":
            for (t, a), trow in tasks.items() if chk else ():
                if trow[T_STATUS] in _LIVE_TASK:
                    raise StoreError(
                        f"{who}: cannot finish: task {t} attempt {a} is {trow[T_STATUS]}"
                    )
            return [tuple(ev)]
        why = ev[15] or ("stage stopped" if event == "stage_stop" else "stage aborted")
        out = [
            _stop_task(job_id, time, trow, why)
            for trow in tasks.values()
            if trow[T_STATUS] in _LIVE_TASK
        ]
        out.append(tuple(ev))
        return out

    def _plan_task(self, ev: list, job: LiveJob, chk: bool) -> list[tuple]:
        (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
         task, task_name, driver, background, attempt, exit_code, detail) = ev  # fmt: skip
        if stage is None or node_id is None or task is None:
            raise StoreError(f"job {job_id}: {event} needs a stage, a node_id and a task")
        slot = job.nodes.get(node_id)
        if slot is None:
            verb = "started" if event == "task_start" else f"event {event}"
            raise StoreError(
                f"job {job_id}: task {verb} on node {node_id} which is not assigned to the job"
            )
        same = job.stages.get(stage)
        srow = same.get(node_id) if same else None
        if srow is not None:
            stage_name = srow[S_SNAME]
        by_task = job.tasks.get((stage, node_id))
        last = job.last_attempt.get((stage, node_id, task))
        if attempt is None:
            if event == "task_retry":
                attempt = 0 if last is None else last + 1
            elif event == "task_start" and last is not None:
                prev = by_task[(task, last)][T_STATUS]  # type: ignore[index]
                attempt = last if prev == "queued" else last + 1
            else:
                attempt = last or 0
        row = by_task.get((task, attempt)) if by_task else None

        def who() -> str:
            return f"task {_stage_who(job_id, stage, stage_name, node_id)[6:]} task {task} attempt {attempt}"

        current = "queued" if row is None else row[T_STATUS]
        if event in ("task_start", "task_retry"):
            if chk and (srow is None or srow[S_STATUS] != "running"):
                sstatus = "queued" if srow is None else srow[S_STATUS]
                raise StoreError(f"{who()}: cannot {event[5:]}: stage status is {sstatus}")
            if row is not None and (event == "task_retry" or current != "queued"):
                raise StoreError(f"{who()}: cannot {event[5:]}: status is {current}")
            if row is None and attempt > 0:
                prev_row = by_task.get((task, attempt - 1)) if by_task else None
                prev = "queued" if prev_row is None else prev_row[T_STATUS]
                if last != attempt - 1 or prev != "failed":
                    raise StoreError(
                        f"{who()}: cannot {event[5:]}: attempt {attempt - 1} is {prev}"
                    )
            elif row is None and event == "task_retry":
                raise StoreError(f"{who()}: cannot retry: no failed attempt before it")
            src = row
            if src is None and last is not None:
                src = by_task[(task, last)]  # type: ignore[index]
            if src is not None:
                task_name = src[T_TNAME] if task_name is None else task_name
                driver = src[T_DRIVER] if driver is None else driver
                background = src[T_BG] if background is None else background
            if background is None:
                background = False
        else:
            verb = {"task_ready": "become ready", "task_finish": "finish", "task_fail": "fail"}.get(
                event, "stop"
            )
            ok = {"task_ready": ("running",), "task_finish": ("running",),
                  "task_fail": ("running", "background")}.get(event, _LIVE_TASK)  # fmt: skip
            if row is None or current not in ok:
                raise StoreError(f"{who()}: cannot {verb}: status is {current}")
            if chk and event == "task_ready" and not row[T_BG]:
                raise StoreError(f"{who()}: cannot become ready: not a background task")
            if chk and event == "task_finish" and row[T_BG]:
                raise StoreError(
                    f"{who()}: cannot finish: a background task ends by task_stop (or task_fail)"
                )
            task_name, driver, background = row[T_TNAME], row[T_DRIVER], row[T_BG]
        return [(time, job_id, event, status, srow[S_PIPE] if srow else pipeline, stage, stage_name,
                 node_id, slot, task, task_name, driver, background, attempt, exit_code, detail)]  # fmt: skip

    def _end_live(self, job: LiveJob, time: float, why: str, abort: bool) -> list[tuple]:
        """Events that stop or abort what still runs when a job ends."""
        out: list[tuple] = []
        job_id = job.row[0]
        for by_node in job.stages.values():
            for node_id, srow in by_node.items():
                if srow[S_STATUS] not in _LIVE_STAGE:
                    continue
                for trow in job.tasks.get((srow[2], node_id), {}).values():
                    if trow[T_STATUS] in _LIVE_TASK:
                        out.append(_stop_task(job_id, time, trow, why))
                event = "stage_abort" if abort and srow[S_STATUS] == "running" else "stage_stop"
                status = "aborted" if event == "stage_abort" else "stopped"
                out.append((time, job_id, event, status, srow[S_PIPE], srow[2], srow[S_SNAME],
                            node_id, srow[S_NNAME], None, None, None, srow[S_BG], None, None, why))  # fmt: skip
        return out

    # -- applying -----------------------------------------------------------------------

    def apply(self, ev: tuple) -> None:
        """Update the snapshot for one planned event."""
        (time, job_id, event, status, pipeline, stage, stage_name, node_id, node_name,
         task, task_name, driver, background, attempt, exit_code, detail) = ev  # fmt: skip
        job = self.live[job_id]
        if event in _TASK_EVENTS:
            key = (stage, node_id)
            by_task = job.tasks.get(key)
            if by_task is None:
                by_task = job.tasks[key] = {}
            row = by_task.get((task, attempt))
            if row is None:
                row = [job_id, pipeline, stage, stage_name, node_id, node_name, task, task_name,
                       driver, attempt, None, background, status, None, None, None, None, None]  # fmt: skip
                by_task[(task, attempt)] = row
                job.last_attempt[(stage, node_id, task)] = attempt
            row[T_STATUS] = status
            if exit_code is not None:
                row[T_EXIT] = exit_code
            if event == "task_start":
                row[T_START], row[T_LOG] = time, detail
            elif event == "task_ready":
                row[T_READY] = time
            elif event != "task_retry":
                row[T_STOP] = time
                if event != "task_finish":
                    row[T_REASON] = detail
        elif event in _STAGE_EVENTS:
            if event == "stage_start":
                row = [job_id, pipeline, stage, stage_name, node_id, node_name, background,
                       status, time, None, None]  # fmt: skip
                by_node = job.stages.get(stage)
                if by_node is None:
                    by_node = job.stages[stage] = {}
                by_node[node_id] = row
                old = None
            else:
                row = job.stages[stage][node_id]
                old = row[S_STATUS]
                row[S_STATUS] = status
                if event == "stage_ready":
                    row[S_READY] = time
                else:
                    row[S_STOP] = time
            self._place(job, stage, old, status)
        elif event == "assign":
            job.nodes[node_id] = node_name
            self.owner[node_id] = job_id
        elif event == "start":
            job.row[J_STATUS], job.row[J_START] = status, time
        elif event == "pipeline_start":
            job.pipelines[pipeline] = status
            job.row[J_PIPE] = pipeline
        elif event == "pipeline_finish":
            job.pipelines[pipeline] = status
        else:  # finish / abort
            job.row[J_STATUS], job.row[J_STOP] = status, time
            if event == "abort":
                job.row[J_REASON] = detail
            self.retire(job)

    @staticmethod
    def _place(job: LiveJob, stage: int, old: str | None, new: str) -> None:
        """Move ``stage`` between fg/bg/fin after one of its rows went ``old`` -> ``new``.

        Counts of rows per status are kept per stage, so a stage on 256 nodes costs O(1)
        per event instead of a scan of its rows.
        """
        counts = job.stage_counts.get(stage)
        if counts is None:
            counts = job.stage_counts[stage] = {}
        if old is not None:
            counts[old] -= 1
        counts[new] = counts.get(new, 0) + 1
        job.fg.discard(stage)
        job.bg.discard(stage)
        job.fin.discard(stage)
        if counts.get("running"):
            job.fg.add(stage)
        elif counts.get("background"):
            job.bg.add(stage)
        elif counts.get("finished", 0) + counts.get("stopped", 0) == len(job.stages[stage]):
            job.fin.add(stage)

    def retire(self, job: LiveJob) -> None:
        """Move an ended job's rows from the live dicts to the row buffers."""
        job_id = job.row[0]
        del self.live[job_id]
        for node_id in job.nodes:
            if self.owner.get(node_id) == job_id:
                del self.owner[node_id]
        self.done_jobs.append(job.job_row())
        for row in job.stage_rows():
            self.done_stages.append(tuple(row))
        for row in job.task_rows():
            self.done_tasks.append(tuple(row))
        self._set_final(job_id, job.row[J_STATUS])
        self.n_ended[job.row[J_STATUS]] += 1

    # -- output -------------------------------------------------------------------------

    def tables(self) -> dict[str, pa.Table]:
        """``jobs``, ``stages`` and ``tasks``: ended rows then live rows, sorted, canonical."""
        live = self.live.values()
        jobs = self.done_jobs.table([j.job_row() for j in live])
        stages = self.done_stages.table([tuple(r) for j in live for r in j.stage_rows()])
        tasks = self.done_tasks.table([tuple(r) for j in live for r in j.task_rows()])
        return {
            "jobs": sort_canonical(jobs, JOBS_SCHEMA, SORT_KEYS["jobs"]),
            "stages": sort_canonical(stages, STAGES_SCHEMA, SORT_KEYS["stages"]),
            "tasks": sort_canonical(tasks, TASKS_SCHEMA, SORT_KEYS["tasks"]),
        }

    def by_status(self) -> dict[str, int]:
        """Number of jobs in each status."""
        out = {"queued": 0, "running": 0, **self.n_ended}
        for job in self.live.values():
            out[job.row[J_STATUS]] += 1
        return out


def _stop_task(job_id: int, time: float, trow: list, why: str) -> tuple:
    return (time, job_id, "task_stop", "stopped", trow[T_PIPE], trow[2], trow[T_SNAME], trow[4],
            trow[T_NNAME], trow[6], trow[T_TNAME], trow[T_DRIVER], trow[T_BG], trow[9], None, why)  # fmt: skip
