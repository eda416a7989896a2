from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.errors import WorkloadError
from benchhub_sim.spec.model import Role
from benchhub_sim.workload import swf as swf_module
from benchhub_sim.workload.swf import (
    SWF_FIELDS,
    SWF_REPLAY_FIELDS,
    read_swf,
    swf_cluster_size,
    swf_jobs,
    write_swf,
)

REPO = Path(__file__).resolve().parents[2]

TRACE = """\
; Version: 2.2
; Computer: test machine
; MaxNodes: 8
; MaxProcs: 16
; UnixStartTime: 1000000000
;
; a free comment without a colon-key is ignored
1 0 5 100 4 -1 -1 4 200 -1 1 3 1 -1 1 1 -1 -1

2 10 0 50 2 -1 -1 -1 -1 -1 1 3 1 -1 1 1 -1 -1
3 12 0 -1 2 -1 -1 2 60 -1 5 3 1 -1 1 1 -1 -1
4 15 0 0 2 -1 -1 2 60 -1 1 3 1 -1 1 1 -1 -1
5 16 0 30 -1 -1 -1 -1 60 -1 1 3 1 -1 1 1 -1 -1
6 20 1 100 4 12.5 -1 4 300 -1 1 4 2 -1 1 1 -1 -1
7 30 0 20 16 -1 -1 16 20 -1 1 4 2 -1 1 1 -1 -1
8 5 0 50 2 -1 -1 2 70 -1 1 4 2 -1 1 1 -1 -1
"""


def _write(tmp_path: Path, text: str, name: str = "t.swf") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_read_header_and_fields(tmp_path):
    trace = read_swf(_write(tmp_path, TRACE))
    assert trace.header["MaxNodes"] == "8"
    assert trace.header["Computer"] == "test machine"
    assert trace.header_int("UnixStartTime") == 1_000_000_000
    assert list(trace.jobs.columns) == list(SWF_FIELDS)
    assert len(trace) == 8
    first = trace.jobs.iloc[0]
    assert first["job_number"] == 1
    assert first["wait_time"] == 5.0
    assert first["run_time"] == 100.0
    assert first["requested_time"] == 200.0
    assert first["used_memory"] == -1.0  # missing stays -1
    assert trace.jobs["avg_cpu_time"].iloc[5] == 12.5
    assert trace.jobs["job_number"].dtype == np.int64
    assert trace.jobs["submit_time"].dtype == np.float64


def test_read_gzip(tmp_path):
    p = tmp_path / "t.swf.gz"
    p.write_bytes(gzip.compress(TRACE.encode()))
    plain = read_swf(_write(tmp_path, TRACE))
    packed = read_swf(p)
    assert packed.header == plain.header
    pd.testing.assert_frame_equal(packed.jobs, plain.jobs)


def test_malformed_lines_are_named_with_their_line_number(tmp_path):
    text = (
        "; MaxNodes: 4\n"
        "1 0 5 100 4 -1 -1 4 200 -1 1 3 1 -1 1 1 -1\n"  # 17 fields
        "2 0 5 abc 4 -1 -1 4 200 -1 1 3 1 -1 1 1 -1 -1\n"  # run time not a number
        "3 0 5 100 4.5 -1 -1 4 200 -1 1 3 1 -1 1 1 -1 -1\n"  # fractional procs
    )
    p = _write(tmp_path, text, "bad.swf")
    with pytest.raises(WorkloadError) as err:
        read_swf(p)
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert lines[0] == f"{p}:2: expected 18 fields, found 17"
    assert lines[1].startswith(f"{p}:3: run_time: field 4 is not a number")
    assert "'abc'" in lines[1]
    assert lines[2].startswith(f"{p}:4: allocated_procs: field 5 must be")
    assert isinstance(err.value, ValueError)


def test_reading_in_blocks_gives_the_table_of_one_block(tmp_path, monkeypatch):
    """Lines are parsed a block at a time; block edges (here every 3 lines) change
    nothing, a bad line after the first blocks is still named, and ``fields`` keeps
    those columns, equal to the full table's."""
    p = _write(tmp_path, TRACE)
    whole = read_swf(p)  # 8 lines: one block
    monkeypatch.setattr(swf_module, "_BLOCK_LINES", 3)
    blocks = read_swf(p)
    pd.testing.assert_frame_equal(blocks.jobs, whole.jobs)
    assert blocks.header == whole.header
    lean = read_swf(p, fields=SWF_REPLAY_FIELDS)
    assert list(lean.jobs.columns) == list(SWF_REPLAY_FIELDS)
    pd.testing.assert_frame_equal(lean.jobs, whole.jobs[list(SWF_REPLAY_FIELDS)])
    assert swf_cluster_size(lean) == 16  # MaxProcs
    # file line 17 (7 comment lines, a blank one; the 9th job line, third block) is bad
    bad = _write(tmp_path, TRACE + "9 40 0 x 2 -1 -1 2 60 -1 1 3 1 -1 1 1 -1 -1\n", "bad.swf")
    with pytest.raises(WorkloadError, match=rf"{bad}:17: run_time: field 4 is not a number"):
        read_swf(bad, fields=SWF_REPLAY_FIELDS)
    empty = read_swf(_write(tmp_path, "; MaxProcs: 4\n", "empty.swf"), fields=["run_time"])
    assert len(empty) == 0 and empty.jobs["run_time"].dtype == np.float64


