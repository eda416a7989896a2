"""How a run is written: the history hands rows over on time and size, each table is one
Parquet file written once, and a journal keeps a killed run readable."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchhub_sim.cluster import Cluster
from benchhub_sim.engine.engine import Engine
from benchhub_sim.spec.model import (
    Duration,
    JobSpec,
    NodeAssignment,
    Selector,
    ShellPayload,
    Stage,
    Task,
)
from benchhub_sim.store import TABLES, History, RunWriter, Store, load_run
from benchhub_sim.store import run as run_module
from benchhub_sim.store.journal import EventFile, read_journal
from benchhub_sim.store.packed import unify_dictionaries
from benchhub_sim.store.rows import SORT_KEYS, canonical
from benchhub_sim.workload.base import JobRequest

RUN_V2 = Path(__file__).resolve().parents[1] / "data" / "run-v2"


def _requests(n: int) -> list[JobRequest]:
    task = Task("t", shell=ShellPayload("true"), duration=Duration.of("exponential", mean=2.0))
    stage = Stage("s", selectors=(Selector(all=True),), tasks=(task,))
    spec = JobSpec("j", node_assignments=(NodeAssignment("w"),), stages=(stage,), walltime=2.0)
    return [JobRequest(spec, 0.5 * i) for i in range(n)]


def _write(path: Path, reqs: list[JobRequest], **history: float) -> dict[str, str]:
    """A run written as simulate() writes one; the sha256 of each of its files."""
    writer = RunWriter(path, {"policy": "fcfs"})
    store = Store(History(sink=writer.sink, **history))  # type: ignore[arg-type]
    Engine(Cluster.uniform(3), store, seed=4).run(reqs)
    writer.finish(store.final_tables(), sort=SORT_KEYS)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.glob("*.parquet")}


def test_the_history_hands_rows_over_on_time_and_size_not_on_a_row_count():
    got: list[tuple[str, int]] = []
    h = History(lambda name, batch: got.append((name, batch.num_rows)), flush_rows=4)
    for i in range(100):
        h.job(float(i), i, "submit", "queued")
    assert got == []  # 25 batches of 4 rows made, none handed over: the run is young
    assert h.job_events().num_rows == 100 and got == []  # the caller's, not the sink's
    h = History(lambda name, batch: got.append((name, batch.num_rows)), flush_rows=4)
    h.flush_bytes = 1  # any batch made is enough to hand over
    for i in range(10):
        h.job(float(i), i, "submit", "queued")
    assert got == [("job_events", 4), ("job_events", 4)]


def test_a_short_run_writes_each_table_once(tmp_path, monkeypatch):
    opened: list[str] = []

    class Spy(pq.ParquetWriter):
        def __init__(self, where, *args, **kwargs):
            opened.append(Path(where).name.strip(".").split(".")[0])
            super().__init__(where, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetWriter", Spy)
    _write(tmp_path / "run", _requests(40))
    assert sorted(opened) == sorted(TABLES)  # one file each, nothing rewritten
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(
        [f"{name}.parquet" for name in TABLES] + ["run.json"]
    )


def test_when_rows_are_handed_over_changes_no_byte_of_the_files(tmp_path, monkeypatch):
    """Handed over in 7-row batches through the journal, or all at the end: the same
    files, row groups of 50 rows cut across the batches."""
    monkeypatch.setattr(run_module, "_ROW_GROUP", 50)
    reqs = _requests(42)
    often = _write(tmp_path / "often", reqs, flush_rows=7, flush_seconds=0.0, flush_bytes=0)
    once = _write(tmp_path / "once", reqs)
    assert often == once and len(once) == len(TABLES)
    md = pq.ParquetFile(tmp_path / "once" / "job_events.parquet").metadata
    sizes = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
    assert sizes == [50] * 8 + [20]  # 42 jobs of 10 job events each


def test_a_journal_cut_short_reads_up_to_its_last_whole_batch(tmp_path):
    schema = TABLES["node_events"]
    file = EventFile(tmp_path, "node_events", schema, lambda p: pq.ParquetWriter(p, schema), 8)
    batches = []
    for k in range(3):
        rows = {"seq": [k], "time": [float(k)], "node_id": ["n0"], "event": ["state"]}
        rows |= {"state": ["idle"], "job_state": [None], "job_id": [None], "detail": [None]}
        batches.append(pa.RecordBatch.from_pydict(rows, schema=schema))
        file.append(batches[-1])
    file.abandon()  # as a killed process leaves it: no Parquet footer
    assert all(b.equals(a) for a, b in zip(read_journal(file.journal), batches, strict=True))
    data = file.journal.read_bytes()
    file.journal.write_bytes(data[:-20])  # the last batch was being written
    assert [b["seq"][0].as_py() for b in read_journal(file.journal)] == [0, 1]
    file.journal.write_bytes(data[:5])  # not even the schema
    assert read_journal(file.journal) == []


def test_a_killed_run_of_the_older_part_files_still_loads(tmp_path):
    """Before the journal, flushes were kept as RUN/_parts/NAME/part-*.parquet."""
    run_dir = tmp_path / "run"
    shutil.copytree(RUN_V2, run_dir)
    for name in TABLES:
        file = run_dir / f"{name}.parquet"
        if name.endswith("_events"):
            (run_dir / "_parts" / name).mkdir(parents=True)
            file.rename(run_dir / "_parts" / name / "part-000001.parquet")
        else:
            file.unlink()
    meta = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**meta, "complete": False}))
    with pytest.warns(UserWarning, match="incomplete"):
        run = load_run(run_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = load_run(RUN_V2)
    for name in ("job_events", "node_events"):
        assert run.tables[name].equals(reference.tables[name]), name
    assert run.jobs["status"].tolist() == reference.jobs["status"].tolist()


def _dirty(values: list[int], dictionary: list[str], nulls: list[int]) -> pa.DictionaryArray:
    """A dictionary array whose null slots hold a huge index (Arrow leaves them undefined)."""
    data = np.array(values, np.int32)
    data[nulls] = 1 << 30
    valid = np.ones(len(values), bool)
    valid[nulls] = False
    buffers = [pa.array(valid).buffers()[1], pa.py_buffer(data.tobytes())]
    indices = pa.Array.from_buffers(pa.int32(), len(values), buffers, null_count=len(nulls))
    return pa.DictionaryArray.from_arrays(indices, pa.array(dictionary))


def test_dictionaries_with_anything_under_their_nulls_are_unified():
    """pyarrow's Table.unify_dictionaries reads the index under a null too: a 1M-job
    replay died of it (apache/arrow#44827). Row groups cut across batches, the history's
    tables and a journal read back all join dictionary chunks."""
    chunks = [_dirty([0, 1, 0], ["x", "y"], [2]), _dirty([1, 0, 0], ["z", "x"], [1])]
    table = pa.table({"c": pa.chunked_array(chunks)})
    expected = ["x", "y", None, "x", None, "z"]
    assert unify_dictionaries(table).column("c").to_pylist() == expected
    schema = pa.schema([pa.field("c", pa.dictionary(pa.int32(), pa.string()))])
    assert canonical(table, schema).column("c").to_pylist() == expected
