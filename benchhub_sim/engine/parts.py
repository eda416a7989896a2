"""What the engine needs of the parts it is given: the store, the executor, the clock.

:class:`~benchhub_sim.store.store.Store`, the executors of this package
(:class:`~benchhub_sim.engine.simexec.SimulatedExecutor`,
:class:`~benchhub_sim.engine.local.LocalExecutor`,
:class:`~benchhub_sim.engine.dask_agents.DaskExecutor`) and
:class:`~benchhub_sim.clock.WallClock` are ones; another object that has these
methods can stand in for them. Optional methods the engine looks for with ``getattr``
are listed in the docstrings (an executor's ``simple_time``, ``observe``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from benchhub_sim.cluster import Node

if TYPE_CHECKING:
    from benchhub_sim.engine.central import Central
    from benchhub_sim.engine.dispatch import Dispatcher
    from benchhub_sim.engine.loop import EventLoop
    from benchhub_sim.engine.state import TaskRun


class EngineStore(Protocol):
    """The store as the engine records in it: every transition, in order (see
    :class:`~benchhub_sim.store.store.Store` for the arguments)."""

    #: whether it applies bulk transitions in one step (batch mode needs it)
    bulk: bool

    def add_node(self, time: float, node: Node) -> None: ...

    def add_job(self, time: float, job_id: int, name: str, *args: Any, **kwargs: Any) -> None: ...

    def job(
        self, time: float, job_id: int, event: str, status: str | None, *args: Any, **kwargs: Any
    ) -> None: ...

    def node(
        self, time: float, node_id: str, event: str, state: str | None, *args: Any, **kwargs: Any
    ) -> None: ...

    def bind(self, time: float, job_id: int, bindings: Sequence[Any]) -> None: ...

    def release(self, time: float, job_id: int, node_ids: Sequence[str]) -> None: ...

    def end_steps(self, job_id: int) -> tuple[Any, ...]: ...

    def node_states(
        self, time: float, job_id: int, node_ids: Sequence[str], steps: Sequence[Any]
    ) -> None: ...

    def start_simple(
        self, time: float, job_id: int, shape: Any, units: Sequence[tuple[str, str]],
        *args: Any, **kwargs: Any,
    ) -> None: ...  # fmt: skip

    def finish_simple(self, time: float, job_id: int) -> None: ...

    def unlogged(self) -> AbstractContextManager[None]: ...


class Executor(Protocol):
    """Runs the tasks the dispatcher starts, and reports back to it
    (``dispatcher.task_exit``, ``dispatcher.task_ready``).

    The engine sets ``loop``, ``dispatcher`` and ``central`` before the run. Optional,
    looked up by the dispatcher: ``simple_time(job, stage, bindings)`` (one-step jobs),
    ``observe(event, job, unit)``, ``command(task_run)``, ``log_path(task_run)``.
    """

    loop: EventLoop
    dispatcher: Dispatcher
    central: Central

    def start(self, tr: TaskRun) -> None: ...

    def stop(self, tr: TaskRun) -> None: ...


class WallExecutor(Executor, Protocol):
    """An executor of real processes, driven in wall time
    (:func:`~benchhub_sim.engine.wall.run_wall`)."""

    def busy(self) -> bool: ...

    def poll(self, timeout: float | None) -> list[tuple[Any, Any]]: ...


class Clock(Protocol):
    """Where a run's "now" comes from (:class:`~benchhub_sim.clock.WallClock`)."""

    #: ``"wall"`` (the loop waits in real time) or ``"virtual"``
    kind: str
    #: unix seconds of t = 0
    epoch: float

    def elapsed(self) -> float: ...
