"""``benchhub-sim run``: exit codes, dry run, and SIGINT/SIGTERM mid-job."""

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

import pytest

from benchhub_sim.cli import main
from benchhub_sim.store.run import load_run

from .test_local import PINGPONG, processes_of

pytestmark = pytest.mark.skipif(
    shutil.which("python3") is None or not Path("/proc/self/environ").exists(),
    reason="needs python3 and Linux /proc",
)

LONG_JOB = """
name: long
nodeAssignments: [{properties: {name: srv}}, {properties: {name: cli}}]
stages:
  - name: serve
    background: true
    selectors: [{name: srv}]
    tasks: [{name: server, background: true, shell: {command: "sleep 60; true"}}]
  - name: load
    selectors: [{name: cli}]
    tasks: [{name: client, shell: {command: "touch started; sleep 60; true"}}]
"""


def test_run_exits_0_when_every_job_finished(tmp_path, capsys):
    assert main(["run", str(PINGPONG), "--out", str(tmp_path / "run")]) == 0
    assert "1 jobs: 1 finished, 0 aborted" in capsys.readouterr().out
    assert load_run(tmp_path / "run").jobs["status"].tolist() == ["finished"]


def test_run_exits_1_and_prints_the_reason_when_a_job_aborted(tmp_path, capsys):
    spec = tmp_path / "fail.yml"
    spec.write_text(
        "name: fail\nnodeAssignments: [{properties: {name: w}}]\n"
        "stages: [{name: s, selectors: [{all: true}], tasks: [{name: t, shell: {command: 'exit 5'}}]}]\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "job 0 fail: aborted: task s.t on w (local-0) failed: exit code 5" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "no-such-spec.yml", "--out", "RUN"],
        ["run", "--out", "RUN"],  # neither SPEC nor --jobs
        ["run", str(PINGPONG)],  # no --out
        ["run", str(PINGPONG), "--out", "RUN", "--policy", "nonsense"],
    ],
)
def test_run_exits_2_on_bad_input(tmp_path, argv):
    argv = [str(tmp_path / "run") if a == "RUN" else a for a in argv]
    assert main(argv) == 2


def test_dry_run_prints_commands_and_creates_nothing(tmp_path, capsys):
    assert main(["run", str(PINGPONG), "--out", str(tmp_path / "run"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "printf pong > ping.txt" in out and "node cli (local-1)" in out
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_job_stops_everything_and_leaves_a_readable_run(tmp_path, sig):
    spec = tmp_path / "long.yml"
    spec.write_text(textwrap.dedent(LONG_JOB))
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchhub_sim.cli",
            "run",
            str(spec),
            "--out",
            str(out),
            "--grace",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = out / "work/0/cli/started"
        deadline = time.monotonic() + 30
        while not started.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        run_id = json.loads((out / "run.json").read_text())["run_id"]
        assert len(processes_of(run_id)) >= 2  # the server and the client really run
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert processes_of(run_id) == []
    with pytest.warns(UserWarning, match="not a finished run: it raised KeyboardInterrupt"):
        run = load_run(out)
    assert run.complete and run.meta["interrupted"] is True
    assert run.meta["error"] == "KeyboardInterrupt: interrupted"
    job = run.jobs.iloc[0]
    assert (job["status"], job["reason"]) == ("aborted", "interrupted")
    assert set(run.tasks["status"]) == {"stopped"}
    assert set(run.nodes["state"]) == {"idle"}
    assert os.path.isfile(out / run.tasks["log_path"].iloc[0])


def test_run_with_a_relative_out_dir_from_another_cwd(tmp_path, monkeypatch):
    # tasks run in their work dir: the paths they are given must not be relative
    from benchhub_sim.cli import main

    monkeypatch.chdir(tmp_path)
    spec = Path(__file__).resolve().parents[2] / "data" / "specs" / "pingpong-local.yml"
    assert main(["run", str(spec), "--out", "runs/real"]) == 0
