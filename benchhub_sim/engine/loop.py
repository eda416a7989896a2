"""The event loop: one heap keyed ``(time, priority, seq)``.

Ties in time are broken by priority, then by scheduling order (FIFO) — never by a
random draw — so a run is a pure function of its inputs and seed. Events are plain
tuples holding a callback and one argument: no generator or event object per task.
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
    """

    __slots__ = ("now", "_heap", "_seq", "events_run")

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, int, Callable[[Any], object], Any]] = []
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

    def peek(self) -> float | None:
        """Time of the next event, or None when there is none."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)

    def step(self) -> None:
        """Run the next event."""
        time, _, _, callback, arg = heapq.heappop(self._heap)
        self.now = time
        self.events_run += 1
        callback(arg)

    def run_due(self, now: float) -> None:
        """Run every event due at or before ``now``, all at time ``now`` (wall clock)."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= now:
            _, _, _, callback, arg = pop(heap)
            self.now = now
            self.events_run += 1
            callback(arg)

    def run(self, until: float | None = None) -> None:
        """Run events in order until none is left (or the next one is after ``until``)."""
        heap = self._heap
        pop = heapq.heappop
        n = 0
        while heap:
            if until is not None and heap[0][0] > until:
                self.now = until
                break
            time, _, _, callback, arg = pop(heap)
            self.now = time
            n += 1
            callback(arg)
        self.events_run += n
