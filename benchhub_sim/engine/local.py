"""The local executor: every task really runs, as a process group on this machine.

Every cluster node is a local agent: templates render every address as ``127.0.0.1``,
and each (job, node) gets a working directory ``RUN/work/<job_id>/<node_name>/`` shared
by that job's tasks on that node. One :class:`~benchhub_sim.engine.agent.Agent` runs
them all (drivers, readiness checks, timeouts, stopping, logs under ``RUN/logs/``:
see :mod:`benchhub_sim.engine.agent`); :class:`~benchhub_sim.engine.executor.AgentExecutor`
gives it the engine's task attempts and runs the stoppers.

Everything happens in the engine's thread: :meth:`LocalExecutor.poll` looks at the
processes every ``tick`` seconds and returns the dispatcher callbacks to run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pyarrow as pa

from benchhub_sim.cluster import Node
from benchhub_sim.engine.agent import Agent, Report
from benchhub_sim.engine.executor import AgentExecutor, Op, apply_op

#: What every node address renders as: all nodes are this machine.
LOCAL_IP = "127.0.0.1"


class LocalExecutor(AgentExecutor):
    """Runs task attempts as local process groups (see the module docstring).

    Parameters
    ----------
    root : path
        The run directory; ``work/`` and ``logs/`` are created in it.
    run_id : str
        Given to every process as ``BENCHHUB_RUN_ID``: :meth:`sweep` finds strays by it.
    grace : float
        Seconds between SIGTERM and SIGKILL when a task is stopped.
    ready_timeout : float
        Readiness timeout of background tasks that give none.
    docker : str
        The docker CLI (a name looked up on ``PATH``, or a path).
    tick : float
        Seconds between two looks at the processes while waiting.
    metrics_interval : float or None
        Seconds between metric samples of the running tasks (None: no metrics).
    sink : callable, optional
        Receives the ``metrics`` and ``results`` rows (``RunWriter.sink``).
    now : callable, optional
        The run's clock (seconds since it started), for the times of observations.
    epoch : float
        Unix time of the run's t = 0.
    """

    kind = "local"

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        run_id: str,
        grace: float = 3.0,
        ready_timeout: float = 60.0,
        docker: str = "docker",
        tick: float = 0.01,
        metrics_interval: float | None = 1.0,
        sink: Callable[[str, pa.RecordBatch], None] | None = None,
        now: Callable[[], float] | None = None,
        epoch: float = 0.0,
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
        self.agent = Agent(
            self.root,
            run_id=run_id,
            grace=grace,
            docker=docker,
            now=now,
            epoch=epoch,
            metrics_interval=metrics_interval,
        )

    def address(self, node: Node) -> str:
        return LOCAL_IP

    def send(self, node_id: str, op: Op) -> None:
        apply_op(self.agent, op)

    def collect(self) -> list[Report]:
        report = self.agent.step()
        return [report] if report else []

    def wait(self, seconds: float | None) -> None:
        time.sleep(self.tick if seconds is None else max(0.0, min(self.tick, seconds)))

    def close(self) -> None:
        """Stop every process group still running, wait until they are gone, then :meth:`sweep`."""
        self._stoppers.clear()
        self._pending.clear()
        self.apply(self.agent.close(self.tick), [])
        self._live.clear()
        self._stopping.clear()
        self.observations.flush()
        self.sweep()
