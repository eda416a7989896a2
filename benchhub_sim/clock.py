"""Clocks: where the package's notion of "now" comes from.

Wall-clock time is read here and nowhere else (the engine's wall clock, flushes on wall
time, elapsed times), so tests can replace it. Progress bars are tqdm's, which reads its
own clock to draw the bar.
"""

from __future__ import annotations

import time


def wall_time() -> float:
    """Unix time in seconds (the epoch of wall-clock runs)."""
    return time.time()


def monotonic() -> float:
    """A monotonic clock in seconds, for measuring elapsed wall time."""
    return time.monotonic()


class WallClock:
    """Real time: seconds since the run started; waiting really sleeps."""

    kind = "wall"

    def __init__(self, sleep=time.sleep, now=monotonic) -> None:
        self.epoch = wall_time()
        self._start = now()
        self._now = now
        self._sleep = sleep

    def elapsed(self) -> float:
        return self._now() - self._start

    def wait_until(self, t: float) -> None:
        delay = t - self.elapsed()
        if delay > 0:
            self._sleep(delay)
