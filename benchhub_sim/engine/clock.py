"""Clocks: where the engine's notion of "now" comes from.

Wall-clock time is read here and nowhere else, so tests can replace it.
"""

from __future__ import annotations

import time


def wall_time() -> float:
    """Unix time in seconds (the epoch of wall-clock runs)."""
    return time.time()


def monotonic() -> float:
    """A monotonic clock in seconds, for measuring elapsed wall time."""
    return time.monotonic()


class VirtualClock:
    """Simulated time: jumps from one event to the next, never waits."""

    kind = "virtual"

    def __init__(self) -> None:
        self.epoch = 0.0

    def wait_until(self, t: float) -> None:  # noqa: ARG002 - nothing to wait for
        return None


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
