"""EASY backfilling (Lifka 1995; Mu'alem & Feitelson 2001).

Jobs start in queue order while they fit. The first that does not (the *head*) gets a
reservation: the *shadow time* at which, by the running jobs' walltimes, enough nodes are
free for it, and the *extra* nodes left over then. A later job starts now only if it
fits now and either ends (by its walltime) by the shadow time or needs no more than the
extra nodes (which it then uses up) — so it never delays the head.

Cost of a pass: the jobs started in queue order, a sort of the running jobs
(:func:`shadow`), then the backfill. The plain backfill (:func:`backfill`) walks every
queued job after the head. With an incremental view, :func:`backfill_indexed` asks the
queue's :class:`~benchhub_sim.sched.index.SizeClasses` for the candidates only: sizes
that fit the free nodes, and within a size, in queue order, the jobs that need no more
than the extra nodes or whose walltime ends by the shadow time, each found in O(log n).
It examines the same jobs in the same order as the plain walk, since a job the walk
passes over (too big, too long) would be passed over again later in the same pass: free
and extra nodes only shrink. A pass that finds nothing changed but new jobs since the
last one looks at the new jobs only (:mod:`~benchhub_sim.sched.memo`).
"""

from __future__ import annotations

from collections.abc import Iterable
from heapq import heapify, heappop, heappush
from typing import Any, cast

from benchhub_sim.sched import memo
from benchhub_sim.sched.index import BIG, SizeClasses, kept
from benchhub_sim.sched.view import IncrementalView, SchedulerView


def easy(view: SchedulerView) -> None:
    """EASY backfilling (see :mod:`benchhub_sim.sched.easy` for the rule)."""
    last = memo.unchanged(view, "easy")
    if last is not None:
        inc = cast(IncrementalView, view)  # unchanged() found its memo
        mark, (shadow_time, extra) = inc.queue_mark(), last.state
        backfill(view, inc.queued_since(last.mark), shadow_time, extra)
        memo.remember(view, "easy", last.replace(mark), started=memo.version(view) != last.version)
        return
    queue = view.queued()
    head = None
    for job in queue:
        if not view.try_start(job):
            head = job
            break
    if head is None:
        return
    shadow_time, extra, stable_until = shadow(view, head.n_nodes, view.free_count())
    before, end_mark = memo.version(view), memo.mark(view)
    index = kept(view, "easy.index", SizeClasses)
    if index is None:
        backfill(view, queue, shadow_time, extra)  # continues after the head
    else:
        backfill_indexed(view, index, head, shadow_time, extra)
    if before is not None and end_mark is not None:
        state = memo.Unchanged(before, end_mark, stable_until, (shadow_time, extra))
        memo.remember(view, "easy", state, started=memo.version(view) != before)


def backfill(view: SchedulerView, jobs: Iterable[Any], shadow_time: float, extra: int) -> None:
    """Start the ``jobs`` (in order) that fit now and do not delay the head's reservation."""
    for job in jobs:
        if job.n_nodes > view.free_count():
            continue
        ends_in_time = view.now + job.walltime <= shadow_time
        if (ends_in_time or job.n_nodes <= extra) and view.try_start(job) and not ends_in_time:
            extra -= job.n_nodes


def backfill_indexed(
    view: SchedulerView, index: SizeClasses, head: Any, shadow_time: float, extra: int
) -> None:
    """:func:`backfill` over every queued job but ``head``, in queue order, looking only
    at the candidates the index finds (see the module docstring)."""
    now = view.now
    free = view.free_count()
    # a walltime within this ends by the shadow time, with room for rounding: the exact
    # test below decides
    in_time = shadow_time - now
    in_time = in_time + 1e-9 * max(1.0, abs(shadow_time), abs(now)) if in_time < BIG else BIG

    def limit(n: int) -> float:
        return BIG if n <= extra else in_time

    heads = []
    for n, sized in index.classes.items():
        if n <= free:
            i = sized.find(0, limit(n))
            if i >= 0:
                heads.append((sized.ranks[i], n, i))
    heapify(heads)
    while heads:
        _, n, i = heappop(heads)
        if n > free:
            continue  # free nodes only shrink: this size is out for the pass
        sized = index.classes[n]
        if sized.walltime(i) > limit(n):  # extra shrank since it was found
            i = sized.find(i, limit(n))
            if i >= 0:
                heappush(heads, (sized.ranks[i], n, i))
            continue
        job = sized.jobs[i]
        if job is not head:
            ends_in_time = now + job.walltime <= shadow_time
            if (ends_in_time or n <= extra) and view.try_start(job):
                sized.kill(i)
                free = view.free_count()
                if not ends_in_time:
                    extra -= n
        if n <= free:
            i = sized.find(i + 1, limit(n))
            if i >= 0:
                heappush(heads, (sized.ranks[i], n, i))


def shadow(view: SchedulerView, need: int, free: int) -> tuple[float, int, float]:
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
    shadow_time = float("inf")  # stays so only when nodes are offline
    for end, n in releases:
        if end > shadow_time:
            break
        avail += n
        if avail >= need:
            shadow_time = end
    return shadow_time, (avail - need if shadow_time < float("inf") else 0), first_end