def test_unknown_field_names_are_refused(tmp_path):
    with pytest.raises(WorkloadError, match="'runtime'"):
        read_swf(_write(tmp_path, TRACE), fields=["run_time", "runtime"])


def test_swf_jobs_skips_and_maps_fields(tmp_path):
    trace = read_swf(_write(tmp_path, TRACE))
    jobs, skipped = swf_jobs(trace)
    # job 3: run time -1, job 4: run time 0, job 5: no procs at all
    assert skipped == 3
    assert jobs.skipped == {"no_run_time": 2, "no_size": 1}
    assert [j.job_id for j in jobs] == [1, 8, 2, 6, 7]  # submit order: 0, 5, 10, 20, 30
    assert [j.submit for j in jobs] == [0.0, 5.0, 10.0, 20.0, 30.0]
    by_id = {j.job_id: j for j in jobs}
    one = by_id[1]
    (assignment,) = one.spec.node_assignments
    assert (assignment.name, assignment.count, assignment.role) == ("procs", 4, Role.ANY)
    (stage,) = one.spec.stages
    assert stage.selectors[0].all is True
    (task,) = stage.tasks
    assert task.name == "run"
    assert one.durations == {("run", "*", "run"): 100.0}  # the run time, on every node
    assert one.walltime == 200.0
    # job 2: requested procs missing -> allocated (2); requested time missing -> run time
    assert by_id[2].spec.node_assignments[0].count == 2
    assert by_id[2].walltime == 50.0
    # one shared spec object per procs count, whatever the run times
    assert by_id[2].spec is by_id[8].spec
    assert by_id[1].spec is by_id[6].spec
    assert by_id[7].spec.node_assignments[0].count == 16 and by_id[1].spec is not by_id[7].spec


def test_swf_jobs_with_a_node_limit(tmp_path):
    trace = read_swf(_write(tmp_path, TRACE))
    jobs, skipped = swf_jobs(trace, nodes=4)
    assert skipped == 4  # the three above plus job 7 (16 procs)
    assert jobs.skipped == {"no_run_time": 2, "no_size": 1, "too_large": 1}
    assert 7 not in [j.job_id for j in jobs]


def test_cluster_size(tmp_path):
    assert swf_cluster_size(read_swf(_write(tmp_path, TRACE))) == 16  # MaxProcs first
    body = "\n".join(TRACE.splitlines()[7:]) + "\n"
    only_nodes = read_swf(_write(tmp_path, "; MaxNodes: 8\n" + body, "n.swf"))
    assert swf_cluster_size(only_nodes) == 8
    assert swf_cluster_size(read_swf(_write(tmp_path, body, "b.swf"))) == 16  # largest job
    empty = read_swf(_write(tmp_path, "; Version: 2.2\n", "e.swf"))
    assert len(empty) == 0
    with pytest.raises(WorkloadError):
        swf_cluster_size(empty)


def _run(jobs: pd.DataFrame, n_nodes: int, epoch: float | None = 1_600_000_000.5):
    nodes = pd.DataFrame({"node_id": [f"n{i}" for i in range(n_nodes)]})
    return SimpleNamespace(jobs=jobs, nodes=nodes, meta={"epoch": epoch, "policy": "easy"})


