"""The local executor: real processes through the engine that simulates them."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import textwrap
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from benchhub_sim.analysis.report import write_report
from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.execute import dry_run, execute, local_cluster
from benchhub_sim.simulate import as_workload, simulate
from benchhub_sim.spec.load import load_spec
from benchhub_sim.spec.model import Driver, ExecPayload
from benchhub_sim.store.schema import TABLES

SPECS = Path(__file__).resolve().parents[2] / "data" / "specs"
PINGPONG = SPECS / "pingpong-local.yml"

pytestmark = pytest.mark.skipif(
    shutil.which("python3") is None
    or shutil.which("sh") is None
    or not Path("/proc/self/environ").exists(),
    reason="needs python3, sh and Linux /proc",
)


def processes_of(run_id: str) -> list[int]:
    """Pids of live processes whose environment carries ``BENCHHUB_RUN_ID=run_id``."""
    marker = f"BENCHHUB_RUN_ID={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def run_spec(tmp_path: Path, yaml_text: str, cluster=None, **options):
    """Execute one spec given as YAML text; check that no process of it is left."""
    path = tmp_path / "spec.yml"
    path.write_text(textwrap.dedent(yaml_text))
    run_id = uuid.uuid4().hex
    run = execute(cluster, path, out=tmp_path / "run", run_id=run_id, **options)
    assert processes_of(run_id) == []
    return run


def one_row(frame, **where):
    for key, value in where.items():
        frame = frame[frame[key] == value]
    assert len(frame) == 1, where
    return frame.iloc[0]


@pytest.fixture(scope="module")
def pingpong(tmp_path_factory):
    run_id = uuid.uuid4().hex
    out = tmp_path_factory.mktemp("pp") / "run"
    run = execute(None, PINGPONG, out=out, run_id=run_id, metrics_interval=0.2)
    return run, run_id


# -- the example ------------------------------------------------------------------------


def test_pingpong_local_finishes_with_ordered_stages_and_logs(pingpong):
    run, run_id = pingpong
    assert processes_of(run_id) == []
    assert run.jobs["status"].tolist() == ["finished"]
    assert run.meta["clock"] == "wall" and abs(run.meta["epoch"] - time.time()) < 600
    server = one_row(run.stages, stage_name="start_server")
    ping = one_row(run.stages, stage_name="ping_server")
    assert server["start_time"] < server["ready_time"] <= ping["start_time"]
    # the stopper runs when the ping stage ends, at that same engine instant or later
    assert server["stop_time"] >= ping["stop_time"]
    assert server["status"] == "stopped"
    tasks = run.tasks
    fg = tasks[~tasks["background"]]
    assert set(fg["status"]) == {"finished"} and set(fg["exit_code"]) == {0}
    assert one_row(tasks, task_name="server")["status"] == "stopped"
    for log in tasks["log_path"].dropna():
        assert (run.path / log).is_file()
        assert (run.path / log).with_suffix(".err").is_file()
    out = (run.path / one_row(tasks, task_name="ping")["log_path"]).read_text().splitlines()
    assert len(out) == 5 and all(" pong " in line for line in out)
    assert pd.isna(one_row(tasks, task_name="stop")["log_path"])  # a stopper runs no process
    assert (run.path / "logs/0/srv/start_server.server.0.ready0.out").is_file()
    # nodes: one local node per assignment, all 127.0.0.1, registered as this machine is
    assert sorted(run.nodes["node_id"]) == ["local-0", "local-1"]
    assert set(run.nodes["ip"]) == {"127.0.0.1"}
    assert set(run.nodes["host"]) == {socket.gethostname()}
    assert (run.nodes["disk_free_mb"] <= run.nodes["disk_mb"]).all()
    assert (run.nodes["mem_free_mb"] <= run.nodes["mem_mb"]).all()
    # the commands that ran, rendered
    commands = dict(zip(tasks["task_name"], tasks["command"], strict=True))
    assert commands["content"] == "printf pong > ping.txt"
    assert commands["stop"] == "stop start_server.server"
    assert commands["check_python"] == "python3 -c 'import urllib.request'"
    # each node: running its job, then finished, reporting, cleanup, idle
    states = run.node_events[run.node_events["event"] == "state"]
    for _, node in states.groupby("node_id", observed=True):
        assert node["job_state"].astype(object).where(node["job_state"].notna(), None).tolist() == [
            "running", "finished", "reporting", "cleanup", None
        ]  # fmt: skip


def test_pingpong_keeps_its_metrics_and_results_and_the_report_shows_them(pingpong, tmp_path):
    run, _ = pingpong
    files = {p.name for p in run.path.iterdir()}
    assert {"metrics.parquet", "results.parquet"} <= files
    latency = run.results[run.results["name"] == "latency_ms"]
    assert len(latency) == 5 and set(latency["unit"]) == {"ms"}
    assert set(latency["task_name"]) == {"ping"} and (latency["value"] > 0).all()
    # the client printed the same latencies it reported
    printed = (run.path / one_row(run.tasks, task_name="ping")["log_path"]).read_text()
    assert [f"{v:.2f}" for v in latency["value"]] == [ln.split()[-2] for ln in printed.splitlines()]
    samples = run.metrics[run.metrics["kind"] == "sample"]
    # samples come every 0.2 s from the nodes with a process running then: the server's
    # node always (it runs in the background all along); the client's only if one of its
    # short tasks happened to span a sample, which depends on the machine's load
    assert "local-0" in set(samples["node_id"]) <= {"local-0", "local-1"}
    snapshots = run.metrics[run.metrics["kind"].isin(["before", "after"])]
    assert set(snapshots["node_id"]) == {"local-0", "local-1"}  # every task, on each node
    text = write_report(run, tmp_path / "report.html").read_text()
    assert "Benchmark results (reported by the tasks)" in text and ">latency_ms<" in text
    assert "CPU on local-0" in text and "Memory used, by node" in text


def test_simulating_the_same_spec_gives_the_same_columns(pingpong, tmp_path):
    real, _ = pingpong
    sim = simulate(local_cluster(as_workload(PINGPONG)), PINGPONG, out=tmp_path / "sim")
    assert sim.jobs["status"].tolist() == ["finished"]
    for name in TABLES:
        assert real.tables[name].schema.names == sim.tables[name].schema.names, name
        assert real.tables[name].schema.types == sim.tables[name].schema.types, name
    assert len(sim.tasks) == len(real.tasks)
    # what agents observed: a real run has it, a simulation has not
    assert real.has_table("metrics") and real.has_table("results")
    assert not sim.has_table("metrics") and sim.metrics.empty
    # what would run is what ran (no command here names a node)
    assert sorted(sim.tasks["command"]) == sorted(real.tasks["command"])


# -- failures ---------------------------------------------------------------------------


def test_a_loader_exiting_3_aborts_the_job_and_stops_the_server(tmp_path):
    spec = load_spec(PINGPONG)
    stages = []
    for st in spec.stages:
        if st.name == "ping_server":
            fail = ExecPayload("python3", ("-c", "import sys; sys.exit(3)"))
            st = replace(st, tasks=(replace(st.tasks[0], driver=Driver.EXEC, exec=fail),))
        stages.append(st)
    run_id = uuid.uuid4().hex
    run = execute(None, replace(spec, stages=tuple(stages)), out=tmp_path / "run", run_id=run_id)
    assert processes_of(run_id) == []
    job = one_row(run.jobs, job_id=0)
    assert job["status"] == "aborted"
    assert "ping_server.ping" in job["reason"] and "exit code 3" in job["reason"]
    ping = one_row(run.tasks, task_name="ping")
    assert (ping["status"], ping["exit_code"]) == ("failed", 3)
    server = one_row(run.tasks, task_name="server")
    assert server["status"] == "stopped" and server["stop_time"] == pytest.approx(ping["stop_time"])
    assert "stop_server" not in set(run.stages["stage_name"])


def test_a_task_past_its_timeout_is_killed_and_the_job_aborts_soon_after(tmp_path):
    run = run_spec(
        tmp_path,
        """
        name: slow
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: s
            selectors: [{all: true}]
            tasks:
              - {name: nap, shell: {command: "touch begun; sleep 30; true"}, timeout: 1}
        """,
    )
    task = one_row(run.tasks, task_name="nap")
    assert (task["status"], task["exit_code"], task["reason"]) == (
        "failed",
        -9,
        "timeout after 1 s",
    )
    job = one_row(run.jobs, job_id=0)
    assert job["status"] == "aborted" and "timeout after 1 s" in job["reason"]
    assert 1.0 <= job["stop_time"] - task["start_time"] <= 2.5
    assert (run.path / "work/0/w/begun").is_file()


def test_a_readiness_check_that_never_passes_aborts_after_the_ready_timeout(tmp_path):
    run = run_spec(
        tmp_path,
        """
        name: never-ready
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: serve
            background: true
            selectors: [{all: true}]
            tasks:
              - name: server
                background: true
                shell: {command: "sleep 30"}
                ready:
                  tasks: [{name: probe, shell: {command: "echo probing; exit 1"}}]
                  timeout: 1
          - name: use
            selectors: [{all: true}]
            tasks: [{name: client, shell: {command: "true"}}]
        """,
    )
    server = one_row(run.tasks, task_name="server")
    assert server["status"] == "failed" and server["exit_code"] != 0
    assert server["reason"].startswith("not ready after 1 s: check probe exited with code 1")
    assert server["ready_time"] != server["ready_time"]  # NaN: never ready
    job = one_row(run.jobs, job_id=0)
    assert job["status"] == "aborted"
    assert 1.0 <= job["stop_time"] - server["start_time"] <= 2.5
    assert "use" not in set(run.stages["stage_name"])
    probes = (run.path / "logs/0/w/serve.server.0.ready0.out").read_text().split()
    assert len(probes) >= 3 and set(probes) == {"probing"}  # retried, with backoff


def test_a_background_task_exiting_by_itself_fails_the_job(tmp_path):
    run = run_spec(
        tmp_path,
        """
        name: short-lived
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: serve
            background: true
            selectors: [{all: true}]
            tasks: [{name: server, background: true, shell: {command: "sleep 0.3"}}]
          - name: use
            selectors: [{all: true}]
            tasks: [{name: client, shell: {command: "sleep 20"}}]
        """,
    )
    server = one_row(run.tasks, task_name="server")
    assert server["status"] == "failed" and "exited before it was stopped" in server["reason"]
    assert one_row(run.tasks, task_name="client")["status"] == "stopped"
    job = one_row(run.jobs, job_id=0)
    assert job["status"] == "aborted" and job["stop_time"] < 3.0


def test_a_retried_task_runs_again_with_its_own_logs(tmp_path):
    run = run_spec(
        tmp_path,
        """
        name: flaky
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: s
            selectors: [{all: true}]
            tasks:
              - name: once
                retries: 1
                shell: {command: "if [ -e tried ]; then echo second; else touch tried; echo first; exit 4; fi"}
        """,
    )
    rows = run.tasks.sort_values("attempt")
    assert rows["status"].tolist() == ["failed", "finished"]
    assert rows["exit_code"].tolist() == [4, 0]
    assert [(run.path / p).read_text() for p in rows["log_path"]] == ["first\n", "second\n"]
    assert one_row(run.jobs, job_id=0)["status"] == "finished"


# -- drivers, arguments, environment ----------------------------------------------------

ARGV_SPEC = """
name: argv
nodeAssignments: [{properties: {name: w}}]
stages:
  - name: s
    selectors: [{all: true}]
    tasks:
      - {name: bait, shell: {command: "touch x"}}
      - name: exec_args
        exec:
          command:
            - python3
            - -c
            - "import json, sys; json.dump(sys.argv[1:], open('exec.json', 'w'))"
            - "a b"
            - "it's \\"quoted\\""
            - "{{.Node.Id}}"
      - name: shell_args
        env: {FOO: "{{.Node.Id}}", BAR: "plain"}
        shell:
          command: >-
            python3 -c 'import json, os, sys; json.dump([sys.argv[1:],
            {k: v for k, v in os.environ.items() if k.startswith(("BENCHHUB_", "FOO", "BAR"))}],
            open("sh.json", "w"))' {{.Node.Id}} {{.Node.Ip}} {{.Nodes.w.Ip}}
