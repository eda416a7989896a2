"""`benchhub-sim simulate` end to end: run directory written, summary printed, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

from benchhub_sim.cli import main
from benchhub_sim.store.run import load_run

DATA = Path(__file__).resolve().parents[1] / "data"


def test_simulate_writes_a_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    code = main([
        "simulate", "--cluster", str(DATA / "clusters" / "64.yml"),
        "--spec", str(DATA / "specs" / "pingpong.yml"), "--spec", str(DATA / "specs" / "db-loaders.yml"),
        "--arrivals", "poisson:0.02", "--count", "40", "--policy", "easy", "--seed", "3", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("jobs 40: ")
    run = load_run(out)
    assert run.complete and len(run.jobs) == 40
    meta = json.loads((out / "run.json").read_text())
    assert (meta["clock"], meta["policy"], meta["seed"]) == ("virtual", "easy", 3)
    assert set(run.jobs.name) == {"pingpong", "db-loaders"}


def test_simulate_jobs_file(tmp_path, capsys):
    jobs = tmp_path / "jobs.yml"
    jobs.write_text(
        f"jobs:\n  - {{spec: {DATA / 'specs' / 'pingpong.yml'}, submit: 0, count: 3, every: 1}}\n"
    )
    assert main(["simulate", "--nodes", "2", "--jobs", str(jobs)]) == 0
    assert "jobs 3: 3 finished, 0 aborted" in capsys.readouterr().out


def test_unschedulable_jobs_are_explained(capsys):
    # db-loaders asks for 8 GiB and 4 cores on its database node: plain nodes cannot
    assert main(["simulate", "--nodes", "8", "--spec", str(DATA / "specs" / "db-loaders.yml")]) == 0
    out = capsys.readouterr().out
    assert "1 aborted" in out
    assert (
        "aborted x1: unschedulable: assignment 'db' needs 1 node(s) of role database matching its selectors/requirements"
        in out
    )


def test_bad_input_exits_2_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "name: x\nstages:\n  - name: s\n    selelectors: [{all: true}]\n    tasks: [{shell: {command: 'true'}}]\n"
    )
    assert main(["simulate", "--nodes", "2", "--spec", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: stages[0].selelectors: unknown key (did you mean 'selectors'?)" in err
    assert "Traceback" not in err
    assert (
        main(
            [
                "simulate",
                "--nodes",
                "2",
                "--spec",
                str(DATA / "specs" / "pingpong.yml"),
                "--policy",
                "fifo",
            ]
        )
        == 2
    )
    assert "unknown policy 'fifo'" in capsys.readouterr().err
    assert main(["simulate", "--nodes", "2", "--spec", str(tmp_path / "nope.yml")]) == 2
    assert "nope.yml" in capsys.readouterr().err


def test_existing_run_directory_is_not_overwritten_silently(tmp_path, capsys):
    args = [
        "simulate",
        "--nodes",
        "2",
        "--spec",
        str(DATA / "specs" / "pingpong.yml"),
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(args) == 0
    assert main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_abort_reasons_read_two_columns_of_a_run_directory(tmp_path, capsys):
    """The reasons printed after a run come from the jobs' status and reason columns,
    not the whole jobs table (which took 8 GB of a 10M-job replay to print nothing)."""
    from benchhub_sim.cli.common import print_abort_reasons

    out = tmp_path / "run"
    spec = str(DATA / "specs" / "db-loaders.yml")
    assert main(["simulate", "--nodes", "8", "--spec", spec, "--out", str(out)]) == 0
    capsys.readouterr()
    run = load_run(out)
    print_abort_reasons(run)
    assert capsys.readouterr().out == (
        "  aborted x1: unschedulable: assignment 'db' needs 1 node(s) of role database"
        " matching its selectors/requirements, 0 available of 8\n"
    )
    assert "jobs" not in run.tables.loaded()
