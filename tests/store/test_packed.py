"""A run simulated in memory keeps its history (and its big tables) compressed until used."""

from __future__ import annotations

import pyarrow as pa
import pytest
from engine.builders import one_task  # tests/ is on the path (tests/conftest.py)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.analysis.metrics import summary
from benchhub_sim.errors import UsageError
from benchhub_sim.simulate import simulate
from benchhub_sim.spec.model import Duration
from benchhub_sim.store import TABLES, History, load_run
from benchhub_sim.store.packed import PackedTable
from benchhub_sim.workload.arrivals import poisson_arrivals

DICT = pa.dictionary(pa.int32(), pa.string())
SCHEMA = pa.schema([("n", pa.int64()), ("kind", DICT)])


def _batch(n: list[int], kind: list[str | None]) -> pa.RecordBatch:
    return pa.record_batch([pa.array(n), pa.array(kind, pa.string()).cast(DICT)], schema=SCHEMA)


@pytest.mark.parametrize("plain_bytes", [0, 10**9])
def test_batches_with_their_own_dictionaries_decode_as_appended(plain_bytes):
    packed = PackedTable(SCHEMA, plain_bytes)
    packed.append(_batch([1, 2], ["b", None]))
    packed.append(_batch([], []))  # nothing to keep
    packed.append(_batch([3], ["a"]))
    assert packed.num_rows == 3 and packed.nbytes > 0
    table = packed.table()
    assert table.to_pydict() == {"n": [1, 2, 3], "kind": ["b", None, "a"]}
    assert table.column("kind").num_chunks == 1  # one dictionary
    assert [b.schema.names for b in packed.batches(["kind"])] == [["kind"], ["kind"]]


def test_history_with_a_sink_has_nothing_packed():
    with pytest.raises(UsageError, match="sink"):
        History(sink=lambda name, batch: None).packed("job_events")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    spec = one_task(2, Duration.of("exponential", mean=1.0), walltime=1.0)

    def workload():
        return poisson_arrivals(spec, rate=1.2, count=300, seed=3)

    out = tmp_path_factory.mktemp("packed") / "run"
    return simulate(3, workload(), seed=3), load_run(simulate(3, workload(), seed=3, out=out).path)


def test_in_memory_run_keeps_only_nodes_decoded(runs):
    memory, _ = runs
    assert memory.tables.loaded() == {"nodes"}
    assert memory.tables.num_rows("job_events") > 300 * 8


def test_in_memory_run_has_the_tables_of_its_run_directory(runs):
    memory, disk = runs
    assert summary(memory).equals(summary(disk))
    assert "job_events" not in memory.tables.loaded()  # summary read two columns of it
    for name in TABLES:
        assert memory.tables[name].equals(disk.tables[name]), name


def test_summary_reads_no_whole_table(runs):
    _, disk = runs
    fresh = load_run(disk.path)
    summary(fresh)
    assert fresh.tables.loaded() == {"nodes"}  # and some columns of jobs and job_events


def test_batches_are_compressed_once_they_take_plain_bytes():
    packed = PackedTable(SCHEMA, plain_bytes=100_000)
    first = _batch(list(range(5000)), ["x"] * 5000)
    packed.append(first)
    assert packed.nbytes == first.nbytes  # kept as it is
    packed.append(_batch(list(range(5000, 15000)), ["y"] * 10000))  # past 100,000 bytes
    assert packed.nbytes < first.nbytes  # both compressed
    assert packed.table().column("n").to_pylist() == list(range(15000))


@given(st.lists(st.integers(0, 69), max_size=90), st.sampled_from([0, 10**9]))
@settings(max_examples=examples(40), deadline=None)
def test_take_gives_the_rows_asked_for_in_that_order(indices, plain_bytes):
    packed = PackedTable(SCHEMA, plain_bytes)
    rows = [(i, None if i % 3 == 0 else "abcd"[i * 7 % 4]) for i in range(70)]
    for start in range(0, 70, 10):  # seven batches, each with its own dictionary
        chunk = rows[start : start + 10]
        packed.append(_batch([n for n, _ in chunk], [k for _, k in chunk]))
    taken = packed.take(pa.array(indices, pa.int64()))
    assert list(zip(*taken.to_pydict().values(), strict=True)) == [rows[i] for i in indices]
    assert packed.slice(65, 10).column("n").to_pylist() == [65, 66, 67, 68, 69]
    assert packed.select(["kind"]).column("kind").to_pylist() == [k for _, k in rows]


@settings(max_examples=examples(30), deadline=None)
@given(chunks=st.lists(st.integers(0, 7), max_size=8))
def test_row_buffer_extend_keeps_the_batches_of_appends(chunks):
    from benchhub_sim.store.rows import RowBuffer

    one, many = RowBuffer(SCHEMA, flush_rows=3), RowBuffer(SCHEMA, flush_rows=3)
    n = 0
    for size in chunks:
        rows = [(n + i, "abc"[(n + i) % 3]) for i in range(size)]
        n += size
        for row in rows:
            one.append(row)
        many.extend(iter(rows))
    assert many.n == one.n == n and many.rows == one.rows
    assert [b.num_rows for b in many.packed.batches()] == [b.num_rows for b in one.packed.batches()]
    assert many.table().equals(one.table())
