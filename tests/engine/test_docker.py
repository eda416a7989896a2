"""Docker as BenchHub's agents run it (issue 13 section 4), through a fake docker CLI.

A background ``docker run`` is started detached (``-d --name``), counts as running while
``docker wait`` does, and is stopped with ``docker stop`` then removed; a foreground one
runs attached and its exit code counts.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from benchhub_sim.execute import execute

from .test_local import one_row, processes_of

pytestmark = pytest.mark.skipif(
    shutil.which("sh") is None or not Path("/proc/self/environ").exists(),
    reason="needs sh and Linux /proc",
)

#: A docker CLI without a daemon: containers are files in $FAKE_DOCKER_DIR. Every call
#: is logged to calls.jsonl. ``run -d IMAGE crash`` makes a container that exits with
#: code 2 after 0.3 s; ``run IMAGE fail`` (attached) exits with code 3.
FAKE_DOCKER = """#!{python}
import json, os, sys, time
state = os.environ["FAKE_DOCKER_DIR"]
args = sys.argv[1:]
with open(os.path.join(state, "calls.jsonl"), "a") as f:
    f.write(json.dumps(args) + "\\n")
def box(name):
    return os.path.join(state, name + ".box")
if args[0] == "info":
    sys.exit(0)
if args[0] == "run" and "-d" in args:
    name = args[args.index("--name") + 1]
    with open(box(name), "w") as f:
        f.write("crash" if args[-1] == "crash" else "running")
    print("c0ffee")
elif args[0] == "run":
    print("hello from", args[-1])
    sys.exit(3 if args[-1] == "fail" else 0)
elif args[0] == "wait":
    start = time.time()
    while True:
        text = open(box(args[1])).read() if os.path.exists(box(args[1])) else "gone"
        if text == "crash" and time.time() - start > 0.3:
            print(2)
            break
        if text in ("stopped", "gone"):
            print(143)
            break
        time.sleep(0.02)
elif args[0] == "stop":
    if os.path.exists(box(args[-1])):
        open(box(args[-1]), "w").write("stopped")
elif args[0] == "logs":
    print("log of", args[-1])
elif args[0] == "rm":
    if os.path.exists(box(args[-1])):
        os.remove(box(args[-1]))
"""


@pytest.fixture
def docker(tmp_path, monkeypatch):
    """A fake docker first on PATH; returns a function giving the calls made so far."""
    bin_dir = tmp_path / "bin"
    state = tmp_path / "docker-state"
    bin_dir.mkdir()
    state.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER.format(python=sys.executable))
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_DIR", str(state))

    def calls() -> list[list[str]]:
        lines = (state / "calls.jsonl").read_text().splitlines()
        return [c for c in map(json.loads, lines) if c != ["info"]]

    calls.state = state  # type: ignore[attr-defined]
    return calls


def run_spec(tmp_path: Path, text: str):
    path = tmp_path / "spec.yml"
    path.write_text(textwrap.dedent(text))
    run_id = uuid.uuid4().hex
    run = execute(None, path, out=tmp_path / "run", run_id=run_id, grace=1)
    assert processes_of(run_id) == []  # docker wait included
    return run


SERVICE = """
name: container
nodeAssignments: [{properties: {name: w}}]
stages:
  - name: db
    background: true
    selectors: [{all: true}]
    tasks:
      - name: server
        background: true
        docker: {image: "db:1", action: run, ports: [{guest: 5432, host: 15432}], args: [ARG]}
        ready: {tasks: [{name: up, shell: {command: "test -f \\"$FAKE_DOCKER_DIR\\"/*server-0.box"}}]}
  - name: use
    selectors: [{all: true}]
    tasks: [{name: client, shell: {command: "sleep 0.4"}}]
  - name: halt
    selectors: [{all: true}]
    tasks: [{name: stop, stopper: {stage: db}}]
"""


def test_a_background_container_runs_detached_and_is_stopped_then_removed(tmp_path, docker):
    run = run_spec(tmp_path, SERVICE.replace("ARG", "serve"))
    assert one_row(run.jobs, job_id=0)["status"] == "finished"
    server = one_row(run.tasks, task_name="server")
    assert server["status"] == "stopped" and server["ready_time"] > server["start_time"]
    assert server["stop_time"] >= one_row(run.tasks, task_name="client")["stop_time"]
    name = f"benchhub-{run.meta['run_id']}-0-w-db-server-0"
    assert docker() == [
        ["run", "-d", "--name", name, "-p", "15432:5432", "db:1", "serve"],
        ["wait", name],
        ["stop", "-t", "1", name],
        ["logs", name],
        ["rm", name],
    ]
    assert list(docker.state.glob("*.box")) == []  # removed
    out = (run.path / server["log_path"]).read_text()
    assert out.splitlines() == ["c0ffee", f"log of {name}"]  # the id, then the container's log


def test_a_background_container_that_exits_by_itself_fails_the_job(tmp_path, docker):
    run = run_spec(tmp_path, SERVICE.replace("ARG", "crash").replace("0.4", "20"))
    server = one_row(run.tasks, task_name="server")
    name = f"benchhub-{run.meta['run_id']}-0-w-db-server-0"
    assert server["status"] == "failed"
    assert server["reason"] == f"container {name} exited with code 2 before it was stopped"
    job = one_row(run.jobs, job_id=0)
    assert job["status"] == "aborted" and job["stop_time"] < 5.0
    assert one_row(run.tasks, task_name="client")["status"] == "stopped"
    assert docker()[-3:] == [["stop", "-t", "1", name], ["logs", name], ["rm", name]]


def test_a_foreground_container_runs_attached_and_its_exit_code_counts(tmp_path, docker):
    run = run_spec(
        tmp_path,
        """
        name: once
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: s
            selectors: [{all: true}]
            tasks: [{name: job, docker: {image: "tool:1", action: run, args: [fail]}}]
        """,
    )
    task = one_row(run.tasks, task_name="job")
    assert (task["status"], task["exit_code"]) == ("failed", 3)
    name = f"benchhub-{run.meta['run_id']}-0-w-s-job-0"
    assert docker() == [["run", "--rm", "--name", name, "tool:1", "fail"]]
    assert (run.path / task["log_path"]).read_text() == "hello from fail\n"
