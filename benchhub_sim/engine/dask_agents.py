"""Agents on Dask workers: each node of a real run is a Dask worker, its agent lives there.

BenchHub's agents run on the cluster's machines and take orders from the central. Here
the central is the engine (in the process that calls :func:`~benchhub_sim.execute.execute`)
and each node's agent is an :class:`~benchhub_sim.engine.agent.Agent` on one Dask worker:
the same drivers, readiness checks, timeouts, stopping and log files as a local run.

How it is built on distributed's public API, and why:

- **The agent is kept by a worker plugin** (:class:`AgentPlugin`), distributed's
  documented hook for per-worker state with a lifecycle (``setup`` when the worker
  starts or the plugin is registered, ``teardown`` when the worker closes: every
  agent then stops its tasks). Dask's actors would also hold state on a worker, but
  the docs mark them experimental, "rarely necessary", and say they "sacrifice
  resilience": nothing tells the caller that an actor's worker died, and nothing
  runs on the worker when it closes. An agent needs both.
- **Orders go out with** ``Client.run`` (one thread per node sends that node's orders
  in order: a slow or dead worker delays no other node). **Reports come back as
  worker events** (``Worker.log_event`` from the agent's thread, ``Client.subscribe_topic``
  here): pushed as they happen, no polling of idle workers; the scheduler keeps at most
  ``distributed.admin.low-level-log-length`` of them.
- **Membership**: a monitor asks the scheduler which workers are connected every half
  second. A node whose worker is gone goes offline and its job aborts ("node X failed:
  Dask worker ... is gone"), as a node failure does in simulation; when a worker of the
  same name comes back (a nanny restarts it) the node gets a new agent and comes back.
- **Nothing is left running**: the agent's keeper (:class:`~benchhub_sim.engine.procs.Keeper`)
  kills its tasks if the worker process dies; an agent that hears nothing from the
  engine for ``lease`` seconds stops its tasks and closes; at the end of the run every
  connected worker kills whatever still carries the run's ``BENCHHUB_RUN_ID``.
- **Logs** are written on the node and their bytes come back with the reports, into
  ``RUN/logs/`` (as they grow: a log is readable on the engine's side while the task
  runs). Working directories stay on the nodes (``work_dir``).
- **Security**: a ``distributed.security.Security`` (or Dask's TLS configuration, or
  ``tls://`` addresses) is used by the client as given; workers execute the spec's
  commands.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
from distributed import Client

from benchhub_sim.clock import monotonic
from benchhub_sim.cluster import Cluster, Node
from benchhub_sim.engine.agent import Report
from benchhub_sim.engine.dask_worker import (
    AgentConfig,
    AgentPlugin,
    agent_orders,
    close_agent,
    machine_info,
    open_agent,
    sweep_run,
)
from benchhub_sim.engine.executor import AgentExecutor, Op, reports_of
from benchhub_sim.errors import ClusterError
from benchhub_sim.spec.model import Role

logger = logging.getLogger(__name__)

_STOP = object()


@dataclass(frozen=True)
class WorkerInfo:
    """One Dask worker as a node: what ``benchhub-sim agents`` lists."""

    name: str
    address: str
    host: str  # the worker's host address (what templates render)
    hostname: str
    role: Role
    cores: float
    mem_mb: float
    disk_mb: float
    boot_time: float

    def node(self) -> Node:
        """The node this worker is, when the cluster is the workers themselves."""
        return Node(
            self.name,
            role=self.role,
            host=self.hostname,
            ip=self.host,
            cores=float(self.cores),
            mem_mb=round(self.mem_mb, 1),
            disk_mb=round(self.disk_mb, 1),
        )


def connect(dask: str | Client, security: Any = None, timeout: float = 10.0) -> Client:
    """A client of the Dask scheduler at ``dask`` (a ``Client`` is returned as it is).

    Raises
    ------
    ClusterError
        When the scheduler cannot be reached (the message names the address).
    """
    if isinstance(dask, Client):
        return dask
    try:
        return Client(dask, security=security, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError([f"dask scheduler {dask}: cannot connect: {exc}"]) from None


def dask_workers(client: Client) -> list[WorkerInfo]:
    """The workers connected to ``client``'s scheduler, by name."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    machines = client.run(machine_info, on_error="return")
    out = []
    problems = []
    for address, w in info.items():
        m = machines.get(address)
        if isinstance(m, BaseException) and not isinstance(m, OSError):
            problems.append(f"Dask worker {w.get('name', address)} ({address}): {_cannot(m)}")
        if not isinstance(m, dict):
            continue  # it failed, or left meanwhile
        out.append(
            WorkerInfo(
                name=str(w.get("name", address)),
                address=address,
                host=str(w.get("host", "")),
                hostname=m["hostname"],
                role=_role(w.get("resources") or {}),
                cores=m["cores"],
                mem_mb=m["mem_mb"],
                disk_mb=m["disk_mb"],
                boot_time=m["boot_time"],
            )
        )
    if problems:
        raise ClusterError(problems)
    return sorted(out, key=lambda w: w.name)


