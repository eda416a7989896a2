"""Driving the engine in wall time: the loop waits for the next timer or the next
process event, whichever comes first.

The executor used with it offers, besides ``start``/``stop``:

- ``busy() -> bool``: some process it started is still running;
- ``poll(timeout: float | None) -> list[(callback, arg)]``: wait up to ``timeout``
  seconds (None: until something happens) for process events, and return the
  callbacks to run for them (``dispatcher.task_exit`` etc.), which run at the time
  they are returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchhub_sim.engine.loop import URGENT
from benchhub_sim.engine.parts import Clock, WallExecutor

if TYPE_CHECKING:
    from benchhub_sim.engine.engine import Engine


def run_wall(engine: Engine, clock: Clock) -> None:
    """Run ``engine`` (already given its workload) until every job ended."""
    loop = engine.loop
    executor: WallExecutor = engine.executor  # type: ignore[assignment]  # wall: checked by Engine.run
    while True:
        now = clock.elapsed()
        loop.run_due(now)
        history = getattr(engine.store, "history", None)
        if history is not None:
            history.maybe_flush()  # a killed run keeps all but the last few seconds
        if not executor.busy() and (
            engine.done
            or loop.peek() is None  # nothing scheduled, nothing running: nothing can happen
            or not loop.work
            and not engine.waits_for_faults()
        ):
            return  # see Engine.run: node failures alone do not keep a run going
        nxt = loop.peek()
        timeout = None if nxt is None else max(0.0, nxt - clock.elapsed())
        for callback, arg in executor.poll(timeout):
            loop.at(clock.elapsed(), callback, arg, URGENT)
