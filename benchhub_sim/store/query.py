"""Questions a notebook user asks of a run (or of a live store).

Every function takes a :class:`~benchhub_sim.store.run.Run`, a
:class:`~benchhub_sim.store.store.Store` or a mapping of table name to Arrow table, and
returns a pandas DataFrame (or, for :func:`job_detail`, a :class:`JobDetail` of them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from benchhub_sim.display import html_table
from benchhub_sim.errors import StoreError
from benchhub_sim.store.rows import tables_of

_STAGE_FIELDS = ("node_id", "node_name", "status", "start_time", "ready_time", "stop_time")
_TASK_FIELDS = ("task", "task_name", "driver", "attempt", "task_pipeline", "status", "exit_code",
                "background", "start_time", "ready_time", "stop_time", "reason", "log_path",
                "command")  # fmt: skip
_TP_FIELDS = ("task_pipeline", "status", "start_time", "stop_time")
_PIPELINE_FIELDS = ("pipeline", "status", "start_time", "ready_time", "stop_time")


def no_such_job(job_id: object) -> StoreError:
    """The error of a question about a job the run does not have."""
    return StoreError(f"job {job_id}: no such job in this run")


def _where(table: pa.Table, **equal: Any) -> pa.Table:
    mask = None
    for column, value in equal.items():
        col = table[column]
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        m = pc.equal(col, pa.scalar(value, col.type))
        mask = m if mask is None else pc.and_(mask, m)
    return table if mask is None else table.filter(mask)


def _sorted(table: pa.Table, keys: Iterable[str]) -> pd.DataFrame:
    keys = list(keys)
    if not table.num_rows:
        return table.to_pandas()
    # sort on plain columns: Arrow does not sort dictionary ones (node_name)
    plain = pa.table(
        {
            k: table[k].cast(table[k].type.value_type)
            if pa.types.is_dictionary(table[k].type)
            else table[k]
            for k in keys
        }
    )
    sort_keys = [(k, "ascending", "at_end") for k in keys]  # nulls last, per key (pyarrow >= 25)
    return table.take(pc.sort_indices(plain, sort_keys=sort_keys)).to_pandas()


def stages_on_node(run: Any, node_id: str) -> pd.DataFrame:
    """Every stage (of every job) that ran on ``node_id``, by start time."""
    keys = ["start_time", "job_id", "stage", "node_name"]  # a node may hold 2 slots of a job
    return _sorted(_where(tables_of(run)["stages"], node_id=node_id), keys)


def tasks_on_node(run: Any, node_id: str) -> pd.DataFrame:
    """Every task attempt that ran on ``node_id``, by start time."""
    keys = ["start_time", "job_id", "stage", "node_name", "task", "attempt"]
    return _sorted(_where(tables_of(run)["tasks"], node_id=node_id), keys)


def nodes_in_stage(run: Any, job_id: int, stage: int) -> pd.DataFrame:
    """Status of every node of one stage of one job (its stage rows, with node role and host).

    One row per slot: with loader packing a node holding several slots of the job has a
    row for each (``node_name`` tells them apart).
    """
    tables = tables_of(run)
    rows = _sorted(_where(tables["stages"], job_id=job_id, stage=stage), ["node_id", "node_name"])
    nodes = tables["nodes"].select(["node_id", "role", "host", "state"]).to_pandas()
    nodes["role"] = nodes["role"].astype(object)
    nodes = nodes.rename(columns={"state": "node_state"})
    return rows.merge(nodes, on="node_id", how="left")


def nodes_by(
    run: Any, state: str | Iterable[str] | None = None, role: str | Iterable[str] | None = None
) -> pd.DataFrame:
    """Nodes in ``state`` (one or several) and with preferred ``role``; None: any."""
    nodes = tables_of(run)["nodes"]
    for column, wanted in (("state", state), ("role", role)):
        if wanted is None:
            continue
        values = [wanted] if isinstance(wanted, str) else list(wanted)
        nodes = nodes.filter(
            pc.is_in(nodes[column].cast(pa.string()), pa.array(values, pa.string()))
        )
    return nodes.to_pandas()


@dataclass(frozen=True, eq=False)
class JobDetail:
    """One job of a run, in parts: its row, assignments, pipelines, stages, tasks, events.

    What :func:`job_detail` returns. Each part is a DataFrame (``job`` a Series);
    :meth:`to_dict` gives the nested record of BenchHub's store note. Displayed, it shows
    the job's times and its stages by node, not its raw spec (``job["raw_spec"]``).

    Parameters
    ----------
    job : pandas.Series
        The job's row of the jobs table.
    nodes : pandas.DataFrame
        Its node assignments (its ``assignments`` rows), in the order they were made:
        ``node_id``, ``node_name`` (the slot), ``role`` (the one the slot asks for),
        ``match`` (``exact`` or ``any``).
    pipelines : pandas.DataFrame
        Its ``stage_pipelines`` rows: ``pipeline``, ``status``, start, ready and stop
        times.
    stages : pandas.DataFrame
        Its stage rows (one per stage and slot), in pipeline, stage, node order.
    task_pipelines : pandas.DataFrame
        Its ``task_pipelines`` rows, in stage, node, task pipeline order.
    tasks : pandas.DataFrame
        Its task rows (one per attempt), in stage, node, task, attempt order.
    events : pandas.DataFrame
        Its ``job_events`` rows, in ``seq`` order.
    record : dict
        The nested record (see :meth:`to_dict`).
    """

    job: pd.Series
    nodes: pd.DataFrame
    pipelines: pd.DataFrame
    stages: pd.DataFrame
    task_pipelines: pd.DataFrame
    tasks: pd.DataFrame
    events: pd.DataFrame
    record: dict[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The job as BenchHub's store note nests it: pipelines -> stages -> nodes -> tasks.

        The jobs row (plain Python values), plus ``nodes`` (the assignments: node_id,
        node_name, role, match) and ``pipelines``: a list of ``{pipeline, status,
        start_time, ready_time, stop_time, stages: [{stage, stage_name, background, nodes:
        [{node_id, node_name, status, times, task_pipelines: [...], tasks: [...]}]}]}``,
        one entry of ``nodes`` per slot (with loader packing, a node holding two slots of
        the job appears twice, once per ``node_name``).
        """
        return self.record

    def _title(self) -> str:
        j = self.job
        times = [
            f"{label} {j[c]:,.6g} s"
            for label, c in (
                ("submit", "submit_time"),
                ("start", "start_time"),
                ("stop", "stop_time"),
            )
            if c in j and not pd.isna(j[c])
        ]
        reason = f": {j['reason']}" if isinstance(j.get("reason"), str) and j["reason"] else ""
        return (
            f"job {j['job_id']} {j.get('name', '')}: {j.get('status', '?')}{reason}; "
            + ", ".join(times)
        )

    def __repr__(self) -> str:
        attempts = len(self.tasks)
        failed = int((self.tasks["status"].astype(object) == "failed").sum()) if attempts else 0
        return (
            f"<JobDetail {self._title()}; {len(self.nodes)} nodes, {len(self.pipelines)} "
            f"pipelines, {len(self.stages)} stage rows, {attempts} task attempts ({failed} failed)>"
        )

    def _repr_html_(self) -> str:
        tasks: dict[tuple[Any, Any, Any], list[str]] = {}
        for t in self.tasks.itertuples(index=False):
            mark = f"{t.task_name}:{t.status}" + (f" (attempt {t.attempt})" if t.attempt else "")
            tasks.setdefault((t.stage, t.node_id, t.node_name), []).append(mark)
        rows = [
            (
                s.pipeline,
                s.stage_name + (" (background)" if s.background else ""),
                f"{s.node_name} @ {s.node_id}",
                s.status,
                *(_seconds(v) for v in (s.start_time, s.ready_time, s.stop_time)),
                ", ".join(tasks.get((s.stage, s.node_id, s.node_name), [])),
            )
            for s in self.stages.itertuples(index=False)
        ]
        header = ["pipeline", "stage", "slot @ node", "status", "start (s)", "ready (s)",
                  "stop (s)", "tasks"]  # fmt: skip
        numeric = [True, False, False, False, True, True, True, False]
        return html_table(header, rows, caption=self._title(), numeric=numeric)


