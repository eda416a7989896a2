"""Indexes of the queued jobs that policies keep from one pass to the next.

A long queue makes a pass that walks or sorts every queued job cost the queue's length at
every job end. These indexes live in the view's ``memo`` (see
:class:`~benchhub_sim.sched.view.IncrementalView`), take the jobs queued since the
last pass from ``queued_since(mark)``, and drop the jobs that left lazily: a job whose
``queued`` went False, or whose rank ``qseq`` changed (it was pushed to the back and is
indexed again at its new rank), is dead and skipped when found.

- :class:`SizeClasses`: the queued jobs of each size (``n_nodes``) in queue order, with
  a tree of their walltimes, so a pass asks "the next job of this size, in queue order,
  whose walltime is at most L" in O(log n) (EASY's and conservative backfilling's
  candidates) and never looks at a size that cannot fit.
- :class:`KeyedQueue`: the queued jobs in a fixed order (shortest or highest priority
  first), as heaps, per size or all in one (sjf, priority).
- :class:`QueuedSizes`: which sizes have a queued job (the ``benchhub`` poller's "does
  any queued job fit").

They need an incremental view (``memo``, ``version``, ``queue_mark``, ``queued_since``,
jobs with ``qseq``); :func:`kept` gives None for any other view, and the policy then
makes a full pass by its plain rule.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable
from heapq import heapify, heappop, heappush
from typing import Any, Protocol, TypeVar


class _Synced(Protocol):
    def sync(self, view: Any) -> None: ...


IndexT = TypeVar("IndexT", bound=_Synced)

#: what the tree holds for a dead job (and for the slots beyond the last job)
_DEAD = float("inf")
#: the largest walltime the tree holds (a walltime of inf is stored as this), so that a
#: query for "any walltime" is ``<= BIG`` and never matches a dead job
BIG = sys.float_info.max


_INCREMENTAL = ("version", "queue_mark", "queued_since")


def kept(view: Any, key: str, make: Callable[[Any], IndexT]) -> IndexT | None:
    """The index kept in ``view.memo[key]``: made by ``make(view)`` the first time, then
    brought up to date by its ``sync(view)``. None when the view is not incremental
    (``memo`` missing or None, or no ``version``, ``queue_mark`` or ``queued_since``):
    the policy then makes a full pass."""
    memo = getattr(view, "memo", None)
    if memo is None or not all(hasattr(view, a) for a in _INCREMENTAL):
        return None
    index = memo.get(key)
    if index is None:
        index = memo[key] = make(view)
    else:
        index.sync(view)
    return index


def live(job: Any, rank: int) -> bool:
    """True while ``job``, indexed at ``rank``, is still queued there."""
    return bool(job.queued) and job.qseq == rank


class SizeClass:
    """The jobs of one size in queue order, with a segment tree of their walltimes.

    Entry ``i`` is ``jobs[i]`` at rank ``ranks[i]``; ``tree`` holds the least walltime of
    every range of entries (``_DEAD`` for entries known dead), so :meth:`find` skips a
    range of long or dead jobs in one step. Entries only ever go at the end (ranks grow);
    an entry's index holds until :meth:`SizeClasses.sync` compacts the class.
    """

    __slots__ = ("jobs", "ranks", "tree", "cap", "dead", "compact_at")

    def __init__(self, jobs: list[Any] | None = None) -> None:
        self.jobs: list[Any] = jobs or []
        self.ranks: list[int] = [job.qseq for job in self.jobs]
        self.dead = 0  # entries known dead
        #: length at which :meth:`SizeClasses.sync` compacts the class even if few of its
        #: entries are known dead (a job pushed back leaves one it may never find)
        self.compact_at = max(64, 2 * len(self.jobs))
        leaves = [min(job.walltime, BIG) for job in self.jobs]
        self._build(1 << max(4, (2 * len(self.jobs) - 1).bit_length()), leaves)

    def _build(self, cap: int, leaves: list[float]) -> None:
        """Lay the tree out for ``cap`` entries (a power of two: :meth:`find` walks a
        perfect tree) with these first leaves."""
        self.cap = cap
        tree = [_DEAD] * (2 * cap)
        tree[cap : cap + len(leaves)] = leaves
        for p in range(cap - 1, 0, -1):
            a, b = tree[2 * p], tree[2 * p + 1]
            tree[p] = a if a < b else b
        self.tree = tree

    def __len__(self) -> int:
        return len(self.jobs)

    def append(self, job: Any) -> None:
        if len(self.jobs) == self.cap:
            leaves = self.tree[self.cap :] + [min(job.walltime, BIG)]
            self.jobs.append(job)
            self.ranks.append(job.qseq)
            self._build(2 * self.cap, leaves)
            return
        self.jobs.append(job)
        self.ranks.append(job.qseq)
        self._set(len(self.jobs) - 1, min(job.walltime, BIG))

    def walltime(self, i: int) -> float:
        """Entry ``i``'s walltime as the tree holds it (``_DEAD`` once known dead)."""
        return self.tree[self.cap + i]

    def kill(self, i: int) -> None:
        """Mark entry ``i`` dead (its job started or left)."""
        if self.tree[self.cap + i] != _DEAD:
            self.dead += 1
            self._set(i, _DEAD)

    def _set(self, i: int, value: float) -> None:
        tree = self.tree
        p = i + self.cap
        tree[p] = value
        p >>= 1
        while p:
            a, b = tree[2 * p], tree[2 * p + 1]
            least = a if a < b else b
            if tree[p] == least:
                return  # the ranges above are unchanged
            tree[p] = least
            p >>= 1

    def find(self, i: int, limit: float) -> int:
        """Index of the first live entry at or after ``i`` whose walltime is at most
        ``limit`` (clamped to :data:`BIG`), or -1. Dead entries met on the way are
        killed. O(log n) per entry skipped or killed."""
        if limit > BIG:
            limit = BIG
        tree, cap, jobs, ranks = self.tree, self.cap, self.jobs, self.ranks
        while i < len(jobs):
            p = i + cap
            while tree[p] > limit:  # climb to the next range to the right
                while p & 1:
                    p >>= 1
                if not p:
                    return -1
                p += 1
            while p < cap:  # then down to its first entry within the limit
                p <<= 1
                if tree[p] > limit:
                    p += 1
            i = p - cap
            if live(jobs[i], ranks[i]):
                return i
            self.kill(i)
        return -1

    def after(self, rank: int) -> int:
        """Index of the first entry of rank greater than ``rank``."""
        return bisect_right(self.ranks, rank)

    def compacted(self) -> SizeClass:
        """The class without its dead entries (new indices)."""
        return SizeClass([j for j, r in zip(self.jobs, self.ranks, strict=True) if live(j, r)])


