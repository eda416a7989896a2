"""Rebuild the store's snapshots from the history alone (vectorised, no replay).

:func:`fold_history` is a second, independent statement of the store's rules: each state
column is a group-by over the event tables (the last status of each entity, the time of
its start/ready/stop event, ...). The tests check that the live snapshot the
:class:`~benchhub_sim.store.store.Store` keeps incrementally equals this fold.
:func:`as_of` folds only the events up to a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from benchhub_sim.store.rows import SORT_KEYS, canonical, sort_canonical, tables_of
from benchhub_sim.store.schema import (
    JOB_EVENTS_SCHEMA,
    JOBS_SCHEMA,
    NODE_EVENTS_SCHEMA,
    NODES_SCHEMA,
    STAGES_SCHEMA,
    TASKS_SCHEMA,
)

#: static columns taken from ``jobs_info`` / ``nodes_info`` (not derivable from events)
JOB_INFO_COLUMNS = ("name", "n_nodes", "walltime", "priority", "raw_spec")
NODE_INFO_COLUMNS = (
    "host",
    "ip",
    "role",
    "provider",
    "cores",
    "mem_mb",
    "disk_mb",
    "labels",
    "speed",
)

# a stage row per slot (node_name): with loader packing a node holds several slots of a
# job; without it, node and slot are one-to-one and node_name changes nothing
_STAGE_KEY = ["job_id", "stage", "node_id", "node_name"]
_TASK_KEY = ["job_id", "stage", "node_id", "node_name", "task", "attempt"]

Info: TypeAlias = pa.Table | pd.DataFrame | None


def fold_history(
    job_events: pa.Table | pd.DataFrame,
    node_events: pa.Table | pd.DataFrame,
    jobs_info: Info = None,
    nodes_info: Info = None,
) -> dict[str, pa.Table]:
    """Fold the event tables into the ``nodes``, ``jobs``, ``stages`` and ``tasks`` tables.

    Parameters
    ----------
    job_events, node_events : pyarrow.Table or pandas.DataFrame
        History tables (schemas ``JOB_EVENTS_SCHEMA`` / ``NODE_EVENTS_SCHEMA``), any
        row order (they are sorted by ``seq``).
    jobs_info : table or DataFrame, optional
        ``job_id`` and the static job columns (name, n_nodes, walltime, priority,
        raw_spec), e.g. a ``jobs`` table. Without it those columns are null.
    nodes_info : table or DataFrame, optional
        ``node_id`` and the static node columns (host, ip, role, capacity, labels,
        speed), e.g. a ``nodes`` table. Without it those columns are null.

    Returns
    -------
    dict of str to pyarrow.Table
        Canonical tables, sorted like :meth:`Store.tables` (nodes in order of first
        registration, the others by their keys).
    """
    je = _frame(job_events, JOB_EVENTS_SCHEMA).sort_values("seq", kind="stable")
    ne = _frame(node_events, NODE_EVENTS_SCHEMA).sort_values("seq", kind="stable")
    stages = _fold_stages(je)
    out = {
        "nodes": _fold_nodes(ne, nodes_info),
        "jobs": _fold_jobs(je, stages, jobs_info),
        "stages": stages,
        "tasks": _fold_tasks(je),
    }
    schemas = {
        "nodes": NODES_SCHEMA,
        "jobs": JOBS_SCHEMA,
        "stages": STAGES_SCHEMA,
        "tasks": TASKS_SCHEMA,
    }
    return {
        name: sort_canonical(_to_arrow(df, schemas[name]), schemas[name], SORT_KEYS.get(name, []))
        for name, df in out.items()
    }


def as_of(run_or_tables: Any, t: float) -> dict[str, pd.DataFrame]:
    """State of the nodes and jobs at time ``t``, folded from the events with time <= ``t``.

    Parameters
    ----------
    run_or_tables : Run, Store or mapping of table name to pyarrow.Table
        Needs ``job_events`` and ``node_events``; ``jobs`` and ``nodes`` give the
        static info columns.
    t : float
        Seconds on the run's clock.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``nodes``, ``jobs``, ``stages`` and ``tasks`` as they were at ``t``; jobs not
        yet submitted and nodes not yet registered are absent.
    """
    tables = tables_of(run_or_tables)
    je, ne = tables["job_events"], tables["node_events"]
    if isinstance(je, pa.Table):
        je = je.filter(pa.compute.less_equal(je["time"], t))
        ne = ne.filter(pa.compute.less_equal(ne["time"], t))
    else:
        je, ne = je[je["time"] <= t], ne[ne["time"] <= t]
    folded = fold_history(je, ne, tables.get("jobs"), tables.get("nodes"))
    return {name: table.to_pandas() for name, table in folded.items()}


# -- per table ----------------------------------------------------------------------------


def _fold_nodes(ne: pd.DataFrame, info: Info) -> pd.DataFrame:
    df = pd.DataFrame({"node_id": ne.drop_duplicates("node_id")["node_id"].to_numpy(object)})
    last = ne.drop_duplicates("node_id", keep="last").set_index("node_id")
    reg = _last_time(ne, ["register"], "node_id")
    df["state"] = df["node_id"].map(last["state"])
    df["job_id"] = df["node_id"].map(last["job_id"])
    df["registered_time"] = df["node_id"].map(reg)
    return _with_info(df, "node_id", info, NODE_INFO_COLUMNS, NODES_SCHEMA)


def _fold_jobs(je: pd.DataFrame, stages: pd.DataFrame, info: Info) -> pd.DataFrame:
    sub = je[je["event"] == "submit"].drop_duplicates("job_id")
    df = pd.DataFrame({"job_id": sub["job_id"].to_numpy(), "submit_time": sub["time"].to_numpy()})
    life = je[je["event"].isin(["submit", "start", "finish", "abort"])]
    df["status"] = df["job_id"].map(
        life.drop_duplicates("job_id", keep="last").set_index("job_id")["status"]
    )
    df["start_time"] = df["job_id"].map(_last_time(je, ["start"], "job_id"))
    df["stop_time"] = df["job_id"].map(_last_time(je, ["finish", "abort"], "job_id"))
    aborts = je[je["event"] == "abort"].drop_duplicates("job_id", keep="last")
    df["reason"] = df["job_id"].map(aborts.set_index("job_id")["detail"])
    pstart = je[je["event"] == "pipeline_start"].drop_duplicates("job_id", keep="last")
    df["current_pipeline"] = df["job_id"].map(pstart.set_index("job_id")["pipeline"])
    # a stage index is foreground while a node row runs, background while one is in the
    # background, finished when every row finished or stopped (aborted: in no list)
    st = stages.assign(
        r=stages["status"] == "running",
        b=stages["status"] == "background",
        d=stages["status"].isin(["finished", "stopped"]),
    )
    g = st.groupby(["job_id", "stage"], as_index=False).agg(
        r=("r", "any"), b=("b", "any"), d=("d", "all")
    )
    g["place"] = np.select([g["r"], g["b"], g["d"]], ["fg", "bg", "fin"], default="")
    g = g.sort_values(["job_id", "stage"])
    for place, col in (
        ("fg", "foreground_stages"),
        ("bg", "background_stages"),
        ("fin", "finished_stages"),
    ):
        part = g[g["place"] == place]
        lists = part.groupby("job_id")["stage"].agg(lambda s: [int(x) for x in s])
        df[col] = [lists.get(j, []) for j in df["job_id"]]
    return _with_info(df, "job_id", info, JOB_INFO_COLUMNS, JOBS_SCHEMA)


def _fold_stages(je: pd.DataFrame) -> pd.DataFrame:
    se = je[je["event"].str.startswith("stage_")]
    first = se[se["event"] == "stage_start"].drop_duplicates(_STAGE_KEY)
    df = first[[*_STAGE_KEY, "pipeline", "stage_name", "background", "time"]]
    df = df.rename(columns={"time": "start_time"})
    df = _merge_last(df, se, _STAGE_KEY, None, {"status": "status"})
    df = _merge_last(df, se, _STAGE_KEY, ["stage_ready"], {"time": "ready_time"})
    ends = ["stage_finish", "stage_stop", "stage_abort"]
    return _merge_last(df, se, _STAGE_KEY, ends, {"time": "stop_time"})


def _fold_tasks(je: pd.DataFrame) -> pd.DataFrame:
    te = je[je["event"].str.startswith("task_")]
    cols = ["pipeline", "stage_name", "task_name", "driver", "background"]
    df = te.drop_duplicates(_TASK_KEY)[[*_TASK_KEY, *cols]]
    df = _merge_last(df, te, _TASK_KEY, None, {"status": "status"})
    df = _merge_last(
        df, te, _TASK_KEY, ["task_start"], {"time": "start_time", "detail": "log_path"}
    )
    df = _merge_last(df, te, _TASK_KEY, ["task_ready"], {"time": "ready_time"})
    df = _merge_last(
        df, te, _TASK_KEY, ["task_finish", "task_fail", "task_stop"], {"time": "stop_time"}
    )
    df = _merge_last(df, te, _TASK_KEY, ["task_fail", "task_stop"], {"detail": "reason"})
    codes = te[te["exit_code"].notna()]
    return _merge_last(df, codes, _TASK_KEY, None, {"exit_code": "exit_code"})


# -- helpers ------------------------------------------------------------------------------


def _frame(data: pa.Table | pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """Events as a DataFrame with plain string columns (no categoricals)."""
    if isinstance(data, pd.DataFrame):
        data = pa.Table.from_pandas(data, preserve_index=False)
    if data.num_rows == 0:
        data = schema.empty_table()
    fields = [
        pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
        for f in data.schema
    ]
    return data.cast(pa.schema(fields)).to_pandas()


def _last_time(events: pd.DataFrame, kinds: list[str], key: str) -> pd.Series:
    sel = events[events["event"].isin(kinds)].drop_duplicates(key, keep="last")
    return sel.set_index(key)["time"]


def _merge_last(
    df: pd.DataFrame,
    events: pd.DataFrame,
    key: list[str],
    kinds: list[str] | None,
    columns: Mapping[str, str],
) -> pd.DataFrame:
    """Left-join columns of the last event (of ``kinds``) of each key, renamed."""
    sel = events if kinds is None else events[events["event"].isin(kinds)]
    sel = sel.drop_duplicates(key, keep="last")[[*key, *columns]].rename(columns=dict(columns))
    return df.merge(sel, on=key, how="left")


def _with_info(
    df: pd.DataFrame, key: str, info: Info, columns: tuple[str, ...], schema: pa.Schema
) -> pd.DataFrame:
    if info is None:
        for col in columns:
            df[col] = None
        return df
    if isinstance(info, pd.DataFrame):
        info = pa.Table.from_pandas(info, preserve_index=False)
    info = info.select([key, *columns])
    info = info.cast(pa.schema([pa.field(n, schema.field(n).type) for n in info.column_names]))
    plain = _frame(info, pa.schema([schema.field(n) for n in info.column_names]))
    plain = plain.drop_duplicates(key, keep="last").set_index(key)
    for col in columns:
        df[col] = df[key].map(plain[col]) if len(df) else []
    return df


def _to_arrow(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    arrays = []
    for field in schema:
        typ = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        values = df[field.name] if field.name in df else pd.Series([None] * len(df))
        if pa.types.is_map(typ) or pa.types.is_list(typ):
            values = [None if _isna(v) else list(v) for v in values]
            arrays.append(pa.array(values, typ))
        else:
            arrays.append(pa.array(values, typ, from_pandas=True))
    return canonical(pa.Table.from_arrays(arrays, names=schema.names), schema)


def _isna(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
