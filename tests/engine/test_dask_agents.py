"""Real runs on Dask workers: one worker per node, its agent on it (issue 17 section 1).

The workers run in this process (their task processes do not): a scheduler and one
``distributed.Worker`` per node, talking over TCP, so every order and report is
serialized as it would be between machines. The worker-killed test runs its worker in a
process of its own (a nanny's), and the TLS test uses a certificate made here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

from distributed import Client, Scheduler, SpecCluster, Worker  # noqa: E402

from benchhub_sim.cli import main  # noqa: E402
from benchhub_sim.cluster import load_cluster  # noqa: E402
from benchhub_sim.engine.dask_agents import (  # noqa: E402
    WorkerInfo,
    connect,
    match_cluster,
    wait_for_workers,
)
from benchhub_sim.errors import ClusterError  # noqa: E402
from benchhub_sim.execute import execute  # noqa: E402
from benchhub_sim.simulate import simulate  # noqa: E402
from benchhub_sim.spec.load import load_spec  # noqa: E402
from benchhub_sim.spec.model import Driver, ExecPayload, Role  # noqa: E402
from benchhub_sim.store.run import load_run  # noqa: E402

from .test_local import PINGPONG, one_row, processes_of  # noqa: E402
from .test_local_cli import LONG_JOB  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("python3") is None or not Path("/proc/self/environ").exists(),
    reason="needs python3 and Linux /proc",
)

ROLES = "nodes: [{id: srv, role: database}, {id: cli, role: loader}]"


def _cluster(workers: dict, **scheduler: object) -> SpecCluster:
    options = {"dashboard": False, "dashboard_address": ":0", "protocol": "tcp://", **scheduler}
    return SpecCluster(scheduler={"cls": Scheduler, "options": options}, workers=workers)


@pytest.fixture(scope="module")
def dask_cluster():
    """Workers srv and cli (resources naming their roles), a client; torn down after."""
    workers = {
        name: {"cls": Worker, "options": {"nthreads": 1, "resources": {role: 1}}}
        for name, role in (("srv", "database"), ("cli", "loader"))
    }
    with _cluster(workers) as cluster, Client(cluster, set_as_default=False) as client:
        wait_for_workers(client, ["srv", "cli"])
        yield cluster, client


def _run(tmp_path: Path, client, spec, **options):
    run_id = uuid.uuid4().hex
    run = execute(
        ROLES, spec, out=tmp_path / "run", dask=client, run_id=run_id,
        work_dir=tmp_path / "shared", **options,
    )  # fmt: skip
    assert processes_of(run_id) == []
    return run


# -- the example ----------------------------------------------------------------------------


def test_pingpong_runs_its_server_and_its_client_on_two_workers(dask_cluster, tmp_path, capsys):
    cluster, _ = dask_cluster
    out = tmp_path / "run"
    argv = ["run", str(PINGPONG), "--dask", cluster.scheduler_address, "--out", str(out),
            "--work-dir", str(tmp_path / "shared"), "--metrics-interval", "0.2"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    run = load_run(out)
    assert processes_of(run.meta["run_id"]) == []
    assert run.meta["executor"] == "dask" and set(run.meta["dask"]["workers"]) == {"srv", "cli"}
    assert run.jobs["status"].tolist() == ["finished"]
    tasks = run.tasks
    assert one_row(tasks, task_name="server")["node_id"] == "srv"
    assert one_row(tasks, task_name="ping")["node_id"] == "cli"
    # {{.Nodes.srv.Ip}} rendered the worker's host address
    host = run.nodes.set_index("node_id").loc["srv", "ip"]
    assert host == cluster.scheduler_info["workers"][run.meta["dask"]["workers"]["srv"]]["host"]
    # the logs came back from the workers
    out_log = (run.path / one_row(tasks, task_name="ping")["log_path"]).read_text()
    assert len(out_log.splitlines()) == 5 and all(" pong " in ln for ln in out_log.splitlines())
    for log in tasks["log_path"].dropna():
        assert (run.path / log).with_suffix(".err").is_file()
    assert not (out / "work").exists()  # the work directories stay on the nodes
    # what the agents observed
    results = run.results
    assert len(results) == 5 and set(results["name"]) == {"latency_ms"}
    assert set(results["node_id"]) == {"cli"} and (results["value"] > 0).all()
    metrics = run.metrics
    assert set(metrics["node_id"]) == {"srv", "cli"}
    server = metrics[(metrics["task_name"] == "server") & (metrics["kind"] == "sample")]
    assert (server.loc[server["metric"] == "rss_bytes", "value"] > 1e6).all()  # python's RSS
    # the same tables as a simulated (hence a local) run of the spec
    sim = simulate(load_cluster(ROLES), PINGPONG, out=tmp_path / "sim")
    for name in ("nodes", "jobs", "stages", "tasks", "node_events", "job_events"):
        assert run.tables[name].schema.names == sim.tables[name].schema.names, name
        assert run.tables[name].schema.types == sim.tables[name].schema.types, name


def test_a_failing_loader_aborts_the_job_and_stops_the_server(dask_cluster, tmp_path):
    _, client = dask_cluster
    spec = load_spec(PINGPONG)
    fail = ExecPayload("python3", ("-c", "import sys; sys.exit(3)"))
    stages = tuple(
        replace(st, tasks=(replace(st.tasks[0], driver=Driver.EXEC, exec=fail),))
        if st.name == "ping_server"
        else st
        for st in spec.stages
    )
    run = _run(tmp_path, client, replace(spec, stages=stages))
    job = one_row(run.jobs, job_id=0)
    assert job["status"] == "aborted"
    assert "ping_server.ping on cli (cli) failed: exit code 3" in job["reason"]
    assert one_row(run.tasks, task_name="server")["status"] == "stopped"


def _tasks_of(run_id: str, node_id: str) -> list[int]:
    """Live processes of run ``run_id`` on node ``node_id`` (from their environment)."""
    mine = f"BENCHHUB_NODE_ID={node_id}".encode()
    found = []
    for pid in processes_of(run_id):
        try:
            if mine in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(pid)
        except OSError:
            continue
    return found


def _when_started(started: Path, action) -> threading.Thread:
    def wait() -> None:
        deadline = time.monotonic() + 20
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        action()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread


def test_an_interrupt_stops_every_task_on_every_worker(dask_cluster, tmp_path):
    _, client = dask_cluster
    (tmp_path / "long.yml").write_text(LONG_JOB)
    run_id = uuid.uuid4().hex
    started = tmp_path / "shared" / run_id / "work/0/cli/started"
    _when_started(started, lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        execute("nodes: [{id: srv}, {id: cli}]", tmp_path / "long.yml", out=tmp_path / "run",
                dask=client, run_id=run_id, work_dir=tmp_path / "shared", grace=1)  # fmt: skip
    assert processes_of(run_id) == []
    with pytest.warns(UserWarning, match="not a finished run: it raised KeyboardInterrupt"):
        run = load_run(tmp_path / "run")
    assert run.complete and run.meta["interrupted"] is True
    assert (one_row(run.jobs, job_id=0)["status"], run.jobs["reason"][0]) == (
        "aborted",
        "interrupted",
    )
    assert set(run.tasks["status"]) == {"stopped"}


# -- matching nodes to workers ------------------------------------------------------------------


def _worker(name: str, role: Role = Role.ANY) -> WorkerInfo:
    return WorkerInfo(name, f"tcp://10.0.0.{len(name)}:1", f"10.0.0.{len(name)}", f"host-{name}",
                      role, 4, 1024.0, 2048.0, 0.0)  # fmt: skip


def test_nodes_bind_to_workers_by_name_else_by_role_and_the_misfits_are_all_named():
    workers = [_worker("a", Role.DATABASE), _worker("bb", Role.LOADER), _worker("ccc")]
    cluster, bound = match_cluster(
        load_cluster("nodes: [{id: ccc, role: loader}, {id: db, role: database}]"), workers
    )
    assert {n: w.name for n, w in bound.items()} == {"ccc": "ccc", "db": "a"}
    assert [(n.node_id, n.ip, n.host) for n in cluster.nodes] == [
        ("ccc", "10.0.0.3", "host-ccc"),
        ("db", "10.0.0.1", "host-a"),
    ]
    with pytest.raises(ClusterError) as err:
        match_cluster(load_cluster("nodes: [{id: x, role: central}, {id: y, count: 2}]"), workers)
    problems = [str(p) for p in err.value.problems]
    assert problems[0].startswith("node 'x' (role central): no Dask worker named 'x'")
    assert "(workers: a (database), bb (loader), ccc)" in problems[0]
    assert problems[1].startswith("node 'y-1' (role any)")  # y-0 took ccc
    assert "dask worker SCHEDULER --name NODE_ID" in problems[-1]


def test_agents_lists_the_workers_as_a_cluster_that_loads(dask_cluster, tmp_path, capsys):
    cluster, _ = dask_cluster
    out = tmp_path / "cluster.yml"
    assert main(["agents", "--dask", cluster.scheduler_address, "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "role", "host", "address", "cores", "mem_mb", "disk_mb"]
    assert [ln.split()[:2] for ln in lines[1:3]] == [["cli", "loader"], ["srv", "database"]]
    nodes = load_cluster(out).nodes
    assert [(n.node_id, n.role) for n in nodes] == [("cli", Role.LOADER), ("srv", Role.DATABASE)]
    assert all(n.cores >= 1 and n.mem_mb > 0 for n in nodes)


def test_a_scheduler_that_cannot_be_reached_is_named():
    with pytest.raises(ClusterError, match="^dask scheduler tcp://127.0.0.1:1: cannot connect"):
        connect("tcp://127.0.0.1:1", timeout=0.5)


# -- a worker that dies ---------------------------------------------------------------------------


def test_a_killed_worker_takes_its_node_offline_and_aborts_its_job(tmp_path):
    run_id = uuid.uuid4().hex
    spec = tmp_path / "long.yml"
    spec.write_text(LONG_JOB)
    started = tmp_path / "shared" / run_id / "work/0/cli/started"
    cli = {"cli": {"cls": Worker, "options": {"nthreads": 1}}}
    with _cluster(cli) as cluster, Client(cluster, set_as_default=False) as client:
        srv = subprocess.Popen(  # a worker in a process of its own, no nanny to restart it
            [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
             "--name", "srv", "--nthreads", "1", "--no-nanny", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        gone: list[float] = []

        def kill() -> None:  # and wait for srv's tasks to go: the keeper, not the engine
            srv.kill()
            deadline = time.time() + 5
            while _tasks_of(run_id, "srv") and time.time() < deadline:
                time.sleep(0.01)
            gone.append(time.time())

        try:
            wait_for_workers(client, ["srv", "cli"])
            _when_started(started, kill)
            run = execute("nodes: [{id: srv}, {id: cli}]", spec, out=tmp_path / "run",
                          dask=client, run_id=run_id, work_dir=tmp_path / "shared", grace=1)  # fmt: skip
        finally:
            srv.kill()
            srv.wait()
        assert processes_of(run_id) == []
    address = run.meta["dask"]["workers"]["srv"]
    job = one_row(run.jobs, job_id=0)
    assert job["status"] == "aborted"
    assert job["reason"] == f"node srv failed: Dask worker {address} is gone (it died or left)"
    fail = run.node_events[run.node_events["event"] == "fail"]
    assert fail["node_id"].tolist() == ["srv"] and fail["state"].tolist() == ["offline"]
    # the dead worker's tasks were gone before the engine even knew: its keeper killed them
    assert gone and gone[0] < run.meta["epoch"] + fail["time"].iloc[0]
    assert one_row(run.tasks, task_name="server")["status"] == "failed"
    assert one_row(run.tasks, task_name="client")["status"] == "stopped"


#: LONG_JOB whose client takes 1 s, and a stopper for the server
AGAIN = (
    LONG_JOB.replace("touch started; sleep 60; true", "touch started; sleep 1")
    + """  - name: halt
    selectors: [{name: srv}]
    tasks: [{name: stop, stopper: {stage: serve}}]