def _seconds(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{value:,.6g}"


def job_detail(run: Any, job_id: int) -> JobDetail:
    """One job of a run: its row, assignments, pipelines, stages, tasks and events.

    Parameters
    ----------
    run : Run, Store or mapping of tables
    job_id : int

    Returns
    -------
    JobDetail
        Parts as DataFrames; :meth:`JobDetail.to_dict` nests them as BenchHub's store
        note does (pipelines -> stages -> nodes -> tasks).

    Raises
    ------
    StoreError
        When the run has no such job.
    """
    tables = tables_of(run)
    job = _where(tables["jobs"], job_id=job_id)
    if not job.num_rows:
        raise no_such_job(job_id)
    events = _where(tables["job_events"], job_id=job_id)
    events = events.take(pc.sort_indices(events, sort_keys=[("seq", "ascending")]))
    assigned = _sorted(_where(tables["assignments"], job_id=job_id), ["position"])
    pipelines = _sorted(_where(tables["stage_pipelines"], job_id=job_id), ["pipeline"])
    stages = _sorted(
        _where(tables["stages"], job_id=job_id), ["pipeline", "stage", "node_id", "node_name"]
    )
    tps = _sorted(
        _where(tables["task_pipelines"], job_id=job_id),
        ["stage", "node_id", "node_name", "task_pipeline"],
    )
    tasks = _sorted(
        _where(tables["tasks"], job_id=job_id), ["stage", "node_id", "node_name", "task", "attempt"]
    )
    nodes = assigned[["node_id", "node_name", "role", "match"]].astype(object)
    return JobDetail(
        job=job.to_pandas().iloc[0],
        nodes=nodes.reset_index(drop=True),
        pipelines=pipelines[list(_PIPELINE_FIELDS)].reset_index(drop=True),
        stages=stages,
        task_pipelines=tps,
        tasks=tasks,
        events=events.to_pandas(),
        record=_record(job.to_pylist()[0], nodes, pipelines, stages, tps, tasks),
    )


def _record(
    detail: dict[str, Any],
    nodes: pd.DataFrame,
    pipelines: pd.DataFrame,
    stages: pd.DataFrame,
    tps: pd.DataFrame,
    tasks: pd.DataFrame,
) -> dict[str, Any]:
    """The nested record of :meth:`JobDetail.to_dict`, from one job's rows."""
    detail["nodes"] = _plain(nodes)
    nested: dict[Any, dict[str, Any]] = {
        p["pipeline"]: {**{k: p[k] for k in _PIPELINE_FIELDS}, "stages": {}}
        for p in _plain(pipelines)
    }
    stage_rows = _plain(stages)
    for s in stage_rows:  # (a run of schema 1 may lack a pipeline row)
        if s["pipeline"] not in nested:
            nested[s["pipeline"]] = {"pipeline": s["pipeline"], "status": None, "stages": {}}
    by_slot_tasks = _by_slot(_plain(tasks))
    by_slot_tps = _by_slot(_plain(tps))
    for s in stage_rows:
        stage = nested[s["pipeline"]]["stages"].setdefault(
            s["stage"],
            {
                "stage": s["stage"],
                "stage_name": s["stage_name"],
                "background": s["background"],
                "nodes": [],
            },
        )
        key = (s["stage"], s["node_id"], s["node_name"])
        node = {k: s[k] for k in _STAGE_FIELDS}
        node["task_pipelines"] = [{k: t[k] for k in _TP_FIELDS} for t in by_slot_tps.get(key, [])]
        node["tasks"] = [{k: t[k] for k in _TASK_FIELDS} for t in by_slot_tasks.get(key, [])]
        stage["nodes"].append(node)
    detail["pipelines"] = [
        {**p, "stages": list(p["stages"].values())}
        for _, p in sorted(nested.items(), key=lambda kv: (kv[0] is None, kv[0]))
    ]
    return detail


def _plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (None for missing ones)."""
    return pa.Table.from_pandas(frame, preserve_index=False).to_pylist()


def _by_slot(rows: list[dict]) -> dict[tuple, list[dict]]:
    """Rows by (stage, node_id, node_name), in the order given."""
    out: dict[tuple, list[dict]] = {}
    for r in rows:
        out.setdefault((r["stage"], r["node_id"], r["node_name"]), []).append(r)
    return out
