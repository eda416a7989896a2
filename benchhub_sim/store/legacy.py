"""Run directories of schema version 1, read as version 2.

Schema 1 kept BenchHub's two node enums in one ``state`` column (``running_job``,
``waiting_peers``, ``reporting``, ``cleanup``, ...), and had no assignment, stage
pipeline or task pipeline table. :func:`upgrade_v1` maps its tables to schema 2:

============================  =================================================================
schema 1                      schema 2
============================  =================================================================
state ``running_job``         state ``running_job``, job_state ``running``
state ``waiting_peers``       state ``running_job``, job_state ``waiting_instruction``
state ``reporting``           state ``running_job``, job_state ``reporting``
state ``cleanup``             state ``running_job``, job_state ``cleanup``
other states                  the same state, job_state null
(no node info beyond ...)     bind_addr, remote_addr, provider region and instance, free
                              capacity, start/boot time: null; reporting/cleanup time 0;
                              heartbeat, node_name, job_role: null; job_count 0 or 1 by job_id
(no spec hash)                spec_hash: sha256 of raw_spec, as schema 2 computes it
(no create/update time)       create_time = submit_time; update_time = stop_time of an ended
                              job, submit_time of a queued one, null for a running one
(no spec shape)               n_pipelines, n_task_pipelines: null
(no role, task pipeline,      job_events role, task_pipeline, command and tasks
command)                      task_pipeline, command: null
(no assignments table)        folded from the ``assign`` events (role null)
(no stage_pipelines table)    folded from the pipeline events; a pipeline still running or in
                              the background when its job ended takes the job's end (finished
                              or aborted, at its stop time): schema 1 logged no event for it
(no task_pipelines table)     empty: schema 1 did not record which task pipeline a task ran in
============================  =================================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from benchhub_sim.store.schema import TABLES

_V1_COLUMNS: dict[str, tuple[str, ...]] = {
    "nodes": ("node_id", "host", "ip", "role", "provider", "cores", "mem_mb", "disk_mb",
              "labels", "speed", "state", "registered_time", "job_id"),
    "jobs": ("job_id", "name", "submit_time", "start_time", "stop_time", "status", "n_nodes",
             "walltime", "priority", "current_pipeline", "foreground_stages",
             "background_stages", "finished_stages", "reason", "raw_spec"),
    "stages": tuple(TABLES["stages"].names),
    "tasks": tuple(TABLES["tasks"].names[: TABLES["tasks"].names.index("log_path") + 1]),
    "node_events": ("seq", "time", "node_id", "event", "state", "job_id", "detail"),
    "job_events": tuple(TABLES["job_events"].names[: TABLES["job_events"].names.index("detail") + 1]),
}  # fmt: skip

#: the tables of schema 1: their columns are those of schema 2 of the same name
V1_TABLES: dict[str, pa.Schema] = {
    name: pa.schema([TABLES[name].field(c) for c in columns], metadata=TABLES[name].metadata)
    for name, columns in _V1_COLUMNS.items()
}

#: schema 1 node state -> (state, job_state) of schema 2
V1_STATES: dict[str, tuple[str, str | None]] = {
    "running_job": ("running_job", "running"),
    "waiting_peers": ("running_job", "waiting_instruction"),
    "reporting": ("running_job", "reporting"),
    "cleanup": ("running_job", "cleanup"),
}


def upgrade_v1(tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
    """The tables of a schema 1 run (:data:`V1_TABLES`) as schema 2 tables (the module's
    table says how each column maps). Without its snapshot tables (a run that did not
    finish), they are folded from the mapped events."""
    from benchhub_sim.store.fold import fold_history

    out = {
        "node_events": _with_columns(_split_state(tables["node_events"]), "node_events"),
        "job_events": _with_columns(tables["job_events"], "job_events"),
    }
    if "jobs" not in tables:  # an incomplete run without its snapshot tables: fold them all
        out.update(fold_history(out["job_events"], out["node_events"]))
        return {name: out[name] for name in TABLES}
    out["nodes"] = _with_columns(_split_state(tables["nodes"]), "nodes", _node_defaults)
    out["jobs"] = _with_columns(tables["jobs"], "jobs", _job_defaults)
    out["stages"] = tables["stages"]
    out["tasks"] = _with_columns(tables["tasks"], "tasks")
    folded = fold_history(
        out["job_events"],
        out["node_events"],
        out["jobs"],
        tables=("assignments", "stage_pipelines"),
    )
    out["assignments"] = folded["assignments"]
    out["stage_pipelines"] = _end_with_job(folded["stage_pipelines"], out["jobs"])
    out["task_pipelines"] = TABLES["task_pipelines"].empty_table()
    return {name: out[name] for name in TABLES}


def _split_state(table: pa.Table) -> pa.Table:
    """Schema 1's merged ``state`` as schema 2's ``state`` and ``job_state``."""
    old = table["state"].cast(pa.string()).to_pylist()
    pairs = [V1_STATES.get(s, (s, None)) if s is not None else (None, None) for s in old]
    i = table.schema.get_field_index("state")
    table = table.set_column(i, "state", pa.array([p[0] for p in pairs], pa.string()))
    return table.add_column(i + 1, "job_state", pa.array([p[1] for p in pairs], pa.string()))


def _node_defaults(table: pa.Table) -> dict[str, pa.Array]:
    n = table.num_rows
    return {
        "reporting_time": pa.array(np.zeros(n)),
        "cleanup_time": pa.array(np.zeros(n)),
        "job_count": pc.if_else(pc.is_null(table["job_id"]), 0, 1).cast(pa.int32()),
    }


def _job_defaults(table: pa.Table) -> dict[str, pa.Array]:
    raw = table["raw_spec"].cast(pa.string()).to_pylist()
    hashes = {t: hashlib.sha256(t.encode()).hexdigest() for t in set(raw) if t}
    status = table["status"].cast(pa.string())
    ended = pc.is_in(status, pa.array(["finished", "aborted"]))
    queued = pc.equal(status, "queued")
    null = pa.nulls(table.num_rows, pa.float64())
    return {
        "spec_hash": pa.array([hashes.get(t) if t else None for t in raw], pa.string()),
        "create_time": table["submit_time"],
        "update_time": pc.if_else(
            ended, table["stop_time"], pc.if_else(queued, table["submit_time"], null)
        ),
    }


def _with_columns(
    table: pa.Table, name: str, defaults: Callable[[pa.Table], dict[str, Any]] | None = None
) -> pa.Table:
    """``table`` with every column of schema 2's ``name``: those it lacks from
    ``defaults(table)``, else null."""
    given = defaults(table) if defaults is not None else {}
    columns = []
    for field in TABLES[name]:
        if field.name in table.column_names:
            columns.append(table[field.name])
        elif field.name in given:
            columns.append(given[field.name])
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.table(columns, names=TABLES[name].names)


def _end_with_job(pipelines: pa.Table, jobs: pa.Table) -> pa.Table:
    """Pipelines still running or in the background when their job ended end with it."""
    if not pipelines.num_rows:
        return pipelines
    ends = {
        j: (s, t)
        for j, s, t in zip(
            jobs["job_id"].to_pylist(),
            jobs["status"].cast(pa.string()).to_pylist(),
            jobs["stop_time"].to_pylist(),
            strict=True,
        )
        if s in ("finished", "aborted")
    }
    rows = pipelines.to_pylist()
    for row in rows:
        end = ends.get(row["job_id"])
        if end is not None and row["status"] in ("running", "background"):
            row["status"], row["stop_time"] = end
    return pa.Table.from_pylist(rows, schema=pipelines.schema)