"""


def test_exec_and_shell_arguments_arrive_intact_and_template_values_stay_one_word(tmp_path):
    evil = "x; rm -rf x"
    run = run_spec(tmp_path, ARGV_SPEC, cluster=Cluster((Node(evil, ip="10.1.2.3"),)))
    assert set(run.tasks["status"]) == {"finished"}
    work = run.path / "work/0/w"
    assert (work / "x").is_file()  # the `rm -rf x` inside the node id never ran
    assert json.loads((work / "exec.json").read_text()) == ["a b", 'it\'s "quoted"', evil]
    argv, env = json.loads((work / "sh.json").read_text())
    assert argv == [evil, "127.0.0.1", "127.0.0.1"]  # every node is this machine
    assert env["FOO"] == evil and env["BAR"] == "plain"
    assert env["BENCHHUB_JOB_ID"] == "0" and env["BENCHHUB_NODE_NAME"] == "w"
    assert env["BENCHHUB_NODE_ID"] == evil and env["BENCHHUB_STAGE"] == "s"
    assert env["BENCHHUB_RUN_ID"] == run.meta["run_id"]
    assert Path(env["BENCHHUB_WORK_DIR"]) == work and Path(env["BENCHHUB_JOB_DIR"]) == work.parent


def test_tasks_of_one_task_pipeline_and_jobs_on_other_nodes_run_together(tmp_path):
    spec = """
        name: together
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: s
            selectors: [{all: true}]
            pipelines: [{name: both, tasks: [a, b]}]
            tasks:
              - {name: a, shell: {command: "sleep 0.6"}}
              - {name: b, shell: {command: "sleep 0.6"}}
        """
    (tmp_path / "spec.yml").write_text(textwrap.dedent(spec))
    jobs = tmp_path / "jobs.yml"
    jobs.write_text("jobs:\n  - {spec: spec.yml, submit: 0, count: 2}\n")
    run_id = uuid.uuid4().hex
    run = execute(2, jobs, out=tmp_path / "run", run_id=run_id)
    assert processes_of(run_id) == []
    assert run.jobs["status"].tolist() == ["finished", "finished"]
    starts = run.tasks["start_time"]
    stops = run.tasks["stop_time"]
    assert len(run.tasks) == 4 and starts.max() - starts.min() < 0.3
    assert stops.max() - starts.min() < 1.15  # one after another would take 2.4 s
    assert sorted(run.tasks["node_id"].unique()) == ["node-0", "node-1"]


FAKE_DOCKER = """#!{python}
import json, sys, time
if sys.argv[1:] == ["info"]:
    {info}
