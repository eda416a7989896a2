"""The optional tables of a real run: ``metrics`` and ``results`` (issue 17 section 2).

Written through the run writer like the history (parts while the run goes on, one file
at the end), read back by ``load_run``; a simulated run has neither.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from benchhub_sim.errors import RunFormatError
from benchhub_sim.store import History, Store
from benchhub_sim.store.rows import rows_to_batch
from benchhub_sim.store.run import Run, RunWriter, load_run
from benchhub_sim.store.schema import METRICS_SCHEMA, RESULTS_SCHEMA

METRIC = (1.5, "n0", 0, "srv", "serve", "server", 0, "sample", "rss_bytes", 4096.0, "B")
NODE_METRIC = (1.5, "n0", None, None, None, None, None, "sample", "cpu_percent", 12.5, "%")
RESULT = (2.0, "n0", 0, "cli", "ping", "ping", 0, "latency_ms", 3.2, "ms")


def _writer(path):
    writer = RunWriter(path, {"clock": "wall"}, optional=("metrics", "results"))
    store = Store(History(sink=writer.sink))
    store.add_job(0.0, 0, "j", n_nodes=1, walltime=1.0)
    return writer, store


def test_agent_rows_stream_as_parts_and_end_as_one_file_each(tmp_path):
    writer, store = _writer(tmp_path / "run")
    writer.sink("metrics", rows_to_batch([METRIC, NODE_METRIC], METRICS_SCHEMA))
    writer.sink("results", rows_to_batch([RESULT], RESULTS_SCHEMA))
    store.history.flush()
    # killed here: what was streamed is readable
    with pytest.warns(UserWarning, match="incomplete"):
        early = load_run(tmp_path / "run")
    assert early.metrics["metric"].tolist() == ["rss_bytes", "cpu_percent"]
    assert early.results["value"].tolist() == [3.2]
    writer.sink("metrics", rows_to_batch([METRIC], METRICS_SCHEMA))
    writer.finish(store.tables())
    assert not (tmp_path / "run" / "_parts").exists()
    run = load_run(tmp_path / "run")
    assert run.meta["counts"]["metrics"] == 3 and run.meta["counts"]["results"] == 1
    assert run.has_table("metrics") and "metrics" not in run.tables.loaded()  # lazy
    m = run.metrics
    assert len(m) == 3 and m["kind"].tolist() == ["sample"] * 3
    assert pd_isna(m["job_id"][1]) and m["job_id"][0] == 0  # node rows have no job
    assert run.results.iloc[0].to_dict() == dict(zip(RESULTS_SCHEMA.names, RESULT, strict=True))


def pd_isna(value) -> bool:
    return value != value or value is None


def test_a_real_run_without_observations_still_has_both_tables(tmp_path):
    writer, store = _writer(tmp_path / "run")
    writer.finish(store.tables())
    run = load_run(tmp_path / "run")
    assert run.has_table("results") and run.results.empty
    assert list(run.results.columns) == RESULTS_SCHEMA.names


def test_a_simulated_run_has_no_agent_tables_and_saving_it_removes_stale_ones(tmp_path):
    writer, store = _writer(tmp_path / "run")
    writer.sink("metrics", rows_to_batch([METRIC], METRICS_SCHEMA))
    writer.finish(store.tables())
    sim = Run(Store().tables())
    assert not sim.has_table("metrics") and list(sim.metrics.columns) == METRICS_SCHEMA.names
    sim.save(tmp_path / "run")  # over the real run: its metrics are not the simulation's
    assert not (tmp_path / "run" / "metrics.parquet").exists()
    assert not load_run(tmp_path / "run").has_table("metrics")


def test_a_damaged_or_missing_agent_table_is_named(tmp_path):
    writer, store = _writer(tmp_path / "run")
    writer.finish(store.tables())
    (tmp_path / "run" / "metrics.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(RunFormatError, match=r"^metrics\.parquet: not a Parquet file"):
        load_run(tmp_path / "run")
    (tmp_path / "run" / "metrics.parquet").unlink()  # run.json counts it: missing
    with pytest.raises(RunFormatError, match=r"^metrics\.parquet: missing"):
        load_run(tmp_path / "run")


def test_the_writer_refuses_rows_of_a_table_it_does_not_stream(tmp_path):
    writer = RunWriter(tmp_path / "run", {})
    with pytest.raises(RunFormatError, match="metrics: not a table streamed to this run"):
        writer.sink("metrics", rows_to_batch([METRIC], METRICS_SCHEMA))
    with pytest.raises(RunFormatError, match="bogus: not optional tables"):
        RunWriter(tmp_path / "other", {}, optional=("bogus",))
    bad = pa.table({"time": [1.0]})
    writer2, _ = _writer(tmp_path / "run2")
    with pytest.raises(RunFormatError, match="missing columns node_id"):
        writer2.sink("metrics", bad.to_batches()[0])
