"""``benchhub-sim demo`` through the command line, in a temporary directory."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from benchhub_sim.cli import main
from benchhub_sim.demo import DEMO_POLICIES, makespan_note
from benchhub_sim.store.run import load_run


def test_demo_writes_runs_and_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet", "--jobs", "40"]) == 0
    text = capsys.readouterr().out
    report = out / "report.html"
    assert f"report: {report}" in text
    html = report.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "data:image/png;base64," in html  # figures embedded, nothing to fetch
    assert "http://" not in html and "https://" not in html.replace("https://example.invalid", "")
    runs = {p: load_run(out / p) for p in DEMO_POLICIES}
    for policy, run in runs.items():
        assert policy in text
        assert run.meta["policy"] == policy
        assert len(run.jobs) == 40
        # the shipped specs fit the shipped cluster: nothing is unschedulable
        reasons = run.jobs["reason"].dropna().astype(str)
        assert not reasons.str.startswith("unschedulable").any()
        assert set(run.jobs["name"].astype(str)) <= {"pingpong", "db-loaders", "oltp"}
    # the same jobs under every policy
    submits = [r.jobs.sort_values("job_id")["submit_time"].tolist() for r in runs.values()]
    assert all(s == submits[0] for s in submits[1:]) and len(submits) == 4

    # a second demo over the same directory replaces the runs
    assert main(["demo", "--out", str(out), "--quiet", "--jobs", "10"]) == 0
    for policy in DEMO_POLICIES:
        assert len(load_run(out / policy).jobs) == 10


def test_demo_rejects_no_jobs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--out", str(tmp_path / "d"), "--quiet", "--jobs", "0"])
    assert exc.value.code == 2
    assert "argument --jobs: expected a whole number >= 1, found 0" in capsys.readouterr().err


def _jobs(submit, start, stop):
    n = len(submit)
    return SimpleNamespace(
        jobs=pd.DataFrame(
            {
                "job_id": np.arange(n),
                "name": "j",
                "status": "finished",
                "n_nodes": 1,
                "submit_time": submit,
                "start_time": start,
                "stop_time": stop,
            }  # fmt: skip
        )
    )


def test_makespan_note_says_why_makespans_are_equal():
    # the last job (submitted at 10) starts on arrival in both runs and ends at 15;
    # the first job waits 0 in one run and 3 in the other
    a = _jobs([0.0, 10.0], [0.0, 10.0], [4.0, 15.0])
    b = _jobs([0.0, 10.0], [3.0, 10.0], [7.0, 15.0])
    note = makespan_note([a, b])
    assert note is not None and note.startswith("equal makespans: under every policy the last")
    # different makespans, or equal ones for another reason: nothing to explain
    assert makespan_note([a, _jobs([0.0, 10.0], [0.0, 10.0], [4.0, 16.0])]) is None
    waited = _jobs([0.0, 10.0], [0.0, 11.0], [4.0, 15.0])
    assert makespan_note([waited, waited]) is None
