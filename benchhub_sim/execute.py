"""``execute``: run a workload for real, as local processes, through the simulation's engine.

The engine, the central, the dispatcher and the store are the ones :func:`simulate`
uses; only the clock (wall time) and the executor
(:class:`~benchhub_sim.engine.local.LocalExecutor`) differ, so both write the same tables.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchhub_sim._version import __version__
from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.engine.local import LOCAL_IP, LocalExecutor
from benchhub_sim.engine.procs import task_argv
from benchhub_sim.errors import StalledRunWarning, WorkloadError, stalled_message
from benchhub_sim.params import number, require, whole
from benchhub_sim.sched.assign import job_slots
from benchhub_sim.sched.policies import Policy, get_policy
from benchhub_sim.simulate import WorkloadLike, as_cluster, as_workload, mark_failed, policy_name
from benchhub_sim.spec.model import Driver
from benchhub_sim.store.store import Store
from benchhub_sim.workload.base import JobRequest

if TYPE_CHECKING:
    from benchhub_sim.store.run import Run

#: The job abort reason when ``execute`` is interrupted by SIGINT or SIGTERM.
INTERRUPTED = "interrupted"


def local_cluster(
    requests: Iterable[JobRequest], *, disk_path: str | os.PathLike[str] = "."
) -> Cluster:
    """One local node (ip 127.0.0.1, ids ``local-0``...) per node position of the largest job.

    Every node is this machine, and registers as it is (:func:`machine_info`): its host
    name, the run's process start and the machine's boot time, its cores, its total and
    free memory, and the total and free disk where ``disk_path`` is, provider ``local``.
    Nodes have role ``any``; a capacity below a requirement of the jobs is raised to it
    (every job can run; the free amounts stay as measured).

    Examples
    --------
    >>> from benchhub_sim.spec.model import JobSpec, NodeAssignment
    >>> spec = JobSpec("j", node_assignments=(NodeAssignment("srv"), NodeAssignment("cli", count=2)))
    >>> [n.node_id for n in local_cluster([JobRequest(spec)]).nodes]
    ['local-0', 'local-1', 'local-2']
    """
    specs = {id(r.spec): r.spec for r in requests}.values()
    n = max((len(job_slots(s)) for s in specs), default=1)
    reqs = [a.requirements for s in specs for a in s.node_assignments]
    machine = machine_info(disk_path)
    machine.update(
        cores=max([machine["cores"], *(r.cores for r in reqs)]),
        mem_mb=max([machine["mem_mb"], *(r.mem_mb for r in reqs)]),
        disk_mb=max([machine["disk_mb"], *(r.disk_mb for r in reqs)]),
    )
    nodes = tuple(
        Node(f"local-{i}", ip=LOCAL_IP, provider="local", **machine) for i in range(max(n, 1))
    )
    return Cluster(nodes, name="local")


def machine_info(disk_path: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """What an agent on this machine registers with, as :class:`Node` fields: ``host``,
    ``start_time`` (this process), ``boot_time``, ``cores``, ``mem_mb`` /
    ``mem_free_mb`` (available memory), ``disk_mb`` / ``disk_free_mb`` of the file
    system holding ``disk_path`` (its nearest existing parent). MB are MiB.

    Read with psutil where it is installed; without it, start and boot time are left out
    and memory is read from ``os.sysconf`` where the platform has it.
    """
    mib = 1024.0 * 1024.0
    path = Path(disk_path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    disk = shutil.disk_usage(path)
    info: dict[str, Any] = {
        "host": socket.gethostname(),
        "cores": float(os.cpu_count() or 1),
        "disk_mb": disk.total / mib,
        "disk_free_mb": disk.free / mib,
        "mem_mb": Node("x").mem_mb,
    }
    try:
        import psutil
    except ImportError:
        names = getattr(os, "sysconf_names", {})
        if "SC_PAGE_SIZE" in names and "SC_PHYS_PAGES" in names:
            page = os.sysconf("SC_PAGE_SIZE")
            info["mem_mb"] = os.sysconf("SC_PHYS_PAGES") * page / mib
            if "SC_AVPHYS_PAGES" in names:
                info["mem_free_mb"] = os.sysconf("SC_AVPHYS_PAGES") * page / mib
        return info
    memory = psutil.virtual_memory()
    info.update(
        mem_mb=memory.total / mib,
        mem_free_mb=memory.available / mib,
        start_time=psutil.Process().create_time(),
        boot_time=float(psutil.boot_time()),
    )
    return info


def execute(
    cluster: Cluster | int | str | os.PathLike[str] | None,
    workload: WorkloadLike,
    *,
    out: str | os.PathLike[str],
    policy: str | Policy = "fcfs",
    grace: float = 3.0,
    ready_timeout: float = 60.0,
    max_loader_pack: int = 1,
    docker: str = "docker",
    check: bool = True,
    progress: Callable[[int, float], None] | None = None,
    inputs: dict[str, Any] | None = None,
    overwrite: bool = False,
    run_id: str | None = None,
    metrics_interval: float | None = 1.0,
    dask: Any = None,
    security: Any = None,
    work_dir: str | os.PathLike[str] | None = None,
) -> Run:
    """Run ``workload`` for real, on the wall clock: every task a process group, on this
    machine or on the Dask workers that are the cluster's nodes.

    Parameters
    ----------
    cluster : Cluster, int, path or None
        The nodes. Locally every node is this machine (addresses render as 127.0.0.1);
        None: one local node per node assignment (:func:`local_cluster`). With ``dask``,
        each node is the worker named like it (or, for a cluster that gives only roles,
        a worker with a resource naming its role: ``dask worker --resources
        database=1``); None: the workers themselves. Addresses render as the workers'.
    workload : requests, spec(s) or path
        As for :func:`~benchhub_sim.simulate.simulate`; submit times are wall seconds.
    out : path
        The run directory: tables, ``run.json``, ``logs/`` (and, locally, the tasks'
        ``work/``).
    policy : str or callable
        Queue policy.
    grace : float
        Seconds between SIGTERM and SIGKILL when a task is stopped.
    ready_timeout : float
        Readiness timeout of background tasks that give none.
    max_loader_pack : int
        Loader slots of one job allowed on one node.
    docker : str
        The docker CLI (on every worker, with ``dask``).
    check : bool
        Check every transition against the store's state machine.
    progress : callable, optional
        Called as ``progress(jobs_ended, now)`` once per ended job.
    inputs : dict, optional
        Recorded in ``run.json``.
    overwrite : bool
        Replace a run already in ``out`` (its tables, logs and work directories).
    run_id : str, optional
        Every process gets it as ``BENCHHUB_RUN_ID`` (default: a random one, kept in
        ``run.json``).
    metrics_interval : float or None
        Seconds between two samples of the running tasks' and the nodes' CPU, memory and
        I/O (``metrics.parquet``); None: no metrics.
    dask : str or distributed.Client, optional
        Run on Dask workers: a scheduler address (``tcp://host:8786``, ``tls://...``:
        Dask's TLS configuration applies) or a connected client.
    security : distributed.security.Security, optional
        TLS certificates and keys for connecting to ``dask`` (an address).
    work_dir : path, optional
        With ``dask``: where tasks run on every worker (``<work_dir>/<run_id>/``); give a
        directory the workers share to give a job's nodes a shared
        ``$BENCHHUB_JOB_DIR``. Default: each worker's own local directory.

    Returns
    -------
    Run
        Read back from ``out``, with the ``metrics`` and ``results`` tables.

    Raises
    ------
    KeyboardInterrupt
        After SIGINT or SIGTERM: every running job was aborted (reason ``interrupted``),
        every queued one too, every process stopped, and the run directory finished
        (its ``run.json`` says ``interrupted`` and holds the ``error``).
    WorkloadError, ClusterError, ScheduleError, UsageError, RunFormatError
        Bad arguments, as for :func:`~benchhub_sim.simulate.simulate`, before anything
        runs or is written. A run that raises later leaves ``run.json`` with its
        ``error``.
    ClusterError
        With ``dask``: the scheduler cannot be reached, or a node has no worker
        (before anything is written).

    Notes
    -----
    Whatever happens, no process of the run is left behind: the executor stops every
    process group it started (and kills any process carrying the run's
    ``BENCHHUB_RUN_ID``, on every worker) before this function returns or raises.
    Workers execute the spec's commands: give them only specs you trust.
    """
    from benchhub_sim.clock import WallClock
    from benchhub_sim.engine.engine import Engine
    from benchhub_sim.store.history import History
    from benchhub_sim.store.run import RunWriter, check_out_dir, load_run
    from benchhub_sim.store.schema import OPTIONAL_TABLES, SCHEMA_VERSION

    require(
        WorkloadError,
        [
            number("grace", grace, at_least=0),
            number("ready_timeout", ready_timeout, above=0),
            whole("max_loader_pack", max_loader_pack),
            None
            if metrics_interval is None
            else number("metrics_interval", metrics_interval, above=0),
        ],
    )
    get_policy(policy)
    given = as_workload(workload)
    requests = list(given)
    run_id = run_id or uuid.uuid4().hex[:12]
    root = Path(out)
    clock = WallClock()
    agents: dict[str, Any] = dict(
        run_id=run_id,
        grace=grace,
        ready_timeout=ready_timeout,
        docker=docker,
        metrics_interval=metrics_interval,
        now=clock.elapsed,
        epoch=clock.epoch,
    )
    executor: Any = None
    if dask is not None:  # before the run directory: a bad address writes nothing
        check_out_dir(root, overwrite=overwrite)  # and a bad --out contacts nobody
        cluster, executor = _dask_executor(dask, security, cluster, root, work_dir, agents)
    else:
        cluster = local_cluster(requests, disk_path=out) if cluster is None else as_cluster(cluster)
    meta = {
        "clock": "wall",
        "epoch": clock.epoch,
        "policy": policy_name(policy),
        "seed": None,
        "cluster": cluster.name or cluster.source or f"{len(cluster)} nodes",
        "n_nodes": len(cluster),
        "inputs": inputs or {},
        "executor": "local" if executor is None else executor.kind,
        "run_id": run_id,
        "grace": grace,
        "max_loader_pack": max_loader_pack,
        "skipped": dict(getattr(given, "skipped", {})),
        "metrics_interval": metrics_interval,
        "version": __version__,
        "schema_version": SCHEMA_VERSION,
    }
    if executor is not None:
        meta["dask"] = executor.describe()
    try:
        writer = RunWriter(root, meta, overwrite=overwrite, optional=tuple(OPTIONAL_TABLES))
    except BaseException:
        if executor is not None:
            executor.close()
        raise
    if overwrite:
        for sub in ("logs", "work"):
            shutil.rmtree(root / sub, ignore_errors=True)
    store = Store(History(sink=writer.sink, flush_seconds=1.0), check=check)
    if executor is None:
        executor = LocalExecutor(root, **agents)
    executor.observations.sink = writer.sink
    engine = Engine(
        cluster, store, policy=policy, executor=executor, max_loader_pack=max_loader_pack
    )
    if progress is not None:
        engine.central.on_job_end = progress
    interrupted = False
    restore = _install_handlers(lambda name: executor.post(_interrupt, (engine, name)))
    try:
        engine.run(requests, clock=clock)
    except KeyboardInterrupt:
        interrupted = True
        if any(True for _ in engine.central.running()) or engine.central.queue.size:
            _abort_all(engine)  # not through our handler (e.g. not the main thread)
    except BaseException as exc:
        mark_failed(writer, store, exc)
        raise
    finally:
        restore()
        executor.close()
        if not interrupted:
            store.history.flush()  # an error: keep what happened up to it readable
    writer.meta.update(
        end_time=clock.elapsed(),
        events=engine.loop.events_run,
        interrupted=interrupted,
        paths=engine.paths,
        stalled=engine.stalled,
    )
    if interrupted:  # every job was aborted and the directory is written in full
        writer.meta["error"] = f"KeyboardInterrupt: {INTERRUPTED}"
    obs = executor.observations
    if obs.n_problems:
        writer.meta["results_rejected"] = {"count": obs.n_problems, "first": obs.problems}
        shown = "; ".join(obs.problems[:3])
        warnings.warn(
            f"{obs.n_problems} result line(s) were not valid and were left out: {shown}",
            stacklevel=2,
        )
    writer.finish(store.tables())
    if interrupted:
        raise KeyboardInterrupt
    if engine.stalled is not None:
        warnings.warn(StalledRunWarning(stalled_message(engine.stalled)), stacklevel=2)
    return load_run(writer.path)


def _dask_executor(
    dask: Any,
    security: Any,
    cluster: Cluster | int | str | os.PathLike[str] | None,
    root: Path,
    work_dir: str | os.PathLike[str] | None,
    agents: dict[str, Any],
) -> tuple[Cluster, Any]:
    """Connect to ``dask``, bind the cluster's nodes to its workers, start their agents."""
    from benchhub_sim.engine.dask_agents import (
        DaskExecutor,
        connect,
        dask_workers,
        match_cluster,
    )

    client = connect(dask, security)
    try:
        given = None if cluster is None else as_cluster(cluster)
        cluster, workers = match_cluster(given, dask_workers(client))
        executor = DaskExecutor(
            root,
            client=client,
            workers=workers,
            work_dir=work_dir,
            own_client=client is not dask,
            **agents,
        )
    except BaseException:
        if client is not dask:
            client.close()  # type: ignore[no-untyped-call]  # distributed is untyped
        raise
    executor.open()  # closes what it started, and the client, when it fails
    return cluster, executor


def _install_handlers(on_signal: Callable[[str], None]) -> Callable[[], None]:
    """Route SIGINT and SIGTERM to ``on_signal`` (once); return a function restoring the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    seen: list[str] = []

    def handler(signum: int, _frame: Any) -> None:
        if not seen:  # a second signal while stopping changes nothing
            seen.append(signal.Signals(signum).name)
            on_signal(seen[0])

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, h in old.items():
            signal.signal(sig, h)

    return restore


def _interrupt(arg: tuple[Any, str]) -> None:
    """Engine callback after a signal: abort every job, stop every process, stop the run."""
    engine, _name = arg
    _abort_all(engine)
    engine.executor.close()
    raise KeyboardInterrupt


def _abort_all(engine: Any) -> None:
    """Abort every running job (which stops its processes) and every queued one."""
    central = engine.central
    for job in list(central.running()):
        engine.dispatcher.abort_job(job, INTERRUPTED)
    central.abort_queued(INTERRUPTED)


def dry_run(cluster: Cluster | int | str | os.PathLike[str] | None, workload: WorkloadLike) -> str:
    """Every command ``execute`` would run, in order, per node; runs nothing.

    Each job is planned on an idle cluster (:func:`~benchhub_sim.plan.plan_job`, every
    address 127.0.0.1); per node, its commands are listed in run order, one per line,
    prefixed with ``pipeline/stage/task``. Tasks of one task pipeline start together;
    readiness checks follow their background task, stoppers show what they stop.

    Parameters
    ----------
    cluster : Cluster, int, path or None
        As for :func:`execute`.
    workload : requests, spec(s) or path
        As for :func:`execute`.

    Returns
    -------
    str
    """
    from benchhub_sim.plan import plan_job

    requests = sorted(as_workload(workload), key=lambda r: r.submit)
    cluster = local_cluster(requests) if cluster is None else as_cluster(cluster)
    nodes = [replace(n, ip=LOCAL_IP) for n in cluster.nodes]
    lines: list[str] = []
    next_id = 0
    for req in requests:
        job_id = req.job_id if req.job_id is not None else next_id
        next_id = max(next_id, job_id + 1)
        plan = plan_job(req.spec, nodes, quote=True)
        lines.append(f"job {job_id} {plan.job} (submit {req.submit:g} s)")
        by_node: dict[tuple[str, str], list[str]] = {
            (a.name, a.node_id): [] for a in plan.assignments
        }
        for pipeline in plan.pipelines:
            for stage in pipeline.stages:
                for node in stage.nodes:
                    rows = by_node.setdefault((node.name, node.node_id), [])
                    for tp in node.task_pipelines:
                        for task in tp.tasks:
                            rows.extend(
                                _dry_lines(f"{pipeline.name}/{stage.name}/{task.name}", task)
                            )
        for (name, node_id), rows in by_node.items():
            if not rows:
                continue
            lines.append(f"  node {name} ({node_id}) in work/{job_id}/{name}/")
            lines.extend(f"    {row}" for row in rows)
    return "\n".join(lines)


def _dry_lines(where: str, task: Any) -> list[str]:
    """``where [driver]: COMMAND`` for a task and its readiness checks (a shell task's
    command is what ``sh -c`` gets; other drivers show their argv)."""
    import shlex

    def line(head: str, t: Any) -> str:
        if t.driver is Driver.STOPPER:
            return f"{head} [stopper]: {t.command}"
        env = "".join(f"{k}={shlex.quote(v)} " for k, v in t.env)
        command = t.command if t.driver is Driver.SHELL else shlex.join(task_argv(t))
        flag = " (background)" if t.background else ""
        return f"{head} [{t.driver.value}{flag}]: {env}{command}"

    return [line(where, task), *(line(f"{where} ready {k}", c) for k, c in enumerate(task.ready))]