class SizeClasses:
    """The queued jobs by size, each size a :class:`SizeClass` (see the module docstring).

    ``classes`` maps ``n_nodes`` to its class; the classes hold every queued job (and
    dead entries not yet dropped).
    """

    def __init__(self, view: Any) -> None:
        self.classes: dict[int, SizeClass] = {}
        self.mark = view.queue_mark()
        for job in view.queued():
            self._add(job)

    def _add(self, job: Any) -> None:
        sized = self.classes.get(job.n_nodes)
        if sized is None:
            sized = self.classes[job.n_nodes] = SizeClass()
        sized.append(job)

    def sync(self, view: Any) -> None:
        """Add the jobs queued since the last pass; compact classes mostly dead."""
        for job in view.queued_since(self.mark):
            self._add(job)
        self.mark = view.queue_mark()
        for n, sized in list(self.classes.items()):
            if (sized.dead > 32 and 2 * sized.dead > len(sized)) or len(sized) >= sized.compact_at:
                sized = sized.compacted()
                if len(sized):
                    self.classes[n] = sized
                else:
                    del self.classes[n]

    def first(self, n: int) -> Any | None:
        """The first live job of size ``n`` in queue order, or None."""
        sized = self.classes.get(n)
        if sized is None:
            return None
        i = sized.find(0, BIG)
        return sized.jobs[i] if i >= 0 else None


