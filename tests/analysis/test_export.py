from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from benchhub_sim.analysis.export import BATSIM_COLUMNS, interval_set, to_batsim_csv, to_swf
from benchhub_sim.workload.swf import read_swf


def test_batsim_csv_columns_and_values(run, tmp_path):
    path = to_batsim_csv(run, tmp_path / "jobs.csv")
    df = pd.read_csv(path, dtype={"allocated_processors": str})
    assert tuple(df.columns) == BATSIM_COLUMNS
    assert tuple(BATSIM_COLUMNS) == (
        "jobID",
        "submission_time",
        "requested_number_of_processors",
        "requested_time",
        "success",
        "starting_time",
        "execution_time",
        "finish_time",
        "waiting_time",
        "turnaround_time",
        "stretch",
        "allocated_processors",
    )
    # job 4 never started: left out
    assert df["jobID"].tolist() == [1, 2, 3]
    assert df["submission_time"].tolist() == [0.0, 1.0, 2.0]
    assert df["requested_number_of_processors"].tolist() == [1, 1, 2]
    assert df["requested_time"].tolist() == [20.0, 5.0, 40.0]
    assert df["success"].tolist() == [1, 1, 0]
    assert df["starting_time"].tolist() == [0.0, 1.0, 10.0]
    assert df["execution_time"].tolist() == [10.0, 4.0, 20.0]
    assert df["finish_time"].tolist() == [10.0, 5.0, 30.0]
    assert df["waiting_time"].tolist() == [0.0, 0.0, 8.0]
    assert df["turnaround_time"].tolist() == [10.0, 4.0, 28.0]
    assert df["stretch"].tolist() == pytest.approx([1.0, 1.0, 1.4])
    assert df["allocated_processors"].tolist() == ["0", "1", "0-1"]


def test_allocated_processors_are_rows_of_the_node_table(run, tmp_path):
    run.nodes = run.nodes.iloc[::-1].reset_index(drop=True)  # n1 is row 0 now
    df = pd.read_csv(to_batsim_csv(run, tmp_path / "j.csv"), dtype={"allocated_processors": str})
    assert df["allocated_processors"].tolist() == ["1", "0", "0-1"]


def test_to_swf_is_write_swf(run, tmp_path):
    trace = read_swf(to_swf(run, tmp_path / "r.swf"))
    assert trace.jobs["job_number"].tolist() == [1, 2, 3, 4]
    assert trace.jobs["status"].tolist() == [1, 1, 0, 5]
    assert trace.jobs["wait_time"].tolist() == [0.0, 0.0, 8.0, -1.0]


def test_interval_set_examples():
    assert interval_set([0, 1, 2, 3, 5]) == "0-3 5"
    assert interval_set([7]) == "7"
    assert interval_set([3, 1, 2, 2]) == "1-3"
    assert interval_set([0, 2, 4]) == "0 2 4"
    assert interval_set([]) == ""


def _parse(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split():
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


@settings(max_examples=examples(50), deadline=None)
@given(st.sets(st.integers(0, 200), max_size=40))
def test_interval_set_round_trip(values):
    text = interval_set(values)
    assert _parse(text) == values
    # maximal ranges: no two parts touch
    bounds = [tuple(map(int, (p.split("-") + [p])[:2])) for p in text.split()]
    assert all(b[0] > a[1] + 1 for a, b in zip(bounds, bounds[1:], strict=False))


def test_run_methods_write_what_the_functions_write(tmp_path):
    """Run.to_swf / to_batsim_csv (the store's) reach the writers registered from above."""
    import benchhub_sim as bh
    from benchhub_sim.workload.swf import write_swf

    spec = bh.load_spec(bh.examples_dir() / "specs" / "pingpong.yml")
    run = bh.load_run(bh.simulate(2, [spec] * 3, out=tmp_path / "run").path)
    pairs = [
        (run.to_swf(tmp_path / "a.swf"), write_swf(run, tmp_path / "b.swf")),
        (run.to_batsim_csv(tmp_path / "a.csv"), to_batsim_csv(run, tmp_path / "b.csv")),
    ]
    for mine, theirs in pairs:
        assert mine.read_bytes() == theirs.read_bytes()
        assert len(mine.read_text().splitlines()) >= 4  # a header or comments, and 3 jobs