def test_write_swf_round_trip(tmp_path):
    jobs = pd.DataFrame(
        {
            "job_id": [7, 3, 9, 11],
            "submit_time": [10.0, 0.0, 12.25, 40.0],
            "start_time": [12.0, 1.5, np.nan, 41.0],
            "stop_time": [20.0, 31.5, 30.0, np.nan],
            "status": pd.Categorical(["finished", "aborted", "aborted", "running"]),
            "n_nodes": [2, 1, 4, 3],
            "walltime": [60.0, np.nan, 100.0, 10.0],
        }
    )
    path = write_swf(_run(jobs, 4), tmp_path / "out.swf")
    trace = read_swf(path)
    assert trace.header["Version"] == "2.2"
    assert trace.header["Computer"] == "benchhub_sim"
    assert trace.header_int("MaxNodes") == 4
    assert trace.header_int("UnixStartTime") == 1_600_000_000
    df = trace.jobs
    # in submit order (ids 3, 7, 9, 11), numbered from 1 as the standard's counter
    assert df["job_number"].tolist() == [1, 2, 3, 4]
    assert df["submit_time"].tolist() == [0.0, 10.0, 12.25, 40.0]
    assert df["wait_time"].tolist() == [1.5, 2.0, -1.0, 1.0]
    assert df["run_time"].tolist() == [30.0, 8.0, -1.0, -1.0]
    assert df["allocated_procs"].tolist() == [1, 2, -1, 3]
    assert df["requested_procs"].tolist() == [1, 2, 4, 3]
    assert df["requested_time"].tolist() == [-1.0, 60.0, 100.0, 10.0]
    # aborted after start = failed (0), aborted in the queue = cancelled (5), running = -1
    assert df["status"].tolist() == [0, 1, 5, -1]
    assert (df["user_id"] == -1).all()
    # and the gzip variant reads back the same
    gz = read_swf(write_swf(_run(jobs, 4), tmp_path / "out.swf.gz"))
    pd.testing.assert_frame_equal(gz.jobs, df)


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10**6),  # submit, whole seconds
            st.integers(0, 10**5),  # wait
            st.integers(1, 10**5),  # run
            st.integers(1, 64),  # nodes
        ),
        min_size=1,
        max_size=20,
    )
)
def test_write_read_round_trip_property(tmp_path_factory, rows):
    submit = np.array([r[0] for r in rows], dtype=float)
    wait = np.array([r[1] for r in rows], dtype=float)
    run = np.array([r[2] for r in rows], dtype=float)
    jobs = pd.DataFrame(
        {
            "job_id": np.arange(len(rows)),
            "submit_time": submit,
            "start_time": submit + wait,
            "stop_time": submit + wait + run,
            "status": ["finished"] * len(rows),
            "n_nodes": [r[3] for r in rows],
            "walltime": run * 2,
        }
    )
    path = write_swf(_run(jobs, 64, epoch=None), tmp_path_factory.mktemp("rt") / "p.swf")
    trace = read_swf(path)
    assert "UnixStartTime" not in trace.header
    back = trace.jobs
    assert back["job_number"].tolist() == list(range(1, len(rows) + 1))
    order = np.lexsort((np.arange(len(rows)), submit))  # submit order, ties by job id
    submit, wait, run = submit[order], wait[order], run[order]
    rows = [rows[i] for i in order]
    np.testing.assert_array_equal(back["submit_time"], submit)
    np.testing.assert_array_equal(back["wait_time"], wait)
    np.testing.assert_array_equal(back["run_time"], run)
    np.testing.assert_array_equal(back["requested_procs"], [r[3] for r in rows])
    assert trace.jobs["submit_time"].is_monotonic_increasing


