"""Arrow schemas of the run directory: the on-disk contract.

Times are float64 seconds on the run's clock (t=0 at run start). Enumerations are
dictionary-encoded strings, so files read with plain pandas, pyarrow or DuckDB.
``seq`` is one counter shared by ``node_events`` and ``job_events``: merging the two
tables on it gives the global order of every transition.

Rows of ``stages`` and ``tasks``: ``stages`` has one row per (job, stage, slot) and
``tasks`` one per (job, stage, slot, task, attempt), where the slot is ``node_name`` (the
job's name for one node position, unique within the job) and ``node_id`` the node it is
bound to. Without loader packing (the default) a job holds one slot per node, so this is
DESIGN.md's one row per (job, stage, node). With ``max_loader_pack`` > 1 several loader
slots of one job may share a node: that node then has one row per slot, told apart by
``node_name``. The tables are sorted by ``node_id`` then ``node_name``.

The node store keeps BenchHub's two node enumerations apart: ``state`` (``NodeState``,
plus ``offline``) and ``job_state`` (``NodeJobState``, null while the node serves no
job). The job store's detail, BenchHub's ``Job.pipelines`` and ``NodeStage.pipelines``
and the assignment of nodes, is in ``assignments``, ``stage_pipelines`` and
``task_pipelines`` (one row per task pipeline of a stage on one slot, keyed like
``stages``).
"""

from __future__ import annotations

import pyarrow as pa

#: Bump when a file's columns change meaning or type; readers accept the versions listed
#: in :data:`READABLE_SCHEMA_VERSIONS` (schema 1 through :mod:`~benchhub_sim.store.legacy`).
SCHEMA_VERSION = 2
READABLE_SCHEMA_VERSIONS = (1, 2)

_SECONDS = {b"unit": b"s"}
_DICT = pa.dictionary(pa.int32(), pa.string())


def _f(name: str, typ: pa.DataType, nullable: bool = True, **meta: str) -> pa.Field:
    md = {k.encode(): v.encode() for k, v in meta.items()} or None
    return pa.field(name, typ, nullable=nullable, metadata=md)


def _t(name: str) -> pa.Field:
    return pa.field(name, pa.float64(), metadata=_SECONDS)


# --- states and statuses -------------------------------------------------------------

#: ``nodes.state``: BenchHub's ``NodeState`` (``finding_central``, ``idle``,
#: ``running_job``) plus the package's ``offline`` (a failed or deregistered node)
NODE_STATES = ("finding_central", "idle", "running_job", "offline")
#: ``nodes.job_state``: BenchHub's ``NodeJobState``, what a node does for the job it
#: serves (null while it serves none). The engine emits ``running``, then ``finished``
#: (or ``error`` when the job aborted), ``reporting`` and ``cleanup`` before ``idle``;
#: ``waiting_instruction`` is BenchHub's and never emitted by the engine.
NODE_JOB_STATES = ("running", "finished", "error", "waiting_instruction", "reporting", "cleanup")
JOB_STATUSES = ("queued", "running", "finished", "aborted")
#: stage pipelines (BenchHub's ``StagePipelineStatus``) and task pipelines
#: (``TaskPipelineStatus``), plus the package's ``aborted``
PIPELINE_STATUSES = ("queued", "running", "finished", "background", "aborted")
STAGE_STATUSES = ("queued", "running", "background", "finished", "aborted", "stopped")
TASK_STATUSES = ("queued", "running", "background", "finished", "aborted", "failed", "stopped")

