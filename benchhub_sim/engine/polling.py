"""Passes on a clock, for a policy that polls (BenchHub's own central).

BenchHub's central does not schedule on events: its job poller
(``central-server-job.go``) wakes every ``interval`` seconds, pops the job at the head
of the queue, places it if its node assignments can be met and pushes it to the back of
the queue otherwise — one job per poll. A policy with an ``interval`` attribute runs that
way: the central calls it at t = k × interval (k = 0, 1, 2, ...; after every arrival and
job end at that instant) instead of after each event.

Polls that cannot start anything are not run one by one. After a whole turn of the queue
in which no job started and nothing else changed, the :class:`Poller` pauses; the next
change (an arrival, a job end, a node back) wakes it at the next tick, and the queue is
first turned by the polls it skipped, as the central would have turned it. So the
schedule is the central's, poll for poll, an idle queue costs no events, and a run whose
jobs can never start stops (see :meth:`Engine.run <benchhub_sim.engine.engine.Engine.run>`).
"""

from __future__ import annotations

import math
from typing import Any

from benchhub_sim.engine.loop import LATE


class Poller:
    """The ticks of a polling policy on ``central``'s loop (see the module docstring)."""

    def __init__(self, central: Any, interval: float) -> None:
        self.central = central
        self.interval = interval
        self.next = 0  # index of the next tick, were the poller never paused
        self.pending = False  # a tick is scheduled
        self.idle = 0  # polls in a row that started nothing, with nothing else changed

    def _first_tick(self, now: float) -> int:
        """Index of the first tick at or after ``now``."""
        k = max(self.next, math.ceil(now / self.interval))
        while k > self.next and (k - 1) * self.interval >= now:  # rounding
            k -= 1
        return k

    def catch_up(self) -> None:
        """Turn the queue by the polls skipped while paused, up to (not including) now.

        Called before a job joins the queue, so it is not turned with the others."""
        if self.pending:
            return
        k = self._first_tick(self.central.loop.now)
        self.central.turn(k - self.next)
        self.next = k

    def wake(self) -> None:
        """Something changed: poll at the next tick (now, if one falls now), if a job
        waits."""
        self.idle = 0
        if self.pending or not self.central.queue.size:
            return
        self.catch_up()
        self.pending = True
        self.central.loop.at(self.next * self.interval, self._tick, self.next, LATE)

    def _tick(self, k: int) -> None:
        central = self.central
        self.pending = False
        self.next = k + 1
        started = central.poll()
        self.idle = 0 if started else self.idle + 1
        if central.queue.size and self.idle < central.queue.size:
            self.pending = True
            central.loop.at(self.next * self.interval, self._tick, self.next, LATE)
