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
    assert out[0].split() == ["policy", "nodes", "jobs", "finished", "aborted", "unfinished",
                              "makespan_s", "mean_wait_s", "median_wait_s", "p95_wait_s",
                              "mean_bounded_slowdown", "utilization"]  # fmt: skip
    assert out[1].split()[0] == "run"
    # fcfs: 4 jobs, 2 finished, 2 aborted, makespan 30, waits [0, 0, 8]: mean 8/3,
    # p95 = 0.9 * 8; bsld (1 + 1 + 1.4) / 3; utilization 0.9 (each in its unit's format)
    assert out[2].split() == ["fcfs", "fcfs", "2", "4", "2", "2", "0", "30.00", "2.67", "0.00",
                              "7.20", "1.13", "90.0%"]  # fmt: skip
    # easy: waits [0, 0, 2] -> p95 = 0.9 * 2; J3 turnaround 22 / runtime 20 -> bsld 1.1
    assert out[3].split()[8:] == ["0.67", "0.00", "1.80", "1.03", "90.0%"]


def _with_noise(path, tmp_path):
    """A copy of the run at ``path`` whose job 1 starts 5.684e-14 s later (float noise)."""
    import pyarrow as pa

    from benchhub_sim.store.schema import JOBS_SCHEMA

    run = run_module.load_run(path)
    jobs = run.jobs.copy()
    jobs.loc[jobs["job_id"] == 1, "start_time"] += 5.684e-14
    tables = dict(run.tables)
    tables["jobs"] = pa.Table.from_pandas(jobs, schema=JOBS_SCHEMA, preserve_index=False)
    return run_module.Run(tables, run.meta).save(tmp_path / "noisy")


def test_compare_by_job_rounds_and_hides_float_noise(run_dirs, tmp_path, capsys):
    noisy = _with_noise(run_dirs[0], tmp_path)
    assert main(["compare", "--by-job", *map(str, run_dirs), str(noisy)]) == 0
    out = capsys.readouterr().out
    assert "per job (s): a = fcfs, b = easy, diff = b - a" in out
    rows = [x.split() for x in out.splitlines() if x.split()[:1] == ["3"]]
    # wait_a wait_b wait_diff start_a start_b start_diff runtime_a runtime_b runtime_diff
    assert rows[0][1:] == ["8.00", "2.00", "-6.00", "10.00", "10.00", "0.00", "20.00", "20.00",
                           "0.00"]  # fmt: skip
    noise = out[out.index("b = noisy") :]
    assert "e-14" not in noise and "-0.00" not in noise
    job1 = next(x.split() for x in noise.splitlines() if x.split()[:1] == ["1"])
    assert job1[1:4] == ["0.00", "0.00", "0.00"] and job1[6] == "0.00"


def test_compare_by_job_shows_the_first_rows_unless_all(run_dirs, capsys, monkeypatch):
    from benchhub_sim.cli import compare

    monkeypatch.setattr(compare, "FIRST_ROWS", 2)
    assert main(["compare", "--by-job", *map(str, run_dirs)]) == 0
    out = capsys.readouterr().out
    assert [x.split()[0] for x in out.splitlines()[-3:-1]] == ["1", "2"]
    assert out.splitlines()[-1] == "... 2 more jobs (--all shows every job)"
    assert main(["compare", "--by-job", "--all", *map(str, run_dirs)]) == 0
    out = capsys.readouterr().out
    assert [x.split()[0] for x in out.splitlines()[-4:]] == ["1", "2", "3", "4"]


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