def _make_swf_module():
    spec = importlib.util.spec_from_file_location("make_swf", REPO / "data" / "make_swf.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_synthetic_trace_is_generated_by_its_script():
    path = REPO / "data" / "traces" / "synthetic.swf"
    mod = _make_swf_module()
    assert path.read_bytes() == mod.make_trace(6, 300).encode("ascii")
    assert path.stat().st_size < 100_000
    trace = read_swf(path)
    assert len(trace) == 300
    assert swf_cluster_size(trace) == 32
    df = trace.jobs
    assert (df["requested_time"] >= df["run_time"]).all()
    assert df["submit_time"].is_monotonic_increasing
    assert df["requested_procs"].between(1, 32).all()
    jobs, skipped = swf_jobs(trace, nodes=32)
    assert (len(jobs), skipped) == (300, 0)
    # offered load = sum(procs * run) / (32 * span), designed to be about 0.8
    load = (df["requested_procs"] * df["run_time"]).sum() / (32 * df["submit_time"].max())
    assert 0.5 < load < 1.1


def test_synthetic_trace_changes_with_the_seed():
    mod = _make_swf_module()
    assert mod.make_trace(6, 50) == mod.make_trace(6, 50)
    assert mod.make_trace(6, 50) != mod.make_trace(7, 50)


def test_swf_requests_are_made_as_they_are_read(tmp_path):
    """swf_jobs keeps the trace as arrays: indexing, slicing and iterating give the same
    requests, with one spec per procs count; a speedup divides run and requested times."""
    from benchhub_sim.workload.replay import swf_workload

    trace = read_swf(_write(tmp_path, TRACE))
    jobs, _ = swf_jobs(trace)
    assert list(jobs) == [jobs[i] for i in range(len(jobs))] == jobs[:]
    assert jobs[-1] == list(jobs)[-1] and jobs[1:3] == list(jobs)[1:3]
    assert list(jobs)[0].spec is jobs[0].spec
    fast, _ = swf_workload(trace, nodes=16, speedup=4.0)
    assert [r.durations for r in fast] == [
        {k: v / 4.0 for k, v in r.durations.items()} for r in jobs
    ]
    assert [r.walltime for r in fast] == [r.walltime / 4.0 for r in jobs]


def test_swf_requests_iterate_a_block_at_a_time(tmp_path, monkeypatch):
    """Iterating makes Python numbers for one block of jobs, not for all of them (160
    bytes a job held for the whole run: 1.6 GB of a 10M-job replay); block edges change
    nothing."""
    import tracemalloc

    from benchhub_sim.workload.swf import SwfRequests

    n = 1_000_000
    ones = np.ones(n)
    jobs = SwfRequests(np.ones(n, np.int64), np.arange(n, dtype=np.float64),
                       np.arange(n, dtype=np.int64), ones, ones)  # fmt: skip
    tracemalloc.start()
    try:
        first = next(iter(jobs))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert first == jobs[0]
    assert peak < 20 * 2**20  # all at once: 5 lists of 1M numbers, 160 MB
    trace = read_swf(_write(tmp_path, TRACE))
    small, _ = swf_jobs(trace)
    monkeypatch.setattr(swf_module, "_BLOCK_LINES", 3)
    assert list(small) == [small[i] for i in range(len(small))]


def test_fast_and_line_parsers_agree(tmp_path):
    """The job lines parsed at once equal the line-by-line parse: tabs and runs of
    spaces, CRLF line ends, comments and blank lines anywhere, exponents, a last line
    without its newline."""
    from benchhub_sim.workload.swf import _parse_lines, _parse_numbers

    text = TRACE.replace("1 0 5 100 4", "1\t0  5 1e2 4").replace("\n6 20", "\r\n  \n6 20")
    text = text.replace("; a free comment", "  ; MaxNodes: 9, not the first\n; a free comment")
    p = _write(tmp_path, text.rstrip("\n"))
    with open(p) as fh:
        read = fh.read()
    fast = _parse_numbers(read)
    assert fast is not None and fast.shape == (8, 18)
    problems: list = []
    np.testing.assert_array_equal(fast, _parse_lines(str(p), read.splitlines(True), 1, problems))
    assert problems == []
    trace = read_swf(p)
    assert trace.header["MaxNodes"] == "8"
    assert trace.columns["run_time"][0] == 100.0
    assert trace.columns["job_number"].dtype == np.int64


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("9 40 0 50 2 -1 -1 2 70 -1 1 4 2 -1 1 1 -1 -1 ; a note", "expected 18 fields, found 21"),
        ("9 40 0 50 2 -1 -1 2 70 -1 1 4 2 -1 1 1 -1", "expected 18 fields, found 17"),
        ("9 40 0 50 2.5 -1 -1 2 70 -1 1 4 2 -1 1 1 -1 -1", "must be a finite integer"),
        ("9 40 0 inf 2 -1 -1 2 70 -1 1 4 2 -1 1 1 -1 -1", "must be a finite number"),
        ("9 40 0 5x 2 -1 -1 2 70 -1 1 4 2 -1 1 1 -1 -1", "is not a number: '5x'"),
    ],
)
def test_a_line_the_fast_parser_refuses_is_named(tmp_path, line, problem):
    """Every line numpy would read otherwise (a comment after the numbers) or refuses is
    found and named by the line-by-line parser."""
    p = _write(tmp_path, TRACE + line + "\n")
    with pytest.raises(WorkloadError, match=f"t.swf:17: .*{problem}"):
        read_swf(p)


def test_a_trace_of_header_only_has_no_jobs(tmp_path):
    trace = read_swf(_write(tmp_path, "; MaxProcs: 4\n\n"))
    assert len(trace) == 0 and trace.columns["submit_time"].shape == (0,)
    assert list(trace.jobs.columns) == list(SWF_FIELDS)


def test_a_trace_knows_its_length_from_its_columns():
    from benchhub_sim.workload.swf import SwfTrace

    assert len(SwfTrace({}, {"run_time": np.ones(3)})) == 3
    assert len(SwfTrace({}, {}, n_jobs=4)) == 4  # no column kept: the count says
    for columns, n in [({"run_time": np.ones(3), "submit_time": np.ones(2)}, None),
                       ({}, None), ({"run_time": np.ones(3)}, 2)]:  # fmt: skip
        with pytest.raises(ValueError, match="SwfTrace: columns of"):
            SwfTrace({}, columns, n_jobs=n)
