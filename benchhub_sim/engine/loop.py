"""The event loop: one heap keyed ``(time, priority, seq)``.

Ties in time are broken by priority, then by scheduling order (FIFO) — never by a
random draw — so a run is a pure function of its inputs and seed. Events are plain
tuples holding a callback and one argument: no generator or event object per task.

*Background* events (node failures and recoveries) keep their place in that one order,
but they alone never keep a run going: once only background events are left, the loop
asks its ``idle`` callback whether they can still matter (see :meth:`EventLoop.run`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

#: Priorities: at equal times, completions are handled before new work is scheduled,
#: so nodes released at t are free for jobs submitted at t.
URGENT = 0
NORMAL = 1
LATE = 2

Event = tuple[float, int, int, Callable[[Any], object], Any]


class EventLoop:
    """A minimal discrete-event scheduler.

    Examples
    --------
    >>> loop = EventLoop()
    >>> log = []
    >>> loop.at(2.0, log.append, "b")
    >>> loop.at(1.0, log.append, "a")
    >>> loop.at(2.0, log.append, "c")
    >>> loop.run()
    >>> log, loop.now
    (['a', 'b', 'c'], 2.0)

    A background event runs in its place while other work is left, and not after:

    >>> loop.background(5.0, log.append, "fault")
    >>> loop.at(3.0, log.append, "d")
    >>> loop.run(idle=lambda: False)
    >>> log, loop.now, len(loop)
    (['a', 'b', 'c', 'd'], 3.0, 1)
    """

    __slots__ = ("now", "_heap", "_background", "_seq", "events_run")

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[Event] = []
        self._background: list[Event] = []
        self._seq = 0
        self.events_run = 0

    def at(
        self,
        time: float,
        callback: Callable[[Any], object],
        arg: Any = None,
        priority: int = NORMAL,
    ) -> None:
        """Call ``callback(arg)`` at ``time`` (not before now)."""
        if time < self.now:
            time = self.now
        self._seq += 1
        heapq.heappush(self._heap, (time, priority, self._seq, callback, arg))

    def after(
        self,
        delay: float,
        callback: Callable[[Any], object],
        arg: Any = None,
        priority: int = NORMAL,
    ) -> None:
        """Call ``callback(arg)`` ``delay`` seconds from now."""
        self.at(self.now + delay, callback, arg, priority)

    def background(
        self,
        time: float,
        callback: Callable[[Any], object],
        arg: Any = None,
        priority: int = NORMAL,
    ) -> None:
        """Like :meth:`at`, for an event that alone does not keep the run going."""
        if time < self.now:
            time = self.now
        self._seq += 1
        heapq.heappush(self._background, (time, priority, self._seq, callback, arg))

    def advance(self, now: float, events: int) -> None:
        """Move the clock to ``now`` (not back), counting ``events`` run elsewhere in
        the meantime (batch mode hands the clock over this way)."""
        if now > self.now:
            self.now = now
        self.events_run += events

    def peek(self) -> float | None:
        """Time of the next event, or None when there is none."""
        heads = [h[0][0] for h in (self._heap, self._background) if h]
        return min(heads) if heads else None

    @property
    def work(self) -> int:
        """Events scheduled that are not background events."""
        return len(self._heap)

    def __len__(self) -> int:
        return len(self._heap) + len(self._background)

    def _pop(self) -> Event:
        """The next event, of either heap."""
        heap, bg = self._heap, self._background
        if bg and (not heap or bg[0] < heap[0]):
            return heapq.heappop(bg)
        return heapq.heappop(heap)

    def step(self) -> None:
        """Run the next event."""
        time, _, _, callback, arg = self._pop()
        self.now = time
        self.events_run += 1
        callback(arg)

    def run_due(self, now: float) -> None:
        """Run every event due at or before ``now``, all at time ``now`` (wall clock)."""
        while True:
            t = self.peek()
            if t is None or t > now:
                return
            _, _, _, callback, arg = self._pop()
            self.now = now
            self.events_run += 1
            callback(arg)

    def run(self, until: float | None = None, idle: Callable[[], bool] | None = None) -> None:
        """Run events in order until none is left (or the next one is after ``until``).

        When only background events are left, ``idle()`` decides whether to run the next
        one (True) or to stop (False: they stay scheduled). Without ``idle`` they run.
        """
        heap, bg = self._heap, self._background
        pop = heapq.heappop
        n = 0
        while True:
            if heap:
                source = bg if bg and bg[0] < heap[0] else heap
            elif bg and (idle is None or idle()):
                source = bg
            else:
                break
            if until is not None and source[0][0] > until:
                self.now = until
                break
            time, _, _, callback, arg = pop(source)
            self.now = time
            n += 1
            callback(arg)
        self.events_run += n
