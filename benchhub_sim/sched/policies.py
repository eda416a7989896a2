"""Queue policies: which queued jobs start now.

A policy is any callable ``policy(view) -> None`` that calls ``view.try_start(job)`` for
the jobs it wants to start, in the order it wants them started. The engine calls it
whenever a job is submitted or nodes are released (once per instant, after every
release and submit at that instant). ``view`` offers:

- ``view.now``: the current time;
- ``view.queued()``: queued jobs in submit order (safe to iterate while starting jobs);
- ``view.free_count()`` and ``view.total_nodes``: free and online nodes;
- ``view.running()``: running jobs;
- ``view.try_start(job) -> bool``: bind the job's nodes now and start it, or return
  False when its assignments cannot all be met by the free nodes.

A job exposes ``job_id``, ``submit``, ``walltime`` (the estimate), ``priority``,
``n_nodes`` and, when running, ``start`` and ``expected_end`` (``start + walltime``).

Backfilling reasons in node counts, as EASY and conservative backfilling do in the
literature; the actual binding (roles, selectors, capacity) is checked by
``try_start``, and a job whose count fits but whose roles do not is simply not started.

Examples
--------
A policy written in a notebook: largest job first, no reservation.

>>> def largest_first(view):
...     for job in sorted(view.queued(), key=lambda j: (-j.n_nodes, j.submit, j.job_id)):
...         view.try_start(job)
"""

from __future__ import annotations

import importlib
import inspect
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, cast


class SchedulerView(Protocol):
    now: float
    total_nodes: int

    def queued(self) -> Iterator[Any]: ...

    def free_count(self) -> int: ...

    def running(self) -> Iterable[Any]: ...

    def try_start(self, job: Any) -> bool: ...


class IncrementalView(SchedulerView, Protocol):
    """What the engine's view adds so backfilling can skip work when nothing changed.

    ``version`` changes whenever a job starts or ends, a node fails or recovers, or a
    queued job leaves; it goes up by exactly one for each job the policy's own
    ``try_start`` starts (and nothing else happens inside a policy call: a job that has
    nothing to run ends at an event of its own); ``queue_mark()`` marks the end of the queue now and
    ``queued_since(mark)`` gives the jobs queued after it; ``memo`` keeps what a pass
    leaves for the next. Policies use these only when present (see :func:`_unchanged`).
    """

    version: int
    memo: dict[str, Any]

    def queue_mark(self) -> int: ...

    def queued_since(self, mark: int) -> Iterable[Any]: ...


Policy = Callable[[SchedulerView], None]


def fcfs(view: SchedulerView) -> None:
    """First come, first served: strict submit order; a job that cannot start blocks the queue."""
    for job in view.queued():
        if not view.try_start(job):
            return


def sjf(view: SchedulerView) -> None:
    """Shortest job first: by walltime (ties by submit time, then id); every job that fits starts, no reservation."""
    for job in sorted(view.queued(), key=lambda j: (j.walltime, j.submit, j.job_id)):
        view.try_start(job)


def priority(view: SchedulerView) -> None:
    """Highest ``priority`` first (ties by submit time, then id); the first job that cannot start blocks the queue."""
    for job in sorted(view.queued(), key=lambda j: (-j.priority, j.submit, j.job_id)):
        if not view.try_start(job):
            return


def easy(view: SchedulerView) -> None:
    """EASY backfilling.

    Jobs start in submit order while they fit. The first that does not (the head) gets a
    reservation: the *shadow time* at which, by the running jobs' walltimes, enough
    nodes are free for it, and the *extra* nodes left over then. A later job starts now
    only if it fits now and either ends (by its walltime) before the shadow time or
    needs no more than the extra nodes — so it never delays the head.

    When nothing but submissions happened since the last pass (see :class:`_Unchanged`),
    the jobs that pass examined would be refused again, so only the new ones are.
    """
    last = _unchanged(view, "easy")
    if last is not None:
        inc = cast(IncrementalView, view)  # _unchanged found its memo
        mark, (shadow, extra) = inc.queue_mark(), last.state
        _backfill(view, inc.queued_since(last.mark), shadow, extra)
        _remember(view, "easy", last.replace(mark), started=_version(view) != last.version)
        return
    queue = view.queued()
    head = None
    for job in queue:
        if not view.try_start(job):
            head = job
            break
    if head is None:
        return
    free = view.free_count()
    shadow, extra, stable_until = _shadow(view, head.n_nodes, free)
    before, end_mark = _version(view), _mark(view)
    _backfill(view, queue, shadow, extra)  # continues after the head
    if before is not None and end_mark is not None:
        state = _Unchanged(before, end_mark, stable_until, (shadow, extra))
        _remember(view, "easy", state, started=_version(view) != before)