"""
)


def test_a_worker_that_leaves_and_comes_back_brings_its_node_back(tmp_path):
    workers = {n: {"cls": Worker, "options": {"nthreads": 1}} for n in ("srv", "cli")}
    (tmp_path / "again.yml").write_text(AGAIN)
    (tmp_path / "jobs.yml").write_text("jobs:\n  - {spec: again.yml, submit: 0, count: 2}\n")
    run_id = uuid.uuid4().hex
    started = tmp_path / "shared" / run_id / "work/0/cli/started"
    with _cluster(workers) as cluster, Client(cluster, set_as_default=False) as client:
        wait_for_workers(client, ["srv", "cli"])
        replacement: list[Worker] = []

        def swap() -> None:  # srv leaves while job 0 runs; a new worker named srv joins
            cluster.sync(cluster.workers["srv"].close)

            async def start() -> Worker:
                return await Worker(cluster.scheduler_address, name="srv", nthreads=1)

            replacement.append(cluster.sync(start))

        _when_started(started, swap)
        try:
            run = execute("nodes: [{id: srv}, {id: cli}]", tmp_path / "jobs.yml",
                          out=tmp_path / "run", dask=client, run_id=run_id,
                          work_dir=tmp_path / "shared", grace=1)  # fmt: skip
        finally:
            for worker in replacement:
                cluster.sync(worker.close)
    assert processes_of(run_id) == []
    jobs = run.jobs.set_index("job_id")
    assert jobs.loc[0, "status"] == "aborted" and jobs.loc[0, "reason"].startswith(
        "node srv failed"
    )
    assert jobs.loc[1, "status"] == "finished"  # queued for srv, run once it was back
    srv = run.node_events[run.node_events["node_id"] == "srv"]
    events = srv["event"].astype(str).tolist()
    assert events.index("fail") < events.index("recover")
    assert jobs.loc[1, "start_time"] >= srv.loc[srv["event"] == "recover", "time"].iloc[0]
    assert run.stalled is None


# -- TLS --------------------------------------------------------------------------------------------


def test_tls_is_honoured_end_to_end(tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl CLI to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    from distributed.security import Security

    security = Security(
        tls_ca_file=str(cert), tls_scheduler_cert=str(cert), tls_scheduler_key=str(key),
        tls_worker_cert=str(cert), tls_worker_key=str(key), tls_client_cert=str(cert),
        tls_client_key=str(key), require_encryption=True,
    )  # fmt: skip
    workers = {"w": {"cls": Worker, "options": {"nthreads": 1, "security": security}}}
    with SpecCluster(
        scheduler={"cls": Scheduler, "options": {"dashboard": False, "dashboard_address": ":0", "protocol": "tls://",
                                                 "security": security}},
        workers=workers, security=security,
    ) as cluster:  # fmt: skip
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        spec = tmp_path / "hello.yml"
        spec.write_text(textwrap.dedent("""
            name: hello
            nodeAssignments: [{properties: {name: w}}]
            stages:
              - {name: s, selectors: [{all: true}], tasks: [{name: t, shell: {command: "echo hi"}}]}
            """))  # fmt: skip
        argv = ["run", str(spec), "--dask", address, "--out", str(tmp_path / "run"),
                "--tls-ca-file", str(cert), "--tls-cert", str(cert), "--tls-key", str(key)]  # fmt: skip
        assert main(argv) == 0
        run = load_run(tmp_path / "run")
        assert run.jobs["status"].tolist() == ["finished"]
        assert (run.path / run.tasks["log_path"][0]).read_text() == "hi\n"
        with pytest.raises(ClusterError):  # without the certificates: refused
            execute(None, spec, out=tmp_path / "plain", dask=address.replace("tls://", "tcp://"))
