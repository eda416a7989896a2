"""Run directories: round trip, a killed writer, damaged files and other versions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchhub_sim.errors import RunFormatError
from benchhub_sim.store import TABLES, History, Run, RunWriter, Store, load_run

RUN = Path(__file__).resolve().parents[1] / "data" / "run-v2"  # the current schema


@pytest.fixture
def run_dir(tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(RUN, dst)
    return dst


def test_round_trip_equals(tmp_path, run_dir):
    first = load_run(run_dir)
    first.save(tmp_path / "again")
    second = load_run(tmp_path / "again")
    for name in TABLES:
        assert second.tables[name].equals(first.tables[name]), name
        assert second.tables[name].schema.equals(TABLES[name], check_metadata=False)
    assert second.meta["counts"] == first.meta["counts"]
    # the dictionary columns come back as dictionaries
    assert pa.types.is_dictionary(second.tables["jobs"].schema.field("status").type)


def test_store_tables_round_trip(tmp_path):
    store = Store()
    store.add_job(0.0, 1, "a", n_nodes=0, walltime=1.0, raw_spec="x")
    store.add_job(0.0, 2, "a", n_nodes=0, walltime=1.0, raw_spec="x")
    store.job(1.0, 2, "start", None)
    tables = store.tables()
    Run(tables, {"clock": "wall", "epoch": 1.7e9}).save(tmp_path / "r")
    back = load_run(tmp_path / "r")
    for name in TABLES:
        assert back.tables[name].equals(tables[name]), name
    assert list(back.jobs["status"]) == ["queued", "running"]
    assert back.meta["clock"] == "wall" and back.complete


def test_truncated_jobs_parquet(run_dir):
    data = (run_dir / "jobs.parquet").read_bytes()
    (run_dir / "jobs.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(RunFormatError, match=r"^jobs\.parquet: not a Parquet file \(truncated\?\)"):
        load_run(run_dir)


def test_missing_file(run_dir):
    (run_dir / "stages.parquet").unlink()
    with pytest.raises(RunFormatError, match=r"^stages\.parquet: missing"):
        load_run(run_dir)


def test_wrong_schema_version_in_run_json(run_dir):
    meta = json.loads((run_dir / "run.json").read_text())
    meta["schema_version"] = 3
    (run_dir / "run.json").write_text(json.dumps(meta))
    with pytest.raises(
        RunFormatError, match=r"^run\.json: written with schema 3, this version reads 1\.\.2$"
    ):
        load_run(run_dir)


def test_wrong_schema_version_in_file(run_dir):
    table = pq.read_table(run_dir / "jobs.parquet")
    md = dict(table.schema.metadata)
    md[b"benchhub_sim.schema_version"] = b"3"
    pq.write_table(table.replace_schema_metadata(md), run_dir / "jobs.parquet")
    with pytest.raises(
        RunFormatError, match=r"^jobs\.parquet: written with schema 3, this version reads 1\.\.2$"
    ):
        load_run(run_dir)


def test_schema_mismatch(run_dir):
    table = pq.read_table(run_dir / "nodes.parquet")
    table = table.drop_columns(["cores"]).append_column("colour", pa.array(["x"] * table.num_rows))
    pq.write_table(table, run_dir / "nodes.parquet")
    with pytest.raises(
        RunFormatError,
        match=r"^nodes\.parquet: schema does not match: missing columns cores; unexpected columns colour",
    ):
        load_run(run_dir)


def test_row_count_mismatch(run_dir):
    meta = json.loads((run_dir / "run.json").read_text())
    meta["counts"]["jobs"] = 5
    (run_dir / "run.json").write_text(json.dumps(meta))
    with pytest.raises(RunFormatError, match=r"^jobs\.parquet: 3 rows, run\.json says 5$"):
        load_run(run_dir)


def test_write_validates_schema(tmp_path):
    with pytest.raises(
        RunFormatError, match=r"^jobs table: schema does not match: missing columns name, "
    ):
        Run({"jobs": pa.table({"job_id": [1]})})
    writer = RunWriter(tmp_path / "w", {})
    tables = Store().tables()
    tables["stages"] = tables["stages"].drop_columns(["status"])
    with pytest.raises(
        RunFormatError, match=r"^stages\.parquet: schema does not match: missing columns status$"
    ):
        writer.finish(tables)


def test_writer_refuses_existing_run(run_dir):
    with pytest.raises(RunFormatError, match="already holds a run"):
        RunWriter(run_dir, {})
    RunWriter(run_dir, {}, overwrite=True)
    assert not (run_dir / "jobs.parquet").exists()


WRITER = textwrap.dedent(
    """
    import sys, time
    from benchhub_sim.cluster import Node
    from benchhub_sim.store import History, RunWriter, Store

    writer = RunWriter(sys.argv[1], {"policy": "fcfs"})
    store = Store(History(sink=writer.sink, flush_rows=500, flush_seconds=0.05))
    store.add_node(0.0, Node("n0"))
    job = 0
    while True:
        store.add_job(float(job), job, "j", n_nodes=1, walltime=1.0)
        store.job(float(job), job, "assign", None, node_id="n0", node_name="srv")
        store.job(float(job), job, "start", None)
        store.job(float(job) + 0.5, job, "finish", None)
        store.history.maybe_flush()
        job += 1
        if job == 2000:
            print("ready", flush=True)
        time.sleep(0.0002)
    """
)


def test_killed_writer_leaves_readable_run(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with pytest.warns(UserWarning, match="incomplete"):
        run = load_run(out)
    assert not run.complete
    events = run.job_events
    n = len(events)
    assert n >= 4 * 2000 - 500  # everything up to the last flush (at most one buffer lost)
    assert list(events["seq"]) == sorted(events["seq"])
    # jobs are folded from the history: every submitted job is there, finished ones finished
    jobs = run.jobs
    assert len(jobs) == (events["event"] == "submit").sum()
    assert (jobs["status"] == "finished").sum() == (events["event"] == "finish").sum()
    assert run.nodes["node_id"].tolist() == ["n0"]
    # saving the incomplete run keeps it marked incomplete
    run.save(tmp_path / "copy")
    with pytest.warns(UserWarning, match="incomplete"):
        assert load_run(tmp_path / "copy").tables["job_events"].equals(run.tables["job_events"])


def test_streamed_run_equals_in_memory(tmp_path):
    def drive(store):
        store.add_job(0.0, 1, "a", n_nodes=0, walltime=1.0)
        for k in range(2, 40):
            store.add_job(float(k), k, "b", n_nodes=0, walltime=2.0)
            store.job(float(k), k, "start", None)
            store.job(float(k) + 1, k, "finish", None)

    memory = Store()
    drive(memory)
    writer = RunWriter(tmp_path / "s", {})
    streamed = Store(History(sink=writer.sink, flush_rows=7))
    drive(streamed)
    writer.finish(streamed.tables())
    assert sorted(p.name for p in (tmp_path / "s").iterdir() if not p.is_file()) == []
    run = load_run(tmp_path / "s")
    expected = Run(memory.tables())
    for name in TABLES:
        assert run.tables[name].equals(expected.tables[name]), name
    assert pq.ParquetFile(tmp_path / "s" / "job_events.parquet").metadata.num_row_groups == 1


def test_run_repr(run_dir):
    run = load_run(run_dir)
    assert "3 jobs (finished 1, aborted 2)" in repr(run)
    html = run._repr_html_()
    assert "3 (finished 1, aborted 2)" in html and "(3 nodes)" in html and "t = 0 .. 14 s" in html


def test_a_run_of_the_store_s_tables_is_the_checked_one(tmp_path):
    """Run.of_store keeps the store's tables as they are: the same tables and the same
    files as Run(), which makes every table canonical again; a table of another schema
    (plain strings for a dictionary column) is still made canonical."""
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
    )  # fmt: skip
    from benchhub_sim.workload.base import JobRequest

    task = Task("t", shell=ShellPayload("true"), duration=Duration.of("exponential", mean=2.0))
    spec = JobSpec("j", node_assignments=(NodeAssignment("w"),), walltime=2.0,
                   stages=(Stage("s", selectors=(Selector(all=True),), tasks=(task,)),))  # fmt: skip
    store = Store(History(flush_rows=16))
    Engine(Cluster.uniform(3), store).run([JobRequest(spec, 0.5 * i) for i in range(40)])
    tables = store.tables()
    trusted, checked = Run.of_store(tables), Run(tables)
    for name in TABLES:
        assert trusted.tables[name].equals(checked.tables[name]), name
    assert trusted.tables["job_events"].column("seq").num_chunks > 1  # as the store gave it
    trusted.save(tmp_path / "a")
    checked.save(tmp_path / "b")
    for name in TABLES:
        a, b = (tmp_path / d / f"{name}.parquet" for d in "ab")
        assert a.read_bytes() == b.read_bytes(), name
    plain = tables["jobs"].cast(pa.schema([
        pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f
        for f in tables["jobs"].schema
    ]))  # fmt: skip
    assert Run.of_store({"jobs": plain}).tables["jobs"].equals(checked.tables["jobs"])
