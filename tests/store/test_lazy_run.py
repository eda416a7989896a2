"""A loaded run directory reads its tables only when they are used."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Mapping, MutableMapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.errors import RunFormatError
from benchhub_sim.store import TABLES, Run, Store, load_run
from benchhub_sim.store import run as run_module

RUN = Path(__file__).resolve().parents[1] / "data" / "run-v2"  # the current schema
EVENTS = ("node_events", "job_events")


@pytest.fixture
def run_dir(tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(RUN, dst)
    return dst


@pytest.fixture
def reads(monkeypatch):
    """Every data read of a Parquet file: (file name, columns), whole files and row groups."""
    calls: list[tuple[str, tuple[str, ...] | None]] = []
    real_init, real_read, real_group = (
        pq.ParquetFile.__init__,
        pq.ParquetFile.read,
        pq.ParquetFile.read_row_group,
    )

    def init(self, source, *args, **kwargs):
        self._spy_name = Path(source).name
        real_init(self, source, *args, **kwargs)

    def read(self, columns=None, *args, **kwargs):
        calls.append((self._spy_name, None if columns is None else tuple(columns)))
        return real_read(self, columns, *args, **kwargs)

    def read_row_group(self, i, *args, **kwargs):
        calls.append((self._spy_name, ("row group",)))
        return real_group(self, i, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "__init__", init)
    monkeypatch.setattr(pq.ParquetFile, "read", read)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", read_row_group)
    return calls


def _store_tables() -> dict[str, pa.Table]:
    store = Store()
    for k in range(1, 6):
        store.add_job(float(k), k, f"j{k % 2}", n_nodes=0, walltime=10.0, raw_spec="x")
    for k in (2, 3):
        store.job(10.0 + k, k, "start", None)
    store.job(20.0, 2, "finish", None)
    return store.tables()


def test_load_reads_no_table_data(run_dir, reads):
    run = load_run(run_dir)
    assert reads == []
    assert isinstance(run.tables, Mapping) and isinstance(run.tables, MutableMapping)
    assert list(run.tables) == list(TABLES) and len(run.tables) == len(TABLES)
    assert "jobs" in run.tables and "colour" not in run.tables
    assert run.tables.loaded() == frozenset()
    assert run.tables.num_rows("jobs") == 3  # the reference run has 3 jobs
    assert reads == []


def test_a_table_is_read_once_on_first_access(run_dir, reads):
    run = load_run(run_dir)
    jobs = run.tables["jobs"]
    assert reads == [("jobs.parquet", None)]
    assert run.tables.loaded() == {"jobs"}
    assert run.tables["jobs"] is jobs
    assert sorted(run.jobs["status"]) == ["aborted", "aborted", "finished"]
    assert reads == [("jobs.parquet", None)]
    run.job_events  # noqa: B018 - the property reads the table
    assert reads[1:] == [("job_events.parquet", None)]
    assert run.tables.loaded() == {"jobs", "job_events"}


def test_lazy_tables_equal_the_tables_saved(tmp_path):
    tables = _store_tables()
    expected = Run(tables)
    run = load_run(expected.save(tmp_path / "r"))
    assert run.tables.loaded() == frozenset()
    for name in TABLES:
        assert run.tables[name].equals(expected.tables[name]), name
        assert run.tables[name].schema.equals(TABLES[name], check_metadata=False)
    # 5 jobs submitted, 2 started, 1 finished
    assert run.jobs["status"].tolist() == ["queued", "finished", "running", "queued", "queued"]
    assert pa.types.is_dictionary(run.tables["jobs"].schema.field("status").type)


def test_summary_and_reprs_read_no_event_table(run_dir, reads):
    run = load_run(run_dir)
    summary = run.status_counts()
    text, html = repr(run), run._repr_html_()
    assert not [c for c in reads if c[0] in {f"{n}.parquet" for n in EVENTS}]
    assert set(reads) <= {("jobs.parquet", ("status",)), ("nodes.parquet", ("state",))}
    assert run.tables.loaded() == frozenset()
    # values of the reference run (tests/data/make_reference_run.py): 3 jobs, 3 nodes,
    # events from t=0 to t=14
    assert summary["jobs"] == {"finished": 1, "aborted": 2}
    assert sum(summary["nodes"].values()) == 3
    assert summary["span"] == (0.0, 14.0)
    assert summary["events"] == pq.ParquetFile(run_dir / "job_events.parquet").metadata.num_rows + (
        pq.ParquetFile(run_dir / "node_events.parquet").metadata.num_rows
    )
    assert "3 jobs (finished 1, aborted 2)" in text and "t = 0 .. 14 s" in html
    eager = Run({name: run.tables[name] for name in TABLES}, run.meta)
    assert eager.status_counts() == summary


def test_span_without_parquet_statistics(run_dir):
    for name in EVENTS:
        table = pq.read_table(run_dir / f"{name}.parquet")
        pq.write_table(table, run_dir / f"{name}.parquet", write_statistics=False)
    assert load_run(run_dir).status_counts()["span"] == (0.0, 14.0)


def test_save_copies_unread_tables_by_row_group(run_dir, tmp_path, reads):
    run = load_run(run_dir)
    run.save(tmp_path / "copy")
    assert not [c for c in reads if c[1] != ("row group",)]
    assert run.tables.loaded() == frozenset()
    back, first = load_run(tmp_path / "copy"), load_run(run_dir)
    for name in TABLES:
        assert back.tables[name].equals(first.tables[name]), name
    assert back.meta["counts"] == first.meta["counts"]


def test_save_into_its_own_directory(run_dir):
    before = {name: t for name, t in load_run(run_dir).tables.items()}
    run = load_run(run_dir)
    run.save(run_dir)
    after = load_run(run_dir)
    for name in TABLES:
        assert after.tables[name].equals(before[name]), name


def test_assigned_table_is_kept_and_saved(run_dir, tmp_path, reads):
    run = load_run(run_dir)
    jobs = Run({}).tables["jobs"]  # an empty jobs table
    run.tables["jobs"] = jobs
    assert reads == [] and run.tables.loaded() == {"jobs"}
    assert run.tables.num_rows("jobs") == 0
    assert run.status_counts()["jobs"] == {}
    run.save(tmp_path / "copy")
    back = load_run(tmp_path / "copy")
    assert back.meta["counts"]["jobs"] == 0 and len(back.jobs) == 0
    assert back.tables["stages"].equals(load_run(run_dir).tables["stages"])
    del run.tables["jobs"]
    assert "jobs" not in run.tables and len(run.tables) == len(TABLES) - 1
    with pytest.raises(KeyError):
        run.tables["jobs"]


def test_run_of_lazy_tables_stays_lazy_and_separate(run_dir, reads):
    run = load_run(run_dir)
    other = Run(run.tables, run.meta)
    assert reads == [] and other.tables.loaded() == frozenset()
    other.tables["nodes"] = Run({}).tables["nodes"]
    assert run.tables.num_rows("nodes") == 3
    assert other.tables.num_rows("nodes") == 0


def test_run_of_lazy_tables_checks_assigned_tables(run_dir, reads):
    run = load_run(run_dir)
    # like a dict of tables: assigned tables are made canonical, missing ones empty
    plain = pa.table({"node_id": ["a"], "state": ["idle"]})
    run.tables["nodes"] = (
        Run({})
        .tables["nodes"]
        .select(["node_id"])
        .append_column("state", pa.array([], pa.string()))
    )
    with pytest.raises(RunFormatError, match=r"^nodes table: schema does not match: missing"):
        Run(run.tables)
    del run.tables["nodes"]
    run.tables["colour"] = plain
    del run.tables["stages"]
    other = Run(run.tables)
    assert reads == []
    assert list(other.tables) == list(TABLES)
    assert other.tables["stages"].num_rows == 0 and other.tables["nodes"].num_rows == 0
    assert other.tables["stages"].schema.equals(TABLES["stages"], check_metadata=False)
    run.tables["jobs"] = (
        load_run(run_dir)
        .tables["jobs"]
        .cast(
            pa.schema(
                [
                    pa.field(
                        f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type
                    )
                    for f in TABLES["jobs"]
                ]
            )
        )
    )
    jobs = Run(run.tables).tables["jobs"]
    assert pa.types.is_dictionary(jobs.schema.field("status").type)
    assert jobs.equals(load_run(run_dir).tables["jobs"])


def test_pickled_unread_run(run_dir):
    run = load_run(run_dir)
    again = pickle.loads(pickle.dumps(run))
    assert again.tables.loaded() == frozenset()
    assert again.tables["tasks"].equals(run.tables["tasks"])


@pytest.mark.parametrize("name", [*TABLES])
def test_damaged_file_fails_at_load_whatever_the_table(run_dir, name):
    file = run_dir / f"{name}.parquet"
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        RunFormatError, match=rf"^{name}\.parquet: not a Parquet file \(truncated\?\)"
    ):
        load_run(run_dir)


def test_file_changed_after_load_fails_on_access(run_dir, tmp_path):
    run = load_run(run_dir)
    table = pq.read_table(run_dir / "job_events.parquet")
    pq.write_table(table.slice(0, 3), run_dir / "job_events.parquet")
    with pytest.raises(RunFormatError, match=r"^job_events\.parquet: changed since the run was"):
        run.save(tmp_path / "copy")
    with pytest.raises(RunFormatError, match=r"^job_events\.parquet: changed since the run was"):
        run.tables["job_events"]
    data = (run_dir / "jobs.parquet").read_bytes()
    (run_dir / "jobs.parquet").write_bytes(data[:100])
    with pytest.raises(RunFormatError, match=r"^jobs\.parquet: not a Parquet file"):
        run.jobs  # noqa: B018


def test_simulate_to_a_directory_returns_an_unread_run(tmp_path):
    from benchhub_sim import simulate
    from benchhub_sim.spec.model import (
        Duration,
        JobSpec,
        NodeAssignment,
        Selector,
        ShellPayload,
        Stage,
        Task,
    )

    spec = JobSpec(
        "one",
        node_assignments=(NodeAssignment("w"),),
        stages=(
            Stage(
                "s",
                selectors=(Selector(all=True),),
                tasks=(Task("t", shell=ShellPayload("true"), duration=Duration.constant(3.0)),),
            ),
        ),
    )
    saved = simulate(2, [spec] * 3, out=tmp_path / "sim")
    assert isinstance(saved.tables, run_module.LazyTables)
    assert saved.tables.loaded() == frozenset()
    # two nodes, three 3-second jobs at t=0: two run 0..3, the third 3..6
    assert saved.jobs[["start_time", "stop_time"]].values.tolist() == [
        [0.0, 3.0],
        [0.0, 3.0],
        [3.0, 6.0],
    ]
    memory = simulate(2, [spec] * 3)
    for name in TABLES:
        assert saved.tables[name].equals(memory.tables[name]), name


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory):
    dst = tmp_path_factory.mktemp("lazy") / "run"
    shutil.copytree(RUN, dst)
    return dst


@settings(max_examples=examples(30), deadline=None)
@given(order=st.lists(st.sampled_from(list(TABLES)), max_size=10))
def test_each_table_read_at_most_once(shared_run, order):
    calls = []
    real = run_module._read_parquet

    def spy(path, name, shown=None, columns=None):
        calls.append(name)
        return real(path, name, shown, columns)

    run_module._read_parquet = spy
    try:
        run = load_run(shared_run)
        for name in order:
            assert run.tables[name].num_rows == run.tables.num_rows(name)
    finally:
        run_module._read_parquet = real
    assert sorted(calls) == sorted(set(order))
    assert run.tables.loaded() == set(order)


def test_rows_reads_some_columns_of_some_events(run_dir, reads):
    """Run.rows on a table still on disk reads it by row groups, and equals filtering."""
    lazy = load_run(run_dir)
    got = lazy.rows("job_events", ["job_id", "node_id", "time"], events={"assign", "abort"})
    # read row group by row group, never the whole table into the run
    assert reads and set(reads) == {("job_events.parquet", ("row group",))}
    assert "job_events" not in lazy.tables.loaded()
    assert lazy.time_span("job_events")[1] == max(got["time"])  # the last event is an abort
    full = load_run(run_dir).job_events
    keep = full["event"].astype(str).isin(["assign", "abort"]).to_numpy()
    want = full.loc[keep, ["job_id", "node_id", "time"]]
    assert got.astype(object).values.tolist() == want.astype(object).values.tolist()
    assert set(full.loc[keep, "event"].astype(str)) == {"assign", "abort"} and len(got) > 2


def test_rows_gives_string_columns_as_categoricals_when_asked(run_dir):
    """The same values, as a categorical: from the files and from tables in memory."""
    for run in (load_run(run_dir), Run(load_run(run_dir).tables)):
        plain = run.rows("job_events", ["job_id", "node_id"], events={"assign"})
        cat = run.rows("job_events", ["job_id", "node_id"], events={"assign"},
                       categorical=("node_id",))  # fmt: skip
        assert not isinstance(plain["node_id"].dtype, pd.CategoricalDtype)
        assert isinstance(cat["node_id"].dtype, pd.CategoricalDtype)
        assert cat.astype(object).values.tolist() == plain.values.tolist()
        assert len(plain) and plain["node_id"].notna().all()
