"""Passes on a clock, for a policy that polls (BenchHub's own central).

BenchHub's central does not schedule on events: its job poller
(``central-server-job.go``) wakes every ``interval`` seconds, pops the job at the head
of the queue, places it if its node assignments can be met and pushes it to the back of
the queue otherwise — one job per poll. A policy with an ``interval`` attribute runs that
way: the central calls it at t = k × interval (k = 0, 1, 2, ...; after every arrival and
job end at that instant) instead of after each event.

Polls that cannot start anything are not run one by one. While nothing changes, every
poll that starts nothing only turns the queue by one job, so the queue at any poll is
the queue at the last change turned by the polls since. The :class:`Poller` therefore
runs only the polls that may start a job:

- a policy with an ``idle_polls(view, limit)`` method (the ``benchhub`` policy) says how
  many of the next polls surely start nothing (the jobs that reach the head before one
  that fits the free nodes); the poller skips them and runs the next;
- after a whole turn of the queue in which no job started and nothing else changed, the
  poller pauses.

The next change (an arrival, a job end, a node back) wakes it at the next tick, and the
queue is first turned by the polls it skipped, as the central would have turned it. So
the schedule is the central's, poll for poll, a long queue costs a few events per
change, and a run whose jobs can never start stops (see :meth:`Engine.run
<benchhub_sim.engine.engine.Engine.run>`).
"""

from __future__ import annotations

import math
from typing import Any

from benchhub_sim.engine.loop import LATE


class Poller:
    """The ticks of a polling policy on ``central``'s loop (see the module docstring).

    ``next`` is the index of the first poll not made yet (polls are made by running them
    or by turning the queue for them); ``at`` is the index of the poll scheduled on the
    loop (None while paused); every poll from ``next`` to ``at`` is one the policy said
    starts nothing.
    """

    def __init__(self, central: Any, interval: float, idle_polls: Any = None) -> None:
        self.central = central
        self.interval = interval
        self.idle_polls = idle_polls
        self.next = 0
        self.at: int | None = None
        self.idle = 0  # polls in a row that started nothing, with nothing else changed

    def _first_tick(self, now: float) -> int:
        """Index of the first tick at or after ``now``."""
        k = max(self.next, math.ceil(now / self.interval))
        while k > self.next and (k - 1) * self.interval >= now:  # rounding
            k -= 1
        return k

    def _skip(self, k: int) -> None:
        """Make the polls from ``next`` up to (not including) ``k`` by turning the queue:
        none of them starts a job."""
        if k > self.next:
            self.central.turn(k - self.next)
            self.idle += k - self.next
            self.next = k

    def catch_up(self) -> None:
        """Turn the queue by the polls skipped up to (not including) now.

        Called before a job joins the queue, so it is not turned with the others."""
        self._skip(self._first_tick(self.central.loop.now))

    def wake(self) -> None:
        """Something changed: poll at the next tick (now, if one falls now), if a job
        waits."""
        if not self.central.queue.size:
            self.idle = 0
            return
        self.catch_up()
        self.idle = 0  # the polls before the change do not count
        if self.at != self.next:
            self._schedule(self.next)

    def _schedule(self, k: int) -> None:
        self.at = k  # a tick scheduled before for another poll is now stale
        self.central.loop.at(k * self.interval, self._tick, k, LATE)

    def _tick(self, k: int) -> None:
        if k != self.at:
            return  # superseded by a change
        central = self.central
        self.at = None
        self._skip(k)
        started = central.poll()
        self.next = k + 1
        self.idle = 0 if started else self.idle + 1
        size = central.queue.size
        if not size or self.idle >= size:
            return  # a whole turn without a start: pause until a change
        polls = 0
        if self.idle_polls is not None:
            # a poll after ``size - idle - 1`` skipped ones would end the turn idle
            polls = self.idle_polls(central, size - self.idle - 1)
            if polls is None:
                return
        self._schedule(self.next + polls)
