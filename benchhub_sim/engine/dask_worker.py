"""The worker side of agents on Dask: the plugin that keeps them, and what the engine
runs on a worker (see :mod:`benchhub_sim.engine.dask_agents` for the design).

Everything here runs in a Dask worker's process: an :class:`RemoteAgent` is an
:class:`~benchhub_sim.engine.agent.Agent` with its own thread (it steps the processes
and sends reports as worker events) and a lease (no word from the engine for
``lease`` seconds: it stops its tasks).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from benchhub_sim.clock import monotonic
from benchhub_sim.engine.agent import Agent, Report
from benchhub_sim.engine.executor import Op, apply_op
from benchhub_sim.engine.procs import kill_marked

logger = logging.getLogger(__name__)

#: the plugin's name on the workers (one plugin keeps the agents of every run)
PLUGIN = "benchhub-sim-agents"


@dataclass(frozen=True)
class AgentConfig:
    """What a worker needs to start the agent of one node for one run."""

    run_id: str
    node_id: str
    topic: str
    grace: float = 3.0
    docker: str = "docker"
    epoch: float = 0.0
    #: the engine's clock when the config was sent (the agent's times count from it)
    t0: float = 0.0
    metrics_interval: float | None = 1.0
    #: where tasks run on the worker (``<work_dir>/<run_id>``); None: the worker's own
    #: local directory
    work_dir: str | None = None
    #: seconds without an order or a touch after which the agent stops everything
    lease: float = 30.0
    tick: float = 0.02


class RemoteAgent:
    """An agent on a Dask worker: its own thread steps the processes and sends reports."""

    def __init__(self, worker: Any, config: AgentConfig) -> None:
        base = (
            Path(config.work_dir)
            if config.work_dir
            else Path(worker.local_directory) / "benchhub-sim"
        )
        start = monotonic()
        self.config = config
        self.worker = worker
        self.agent = Agent(
            base / config.run_id,
            run_id=config.run_id,
            grace=config.grace,
            docker=config.docker,
            now=lambda: config.t0 + monotonic() - start,
            epoch=config.epoch,
            metrics_interval=config.metrics_interval,
            stream_logs=True,
        )
        self.lock = threading.Lock()
        self.last_order = start
        self.closed = threading.Event()
        self.thread = threading.Thread(
            target=self._loop, name=f"benchhub-agent-{config.run_id}", daemon=True
        )
        self.thread.start()

    def orders(self, ops: Sequence[Op]) -> None:
        with self.lock:
            self.last_order = monotonic()
            if self.closed.is_set():
                return
            for op in ops:
                apply_op(self.agent, op)

    def _send(self, kind: str, payload: Any) -> None:
        self.worker.log_event(self.config.topic, [kind, self.config.node_id, payload])

    def _loop(self) -> None:
        while not self.closed.wait(self.config.tick):
            try:
                with self.lock:
                    report = self.agent.step()
                    expired = monotonic() - self.last_order > self.config.lease
                if report:
                    self._send("report", _plain(report))
                if expired:
                    logger.warning("benchhub-sim run %s: no word from the engine for %g s: "
                                   "stopping its tasks", self.config.run_id, self.config.lease)  # fmt: skip
                    self._send("expired", self.close())
                    return
            except Exception:  # keep the agent alive: its tasks must still be stopped
                logger.exception("benchhub-sim agent of run %s", self.config.run_id)

    def close(self) -> list[list[Any]]:
        """Stop the thread and every task; the last report (sent, then returned)."""
        first = not self.closed.is_set()
        self.closed.set()
        if first and threading.current_thread() is not self.thread:
            self.thread.join()
        with self.lock:
            report = _plain(self.agent.close())
        with contextlib.suppress(Exception):  # a worker closing may have no stream left
            self._send("closed", report)
        return report


def _plain(report: Report) -> list[list[Any]]:
    return [list(part) for part in report]


class AgentPlugin(WorkerPlugin):
    """Keeps the agents of this worker, one per run; closing the worker closes them."""

    name = PLUGIN
    idempotent = True

    def setup(self, worker: Any) -> None:
        self.worker = worker
        self.agents: dict[str, RemoteAgent] = {}

    def teardown(self, worker: Any) -> None:
        for agent in list(self.agents.values()):
            agent.close()
        self.agents.clear()


def _plugin(worker: Any) -> AgentPlugin:
    plugin = worker.plugins.get(PLUGIN)
    if plugin is None:
        raise RuntimeError(f"worker {worker.name}: the {PLUGIN} plugin is not registered")
    return plugin


def open_agent(config: AgentConfig, dask_worker: Any) -> str:
    plugin = _plugin(dask_worker)
    old = plugin.agents.pop(config.run_id, None)
    if old is not None:
        old.close()
    plugin.agents[config.run_id] = RemoteAgent(dask_worker, config)
    return str(plugin.agents[config.run_id].agent.root)


def agent_orders(run_id: str, ops: list[Op], dask_worker: Any) -> None:
    agent = _plugin(dask_worker).agents.get(run_id)
    if agent is None:
        raise RuntimeError(f"worker {dask_worker.name}: no agent for run {run_id}")
    agent.orders(ops)


def close_agent(run_id: str, dask_worker: Any) -> int:
    """Close this worker's agent of ``run_id`` (if any), then kill what carries the run's
    id on this machine; returns how many strays were killed."""
    plugin = dask_worker.plugins.get(PLUGIN)
    agent = plugin.agents.pop(run_id, None) if plugin is not None else None
    if agent is not None:
        agent.close()
    return kill_marked("BENCHHUB_RUN_ID", run_id)


def machine_info(dask_worker: Any) -> dict[str, Any]:
    """What a BenchHub agent registers with: host name, capacity, boot time."""
    import socket

    import psutil

    try:
        disk = psutil.disk_usage(dask_worker.local_directory).total
    except OSError:
        disk = 0
    return {
        "hostname": socket.gethostname(),
        "cores": os.cpu_count() or 1,
        "mem_mb": psutil.virtual_memory().total / 2**20,
        "disk_mb": disk / 2**20,
        "boot_time": psutil.boot_time(),
    }


def sweep_run(run_id: str) -> int:
    return kill_marked("BENCHHUB_RUN_ID", run_id)