with open("docker-%s.json" % sys.argv[1], "w") as f:
    json.dump(sys.argv[1:], f)
if sys.argv[-1] == "serve":
    time.sleep(30)
"""


def _docker_spec(tmp_path: Path) -> str:
    return """
        name: dockerized
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: s
            selectors: [{all: true}]
            tasks:
              - name: web
                driver: docker
                docker: {image: "nginx:1", action: run, ports: [{guest: 80, host: 8080}], args: [-g, "daemon off;"]}
        """


@pytest.mark.parametrize(
    ("fake", "expected"),
    [
        (None, "docker not available: 'docker' not found on PATH"),
        (
            'sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")',
            "Cannot connect to the Docker daemon",
        ),
    ],
    ids=["missing", "daemon-down"],
)
def test_docker_missing_or_down_fails_the_task_with_a_clear_reason(
    tmp_path, monkeypatch, fake, expected
):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if fake is not None:
        (bin_dir / "docker").write_text(FAKE_DOCKER.format(python=sys.executable, info=fake))
        (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    run = run_spec(tmp_path, _docker_spec(tmp_path))
    task = one_row(run.tasks, task_name="web")
    assert task["status"] == "failed" and task["reason"].startswith("docker not available: ")
    assert expected in task["reason"]
    assert task["exit_code"] == 127
    assert one_row(run.jobs, job_id=0)["status"] == "aborted"


def test_docker_run_goes_through_the_docker_cli_with_a_named_container(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER.format(python=sys.executable, info="sys.exit(0)"))
    (bin_dir / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    run = run_spec(tmp_path, _docker_spec(tmp_path))
    assert one_row(run.tasks, task_name="web")["status"] == "finished"
    argv = json.loads((run.path / "work/0/w/docker-run.json").read_text())
    assert argv[:2] == ["run", "--rm"] and argv[2] == "--name"
    assert argv[3].startswith(f"benchhub-{run.meta['run_id']}-0-w-s-web-0")
    assert argv[4:] == ["-p", "8080:80", "nginx:1", "-g", "daemon off;"]


# -- dry run ----------------------------------------------------------------------------


def test_dry_run_lists_every_command_per_node_and_runs_nothing(tmp_path):
    text = dry_run(None, PINGPONG)
    lines = text.splitlines()
    assert lines[0] == "job 0 pingpong-local (submit 0 s)"
    srv = lines.index("  node srv (local-0) in work/0/srv/")
    cli = lines.index("  node cli (local-1) in work/0/cli/")
    srv_part = "\n".join(lines[srv:cli])
    order = [srv_part.index(s) for s in ("prepare_server/content", "prepare_server/pick_port",
                                          "start_server/server [", "start_server/server ready 0",
                                          "stop_server/stop")]  # fmt: skip
    assert order == sorted(order)
    assert "    prepare/prepare_server/content [shell]: printf pong > ping.txt" in lines
    assert (
        "serve/start_server/server [shell (background)]: HOST=127.0.0.1 exec python3 -m http.server"
        in text
    )
    assert "    teardown/stop_server/stop [stopper]: stop start_server.server" in lines
    assert "ping/ping_server/ping [exec]: SERVER=127.0.0.1 COUNT=5 python3 -c" in "\n".join(
        lines[cli:]
    )


def test_dry_run_quotes_template_values_in_shell_commands(tmp_path):
    (tmp_path / "spec.yml").write_text(ARGV_SPEC)
    text = dry_run(Cluster((Node("x; rm -rf x"),)), tmp_path / "spec.yml")
    assert "'x; rm -rf x' 127.0.0.1 127.0.0.1" in text
    assert list(tmp_path.iterdir()) == [tmp_path / "spec.yml"]


# -- stopping ---------------------------------------------------------------------------


def test_a_stopper_escalates_to_sigkill_after_the_grace_and_waits_for_its_target(tmp_path):
    run = run_spec(
        tmp_path,
        """
        name: stubborn
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: serve
            background: true
            selectors: [{all: true}]
            tasks:
              - name: server
                background: true
                shell: {command: "trap '' TERM; touch armed; sleep 30; true"}
                ready: {tasks: [{name: armed, shell: {command: "test -f armed"}}]}
          - name: halt
            selectors: [{all: true}]
            tasks: [{name: stop, stopper: {stage: serve}}]
        """,
        grace=0.5,
    )
    assert one_row(run.jobs, job_id=0)["status"] == "finished"
    server = one_row(run.tasks, task_name="server")
    stop = one_row(run.tasks, task_name="stop")
    assert server["status"] == "stopped" and server["stop_time"] == stop["start_time"]
    # SIGTERM is ignored: the stopper ends once SIGKILL, sent after the grace, took effect
    assert 0.5 <= stop["stop_time"] - stop["start_time"] <= 1.5


def test_what_a_finished_task_left_running_in_its_process_group_is_stopped(tmp_path):
    run = run_spec(
        tmp_path,
        """
        name: leaky
        nodeAssignments: [{properties: {name: w}}]
        stages:
          - name: first
            selectors: [{all: true}]
            tasks: [{name: leak, shell: {command: "sleep 30 & echo $! > pid"}}]
          - name: second
            selectors: [{all: true}]
            tasks:
              - name: look
                exec:
                  command:
                    - python3
                    - -c
                    - |
                      import sys, time
                      pid = open("pid").read().strip()
                      for _ in range(100):
                          try:
                              state = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[0]
                          except OSError:
                              sys.exit(0)
                          if state in "ZX":
                              sys.exit(0)
                          time.sleep(0.02)
                      sys.exit(1)
        """,
    )
    assert one_row(run.tasks, task_name="leak")["status"] == "finished"
    assert one_row(run.tasks, task_name="look")["exit_code"] == 0  # the sleep was gone