class QueuedSizes:
    """Which sizes (``n_nodes``) have a queued job, for a policy that only asks "does
    any queued job fit the free nodes" (the ``benchhub`` policy's poller).

    Per size, the jobs in the order they were first queued; a job pushed to the back is
    not added again (its order does not matter here). A job that left is dropped when
    found at the front of its size; a size's list is filtered whenever it has doubled
    since it last was, so it never holds many more jobs than are queued.
    """

    def __init__(self, view: Any) -> None:
        self.sizes: dict[int, deque[Any]] = {}
        self.known: set[int] = set()  # id() of the jobs in the lists (which keep them alive)
        self.filter_at: dict[int, int] = {}
        self.mark = view.queue_mark()
        self._add(view.queued())

    def sync(self, view: Any) -> None:
        """Add the jobs queued since the last pass."""
        self._add(view.queued_since(self.mark))
        self.mark = view.queue_mark()

    def _add(self, jobs: Iterable[Any]) -> None:
        known = self.known
        for job in jobs:
            if id(job) not in known:
                known.add(id(job))
                n = job.n_nodes
                jobs_n = self.sizes.get(n)
                if jobs_n is None:
                    jobs_n = self.sizes[n] = deque()
                    self.filter_at[n] = 64
                jobs_n.append(job)
                if len(jobs_n) >= self.filter_at[n]:
                    self._filter(n)

    def _filter(self, n: int) -> None:
        jobs_n = self.sizes[n]
        for job in jobs_n:
            if not job.queued:
                self.known.discard(id(job))
        kept = deque(job for job in jobs_n if job.queued)
        self.sizes[n] = kept
        self.filter_at[n] = max(64, 2 * len(kept))

    def any_within(self, free: int) -> bool:
        """Whether a queued job needs at most ``free`` nodes."""
        for n, jobs_n in self.sizes.items():
            if n <= free:
                while jobs_n and not jobs_n[0].queued:
                    self.known.discard(id(jobs_n.popleft()))
                if jobs_n:
                    return True
        return False


class KeyedQueue:
    """The queued jobs in the order of ``key`` (unique per job), as heaps: one per size
    when ``by_size`` (so a pass skips the sizes that cannot fit), else one for all.

    Heap entries are ``(key, rank, job)``; a dead entry is dropped when it reaches the
    top of its heap.
    """

    def __init__(self, view: Any, key: Callable[[Any], Any], *, by_size: bool) -> None:
        self.key = key
        self.by_size = by_size
        self.heaps: dict[int, list[tuple[Any, int, Any]]] = {}
        self.mark = view.queue_mark()
        entries: dict[int, list[tuple[Any, int, Any]]] = {}
        for job in view.queued():
            entries.setdefault(job.n_nodes if by_size else 0, []).append((key(job), job.qseq, job))
        for n, heap in entries.items():
            heapify(heap)
            self.heaps[n] = heap

    def sync(self, view: Any) -> None:
        """Add the jobs queued since the last pass."""
        for job in view.queued_since(self.mark):
            heap = self.heaps.setdefault(job.n_nodes if self.by_size else 0, [])
            heappush(heap, (self.key(job), job.qseq, job))
        self.mark = view.queue_mark()

    def top(self, n: int) -> Any | None:
        """The first live job of heap ``n``, dropping the dead ones above it."""
        heap = self.heaps.get(n)
        while heap:
            _, rank, job = heap[0]
            if live(job, rank):
                return job
            heappop(heap)
        return None
