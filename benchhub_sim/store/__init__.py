"""Node store and job store as Arrow tables, their history, and run directories."""

from __future__ import annotations

from benchhub_sim.store.fold import as_of, fold_history
from benchhub_sim.store.history import History
from benchhub_sim.store.jobs import JobStore
from benchhub_sim.store.nodes import NodeStore
from benchhub_sim.store.query import (
    JobDetail,
    job_detail,
    nodes_by,
    nodes_in_stage,
    stages_on_node,
    tasks_on_node,
)
from benchhub_sim.store.run import Run, RunWriter, load_run
from benchhub_sim.store.schema import (
    ASSIGNMENTS_SCHEMA,
    JOB_EVENTS_SCHEMA,
    JOBS_SCHEMA,
    NODE_EVENTS_SCHEMA,
    NODES_SCHEMA,
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    STAGE_PIPELINES_SCHEMA,
    STAGES_SCHEMA,
    TABLES,
    TASK_PIPELINES_SCHEMA,
    TASKS_SCHEMA,
)
from benchhub_sim.store.store import Store

__all__ = [
    "ASSIGNMENTS_SCHEMA",
    "JOB_EVENTS_SCHEMA",
    "JOBS_SCHEMA",
    "NODE_EVENTS_SCHEMA",
    "NODES_SCHEMA",
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "STAGE_PIPELINES_SCHEMA",
    "STAGES_SCHEMA",
    "TABLES",
    "TASK_PIPELINES_SCHEMA",
    "TASKS_SCHEMA",
    "History",
    "JobDetail",
    "JobStore",
    "NodeStore",
    "Run",
    "RunWriter",
    "Store",
    "as_of",
    "fold_history",
    "job_detail",
    "load_run",
    "nodes_by",
    "nodes_in_stage",
    "stages_on_node",
    "tasks_on_node",
]