NODE_EVENTS = ("register", "state", "deregister", "fail", "recover")
#: job_events.event values. ``status`` on the row is the new status of the entity the
#: event is about (job, pipeline, stage on one node, or task attempt).
JOB_EVENTS = (
    "submit",  # job -> queued
    "assign",  # one node bound to one assignment; detail: "exact" or "any"; role: the slot's
    "start",  # job -> running
    "pipeline_start",  # pipeline -> running
    "pipeline_finish",  # pipeline -> finished (or background: only background stages go on)
    "pipeline_abort",  # pipeline -> aborted (the job aborted while it ran)
    "stage_start",  # stage on node -> running
    "stage_ready",  # background stage on node -> background
    "stage_finish",  # stage on node -> finished
    "stage_stop",  # background stage on node -> stopped
    "stage_abort",  # stage on node -> aborted
    "task_start",  # task attempt -> running; detail: log path; command: what runs
    "task_ready",  # background task attempt -> background
    "task_finish",  # task attempt -> finished
    "task_fail",  # task attempt -> failed (exit code, timeout, node failure); detail: reason
    "task_retry",  # a new attempt is queued after a failure
    "task_stop",  # task attempt -> stopped (stopper, job end, abort)
    "finish",  # job -> finished
    "abort",  # job -> aborted; detail: reason
)

# --- node store ----------------------------------------------------------------------

NODES_SCHEMA = pa.schema(
    [
        # info: what the node registers with (BenchHub's NodeInfo)
        _f("node_id", pa.string(), nullable=False),
        _f("host", pa.string()),
        _f("ip", pa.string()),
        _f("bind_addr", pa.string(), doc="address the agent listens on, from its config"),
        _f("remote_addr", pa.string(), doc="address the central saw the agent call from"),
        _f("role", _DICT, doc="preferred role, from the node's config"),
        _f("provider", pa.string(), doc="provider name"),
        _f("provider_region", pa.string()),
        _f("provider_instance", pa.string()),
        _f("cores", pa.float64()),
        _f("mem_mb", pa.float64(), unit="MiB", doc="total memory"),
        _f("mem_free_mb", pa.float64(), unit="MiB", doc="free memory when it registered"),
        _f("disk_mb", pa.float64(), unit="MiB", doc="total disk"),
        _f("disk_free_mb", pa.float64(), unit="MiB", doc="free disk when it registered"),
        _f("start_time", pa.float64(), unit="unix s", doc="agent process start, unix seconds"),
        _f("boot_time", pa.float64(), unit="unix s", doc="machine boot, unix seconds"),
        _f("labels", pa.map_(pa.string(), pa.string())),
        _f("speed", pa.float64(), doc="simulated durations are divided by it"),
        _f("reporting_time", pa.float64(), unit="s", doc="seconds in job state reporting"),
        _f("cleanup_time", pa.float64(), unit="s", doc="seconds in job state cleanup"),
        # status: what changes (BenchHub's NodeStatus, store2018.md node_status)
        _f("state", _DICT, doc="NodeState, or offline"),
        _f("job_state", _DICT, doc="NodeJobState; null when the node serves no job"),
        _t("registered_time"),
        _t("heartbeat"),
        _f("job_id", pa.int64(), doc="job the node serves now, null when none"),
        _f("job_count", pa.int32(), doc="jobs the node serves now (0 or 1)"),
        _f("node_name", _DICT, doc="the job's assignment name(s) for this node"),
        _f("job_role", _DICT, doc="the role the node plays in that job"),
    ],
    metadata={b"table": b"nodes"},
)

JOBS_SCHEMA = pa.schema(
    [
        _f("job_id", pa.int64(), nullable=False),
        _f("name", _DICT),
        _t("submit_time"),
        _t("start_time"),
        _t("stop_time"),
        _f("status", _DICT),
        _f("n_nodes", pa.int32()),
        _f("walltime", pa.float64(), unit="s", doc="estimate used by backfilling"),
        _f("priority", pa.float64()),
        _f("current_pipeline", pa.int32()),
        _f("foreground_stages", pa.list_(pa.int32())),
        _f("background_stages", pa.list_(pa.int32())),
        _f("finished_stages", pa.list_(pa.int32())),
        _f("reason", pa.string(), doc="why the job aborted"),
        _f(
            "raw_spec",
            _DICT,
            doc="the spec text as submitted; dictionary-encoded as jobs share specs",
        ),
        _f("spec_hash", _DICT, doc="sha256 of raw_spec (hex)"),
        _t("create_time"),
        _t("update_time"),
        _f("n_pipelines", pa.int32(), doc="stage pipelines of the job's spec"),
        _f("n_task_pipelines", pa.list_(pa.int32()), doc="task pipelines of each stage"),
    ],
    metadata={b"table": b"jobs"},
)

