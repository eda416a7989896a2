"""Rebuild the store's snapshots from the history alone (vectorised, no replay).

:func:`fold_history` is a second, independent statement of the store's rules: each state
column is a group-by over the event tables (the last status of each entity, the time of
its start/ready/stop event, ...). The tests check that the live snapshot the
:class:`~benchhub_sim.store.store.Store` keeps incrementally equals this fold.
:func:`as_of` folds only the events up to a time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from benchhub_sim.store.jobs import TABLES as JOB_TABLES
from benchhub_sim.store.rows import SORT_KEYS, canonical, sort_canonical, tables_of
from benchhub_sim.store.schema import (
    JOB_EVENTS_SCHEMA,
    JOBS_SCHEMA,
    NODE_EVENTS_SCHEMA,
    NODES_SCHEMA,
    TABLES,
)

#: the tables :func:`fold_history` folds, in the order of :data:`TABLES`
SNAPSHOTS = ("nodes", *JOB_TABLES)
#: static columns taken from ``jobs_info`` / ``nodes_info`` (not derivable from events)
JOB_INFO_COLUMNS = (
    "name",
    "n_nodes",
    "walltime",
    "priority",
    "raw_spec",
    "spec_hash",
    "n_pipelines",
    "n_task_pipelines",
)
#: every info column of a node: those before ``state``
NODE_INFO_COLUMNS = tuple(NODES_SCHEMA.names[1 : NODES_SCHEMA.names.index("state")])

# a stage row per slot (node_name): with loader packing a node holds several slots of a
# job; without it, node and slot are one-to-one and node_name changes nothing
_STAGE_KEY = ["job_id", "stage", "node_id", "node_name"]
_TASK_KEY = ["job_id", "stage", "node_id", "node_name", "task", "attempt"]
_TP_KEY = [*_STAGE_KEY, "task_pipeline"]

Info: TypeAlias = pa.Table | pd.DataFrame | None


def fold_history(
    job_events: pa.Table | pd.DataFrame,
    node_events: pa.Table | pd.DataFrame,
    jobs_info: Info = None,
    nodes_info: Info = None,
    *,
    tables: Collection[str] | None = None,
) -> dict[str, pa.Table]:
    """Fold the event tables into the snapshot tables (all of :data:`TABLES` but the events).

    Parameters
    ----------
    job_events, node_events : pyarrow.Table or pandas.DataFrame
        History tables (schemas ``JOB_EVENTS_SCHEMA`` / ``NODE_EVENTS_SCHEMA``), any
        row order (they are sorted by ``seq``).
    jobs_info : table or DataFrame, optional
        ``job_id`` and the static job columns (:data:`JOB_INFO_COLUMNS`: name, n_nodes,
        walltime, priority, raw_spec, its hash, the shape of its spec), e.g. a ``jobs``
        table. Without it those columns are null, and ``stage_pipelines`` and
        ``task_pipelines`` list only the pipelines that started.
    nodes_info : table or DataFrame, optional
        ``node_id`` and the static node columns (:data:`NODE_INFO_COLUMNS`: host,
        addresses, role, provider, capacity, times, labels, speed, ...), e.g. a
        ``nodes`` table. Without it those columns are null.
    tables : collection of str, optional
        Fold only these tables (default: every snapshot table).

    Returns
    -------
    dict of str to pyarrow.Table
        Canonical tables, sorted like :meth:`Store.tables` (nodes in order of first
        registration, the others by their keys).
    """
    je = _frame(job_events, JOB_EVENTS_SCHEMA).sort_values("seq", kind="stable")
    wanted = [n for n in SNAPSHOTS if tables is None or n in tables]
    done: dict[str, pd.DataFrame] = {}

    def fold(name: str) -> pd.DataFrame:
        if name not in done:
            if name == "nodes":
                ne = _frame(node_events, NODE_EVENTS_SCHEMA).sort_values("seq", kind="stable")
                done[name] = _fold_nodes(ne, fold("assignments"), nodes_info)
            elif name == "jobs":
                done[name] = _fold_jobs(je, fold("stages"), jobs_info)
            elif name == "assignments":
                done[name] = _fold_assignments(je)
            elif name == "stage_pipelines":
                done[name] = _fold_stage_pipelines(je, fold("jobs"))
            elif name == "stages":
                done[name] = _fold_stages(je)
            elif name == "task_pipelines":
                done[name] = _fold_task_pipelines(fold("stages"), fold("tasks"), fold("jobs"))
            elif name == "tasks":
                done[name] = _fold_tasks(je)
            else:
                raise KeyError(f"{name}: not a table of the node or job store")
        return done[name]

    return {
        name: sort_canonical(
            _to_arrow(fold(name), TABLES[name]), TABLES[name], SORT_KEYS.get(name, [])
        )
        for name in wanted
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


def _fold_nodes(ne: pd.DataFrame, assignments: pd.DataFrame, info: Info) -> pd.DataFrame:
    df = pd.DataFrame({"node_id": ne.drop_duplicates("node_id")["node_id"].to_numpy(object)})
    last = ne.drop_duplicates("node_id", keep="last").set_index("node_id")
    df["state"] = df["node_id"].map(last["state"])
    df["job_state"] = df["node_id"].map(last["job_state"])
    df["job_id"] = df["node_id"].map(last["job_id"])
    df["job_count"] = df["job_id"].notna().astype(np.int32)
    df["registered_time"] = df["node_id"].map(_last_time(ne, ["register"], "node_id"))
    reports = ne[ne["event"] != "fail"].drop_duplicates("node_id", keep="last")
    df["heartbeat"] = df["node_id"].map(reports.set_index("node_id")["time"])
    # the slots the node holds in its current job: the node's latest assignments, when
    # they are of that job (a node is assigned to one job at a time)
    latest = assignments.drop_duplicates("node_id", keep="last")[["node_id", "job_id"]]
    held: dict[tuple, list] = {}  # (job, node) -> [names, role]: a few per node
    for job_id, node_id, name, role in assignments.merge(latest, on=["node_id", "job_id"])[
        ["job_id", "node_id", "node_name", "role"]
    ].itertuples(index=False):
        entry = held.setdefault((job_id, node_id), [[], role])
        entry[0].append(name)
    current = [held.get((j, n)) for j, n in zip(df["job_id"], df["node_id"], strict=True)]
    df["node_name"] = [None if h is None else ",".join(h[0]) for h in current]
    df["job_role"] = [None if h is None else h[1] for h in current]
    return _with_info(df, "node_id", info, NODE_INFO_COLUMNS, NODES_SCHEMA)


def _fold_assignments(je: pd.DataFrame) -> pd.DataFrame:
    df = je[je["event"] == "assign"]
    df = df.assign(position=df.groupby("job_id").cumcount(), match=df["detail"])
    return df[["job_id", "position", "node_name", "role", "node_id", "match", "time"]]


def _fold_jobs(je: pd.DataFrame, stages: pd.DataFrame, info: Info) -> pd.DataFrame:
    sub = je[je["event"] == "submit"].drop_duplicates("job_id")
    df = pd.DataFrame({"job_id": sub["job_id"].to_numpy(), "submit_time": sub["time"].to_numpy()})
    life = je[je["event"].isin(["submit", "start", "finish", "abort"])]
    df["status"] = df["job_id"].map(
        life.drop_duplicates("job_id", keep="last").set_index("job_id")["status"]
    )
    df["start_time"] = df["job_id"].map(_last_time(je, ["start"], "job_id"))
    df["stop_time"] = df["job_id"].map(_last_time(je, ["finish", "abort"], "job_id"))
    df["create_time"] = df["submit_time"]
    df["update_time"] = df["job_id"].map(
        je.drop_duplicates("job_id", keep="last").set_index("job_id")["time"]
    )
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


def _fold_stage_pipelines(je: pd.DataFrame, jobs: pd.DataFrame) -> pd.DataFrame:
    """Every pipeline that started, by its events; and, where the number of pipelines of
    a job is known, those that did not, queued."""
    key = ["job_id", "pipeline"]
    pe = je[je["event"].str.startswith("pipeline_")]
    time, status = pe["time"], pe["status"]
    # the time of the last event of each kind (groupby's last skips the NaN of the others)
    df = (
        pe[key]
        .assign(
            status=status,
            start_time=time.where(pe["event"] == "pipeline_start"),
            ready_time=time.where(status == "background"),
            stop_time=time.where(status.isin(["finished", "aborted"])),
        )
        .groupby(key, as_index=False, sort=False)
        .last()
    )
    counts = jobs["n_pipelines"].dropna().astype(np.int64) if "n_pipelines" in jobs else None
    if counts is None or not len(counts):
        return df
    n = counts.to_numpy()
    every = pd.MultiIndex.from_arrays(
        [np.repeat(jobs.loc[counts.index, "job_id"].to_numpy(), n), _aranges(n)], names=key
    )
    queued = every.difference(pd.MultiIndex.from_frame(df[key].astype(np.int64)))
    return pd.concat([df, queued.to_frame(index=False).assign(status="queued")], ignore_index=True)


def _fold_task_pipelines(
    stages: pd.DataFrame, tasks: pd.DataFrame, jobs: pd.DataFrame
) -> pd.DataFrame:
    """Task pipelines by the last attempt of each of their tasks (the rule of
    :func:`~benchhub_sim.store.jobs.task_pipeline_status`); and, where the number of task
    pipelines of each stage is known, those of a started stage row none of whose tasks
    started, queued."""
    t = tasks[tasks["task_pipeline"].notna()].sort_values("attempt", kind="stable")
    last = ~t.duplicated(_TASK_KEY[:-1], keep="last")
    status = t["status"]
    g = (
        t[_TP_KEY]
        .assign(
            live=last & status.isin(["queued", "running"]),
            bad=last
            & (
                status.isin(["failed", "aborted"])
                | ((status == "stopped") & t["ready_time"].isna())
            ),
            bg=last & (status == "background"),
            start_time=t["start_time"],
            stop_time=t["stop_time"],
        )
        .groupby(_TP_KEY, as_index=False, sort=False)
        .agg(
            live=("live", "any"),
            bad=("bad", "any"),
            bg=("bg", "any"),
            start_time=("start_time", "min"),
            stop_time=("stop_time", "max"),
        )
    )
    g["status"] = np.select(
        [g["live"], g["bad"], g["bg"]], ["running", "aborted", "background"], default="finished"
    )
    g.loc[~g["status"].isin(["finished", "aborted"]), "stop_time"] = np.nan
    df = g[[*_TP_KEY, "status", "start_time", "stop_time"]]
    # the task pipelines of every started stage row, where their number is known
    if "n_task_pipelines" not in jobs or not len(stages):
        return df
    per_job = jobs.set_index("job_id")["n_task_pipelines"].dropna()
    per_job = per_job[per_job.index.isin(stages["job_id"])]
    if not len(per_job):
        return df
    lengths = per_job.map(len).to_numpy()
    per_stage = pd.DataFrame(
        {
            "job_id": np.repeat(per_job.index.to_numpy(), lengths),
            "stage": _aranges(lengths),
            "n": np.concatenate([np.asarray(v, np.int64) for v in per_job]),
        }
    )
    n = stages[_STAGE_KEY].merge(per_stage, on=["job_id", "stage"], how="inner")
    count = n["n"].to_numpy(np.int64)
    every = n.loc[n.index.repeat(count), _STAGE_KEY].assign(task_pipeline=_aranges(count))
    seen = pd.MultiIndex.from_frame(df[_TP_KEY].astype({"task_pipeline": np.int64}))
    queued = every[~pd.MultiIndex.from_frame(every).isin(seen)].assign(status="queued")
    return pd.concat([df, queued], ignore_index=True)


def _aranges(lengths: np.ndarray) -> np.ndarray:
    """``0 .. n-1`` for each ``n`` of ``lengths``, one after the other."""
    lengths = np.asarray(lengths, np.int64)
    return np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)


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
    cols = ["pipeline", "stage_name", "task_name", "driver", "background", "task_pipeline"]
    df = te.drop_duplicates(_TASK_KEY)[[*_TASK_KEY, *cols]]
    df = _merge_last(df, te, _TASK_KEY, None, {"status": "status"})
    df = _merge_last(
        df,
        te,
        _TASK_KEY,
        ["task_start"],
        {"time": "start_time", "detail": "log_path", "command": "command"},
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
