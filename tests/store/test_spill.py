"""A streamed run hands its ended jobs' rows to the run directory as it goes (sorted runs,
merged by key at the end): the files are those written from every row at once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pytest

from benchhub_sim.cluster import Cluster
from benchhub_sim.engine.engine import Engine
from benchhub_sim.errors import StoreError
from benchhub_sim.spec.model import (
    Duration,
    JobSpec,
    NodeAssignment,
    Selector,
    ShellPayload,
    Stage,
    Task,
)
from benchhub_sim.store import TABLES, History, RunWriter, Store, load_run, merge
from benchhub_sim.store import run as run_module
from benchhub_sim.store.merge import merge_sorted, regroup
from benchhub_sim.store.rows import SORT_KEYS
from benchhub_sim.workload.base import JobRequest


def _requests(n: int) -> list[JobRequest]:
    """Simple jobs (one stage, one task: the engine's bulk paths) and jobs of two stages
    of two tasks on two nodes (the general path), arriving faster than they end."""
    dur = Duration.of("exponential", mean=2.0)
    task = Task("t", shell=ShellPayload("true"), duration=dur)
    simple = JobSpec(
        "simple",
        node_assignments=(NodeAssignment("w"),),
        stages=(Stage("s", selectors=(Selector(all=True),), tasks=(task,)),),
        walltime=2.0,
    )
    two = (task, Task("u", shell=ShellPayload("true"), duration=dur))
    wide = JobSpec(
        "wide",
        node_assignments=(NodeAssignment("a"), NodeAssignment("b")),
        stages=(
            Stage("first", selectors=(Selector(all=True),), tasks=two),
            Stage("second", selectors=(Selector(all=True),), tasks=two),
        ),
    )
    return [JobRequest(wide if i % 3 == 0 else simple, float(i)) for i in range(n)]


def _write(path: Path, reqs: list[JobRequest], spill_jobs: int | None) -> dict[str, str]:
    """A run written as simulate() writes one, handing ended rows over every
    ``spill_jobs`` jobs (never with None); the sha256 of each of its files."""
    writer = RunWriter(path, {"policy": "fcfs"})
    store = Store(History(sink=writer.sink), spill=writer.spill if spill_jobs else None)
    if spill_jobs:
        store.jobs.spill_jobs = spill_jobs
    Engine(Cluster.uniform(8), store, seed=4).run(reqs, until=len(reqs) - 3.0)
    writer.finish(store.final_tables(), sort=SORT_KEYS)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.glob("*.parquet")}


def test_rows_handed_over_as_the_run_goes_change_no_byte_of_the_files(tmp_path, monkeypatch):
    """Sorted runs of 5 ended jobs' rows in blocks of 7 rows, merged into row groups of
    50 rows: the files
    of the same run written from all its rows at the end. Jobs still queued or running
    at the end (the run is cut short) come from the snapshot, not from a run."""
    monkeypatch.setattr(run_module, "_ROW_GROUP", 50)
    monkeypatch.setattr(merge, "BLOCK_ROWS", 7)  # runs of several blocks, merged a block at a time
    spilled: list[str] = []
    real = run_module.RunWriter.spill

    def spy(self, name, rows):
        spilled.append(name)
        real(self, name, rows)

    monkeypatch.setattr(run_module.RunWriter, "spill", spy)
    reqs = _requests(90)
    once = _write(tmp_path / "once", reqs, None)
    assert spilled == []
    often = _write(tmp_path / "often", reqs, 5)
    assert spilled.count("tasks") >= 10  # it did hand rows over, many times
    assert often == once and len(once) == len(TABLES)
    assert not (tmp_path / "often" / "_journal").exists()
    run = load_run(tmp_path / "often")
    assert set(run.jobs["status"]) >= {"finished", "queued"}  # cut short: some left


def test_a_run_killed_after_handing_rows_over_still_loads(tmp_path):
    """The sorted runs are not part of the directory: a run killed after it handed some
    over loads from its journal, every job folded from the history."""
    writer = RunWriter(tmp_path / "killed", {"policy": "fcfs"})
    store = Store(History(sink=writer.sink, flush_seconds=0.0, flush_bytes=0), spill=writer.spill)
    store.jobs.spill_jobs = 5
    Engine(Cluster.uniform(8), store, seed=4).run(_requests(30))
    store.history.flush()  # what a flush on time would have written; then the "kill"
    assert list((tmp_path / "killed" / "_journal" / "runs").glob("tasks-*.arrows"))
    with pytest.raises(StoreError, match=r"rows of \d+ ended jobs were handed to the run dir"):
        store.tables()  # not a partial snapshot
    with pytest.warns(UserWarning, match="incomplete"):
        run = load_run(tmp_path / "killed")
    assert len(run.jobs) == 30 and set(run.jobs["status"]) == {"finished"}


def _sorted_by_hand(rows: list[dict], keys: list[str]) -> list[dict]:
    """Python's stable sort, nulls after every value: the reference order."""
    return sorted(rows, key=lambda r: tuple((r[k] is None, r[k] or 0) for k in keys))


def test_the_merge_orders_as_one_stable_sort_of_everything():
    """Three runs with nulls, strings, keys in several runs and equal keys across runs;
    blocks of 2 rows: the merge gives the rows in the order one stable sort of them all
    (runs in order) gives, by hand."""
    keys = ["job_id", "node_id"]
    runs = [
        [(1, "a", "r0"), (1, "b", "r0"), (4, None, "r0"), (9, "a", "r0")],
        [(0, "z", "r1"), (1, "b", "r1"), (2, "a", "r1"), (4, "a", "r1"), (4, None, "r1")],
        [(5, "c", "r2")],
        [],
    ]
    rows = [[dict(zip(("job_id", "node_id", "run"), r, strict=True)) for r in run] for run in runs]
    sch = pa.schema([("job_id", pa.int64()), ("node_id", pa.string()), ("run", pa.string())])

    def blocks(run):
        table = pa.Table.from_pylist(_sorted_by_hand(run, keys), schema=sch)
        return iter([table.slice(i, 2) for i in range(0, table.num_rows, 2)])

    pieces = list(merge_sorted([blocks(r) for r in rows], keys))
    got = [row for piece in pieces for row in piece.to_pylist()]
    assert got == _sorted_by_hand([r for run in rows for r in run], keys)
    assert got[2:4] == [  # equal keys in two runs: in run order
        {"job_id": 1, "node_id": "b", "run": "r0"},
        {"job_id": 1, "node_id": "b", "run": "r1"},
    ]
    groups = list(regroup(iter(pieces), sch, 4))
    assert [g.num_rows for g in groups] == [4, 4, 2]
    assert [g.num_rows for g in regroup(iter([]), sch, 4)] == [0]
