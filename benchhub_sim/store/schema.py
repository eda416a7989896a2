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
"""

from __future__ import annotations

import pyarrow as pa

#: Bump when a file's columns change meaning or type; readers accept the versions listed
#: in :data:`READABLE_SCHEMA_VERSIONS`.
SCHEMA_VERSION = 1
READABLE_SCHEMA_VERSIONS = (1,)

_SECONDS = {b"unit": b"s"}
_DICT = pa.dictionary(pa.int32(), pa.string())


def _f(name: str, typ: pa.DataType, nullable: bool = True, **meta: str) -> pa.Field:
    md = {k.encode(): v.encode() for k, v in meta.items()} or None
    return pa.field(name, typ, nullable=nullable, metadata=md)


def _t(name: str) -> pa.Field:
    return pa.field(name, pa.float64(), metadata=_SECONDS)


# --- states and statuses -------------------------------------------------------------

NODE_STATES = (
    "finding_central",
    "idle",
    "running_job",
    "waiting_peers",
    "reporting",
    "cleanup",
    "offline",
)
JOB_STATUSES = ("queued", "running", "finished", "aborted")
PIPELINE_STATUSES = ("queued", "running", "finished", "aborted", "background")
STAGE_STATUSES = ("queued", "running", "background", "finished", "aborted", "stopped")
TASK_STATUSES = ("queued", "running", "background", "finished", "aborted", "failed", "stopped")

NODE_EVENTS = ("register", "state", "deregister", "fail", "recover")
#: job_events.event values. ``status`` on the row is the new status of the entity the
#: event is about (job, pipeline, stage on one node, or task attempt).
JOB_EVENTS = (
    "submit",  # job -> queued
    "assign",  # one node bound to one assignment; detail: "exact" or "any"
    "start",  # job -> running
    "pipeline_start",  # pipeline -> running
    "pipeline_finish",  # pipeline -> finished (or background: only background stages go on)
    "stage_start",  # stage on node -> running
    "stage_ready",  # background stage on node -> background
    "stage_finish",  # stage on node -> finished
    "stage_stop",  # background stage on node -> stopped
    "stage_abort",  # stage on node -> aborted
    "task_start",  # task attempt -> running
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
        _f("node_id", pa.string(), nullable=False),
        _f("host", pa.string()),
        _f("ip", pa.string()),
        _f("role", _DICT),
        _f("provider", pa.string()),
        _f("cores", pa.float64()),
        _f("mem_mb", pa.float64(), unit="MiB"),
        _f("disk_mb", pa.float64(), unit="MiB"),
        _f("labels", pa.map_(pa.string(), pa.string())),
        _f("speed", pa.float64(), doc="simulated durations are divided by it"),
        _f("state", _DICT),
        _t("registered_time"),
        _f("job_id", pa.int64(), doc="job the node runs now, null when none"),
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
    ],
    metadata={b"table": b"jobs"},
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
    ],
    metadata={b"table": b"job_events"},
)

#: file stem -> schema, in the order files are listed in the run directory
TABLES: dict[str, pa.Schema] = {
    "nodes": NODES_SCHEMA,
    "jobs": JOBS_SCHEMA,
    "stages": STAGES_SCHEMA,
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