#: one row per node assignment of a job bound to a node (BenchHub's AssignedNode)
ASSIGNMENTS_SCHEMA = pa.schema(
    [
        _f("job_id", pa.int64(), nullable=False),
        _f("position", pa.int32(), doc="order of the binding within the job"),
        _f("node_name", _DICT, doc="the assignment (slot) name, unique in the job"),
        _f("role", _DICT, doc="the role the assignment asks for"),
        _f("node_id", pa.string()),
        _f("match", _DICT, doc="exact: the node prefers that role; any: an any node"),
        _t("time"),
    ],
    metadata={b"table": b"assignments"},
)

#: one row per stage pipeline of a job (BenchHub's Job.pipelines)
STAGE_PIPELINES_SCHEMA = pa.schema(
    [
        _f("job_id", pa.int64(), nullable=False),
        _f("pipeline", pa.int32()),
        _f("status", _DICT),
        _t("start_time"),
        _t("ready_time"),
        _t("stop_time"),
    ],
    metadata={b"table": b"stage_pipelines"},
)

STAGES_SCHEMA = pa.schema(
    [
        _f("job_id", pa.int64(), nullable=False),
        _f("pipeline", pa.int32()),
        _f("stage", pa.int32()),
        _f("stage_name", _DICT),
        _f("node_id", pa.string()),
        _f("node_name", _DICT),
        _f("background", pa.bool_()),
        _f("status", _DICT),
        _t("start_time"),
        _t("ready_time"),
        _t("stop_time"),
    ],
    metadata={b"table": b"stages"},
)

#: one row per task pipeline of a stage on one slot (BenchHub's NodeStage.pipelines)
TASK_PIPELINES_SCHEMA = pa.schema(
    [
        _f("job_id", pa.int64(), nullable=False),
        _f("stage", pa.int32()),
        _f("node_id", pa.string()),
        _f("node_name", _DICT),
        _f("task_pipeline", pa.int32()),
        _f("status", _DICT),
        _t("start_time"),
        _t("stop_time"),
    ],
    metadata={b"table": b"task_pipelines"},
)

TASKS_SCHEMA = pa.schema(
    [
        _f("job_id", pa.int64(), nullable=False),
        _f("pipeline", pa.int32()),
        _f("stage", pa.int32()),
        _f("stage_name", _DICT),
        _f("node_id", pa.string()),
        _f("node_name", _DICT),
        _f("task", pa.int32()),
        _f("task_name", _DICT),
        _f("driver", _DICT),
        _f("attempt", pa.int32()),
        _f("exit_code", pa.int32()),
        _f("background", pa.bool_()),
        _f("status", _DICT),
        _t("start_time"),
        _t("ready_time"),
        _t("stop_time"),
        _f("reason", pa.string()),
        _f("log_path", pa.string(), doc="stdout log, relative to the run directory"),
        _f("task_pipeline", pa.int32(), doc="the task pipeline of the stage the task is in"),
        _f("command", pa.string(), doc="the rendered command that ran (would run, simulated)"),
    ],
    metadata={b"table": b"tasks"},
)

NODE_EVENTS_SCHEMA = pa.schema(
    [
        _f("seq", pa.int64(), nullable=False),
        _t("time"),
        _f("node_id", pa.string()),
        _f("event", _DICT),
        _f("state", _DICT),
        _f("job_state", _DICT),
        _f("job_id", pa.int64()),
        _f("detail", pa.string()),
    ],
    metadata={b"table": b"node_events"},
)