def _backfill(view: SchedulerView, jobs: Iterable[Any], shadow: float, extra: int) -> None:
    """Start the ``jobs`` that fit now and do not delay the head's reservation."""
    for job in jobs:
        if job.n_nodes > view.free_count():
            continue
        ends_in_time = view.now + job.walltime <= shadow
        if (ends_in_time or job.n_nodes <= extra) and view.try_start(job) and not ends_in_time:
            extra -= job.n_nodes


def _shadow(view: SchedulerView, need: int, free: int) -> tuple[float, int, float]:
    """The head's reservation: the *shadow time* (the earliest time at which, by the
    running jobs' walltimes, ``need`` nodes are free), the *extra* nodes (all the nodes
    free at the shadow time, every job ending at or before it counted, minus ``need``),
    and the earliest walltime end of a running job (inf when none runs).

    As Lifka's EASY and Mu'alem & Feitelson (2001) define them: jobs that end at the
    shadow time all release their nodes then, so ties at the shadow time count in full.
    """
    now = view.now
    ends = [(j.expected_end, j.n_nodes) for j in view.running()]
    first_end = min((end for end, _ in ends), default=float("inf"))
    releases = sorted((max(end, now), n) for end, n in ends)  # overdue jobs release now
    avail = free
    shadow = float("inf")  # stays so only when nodes are offline
    for end, n in releases:
        if end > shadow:
            break
        avail += n
        if avail >= need:
            shadow = end
    return shadow, (avail - need if shadow < float("inf") else 0), first_end


@dataclass(frozen=True)
class _Unchanged:
    """What a pass leaves for the next when it started nothing after its reservations.

    If the next pass finds the same ``version`` of the view (no job started or ended,
    no node failed or came back, no queued job left) and no running job has reached its
    walltime (``now < stable_until``), every job the pass examined gets the same
    answer again: free nodes and reservations are the same, and a job that could not
    end before a reservation cannot now. Only jobs queued from ``mark`` on are new.
    """

    version: int
    mark: int
    stable_until: float
    state: Any

    def replace(self, mark: int) -> _Unchanged:
        return _Unchanged(self.version, mark, self.stable_until, self.state)


def _version(view: SchedulerView) -> int | None:
    return getattr(view, "version", None)


def _mark(view: SchedulerView) -> int | None:
    mark = getattr(view, "queue_mark", None)
    return mark() if mark is not None else None


def _unchanged(view: SchedulerView, key: str) -> _Unchanged | None:
    """The state the last pass of policy ``key`` left, if it still holds."""
    memo = getattr(view, "memo", None)
    last = memo.pop(key, None) if memo is not None else None
    if last is None or last.version != _version(view) or not view.now < last.stable_until:
        return None
    return last


def _remember(view: SchedulerView, key: str, state: _Unchanged, *, started: bool) -> None:
    memo = getattr(view, "memo", None)
    if memo is not None and not started and state.mark is not None:
        memo[key] = state


