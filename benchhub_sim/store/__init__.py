"""Node store and job store as Arrow tables, their history, and run directories.

The folds and queries (pandas) are imported when first used (PEP 562): writing a run
needs neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchhub_sim.lazy import lazy_dir, lazy_getattr
from benchhub_sim.store.history import History
from benchhub_sim.store.jobs import JobStore
from benchhub_sim.store.nodes import NodeStore
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

#: the module of every name imported on first use
_LAZY: dict[str, str] = {
    "as_of": "benchhub_sim.store.fold",
    "fold_history": "benchhub_sim.store.fold",
    **dict.fromkeys(
        ("JobDetail", "job_detail", "nodes_by", "nodes_in_stage", "stages_on_node",
         "tasks_on_node"),
        "benchhub_sim.store.query",
    ),
}  # fmt: skip
__getattr__ = lazy_getattr(__name__, _LAZY)
__dir__ = lazy_dir(__name__, _LAZY)

if TYPE_CHECKING:  # what __getattr__ returns, for type checkers and editors
    from benchhub_sim.store.fold import as_of, fold_history
    from benchhub_sim.store.query import (
        JobDetail,
        job_detail,
        nodes_by,
        nodes_in_stage,
        stages_on_node,
        tasks_on_node,
    )

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