JOB_EVENTS_SCHEMA = pa.schema(
    [
        _f("seq", pa.int64(), nullable=False),
        _t("time"),
        _f("job_id", pa.int64()),
        _f("event", _DICT),
        _f("status", _DICT),
        _f("pipeline", pa.int32()),
        _f("stage", pa.int32()),
        _f("stage_name", _DICT),
        _f("node_id", pa.string()),
        _f("node_name", _DICT),
        _f("task", pa.int32()),
        _f("task_name", _DICT),
        _f("driver", _DICT),
        _f("background", pa.bool_()),
        _f("attempt", pa.int32()),
        _f("exit_code", pa.int32()),
        _f("detail", pa.string()),
        _f("role", _DICT, doc="assign: the role the assignment asks for"),
        _f("task_pipeline", pa.int32(), doc="task events: the task's task pipeline"),
        _f("command", pa.string(), doc="task_start: the rendered command"),
    ],
    metadata={b"table": b"job_events"},
)

#: file stem -> schema, in the order files are listed in the run directory
TABLES: dict[str, pa.Schema] = {
    "nodes": NODES_SCHEMA,
    "jobs": JOBS_SCHEMA,
    "assignments": ASSIGNMENTS_SCHEMA,
    "stage_pipelines": STAGE_PIPELINES_SCHEMA,
    "stages": STAGES_SCHEMA,
    "task_pipelines": TASK_PIPELINES_SCHEMA,
    "tasks": TASKS_SCHEMA,
    "node_events": NODE_EVENTS_SCHEMA,
    "job_events": JOB_EVENTS_SCHEMA,
}

#: column order of a job event row tuple, as buffered by :class:`~benchhub_sim.store.history.History`
JOB_EVENT_COLUMNS = tuple(JOB_EVENTS_SCHEMA.names)
NODE_EVENT_COLUMNS = tuple(NODE_EVENTS_SCHEMA.names)

# --- what agents observe (real runs only) ----------------------------------------------
#
# Optional tables: a real run (local or Dask agents) writes both, possibly empty; a
# simulated run has neither. ``node_name`` is the job's slot on the node (null for rows
# about the whole node), ``attempt`` the task attempt (null for stage and job rows).

#: metrics.kind: a periodic sample, or a system snapshot taken before or after a task,
#: a stage (on one node) or a job (on each of its nodes)
METRIC_KINDS = ("sample", "before", "after")

METRICS_SCHEMA = pa.schema(
    [
        _t("time"),
        _f("node_id", _DICT, nullable=False),
        _f("job_id", pa.int64(), doc="null for rows about the whole node"),
        _f("node_name", _DICT),
        _f("stage_name", _DICT),
        _f("task_name", _DICT),
        _f("attempt", pa.int32()),
        _f("kind", _DICT, doc="sample | before | after"),
        _f("metric", _DICT),
        _f("value", pa.float64()),
        _f("unit", _DICT),
    ],
    metadata={b"table": b"metrics"},
)

RESULTS_SCHEMA = pa.schema(
    [
        _t("time"),
        _f("node_id", _DICT, nullable=False),
        _f("job_id", pa.int64()),
        _f("node_name", _DICT),
        _f("stage_name", _DICT),
        _f("task_name", _DICT),
        _f("attempt", pa.int32()),
        _f("name", _DICT, doc="what the task reported, e.g. latency_ms"),
        _f("value", pa.float64()),
        _f("unit", _DICT),
    ],
    metadata={b"table": b"results"},
)

#: file stem -> schema of the tables a run directory may lack (see above)
OPTIONAL_TABLES: dict[str, pa.Schema] = {"metrics": METRICS_SCHEMA, "results": RESULTS_SCHEMA}
#: column order of the row tuples agents send (:mod:`benchhub_sim.engine.observe`)
METRIC_COLUMNS = tuple(METRICS_SCHEMA.names)
RESULT_COLUMNS = tuple(RESULTS_SCHEMA.names)
