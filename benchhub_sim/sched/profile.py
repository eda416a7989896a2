"""Free nodes over future time, as a step function: conservative backfilling's profile."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

INF = float("inf")


class Profile:
    """Free nodes over future time as a step function.

    ``free[k]`` nodes are free from ``times[k]`` until ``times[k + 1]`` (the last step
    lasts for ever). ``times`` is strictly increasing and starts at the present.

    Parameters
    ----------
    now : float
        The present: the first breakpoint.
    free : int
        Nodes free now.
    releases : iterable of (float, int)
        ``(end, n)``: ``n`` more nodes are free from ``end`` on (an end before ``now``
        counts as ``now``).

    Notes
    -----
    Steps are Python lists: :meth:`reserve` inserts at most two breakpoints and
    updates the steps it covers; :meth:`earliest` walks the steps from the present (or
    from ``after``) and stops at the first start that works, or at ``before``.
    """

    def __init__(self, now: float, free: int, releases: Iterable[tuple[float, int]]) -> None:
        times, counts = [now], [free]
        for end, n in sorted(releases):
            if end > times[-1]:
                times.append(end)
                counts.append(counts[-1] + n)
            else:  # at the last breakpoint (or, while that is ``now``, before it)
                counts[-1] += n
        self.times = times
        self.free = counts
        self.changes = 0  # reservations made so far

    def _split(self, t: float) -> int:
        """Index of the step starting at ``t``, inserting a breakpoint if needed."""
        i = bisect_right(self.times, t) - 1
        if self.times[i] == t:
            return i
        self.times.insert(i + 1, t)
        self.free.insert(i + 1, self.free[i])
        return i + 1

    def earliest(
        self, n: int, duration: float, *, after: float | None = None, before: float = INF
    ) -> float:
        """Earliest breakpoint (later than ``after``) from which ``n`` nodes stay free for ``duration``.

        Parameters
        ----------
        n : int
            Nodes needed.
        duration : float
            How long they are needed (0 needs only the starting step).
        after : float, optional
            Only breakpoints strictly later than this are candidates.
        before : float, optional
            Only breakpoints strictly earlier than this are candidates (the walk stops
            there).

        Returns
        -------
        float
            The breakpoint, or ``inf`` when no breakpoint qualifies.

        Notes
        -----
        One pass over the steps. Within a run of consecutive steps with at least ``n``
        free, the first candidate is the best one: a later start needs the run to last
        longer. So it suffices to remember where the current run started and return that
        start as soon as a breakpoint at or past ``start + duration`` is reached while
        the run lasts (or the steps end, the last lasting for ever).
        """
        times, frees = self.times, self.free
        first = 0 if after is None else bisect_right(times, after)
        start = -INF  # where the current run of steps with n free began (-inf: no run)
        end = 0.0  # when that run would have lasted ``duration``
        for k in range(first, len(times)):
            t = times[k]
            if start == -INF:
                if t >= before:
                    return INF
                if frees[k] >= n:
                    start, end = t, t + duration
            elif t >= end:
                return start
            elif frees[k] < n:
                start = -INF
        return INF if start == -INF else start

    def run(self, n: int) -> float:
        """How long ``n`` nodes stay free from the present (-1 when they are not free now)."""
        times, frees = self.times, self.free
        if frees[0] < n:
            return -1.0
        for k in range(1, len(times)):
            if frees[k] < n:
                return times[k] - times[0]
        return INF

    def reserve(self, start: float, n: int, duration: float) -> None:
        """Take ``n`` nodes from ``start`` (a breakpoint or not) for ``duration``."""
        self.changes += 1
        i = self._split(start)
        j = self._split(start + duration) if duration > 0 else i
        frees = self.free
        for k in range(i, j):
            frees[k] -= n