class _Profile:
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

    def _split(self, t: float) -> int:
        """Index of the step starting at ``t``, inserting a breakpoint if needed."""
        i = bisect_right(self.times, t) - 1
        if self.times[i] == t:
            return i
        self.times.insert(i + 1, t)
        self.free.insert(i + 1, self.free[i])
        return i + 1

    def earliest(self, n: int, duration: float, *, after: float | None = None) -> float:
        """Earliest breakpoint (later than ``after``) from which ``n`` nodes stay free for ``duration``.

        Parameters
        ----------
        n : int
            Nodes needed.
        duration : float
            How long they are needed (0 needs only the starting step).
        after : float, optional
            Only breakpoints strictly later than this are candidates.

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
        steps: Iterator[tuple[float, int]] = zip(self.times, self.free, strict=True)
        if after is not None:
            steps = islice(steps, bisect_right(self.times, after), None)
        start = None  # where the current run of steps with n free began (None: no run)
        end = 0.0  # when that run would have lasted ``duration``
        for t, free in steps:
            if start is None:
                if free >= n:
                    start, end = t, t + duration
            elif t >= end:
                return start
            elif free < n:
                start = None
        return float("inf") if start is None else start

    def reserve(self, start: float, n: int, duration: float) -> None:
        """Take ``n`` nodes from ``start`` (a breakpoint or not) for ``duration``."""
        i = self._split(start)
        j = self._split(start + duration) if duration > 0 else i
        for k in range(i, j):
            self.free[k] -= n


def conservative(view: SchedulerView) -> None:
    """Conservative backfilling.

    Every queued job, in submit order, gets the earliest reservation that fits the
    free-node profile (built from the running jobs' walltimes and the reservations of
    the jobs before it). Jobs whose reservation is *now* start now. A job therefore
    starts early only if it delays no reservation of a job submitted before it.

    When nothing but submissions happened since the last pass (see :class:`_Unchanged`),
    its profile still holds with the reservations it made; only new jobs are placed. The
    jobs a pass starts are in its profile as they would be in a new one (their nodes
    taken until their walltime), so the next pass may reuse it too, unless the pass held
    a job back for its roles (``held``): a later start could have been made by it.
    """
    now = view.now
    last = _unchanged(view, "conservative")
    if last is not None:
        (profile, held), stable_until = last.state, last.stable_until
        profile.times[0] = now  # no breakpoint lies between the last pass and now
        jobs = cast(IncrementalView, view).queued_since(last.mark)
    else:
        releases = [(j.expected_end, j.n_nodes) for j in view.running()]
        profile = _Profile(now, view.free_count(), releases)
        stable_until = min((end for end, _ in releases), default=float("inf"))
        jobs = view.queued()
        held = False
    mark = _mark(view)
    before = _version(view)
    started = 0
    stale = False
    for job in jobs:
        t = profile.earliest(job.n_nodes, job.walltime)
        if t == now:
            if view.try_start(job):
                started += 1
                stale = stale or held
                stable_until = min(stable_until, now + job.walltime)  # its release
            else:
                # enough nodes by count, but not of the roles it needs: hold a later place
                t = profile.earliest(job.n_nodes, job.walltime, after=now)
                held = True
        if t != float("inf"):
            profile.reserve(t, job.n_nodes, job.walltime)
    version = _version(view)
    if before is not None and version is not None:
        # the profile holds the jobs this pass started; anything else that changed the
        # view meanwhile would make it stale
        stale = stale or version != before + started
        state = _Unchanged(version, mark, stable_until, (profile, held))  # type: ignore[arg-type]
        _remember(view, "conservative", state, started=stale)


class BenchhubCentral:
    """BenchHub's own central: its job poller, as a policy.

    Every ``interval`` seconds (at t = k × interval from the run's start; BenchHub's
    ``job.pollInterval``, never below 0.5 s there) it pops the job at the head of the
    queue and starts it if its node assignments can be met now, else pushes it to the
    back of the queue: one job per poll, and no job blocks the others for long. The
    central calls it on its clock, not after each event (see
    :mod:`benchhub_sim.engine.polling`); a view without ``push_back`` (a notebook's own)
    sees it leave the job where it is.

    Parameters
    ----------
    interval : float
        Seconds between polls (default 0.5, BenchHub's default and minimum).
    """

    __name__ = "benchhub"

    def __init__(self, interval: float = 0.5) -> None:
        if not (isinstance(interval, int | float) and math.isfinite(interval) and interval > 0):
            from benchhub_sim.errors import ScheduleError

            raise ScheduleError(f"benchhub policy: interval must be a number > 0, got {interval!r}")
        self.interval = float(interval)

    def __call__(self, view: SchedulerView) -> None:
        for job in view.queued():
            if not view.try_start(job):
                push_back = getattr(view, "push_back", None)
                if push_back is not None:
                    push_back(job)
            return

    def __repr__(self) -> str:
        return f"BenchhubCentral(interval={self.interval:g})"


benchhub = BenchhubCentral()

POLICIES: dict[str, Policy] = {
    "fcfs": fcfs,
    "easy": easy,
    "conservative": conservative,
    "sjf": sjf,
    "priority": priority,
    "benchhub": benchhub,
}


def get_policy(policy: str | Policy) -> Policy:
    """A policy by name, a ``module:function`` of one's own (so the command line can take
    it too), or the callable itself; a callable must take one argument, the view.

    Raises
    ------
    ScheduleError
        An unknown name (the message lists the known ones), a ``module:function`` that
        does not import, or a callable that cannot be called as ``policy(view)`` (named,
        with its signature).
    """
    from benchhub_sim.errors import ScheduleError

    if callable(policy):
        return _takes_the_view(policy)
    if isinstance(policy, str) and policy in POLICIES:
        return POLICIES[policy]
    if isinstance(policy, str) and ":" in policy:
        module, _, name = policy.partition(":")
        try:
            found = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ScheduleError(f"policy {policy!r}: cannot import it: {exc}") from None
        if not callable(found):
            raise ScheduleError(f"policy {policy!r}: {name} is not a function") from None
        return _takes_the_view(cast(Policy, found))
    raise ScheduleError(
        f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}, name a function "
        "of your own as module:function, or pass a callable"
    ) from None


def _takes_the_view(policy: Policy) -> Policy:
    """``policy`` itself, once checked that it can be called as ``policy(view)``."""
    from benchhub_sim.errors import ScheduleError

    try:
        signature = inspect.signature(policy)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return policy
    try:
        signature.bind(None)
    except TypeError:
        name = getattr(policy, "__name__", repr(policy))
        raise ScheduleError(
            f"policy {name}{signature}: a policy is called as policy(view) with one "
            "argument, the scheduler's view"
        ) from None
    return policy
