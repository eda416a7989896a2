"""The report, export and compare subcommands on a run saved to disk."""

from __future__ import annotations

import pandas as pd
import pytest

from benchhub_sim.cli import main

run_module = pytest.importorskip("benchhub_sim.store.run")


@pytest.fixture
def run_dirs(make_run, tmp_path):
    a, b = make_run(), make_run()
    # in b, job 3 is submitted at 8 instead of 2 (wait 2 instead of 8); the rest is equal
    import pyarrow as pa

    from benchhub_sim.store.schema import JOB_EVENTS_SCHEMA, JOBS_SCHEMA

    jobs = b.tables["jobs"].to_pandas()
    jobs.loc[jobs["job_id"] == 3, "submit_time"] = 8.0
    events = b.tables["job_events"].to_pandas()
    events.loc[(events["job_id"] == 3) & (events["event"] == "submit"), "time"] = 8.0
    events = events.sort_values(["time", "seq"], kind="stable")
    events["seq"] = sorted(events["seq"])
    b.tables["jobs"] = pa.Table.from_pandas(jobs, schema=JOBS_SCHEMA, preserve_index=False)
    b.tables["job_events"] = pa.Table.from_pandas(
        events, schema=JOB_EVENTS_SCHEMA, preserve_index=False
    )
    paths = []
    for name, r in (("fcfs", a), ("easy", b)):
        paths.append(run_module.Run(r.tables, r.meta).save(tmp_path / name))
    return paths


def test_compare(run_dirs, capsys):
    assert main(["compare", *map(str, run_dirs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "jobs",
        "finished",
        "aborted",
        "makespan",
        "mean_wait",
        "median_wait",
        "p95_wait",
        "mean_bounded_slowdown",
        "utilization",
    ]
    assert out[1].split()[0] == "run"
    # fcfs: 4 jobs, 2 finished, 2 aborted, makespan 30, waits [0, 0, 8]
    assert out[2].split() == ["fcfs", "4", "2", "2", "30", "2.667", "0", "7.2", "1.133", "0.9"]
    # easy: waits [0, 0, 2] -> p95 = 0.9 * 2; J3 turnaround 22 / runtime 20 -> bsld 1.1
    assert out[3].split()[:8] == ["easy", "4", "2", "2", "30", "0.6667", "0", "1.8"]
    assert out[3].split()[8:] == ["1.033", "0.9"]


def test_compare_by_job(run_dirs, capsys):
    assert main(["compare", "--by-job", *map(str, run_dirs)]) == 0
    out = capsys.readouterr().out
    assert "per job: easy - fcfs" in out
    line3 = next(x for x in out.splitlines() if x.split()[:1] == ["3"])
    # wait_a wait_b wait_diff start_a start_b start_diff runtime_a runtime_b runtime_diff
    assert line3.split()[1:] == ["8", "2", "-6", "10", "10", "0", "20", "20", "0"]


def test_export_both_formats(run_dirs, tmp_path, capsys):
    out_swf = tmp_path / "a.swf"
    assert main(["export", str(run_dirs[0]), "--format", "swf", "-o", str(out_swf)]) == 0
    from benchhub_sim.workload.swf import read_swf

    assert read_swf(out_swf).jobs["status"].tolist() == [1, 1, 0, 5]
    out_csv = tmp_path / "a.csv"
    assert main(["export", str(run_dirs[0]), "--format", "batsim-csv", "-o", str(out_csv)]) == 0
    df = pd.read_csv(out_csv, dtype={"allocated_processors": str})
    assert df["allocated_processors"].tolist() == ["0", "1", "0-1"]


def test_report(run_dirs, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", *map(str, run_dirs), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    text = out.read_text()
    assert text.count("data:image/png;base64,") == 1 + 4 * 2
    assert "<h2>fcfs</h2>" in text and "<h2>easy</h2>" in text
    md = tmp_path / "r.md"
    assert main(["report", str(run_dirs[0]), "-o", str(md)]) == 0
    assert (tmp_path / "r_files" / "fig-01.png").exists()


def test_missing_run_is_bad_input(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope")]) == 2
    assert "error:" in capsys.readouterr().err
