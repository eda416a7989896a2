"""Queue policies: which queued jobs start now.

A policy is any callable ``policy(view) -> None`` that calls ``view.try_start(job)`` for
the jobs it wants to start, in the order it wants them started. The engine calls it
whenever a job is submitted or nodes are released (once per instant, after every
release and submit at that instant). ``view`` offers (:class:`SchedulerView`):

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

Each built-in policy is its rule, written plainly, and (but ``fcfs``, whose passes
already cost only what they start) a faster way to the same starts for the engine's
views (:class:`IncrementalView`), which keep indexes of the queue from one pass to the
next (:mod:`~benchhub_sim.sched.index`): on a queue of thousands of jobs a pass then
costs about what it starts, not the queue's length. A view without ``memo`` (a
notebook's own, or the engine's with ``memo = None``) gets the plain rule.

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
from heapq import heapify, heappop, heappush
from itertools import islice
from typing import Any, cast

from benchhub_sim.sched.conservative import conservative
from benchhub_sim.sched.easy import easy
from benchhub_sim.sched.index import KeyedQueue, QueuedSizes, kept
from benchhub_sim.sched.view import IncrementalView, Policy, SchedulerView

__all__ = [
    "POLICIES",
    "BenchhubCentral",
    "IncrementalView",
    "Policy",
    "SchedulerView",
    "benchhub",
    "conservative",
    "easy",
    "fcfs",
    "get_policy",
    "priority",
    "sjf",
]


def fcfs(view: SchedulerView) -> None:
    """First come, first served: strict submit order; a job that cannot start blocks the queue."""
    for job in view.queued():
        if not view.try_start(job):
            return


def _sjf_key(job: Any) -> tuple[float, float, int]:
    return (job.walltime, job.submit, job.job_id)


def _priority_key(job: Any) -> tuple[float, float, int]:
    return (-job.priority, job.submit, job.job_id)


def sjf(view: SchedulerView) -> None:
    """Shortest job first: by walltime (ties by submit time, then id); every job that fits starts, no reservation.

    With an incremental view the order is kept across passes (:class:`KeyedQueue`, a
    heap per size): a pass merges the sizes that fit the free nodes and stops when none
    does, instead of sorting the whole queue.
    """
    index = kept(view, "sjf", lambda v: KeyedQueue(v, _sjf_key, by_size=True))
    if index is None:
        for job in sorted(view.queued(), key=_sjf_key):
            view.try_start(job)
        return
    free = view.free_count()
    heaps = index.heaps
    heads = [(heaps[n][0][:2], n) for n in heaps if n <= free and index.top(n) is not None]
    heapify(heads)
    refused = []  # not started for their roles: back in their heaps after the pass
    while heads:
        _, n = heappop(heads)
        if n > free:
            continue  # free nodes only shrink: this size is out for the pass
        entry = heappop(heaps[n])
        if view.try_start(entry[2]):
            free = view.free_count()
        else:
            refused.append((n, entry))
        if n <= free and index.top(n) is not None:
            heappush(heads, (heaps[n][0][:2], n))
    for n, entry in refused:
        heappush(heaps[n], entry)


def priority(view: SchedulerView) -> None:
    """Highest ``priority`` first (ties by submit time, then id); the first job that cannot start blocks the queue.

    With an incremental view the order is kept across passes (:class:`KeyedQueue`, one
    heap): a pass costs the jobs it starts, not a sort of the queue.
    """
    index = kept(view, "priority", lambda v: KeyedQueue(v, _priority_key, by_size=False))
    if index is None:
        for job in sorted(view.queued(), key=_priority_key):
            if not view.try_start(job):
                return
        return
    while (job := index.top(0)) is not None and view.try_start(job):
        pass


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

    def idle_polls(self, view: SchedulerView, limit: int) -> int | None:
        """How many of the next polls surely start nothing, each pushing the job at the
        head back: the polls until a job that fits the free nodes by count reaches the
        head (it may still be refused for its roles). None when none of the next
        ``limit + 1`` polls can start a job.

        The poller skips these polls in one step (:mod:`benchhub_sim.engine.polling`).
        With an incremental view, sizes that fit are looked up in an index of the queue,
        so a queue where nothing fits costs nothing; then the queue is walked from the
        head, at most :data:`IDLE_SCAN` jobs (the answer is then a lower bound, which
        only makes the poller look again sooner). A plain view gets 0: poll every tick.
        """
        index = kept(view, "benchhub.sizes", QueuedSizes)
        if index is None:
            return 0
        free = view.free_count()
        if not index.any_within(free):
            return None
        scan = min(limit, IDLE_SCAN)
        for polls, job in enumerate(islice(view.queued(), scan + 1)):
            if job.n_nodes <= free:
                return polls
        return scan + 1 if scan < limit else None

    def __repr__(self) -> str:
        return f"BenchhubCentral(interval={self.interval:g})"


#: how far :meth:`BenchhubCentral.idle_polls` walks the queue from its head
IDLE_SCAN = 256


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