def _cannot(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return f"{exc} (install benchhub-sim, this version, on every worker)"
    return f"{type(exc).__name__}: {exc}"


def _role(resources: Mapping[str, Any]) -> Role:
    """The role a worker's resources name (``--resources database=1``), else ``any``."""
    for role in (Role.DATABASE, Role.LOADER, Role.CENTRAL, Role.ANY):
        if resources.get(role.value):
            return role
    return Role.ANY


def workers_cluster(workers: Sequence[WorkerInfo], name: str = "dask") -> Cluster:
    """The cluster the workers make: one node per worker, its id the worker's name."""
    return Cluster(tuple(w.node() for w in workers), name=name)


def match_cluster(
    cluster: Cluster | None, workers: Sequence[WorkerInfo]
) -> tuple[Cluster, dict[str, WorkerInfo]]:
    """Bind every node of ``cluster`` to a worker: the worker named like the node, else
    (a cluster that gives only roles) the next free worker with a resource naming the
    node's role. Each node's ``ip`` and ``host`` become its worker's.

    Returns
    -------
    (Cluster, dict)
        The cluster with the workers' addresses, and the worker of each node id.

    Raises
    ------
    ClusterError
        Listing every node no worker can serve.
    """
    if cluster is None:
        cluster = workers_cluster(workers)
    by_name = {w.name: w for w in workers}
    taken = {n.node_id for n in cluster.nodes if n.node_id in by_name}
    free = [w for w in workers if w.name not in taken]
    bound: dict[str, WorkerInfo] = {}
    problems = []
    for node in cluster.nodes:
        worker = by_name.get(node.node_id)
        if worker is None:
            worker = next((w for w in free if w.role is node.role), None)
            if worker is None:
                problems.append(
                    f"node {node.node_id!r} (role {node.role.value}): no Dask worker named "
                    f"{node.node_id!r} and no free worker with a {node.role.value!r} resource"
                    f" (workers: {_listing(workers)})"
                )
                continue
            free.remove(worker)
        bound[node.node_id] = worker
    if problems:
        problems.append(
            "start a worker per node: dask worker SCHEDULER --name NODE_ID "
            "(or --resources ROLE=1 for a cluster that gives only roles)"
        )
        raise ClusterError(problems)
    nodes = tuple(
        replace(n, ip=bound[n.node_id].host, host=bound[n.node_id].hostname) for n in cluster.nodes
    )
    return Cluster(nodes, name=cluster.name, source=cluster.source), bound


def _listing(workers: Sequence[WorkerInfo]) -> str:
    if not workers:
        return "none"
    return ", ".join(
        w.name if w.role is Role.ANY else f"{w.name} ({w.role.value})" for w in workers
    )


class _Link(threading.Thread):
    """Sends one node's orders to its agent, in order, with a touch when idle."""

    def __init__(self, executor: DaskExecutor, node_id: str, address: str) -> None:
        super().__init__(name=f"benchhub-link-{node_id}", daemon=True)
        self.executor = executor
        self.node_id = node_id
        self.address = address
        self.orders: queue.Queue[Any] = queue.Queue()
        self.down = False

    def run(self) -> None:
        ex = self.executor
        while True:
            try:
                first = self.orders.get(timeout=ex.heartbeat)
            except queue.Empty:
                first = ("touch",)
            ops = [first]
            while True:
                try:
                    ops.append(self.orders.get_nowait())
                except queue.Empty:
                    break
            stop = any(op is _STOP for op in ops)
            ops = [op for op in ops if op is not _STOP]
            if ops and not self.down:
                try:
                    ex.client.run(agent_orders, ex.run_id, ops, workers=[self.address])
                except Exception as exc:  # the worker is gone, or its agent is
                    self.down = True
                    ex.node_down(self.node_id, f"Dask worker {self.address} is unreachable: {exc}")
            if stop:
                return


class DaskExecutor(AgentExecutor):
    """Runs each node's task attempts on its Dask worker (see the module docstring).

    Parameters
    ----------
    root : path
        The run directory (logs come back into ``root/logs``).
    client : distributed.Client
        Connected to the scheduler of the workers.
    workers : mapping of str to WorkerInfo
        The worker of each node id (:func:`match_cluster`).
    run_id, grace, ready_timeout, metrics_interval, sink
        As for :class:`~benchhub_sim.engine.executor.AgentExecutor`.
    docker : str
        The docker CLI on the workers.
    now : callable
        The run's clock.
    epoch : float
        Unix time of the run's t = 0.
    work_dir : path, optional
        Where tasks run on every worker (``<work_dir>/<run_id>/work/...``); a directory
        the workers share (NFS) gives jobs a shared ``$BENCHHUB_JOB_DIR``. Default: each
        worker's local directory.
    lease : float
        Seconds after which an agent that hears nothing stops its tasks.
    own_client : bool
        Close the client when the executor closes.
    rejoin : float
        Seconds the run waits for a node whose worker went to come back (a nanny
        restarts it), while a queued job needs it; then the run ends, the job stalled.
    """

    kind = "dask"

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        client: Client,
        workers: Mapping[str, WorkerInfo],
        run_id: str,
        grace: float = 3.0,
        ready_timeout: float = 60.0,
        docker: str = "docker",
        metrics_interval: float | None = 1.0,
        sink: Callable[[str, pa.RecordBatch], None] | None = None,
        now: Callable[[], float] = monotonic,
        epoch: float = 0.0,
        work_dir: str | os.PathLike[str] | None = None,
        lease: float = 30.0,
        tick: float = 0.05,
        own_client: bool = False,
        rejoin: float = 30.0,
    ) -> None:
        super().__init__(
            root,
            run_id=run_id,
            grace=grace,
            ready_timeout=ready_timeout,
            tick=tick,
            metrics_interval=metrics_interval,
            sink=sink,
        )
        self.client = client
        self.own_client = own_client
        self.workers = dict(workers)
        self.heartbeat = min(1.0, lease / 4)
        self.topic = f"benchhub-sim-{run_id}"
        self._now = now
        self._config = AgentConfig(
            run_id=run_id,
            node_id="",
            topic=self.topic,
            grace=grace,
            docker=docker,
            epoch=epoch,
            metrics_interval=metrics_interval,
            work_dir=None if work_dir is None else str(Path(work_dir).resolve()),
            lease=lease,
        )
        self._inbox: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        self._held: list[tuple[str, str, Any]] = []
        self._links: dict[str, _Link] = {}
        self._down: dict[str, float] = {}  # node id -> when it went
        self.rejoin = rejoin
        self._closed_agents: set[str] = set()
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="benchhub-monitor", daemon=True)
        self._open = False

    # -- starting and ending -----------------------------------------------------------

    def open(self) -> None:
        """Register the plugin, start every node's agent, start listening.

        On failure, whatever was started is closed (and the client, if owned).
        """
        self._open = True
        try:
            try:
                self.client.register_plugin(AgentPlugin())
            except Exception as exc:
                raise ClusterError([f"Dask workers cannot keep agents: {_cannot(exc)}"]) from None
            self.client.subscribe_topic(self.topic, self._on_event)
            for node_id, worker in self.workers.items():
                self._start_agent(node_id, worker.address)
            self._monitor.start()
        except BaseException:
            self.close()
            raise

    def describe(self) -> dict[str, Any]:
        """What ``run.json`` records: the scheduler and the worker of each node."""
        return {
            "scheduler": self.client.scheduler.address,
            "workers": {node_id: w.address for node_id, w in self.workers.items()},
        }

    def _start_agent(self, node_id: str, address: str) -> None:
        config = replace(self._config, node_id=node_id, t0=self._now())
        self.client.run(open_agent, config, workers=[address])
        link = _Link(self, node_id, address)
        self._links[node_id] = link
        link.start()

    def close(self) -> None:
        """Stop every task on every worker, wait until they are gone, sweep the workers."""
        if not self._open:
            return
        self._open = False
        self._stoppers.clear()
        self._pending.clear()
        self._stop.set()
        if self._monitor.is_alive():
            self._monitor.join()
        for link in self._links.values():
            link.orders.put(_STOP)
        for link in self._links.values():
            link.join()
        try:
            live = set(self.client.scheduler_info(n_workers=-1)["workers"])
        except Exception:  # the scheduler is gone: so are its workers' agents (keepers)
            live = set()
        with contextlib.suppress(Exception):  # every connected worker: strays of a restart too
            self.client.run(close_agent, self.run_id, workers=sorted(live), on_error="return")
        # an agent's last message follows all its earlier ones: wait for it (not for long)
        waiting = {n for n, link in self._links.items() if link.address in live}
        deadline = monotonic() + 5.0
        while monotonic() < deadline:
            closed = {n for kind, n, _ in self._held if kind in ("closed", "expired")}
            if waiting <= closed | self._closed_agents:
                break
            self._receive(0.05)
        with contextlib.suppress(Exception):
            self.client.unsubscribe_topic(self.topic)
        out: list[Any] = []
        for report in self._reports():
            self.apply(report, out)
        self._live.clear()
        self._stopping.clear()
        self.observations.flush()
        if self.own_client:
            self.client.close()

    def sweep(self) -> int:
        """Kill, on every connected worker, what still carries the run's id."""
        done = self.client.run(sweep_run, self.run_id, on_error="return")
        return sum(n for n in done.values() if isinstance(n, int))

    # -- the transport -----------------------------------------------------------------

    def address(self, node: Node) -> str:
        return node.ip or node.node_id

    def send(self, node_id: str, op: Op) -> None:
        link = self._links.get(node_id)
        if link is not None and node_id not in self._down:
            link.orders.put(op)

    def collect(self) -> list[Report]:
        self._receive(0.0)
        return self._reports()

    def wait(self, seconds: float | None) -> None:
        self._receive(self.tick if seconds is None else max(0.0, min(self.tick, seconds)))

    def _receive(self, timeout: float) -> None:
        try:
            self._held.append(
                self._inbox.get(timeout=timeout) if timeout else self._inbox.get_nowait()
            )
            while True:
                self._held.append(self._inbox.get_nowait())
        except queue.Empty:
            return

    def _reports(self) -> list[Report]:
        held, self._held = self._held, []
        out = []
        for kind, node_id, payload in held:
            if kind in ("report", "closed", "expired"):
                if node_id in self._down and kind == "report":
                    continue  # an agent replaced since: its tasks were already failed
                out.extend(reports_of([payload]))
                if kind != "report":
                    self._closed_agents.add(node_id)
                if kind == "expired":
                    self.node_down(node_id, "its agent stopped: no word from the engine")
            elif kind == "down":
                self._pending.append((self._node_down, (node_id, payload)))
            elif kind == "up":
                self._pending.append((self._node_up, node_id))
        return out

    def _on_event(self, event: tuple[float, Any]) -> None:
        """Client event handler (the client's thread): an agent's message."""
        _, msg = event
        self._inbox.put((msg[0], msg[1], msg[2]))

    # -- nodes that go and come back -------------------------------------------------------

    def node_down(self, node_id: str, reason: str) -> None:
        """(Any thread.) Node ``node_id`` has no agent any more."""
        self._inbox.put(("down", node_id, reason))

    def busy(self) -> bool:
        """Tasks run, or a node that went may still come back for a queued job."""
        if super().busy():
            return True
        now = monotonic()
        if not any(now - went < self.rejoin for went in self._down.values()):
            return False
        return self.central is not None and self.central.waiting_on_nodes()

    def _node_down(self, arg: tuple[str, str]) -> None:
        node_id, reason = arg
        if node_id in self._down:
            return
        self._down[node_id] = monotonic()
        self.forget_node(node_id)
        self.central.fail_node(node_id, reason)

    def _node_up(self, node_id: str) -> None:
        if self._down.pop(node_id, None) is not None:
            self.central.recover_node(node_id)

    def _watch(self) -> None:
        """Monitor thread: which workers are connected; take nodes down and back up."""
        name_of = {node_id: w.name for node_id, w in self.workers.items()}
        while not self._stop.wait(0.5):
            try:
                info = self.client.scheduler_info(n_workers=-1)["workers"]
            except Exception as exc:
                for node_id in name_of:
                    self.node_down(node_id, f"the Dask scheduler is unreachable: {exc}")
                return
            for node_id, link in list(self._links.items()):
                if not link.down and link.address not in info:
                    link.down = True
                    self.node_down(node_id, f"Dask worker {link.address} is gone (it died or left)")
                if link.down:
                    back = [a for a, w in info.items() if str(w.get("name")) == name_of[node_id]]
                    if back and not self._stop.is_set():
                        self._reopen(node_id, back[0])

    def _reopen(self, node_id: str, address: str) -> None:
        old = self._links[node_id]
        old.orders.put(_STOP)
        try:
            self._start_agent(node_id, address)
        except Exception as exc:
            logger.warning("node %s: cannot start an agent on %s again: %s", node_id, address, exc)
            self._links[node_id] = old
            return
        self._inbox.put(("up", node_id, address))


def wait_for_workers(client: Client, names: Sequence[str], timeout: float = 30.0) -> None:
    """Wait until workers with these names are connected (tests, scripts)."""
    deadline = monotonic() + timeout
    while True:
        info = client.scheduler_info(n_workers=-1)["workers"]
        have = {str(w.get("name")) for w in info.values()}
        if set(names) <= have:
            return
        if monotonic() > deadline:
            raise TimeoutError(f"workers {sorted(set(names) - have)} did not connect")
        time.sleep(0.05)
